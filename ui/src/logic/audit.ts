// The audit log's screen logic: readable action names, one line of detail, and the filters
// the form sends (empty fields left out).
import { formatDateTime } from "./dateTime";
import type { AuditEntry, AuditFilter } from "../ipc";

const ACTIONS: Record<string, string> = {
  sign_in_seen: "Signed in",
  case_created: "Matter created",
  document_opened: "Document opened",
  access_granted: "Access granted",
  access_revoked: "Access removed",
  screen_added: "Ethical wall added",
  screen_removed: "Ethical wall lifted",
  legal_hold_placed: "Legal hold placed",
  legal_hold_lifted: "Legal hold lifted",
  deletion_refused_legal_hold: "Deletion refused (legal hold)",
  ai_consent_set: "AI consent recorded",
  copilot_policy_changed: "AI policy changed",
  audit_exported: "Audit log exported",
  conflict_check: "Conflicts check",
};

/** The actions the filter offers, in the order shown. */
export const AUDIT_ACTIONS = Object.keys(ACTIONS);

export function actionLabel(action: string): string {
  return ACTIONS[action] ?? action.replace(/_/g, " ");
}

/** The entry's detail as one short line ("member: ben, role: editor"). */
export function detailLine(entry: AuditEntry): string {
  return Object.entries(entry.detail)
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([key, value]) => `${key.replace(/_/g, " ")}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
}

export interface AuditForm {
  case: string;
  actor: string;
  action: string;
  from: string;
  to: string;
}

export const EMPTY_FORM: AuditForm = { case: "", actor: "", action: "", from: "", to: "" };

/** The form as the filter the server takes: blank fields are not filters. */
export function auditFilter(form: AuditForm, page: { limit?: number; before?: number } = {}): AuditFilter {
  const filter: AuditFilter = {};
  for (const key of ["case", "actor", "action", "from", "to"] as const) {
    const value = form[key].trim();
    if (value) filter[key] = value;
  }
  if (page.limit !== undefined) filter.limit = page.limit;
  if (page.before !== undefined) filter.before = page.before;
  return filter;
}

/** A timestamp in the lawyer's locale, date and time. */
export function formatInstant(at: string, locale?: string | string[]): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return at;
  return formatDateTime(date.getTime(), locale);
}
