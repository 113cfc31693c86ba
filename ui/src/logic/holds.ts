// Legal holds as the firm's server lists them (ipc.firmMatters): which matters are held, and
// the sentence the badge's tooltip and the matter page show.
import type { FirmMatter } from "../ipc";

export interface Hold {
  reason: string;
  by: string;
  at: string | null;
}

/** Held matters by id. */
export function holdsById(matters: FirmMatter[]): Map<string, Hold> {
  const holds = new Map<string, Hold>();
  for (const matter of matters) {
    if (matter.legal_hold) {
      holds.set(matter.id, { reason: matter.hold_reason ?? "", by: matter.hold_by ?? "", at: matter.hold_at });
    }
  }
  return holds;
}

/** "Legal hold since 6 Dec 2026 by root: Smith v. Jones" (date in the lawyer's locale). */
export function holdDescription(hold: Hold, locale?: string | string[]): string {
  const since = hold.at ? ` since ${new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(new Date(hold.at))}` : "";
  const by = hold.by ? ` by ${hold.by}` : "";
  const reason = hold.reason ? `: ${hold.reason}` : "";
  return `Legal hold${since}${by}${reason}. Nothing of this matter can be deleted until a firm admin lifts it.`;
}

/** A reason is required, and at most 1,000 characters (the server's limit). */
export function holdReasonProblem(reason: string): string | null {
  if (!reason.trim()) return "Say why (a litigation, an investigation): the reason is recorded in the audit log.";
  if ([...reason.trim()].length > 1000) return "Keep the reason under 1,000 characters.";
  return null;
}
