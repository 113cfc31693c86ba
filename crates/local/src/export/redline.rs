//! A Word redline between two versions of a draft: each version is rebuilt from its snapshot
//! (GC is off for drafts, so the text of every version is still in the document), both are read
//! into paragraphs, the paragraphs are aligned (longest common subsequence of their texts, then
//! changed paragraphs paired by the words they share) and each pair is compared word by word.
//! The difference is written as Word tracked changes through the ordinary .docx export.
//!
//! Who made a change comes from the CRDT where it can: an inserted word's Yjs client id, mapped
//! through the `users` map (Y.PermanentUserData); a deleted word's id found in a user's delete
//! sets there. Otherwise the change is version B's author's.
//!
//! Tables are compared as their cells' paragraphs, in reading order, and written in the new
//! version's layout (its tables, with the changes in their cells); pending suggestions count as
//! text in both versions.

use std::collections::HashMap;

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encoder, EncoderV1};
use yrs::{Assoc, Doc, IndexedSequence, OffsetKind, Options, ReadTxn, Snapshot, Transact, Update};

use crate::LocalError;
use crate::export::docx;
use crate::store::draft::{
    self, Block, Draft, Inline, Paragraph, Run, RunSource, Suggestion, UserIds, paragraphs,
};

/// What the redline says about the two versions.
#[derive(Debug, Clone, Default)]
pub struct RedlineMeta {
    pub title: String,
    /// Version names as the lawyer knows them ("Sent to client", "Current draft").
    pub name_a: String,
    pub name_b: String,
    /// Version B's author: the author of a change the CRDT cannot attribute.
    pub author_b: String,
    /// Unix milliseconds: the date of every tracked change (the time of version B).
    pub date_b: Option<i64>,
}

/// The .docx redline of `doc` from snapshot `a` to snapshot `b`. `doc` must keep its history
/// (`skip_gc`), as drafts do.
pub fn redline_docx(
    doc: &Doc,
    a: &Snapshot,
    b: &Snapshot,
    meta: &RedlineMeta,
) -> Result<Vec<u8>, LocalError> {
    redline(&doc.transact(), a, b, meta)
}

/// The redline between two entries of the draft's `versions` (or `"current"`): its title and
/// the .docx bytes.
pub(crate) fn redline_versions<T: ReadTxn>(
    txn: &T,
    version_a: &str,
    version_b: &str,
) -> Result<(String, Vec<u8>), LocalError> {
    let entries = draft::version_entries(txn);
    let find = |id: &str| -> Result<(Snapshot, String, String, Option<i64>), LocalError> {
        if id == "current" {
            return Ok((txn.snapshot(), "Current draft".into(), String::new(), None));
        }
        let entry = entries
            .iter()
            .find(|entry| entry.info.id == id)
            .ok_or_else(|| LocalError::NotFound(format!("no version {id} in this draft")))?;
        let snapshot = draft::decode_snapshot(&entry.snapshot).ok_or_else(|| {
            LocalError::Export(format!(
                "Version “{}” cannot be compared: its snapshot is damaged.",
                entry.info.name
            ))
        })?;
        Ok((
            snapshot,
            entry.info.name.clone(),
            entry.info.author.clone(),
            entry.info.created,
        ))
    };
    let (a, name_a, _, _) = find(version_a)?;
    let (b, name_b, author_b, date_b) = find(version_b)?;
    let title = draft::title(txn);
    let meta = RedlineMeta {
        title: title.clone(),
        name_a,
        name_b,
        author_b,
        date_b: date_b.or_else(|| Some(now_millis())),
    };
    Ok((title, redline(txn, &a, &b, &meta)?))
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The draft as it was at `snapshot`, in a document of its own.
fn rebuild<T: ReadTxn>(txn: &T, snapshot: &Snapshot) -> Result<Doc, LocalError> {
    let mut encoder = EncoderV1::new();
    txn.encode_state_from_snapshot(snapshot, &mut encoder)
        .map_err(|_| {
            LocalError::Export(
                "The versions of this draft cannot be compared: its history was not kept.".into(),
            )
        })?;
    let damaged = |error: String| {
        LocalError::Export(format!(
            "The versions of this draft cannot be compared: {error}"
        ))
    };
    let update = Update::decode_v1(&encoder.to_vec()).map_err(|e| damaged(e.to_string()))?;
    let doc = Doc::with_options(Options {
        skip_gc: true,
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    });
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| damaged(e.to_string()))?;
    Ok(doc)
}

