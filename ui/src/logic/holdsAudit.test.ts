import { describe, expect, it } from "vitest";
import { formatDate } from "./deadlines";
import { holdDescription, holdReasonProblem, holdsById } from "./holds";
import { actionLabel, auditFilter, detailLine, EMPTY_FORM, formatInstant } from "./audit";
import type { AuditEntry, FirmMatter } from "../ipc";

describe("deadline dates in the lawyer's locale", () => {
  it("writes the day as the locale does, never the day before", () => {
    expect(formatDate("2026-12-31", "en-GB", "short")).toBe("31/12/2026");
    expect(formatDate("2026-12-31", "en-US", "short")).toBe("12/31/26");
    expect(formatDate("2026-12-31", "de-DE", "short")).toBe("31.12.26");
    expect(formatDate("2026-01-01", "en-GB")).toBe("1 Jan 2026");
    expect(formatDate("2026-03-05", "fr-FR")).toBe("5 mars 2026");
  });
  it("shows what is not a date as it is", () => {
    expect(formatDate("", "en-GB")).toBe("");
    expect(formatDate("someday", "en-GB")).toBe("someday");
  });
});

describe("legal holds", () => {
  const matter = (id: string, held: boolean): FirmMatter => ({
    id,
    role: "owner",
    title: id,
    created_at: "2026-12-01T10:00:00Z",
    legal_hold: held,
    hold_reason: held ? "Smith v. Jones" : null,
    hold_by: held ? "root" : null,
    hold_at: held ? "2026-12-06T10:00:00Z" : null,
  });
  it("keeps only held matters, with who and why", () => {
    const holds = holdsById([matter("a", true), matter("b", false)]);
    expect([...holds.keys()]).toEqual(["a"]);
    const text = holdDescription(holds.get("a")!, "en-GB");
    expect(text).toContain("since 6 Dec 2026 by root: Smith v. Jones");
    expect(text).toContain("Nothing of this matter can be deleted");
  });
  it("asks for a reason within the server's limit", () => {
    expect(holdReasonProblem("  ")).toContain("Say why");
    expect(holdReasonProblem("x".repeat(1001))).toContain("1,000");
    expect(holdReasonProblem("Litigation")).toBeNull();
  });
});

describe("audit log", () => {
  const entry: AuditEntry = {
    id: 7,
    case_id: "c",
    case_title: "Smith",
    user_id: "ada",
    user_name: "Ada",
    action: "access_granted",
    detail: { member: "ben", role: "editor", note: null },
    at: "2026-12-06T10:30:00Z",
  };
  it("names actions and sums up the detail", () => {
    expect(actionLabel("legal_hold_placed")).toBe("Legal hold placed");
    expect(actionLabel("something_new")).toBe("something new");
    expect(detailLine(entry)).toBe("member: ben, role: editor");
  });
  it("sends only the filters that are filled in", () => {
    expect(auditFilter({ ...EMPTY_FORM, actor: " ada ", from: "2026-12-01" }, { limit: 100 })).toEqual({
      actor: "ada",
      from: "2026-12-01",
      limit: 100,
    });
    expect(auditFilter(EMPTY_FORM)).toEqual({});
  });
  it("formats instants in the locale", () => {
    expect(formatInstant("2026-12-06T10:30:00Z", "en-GB")).toMatch(/6 Dec 2026/);
    expect(formatInstant("nonsense")).toBe("nonsense");
  });
});
