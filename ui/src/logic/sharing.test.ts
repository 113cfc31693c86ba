import { describe, expect, it } from "vitest";
import { OFFLINE_MESSAGE, liftQuestion, monthsAgo, problemText, removeQuestion, roleChangeQuestion, tokensOf, wallQuestion } from "./sharing";

const ben = { user_id: "user_ben", name: "Ben Okafor", email: "ben@firm.example" };

describe("sharing confirmations", () => {
  it("say what will happen, to whom, on which matter", () => {
    expect(removeQuestion(ben, "Acme v Widget")).toContain("Remove Ben Okafor from “Acme v Widget”");
    expect(removeQuestion(ben, "Acme v Widget")).toContain("deleted from their computer");
    expect(roleChangeQuestion(ben, "commenter", null)).toContain("read and comment, but not edit");
    expect(wallQuestion(ben, "Acme", "acted for the other side")).toContain("They lose the matter at once");
    expect(wallQuestion(ben, "Acme", "acted for the other side")).toContain("“acted for the other side”");
    expect(liftQuestion({ user_id: "u9" }, "")).toContain("between u9 and this matter");
  });

  it("turn an unreachable server into the offline message", () => {
    expect(problemText({ code: "connection", message: "timed out" })).toBe(OFFLINE_MESSAGE);
    expect(problemText({ code: "forbidden", message: "only owners" })).toBe("only owners");
  });

  it("counts tokens and months", () => {
    expect(tokensOf({ prompt_tokens: 3, completion_tokens: 4 })).toBe(7);
    expect(monthsAgo(new Date("2026-03-15T10:00:00Z"), 5)).toBe("2025-10-01T00:00:00.000Z");
  });
});
