//! Drafts: a Y.XmlFragment named `default` in the TipTap/ProseMirror schema (what
//! `@tiptap/extension-collaboration` writes through y-prosemirror) plus a Y.Map `meta` holding the
//! title and a deleted flag, the `comments` threads and the `versions` list (docs/DRAFT_FORMAT.md).
//! This module reads a draft into [`Block`]s (paragraphs, tables, page breaks), the one model
//! that the full-text index, the .docx and PDF exports and the redline use.

mod comments;

use std::collections::HashMap;

use yrs::branch::BranchPtr;
use yrs::types::text::YChange;
use yrs::{Any, Map, Number, Out, ReadTxn, Text, Xml, XmlFragment, XmlOut, XmlTextRef};

pub use comments::{
    COMMENTS, Comment, NewVersion, Reply, USERS, VERSIONS, VersionInfo, comments, save_version,
    versions,
};
pub(crate) use comments::{UserIds, anchors, decode_snapshot, users, version_entries};

/// The root fragment TipTap's Collaboration extension binds to.
pub const DRAFT_FRAGMENT: &str = "default";
/// The root map with the draft's `title` (string) and `deleted` (bool).
pub const DRAFT_META: &str = "meta";

/// How a paragraph is laid out: the TipTap node it came from, with list nesting flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockStyle {
    Paragraph,
    /// `heading` with its `level` (1–6).
    Heading(u8),
    /// An item of a `bulletList`, at nesting `level` (0 = outermost).
    Bullet {
        level: u8,
    },
    /// An item of an `orderedList`; `list` numbers the lists so each restarts at 1.
    Numbered {
        level: u8,
        list: u32,
    },
    /// An item of a `clauseList`: legal clause numbering (1., 1.1., 1.1.1.) that runs on through
    /// the whole draft.
    Clause {
        level: u8,
    },
    /// A paragraph inside a `blockquote`.
    Quote,
}

/// A pending suggestion (track change) on a run: the `insertion` or `deletion` mark's id,
/// `s:<unix ms>:<random>:<author>`, with the author and date it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub id: String,
    /// "Unknown" when the id is not in the contract's form.
    pub author: String,
    /// Unix milliseconds; `None` when the id is not in the contract's form.
    pub date: Option<i64>,
}

impl Suggestion {
    /// Parse a suggestion id. The author is everything after the third `:` (it may contain `:`).
    pub fn parse(id: &str) -> Suggestion {
        let unknown = || Suggestion {
            id: id.to_owned(),
            author: "Unknown".into(),
            date: None,
        };
        let mut parts = id.splitn(4, ':');
        let (Some("s"), Some(ms), Some(random), Some(author)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return unknown();
        };
        let random_ok = !random.is_empty()
            && random
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        match ms.parse::<i64>() {
            Ok(date) if random_ok && !author.trim().is_empty() => Suggestion {
                id: id.to_owned(),
                author: author.to_owned(),
                date: Some(date),
            },
            _ => unknown(),
        }
    }
}

/// What an inline piece of a paragraph is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Inline {
    /// Text (`Run::text`); a hard break is a "\n" in it.
    #[default]
    Text,
    /// A `footnote` atom: a marker in the text (`Run::text` is empty), the note's text here.
    Footnote { text: String },
    /// A `placeholder` chip for what the editor cannot hold; `Run::text` is `[Image: label]`.
    Placeholder { kind: String, label: String },
}

/// A run of text with one set of marks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Run {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    /// The `link` mark's `href`.
    pub link: Option<String>,
    /// Proposed for insertion (pending).
    pub insertion: Option<Suggestion>,
    /// Proposed for deletion (pending; the text is still in the draft).
    pub deletion: Option<Suggestion>,
    pub inline: Inline,
}

impl Run {
    pub fn text(text: impl Into<String>) -> Run {
        Run {
            text: text.into(),
            ..Run::default()
        }
    }
}

/// Which end of a comment's range a [`CommentMark`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// Where a comment's range starts or ends inside a paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentMark {
    /// Index into [`Draft::comments`].
    pub comment: usize,
    /// Byte offset into [`Paragraph::text`].
    pub at: usize,
    pub edge: Edge,
}

/// One paragraph-level block of a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    pub style: BlockStyle,
    pub runs: Vec<Run>,
    /// Comment range starts and ends in this paragraph, by offset.
    pub comments: Vec<CommentMark>,
}

