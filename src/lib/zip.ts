/**
 * A minimal ZIP writer (stored entries, no compression: previews are already compressed media),
 * streaming each input file to the archive on disk so nothing is held whole in memory. ZIP64 is not
 * written: an archive is limited to 4 GiB and 65,535 entries (a clear error past that).
 */
import { open, stat } from "node:fs/promises";

export interface ZipInput {
  /** File on disk. */
  path: string;
  /** Name inside the archive. */
  name: string;
}

const LIMIT = 0xffffffff;

function dosDateTime(date: Date): { time: number; day: number } {
  const time = (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2);
  const day = ((Math.max(1980, date.getUTCFullYear()) - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate();
  return { time, day };
}

/** Writes `inputs` into a new archive at `target` (replaced if present). */
export async function writeZip(target: string, inputs: ZipInput[]): Promise<void> {
  // Required here, not imported: node:zlib is not loaded at start-up.
  const { crc32 } = require("node:zlib") as typeof import("node:zlib");
  if (inputs.length > 0xffff) throw new Error("Too many files for one archive.");
  const out = await open(target, "w");
  const central: Buffer[] = [];
  let offset = 0;
  const write = async (buffer: Buffer) => {
    await out.write(buffer, 0, buffer.length, offset);
    offset += buffer.length;
  };
  try {
    for (const input of inputs) {
      const info = await stat(input.path);
      if (info.size > LIMIT || offset + info.size > LIMIT) throw new Error("Archive larger than 4 GiB.");
      const name = Buffer.from(input.name, "utf8");
      const { time, day } = dosDateTime(info.mtime);
      const headerOffset = offset;
      const header = Buffer.alloc(30);
      header.writeUInt32LE(0x04034b50, 0);
      header.writeUInt16LE(20, 4);
      header.writeUInt16LE(0x0800, 6); // UTF-8 names
      header.writeUInt16LE(0, 8); // stored
      header.writeUInt16LE(time, 10);
      header.writeUInt16LE(day, 12);
      // CRC and sizes are patched once the data is written.
      header.writeUInt16LE(name.length, 26);
      await write(header);
      await write(name);
      let crc = 0;
      let size = 0;
      const source = await open(input.path, "r");
      try {
        const chunk = Buffer.alloc(1 << 20);
        for (;;) {
          const { bytesRead } = await source.read(chunk, 0, chunk.length, size);
          if (bytesRead === 0) break;
          const part = chunk.subarray(0, bytesRead);
          crc = crc32(part, crc);
          await write(part);
          size += bytesRead;
        }
      } finally {
        await source.close();
      }
      const sizes = Buffer.alloc(12);
      sizes.writeUInt32LE(crc >>> 0, 0);
      sizes.writeUInt32LE(size, 4);
      sizes.writeUInt32LE(size, 8);
      await out.write(sizes, 0, 12, headerOffset + 14);
      const entry = Buffer.alloc(46);
      entry.writeUInt32LE(0x02014b50, 0);
      entry.writeUInt16LE(20, 4);
      entry.writeUInt16LE(20, 6);
      entry.writeUInt16LE(0x0800, 8);
      entry.writeUInt16LE(0, 10);
      entry.writeUInt16LE(time, 12);
      entry.writeUInt16LE(day, 14);
      sizes.copy(entry, 16);
      entry.writeUInt16LE(name.length, 28);
      entry.writeUInt32LE(headerOffset, 42);
      central.push(entry, name);
    }
    const centralStart = offset;
    for (const part of central) await write(part);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(inputs.length, 8);
    end.writeUInt16LE(inputs.length, 10);
    end.writeUInt32LE(offset - centralStart, 12);
    end.writeUInt32LE(centralStart, 16);
    await write(end);
  } finally {
    await out.close();
  }
}
