// The schema against docs/DRAFT_FORMAT.md: everything the Rust import may write must exist, or
// y-prosemirror deletes it from the document the first time the editor renders it.
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { getSchema } from "@tiptap/core";
import { yXmlFragmentToProseMirrorRootNode } from "@tiptap/y-tiptap";
import { draftSchemaExtensions } from ".";
import { placeholderText } from "./nodes";
import { readYChange } from "./ychange";

const schema = getSchema(draftSchemaExtensions());

describe("the draft schema", () => {
  it("has every node and mark of the contract, and ychange", () => {
    const nodes = ["paragraph", "heading", "bulletList", "orderedList", "clauseList", "listItem", "blockquote", "horizontalRule", "hardBreak", "pageBreak", "footnote", "placeholder", "table", "tableRow", "tableHeader", "tableCell"];
    for (const name of nodes) expect(schema.nodes[name], name).toBeDefined();
    for (const name of ["bold", "italic", "underline", "strike", "link", "insertion", "deletion", "modification", "ychange"]) expect(schema.marks[name], name).toBeDefined();
    expect(Object.keys(schema.nodes.tableCell!.spec.attrs ?? {})).toEqual(expect.arrayContaining(["colspan", "rowspan", "colwidth"]));
    expect(schema.nodes.footnote!.spec.attrs).toHaveProperty("text");
    expect(schema.nodes.placeholder!.spec.attrs).toHaveProperty("kind");
    expect(schema.nodes.placeholder!.spec.attrs).toHaveProperty("label");
    for (const name of nodes) expect(schema.nodes[name]!.spec.attrs, name).toHaveProperty("ychange");
    // The first block type is what ProseMirror makes by default: still the paragraph.
    expect(schema.topNodeType.contentMatch.defaultType?.name).toBe("paragraph");
  });

  it("renders a document as the Rust import writes it, deleting nothing", () => {
    const ydoc = new Y.Doc({ gc: false });
    const body = ydoc.getXmlFragment("default");
    const element = (name: string, attrs: Record<string, unknown>, children: (Y.XmlElement | Y.XmlText)[]) => {
      const el = new Y.XmlElement(name);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v as string);
      el.insert(0, children);
      return el;
    };
    const text = (deltas: { insert: string; attributes?: Record<string, unknown> }[]) => {
      const t = new Y.XmlText();
      t.applyDelta(deltas);
      return t;
    };
    ydoc.transact(() => {
      body.insert(0, [
        element("paragraph", {}, [
          text([
            { insert: "Struck", attributes: { strike: {} } },
            { insert: " link", attributes: { link: { href: "https://example.com" } } },
            { insert: " new", attributes: { insertion: { id: "s:1764979200000:w1:Jane Smith" } } },
            { insert: " old", attributes: { deletion: { id: "s:1764979200000:w2:Ben" } } },
          ]),
          element("footnote", { text: "See clause 2." }, []),
          element("placeholder", { kind: "image", label: "Logo" }, []),
        ]),
        element("pageBreak", {}, []),
        element("table", {}, [
          element("tableRow", {}, [
            element("tableHeader", { colspan: 1, rowspan: 1 }, [element("paragraph", {}, [text([{ insert: "Party" }])])]),
            element("tableCell", { colspan: 1, rowspan: 1, colwidth: [120] }, [element("paragraph", {}, [text([{ insert: "Acme" }])])]),
          ]),
        ]),
        element("paragraph", { suggestionMarks: [{ type: "deletion", attrs: { id: "s:1764979200000:w3:Ben" } }] }, [text([{ insert: "Gone" }])]),
      ]);
    });
    const before = body.toString();
    const doc = yXmlFragmentToProseMirrorRootNode(body, schema);
    expect(body.toString()).toBe(before);
    expect(doc.childCount).toBe(4);
    expect(doc.child(2).type.name).toBe("table");
    expect(doc.child(2).child(0).child(1).attrs.colwidth).toEqual([120]);
    const marks = new Set<string>();
    doc.descendants((node) => {
      node.marks.forEach((m) => marks.add(m.type.name));
      return true;
    });
    expect([...marks].sort()).toEqual(["deletion", "insertion", "link", "strike"]);
    expect(doc.child(3).attrs.suggestionMarks).toEqual([{ type: "deletion", attrs: { id: "s:1764979200000:w3:Ben" } }]);
  });

  it("reads y-prosemirror's ychange values and shows placeholders", () => {
    expect(readYChange({ user: "Jane", type: "added", color: { light: "#fee", dark: "#a00" } })).toEqual({ user: "Jane", type: "added", color: "#a00" });
    expect(readYChange({ type: "removed" })?.type).toBe("removed");
    expect(readYChange({ type: "other" })).toBeNull();
    expect(schema.mark("ychange", { user: "Jane", type: "removed", color: "#a00" }).attrs.type).toBe("removed");
    expect(placeholderText("image", "Logo")).toBe("[Image: Logo]");
    expect(placeholderText("widget", "")).toBe("[Widget]");
    expect(placeholderText(undefined, undefined)).toBe("[Object]");
  });
});
