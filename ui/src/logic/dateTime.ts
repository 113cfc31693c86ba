// Dates and times as the lawyer's locale writes them ("6 Dec 2026, 14:05"), through one
// Intl.DateTimeFormat per locale. `toLocaleString(locale, options)` builds a new formatter on
// every call; with a suggestion's hover text rendered for each of 1,000 suggestions, that alone
// made opening a negotiated draft ~0.5 s slower in WebKit (tests/e2e/app_bench.py).
const formatters = new Map<string, Intl.DateTimeFormat>();

/** `ms` (since the epoch) as a medium date and a short time in `locale` (the system's if unset). */
export function formatDateTime(ms: number, locale?: string): string {
  const key = locale ?? "";
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
    formatters.set(key, formatter);
  }
  return formatter.format(ms);
}
