//! The matter record: a Y.Map named `case` in the document `cases/{uuid}`. Scalar fields are
//! strings (last writer wins per field); parties and deadlines are Y.Arrays of Y.Maps so two
//! lawyers adding deadlines offline both keep theirs, and ticking one deadline off does not
//! overwrite an edit to another.
//!
//! This module reads and writes the record inside a yrs transaction; the `Store` operations that
//! open that transaction are in `casework`.

use protocol::CaseId;
use serde::{Deserialize, Serialize};
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Map, MapPrelim, MapRef, Out, ReadTxn, TransactionMut,
};

/// The root map of a case document. The sync-server reads `title` from it for its case list.
pub const CASE_MAP: &str = "case";

/// The scalar fields of a matter, as they are stored (key = field name in the Y.Map).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseFields {
    pub title: String,
    pub client: String,
    pub matter_number: String,
    pub practice_area: String,
    /// `open`, `pending` or `closed`.
    pub status: String,
    pub responsible: String,
    pub notes: String,
    /// The server's conflicts check this matter was opened after (its `check_id`), empty when
    /// none ran. Written once, at creation; the server attaches the check to the matter.
    pub conflict_check: String,
    /// What the lawyer decided on that check: `clear` (no hits), `proceeded` (despite
    /// possible conflicts) or `offline` (the check could not run); empty for older matters.
    pub conflict_decision: String,
}

/// The fields written only when a matter is created.
const CREATION_FIELDS: [&str; 2] = ["conflict_check", "conflict_decision"];

/// A change to some fields of a matter: only the fields that are `Some` are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CasePatch {
    pub title: Option<String>,
    pub client: Option<String>,
    pub matter_number: Option<String>,
    pub practice_area: Option<String>,
    pub status: Option<String>,
    pub responsible: Option<String>,
    pub notes: Option<String>,
    pub archived: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Party {
    pub id: String,
    /// `client`, `opposing_party`, `related`, `counsel`, `court` or `other`. The server's
    /// conflicts check indexes `client` as the client, `opposing_party` as adverse, and every
    /// other role but `court` as related.
    pub role: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Deadline {
    pub id: String,
    /// ISO date, `YYYY-MM-DD`.
    pub date: String,
    pub title: String,
    /// `filing`, `hearing`, `limitation`, `internal` or anything the firm uses.
    pub kind: String,
    pub done: bool,
}

/// A whole matter as the matter page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    #[serde(flatten)]
    pub fields: CaseFields,
    pub archived: bool,
    pub parties: Vec<Party>,
    pub deadlines: Vec<Deadline>,
}

const FIELD_NAMES: [&str; 7] = [
    "title",
    "client",
    "matter_number",
    "practice_area",
    "status",
    "responsible",
    "notes",
];

fn string(map: &MapRef, txn: &impl ReadTxn, key: &str) -> String {
    match map.get(txn, key) {
        Some(Out::Any(Any::String(text))) => text.to_string(),
        _ => String::new(),
    }
}

fn boolean(map: &MapRef, txn: &impl ReadTxn, key: &str) -> bool {
    matches!(map.get(txn, key), Some(Out::Any(Any::Bool(true))))
}