impl Paragraph {
    pub fn new(style: BlockStyle, runs: Vec<Run>) -> Paragraph {
        Paragraph {
            style,
            runs,
            comments: Vec::new(),
        }
    }

    /// The paragraph's text: its runs' text (placeholders as their chip, footnotes as nothing).
    pub fn text(&self) -> String {
        self.runs.iter().map(|run| run.text.as_str()).collect()
    }
}

/// A table cell (`tableCell` or `tableHeader`) holding blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCell {
    pub header: bool,
    pub colspan: u32,
    pub rowspan: u32,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub cells: Vec<TableCell>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<TableRow>,
}

/// A slot of a table row on Word's grid of columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridSlot {
    /// The row's cell `index`, starting at grid `column` and spanning `span` columns.
    Cell {
        column: usize,
        span: usize,
        index: usize,
    },
    /// Columns covered by a cell above that spans rows (ProseMirror leaves the slot out of the
    /// row; Word wants a continuing cell there).
    Covered { column: usize, span: usize },
}

impl Table {
    /// Each row's slots on the grid: colspans widen a cell, a rowspan covers the same columns
    /// in the rows below. The one placement both exporters (Word and PDF) draw from.
    pub fn grid(&self) -> Vec<Vec<GridSlot>> {
        let mut pending: std::collections::BTreeMap<usize, (usize, u32)> = Default::default();
        let mut rows = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            let mut slots = Vec::with_capacity(row.cells.len());
            let mut column = 0;
            let mut cells = row.cells.iter().enumerate();
            let mut next = cells.next();
            loop {
                if let Some((span, left)) = pending.get_mut(&column) {
                    let span = *span;
                    *left -= 1;
                    if *left == 0 {
                        pending.remove(&column);
                    }
                    slots.push(GridSlot::Covered { column, span });
                    column += span;
                    continue;
                }
                let Some((index, cell)) = next else { break };
                let span = cell.colspan.max(1) as usize;
                if cell.rowspan > 1 {
                    pending.insert(column, (span, cell.rowspan - 1));
                }
                slots.push(GridSlot::Cell {
                    column,
                    span,
                    index,
                });
                column += span;
                next = cells.next();
            }
            rows.push(slots);
        }
        rows
    }

    /// How many grid columns the table has, rowspans included (as Word counts them); at least 1.
    pub fn grid_columns(grid: &[Vec<GridSlot>]) -> usize {
        grid.iter()
            .flatten()
            .map(|slot| match *slot {
                GridSlot::Cell { column, span, .. } | GridSlot::Covered { column, span } => {
                    column + span
                }
            })
            .max()
            .unwrap_or(0)
            .max(1)
    }
}

/// A block of a draft, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Paragraph),
    Table(Table),
    /// A hard page break.
    PageBreak,
}

impl Block {
    pub fn paragraph(style: BlockStyle, runs: Vec<Run>) -> Block {
        Block::Paragraph(Paragraph::new(style, runs))
    }

    /// The paragraph, if this block is one.
    pub fn as_paragraph(&self) -> Option<&Paragraph> {
        match self {
            Block::Paragraph(paragraph) => Some(paragraph),
            _ => None,
        }
    }
}

