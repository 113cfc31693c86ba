// Nodes a Word import writes that the editor shows but does not lay out itself
// (docs/DRAFT_FORMAT.md): a hard page break, a footnote and a placeholder for what the editor
// cannot hold (an image, a text box, a field…). y-prosemirror deletes any Yjs node it cannot map
// to the schema, so these must exist even though the toolbar never makes the last two.
import { Node, mergeAttributes } from "@tiptap/core";

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
      insertPageBreak:
        () =>
        ({ commands }) =>
          commands.insertContent({ type: this.name }),
    };
  },
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

