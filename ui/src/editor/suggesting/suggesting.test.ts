// Suggesting mode on a headless ProseMirror state built from the editor's own schema extensions:
// the same library, the same dispatch decorator, the same accept/reject code as the editor.
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { getSchema } from "@tiptap/core";
import { Node as PMNode } from "@tiptap/pm/model";
import { EditorState, NodeSelection, type Transaction } from "@tiptap/pm/state";
import { suggestChanges, suggestChangesKey } from "@handlewithcare/prosemirror-suggest-changes";
import { initProseMirrorDoc, updateYFragment, yXmlFragmentToProseMirrorRootNode } from "@tiptap/y-tiptap";
import { draftSchemaExtensions } from "../schema";
import { suggestionNodeMarksPlugin, reconcileSuggestionNodeMarks } from "../schema/suggestionNodeMarks";
import { dispatchSuggesting } from "./SuggestChanges";
import { settleSuggestions } from "./settle";
import { byAuthor, listSuggestions, suggestionAuthors } from "./suggestionList";
import { parseSuggestionId } from "../../logic/suggestionId";

const schema = getSchema(draftSchemaExtensions());
const ID_SHAPE = /^s:\d{13}:[a-z0-9]+:/;

function paragraphs(...texts: string[]): PMNode {
  return schema.node(
    "doc",
    null,
    texts.map((t) => schema.node("paragraph", null, t ? [schema.text(t)] : [])),
  );
}

function stateOf(doc: PMNode, suggesting = true): EditorState {
  const state = EditorState.create({ schema, doc, plugins: [suggestChanges(), suggestionNodeMarksPlugin()] });
  return suggesting ? state.apply(state.tr.setMeta(suggestChangesKey, { skip: true, enabled: true })) : state;
}

/** What the editor's view does with a transaction typed by `author`. */
function type(state: EditorState, tr: Transaction, author = "Jane Smith"): EditorState {
  let next: EditorState | null = null;
  dispatchSuggesting(state, tr, () => author, (transformed) => {
    next = state.apply(transformed);
  });
  if (!next) throw new Error("nothing dispatched");
  return next;
}

/** Text runs with their suggestion marks, e.g. ["The ", "+quick:Jane Smith", "fox"]. */
function runs(doc: PMNode): string[] {
  const out: string[] = [];
  doc.descendants((node) => {
    if (!node.isText) return true;
    const ins = node.marks.find((m) => m.type.name === "insertion");
    const del = node.marks.find((m) => m.type.name === "deletion");
    const text = (node.text ?? "").replace(/\u200B/g, "¶");
    if (ins) out.push(`+${text}:${parseSuggestionId(ins.attrs.id)?.author}`);
    else if (del) out.push(`-${text}:${parseSuggestionId(del.attrs.id)?.author}`);
    else out.push(text);
    return false;
  });
  return out;
}

