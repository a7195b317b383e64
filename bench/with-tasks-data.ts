/**
 * The production the with-tasks benchmarks read (bench/with-tasks.ts, bench/scale.ts) and the
 * floor they compare with: a minimal bun:sqlite + JSON.stringify script reading the same rows.
 */
import { Database } from "bun:sqlite";
import { migrateToLatest, openDatabase } from "../src/db/database";
import { initData } from "../src/services/init-data";

export const SHOTS_PER_SEQUENCE = 100;
export const TASK_TYPES = 10;
export const ASSIGNEES = 5;

const uuid = () => crypto.randomUUID();
const now = "2026-01-01T10:00:00";

export interface BenchProduction {
  projectId: string;
  adminId: string;
  shotTypeId: string;
  /** A task of the big project, and one of a small second project (10 shots). */
  taskId: string;
  otherTaskId: string;
  tasks: number;
  links: number;
}

/** A new SQLite file at `file`: migrated, Zou's initial data, then the production of `buildProduction`. */
export async function createBenchDatabase(file: string, shots = 2000): Promise<BenchProduction> {
  const db = openDatabase(`sqlite://${file}`);
  await migrateToLatest(db);
  await initData(db, "3d");
  await db.destroy();
  return buildProduction(file, shots);
}

/**
 * Writes a production of `shots` shots (100 per sequence, TASK_TYPES task types, ASSIGNEES
 * assignees) straight into the SQLite file (one transaction), and a second project of 10 shots.
 */
export function buildProduction(file: string, shots = 2000): BenchProduction {
  const sqlite = new Database(file);
  const adminId = uuid();
  const projectId = uuid();
  const otherProjectId = uuid();
  let taskId = "";
  let otherTaskId = "";
  const one = (sql: string, ...args: any[]) => sqlite.query(sql).get(...args) as any;
  sqlite.transaction(() => {
    sqlite.query("insert into person (id, created_at, updated_at, first_name, last_name, email, role, active) values (?, ?, ?, 'Bench', 'Admin', 'bench@example.com', 'admin', 1)").run(adminId, now, now);
    const open = one("select id from project_status where name = 'Open'");
    sqlite.query("insert into project (id, created_at, updated_at, name, project_status_id, fps) values (?, ?, ?, 'Bench', ?, '25')").run(projectId, now, now, open.id);
    sqlite.query("insert into project (id, created_at, updated_at, name, project_status_id, fps) values (?, ?, ?, 'Other', ?, '25')").run(otherProjectId, now, now, open.id);
    const shotType = one("select id from entity_type where name = 'Shot'");
    const sequenceType = one("select id from entity_type where name = 'Sequence'");
    const status = one("select id from task_status where short_name = 'todo'");
    const taskTypes = (sqlite.query("select id from task_type where for_entity = 'Shot'").all() as { id: string }[]).map((r) => r.id);
    for (let i = taskTypes.length; i < TASK_TYPES; i++) {
      const id = uuid();
      sqlite.query("insert into task_type (id, created_at, updated_at, name, short_name, color, priority, for_entity, allow_timelog, archived) values (?, ?, ?, ?, '', '#999999', ?, 'Shot', 1, 0)").run(id, now, now, `Bench ${i}`, i + 1);
      taskTypes.push(id);
    }
    const people: string[] = [];
    for (let i = 0; i < ASSIGNEES; i++) {
      const id = uuid();
      sqlite.query("insert into person (id, created_at, updated_at, first_name, last_name, email, role, active) values (?, ?, ?, 'Artist', ?, ?, 'user', 1)").run(id, now, now, String(i), `artist${i}@example.com`);
      people.push(id);
    }
    const insertEntity = sqlite.query(
      "insert into entity (id, created_at, updated_at, name, description, data, project_id, entity_type_id, parent_id, nb_frames, nb_entities_out, is_casting_standby, is_shared, canceled, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 'running')",
    );
    const insertTask = sqlite.query(
      "insert into task (id, created_at, updated_at, name, project_id, entity_id, task_type_id, task_status_id, priority, difficulty, duration, estimation, retake_count, nb_assets_ready, nb_drawings, start_date, due_date, data) values (?, ?, ?, 'main', ?, ?, ?, ?, 0, 3, ?, ?, ?, 0, 0, ?, ?, ?)",
    );
    const insertLink = sqlite.query("insert into task_person_link (task_id, person_id) values (?, ?)");
    let n = 0;
    const sequences = Math.ceil(shots / SHOTS_PER_SEQUENCE) + 1;
    for (let s = 0; s < sequences; s++) {
      // The last sequence is the other project's (10 shots).
      const other = s === sequences - 1;
      const project = other ? otherProjectId : projectId;
      const count = other ? 10 : Math.min(SHOTS_PER_SEQUENCE, shots - s * SHOTS_PER_SEQUENCE);
      const sequenceId = uuid();
      insertEntity.run(sequenceId, now, now, `SQ${String(s + 1).padStart(3, "0")}`, null, "{}", project, sequenceType.id, null, null);
      for (let k = 0; k < count; k++) {
        const shotId = uuid();
        const frameIn = 1001;
        const frames = 24 + ((s * SHOTS_PER_SEQUENCE + k) % 200);
        insertEntity.run(shotId, now, now, `SH${String(k + 1).padStart(4, "0")}`, `Shot ${k} of sequence ${s}`,
          JSON.stringify({ frame_in: frameIn, frame_out: frameIn + frames - 1, fps: 25, camera: `cam_${k % 7}` }), project, shotType.id, sequenceId, frames);
        for (const taskTypeId of taskTypes) {
          const id = uuid();
          n++;
          if (other) otherTaskId ||= id;
          else taskId ||= id;
          insertTask.run(id, now, now, project, shotId, taskTypeId, status.id, n % 5 === 0 ? 2.5 : 0, n % 3, n % 4,
            n % 2 ? "2026-02-01T09:00:00" : null, n % 2 ? "2026-03-01T18:00:00" : null, n % 10 === 0 ? JSON.stringify({ note: n }) : null);
          if (n % 3 !== 0) insertLink.run(id, people[n % ASSIGNEES]!);
          if (n % 7 === 0) insertLink.run(id, people[(n + 1) % ASSIGNEES]!);
        }
      }
    }
  })();
  const shotTypeId = (one("select id from entity_type where name = 'Shot'") as { id: string }).id;
  const tasks = (one("select count(*) as n from task where project_id = ?", projectId) as { n: number }).n;
  const links = (one("select count(*) as n from task_person_link l join task t on t.id = l.task_id where t.project_id = ?", projectId) as { n: number }).n;
  sqlite.close();
  return { projectId, adminId, shotTypeId, taskId, otherTaskId, tasks, links };
}

