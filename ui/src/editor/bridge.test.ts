// The editor's local saves against a store that refuses some of them (a full disk): nothing
// typed is lost, nothing is saved out of order, and the lawyer is told while it lasts.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { openDraft } from "./bridge";
import { currentSaveProblem } from "../logic/saveProblems";
import { decideClose, pendingSaves } from "../logic/closeGuard";

const disk = vi.hoisted(() => ({
  /** Updates the store accepted, in the order it accepted them. */
  saved: [] as Uint8Array[],
  /** How many of the next saves fail. */
  failuresLeft: 0,
  inFlight: 0,
  maxInFlight: 0,
  calls: 0,
  /** Remote changes the "server" sends while the editor is loading, and the live channel. */
  whileLoading: [] as Uint8Array[],
  onUpdate: null as ((update: Uint8Array) => void) | null,
  closed: [] as [string, number][],
}));

vi.mock("../ipc", () => ({
  ipc: {
    // An empty document: the v1 update with no structs and an empty delete set.
    openDoc: async (_doc: string, onUpdate: (update: Uint8Array) => void) => {
      disk.onUpdate = onUpdate;
      // Changes that arrive on the channel before the state itself resolves.
      for (const update of disk.whileLoading) onUpdate(update);
      return { state: new Uint8Array([0, 0]), channel: 7 };
    },
    closeDoc: async (doc: string, channel: number) => {
      disk.closed.push([doc, channel]);
    },
    setAwareness: async () => undefined,
    applyLocalUpdate: async (_doc: string, update: Uint8Array) => {
      disk.calls++;
      disk.inFlight++;
      disk.maxInFlight = Math.max(disk.maxInFlight, disk.inFlight);
      // The save takes a moment, as an fsync does.
      await new Promise((resolve) => setTimeout(resolve, 5));
      disk.inFlight--;
      if (disk.failuresLeft > 0) {
        disk.failuresLeft--;
        throw { code: "disk_full", message: "This computer's disk is full." };
      }
      disk.saved.push(Uint8Array.from(update));
      return disk.saved.length;
    },
  },
  events: {
    awareness: async () => () => undefined,
  },
  errorMessage: (error: unknown) => (error as { message: string }).message,
}));

/** The store's document: every accepted update applied in order. */
function storeText(): { text: string; everythingIntegrated: boolean[] } {
  const doc = new Y.Doc();
  const everythingIntegrated = disk.saved.map((update) => {
    Y.applyUpdate(doc, update);
    return doc.store.pendingStructs === null && doc.store.pendingDs === null;
  });
  return { text: doc.getText("body").toString(), everythingIntegrated };
}

beforeEach(() => {
  vi.useFakeTimers();
  disk.saved = [];
  disk.failuresLeft = 0;
  disk.inFlight = 0;
  disk.maxInFlight = 0;
  disk.calls = 0;
  disk.whileLoading = [];
  disk.onUpdate = null;
  disk.closed = [];
});

