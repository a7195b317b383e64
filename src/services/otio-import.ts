/**
 * Import of an edit (OpenTimelineIO JSON `.otio` or CMX 3600 `.edl`) into a project's shots:
 * each video clip names a shot through the naming convention (`${project_name}_${sequence_name}-
 * ${shot_name}` by default, with `${episode_name}` on the episode route); matching shots get their
 * frame range (`data.frame_in`, `data.frame_out`) and `nb_frames`, other clips create the shot
 * (and its sequence) with one task per shot task type of the project. One transaction: a clip
 * that does not follow the convention is a 400 and nothing is written.
 *
 * No maintained OTIO or EDL parser exists on npm, so both formats are read by the small parsers
 * below: video tracks of a Timeline (clips, gaps, transitions; nested stacks are flattened) and
 * CMX 3600 events (record timecodes rebased to the first event, as OpenTimelineIO's EDL adapter).
 */
import type { AppContext } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import { badRequestPlain } from "../lib/errors";
import { utcNow } from "../lib/ids";
import { emitEntityEvent, entityData, parseFps, requestTypeIds, type EntityRow } from "./entities";
import { createSequence, createShot, findEntity } from "./entity-writes";
import { createTasksForEntities, type TaskTypeRow } from "./tasks";

export interface TimelineClip {
  /** Clip name without its file extension. */
  name: string;
  /** First frame in the timeline (0 = start of the edit). */
  frameIn: number;
  /** Last frame in the timeline (inclusive). */
  frameOut: number;
  /** Length of the clip's source range in frames. */
  nbFrames: number;
}

export class TimelineParseError extends Error {}

function stripExtension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

// ---------------------------------------------------------------------------------------------
// OpenTimelineIO JSON

type Json = Record<string, any>;

function schemaName(item: Json): string {
  return String(item?.OTIO_SCHEMA ?? "").split(".")[0] ?? "";
}

/** Seconds of an OTIO RationalTime `{value, rate}`. */
function seconds(time: unknown): number {
  const t = time as Json | null;
  if (!t || typeof t.value !== "number" || typeof t.rate !== "number" || t.rate <= 0) throw new TimelineParseError("a time is not a RationalTime");
  return t.value / t.rate;
}

function rangeOf(item: Json): { start: number; duration: number; rate: number } | null {
  const range = item.source_range as Json | null;
  if (!range) return null;
  return { start: seconds(range.start_time), duration: seconds(range.duration), rate: Number(range.duration.rate) };
}

function clipName(clip: Json): string {
  const own = typeof clip.name === "string" ? stripExtension(clip.name) : "";
  if (own) return own;
  const ref = (clip.media_reference ?? {}) as Json;
  if (typeof ref.name_prefix === "string" && ref.name_prefix) return ref.name_prefix;
  if (typeof ref.name === "string" && ref.name) return stripExtension(ref.name);
  if (typeof ref.target_url === "string" && ref.target_url) return stripExtension(baseName(ref.target_url));
  return "";
}

/** Clips of one track with their position in it (seconds), recursing into nested stacks/tracks. */
function trackClips(track: Json, offset: number, out: TimelineClip[]): number {
  let position = offset;
  for (const child of (track.children ?? []) as Json[]) {
    const schema = schemaName(child);
    if (schema === "Transition") continue;
    if (schema === "Stack" || schema === "Track") {
      const range = rangeOf(child);
      const end = schema === "Track" ? trackClips(child, position, out) : stackClips(child, position, out);
      position = range ? position + range.duration : end;
      continue;
    }
    const range = rangeOf(child);
    if (!range) {
      if (schema === "Clip") throw new TimelineParseError(`clip "${child.name ?? ""}" has no source range`);
      continue;
    }
    if (schema === "Clip") {
      const rate = range.rate;
      const frameIn = Math.round(position * rate);
      const nbFrames = Math.round(range.duration * rate);
      out.push({ name: clipName(child), frameIn, frameOut: frameIn + nbFrames - 1, nbFrames });
    }
    position += range.duration;
  }
  return position;
}

