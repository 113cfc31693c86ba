// One matter: its fields, parties, deadlines, notes and drafts. Every change is a CRDT edit
// saved on this computer first, so the page works the same offline.
import { ImportWord } from "./ImportWord";
import { useEffect, useState } from "preact/hooks";
import {
  events,
  ipc,
  errorMessage,
  type AppInfo,
  type Case,
  type CasePatch,
  type DraftSummary,
  type Member,
  type SyncStatus,
} from "../ipc";
import { showingCases } from "../logic/matterRemoval";
import type { Route } from "../app";
import { dueLabel, formatDate, isValidDate } from "../logic/deadlines";
import { useFirm } from "../shell/useFirm";
import { LegalHold } from "./LegalHold";
import { ConfirmDialog, type Confirmation } from "../shell/ConfirmDialog";
import { decisionText } from "../logic/conflicts";
import { MatterAudit } from "./MatterAudit";
import { connectedToServer } from "../logic/syncLabel";
import { personLabel } from "../logic/people";
import { ROLE_LABELS, canShare, parseRole, type MatterRole } from "../logic/permissions";
import { ShareDialog } from "./ShareDialog";
import { AiConsent } from "./AiConsent";

const ROLES: Record<string, string> = {
  client: "Client",
  opposing_party: "Opposing party",
  counsel: "Counsel",
  court: "Court",
  other: "Other",
};

