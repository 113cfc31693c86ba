import { describe, expect, it } from "vitest";
import { syncProblemText } from "./syncProblem";

describe("syncProblemText", () => {
  it("shows nothing when connected", () => {
    expect(syncProblemText(null)).toBeNull();
    expect(syncProblemText("  ")).toBeNull();
  });
  it("names the problem without the error prefix and says the work is safe", () => {
    const text = syncProblemText(
      "connection failed: The certificate of hub.firm.com was issued by “CN=Hotel WiFi CA”, which this computer does not trust.",
    );
    expect(text).toContain("Hotel WiFi CA");
    expect(text).not.toContain("connection failed");
    expect(text).toContain("saved on this computer");
  });
});
