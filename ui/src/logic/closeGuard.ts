// Closing the window while local saves fail. Each draft's save queue (editor/saveQueue.ts) holds
// the edits the store has not accepted yet, and keeps retrying after the editor is left; closing
// the window would drop them. The Rust side puts every close request to the window
// (src-tauri/src/close_guard.rs); this module decides: close when nothing is unsaved, else try
// one last save, and ask the lawyer only if edits are still unsaved after it. Kept free of the
// editor's imports: the shell loads it at start-up.

/** What the close guard needs of one draft's save queue. */
export interface PendingSaves {
  /** Local changes not saved on this computer yet. */
  unsaved(): number;
  /** Why the store refuses them, or null when none was refused (a save is merely in flight). */
  reason(): string | null;
  /** One attempt to save everything now: true once nothing is unsaved. */
  saveNow(): Promise<boolean>;
}

export type CloseDecision = { close: true } | { close: false; unsaved: number; message: string };

/** How long the last save may take before the lawyer is asked anyway. */
export const FINAL_SAVE_TIMEOUT_MS = 5_000;

const queues = new Set<PendingSaves>();

/** A draft's save queue exists (it may outlive its editor); returns the unregistration. */
export function registerPendingSaves(saves: PendingSaves): () => void {
  queues.add(saves);
  return () => queues.delete(saves);
}

/** Every registered save queue. */
export function pendingSaves(): PendingSaves[] {
  return [...queues];
}

function totalUnsaved(saves: readonly PendingSaves[]): number {
  return saves.reduce((sum, queue) => sum + queue.unsaved(), 0);
}

/** What the lawyer reads when closing would lose edits. */
export function unsavedCloseMessage(unsaved: number, reason: string | null): string {
  const changes = unsaved === 1 ? "1 change is" : `${unsaved} changes are`;
  const why = (reason ?? "the last save has not finished").trim().replace(/[.!?]+$/, "");
  return (
    `${changes} not saved on this computer yet: ${why}. ` +
    "Keep the window open so they can be saved, or close and lose them."
  );
}

/**
 * Whether the window may close. Nothing unsaved: close. Otherwise `holding` is called first (so
 * the Rust side waits for the decision), one last save of every queue is tried, bounded by
 * `timeoutMs`, and the window closes only if that saved everything.
 */
export async function decideClose(
  saves: readonly PendingSaves[],
  holding: () => void,
  timeoutMs: number = FINAL_SAVE_TIMEOUT_MS,
): Promise<CloseDecision> {
  const waiting = saves.filter((queue) => queue.unsaved() > 0);
  if (waiting.length === 0) return { close: true };
  holding();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const attempts = waiting.map((queue) => queue.saveNow().catch(() => false));
  await Promise.race([Promise.all(attempts), timedOut]);
  clearTimeout(timer);
  const unsaved = totalUnsaved(saves);
  if (unsaved === 0) return { close: true };
  const reason = saves.map((queue) => queue.reason()).find((text) => text !== null) ?? null;
  return { close: false, unsaved, message: unsavedCloseMessage(unsaved, reason) };
}

/**
 * Wait until every registered save queue has saved (one attempt every `intervalMs`), then run
 * `then`. Used before the window reloads for another account's store: edits of the previous
 * account's drafts are written to that account's store first, never dropped by the reload.
 */
export async function whenAllSaved(
  then: () => void,
  intervalMs = 1_000,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<void> {
  for (;;) {
    const decision = await decideClose(pendingSaves(), () => {});
    if (decision.close) break;
    await sleep(intervalMs);
  }
  then();
}