export function CasePage({
  caseId,
  info,
  status,
  navigate,
}: {
  caseId: string;
  info: AppInfo;
  status: SyncStatus;
  navigate: (r: Route) => void;
}) {
  const [matter, setMatter] = useState<Case | null>(null);
  const [drafts, setDrafts] = useState<DraftSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [page, setPage] = useState<HTMLDivElement | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [question, setQuestion] = useState<Confirmation | null>(null);
  const firm = useFirm();

  const load = () => {
    ipc
      .getCase(caseId)
      .then((loaded) => {
        showingCases([{ id: caseId, title: loaded.title }]);
        setMatter(loaded);
      })
      .catch((e: unknown) => setError(errorMessage(e)));
    ipc.listDrafts(caseId).then(setDrafts).catch((e: unknown) => setError(errorMessage(e)));
  };
  useEffect(() => {
    load();
    const unlisten = events.casesChanged((change) => {
      if (change.case_id === caseId) load();
    });
    return () => void unlisten.then((stop) => stop());
  }, [caseId]);

  const run = (action: Promise<unknown>) =>
    action.then(() => {
      setError(null);
      load();
    }).catch((e: unknown) => setError(errorMessage(e)));

  if (!matter) return error ? <p class="error">{error}</p> : <p class="loading">Opening the matter…</p>;

  const update = (patch: CasePatch) => run(ipc.updateCase(caseId, patch));
  const conflictRecord = decisionText(matter.conflict_decision);

  return (
    <div class="case-page" data-testid="case-page" ref={setPage}>
      <div class="crumbs">
        <button class="link" onClick={() => navigate({ screen: "dashboard" })}>
          ← All matters
        </button>
      </div>
      <div class="case-head">
        <EditableTitle value={matter.title} onSave={(title) => update({ title })} />
        <button onClick={() => update({ archived: !matter.archived })} data-testid="archive">
          {matter.archived ? "Restore from archive" : "Archive matter"}
        </button>
      </div>
      <LegalHold caseId={caseId} title={matter.title} firm={firm} />
      {conflictRecord && (
        <p class="conflict-record" data-testid="conflict-record">
          {conflictRecord}
        </p>
      )}
      {error && (
        <p class="error" role="alert" data-testid="case-error">
          {error}
        </p>
      )}
      {saved && <p class="hint" role="status">{saved}</p>}
      <ConfirmDialog question={question} onClose={() => setQuestion(null)} />
      <div class="case-grid">
        <section class="card">
          <h2>Matter</h2>
          <Field label="Client" value={matter.client} onSave={(client) => update({ client })} />
          <Field label="Matter number" value={matter.matter_number} onSave={(matter_number) => update({ matter_number })} />
          <Field label="Practice area" value={matter.practice_area} onSave={(practice_area) => update({ practice_area })} />
          <Field label="Responsible lawyer" value={matter.responsible} onSave={(responsible) => update({ responsible })} />
          <label class="field">
            Status
            <select value={matter.status} onChange={(e) => update({ status: e.currentTarget.value })}>
              <option value="open">Open</option>
              <option value="pending">Pending</option>
              <option value="closed">Closed</option>
            </select>
          </label>
        </section>

        <section class="card">
          <h2>Deadlines</h2>
          {matter.deadlines.length === 0 && <p class="empty">No deadlines yet.</p>}
          <ul class="deadline-list" data-testid="case-deadlines">
            {[...matter.deadlines]
              .sort((a, b) => a.date.localeCompare(b.date))
              .map((d) => (
                <li key={d.id} class={!d.done && d.date < info.today ? "overdue" : d.done ? "done" : ""}>
                  <label>
                    <input
                      type="checkbox"
                      checked={d.done}
                      onChange={(e) => run(ipc.setDeadlineDone(caseId, d.id, e.currentTarget.checked))}
                    />
                    <span class="date" title={d.date}>{formatDate(d.date)}</span> {d.title}
                    {d.kind && <span class="tag">{d.kind}</span>}
                    {!d.done && <span class="due">{dueLabel(info.today, d.date)}</span>}
                  </label>
                  <button class="link danger" onClick={() => run(ipc.removeFromCase(caseId, "deadlines", d.id))}>
                    Remove
                  </button>
                </li>
              ))}
          </ul>
          <AddDeadline onAdd={(date, title, kind) => run(ipc.addDeadline(caseId, date, title, kind))} />
          <button
            data-testid="export-case-ics"
            title="The matter's open deadlines, for Outlook, Apple or Google Calendar. Importing a newer file updates the events."
            onClick={() =>
              ipc
                .exportDeadlinesIcs(caseId, info.today)
                .then((path) => setSaved(`Saved to ${path}`))
                .catch((e: unknown) => setError(errorMessage(e)))
            }
          >
            Add to calendar (.ics)
          </button>
        </section>

        <section class="card">
          <h2>Parties</h2>
          {matter.parties.length === 0 && <p class="empty">No parties yet.</p>}
          <ul class="party-list">
            {matter.parties.map((p) => (
              <li key={p.id}>
                <span class="tag">{ROLES[p.role] ?? p.role}</span> {p.name}
                <button class="link danger" onClick={() => run(ipc.removeFromCase(caseId, "parties", p.id))}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <AddParty onAdd={(role, name) => run(ipc.addParty(caseId, role, name))} />
        </section>

        <section class="card">
          <h2>Drafts</h2>
          {drafts.length === 0 && <p class="empty">No drafts yet. Start one below.</p>}
          <ul class="draft-list" data-testid="drafts">
            {drafts.map((d) => (
              <DraftRow
                key={d.doc}
                draft={d}
                onOpen={() => navigate({ screen: "draft", caseId, doc: d.doc })}
                onRename={(title) => run(ipc.renameDraft(d.doc, title))}
                onDelete={() =>
                  setQuestion({
                    title: "Delete the draft",
                    message: `Delete the draft “${d.title || "Untitled draft"}”? Collaborators will no longer see it.`,
                    confirm: "Delete",
                    action: () => run(ipc.deleteDraft(d.doc)),
                  })
                }
              />
            ))}
          </ul>
          <NewDraft
            onCreate={(title) =>
              ipc
                .createDraft(caseId, title)
                .then((doc) => navigate({ screen: "draft", caseId, doc }))
                .catch((e: unknown) => setError(errorMessage(e)))
            }
          />
          <ImportWord
            caseId={caseId}
            dropTarget={page}
            canImport={!matter.archived}
            onImported={(doc) => navigate({ screen: "draft", caseId, doc })}
          />
        </section>

        <section class="card wide">
          <h2>Notes</h2>
          <NotesBox value={matter.notes} onSave={(notes) => update({ notes })} />
        </section>

        <Members caseId={caseId} status={status} title={matter.title} firmAdmin={firm.me?.firm_admin ?? false} />
        <MatterAudit caseId={caseId} online={connectedToServer(status)} />
      </div>
    </div>
  );
}

function EditableTitle({ value, onSave }: { value: string; onSave: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <input
      class="title-input"
      value={text}
      aria-label="Matter title"
      onInput={(e) => setText(e.currentTarget.value)}
      onBlur={() => text.trim() && text !== value && onSave(text)}
      onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()}
    />
  );
}

function Field({ label, value, onSave }: { label: string; value: string; onSave: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <label class="field">
      {label}
      <input
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onBlur={() => text !== value && onSave(text)}
        onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()}
      />
    </label>
  );
}

function NotesBox({ value, onSave }: { value: string; onSave: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <textarea
      rows={5}
      value={text}
      placeholder="Notes on the matter (saved when you leave the box)"
      onInput={(e) => setText(e.currentTarget.value)}
      onBlur={() => text !== value && onSave(text)}
    />
  );
}

function AddDeadline({ onAdd }: { onAdd: (date: string, title: string, kind: string) => void }) {
  const [date, setDate] = useState("");
  const [title, setTitle] = useState("");
  const [kind, setKind] = useState("filing");
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!isValidDate(date)) return setProblem("Enter the date as YYYY-MM-DD, e.g. 2026-12-31.");
        if (!title.trim()) return setProblem("Say what is due.");
        setProblem(null);
        onAdd(date, title, kind);
        setTitle("");
      }}
    >
      <input type="date" value={date} onInput={(e) => setDate(e.currentTarget.value)} data-testid="deadline-date" aria-label="Date" />
      <input placeholder="What is due" value={title} onInput={(e) => setTitle(e.currentTarget.value)} data-testid="deadline-title" />
      <select value={kind} onChange={(e) => setKind(e.currentTarget.value)} aria-label="Kind">
        <option value="filing">Filing</option>
        <option value="hearing">Hearing</option>
        <option value="limitation">Limitation</option>
        <option value="internal">Internal</option>
      </select>
      <button type="submit" data-testid="add-deadline">Add deadline</button>
      {problem && <p class="error">{problem}</p>}
    </form>
  );
}