/// Every paragraph of `blocks`, table cells included, in document order.
pub fn paragraphs(blocks: &[Block]) -> Vec<&Paragraph> {
    fn walk<'a>(blocks: &'a [Block], out: &mut Vec<&'a Paragraph>) {
        for block in blocks {
            match block {
                Block::Paragraph(paragraph) => out.push(paragraph),
                Block::Table(table) => {
                    for row in &table.rows {
                        for cell in &row.cells {
                            walk(&cell.blocks, out);
                        }
                    }
                }
                Block::PageBreak => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(blocks, &mut out);
    out
}

fn for_each_paragraph_mut(blocks: &mut [Block], f: &mut impl FnMut(&mut Paragraph)) {
    for block in blocks {
        match block {
            Block::Paragraph(paragraph) => f(paragraph),
            Block::Table(table) => {
                for row in &mut table.rows {
                    for cell in &mut row.cells {
                        for_each_paragraph_mut(&mut cell.blocks, f);
                    }
                }
            }
            Block::PageBreak => {}
        }
    }
}

/// A draft read in one pass: what the exports need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Draft {
    pub title: String,
    pub blocks: Vec<Block>,
    /// Threads, oldest first; [`Comment::detached`] when their text is gone.
    pub comments: Vec<Comment>,
}

impl Draft {
    /// Whether exports print the title above the body: not when it is empty, nor when the body
    /// already opens with it as a heading (an imported Word file usually does).
    pub fn title_above_body(&self) -> bool {
        let title = self.title.trim();
        if title.is_empty() {
            return false;
        }
        !matches!(
            self.blocks.first(),
            Some(Block::Paragraph(first))
                if matches!(first.style, BlockStyle::Heading(_)) && first.text().trim() == title
        )
    }
}

/// The draft's title from `meta` ("" when unset).
pub fn title<T: ReadTxn>(txn: &T) -> String {
    txn.get_map(DRAFT_META)
        .and_then(|meta| meta.get(txn, "title"))
        .and_then(|value| match value {
            Out::Any(Any::String(title)) => Some(title.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Whether the draft was deleted (a tombstone flag: CRDT documents are never removed).
pub fn is_deleted<T: ReadTxn>(txn: &T) -> bool {
    txn.get_map(DRAFT_META)
        .and_then(|meta| meta.get(txn, "deleted"))
        .is_some_and(|value| matches!(value, Out::Any(Any::Bool(true))))
}

/// The draft body as blocks, in document order (no comment marks).
pub fn blocks<T: ReadTxn>(txn: &T) -> Vec<Block> {
    Walker::new(txn, HashMap::new(), false).read()
}

/// The whole draft: title, blocks with comment marks placed, and the comment threads.
pub fn read<T: ReadTxn>(txn: &T) -> Draft {
    let mut comments = comments(txn);
    let anchors = anchors(txn, &comments);
    let mut walker = Walker::new(txn, anchors.by_branch, false);
    let mut blocks = walker.read();
    place_comment_marks(&mut blocks, &mut comments, walker.marks);
    Draft {
        title: title(txn),
        blocks,
        comments,
    }
}

/// Where a run's text came from: the `Y.XmlText` and the UTF-16 offset of the run's start in
/// it (the redline asks the CRDT who wrote a word through these).
#[derive(Clone)]
pub(crate) struct RunSource {
    pub text: XmlTextRef,
    pub start: u32,
}

/// The blocks and, per paragraph (in [`paragraphs`] order) and run, where each run came from.
pub(crate) fn blocks_with_sources<T: ReadTxn>(
    txn: &T,
) -> (Vec<Block>, Vec<Vec<Option<RunSource>>>) {
    let mut walker = Walker::new(txn, HashMap::new(), true);
    let blocks = walker.read();
    (blocks, walker.sources)
}

/// The draft body as plain text, one paragraph per line (for search and word counts). Pending
/// insertions and deletions are both in it; footnote texts follow their paragraph.
pub fn plain_text<T: ReadTxn>(txn: &T) -> String {
    let mut text = String::new();
    for paragraph in paragraphs(&blocks(txn)) {
        let mut notes = String::new();
        for run in &paragraph.runs {
            text.push_str(&run.text);
            if let Inline::Footnote { text } = &run.inline {
                notes.push(' ');
                notes.push_str(text);
            }
        }
        text.push_str(&notes);
        text.push('\n');
    }
    text
}

/// Put each anchored comment's start and end marks into their paragraphs; a comment whose range
/// is gone, collapsed or reversed is detached (no marks).
fn place_comment_marks(
    blocks: &mut [Block],
    comments: &mut [Comment],
    marks: Vec<(usize, CommentMark)>,
) {
    // comment → (paragraph serial, offset) of each edge
    let mut edges: HashMap<usize, [Option<(usize, usize)>; 2]> = HashMap::new();
    for (serial, mark) in &marks {
        let slot = edges.entry(mark.comment).or_default();
        let index = usize::from(mark.edge == Edge::End);
        slot[index] = Some((*serial, mark.at));
    }
    for (index, comment) in comments.iter_mut().enumerate() {
        comment.detached = !matches!(
            edges.get(&index),
            Some([Some(start), Some(end)]) if start < end
        );
    }
    let mut by_serial: HashMap<usize, Vec<CommentMark>> = HashMap::new();
    for (serial, mark) in marks {
        if comments.get(mark.comment).is_some_and(|c| !c.detached) {
            by_serial.entry(serial).or_default().push(mark);
        }
    }
    let mut serial = 0;
    for_each_paragraph_mut(blocks, &mut |paragraph| {
        if let Some(mut marks) = by_serial.remove(&serial) {
            // Ends before starts at the same offset, so touching ranges do not overlap.
            marks.sort_by_key(|mark| (mark.at, mark.edge == Edge::Start, mark.comment));
            paragraph.comments = marks;
        }
        serial += 1;
    });
}

#[derive(Clone, Copy)]
enum Context {
    Body,
    Quote,
    List(ListKind, u8),
}

#[derive(Clone, Copy)]
enum ListKind {
    Bullet,
    Numbered(u32),
    Clause,
}

struct Walker<'t, T> {
    txn: &'t T,
    blocks: Vec<Block>,
    next_list: u32,
    /// Paragraphs pushed so far (their serial numbers, in document order).
    paragraphs: usize,
    /// Comment anchors by the `Y.XmlText` they point into: (UTF-16 index, comment, edge).
    anchors: HashMap<BranchPtr, Vec<(u32, usize, Edge)>>,
    /// (paragraph serial, mark) of every anchor found.
    marks: Vec<(usize, CommentMark)>,
    record_sources: bool,
    sources: Vec<Vec<Option<RunSource>>>,
}

/// A paragraph being read: its runs and what was found along them.
#[derive(Default)]
struct Inlines {
    runs: Vec<Run>,
    marks: Vec<CommentMark>,
    sources: Vec<Option<RunSource>>,
    /// Byte length of the runs so far.
    len: usize,
}

impl<'t, T: ReadTxn> Walker<'t, T> {
    fn new(
        txn: &'t T,
        anchors: HashMap<BranchPtr, Vec<(u32, usize, Edge)>>,
        record_sources: bool,
    ) -> Self {
        Walker {
            txn,
            blocks: Vec::new(),
            next_list: 0,
            paragraphs: 0,
            anchors,
            marks: Vec::new(),
            record_sources,
            sources: Vec::new(),
        }
    }

    fn read(&mut self) -> Vec<Block> {
        if let Some(fragment) = self.txn.get_xml_fragment(DRAFT_FRAGMENT) {
            let children: Vec<XmlOut> = fragment.children(self.txn).collect();
            for child in &children {
                self.node(child, Context::Body);
            }
        }
        std::mem::take(&mut self.blocks)
    }

    fn node(&mut self, node: &XmlOut, context: Context) {
        let XmlOut::Element(element) = node else {
            // Bare text at block level does not occur in the TipTap schema; keep it anyway.
            if let XmlOut::Text(text) = node {
                let mut inlines = Inlines::default();
                self.text(text, &mut inlines);
                self.push(style_for(context), inlines);
            }
            return;
        };
        let tag: &str = element.tag();
        match tag {
            "paragraph" | "codeBlock" => {
                let inlines = self.inlines(element);
                self.push(style_for(context), inlines);
            }
            "heading" => {
                let level = element
                    .get_attribute(self.txn, "level")
                    .and_then(|value| number(&value))
                    .unwrap_or(1)
                    .clamp(1, 6) as u8;
                let inlines = self.inlines(element);
                self.push(BlockStyle::Heading(level), inlines);
            }
            "blockquote" => self.children(element, Context::Quote),
            "bulletList" | "orderedList" | "clauseList" => {
                let level = match context {
                    Context::List(_, level) => level.saturating_add(1),
                    _ => 0,
                };
                let kind = match tag {
                    "bulletList" => ListKind::Bullet,
                    "clauseList" => ListKind::Clause,
                    _ => match context {
                        // A nested ordered list continues its parent's numbering definition.
                        Context::List(ListKind::Numbered(list), _) => ListKind::Numbered(list),
                        _ => {
                            self.next_list += 1;
                            ListKind::Numbered(self.next_list)
                        }
                    },
                };
                // The list's items carry the level; a nested list sits one level deeper.
                self.children(element, Context::List(kind, level));
            }
            "listItem" => {
                // The first paragraph of an item is the numbered/bulleted line; further blocks
                // (nested lists, more paragraphs) follow it.
                let mut first = true;
                let children: Vec<XmlOut> = element.children(self.txn).collect();
                for child in &children {
                    match (child, first) {
                        (XmlOut::Element(inner), true) if &**inner.tag() == "paragraph" => {
                            let inlines = self.inlines(inner);
                            self.push(style_for(context), inlines);
                            first = false;
                        }
                        _ => self.node(child, context),
                    }
                }
            }
            "pageBreak" => self.blocks.push(Block::PageBreak),
            "table" => self.table(element),
            "horizontalRule" | "hardBreak" => {}
            _ => self.children(element, context),
        }
    }

    fn children(&mut self, element: &yrs::XmlElementRef, context: Context) {
        let children: Vec<XmlOut> = element.children(self.txn).collect();
        for child in &children {
            self.node(child, context);
        }
    }

    fn table(&mut self, element: &yrs::XmlElementRef) {
        let outer = std::mem::take(&mut self.blocks);
        let mut rows = Vec::new();
        let row_nodes: Vec<XmlOut> = element.children(self.txn).collect();
        for row in &row_nodes {
            let XmlOut::Element(row) = row else { continue };
            let mut cells = Vec::new();
            let cell_nodes: Vec<XmlOut> = row.children(self.txn).collect();
            for cell in &cell_nodes {
                let XmlOut::Element(cell) = cell else {
                    continue;
                };
                let span = |name: &str| {
                    cell.get_attribute(self.txn, name)
                        .and_then(|value| number(&value))
                        .map_or(1, |n| n.max(1))
                };
                let (colspan, rowspan) = (span("colspan"), span("rowspan"));
                self.children(cell, Context::Body);
                cells.push(TableCell {
                    header: &**cell.tag() == "tableHeader",
                    colspan,
                    rowspan,
                    blocks: std::mem::take(&mut self.blocks),
                });
            }
            rows.push(TableRow { cells });
        }
        self.blocks = outer;
        self.blocks.push(Block::Table(Table { rows }));
    }

    fn push(&mut self, style: BlockStyle, inlines: Inlines) {
        let serial = self.paragraphs;
        self.paragraphs += 1;
        self.marks
            .extend(inlines.marks.into_iter().map(|mark| (serial, mark)));
        if self.record_sources {
            self.sources.push(inlines.sources);
        }
        self.blocks
            .push(Block::Paragraph(Paragraph::new(style, inlines.runs)));
    }

    /// The inline content of a textblock element: its XmlText children, hard breaks as "\n",
    /// footnotes and placeholders as their own runs.
    fn inlines(&mut self, element: &yrs::XmlElementRef) -> Inlines {
        let mut inlines = Inlines::default();
        let children: Vec<XmlOut> = element.children(self.txn).collect();
        for child in &children {
            match child {
                XmlOut::Text(text) => self.text(text, &mut inlines),
                XmlOut::Element(inline) => {
                    let attribute = |name: &str| {
                        inline
                            .get_attribute(self.txn, name)
                            .and_then(|value| match value {
                                Out::Any(Any::String(text)) => Some(text.to_string()),
                                _ => None,
                            })
                            .unwrap_or_default()
                    };
                    let run = match &**inline.tag() {
                        "hardBreak" | "pageBreak" => Run::text("\n"),
                        "footnote" => Run {
                            inline: Inline::Footnote {
                                text: attribute("text"),
                            },
                            ..Run::default()
                        },
                        "placeholder" => {
                            let (kind, label) = (attribute("kind"), attribute("label"));
                            Run {
                                text: placeholder_chip(&kind, &label),
                                inline: Inline::Placeholder { kind, label },
                                ..Run::default()
                            }
                        }
                        _ => continue,
                    };
                    let mut run = run;
                    apply_element_marks(&mut run, inline.get_attribute(self.txn, "marks"));
                    inlines.len += run.text.len();
                    inlines.runs.push(run);
                    inlines.sources.push(None);
                }
                XmlOut::Fragment(_) => {}
            }
        }
        inlines
    }

    fn text(&mut self, text: &XmlTextRef, inlines: &mut Inlines) {
        let base = inlines.len;
        let chunks = text.diff(self.txn, YChange::identity);
        let mut utf16 = 0u32;
        let mut pieces = Vec::new();
        for chunk in chunks {
            let Out::Any(Any::String(content)) = chunk.insert else {
                continue;
            };
            let run = run_from(&content, chunk.attributes.as_deref());
            if self.record_sources {
                inlines.sources.push(Some(RunSource {
                    text: text.clone(),
                    start: utf16,
                }));
            }
            utf16 += content.encode_utf16().count() as u32;
            inlines.len += run.text.len();
            pieces.push(run);
        }
        if let Some(anchors) = self
            .anchors
            .get(&BranchPtr::from(AsRef::<yrs::branch::Branch>::as_ref(text)))
        {
            let joined: String = pieces.iter().map(|run| run.text.as_str()).collect();
            for (index, comment, edge) in anchors {
                inlines.marks.push(CommentMark {
                    comment: *comment,
                    at: base + byte_offset(&joined, *index),
                    edge: *edge,
                });
            }
        }
        inlines.runs.extend(pieces);
    }
}

/// The byte offset of UTF-16 offset `index` in `text` (clamped to its end).
pub(crate) fn byte_offset(text: &str, index: u32) -> usize {
    let mut units = 0u32;
    for (at, c) in text.char_indices() {
        if units >= index {
            return at;
        }
        units += c.len_utf16() as u32;
    }
    text.len()
}

/// How a placeholder shows in text: `[Image: Signature]`.
fn placeholder_chip(kind: &str, label: &str) -> String {
    let mut kind_name: String = kind.chars().take(1).flat_map(char::to_uppercase).collect();
    kind_name.extend(kind.chars().skip(1));
    if kind_name.is_empty() {
        kind_name = "Object".into();
    }
    if label.is_empty() {
        format!("[{kind_name}]")
    } else {
        format!("[{kind_name}: {label}]")
    }
}

fn run_from(content: &str, attributes: Option<&yrs::types::Attrs>) -> Run {
    let mut run = Run::text(content);
    for (name, value) in attributes.into_iter().flatten() {
        apply_mark(&mut run, name, value);
    }
    run
}

/// Apply a mark (`name` → its attrs) to a run.
fn apply_mark(run: &mut Run, name: &str, value: &Any) {
    if matches!(value, Any::Null | Any::Undefined) {
        return;
    }
    // y-prosemirror stores a mark that may overlap itself as `name--<hash>`.
    let name = name.split("--").next().unwrap_or_default();
    let string = |key: &str| match value {
        Any::Map(map) => match map.get(key) {
            Some(Any::String(text)) => Some(text.to_string()),
            _ => None,
        },
        _ => None,
    };
    let suggestion = || Some(Suggestion::parse(&string("id").unwrap_or_default()));
    match name {
        "bold" => run.bold = true,
        "italic" => run.italic = true,
        "underline" => run.underline = true,
        "strike" => run.strike = true,
        "link" => run.link = string("href"),
        "insertion" => run.insertion = suggestion(),
        "deletion" => run.deletion = suggestion(),
        _ => {}
    }
}

/// Marks on an inline atom (a footnote, a placeholder): y-prosemirror keeps them in the
/// element's `marks` attribute as `[{type, attrs}]`.
fn apply_element_marks(run: &mut Run, marks: Option<Out>) {
    let Some(Out::Any(Any::Array(marks))) = marks else {
        return;
    };
    for mark in marks.iter() {
        let Any::Map(mark) = mark else { continue };
        if let Some(Any::String(name)) = mark.get("type") {
            let attrs = mark
                .get("attrs")
                .cloned()
                .unwrap_or_else(|| Any::Map(Default::default()));
            apply_mark(run, name, &attrs);
        }
    }
}

fn style_for(context: Context) -> BlockStyle {
    match context {
        Context::Body => BlockStyle::Paragraph,
        Context::Quote => BlockStyle::Quote,
        Context::List(ListKind::Bullet, level) => BlockStyle::Bullet { level },
        Context::List(ListKind::Numbered(list), level) => BlockStyle::Numbered { level, list },
        Context::List(ListKind::Clause, level) => BlockStyle::Clause { level },
    }
}

fn number(value: &Out) -> Option<u32> {
    match value {
        Out::Any(any) => any_number(any).map(|n| n.clamp(0.0, u32::MAX as f64) as u32),
        _ => None,
    }
}

pub(crate) fn any_number(value: &Any) -> Option<f64> {
    match value {
        Any::Number(Number::Int(number)) => Some(*number as f64),
        Any::Number(Number::Float(number)) => Some(*number),
        Any::String(text) => text.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use yrs::updates::encoder::Encode;
    use yrs::{
        Assoc, Doc, IndexedSequence, MapPrelim, Transact, WriteTxn, XmlElementPrelim, XmlTextPrelim,
    };

    fn mark(name: &str, attrs: &[(&str, &str)]) -> yrs::types::Attrs {
        let inner: HashMap<String, Any> = attrs
            .iter()
            .map(|(key, value)| (key.to_string(), Any::from(*value)))
            .collect();
        [(Arc::<str>::from(name), Any::Map(Arc::new(inner)))]
            .into_iter()
            .collect()
    }

    /// Build a small TipTap-shaped draft the way y-prosemirror lays it out.
    pub(crate) fn sample_draft(doc: &Doc) {
        let mut txn = doc.transact_mut();
        let fragment = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
        let heading = fragment.push_back(&mut txn, XmlElementPrelim::empty("heading"));
        heading.insert_attribute(&mut txn, "level", Any::Number(Number::Float(2.0)));
        heading.push_back(&mut txn, XmlTextPrelim::new("Indemnity"));
        let paragraph = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
        let text = paragraph.push_back(
            &mut txn,
            XmlTextPrelim::new("The Supplier shall  the Client."),
        );
        text.insert_with_attributes(&mut txn, 19, "indemnify", mark("bold", &[]));
        let clauses = fragment.push_back(&mut txn, XmlElementPrelim::empty("clauseList"));
        for clause in ["Definitions", "Term"] {
            let item = clauses.push_back(&mut txn, XmlElementPrelim::empty("listItem"));
            let line = item.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            line.push_back(&mut txn, XmlTextPrelim::new(clause));
        }
        let meta = txn.get_or_insert_map(DRAFT_META);
        meta.insert(&mut txn, "title", "Supply agreement");
    }

    fn paragraph_at(blocks: &[Block], index: usize) -> &Paragraph {
        paragraphs(blocks)[index]
    }

    #[test]
    fn reads_blocks_marks_and_lists() {
        let doc = Doc::new();
        sample_draft(&doc);
        let txn = doc.transact();
        let blocks = blocks(&txn);
        assert_eq!(blocks.len(), 4);
        assert_eq!(paragraph_at(&blocks, 0).style, BlockStyle::Heading(2));
        assert_eq!(paragraph_at(&blocks, 0).text(), "Indemnity");
        let second = paragraph_at(&blocks, 1);
        assert_eq!(second.text(), "The Supplier shall indemnify the Client.");
        let bold: Vec<_> = second.runs.iter().filter(|run| run.bold).collect();
        assert_eq!(bold.len(), 1);
        assert_eq!(bold[0].text, "indemnify");
        assert_eq!(
            paragraph_at(&blocks, 2).style,
            BlockStyle::Clause { level: 0 }
        );
        assert_eq!(paragraph_at(&blocks, 3).text(), "Term");
        assert_eq!(title(&txn), "Supply agreement");
        assert!(!is_deleted(&txn));
        assert!(plain_text(&txn).contains("indemnify the Client.\nDefinitions\n"));
    }

    #[test]
    fn suggestion_ids_carry_author_and_date() {
        let parsed = Suggestion::parse("s:1764979200000:k3x9q2:Jane Smith: Partner");
        assert_eq!(parsed.author, "Jane Smith: Partner");
        assert_eq!(parsed.date, Some(1_764_979_200_000));
        for malformed in ["", "s:abc:k3:Jane", "x:1:k3:Jane", "s:1:K3!:Jane", "s:1:k3"] {
            let parsed = Suggestion::parse(malformed);
            assert_eq!(parsed.author, "Unknown", "{malformed}");
            assert_eq!(parsed.date, None, "{malformed}");
        }
    }

    /// Suggestions, strike, links, footnotes, placeholders, page breaks and a table with a
    /// header row and spans all come through; a comment's anchors land on the commented word.
    #[test]
    fn reads_the_whole_contract() {
        let doc = Doc::with_options(yrs::Options {
            offset_kind: yrs::OffsetKind::Utf16,
            skip_gc: true,
            ..yrs::Options::default()
        });
        let mut txn = doc.transact_mut();
        let fragment = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
        let paragraph = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
        let text = paragraph.push_back(&mut txn, XmlTextPrelim::new("Pay “now” or later"));
        text.format(&mut txn, 4, 5, mark("strike", &[]));
        text.insert_with_attributes(
            &mut txn,
            18,
            " today",
            mark("insertion", &[("id", "s:1764979200000:ab12:Jane Smith")]),
        );
        text.format(&mut txn, 10, 8, mark("deletion", &[("id", "bogus")]));
        let note = paragraph.push_back(&mut txn, XmlElementPrelim::empty("footnote"));
        note.insert_attribute(&mut txn, "text", "See schedule 2.");
        let proposed: HashMap<String, Any> = [
            ("type".to_owned(), Any::from("insertion")),
            (
                "attrs".to_owned(),
                Any::from(HashMap::from([(
                    "id".to_owned(),
                    Any::from("s:1764979200000:zz9:Bob"),
                )])),
            ),
        ]
        .into_iter()
        .collect();
        note.insert_attribute(&mut txn, "marks", Any::from(vec![Any::from(proposed)]));
        let chip = paragraph.push_back(&mut txn, XmlElementPrelim::empty("placeholder"));
        chip.insert_attribute(&mut txn, "kind", "image");
        chip.insert_attribute(&mut txn, "label", "Logo");
        let linked = paragraph.push_back(&mut txn, XmlTextPrelim::new(""));
        linked.insert_with_attributes(
            &mut txn,
            0,
            "site",
            mark("link", &[("href", "https://example.com")]),
        );
        fragment.push_back(&mut txn, XmlElementPrelim::empty("pageBreak"));
        let table = fragment.push_back(&mut txn, XmlElementPrelim::empty("table"));
        for (row_index, row_cells) in [["Party", "Role"], ["Acme", "Supplier"]].iter().enumerate() {
            let row = table.push_back(&mut txn, XmlElementPrelim::empty("tableRow"));
            for cell_text in row_cells {
                let tag = if row_index == 0 {
                    "tableHeader"
                } else {
                    "tableCell"
                };
                let cell = row.push_back(&mut txn, XmlElementPrelim::empty(tag));
                if *cell_text == "Acme" {
                    cell.insert_attribute(&mut txn, "colspan", Any::Number(Number::Float(2.0)));
                }
                let inner = cell.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
                inner.push_back(&mut txn, XmlTextPrelim::new(*cell_text));
            }
        }
        // A comment on "now" (UTF-16 offsets 5..8, after the curly quote) and a detached one.
        let from = text.sticky_index(&txn, 5, Assoc::After).unwrap();
        let to = text.sticky_index(&txn, 8, Assoc::Before).unwrap();
        let comments_map = txn.get_or_insert_map(COMMENTS);
        let thread = comments_map.insert(&mut txn, "t1", MapPrelim::default());
        thread.insert(&mut txn, "from", Any::from(from.encode_v1()));
        thread.insert(&mut txn, "to", Any::from(to.encode_v1()));
        thread.insert(&mut txn, "author", "Ann");
        thread.insert(&mut txn, "created", 1_764_979_200_000.0);
        thread.insert(&mut txn, "body", "Why now?");
        let gone = comments_map.insert(&mut txn, "t2", MapPrelim::default());
        gone.insert(&mut txn, "quote", "old words");
        gone.insert(&mut txn, "created", 1_764_979_300_000.0);
        drop(txn);

        let draft = read(&doc.transact());
        let first = draft.blocks[0].as_paragraph().unwrap();
        assert_eq!(first.text(), "Pay “now” or later today[Image: Logo]site");
        let struck: String = first
            .runs
            .iter()
            .filter(|r| r.strike)
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(struck, "“now”");
        let inserted = first.runs.iter().find(|r| r.insertion.is_some()).unwrap();
        assert_eq!(inserted.text, " today");
        let suggestion = inserted.insertion.as_ref().unwrap();
        assert_eq!(suggestion.author, "Jane Smith");
        assert_eq!(suggestion.date, Some(1_764_979_200_000));
        let deleted = first.runs.iter().find(|r| r.deletion.is_some()).unwrap();
        assert_eq!(deleted.deletion.as_ref().unwrap().author, "Unknown");
        let note = first
            .runs
            .iter()
            .find(|r| {
                r.inline
                    == Inline::Footnote {
                        text: "See schedule 2.".into(),
                    }
            })
            .unwrap();
        assert_eq!(
            note.insertion.as_ref().unwrap().author,
            "Bob",
            "a proposed footnote"
        );
        let link = first.runs.iter().find(|r| r.link.is_some()).unwrap();
        assert_eq!(link.link.as_deref(), Some("https://example.com"));
        assert_eq!(draft.blocks[1], Block::PageBreak);
        let Block::Table(table) = &draft.blocks[2] else {
            panic!("no table: {:?}", draft.blocks[2]);
        };
        assert!(table.rows[0].cells.iter().all(|cell| cell.header));
        assert_eq!(table.rows[1].cells[0].colspan, 2);
        assert_eq!(
            table.rows[1].cells[1].blocks[0]
                .as_paragraph()
                .unwrap()
                .text(),
            "Supplier"
        );
        // The comment covers "now" (bytes 7..10 after the 3-byte quote mark).
        assert_eq!(draft.comments.len(), 2);
        assert!(!draft.comments[0].detached);
        assert!(draft.comments[1].detached);
        let text = first.text();
        let start = first
            .comments
            .iter()
            .find(|m| m.edge == Edge::Start)
            .unwrap();
        let end = first.comments.iter().find(|m| m.edge == Edge::End).unwrap();
        assert_eq!(&text[start.at..end.at], "now");
        assert!(plain_text(&doc.transact()).contains("site See schedule 2.\n"));
    }
}
