// Commented text highlighted in the draft. The ranges come from the threads' Yjs anchors, which
// are resolved only when they can have moved in ways ProseMirror cannot follow: when a thread
// changes, and when a change arrives from Yjs (y-sync rebuilds the whole document then). A local
// keystroke maps the decorations and ranges through its own steps: O(threads), no Yjs lookups.
import { Extension } from "@tiptap/core";
import { Plugin, PluginKey, type EditorState, type Transaction } from "@tiptap/pm/state";
import { Decoration, DecorationSet } from "@tiptap/pm/view";
import { suggestChangesKey } from "@handlewithcare/prosemirror-suggest-changes";
import { readThreads, type CommentsMap } from "../../logic/comments";
import { bindingOf, PositionIndex, showingSnapshot } from "./anchors";

export interface CommentRange {
  from: number;
  to: number;
}

export interface CommentHighlightState {
  decorations: DecorationSet;
  /** Every thread whose text is live (open or resolved); a thread missing here is detached. */
  ranges: Map<string, CommentRange>;
  /** Bumped on every recomputation from Yjs (for the panel to re-read). */
  generation: number;
}

export const commentHighlightsKey = new PluginKey<CommentHighlightState>("commentHighlights");

const REFRESH = "refresh";

function fromYjs(tr: Transaction): boolean {
  const meta = tr.getMeta("y-sync$") as { isChangeOrigin?: boolean } | undefined;
  return !!meta?.isChangeOrigin;
}

export function computeHighlights(state: EditorState, comments: CommentsMap | null, generation: number): CommentHighlightState {
  const started = performance.now();
  const ranges = new Map<string, CommentRange>();
  const binding = bindingOf(state);
  if (!comments || !binding || showingSnapshot(state)) return { decorations: DecorationSet.empty, ranges, generation };
  const decorations: Decoration[] = [];
  const size = state.doc.content.size;
  const positions = new PositionIndex(binding);
  for (const thread of readThreads(comments)) {
    const range = positions.rangeOf(thread);
    if (!range || range.to > size) continue;
    ranges.set(thread.id, range);
    if (!thread.resolved)
      decorations.push(Decoration.inline(range.from, range.to, { class: "comment-highlight", "data-thread-id": thread.id }, { thread: thread.id }));
  }
  const result = { decorations: DecorationSet.create(state.doc, decorations), ranges, generation };
  performance.measure("hub:comment-anchors", { start: started });
  return result;
}

function mapHighlights(value: CommentHighlightState, tr: Transaction): CommentHighlightState {
  const ranges = new Map<string, CommentRange>();
  for (const [id, range] of value.ranges) {
    const from = tr.mapping.map(range.from, 1);
    const to = tr.mapping.map(range.to, -1);
    if (from < to) ranges.set(id, { from, to });
  }
  return { decorations: value.decorations.map(tr.mapping, tr.doc), ranges, generation: value.generation };
}

export function commentHighlightsPlugin(comments: CommentsMap | null): Plugin<CommentHighlightState> {
  return new Plugin<CommentHighlightState>({
    key: commentHighlightsKey,
    state: {
      init: () => ({ decorations: DecorationSet.empty, ranges: new Map(), generation: 0 }),
      apply(tr, value, _oldState, newState) {
        if (tr.getMeta(commentHighlightsKey) === REFRESH || fromYjs(tr)) return computeHighlights(newState, comments, value.generation + 1);
        if (!tr.docChanged) return value;
        return mapHighlights(value, tr);
      },
    },
    props: {
      decorations: (state) => commentHighlightsKey.getState(state)?.decorations ?? DecorationSet.empty,
    },
    view(view) {
      const refresh = () => {
        if (view.isDestroyed) return;
        view.dispatch(view.state.tr.setMeta(commentHighlightsKey, REFRESH).setMeta(suggestChangesKey, { skip: true }));
      };
      comments?.observeDeep(refresh);
      // The body may already be rendered from Yjs by the time this view exists.
      const first = setTimeout(refresh, 0);
      return {
        destroy: () => {
          clearTimeout(first);
          comments?.unobserveDeep(refresh);
        },
      };
    },
  });
}

/** Asks the comments panel to start a comment on the selection (Ctrl+Alt+M, the toolbar). */
export const ADD_COMMENT_EVENT = "hub-add-comment";

export const CommentHighlights = Extension.create<{ comments: CommentsMap | null }>({
  name: "commentHighlights",
  addOptions: () => ({ comments: null }),
  addProseMirrorPlugins() {
    return [commentHighlightsPlugin(this.options.comments)];
  },
  addKeyboardShortcuts() {
    return {
      "Mod-Alt-m": () => {
        this.editor.view.dom.dispatchEvent(new CustomEvent(ADD_COMMENT_EVENT, { bubbles: true }));
        return true;
      },
    };
  },
});
