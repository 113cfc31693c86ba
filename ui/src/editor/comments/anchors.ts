// Comment anchors between ProseMirror positions and the contract's Yjs relative positions,
// through y-prosemirror's own mapping of Yjs types to nodes (the sync plugin's binding).
import * as Y from "yjs";
import type { EditorState } from "@tiptap/pm/state";
import {
  absolutePositionToRelativePosition,
  relativePositionToAbsolutePosition,
  ySyncPluginKey,
} from "@tiptap/y-tiptap";
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
  if (!thread.from || !thread.to || !liveAnchors(binding.doc, thread)) return null;
  const mapping = binding.mapping as Mapping;
  const from = relativePositionToAbsolutePosition(binding.doc, binding.type, Y.decodeRelativePosition(thread.from), mapping);
  const to = relativePositionToAbsolutePosition(binding.doc, binding.type, Y.decodeRelativePosition(thread.to), mapping);
  if (from === null || to === null || from >= to) return null;
  return { from, to };
}
