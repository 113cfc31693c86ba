// Keeps every suggestion attributed to whoever made it. The library joins a new suggestion to an
// adjacent one by reusing that one's id, and relabels the neighbour to the new id when they
// differ: fine for one author, but with ids that carry their author (s:<ms>:<rand>:<author>) it
// would file Ben's typing next to Jane's insertion under Jane, or Jane's under Ben. After the
// library has built its suggestion transaction, this puts right, on that same transaction:
//   - content that is newly inserted or newly marked deleted carries an id of the typist's;
//   - content that was already a suggestion keeps the id it had.
import type { Mark, MarkType, Node as PMNode } from "@tiptap/pm/model";
import type { Transaction } from "@tiptap/pm/state";
import { AddMarkStep, AddNodeMarkStep, AttrStep, RemoveMarkStep, RemoveNodeMarkStep, type Step } from "@tiptap/pm/transform";
import { parseSuggestionId } from "../../logic/suggestionId";

/** Ranges of `tr.doc` that the transaction's steps touched. */
function touched(tr: Transaction): [number, number][] {
  const ranges: [number, number][] = [];
  tr.steps.forEach((step: Step, index) => {
    const local: [number, number][] = [];
    if (step instanceof AddMarkStep || step instanceof RemoveMarkStep) local.push([step.from, step.to]);
    else if (step instanceof AddNodeMarkStep || step instanceof RemoveNodeMarkStep || step instanceof AttrStep) local.push([step.pos, step.pos + 1]);
    else step.getMap().forEach((_a, _b, from, to) => local.push([from, to]));
    const rest = tr.mapping.slice(index + 1);
    for (const [from, to] of local) ranges.push([rest.map(from, -1), rest.map(to, 1)]);
  });
  return ranges;
}

interface Fix {
  from: number;
  to: number;
  type: MarkType;
  id: unknown;
  node: boolean;
}

/**
 * Correct the ids of the suggestion marks `tr` (the library's suggestion transaction, built on
 * `before`) set, in place. `mine` is an id of the typist's for content that needs one.
 */
export function keepAttribution(before: PMNode, tr: Transaction, author: string, mine: () => string): void {
  const { insertion, deletion } = tr.doc.type.schema.marks;
  if (!insertion || !deletion) return;
  const types = [insertion, deletion];
  const inverse = tr.mapping.invert();
  const fixes: Fix[] = [];
  let myId: string | null = null;
  const ownId = () => (myId ??= mine());
  const isMine = (id: unknown) => parseSuggestionId(id)?.author === author;

  /** The id `position`'s content should carry for `type`, or undefined to leave it. */
  const wanted = (position: number, type: MarkType, current: Mark): unknown => {
    const back = inverse.mapResult(position, 1);
    const old = back.deleted ? null : before.nodeAt(back.pos);
    const oldMark = old ? type.isInSet(old.marks) : undefined;
    if (oldMark) return oldMark.attrs.id === current.attrs.id ? undefined : oldMark.attrs.id;
    return isMine(current.attrs.id) ? undefined : ownId();
  };

  const seenNodes = new Set<number>();
  for (const [rangeFrom, rangeTo] of touched(tr)) {
    const from = Math.max(0, rangeFrom);
    const to = Math.min(tr.doc.content.size, rangeTo);
    if (from >= to) continue;
    tr.doc.nodesBetween(from, to, (node, pos) => {
      const marks = node.marks.filter((mark) => types.includes(mark.type));
      if (marks.length === 0) return true;
      if (!node.isText) {
        if (seenNodes.has(pos)) return true;
        seenNodes.add(pos);
        for (const mark of marks) {
          const id = wanted(pos, mark.type, mark);
          if (id !== undefined) fixes.push({ from: pos, to: pos + node.nodeSize, type: mark.type, id, node: true });
        }
        return true;
      }
      // Character by character within the touched part: one text node may join old and new.
      const start = Math.max(pos, from);
      const end = Math.min(pos + node.nodeSize, to);
      for (const mark of marks) {
        let runStart = start;
        let runId: unknown = wanted(start, mark.type, mark);
        for (let p = start + 1; p <= end; p++) {
          const id = p < end ? wanted(p, mark.type, mark) : Symbol("end");
          if (id === runId) continue;
          if (runId !== undefined) fixes.push({ from: runStart, to: p, type: mark.type, id: runId, node: false });
          runStart = p;
          runId = id;
        }
      }
      return false;
    });
  }
  for (const fix of fixes) {
    if (fix.node) {
      const node = tr.doc.nodeAt(fix.from);
      const old = node ? fix.type.isInSet(node.marks) : undefined;
      if (old) tr.removeNodeMark(fix.from, old);
      tr.addNodeMark(fix.from, fix.type.create({ id: fix.id }));
    } else {
      tr.removeMark(fix.from, fix.to, fix.type);
      tr.addMark(fix.from, fix.to, fix.type.create({ id: fix.id }));
    }
  }
}
