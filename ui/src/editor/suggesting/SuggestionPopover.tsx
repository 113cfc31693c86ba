// Click a suggestion in the text: a small popover says who suggested it and when, with Accept and
// Reject for owners and editors.
import { useEffect, useState } from "preact/hooks";
import type { Editor } from "@tiptap/core";
import { settle } from "./SuggestChanges";
import { suggestionTitle } from "../../logic/suggestionId";

interface Props {
  editor: Editor;
  canWrite: boolean;
}

interface Open {
  id: string;
  kind: "insertion" | "deletion" | "modification";
  left: number;
  top: number;
}

function kindOf(value: string | null): Open["kind"] {
  return value === "deletion" ? "deletion" : value === "modification" ? "modification" : "insertion";
}

export function SuggestionPopover({ editor, canWrite }: Props) {
  const [open, setOpen] = useState<Open | null>(null);

  useEffect(() => {
    const dom = editor.view.dom;
    const onClick = (event: MouseEvent) => {
      const target = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-suggestion-id]") : null;
      if (!target || !dom.contains(target)) {
        setOpen(null);
        return;
      }
      const rect = target.getBoundingClientRect();
      setOpen({
        id: target.getAttribute("data-suggestion-id") ?? "",
        kind: kindOf(target.getAttribute("data-suggestion-kind")),
        left: rect.left,
        top: rect.bottom + 4,
      });
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(null);
    };
    const onTransaction = ({ transaction }: { transaction: { docChanged: boolean } }) => {
      // The text moved under it: the popover would point at the wrong place.
      if (transaction.docChanged) setOpen(null);
    };
    dom.addEventListener("click", onClick);
    document.addEventListener("keydown", onKey);
    editor.on("transaction", onTransaction);
    return () => {
      dom.removeEventListener("click", onClick);
      document.removeEventListener("keydown", onKey);
      editor.off("transaction", onTransaction);
    };
  }, [editor]);

  if (!open) return null;
  // The library's own numeric ids (never written by this app) compare as numbers.
  const matches = (id: unknown) => String(id) === open.id;
  const act = (accept: boolean) => {
    settle(editor, accept, matches);
    setOpen(null);
    editor.commands.focus();
  };
  return (
    <div class="suggestion-popover" style={{ left: `${open.left}px`, top: `${open.top}px` }} data-testid="suggestion-popover" role="dialog">
      <p>{suggestionTitle(open.kind, open.id)}</p>
      {canWrite && (
        <div class="row-actions">
          <button class="primary" onMouseDown={(e) => e.preventDefault()} onClick={() => act(true)} data-testid="accept-suggestion">
            Accept
          </button>
          <button onMouseDown={(e) => e.preventDefault()} onClick={() => act(false)} data-testid="reject-suggestion">
            Reject
          </button>
        </div>
      )}
    </div>
  );
}
