// @vitest-environment happy-dom
// The new-matter form and the firm's conflicts check: clear → created with the check's id;
// possible conflicts → a warning, then back to the form or opened anyway ("proceeded"); the server
// unreachable → opened only when the lawyer chooses, marked "offline"; no firm server → no check.
import { afterEach, describe, expect, it, vi } from "vitest";
import { h, render } from "preact";
import type { CaseFields, CommandError, ConflictCheck, ConflictQuery } from "../ipc";

type Created = { fields: CaseFields; parties: { role: string; name: string }[] };
const state = vi.hoisted(() => ({
  answer: null as null | (() => Promise<unknown>),
  queries: [] as unknown[],
  created: [] as unknown[],
}));
vi.mock("../ipc", () => ({
  ipc: {
    checkConflicts: (query: unknown) => {
      state.queries.push(query);
      return state.answer ? state.answer() : Promise.reject(new Error("no answer set"));
    },
    createCase: (fields: unknown, parties: unknown) => {
      state.created.push({ fields, parties });
      return Promise.resolve("new-case-id");
    },
  },
  errorMessage: (e: unknown) =>
    typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e),
  isCommandError: (e: unknown) => typeof e === "object" && e !== null && "code" in e && "message" in e,
}));
const { NewCaseForm } = await import("./NewCaseForm");

const hit: ConflictCheck = {
  check_id: "7d1f0a52-3c4e-4a8b-9f10-2b3c4d5e6f70",
  total: 1,
  hits: [
    {
      visibility: "detail",
      case_id: "c1",
      title: "Orion supply dispute",
      party: "Globex Holdings",
      party_kind: "adverse",
      searched: "Globex Holdings Inc.",
      searched_kind: "client",
      score: 1,
      rule: "same_name",
    },
  ],
};

let host: HTMLElement | null = null;
afterEach(() => {
  if (host) render(null, host);
  host?.remove();
  host = null;
  state.answer = null;
  state.queries = [];
  state.created = [];
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const query = (testid: string) => host?.querySelector(`[data-testid=${testid}]`) ?? null;

/** Type into a field, then let the form re-render (as between a lawyer's keystrokes). */
async function type(testid: string, value: string) {
  const field = query(testid) as HTMLInputElement | HTMLTextAreaElement;
  field.value = value;
  field.dispatchEvent(new Event("input", { bubbles: true }));
  await settle();
}

async function fillAndSubmit(onCreated: (id: string) => void) {
  host = document.createElement("div");
  document.body.append(host);
  render(h(NewCaseForm, { defaultResponsible: "Ada", onCancel: () => undefined, onCreated }), host);
  await type("matter-title", "Globex licensing");
  await type("matter-client", "Globex Holdings Inc.");
  await type("matter-adverse", "Initech Ltd\nUmbrella plc");
  await type("matter-related", "Hooli");
  (query("new-matter-form") as HTMLFormElement).dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  await settle();
  await settle();
}

const lastCreated = () => state.created.at(-1) as Created;

describe("the new-matter form's conflicts check", () => {
  it("sends the client and parties, and creates a clear matter with the check's id", async () => {
    state.answer = () => Promise.resolve({ check_id: hit.check_id, total: 0, hits: [] });
    const created: string[] = [];
    await fillAndSubmit((id) => created.push(id));
    expect(state.queries).toEqual([
      { client: "Globex Holdings Inc.", adverse: ["Initech Ltd", "Umbrella plc"], related: ["Hooli"] } satisfies ConflictQuery,
    ]);
    expect(created).toEqual(["new-case-id"]);
    expect(lastCreated().fields.conflict_check).toBe(hit.check_id);
    expect(lastCreated().fields.conflict_decision).toBe("clear");
    expect(lastCreated().parties).toEqual([
      { role: "opposing_party", name: "Initech Ltd" },
      { role: "opposing_party", name: "Umbrella plc" },
      { role: "related", name: "Hooli" },
    ]);
  });

  it("warns of possible conflicts and creates nothing until the lawyer decides", async () => {
    state.answer = () => Promise.resolve(hit);
    await fillAndSubmit(() => undefined);
    const warning = query("conflict-warning");
    expect(warning?.textContent).toContain("Orion supply dispute");
    expect(state.created).toEqual([]);
    (query("conflict-cancel") as HTMLButtonElement).click();
    await settle();
    expect(query("conflict-warning")).toBeNull();
    expect(state.created).toEqual([]);
    (query("new-matter-form") as HTMLFormElement).dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    await settle();
    await settle();
    (query("conflict-proceed") as HTMLButtonElement).click();
    await settle();
    expect(lastCreated().fields.conflict_decision).toBe("proceeded");
    expect(lastCreated().fields.conflict_check).toBe(hit.check_id);
  });

  it("opens a matter unchecked only when the lawyer chooses, when the server cannot be reached", async () => {
    const offline: CommandError = { code: "connection", message: "The firm's server cannot be reached." };
    state.answer = () => Promise.reject(offline);
    await fillAndSubmit(() => undefined);
    expect(query("conflict-unavailable")?.textContent).toContain("cannot be reached");
    expect(state.created).toEqual([]);
    (query("conflict-open-unchecked") as HTMLButtonElement).click();
    await settle();
    expect(lastCreated().fields.conflict_decision).toBe("offline");
    expect(lastCreated().fields.conflict_check).toBe("");
  });

  it("refuses what the server refuses, and checks nothing without a firm server", async () => {
    state.answer = () => Promise.reject({ code: "invalid_parties", message: "a party's name is too long" });
    await fillAndSubmit(() => undefined);
    expect(host?.querySelector(".error")?.textContent).toBe("a party's name is too long");
    expect(state.created).toEqual([]);
    render(null, host as HTMLElement);
    host?.remove();

    state.answer = () => Promise.reject({ code: "no_server", message: "This needs your firm's server" });
    await fillAndSubmit(() => undefined);
    expect(lastCreated().fields.conflict_decision).toBe("");
  });
});
