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
import { dueLabel, formatDate } from "../logic/deadlines";
import { holdDescription, type Hold } from "../logic/holds";
import { useFirm } from "../shell/useFirm";
import { showingCases } from "../logic/matterRemoval";
import { snippetParts } from "../logic/snippet";
import { DEFAULT_ROW_HEIGHT, OVERSCAN, visibleRange } from "../logic/rowWindow";
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
  const firm = useFirm();
  const [calendarSaved, setCalendarSaved] = useState<string | null>(null);

  const load = () => {
    ipc
      .listCases(filter)
      .then((list) => {
        showingCases(list);
        setCases(list);
      })
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
                <select
                  value={filter.sort}
                  onChange={(e) => set({ sort: e.currentTarget.value as CaseSort })}
                  data-testid="sort"
                >
                  <option value="next_deadline">Next deadline</option>
                  <option value="title">Title</option>
                  <option value="client">Client</option>
                  <option value="matter_number">Matter number</option>
                  <option value="status">Status</option>
                </select>
              </label>
            </div>
            <CaseTable cases={cases} today={info.today} holds={firm.holds} navigate={navigate} />
          </>
        )}
      </section>
      <aside class="side-column">
        <h2>Upcoming deadlines</h2>
        <p class="hint">Next 14 days, overdue first</p>
        <button
          data-testid="export-all-ics"
          title="Every open deadline from today, for Outlook, Apple or Google Calendar. Importing a newer file updates the events."
          onClick={() =>
            ipc
              .exportDeadlinesIcs(null, info.today)
              .then((path) => setCalendarSaved(`Saved to ${path}`))
              .catch((e: unknown) => setError(errorMessage(e)))
          }
        >
          All upcoming deadlines (.ics)
        </button>
        {calendarSaved && <p class="hint" role="status">{calendarSaved}</p>}
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
                    {d.case_title} · {formatDate(d.date)}
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

/**
 * The matters table draws only the rows in view (plus some either side): a partner with
 * thousands of matters gets the same start-up and memory as one with fifty.
 */
function CaseTable({
  cases,
  today,
  holds,
  navigate,
}: {
  cases: CaseSummary[] | null;
  today: string;
  holds: Map<string, Hold>;
  navigate: (route: Route) => void;
}) {
  const rowsBox = useRef<HTMLDivElement>(null);
  const count = cases?.length ?? 0;
  // The rows drawn and the row height the padding uses: changed together, so the list's height
  // is always count × rowHeight and nothing moves under the pointer as rows come and go.
  const [view, setView] = useState({ first: 0, last: 0, rowHeight: DEFAULT_ROW_HEIGHT });

  useEffect(() => {
    const element = rowsBox.current;
    if (!element) return;
    const scroller = (element.closest(".content") as HTMLElement | null) ?? document.documentElement;
    let frame = 0;
    const update = () => {
      frame = 0;
      const row = element.querySelector<HTMLTableRowElement>("tr[data-row]");
      // Where row 0 would be: the top of the padded box.
      const top = element.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
      setView((current) => {
        const rowHeight = row?.getBoundingClientRect().height || current.rowHeight;
        const [first, last] = visibleRange(top, scroller.clientHeight, rowHeight, count);
        return current.first === first && current.last === last && current.rowHeight === rowHeight
          ? current
          : { first, last, rowHeight };
      });
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    update();
    scroller.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    return () => {
      if (frame) cancelAnimationFrame(frame);
      scroller.removeEventListener("scroll", schedule);
      window.removeEventListener("resize", schedule);
    };
  }, [count]);

  if (cases === null) return <p class="loading">Loading matters…</p>;
  if (cases.length === 0)
    return (
      <div class="empty big" data-testid="no-matters">
        <h3>No matters here yet</h3>
        <p>Create your first matter with “New matter”. It is saved on this computer and syncs with the firm when you are online.</p>
      </div>
    );
  // Before the first measurement (the rows have just arrived): the top of the list.
  const [first, last] =
    view.last === 0 ? [0, Math.min(count, 2 * OVERSCAN)] : [Math.min(view.first, count), Math.min(view.last, count)];
  const columns = (
    <colgroup>
      <col class="col-title" />
      <col class="col-client" />
      <col class="col-number" />
      <col class="col-area" />
      <col class="col-status" />
      <col class="col-responsible" />
      <col class="col-deadline" />
    </colgroup>
  );
  // The header and the rows are two tables with the same fixed columns; the rows' table sits in
  // a box padded by the height of the rows not drawn, so the scroll height is always exact.
  return (
    <div class="cases" data-testid="cases" data-rows={count} role="table" aria-rowcount={count + 1}>
      <table role="presentation">
        {columns}
        <thead>
          <tr role="row" aria-rowindex={1}>
            <th role="columnheader">Matter</th>
            <th role="columnheader">Client</th>
            <th role="columnheader">No.</th>
            <th role="columnheader">Practice area</th>
            <th role="columnheader">Status</th>
            <th role="columnheader">Responsible</th>
            <th role="columnheader">Next deadline</th>
          </tr>
        </thead>
      </table>
      <div
        ref={rowsBox}
        style={{ paddingTop: `${first * view.rowHeight}px`, paddingBottom: `${(count - last) * view.rowHeight}px` }}
      >
        <table role="presentation">
          {columns}
          <tbody>
            {cases.slice(first, last).map((c, index) => (
              <tr
                key={c.id}
                role="row"
                data-row={first + index}
                aria-rowindex={first + index + 2}
                onClick={() => navigate({ screen: "case", caseId: c.id })}
                class={c.archived ? "archived" : ""}
              >
                <td role="cell" class="title" title={c.title}>
                  {c.title}
                  {holds.has(c.id) && <HoldBadge hold={holds.get(c.id)} />}
                </td>
                <td role="cell" title={c.client}>
                  {c.client}
                </td>
                <td role="cell">{c.matter_number}</td>
                <td role="cell">{c.practice_area}</td>
                <td role="cell">
                  <span class={`status status-${c.status}`}>{STATUS_NAMES[c.status] ?? c.status}</span>
                  {c.archived && <span class="status">Archived</span>}
                </td>
                <td role="cell">{c.responsible}</td>
                <td role="cell" class={c.next_deadline && c.next_deadline < today ? "overdue" : ""}>
                  {c.next_deadline ? `${formatDate(c.next_deadline)} (${dueLabel(today, c.next_deadline)})` : "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
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

/** The "Legal hold" badge of a held matter (its tooltip says who, when and why). */
export function HoldBadge({ hold }: { hold: Hold | undefined }) {
  if (!hold) return null;
  return (
    <span class="status status-hold" data-testid="hold-badge" title={holdDescription(hold)}>
      Legal hold
    </span>
  );
}
