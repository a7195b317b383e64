/**
 * ffmpeg and ffprobe, always spawned with an argument array (never a shell) and a time limit.
 * The command lines follow previews.md §4-§6 (Zou's encodes); every function takes input/output
 * paths and throws `FfmpegError` (exit code + stderr tail) when the tool fails or times out.
 *
 * Tools are found through `FFMPEG_PATH` / `FFPROBE_PATH`, else on PATH (`ffmpegAvailable()` tells).
 * `FFMPEG_TIMEOUT` (seconds, default 3600) bounds long encodes; short jobs (frames, thumbnails,
 * probes) use `FFMPEG_SHORT_TIMEOUT` (default 120). `FFMPEG_PRESET` (default `slow`, Zou's) is the
 * x264 preset of normalized movies.
 *
 * Public interface:
 *   probe(file)                                  → ProbeInfo (size, duration, fps, aspect, audio)
 *   normalizeMovie(input, output, target)        → one H.264 MP4 at target W×H / fps / bitrate (+audio)
 *   addSilentAudio(file)                         → adds a silent track in place when there is none
 *   extractFrame(movie, output, time)            → PNG of the frame at `time` (`HH:MM:SS.ffffff`)
 *   convertToPng(input, output)                  → first frame/image as PNG
 *   fitPicture(input, output, width, height)     → RGBA PNG of exactly W×H (Zou's thumbnail fit)
 *   fitPictures(input, outputs, source)          → several fitted/full-size PNGs in one run
 *   makeTile(movie, output)                      → filmstrip tile PNG (8 columns × rows, 100 px high)
 *   concatMovies(inputs, output, options)        → one MP4 (concat demuxer, or concat filter re-encode)
 *   overlaySvg(input, svg, output, w, h)         → an SVG drawn over a picture (annotations)
 *   convertToJpeg(input, output)                 → JPEG of a picture
 *   runTool(tool, args, timeoutMs)               → raw runner {exitCode, stdout, stderr}
 */
import { copyFile, rename, rm, stat, writeFile } from "node:fs/promises";

export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null = null,
    readonly stderr = "",
  ) {
    super(message);
  }
}

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function envSeconds(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value * 1000 : fallback * 1000;
}

/** Time limit of encodes (normalization, concat), in ms. */
export const longTimeout = (): number => envSeconds("FFMPEG_TIMEOUT", 3600);
/** Time limit of probes, frames, thumbnails and tiles, in ms. */
export const shortTimeout = (): number => envSeconds("FFMPEG_SHORT_TIMEOUT", 120);
/** x264 preset of normalized movies (Zou: slow). */
export const x264Preset = (): string => process.env.FFMPEG_PRESET || "slow";

/** Path of `ffmpeg` or `ffprobe`: FFMPEG_PATH / FFPROBE_PATH, else found on PATH; null when absent. */
export function toolPath(tool: "ffmpeg" | "ffprobe"): string | null {
  const configured = process.env[tool === "ffmpeg" ? "FFMPEG_PATH" : "FFPROBE_PATH"];
  if (configured) return Bun.which(configured) ?? null;
  return Bun.which(tool);
}

/** True when both ffmpeg and ffprobe can be run. */
export function ffmpegAvailable(): boolean {
  return toolPath("ffmpeg") !== null && toolPath("ffprobe") !== null;
}

/** The last lines of a tool's stderr, for error messages. */
function tail(text: string, lines = 6): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/**
 * Runs a tool with an argument array and a time limit (SIGKILL when it passes). Never rejects
 * for a non-zero exit: callers read `exitCode`. Rejects when the tool is missing or times out.
 */
