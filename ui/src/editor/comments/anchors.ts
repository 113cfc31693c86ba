// Comment anchors between ProseMirror positions and the contract's Yjs relative positions,
// through y-prosemirror's own mapping of Yjs types to nodes (the sync plugin's binding).
import * as Y from "yjs";
import type { EditorState } from "@tiptap/pm/state";
import { absolutePositionToRelativePosition, ySyncPluginKey } from "@tiptap/y-tiptap";
import { liveAnchors, type CommentThread } from "../../logic/comments";

/** What anchors need of y-prosemirror's binding: the document, its body and the mapping. */
export interface YBinding {
  doc: Y.Doc;
  type: Y.XmlFragment;
  mapping: Map<Y.AbstractType<unknown>, unknown>;
}

interface SyncState {
  doc?: Y.Doc;
  type?: Y.XmlFragment;
  binding?: { mapping?: Map<Y.AbstractType<unknown>, unknown> } | null;
  snapshot?: unknown;
  prevSnapshot?: unknown;
}

/** The sync plugin's binding in `state`, or null (no Collaboration, or not yet bound). */
export function bindingOf(state: EditorState): YBinding | null {
  const sync = ySyncPluginKey.getState(state) as SyncState | undefined;
  const mapping = sync?.binding?.mapping;
  if (!sync?.doc || !sync.type || !mapping) return null;
  return { doc: sync.doc, type: sync.type, mapping };
}

/** Whether the editor shows a version snapshot rather than the live document. */
export function showingSnapshot(state: EditorState): boolean {
  const sync = ySyncPluginKey.getState(state) as SyncState | undefined;
  return sync?.snapshot != null || sync?.prevSnapshot != null;
}

type Mapping = Parameters<typeof absolutePositionToRelativePosition>[2];

/**
 * The contract's anchors for the text from `from` to `to`: the start sticks to the first
 * commented character (assoc 0), the end to the last (assoc -1), so typing just outside the
 * commented text never extends it.
 */
export function anchorsFor(binding: YBinding, from: number, to: number): { from: Uint8Array; to: Uint8Array } {
  const mapping = binding.mapping as Mapping;
  const start = absolutePositionToRelativePosition(from, binding.type, mapping) as Y.RelativePosition;
  const end = absolutePositionToRelativePosition(to, binding.type, mapping) as Y.RelativePosition;
  const startAt = Y.createAbsolutePositionFromRelativePosition(start, binding.doc);
  const sticky = startAt ? Y.createRelativePositionFromTypeIndex(startAt.type, startAt.index, 0) : start;
  return { from: Y.encodeRelativePosition(sticky), to: Y.encodeRelativePosition(end) };
}

/** Where a thread's text is now, or null when it is detached (its text deleted). */
export function rangeOf(binding: YBinding, thread: Pick<CommentThread, "from" | "to">): { from: number; to: number } | null {
  return new PositionIndex(binding).rangeOf(thread);
}

/** What a Yjs type is in ProseMirror: its size there (y-prosemirror's measure of it). */
type Sized = { nodeSize: number };

/** Any Yjs type of the body (its children's items). */
type YType = { _first: Y.Item | null };

/**
 * The ProseMirror position of every live Yjs type of the body, from one walk of the document:
 * where each paragraph's content and each text starts. Resolving many anchors through it costs
 * one Yjs lookup each; y-prosemirror's `relativePositionToAbsolutePosition` sums the sizes of
 * every earlier sibling on each call, which made 500 threads cost ~100 ms to place when a
 * 100-page draft opened. Same positions (anchors.test.ts checks them against it).
 */
export class PositionIndex {
  private readonly starts = new Map<unknown, number>();

  constructor(private readonly binding: YBinding) {
    this.walk(binding.type, 0);
  }

  /** Records where the children of `parent` (whose content starts at `start`) start. */
  private walk(parent: YType, start: number): boolean {
    let pos = start;
    for (let item = parent._first; item !== null; item = item.right) {
      if (item.deleted || !(item.content instanceof Y.ContentType)) continue;
      const child = item.content.type;
      if (child instanceof Y.XmlText) {
        this.starts.set(child, pos);
        pos += child._length;
      } else {
        const node = this.binding.mapping.get(child) as Sized | undefined;
        // Not rendered (y-prosemirror could not map it): nothing after it has a position.
        if (!node || typeof node.nodeSize !== "number") return false;
        this.starts.set(child, pos + 1);
        if (!this.walk(child, pos + 1)) return false;
        pos += node.nodeSize;
      }
    }
    return true;
  }

  /** The position of `index` in `type` (a text or an element of the body), or null. */
  position(type: YType, index: number): number | null {
    const start = this.starts.get(type);
    if (start === undefined) return null;
    if (type instanceof Y.XmlText) return start + index;
    let pos = start;
    let seen = 0;
    for (let item = type._first; item !== null && seen < index; item = item.right) {
      if (item.deleted || !(item.content instanceof Y.ContentType)) continue;
      const child = item.content.type;
      seen++;
      if (child instanceof Y.XmlText) pos += child._length;
      else pos += (this.binding.mapping.get(child) as Sized | undefined)?.nodeSize ?? 0;
    }
    return pos;
  }

  /** Where a thread's text is now, or null when it is detached (as `rangeOf`). */
  rangeOf(thread: Pick<CommentThread, "from" | "to">): { from: number; to: number } | null {
    const anchors = liveAnchors(this.binding.doc, thread);
    if (!anchors) return null;
    const from = this.position(anchors.from.type, anchors.from.index);
    const to = this.position(anchors.to.type, anchors.to.index);
    if (from === null || to === null || from >= to) return null;
    return { from, to };
  }
}
