import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SaveQueue, notSavedMessage } from "./saveQueue";

const bytes = (...values: number[]) => new Uint8Array(values);
/** Stands in for Y.mergeUpdates: concatenation keeps the order visible. */
const concat = (updates: Uint8Array[]) => new Uint8Array(updates.flatMap((update) => Array.from(update)));

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("save queue", () => {
  it("retries a refused batch with growing waits, merged with what came after, until it is saved", async () => {
    const attempts: { at: number; update: number[] }[] = [];
    const saved: number[][] = [];
    let refuse = 3;
    const problems: (string | null)[] = [];
    const saving: number[] = [];
    const queue = new SaveQueue({
      save: async (update) => {
        attempts.push({ at: Date.now(), update: Array.from(update) });
        if (refuse > 0) {
          refuse--;
          throw new Error("disk full");
        }
        saved.push(Array.from(update));
      },
      merge: concat,
      reason: (error) => (error instanceof Error ? error.message : String(error)),
      onSaving: (unsaved) => saving.push(unsaved),
      onProblem: (message) => problems.push(message),
      delaysMs: [100, 200, 400],
    });
    const start = Date.now();
    queue.push(bytes(1));
    queue.push(bytes(2));
    let done = false;
    void queue.flushed().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.blocked).toBe(true);
    queue.push(bytes(3));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(done).toBe(true);
    expect(queue.blocked).toBe(false);
    expect(saved.flat()).toEqual([1, 2, 3]);
    expect(attempts.map((attempt) => attempt.at - start)).toEqual([0, 100, 300, 700]);
    // The first refusal is of batch 1 alone; every retry carries it ahead of what came later.
    expect(attempts[0]!.update).toEqual([1]);
    for (const attempt of attempts.slice(1)) expect(attempt.update[0]).toBe(1);
    expect(problems).toEqual([
      notSavedMessage("disk full"),
      notSavedMessage("disk full"),
      notSavedMessage("disk full"),
      null,
    ]);
    expect(saving).toEqual([1, 0]);
  });

  it("says what happened, that it keeps trying and not to close the window", () => {
    expect(notSavedMessage("This computer's disk is full.")).toBe(
      "Your last changes could not be saved to this computer: This computer's disk is full. " +
        "Lawyers Hub keeps retrying; don't close the window.",
    );
    expect(notSavedMessage("database is locked")).toContain("database is locked. Lawyers Hub");
  });

  it("counts the changes not saved yet and says why the store refuses them", async () => {
    let refuse = true;
    const queue = new SaveQueue({
      save: async () => {
        if (refuse) throw new Error("disk full");
      },
      merge: concat,
      reason: (error) => (error instanceof Error ? error.message : String(error)),
      onSaving: () => undefined,
      onProblem: () => undefined,
      delaysMs: [100],
    });
    expect(queue.unsaved).toBe(0);
    queue.push(bytes(1));
    queue.push(bytes(2));
    await vi.advanceTimersByTimeAsync(0);
    queue.push(bytes(3));
    expect(queue.unsaved).toBe(3);
    expect(queue.reason).toBe("disk full");
    refuse = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(queue.unsaved).toBe(0);
    expect(queue.reason).toBeNull();
  });

  it("saves now when asked, without waiting out the retry delay, and says whether it worked", async () => {
    let refuse = true;
    const attempts: number[] = [];
    const queue = new SaveQueue({
      save: async () => {
        attempts.push(Date.now());
        if (refuse) throw new Error("disk full");
      },
      merge: concat,
      reason: String,
      onSaving: () => undefined,
      onProblem: () => undefined,
      delaysMs: [60_000],
    });
    const start = Date.now();
    queue.push(bytes(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toHaveLength(1);

    // Still refused: the answer comes at once, and the retries go on.
    await expect(queue.saveNow()).resolves.toBe(false);
    expect(attempts).toHaveLength(2);
    expect(queue.unsaved).toBe(1);

    refuse = false;
    await expect(queue.saveNow()).resolves.toBe(true);
    expect(attempts.map((at) => at - start)).toEqual([0, 0, 0]);
    expect(queue.unsaved).toBe(0);
    expect(queue.blocked).toBe(false);
    await expect(queue.saveNow()).resolves.toBe(true);
    expect(attempts).toHaveLength(3);
  });

  it("is flushed at once when nothing waits", async () => {
    const queue = new SaveQueue({
      save: async () => undefined,
      merge: concat,
      reason: String,
      onSaving: () => undefined,
      onProblem: () => undefined,
    });
    await expect(queue.flushed()).resolves.toBeUndefined();
  });
});
