/**
 * Crud rules of: day off, time spent, chat, chat message, search filters (models.md §4.2).
 * Chats, chat messages and search filters keep the admin-only default (per-user management lives
 * on the /data/user routes); their rules only handle dependants on delete.
 */
import type { AppContext } from "../../context";
import { badRequest, forbidden } from "../../lib/errors";
import { emitEvent } from "../../lib/events";
import { isAdmin } from "../../services/permissions";
import { checkDayOffOverlap, checkTimeSpentAccess, recomputeTaskDuration, strictDate, wipeTimeSpentsOfDayOff } from "../../services/time-spents";
import type { Dict, Row } from "../engine";
import type { RuleSet } from "./index";

/** `check_day_off_access`: admin, or the day off's person. */
function checkDayOffAccess(c: AppContext, personId: unknown): void {
  const user = c.get("user");
  if (!isAdmin(user) && user.id !== personId) throw forbidden();
}

/** Dates of a day off after a write: both present, start not after end, no overlap with another. */
async function checkDayOffValues(c: AppContext, values: Row, current?: Row): Promise<void> {
  const date = values.date ?? current?.date;
  const endDate = values.end_date ?? current?.end_date;
  const personId = "person_id" in values ? values.person_id : current?.person_id;
  if (!date || !endDate) throw badRequest("A day off needs a date and an end_date.");
  if (String(date) > String(endDate)) throw badRequest("The end date of a day off cannot be before its start date.");
  if (personId) await checkDayOffOverlap(c.get("db"), personId, String(date), String(endDate), current?.id);
}

/** After a time spent changes: the task duration follows, and `task:update` is emitted. */
async function afterTimeSpentChange(c: AppContext, row: Row, previousTaskId?: string | null): Promise<void> {
  const db = c.get("db");
  for (const taskId of new Set([row.task_id, previousTaskId].filter(Boolean) as string[])) {
    await recomputeTaskDuration(db, taskId);
    const task = await db.selectFrom("task").select("project_id").where("id", "=", taskId).executeTakeFirst();
    await emitEvent(db, c.get("events"), "task:update", { task_id: taskId }, { projectId: task?.project_id ?? null, userId: c.get("user").id });
  }
}

function checkDuration(values: Row): void {
  if ("duration" in values && (values.duration === null || Number(values.duration) <= 0)) {
    throw badRequest("Duration must be positive");
  }
}

export const timeRules: RuleSet = {
  day_off: {
    read: async (c, row) => checkDayOffAccess(c, row.person_id),
    create: async (c, data: Dict) => checkDayOffAccess(c, data.person_id),
    update: async (c, row, data: Dict) => {
      checkDayOffAccess(c, row.person_id);
      if ("person_id" in data && data.person_id !== row.person_id && !isAdmin(c.get("user"))) throw forbidden();
    },
    delete: async (c, row) => checkDayOffAccess(c, row.person_id),
    beforeCreate: async (c, values) => checkDayOffValues(c, values),
    beforeUpdate: async (c, row, values) => checkDayOffValues(c, values, row),
    afterCreate: async (c, row) => {
      if (row.person_id) await wipeTimeSpentsOfDayOff(c, row.person_id, String(row.date), String(row.end_date));
    },
    afterUpdate: async (c, row) => {
      if (row.person_id) await wipeTimeSpentsOfDayOff(c, row.person_id, String(row.date), String(row.end_date));
    },
  },
  time_spent: {
    list: async (c) => {
      if (!isAdmin(c.get("user"))) throw forbidden();
      const { start_date: start, end_date: end } = c.req.query();
      if (start === undefined && end === undefined) return;
      if (start === undefined || end === undefined) {
        throw badRequest("If querying for a range of dates, both a `start_date` and an `end_date` must be given.");
      }
      const from = strictDate(start);
      const to = strictDate(end);
      if (!from || !to) throw badRequest(`Wrong date format for ${start} and/or ${end}`);
      return (q) => q.where("time_spent.date", ">=", from).where("time_spent.date", "<=", to);
    },
    delete: async (c, row) => {
      const task = await c.get("db").selectFrom("task").select(["id", "project_id"]).where("id", "=", row.task_id).executeTakeFirst();
      if (!task) throw forbidden();
      await checkTimeSpentAccess(c, { id: task.id, project_id: task.project_id ?? "" }, row.person_id);
    },
    beforeCreate: async (_c, values) => checkDuration(values),
    beforeUpdate: async (_c, _row, values) => checkDuration(values),
    afterCreate: async (c, row) => afterTimeSpentChange(c, row),
    afterUpdate: async (c, row, previous) => afterTimeSpentChange(c, row, previous.task_id),
    customDelete: async (c, row) => {
      const db = c.get("db");
      await db.deleteFrom("time_spent").where("id", "=", row.id).execute();
      const task = await db.selectFrom("task").select("project_id").where("id", "=", row.task_id).executeTakeFirst();
      await emitEvent(db, c.get("events"), "time-spent:delete", { time_spent_id: row.id }, { projectId: task?.project_id ?? null, userId: c.get("user").id });
      await afterTimeSpentChange(c, row);
      return true;
    },
  },
  chat: {
    // Deleting a chat removes its messages first (their attachments are detached).
    beforeDelete: async (c, row) => {
      const db = c.get("db");
      const messageIds = (await db.selectFrom("chat_message").select("id").where("chat_id", "=", row.id).execute()).map((m) => m.id);
      if (messageIds.length > 0) {
        await db.updateTable("attachment_file").set({ chat_message_id: null }).where("chat_message_id", "in", messageIds).execute();
        await db.deleteFrom("chat_message").where("chat_id", "=", row.id).execute();
      }
    },
  },
  chat_message: {
    // One-to-many children get their foreign key set to null (models.md §1.4).
    beforeDelete: async (c, row) => {
      await c.get("db").updateTable("attachment_file").set({ chat_message_id: null }).where("chat_message_id", "=", row.id).execute();
    },
    // A single read lists the message's attachment file ids, as Zou's related form does.
    present: async (c, row, dict, mode) => {
      if (mode !== "read") return dict;
      const attachments = await c.get("db").selectFrom("attachment_file").select("id").where("chat_message_id", "=", row.id).orderBy("created_at").execute();
      return { ...dict, attachment_files: attachments.map((attachment) => attachment.id) };
    },
  },
};
