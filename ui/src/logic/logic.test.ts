import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { Awareness, applyAwarenessUpdate } from "y-protocols/awareness";
import { syncLabel } from "./syncLabel";
import { daysUntil, dueLabel, isValidDate } from "./deadlines";
import { snippetParts } from "./snippet";
import { wordCount } from "./words";
import { colourFor, encodeAwarenessUpdate } from "./awareness";

describe("sync label", () => {
  it("says where the work is in each state", () => {
    expect(syncLabel({ mode: "synced", pending: 0 }).text).toBe("Synced with the firm's server");
    // A failing local save is never reported as saved.
    expect(syncLabel({ mode: "local", pending: 0 }, "This computer's disk is full").text).toContain("not saved yet");
    expect(syncLabel({ mode: "local", pending: 0 }, null).text).toBe("All changes saved to this computer");
    expect(syncLabel({ mode: "syncing", pending: 3 }).text).toBe("Syncing 3 changes…");
    expect(syncLabel({ mode: "syncing", pending: 1 }).text).toBe("Syncing 1 change…");
    expect(syncLabel({ mode: "local", pending: 0 }).text).toBe("All changes saved to this computer");
    const offline = syncLabel({ mode: "offline", pending: 2 });
    expect(offline.text).toContain("You're offline — your changes are saved on this computer");
    expect(offline.text).toContain("2 changes waiting");
    expect(offline.tone).toBe("warn");
    expect(syncLabel({ mode: "paused", pending: 0 }).tone).toBe("local");
  });
});

describe("deadlines", () => {
  it("counts days across months and marks overdue", () => {
    expect(daysUntil("2026-11-29", "2026-12-01")).toBe(2);
    expect(daysUntil("2026-12-31", "2027-01-01")).toBe(1);
    expect(dueLabel("2026-11-29", "2026-11-26")).toBe("Overdue by 3 days");
    expect(dueLabel("2026-11-29", "2026-11-29")).toBe("Today");
    expect(dueLabel("2026-11-29", "2026-11-30")).toBe("Tomorrow");
  });
  it("accepts only real ISO dates", () => {
    expect(isValidDate("2026-02-28")).toBe(true);
    expect(isValidDate("2026-02-30")).toBe(false);
    expect(isValidDate("28/02/2026")).toBe(false);
  });
});

describe("search snippets", () => {
  it("splits highlighted matches without interpreting markup", () => {
    expect(snippetParts("the \u0002indemnity\u0003 <b>clause</b>")).toEqual([
      { text: "the ", match: false },
      { text: "indemnity", match: true },
      { text: " <b>clause</b>", match: false },
    ]);
  });
});

describe("word count", () => {
  it("counts runs of non-space characters", () => {
    expect(wordCount("")).toBe(0);
    expect(wordCount("  The Supplier\nshall\u00a0indemnify. ")).toBe(4);
    expect(wordCount("clause\u200B \u200B\u200Bnext")).toBe(2);
  });
});

describe("awareness bridge", () => {
  it("encodes states the stock y-protocols decoder merges", () => {
    const awareness = new Awareness(new Y.Doc());
    const state = { user: { name: "Ada", color: colourFor("Ada") } };
    applyAwarenessUpdate(
      awareness,
      encodeAwarenessUpdate([{ client_id: 4242, clock: 3, state: JSON.stringify(state) }]),
      "remote",
    );
    expect(awareness.getStates().get(4242)).toEqual(state);
    applyAwarenessUpdate(awareness, encodeAwarenessUpdate([{ client_id: 4242, clock: 4, state: "null" }]), "remote");
    expect(awareness.getStates().has(4242)).toBe(false);
  });
  it("gives a name the same colour every time", () => {
    expect(colourFor("Ada")).toBe(colourFor("Ada"));
  });
});