/** A remote lawyer's change to the body, as raw Yjs update bytes. */
function remoteChange(text: string, from?: Y.Doc): { doc: Y.Doc; update: Uint8Array } {
  const doc = from ?? new Y.Doc();
  const before = Y.encodeStateVector(doc);
  doc.getText("body").insert(doc.getText("body").length, text);
  return { doc, update: Y.encodeStateAsUpdate(doc, before) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("remote changes", () => {
  it("arrive as raw bytes on the document's channel, also while it loads, until it is closed", async () => {
    const first = remoteChange("Heads of terms");
    disk.whileLoading = [first.update];
    const session = await openDraft("draft:x", { onSaving: () => undefined, onError: () => undefined });
    expect(session.ydoc.getText("body").toString()).toBe("Heads of terms");

    disk.onUpdate?.(remoteChange(", subject to contract", first.doc).update);
    expect(session.ydoc.getText("body").toString()).toBe("Heads of terms, subject to contract");
    // Remote changes are never saved back as local edits.
    await vi.advanceTimersByTimeAsync(100);
    expect(disk.calls).toBe(0);

    await session.close();
    expect(disk.closed).toEqual([["draft:x", 7]]);
    disk.onUpdate?.(remoteChange(" (late)", first.doc).update);
    expect(session.ydoc.getText("body").toString()).toBe("Heads of terms, subject to contract");
  });
});

describe("local saves", () => {
  it("keep a refused batch, retry it before anything typed later, and tell the lawyer", async () => {
    const messages: (string | null)[] = [];
    const session = await openDraft("draft:x", {
      onSaving: () => undefined,
      onError: (message: string | null) => messages.push(message),
    });
    const body = session.ydoc.getText("body");

    disk.failuresLeft = 3;
    body.insert(0, "Dear ");
    await vi.advanceTimersByTimeAsync(110);
    // The shell shows it on every screen while it lasts.
    expect(currentSaveProblem()).toContain("This computer's disk is full.");
    body.insert(5, "Sirs");
    body.insert(9, ", ");
    await vi.advanceTimersByTimeAsync(60_000);
    body.insert(11, "we act for the claimant.");
    await vi.advanceTimersByTimeAsync(60_000);
    await session.flushed();

    const stored = storeText();
    expect(stored.text).toBe("Dear Sirs, we act for the claimant.");
    // Each accepted update integrates on top of the ones before it: none waits for a gap.
    expect(stored.everythingIntegrated.every(Boolean)).toBe(true);
    expect(disk.maxInFlight).toBe(1);
    expect(disk.calls).toBeGreaterThan(3);

    const shown = messages.find((message) => message !== null);
    expect(shown).toContain("Your last changes could not be saved to this computer");
    expect(shown).toContain("This computer's disk is full.");
    expect(shown).toContain("keeps retrying");
    // Once the store accepts again, the message goes away.
    expect(messages.at(-1)).toBeNull();
    expect(currentSaveProblem()).toBeNull();
    await session.close();
  });

  it("hand an edit to the store after the frame, what was typed within one frame as one update", async () => {
    // A frame every 16 ms, as the webview draws them (the tests' Node has no frames of its own).
    vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => setTimeout(() => callback(Date.now()), 16));
    try {
      const session = await openDraft("draft:x", { onSaving: () => undefined, onError: () => undefined });
      const body = session.ydoc.getText("body");
      body.insert(0, "Heads ");
      body.insert(6, "of ");
      body.insert(9, "terms");
      // Not saved yet, but closing the window already knows there is something to save.
      expect(disk.calls).toBe(0);
      expect(pendingSaves()).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(15);
      expect(disk.calls).toBe(0);
      // The frame is painted: the three keystrokes go as one update.
      await vi.advanceTimersByTimeAsync(2);
      expect(disk.calls).toBe(1);
      await vi.advanceTimersByTimeAsync(10);
      expect(storeText().text).toBe("Heads of terms");
      expect(disk.saved).toHaveLength(1);
      await session.close();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("hand an edit to the store within 100 ms when no frame comes (a minimised window)", async () => {
    vi.stubGlobal("requestAnimationFrame", () => 0);
    try {
      const session = await openDraft("draft:x", { onSaving: () => undefined, onError: () => undefined });
      session.ydoc.getText("body").insert(0, "Recitals");
      await vi.advanceTimersByTimeAsync(99);
      expect(disk.calls).toBe(0);
      await vi.advanceTimersByTimeAsync(10);
      expect(storeText().text).toBe("Recitals");
      await session.close();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("never sends a batch before the one in flight is saved", async () => {
    const session = await openDraft("draft:x", { onSaving: () => undefined, onError: () => undefined });
    const body = session.ydoc.getText("body");
    for (const word of ["one ", "two ", "three ", "four "]) {
      body.insert(body.length, word);
      await vi.advanceTimersByTimeAsync(40);
    }
    await vi.advanceTimersByTimeAsync(200);
    await session.flushed();
    expect(disk.maxInFlight).toBe(1);
    expect(storeText().text).toBe("one two three four ");
    await session.close();
  });

  it("keeps the window open while the store refuses edits, and lets it close once they are saved", async () => {
    const session = await openDraft("draft:x", { onSaving: () => undefined, onError: () => undefined });
    const body = session.ydoc.getText("body");
    disk.failuresLeft = 100;
    body.insert(0, "Without prejudice");
    await vi.advanceTimersByTimeAsync(110);
    // The editor is left: its queue keeps retrying, and closing the window still asks.
    await session.close();

    const deciding = decideClose(pendingSaves(), () => undefined);
    await vi.advanceTimersByTimeAsync(10);
    const refused = await deciding;
    expect(refused.close).toBe(false);
    if (!refused.close) expect(refused.message).toContain("1 change is not saved on this computer yet: This computer's disk is full.");

    // The last save on closing goes through: the window may close, and nothing is left behind.
    disk.failuresLeft = 0;
    const retried = decideClose(pendingSaves(), () => undefined);
    await vi.advanceTimersByTimeAsync(10);
    await expect(retried).resolves.toEqual({ close: true });
    expect(storeText().text).toBe("Without prejudice");
    expect(pendingSaves()).toEqual([]);
  });
});
