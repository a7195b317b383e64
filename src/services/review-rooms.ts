/**
 * Review rooms (events.md §5, `preview-room:*`): people watching a playlist together. State is kept
 * in process memory, as Zou's single event-stream process keeps it. Every message is checked: the
 * socket's token must still be valid and its person must have access to the playlist's project
 * (admin or team member); a message that fails the check is dropped.
 */
import type { Namespace, Socket } from "socket.io";
import type { Db } from "../db/database";
import { writesVersion } from "../db/write-version";
import type { LiveSession } from "./live-events";

/** Room state keys a client may set (events.md §5). */
const STATE_KEYS = [
  "local_id", "is_playing", "current_entity_id", "current_entity_index", "current_preview_file_id",
  "current_preview_file_index", "current_frame", "is_repeating", "is_annotations_displayed", "is_zoom_enabled",
  "is_waveform_displayed", "is_laser_mode", "handle_in", "handle_out", "speed", "comparing",
] as const;

/** Messages forwarded unchanged to the room. */
const RELAYS = [
  "preview-room:add-annotation", "preview-room:remove-annotation", "preview-room:update-annotation",
  "preview-room:change-version", "preview-room:panzoom-changed", "preview-room:comparison-panzoom-changed",
];

/**
 * An access decision is reused for a socket and playlist while none of these tables was written
 * and for at most ACCESS_TTL_MS (panning and drawing send many messages a second).
 */
const ACCESS_TABLES = ["person", "kv_store", "project_person_link", "playlist"] as const;
const ACCESS_TTL_MS = 5_000;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

type State = Record<string, unknown>;

interface Room {
  state: State;
  /** Socket id → person id of the sockets that joined the review (not only opened the playlist). */
  members: Map<string, string>;
}

function emptyState(playlistId: string): State {
  return {
    playlist_id: playlistId,
    id: playlistId,
    user_id: null,
    local_id: null,
    is_playing: false,
    current_entity_id: null,
    current_entity_index: null,
    current_preview_file_id: null,
    current_preview_file_index: null,
    current_frame: 0,
    is_repeating: null,
    is_annotations_displayed: null,
    is_zoom_enabled: null,
    is_waveform_displayed: null,
    is_laser_mode: null,
    handle_in: null,
    handle_out: null,
    speed: null,
    comparing: { enable: false, task_type: null, revision: null, mode: "sidebyside", comparison_preview_index: 0 },
  };
}

const socketRoom = (playlistId: string) => `review:${playlistId}`;

export class ReviewRooms {
  private readonly rooms = new Map<string, Room>();
  /** Socket id → playlist id → the last access decision. */
  private readonly decisions = new Map<string, Map<string, { personId: string | null; generation: number; until: number }>>();

  constructor(
    private readonly nsp: Namespace,
    private readonly db: Db,
    private readonly sessionOf: (socket: Socket) => Promise<LiveSession | null>,
  ) {}

  /** Number of review rooms with people in them. */
  size(): number {
    return this.rooms.size;
  }

  /** The people of a room (person ids, each once). */
  people(playlistId: string): string[] {
    const room = this.rooms.get(playlistId);
    return room ? [...new Set(room.members.values())] : [];
  }

