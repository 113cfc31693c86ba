// Dates and times as the lawyer's locale writes them ("6 Dec 2026, 14:05"), through one
// Intl.DateTimeFormat per locale and options. `toLocaleString(locale, options)` and
// `new Intl.DateTimeFormat` build a new formatter on every call; with a suggestion's hover text
// rendered for each of 1,000 suggestions, that alone made opening a negotiated draft ~0.5 s
// slower in WebKit (tests/e2e/app_bench.py).
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The formatter for `locale` (the system's if unset) and `options`, made once. */
export function dateTimeFormat(locale: string | string[] | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify([locale ?? null, options]);
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, formatter);
  }
  return formatter;
}

const MEDIUM_DATE_SHORT_TIME: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "short" };

/** `ms` (since the epoch) as a medium date and a short time in `locale` (the system's if unset). */
export function formatDateTime(ms: number, locale?: string | string[]): string {
  return dateTimeFormat(locale, MEDIUM_DATE_SHORT_TIME).format(ms);
}