export async function runTool(tool: "ffmpeg" | "ffprobe", args: string[], timeoutMs: number): Promise<ToolResult> {
  const path = toolPath(tool);
  if (!path) throw new FfmpegError(`${tool} is not available (install it or set ${tool === "ffmpeg" ? "FFMPEG_PATH" : "FFPROBE_PATH"}).`);
  const proc = Bun.spawn([path, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const exitCode = await proc.exited;
  if (proc.signalCode) {
    throw new FfmpegError(`${tool} was stopped (${proc.signalCode}) after the time limit of ${Math.round(timeoutMs / 1000)} s.`, null, stderr);
  }
  return { exitCode, stdout, stderr };
}

/** Runs ffmpeg and throws `FfmpegError` on a non-zero exit. */
async function ffmpeg(args: string[], timeoutMs: number, what: string): Promise<void> {
  const result = await runTool("ffmpeg", ["-hide_banner", "-nostdin", ...args], timeoutMs);
  if (result.exitCode !== 0) throw new FfmpegError(`${what} failed: ${tail(result.stderr)}`, result.exitCode, result.stderr);
}

// ---------------------------------------------------------------------------------------------
// Probe (§5.0)

export interface ProbeInfo {
  hasVideo: boolean;
  hasAudio: boolean;
  /** Video stream size (1×1 when there is no video stream, as Zou). */
  width: number;
  height: number;
  /** Video stream duration in seconds (format duration when the stream has none; 0 if unknown). */
  duration: number;
  /** Container duration text (`format.duration`), used to detect a changed duration. */
  formatDuration: string;
  /** Frame rate as a number (r_frame_rate evaluated: 30000/1001 → 29.97). */
  fps: number;
  /** Display aspect ratio (display_aspect_ratio, else width/height). */
  aspectRatio: number;
  /** Frame count when ffprobe knows it (0 otherwise). */
  frameCount: number;
  codec: string;
  formatName: string;
}

function parseRate(text: unknown): number {
  if (typeof text !== "string") return 0;
  const [num, den] = text.split("/").map(Number);
  if (!num || !Number.isFinite(num)) return 0;
  return den ? num / den : num;
}

/** Reads a media file's metadata with ffprobe; throws `FfmpegError` when it is not a readable media file. */
export async function probe(file: string, timeoutMs = shortTimeout()): Promise<ProbeInfo> {
  const result = await runTool("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", file], timeoutMs);
  if (result.exitCode !== 0) throw new FfmpegError(`ffprobe could not read the file: ${tail(result.stderr)}`, result.exitCode, result.stderr);
  let data: { streams?: Record<string, unknown>[]; format?: Record<string, unknown> };
  try {
    data = JSON.parse(result.stdout);
  } catch {
    throw new FfmpegError("ffprobe returned unreadable output.");
  }
  const streams = data.streams ?? [];
  const video = streams.find((s) => s.codec_type === "video");
  const audio = streams.find((s) => s.codec_type === "audio");
  const width = Number(video?.width) || 1;
  const height = Number(video?.height) || 1;
  const formatDuration = String(data.format?.duration ?? "");
  const duration = Number(video?.duration) || Number(formatDuration) || 0;
  let aspectRatio = width / height;
  const dar = typeof video?.display_aspect_ratio === "string" ? video.display_aspect_ratio.split(":").map(Number) : [];
  if (dar.length === 2 && dar[0]! > 0 && dar[1]! > 0) aspectRatio = dar[0]! / dar[1]!;
  return {
    hasVideo: Boolean(video),
    hasAudio: Boolean(audio),
    width,
    height,
    duration,
    formatDuration,
    fps: parseRate(video?.r_frame_rate) || parseRate(video?.avg_frame_rate) || 25,
    aspectRatio,
    frameCount: Number(video?.nb_frames) || 0,
    codec: String(video?.codec_name ?? ""),
    formatName: String(data.format?.format_name ?? ""),
  };
}

// ---------------------------------------------------------------------------------------------
// Movies (§4, §5.3, §5.4)

export interface MovieTarget {
  /** Output size; both even. */
  width: number;
  height: number;
  /** Frames per second, formatted `%.3f` (e.g. `25.000`). */
  fps: string;
  /** Video bitrate (Zou: `28M` high definition, `6M` low definition). */
  bitrate: string;
}

/** The `-vf` chain that de-anamorphoses, fits inside W×H keeping the aspect ratio and pads with black. */
export function fitFilter(width: number, height: number): string {
  return (
    `scale=trunc(iw*sar/2)*2:ih,scale=${width}:${height}:force_original_aspect_ratio=decrease:force_divisible_by=2,` +
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1`
  );
}

/**
 * Encodes `input` into an H.264 MP4 (`-preset`, 2-frame GOP, faststart, target size and fps). The
 * output always has an audio track: a silent one is generated when the input has none (`hasAudio`
 * false), in the same pass.
 */
export async function normalizeMovie(
  input: string,
  output: string,
  target: MovieTarget & { hasAudio: boolean },
  timeoutMs = longTimeout(),
): Promise<void> {
  const inputs = ["-i", input];
  const maps = ["-map", "0:v:0"];
  if (target.hasAudio) maps.push("-map", "0:a:0");
  else {
    inputs.push("-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000");
    maps.push("-map", "1:a:0", "-shortest");
  }
  await ffmpeg(
    [
      ...inputs, ...maps, "-f", "mp4", "-b:v", target.bitrate, "-movflags", "+faststart", "-pix_fmt", "yuv420p",
      "-preset", x264Preset(), "-r", target.fps, "-vcodec", "libx264", "-acodec", "aac",
      "-vf", fitFilter(target.width, target.height), "-x264opts", "keyint=2:scenecut=0", output, "-y",
    ],
    timeoutMs,
    "Movie normalization",
  );
}

/**
 * Gives `file` a silent audio track when it has none (§5.4), in place. The video stream is copied;
 * the result is trimmed to the video's length (`-shortest`).
 */
export async function addSilentAudio(file: string, timeoutMs = longTimeout()): Promise<void> {
  const info = await probe(file);
  if (info.hasAudio) return;
  const withAudio = `${file}.audio.mp4`;
  try {
    const args = ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000", "-i", file, "-c:v", "copy", "-c:a", "aac",
      "-map", "1:v:0", "-map", "0:a", "-shortest", withAudio, "-y"];
    const result = await runTool("ffmpeg", ["-hide_banner", "-nostdin", ...args], timeoutMs);
    if (result.exitCode !== 0) {
      // The container refuses the copied stream (e.g. an odd codec): re-encode the video, then retry.
      const reencoded = `${withAudio}.video.mp4`;
      try {
        await ffmpeg(["-i", file, "-map", "0:v:0", "-f", "mp4", "-pix_fmt", "yuv420p", "-preset", x264Preset(), "-vcodec", "libx264",
          "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", reencoded, "-y"], timeoutMs, "Video re-encoding");
        await ffmpeg(["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000", "-i", reencoded, "-c:v", "copy", "-c:a", "aac",
          "-map", "1:v:0", "-map", "0:a", "-shortest", withAudio, "-y"], timeoutMs, "Adding a silent soundtrack");
      } finally {
        await rm(reencoded, { force: true });
      }
    }
    await rename(withAudio, file).catch(async () => {
      await copyFile(withAudio, file);
    });
  } finally {
    await rm(withAudio, { force: true });
  }
}

/**
 * Concatenates movies into one MP4 (§10). Unless `reencode`, the concat demuxer is tried first
 * (inputs must share codecs and have video + audio); on failure, or with `reencode`, every input
 * is scaled to W×H (default: the first input's size) and joined with the concat filter.
 * Inputs without audio get a silent track first (in place).
 */
export async function concatMovies(
  inputs: string[],
  output: string,
  options: { width?: number | null; height?: number | null; reencode?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  if (inputs.length === 0) throw new FfmpegError("Nothing to concatenate.");
  const timeoutMs = options.timeoutMs ?? longTimeout();
  for (const input of inputs) await addSilentAudio(input, timeoutMs);
  if (!options.reencode) {
    const list = `${output}.list.txt`;
    try {
      await writeFile(list, inputs.map((p) => `file '${p.replace(/'/g, "'\\''")}'`).join("\n") + "\n");
      await ffmpeg(
        ["-xerror", "-f", "concat", "-safe", "0", "-i", list, "-map", "0:v", "-map", "0:a", "-af", "aselect=concatdec_select,aresample=async=1",
          "-vf", "select=concatdec_select", output, "-y"],
        timeoutMs,
        "Concatenation",
      );
      return;
    } catch {
      /* fall back to the concat filter */
    } finally {
      await rm(list, { force: true });
    }
  }
  let width = options.width ?? null;
  let height = options.height ?? null;
  if (!width || !height) {
    const first = await probe(inputs[0]!);
    width = first.width;
    height = first.height;
  }
  width += width % 2;
  height += height % 2;
  const args: string[] = [];
  for (const input of inputs) args.push("-i", input);
  const parts: string[] = [];
  const pairs: string[] = [];
  inputs.forEach((_, i) => {
    parts.push(`[${i}:v]setsar=1/1,${fitFilter(width!, height!)}[v${i}]`);
    pairs.push(`[v${i}][${i}:a]`);
  });
  const graph = `${parts.join(";")};${pairs.join("")}concat=n=${inputs.length}:v=1:a=1[outv][outa]`;
  await ffmpeg([...args, "-filter_complex", graph, "-map", "[outv]", "-map", "[outa]", "-pix_fmt", "yuv420p", "-vcodec", "libx264",
    "-preset", x264Preset(), output, "-y"], timeoutMs, "Concatenation");
}