/**
 * The reference: a minimal script reading the same rows with bun:sqlite and serialising the
 * same JSON shape (Zou's plain with-tasks array).
 */
export function minimalShotsWithTasks(sqlite: Database, projectId: string, shotTypeId: string, personId: string): string {
  const shots = sqlite
    .query(
      `select e.id, e.name, e.description, e.data, e.canceled, e.entity_type_id, e.parent_id, e.preview_file_id, e.source_id,
              e.nb_frames, e.nb_entities_out, e.is_casting_standby, e.project_id, ep.id as episode_id, ep.name as episode_name,
              s.id as sequence_id, s.name as sequence_name, p.name as project_name
         from entity e join entity s on s.id = e.parent_id join project p on p.id = e.project_id left join entity ep on ep.id = s.parent_id
        where e.entity_type_id = ? and e.project_id = ? order by s.name, e.name`,
    )
    .all(shotTypeId, projectId) as any[];
  const tasks = sqlite
    .query(
      `select t.id, t.entity_id, t.task_type_id, t.task_status_id, t.priority, t.estimation, t.duration, t.retake_count,
              t.real_start_date, t.end_date, t.start_date, t.due_date, t.done_date, t.last_comment_date, t.last_preview_file_id,
              t.nb_assets_ready, t.difficulty, t.nb_drawings, t.data
         from task t join entity e on e.id = t.entity_id join entity s on s.id = e.parent_id
        where e.entity_type_id = ? and e.project_id = ?`,
    )
    .all(shotTypeId, projectId) as any[];
  const links = sqlite
    .query(
      `select l.task_id, l.person_id from task_person_link l join task t on t.id = l.task_id join entity e on e.id = t.entity_id
         join entity s on s.id = e.parent_id where e.entity_type_id = ? and e.project_id = ?`,
    )
    .all(shotTypeId, projectId) as any[];
  const subscribed = new Set(
    (sqlite.query("select s.task_id from subscription s join task t on t.id = s.task_id where s.person_id = ? and t.project_id = ?").all(personId, projectId) as any[]).map((r) => r.task_id),
  );
  const assignees = new Map<string, string[]>();
  for (const link of links) {
    const list = assignees.get(link.task_id);
    if (list) list.push(link.person_id);
    else assignees.set(link.task_id, [link.person_id]);
  }
  const byShot = new Map<string, any[]>();
  for (const t of tasks) {
    const task = {
      id: t.id, duration: t.duration, due_date: t.due_date, end_date: t.end_date, done_date: t.done_date, entity_id: t.entity_id,
      estimation: t.estimation, is_subscribed: subscribed.has(t.id), last_comment_date: t.last_comment_date,
      last_preview_file_id: t.last_preview_file_id, nb_assets_ready: t.nb_assets_ready, priority: t.priority ?? 0,
      real_start_date: t.real_start_date, retake_count: t.retake_count, start_date: t.start_date, difficulty: t.difficulty,
      nb_drawings: t.nb_drawings, task_status_id: t.task_status_id, task_type_id: t.task_type_id,
      assignees: assignees.get(t.id) ?? [], data: t.data === null ? null : JSON.parse(t.data),
    };
    const list = byShot.get(t.entity_id);
    if (list) list.push(task);
    else byShot.set(t.entity_id, [task]);
  }
  const out = shots.map((row) => {
    const data = row.data ? JSON.parse(row.data) : {};
    return {
      canceled: Boolean(row.canceled), data, description: row.description, entity_type_id: row.entity_type_id,
      episode_id: row.episode_id, episode_name: row.episode_name ?? "", fps: data.fps ?? null, frame_in: data.frame_in ?? null,
      frame_out: data.frame_out ?? null, id: row.id, name: row.name, nb_frames: row.nb_frames, parent_id: row.parent_id,
      preview_file_id: row.preview_file_id, project_id: row.project_id, project_name: row.project_name, sequence_id: row.sequence_id,
      sequence_name: row.sequence_name, source_id: row.source_id, nb_entities_out: row.nb_entities_out,
      is_casting_standby: Boolean(row.is_casting_standby), tasks: byShot.get(row.id) ?? [], type: "Shot",
    };
  });
  return JSON.stringify(out);
}

