// Comment threads in a draft's `comments` map (docs/DRAFT_FORMAT.md): each thread a Y.Map with
// its anchors (encoded Yjs relative positions into the Y.XmlText its text sits in), the quote,
// author, body, state and replies (a Y.Array of Y.Maps). Everything here works on the Y.Doc
// alone, so threads merge offline like any edit; the editor turns anchors into positions.
import * as Y from "yjs";

export interface Commenter {
  /** Display name. */
  author: string;
  /** The account's subject or e-mail; "" when unknown. */
  authorId: string;
}

export interface CommentReply {
  id: string;
  author: string;
  authorId: string;
  created: number;
  body: string;
  edited?: number;
  deleted?: boolean;
}

export interface CommentThread {
  id: string;
  from: Uint8Array | null;
  to: Uint8Array | null;
  quote: string;
  author: string;
  authorId: string;
  created: number;
  body: string;
  edited?: number;
  resolved: boolean;
  resolvedBy?: string;
  resolvedAt?: number;
  deleted?: boolean;
  replies: CommentReply[];
}

export type CommentsMap = Y.Map<Y.Map<unknown>>;

export function commentsOf(ydoc: Y.Doc): CommentsMap {
  return ydoc.getMap<Y.Map<unknown>>("comments");
}

export function randomCommentId(): string {
  let out = "";
  while (out.length < 12) out += Math.random().toString(36).slice(2);
  return out.slice(0, 12);
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);

function readReply(entry: unknown): CommentReply | null {
  if (!(entry instanceof Y.Map)) return null;
  const reply: CommentReply = {
    id: str(entry.get("id")),
    author: str(entry.get("author")),
    authorId: str(entry.get("authorId")),
    created: num(entry.get("created")) ?? 0,
    body: str(entry.get("body")),
  };
  const edited = num(entry.get("edited"));
  if (edited !== undefined) reply.edited = edited;
  if (entry.get("deleted") === true) reply.deleted = true;
  return reply;
}

export function readThread(id: string, map: Y.Map<unknown>): CommentThread {
  const from = map.get("from");
  const to = map.get("to");
  const replies = map.get("replies");
  const thread: CommentThread = {
    id,
    from: from instanceof Uint8Array ? from : null,
    to: to instanceof Uint8Array ? to : null,
    quote: str(map.get("quote")),
    author: str(map.get("author")),
    authorId: str(map.get("authorId")),
    created: num(map.get("created")) ?? 0,
    body: str(map.get("body")),
    resolved: map.get("resolved") === true,
    replies: replies instanceof Y.Array ? replies.toArray().map(readReply).filter((r): r is CommentReply => r !== null) : [],
  };
  const edited = num(map.get("edited"));
  if (edited !== undefined) thread.edited = edited;
  const resolvedBy = map.get("resolvedBy");
  if (typeof resolvedBy === "string") thread.resolvedBy = resolvedBy;
  const resolvedAt = num(map.get("resolvedAt"));
  if (resolvedAt !== undefined) thread.resolvedAt = resolvedAt;
  if (map.get("deleted") === true) thread.deleted = true;
  return thread;
}

/** Every thread, oldest first. A thread deleted with no replies left is gone from the map. */
export function readThreads(comments: CommentsMap): CommentThread[] {
  const threads: CommentThread[] = [];
  comments.forEach((map, id) => {
    if (map instanceof Y.Map) threads.push(readThread(id, map));
  });
  return threads.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
}

export interface NewThread {
  from: Uint8Array;
  to: Uint8Array;
  quote: string;
  body: string;
}

export function createThread(
  comments: CommentsMap,
  thread: NewThread,
  who: Commenter,
  now: number = Date.now(),
  id: string = randomCommentId(),
): string {
  const map = new Y.Map<unknown>();
  map.set("from", thread.from);
  map.set("to", thread.to);
  map.set("quote", thread.quote);
  map.set("author", who.author);
  map.set("authorId", who.authorId);
  map.set("created", now);
  map.set("body", thread.body);
  map.set("resolved", false);
  map.set("replies", new Y.Array<Y.Map<unknown>>());
  comments.set(id, map);
  return id;
}

function threadMap(comments: CommentsMap, threadId: string): Y.Map<unknown> | null {
  const map = comments.get(threadId);
  return map instanceof Y.Map ? map : null;
}

function repliesOf(map: Y.Map<unknown>): Y.Array<Y.Map<unknown>> {
  const replies = map.get("replies");
  if (replies instanceof Y.Array) return replies as Y.Array<Y.Map<unknown>>;
  const created = new Y.Array<Y.Map<unknown>>();
  map.set("replies", created);
  return created;
}

export function replyTo(
  comments: CommentsMap,
  threadId: string,
  body: string,
  who: Commenter,
  now: number = Date.now(),
  id: string = randomCommentId(),
): string | null {
  const map = threadMap(comments, threadId);
  if (!map) return null;
  const reply = new Y.Map<unknown>();
  reply.set("id", id);
  reply.set("author", who.author);
  reply.set("authorId", who.authorId);
  reply.set("created", now);
  reply.set("body", body);
  repliesOf(map).push([reply]);
  return id;
}

