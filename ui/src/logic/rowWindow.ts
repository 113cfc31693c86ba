// Which rows of a long list to draw: those in view plus a margin either side.

/** Rows drawn beyond the visible ones, above and below, so scrolling never shows a gap. */
export const OVERSCAN = 25;
/** A row's height before one has been measured (cells never wrap: every row is one line). */
export const DEFAULT_ROW_HEIGHT = 37;

/**
 * The half-open range [first, last) of rows to draw, given where the list's first row starts
 * relative to the top of its scrolling viewport (negative once scrolled past), the viewport's
 * height and a row's height.
 */
export function visibleRange(listTop: number, viewport: number, rowHeight: number, count: number): [number, number] {
  const height = rowHeight > 0 ? rowHeight : DEFAULT_ROW_HEIGHT;
  const hidden = Math.max(0, -listTop);
  const shown = Math.max(0, viewport - Math.max(0, listTop));
  const first = Math.floor(hidden / height);
  const last = Math.ceil((hidden + shown) / height);
  return [Math.min(count, Math.max(0, first - OVERSCAN)), Math.min(count, last + OVERSCAN)];
}