// ---------------------------------------------------------------------------------------------
// Pictures (§5.1, §5.2, §5.5, §6)

/** The frame at `time` (ffmpeg time text, e.g. `00:00:00.375`) of a movie as a PNG. */
export async function extractFrame(movie: string, output: string, time = "00:00:00", timeoutMs = shortTimeout()): Promise<void> {
  await ffmpeg(["-ss", time, "-i", movie, "-update", "1", "-frames:v", "1", output, "-y"], timeoutMs, "Frame extraction");
  const written = await stat(output).catch(() => null);
  if (!written || written.size === 0) throw new FfmpegError("Frame extraction produced no picture (time beyond the end of the movie?).");
}

/** The first image (or frame) of `input` as a PNG of the same size. */
export async function convertToPng(input: string, output: string, timeoutMs = shortTimeout()): Promise<void> {
  await ffmpeg(["-i", input, "-frames:v", "1", "-update", "1", "-pix_fmt", "rgba", output, "-y"], timeoutMs, "Picture conversion");
}

/** The filter fitting a picture of `source` size into exactly W×H (previews.md §6). */
function fitChain(width: number, height: number, source: { width: number; height: number }): string {
  if (source.width < width && source.height < height) return `scale=${width}:${height}:flags=lanczos`;
  return `scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=lanczos,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=0x00000000`;
}

