/**
 * CSV reading and writing shared by the imports and exports (csv.md A.1, B.1). Parsing and
 * quoting are csv-parse / csv-stringify; this module adds what Zou does around them: the delimiter
 * guess of Python's csv.Sniffer, rows keyed by the header (missing cells = null), the physical
 * line number of each row, and Python's way of writing numbers.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline, Transform } from "node:stream";
import { stringify } from "csv-stringify/sync";

export class CsvFormatError extends Error {
  constructor(
    message: string,
    readonly lineNumber: number | null = null,
  ) {
    super(message);
  }
}

export interface Dialect {
  delimiter: string;
  quote: string;
  skipInitialSpace: boolean;
}

const PREFERRED_DELIMITERS = [",", "\t", ";", " ", ":"];

/** Python's Sniffer, first guess: quoted fields and the character next to them. */
function guessFromQuotes(sample: string): { quote: string; delimiter: string; skipInitialSpace: boolean } | null {
  const notWord = `[^\\p{L}\\p{N}_\\n"']`;
  const patterns = [
    `(?<delim>${notWord})(?<space> ?)(?<quote>["']).*?\\k<quote>\\k<delim>`,
    `(?:^|\\n)(?<quote>["']).*?\\k<quote>(?<delim>${notWord})(?<space> ?)`,
    `(?<delim>${notWord})(?<space> ?)(?<quote>["']).*?\\k<quote>(?:$|\\n)`,
    `(?:^|\\n)(?<quote>["']).*?\\k<quote>(?:$|\\n)`,
  ];
  for (const pattern of patterns) {
    const matches = [...sample.matchAll(new RegExp(pattern, "gmsu"))];
    if (matches.length === 0) continue;
    const quotes = new Map<string, number>();
    const delims = new Map<string, number>();
    let spaces = 0;
    for (const match of matches) {
      const groups = match.groups ?? {};
      if (groups.quote) quotes.set(groups.quote, (quotes.get(groups.quote) ?? 0) + 1);
      if (groups.delim) delims.set(groups.delim, (delims.get(groups.delim) ?? 0) + 1);
      if (groups.space) spaces += 1;
    }
    const quote = maxKey(quotes) ?? '"';
    let delimiter = maxKey(delims) ?? "";
    let skipInitialSpace = delimiter !== "" && delims.get(delimiter) === spaces;
    if (delimiter === "\n") {
      delimiter = "";
      skipInitialSpace = false;
    }
    return { quote, delimiter, skipInitialSpace };
  }
  return null;
}

function maxKey(counts: Map<string, number>): string | undefined {
  let best: string | undefined;
  let bestCount = -1;
  for (const [key, count] of counts) {
    if (count > bestCount) {
      best = key;
      bestCount = count;
    }
  }
  return best;
}

function countOf(line: string, char: string): number {
  let n = 0;
  for (let i = line.indexOf(char); i !== -1; i = line.indexOf(char, i + 1)) n += 1;
  return n;
}

/** Python's Sniffer, second guess: the 7-bit character with the most consistent count per line. */
function guessFromFrequency(sample: string): { delimiter: string; skipInitialSpace: boolean } {
  const lines = sample.split("\n").filter((line) => line !== "");
  const chunkLength = Math.min(10, lines.length);
  const frequencies = new Map<string, Map<number, number>>();
  const modes = new Map<string, [number, number]>();
  const delims = new Map<string, [number, number]>();
  const skipFor = (d: string) => countOf(lines[0] ?? "", d) === countOf(lines[0] ?? "", `${d} `);
  let iteration = 0;
  for (let start = 0, end = chunkLength; start < lines.length; start = end, end += chunkLength) {
    iteration += 1;
    for (const line of lines.slice(start, end)) {
      for (let code = 0; code < 127; code++) {
        const char = String.fromCharCode(code);
        const meta = frequencies.get(char) ?? new Map<number, number>();
        const freq = countOf(line, char);
        meta.set(freq, (meta.get(freq) ?? 0) + 1);
        frequencies.set(char, meta);
      }
    }
    for (const [char, meta] of frequencies) {
      const items = [...meta.entries()];
      if (items.length === 1 && items[0]![0] === 0) continue;
      if (items.length > 1) {
        let best = items[0]!;
        for (const item of items) if (item[1] > best[1]) best = item;
        const others = items.filter((item) => item !== best).reduce((sum, item) => sum + item[1], 0);
        modes.set(char, [best[0], best[1] - others]);
      } else {
        modes.set(char, items[0]!);
      }
    }
    const total = Math.min(chunkLength * iteration, lines.length);
    for (let consistency = 1.0; delims.size === 0 && consistency >= 0.9; consistency -= 0.01) {
      for (const [char, mode] of modes) {
        if (mode[0] > 0 && mode[1] > 0 && mode[1] / total >= consistency) delims.set(char, mode);
      }
    }
    if (delims.size === 1) {
      const delimiter = [...delims.keys()][0]!;
      return { delimiter, skipInitialSpace: skipFor(delimiter) };
    }
  }
  if (delims.size === 0) return { delimiter: "", skipInitialSpace: false };
  for (const d of PREFERRED_DELIMITERS) if (delims.has(d)) return { delimiter: d, skipInitialSpace: skipFor(d) };
  const sorted = [...delims.entries()].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1] || (a[0] < b[0] ? -1 : 1));
  const delimiter = sorted[sorted.length - 1]![0];
  return { delimiter, skipInitialSpace: skipFor(delimiter) };
}

