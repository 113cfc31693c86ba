//! The conflict-of-interest check: before a matter is opened, its client and its adverse and
//! related parties are compared with every party of every matter of the firm (the party index,
//! `case_parties`, kept from the matter documents on the write path: [`index`]). Names match by
//! the rules in [`matching`] (accents, case, punctuation, legal forms, small typos); an in-memory
//! copy of the index on each instance, brought up to date before each check, finds the candidates
//! ([`search`]), the rules decide. Hits are ranked by score.
//!
//! What the caller learns of a hit depends on the matter: full detail (matter, title, party,
//! score) on a matter they may read — a member not screened from it, or a firm admin or holder
//! of the conflicts role not screened from it; otherwise only that a possible conflict exists
//! and whom to ask (the matter's responsible lawyer, or the conflicts role when the caller is
//! screened or the matter has no owner). Every check is stored (`conflict_checks`) and audited;
//! the matter created after it names the check in its document and the server attaches it
//! (`db::conflicts::record_on_matter`).

pub mod index;
pub mod matching;
pub mod search;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db;
use crate::error::Error;
use matching::{MatchRule, NormalName, normalise};

/// Most names one check accepts (client, adverse and related together).
pub const MAX_NAMES: usize = 50;
/// Longest name accepted (characters).
pub const MAX_NAME_CHARS: usize = 300;
/// Most hits one answer lists (the total is always given).
pub const MAX_HITS: usize = 200;

/// What the new-matter form asks to be checked.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CheckRequest {
    pub client: String,
    pub adverse: Vec<String>,
    pub related: Vec<String>,
}

/// Whose side a party is on in a matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    Client,
    Adverse,
    Related,
}

impl PartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Client => "client",
            PartyKind::Adverse => "adverse",
            PartyKind::Related => "related",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "client" => Some(PartyKind::Client),
            "adverse" => Some(PartyKind::Adverse),
            "related" => Some(PartyKind::Related),
            _ => None,
        }
    }
}

/// Whom to ask about a hit the caller may not see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Contact {
    /// The matter's responsible lawyer (its first owner).
    ResponsibleLawyer {
        user_id: String,
        name: Option<String>,
    },
    /// The firm's conflicts role (whoever holds it).
    ConflictsRole,
}

/// One possible conflict.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "visibility", rename_all = "snake_case")]
pub enum Hit {
    /// A matter the caller may read: everything about the match.
    Detail {
        case_id: Uuid,
        title: Option<String>,
        /// The stored party's name, and its side on that matter.
        party: String,
        party_kind: PartyKind,
        /// The searched name it matched, and its side on the new matter.
        searched: String,
        searched_kind: PartyKind,
        score: f64,
        rule: MatchRule,
    },
    /// A matter the caller may not read: only that it exists, and whom to ask.
    Restricted {
        possible_conflict: bool,
        ask: Contact,
    },
}

/// The answer to a check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub check_id: Uuid,
    /// Hits found in all (the list stops at [`MAX_HITS`]).
    pub total: usize,
    pub hits: Vec<Hit>,
}

/// A searched name, normalised.
struct Searched {
    name: String,
    kind: PartyKind,
    normal: NormalName,
}

fn invalid(message: String) -> Error {
    Error::InvalidInput {
        code: "invalid_parties",
        message,
    }
}

/// The names of a request, trimmed and normalised (empty ones dropped); refuses too many or too
/// long.
fn searched_names(request: &CheckRequest) -> Result<Vec<Searched>, Error> {
    let named = std::iter::once((PartyKind::Client, &request.client))
        .chain(
            request
                .adverse
                .iter()
                .map(|name| (PartyKind::Adverse, name)),
        )
        .chain(
            request
                .related
                .iter()
                .map(|name| (PartyKind::Related, name)),
        );
    let mut searched = Vec::new();
    for (kind, name) in named {
        let name = name.trim();
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(format!(
                "a party's name can have at most {MAX_NAME_CHARS} characters"
            )));
        }
        let normal = normalise(name);
        if !normal.is_empty() {
            searched.push(Searched {
                name: name.to_owned(),
                kind,
                normal,
            });
        }
    }
    if searched.is_empty() {
        return Err(invalid(
            "name the client or at least one party to check".into(),
        ));
    }
    if searched.len() > MAX_NAMES {
        return Err(invalid(format!("check at most {MAX_NAMES} names at once")));
    }
    Ok(searched)
}

/// The best match of each stored party (per matter) against the searched names.
struct Found {
    case_id: Uuid,
    party: String,
    party_kind: PartyKind,
    searched: usize,
    score: f64,
    rule: MatchRule,
}

/// Whether the caller may see everything about a hit on this matter.
fn sees_detail(caller: &Principal, matter: &db::conflicts::HitMatter) -> bool {
    !matter.screened && (matter.member || caller.firm_admin || caller.conflicts_officer)
}

