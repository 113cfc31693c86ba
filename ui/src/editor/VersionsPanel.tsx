// The draft's versions: save a named one, open any read-only, compare any two as a redline
// (insertions and deletions, by author where known), restore one as a new edit on top, and
// export a redline to Word. Versions are snapshots inside the draft (./versions.ts), so all of
// this works offline and on every member's laptop.
import { useEffect, useRef, useState } from "preact/hooks";
import { Editor, type Extensions } from "@tiptap/core";
import Collaboration from "@tiptap/extension-collaboration";
import { ySyncPluginKey } from "@tiptap/y-tiptap";
import * as Y from "yjs";
import { ipc, errorMessage } from "../ipc";
import {
  CURRENT,
  historyCopy,
  kindLabel,
  listVersions,
  saveVersion,
  snapshotOf,
  versionTime,
  type Version,
} from "./versions";

interface Props {
  doc: string;
  ydoc: Y.Doc;
  editor: Editor;
  author: string;
  /** Owners and editors save and restore; viewers look and compare. */
  canEdit: boolean;
  /** The editor's schema extensions, without collaboration (for the read-only viewer). */
  extensions: () => Extensions;
}

/** What the viewer shows: one version, or the changes from one to another. */
export type Showing = { kind: "version"; id: string } | { kind: "compare"; from: string; to: string };

