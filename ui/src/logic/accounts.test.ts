import { describe, expect, it } from "vitest";
import { attachLabel, mismatchNotice } from "./accounts";

const ada = { server: "hub.firm-a.example:443/api/v1/sync", firm: "firm-a", user: "ada" };
const mallory = { server: "hub.firm-a.example:443/api/v1/sync", firm: "firm-b", user: "mallory" };

describe("one local store per account", () => {
  it("offers to upload matters made before the first sign-in, naming the firm", () => {
    expect(attachLabel({ account: ada, case_ids: ["a", "b"] })).toBe(
      "Upload 2 matters made on this computer to firm-a",
    );
    expect(attachLabel({ account: ada, case_ids: ["a"] })).toBe("Upload 1 matter made on this computer to firm-a");
  });

  it("offers nothing before a sign-in or without local matters", () => {
    expect(attachLabel({ account: null, case_ids: ["a"] })).toBeNull();
    expect(attachLabel({ account: ada, case_ids: [] })).toBeNull();
  });

  it("says whose data this is and that nothing goes to the other firm", () => {
    expect(mismatchNotice({ bound: ada, signed_in: mallory, message: "" })).toBe(
      "This computer's Lawyers Hub data belongs to ada at firm-a on hub.firm-a.example:443/api/v1/sync. " +
        "Sign in as that account, or set that server in Settings, to sync it. Nothing is sent to firm-b meanwhile.",
    );
  });
});
