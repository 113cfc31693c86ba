import { describe, expect, it } from "vitest";
import { isWordFile, reportSummary } from "./importReport";
import type { ImportReport } from "../ipc";

const empty: ImportReport = {
  title: "Share purchase agreement",
  paragraphs: 0,
  headings: 0,
  list_items: 0,
  tables: 0,
  footnotes: 0,
  hyperlinks: 0,
  page_breaks: 0,
  suggestions: {},
  comments: { threads: 0, replies: 0 },
  placeholders: [],
  warnings: [],
};

describe("a Word import's report", () => {
  it("names what was found, tracked changes with how many people made them", () => {
    const report: ImportReport = {
      ...empty,
      paragraphs: 1204,
      headings: 12,
      tables: 1,
      suggestions: { "Jane Smith": { insertions: 9, deletions: 3 }, "Tom Ray": { insertions: 2, deletions: 0 } },
      comments: { threads: 5, replies: 2 },
      placeholders: [{ kind: "image", label: "Company logo", location: "paragraph 1" }],
    };
    expect(reportSummary(report)).toBe(
      "1,204 paragraphs, 12 headings, 1 table, 14 tracked changes by 2 people, 5 comment threads, 1 placeholder",
    );
    expect(reportSummary(empty)).toBe("an empty document");
  });

  it("takes .docx files only", () => {
    expect(isWordFile("Draft SPA (theirs).DOCX")).toBe(true);
    expect(isWordFile("contract.doc")).toBe(false);
    expect(isWordFile("scan.pdf")).toBe(false);
  });
});
