// The track-changes marks of @handlewithcare/prosemirror-suggest-changes (`insertion`,
// `deletion`, `modification`) as TipTap marks, with the same names, attributes and exclusions as
// the library's MarkSpecs (it finds them by name), drawn in the author's colour with the author
// and date on hover. All three are in the group `suggestion`, which container nodes allow as node
// marks (a whole paragraph, table or page break proposed for insertion or deletion).
import { Mark, mergeAttributes } from "@tiptap/core";
import { colourIndexFor } from "../../logic/awareness";
import { suggestionAuthor, suggestionTitle } from "../../logic/suggestionId";

export const SUGGESTION_GROUP = "suggestion";
export type SuggestionKind = "insertion" | "deletion" | "modification";
export const SUGGESTION_KINDS: readonly SuggestionKind[] = ["insertion", "deletion", "modification"];

/** The DOM attributes every suggestion mark carries: what the popover and the styles read. */
function suggestionDom(kind: SuggestionKind, id: unknown): Record<string, string> {
  return {
    // The author's colour by class (styles.css `.author-N`), not an inline style: elements
    // with equal classes share their computed style, which made laying out 1,000 suggestions
    // cheaper than 1,000 distinct inline custom properties.
    class: `suggestion suggestion-${kind} author-${colourIndexFor(suggestionAuthor(id))}`,
    "data-suggestion-id": String(id),
    "data-suggestion-kind": kind,
    title: suggestionTitle(kind, id),
  };
}

/** The id as stored: the contract's strings; the library's numbers are read as numbers. */
function readId(element: HTMLElement): string | number | false {
  const raw = element.getAttribute("data-suggestion-id");
  if (raw === null) return false;
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

const idAttribute = { id: { default: null, rendered: false } };

export const Insertion = Mark.create({
  name: "insertion",
  group: SUGGESTION_GROUP,
  inclusive: false,
  excludes: "deletion modification insertion",
  addAttributes: () => idAttribute,
  parseHTML: () => [{ tag: "ins[data-suggestion-id]", getAttrs: (el) => (readId(el) === false ? false : { id: readId(el) }) }],
  renderHTML: ({ mark, HTMLAttributes }) => ["ins", mergeAttributes(HTMLAttributes, suggestionDom("insertion", mark.attrs.id)), 0],
});

export const Deletion = Mark.create({
  name: "deletion",
  group: SUGGESTION_GROUP,
  inclusive: false,
  excludes: "insertion modification deletion",
  addAttributes: () => idAttribute,
  parseHTML: () => [{ tag: "del[data-suggestion-id]", getAttrs: (el) => (readId(el) === false ? false : { id: readId(el) }) }],
  renderHTML: ({ mark, HTMLAttributes }) => ["del", mergeAttributes(HTMLAttributes, suggestionDom("deletion", mark.attrs.id)), 0],
});

export const Modification = Mark.create({
  name: "modification",
  group: SUGGESTION_GROUP,
  inclusive: false,
  excludes: "deletion insertion",
  addAttributes: () => ({
    id: { default: null, rendered: false },
    type: { default: null, rendered: false },
    attrName: { default: null, rendered: false },
    previousValue: { default: null, rendered: false },
    newValue: { default: null, rendered: false },
  }),
  renderHTML: ({ mark, HTMLAttributes }) => ["span", mergeAttributes(HTMLAttributes, suggestionDom("modification", mark.attrs.id)), 0],
});

export const SuggestionMarks = [Insertion, Deletion, Modification];
