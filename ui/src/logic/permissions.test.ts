import { describe, expect, it } from "vitest";
import { canComment, canShare, canWrite, leavesNoOwner, parseRole } from "./permissions";

describe("permissions", () => {
  it("lets a commenter comment but not edit, accept or share", () => {
    expect(canComment("commenter")).toBe(true);
    expect(canWrite("commenter")).toBe(false);
    expect(canShare("commenter")).toBe(false);
  });

  it("lets viewers only read, editors edit and comment, owners share", () => {
    expect([canWrite("viewer"), canComment("viewer")]).toEqual([false, false]);
    expect([canWrite("editor"), canComment("editor"), canShare("editor")]).toEqual([true, true, false]);
    expect([canWrite("owner"), canComment("owner"), canShare("owner")]).toEqual([true, true, true]);
  });

  it("reads an unknown role as a viewer", () => {
    expect(parseRole("commenter")).toBe("commenter");
    expect(parseRole("janitor")).toBe("viewer");
  });

  it("warns before the last owner is demoted or removed", () => {
    const members = [
      { user_id: "ada", role: "owner" },
      { user_id: "ben", role: "editor" },
    ];
    expect(leavesNoOwner(members, "ada", "editor")).toBe(true);
    expect(leavesNoOwner(members, "ada", null)).toBe(true);
    expect(leavesNoOwner(members, "ben", null)).toBe(false);
    expect(leavesNoOwner([...members, { user_id: "cy", role: "owner" }], "ada", null)).toBe(false);
  });
});
