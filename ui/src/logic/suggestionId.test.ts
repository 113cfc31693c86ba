import { describe, expect, it } from "vitest";
import { makeSuggestionId, parseSuggestionId, suggestionAuthor, suggestionTitle } from "./suggestionId";

describe("suggestion ids", () => {
  it("are s:<ms>:<random>:<author>", () => {
    const id = makeSuggestionId("Jane Smith", 1764979200000);
    expect(id).toMatch(/^s:1764979200000:[a-z0-9]{8}:Jane Smith$/);
    expect(makeSuggestionId("Jane Smith", 1764979200000)).not.toBe(id);
    expect(makeSuggestionId("A", 5, "k3x9q2")).toBe("s:5:k3x9q2:A");
  });

  it("parse back to author and time, the author keeping any colons", () => {
    expect(parseSuggestionId("s:1764979200000:k3x9q2:Jane Smith")).toEqual({ author: "Jane Smith", created: 1764979200000 });
    expect(parseSuggestionId("s:1764979200000:w12:Smith: Jane (Legal)")).toEqual({ author: "Smith: Jane (Legal)", created: 1764979200000 });
    expect(parseSuggestionId(makeSuggestionId("Ann", 42))).toEqual({ author: "Ann", created: 42 });
    expect(parseSuggestionId("s:1:abc:")).toEqual({ author: "", created: 1 });
  });

  it("refuse what is not one", () => {
    for (const bad of [1, null, "", "x:1:a:b", "s:abc:k:Jane", "s:1:K_X:Jane", "s:1:abc"]) expect(parseSuggestionId(bad)).toBeNull();
    expect(suggestionAuthor(7)).toBe("Unknown");
    expect(suggestionTitle("deletion", 7)).toBe("Deleted (suggestion)");
    expect(suggestionTitle("insertion", "s:1764979200000:k3x9q2:Jane Smith")).toMatch(/^Inserted by Jane Smith, /);
  });
});
