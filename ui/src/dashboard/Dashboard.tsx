// The matters the lawyer can see: filters, sort, instant full-text search, upcoming deadlines,
// and creating a matter — all from the local store, so all of it works offline.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  events,
  ipc,
  errorMessage,
  type AppInfo,
  type CaseFilter,
  type CaseSort,
  type CaseSummary,
  type SearchHit,
  type UpcomingDeadline,
} from "../ipc";
import type { Route } from "../app";
import { dueLabel } from "../logic/deadlines";
import { snippetParts } from "../logic/snippet";
import { NewCaseForm } from "./NewCaseForm";

interface Props {
  info: AppInfo;
  navigate: (route: Route) => void;
}

const STATUS_NAMES: Record<string, string> = { open: "Open", pending: "Pending", closed: "Closed" };

/** Whether the app has been told the first screen is painted (once per window). */
let reportedReady = false;

export function Dashboard({ info, navigate }: Props) {
  const [cases, setCases] = useState<CaseSummary[] | null>(null);
  const [upcoming, setUpcoming] = useState<UpcomingDeadline[]>([]);
  const [filter, setFilter] = useState<CaseFilter>({
    status: null,
    practice_area: null,
    responsible: null,
    include_archived: false,
    sort: "next_deadline",
  });
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const searchSeq = useRef(0);

  const load = () => {
    ipc
      .listCases(filter)
      .then(setCases)
      .catch((e: unknown) => setError(errorMessage(e)));
    ipc
      .upcomingDeadlines(info.today, 14)
      .then(setUpcoming)
      .catch((e: unknown) => setError(errorMessage(e)));
  };

  useEffect(load, [filter]);
  useEffect(() => {
    if (cases === null || reportedReady) return;
    reportedReady = true;
    const rows = cases.length;
    // After the frame with the rows has been painted.
    requestAnimationFrame(() => setTimeout(() => void ipc.uiReady("dashboard", rows).catch(() => undefined), 0));
  }, [cases]);
  useEffect(() => {
    // Collaborators typing produce a stream of changes: refresh at most every 300 ms.
    let timer: ReturnType<typeof setTimeout> | null = null;
    const unlisten = events.casesChanged(() => {
      if (timer === null)
        timer = setTimeout(() => {
          timer = null;
          load();
        }, 300);
    });
    return () => {
      if (timer !== null) clearTimeout(timer);
      void unlisten.then((stop) => stop());
    };
  }, [filter]);

  useEffect(() => {
    const text = query.trim();
    if (!text) {
      setHits(null);
      return;
    }
    const seq = ++searchSeq.current;
    const timer = setTimeout(() => {
      ipc
        .search(text)
        .then((found) => {
          if (seq === searchSeq.current) setHits(found);
        })
        .catch((e: unknown) => setError(errorMessage(e)));
    }, 60);
    return () => clearTimeout(timer);
  }, [query]);

  // Practice areas offered in the filter: the ones the matters use.
  const areas = useMemo(
    () => [...new Set((cases ?? []).map((c) => c.practice_area).filter(Boolean))].sort(),
    [cases],
  );

  const set = (patch: Partial<CaseFilter>) => setFilter({ ...filter, ...patch });
  const mine = filter.responsible !== null;

  return (
    <div class="dashboard">
      <section class="main-column">
        <div class="toolbar">
          <input
            class="search"
            type="search"
            placeholder="Search matters and drafts…"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
            data-testid="search"
          />
          <button class="primary" onClick={() => setCreating(true)} data-testid="new-matter">
            New matter
          </button>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {creating && (
          <NewCaseForm
            defaultResponsible={info.settings.display_name}
            onCancel={() => setCreating(false)}
            onCreated={(id) => {
              setCreating(false);
              navigate({ screen: "case", caseId: id });
            }}
          />
        )}
        {hits !== null ? (
          <SearchResults hits={hits} query={query} navigate={navigate} />
        ) : (
          <>
            <div class="filters">
              <label>
                Status{" "}
                <select
                  value={filter.status ?? ""}
                  onChange={(e) => set({ status: e.currentTarget.value || null })}
                  data-testid="filter-status"
                >
                  <option value="">All</option>
                  <option value="open">Open</option>
                  <option value="pending">Pending</option>
                  <option value="closed">Closed</option>
                </select>
              </label>
              <label>
                Practice area{" "}
                <select
                  value={filter.practice_area ?? ""}
                  onChange={(e) => set({ practice_area: e.currentTarget.value || null })}
                >
                  <option value="">All</option>
                  {areas.map((area) => (
                    <option value={area}>{area}</option>
                  ))}
                </select>
              </label>
              <label title={info.settings.display_name ? "" : "Set your name in Settings to use this"}>
                <input
                  type="checkbox"
                  checked={mine}
                  disabled={!info.settings.display_name}
                  onChange={(e) => set({ responsible: e.currentTarget.checked ? info.settings.display_name : null })}
                />{" "}
                My matters
              </label>
              <label>
                <input
                  type="checkbox"
                  checked={filter.include_archived}
                  onChange={(e) => set({ include_archived: e.currentTarget.checked })}
                />{" "}
                Show archived
              </label>
              <label>
                Sort by{" "}
                <select value={filter.sort} onChange={(e) => set({ sort: e.currentTarget.value as CaseSort })}>
                  <option value="next_deadline">Next deadline</option>
                  <option value="title">Title</option>
                  <option value="client">Client</option>
                  <option value="matter_number">Matter number</option>
                  <option value="status">Status</option>
                </select>
              </label>
            </div>
            <CaseTable cases={cases} today={info.today} navigate={navigate} />
          </>
        )}
      </section>
      <aside class="side-column">
        <h2>Upcoming deadlines</h2>
        <p class="hint">Next 14 days, overdue first</p>
        {upcoming.length === 0 ? (
          <p class="empty">No open deadlines in the next two weeks.</p>
        ) : (
          <ul class="deadlines" data-testid="upcoming">
            {upcoming.map((d) => (
              <li class={d.overdue ? "overdue" : ""} key={`${d.case_id}/${d.id}`}>
                <button class="link" onClick={() => navigate({ screen: "case", caseId: d.case_id })}>
                  <span class="due">{dueLabel(info.today, d.date)}</span>
                  <span class="what">{d.title}</span>
                  <span class="case">
                    {d.case_title} · {d.date}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </aside>
    </div>
  );
}

function CaseTable({
  cases,
  today,
  navigate,
}: {
  cases: CaseSummary[] | null;
  today: string;
  navigate: (route: Route) => void;
}) {
  if (cases === null) return <p class="loading">Loading matters…</p>;
  if (cases.length === 0)
    return (
      <div class="empty big" data-testid="no-matters">
        <h3>No matters here yet</h3>
        <p>Create your first matter with “New matter”. It is saved on this computer and syncs with the firm when you are online.</p>
      </div>
    );
  return (
    <table class="cases" data-testid="cases">
      <thead>
        <tr>
          <th>Matter</th>
          <th>Client</th>
          <th>No.</th>
          <th>Practice area</th>
          <th>Status</th>
          <th>Responsible</th>
          <th>Next deadline</th>
        </tr>
      </thead>
      <tbody>
        {cases.map((c) => (
          <tr key={c.id} onClick={() => navigate({ screen: "case", caseId: c.id })} class={c.archived ? "archived" : ""}>
            <td class="title">{c.title}</td>
            <td>{c.client}</td>
            <td>{c.matter_number}</td>
            <td>{c.practice_area}</td>
            <td>
              <span class={`status status-${c.status}`}>{STATUS_NAMES[c.status] ?? c.status}</span>
              {c.archived && <span class="status">Archived</span>}
            </td>
            <td>{c.responsible}</td>
            <td class={c.next_deadline && c.next_deadline < today ? "overdue" : ""}>
              {c.next_deadline ? `${c.next_deadline} (${dueLabel(today, c.next_deadline)})` : "—"}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SearchResults({
  hits,
  query,
  navigate,
}: {
  hits: SearchHit[];
  query: string;
  navigate: (route: Route) => void;
}) {
  if (hits.length === 0) return <p class="empty">Nothing on this computer matches “{query.trim()}”.</p>;
  return (
    <ul class="hits" data-testid="search-results">
      {hits.map((hit) => (
        <li key={hit.doc}>
          <button
            class="link"
            onClick={() =>
              navigate(
                hit.kind === "draft"
                  ? { screen: "draft", caseId: hit.case_id, doc: hit.doc }
                  : { screen: "case", caseId: hit.case_id },
              )
            }
          >
            <span class="kind">{hit.kind === "draft" ? "Draft" : "Matter"}</span>
            <strong>{hit.title || "Untitled"}</strong>
            {hit.kind === "draft" && <span class="case"> in {hit.case_title}</span>}
            <span class="snippet">
              {snippetParts(hit.snippet).map((part) => (part.match ? <mark>{part.text}</mark> : part.text))}
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}
