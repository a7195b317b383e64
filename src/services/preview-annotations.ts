/**
 * Annotated frames (previews.md §9): the drawings of an annotation (Kitsu's fabric.js objects:
 * paths, lines, rectangles, circles, texts) turned into an SVG and drawn over the movie frame or
 * the picture with ffmpeg; bundled as ZIP or PDF for the `extract-annotated-frames*` routes.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import type { AppContext } from "../context";
import { parseJson } from "../db/serialize";
import { jpegPdf, zipArchive } from "../lib/bundles";
import { ApiError, badRequest } from "../lib/errors";
import { convertToJpeg, overlaySvg, probe } from "../lib/ffmpeg";
import { sharedJobQueue } from "../lib/job-queue";
import { newId } from "../lib/ids";
import type { PreviewRow } from "./preview-files";
import { extractPreviewFrame, previewDownloadName, previewFpsOf } from "./preview-media";
import { PICTURE_EXTENSIONS } from "./preview-processing";
import { firstStored, pendingFolder, workPath } from "./preview-storage";

type Dict = Record<string, unknown>;

const num = (value: unknown, fallback = 0) => {
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
};
const xml = (text: unknown) => String(text ?? "").replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
/** A colour fabric.js writes (#hex, rgb()/rgba(), a name); anything else is dropped. */
const colour = (value: unknown, fallback: string) => {
  const text = String(value ?? "");
  return /^(#[0-9a-f]{3,8}|rgba?\([\d.,\s%]+\)|[a-z]{3,20})$/i.test(text) ? text : fallback;
};

function objectSvg(object: Dict): string {
  const stroke = colour(object.stroke, "none");
  const fill = colour(object.fill, "none");
  const width = num(object.strokeWidth, 1);
  const paint = `stroke="${stroke}" stroke-width="${width}" fill="${fill}" stroke-linecap="round" stroke-linejoin="round" opacity="${num(object.opacity, 1)}"`;
  const left = num(object.left);
  const top = num(object.top);
  const scale = `scale(${num(object.scaleX, 1)} ${num(object.scaleY, 1)})`;
  switch (String(object.type ?? "").toLowerCase()) {
    case "path": {
      const commands = Array.isArray(object.path) ? object.path : [];
      const d = commands
        .filter((command): command is unknown[] => Array.isArray(command) && /^[MLQCZHVST]$/i.test(String(command[0])))
        .map((command) => [String(command[0]), ...command.slice(1).map((n) => num(n))].join(" "))
        .join(" ");
      return d ? `<path d="${d}" ${paint.replace(`fill="${fill}"`, 'fill="none"')}/>` : "";
    }
    case "line":
      return `<line x1="${left}" y1="${top}" x2="${left + num(object.width) * num(object.scaleX, 1)}" y2="${top + num(object.height) * num(object.scaleY, 1)}" ${paint}/>`;
    case "rect":
      return `<rect x="${left}" y="${top}" width="${num(object.width) * num(object.scaleX, 1)}" height="${num(object.height) * num(object.scaleY, 1)}" ${paint}/>`;
    case "circle":
    case "ellipse": {
      const rx = num(object.rx ?? object.radius) * num(object.scaleX, 1);
      const ry = num(object.ry ?? object.radius) * num(object.scaleY, 1);
      return `<ellipse cx="${left + rx}" cy="${top + ry}" rx="${rx}" ry="${ry}" ${paint}/>`;
    }
    case "text":
    case "i-text":
    case "textbox": {
      const size = num(object.fontSize, 20);
      return `<text transform="translate(${left} ${top + size}) ${scale}" font-size="${size}" font-family="sans-serif" fill="${colour(object.fill, "#ff3860")}">${xml(object.text)}</text>`;
    }
    default:
      return "";
  }
}

/** The SVG of an annotation's drawing; its coordinates are those of the canvas it was drawn on. */
export function annotationSvg(annotation: Dict, picture: { width: number; height: number }): string {
  const drawing = (annotation.drawing ?? {}) as Dict;
  const objects = (Array.isArray(drawing.objects) ? drawing.objects : []).filter((o): o is Dict => Boolean(o) && typeof o === "object");
  const first = objects[0] ?? {};
  const canvasWidth = num(annotation.width ?? first.canvasWidth, picture.width) || picture.width;
  const canvasHeight = num(annotation.height ?? first.canvasHeight, picture.height) || picture.height;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${picture.width}" height="${picture.height}" viewBox="0 0 ${canvasWidth} ${canvasHeight}" preserveAspectRatio="none">` +
    objects.map(objectSvg).join("") +
    "</svg>"
  );
}

/** Draws `annotation` over the PNG at `base`; returns the rendered PNG path (a work file). */
async function render(c: AppContext, preview: PreviewRow, base: string, annotation: Dict): Promise<string> {
  const config = c.get("config");
  const svg = workPath(config, preview.id, `annotation-${newId()}.svg`);
  const out = workPath(config, preview.id, `annotated-${newId()}.png`);
  try {
    await sharedJobQueue().run(`annotation ${preview.id}`, async () => {
      const info = await probe(base);
      await writeFile(svg, annotationSvg(annotation, info));
      await overlaySvg(base, svg, out, info.width, info.height);
    });
    return out;
  } finally {
    await rm(svg, { force: true });
  }
}

