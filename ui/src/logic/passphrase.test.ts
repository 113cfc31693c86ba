import { describe, expect, it } from "vitest";
import { passphraseProblem } from "./passphrase";

describe("passphraseProblem", () => {
  it("asks for ten characters, counted as the lawyer sees them", () => {
    expect(passphraseProblem("short", "short")).toMatch(/at least 10/);
    // Nine characters, though more UTF-16 units: still too short.
    expect(passphraseProblem("𝒜𝒜𝒜𝒜𝒜𝒜𝒜𝒜𝒜", "𝒜𝒜𝒜𝒜𝒜𝒜𝒜𝒜𝒜")).toMatch(/at least 10/);
  });
  it("asks for the same passphrase twice", () => {
    expect(passphraseProblem("correct horse", "correct horsE")).toMatch(/differ/);
    expect(passphraseProblem("correct horse", "correct horse")).toBeNull();
  });
});
