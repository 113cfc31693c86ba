import { describe, expect, it } from "vitest";
import { OVERSCAN, visibleRange } from "./rowWindow";

describe("visibleRange", () => {
  it("draws the rows in view and a margin, never past either end", () => {
    // 1,000 rows of 37 px; the list starts 120 px below the viewport's top, which is 700 px tall.
    expect(visibleRange(120, 700, 37, 1000)).toEqual([0, Math.ceil(580 / 37) + OVERSCAN]);
    // Scrolled 3,700 px past the list's top: rows 100 onwards are in view.
    const [first, last] = visibleRange(-3700, 700, 37, 1000);
    expect(first).toBe(100 - OVERSCAN);
    expect(last).toBe(Math.ceil(4400 / 37) + OVERSCAN);
    // At the bottom, and with a list shorter than the margin.
    expect(visibleRange(-37 * 990, 700, 37, 1000)[1]).toBe(1000);
    expect(visibleRange(0, 700, 37, 3)).toEqual([0, 3]);
    expect(visibleRange(0, 700, 37, 0)).toEqual([0, 0]);
  });

  it("falls back to a default row height before one is measured", () => {
    expect(visibleRange(0, 370, 0, 1000)).toEqual([0, 10 + OVERSCAN]);
  });
});
