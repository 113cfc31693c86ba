//! Deadlines as an iCalendar file (RFC 5545) for Outlook, Apple Calendar or Google Calendar:
//! one all-day `VEVENT` per deadline (`DTSTART;VALUE=DATE`, `DTEND` the day after), its `UID`
//! made from the matter's and the deadline's ids and a domain of the product's own (not the
//! firm's), so the same deadline has the same UID in every export and importing a newer file
//! updates the event instead of adding a copy. Text is escaped (`\\`, `\;`, `\,`, `\n`), lines
//! are folded at 75 octets without splitting a character, and end in CRLF.

use chrono::{DateTime, NaiveDate, Utc};

use crate::store::projection::UpcomingDeadline;

/// The domain part of every deadline's UID: the same whatever the firm or server.
pub const UID_DOMAIN: &str = "deadlines.lawyers-hub.app";

const MAX_LINE_OCTETS: usize = 75;

/// Escape a TEXT value (RFC 5545 §3.3.11).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            // Other control characters are not allowed in TEXT.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Append one content line, folded at 75 octets (a CRLF and a space start each continuation),
/// never inside a UTF-8 character (RFC 5545 §3.1).
fn push_line(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if used + width > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            // The leading space counts towards the continuation's 75 octets.
            used = 1;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

fn ics_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// The calendar of `deadlines`, called `name`; `stamp` is when it was made (`DTSTAMP`).
/// Deadlines without a valid `YYYY-MM-DD` date are left out.
pub fn deadlines(name: &str, deadlines: &[UpcomingDeadline], stamp: DateTime<Utc>) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Lawyers Hub//Deadlines//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, line);
    }
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    let stamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    for deadline in deadlines {
        let Ok(date) = NaiveDate::parse_from_str(&deadline.date, "%Y-%m-%d") else {
            continue;
        };
        let end = date.succ_opt().unwrap_or(date);
        let matter = deadline.case_title.trim();
        let summary = if matter.is_empty() {
            deadline.title.trim().to_owned()
        } else {
            format!("{} — {matter}", deadline.title.trim())
        };
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(
            &mut out,
            &format!("UID:{}-{}@{UID_DOMAIN}", deadline.case_id, deadline.id),
        );
        push_line(&mut out, &format!("DTSTAMP:{stamp}"));
        push_line(&mut out, &format!("DTSTART;VALUE=DATE:{}", ics_date(date)));
        push_line(&mut out, &format!("DTEND;VALUE=DATE:{}", ics_date(end)));
        push_line(&mut out, &format!("SUMMARY:{}", escape_text(&summary)));
        let mut description = format!("Matter: {matter}");
        if !deadline.kind.trim().is_empty() {
            description.push_str(&format!("\nKind: {}", deadline.kind.trim()));
            push_line(
                &mut out,
                &format!("CATEGORIES:{}", escape_text(deadline.kind.trim())),
            );
        }
        push_line(
            &mut out,
            &format!("DESCRIPTION:{}", escape_text(&description)),
        );
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline(id: &str, date: &str, title: &str, matter: &str) -> UpcomingDeadline {
        UpcomingDeadline {
            case_id: "0b7e4c1a-8f7e-4a57-9a55-4c6f3a1d2e10".into(),
            case_title: matter.into(),
            id: id.into(),
            date: date.into(),
            title: title.into(),
            kind: "filing".into(),
            overdue: false,
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_text("a,b;c\\d\ne\r\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
    }

    #[test]
    fn long_lines_fold_at_75_octets_on_character_boundaries() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "é".repeat(80));
        push_line(&mut out, &line);
        for physical in out.split("\r\n").filter(|part| !part.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        // Unfolding gives the line back.
        assert_eq!(out.replace("\r\n ", ""), format!("{line}\r\n"));
    }

    #[test]
    fn each_deadline_is_an_all_day_event_with_a_stable_uid() {
        let stamp = DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = deadlines(
            "Smith, deadlines",
            &[
                deadline("d1", "2026-12-31", "File reply", "Smith v. Jones"),
                deadline("d2", "not a date", "Ignored", "Smith v. Jones"),
            ],
            stamp,
        );
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        assert!(text.contains("X-WR-CALNAME:Smith\\, deadlines\r\n"));
        assert!(
            text.contains(
                "UID:0b7e4c1a-8f7e-4a57-9a55-4c6f3a1d2e10-d1@deadlines.lawyers-hub.app\r\n"
            )
        );
        assert!(text.contains("DTSTART;VALUE=DATE:20261231\r\nDTEND;VALUE=DATE:20270101\r\n"));
        assert!(text.contains("DTSTAMP:20261206T100000Z\r\n"));
        assert!(text.contains("SUMMARY:File reply — Smith v. Jones\r\n"));
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 1);
    }
}
