// The toolbar's drafting tools: tables, page break, comment, and the Editing / Suggesting switch.
import type { Editor } from "@tiptap/core";
import { ADD_COMMENT_EVENT } from "./comments/CommentHighlights";
import { isSuggesting, setSuggesting } from "./suggesting/SuggestChanges";
import { useEditorKey } from "./useEditorKey";

interface Props {
  editor: Editor;
  /** Owners and editors; commenters and viewers see the tools disabled. */
  canWrite: boolean;
  /** Everyone but viewers: the Comment button. */
  canComment: boolean;
}

const toolbarKey = (editor: Editor) =>
  [editor.isActive("table") ? 1 : 0, isSuggesting(editor.state) ? 1 : 0, editor.state.selection.empty ? 1 : 0, editor.isEditable ? 1 : 0].join("");

export function DraftingToolbar({ editor, canWrite, canComment }: Props) {
  useEditorKey(editor, toolbarKey);
  const inTable = editor.isActive("table");
  const suggesting = isSuggesting(editor.state);
  const editable = canWrite && editor.isEditable;
  const chain = () => editor.chain().focus();

  const tool = (label: string, testid: string, hint: string, action: () => void, enabled = editable, active = false) => (
    <button
      class={active ? "tool active" : "tool"}
      onMouseDown={(e) => e.preventDefault()}
      onClick={action}
      disabled={!enabled}
      data-testid={testid}
      title={hint}
      aria-pressed={active}
    >
      {label}
    </button>
  );

  return (
    <>
      <span class="sep" />
      {tool("⊞ Table", "table-insert", "Insert a table (3 × 3, header row)", () =>
        chain().insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run(),
      )}
      {tool("+ Row", "table-add-row", "Add a row below", () => chain().addRowAfter().run(), editable && inTable)}
      {tool("− Row", "table-delete-row", "Delete this row", () => chain().deleteRow().run(), editable && inTable)}
      {tool("+ Col", "table-add-column", "Add a column to the right", () => chain().addColumnAfter().run(), editable && inTable)}
      {tool("− Col", "table-delete-column", "Delete this column", () => chain().deleteColumn().run(), editable && inTable)}
      {tool("Header row", "table-toggle-header", "Make the first row a header row, or not", () => chain().toggleHeaderRow().run(), editable && inTable)}
      {tool("Delete table", "table-delete", "Delete the table", () => chain().deleteTable().run(), editable && inTable)}
      {tool("⤓ Page break", "page-break", "Insert a page break (Ctrl+Enter)", () => chain().insertPageBreak().run())}
      <span class="sep" />
      {tool(
        "💬 Comment",
        "add-comment",
        "Comment on the selected text (Ctrl+Alt+M)",
        () => editor.view.dom.dispatchEvent(new CustomEvent(ADD_COMMENT_EVENT, { bubbles: true })),
        canComment && !editor.state.selection.empty,
      )}
      <span class="sep" />
      <span class="mode-switch" role="group" aria-label="Editing or suggesting">
        {tool("Editing", "mode-editing", "Edit the text directly", () => setSuggesting(editor, false), canWrite, !suggesting)}
        {tool("Suggesting", "mode-suggesting", "Your edits become suggestions others accept or reject", () => setSuggesting(editor, true), canWrite, suggesting)}
      </span>
    </>
  );
}