/// A paragraph of one version, with where its runs came from.
struct Side<'a> {
    paragraph: &'a Paragraph,
    text: String,
    sources: &'a [Option<RunSource>],
}

fn sides<'a>(blocks: &'a [Block], sources: &'a [Vec<Option<RunSource>>]) -> Vec<Side<'a>> {
    paragraphs(blocks)
        .into_iter()
        .enumerate()
        .map(|(index, paragraph)| Side {
            paragraph,
            text: paragraph.text(),
            sources: sources.get(index).map_or(&[][..], Vec::as_slice),
        })
        .collect()
}

fn redline<T: ReadTxn>(
    txn: &T,
    a: &Snapshot,
    b: &Snapshot,
    meta: &RedlineMeta,
) -> Result<Vec<u8>, LocalError> {
    let doc_a = rebuild(txn, a)?;
    let doc_b = rebuild(txn, b)?;
    let (txn_a, txn_b) = (doc_a.transact(), doc_b.transact());
    let (blocks_a, sources_a) = draft::blocks_with_sources(&txn_a);
    let (blocks_b, sources_b) = draft::blocks_with_sources(&txn_b);
    let (old, new) = (sides(&blocks_a, &sources_a), sides(&blocks_b, &sources_b));
    let users = draft::users(txn);
    let who = Attribution {
        users: &users,
        fallback: if meta.author_b.trim().is_empty() {
            "Unknown".to_owned()
        } else {
            meta.author_b.clone()
        },
        date: meta.date_b,
    };
    let old_texts: Vec<&str> = old.iter().map(|side| side.text.as_str()).collect();
    let new_texts: Vec<&str> = new.iter().map(|side| side.text.as_str()).collect();
    let mut blocks = Vec::new();
    let heading = format!("Changes from “{}” to “{}”", meta.name_a, meta.name_b);
    blocks.push(Block::paragraph(
        draft::BlockStyle::Paragraph,
        vec![Run {
            italic: true,
            ..Run::text(heading)
        }],
    ));
    // The compared paragraphs in order: each with the new version's paragraph it stands for,
    // or `None` for one only the old version has.
    let mut compared: Vec<(Option<usize>, Paragraph)> = Vec::new();
    let mut gap_old = Vec::new();
    let mut gap_new = Vec::new();
    let flush = |gap_old: &mut Vec<usize>,
                 gap_new: &mut Vec<usize>,
                 compared: &mut Vec<(Option<usize>, Paragraph)>| {
        for change in pair_paragraphs(&old, &new, gap_old, gap_new) {
            compared.push(match change {
                Change::Removed(i) => (None, whole(&old[i], &txn_a, &who, Mark::Deleted)),
                Change::Added(j) => (Some(j), whole(&new[j], &txn_b, &who, Mark::Inserted)),
                Change::Edited(i, j) => (Some(j), compare(&old[i], &new[j], &txn_a, &txn_b, &who)),
            });
        }
        gap_old.clear();
        gap_new.clear();
    };
    for op in diff(&old_texts, &new_texts) {
        match op {
            Op::Equal(_, j) => {
                flush(&mut gap_old, &mut gap_new, &mut compared);
                compared.push((Some(j), plain(new[j].paragraph)));
            }
            Op::Delete(i) => gap_old.push(i),
            Op::Insert(j) => gap_new.push(j),
        }
    }
    flush(&mut gap_old, &mut gap_new, &mut compared);
    // Back into the new version's layout, so its tables stay tables: a removed paragraph goes
    // just before the paragraph that follows it (in that paragraph's table cell, if any).
    let mut by_new: HashMap<usize, Vec<Paragraph>> = HashMap::new();
    let mut removed = Vec::new();
    for (serial, paragraph) in compared {
        removed.push(paragraph);
        if let Some(serial) = serial {
            by_new.insert(serial, std::mem::take(&mut removed));
        }
    }
    let mut serial = 0;
    blocks.extend(relayout(blocks_b.clone(), &mut serial, &mut by_new));
    blocks.extend(removed.into_iter().map(Block::Paragraph));
    docx::export(&Draft {
        title: meta.title.clone(),
        blocks,
        comments: Vec::new(),
    })
}

