// The draft editor: TipTap bound to the Yjs document that mirrors the Rust one (bridge.ts),
// with collaborators' cursors, undo of one's own edits only, word count, .docx and PDF export.
import { useEffect, useRef, useState } from "preact/hooks";
import { Editor } from "@tiptap/core";
import StarterKit from "@tiptap/starter-kit";
import Collaboration from "@tiptap/extension-collaboration";
import CollaborationCaret from "@tiptap/extension-collaboration-caret";
import * as Y from "yjs";
import { ipc, errorMessage, type AppInfo, type SyncStatus } from "../ipc";
import type { Route } from "../app";
import { colourFor, remoteChangesOnly } from "../logic/awareness";
import { docWordCount } from "../logic/words";
import { chosenPaper, type Paper } from "../logic/paper";
import { ClauseList } from "./clauseList";
import { openDraft, type DraftSession } from "./bridge";
import { CopilotPanel } from "../copilot/CopilotPanel";

export interface DraftEditorProps {
  caseId: string;
  doc: string;
  info: AppInfo;
  status: SyncStatus;
  navigate: (route: Route) => void;
}

declare global {
  interface Window {
    /** For the end-to-end tests and benchmarks: the live editor and its Yjs document. */
    __hub?: { editor: Editor; ydoc: Y.Doc; flushed: () => Promise<void> };
  }
}

/** The toolbar's lit buttons, as a key: the toolbar re-renders only when it changes. */
const FORMATS: [string, Record<string, unknown>?][] = [
  ["heading", { level: 1 }],
  ["heading", { level: 2 }],
  ["heading", { level: 3 }],
  ["bold"],
  ["italic"],
  ["underline"],
  ["bulletList"],
  ["orderedList"],
  ["clauseList"],
  ["blockquote"],
];
function activeFormats(editor: Editor): string {
  return FORMATS.map(([name, attributes]) => (editor.isActive(name, attributes) ? "1" : "0")).join("");
}

