// The draft editor: TipTap bound to the Yjs document that mirrors the Rust one (bridge.ts),
// with collaborators' cursors, undo of one's own edits only, word count, .docx and PDF export.
import { Fragment } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Editor, type ChainedCommands } from "@tiptap/core";
import Collaboration from "@tiptap/extension-collaboration";
import * as Y from "yjs";
import { ipc, errorMessage, type AppInfo, type SyncStatus } from "../ipc";
import type { Route } from "../app";
import { colourFor, remoteChangesOnly } from "../logic/awareness";
import { docWordCount } from "../logic/words";
import { chosenPaper, type Paper } from "../logic/paper";
import { openDraft, type DraftSession } from "./bridge";
import { DeferredCollaborationCaret } from "./deferredCaret";
import { CopilotPanel } from "../copilot/CopilotPanel";
import { canComment, canWrite, defaultMode, draftingExtensions, ydocOf, type MatterRole } from "./drafting";
import { setSuggesting } from "./suggesting/SuggestChanges";
import { DraftingToolbar } from "./DraftingToolbar";
import { SuggestionsPanel } from "./suggesting/SuggestionsPanel";
import { SuggestionPopover } from "./suggesting/SuggestionPopover";
import { CommentsPanel } from "./comments/CommentsPanel";
import { VersionsPanel } from "./VersionsPanel";
import { autoSessionVersions } from "./versions";
import { draftSchemaExtensions } from "./schema";
import { ySyncPluginKey } from "@tiptap/y-tiptap";

type SideTab = "comments" | "changes" | "versions" | "copilot";
const SIDE_TABS: [SideTab, string][] = [
  ["comments", "Comments"],
  ["changes", "Changes"],
  ["versions", "Versions"],
  ["copilot", "Copilot"],
];

export interface DraftEditorProps {
  caseId: string;
  doc: string;
  info: AppInfo;
  status: SyncStatus;
  navigate: (route: Route) => void;
  /**
   * The lawyer's role in the matter: viewers read; commenters read and comment (no editing,
   * suggesting, accepting or versions); owners and editors do everything.
   */
  role?: MatterRole;
  /** A firm admin (the copilot panel links them to the AI settings when it is off). */
  firmAdmin?: boolean;
}

declare global {
  interface Window {
    /** For the end-to-end tests and benchmarks: the live editor and its Yjs document. */
    __hub?: { editor: Editor; ydoc: Y.Doc; flushed: () => Promise<void>; Y: typeof Y };
  }
}

/** A formatting button: lit while `name` (with `attributes`) is active at the selection. */
interface Format {
  label: string;
  name: string;
  attributes?: Record<string, unknown>;
  toggle: (chain: ChainedCommands) => ChainedCommands;
  testid?: string;
  hint?: string;
}

const heading = (level: 1 | 2 | 3): Format => ({
  label: `H${level}`,
  name: "heading",
  attributes: { level },
  toggle: (c) => c.toggleHeading({ level }),
});

/** The toolbar's formatting buttons, in groups separated on screen. */
const FORMAT_GROUPS: Format[][] = [
  [heading(1), heading(2), heading(3)],
  [
    { label: "B", name: "bold", toggle: (c) => c.toggleBold(), testid: "bold", hint: "Bold (Ctrl+B)" },
    { label: "I", name: "italic", toggle: (c) => c.toggleItalic(), testid: "italic", hint: "Italic (Ctrl+I)" },
    { label: "U", name: "underline", toggle: (c) => c.toggleUnderline(), testid: "underline", hint: "Underline (Ctrl+U)" },
    { label: "S", name: "strike", toggle: (c) => c.toggleStrike(), testid: "strike", hint: "Strikethrough (Ctrl+Shift+S)" },
  ],
  [
    { label: "• List", name: "bulletList", toggle: (c) => c.toggleBulletList() },
    { label: "1. List", name: "orderedList", toggle: (c) => c.toggleOrderedList() },
    { label: "§ Clauses", name: "clauseList", toggle: (c) => c.toggleClauseList(), testid: "clauses", hint: "Numbered clauses 1. / 1.1." },
    { label: "❝ Quote", name: "blockquote", toggle: (c) => c.toggleBlockquote() },
  ],
];
const FORMATS = FORMAT_GROUPS.flat();

/** Which formatting buttons are lit, as a key: the toolbar re-renders only when it changes. */
function activeFormats(editor: Editor): string {
  return FORMATS.map((format) => (editor.isActive(format.name, format.attributes) ? "1" : "0")).join("");
}