/// `blocks` with each paragraph (numbered in document order by `serial`) replaced by what the
/// comparison made of it.
fn relayout(
    blocks: Vec<Block>,
    serial: &mut usize,
    by_new: &mut HashMap<usize, Vec<Paragraph>>,
) -> Vec<Block> {
    let mut out = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block {
            Block::Paragraph(_) => {
                out.extend(
                    by_new
                        .remove(serial)
                        .unwrap_or_default()
                        .into_iter()
                        .map(Block::Paragraph),
                );
                *serial += 1;
            }
            Block::Table(mut table) => {
                for row in &mut table.rows {
                    for cell in &mut row.cells {
                        cell.blocks = relayout(std::mem::take(&mut cell.blocks), serial, by_new);
                    }
                }
                out.push(Block::Table(table));
            }
            Block::PageBreak => out.push(Block::PageBreak),
        }
    }
    out
}

/// A paragraph with its pending suggestions taken as text (the redline shows only what changed
/// between the versions).
fn plain(paragraph: &Paragraph) -> Paragraph {
    let runs = paragraph.runs.iter().map(clean).collect();
    Paragraph::new(paragraph.style, runs)
}

fn clean(run: &Run) -> Run {
    Run {
        insertion: None,
        deletion: None,
        ..run.clone()
    }
}

#[derive(Clone, Copy)]
enum Mark {
    Inserted,
    Deleted,
}

/// Who made the changes: the `users` map, else version B's author.
struct Attribution<'a> {
    users: &'a [UserIds],
    fallback: String,
    date: Option<i64>,
}

impl Attribution<'_> {
    fn suggestion(&self, author: Option<String>) -> Suggestion {
        let author = author.unwrap_or_else(|| self.fallback.clone());
        Suggestion {
            id: format!("s:{}:redline:{author}", self.date.unwrap_or_default()),
            author,
            date: self.date,
        }
    }

    /// The author of the text at byte `at` of `side`: for an insertion, the user whose client
    /// wrote it; for a deletion, the user whose delete sets hold it.
    fn author<T: ReadTxn>(&self, side: &Side, txn: &T, at: usize, mark: Mark) -> Option<String> {
        let mut start = 0;
        for (run, source) in side.paragraph.runs.iter().zip(side.sources) {
            let end = start + run.text.len();
            if at < end && matches!(run.inline, Inline::Text) {
                let source = source.as_ref()?;
                let within = run.text.get(..at - start)?.encode_utf16().count() as u32;
                let sticky = source
                    .text
                    .sticky_index(txn, source.start + within, Assoc::After)?;
                let id = *sticky.id()?;
                return match mark {
                    Mark::Inserted => self
                        .users
                        .iter()
                        .find(|user| user.clients.contains(&id.client.get()))
                        .map(|user| user.name.clone()),
                    Mark::Deleted => self
                        .users
                        .iter()
                        .find(|user| user.deletions.iter().any(|set| set.contains(&id)))
                        .map(|user| user.name.clone()),
                };
            }
            start = end;
        }
        None
    }
}

/// A whole paragraph inserted or deleted.
fn whole<T: ReadTxn>(side: &Side, txn: &T, who: &Attribution, mark: Mark) -> Paragraph {
    let suggestion = who.suggestion(who.author(side, txn, 0, mark));
    let runs = side
        .paragraph
        .runs
        .iter()
        .map(|run| marked(clean(run), mark, &suggestion))
        .collect();
    Paragraph::new(side.paragraph.style, runs)
}

fn marked(mut run: Run, mark: Mark, suggestion: &Suggestion) -> Run {
    match mark {
        Mark::Inserted => run.insertion = Some(suggestion.clone()),
        Mark::Deleted => run.deletion = Some(suggestion.clone()),
    }
    run
}

