// @vitest-environment happy-dom
// The whole draft screen mounts with the drafting tools wired in (the Rust side mocked): the
// draft's default mode is where the session starts, and a viewer gets a read-only editor.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { h, render } from "preact";
import { Awareness } from "y-protocols/awareness";
import type { AppInfo, SyncStatus } from "../ipc";
import { isSuggesting } from "./suggesting/SuggestChanges";

const opened = vi.hoisted(() => ({ ydoc: null as unknown }));

vi.mock("../ipc", () => ({
  ipc: { exportDocx: async () => "", exportPdf: async () => "", copilotAvailability: async () => ({ available: false }) },
  errorMessage: (e: unknown) => String(e),
}));
vi.mock("./bridge", () => ({
  openDraft: async () => {
    const ydoc = opened.ydoc as Y.Doc;
    return { ydoc, awareness: new Awareness(ydoc), flushed: async () => undefined, close: async () => undefined };
  },
}));

const { DraftEditor } = await import("./DraftEditor");

const info = {
  version: "test",
  data_dir: "",
  settings: { display_name: "Jane Smith" },
  account: null,
  sign_in: { state: "signed_in", name: "Jane Smith", email: "jane@firm.example", detail: null },
  status: { mode: "local", pending: 0 },
  problem: null,
  today: "2026-12-06",
} as unknown as AppInfo;
const status: SyncStatus = { mode: "local", pending: 0 };

function draftDoc(mode: string | null): Y.Doc {
  const ydoc = new Y.Doc({ gc: false });
  const paragraph = new Y.XmlElement("paragraph");
  const text = new Y.XmlText();
  paragraph.insert(0, [text]);
  ydoc.getXmlFragment("default").insert(0, [paragraph]);
  text.insert(0, "Clause one.");
  ydoc.getMap("meta").set("title", "Supply agreement");
  if (mode) ydoc.getMap("meta").set("mode", mode);
  return ydoc;
}

let root: HTMLElement | null = null;
afterEach(() => {
  if (root) render(null, root);
  root?.remove();
  window.__hub = undefined;
});

async function open(mode: string | null, role?: "owner" | "editor" | "viewer") {
  opened.ydoc = draftDoc(mode);
  root = document.createElement("div");
  document.body.append(root);
  render(h(DraftEditor, { caseId: "c1", doc: "cases/c1/drafts/d1", info, status, navigate: () => undefined, role }), root);
  await vi.waitFor(() => expect(window.__hub?.editor.state.doc.textContent).toBe("Clause one."));
  const container = root;
  await vi.waitFor(() => expect(container.querySelector('[data-testid="comments-panel"]')).not.toBeNull());
  return { editor: window.__hub!.editor, root: container };
}

describe("the draft screen", () => {
  it("opens in the draft's default mode, with the panels and tools", async () => {
    const { editor, root: screen } = await open("suggesting");
    expect(isSuggesting(editor.state)).toBe(true);
    for (const id of ["mode-editing", "mode-suggesting", "add-comment", "table-insert", "strike", "comments-panel"])
      expect(screen.querySelector(`[data-testid="${id}"]`), id).not.toBeNull();
    // The side column's tabs: Changes lists the suggestions; Versions the saved versions.
    (screen.querySelector('[data-testid="tab-changes"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(screen.querySelector('[data-testid="suggestions-panel"]')).not.toBeNull());
    expect(screen.querySelector('[data-testid="default-mode"]')).not.toBeNull();
    (screen.querySelector('[data-testid="tab-versions"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(screen.querySelector('[data-testid="versions-panel"]')).not.toBeNull());
    expect(screen.querySelector('[data-testid="save-version"]')).not.toBeNull();
    expect(screen.querySelector('[data-testid="mode-suggesting"]')?.getAttribute("aria-pressed")).toBe("true");
  });

  it("opens in Editing when the draft says nothing, and read-only for a viewer", async () => {
    const first = await open(null);
    expect(isSuggesting(first.editor.state)).toBe(false);
    render(null, first.root);
    const viewer = await open("suggesting", "viewer");
    expect(viewer.editor.isEditable).toBe(false);
    expect(viewer.root.querySelector('[data-testid="mode-suggesting"]')?.hasAttribute("disabled")).toBe(true);
  });
});