export function VersionsPanel({ doc, ydoc, editor, author, canEdit, extensions }: Props) {
  const [versions, setVersions] = useState<Version[]>(() => listVersions(ydoc));
  const [name, setName] = useState("");
  const [from, setFrom] = useState<string>("");
  const [to, setTo] = useState<string>(CURRENT);
  const [showing, setShowing] = useState<Showing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const array = ydoc.getArray("versions");
    const refresh = () => setVersions(listVersions(ydoc));
    array.observe(refresh);
    refresh();
    return () => array.unobserve(refresh);
  }, [ydoc]);
  useEffect(() => {
    const newest = versions[0];
    if (from === "" && newest) setFrom(newest.id);
  }, [versions, from]);

  const label = (id: string) => {
    if (id === CURRENT) return "Current draft";
    const v = versions.find((entry) => entry.id === id);
    return v ? `${v.name} (${versionTime(v.created)})` : "?";
  };

  const save = () => {
    setError(null);
    const saved = saveVersion(ydoc, { name, kind: "named", author });
    setName("");
    setNotice(`Saved “${saved.name}”.`);
  };

  const restore = (id: string) => {
    setError(null);
    if (!window.confirm(`Restore “${label(id)}”? The draft becomes that version as a new change; nothing is lost — the current text is saved as a version first.`))
      return;
    try {
      saveVersion(ydoc, { name: `Before restoring “${label(id)}”`, kind: "restore", author });
      const snapshot = snapshotOf(ydoc, id);
      // y-prosemirror renders the snapshot, then writes it back as the current content: one
      // ordinary edit on top (history is never rewritten), synced like typing.
      editor.view.dispatch(
        editor.state.tr.setMeta(ySyncPluginKey, { snapshot, prevSnapshot: snapshot, restore: true }),
      );
      // y-prosemirror restores on a zero-delay timer and then clears the snapshot without a
      // transaction, so the editor would stay read-only; this one (queued after it) says so.
      setTimeout(() => {
        if (!editor.isDestroyed)
          editor.view.dispatch(editor.state.tr.setMeta(ySyncPluginKey, { snapshot: null, prevSnapshot: null }));
      }, 0);
      setNotice(`Restored “${label(id)}”.`);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const exportRedline = () => {
    setError(null);
    setNotice(null);
    ipc
      .exportRedline(doc, from, to)
      .then((path) => setNotice(`Saved the redline as ${path}`))
      .catch((e: unknown) => setError(errorMessage(e)));
  };

  return (
    <section class="versions-panel" data-testid="versions-panel" aria-label="Versions">
      <h2>Versions</h2>
      {canEdit && (
        <form
          class="version-save"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          <input
            aria-label="Version name"
            placeholder="e.g. Sent to opposing counsel"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            data-testid="version-name"
          />
          <button type="submit" data-testid="save-version">
            Save version
          </button>
        </form>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p class="notice">{notice}</p>}
      {versions.length === 0 ? (
        <p class="muted">No versions yet. Save one before you send the draft out.</p>
      ) : (
        <ul class="version-list" data-testid="version-list">
          {versions.map((v) => (
            <li key={v.id} data-testid="version" data-kind={v.kind}>
              <div class="version-name">{v.name}</div>
              <div class="muted">
                {kindLabel(v.kind)} · {v.author || "Unknown"} · {versionTime(v.created)}
              </div>
              <div class="version-actions">
                <button class="link" onClick={() => setShowing({ kind: "version", id: v.id })} data-testid="view-version">
                  Open
                </button>
                <button class="link" onClick={() => setShowing({ kind: "compare", from: v.id, to: CURRENT })} data-testid="compare-version">
                  Changes since
                </button>
                {canEdit && (
                  <button class="link" onClick={() => restore(v.id)} data-testid="restore-version">
                    Restore
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      {versions.length > 0 && (
        <div class="version-compare">
          <h3>Compare</h3>
          <label>
            From{" "}
            <select value={from} onChange={(e) => setFrom(e.currentTarget.value)} data-testid="compare-from">
              {versions.map((v) => (
                <option key={v.id} value={v.id}>
                  {label(v.id)}
                </option>
              ))}
            </select>
          </label>
          <label>
            To{" "}
            <select value={to} onChange={(e) => setTo(e.currentTarget.value)} data-testid="compare-to">
              <option value={CURRENT}>Current draft</option>
              {versions.map((v) => (
                <option key={v.id} value={v.id}>
                  {label(v.id)}
                </option>
              ))}
            </select>
          </label>
          <div class="version-actions">
            <button onClick={() => setShowing({ kind: "compare", from, to })} disabled={!from} data-testid="compare">
              Show changes
            </button>
            <button onClick={exportRedline} disabled={!from} data-testid="export-redline">
              Export redline to Word
            </button>
          </div>
        </div>
      )}
      {showing && (
        <VersionViewer
          ydoc={ydoc}
          showing={showing}
          title={showing.kind === "version" ? label(showing.id) : `Changes from ${label(showing.from)} to ${label(showing.to)}`}
          extensions={extensions}
          onClose={() => setShowing(null)}
        />
      )}
    </section>
  );
}

interface ViewerProps {
  ydoc: Y.Doc;
  showing: Showing;
  title: string;
  extensions: () => Extensions;
  onClose: () => void;
}

/** A read-only editor over a copy of the draft, rendering a snapshot or a compare of two. */
function VersionViewer({ ydoc, showing, title, extensions, onClose }: ViewerProps) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!host.current) return;
    let viewer: Editor | null = null;
    try {
      const copy = historyCopy(ydoc);
      const [snapshot, prevSnapshot] =
        showing.kind === "version"
          ? [snapshotOf(copy, showing.id), snapshotOf(copy, showing.id)]
          : [snapshotOf(copy, showing.to), snapshotOf(copy, showing.from)];
      viewer = new Editor({
        element: host.current,
        editable: false,
        extensions: [
          ...extensions(),
          Collaboration.configure({
            document: copy,
            field: "default",
            ySyncOptions: { permanentUserData: new Y.PermanentUserData(copy) },
          }),
        ],
        editorProps: { attributes: { class: "page version-page", "data-testid": "version-view" } },
      });
      viewer.view.dispatch(viewer.state.tr.setMeta(ySyncPluginKey, { snapshot, prevSnapshot }));
    } catch (e) {
      setError(errorMessage(e));
    }
    return () => viewer?.destroy();
  }, [ydoc, showing]);
  return (
    <div class="version-viewer" role="dialog" aria-label={title} data-testid="version-viewer">
      <div class="version-viewer-head">
        <h3>{title}</h3>
        <button onClick={onClose} data-testid="close-version">
          Close
        </button>
      </div>
      {showing.kind === "compare" && (
        <p class="muted">
          <ins>Inserted</ins> and <del>deleted</del> text, coloured by who made the change where it is known.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="paper" ref={host} />
    </div>
  );
}
