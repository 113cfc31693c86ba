// The suggestion plugin of @handlewithcare/prosemirror-suggest-changes (0.1.8), with its
// decorations kept up to date incrementally. The library's `decorations` prop walks the whole
// document on every view update, each keystroke included: O(draft) work per key, 1–2 ms on a
// 100-page draft with 1,000 suggestions. Here the set is computed once, mapped through each
// transaction, and recomputed only for the top-level blocks a transaction touched (and their
// neighbours, whose decorations depend on them). The decorations are the library's: a node
// decoration on a paragraph that is wholly inserted or deleted, and a pilcrow widget where a
// suggestion continues across a paragraph break. Same plugin key and `enabled` state, so the
// library's commands and `withSuggestChanges` work unchanged.
import { Plugin, TextSelection, type Transaction } from "@tiptap/pm/state";
import { Decoration, DecorationSet } from "@tiptap/pm/view";
import type { Node as PmNode, Mark } from "@tiptap/pm/model";
import type { Step, StepMap } from "@tiptap/pm/transform";
import { suggestChangesKey } from "@handlewithcare/prosemirror-suggest-changes";

export interface SuggestChangesState {
  enabled: boolean;
  decorations: DecorationSet;
}

function pilcrow(): HTMLElement {
  const span = document.createElement("span");
  span.appendChild(document.createTextNode("¶"));
  return span;
}

/** The library's decorations for the top-level blocks `first` to `last` (inclusive) of `doc`. */
function decorate(doc: PmNode, first: number, last: number, out: Decoration[]): void {
  if (first > last) return;
  const { insertion, deletion } = doc.type.schema.marks;
  if (!insertion || !deletion) return;
  let lastParent: PmNode | null = null;
  let lastText: PmNode | null = null;
  let lastTextEnd = 0;
  let start = 0;
  for (let i = 0; i < first; i++) start += doc.child(i).nodeSize;
  let end = start;
  for (let i = first; i <= last; i++) end += doc.child(i).nodeSize;
  const find = (marks: readonly Mark[] | undefined, type: typeof insertion) => marks?.find((mark) => mark.type === type);
  doc.nodesBetween(start, end, (node, pos, parent) => {
    if (node.isTextblock && node.childCount) {
      const children = node.children;
      if (children.every((child) => deletion.isInSet(child.marks)))
        out.push(Decoration.node(pos, pos + node.nodeSize, { "data-node-deletion": "true" }));
      if (children.every((child) => insertion.isInSet(child.marks)))
        out.push(Decoration.node(pos, pos + node.nodeSize, { "data-node-insertion": "true" }));
    }
    if (!node.isText) return true;
    const deleted = find(node.marks, deletion);
    const inserted = find(node.marks, insertion);
    const lastDeleted = find(lastText?.marks, deletion);
    const lastInserted = find(lastText?.marks, insertion);
    const widgetAt = lastTextEnd;
    lastText = node;
    lastTextEnd = pos + node.nodeSize;
    if (parent === lastParent) return true;
    lastParent = parent;
    if ((!deleted || !lastDeleted) && (!inserted || !lastInserted)) return true;
    if (deleted?.attrs["id"] !== lastDeleted?.attrs["id"] && inserted?.attrs["id"] !== lastInserted?.attrs["id"]) return true;
    if (deleted)
      out.push(Decoration.widget(widgetAt, pilcrow, { key: String(deleted.attrs["id"]), marks: [deletion.create({ id: deleted.attrs["id"] })] }));
    if (inserted)
      out.push(Decoration.widget(widgetAt, pilcrow, { key: String(inserted.attrs["id"]), marks: [insertion.create({ id: inserted.attrs["id"] })] }));
    return true;
  });
}

/** Every suggestion decoration of `doc` (what the library computes on each update). */
export function suggestionDecorations(doc: PmNode): DecorationSet {
  const out: Decoration[] = [];
  decorate(doc, 0, doc.childCount - 1, out);
  return DecorationSet.create(doc, out);
}

/** Where `step` changed its document (positions after it), or null when it cannot say. */
function stepRange(step: Step, map: StepMap): [number, number] | null {
  let from = Infinity;
  let to = -Infinity;
  map.forEach((_oldStart, _oldEnd, newStart, newEnd) => {
    from = Math.min(from, newStart);
    to = Math.max(to, newEnd);
  });
  if (from <= to) return [from, to];
  // Mark and attribute steps move nothing, so their map is empty: they name their range.
  const named = step as unknown as { from?: unknown; to?: unknown; pos?: unknown };
  if (typeof named.from === "number" && typeof named.to === "number") return [named.from, named.to];
  if (typeof named.pos === "number") return [named.pos, named.pos + 1];
  return null;
}

