import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { Awareness, applyAwarenessUpdate } from "y-protocols/awareness";
import { getSchema, getText, getTextSerializersFromSchema } from "@tiptap/core";
import { Node } from "@tiptap/pm/model";
import { EditorState } from "@tiptap/pm/state";
import StarterKit from "@tiptap/starter-kit";
import { docWordCount, wordCount } from "./words";
import { encodeAwarenessUpdate, remoteChangesOnly } from "./awareness";

describe("word count of a document", () => {
  it("matches counting the whole text, and re-reads only changed blocks", () => {
    const schema = getSchema([StarterKit]);
    const p = (...content: object[]) => ({ type: "paragraph", content });
    const text = (t: string) => ({ type: "text", text: t });
    const doc = Node.fromJSON(schema, {
      type: "doc",
      content: [
        { type: "heading", attrs: { level: 1 }, content: [text("Supply  agreement")] },
        p(text("The Supplier"), { type: "hardBreak" }, text("shall indemnify")),
        { type: "bulletList", content: [{ type: "listItem", content: [p(text("one two"))] }, { type: "listItem", content: [p(text("three"))] }] },
      ],
    });
    const serializers = getTextSerializersFromSchema(schema);
    const whole = (d: Node) => wordCount(getText(d, { blockSeparator: "\n", textSerializers: serializers }));
    const cache = new WeakMap<object, number>();
    expect(whole(doc)).toBe(9);
    expect(docWordCount(doc, cache)).toBe(9);
    // An edit in the first block: the other blocks are the same objects, answered by the cache.
    const state = EditorState.create({ doc });
    const after = state.apply(state.tr.insertText("Master ", 1)).doc;
    expect(after.child(1)).toBe(doc.child(1));
    expect(cache.has(after.child(1))).toBe(true);
    expect(cache.has(after.child(0))).toBe(false);
    expect(docWordCount(after, cache)).toBe(10);
    expect(whole(after)).toBe(10);
  });
});

describe("the caret plugin's awareness", () => {
  it("hears collaborators' changes but not our own cursor moving", () => {
    const awareness = new Awareness(new Y.Doc());
    const seen: number[][] = [];
    const listener = (change: { added: number[]; updated: number[]; removed: number[] }) =>
      seen.push([...change.added, ...change.updated, ...change.removed]);
    const filtered = remoteChangesOnly(awareness);
    filtered.on("change", listener);
    awareness.setLocalStateField("cursor", { anchor: 1 });
    awareness.setLocalStateField("cursor", { anchor: 2 });
    expect(seen).toEqual([]);
    const state = JSON.stringify({ user: { name: "Ben" }, cursor: { anchor: 3 } });
    applyAwarenessUpdate(awareness, encodeAwarenessUpdate([{ client_id: 77, clock: 1, state }]), "remote");
    expect(seen).toEqual([[77]]);
    // Everything else passes straight through to the real object.
    expect(filtered.clientID).toBe(awareness.clientID);
    expect(filtered.getLocalState()).toEqual({ cursor: { anchor: 2 } });
    expect(filtered.getStates().get(77)).toEqual(JSON.parse(state));
    // "off" removes the wrapped listener.
    filtered.off("change", listener);
    applyAwarenessUpdate(awareness, encodeAwarenessUpdate([{ client_id: 77, clock: 2, state: "null" }]), "remote");
    expect(seen).toEqual([[77]]);
  });
});
