// The draft editor's extensions beyond Collaboration: the schema, Suggesting mode and comment
// highlights; and who may do what with them.
import type { AnyExtension, Editor } from "@tiptap/core";
import type * as Y from "yjs";
import { ySyncPluginKey } from "@tiptap/y-tiptap";
import { commentsOf } from "../logic/comments";
import { draftSchemaExtensions } from "./schema";
import { SuggestChanges } from "./suggesting/SuggestChanges";
import { CommentHighlights } from "./comments/CommentHighlights";

import { canComment, canWrite, type MatterRole } from "../logic/permissions";

export { canComment, canWrite };
export type { MatterRole };

export function draftingExtensions(ydoc: Y.Doc, author: () => string): AnyExtension[] {
  return [
    ...draftSchemaExtensions(),
    SuggestChanges.configure({ author }),
    CommentHighlights.configure({ comments: commentsOf(ydoc) }),
  ];
}

/** The Y.Doc the editor is bound to (from the sync plugin), or null before it is. */
export function ydocOf(editor: Editor): Y.Doc | null {
  const sync = ySyncPluginKey.getState(editor.state) as { doc?: Y.Doc } | undefined;
  return sync?.doc ?? null;
}

export type DraftMode = "editing" | "suggesting";

/** The draft's default mode from `meta.mode` ("editing" when unset or unknown). */
export function defaultMode(meta: Y.Map<unknown>): DraftMode {
  return meta.get("mode") === "suggesting" ? "suggesting" : "editing";
}