describe("suggesting mode", () => {
  it("marks typed text as an insertion with a contract id", () => {
    let state = stateOf(paragraphs("The fox"));
    state = type(state, state.tr.insertText("quick ", 5));
    expect(state.doc.textContent).toBe("The quick fox");
    expect(runs(state.doc)).toEqual(["The ", "+quick :Jane Smith", "fox"]);
    const [entry] = listSuggestions(state.doc);
    expect(entry?.id).toMatch(ID_SHAPE);
    expect(entry?.id.endsWith(":Jane Smith")).toBe(true);
    expect(entry?.kinds).toEqual(["insertion"]);
    expect(Math.abs((entry?.created ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it("keeps deleted text, struck, as a deletion", () => {
    let state = stateOf(paragraphs("The quick fox"));
    state = type(state, state.tr.delete(5, 11), "Ben");
    expect(state.doc.textContent).toBe("The quick fox");
    expect(runs(state.doc)).toEqual(["The ", "-quick :Ben", "fox"]);
  });

  it("edits directly while Suggesting is off", () => {
    let state = stateOf(paragraphs("The quick fox"), false);
    state = type(state, state.tr.delete(5, 11));
    expect(runs(state.doc)).toEqual(["The fox"]);
  });

  it("never turns a change that came from Yjs into a suggestion", () => {
    let state = stateOf(paragraphs("The fox"));
    const remote = state.tr.insertText("quick ", 5).setMeta("y-sync$", { isChangeOrigin: true });
    state = type(state, remote);
    expect(runs(state.doc)).toEqual(["The quick fox"]);
    const undo = state.tr.delete(5, 11).setMeta("y-sync$", { isChangeOrigin: true, isUndoRedoOperation: true });
    state = type(state, undo);
    expect(runs(state.doc)).toEqual(["The fox"]);
  });

  it("accepts and rejects one suggestion, leaving the others", () => {
    let state = stateOf(paragraphs("The quick fox"));
    state = type(state, state.tr.insertText("brown ", 11), "Jane Smith");
    state = type(state, state.tr.delete(1, 5), "Ben");
    expect(runs(state.doc)).toEqual(["-The :Ben", "quick ", "+brown :Jane Smith", "fox"]);
    const [deletion, insertion] = listSuggestions(state.doc);
    expect(deletion?.author).toBe("Ben");
    expect(insertion?.author).toBe("Jane Smith");

    const accepted = state.apply(settleSuggestions(state, true, (id) => id === insertion?.id)!);
    expect(runs(accepted.doc)).toEqual(["-The :Ben", "quick brown fox"]);
    const rejected = state.apply(settleSuggestions(state, false, (id) => id === insertion?.id)!);
    expect(runs(rejected.doc)).toEqual(["-The :Ben", "quick fox"]);
    const deleted = state.apply(settleSuggestions(state, true, (id) => id === deletion?.id)!);
    expect(runs(deleted.doc)).toEqual(["quick ", "+brown :Jane Smith", "fox"]);
    const kept = state.apply(settleSuggestions(state, false, (id) => id === deletion?.id)!);
    expect(runs(kept.doc)).toEqual(["The quick ", "+brown :Jane Smith", "fox"]);
    expect(settleSuggestions(state, true, (id) => id === "s:1:nope:Nobody")).toBeNull();
  });

  it("accepts or rejects everything one author suggested", () => {
    let state = stateOf(paragraphs("alpha beta gamma", "delta"));
    state = type(state, state.tr.insertText("ONE ", 1), "Jane Smith");
    state = type(state, state.tr.delete(11, 16), "Ben");
    state = type(state, state.tr.insertText("TWO ", state.doc.child(0).nodeSize + 1), "Jane Smith");
    expect(suggestionAuthors(listSuggestions(state.doc))).toEqual([
      { author: "Jane Smith", count: 2 },
      { author: "Ben", count: 1 },
    ]);
    const janeAccepted = state.apply(settleSuggestions(state, true, byAuthor("Jane Smith"))!);
    expect(janeAccepted.doc.textContent).toBe("ONE alpha beta gammaTWO delta");
    expect(suggestionAuthors(listSuggestions(janeAccepted.doc))).toEqual([{ author: "Ben", count: 1 }]);
    const benRejected = state.apply(settleSuggestions(state, false, byAuthor("Ben"))!);
    expect(suggestionAuthors(listSuggestions(benRejected.doc))).toEqual([{ author: "Jane Smith", count: 2 }]);
    expect(benRejected.doc.textContent).toBe(state.doc.textContent);
    const all = state.apply(settleSuggestions(state, true, () => true)!);
    expect(listSuggestions(all.doc)).toEqual([]);
    expect(all.doc.child(0).textContent).toBe("ONE alpha gamma");
    expect(all.doc.child(1).textContent).toBe("TWO delta");
  });

  it("keeps each author's suggestions their own when they touch", () => {
    let state = stateOf(paragraphs("alpha beta gamma"));
    state = type(state, state.tr.insertText("JANE", 7), "Jane Smith");
    // Ben types right after Jane's insertion and deletes right before it: the library would
    // reuse (and relabel) Jane's id; each keeps their own.
    state = type(state, state.tr.insertText("BEN", 11), "Ben");
    state = type(state, state.tr.insertText("!", 14), "Ben");
    state = type(state, state.tr.delete(5, 7), "Ben");
    expect(runs(state.doc)).toEqual(["alph", "-a :Ben", "+JANE:Jane Smith", "+BEN!:Ben", "beta gamma"]);
    const ids = listSuggestions(state.doc).map((s) => [s.author, s.kinds.join(), s.text]);
    expect(ids).toEqual([
      ["Ben", "deletion", "a "],
      ["Jane Smith", "insertion", "JANE"],
      ["Ben", "insertion", "BEN!"],
    ]);
    // Rejecting Ben's leaves Jane's exactly as it was.
    const rejected = state.apply(settleSuggestions(state, false, byAuthor("Ben"))!);
    expect(runs(rejected.doc)).toEqual(["alpha ", "+JANE:Jane Smith", "beta gamma"]);
  });

  it("makes one suggestion of one action, however many steps it takes", () => {
    let state = stateOf(paragraphs("one", "two"));
    const tr = state.tr.insertText("A", 1);
    tr.insertText("B", tr.doc.child(0).nodeSize + 1);
    state = type(state, tr, "Jane Smith");
    expect(runs(state.doc)).toEqual(["+A:Jane Smith", "one", "+B:Jane Smith", "two"]);
    expect(listSuggestions(state.doc)).toHaveLength(1);
  });

  it("suggests a paragraph split with inline markers, so it survives Yjs, and rejects it", () => {
    let state = stateOf(paragraphs("First second"));
    state = type(state, state.tr.split(7));
    expect(state.doc.childCount).toBe(2);
    expect(runs(state.doc).some((run) => run.startsWith("+¶"))).toBe(true);
    const rejected = state.apply(settleSuggestions(state, false, () => true)!);
    expect(rejected.doc.childCount).toBe(1);
    expect(rejected.doc.textContent).toBe("First second");
  });

  it("suggests a change of block type as a modification, accepted or rejected by id", () => {
    let state = stateOf(paragraphs("Title", "Body"));
    state = type(state, state.tr.setBlockType(1, 6, schema.nodes.heading!, { level: 2 }), "Ben");
    const heading = state.doc.child(0);
    expect(heading.type.name).toBe("heading");
    expect(heading.marks.map((m) => [m.type.name, m.attrs.type])).toEqual([
      ["modification", "nodeType"],
      ["modification", "attr"],
    ]);
    expect(heading.marks[0]?.attrs.previousValue).toBe("paragraph");
    expect(heading.attrs.suggestionMarks).toEqual(heading.marks.map((m) => m.toJSON()));
    const [entry] = listSuggestions(state.doc);
    expect(entry?.author).toBe("Ben");
    expect(entry?.kinds).toEqual(["modification"]);
    const rejected = state.apply(settleSuggestions(state, false, (id) => id === entry?.id)!);
    expect(rejected.doc.child(0).type.name).toBe("paragraph");
    expect(rejected.doc.child(0).marks).toEqual([]);
    expect(rejected.doc.child(0).attrs.suggestionMarks).toBeNull();
    const accepted = state.apply(settleSuggestions(state, true, byAuthor("Ben"))!);
    expect(accepted.doc.child(0).type.name).toBe("heading");
    expect(accepted.doc.child(0).marks).toEqual([]);
    // Another id leaves it alone.
    expect(settleSuggestions(state, true, byAuthor("Jane Smith"))).toBeNull();
  });

  it("carries whole-node suggestions through Yjs as the suggestionMarks attribute", () => {
    let state = stateOf(paragraphs("Keep", "Drop"));
    const second = state.doc.child(0).nodeSize;
    // Deleting a whole block (a node selection deleted) becomes a node mark on it.
    state = type(state, state.tr.setSelection(NodeSelection.create(state.doc, second)).deleteSelection(), "Ben");
    const dropped = state.doc.child(1);
    expect(dropped.marks.map((m) => m.type.name)).toEqual(["deletion"]);
    expect(dropped.attrs.suggestionMarks).toEqual([{ type: "deletion", attrs: { id: dropped.marks[0]?.attrs.id } }]);

    // Through Yjs: the node mark is lost, the attribute is kept and puts it back.
    const ydoc = new Y.Doc();
    const fragment = ydoc.getXmlFragment("default");
    const { meta } = initProseMirrorDoc(fragment, schema);
    updateYFragment(ydoc, fragment, state.doc, meta);
    const reloaded = yXmlFragmentToProseMirrorRootNode(fragment, schema);
    expect(reloaded.child(1).marks).toEqual([]);
    const fresh = stateOf(reloaded);
    const fixed = reconcileSuggestionNodeMarks(fresh, "attr-to-marks", null);
    const restored = fresh.apply(fixed!).doc;
    expect(restored.eq(state.doc)).toBe(true);

    // Accepting the deletion removes the paragraph; rejecting keeps it and clears the attribute.
    const accepted = state.apply(settleSuggestions(state, true, () => true)!);
    expect(accepted.doc.childCount).toBe(1);
    expect(accepted.doc.textContent).toBe("Keep");
    let rejected = state.apply(settleSuggestions(state, false, () => true)!);
    expect(rejected.doc.child(1).marks).toEqual([]);
    expect(rejected.doc.child(1).attrs.suggestionMarks).toBeNull();
    rejected = type(rejected, rejected.tr.insertText("!", 2));
    expect(rejected.doc.textContent).toBe("K!eepDrop");
  });
});
