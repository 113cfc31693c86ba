// The suggestions in a document, one entry per id, for the Suggestions panel and the popover.
import type { Node as PMNode } from "@tiptap/pm/model";
import { parseSuggestionId } from "../../logic/suggestionId";
import { SUGGESTION_KINDS, type SuggestionKind } from "../schema/suggestionMarks";

export interface SuggestionEntry {
  id: string;
  author: string;
  /** Unix ms, 0 when the id does not say. */
  created: number;
  kinds: SuggestionKind[];
  /** The span the suggestion covers in the document (first to last marked node). */
  from: number;
  to: number;
  /** What was inserted or deleted, shortened ("" for a formatting change). */
  text: string;
}

const ZERO_WIDTH_SPACE = /\u200B/g;

/** Every suggestion in `doc`, in document order. One walk over the document. */
export function listSuggestions(doc: PMNode): SuggestionEntry[] {
  const byId = new Map<string, SuggestionEntry>();
  doc.descendants((node, pos) => {
    for (const mark of node.marks) {
      const kind = mark.type.name as SuggestionKind;
      if (!SUGGESTION_KINDS.includes(kind)) continue;
      const id = String(mark.attrs.id);
      let entry = byId.get(id);
      if (!entry) {
        const origin = parseSuggestionId(id);
        entry = { id, author: origin?.author || "Unknown", created: origin?.created ?? 0, kinds: [], from: pos, to: pos, text: "" };
        byId.set(id, entry);
      }
      if (!entry.kinds.includes(kind)) entry.kinds.push(kind);
      entry.to = Math.max(entry.to, pos + node.nodeSize);
      if (kind !== "modification" && entry.text.length < 80) {
        const text = node.isText ? (node.text ?? "") : node.textContent;
        entry.text += text.replace(ZERO_WIDTH_SPACE, "");
      }
    }
    return true;
  });
  return [...byId.values()];
}

export interface AuthorCount {
  author: string;
  count: number;
}

/** Authors of `entries` with how many suggestions each has, most first. */
export function suggestionAuthors(entries: readonly SuggestionEntry[]): AuthorCount[] {
  const counts = new Map<string, number>();
  for (const entry of entries) counts.set(entry.author, (counts.get(entry.author) ?? 0) + 1);
  return [...counts.entries()]
    .map(([author, count]) => ({ author, count }))
    .sort((a, b) => b.count - a.count || a.author.localeCompare(b.author));
}

/** The filter for settleSuggestions: every suggestion by `author`. */
export function byAuthor(author: string): (id: unknown) => boolean {
  return (id) => (parseSuggestionId(id)?.author || "Unknown") === author;
}
