import { useEffect, useState } from "preact/hooks";
import type { Editor } from "@tiptap/core";

/**
 * Re-render when `key(editor)` changes, checked after each transaction but at most once a frame:
 * a re-render per keystroke would cost more than the keystroke's own edit.
 */
export function useEditorKey(editor: Editor | null, key: (editor: Editor) => string): string {
  const [value, setValue] = useState(() => (editor ? key(editor) : ""));
  useEffect(() => {
    if (!editor) return;
    let frame = 0;
    let shown = key(editor);
    setValue(shown);
    const onTransaction = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        const next = key(editor);
        if (next !== shown) {
          shown = next;
          setValue(next);
        }
      });
    };
    editor.on("transaction", onTransaction);
    return () => {
      editor.off("transaction", onTransaction);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [editor]);
  return value;
}