/** The range of `tr.doc` that `tr` changed, or null when it must be taken as all of it. */
function changedRange(tr: Transaction): [number, number] | null {
  let from = Infinity;
  let to = -Infinity;
  for (let i = 0; i < tr.steps.length; i++) {
    const step = tr.steps[i]!;
    const range = stepRange(step, tr.mapping.maps[i]!);
    if (!range) return null;
    const rest = tr.mapping.slice(i + 1);
    from = Math.min(from, rest.map(range[0], -1));
    to = Math.max(to, rest.map(range[1], 1));
  }
  return from <= to ? [from, to] : null;
}

const hasText = (node: PmNode) => node.textContent.length > 0;

/** `decorations` (of the document before `tr`) brought up to date with `tr.doc`. */
export function updateSuggestionDecorations(decorations: DecorationSet, tr: Transaction): DecorationSet {
  const doc = tr.doc;
  const range = changedRange(tr);
  if (!range || doc.childCount === 0) return suggestionDecorations(doc);
  const clamp = (pos: number) => Math.max(0, Math.min(pos, doc.content.size));
  const [from, to] = [clamp(range[0]), clamp(range[1])];
  // The changed blocks, the block before them (a pilcrow for a suggestion that continues into
  // the first changed block sits at the end of the text before it) and the one after (its
  // pilcrow depends on the last changed block's text); blocks without text are passed over, as
  // the library's walk carries its "last text" across them.
  let first = Math.max(0, doc.resolve(from).index(0) - 1);
  while (first > 0 && !hasText(doc.child(first))) first--;
  let last = Math.min(doc.childCount - 1, doc.resolve(to).index(0) + 1);
  while (last < doc.childCount - 1 && !hasText(doc.child(last))) last++;
  let start = 0;
  for (let i = 0; i < first; i++) start += doc.child(i).nodeSize;
  let end = start;
  for (let i = first; i < last; i++) end += doc.child(i).nodeSize;
  const lastStart = end;
  end += doc.child(last).nodeSize;
  const mapped = decorations.map(tr.mapping, doc);
  // What the walk below recomputes: decorations inside these blocks (a node decoration of the
  // block before ends at `start`), except the pilcrows in the last one: those belong to the
  // blocks after it, which did not change.
  const stale = mapped.find(start + 1, end - 1).filter((d) => d.from !== d.to || d.from < lastStart);
  const fresh: Decoration[] = [];
  decorate(doc, first, last, fresh);
  return mapped.remove(stale).add(doc, fresh);
}

/** The library's `suggestChanges()` plugin with incremental decorations. */
export function suggestChangesPlugin(): Plugin<SuggestChangesState> {
  return new Plugin<SuggestChangesState>({
    key: suggestChangesKey as never,
    state: {
      init: (_config, state) => ({ enabled: false, decorations: suggestionDecorations(state.doc) }),
      apply(tr, value) {
        const meta = tr.getMeta(suggestChangesKey) as { enabled?: boolean } | undefined;
        const enabled = meta && "enabled" in meta ? meta.enabled === true : value.enabled;
        if (!tr.docChanged) return enabled === value.enabled ? value : { enabled, decorations: value.decorations };
        return { enabled, decorations: updateSuggestionDecorations(value.decorations, tr) };
      },
    },
    props: {
      decorations: (state) => (suggestChangesKey.getState(state) as SuggestChangesState | undefined)?.decorations,
      // The library's: the caret skips the zero-width spaces that stand for paragraph marks.
      handleKeyDown(view, event) {
        const selection = view.state.selection;
        if (!(selection instanceof TextSelection) || !selection.empty || !selection.$cursor) return false;
        const cursor = selection.$cursor;
        if (event.key === "ArrowRight" && cursor.nodeAfter?.text?.startsWith("\u200B"))
          view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, cursor.pos + 1)));
        if (event.key === "ArrowLeft" && cursor.nodeBefore?.text?.endsWith("\u200B"))
          view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, cursor.pos - 1)));
        return false;
      },
    },
  });
}
