// @vitest-environment happy-dom
// y-prosemirror's sync plugin as the app runs it, with our patch (ui/patches/, applied by
// patch-package on `npm ci`; docs/BENCHMARKS.md, "Session 19"): a keystroke writes only the
// paragraph it changed into Yjs instead of reconciling all of the draft's paragraphs, and takes
// the selection as Yjs positions only when something will read it. These tests hold the patched
// plugin to what the original does: the Yjs document always equals the editor's, two editors
// converge, undo puts the caret back where the undone step began — and a keystroke no longer
// looks every paragraph up several times.
import { afterEach, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { Editor } from "@tiptap/core";
import Collaboration from "@tiptap/extension-collaboration";
import { Fragment, type Node as PMNode } from "@tiptap/pm/model";
import { findWrapping } from "@tiptap/pm/transform";
import { TextSelection } from "@tiptap/pm/state";
import { ySyncPluginKey, yUndoPluginKey, yXmlFragmentToProseMirrorRootNode } from "@tiptap/y-tiptap";
import { draftingExtensions } from "./drafting";

const editors: Editor[] = [];
afterEach(() => {
  while (editors.length) editors.pop()?.destroy();
});

function mount(ydoc: Y.Doc): Editor {
  const host = document.createElement("div");
  document.body.append(host);
  const editor = new Editor({
    element: host,
    extensions: [...draftingExtensions(ydoc, () => "Me"), Collaboration.configure({ document: ydoc, field: "default" })],
  });
  editors.push(editor);
  return editor;
}

function paragraphs(count: number): string {
  let html = "";
  for (let i = 0; i < count; i++) html += `<p>${i}. The Supplier shall deliver the Goods on the Delivery Date.</p>`;
  return html;
}

/** The editor's document as its Yjs document has it. */
function fromYjs(editor: Editor, ydoc: Y.Doc): PMNode {
  return yXmlFragmentToProseMirrorRootNode(ydoc.getXmlFragment("default"), editor.schema);
}

function binding(editor: Editor): unknown {
  return (ySyncPluginKey.getState(editor.state) as { binding: unknown }).binding;
}

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Positions inside textblocks (where a caret can be). */
function textPositions(doc: PMNode): number[] {
  const positions: number[] = [];
  doc.descendants((node, pos) => {
    if (node.isTextblock) for (let p = pos + 1; p <= pos + 1 + node.content.size; p += 7) positions.push(p);
    return !node.isTextblock;
  });
  return positions;
}

describe("the patched sync plugin", () => {
  it("keeps Yjs equal to the editor and two editors converging through 600 random edits", () => {
    const [docA, docB] = [new Y.Doc(), new Y.Doc()];
    docA.on("update", (update: Uint8Array, origin: unknown) => origin !== "peer" && Y.applyUpdate(docB, update, "peer"));
    docB.on("update", (update: Uint8Array, origin: unknown) => origin !== "peer" && Y.applyUpdate(docA, update, "peer"));
    const [a, b] = [mount(docA), mount(docB)];
    a.commands.setContent(paragraphs(40));
    const next = random(18);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const kinds = ["type", "type", "type", "delete", "span", "split", "bold", "move", "copy", "heading", "wrap", "duplicate"] as const;
    const done = new Map<string, number>();
    for (let step = 0; step < 600; step++) {
      const editor = next() < 0.8 ? a : b;
      const { state } = editor;
      const tr = state.tr;
      const kind = pick(kinds);
      const at = pick(textPositions(state.doc));
      const top = state.doc.childCount;
      const index = Math.floor(next() * top);
      const start = (i: number) => {
        let pos = 0;
        for (let k = 0; k < i; k++) pos += state.doc.child(k).nodeSize;
        return pos;
      };
      switch (kind) {
        case "type":
          tr.insertText(pick(["x", " ", "clause ", "§"]), at);
          break;
        case "delete":
          tr.delete(at, Math.min(at + 1 + Math.floor(next() * 5), state.doc.resolve(at).end()));
          break;
        case "span":
          tr.delete(at, Math.min(at + Math.floor(next() * 200), state.doc.content.size - 1));
          break;
        case "split":
          tr.split(at);
          break;
        case "bold":
          tr.addMark(at, Math.min(at + 12, state.doc.resolve(at).end()), state.schema.marks.bold!.create());
          break;
        case "move": {
          // The same node object at another index: the plugin's "moved anchor" path.
          const node = state.doc.child(index);
          const to = Math.floor(next() * top);
          tr.delete(start(index), start(index) + node.nodeSize);
          tr.insert(tr.mapping.map(start(to)), node);
          break;
        }
        case "copy": {
          // A new object with the same content in place of the old one.
          const node = state.doc.child(index);
          tr.replaceWith(start(index), start(index) + node.nodeSize, node.type.create(node.attrs, node.content, node.marks));
          break;
        }
        case "heading": {
          const $at = state.doc.resolve(at);
          if ($at.parent.type.name === "paragraph") tr.setBlockType(at, at, state.schema.nodes.heading!, { level: 2 });
          break;
        }
        case "wrap": {
          const range = state.doc.resolve(at).blockRange(state.doc.resolve(Math.min(at + 120, state.doc.content.size - 1)));
          const wrapping = range && findWrapping(range, state.schema.nodes.bulletList!);
          if (range && wrapping) tr.wrap(range, wrapping);
          break;
        }
        case "duplicate": {
          // One node object twice in the document.
          const node = state.doc.child(index);
          tr.insert(start(index), Fragment.from(node));
          break;
        }
      }
      if (!tr.docChanged) continue;
      done.set(kind, (done.get(kind) ?? 0) + 1);
      editor.view.dispatch(tr);
      const context = `step ${step} (${kind})`;
      expect(fromYjs(a, docA).eq(a.state.doc), context).toBe(true);
      expect(fromYjs(b, docB).eq(b.state.doc), context).toBe(true);
      // Two editors, two schema instances: compared as JSON.
      expect(b.state.doc.toJSON(), context).toEqual(a.state.doc.toJSON());
    }
    // Every kind of edit happened, many times over.
    for (const kind of new Set(kinds)) expect(done.get(kind) ?? 0, kind).toBeGreaterThan(10);
  });

  it("keeps another lawyer's edit in its paragraph when paragraphs around it are moved", () => {
    const [docA, docB] = [new Y.Doc(), new Y.Doc()];
    const [a, b] = [mount(docA), mount(docB)];
    a.commands.setContent(paragraphs(40));
    Y.applyUpdate(docB, Y.encodeStateAsUpdate(docA));
    // Offline from each other: B adds to paragraph 4 while A moves paragraph 3 below 6 (a
    // change of the same number of paragraphs, several of them at new indices).
    const end = (editor: Editor, index: number) => {
      let pos = 0;
      for (let k = 0; k <= index; k++) pos += editor.state.doc.child(k).nodeSize;
      return pos;
    };
    b.view.dispatch(b.state.tr.insertText(" URGENT", end(b, 4) - 1));
    const moved = a.state.doc.child(3);
    const tr = a.state.tr.delete(end(a, 2), end(a, 3));
    a.view.dispatch(tr.insert(tr.mapping.map(end(a, 6)), moved));
    Y.applyUpdate(docA, Y.encodeStateAsUpdate(docB, Y.encodeStateVector(docA)));
    Y.applyUpdate(docB, Y.encodeStateAsUpdate(docA, Y.encodeStateVector(docB)));
    expect(b.state.doc.toJSON()).toEqual(a.state.doc.toJSON());
    const texts: string[] = [];
    a.state.doc.forEach((node) => texts.push(node.textContent));
    expect(texts.slice(0, 8).map((text) => text.split(".")[0])).toEqual(["0", "1", "2", "4", "5", "6", "3", "7"]);
    // B's words stay at the end of paragraph 4, now the fourth, and nowhere else.
    expect(texts[3]).toMatch(/^4\. .* URGENT$/);
    expect(texts.filter((text) => text.includes("URGENT")).length).toBe(1);
  });

  it("looks up a handful of paragraphs, not all 1,500, for a keystroke in the middle of the draft", () => {
    const ydoc = new Y.Doc();
    const editor = mount(ydoc);
    editor.commands.setContent(paragraphs(1500));
    editor.commands.focus(Math.floor(editor.state.doc.content.size / 2));
    const { binding } = ySyncPluginKey.getState(editor.state) as { binding: { mapping: Map<unknown, unknown> } };
    let lookups = 0;
    const get = binding.mapping.get.bind(binding.mapping);
    binding.mapping.get = (key: unknown) => {
      lookups++;
      return get(key);
    };
    for (let i = 0; i < 20; i++) editor.view.dispatch(editor.state.tr.insertText("x"));
    // The original plugin: 7,536 (an anchor search and two walks over the 1,500, and three
    // selections taken as Yjs positions, each a walk to the caret's paragraph); the patched one
    // finds the changed paragraph by comparing the old and new document's nodes: 6.
    expect(lookups / 20).toBeLessThanOrEqual(20);
    expect(fromYjs(editor, ydoc).eq(editor.state.doc)).toBe(true);
  });

  it("leaves the caret after text typed from inside a Yjs observer (the edit is rendered back)", () => {
    // Found in review: an edit dispatched while Yjs cleans up another transaction is rendered
    // back into the editor after the binding's lock is released, with the selection saved then.
    const ydoc = new Y.Doc();
    const editor = mount(ydoc);
    editor.commands.setContent(paragraphs(30));
    let pos = 5;
    for (let k = 0; k < 10; k++) pos += editor.state.doc.child(k).nodeSize;
    editor.view.dispatch(editor.state.tr.setSelection(TextSelection.create(editor.state.doc, pos)));
    ydoc.getMap("other").observe(() => editor.view.dispatch(editor.state.tr.insertText("abc")));
    ydoc.getMap("other").set("k", 1);
    expect(editor.state.selection.head).toBe(pos + 3);
    expect(fromYjs(editor, ydoc).eq(editor.state.doc)).toBe(true);
  });

  it("keeps where each undo step began and puts the caret back there", () => {
    const ydoc = new Y.Doc();
    const editor = mount(ydoc);
    editor.commands.setContent(paragraphs(30));
    const { undoManager } = yUndoPluginKey.getState(editor.state) as { undoManager: Y.UndoManager };
    undoManager.clear();
    const original = editor.state.doc;
    const caretAt = (paragraph: number) => {
      let pos = 0;
      for (let k = 0; k < paragraph; k++) pos += editor.state.doc.child(k).nodeSize;
      return pos + 4;
    };
    const type = (text: string) => {
      for (const char of text) editor.view.dispatch(editor.state.tr.insertText(char));
    };
    const put = (pos: number) => editor.view.dispatch(editor.state.tr.setSelection(TextSelection.create(editor.state.doc, pos)));

    // One step: typed in paragraph 5, then at once in paragraph 20.
    const first = caretAt(5);
    put(first);
    type("abc");
    put(caretAt(20));
    type("xyz");
    // A pause longer than the capture timeout: the next keystrokes open a second step.
    undoManager.lastChange -= 1000;
    const second = caretAt(25);
    put(second);
    type("q");
    type("rs");
    expect(undoManager.undoStack.length).toBe(2);

    // Each step keeps where the caret was before its first keystroke (what undo restores):
    // the patch skips taking it only for keystrokes that join an open step.
    const began = undoManager.undoStack.map((item) => (item.meta.get(binding(editor)) as { absHead: number }).absHead);
    expect(began).toEqual([first, second]);
    editor.commands.undo();
    expect(editor.state.selection.head).toBe(second);
    editor.commands.undo();
    expect(editor.state.doc.eq(original)).toBe(true);
    expect(fromYjs(editor, ydoc).eq(original)).toBe(true);
  });
});
