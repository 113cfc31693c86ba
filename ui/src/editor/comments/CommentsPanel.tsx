// The comments panel: open and resolved threads with their quote, author, time, body and
// replies; reply, resolve/reopen, edit and delete one's own. A thread whose text was deleted is
// listed as detached with its quote. Clicking a thread selects its text; clicking highlighted
// text shows its thread.
import { useEffect, useRef, useState } from "preact/hooks";
import { memo } from "preact/compat";
import type { Editor } from "@tiptap/core";
import type * as Y from "yjs";
import {
  commentsOf,
  createThread,
  deleteComment,
  editComment,
  isOwn,
  readThreads,
  replyTo,
  setResolved,
  type CommentThread,
  type Commenter,
} from "../../logic/comments";
import { anchorsFor, bindingOf } from "./anchors";
import { ADD_COMMENT_EVENT, commentHighlightsKey } from "./CommentHighlights";
import { useEditorKey } from "../useEditorKey";
import { formatDateTime } from "../../logic/dateTime";

interface Props {
  editor: Editor;
  ydoc: Y.Doc;
  who: Commenter;
  /** Owners and editors comment; viewers read. */
  canWrite: boolean;
}

type Filter = "open" | "resolved" | "all";

interface Draft {
  from: Uint8Array;
  to: Uint8Array;
  quote: string;
}

const ZERO_WIDTH_SPACE = /\u200B/g;

/**
 * Threads drawn when the panel opens, and how many more each time the end of the list comes
 * within `AHEAD` of the panel's visible part. Drawing all 500 threads of a negotiated draft
 * cost the web process ~27 MiB (docs/BENCHMARKS.md, "Session 17"); a lawyer reads a screenful.
 */
const FIRST_THREADS = 40;
const MORE_THREADS = 40;
const AHEAD = "600px";

function when(ms: number): string {
  return ms ? formatDateTime(ms) : "";
}

/**
 * When the set of threads with live text can have changed, as a key: the highlights are
 * recomputed from Yjs (a new generation), or a keystroke deleted a thread's whole text (ranges
 * are only ever dropped between generations). O(1) per transaction, however many threads.
 */
const liveKey = (editor: Editor) => {
  const highlights = commentHighlightsKey.getState(editor.state);
  return highlights ? `${highlights.generation}:${highlights.ranges.size}` : "";
};

/**
 * Memoised: the draft screen re-renders while the lawyer types (word count, save state), and
 * re-rendering hundreds of threads then cost 60–80 ms on some keystrokes (p90 typing work 84 ms
 * with 500 threads, tests/e2e/app_bench.py). The list re-renders when threads or their live
 * ranges change.
 */
export const CommentsPanel = memo(CommentsPanelView);

