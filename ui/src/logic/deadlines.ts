import { dateTimeFormat } from "./dateTime";
/** Days from `today` to `date` (both YYYY-MM-DD); negative when overdue. */
export function daysUntil(today: string, date: string): number {
  const start = Date.UTC(+today.slice(0, 4), +today.slice(5, 7) - 1, +today.slice(8, 10));
  const end = Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10));
  return Math.round((end - start) / 86_400_000);
}

/** "Overdue by 3 days", "Today", "Tomorrow", "In 5 days". */
export function dueLabel(today: string, date: string): string {
  const days = daysUntil(today, date);
  if (days < 0) return days === -1 ? "Overdue by 1 day" : `Overdue by ${-days} days`;
  if (days === 0) return "Today";
  if (days === 1) return "Tomorrow";
  return `In ${days} days`;
}

export function isValidDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/**
 * A `YYYY-MM-DD` date as the lawyer's locale writes it ("31/12/2026", "12/31/2026",
 * "31.12.2026"), by `Intl.DateTimeFormat`. The date is a calendar day, not an instant: it is
 * formatted in UTC so no time zone moves it to the day before. Anything else is shown as it is.
 */
export function formatDate(date: string, locale?: string | string[], style: "short" | "medium" = "medium"): string {
  if (!isValidDate(date)) return date;
  return dateTimeFormat(locale, { dateStyle: style, timeZone: "UTC" }).format(new Date(`${date}T00:00:00Z`));
}
