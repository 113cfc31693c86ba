// Comments and suggestions through Yjs the way the editor does it: ProseMirror documents written
// to Yjs with y-prosemirror's updateYFragment, anchors made and resolved through its mapping.
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { getSchema } from "@tiptap/core";
import type { Node as PMNode } from "@tiptap/pm/model";
import { EditorState, type Transaction } from "@tiptap/pm/state";
import { suggestChanges, suggestChangesKey } from "@handlewithcare/prosemirror-suggest-changes";
import { initProseMirrorDoc, updateYFragment } from "@tiptap/y-tiptap";
import { draftSchemaExtensions } from "../schema";
import { suggestionNodeMarksPlugin } from "../schema/suggestionNodeMarks";
import { dispatchSuggesting } from "../suggesting/SuggestChanges";
import { settleSuggestions } from "../suggesting/settle";
import { listSuggestions } from "../suggesting/suggestionList";
import { commentsOf, createThread, readThreads } from "../../logic/comments";
import { anchorsFor, rangeOf, type YBinding } from "./anchors";

const schema = getSchema(draftSchemaExtensions());

/** A computer's copy: its Y.Doc and what y-prosemirror renders of it. */
class Replica {
  ydoc = new Y.Doc({ gc: false });
  fragment = this.ydoc.getXmlFragment("default");
  meta = initProseMirrorDoc(this.fragment, schema).meta;

  /** The body as the editor shows it (re-rendered from Yjs, as after a remote change). */
  doc(): PMNode {
    const rendered = initProseMirrorDoc(this.fragment, schema);
    this.meta = rendered.meta;
    return rendered.doc;
  }
  binding(): YBinding {
    this.doc();
    return { doc: this.ydoc, type: this.fragment, mapping: this.meta.mapping };
  }
  /** Write an edited body to Yjs, as the sync plugin does after each local transaction. */
  write(doc: PMNode): void {
    updateYFragment(this.ydoc, this.fragment, doc, this.meta);
  }
  /** Apply an edit made by `author` in Suggesting (or Editing) mode and write it. */
  edit(author: string, suggesting: boolean, change: (state: EditorState) => Transaction): void {
    let state = EditorState.create({ schema, doc: this.doc(), plugins: [suggestChanges(), suggestionNodeMarksPlugin()] });
    if (suggesting) state = state.apply(state.tr.setMeta(suggestChangesKey, { skip: true, enabled: true }));
    dispatchSuggesting(state, change(state), () => author, (tr) => {
      state = state.apply(tr);
    });
    this.write(state.doc);
  }
}

function exchange(a: Y.Doc, b: Y.Doc): void {
  const toB = Y.encodeStateAsUpdate(a, Y.encodeStateVector(b));
  const toA = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a));
  Y.applyUpdate(b, toB);
  Y.applyUpdate(a, toA);
}

const quoteOf = (replica: Replica, threadId: string): string | null => {
  const thread = readThreads(commentsOf(replica.ydoc)).find((t) => t.id === threadId);
  const range = thread ? rangeOf(replica.binding(), thread) : null;
  return range ? replica.doc().textBetween(range.from, range.to) : null;
};

describe("comments and suggestions across two computers", () => {
  it("converge when one comments and the other suggests, offline", () => {
    const a = new Replica();
    a.write(
      schema.node("doc", null, [
        schema.node("paragraph", null, [schema.text("The Supplier shall indemnify the Buyer.")]),
        schema.node("paragraph", null, [schema.text("Second clause.")]),
      ]),
    );
    const b = new Replica();
    Y.applyUpdate(b.ydoc, Y.encodeStateAsUpdate(a.ydoc));

    // A comments on "Supplier" (positions 5–13); B, offline, suggests around it.
    const anchors = anchorsFor(a.binding(), 5, 13);
    createThread(commentsOf(a.ydoc), { ...anchors, quote: "Supplier", body: "Which entity?" }, { author: "Jane Smith", authorId: "" }, 1, "t");
    expect(quoteOf(a, "t")).toBe("Supplier");
    b.edit("Ben", true, (s) => s.tr.insertText("Acme ", 5));
    b.edit("Ben", true, (s) => s.tr.delete(s.doc.child(0).nodeSize - 11, s.doc.child(0).nodeSize - 2));

    exchange(a.ydoc, b.ydoc);
    expect(a.doc().eq(b.doc())).toBe(true);
    expect(Y.encodeStateVector(a.ydoc)).toEqual(Y.encodeStateVector(b.ydoc));
    const suggestions = listSuggestions(a.doc());
    expect(suggestions.map((s) => [s.author, s.kinds[0], s.text])).toEqual([
      ["Ben", "insertion", "Acme "],
      ["Ben", "deletion", "the Buyer"],
    ]);
    expect(quoteOf(a, "t")).toBe("Supplier");
    expect(quoteOf(b, "t")).toBe("Supplier");

    // B accepts everything; the comment stays on its text.
    b.write(b.doc());
    const state = EditorState.create({ schema, doc: b.doc() });
    b.write(state.apply(settleSuggestions(state, true, () => true)!).doc);
    exchange(a.ydoc, b.ydoc);
    expect(a.doc().child(0).textContent).toBe("The Acme Supplier shall indemnify .");
    expect(quoteOf(a, "t")).toBe("Supplier");

    // A deletes the commented word outright: the thread is detached on both, never dropped.
    a.edit("Jane Smith", false, (s) => s.tr.delete(10, 19));
    exchange(a.ydoc, b.ydoc);
    expect(b.doc().child(0).textContent).toBe("The Acme shall indemnify .");
    expect(quoteOf(b, "t")).toBeNull();
    expect(readThreads(commentsOf(b.ydoc)).map((t) => [t.id, t.quote])).toEqual([["t", "Supplier"]]);
  });

  it("does not stretch a comment over text typed right before or after it", () => {
    const a = new Replica();
    a.write(schema.node("doc", null, [schema.node("paragraph", null, [schema.text("alpha beta gamma")])]));
    createThread(commentsOf(a.ydoc), { ...anchorsFor(a.binding(), 7, 11), quote: "beta", body: "" }, { author: "J", authorId: "" }, 1, "t");
    a.edit("J", false, (s) => s.tr.insertText("X", 11));
    a.edit("J", false, (s) => s.tr.insertText("Y", 7));
    expect(a.doc().textContent).toBe("alpha YbetaX gamma");
    expect(quoteOf(a, "t")).toBe("beta");
  });
});
