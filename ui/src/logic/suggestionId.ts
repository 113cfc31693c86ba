// Suggestion (track change) ids, as docs/DRAFT_FORMAT.md defines them:
// `s:<unix ms>:<random [a-z0-9]+>:<author display name>`. The id carries its own attribution, so
// who suggested what, and when, survives any merge; the author may itself contain ":".
import { formatDateTime } from "./dateTime";

export interface SuggestionOrigin {
  author: string;
  /** Unix milliseconds. */
  created: number;
}

/** A fresh id for a suggestion by `author` made at `now`. */
export function makeSuggestionId(author: string, now: number = Date.now(), random: string = randomPart()): string {
  return `s:${Math.floor(now)}:${random}:${author}`;
}

function randomPart(): string {
  let out = "";
  while (out.length < 6) out += Math.random().toString(36).slice(2);
  return out.slice(0, 8);
}

const ID = /^s:(\d+):([a-z0-9]+):(.*)$/s;

/**
 * Who made a suggestion and when, from its id; null for an id that is not in the contract's form
 * (the library's own numeric ids, or garbage from elsewhere).
 */
export function parseSuggestionId(id: unknown): SuggestionOrigin | null {
  if (typeof id !== "string") return null;
  const match = ID.exec(id);
  if (!match) return null;
  const created = Number(match[1]);
  if (!Number.isSafeInteger(created)) return null;
  return { author: match[3] ?? "", created };
}

/** The author of a suggestion id, "Unknown" when the id does not say. */
export function suggestionAuthor(id: unknown): string {
  return parseSuggestionId(id)?.author || "Unknown";
}

/** "Inserted by Jane Smith, 6 Dec 2026, 14:05" — the hover text of a suggestion. */
export function suggestionTitle(kind: "insertion" | "deletion" | "modification", id: unknown): string {
  const origin = parseSuggestionId(id);
  const verb = kind === "insertion" ? "Inserted" : kind === "deletion" ? "Deleted" : "Formatting changed";
  if (!origin) return `${verb} (suggestion)`;
  const when = formatDateTime(origin.created);
  return `${verb} by ${origin.author || "Unknown"}, ${when}`;
}
