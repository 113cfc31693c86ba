import { describe, expect, it } from "vitest";
import { leavesRemovedMatter, removalNotice, showingCases, takeTitleOnScreen } from "./matterRemoval";

const CASE = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const OTHER = "1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";

describe("matter removed by the firm", () => {
  it("tells the lawyer what happened and how many unsent changes were discarded", () => {
    const removal = { case_id: CASE, reason: "access revoked", discarded_changes: 3 };
    expect(removalNotice(removal, "Smith v Jones")).toBe(
      "You no longer have access to “Smith v Jones”: your firm removed it from this computer. " +
        "3 unsent changes were discarded.",
    );
    expect(removalNotice({ ...removal, discarded_changes: 1 }, null)).toBe(
      "You no longer have access to a matter: your firm removed it from this computer. " +
        "1 unsent change was discarded.",
    );
    expect(removalNotice({ ...removal, discarded_changes: 0 }, null)).toBe(
      "You no longer have access to a matter: your firm removed it from this computer.",
    );
  });

  it("names only a matter the lawyer had on screen, and forgets the title once told", () => {
    showingCases([
      { id: CASE, title: "Smith v Jones" },
      { id: OTHER, title: "Acme v Beta" },
    ]);
    expect(takeTitleOnScreen(CASE)).toBe("Smith v Jones");
    expect(takeTitleOnScreen(CASE)).toBeNull();
    expect(takeTitleOnScreen("2b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b")).toBeNull();
    // A new list replaces what was on screen.
    showingCases([{ id: CASE, title: "Smith v Jones" }]);
    expect(takeTitleOnScreen(OTHER)).toBeNull();
  });

  it("leaves the matter's page and its drafts, nothing else", () => {
    expect(leavesRemovedMatter({ screen: "case", caseId: CASE }, CASE)).toBe(true);
    const draft = { screen: "draft", caseId: CASE, doc: `cases/${CASE}/drafts/x` };
    expect(leavesRemovedMatter(draft, CASE)).toBe(true);
    expect(leavesRemovedMatter({ screen: "case", caseId: OTHER }, CASE)).toBe(false);
    expect(leavesRemovedMatter({ screen: "dashboard" }, CASE)).toBe(false);
    expect(leavesRemovedMatter({ screen: "settings" }, CASE)).toBe(false);
  });
});
