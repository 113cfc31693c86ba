// Words and small decisions of the share dialog, the walls screen and the AI screen: what each
// confirmation says will happen, and what "offline" means for these online-only screens.
import { errorMessage, isCommandError } from "../ipc";
import { personLabel, type NamedPerson } from "./people";
import { ROLE_LABELS, type MatterRole } from "./permissions";

/** These screens change the firm's server directly: nothing is queued offline. */
export const OFFLINE_MESSAGE =
  "You are offline. Sharing, ethical walls and AI settings change the firm's server directly: connect to the internet and try again.";

/** The message for a failed call: the offline sentence when the server could not be reached. */
export function problemText(error: unknown): string {
  if (isCommandError(error) && error.code === "connection") return OFFLINE_MESSAGE;
  return errorMessage(error);
}

function who(person: NamedPerson): string {
  return personLabel(person).primary;
}

function matter(title: string | null | undefined): string {
  return title?.trim() ? `“${title.trim()}”` : "this matter";
}

export function shareQuestion(person: NamedPerson, role: MatterRole, title: string | null | undefined): string {
  return `Share ${matter(title)} with ${who(person)} as ${ROLE_LABELS[role].toLowerCase()}? It appears on their computer the next time their app is online.`;
}

export function roleChangeQuestion(person: NamedPerson, role: MatterRole, title: string | null | undefined): string {
  const effect =
    role === "viewer"
      ? "They will only be able to read it."
      : role === "commenter"
        ? "They will be able to read and comment, but not edit."
        : role === "editor"
          ? "They will be able to edit, suggest and comment."
          : "They will be able to edit and to share the matter.";
  return `Make ${who(person)} ${ROLE_LABELS[role].toLowerCase()} on ${matter(title)}? ${effect} Open windows change at once.`;
}

export function removeQuestion(person: NamedPerson, title: string | null | undefined): string {
  return `Remove ${who(person)} from ${matter(title)}? The matter and its drafts are deleted from their computer at once, with any changes they have not synced.`;
}

export function wallQuestion(person: NamedPerson, title: string | null | undefined, reason: string): string {
  const why = reason.trim() ? ` Reason recorded: “${reason.trim()}”.` : "";
  return `Screen ${who(person)} off ${matter(title)}? They lose the matter at once: it is deleted from their computer, with any changes they have not synced, and nobody can share it with them until the wall is lifted.${why}`;
}

export function liftQuestion(person: NamedPerson, title: string | null | undefined): string {
  return `Lift the wall between ${who(person)} and ${matter(title)}? They do not get the matter back by this: an owner can share it with them again. The change is recorded in the audit log.`;
}

/** Tokens of a usage group, prompt and answer together. */
export function tokensOf(group: { prompt_tokens: number; completion_tokens: number }): number {
  return group.prompt_tokens + group.completion_tokens;
}

/** The first day of the month `monthsBack` months before `now`'s, as RFC 3339 (UTC). */
export function monthsAgo(now: Date, monthsBack: number): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1)).toISOString();
}
