/**
 * The one responder for stored files (previews, movies, avatars, attachments, working and output
 * files). It answers as Flask's `send_file(conditional=True)` does and safely:
 *
 * - the content type is chosen here, from the extension, out of a list of types a browser only
 *   displays (pictures, movies, sound, PDF, plain text); anything else is `application/octet-stream`;
 * - `X-Content-Type-Options: nosniff`, `Content-Security-Policy: default-src 'none'; sandbox`;
 * - `Content-Disposition: attachment` for downloads and for every type outside the safe list
 *   (HTML, SVG, XML, JavaScript... are never served inline);
 * - `ETag` (mtime + size) and `Last-Modified`; `If-None-Match` / `If-Modified-Since` → 304,
 *   failing `If-Match` → 412;
 * - a single `Range: bytes=` → 206 with `Content-Range`; several ranges or an unsatisfiable one →
 *   416; `If-Range` honoured;
 * - `Cache-Control: private, max-age=<CLIENT_CACHE_MAX_AGE>` (default 604800, Zou's).
 *
 * `sendStoredFile` returns null when the file is missing or empty (callers answer their own 404).
 */
import { stat } from "node:fs/promises";

/** Extensions served with their own type, inline unless a download is asked. */
const SAFE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jpe: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  exr: "image/x-exr",
  hdr: "image/vnd.radiance",
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  avi: "video/x-msvideo",
  wmv: "video/x-ms-wmv",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  ogg: "audio/ogg",
  pdf: "application/pdf",
  txt: "text/plain; charset=utf-8",
  zip: "application/zip",
};

/** Types that are downloaded even when they are in the list (archives). */
const ALWAYS_ATTACHMENT = new Set(["zip"]);

export const STORED_FILE_CSP = "default-src 'none'; sandbox";

/** Extension of a file name (text after the last dot, lower-cased; "" when none). */
export function extensionOf(name: string): string {
  const slash = Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\"));
  const base = name.slice(slash + 1);
  const dot = base.lastIndexOf(".");
  return dot === -1 ? "" : base.slice(dot + 1).toLowerCase();
}

/** The content type the server gives an extension, and whether it may be shown inline. */
export function storedFileType(extension: string): { contentType: string; inline: boolean } {
  const ext = extension.toLowerCase().replace(/^\./, "");
  const type = SAFE_TYPES[ext];
  if (!type) return { contentType: "application/octet-stream", inline: false };
  return { contentType: type, inline: !ALWAYS_ATTACHMENT.has(ext) };
}

/** `attachment; filename="..."` (ASCII fallback) plus `filename*` for other characters. */
export function contentDisposition(kind: "inline" | "attachment", filename?: string | null): string {
  if (!filename) return kind;
  const clean = filename.replace(/[\u0000-\u001f\u007f"\\/]/g, "_");
  const ascii = clean.replace(/[^\x20-\x7e]/g, "_");
  const header = `${kind}; filename="${ascii}"`;
  return ascii === clean ? header : `${header}; filename*=UTF-8''${encodeURIComponent(clean)}`;
}

export interface StoredFileOptions {
  /** Path on disk. */
  path: string;
  /** Extension deciding the content type (default: the one of `filename`). */
  extension?: string;
  /** Name given in Content-Disposition (downloads). */
  filename?: string | null;
  /** Serve as an attachment (download routes). Unsafe types are always attachments. */
  download?: boolean;
}

function cacheMaxAge(): number {
  const value = Number(process.env.CLIENT_CACHE_MAX_AGE);
  return Number.isFinite(value) && value >= 0 ? value : 604800;
}

/** Parses one `bytes=` range against a size: the range, "none" (ignore), or "unsatisfiable". */
function parseRange(header: string, size: number): { start: number; end: number } | "unsatisfiable" | "none" {
  const match = /^bytes=(.+)$/i.exec(header.trim());
  if (!match) return "none";
  const specs = match[1]!.split(",").map((s) => s.trim());
  if (specs.length !== 1) return "unsatisfiable";
  const range = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!range || (range[1] === "" && range[2] === "")) return "unsatisfiable";
  let start: number;
  let end: number;
  if (range[1] === "") {
    const suffix = Number(range[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(range[1]);
    end = range[2] === "" ? size - 1 : Math.min(Number(range[2]), size - 1);
    if (range[2] !== "" && Number(range[2]) < start) return "unsatisfiable";
  }
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/**
 * Answers `request` with the stored file at `options.path`, or returns null when the file is
 * missing or empty.
 */
export async function sendStoredFile(request: Request, options: StoredFileOptions): Promise<Response | null> {
  const info = await stat(options.path).catch(() => null);
  if (!info || !info.isFile() || info.size === 0) return null;
  const size = info.size;
  const extension = options.extension ?? extensionOf(options.filename ?? "");
  const { contentType, inline } = storedFileType(extension);
  const etag = `"${Math.floor(info.mtimeMs).toString(16)}-${size.toString(16)}"`;
  const modified = new Date(Math.floor(info.mtimeMs / 1000) * 1000);
  const headers = new Headers({
    "Content-Type": contentType,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": STORED_FILE_CSP,
    "Content-Disposition": contentDisposition(options.download || !inline ? "attachment" : "inline", options.filename),
    "Cache-Control": `private, max-age=${cacheMaxAge()}`,
    ETag: etag,
    "Last-Modified": modified.toUTCString(),
    "Accept-Ranges": "bytes",
  });

  const ifMatch = request.headers.get("if-match");
  if (ifMatch && !etagMatches(ifMatch, etag)) return new Response(null, { status: 412, headers });
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch ? etagMatches(ifNoneMatch, etag) : false) return new Response(null, { status: 304, headers });
  const ifModifiedSince = request.headers.get("if-modified-since");
  if (!ifNoneMatch && ifModifiedSince) {
    const since = Date.parse(ifModifiedSince);
    if (Number.isFinite(since) && modified.getTime() <= since) return new Response(null, { status: 304, headers });
  }

  const file = Bun.file(options.path);
  const rangeHeader = request.headers.get("range");
  const method = request.method.toUpperCase();
  if (rangeHeader && (method === "GET" || method === "HEAD")) {
    const ifRange = request.headers.get("if-range");
    const rangeApplies =
      !ifRange || (ifRange.trim().startsWith('"') || ifRange.trim().startsWith("W/") ? etagMatches(ifRange, etag) : Date.parse(ifRange) >= modified.getTime());
    if (rangeApplies) {
      const range = parseRange(rangeHeader, size);
      if (range === "unsatisfiable") {
        headers.set("Content-Range", `bytes */${size}`);
        headers.delete("Content-Type");
        return new Response(null, { status: 416, headers });
      }
      if (range !== "none") {
        headers.set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
        headers.set("Content-Length", String(range.end - range.start + 1));
        // A stream (not the sliced Blob): Bun.serve would apply the Range header again to a file body.
        return new Response(method === "HEAD" ? null : file.slice(range.start, range.end + 1).stream(), { status: 206, headers });
      }
    }
  }
  headers.set("Content-Length", String(size));
  return new Response(method === "HEAD" ? null : file, { status: 200, headers });
}