function CommentsPanelView({ editor, ydoc, who, canWrite }: Props) {
  const comments = commentsOf(ydoc);
  const [threads, setThreads] = useState<CommentThread[]>(() => readThreads(comments));
  const [filter, setFilter] = useState<Filter>("open");
  const [draft, setDraft] = useState<Draft | null>(null);
  const [active, setActive] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEditorKey(editor, liveKey);
  const live = commentHighlightsKey.getState(editor.state)?.ranges ?? new Map<string, unknown>();
  const list = useRef<HTMLUListElement>(null);
  // The threads on the list as last drawn, and one clicked in the draft to scroll to.
  const shownRef = useRef<CommentThread[]>([]);
  const reveal = useRef<string | null>(null);
  const [drawn, setDrawn] = useState(FIRST_THREADS);
  // The "N more…" row at the end of the list: drawing more when it comes into view.
  const end = useRef<HTMLLIElement>(null);

  useEffect(() => void performance.mark("hub:comments-panel"), []);
  useEffect(() => {
    const read = () => setThreads(readThreads(comments));
    read();
    comments.observeDeep(read);
    return () => comments.unobserveDeep(read);
  }, [ydoc]);

  useEffect(() => {
    const dom = editor.view.dom;
    const start = () => {
      if (!canWrite) return;
      const { from, to, empty } = editor.state.selection;
      const binding = bindingOf(editor.state);
      if (empty || !binding) {
        setProblem("Select the text you want to comment on first.");
        return;
      }
      const quote = editor.state.doc.textBetween(from, to, " ", " ").replace(ZERO_WIDTH_SPACE, "").slice(0, 500);
      try {
        setDraft({ ...anchorsFor(binding, from, to), quote });
        setProblem(null);
      } catch {
        // y-prosemirror found no Yjs position for this selection (an edge it does not map).
        setProblem("This selection cannot hold a comment; select some text within the paragraph.");
        return;
      }
      setFilter((f) => (f === "resolved" ? "open" : f));
    };
    const onClick = (event: MouseEvent) => {
      const mark = event.target instanceof Element ? event.target.closest("[data-thread-id]") : null;
      const id = mark?.getAttribute("data-thread-id");
      if (!id) return;
      setActive(id);
      // Drawn up to it if it is further down the list; shown once drawn (the effect below).
      const index = shownRef.current.findIndex((t) => t.id === id);
      if (index >= 0) setDrawn((n) => Math.max(n, index + 1));
      reveal.current = id;
    };
    dom.addEventListener(ADD_COMMENT_EVENT, start);
    dom.addEventListener("click", onClick);
    return () => {
      dom.removeEventListener(ADD_COMMENT_EVENT, start);
      dom.removeEventListener("click", onClick);
    };
  }, [editor, canWrite]);

  const selectThread = (thread: CommentThread) => {
    setActive(thread.id);
    const range = commentHighlightsKey.getState(editor.state)?.ranges.get(thread.id);
    if (range) editor.chain().focus().setTextSelection(range).scrollIntoView().run();
  };

  const shown = threads.filter((t) => (filter === "all" ? true : filter === "open" ? !t.resolved : t.resolved));
  shownRef.current = shown;
  // A long list is drawn a screenful at a time, as the lawyer scrolls towards its end: a draft
  // with hundreds of threads opens sooner and keeps far less in memory.
  useEffect(() => {
    const sentinel = end.current;
    if (drawn >= shown.length || !sentinel) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setDrawn((n) => n + MORE_THREADS);
      },
      // The side column scrolls (styles.css); outside the editor page, the viewport.
      { root: sentinel.closest(".editor-side"), rootMargin: `${AHEAD} 0px` },
    );
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [drawn, shown.length]);
  useEffect(() => {
    const id = reveal.current;
    const element = id ? list.current?.querySelector(`[data-thread-id="${CSS.escape(id)}"]`) : null;
    if (!element) return;
    reveal.current = null;
    element.scrollIntoView({ block: "nearest" });
  }, [active, drawn]);
  const openCount = threads.filter((t) => !t.resolved).length;

  return (
    <section class="card side-panel comments-panel" data-testid="comments-panel">
      <h2>
        Comments <span class="count" data-testid="comment-count">{openCount}</span>
      </h2>
      <select aria-label="Which comments" data-testid="comments-filter" value={filter} onChange={(e) => setFilter(e.currentTarget.value as Filter)}>
        <option value="open">Open</option>
        <option value="resolved">Resolved</option>
        <option value="all">All</option>
      </select>
      {problem && <p class="hint">{problem}</p>}
      {draft && (
        <Composer
          quote={draft.quote}
          onCancel={() => setDraft(null)}
          onSubmit={(body) => {
            const id = createThread(comments, { from: draft.from, to: draft.to, quote: draft.quote, body }, who);
            setDraft(null);
            setActive(id);
          }}
        />
      )}
      {shown.length === 0 && !draft && (
        <p class="hint">
          {filter === "resolved" ? "No resolved comments." : canWrite ? "Select text and press Comment (Ctrl+Alt+M)." : "No comments."}
        </p>
      )}
      <ul class="threads" ref={list}>
        {shown.slice(0, drawn).map((thread) => (
          <ThreadView
            key={thread.id}
            thread={thread}
            detached={!live.has(thread.id)}
            active={active === thread.id}
            who={who}
            canWrite={canWrite}
            onSelect={() => selectThread(thread)}
            comments={comments}
          />
        ))}
        {drawn < shown.length && (
          <li class="hint" ref={end} data-testid="comment-more">
            {shown.length - drawn} more…
          </li>
        )}
      </ul>
    </section>
  );
}

function Composer({ quote, onSubmit, onCancel }: { quote: string; onSubmit: (body: string) => void; onCancel: () => void }) {
  const [body, setBody] = useState("");
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => area.current?.focus(), []);
  const submit = () => {
    if (body.trim()) onSubmit(body.trim());
  };
  return (
    <div class="comment-composer" data-testid="comment-composer">
      <blockquote class="quote">{quote}</blockquote>
      <textarea
        ref={area}
        rows={3}
        placeholder="Your comment"
        data-testid="comment-body"
        value={body}
        onInput={(e) => setBody(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit();
          if (e.key === "Escape") onCancel();
        }}
      />
      <div class="row-actions">
        <button class="primary" onClick={submit} disabled={!body.trim()} data-testid="comment-submit">
          Comment
        </button>
        <button onClick={onCancel} data-testid="comment-cancel">
          Cancel
        </button>
      </div>
    </div>
  );
}

interface ThreadProps {
  thread: CommentThread;
  detached: boolean;
  active: boolean;
  who: Commenter;
  canWrite: boolean;
  onSelect: () => void;
  comments: ReturnType<typeof commentsOf>;
}

