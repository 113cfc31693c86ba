// Nodes a Word import writes that the editor shows but does not lay out itself
// (docs/DRAFT_FORMAT.md): a hard page break, a footnote and a placeholder for what the editor
// cannot hold (an image, a text box, a field…). y-prosemirror deletes any Yjs node it cannot map
// to the schema, so these must exist even though the toolbar never makes the last two.
import { Extension, Node, mergeAttributes } from "@tiptap/core";
import { NodeSelection, TextSelection } from "@tiptap/pm/state";

declare module "@tiptap/core" {
  interface Commands<ReturnType> {
    pageBreak: {
      /** A hard page break after the selection's block. */
      insertPageBreak: () => ReturnType;
    };
  }
}

export const PageBreak = Node.create({
  name: "pageBreak",
  group: "block",
  atom: true,
  selectable: true,
  parseHTML: () => [{ tag: 'div[data-type="page-break"]' }],
  renderHTML: ({ HTMLAttributes }) => [
    "div",
    mergeAttributes(HTMLAttributes, { "data-type": "page-break", class: "page-break", contenteditable: "false" }),
    ["span", {}, "Page break"],
  ],
  renderText: () => "\n",
  addCommands() {
    return {
      // As TipTap's horizontal rule does it: insert, then put the caret in the block after
      // (making an empty paragraph when there is none), so breaks can be typed one after another.
      insertPageBreak:
        () =>
        ({ chain, state }) => {
          const { selection } = state;
          const current = chain();
          if (selection instanceof NodeSelection) current.insertContentAt(selection.$to.pos, { type: this.name });
          else current.insertContent({ type: this.name });
          return current
            .command(({ tr, dispatch }) => {
              if (!dispatch) return true;
              const { $to } = tr.selection;
              if ($to.nodeAfter) {
                if ($to.nodeAfter.isTextblock) tr.setSelection(TextSelection.create(tr.doc, $to.pos + 1));
                else if ($to.nodeAfter.isBlock) tr.setSelection(NodeSelection.create(tr.doc, $to.pos));
                else tr.setSelection(TextSelection.create(tr.doc, $to.pos));
              } else {
                const paragraph = tr.doc.type.schema.nodes.paragraph?.create();
                const after = $to.end();
                if (paragraph) {
                  tr.insert(after, paragraph);
                  tr.setSelection(TextSelection.create(tr.doc, after + 1));
                }
              }
              tr.scrollIntoView();
              return true;
            })
            .run();
        },
    };
  },
});

/**
 * Ctrl+Enter inserts a page break, as in Word. An extension of its own, with a higher priority
 * than StarterKit's hard break (Shift+Enter still makes a line break); giving the node itself a
 * higher priority would put it first in the schema and make it the default block.
 */
export const PageBreakShortcut = Extension.create({
  name: "pageBreakShortcut",
  priority: 101,
  addKeyboardShortcuts() {
    return { "Mod-Enter": () => this.editor.commands.insertPageBreak() };
  },
});

export const Footnote = Node.create({
  name: "footnote",
  group: "inline",
  inline: true,
  atom: true,
  selectable: true,
  addAttributes: () => ({
    text: {
      default: "",
      parseHTML: (element: HTMLElement) => element.getAttribute("data-text") ?? "",
      renderHTML: (attributes: Record<string, unknown>) => {
        const text = typeof attributes.text === "string" ? attributes.text : "";
        return { "data-text": text, title: text };
      },
    },
  }),
  parseHTML: () => [{ tag: 'sup[data-type="footnote"]' }],
  // The number is a CSS counter (styles.css), so footnotes renumber as they move.
  renderHTML: ({ HTMLAttributes }) => ["sup", mergeAttributes(HTMLAttributes, { "data-type": "footnote", class: "footnote" })],
  renderText: () => "",
});

const KIND_LABELS: Record<string, string> = {
  image: "Image",
  textbox: "Text box",
  field: "Field",
  object: "Object",
  chart: "Chart",
  equation: "Equation",
};

/** "[Image: Signature block]": the chip's text for a placeholder. */
export function placeholderText(kind: unknown, label: unknown): string {
  const kindText = typeof kind === "string" && kind ? (KIND_LABELS[kind] ?? kind.charAt(0).toUpperCase() + kind.slice(1)) : "Object";
  const labelText = typeof label === "string" && label ? `: ${label}` : "";
  return `[${kindText}${labelText}]`;
}

export const Placeholder = Node.create({
  name: "placeholder",
  group: "inline",
  inline: true,
  atom: true,
  selectable: true,
  addAttributes: () => ({
    kind: {
      default: "object",
      parseHTML: (element: HTMLElement) => element.getAttribute("data-kind") ?? "object",
      renderHTML: (attributes: Record<string, unknown>) => ({ "data-kind": String(attributes.kind ?? "object") }),
    },
    label: {
      default: "",
      parseHTML: (element: HTMLElement) => element.getAttribute("data-label") ?? "",
      renderHTML: (attributes: Record<string, unknown>) => ({ "data-label": String(attributes.label ?? "") }),
    },
  }),
  parseHTML: () => [{ tag: 'span[data-type="placeholder"]' }],
  renderHTML: ({ node, HTMLAttributes }) => [
    "span",
    mergeAttributes(HTMLAttributes, { "data-type": "placeholder", class: "placeholder-chip", contenteditable: "false" }),
    placeholderText(node.attrs.kind, node.attrs.label),
  ],
  renderText: ({ node }) => placeholderText(node.attrs.kind, node.attrs.label),
});