function stackClips(stack: Json, offset: number, out: TimelineClip[]): number {
  let end = offset;
  for (const child of (stack.children ?? []) as Json[]) {
    if (schemaName(child) !== "Track" || (child.kind ?? "Video") !== "Video") continue;
    end = Math.max(end, trackClips(child, offset, out));
  }
  return end;
}

export function parseOtio(text: string): TimelineClip[] {
  let root: Json;
  try {
    root = JSON.parse(text);
  } catch {
    throw new TimelineParseError("the file is not OpenTimelineIO JSON");
  }
  const out: TimelineClip[] = [];
  const schema = schemaName(root);
  if (schema === "Timeline") {
    if (!root.tracks) throw new TimelineParseError("the timeline has no tracks");
    stackClips(root.tracks, 0, out);
  } else if (schema === "Stack") {
    stackClips(root, 0, out);
  } else if (schema === "Track") {
    trackClips(root, 0, out);
  } else if (schema === "SerializableCollection") {
    for (const child of (root.children ?? []) as Json[]) if (schemaName(child) === "Timeline" && child.tracks) stackClips(child.tracks, 0, out);
  } else {
    throw new TimelineParseError(`unknown OTIO schema "${root?.OTIO_SCHEMA ?? ""}"`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// CMX 3600 EDL

const TIMECODE = /^(\d{1,2})[:;.](\d{2})[:;.](\d{2})([:;.])(\d{2,3})$/;

/** Frames of a timecode at `fps` (drop-frame when written with `;` at 29.97/59.94). */
export function timecodeToFrames(timecode: string, fps: number): number {
  const match = TIMECODE.exec(timecode);
  if (!match) throw new TimelineParseError(`"${timecode}" is not a timecode`);
  const [hours, minutes, secs, separator, frames] = [Number(match[1]), Number(match[2]), Number(match[3]), match[4], Number(match[5])];
  const nominal = Math.round(fps);
  const total = ((hours * 60 + minutes) * 60 + secs) * nominal + frames;
  if (separator === ";" && (nominal === 30 || nominal === 60)) {
    const dropped = nominal / 15;
    const totalMinutes = hours * 60 + minutes;
    return total - dropped * (totalMinutes - Math.floor(totalMinutes / 10));
  }
  return total;
}

interface EdlEvent {
  reel: string;
  clipName: string | null;
  sourceIn: number;
  sourceOut: number;
  recordIn: number;
  recordOut: number;
}

export function parseEdl(text: string, fps: number): TimelineClip[] {
  const events: EdlEvent[] = [];
  let current: EdlEvent | null = null;
  for (const rawLine of text.split(/\r\n|\r|\n/)) {
    const line = rawLine.trim();
    if (!line || /^(TITLE|FCM):/i.test(line)) continue;
    const clipComment = /^\*\s*FROM CLIP NAME:\s*(.*)$/i.exec(line);
    if (clipComment) {
      if (current && current.clipName === null) current.clipName = clipComment[1]!.trim();
      continue;
    }
    if (line.startsWith("*") || /^(M2|SPLIT|>>>)/i.test(line)) continue;
    const fields = line.split(/\s+/);
    if (!/^\d+$/.test(fields[0] ?? "")) continue;
    // NNN REEL TRACK TRANSITION [DURATION] SRC_IN SRC_OUT REC_IN REC_OUT
    const timecodes = fields.slice(-4);
    if (fields.length < 8 || !timecodes.every((tc) => TIMECODE.test(tc))) {
      throw new TimelineParseError(`event "${line}" is not a CMX 3600 event`);
    }
    const track = (fields[2] ?? "").toUpperCase();
    if (!track.includes("V") && track !== "B") {
      current = null;
      continue;
    }
    const [sourceIn, sourceOut, recordIn, recordOut] = timecodes.map((tc) => timecodeToFrames(tc, fps)) as [number, number, number, number];
    current = { reel: fields[1] ?? "", clipName: null, sourceIn, sourceOut, recordIn, recordOut };
    events.push(current);
  }
  if (events.length === 0) throw new TimelineParseError("no video event found in the EDL");
  const start = Math.min(...events.map((event) => event.recordIn));
  return events.map((event) => {
    const nbFrames = event.sourceOut - event.sourceIn;
    const frameIn = event.recordIn - start;
    const name = event.clipName ? stripExtension(baseName(event.clipName)) : event.reel;
    return { name, frameIn, frameOut: frameIn + nbFrames - 1, nbFrames };
  });
}

// ---------------------------------------------------------------------------------------------
// Naming convention

const PLACEHOLDERS = ["project_name", "episode_name", "sequence_name", "shot_name"] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

function placeholderPattern(): RegExp {
  return new RegExp(`\\$\\{(${PLACEHOLDERS.join("|")})\\}|\\$(${PLACEHOLDERS.join("|")})`, "g");
}

/** The convention as a regular expression with one named group per placeholder (anchored at the start). */
export function conventionRegex(convention: string): RegExp {
  let source = "^";
  let last = 0;
  for (const match of convention.matchAll(placeholderPattern())) {
    source += convention.slice(last, match.index).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const name = match[1] ?? match[2];
    source += source.includes(`(?<${name}>`) ? `\\w*` : `(?<${name}>\\w*)`;
    last = match.index! + match[0].length;
  }
  source += convention.slice(last).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(source);
}

export function renderConvention(convention: string, values: Partial<Record<Placeholder, string>>): string {
  return convention.replace(placeholderPattern(), (_all, braced, bare) => values[(braced ?? bare) as Placeholder] ?? "");
}

// ---------------------------------------------------------------------------------------------
// Import

export interface OtioImportOptions {
  projectId: string;
  episode: EntityRow | null;
  fileName: string;
  content: string;
  namingConvention: string;
  matchCase: boolean;
}

export const DEFAULT_CONVENTION = "${project_name}_${sequence_name}-${shot_name}";
export const DEFAULT_EPISODE_CONVENTION = "${project_name}_${episode_name}-${sequence_name}-${shot_name}";

function readTimeline(fileName: string, content: string, fps: number): TimelineClip[] {
  const dot = fileName.lastIndexOf(".");
  const extension = dot >= 0 ? fileName.slice(dot).toLowerCase() : "";
  if (extension !== ".otio" && extension !== ".edl") {
    throw badRequestPlain(`Unsupported file type '${extension || fileName}': send an OpenTimelineIO (.otio) or CMX 3600 (.edl) file.`);
  }
  try {
    return extension === ".edl" ? parseEdl(content, fps) : parseOtio(content);
  } catch (error) {
    if (error instanceof TimelineParseError) throw badRequestPlain(`Failed to parse OTIO file: ${error.message}`);
    throw error;
  }
}

/** Imports the clips of an edit into shots; returns `{updated_shots, created_shots}`. */
export async function importTimeline(c: AppContext, options: OtioImportOptions): Promise<{ updated_shots: unknown[]; created_shots: unknown[] }> {
  const db = c.get("db");
  const project = await db.selectFrom("project").selectAll().where("id", "=", options.projectId).executeTakeFirstOrThrow();
  const clips = readTimeline(options.fileName, options.content, parseFps(project.fps));
  return transact(c, async (trx) => {
    const types = await requestTypeIds(c);
    const fold = (text: string) => (options.matchCase ? text : text.toLowerCase());
    const episodeId = options.episode?.id ?? null;
    let sequenceQuery = trx.selectFrom("entity").selectAll().where("project_id", "=", options.projectId).where("entity_type_id", "=", types.Sequence);
    if (episodeId) sequenceQuery = sequenceQuery.where("parent_id", "=", episodeId);
    const sequences = (await sequenceQuery.execute()) as EntityRow[];
    const sequenceByName = new Map(sequences.map((sequence) => [sequence.name, sequence.id]));
    const sequenceNames = new Map(sequences.map((sequence) => [sequence.id, sequence.name]));
    const shotRows = sequences.length
      ? ((await trx
          .selectFrom("entity")
          .selectAll()
          .where("entity_type_id", "=", types.Shot)
          .where("parent_id", "in", sequences.map((sequence) => sequence.id))
          .execute()) as EntityRow[])
      : [];
    const shotByKey = new Map<string, EntityRow>();
    for (const shot of shotRows) {
      const key = renderConvention(options.namingConvention, {
        project_name: project.name,
        episode_name: options.episode?.name ?? "",
        sequence_name: sequenceNames.get(shot.parent_id!) ?? "",
        shot_name: shot.name,
      });
      shotByKey.set(fold(key), shot);
    }
    const pattern = conventionRegex(options.namingConvention);
    const created: EntityRow[] = [];
    const updated: EntityRow[] = [];
    for (const clip of clips) {
      const frames = { frame_in: clip.frameIn, frame_out: clip.frameOut };
      const updateShot = async (existing: EntityRow) => {
        const data = { ...entityData(existing.data), ...frames };
        const row = (await trx
          .updateTable("entity")
          .set({ data: JSON.stringify(data), nb_frames: clip.nbFrames, updated_at: utcNow() } as any)
          .where("id", "=", existing.id)
          .returningAll()
          .executeTakeFirstOrThrow()) as EntityRow;
        await emitEntityEvent(c, "Shot", "update", row, { episode_id: episodeId });
        shotByKey.set(fold(clip.name), row);
        if (!created.some((shot) => shot.id === row.id) && !updated.some((shot) => shot.id === row.id)) updated.push(row);
      };
      const existing = shotByKey.get(fold(clip.name));
      if (existing) {
        await updateShot(existing);
        continue;
      }
      const groups = pattern.exec(clip.name)?.groups;
      if (!groups) throw badRequestPlain(`No matched value while extracting shot informations: clip "${clip.name}" does not follow "${options.namingConvention}".`);
      if (groups.sequence_name === undefined) throw badRequestPlain("No sequence name found while extracting shot informations.");
      if (!groups.shot_name) throw badRequestPlain(`No shot name found while extracting shot informations: clip "${clip.name}".`);
      let sequenceId = sequenceByName.get(groups.sequence_name);
      if (!sequenceId) {
        sequenceId = (await createSequence(c, options.projectId, { name: groups.sequence_name, episodeId })).id;
        sequenceByName.set(groups.sequence_name, sequenceId);
      }
      // A shot of that name under the sequence that the convention did not find (another case).
      const sameName = await findEntity(trx, { projectId: options.projectId, entityTypeId: types.Shot, parentId: sequenceId, name: groups.shot_name });
      if (sameName) {
        await updateShot(sameName);
        continue;
      }
      const shot = await createShot(c, options.projectId, { name: groups.shot_name, sequenceId, data: frames, nbFrames: clip.nbFrames });
      shotByKey.set(fold(clip.name), shot);
      created.push(shot);
    }
    const taskTypes = (await trx
      .selectFrom("task_type")
      .innerJoin("project_task_type_link", "project_task_type_link.task_type_id", "task_type.id")
      .selectAll("task_type")
      .where("project_task_type_link.project_id", "=", options.projectId)
      .where("task_type.for_entity", "=", "Shot")
      .execute()) as TaskTypeRow[];
    for (const taskType of taskTypes) {
      await createTasksForEntities(c, taskType, created.map((shot) => ({ id: shot.id, project_id: shot.project_id, type_name: "Shot" })));
    }
    return {
      updated_shots: updated.map((row) => serialize("entity", row as Record<string, unknown>, { typeName: "Shot" })),
      created_shots: created.map((row) => serialize("entity", row as Record<string, unknown>, { typeName: "Shot" })),
    };
  });
}
