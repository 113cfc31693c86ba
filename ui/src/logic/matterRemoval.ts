// A matter the firm removed from this computer (an ethical wall, or the lawyer taken off it):
// the notice the shell shows, and where the window goes. The Rust side has already purged the
// matter and keeps no title; the notice names the matter only if the lawyer had its title on
// screen when it went, and that title is held in memory only until the notice is made.

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

/** What the lawyer is told. */
export function removalNotice(removal: MatterRemoval, title: string | null): string {
  const matter = title ? `“${title}”` : "a matter";
  const discarded = removal.discarded_changes;
  const changes =
    discarded === 0
      ? ""
      : discarded === 1
        ? " 1 unsent change was discarded."
        : ` ${discarded} unsent changes were discarded.`;
  return `You no longer have access to ${matter}: your firm removed it from this computer.${changes}`;
}

/** Whether the window shows the removed matter (its page or one of its drafts) and must leave. */
export function leavesRemovedMatter(route: { screen: string; caseId?: string }, caseId: string): boolean {
  return (route.screen === "case" || route.screen === "draft") && route.caseId === caseId;
}
