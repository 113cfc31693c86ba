import { describe, expect, it } from "vitest";
import { personLabel } from "./people";

describe("people are shown by name", () => {
  it("shows the name with the email beside it", () => {
    expect(personLabel({ user_id: "user_2x", name: "Ada Lovelace", email: "ada@acme.test" })).toEqual({
      primary: "Ada Lovelace",
      secondary: "ada@acme.test",
    });
  });

  it("falls back to the email, then to the id (older servers send neither)", () => {
    expect(personLabel({ user_id: "user_2x", name: null, email: "ada@acme.test" })).toEqual({
      primary: "ada@acme.test",
      secondary: null,
    });
    expect(personLabel({ user_id: "user_2x" })).toEqual({ primary: "user_2x", secondary: null });
    expect(personLabel({ user_id: "user_2x", name: "  ", email: "" })).toEqual({ primary: "user_2x", secondary: null });
  });
});