/// The runs of `paragraph` covering bytes `start..end` of its text, cut to that range. Atoms
/// without text (footnotes) go with the range they sit in, or the last one at the end.
fn slice(paragraph: &Paragraph, start: usize, end: usize) -> Vec<Run> {
    let total: usize = paragraph.runs.iter().map(|run| run.text.len()).sum();
    let mut runs = Vec::new();
    let mut offset = 0;
    for run in &paragraph.runs {
        let run_end = offset + run.text.len();
        let (from, to) = (start.max(offset), end.min(run_end));
        let atom = run.text.is_empty()
            && ((start..end).contains(&offset) || (offset == end && end == total));
        if from < to || atom {
            let mut piece = clean(run);
            piece.text = run
                .text
                .get(from - offset..to.max(from) - offset)
                .unwrap_or_default()
                .to_owned();
            runs.push(piece);
        }
        offset = run_end;
    }
    runs
}

/// Word tokens of a text as byte ranges: runs of letters and digits, runs of spaces, and every
/// other character alone.
fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut tokens: Vec<(usize, usize)> = Vec::new();
    let class = |c: char| {
        if c.is_alphanumeric() {
            1
        } else if c.is_whitespace() {
            2
        } else {
            3
        }
    };
    let mut last = 0;
    for (at, c) in text.char_indices() {
        let kind = class(c);
        match tokens.last_mut() {
            Some(token) if kind != 3 && kind == last && token.1 == at => {
                token.1 = at + c.len_utf8()
            }
            _ => tokens.push((at, at + c.len_utf8())),
        }
        last = kind;
    }
    tokens
}

/// Two versions of one paragraph, compared word by word.
fn compare<T: ReadTxn>(
    old: &Side,
    new: &Side,
    txn_old: &T,
    txn_new: &T,
    who: &Attribution,
) -> Paragraph {
    let old_tokens = tokens(&old.text);
    let new_tokens = tokens(&new.text);
    let old_words: Vec<&str> = old_tokens.iter().map(|&(s, e)| &old.text[s..e]).collect();
    let new_words: Vec<&str> = new_tokens.iter().map(|&(s, e)| &new.text[s..e]).collect();
    let mut runs = Vec::new();
    // A change is written deletion first, then insertion, as Word shows a replacement.
    let mut deleted: Option<(usize, usize)> = None;
    let mut inserted: Option<(usize, usize)> = None;
    let flush = |deleted: &mut Option<(usize, usize)>,
                 inserted: &mut Option<(usize, usize)>,
                 runs: &mut Vec<Run>| {
        if let Some((start, end)) = deleted.take() {
            let suggestion = who.suggestion(who.author(old, txn_old, start, Mark::Deleted));
            runs.extend(
                slice(old.paragraph, start, end)
                    .into_iter()
                    .map(|run| marked(run, Mark::Deleted, &suggestion)),
            );
        }
        if let Some((start, end)) = inserted.take() {
            let suggestion = who.suggestion(who.author(new, txn_new, start, Mark::Inserted));
            runs.extend(
                slice(new.paragraph, start, end)
                    .into_iter()
                    .map(|run| marked(run, Mark::Inserted, &suggestion)),
            );
        }
    };
    let extend = |range: &mut Option<(usize, usize)>, (start, end): (usize, usize)| {
        *range = Some(range.map_or((start, end), |(first, _)| (first, end)));
    };
    let mut equal_from: Option<usize> = None;
    let mut equal_to = 0;
    let ops = diff(&old_words, &new_words);
    for op in ops {
        match op {
            Op::Equal(_, j) => {
                flush(&mut deleted, &mut inserted, &mut runs);
                let (start, end) = new_tokens[j];
                equal_from.get_or_insert(start);
                equal_to = end;
                continue;
            }
            Op::Delete(i) => extend(&mut deleted, old_tokens[i]),
            Op::Insert(j) => extend(&mut inserted, new_tokens[j]),
        }
        if let Some(start) = equal_from.take() {
            runs.extend(slice(new.paragraph, start, equal_to));
        }
    }
    if let Some(start) = equal_from.take() {
        runs.extend(slice(new.paragraph, start, equal_to));
    }
    flush(&mut deleted, &mut inserted, &mut runs);
    Paragraph::new(new.paragraph.style, runs)
}