function ThreadView({ thread, detached, active, who, canWrite, onSelect, comments }: ThreadProps) {
  const [reply, setReply] = useState("");
  // Asked for by the Reply button: the box takes the focus (not when the thread became active
  // by a click in the draft, where the lawyer goes on typing).
  const [replying, setReplying] = useState(false);
  const replyArea = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (replying && active) replyArea.current?.focus();
    if (!active) setReplying(false);
  }, [replying, active]);
  const classes = ["thread", active ? "active" : "", detached ? "detached" : "", thread.resolved ? "resolved" : ""].filter(Boolean).join(" ");
  const sendReply = () => {
    if (!reply.trim()) return;
    replyTo(comments, thread.id, reply.trim(), who);
    setReply("");
  };
  return (
    <li class={classes} data-testid="comment-thread" data-thread-id={thread.id} data-detached={detached ? "true" : "false"} data-resolved={thread.resolved ? "true" : "false"}>
      <button class="link quote" onClick={onSelect} data-testid="comment-quote" title={detached ? "The commented text was deleted" : "Show in the draft"}>
        {thread.quote || "(no text)"}
      </button>
      {detached && (
        <span class="tag" data-testid="comment-detached">
          Detached: the text was deleted
        </span>
      )}
      <Entry
        entry={thread}
        deleted={thread.deleted === true}
        own={canWrite && isOwn(who, thread)}
        onEdit={(body) => editComment(comments, thread.id, null, body, who)}
        onDelete={() => deleteComment(comments, thread.id, null, who)}
      />
      {thread.replies.map((r) => (
        <div class="reply" key={r.id} data-testid="comment-reply">
          <Entry
            entry={r}
            deleted={r.deleted === true}
            own={canWrite && isOwn(who, r)}
            onEdit={(body) => editComment(comments, thread.id, r.id, body, who)}
            onDelete={() => deleteComment(comments, thread.id, r.id, who)}
          />
        </div>
      ))}
      {thread.resolved && (
        <p class="hint">
          Resolved{thread.resolvedBy ? ` by ${thread.resolvedBy}` : ""} {when(thread.resolvedAt ?? 0)}
        </p>
      )}
      {canWrite && (
        <div class="thread-actions">
          {/* The reply box only on the thread in hand: hundreds of text areas made opening a
              negotiated draft slow, and one reply at a time is how threads are answered. */}
          {!thread.resolved && !active && (
            <button
              class="link"
              onClick={() => {
                onSelect();
                setReplying(true);
              }}
              data-testid="reply-thread"
            >
              Reply
            </button>
          )}
          {!thread.resolved && active && (
            <div class="reply-box">
              <textarea
                ref={replyArea}
                rows={1}
                placeholder="Reply"
                data-testid="reply-body"
                value={reply}
                onInput={(e) => setReply(e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) sendReply();
                }}
              />
              <button onClick={sendReply} disabled={!reply.trim()} data-testid="reply-submit">
                Reply
              </button>
            </div>
          )}
          {thread.resolved ? (
            <button class="link" onClick={() => setResolved(comments, thread.id, false, who)} data-testid="reopen-thread">
              Reopen
            </button>
          ) : (
            <button class="link" onClick={() => setResolved(comments, thread.id, true, who)} data-testid="resolve-thread">
              Resolve
            </button>
          )}
        </div>
      )}
    </li>
  );
}

interface EntryProps {
  entry: { author: string; created: number; body: string; edited?: number };
  deleted: boolean;
  own: boolean;
  onEdit: (body: string) => void;
  onDelete: () => void;
}

function Entry({ entry, deleted, own, onEdit, onDelete }: EntryProps) {
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <div class="entry">
      <div class="byline">
        <strong data-testid="comment-author">{entry.author || "Unknown"}</strong>{" "}
        <span class="hint" data-testid="comment-time">
          {when(entry.created)}
          {entry.edited ? " (edited)" : ""}
        </span>
      </div>
      {deleted ? (
        <p class="hint">Comment deleted.</p>
      ) : editing !== null ? (
        <div>
          <textarea rows={2} value={editing} data-testid="edit-body" onInput={(e) => setEditing(e.currentTarget.value)} />
          <div class="row-actions">
            <button
              class="primary"
              disabled={!editing.trim()}
              data-testid="edit-save"
              onClick={() => {
                onEdit(editing.trim());
                setEditing(null);
              }}
            >
              Save
            </button>
            <button onClick={() => setEditing(null)}>Cancel</button>
          </div>
        </div>
      ) : (
        <p class="body" data-testid="comment-text">
          {entry.body}
        </p>
      )}
      {own && !deleted && editing === null && (
        <div class="own-actions">
          <button class="link" onClick={() => setEditing(entry.body)} data-testid="edit-comment">
            Edit
          </button>
          <button class="link danger" onClick={onDelete} data-testid="delete-comment">
            Delete
          </button>
        </div>
      )}
    </div>
  );
}