/**
 * An RGBA PNG of exactly W×H (previews.md §6): a source smaller in both dimensions is stretched to
 * W×H; otherwise it is fitted inside W×H keeping its aspect ratio and centred on a transparent canvas.
 * `source` gives the input size (probe it once and pass it for several variants).
 */
export async function fitPicture(
  input: string,
  output: string,
  width: number,
  height: number,
  source: { width: number; height: number },
  timeoutMs = shortTimeout(),
): Promise<void> {
  await fitPictures(input, [{ path: output, width, height }], source, timeoutMs);
}

/**
 * Several RGBA PNGs from the first image (or frame) of `input` in one ffmpeg run: each output is
 * fitted to its W×H as `fitPicture` does, or kept at full size when it has no size.
 */
export async function fitPictures(
  input: string,
  outputs: { path: string; width?: number; height?: number }[],
  source: { width: number; height: number },
  timeoutMs = shortTimeout(),
): Promise<void> {
  const labels = outputs.map((_, i) => `[s${i}]`).join("");
  const chains = outputs.map((out, i) => `[s${i}]${out.width && out.height ? fitChain(out.width, out.height, source) : "null"}[o${i}]`);
  const graph = `[0:v]format=rgba,split=${outputs.length}${labels};${chains.join(";")}`;
  const maps = outputs.flatMap((out, i) => ["-map", `[o${i}]`, "-frames:v", "1", "-update", "1", out.path]);
  await ffmpeg(["-i", input, "-filter_complex", graph, ...maps, "-y"], timeoutMs, "Thumbnails");
}

/**
 * The filmstrip tile of a movie (§5.5): 8 columns, tiles 100 px high and ceil(100 × aspect) wide,
 * rows = min(ceil(frames / 8), 480) (frames skipped evenly past 3,840).
 */
export async function makeTile(movie: string, output: string, timeoutMs = longTimeout()): Promise<{ width: number; height: number }> {
  const info = await probe(movie);
  if (!info.hasVideo) throw new FfmpegError("The movie has no video stream.");
  const frames = Math.max(1, info.frameCount || Math.floor(info.duration * info.fps));
  const rows = Math.min(Math.ceil(frames / 8), 480);
  const tileWidth = Math.ceil(100 * info.aspectRatio);
  const scale = `scale=${tileWidth}:100,tile=8x${rows}`;
  const filter = rows < 480 ? scale : `select='not(mod(n\\,${Math.ceil(frames / 3840)}))',${scale}`;
  await ffmpeg(["-i", movie, "-vf", filter, "-frames:v", "1", "-update", "1", output, "-y"], timeoutMs, "Tile");
  return { width: tileWidth * 8, height: 100 * rows };
}

/** Draws an SVG (rasterized by ffmpeg's librsvg decoder) over a picture, scaled to W×H. */
export async function overlaySvg(input: string, svg: string, output: string, width: number, height: number, timeoutMs = shortTimeout()): Promise<void> {
  await ffmpeg(
    ["-i", input, "-i", svg, "-filter_complex", `[1:v]scale=${width}:${height}[o];[0:v][o]overlay=0:0`, "-frames:v", "1", "-update", "1", output, "-y"],
    timeoutMs,
    "Annotation drawing",
  );
}

/** The first image of `input` as a JPEG (for PDF pages). */
export async function convertToJpeg(input: string, output: string, timeoutMs = shortTimeout()): Promise<void> {
  await ffmpeg(["-i", input, "-frames:v", "1", "-update", "1", "-q:v", "3", "-pix_fmt", "yuvj444p", output, "-y"], timeoutMs, "JPEG conversion");
}