export function DraftEditor({ caseId, doc, info, status, navigate, role = "editor", firmAdmin = false }: DraftEditorProps) {
  const writer = canWrite(role);
  const commentator = canComment(role);
  // Read by the editor's callbacks: the role can arrive after the editor is made.
  const writerRef = useRef(writer);
  writerRef.current = writer;
  const saveBlocked = useRef(false);
  const host = useRef<HTMLDivElement>(null);
  const [editor, setEditor] = useState<Editor | null>(null);
  const [side, setSide] = useState<SideTab>("comments");
  const [title, setTitle] = useState("");
  const [words, setWords] = useState(0);
  const [saving, setSaving] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [, setTick] = useState(0);

  useEffect(() => {
    let session: DraftSession | null = null;
    let stopVersions: (() => void) | null = null;
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
    // While this computer refuses to save, the draft is read-only: what was typed is held in
    // order and retried, and no more piles up behind it. The shell shows the message (on every
    // screen, as the retries outlive this editor).
    const onSaveProblem = (message: string | null) => {
      saveBlocked.current = message !== null;
      instance?.setEditable(!saveBlocked.current && writerRef.current);
    };
    openDraft(doc, {
      onSaving,
      onError: onSaveProblem,
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
        // Built off the document, then put in place: laid out once, in the first frame, rather
        // than also while ProseMirror builds it (10–40 ms of opening a 100-page draft).
        const offscreen = document.createElement("div");
        instance = new Editor({
          element: offscreen,
          editable: writerRef.current,
          extensions: [
            ...draftingExtensions(opened.ydoc, () => name),
            Collaboration.configure({ document: opened.ydoc, field: "default" }),
            DeferredCollaborationCaret.configure({
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
        host.current.appendChild(instance.view.dom);
        performance.mark("hub:draft-editor");
        // The draft's default mode (meta.mode) is where each session starts.
        if (writerRef.current) setSuggesting(instance, defaultMode(opened.ydoc.getMap("meta")) === "suggesting");
        shownFormats = activeFormats(instance);
        setWords(docWordCount(instance.state.doc, wordCache));
        // An automatic version before this session's first edit, then at most hourly.
        // Only writers' sessions save versions: a commenter's change must stay in `comments`.
        stopVersions = autoSessionVersions(opened.ydoc, name, (t) => writerRef.current && t.origin === ySyncPluginKey);
        window.__hub = { editor: instance, ydoc: opened.ydoc, flushed: opened.flushed, Y };
        setEditor(instance);
        performance.mark("hub:draft-ready");
        requestAnimationFrame(() => performance.mark("hub:draft-frame"));
      })
      .catch((e: unknown) => setError(errorMessage(e)));

    return () => {
      cancelled = true;
      stopVersions?.();
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

  useEffect(() => {
    if (editor && editor.isEditable !== (writer && !saveBlocked.current)) editor.setEditable(writer && !saveBlocked.current);
  }, [editor, writer]);

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
  const ydoc = editor ? ydocOf(editor) : null;
  const commenterName = info.settings.display_name || "Me";
  const commenterId = info.sign_in.email ?? info.account ?? "";
  // Stable between renders, so the memoised panels do not re-render while the lawyer types.
  const commenter = useMemo(() => ({ author: commenterName, authorId: commenterId }), [commenterName, commenterId]);

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
            {FORMAT_GROUPS.map((group, index) => (
              <Fragment key={index}>
                {index > 0 && <span class="sep" />}
                {group.map((format) =>
                  button(
                    format.label,
                    editor.isActive(format.name, format.attributes),
                    () => format.toggle(chain()).run(),
                    format.testid,
                    format.hint,
                  ),
                )}
              </Fragment>
            ))}
            <span class="sep" />
            {button("Undo", false, () => chain().undo().run(), "undo", "Undo your own last change (Ctrl+Z)")}
            {button("Redo", false, () => chain().redo().run(), "redo", "Redo (Ctrl+Shift+Z)")}
            <DraftingToolbar editor={editor} canWrite={writer} canComment={commentator} />
          </>
        )}
      </div>
      <div class="editor-body">
        <div>
          <div class="paper" ref={host} />
          {editor && <SuggestionPopover editor={editor} canWrite={writer} />}
          <footer class="editor-foot">
            <span data-testid="word-count">{words === 1 ? "1 word" : `${words} words`}</span>
            <span data-testid="save-state">{saving > 0 ? "Saving…" : "All changes saved to this computer"}</span>
          </footer>
        </div>
        <div class="editor-side">
          <div class="side-tabs" role="tablist" aria-label="Side panels">
            {SIDE_TABS.filter(([tab]) => tab !== "copilot" || info.settings.copilot_visible).map(([tab, label]) => (
              <button
                key={tab}
                role="tab"
                aria-selected={side === tab}
                class={side === tab ? "tab active" : "tab"}
                onClick={() => setSide(tab)}
                data-testid={`tab-${tab}`}
              >
                {label}
              </button>
            ))}
          </div>
          {editor && ydoc && side === "comments" && (
            <CommentsPanel editor={editor} ydoc={ydoc} who={commenter} canWrite={commentator} />
          )}
          {editor && ydoc && side === "changes" && (
            <SuggestionsPanel editor={editor} ydoc={ydoc} canWrite={writer} author={commenter.author} />
          )}
          {editor && ydoc && side === "versions" && (
            <VersionsPanel
              doc={doc}
              ydoc={ydoc}
              editor={editor}
              author={commenter.author}
              canEdit={writer}
              extensions={draftSchemaExtensions}
            />
          )}
          {side === "copilot" && info.settings.copilot_visible && <CopilotPanel caseId={caseId} editor={editor} status={status} role={role} firmAdmin={firmAdmin} navigate={navigate} />}
        </div>
      </div>
    </div>
  );
}
