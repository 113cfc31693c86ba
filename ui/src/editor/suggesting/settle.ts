// Accepting and rejecting suggestions, for any set of ids at once (one, all, or one author's).
// The library's applySuggestion/revertSuggestion take one id but then accept or revert *every*
// modification in the document, and refuse an id that is only a modification; these follow
// the library's own algorithm (MIT, @handlewithcare/prosemirror-suggest-changes 0.1.8
// commands.js) with the id test made a predicate and modifications filtered by it too.
//
// Accepting an insertion removes its mark (and the zero-width spaces that marked a new paragraph
// boundary); accepting a deletion deletes the text. Rejecting does the opposite; rejecting a
// modification puts back the previous attribute or node type.
import type { MarkType, Node as PMNode } from "@tiptap/pm/model";
import type { EditorState, Transaction } from "@tiptap/pm/state";
import type { Transform } from "@tiptap/pm/transform";
import { suggestChangesKey } from "@handlewithcare/prosemirror-suggest-changes";

export type SuggestionFilter = (id: unknown) => boolean;

const ZERO_WIDTH_SPACE = "\u200B";

function markTypes(state: EditorState) {
  const { insertion, deletion, modification } = state.schema.marks;
  if (!insertion || !deletion || !modification) throw new Error("The schema has no suggestion marks.");
  return { insertion, deletion, modification };
}

/**
 * Where the run of `markType` with this `id` that continues at `pos` ends, following it across a
 * block boundary (a suggested paragraph join is marked at the end of one block and the start of
 * the next). Unlike the library's version, a neighbouring suggestion with another id stops it.
 */
function findSuggestionMarkEnd(doc: PMNode, pos: number, markType: MarkType, id: unknown): number {
  let afterPos = pos;
  for (;;) {
    const $afterPos = doc.resolve(afterPos);
    const next = $afterPos.nodeAfter;
    if (next) {
      if (markType.isInSet(next.marks)?.attrs.id !== id) return afterPos;
      afterPos += next.nodeSize;
      continue;
    }
    if ($afterPos.depth < 1) return afterPos;
    // At the end of a block: does the next block start with the same suggestion?
    let afterParentPos = $afterPos.after();
    let $afterParentPos = doc.resolve(afterParentPos);
    let nextParent = $afterParentPos.nodeAfter;
    while ($afterParentPos.depth > 0 && !nextParent) {
      afterParentPos = $afterPos.after($afterParentPos.depth);
      $afterParentPos = doc.resolve(afterParentPos);
      nextParent = $afterParentPos.nodeAfter;
    }
    let cousinStartPos = afterParentPos + 1;
    let cousin = nextParent?.firstChild ?? null;
    while (cousin && !cousin.isLeaf && !markType.isInSet(cousin.marks)) {
      cousin = cousin.firstChild;
      cousinStartPos++;
    }
    if (!cousin || markType.isInSet(cousin.marks)?.attrs.id !== id) return afterPos;
    afterPos = cousinStartPos + cousin.nodeSize;
  }
}

/** Keep the content of `keep` marks (removing the mark), delete the content of `drop` marks. */
function settleMarks(doc: PMNode, tr: Transform, keep: MarkType, drop: MarkType, filter: SuggestionFilter): void {
  const matching = (type: MarkType, node: PMNode) => {
    const mark = type.isInSet(node.marks);
    return mark && filter(mark.attrs.id) ? mark : undefined;
  };
  doc.descendants((child, pos) => {
    const dropped = matching(drop, child);
    if (dropped) {
      const { pos: from, deleted } = tr.mapping.mapResult(pos);
      if (deleted) return false;
      const to = findSuggestionMarkEnd(tr.doc, from + child.nodeSize, drop, dropped.attrs.id);
      // Deleting a word between two spaces takes one of the spaces with it.
      const before = tr.doc.textBetween(Math.max(0, from - 1), from, "x", "x");
      const after = to < tr.doc.content.size ? tr.doc.textBetween(to, to + 1, "x", "x") : "";
      tr.deleteRange(from, to + (before === " " && after === " " ? 1 : 0));
      return false;
    }
    if (!matching(keep, child)) return true;
    const from = tr.mapping.map(pos);
    const to = from + child.nodeSize;
    if (child.isInline) {
      tr.removeMark(from, to, keep);
      if (child.text === ZERO_WIDTH_SPACE) tr.delete(from, to);
    } else {
      tr.removeNodeMark(from, keep);
    }
    return true;
  });
}

/** Remove matching modification marks; when rejecting, put back what they changed first. */
function settleModifications(tr: Transform, modification: MarkType, accept: boolean, filter: SuggestionFilter): void {
  const found: { pos: number; node: PMNode }[] = [];
  tr.doc.descendants((node, pos) => {
    if (node.marks.some((mark) => mark.type === modification && filter(mark.attrs.id))) found.push({ pos, node });
    return true;
  });
  // Back to front: a node type change (setNodeMarkup) keeps sizes, but be safe with positions.
  for (const { pos, node } of found.reverse()) {
    const mods = node.marks.filter((mark) => mark.type === modification && filter(mark.attrs.id));
    for (const mod of mods) tr.removeNodeMark(pos, mod);
    if (accept) continue;
    // Attributes first, then the node type: a restored type may not have the attribute.
    const ordered = [...mods].sort((a, b) => Number(a.attrs.type === "nodeType") - Number(b.attrs.type === "nodeType"));
    for (const mod of ordered) {
      const { type, attrName, previousValue } = mod.attrs as { type: unknown; attrName: unknown; previousValue: unknown };
      if (type === "attr" && typeof attrName === "string") {
        const current = tr.doc.nodeAt(pos);
        if (current && attrName in current.attrs) tr.setNodeAttribute(pos, attrName, previousValue);
      } else if (type === "nodeType" && typeof previousValue === "string") {
        const previous = tr.doc.type.schema.nodes[previousValue];
        const current = tr.doc.nodeAt(pos);
        if (previous && current) tr.setNodeMarkup(pos, previous, current.attrs, current.marks);
      } else if (type === "mark") {
        const schema = tr.doc.type.schema;
        const { newValue } = mod.attrs as { newValue: unknown };
        try {
          if (newValue) tr.removeNodeMark(pos, schema.markFromJSON(newValue));
          if (previousValue) tr.addNodeMark(pos, schema.markFromJSON(previousValue));
        } catch {
          // A mark this schema does not know: nothing to put back.
        }
      }
    }
  }
}

/** The transaction that accepts (or rejects) every suggestion whose id passes `filter`; null if none. */
export function settleSuggestions(state: EditorState, accept: boolean, filter: SuggestionFilter): Transaction | null {
  const { insertion, deletion, modification } = markTypes(state);
  const tr = state.tr;
  if (accept) settleMarks(state.doc, tr, insertion, deletion, filter);
  else settleMarks(state.doc, tr, deletion, insertion, filter);
  settleModifications(tr, modification, accept, filter);
  if (!tr.docChanged) return null;
  // Settling is never itself turned into a suggestion.
  tr.setMeta(suggestChangesKey, { skip: true });
  return tr;
}
