import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { decideClose, pendingSaves, registerPendingSaves, unsavedCloseMessage, whenAllSaved, type PendingSaves } from "./closeGuard";

/** A save queue stand-in: `unsaved` changes, refused for `reason` until `accepts` is set. */
function queue(unsaved: number, reason: string | null, accepts: () => boolean | "never" = () => false) {
  const state = { unsaved, reason, attempts: 0 };
  const saves: PendingSaves = {
    unsaved: () => state.unsaved,
    reason: () => state.reason,
    saveNow: () => {
      state.attempts++;
      const outcome = accepts();
      if (outcome === "never") return new Promise<boolean>(() => undefined);
      if (outcome) {
        state.unsaved = 0;
        state.reason = null;
      }
      return Promise.resolve(outcome);
    },
  };
  return { saves, state };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("closing the window", () => {
  it("closes at once when nothing is unsaved, without holding the window or saving", async () => {
    const idle = queue(0, null);
    const holding = vi.fn();
    await expect(decideClose([idle.saves], holding)).resolves.toEqual({ close: true });
    await expect(decideClose([], holding)).resolves.toEqual({ close: true });
    expect(holding).not.toHaveBeenCalled();
    expect(idle.state.attempts).toBe(0);
  });

  it("keeps the window and asks when edits are still refused after one last save", async () => {
    const full = queue(3, "This computer's disk is full.");
    const other = queue(2, null);
    const holding = vi.fn();

    const decision = await decideClose([full.saves, other.saves, queue(0, null).saves], holding);

    expect(holding).toHaveBeenCalledOnce();
    expect(full.state.attempts).toBe(1);
    expect(other.state.attempts).toBe(1);
    expect(decision).toEqual({
      close: false,
      unsaved: 5,
      message:
        "5 changes are not saved on this computer yet: This computer's disk is full. " +
        "Keep the window open so they can be saved, or close and lose them.",
    });
  });

  it("closes when the last save goes through", async () => {
    const full = queue(4, "This computer's disk is full.", () => true);
    const holding = vi.fn();
    await expect(decideClose([full.saves], holding)).resolves.toEqual({ close: true });
    expect(holding).toHaveBeenCalledOnce();
    expect(full.state.attempts).toBe(1);
  });

  it("asks when the last save does not answer in time", async () => {
    const stuck = queue(1, null, () => "never");
    const deciding = decideClose([stuck.saves], () => undefined, 5_000);
    let decided = false;
    void deciding.then(() => (decided = true));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(decided).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(deciding).resolves.toEqual({
      close: false,
      unsaved: 1,
      message: unsavedCloseMessage(1, null),
    });
  });

  it("says how many changes, why, and what each choice does", () => {
    expect(unsavedCloseMessage(1, "database is locked")).toBe(
      "1 change is not saved on this computer yet: database is locked. " +
        "Keep the window open so they can be saved, or close and lose them.",
    );
    expect(unsavedCloseMessage(2, null)).toContain("2 changes are not saved on this computer yet: the last save");
  });

  it("knows every draft's queue until it is unregistered", () => {
    const first = queue(1, null).saves;
    const second = queue(0, null).saves;
    const stopFirst = registerPendingSaves(first);
    const stopSecond = registerPendingSaves(second);
    expect(pendingSaves()).toEqual([first, second]);
    stopFirst();
    expect(pendingSaves()).toEqual([second]);
    stopSecond();
    expect(pendingSaves()).toEqual([]);
  });
});

describe("whenAllSaved", () => {
  it("runs only once every queue has saved", async () => {
    let unsaved = 2;
    const stop = registerPendingSaves({
      unsaved: () => unsaved,
      reason: () => "This computer's disk is full",
      saveNow: async () => {
        unsaved -= 1;
        return unsaved === 0;
      },
    });
    let ran = 0;
    let slept = 0;
    await whenAllSaved(
      () => (ran += 1),
      1,
      async () => {
        slept += 1;
      },
    );
    stop();
    expect(ran).toBe(1);
    expect(unsaved).toBe(0);
    expect(slept).toBe(1);
  });
});
