import { describe, expect, it } from "vitest";
import { updateLabel } from "./updates";

describe("updateLabel", () => {
  it("says an update is ready and how to install it", () => {
    expect(updateLabel({ state: "ready", version: "0.2.0", notes: "" }).text).toBe(
      "Update ready — Lawyers Hub 0.2.0. Restart to install.",
    );
  });
  it("shows a refused update as an error, in the app's words", () => {
    const label = updateLabel({ state: "failed", message: "The update to 0.2.0 was not taken: its signature does not match" });
    expect(label.tone).toBe("error");
    expect(label.text).toContain("signature");
  });
  it("says why updates are off", () => {
    expect(updateLabel({ state: "off", reason: "Updates are turned off by your firm." }).text).toContain("by your firm");
  });
});
