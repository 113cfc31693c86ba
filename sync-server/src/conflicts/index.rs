//! What the party index and the check's record read from a matter's document (`cases/{uuid}`,
//! Y.Map `case`; the layout is `hub_local::store::matter_record`'s): the `client` field, the
//! `parties` array (Y.Maps with `role` and `name`), and the `conflict_check` / `conflict_decision`
//! fields the app writes when it creates the matter after a check.
//!
//! Party roles map to sides: `client` → client; `opposing_party` (and `adverse`) → adverse;
//! `related`, `other` and `counsel` → related; `court` is not indexed (a court is never a
//! conflict). An unknown role is indexed as related: a miss is worse than a false alarm.

use yrs::{Any, Array, GetString, Map, MapRef, Out, ReadTxn};

use super::PartyKind;
use super::matching::normalise;
use crate::db::conflicts::IndexedParty;

/// What a matter's document says for the conflicts check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatterParties {
    /// Sorted and without duplicates, so an unchanged list compares equal.
    pub parties: Vec<IndexedParty>,
    /// The check the matter was created after (`conflict_check`, a UUID), if any.
    pub check: Option<String>,
    /// What the lawyer decided (`conflict_decision`): `clear`, `proceeded`, `offline`.
    pub decision: Option<String>,
}

fn kind_of_role(role: &str) -> Option<PartyKind> {
    match role {
        "client" => Some(PartyKind::Client),
        "opposing_party" | "adverse" => Some(PartyKind::Adverse),
        "court" => None,
        _ => Some(PartyKind::Related),
    }
}

fn text(map: &MapRef, txn: &impl ReadTxn, key: &str) -> Option<String> {
    let value = match map.get(txn, key)? {
        Out::Any(Any::String(text)) => text.to_string(),
        Out::YText(text) => text.get_string(txn),
        _ => return None,
    };
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn party(kind: PartyKind, name: String) -> Option<IndexedParty> {
    let key = normalise(&name).key();
    (!key.is_empty()).then_some(IndexedParty {
        kind: kind.as_str(),
        name,
        key,
    })
}

/// Read the parties and the check from the `case` map (`None` when the document has none).
pub fn read(txn: &impl ReadTxn) -> Option<MatterParties> {
    let map = txn.get_map("case")?;
    let mut parties: Vec<IndexedParty> = Vec::new();
    if let Some(client) = text(&map, txn, "client") {
        parties.extend(party(PartyKind::Client, client));
    }
    if let Some(Out::YArray(list)) = map.get(txn, "parties") {
        for item in list.iter(txn) {
            let Out::YMap(entry) = item else { continue };
            let role = text(&entry, txn, "role").unwrap_or_default();
            let Some(name) = text(&entry, txn, "name") else {
                continue;
            };
            if let Some(kind) = kind_of_role(&role) {
                parties.extend(party(kind, name));
            }
        }
    }
    parties.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    parties.dedup_by(|a, b| a.kind == b.kind && a.name == b.name);
    Some(MatterParties {
        parties,
        check: text(&map, txn, "conflict_check"),
        decision: text(&map, txn, "conflict_decision"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{ArrayPrelim, Doc, MapPrelim, Transact};

    #[test]
    fn reads_the_client_and_parties_by_side() {
        let doc = Doc::new();
        let map = doc.get_or_insert_map("case");
        {
            let mut txn = doc.transact_mut();
            map.insert(&mut txn, "client", "Acme Corp.");
            map.insert(
                &mut txn,
                "conflict_check",
                "7d0c5b4e-0000-4000-8000-000000000000",
            );
            map.insert(&mut txn, "conflict_decision", "proceeded");
            let list = map.insert(&mut txn, "parties", ArrayPrelim::default());
            for (role, name) in [
                ("opposing_party", "Globex"),
                ("court", "High Court"),
                ("counsel", "Dewey & Co"),
                ("client", "Acme Corp."),
                ("related", " "),
            ] {
                list.push_back(
                    &mut txn,
                    MapPrelim::from([("role", Any::from(role)), ("name", Any::from(name))]),
                );
            }
        }
        let read = read(&doc.transact()).unwrap();
        let sides: Vec<(&str, &str, &str)> = read
            .parties
            .iter()
            .map(|p| (p.kind, p.name.as_str(), p.key.as_str()))
            .collect();
        assert_eq!(
            sides,
            [
                ("adverse", "Globex", "globex"),
                ("client", "Acme Corp.", "acme"),
                ("related", "Dewey & Co", "dewey"),
            ]
        );
        assert_eq!(read.decision.as_deref(), Some("proceeded"));
        assert!(read.check.is_some());
    }

    #[test]
    fn a_document_without_a_matter_has_nothing() {
        assert_eq!(read(&Doc::new().transact()), None);
    }
}