fn contact(matter: &db::conflicts::HitMatter) -> Contact {
    match (&matter.owner_id, matter.screened) {
        (Some(user_id), false) => Contact::ResponsibleLawyer {
            user_id: user_id.clone(),
            name: matter.owner_name.clone(),
        },
        _ => Contact::ConflictsRole,
    }
}

/// Run a check for `caller`: find, rank, hide what they may not see, record.
#[tracing::instrument(skip_all, fields(firm = %caller.firm_id))]
pub async fn check(
    pool: &PgPool,
    index: &search::PartyIndex,
    caller: &Principal,
    request: &CheckRequest,
) -> Result<CheckResult, Error> {
    let searched = searched_names(request)?;
    let normals: Vec<NormalName> = searched.iter().map(|name| name.normal.clone()).collect();
    let candidates = index.search(pool, &caller.firm_id, &normals).await?;

    let mut best: HashMap<(Uuid, String, PartyKind), Found> = HashMap::new();
    for candidate in candidates {
        let party = candidate.party;
        let slot = (party.case_id, party.name.clone(), party.kind);
        if best
            .get(&slot)
            .is_none_or(|known| known.score < candidate.found.score)
        {
            best.insert(
                slot,
                Found {
                    case_id: party.case_id,
                    party: party.name,
                    party_kind: party.kind,
                    searched: candidate.searched,
                    score: candidate.found.score,
                    rule: candidate.found.rule,
                },
            );
        }
    }

    let mut found: Vec<Found> = best.into_values().collect();
    // Highest score first; a searched client found as an adverse party before the rest; stable
    // by matter and name so the same check answers the same.
    found.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.party_kind.cmp(&b.party_kind))
            .then_with(|| a.case_id.cmp(&b.case_id))
            .then_with(|| a.party.cmp(&b.party))
    });
    let case_ids: Vec<Uuid> = {
        let mut ids: Vec<Uuid> = found.iter().map(|hit| hit.case_id).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let matters: BTreeMap<Uuid, db::conflicts::HitMatter> =
        db::conflicts::hit_matters(pool, &caller.firm_id, &caller.user_id, &case_ids)
            .await?
            .into_iter()
            .map(|matter| (matter.case_id, matter))
            .collect();
    let gone: Vec<Uuid> = case_ids
        .iter()
        .filter(|id| !matters.contains_key(id))
        .copied()
        .collect();
    index.forget(&caller.firm_id, &gone).await;

    let mut hits = Vec::new();
    let mut restricted_shown = std::collections::BTreeSet::new();
    let mut recorded = Vec::new();
    for hit in &found {
        let Some(matter) = matters.get(&hit.case_id) else {
            continue;
        };
        recorded.push(serde_json::json!({
            "case_id": hit.case_id,
            "kind": hit.party_kind.as_str(),
            "score": hit.score,
            "rule": hit.rule,
        }));
        if sees_detail(caller, matter) {
            hits.push(Hit::Detail {
                case_id: hit.case_id,
                title: matter.title.clone(),
                party: hit.party.clone(),
                party_kind: hit.party_kind,
                searched: searched[hit.searched].name.clone(),
                searched_kind: searched[hit.searched].kind,
                score: hit.score,
                rule: hit.rule,
            });
        } else if restricted_shown.insert(hit.case_id) {
            // One entry per hidden matter, whatever matched in it.
            hits.push(Hit::Restricted {
                possible_conflict: true,
                ask: contact(matter),
            });
        }
    }
    let total = hits.len();
    hits.truncate(MAX_HITS);

    let check_id = Uuid::new_v4();
    let hit_cases: Vec<Uuid> = matters.keys().copied().collect();
    db::conflicts::record_check(
        pool,
        db::conflicts::CheckRecord {
            id: check_id,
            firm_id: &caller.firm_id,
            user_id: &caller.user_id,
            request: serde_json::to_value(request).unwrap_or_default(),
            hits: serde_json::Value::Array(recorded),
            audit: serde_json::json!({
                "check_id": check_id,
                "names": searched.len(),
                "hits": total,
                "cases": hit_cases,
            }),
        },
    )
    .await?;
    Ok(CheckResult {
        check_id,
        total,
        hits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_needs_a_name_and_not_too_many() {
        assert!(searched_names(&CheckRequest::default()).is_err());
        let punctuation_only = CheckRequest {
            client: " ., ".into(),
            ..CheckRequest::default()
        };
        assert!(searched_names(&punctuation_only).is_err());
        let many = CheckRequest {
            client: "Acme".into(),
            adverse: vec!["Globex".into(); MAX_NAMES],
            ..CheckRequest::default()
        };
        assert!(searched_names(&many).is_err());
        let fine = CheckRequest {
            client: "Acme Corp.".into(),
            adverse: vec!["".into(), "Globex".into()],
            related: vec!["Initech".into()],
        };
        let names = searched_names(&fine).unwrap();
        assert_eq!(
            names.iter().map(|name| name.kind).collect::<Vec<_>>(),
            [PartyKind::Client, PartyKind::Adverse, PartyKind::Related]
        );
    }
}
