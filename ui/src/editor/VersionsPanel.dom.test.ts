// @vitest-environment happy-dom
// The Versions panel on the real editor: save a version, change the draft, open the version
// read-only, compare it with the draft now (insertions and deletions marked, by author), restore
// it as a new edit on top, and ask Rust for a Word redline of the two.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { h, render } from "preact";
import { Editor } from "@tiptap/core";
import Collaboration from "@tiptap/extension-collaboration";
import { draftSchemaExtensions } from "./schema";
import { registerAuthor, listVersions } from "./versions";

const calls = vi.hoisted(() => ({ redlines: [] as [string, string, string][] }));
vi.mock("../ipc", () => ({
  ipc: {
    exportRedline: async (doc: string, from: string, to: string) => {
      calls.redlines.push([doc, from, to]);
      return "/home/jane/Documents/Lawyers Hub/Supply (redline).docx";
    },
  },
  errorMessage: (e: unknown) => String(e),
}));
const { VersionsPanel } = await import("./VersionsPanel");

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup) step();
  cleanup = [];
});

function setUp() {
  const ydoc = new Y.Doc({ gc: false });
  const host = document.createElement("div");
  document.body.append(host);
  const editor = new Editor({
    element: host,
    extensions: [...draftSchemaExtensions(), Collaboration.configure({ document: ydoc, field: "default" })],
    content: null,
  });
  registerAuthor(ydoc, "Jane Smith");
  editor.commands.setContent("<p>The fee is 100 pounds.</p>");
  const panel = document.createElement("div");
  document.body.append(panel);
  render(
    h(VersionsPanel, {
      doc: "cases/c1/drafts/d1",
      ydoc,
      editor,
      author: "Jane Smith",
      canEdit: true,
      extensions: draftSchemaExtensions,
    }),
    panel,
  );
  cleanup.push(() => {
    render(null, panel);
    editor.destroy();
    host.remove();
    panel.remove();
  });
  return { ydoc, editor, panel };
}

const q = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);

function input(el: HTMLInputElement, value: string) {
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

describe("the Versions panel", () => {
  it("saves, opens, compares, restores and exports a redline", async () => {
    const { ydoc, editor, panel } = setUp();
    await vi.waitFor(() => expect(ydoc.getXmlFragment("default").toString()).toContain("100 pounds"));
    input(q(panel, "version-name") as HTMLInputElement, "Sent to opposing counsel");
    await new Promise((resolve) => setTimeout(resolve, 0)); // Preact re-renders with the name
    q(panel, "save-version")!.click();
    await vi.waitFor(() => expect(panel.querySelectorAll('[data-testid="version"]')).toHaveLength(1));
    expect(panel.textContent).toContain("Sent to opposing counsel");
    expect(panel.textContent).toContain("Jane Smith");

    // The draft moves on: "100" becomes "375".
    const at = editor.state.doc.textContent.indexOf("100") + 1;
    editor.chain().setTextSelection({ from: at, to: at + 3 }).insertContent("375").run();
    expect(editor.state.doc.textContent).toBe("The fee is 375 pounds.");

    // Open the version: read-only, the old text.
    q(panel, "view-version")!.click();
    await vi.waitFor(() => expect(q(document, "version-view")?.textContent).toBe("The fee is 100 pounds."));
    expect(q(document, "version-view")?.getAttribute("contenteditable")).toBe("false");
    q(document, "close-version")!.click();

    // Compare with now: "100" removed and "375" added, by Jane.
    q(panel, "compare-version")!.click();
    await vi.waitFor(() => {
      const view = q(document, "version-view")!;
      expect(view.querySelector('.ychange-removed')?.textContent).toBe("100");
    });
    const view = q(document, "version-view")!;
    const added = view.querySelector('.ychange-added');
    expect(added?.textContent).toBe("375");
    expect(view.innerHTML).toContain("Jane Smith");
    q(document, "close-version")!.click();

    // Export the redline: Rust gets the draft, the version and "current".
    q(panel, "export-redline")!.click();
    await vi.waitFor(() => expect(calls.redlines).toHaveLength(1));
    const sent = listVersions(ydoc).find((v) => v.name === "Sent to opposing counsel")!;
    expect(calls.redlines[0]).toEqual(["cases/c1/drafts/d1", sent.id, "current"]);

    // Restore: the old text comes back as a new edit; the current text is kept as a version.
    Object.defineProperty(window, "confirm", { value: () => true, configurable: true });
    const restores = panel.querySelectorAll<HTMLElement>('[data-testid="restore-version"]');
    restores[restores.length - 1]!.click();
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("The fee is 100 pounds."));
    await vi.waitFor(() => expect(ydoc.getXmlFragment("default").toString()).toContain("100 pounds"));
    const kinds = listVersions(ydoc).map((v) => v.kind);
    expect(kinds).toContain("restore");
    expect(editor.isEditable).toBe(true);
  });
});
