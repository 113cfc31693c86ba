// The draft's schema as TipTap extensions: every node and mark docs/DRAFT_FORMAT.md lists (the Rust
// import writes them; y-prosemirror deletes what the schema lacks), the suggestion marks, and
// y-prosemirror's `ychange`. The editor and the tests build from this one list.
import type { AnyExtension } from "@tiptap/core";
import StarterKit from "@tiptap/starter-kit";
import Document from "@tiptap/extension-document";
import Blockquote from "@tiptap/extension-blockquote";
import { BulletList, ListItem, OrderedList } from "@tiptap/extension-list";
import { Table, TableCell, TableHeader, TableRow } from "@tiptap/extension-table";
import { ClauseList } from "../clauseList";
import { Footnote, PageBreak, PageBreakShortcut, Placeholder } from "./nodes";
import { SUGGESTION_GROUP, SuggestionMarks } from "./suggestionMarks";
import { SuggestionNodeMarks } from "./suggestionNodeMarks";
import { YChangeAttribute, YChangeMark } from "./ychange";

/** Containers of blocks let their children carry suggestion node marks (whole-block changes). */
const marks = SUGGESTION_GROUP;

export function draftSchemaExtensions(): AnyExtension[] {
  return [
    StarterKit.configure({
      undoRedo: false,
      code: false,
      codeBlock: false,
      link: { openOnClick: false, autolink: true, linkOnPaste: true },
      document: false,
      blockquote: false,
      bulletList: false,
      orderedList: false,
      listItem: false,
    }),
    Document.extend({ marks }),
    Blockquote.extend({ marks }),
    BulletList.extend({ marks }),
    OrderedList.extend({ marks }),
    ListItem.extend({ marks }),
    ClauseList.extend({ marks }),
    Table.extend({ marks }).configure({ resizable: false }),
    TableRow.extend({ marks }),
    TableHeader.extend({ marks }),
    TableCell.extend({ marks }),
    PageBreak,
    PageBreakShortcut,
    Footnote,
    Placeholder,
    ...SuggestionMarks,
    SuggestionNodeMarks,
    YChangeMark,
    YChangeAttribute,
  ];
}