function AddParty({ onAdd }: { onAdd: (role: string, name: string) => void }) {
  const [role, setRole] = useState("client");
  const [name, setName] = useState("");
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (name.trim()) {
          onAdd(role, name);
          setName("");
        }
      }}
    >
      <select value={role} onChange={(e) => setRole(e.currentTarget.value)} aria-label="Role">
        {Object.entries(ROLES).map(([value, label]) => (
          <option value={value}>{label}</option>
        ))}
      </select>
      <input placeholder="Name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <button type="submit">Add party</button>
    </form>
  );
}

function NewDraft({ onCreate }: { onCreate: (title: string) => void }) {
  const [title, setTitle] = useState("");
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (title.trim()) onCreate(title);
      }}
    >
      <input placeholder="Draft title, e.g. Particulars of claim" value={title} onInput={(e) => setTitle(e.currentTarget.value)} data-testid="draft-title" />
      <button type="submit" data-testid="new-draft">New draft</button>
    </form>
  );
}

function DraftRow({
  draft,
  onOpen,
  onRename,
  onDelete,
}: {
  draft: DraftSummary;
  onOpen: () => void;
  onRename: (title: string) => void;
  onDelete: () => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(draft.title);
  if (renaming)
    return (
      <li>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (title.trim()) onRename(title);
            setRenaming(false);
          }}
        >
          <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} aria-label="New title" />
          <button type="submit">Save</button>
          <button type="button" onClick={() => setRenaming(false)}>Cancel</button>
        </form>
      </li>
    );
  return (
    <li>
      <button class="link draft-open" onClick={onOpen}>
        {draft.title || "Untitled draft"}
      </button>
      <span class="hint">{new Date(draft.updated_at * 1000).toLocaleString()}</span>
      <button class="link" onClick={() => setRenaming(true)}>Rename</button>
      <button class="link danger" onClick={onDelete} data-testid="draft-delete">
        Delete
      </button>
    </li>
  );
}

/** Who may open the matter; owners and firm admins share it, change roles and remove people (online only). */
function Members({
  caseId,
  status,
  title,
  firmAdmin,
}: {
  caseId: string;
  status: SyncStatus;
  title: string;
  /** Firm admins manage access on any matter they are not walled from, as the server allows. */
  firmAdmin: boolean;
}) {
  const [members, setMembers] = useState<Member[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [myRole, setMyRole] = useState<MatterRole | null>(null);
  const [sharing, setSharing] = useState(false);
  const online = connectedToServer(status);
  const load = () => {
    ipc
      .caseMembers(caseId)
      .then((found) => {
        setMembers(found);
        setProblem(null);
      })
      .catch((e: unknown) => setProblem(errorMessage(e)));
    ipc
      .myRole(caseId)
      .then((role) => setMyRole(parseRole(role)))
      .catch(() => setMyRole(null));
  };
  useEffect(() => {
    if (online) load();
  }, [caseId, online]);
  // The lawyer's own role changed on another owner's say: list again.
  useEffect(() => {
    const unlisten = events.roleChanged((change) => {
      if (change.case_id === caseId && online) load();
    });
    return () => void unlisten.then((stop) => stop());
  }, [caseId, online]);
  const owner = (myRole !== null && canShare(myRole)) || firmAdmin;
  return (
    <>
      <section class="card">
        <h2>Members</h2>
        {!online ? (
          <p class="hint">Members are shown when you are connected to the firm's server.</p>
        ) : problem ? (
          <p class="hint">{problem}</p>
        ) : members === null ? (
          <p class="hint">Asking the firm's server…</p>
        ) : (
          <ul class="party-list" data-testid="members">
            {members.map((m) => {
              const label = personLabel(m);
              return (
                <li key={m.user_id} title={m.user_id}>
                  <span class="tag">{ROLE_LABELS[parseRole(m.role)]}</span> {label.primary}
                  {label.secondary && <span class="hint">{label.secondary}</span>}
                </li>
              );
            })}
          </ul>
        )}
        {(owner || !online) && (
          <button onClick={() => setSharing(true)} data-testid="share-button">
            Share…
          </button>
        )}
        {sharing && (
          <ShareDialog caseId={caseId} title={title} online={online} onClose={() => setSharing(false)} onChanged={load} />
        )}
      </section>
      {owner && online && <AiConsent caseId={caseId} online={online} />}
    </>
  );
}
