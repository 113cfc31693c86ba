//! Finding the stored parties a searched name may match, in memory. Each server instance keeps a
//! copy of each firm's party index (`case_parties`, the record, stays in Postgres) and brings it
//! up to date before every check from the matters whose parties changed since (`cases.parties_seq`,
//! one indexed query), so two instances answer alike and a party written through either is seen.
//!
//! The copy is indexed so that the [`matching`](super::matching) rules need not be run against
//! every party: every rule needs at least one word of the searched name (or the name written
//! without spaces) to match a word of the stored name (or it written without spaces) by
//! [`tokens_match`]. So the candidates are the parties holding a word that matches a searched word,
//! found exactly: the word itself; one edit away through every word's one-letter deletions (two
//! words one edit apart share a deletion, or one is a deletion of the other); two edits away (only
//! allowed when the longer word has 9 letters or more) by comparing the known words of nearby
//! lengths. The rules then decide on each candidate, as before.
//!
//! Words are never dropped from the vocabulary (a word no party holds any more finds nothing);
//! a matter deleted from the database stays in the copy until a check hits it and finds it gone
//! ([`PartyIndex::forget`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

use super::PartyKind;
use super::matching::{self, NameMatch, NormalName, tokens_match};
use crate::db;

/// A party of a matter, as the copy holds it.
#[derive(Debug, Clone)]
pub struct StoredParty {
    pub case_id: Uuid,
    pub kind: PartyKind,
    pub name: String,
    pub normal: NormalName,
}

/// A stored party the rules say may be the same as searched name number `searched`.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub party: StoredParty,
    pub searched: usize,
    pub found: NameMatch,
}

struct Word {
    text: Box<str>,
    /// Letter counts in 32 bins: each edit changes their sum of differences by at most 2, so a
    /// word whose bins differ by more than 4 is not two edits away (a cheap filter first).
    bins: [u8; 32],
    /// The parties holding this word (slots of [`FirmParties::parties`]).
    parties: Vec<u32>,
}

fn bins(text: &str) -> [u8; 32] {
    let mut bins = [0u8; 32];
    for c in text.chars() {
        let bin = (c as u32 % 32) as usize;
        bins[bin] = bins[bin].saturating_add(1);
    }
    bins
}

fn bins_apart(a: &[u8; 32], b: &[u8; 32], limit: u32) -> bool {
    let mut sum = 0u32;
    for (x, y) in a.iter().zip(b) {
        sum += u32::from(x.abs_diff(*y));
    }
    sum > limit
}

/// A party in its slot, with the ids of its words and of the name without spaces.
struct Slot {
    party: StoredParty,
    words: Vec<u32>,
    compact: Option<u32>,
}

/// One firm's parties, indexed by word.
#[derive(Default)]
pub struct FirmParties {
    /// The highest change number applied (`cases.parties_seq`).
    seq: i64,
    parties: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_case: HashMap<Uuid, Vec<u32>>,
    words: Vec<Word>,
    vocabulary: HashMap<Box<str>, u32>,
    /// Each one-letter deletion of each word of 5 to 8 letters → those words (longer words are
    /// found by the two-edit comparison, which covers one edit too).
    deletions: HashMap<Box<str>, Vec<u32>>,
    /// The words of each length in letters (for the two-edit comparison).
    by_length: Vec<Vec<u32>>,
}

/// A name written without spaces, when it has several words.
fn compact(name: &NormalName) -> Option<String> {
    (name.words.len() > 1).then(|| name.words.concat())
}

