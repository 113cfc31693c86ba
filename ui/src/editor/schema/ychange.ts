// What y-prosemirror writes when it renders a version snapshot against another (compares):
// text gets a `ychange` mark and a whole node a `ychange` attribute, `{user, type, color}` with
// `type` "added" or "removed". Without them in the schema y-prosemirror would fail to build the
// nodes and delete them from the document, so both exist here; they are drawn as a coloured
// underline (added) or strikethrough (removed) with the user on hover.
import { Extension, Mark, mergeAttributes } from "@tiptap/core";
import { colourFor } from "../../logic/awareness";

export interface YChange {
  user: string | null;
  type: "added" | "removed";
  color: string;
}

/** A ychange value as y-prosemirror gives it (color may be `{light, dark}`), or null. */
export function readYChange(value: unknown): YChange | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as { user?: unknown; type?: unknown; color?: unknown };
  const type = v.type === "removed" ? "removed" : v.type === "added" ? "added" : null;
  if (type === null) return null;
  const user = typeof v.user === "string" && v.user ? v.user : null;
  let color: string | null = null;
  if (typeof v.color === "string") color = v.color;
  else if (typeof v.color === "object" && v.color !== null) {
    const { dark, light } = v.color as { dark?: unknown; light?: unknown };
    color = typeof dark === "string" ? dark : typeof light === "string" ? light : null;
  }
  return { user, type, color: color ?? colourFor(user ?? "") };
}

function ychangeDom(change: YChange | null): Record<string, string> {
  if (!change) return {};
  return {
    class: `ychange ychange-${change.type}`,
    "data-ychange": change.type,
    title: `${change.type === "added" ? "Added" : "Removed"}${change.user ? ` by ${change.user}` : ""}`,
    style: `--ychange: ${change.color}`,
  };
}

export const YChangeMark = Mark.create({
  name: "ychange",
  inclusive: false,
  addAttributes: () => ({
    user: { default: null, rendered: false },
    type: { default: null, rendered: false },
    color: { default: null, rendered: false },
  }),
  renderHTML: ({ mark, HTMLAttributes }) => ["span", mergeAttributes(HTMLAttributes, ychangeDom(readYChange(mark.attrs))), 0],
});

/** The `ychange` attribute on every node (y-prosemirror never stores it in the document). */
export const YChangeAttribute = Extension.create({
  name: "ychangeAttribute",
  addGlobalAttributes() {
    return [
      {
        types: "nodes",
        attributes: {
          ychange: {
            default: null,
            keepOnSplit: false,
            parseHTML: () => null,
            renderHTML: (attributes: Record<string, unknown>) => ychangeDom(readYChange(attributes.ychange)),
          },
        },
      },
    ];
  },
});
