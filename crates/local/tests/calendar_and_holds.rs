//! Deadlines exported as an iCalendar file, read back by a real RFC 5545 parser (Python's
//! `icalendar`); and a matter under legal hold whose drafts, parties and deadlines the store
//! refuses to delete.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::io::Write;
use std::process::{Command, Stdio};

use hub_local::store::matter_record::CaseFields;
use hub_local::{FixedKey, LegalHold, LocalError, Store};

fn key() -> FixedKey {
    FixedKey("calendar test key".into())
}

fn matter(store: &Store, title: &str) -> hub_local::CaseId {
    store
        .create_case(&CaseFields {
            title: title.into(),
            ..CaseFields::default()
        })
        .unwrap()
}

/// Parse `ics` with Python's `icalendar` and list each event as
/// `[uid, summary, start (ISO), start is a date, end (ISO), description]`.
fn parse(ics: &str) -> Vec<Vec<serde_json::Value>> {
    let script = r#"
import sys, json, datetime, icalendar
calendar = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
events = []
for event in calendar.walk('VEVENT'):
    start = event.decoded('DTSTART')
    events.append([str(event['UID']), str(event['SUMMARY']), start.isoformat(),
                   type(start) is datetime.date, event.decoded('DTEND').isoformat(),
                   str(event['DESCRIPTION'])])
print(json.dumps({"name": str(calendar.get('X-WR-CALNAME')), "events": events}))
"#;
    // The system Python, where scripts/setup installs python3-icalendar (a virtualenv's
    // `python3` earlier on PATH would not have it).
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|python| std::path::Path::new(python).exists())
        .unwrap_or("python3");
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with icalendar (scripts/setup installs python3-icalendar)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ics.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the parser refused the file:\n{ics}"
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    parsed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event.as_array().unwrap().clone())
        .collect()
}

#[test]
fn deadlines_export_as_all_day_events_a_real_parser_reads_with_stable_uids() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hub.db"), &key()).unwrap();
    let smith = matter(&store, "Smith; Jones, and \"Partners\" — Überprüfung");
    let lease = matter(&store, "Office lease");
    let long_title = "Serve the defence and counterclaim, with every exhibit, on all parties \
                      named in the amended claim form (CPR 6.3)";
    let reply = store
        .add_deadline(&smith, "2026-12-31", long_title, "filing")
        .unwrap();
    let hearing = store
        .add_deadline(&smith, "2027-01-15", "Hearing\nCourt 4", "hearing")
        .unwrap();
    let done = store
        .add_deadline(&smith, "2027-02-01", "Done already", "internal")
        .unwrap();
    store.set_deadline_done(&smith, &done.id, true).unwrap();
    store
        .add_deadline(&lease, "2026-11-01", "Past break date", "internal")
        .unwrap();
    store
        .add_deadline(&lease, "2027-03-01", "Rent review", "internal")
        .unwrap();

    let first = store
        .deadlines_calendar(Some(&smith), "2026-12-06", "Smith deadlines")
        .unwrap();
    assert!(
        first.lines().all(|line| line.len() <= 76),
        "folded at 75 octets + CR"
    );
    assert!(first.contains("\r\n "), "the long summary is folded");
    let events = parse(&first);
    assert_eq!(events.len(), 2, "open deadlines of the matter");
    let (uid, summary, start, is_date, end, description) = (
        &events[0][0],
        &events[0][1],
        &events[0][2],
        &events[0][3],
        &events[0][4],
        &events[0][5],
    );
    assert_eq!(
        summary.as_str().unwrap(),
        format!("{long_title} — Smith; Jones, and \"Partners\" — Überprüfung")
    );
    assert_eq!(
        (start.as_str(), end.as_str()),
        (Some("2026-12-31"), Some("2027-01-01"))
    );
    assert_eq!(*is_date, serde_json::Value::Bool(true), "an all-day event");
    assert!(description.as_str().unwrap().contains("Kind: filing"));
    assert_eq!(
        uid.as_str().unwrap(),
        format!("{smith}-{}@deadlines.lawyers-hub.app", reply.id)
    );
    assert_eq!(
        events[1][1],
        "Hearing\nCourt 4 — Smith; Jones, and \"Partners\" — Überprüfung"
    );
    assert!(events[1][0].as_str().unwrap().contains(&hearing.id));

    // A later export (after an edit) keeps every UID: re-importing updates the events.
    store
        .add_deadline(&smith, "2027-01-20", "Skeleton argument", "filing")
        .unwrap();
    let second = parse(
        &store
            .deadlines_calendar(Some(&smith), "2026-12-06", "Smith deadlines")
            .unwrap(),
    );
    let uids = |events: &[Vec<serde_json::Value>]| -> Vec<String> {
        events
            .iter()
            .map(|event| event[0].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(second.len(), 3);
    for uid in uids(&events) {
        assert!(uids(&second).contains(&uid));
    }

    // All upcoming: every matter's open deadlines from today, none past.
    let all = parse(
        &store
            .deadlines_calendar(None, "2026-12-06", "Upcoming deadlines")
            .unwrap(),
    );
    let starts: Vec<&str> = all.iter().map(|event| event[2].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        ["2026-12-31", "2027-01-15", "2027-01-20", "2027-03-01"]
    );
    assert_eq!(all[3][1], "Rent review — Office lease");
}

#[test]
fn a_held_matters_drafts_parties_and_deadlines_are_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hub.db"), &key()).unwrap();
    let held = matter(&store, "Held");
    let free = matter(&store, "Free");
    let held_draft = store.create_draft(&held, "Witness statement").unwrap();
    let free_draft = store.create_draft(&free, "Letter").unwrap();
    let deadline = store
        .add_deadline(&held, "2027-01-01", "File", "filing")
        .unwrap();

    store
        .record_legal_holds(&[LegalHold {
            case_id: held,
            reason: "Smith v. Jones litigation".into(),
            placed_by: "root".into(),
            placed_at: "2026-12-06T10:00:00Z".into(),
        }])
        .unwrap();
    assert_eq!(store.legal_hold(&held).unwrap().unwrap().placed_by, "root");
    let error = store.delete_draft(&held_draft).unwrap_err();
    assert!(
        matches!(&error, LocalError::LegalHold { reason } if reason == "Smith v. Jones litigation")
    );
    assert_eq!(error.code(), "legal_hold");
    assert!(
        error.to_string().contains("Smith v. Jones litigation"),
        "{error}"
    );
    let error = store
        .remove_from_case(&held, "deadlines", &deadline.id)
        .unwrap_err();
    assert_eq!(error.code(), "legal_hold");
    assert_eq!(
        store.drafts(&held).unwrap().len(),
        1,
        "the draft is still listed"
    );
    // Other matters are not affected.
    store.delete_draft(&free_draft).unwrap();

    // The server's next listing no longer holds it: deletion works again.
    store.record_legal_holds(&[]).unwrap();
    assert_eq!(store.legal_hold(&held).unwrap(), None);
    store.delete_draft(&held_draft).unwrap();
    store
        .remove_from_case(&held, "deadlines", &deadline.id)
        .unwrap();
}
