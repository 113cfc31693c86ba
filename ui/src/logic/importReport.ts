// What a Word import found, in words a lawyer reads at a glance.
import type { ImportReport } from "../ipc";

export function isWordFile(name: string): boolean {
  return /\.docx$/i.test(name.trim());
}

function count(n: number, one: string, many: string): string | null {
  if (n === 0) return null;
  return `${n.toLocaleString("en-GB")} ${n === 1 ? one : many}`;
}

/** "1,204 paragraphs, 12 headings, 3 tables, 14 suggestions by 2 people, 5 comment threads". */
export function reportSummary(report: ImportReport): string {
  const authors = Object.keys(report.suggestions);
  const suggestions = Object.values(report.suggestions).reduce((sum, s) => sum + s.insertions + s.deletions, 0);
  const parts = [
    count(report.paragraphs, "paragraph", "paragraphs"),
    count(report.headings, "heading", "headings"),
    count(report.list_items, "list item", "list items"),
    count(report.tables, "table", "tables"),
    count(report.footnotes, "footnote", "footnotes"),
    suggestions > 0 ? `${count(suggestions, "tracked change", "tracked changes")} by ${count(authors.length, "person", "people")}` : null,
    count(report.comments.threads, "comment thread", "comment threads"),
    count(report.placeholders.length, "placeholder", "placeholders"),
  ].filter((part): part is string => part !== null);
  return parts.length > 0 ? parts.join(", ") : "an empty document";
}
