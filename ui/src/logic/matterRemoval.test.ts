import { describe, expect, it } from "vitest";
import {
  leavesRemovedMatter,
  liveNotice,
  removalNoticeText,
  showingCases,
  storedNotice,
  takeTitleOnScreen,
  withLiveRemoval,
  withStoredRemovals,
  withoutNotice,
  type StoredRemoval,
} from "./matterRemoval";

const CASE = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const OTHER = "1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";

describe("matter removed by the firm", () => {
  it("tells the lawyer what happened and how many unsent changes were discarded", () => {
    const removal = { case_id: CASE, reason: "access revoked", discarded_changes: 3 };
    expect(removalNoticeText(liveNotice(removal, "Smith v Jones"))).toBe(
      "You no longer have access to “Smith v Jones”: your firm removed it from this computer. " +
        "3 unsent changes were discarded.",
    );
    expect(removalNoticeText(liveNotice({ ...removal, discarded_changes: 1 }, null))).toBe(
      "You no longer have access to a matter (reference 0b8f5a7e): your firm removed it from this computer. " +
        "1 unsent change was discarded.",
    );
    expect(removalNoticeText(liveNotice({ ...removal, discarded_changes: 0 }, null))).toBe(
      "You no longer have access to a matter (reference 0b8f5a7e): your firm removed it from this computer.",
    );
  });

  it("after a restart says only what the store kept: the reference, the day, the count", () => {
    const stored: StoredRemoval = { case_id: CASE, removed_at: 1_796_000_000, reason: "access revoked", discarded_changes: 2 };
    const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);
    expect(removalNoticeText(storedNotice(stored), day)).toBe(
      "You no longer have access to a matter (reference 0b8f5a7e): your firm removed it from this computer " +
        "on 2026-11-30. 2 unsent changes were discarded.",
    );
    // Removed by a version that did not count the discarded changes: nothing is claimed.
    expect(removalNoticeText(storedNotice({ ...stored, discarded_changes: null }), day)).toBe(
      "You no longer have access to a matter (reference 0b8f5a7e): your firm removed it from this computer on 2026-11-30.",
    );
  });

  it("shows each removed matter once, live or stored, and the live one with its title", () => {
    const stored: StoredRemoval[] = [
      { case_id: CASE, removed_at: 100, reason: "access revoked", discarded_changes: 3 },
      { case_id: OTHER, removed_at: 50, reason: "document not found", discarded_changes: 0 },
    ];
    // The event came before the launch list loaded (its tombstone is in that list too).
    const live = withLiveRemoval([], liveNotice({ case_id: CASE, reason: "access revoked", discarded_changes: 3 }, "Smith v Jones"));
    const merged = withStoredRemovals(live, stored, new Set());
    expect(merged.map((notice) => [notice.case_id, notice.title])).toEqual([
      [CASE, "Smith v Jones"],
      [OTHER, null],
    ]);

    // The list loaded first, then the event: the live notice takes the stored one's place.
    const loaded = withStoredRemovals([], stored, new Set());
    expect(loaded).toHaveLength(2);
    const updated = withLiveRemoval(loaded, liveNotice({ case_id: OTHER, reason: "access revoked", discarded_changes: 1 }, "Acme v Beta"));
    expect(updated.map((notice) => [notice.case_id, notice.title])).toEqual([
      [OTHER, "Acme v Beta"],
      [CASE, null],
    ]);

    // Loading again adds nothing already shown.
    expect(withStoredRemovals(updated, stored, new Set())).toEqual(updated);

    // Dismissed: gone, and a list that loads afterwards does not bring it back.
    const dismissed = new Set([CASE]);
    const after = withoutNotice(updated, CASE);
    expect(after.map((notice) => notice.case_id)).toEqual([OTHER]);
    expect(withStoredRemovals(after, stored, dismissed)).toEqual(after);
    expect(withStoredRemovals([], stored, dismissed).map((notice) => notice.case_id)).toEqual([OTHER]);
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