/// Every string made by deleting one letter of `word`.
fn deletions(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out: Vec<String> = (0..chars.len())
        .map(|skip| {
            chars
                .iter()
                .enumerate()
                .filter(|(at, _)| *at != skip)
                .map(|(_, c)| *c)
                .collect()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Words of these lengths have their one-letter deletions indexed.
const DELETION_LENGTHS: std::ops::RangeInclusive<usize> = 5..=8;

impl FirmParties {
    /// The change number this copy is up to date with.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    fn word_id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.vocabulary.get(text) {
            return *id;
        }
        let id = self.words.len() as u32;
        self.words.push(Word {
            text: text.into(),
            bins: bins(text),
            parties: Vec::new(),
        });
        self.vocabulary.insert(text.into(), id);
        let length = text.chars().count();
        if self.by_length.len() <= length {
            self.by_length.resize_with(length + 1, Vec::new);
        }
        self.by_length[length].push(id);
        if DELETION_LENGTHS.contains(&length) {
            for deleted in deletions(text) {
                self.deletions
                    .entry(deleted.into_boxed_str())
                    .or_default()
                    .push(id);
            }
        }
        id
    }

    fn remove_case(&mut self, case_id: &Uuid) {
        let Some(slots) = self.by_case.remove(case_id) else {
            return;
        };
        for slot in slots {
            let Some(held) = self.parties.get_mut(slot as usize).and_then(Option::take) else {
                continue;
            };
            for id in held.words.iter().chain(&held.compact) {
                self.words[*id as usize]
                    .parties
                    .retain(|party| *party != slot);
            }
            self.free.push(slot);
        }
    }

    fn add(&mut self, party: StoredParty) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.parties.push(None);
                (self.parties.len() - 1) as u32
            }
        };
        let mut words: Vec<u32> = Vec::with_capacity(party.normal.words.len());
        for word in &party.normal.words {
            let id = self.word_id(word);
            if !words.contains(&id) {
                self.words[id as usize].parties.push(slot);
            }
            words.push(id);
        }
        let compact = compact(&party.normal).map(|text| {
            let id = self.word_id(&text);
            if !words.contains(&id) {
                self.words[id as usize].parties.push(slot);
            }
            id
        });
        self.by_case.entry(party.case_id).or_default().push(slot);
        self.parties[slot as usize] = Some(Slot {
            party,
            words,
            compact,
        });
    }

    /// Replace the parties of every matter in `changes` (rows of `db::conflicts::changed_parties`).
    pub fn apply(&mut self, changes: Vec<db::conflicts::PartyChange>) {
        let changed: HashSet<Uuid> = changes.iter().map(|change| change.case_id).collect();
        for case_id in &changed {
            self.remove_case(case_id);
        }
        for change in changes {
            self.seq = self.seq.max(change.seq);
            let (Some(kind), Some(name), Some(key)) = (change.kind, change.name, change.key) else {
                continue;
            };
            let Some(kind) = PartyKind::parse(&kind) else {
                continue;
            };
            self.add(StoredParty {
                case_id: change.case_id,
                kind,
                name,
                normal: NormalName {
                    words: key.split(' ').map(str::to_owned).collect(),
                },
            });
        }
    }

    /// Drop matters that no longer exist.
    pub fn forget(&mut self, case_ids: &[Uuid]) {
        for case_id in case_ids {
            self.remove_case(case_id);
        }
    }

    /// The known words `tokens_match` accepts for `term`.
    fn matching_words(&self, term: &str, into: &mut HashSet<u32>) {
        let length = term.chars().count();
        let mut consider = |id: u32| {
            if tokens_match(term, &self.words[id as usize].text).is_some() {
                into.insert(id);
            }
        };
        if let Some(id) = self.vocabulary.get(term) {
            consider(*id);
        }
        if length >= 4 {
            // A known word one letter longer.
            for id in self.deletions.get(term).into_iter().flatten() {
                consider(*id);
            }
        }
        if length >= 5 {
            for deleted in deletions(term) {
                // A known word one letter shorter.
                if let Some(id) = self.vocabulary.get(deleted.as_str()) {
                    consider(*id);
                }
                // A known word of the same length with one letter changed, or two swapped.
                for id in self.deletions.get(deleted.as_str()).into_iter().flatten() {
                    consider(*id);
                }
            }
        }
        if length >= 7 {
            // Words of 9 letters or more (one or two edits apart) are compared one by one
            // within two letters of this one's length, after the cheap letter-count filter.
            let wanted = bins(term);
            for other in length.saturating_sub(2)..=length + 2 {
                if length.max(other) < 9 {
                    continue;
                }
                for id in self.by_length.get(other).into_iter().flatten() {
                    if !bins_apart(&wanted, &self.words[*id as usize].bins, 4) {
                        consider(*id);
                    }
                }
            }
        }
    }

    /// Every stored party the rules match with one of `searched`, best match per party and name.
    pub fn candidates(&self, searched: &[NormalName]) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (index, name) in searched.iter().enumerate() {
            // The known words each searched word matches, and those any term matches.
            let per_word: Vec<HashSet<u32>> = name
                .words
                .iter()
                .map(|word| {
                    let mut found = HashSet::new();
                    self.matching_words(word, &mut found);
                    found
                })
                .collect();
            let mut matched: HashSet<u32> = per_word.iter().flatten().copied().collect();
            if let Some(text) = compact(name) {
                self.matching_words(&text, &mut matched);
            }
            let mut seen = HashSet::new();
            for id in &matched {
                for slot in &self.words[*id as usize].parties {
                    if !seen.insert(*slot) {
                        continue;
                    }
                    let Some(held) = self.parties.get(*slot as usize).and_then(Option::as_ref)
                    else {
                        continue;
                    };
                    // What every rule needs before it is run: each stored word matched (same
                    // name, typos, the stored name contained), or each searched word matched
                    // in the stored name (the searched name contained), or the names without
                    // spaces matched.
                    let all_stored = held.words.iter().all(|id| matched.contains(id));
                    let all_searched = per_word
                        .iter()
                        .all(|found| held.words.iter().any(|id| found.contains(id)));
                    let whole = held.compact.is_some_and(|id| matched.contains(&id));
                    if !(all_stored || all_searched || whole) {
                        continue;
                    }
                    if let Some(found) = matching::compare(name, &held.party.normal) {
                        out.push(Candidate {
                            party: held.party.clone(),
                            searched: index,
                            found,
                        });
                    }
                }
            }
        }
        out
    }
}

