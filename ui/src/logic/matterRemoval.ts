// A matter the firm removed from this computer (an ethical wall, or the lawyer taken off it):
// the notices the shell shows, and where the window goes. The Rust side has already purged the
// matter and keeps no title; a notice names the matter only if the lawyer had its title on
// screen when it went, and that title is held in memory only until the notice is made. The
// store keeps each removal (id, time, reason, discarded count) until the lawyer dismisses its
// notice, so after a restart the same list is shown again, from what is stored.

/** The `matter-removed` event's payload. */
export interface MatterRemoval {
  case_id: string;
  reason: string;
  discarded_changes: number;
}

const titlesOnScreen = new Map<string, string>();

/** The dashboard (or a matter page) shows these matters now. */
export function showingCases(cases: ReadonlyArray<{ id: string; title: string }>): void {
  titlesOnScreen.clear();
  for (const matter of cases) titlesOnScreen.set(matter.id, matter.title);
}

/** The title the lawyer saw for `caseId`, if any; forgotten once taken. */
export function takeTitleOnScreen(caseId: string): string | null {
  const title = titlesOnScreen.get(caseId) ?? null;
  titlesOnScreen.delete(caseId);
  return title;
}

/** A removal the store still lists (`removal_notices`): what its tombstone keeps, no title. */
export interface StoredRemoval {
  case_id: string;
  /** Unix seconds. */
  removed_at: number;
  reason: string;
  /** null: removed by a version that did not count them. */
  discarded_changes: number | null;
}

/** One notice in the shell's list. */
export interface RemovalNotice {
  case_id: string;
  /** The title the lawyer had on screen when it went; null once the app has restarted. */
  title: string | null;
  /** null when not known. */
  discarded_changes: number | null;
  /** Unix seconds; null for a removal while the app was open (just now). */
  removed_at: number | null;
}

/** The notice of a removal that happened while the app was open. */
export function liveNotice(removal: MatterRemoval, title: string | null): RemovalNotice {
  return { case_id: removal.case_id, title, discarded_changes: removal.discarded_changes, removed_at: null };
}

/** The notice of a removal the store lists at launch: only what is stored. */
export function storedNotice(stored: StoredRemoval): RemovalNotice {
  return {
    case_id: stored.case_id,
    title: null,
    discarded_changes: stored.discarded_changes,
    removed_at: stored.removed_at,
  };
}

/** The list after a live removal: first, in place of any notice of the same matter. */
export function withLiveRemoval(list: readonly RemovalNotice[], notice: RemovalNotice): RemovalNotice[] {
  return [notice, ...list.filter((shown) => shown.case_id !== notice.case_id)];
}

/**
 * The list with the removals the store lists at launch added after it. A matter already shown
 * (live, with its title) is not repeated, nor one the lawyer dismissed while the list loaded.
 */
export function withStoredRemovals(
  list: readonly RemovalNotice[],
  stored: readonly StoredRemoval[],
  dismissed: ReadonlySet<string>,
): RemovalNotice[] {
  const shown = new Set(list.map((notice) => notice.case_id));
  const added = stored
    .filter((removal) => !shown.has(removal.case_id) && !dismissed.has(removal.case_id))
    .map(storedNotice);
  return [...list, ...added];
}

/** The list without the matter's notice (the lawyer dismissed it). */
export function withoutNotice(list: readonly RemovalNotice[], caseId: string): RemovalNotice[] {
  return list.filter((notice) => notice.case_id !== caseId);
}

function longDate(seconds: number): string {
  return new Date(seconds * 1000).toLocaleDateString(undefined, { day: "numeric", month: "long", year: "numeric" });
}

/**
 * What the lawyer is told. Without a title the matter is named by the start of its id, which
 * the firm can look up; nothing else of a purged matter is known here.
 */
export function removalNoticeText(notice: RemovalNotice, formatDate: (seconds: number) => string = longDate): string {
  const matter = notice.title ? `“${notice.title}”` : `a matter (reference ${notice.case_id.slice(0, 8)})`;
  const when = notice.removed_at === null ? "" : ` on ${formatDate(notice.removed_at)}`;
  const discarded = notice.discarded_changes;
  const changes =
    discarded === null || discarded === 0
      ? ""
      : discarded === 1
        ? " 1 unsent change was discarded."
        : ` ${discarded} unsent changes were discarded.`;
  return `You no longer have access to ${matter}: your firm removed it from this computer${when}.${changes}`;
}

/** Whether the window shows the removed matter (its page or one of its drafts) and must leave. */
export function leavesRemovedMatter(route: { screen: string; caseId?: string }, caseId: string): boolean {
  return (route.screen === "case" || route.screen === "draft") && route.caseId === caseId;
}
