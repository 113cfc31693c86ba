// Suggestions on whole nodes (a paragraph, list item, table or page break inserted or deleted as
// a whole; a heading level changed) are ProseMirror *node* marks. y-prosemirror stores a node's
// attributes but not its marks, so without help they would vanish on the next reload or remote
// change. Every non-text node therefore carries the attribute `suggestionMarks`: the JSON of its
// suggestion node marks (`[{"type":"deletion","attrs":{"id":"s:…"}}]`), or null. The two are
// kept equal after every transaction:
//   - a local edit (marks are the truth) writes the marks into the attribute, which syncs;
//   - a change that came from Yjs (y-sync's change origin: remote edits, reloads, undo) puts
//     back the marks the attribute describes.
import { Extension } from "@tiptap/core";
import type { Mark, Node as PMNode, Schema } from "@tiptap/pm/model";
import { Plugin, PluginKey, type EditorState, type Transaction } from "@tiptap/pm/state";
import { AddNodeMarkStep, AttrStep, RemoveNodeMarkStep, type Step } from "@tiptap/pm/transform";
import { SUGGESTION_GROUP } from "./suggestionMarks";

export const SUGGESTION_MARKS_ATTR = "suggestionMarks";

export interface StoredMark {
  type: string;
  attrs?: Record<string, unknown>;
}

function isSuggestionMark(mark: Mark): boolean {
  return (mark.type.spec.group ?? "").split(" ").includes(SUGGESTION_GROUP);
}

/** The attribute value for a node's marks: null when it has no suggestion marks. */
export function storedSuggestionMarks(node: PMNode): StoredMark[] | null {
  const marks = node.marks.filter(isSuggestionMark);
  if (marks.length === 0) return null;
  return marks.map((mark) => mark.toJSON() as StoredMark);
}

/** The marks an attribute value describes (unknown types are skipped, not fatal). */
export function marksFromStored(schema: Schema, stored: unknown): Mark[] {
  if (!Array.isArray(stored)) return [];
  const marks: Mark[] = [];
  for (const entry of stored as unknown[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const type = (entry as { type?: unknown }).type;
    if (typeof type !== "string" || !schema.marks[type]) continue;
    try {
      marks.push(schema.markFromJSON(entry));
    } catch {
      // A malformed entry (another client's bug) is dropped rather than breaking the document.
    }
  }
  return marks;
}

function sameStored(a: unknown, b: StoredMark[] | null): boolean {
  if (b === null) return a === null || a === undefined || (Array.isArray(a) && a.length === 0);
  return JSON.stringify(a) === JSON.stringify(b);
}

function isFromYjs(tr: Transaction): boolean {
  const meta = tr.getMeta("y-sync$") as { isChangeOrigin?: boolean } | undefined;
  return !!meta?.isChangeOrigin;
}

/** Ranges of the final document that `transactions` touched (node-mark and attr steps included). */
function touchedRanges(transactions: readonly Transaction[]): [number, number][] {
  const ranges: [number, number][] = [];
  transactions.forEach((tr, trIndex) => {
    tr.steps.forEach((step: Step, stepIndex) => {
      const local: [number, number][] = [];
      if (step instanceof AddNodeMarkStep || step instanceof RemoveNodeMarkStep || step instanceof AttrStep) {
        local.push([step.pos, step.pos + 1]);
      } else {
        step.getMap().forEach((_oldStart, _oldEnd, newStart, newEnd) => local.push([newStart, newEnd]));
      }
      for (const [from, to] of local) {
        let start = from;
        let end = to;
        const rest = tr.mapping.slice(stepIndex + 1);
        start = rest.map(start, -1);
        end = rest.map(end, 1);
        for (const later of transactions.slice(trIndex + 1)) {
          start = later.mapping.map(start, -1);
          end = later.mapping.map(end, 1);
        }
        ranges.push([start, end]);
      }
    });
  });
  return ranges;
}

/**
 * The transaction that makes node marks and `suggestionMarks` attributes agree in `state`, within
 * `ranges` (or the whole document), in the direction given; null when they already agree.
 */
export function reconcileSuggestionNodeMarks(
  state: EditorState,
  direction: "marks-to-attr" | "attr-to-marks",
  ranges: [number, number][] | null,
): Transaction | null {
  const { doc, schema } = state;
  const tr = state.tr;
  const seen = new Set<number>();
  const visit = (node: PMNode, pos: number) => {
    if (node.isText || seen.has(pos)) return;
    seen.add(pos);
    if (!(SUGGESTION_MARKS_ATTR in node.attrs)) return;
    const stored = storedSuggestionMarks(node);
    const attr: unknown = node.attrs[SUGGESTION_MARKS_ATTR];
    if (sameStored(attr, stored)) return;
    if (direction === "marks-to-attr") {
      tr.setNodeAttribute(pos, SUGGESTION_MARKS_ATTR, stored);
    } else {
      for (const mark of node.marks) if (isSuggestionMark(mark)) tr.removeNodeMark(pos, mark);
      for (const mark of marksFromStored(schema, attr)) {
        const parent = doc.resolve(pos).parent;
        if (parent.type.allowsMarkType(mark.type)) tr.addNodeMark(pos, mark);
      }
    }
  };
  if (ranges === null) {
    doc.descendants((node, pos) => {
      visit(node, pos);
      return true;
    });
  } else {
    for (const [from, to] of ranges) {
      const start = Math.max(0, Math.min(from, to) - 1);
      const end = Math.min(doc.content.size, Math.max(from, to) + 1);
      if (start >= end) continue;
      doc.nodesBetween(start, end, (node, pos) => {
        visit(node, pos);
        return true;
      });
    }
  }
  if (!tr.docChanged) return null;
  // Bookkeeping, not an edit: appended after the edit, so never turned into a suggestion itself.
  tr.setMeta("suggestNodeMarksSync", true);
  return tr;
}

export const suggestionNodeMarksKey = new PluginKey("suggestionNodeMarks");

/** Keeps node marks and attributes equal after every transaction (see the top of this file). */
export function suggestionNodeMarksPlugin(): Plugin {
  return new Plugin({
    key: suggestionNodeMarksKey,
    appendTransaction(transactions, _oldState, newState) {
      if (!transactions.some((tr) => tr.docChanged)) return null;
      if (transactions.some((tr) => tr.getMeta("suggestNodeMarksSync"))) return null;
      // A change from Yjs may have rebuilt any node (y-sync replaces the whole document).
      if (transactions.some(isFromYjs)) return reconcileSuggestionNodeMarks(newState, "attr-to-marks", null);
      return reconcileSuggestionNodeMarks(newState, "marks-to-attr", touchedRanges(transactions));
    },
  });
}

export const SuggestionNodeMarks = Extension.create({
  name: "suggestionNodeMarks",
  addGlobalAttributes() {
    return [
      {
        types: "nodes",
        attributes: {
          [SUGGESTION_MARKS_ATTR]: { default: null, rendered: false, keepOnSplit: false },
        },
      },
    ];
  },
  addProseMirrorPlugins() {
    return [suggestionNodeMarksPlugin()];
  },
});