/// Every firm's parties on this instance, each brought up to date before it is searched.
#[derive(Default)]
pub struct PartyIndex {
    firms: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<FirmParties>>>>,
}

impl PartyIndex {
    fn firm(&self, firm_id: &str) -> Arc<tokio::sync::Mutex<FirmParties>> {
        let mut firms = self
            .firms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        firms.entry(firm_id.to_owned()).or_default().clone()
    }

    /// The firm's stored parties that may match the searched names, after reading what changed.
    #[tracing::instrument(level = "debug", skip_all, fields(firm = %firm_id))]
    pub async fn search(
        &self,
        pool: &PgPool,
        firm_id: &str,
        searched: &[NormalName],
    ) -> Result<Vec<Candidate>, sqlx::Error> {
        let firm = self.firm(firm_id);
        let mut parties = firm.lock().await;
        let changes = db::conflicts::changed_parties(pool, firm_id, parties.seq()).await?;
        if !changes.is_empty() {
            parties.apply(changes);
        }
        Ok(parties.candidates(searched))
    }

    /// Matters a check hit that the database no longer has.
    pub async fn forget(&self, firm_id: &str, case_ids: &[Uuid]) {
        if case_ids.is_empty() {
            return;
        }
        self.firm(firm_id).lock().await.forget(case_ids);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::conflicts::matching::normalise;

    fn change(case_id: Uuid, seq: i64, kind: &str, name: &str) -> db::conflicts::PartyChange {
        db::conflicts::PartyChange {
            case_id,
            seq,
            kind: Some(kind.into()),
            name: Some(name.into()),
            key: Some(normalise(name).key()),
        }
    }

    fn found(parties: &FirmParties, name: &str) -> Vec<String> {
        let mut names: Vec<String> = parties
            .candidates(&[normalise(name)])
            .into_iter()
            .map(|candidate| candidate.party.name)
            .collect();
        names.sort();
        names
    }

    /// The index must find exactly what comparing with every party finds: random names made of
    /// a few syllables (so many are one or two edits apart), searched with typos, other legal
    /// forms, words added and removed, and spaces dropped.
    #[test]
    fn finds_what_comparing_every_party_finds() {
        let syllables = [
            "ac", "me", "glo", "bex", "ini", "tech", "um", "brel", "la", "vor", "tan", "kel",
            "dor", "fin", "mar", "quo", "zen", "tra",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        let word = |next: &mut dyn FnMut(usize) -> usize| -> String {
            (0..2 + next(3))
                .map(|_| syllables[next(syllables.len())])
                .collect()
        };
        let mut parties = FirmParties::default();
        let mut all = Vec::new();
        let mut changes = Vec::new();
        for matter in 0..150 {
            let case_id = Uuid::from_u128(matter);
            for kind in ["client", "adverse", "related"] {
                let words = 1 + next(3);
                let name: Vec<String> = (0..words).map(|_| word(&mut next)).collect();
                let name = format!("{} Ltd", name.join(" "));
                changes.push(change(case_id, 1, kind, &name));
                all.push(normalise(&name));
            }
        }
        parties.apply(changes);
        let mut checked = 0;
        for round in 0..300 {
            let base = &all[next(all.len())].words;
            let mut words = base.clone();
            match round % 5 {
                0 => {
                    // A typo: one letter changed, dropped or added.
                    let at = next(words.len());
                    let mut chars: Vec<char> = words[at].chars().collect();
                    let pos = next(chars.len());
                    match next(3) {
                        0 => chars[pos] = 'x',
                        1 => {
                            chars.remove(pos);
                        }
                        _ => chars.insert(pos, 'q'),
                    }
                    words[at] = chars.into_iter().collect();
                }
                1 => words.push(word(&mut next)),
                2 if words.len() > 1 => {
                    words.remove(next(words.len()));
                }
                3 => words = vec![words.concat()],
                _ => words = vec![word(&mut next), word(&mut next)],
            }
            let searched = NormalName { words };
            let mut expected: Vec<usize> = all
                .iter()
                .enumerate()
                .filter(|(_, stored)| matching::compare(&searched, stored).is_some())
                .map(|(at, _)| at)
                .collect();
            expected.sort();
            let mut got: Vec<usize> = parties
                .candidates(std::slice::from_ref(&searched))
                .into_iter()
                .map(|candidate| {
                    all.iter()
                        .position(|stored| *stored == candidate.party.normal)
                        .unwrap()
                })
                .collect();
            got.sort();
            // Names may repeat: compare the sets of distinct names.
            let distinct = |list: Vec<usize>| -> Vec<Vec<String>> {
                let mut names: Vec<Vec<String>> =
                    list.into_iter().map(|at| all[at].words.clone()).collect();
                names.sort();
                names.dedup();
                names
            };
            assert_eq!(distinct(got), distinct(expected), "{searched:?}");
            checked += 1;
        }
        assert_eq!(checked, 300);
    }

    #[test]
    fn a_changed_matter_is_replaced_and_a_forgotten_one_dropped() {
        let acme = Uuid::from_u128(1);
        let globex = Uuid::from_u128(2);
        let mut parties = FirmParties::default();
        parties.apply(vec![
            change(acme, 3, "client", "Acme Corp."),
            change(globex, 4, "adverse", "Globex Holdings"),
        ]);
        assert_eq!(parties.seq(), 4);
        assert_eq!(found(&parties, "ACME Corporation"), ["Acme Corp."]);
        assert_eq!(found(&parties, "Globex"), ["Globex Holdings"]);
        // Acme's matter now names another client; Globex's none at all.
        parties.apply(vec![
            change(acme, 5, "client", "Initech Ltd"),
            db::conflicts::PartyChange {
                case_id: globex,
                seq: 6,
                kind: None,
                name: None,
                key: None,
            },
        ]);
        assert_eq!(parties.seq(), 6);
        assert!(found(&parties, "Acme").is_empty());
        assert!(found(&parties, "Globex").is_empty());
        assert_eq!(found(&parties, "Initek"), Vec::<String>::new());
        assert_eq!(found(&parties, "Initech GmbH"), ["Initech Ltd"]);
        parties.forget(&[acme]);
        assert!(found(&parties, "Initech").is_empty());
        // Slots are reused.
        parties.apply(vec![change(globex, 7, "client", "Umbrella plc")]);
        assert_eq!(parties.parties.len(), 2);
        assert_eq!(found(&parties, "Umbrela"), ["Umbrella plc"]);
    }

    #[test]
    fn deletions_are_distinct() {
        assert_eq!(deletions("abba"), ["aba", "abb", "bba"]);
        assert!(deletions("").is_empty());
    }
}
