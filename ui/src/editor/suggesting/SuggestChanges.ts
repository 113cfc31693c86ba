// Suggesting mode (track changes): @handlewithcare/prosemirror-suggest-changes wired into TipTap.
// Its plugin holds whether Suggesting is on; every transaction the view dispatches passes
// through `withSuggestChanges`, which, while it is on, rewrites the transaction so that
// deletions become `deletion` marks and insertions get `insertion` marks. Transactions that come
// from Yjs (y-sync's `isChangeOrigin`: remote edits, undo/redo) are left alone by the library.
// Ids are the contract's `s:<ms>:<random>:<author>` (docs/DRAFT_FORMAT.md).
import { Extension, type Editor } from "@tiptap/core";
import type { EditorState, Transaction } from "@tiptap/pm/state";
import { isSuggestChangesEnabled, suggestChangesKey, withSuggestChanges } from "@handlewithcare/prosemirror-suggest-changes";
import { makeSuggestionId } from "../../logic/suggestionId";
import { settleSuggestions, type SuggestionFilter } from "./settle";
import { keepAttribution } from "./attribution";
import { suggestChangesPlugin } from "./suggestionDecorations";

export interface SuggestChangesOptions {
  /** The display name suggestions are attributed to (read at each edit: it can change). */
  author: () => string;
}

/**
 * What the view should apply for `tr` typed in `state`: the suggestion transaction while
 * Suggesting is on (and `tr` is an edit of ours), `tr` itself otherwise. Handed to `next`.
 */
export function dispatchSuggesting(
  state: EditorState,
  tr: Transaction,
  author: () => string,
  next: (tr: Transaction) => void,
): void {
  // One id per user action: an added table column is one suggestion, not one per cell (the
  // library asks for a fresh id after every step that used one).
  let id: string | null = null;
  const actionId = () => (id ??= makeSuggestionId(author()));
  const dispatch = withSuggestChanges(
    (transformed) => {
      // Only a transaction the library rewrote: it may have borrowed a neighbour's id.
      if (transformed !== tr) keepAttribution(state.doc, transformed, author(), actionId);
      next(transformed);
    },
    actionId,
  );
  // The decorator reads the state from `this` (an EditorView); the state is all it uses.
  dispatch.call({ state }, tr);
}

export const SuggestChanges = Extension.create<SuggestChangesOptions>({
  name: "suggestChanges",
  addOptions: () => ({ author: () => "Me" }),
  addProseMirrorPlugins() {
    // The library's plugin, with its decorations kept incrementally (suggestionDecorations.ts).
    return [suggestChangesPlugin()];
  },
  dispatchTransaction({ transaction, next }) {
    dispatchSuggesting(this.editor.state, transaction, this.options.author, next);
  },
});

export function isSuggesting(state: EditorState): boolean {
  return isSuggestChangesEnabled(state);
}

/** Turn Suggesting on or off for this editor (not the draft's default: see draftMode.ts). */
export function setSuggesting(editor: Editor, on: boolean): void {
  if (isSuggesting(editor.state) === on) return;
  editor.view.dispatch(editor.state.tr.setMeta(suggestChangesKey, { skip: true, enabled: on }));
}

/** Accept (or reject) every suggestion whose id passes `filter`; false when there were none. */
export function settle(editor: Editor, accept: boolean, filter: SuggestionFilter): boolean {
  const tr = settleSuggestions(editor.state, accept, filter);
  if (!tr) return false;
  editor.view.dispatch(tr);
  return true;
}