enum Change {
    Removed(usize),
    Added(usize),
    Edited(usize, usize),
}

/// How much two paragraphs share: twice their common words over all their words (0 to 1).
fn similarity(old: &str, new: &str) -> f32 {
    let old_words: Vec<&str> = old.split_whitespace().collect();
    let new_words: Vec<&str> = new.split_whitespace().collect();
    let total = old_words.len() + new_words.len();
    if total == 0 {
        return 1.0;
    }
    let common = diff(&old_words, &new_words)
        .iter()
        .filter(|op| matches!(op, Op::Equal(..)))
        .count();
    2.0 * common as f32 / total as f32
}

/// Pair the changed paragraphs between two unchanged ones: a paragraph edited in place is
/// compared word by word; one with little in common with anything opposite is removed or added
/// whole.
fn pair_paragraphs(
    old: &[Side],
    new: &[Side],
    gap_old: &[usize],
    gap_new: &[usize],
) -> Vec<Change> {
    const SIMILAR: f32 = 0.4;
    let alike = |i: usize, j: usize| similarity(&old[i].text, &new[j].text) >= SIMILAR;
    let mut changes = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < gap_old.len() && j < gap_new.len() {
        let (o, n) = (gap_old[i], gap_new[j]);
        if alike(o, n) {
            changes.push(Change::Edited(o, n));
            i += 1;
            j += 1;
        } else if j + 1 < gap_new.len() && alike(o, gap_new[j + 1]) {
            changes.push(Change::Added(n));
            j += 1;
        } else {
            changes.push(Change::Removed(o));
            i += 1;
        }
    }
    changes.extend(gap_old[i..].iter().map(|&o| Change::Removed(o)));
    changes.extend(gap_new[j..].iter().map(|&n| Change::Added(n)));
    changes
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Indices in the old and the new sequence.
    Equal(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// Above this many cells, the middle of a diff (after the common prefix and suffix) is taken
/// as replaced whole rather than searched: the table would cost too much memory.
const MAX_CELLS: usize = 16_000_000;

/// A longest-common-subsequence diff of two sequences, in order.
fn diff<T: PartialEq>(old: &[T], new: &[T]) -> Vec<Op> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut ops: Vec<Op> = (0..prefix).map(|k| Op::Equal(k, k)).collect();
    let (n, m) = (old_mid.len(), new_mid.len());
    if n == 0 || m == 0 || n * m > MAX_CELLS {
        ops.extend((0..n).map(|k| Op::Delete(prefix + k)));
        ops.extend((0..m).map(|k| Op::Insert(prefix + k)));
    } else {
        // lengths[i][j]: LCS of old_mid[i..] and new_mid[j..]
        let width = m + 1;
        let mut lengths = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lengths[i * width + j] = if old_mid[i] == new_mid[j] {
                    lengths[(i + 1) * width + j + 1] + 1
                } else {
                    lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if old_mid[i] == new_mid[j] {
                ops.push(Op::Equal(prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                ops.push(Op::Delete(prefix + i));
                i += 1;
            } else {
                ops.push(Op::Insert(prefix + j));
                j += 1;
            }
        }
        ops.extend((i..n).map(|k| Op::Delete(prefix + k)));
        ops.extend((j..m).map(|k| Op::Insert(prefix + k)));
    }
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    ops.extend((0..suffix).map(|k| Op::Equal(old_end + k, new_end + k)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::draft::{DRAFT_FRAGMENT, DRAFT_META, VERSIONS};
    use std::collections::HashMap;
    use yrs::updates::encoder::Encode;
    use yrs::{Any, Array, Map, Text, WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim};

    fn document_xml(bytes: &[u8]) -> String {
        use std::io::Read;
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut file = archive.by_name("word/document.xml").unwrap();
        let mut xml = String::new();
        file.read_to_string(&mut xml).unwrap();
        xml
    }

    /// Versions are found by id in `versions`; "current" is the draft as it is; an unknown id
    /// is `NotFound`; a document that collected its garbage cannot be compared.
    #[test]
    fn versions_are_found_by_id_and_current_is_the_live_draft() {
        let doc = Doc::with_options(Options {
            skip_gc: true,
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = {
            let mut txn = doc.transact_mut();
            txn.get_or_insert_map(DRAFT_META)
                .insert(&mut txn, "title", "Lease");
            let body = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
            let paragraph = body.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            let text = paragraph.push_back(&mut txn, XmlTextPrelim::new("Rent is due monthly."));
            let entry: HashMap<String, Any> = [
                ("id".to_owned(), Any::from("v1")),
                ("name".to_owned(), Any::from("Sent")),
                ("kind".to_owned(), Any::from("named")),
                ("author".to_owned(), Any::from("Jane Smith")),
                ("created".to_owned(), Any::from(1_764_979_200_000.0)),
                ("snapshot".to_owned(), Any::from(txn.snapshot().encode_v1())),
            ]
            .into_iter()
            .collect();
            txn.get_or_insert_array(VERSIONS)
                .push_back(&mut txn, Any::from(entry));
            text
        };
        {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 12, "quarterly, not ");
        }
        let (title, bytes) = redline_versions(&doc.transact(), "v1", "current").unwrap();
        assert_eq!(title, "Lease");
        let xml = document_xml(&bytes);
        assert!(xml.contains("<w:ins "), "{xml}");
        assert!(xml.contains("quarterly"), "{xml}");
        assert!(
            xml.contains("Changes from “Sent” to “Current draft”"),
            "{xml}"
        );
        let missing = redline_versions(&doc.transact(), "v1", "v9").unwrap_err();
        assert!(matches!(missing, LocalError::NotFound(_)), "{missing}");
        // The store's documents before GC was turned off for drafts: refused with a message.
        let collected = Doc::new();
        let snapshot = collected.transact().snapshot();
        let error = redline_docx(&collected, &snapshot, &snapshot, &RedlineMeta::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot be compared"), "{error}");
    }

    fn words(text: &str) -> Vec<&str> {
        text.split(' ').collect()
    }

    /// A change inside a table cell is shown in the table, which stays a table.
    #[test]
    fn changes_in_a_table_stay_in_the_table() {
        let doc = Doc::with_options(Options {
            skip_gc: true,
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let cell_text = {
            let mut txn = doc.transact_mut();
            let body = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
            let before = body.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            before.push_back(&mut txn, XmlTextPrelim::new("Fees:"));
            let table = body.push_back(&mut txn, XmlElementPrelim::empty("table"));
            let row = table.push_back(&mut txn, XmlElementPrelim::empty("tableRow"));
            let cell = row.push_back(&mut txn, XmlElementPrelim::empty("tableCell"));
            let line = cell.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            line.push_back(&mut txn, XmlTextPrelim::new("Payment net 30 days"))
        };
        let a = doc.transact().snapshot();
        {
            let mut txn = doc.transact_mut();
            cell_text.remove_range(&mut txn, 12, 2);
            cell_text.insert(&mut txn, 12, "45");
        }
        let b = doc.transact().snapshot();
        let bytes = redline_docx(&doc, &a, &b, &RedlineMeta::default()).unwrap();
        let xml = document_xml(&bytes);
        let table = xml
            .split("<w:tbl>")
            .nth(1)
            .unwrap_or_else(|| panic!("no table: {xml}"));
        assert!(table.contains("<w:delText"), "{table}");
        assert!(table.contains(">30<"), "{table}");
        assert!(table.contains(">45<"), "{table}");
        assert!(xml.contains("Fees:"), "{xml}");
    }

    #[test]
    fn diff_finds_the_common_words() {
        let ops = diff(&words("the quick brown fox"), &words("the slow brown cat"));
        assert_eq!(
            ops,
            vec![
                Op::Equal(0, 0),
                Op::Delete(1),
                Op::Insert(1),
                Op::Equal(2, 2),
                Op::Delete(3),
                Op::Insert(3),
            ]
        );
    }

    #[test]
    fn tokens_split_words_spaces_and_punctuation() {
        let text = "Pay  £5, now";
        let pieces: Vec<&str> = tokens(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(pieces, vec!["Pay", "  ", "£", "5", ",", " ", "now"]);
    }
}
