// The conflict-of-interest check of the new-matter form, as plain functions: the names the form
// sends, what the lawyer reads of each hit, and what to do when the check cannot run.
import type { CommandError, ConflictCheck, ConflictHit, ConflictQuery } from "../ipc";

/** Most names one check takes (the server's limit, `conflicts::MAX_NAMES`). */
export const MAX_CHECKED_NAMES = 50;

/**
 * The names in a party field: one per line or separated by semicolons (commas belong to names:
 * "Acme, Inc."), trimmed, blanks and repeats (ignoring case) left out.
 */
export function partyNames(text: string): string[] {
  const seen = new Set<string>();
  const names: string[] = [];
  for (const part of text.split(/[\n;]/)) {
    const name = part.trim().replace(/\s+/g, " ");
    const key = name.toLocaleLowerCase();
    if (name && !seen.has(key)) {
      seen.add(key);
      names.push(name);
    }
  }
  return names;
}

export function conflictQuery(client: string, adverse: string, related: string): ConflictQuery {
  return { client: client.trim(), adverse: partyNames(adverse), related: partyNames(related) };
}

/** Whether there is anything to check, and if not, why the form cannot go on. */
export function queryProblem(query: ConflictQuery): string | null {
  if (!query.client) return "Name the client: the conflicts check needs it.";
  const count = 1 + query.adverse.length + query.related.length;
  if (count > MAX_CHECKED_NAMES) {
    return `A conflicts check takes at most ${MAX_CHECKED_NAMES} names; this matter has ${count}.`;
  }
  return null;
}

/**
 * What to do when the check fails: `unavailable` — the firm's server cannot be reached or the
 * lawyer is signed out: the lawyer may open the matter anyway, marked as not checked; `no_server`
 * — this app works without a firm server: there is nothing to check against; `refused` — the
 * server refused the names: show its message and stay on the form.
 */
export type CheckFailure = "unavailable" | "no_server" | "refused";

export function checkFailure(error: CommandError | null): CheckFailure {
  if (!error) return "unavailable";
  switch (error.code) {
    case "no_server":
      return "no_server";
    case "connection":
    case "signin_required":
    case "token_unavailable":
    case "server_error":
      return "unavailable";
    default:
      return "refused";
  }
}

const SIDES: Record<string, string> = { client: "client", adverse: "adverse party", related: "related party" };
const RULES: Record<string, string> = {
  same_name: "same name",
  spelling_differs: "similar spelling",
  name_contained: "one name contains the other",
};

function side(kind: string): string {
  return SIDES[kind] ?? kind;
}

/** One hit, as the warning lists it. */
export interface HitView {
  /** The headline: who matched whom, or that a hidden matter may conflict. */
  text: string;
  /** What to do about it (whom to ask), or how close the match is. */
  detail: string;
  /** A searched client found as an adverse party (or the reverse): the serious kind. */
  adverse: boolean;
  /** The matter to open, when the lawyer may read it. */
  caseId: string | null;
}

export function hitView(hit: ConflictHit): HitView {
  if (hit.visibility === "restricted") {
    const ask =
      hit.ask.role === "responsible_lawyer"
        ? `Ask its responsible lawyer, ${hit.ask.name ?? hit.ask.user_id}.`
        : "Ask the firm's conflicts team.";
    return {
      text: "A possible conflict on a matter you do not have access to.",
      detail: ask,
      adverse: false,
      caseId: null,
    };
  }
  const title = hit.title?.trim() || "an untitled matter";
  const percent = Math.round(hit.score * 100);
  return {
    text: `“${hit.searched}” (${side(hit.searched_kind)} here) matches “${hit.party}”, ${side(hit.party_kind)} on ${title}.`,
    detail: `${RULES[hit.rule] ?? hit.rule}, ${percent}% alike`,
    adverse:
      (hit.searched_kind === "client" && hit.party_kind === "adverse") ||
      (hit.searched_kind === "adverse" && hit.party_kind === "client"),
    caseId: hit.case_id,
  };
}

/** The warning's heading. */
export function warningTitle(check: ConflictCheck): string {
  const shown = check.hits.length;
  const more = check.total > shown ? ` (the ${shown} closest shown)` : "";
  return check.total === 1
    ? "1 possible conflict of interest"
    : `${check.total} possible conflicts of interest${more}`;
}

/** What a matter's page says of the check it was opened after. */
export function decisionText(decision: string | undefined): string | null {
  switch (decision) {
    case "clear":
      return "Conflicts check: no possible conflicts found when the matter was opened.";
    case "proceeded":
      return "Conflicts check: opened despite possible conflicts; the check is on record with the firm.";
    case "offline":
      return "Conflicts check: not run — the firm's server could not be reached when the matter was opened.";
    default:
      return null;
  }
}