export function DraftEditor({ caseId, doc, info, status, navigate }: DraftEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const [editor, setEditor] = useState<Editor | null>(null);
  const [title, setTitle] = useState("");
  const [words, setWords] = useState(0);
  const [saving, setSaving] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [, setTick] = useState(0);

  useEffect(() => {
    let session: DraftSession | null = null;
    let instance: Editor | null = null;
    let cancelled = false;
    let wordTimer: ReturnType<typeof setTimeout> | null = null;
    let frame = 0;
    let shownFormats = "";
    const wordCache = new WeakMap<object, number>();
    const name = info.settings.display_name || "Me";

    // "Saving…" only when a save takes noticeably long: a re-render per keystroke would cost
    // more than the save itself.
    let savingTimer: ReturnType<typeof setTimeout> | null = null;
    const onSaving = (inFlight: number) => {
      if (inFlight === 0) {
        if (savingTimer !== null) clearTimeout(savingTimer);
        savingTimer = null;
        setSaving(0);
      } else if (savingTimer === null) {
        savingTimer = setTimeout(() => setSaving(1), 300);
      }
    };
    openDraft(doc, {
      onSaving,
      onError: setError,
    })
      .then((opened) => {
        session = opened;
        if (cancelled || !host.current) {
          void opened.close();
          return;
        }
        const meta = opened.ydoc.getMap<string>("meta");
        const readTitle = () => setTitle(meta.get("title") ?? "");
        readTitle();
        meta.observe(readTitle);
        instance = new Editor({
          element: host.current,
          extensions: [
            StarterKit.configure({ undoRedo: false, link: false, code: false, codeBlock: false, strike: false }),
            ClauseList,
            Collaboration.configure({ document: opened.ydoc, field: "default" }),
            CollaborationCaret.configure({
              provider: { awareness: remoteChangesOnly(opened.awareness) },
              user: { name, color: colourFor(name) },
            }),
          ],
          editorProps: { attributes: { class: "page", "data-testid": "editor", spellcheck: "true" } },
          onTransaction: ({ editor: current }) => {
            // Re-render the toolbar when its active states change, at most once a frame: a
            // re-render per keystroke would cost more than the keystroke's own edit.
            const formats = activeFormats(current);
            if (formats !== shownFormats && !frame)
              frame = requestAnimationFrame(() => {
                frame = 0;
                shownFormats = activeFormats(current);
                setTick((t) => t + 1);
              });
          },
          onUpdate: ({ editor: current }) => {
            if (wordTimer === null)
              wordTimer = setTimeout(() => {
                wordTimer = null;
                setWords(docWordCount(current.state.doc, wordCache));
              }, 250);
          },
        });
        shownFormats = activeFormats(instance);
        setWords(docWordCount(instance.state.doc, wordCache));
        window.__hub = { editor: instance, ydoc: opened.ydoc, flushed: opened.flushed };
        setEditor(instance);
      })
      .catch((e: unknown) => setError(errorMessage(e)));

    return () => {
      cancelled = true;
      if (wordTimer !== null) clearTimeout(wordTimer);
      if (savingTimer !== null) clearTimeout(savingTimer);
      if (frame) cancelAnimationFrame(frame);
      const closing = session;
      const destroying = instance;
      window.__hub = undefined;
      if (closing)
        void closing.flushed().then(() => {
          destroying?.destroy();
          return closing.close();
        });
    };
  }, [doc]);

  const [paper, setPaper] = useState<Paper>(() => chosenPaper(localStorage.getItem("hub.paper"), navigator.language));
  const choosePaper = (value: Paper) => {
    localStorage.setItem("hub.paper", value);
    setPaper(value);
  };
  const saved = (exported: Promise<string>) => {
    setError(null);
    setNotice(null);
    exported.then((path) => setNotice(`Saved as ${path}`)).catch((e: unknown) => setError(errorMessage(e)));
  };
  const exportDocx = () => saved(ipc.exportDocx(doc));
  const exportPdf = () => saved(ipc.exportPdf(doc, paper));

  const button = (label: string, active: boolean, action: () => void, testid?: string, hint?: string) => (
    <button
      class={active ? "tool active" : "tool"}
      onMouseDown={(e) => e.preventDefault()}
      onClick={action}
      disabled={!editor}
      data-testid={testid}
      title={hint ?? label}
    >
      {label}
    </button>
  );
  const chain = () => editor!.chain().focus();

  return (
    <div class="editor-page">
      <div class="crumbs">
        <button class="link" onClick={() => navigate({ screen: "case", caseId })}>
          ← Back to the matter
        </button>
      </div>
      <div class="editor-head">
        <h1 data-testid="draft-heading">{title || "Untitled draft"}</h1>
        <div class="exports">
          <button onClick={exportDocx} data-testid="export-docx">
            Export to Word
          </button>
          <button onClick={exportPdf} data-testid="export-pdf">
            Export to PDF
          </button>
          <select
            aria-label="PDF paper size"
            data-testid="paper"
            value={paper}
            onChange={(e) => choosePaper(e.currentTarget.value === "letter" ? "letter" : "a4")}
          >
            <option value="a4">A4</option>
            <option value="letter">Letter</option>
          </select>
        </div>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p class="notice">{notice}</p>}
      <div class="toolbar editor-toolbar" role="toolbar" aria-label="Formatting">
        {editor && (
          <>
            {button("H1", editor.isActive("heading", { level: 1 }), () => chain().toggleHeading({ level: 1 }).run())}
            {button("H2", editor.isActive("heading", { level: 2 }), () => chain().toggleHeading({ level: 2 }).run())}
            {button("H3", editor.isActive("heading", { level: 3 }), () => chain().toggleHeading({ level: 3 }).run())}
            <span class="sep" />
            {button("B", editor.isActive("bold"), () => chain().toggleBold().run(), "bold", "Bold (Ctrl+B)")}
            {button("I", editor.isActive("italic"), () => chain().toggleItalic().run(), "italic", "Italic (Ctrl+I)")}
            {button("U", editor.isActive("underline"), () => chain().toggleUnderline().run(), "underline", "Underline (Ctrl+U)")}
            <span class="sep" />
            {button("• List", editor.isActive("bulletList"), () => chain().toggleBulletList().run())}
            {button("1. List", editor.isActive("orderedList"), () => chain().toggleOrderedList().run())}
            {button("§ Clauses", editor.isActive("clauseList"), () => chain().toggleClauseList().run(), "clauses", "Numbered clauses 1. / 1.1.")}
            {button("❝ Quote", editor.isActive("blockquote"), () => chain().toggleBlockquote().run())}
            <span class="sep" />
            {button("Undo", false, () => chain().undo().run(), "undo", "Undo your own last change (Ctrl+Z)")}
            {button("Redo", false, () => chain().redo().run(), "redo", "Redo (Ctrl+Shift+Z)")}
          </>
        )}
      </div>
      <div class="editor-body">
        <div>
          <div class="paper" ref={host} />
          <footer class="editor-foot">
            <span data-testid="word-count">{words === 1 ? "1 word" : `${words} words`}</span>
            <span data-testid="save-state">{saving > 0 ? "Saving…" : "All changes saved to this computer"}</span>
          </footer>
        </div>
        <CopilotPanel caseId={caseId} editor={editor} status={status} />
      </div>
    </div>
  );
}