  attach(socket: Socket): void {
    // One queue per socket: messages are handled in the order they were sent.
    let queue: Promise<void> = Promise.resolve();
    const on = (name: string, handler: (personId: string, playlistId: string, data: State) => void) => {
      socket.on(name, (data: unknown) => {
        queue = queue
          .then(async () => {
            if (!data || typeof data !== "object" || Array.isArray(data)) return;
            const playlistId = (data as State).playlist_id;
            if (typeof playlistId !== "string" || !UUID.test(playlistId)) return;
            const personId = await this.authorize(socket, playlistId);
            if (personId && socket.connected) handler(personId, playlistId, data as State);
          })
          .catch((error) => console.error(`${name} failed`, error));
      });
    };
    on("preview-room:open-playlist", (_personId, playlistId) => {
      socket.join(socketRoom(playlistId));
      this.emitPeople(playlistId);
    });
    on("preview-room:close-playlist", (_personId, playlistId) => {
      this.removeMember(playlistId, socket.id);
      socket.leave(socketRoom(playlistId));
    });
    on("preview-room:join", (personId, playlistId, data) => {
      socket.join(socketRoom(playlistId));
      let room = this.rooms.get(playlistId);
      if (!room) {
        room = { state: emptyState(playlistId), members: new Map() };
        this.rooms.set(playlistId, room);
      }
      if (room.members.size === 0) this.applyState(room.state, personId, data);
      room.members.set(socket.id, personId);
      this.emitPeople(playlistId);
      // The room's state for the newcomer. Sent as a plain update: Kitsu skips `only_newcomer`
      // updates once the people list shows it joined, and the others already hold this state.
      this.nsp.to(socketRoom(playlistId)).emit("preview-room:room-updated", this.snapshot(playlistId, { only_newcomer: false }));
    });
    on("preview-room:leave", (_personId, playlistId) => this.removeMember(playlistId, socket.id));
    on("preview-room:room-updated", (personId, playlistId, data) => {
      const room = this.rooms.get(playlistId);
      if (!room) return;
      this.applyState(room.state, personId, data);
      this.nsp.to(socketRoom(playlistId)).emit("preview-room:room-updated", this.snapshot(playlistId, { only_newcomer: false }));
    });
    for (const name of RELAYS) {
      on(name, (_personId, playlistId, data) => this.nsp.to(socketRoom(playlistId)).emit(name, data));
    }
    socket.on("disconnect", () => {
      this.decisions.delete(socket.id);
      for (const [playlistId, room] of [...this.rooms]) if (room.members.has(socket.id)) this.removeMember(playlistId, socket.id);
    });
  }

  /** The person of the socket when its token is still good and it may see the playlist. */
  private async authorize(socket: Socket, playlistId: string): Promise<string | null> {
    const generation = writesVersion(this.db, ACCESS_TABLES); // other processes' writes too
    let decisions = this.decisions.get(socket.id);
    const known = decisions?.get(playlistId);
    if (known && known.generation === generation && known.until > Date.now()) return known.personId;
    const personId = await this.checkAccess(socket, playlistId);
    if (!decisions) {
      decisions = new Map();
      this.decisions.set(socket.id, decisions);
    }
    if (decisions.size >= 64) decisions.clear();
    if (socket.connected) decisions.set(playlistId, { personId, generation, until: Date.now() + ACCESS_TTL_MS });
    return personId;
  }

  private async checkAccess(socket: Socket, playlistId: string): Promise<string | null> {
    const session = await this.sessionOf(socket);
    if (!session) return null;
    const playlist = await this.db.selectFrom("playlist").select("project_id").where("id", "=", playlistId).executeTakeFirst();
    if (!playlist?.project_id) return null;
    if (session.user.role === "admin") return session.user.id;
    const link = await this.db
      .selectFrom("project_person_link")
      .select("person_id")
      .where("project_id", "=", playlist.project_id)
      .where("person_id", "=", session.user.id)
      .executeTakeFirst();
    return link ? session.user.id : null;
  }

  private applyState(state: State, personId: string, data: State): void {
    for (const key of STATE_KEYS) if (key in data) state[key] = data[key];
    state.user_id = personId;
  }

  private snapshot(playlistId: string, extra: State = {}): State {
    const room = this.rooms.get(playlistId);
    const state = room ? room.state : emptyState(playlistId);
    return { ...state, people: this.people(playlistId), ...extra };
  }

  private emitPeople(playlistId: string): void {
    this.nsp.to(socketRoom(playlistId)).emit("preview-room:room-people-updated", this.snapshot(playlistId));
  }

  private removeMember(playlistId: string, socketId: string): void {
    const room = this.rooms.get(playlistId);
    if (!room || !room.members.delete(socketId)) return;
    if (room.members.size === 0) this.rooms.delete(playlistId);
    this.emitPeople(playlistId);
  }
}