/** The dialect of a sample (the first 8192 characters), or "Could not determine delimiter". */
export function sniffDialect(sample: string): Dialect {
  const byQuotes = guessFromQuotes(sample);
  let delimiter = byQuotes?.delimiter ?? "";
  let skipInitialSpace = byQuotes?.skipInitialSpace ?? false;
  if (!delimiter) ({ delimiter, skipInitialSpace } = guessFromFrequency(sample));
  if (!delimiter) throw new CsvFormatError("Could not determine delimiter");
  return { delimiter, quote: byQuotes?.quote || '"', skipInitialSpace };
}

/**
 * Universal newlines, as Python's open() reads Zou's upload: CRLF and lone CR become LF (also
 * inside quoted fields), so line numbers count physical lines once.
 */
function universalNewlines(): Transform {
  let pendingCr = false;
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  let lines = 1;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        utf8.decode(chunk, { stream: true });
      } catch {
        done(new CsvFormatError("The file is not valid UTF-8 text.", lines));
        return;
      }
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
      let text = chunk.toString("latin1");
      if (pendingCr) text = "\r" + text;
      pendingCr = text.endsWith("\r");
      if (pendingCr) text = text.slice(0, -1);
      done(null, Buffer.from(text.replace(/\r\n?/g, "\n"), "latin1"));
    },
    flush(done) {
      done(null, pendingCr ? Buffer.from("\n") : null);
    },
  });
}

/** One data row: cells keyed by header (null when the row is short), with its physical line. */
export interface CsvRow {
  line: number;
  get(header: string): string | null;
  has(header: string): boolean;
}

export interface CsvReadOptions {
  /** Called with the number of bytes read so far (progress bars). */
  onBytes?: (bytesRead: number) => void;
}

async function readSample(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(8192 * 4);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    let text = new TextDecoder("utf-8", { fatal: false }).decode(buffer.subarray(0, bytesRead));
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    text = text.replace(/\r\n?/g, "\n");
    return text.slice(0, 8192);
  } finally {
    await handle.close();
  }
}

/**
 * Reads a CSV file as a stream of rows (one parse, bounded memory): the delimiter is sniffed on
 * the first 8192 characters, a UTF-8 BOM is dropped, blank lines are skipped, and the first row
 * names the columns exactly. Throws CsvFormatError on malformed input (with the line number).
 */
export async function* readCsvRows(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRow> {
  const dialect = sniffDialect(await readSample(path));
  const source = createReadStream(path);
  if (options.onBytes) {
    let bytes = 0;
    source.on("data", (chunk) => {
      bytes += chunk.length;
      options.onBytes!(bytes);
    });
  }
  // Loaded on first use (imports are rare; csv-parse weighs on the start-up).
  const { parse } = await import("csv-parse");
  const parser = parse({
    bom: true,
    delimiter: dialect.delimiter,
    quote: dialect.quote,
    ltrim: dialect.skipInitialSpace,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    info: true,
    encoding: "utf8",
  });
  // pipeline forwards a failure of any stage (unreadable file, bad UTF-8) to the parser's iteration.
  pipeline(source, universalNewlines(), parser, () => undefined);
  let header: Map<string, number> | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = new Map();
        record.forEach((name, index) => header!.set(name, index));
        continue;
      }
      const columns = header;
      yield {
        line: info.lines,
        get: (name) => {
          const index = columns.get(name);
          return index === undefined ? null : (record[index] ?? null);
        },
        has: (name) => columns.has(name),
      };
    }
  } catch (error) {
    if (error instanceof CsvFormatError) throw error;
    const err = error as { message?: string; lines?: number };
    if (err && typeof err === "object" && "code" in err && String((err as { code: unknown }).code).startsWith("CSV_")) {
      throw new CsvFormatError(err.message ?? "Malformed CSV file", err.lines ?? null);
    }
    throw error;
  } finally {
    source.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

export type CsvCell = string | number | boolean | null | undefined;

/** Python's str() of a number that Zou keeps as a float (50 → "50.0"). */
export function pythonFloat(value: unknown): string {
  if (value === null || value === undefined || value === "") return "";
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return n.toFixed(1);
  return String(n);
}

function cellText(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/** Lines of `;`-separated cells ending in CRLF, quoted only when needed (Python's csv.writer). */
export function csvLines(rows: CsvCell[][]): string {
  if (rows.length === 0) return "";
  return stringify(
    rows.map((row) => row.map(cellText)),
    { delimiter: ";", record_delimiter: "\r\n", quoted_match: /[\r\n]/ },
  );
}

/**
 * A streamed CSV answer: `rows` yields batches of rows, each batch written as it comes; the file
 * name is `kitsu_<slug>.csv` (csv.md B.1).
 */
export function csvResponse(fileName: string, rows: AsyncIterable<CsvCell[][]>, contentType = "text/csv"): Response {
  const encoder = new TextEncoder();
  const iterator = rows[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(csvLines(next.value)));
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return?.(undefined);
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { "Content-Type": contentType, "Content-Disposition": `attachment; filename=${fileName}.csv` },
  });
}
