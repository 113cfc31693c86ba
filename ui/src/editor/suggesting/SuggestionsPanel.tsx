// The Suggestions panel: the draft's default mode, accept/reject all, and each author's
// suggestions with their counts (accept or reject all of one author's at once).
import { useEffect, useState } from "preact/hooks";
import type { Editor } from "@tiptap/core";
import * as Y from "yjs";
import { colourFor } from "../../logic/awareness";
import { defaultMode, type DraftMode } from "../drafting";
import { saveVersionBeforeAcceptAll } from "./acceptAllVersion";
import { settle } from "./SuggestChanges";
import { byAuthor, listSuggestions, suggestionAuthors, type SuggestionEntry } from "./suggestionList";

interface Props {
  editor: Editor;
  ydoc: Y.Doc;
  /** Owners and editors accept, reject and set the default; viewers only read. */
  canWrite: boolean;
  author: string;
}

const KIND_LABEL = { insertion: "Inserted", deletion: "Deleted", modification: "Formatting" } as const;

export function SuggestionsPanel({ editor, ydoc, canWrite, author }: Props) {
  const [entries, setEntries] = useState<SuggestionEntry[]>(() => listSuggestions(editor.state.doc));
  const [mode, setMode] = useState<DraftMode>(() => defaultMode(ydoc.getMap("meta")));

  // The list is one walk over the document: after a pause in typing, not on every keystroke.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const onUpdate = () => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        setEntries(listSuggestions(editor.state.doc));
      }, 300);
    };
    setEntries(listSuggestions(editor.state.doc));
    editor.on("update", onUpdate);
    return () => {
      editor.off("update", onUpdate);
      if (timer !== null) clearTimeout(timer);
    };
  }, [editor]);

  useEffect(() => {
    const meta = ydoc.getMap<unknown>("meta");
    const read = () => setMode(defaultMode(meta));
    meta.observe(read);
    return () => meta.unobserve(read);
  }, [ydoc]);

  const refresh = () => setEntries(listSuggestions(editor.state.doc));
  const settleWhere = (accept: boolean, filter: (id: unknown) => boolean) => {
    settle(editor, accept, filter);
    refresh();
  };
  const acceptAll = () => {
    // The contract keeps a version from before "accept all", so it can be undone later.
    saveVersionBeforeAcceptAll(ydoc, author);
    settleWhere(true, () => true);
  };
  const select = (entry: SuggestionEntry) => {
    const size = editor.state.doc.content.size;
    if (entry.to > size) return;
    editor.chain().focus().setTextSelection({ from: entry.from, to: entry.to }).scrollIntoView().run();
  };
  const authors = suggestionAuthors(entries);

  return (
    <section class="card side-panel suggestions-panel" data-testid="suggestions-panel">
      <h2>
        Suggestions <span class="count" data-testid="suggestion-count">{entries.length}</span>
      </h2>
      <label class="field">
        New sessions of this draft open in
        <select
          data-testid="default-mode"
          value={mode}
          disabled={!canWrite}
          onChange={(e) => ydoc.getMap<unknown>("meta").set("mode", e.currentTarget.value === "suggesting" ? "suggesting" : "editing")}
        >
          <option value="editing">Editing</option>
          <option value="suggesting">Suggesting</option>
        </select>
      </label>
      {entries.length === 0 ? (
        <p class="hint">No suggestions. Switch to Suggesting to propose changes others can accept or reject.</p>
      ) : (
        <>
          {canWrite && (
            <div class="row-actions">
              <button onClick={acceptAll} data-testid="accept-all">
                Accept all
              </button>
              <button onClick={() => settleWhere(false, () => true)} data-testid="reject-all">
                Reject all
              </button>
            </div>
          )}
          <ul class="suggestion-authors" data-testid="suggestion-authors">
            {authors.map(({ author: name, count }) => (
              <li key={name} data-author={name}>
                <span class="dot" style={{ background: colourFor(name) }} />
                <span class="name">{name}</span>
                <span class="count" data-testid="author-count">{count}</span>
                {canWrite && (
                  <>
                    <button class="link" data-testid="accept-author" data-author={name} onClick={() => settleWhere(true, byAuthor(name))}>
                      Accept
                    </button>
                    <button class="link danger" data-testid="reject-author" data-author={name} onClick={() => settleWhere(false, byAuthor(name))}>
                      Reject
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
          <ul class="suggestion-list">
            {entries.slice(0, 50).map((entry) => (
              <li key={entry.id}>
                <button class="link" onClick={() => select(entry)} data-testid="suggestion-item" title={new Date(entry.created).toLocaleString()}>
                  <span class="dot" style={{ background: colourFor(entry.author) }} />
                  {entry.kinds.map((k) => KIND_LABEL[k]).join(" + ")}: <em>{entry.text.trim() || "¶"}</em>
                  <span class="hint"> — {entry.author}</span>
                </button>
              </li>
            ))}
            {entries.length > 50 && <li class="hint">and {entries.length - 50} more</li>}
          </ul>
        </>
      )}
    </section>
  );
}
