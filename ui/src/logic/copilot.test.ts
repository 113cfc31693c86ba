import { describe, expect, it } from "vitest";
import { EMPTY_ANSWER, answerContent, applyEvent, copilotFix, offlineReason } from "./copilot";

describe("copilot answers", () => {
  it("streams deltas in order, then done with usage", () => {
    let answer = applyEvent(EMPTY_ANSWER, { event: "start", data: {} });
    for (const text of ["The ", "Supplier ", "shall"]) answer = applyEvent(answer, { event: "delta", data: { text } });
    expect(answer.text).toBe("The Supplier shall");
    expect(answer.state).toBe("streaming");
    answer = applyEvent(answer, { event: "done", data: { usage: { total_tokens: 42 } } });
    expect(answer).toEqual({ text: "The Supplier shall", state: "done", error: null, tokens: 42 });
  });
  it("shows the server's message on error and keeps what streamed", () => {
    const answer = applyEvent({ ...EMPTY_ANSWER, text: "partial", state: "streaming" }, {
      event: "error",
      data: { code: "upstream_unavailable", message: "The AI service is busy. Try again in a minute." },
    });
    expect(answer.state).toBe("error");
    expect(answer.text).toBe("partial");
    expect(answer.error).toContain("busy");
  });
  it("is disabled with a reason when not connected", () => {
    expect(offlineReason({ mode: "synced", pending: 0 })).toBeNull();
    expect(offlineReason({ mode: "offline", pending: 2 })).toContain("You're offline");
    expect(offlineReason({ mode: "signed_out", pending: 0 })).toContain("Sign in");
  });
  it("inserts one paragraph inline and several as paragraphs", () => {
    expect(answerContent(" Shorter clause. ")).toBe("Shorter clause.");
    expect(answerContent("One.\n\nTwo.")).toEqual([
      { type: "paragraph", content: [{ type: "text", text: "One." }] },
      { type: "paragraph", content: [{ type: "text", text: "Two." }] },
    ]);
  });
});

describe("copilotFix", () => {
  it("sends firm admins to AI settings and owners to the matter's consent", () => {
    expect(copilotFix("copilot_disabled", { role: "editor", firmAdmin: true })?.target).toBe("ai-settings");
    expect(copilotFix("copilot_disabled", { role: "owner", firmAdmin: false })).toBeNull();
    expect(copilotFix("consent_required", { role: "owner", firmAdmin: false })?.target).toBe("matter");
    expect(copilotFix("consent_required", { role: "editor", firmAdmin: true })?.target).toBe("matter");
    expect(copilotFix("consent_required", { role: "commenter", firmAdmin: false })).toBeNull();
    expect(copilotFix("quota_exceeded", { role: "owner", firmAdmin: true })?.target).toBe("ai-settings");
    expect(copilotFix("copilot_not_configured", { role: "owner", firmAdmin: true })).toBeNull();
  });
});
