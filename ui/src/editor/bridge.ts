// The Yjs document in the webview, kept in step with the Rust (yrs) document over IPC:
// local edits go to Rust in order as raw bytes (durable there before the promise resolves,
// retried until they are), remote updates come from Rust as raw bytes on the document's channel.
// Updates applied from Rust carry the REMOTE origin and are never sent back.
import * as Y from "yjs";
import { Awareness, applyAwarenessUpdate } from "y-protocols/awareness";
import { events, ipc, errorMessage } from "../ipc";
import { encodeAwarenessUpdate } from "../logic/awareness";
import { reportSaveProblem } from "../logic/saveProblems";
import { registerPendingSaves } from "../logic/closeGuard";
import { afterPaint } from "../logic/afterPaint";
import { SaveQueue } from "./saveQueue";

export const REMOTE = Symbol("from-rust");

export interface DraftSession {
  ydoc: Y.Doc;
  awareness: Awareness;
  /** Resolves when every local change so far is saved on this computer (waits through retries). */
  flushed: () => Promise<void>;
  close: () => Promise<void>;
}

export interface SessionHooks {
  /** 1 while local changes wait to be saved, 0 once all are. */
  onSaving: (unsaved: number) => void;
  /** A persistent message while this computer refuses to save; `null` when it accepts again. */
  onError: (message: string | null) => void;
}

export async function openDraft(doc: string, hooks: SessionHooks): Promise<DraftSession> {
  // GC off: deleted text stays in the document so saved versions (snapshots) can be shown,
  // compared and restored (docs/DRAFT_FORMAT.md). The Rust store and the server keep it too.
  const ydoc = new Y.Doc({ gc: false });
  // The channel listens before the state is read: an update that arrives in between is applied
  // after the load (applying an update twice is harmless in Yjs, missing one is not).
  const early: Uint8Array[] = [];
  let loaded = false;
  let closed = false;
  const opened = await ipc.openDoc(doc, (update) => {
    if (closed) return;
    if (loaded) Y.applyUpdate(ydoc, update, REMOTE);
    else early.push(update);
  });
  performance.mark("hub:draft-read");
  Y.applyUpdate(ydoc, opened.state, REMOTE);
  performance.mark("hub:draft-applied");
  for (const update of early) Y.applyUpdate(ydoc, update, REMOTE);
  loaded = true;

  // Local updates: saved strictly in order, one batch at a time; a refused batch is kept and
  // retried (see saveQueue.ts), so a failed save never strands the typing that follows it.
  // Each is handed to Rust once the keystroke's frame is painted (the hand-off cost the keystroke
  // 0.41–0.46 ms, docs/BENCHMARKS.md "Session 19"); what is typed within one frame goes as one.
  const saves = new SaveQueue({
    schedule: afterPaint,
    save: (update) => ipc.applyLocalUpdate(doc, update),
    merge: (updates) => Y.mergeUpdates(updates),
    reason: errorMessage,
    onSaving: hooks.onSaving,
    onProblem: (message) => {
      reportSaveProblem(doc, message);
      hooks.onError(message);
    },
  });
  // Closing the window asks about these until the session is closed (after they are saved).
  const unregisterSaves = registerPendingSaves({
    unsaved: () => saves.unsaved,
    reason: () => saves.reason,
    saveNow: () => saves.saveNow(),
  });
  const onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === REMOTE) return;
    saves.push(update);
  };
  ydoc.on("update", onUpdate);

  // Awareness: ours goes to Rust (throttled), collaborators' come back as events.
  const awareness = new Awareness(ydoc);
  let awarenessTimer: ReturnType<typeof setTimeout> | null = null;
  const sendAwareness = () => {
    awarenessTimer = null;
    const state = awareness.getLocalState();
    void ipc.setAwareness(doc, JSON.stringify(state ?? null)).catch(() => undefined);
  };
  awareness.on("update", (_change: unknown, origin: unknown) => {
    if (origin !== "local") return;
    if (awarenessTimer === null) awarenessTimer = setTimeout(sendAwareness, 40);
  });
  const stopAwareness = await events.awareness((change) => {
    if (change.doc !== doc || change.states.length === 0) return;
    applyAwarenessUpdate(awareness, encodeAwarenessUpdate(change.states), "remote");
  });

  return {
    ydoc,
    awareness,
    flushed: () => saves.flushed(),
    close: async () => {
      ydoc.off("update", onUpdate);
      // Edits still unsaved keep the guard until they are saved.
      void saves.flushed().then(unregisterSaves);
      closed = true;
      void ipc.closeDoc(doc, opened.channel).catch(() => undefined);
      stopAwareness();
      if (awarenessTimer !== null) clearTimeout(awarenessTimer);
      await ipc.setAwareness(doc, "null").catch(() => undefined);
      awareness.destroy();
    },
  };
}
