import { describe, expect, it } from "vitest";
import { chosenPaper, paperFor } from "./paper";

describe("PDF paper size", () => {
  it("is Letter in North America and A4 elsewhere", () => {
    expect(paperFor("en-US")).toBe("letter");
    expect(paperFor("en")).toBe("letter");
    expect(paperFor("fr-CA")).toBe("letter");
    expect(paperFor("en-GB")).toBe("a4");
    expect(paperFor("de")).toBe("a4");
    expect(paperFor("not a locale!")).toBe("a4");
  });
  it("keeps the lawyer's own choice", () => {
    expect(chosenPaper("a4", "en-US")).toBe("a4");
    expect(chosenPaper("letter", "en-GB")).toBe("letter");
    expect(chosenPaper("legal", "en-GB")).toBe("a4");
    expect(chosenPaper(null, "en-US")).toBe("letter");
  });
});
