// Work a keystroke causes but its frame does not need (handing the edit to Rust to save, telling
// collaborators where our caret is) runs after that frame is painted: the lawyer sees the letter
// sooner, and keystrokes typed within one frame share one run.

/** A task queued from a frame callback runs after that frame is painted. */
const PAINTED = (run: () => void) => requestAnimationFrame(() => setTimeout(run, 0));

/**
 * Runs `run` once, after the next frame is painted, or after `latestMs` if no frame comes first
 * (a hidden or minimised window draws no frames). Answers a function that runs it now instead,
 * if it has not run yet.
 */
export function afterPaint(run: () => void, latestMs = 100): () => void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    clearTimeout(latest);
    run();
  };
  const latest = setTimeout(once, latestMs);
  if (typeof requestAnimationFrame === "function") PAINTED(once);
  return once;
}
