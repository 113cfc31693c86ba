// Sharing a matter: search the firm directory, add someone with a role, change roles, remove
// people. Online only: every change goes straight to the firm's server, which applies it live
// to every open app (a removed person's app forgets the matter).
import { useEffect, useState } from "preact/hooks";
import { events, ipc, type Member, type Person } from "../ipc";
import { personLabel } from "../logic/people";
import { MATTER_ROLES, ROLE_HINTS, ROLE_LABELS, leavesNoOwner, parseRole, type MatterRole } from "../logic/permissions";
import { OFFLINE_MESSAGE, problemText, removeQuestion, roleChangeQuestion } from "../logic/sharing";
import { ConfirmDialog, type Confirmation } from "../shell/ConfirmDialog";

interface Props {
  caseId: string;
  title: string;
  online: boolean;
  onClose: () => void;
  /** The member list changed (the page refreshes its own list). */
  onChanged: () => void;
}

export function ShareDialog({ caseId, title, online, onClose, onChanged }: Props) {
  const [members, setMembers] = useState<Member[] | null>(null);
  const [query, setQuery] = useState("");
  const [people, setPeople] = useState<Person[]>([]);
  const [role, setRole] = useState<MatterRole>("editor");
  const [problem, setProblem] = useState<string | null>(null);
  const [question, setQuestion] = useState<Confirmation | null>(null);

  const load = () =>
    ipc
      .caseMembers(caseId)
      .then((found) => {
        setMembers(found);
        setProblem(null);
      })
      .catch((error: unknown) => setProblem(problemText(error)));
  useEffect(() => {
    if (online) void load();
  }, [caseId, online]);
  // Another owner's change that concerns this lawyer arrives as a role change: list again.
  useEffect(() => {
    const unlisten = events.roleChanged((change) => {
      if (change.case_id === caseId) void load();
    });
    return () => void unlisten.then((stop) => stop());
  }, [caseId]);

  useEffect(() => {
    if (!online) return;
    let current = true;
    const timer = setTimeout(() => {
      ipc
        .searchDirectory(query)
        .then((found) => {
          if (current) setPeople(found);
        })
        .catch((error: unknown) => current && setProblem(problemText(error)));
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query, online]);

  const change = (work: Promise<unknown>) =>
    work
      .then(() => {
        setProblem(null);
        onChanged();
        return load();
      })
      .catch((error: unknown) => setProblem(problemText(error)));

  const memberIds = new Set((members ?? []).map((member) => member.user_id));
  const candidates = people.filter((person) => !memberIds.has(person.id));

  return (
    <div class="modal-backdrop">
      <div class="modal share-dialog" role="dialog" aria-modal="true" aria-labelledby="share-title" data-testid="share-dialog">
        <h2 id="share-title">Share “{title}”</h2>
        {!online ? (
          <p class="error" role="alert" data-testid="share-offline">
            {OFFLINE_MESSAGE}
          </p>
        ) : (
          <>
            <div class="share-add">
              <input
                type="search"
                placeholder="Name or email of a colleague"
                value={query}
                onInput={(event) => setQuery(event.currentTarget.value)}
                data-testid="share-search"
                aria-label="Search the firm directory"
              />
              <select
                value={role}
                onChange={(event) => setRole(parseRole(event.currentTarget.value))}
                data-testid="share-role"
                aria-label="Role"
                title={ROLE_HINTS[role]}
              >
                {MATTER_ROLES.map((option) => (
                  <option key={option} value={option}>
                    {ROLE_LABELS[option]}
                  </option>
                ))}
              </select>
            </div>
            <p class="hint">{ROLE_HINTS[role]}</p>
            <ul class="party-list share-results" data-testid="share-results">
              {candidates.slice(0, 8).map((person) => {
                const label = personLabel({ user_id: person.id, name: person.name, email: person.email });
                return (
                  <li key={person.id} title={person.id}>
                    {label.primary} {label.secondary && <span class="hint">{label.secondary}</span>}
                    <button class="link" data-testid="share-add" onClick={() => void change(ipc.setMember(caseId, person.id, role))}>
                      Add as {ROLE_LABELS[role].toLowerCase()}
                    </button>
                  </li>
                );
              })}
            </ul>
            <h3>People with access</h3>
            {members === null ? (
              <p class="hint">Asking the firm's server…</p>
            ) : (
              <ul class="party-list" data-testid="share-members">
                {members.map((member) => {
                  const label = personLabel(member);
                  const current = parseRole(member.role);
                  return (
                    <li key={member.user_id} data-testid="member-row" data-user={member.user_id} title={member.user_id}>
                      {label.primary} {label.secondary && <span class="hint">{label.secondary}</span>}
                      <select
                        value={current}
                        data-testid="member-role"
                        aria-label={`Role of ${label.primary}`}
                        onChange={(event) => {
                          const next = parseRole(event.currentTarget.value);
                          event.currentTarget.value = current;
                          if (leavesNoOwner(members, member.user_id, next)) {
                            setProblem("A matter must keep at least one owner: make someone else an owner first.");
                            return;
                          }
                          setQuestion({
                            title: "Change role",
                            message: roleChangeQuestion(member, next, title),
                            confirm: `Make ${ROLE_LABELS[next].toLowerCase()}`,
                            action: () => change(ipc.setMember(caseId, member.user_id, next)),
                          });
                        }}
                      >
                        {MATTER_ROLES.map((option) => (
                          <option key={option} value={option}>
                            {ROLE_LABELS[option]}
                          </option>
                        ))}
                      </select>
                      <button
                        class="link danger"
                        data-testid="member-remove"
                        onClick={() => {
                          if (leavesNoOwner(members, member.user_id, null)) {
                            setProblem("A matter must keep at least one owner: make someone else an owner first.");
                            return;
                          }
                          setQuestion({
                            title: "Remove from the matter",
                            message: removeQuestion(member, title),
                            confirm: "Remove",
                            action: () => change(ipc.removeMember(caseId, member.user_id)),
                          });
                        }}
                      >
                        Remove
                      </button>
                    </li>
                  );
                })}
              </ul>
            )}
          </>
        )}
        {problem && (
          <p class="error" role="alert" data-testid="share-problem">
            {problem}
          </p>
        )}
        <div class="modal-actions">
          <button onClick={onClose} data-testid="share-close">
            Close
          </button>
        </div>
      </div>
      <ConfirmDialog question={question} onClose={() => setQuestion(null)} />
    </div>
  );
}