fn maps(map: &MapRef, txn: &impl ReadTxn, key: &str) -> Vec<MapRef> {
    match map.get(txn, key) {
        Some(Out::YArray(array)) => array
            .iter(txn)
            .filter_map(|item| match item {
                Out::YMap(map) => Some(map),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Read the matter from a case document (`None` when the document has no `case` map yet).
pub fn read(txn: &impl ReadTxn, case_id: &CaseId) -> Option<Case> {
    let map = txn.get_map(CASE_MAP)?;
    let field = |key| string(&map, txn, key);
    Some(Case {
        id: case_id.to_string(),
        fields: CaseFields {
            title: field("title"),
            client: field("client"),
            matter_number: field("matter_number"),
            practice_area: field("practice_area"),
            status: field("status"),
            responsible: field("responsible"),
            notes: field("notes"),
            conflict_check: field("conflict_check"),
            conflict_decision: field("conflict_decision"),
        },
        archived: boolean(&map, txn, "archived"),
        parties: maps(&map, txn, "parties")
            .iter()
            .map(|party| Party {
                id: string(party, txn, "id"),
                role: string(party, txn, "role"),
                name: string(party, txn, "name"),
            })
            .collect(),
        deadlines: maps(&map, txn, "deadlines")
            .iter()
            .map(|deadline| Deadline {
                id: string(deadline, txn, "id"),
                date: string(deadline, txn, "date"),
                title: string(deadline, txn, "title"),
                kind: string(deadline, txn, "kind"),
                done: boolean(deadline, txn, "done"),
            })
            .collect(),
    })
}

fn root(txn: &mut TransactionMut) -> MapRef {
    use yrs::WriteTxn;
    txn.get_or_insert_map(CASE_MAP)
}

fn array(map: &MapRef, txn: &mut TransactionMut, key: &str) -> ArrayRef {
    match map.get(txn, key) {
        Some(Out::YArray(array)) => array,
        _ => map.insert(txn, key, ArrayPrelim::default()),
    }
}

/// Write a new matter's fields (and empty party/deadline lists).
pub fn create(txn: &mut TransactionMut, fields: &CaseFields) {
    let map = root(txn);
    let values = [
        &fields.title,
        &fields.client,
        &fields.matter_number,
        &fields.practice_area,
        &fields.status,
        &fields.responsible,
        &fields.notes,
    ];
    for (key, value) in FIELD_NAMES.iter().zip(values) {
        map.insert(txn, *key, value.as_str());
    }
    for (key, value) in CREATION_FIELDS
        .iter()
        .zip([&fields.conflict_check, &fields.conflict_decision])
    {
        if !value.is_empty() {
            map.insert(txn, *key, value.as_str());
        }
    }
    map.insert(txn, "archived", false);
    array(&map, txn, "parties");
    array(&map, txn, "deadlines");
}

/// Write the fields of `patch` that are set and differ from what is stored (so an unchanged
/// form field creates no update and does not win over a collaborator's edit).
pub fn apply_patch(txn: &mut TransactionMut, patch: &CasePatch) {
    let map = root(txn);
    let values = [
        &patch.title,
        &patch.client,
        &patch.matter_number,
        &patch.practice_area,
        &patch.status,
        &patch.responsible,
        &patch.notes,
    ];
    for (key, value) in FIELD_NAMES.iter().zip(values) {
        if let Some(value) = value
            && string(&map, txn, key) != *value
        {
            map.insert(txn, *key, value.as_str());
        }
    }
    if let Some(archived) = patch.archived
        && boolean(&map, txn, "archived") != archived
    {
        map.insert(txn, "archived", archived);
    }
}

pub fn add_party(txn: &mut TransactionMut, party: &Party) {
    let map = root(txn);
    let parties = array(&map, txn, "parties");
    parties.push_back(
        txn,
        MapPrelim::from([
            ("id", Any::from(party.id.as_str())),
            ("role", Any::from(party.role.as_str())),
            ("name", Any::from(party.name.as_str())),
        ]),
    );
}

pub fn add_deadline(txn: &mut TransactionMut, deadline: &Deadline) {
    let map = root(txn);
    let deadlines = array(&map, txn, "deadlines");
    deadlines.push_back(
        txn,
        MapPrelim::from([
            ("id", Any::from(deadline.id.as_str())),
            ("date", Any::from(deadline.date.as_str())),
            ("title", Any::from(deadline.title.as_str())),
            ("kind", Any::from(deadline.kind.as_str())),
            ("done", Any::from(deadline.done)),
        ]),
    );
}

/// Find the item with `id` in the array `key`: its index and map.
fn find(txn: &mut TransactionMut, key: &str, id: &str) -> Option<(u32, MapRef, ArrayRef)> {
    let map = root(txn);
    let items = array(&map, txn, key);
    let found = items
        .iter(txn)
        .enumerate()
        .find_map(|(index, item)| match item {
            Out::YMap(entry) if string(&entry, txn, "id") == id => Some((index as u32, entry)),
            _ => None,
        });
    found.map(|(index, entry)| (index, entry, items))
}

/// Tick a deadline off (or on again). Returns false when no deadline has that id.
pub fn set_deadline_done(txn: &mut TransactionMut, id: &str, done: bool) -> bool {
    match find(txn, "deadlines", id) {
        Some((_, entry, _)) => {
            entry.insert(txn, "done", done);
            true
        }
        None => false,
    }
}

/// Remove the party or deadline with `id` from the list `key`. Returns false when absent.
pub fn remove(txn: &mut TransactionMut, key: &str, id: &str) -> bool {
    match find(txn, key, id) {
        Some((index, _, items)) => {
            items.remove(txn, index);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Doc, Transact};

    #[test]
    fn round_trips_a_matter() {
        let doc = Doc::new();
        let fields = CaseFields {
            title: "Acme v. Globex".into(),
            client: "Acme Ltd".into(),
            status: "open".into(),
            ..CaseFields::default()
        };
        {
            let mut txn = doc.transact_mut();
            create(&mut txn, &fields);
            add_deadline(
                &mut txn,
                &Deadline {
                    id: "d1".into(),
                    date: "2026-12-01".into(),
                    title: "File defence".into(),
                    kind: "filing".into(),
                    done: false,
                },
            );
            add_party(
                &mut txn,
                &Party {
                    id: "p1".into(),
                    role: "court".into(),
                    name: "High Court".into(),
                },
            );
            assert!(set_deadline_done(&mut txn, "d1", true));
            assert!(!set_deadline_done(&mut txn, "nope", true));
            apply_patch(
                &mut txn,
                &CasePatch {
                    matter_number: Some("M-1".into()),
                    archived: Some(true),
                    ..CasePatch::default()
                },
            );
        }
        let id = CaseId::parse("0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b").unwrap();
        let case = read(&doc.transact(), &id).unwrap();
        assert_eq!(case.id, id);
        assert_eq!(case.fields.title, "Acme v. Globex");
        assert_eq!(case.fields.matter_number, "M-1");
        assert!(case.archived);
        assert!(case.deadlines[0].done);
        assert_eq!(case.parties[0].name, "High Court");
        {
            let mut txn = doc.transact_mut();
            assert!(remove(&mut txn, "parties", "p1"));
        }
        assert!(read(&doc.transact(), &id).unwrap().parties.is_empty());
    }
}
