// Versions of a draft, kept inside its Yjs document (docs/DRAFT_FORMAT.md): each entry is a
// snapshot (state vector + delete set, a few dozen bytes) with a name, kind, author and time.
// GC is off for drafts, so the text a snapshot needs is still in the document: a version opens,
// compares and restores on any laptop, offline, after any merge.
import * as Y from "yjs";
import { formatDateTime } from "../logic/dateTime";

export type VersionKind = "named" | "import" | "accept-all" | "session" | "restore";

export interface Version {
  id: string;
  name: string;
  kind: VersionKind;
  author: string;
  /** Unix ms. */
  created: number;
  snapshot: Uint8Array;
}

/** The `id` that means "the draft as it is now" in compares and exports. */
export const CURRENT = "current";

/** An automatic version is saved at most once an hour per editing session. */
export const SESSION_VERSION_EVERY_MS = 60 * 60 * 1000;

const KINDS: readonly VersionKind[] = ["named", "import", "accept-all", "session", "restore"];

function isVersion(value: unknown): value is Version {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === "string" &&
    typeof v.name === "string" &&
    typeof v.kind === "string" &&
    (KINDS as readonly string[]).includes(v.kind) &&
    typeof v.author === "string" &&
    typeof v.created === "number" &&
    v.snapshot instanceof Uint8Array
  );
}

export function versionsOf(ydoc: Y.Doc): Y.Array<unknown> {
  return ydoc.getArray<unknown>("versions");
}

/** The draft's versions, newest first. Entries that are not versions (from a newer app) are skipped. */
export function listVersions(ydoc: Y.Doc): Version[] {
  return versionsOf(ydoc)
    .toArray()
    .filter(isVersion)
    .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
}

function randomId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A short label for a kind, as the Versions panel shows it. */
export function kindLabel(kind: VersionKind): string {
  switch (kind) {
    case "named":
      return "Saved";
    case "import":
      return "Imported";
    case "accept-all":
      return "Before accept all";
    case "session":
      return "Automatic";
    case "restore":
      return "Before restore";
  }
}

/** Save the draft as it is now (or at `snapshot`) as a version; returns it. */
export function saveVersion(
  ydoc: Y.Doc,
  fields: { name: string; kind: VersionKind; author: string },
  now: number = Date.now(),
  snapshot: Y.Snapshot = Y.snapshot(ydoc),
): Version {
  const name = fields.name.trim() || kindLabel(fields.kind);
  const version: Version = {
    id: randomId(),
    name: name.slice(0, 200),
    kind: fields.kind,
    author: fields.author,
    created: now,
    snapshot: Y.encodeSnapshot(snapshot),
  };
  versionsOf(ydoc).push([version]);
  return version;
}

/**
 * Whether this editing session should save an automatic version now: on its first edit, then at
 * most once an hour while it goes on. `lastSaved` is when this session last saved one (null:
 * never).
 */
export function sessionVersionDue(lastSaved: number | null, now: number): boolean {
  return lastSaved === null || now - lastSaved >= SESSION_VERSION_EVERY_MS;
}

/** The snapshot of a version, or of the draft now for `CURRENT`. */
export function snapshotOf(ydoc: Y.Doc, id: string): Y.Snapshot {
  if (id === CURRENT) return Y.snapshot(ydoc);
  const version = listVersions(ydoc).find((v) => v.id === id);
  if (!version) throw new Error("That version is not in this draft.");
  return Y.decodeSnapshot(version.snapshot);
}

/** The draft as it was at a version, as a document of its own (read-only use). */
export function docAtVersion(ydoc: Y.Doc, id: string): Y.Doc {
  return Y.createDocFromSnapshot(ydoc, snapshotOf(ydoc, id), new Y.Doc({ gc: false }));
}

/**
 * A copy of the draft to render versions from: the editor's own document keeps syncing while a
 * version is shown beside it.
 */
export function historyCopy(ydoc: Y.Doc): Y.Doc {
  const copy = new Y.Doc({ gc: false });
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(ydoc));
  return copy;
}

/** When a version was saved, as the panel shows it. */
export function versionTime(created: number, locale?: string): string {
  return formatDateTime(created, locale);
}

/**
 * Record that this Yjs client writes for `author`, in the layout of `Y.PermanentUserData`
 * (`users`: name → {ids: client ids, ds: delete sets}), so compares can say who added what.
 * One small write per editing session; deletions are not tracked per user (that would cost a
 * second write per deleting keystroke), so removed text is shown without an author.
 */
export function registerAuthor(ydoc: Y.Doc, author: string): void {
  const users = ydoc.getMap<Y.Map<Y.Array<unknown>>>("users");
  ydoc.transact(() => {
    let user = users.get(author);
    if (!(user instanceof Y.Map)) {
      user = new Y.Map<Y.Array<unknown>>();
      users.set(author, user);
      user.set("ids", new Y.Array<unknown>());
      user.set("ds", new Y.Array<unknown>());
    }
    const ids = user.get("ids");
    if (ids instanceof Y.Array && !ids.toArray().includes(ydoc.clientID)) ids.push([ydoc.clientID]);
  });
}

/**
 * Save an automatic "session" version of the draft as it was just before this session's first
 * local edit, and again at most hourly while the session goes on. `isLocalEdit` tells a
 * transaction of the lawyer's own typing (the editor binding's origin). Returns a stop function.
 */
export function autoSessionVersions(
  ydoc: Y.Doc,
  author: string,
  isLocalEdit: (transaction: Y.Transaction) => boolean,
  now: () => number = Date.now,
): () => void {
  let lastSaved: number | null = null;
  let pending: Y.Snapshot | null = null;
  let registered = false;
  const before = (transaction: Y.Transaction) => {
    if (pending === null && isLocalEdit(transaction) && sessionVersionDue(lastSaved, now())) {
      // The state before this edit: the store is not changed yet.
      pending = Y.snapshot(ydoc);
    }
  };
  const after = (transaction: Y.Transaction) => {
    if (pending === null || !isLocalEdit(transaction)) return;
    const snapshot = pending;
    pending = null;
    lastSaved = now();
    const created = lastSaved;
    // Outside the edit's own transaction: it is its own change, saved and synced like any.
    queueMicrotask(() => {
      if (!registered) {
        registered = true;
        registerAuthor(ydoc, author);
      }
      saveVersion(ydoc, { name: "", kind: "session", author }, created, snapshot);
    });
  };
  ydoc.on("beforeTransaction", before);
  ydoc.on("afterTransaction", after);
  return () => {
    ydoc.off("beforeTransaction", before);
    ydoc.off("afterTransaction", after);
  };
}
