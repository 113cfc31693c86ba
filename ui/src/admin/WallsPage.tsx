// Ethical walls for the people who manage them (firm admins and the conflicts/risk role): every
// wall in the firm, a new wall for a person on a matter with its reason, and lifting one. Each
// change is confirmed with what will happen; a walled person's app loses the matter at once.
import { useEffect, useState } from "preact/hooks";
import { ipc, type FirmScreen, type MatterRef, type Person, type SyncStatus } from "../ipc";
import { personLabel } from "../logic/people";
import { OFFLINE_MESSAGE, liftQuestion, problemText, wallQuestion } from "../logic/sharing";
import { connectedToServer } from "../logic/syncLabel";
import { ConfirmDialog, type Confirmation } from "../shell/ConfirmDialog";

export function WallsPage({ status }: { status: SyncStatus }) {
  const online = connectedToServer(status);
  const [screens, setScreens] = useState<FirmScreen[] | null>(null);
  const [matters, setMatters] = useState<MatterRef[]>([]);
  const [people, setPeople] = useState<Person[]>([]);
  const [query, setQuery] = useState("");
  const [person, setPerson] = useState<Person | null>(null);
  const [matterId, setMatterId] = useState("");
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [question, setQuestion] = useState<Confirmation | null>(null);

  const load = () =>
    Promise.all([ipc.firmScreens(), ipc.matterChoices()])
      .then(([walls, all]) => {
        setScreens(walls);
        setMatters(all);
        setProblem(null);
      })
      .catch((error: unknown) => setProblem(problemText(error)));
  useEffect(() => {
    if (online) void load();
  }, [online]);
  useEffect(() => {
    if (!online || !query.trim()) {
      setPeople([]);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      ipc
        .searchDirectory(query)
        .then((found) => current && setPeople(found))
        .catch((error: unknown) => current && setProblem(problemText(error)));
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query, online]);

  const apply = (work: Promise<unknown>) =>
    work.then(load).catch((error: unknown) => setProblem(problemText(error)));
  const matterTitle = (id: string) => matters.find((matter) => matter.id === id)?.title ?? null;

  if (!online) {
    return (
      <section class="card" data-testid="walls-page">
        <h1>Ethical walls</h1>
        <p class="error" role="alert">
          {OFFLINE_MESSAGE}
        </p>
      </section>
    );
  }
  return (
    <div class="walls-page" data-testid="walls-page">
      <h1>Ethical walls</h1>
      <section class="card">
        <h2>Screen someone off a matter</h2>
        <label class="field">
          Person
          <input
            type="search"
            value={person ? personLabel({ user_id: person.id, name: person.name, email: person.email }).primary : query}
            placeholder="Name or email"
            onInput={(event) => {
              setPerson(null);
              setQuery(event.currentTarget.value);
            }}
            data-testid="wall-person"
          />
        </label>
        {!person && people.length > 0 && (
          <ul class="party-list" data-testid="wall-people">
            {people.slice(0, 8).map((found) => {
              const label = personLabel({ user_id: found.id, name: found.name, email: found.email });
              return (
                <li key={found.id}>
                  <button class="link" onClick={() => setPerson(found)}>
                    {label.primary}
                  </button>{" "}
                  {label.secondary && <span class="hint">{label.secondary}</span>}
                </li>
              );
            })}
          </ul>
        )}
        <label class="field">
          Matter
          <select value={matterId} onChange={(event) => setMatterId(event.currentTarget.value)} data-testid="wall-matter">
            <option value="">Choose a matter…</option>
            {matters.map((matter) => (
              <option key={matter.id} value={matter.id}>
                {matter.title?.trim() || matter.id}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          Reason
          <input value={reason} onInput={(event) => setReason(event.currentTarget.value)} data-testid="wall-reason" />
        </label>
        <button
          class="danger"
          disabled={!person || !matterId || !reason.trim()}
          data-testid="wall-add"
          onClick={() => {
            if (!person) return;
            const target = { user_id: person.id, name: person.name, email: person.email };
            setQuestion({
              title: "Add an ethical wall",
              message: wallQuestion(target, matterTitle(matterId), reason),
              confirm: "Screen them off",
              action: () =>
                apply(
                  ipc.addScreen(matterId, person.id, reason).then(() => {
                    setPerson(null);
                    setQuery("");
                    setReason("");
                  }),
                ),
            });
          }}
        >
          Add wall…
        </button>
      </section>
      <section class="card wide">
        <h2>Walls in the firm</h2>
        {screens === null ? (
          <p class="hint">{problem ?? "Asking the firm's server…"}</p>
        ) : screens.length === 0 ? (
          <p class="hint">No walls.</p>
        ) : (
          <table class="usage-table" data-testid="walls">
            <thead>
              <tr>
                <th>Person</th>
                <th>Matter</th>
                <th>Reason</th>
                <th>Added</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {screens.map((wall) => {
                const label = personLabel(wall);
                return (
                  <tr key={`${wall.case_id}/${wall.user_id}`} data-testid="wall-row">
                    <td title={wall.user_id}>
                      {label.primary} {label.secondary && <span class="hint">{label.secondary}</span>}
                    </td>
                    <td>{wall.case_title?.trim() || wall.case_id}</td>
                    <td>{wall.reason}</td>
                    <td>
                      {new Date(wall.added_at).toLocaleDateString()} by {wall.added_by_name ?? wall.added_by}
                    </td>
                    <td>
                      <button
                        class="link"
                        data-testid="wall-lift"
                        onClick={() =>
                          setQuestion({
                            title: "Lift the wall",
                            message: liftQuestion(wall, wall.case_title),
                            confirm: "Lift the wall",
                            action: () => apply(ipc.liftScreen(wall.case_id, wall.user_id)),
                          })
                        }
                      >
                        Lift…
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <ConfirmDialog question={question} onClose={() => setQuestion(null)} />
    </div>
  );
}
