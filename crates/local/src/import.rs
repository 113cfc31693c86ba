//! Word (.docx) import into a draft: the file is read and checked in full first (zip, XML parts,
//! limits), into a small model of blocks; only then is the model written into the draft's yrs
//! transaction, in the shapes of docs/DRAFT_FORMAT.md. So a refused file writes nothing.
//!
//! - `package`: what kind of file the bytes are; the zip read with an expansion budget.
//! - `xml`: the quick-xml event loop with a depth limit, shared by every part.
//! - `parts`: the small parts (relationships, styles, numbering, footnotes, comments, core).
//! - `document`: the parts in order, then Word's comments as threads.
//! - `body`: `word/document.xml` into the block model (`model`), with `lists` and `tables`.
//! - `write`: the model into the `default` fragment and the `comments` map.

mod body;
mod document;
mod error;
mod lists;
mod model;
mod package;
mod parts;
mod tables;
mod time;
mod write;
mod xml;

use std::collections::BTreeMap;

use serde::Serialize;
use yrs::TransactionMut;

pub use error::ImportError;

/// What the import accepts. A file over a limit is refused whole (never cut short: a contract
/// missing its last pages must not look complete).
#[derive(Debug, Clone)]
pub struct ImportLimits {
    /// The .docx file itself.
    pub max_file_bytes: u64,
    /// Entries in the zip (a Word file has a few dozen; pictures add one each).
    pub max_zip_entries: u64,
    /// The XML parts read, counted as they are inflated (not as the zip headers claim).
    pub max_expanded_bytes: u64,
    /// Element nesting in any XML part.
    pub max_xml_depth: usize,
    /// Paragraphs (including headings, list items and table cells' paragraphs).
    pub max_blocks: usize,
    /// Pieces of text and inline items (runs, breaks, footnotes, placeholders, comment anchors):
    /// what bounds the work of writing a file of millions of tiny runs.
    pub max_inlines: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 50 * 1024 * 1024,
            max_zip_entries: 5_000,
            max_expanded_bytes: 300 * 1024 * 1024,
            max_xml_depth: 256,
            max_blocks: 100_000,
            max_inlines: 1_000_000,
        }
    }
}

/// What an import brought in, and what it could not (placeholders and warnings).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportReport {
    /// docProps/core.xml's title, else the first heading, else the file name.
    pub title: String,
    /// Body paragraphs (not headings or list items), including those in tables.
    pub paragraphs: usize,
    pub headings: usize,
    pub list_items: usize,
    pub tables: usize,
    pub footnotes: usize,
    pub hyperlinks: usize,
    pub page_breaks: usize,
    /// Tracked changes by author (each Word `w:ins` / `w:del` counted once).
    pub suggestions: BTreeMap<String, SuggestionCount>,
    pub comments: CommentCount,
    /// What the editor cannot hold, each shown in the draft as a grey chip.
    pub placeholders: Vec<Placeholder>,
    /// Anything else that was changed on the way in.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SuggestionCount {
    pub insertions: usize,
    pub deletions: usize,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct CommentCount {
    pub threads: usize,
    pub replies: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Placeholder {
    /// `image`, `textbox`, `chart`, `drawing`, `object`, `equation`, `field`, `symbol`.
    pub kind: String,
    pub label: String,
    /// Where in the document, for the lawyer: "paragraph 12".
    pub location: String,
}

impl ImportReport {
    pub fn suggestion_total(&self) -> usize {
        self.suggestions
            .values()
            .map(|count| count.insertions + count.deletions)
            .sum()
    }
}

/// A parsed .docx, checked against the limits, not yet written anywhere.
pub struct WordDocument {
    body: Vec<model::Block>,
    comments: Vec<model::Comment>,
    report: ImportReport,
}

impl WordDocument {
    /// Read and check the whole file. `file_name` is the title of last resort.
    #[tracing::instrument(skip_all, fields(bytes = bytes.len()))]
    pub fn parse(
        bytes: &[u8],
        file_name: &str,
        limits: &ImportLimits,
    ) -> Result<Self, ImportError> {
        let mut package = package::Package::open(bytes, limits).inspect_err(|error| {
            tracing::info!(code = error.code(), "Word file refused");
        })?;
        let parsed = document::parse(&mut package, limits).inspect_err(|error| {
            tracing::info!(code = error.code(), "Word file refused");
        })?;
        let mut report = parsed.report;
        report.title = parsed
            .core_title
            .or(parsed.first_heading)
            .unwrap_or_else(|| title_from_file_name(file_name));
        Ok(Self {
            body: parsed.body,
            comments: parsed.comments,
            report,
        })
    }

    pub fn title(&self) -> &str {
        &self.report.title
    }

    /// Append the document to the draft: blocks to the end of `default`, threads to `comments`.
    /// The document must count text in UTF-16 (`OffsetKind::Utf16`), as the store's do.
    pub fn write(self, txn: &mut TransactionMut) -> ImportReport {
        let mut report = self.report;
        write::write(txn, &self.body, &self.comments, &mut report);
        report
    }
}

/// Import a .docx into a draft's transaction (see [`WordDocument`]); on an error nothing is
/// written. The report's title falls back to "Imported document" (the app passes the file's
/// name through [`WordDocument::parse`] instead).
pub fn import_docx(
    txn: &mut TransactionMut,
    bytes: &[u8],
    limits: &ImportLimits,
) -> Result<ImportReport, ImportError> {
    Ok(WordDocument::parse(bytes, "", limits)?.write(txn))
}

fn title_from_file_name(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = match base.rsplit_once('.') {
        Some((stem, extension))
            if !stem.is_empty() && extension.len() <= 4 && !extension.contains(' ') =>
        {
            stem
        }
        _ => base,
    };
    let stem = stem.trim();
    if stem.is_empty() {
        "Imported document".to_owned()
    } else {
        stem.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_from_the_file_name() {
        assert_eq!(title_from_file_name("Lease v3.docx"), "Lease v3");
        assert_eq!(title_from_file_name("C:\\Users\\a\\NDA.DOCX"), "NDA");
        assert_eq!(title_from_file_name(""), "Imported document");
        assert_eq!(title_from_file_name("Heads of terms"), "Heads of terms");
    }
}