export function setResolved(comments: CommentsMap, threadId: string, resolved: boolean, who: Commenter, now: number = Date.now()): boolean {
  const map = threadMap(comments, threadId);
  if (!map) return false;
  const apply = () => {
    map.set("resolved", resolved);
    if (resolved) {
      map.set("resolvedBy", who.author);
      map.set("resolvedAt", now);
    } else {
      map.delete("resolvedBy");
      map.delete("resolvedAt");
    }
  };
  if (map.doc) map.doc.transact(apply);
  else apply();
  return true;
}

/** Whether `who` wrote `entry`: the account id when both have one, else the display name. */
export function isOwn(who: Commenter, entry: { author: string; authorId: string }): boolean {
  if (who.authorId && entry.authorId) return who.authorId === entry.authorId;
  return who.author === entry.author;
}

function findReply(map: Y.Map<unknown>, replyId: string): { index: number; reply: Y.Map<unknown> } | null {
  const replies = repliesOf(map);
  for (let index = 0; index < replies.length; index++) {
    const reply = replies.get(index);
    if (reply instanceof Y.Map && reply.get("id") === replyId) return { index, reply };
  }
  return null;
}

const entryAuthor = (map: Y.Map<unknown>) => ({ author: str(map.get("author")), authorId: str(map.get("authorId")) });

/** Edit the opening comment (replyId null) or a reply; only its author may. */
export function editComment(
  comments: CommentsMap,
  threadId: string,
  replyId: string | null,
  body: string,
  who: Commenter,
  now: number = Date.now(),
): boolean {
  const map = threadMap(comments, threadId);
  if (!map) return false;
  const target = replyId === null ? map : findReply(map, replyId)?.reply;
  if (!target || !isOwn(who, entryAuthor(target)) || target.get("deleted") === true) return false;
  const apply = () => {
    target.set("body", body);
    target.set("edited", now);
  };
  if (map.doc) map.doc.transact(apply);
  else apply();
  return true;
}

/**
 * Delete the opening comment (replyId null) or a reply; only its author may. An opening comment
 * with replies is kept, marked deleted, so the replies still have their thread; a thread whose
 * opening comment is deleted goes when its last reply does.
 */
export function deleteComment(comments: CommentsMap, threadId: string, replyId: string | null, who: Commenter): boolean {
  const map = threadMap(comments, threadId);
  if (!map) return false;
  const run = (apply: () => void) => (map.doc ? map.doc.transact(apply) : apply());
  if (replyId === null) {
    if (!isOwn(who, entryAuthor(map)) || map.get("deleted") === true) return false;
    const live = repliesOf(map)
      .toArray()
      .some((reply) => reply instanceof Y.Map && reply.get("deleted") !== true);
    run(() => {
      if (live) {
        map.set("deleted", true);
        map.set("body", "");
      } else comments.delete(threadId);
    });
    return true;
  }
  const found = findReply(map, replyId);
  if (!found || !isOwn(who, entryAuthor(found.reply))) return false;
  run(() => {
    repliesOf(map).delete(found.index, 1);
    const anyLeft = repliesOf(map).length > 0;
    if (!anyLeft && map.get("deleted") === true) comments.delete(threadId);
  });
  return true;
}

// ---- Anchors, at the Yjs level --------------------------------------------------------------

/** Whether a Yjs type, or any type it sits in, has been deleted. */
function isDeletedType(type: Y.AbstractType<unknown>): boolean {
  let item = type._item;
  while (item) {
    if (item.deleted) return true;
    const parent = item.parent;
    item = parent instanceof Y.AbstractType ? parent._item : null;
  }
  return false;
}

export interface ResolvedAnchor {
  type: Y.AbstractType<unknown>;
  index: number;
}

function resolve(ydoc: Y.Doc, encoded: Uint8Array | null): ResolvedAnchor | null {
  if (!encoded) return null;
  try {
    const absolute = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(encoded), ydoc);
    if (!absolute || isDeletedType(absolute.type)) return null;
    return { type: absolute.type, index: absolute.index };
  } catch {
    return null;
  }
}

/**
 * Where a thread's anchors are in the live document, or null when it is detached: either end
 * no longer resolves to live text, or all the text between them has been deleted.
 */
export function liveAnchors(ydoc: Y.Doc, thread: Pick<CommentThread, "from" | "to">): { from: ResolvedAnchor; to: ResolvedAnchor } | null {
  const from = resolve(ydoc, thread.from);
  const to = resolve(ydoc, thread.to);
  if (!from || !to) return null;
  if (from.type === to.type && from.index >= to.index) return null;
  return { from, to };
}

/** Anchors for the text from `fromIndex` to `toIndex` of one Y.XmlText (the contract's assocs). */
export function anchorsInText(text: Y.XmlText, fromIndex: number, toIndex: number): { from: Uint8Array; to: Uint8Array } {
  return {
    from: Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(text, fromIndex, 0)),
    to: Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(text, toIndex, -1)),
  };
}