function annotationsOf(preview: PreviewRow): Dict[] {
  const list = parseJson(preview.annotations);
  return Array.isArray(list) ? list.filter((a): a is Dict => Boolean(a) && typeof a === "object") : [];
}

/** The picture a picture preview is annotated on (404 when its binary is gone). */
async function picturePath(c: AppContext, preview: PreviewRow): Promise<string> {
  const path = await firstStored(c.get("config"), "pictures", ["original", "previews"], preview.id);
  if (!path) throw new ApiError(404, { error: "preview file binary is not available" });
  return path;
}

/** One annotated frame as PNG bytes (extract-annotated-frame). */
export async function annotatedFrame(c: AppContext, preview: PreviewRow, frameNumber: number | null): Promise<Uint8Array> {
  const extension = (preview.extension ?? "").toLowerCase();
  const annotations = annotationsOf(preview);
  await mkdir(pendingFolder(c.get("config")), { recursive: true });
  if (extension === "mp4") {
    if (frameNumber === null) throw badRequest("frame_number is required for movie previews");
    const fps = await previewFpsOf(c.get("db"), preview);
    const target = (frameNumber - 1) / fps;
    const annotation = annotations.find((a) => a.time !== null && a.time !== undefined && Math.abs(num(a.time, -1e9) - target) <= 1 / (2 * fps));
    if (!annotation) throw badRequest(`No annotation found for frame ${frameNumber}`);
    const frame = await extractPreviewFrame(c, preview, frameNumber);
    try {
      const out = await render(c, preview, frame, annotation);
      try {
        return new Uint8Array(await readFile(out));
      } finally {
        await rm(out, { force: true });
      }
    } finally {
      await rm(frame, { force: true });
    }
  }
  if (!PICTURE_EXTENSIONS.has(extension)) throw badRequest(`Cannot extract annotated frame from preview with extension '${extension}'`);
  if (annotations.length === 0) throw badRequest("No annotation found on picture preview");
  const out = await render(c, preview, await picturePath(c, preview), annotations[0]!);
  try {
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(out, { force: true });
  }
}

/** Every annotated frame, as a ZIP of PNGs or a PDF; returns the bytes and the download name. */
export async function annotatedBundle(c: AppContext, preview: PreviewRow, kind: "zip" | "pdf"): Promise<{ data: Uint8Array; filename: string }> {
  const annotations = annotationsOf(preview);
  if (annotations.length === 0) throw badRequest("Preview file has no annotations");
  const extension = (preview.extension ?? "").toLowerCase();
  if (extension !== "mp4" && !PICTURE_EXTENSIONS.has(extension)) {
    throw badRequest(`Cannot extract annotated frames from preview with extension '${extension}'`);
  }
  await mkdir(pendingFolder(c.get("config")), { recursive: true });
  const downloadName = await previewDownloadName(c.get("db"), preview);
  const base = downloadName.slice(0, downloadName.lastIndexOf(".") === -1 ? undefined : downloadName.lastIndexOf("."));
  const fps = extension === "mp4" ? await previewFpsOf(c.get("db"), preview) : 25;
  const rendered: { name: string; path: string }[] = [];
  try {
    for (const [index, annotation] of annotations.entries()) {
      if (extension === "mp4") {
        const time = Number(annotation.time);
        if (!Number.isFinite(time)) continue;
        const frameNumber = Math.max(1, Math.round(time * fps) + 1);
        let frame: string;
        try {
          frame = await extractPreviewFrame(c, preview, frameNumber);
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) throw error;
          continue; // a time past the end of the movie is skipped
        }
        try {
          rendered.push({ name: `${base}_frame_${frameNumber}.png`, path: await render(c, preview, frame, annotation) });
        } finally {
          await rm(frame, { force: true });
        }
      } else {
        rendered.push({ name: `${base}_frame_${index + 1}.png`, path: await render(c, preview, await picturePath(c, preview), annotation) });
      }
    }
    if (kind === "zip") {
      const entries = [];
      for (const entry of rendered) entries.push({ name: entry.name, data: new Uint8Array(await readFile(entry.path)) });
      return { data: zipArchive(entries), filename: `${base}_annotated_frames.zip` };
    }
    const pages = [];
    for (const entry of rendered) {
      const jpeg = `${entry.path}.jpg`;
      try {
        await convertToJpeg(entry.path, jpeg);
        const info = await probe(jpeg);
        pages.push({ data: new Uint8Array(await readFile(jpeg)), width: info.width, height: info.height });
      } finally {
        await rm(jpeg, { force: true });
      }
    }
    return { data: jpegPdf(pages), filename: `${base}_annotated_frames.pdf` };
  } finally {
    for (const entry of rendered) await rm(entry.path, { force: true });
  }
}
