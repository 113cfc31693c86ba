// The incremental suggestion decorations are, after every kind of edit, exactly what a full walk
// of the document gives; and a full walk gives what the library computes.
import { describe, expect, it } from "vitest";
import { getSchema } from "@tiptap/core";
import { EditorState, type Transaction } from "@tiptap/pm/state";
import type { Node as PmNode, Schema } from "@tiptap/pm/model";
import type { Decoration, DecorationSet } from "@tiptap/pm/view";
import { suggestChanges } from "@handlewithcare/prosemirror-suggest-changes";
import { draftSchemaExtensions } from "../schema";
import { suggestChangesPlugin, suggestionDecorations, type SuggestChangesState } from "./suggestionDecorations";
import { suggestChangesKey } from "@handlewithcare/prosemirror-suggest-changes";

const schema: Schema = getSchema(draftSchemaExtensions());

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draft(next: () => number): PmNode {
  const paragraphs: PmNode[] = [];
  for (let i = 0; i < 30; i++) {
    if (next() < 0.1) {
      paragraphs.push(schema.nodes.paragraph!.create());
      continue;
    }
    const words = ["The Supplier ", "shall deliver ", "the Goods ", "on time."];
    const nodes = words.map((word, w) => {
      const roll = next();
      // Some suggestions continue across paragraphs (the same id in neighbours).
      const id = `s:${Math.floor(i / 2)}:${w}:Ann`;
      if (roll < 0.25) return schema.text(word, [schema.marks.insertion!.create({ id })]);
      if (roll < 0.5) return schema.text(word, [schema.marks.deletion!.create({ id })]);
      return schema.text(word);
    });
    paragraphs.push(schema.nodes.paragraph!.create(null, nodes));
  }
  return schema.nodes.doc!.create(null, paragraphs);
}

const describeSet = (set: DecorationSet | undefined) =>
  (set?.find() ?? [])
    .map((d: Decoration) => `${d.from}-${d.to}:${String((d.spec as { key?: string }).key ?? "node")}`)
    .sort();

/** One random edit of the kinds a lawyer (or accept/reject) makes. */
function edit(state: EditorState, next: () => number): Transaction {
  const tr = state.tr;
  const size = state.doc.content.size;
  const at = () => {
    // A position inside a textblock.
    for (;;) {
      const pos = 1 + Math.floor(next() * (size - 1));
      if (state.doc.resolve(pos).parent.isTextblock) return pos;
    }
  };
  const mark = () => (next() < 0.5 ? schema.marks.insertion! : schema.marks.deletion!).create({ id: `s:${Math.floor(next() * 8)}:x:Bo` });
  const [a, b] = [at(), at()].sort((x, y) => x - y) as [number, number];
  switch (Math.floor(next() * 7)) {
    case 0:
      return tr.insertText("new words ", a);
    case 1:
      return tr.insert(a, schema.text("suggested ", [mark()]));
    case 2:
      return a < b ? tr.delete(a, b) : tr.insertText("x", a);
    case 3:
      return tr.addMark(a, b, mark());
    case 4:
      return tr.removeMark(a, b, next() < 0.5 ? schema.marks.insertion! : schema.marks.deletion!);
    case 5:
      return tr.split(a);
    default:
      // Accept-all style: several steps in one transaction.
      return tr.removeMark(0, size, schema.marks.insertion!).insertText("and ", a);
  }
}

describe("suggestion decorations", () => {
  it("a full walk gives what the library computes", () => {
    const next = random(7);
    for (let round = 0; round < 5; round++) {
      const state = EditorState.create({ doc: draft(next), schema });
      const library = suggestChanges().props.decorations!.call(null as never, state) as DecorationSet;
      expect(describeSet(suggestionDecorations(state.doc))).toEqual(describeSet(library));
      expect(describeSet(library).length).toBeGreaterThan(0);
    }
  });

  it("stay what a full walk gives through random edits (10 drafts × 200 edits)", () => {
    let widgets = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const next = random(seed);
      let state = EditorState.create({ doc: draft(next), schema, plugins: [suggestChangesPlugin()] });
      for (let step = 0; step < 200; step++) {
        state = state.apply(edit(state, next));
        const kept = (suggestChangesKey.getState(state) as SuggestChangesState).decorations;
        const full = describeSet(suggestionDecorations(state.doc));
        expect(describeSet(kept), `draft ${seed}, after edit ${step}`).toEqual(full);
        widgets += full.filter((d) => !d.endsWith(":node")).length;
      }
    }
    // The edits did exercise the cross-paragraph pilcrows.
    expect(widgets).toBeGreaterThan(0);
  });

  it("keeps the library's on/off state and its meta", () => {
    let state = EditorState.create({ doc: draft(random(1)), schema, plugins: [suggestChangesPlugin()] });
    expect((suggestChangesKey.getState(state) as SuggestChangesState).enabled).toBe(false);
    state = state.apply(state.tr.setMeta(suggestChangesKey, { skip: true, enabled: true }));
    expect((suggestChangesKey.getState(state) as SuggestChangesState).enabled).toBe(true);
    state = state.apply(state.tr.insertText("x", 3));
    expect((suggestChangesKey.getState(state) as SuggestChangesState).enabled).toBe(true);
  });
});
