//! `word/document.xml` into the block model, in one streaming pass over its events. Every element
//! opened pushes a [`Frame`]; its end pops it and finishes what it built (a run, a paragraph, a
//! cell, a table). What the editor cannot hold (drawings, objects, equations) is skipped as a
//! region and becomes one placeholder.

mod fields;
mod paragraphs;
mod placeholders;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use quick_xml::events::BytesStart;

use fields::Field;
use paragraphs::ParagraphState;
use placeholders::Skip;

use super::error::ImportError;
use super::lists::Container;
use super::model::{Block, Inline, Marks};
use super::parts::{self, Note, Numbering, Relationships, Styles};
use super::tables::{RawCell, RawRow, TableState, table_rows};
use super::xml::{Events, Node, attribute, local, toggle};
use super::{ImportLimits, ImportReport, time};

/// The longest quote kept for a comment.
const QUOTE_BYTES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Other,
    Paragraph,
    NestedParagraph,
    ParagraphProps,
    Run,
    RunProps,
    Text,
    DeletedText,
    FieldCode,
    Hyperlink,
    Suggestion,
    SimpleField,
    Table,
    Row,
    RowProps,
    Cell,
    CellProps,
    Skip,
}

#[derive(Default, Clone, Copy)]
struct RunState {
    style: parts::StyleMarks,
    bold: Option<bool>,
    italic: Option<bool>,
    underline: Option<bool>,
    strike: Option<bool>,
}

impl RunState {
    fn marks(&self) -> Marks {
        Marks {
            bold: self.bold.or(self.style.bold).unwrap_or(false),
            italic: self.italic.or(self.style.italic).unwrap_or(false),
            underline: self.underline.or(self.style.underline).unwrap_or(false),
            strike: self.strike.or(self.style.strike).unwrap_or(false),
            ..Marks::default()
        }
    }
}

enum SuggestionKind {
    Insertion,
    Deletion,
}

pub(super) struct BodyParser<'p> {
    styles: &'p Styles,
    numbering: &'p Numbering,
    relationships: &'p Relationships,
    footnotes: &'p HashMap<String, Note>,
    endnotes: &'p HashMap<String, Note>,
    limits: &'p ImportLimits,
    pub(super) report: ImportReport,
    frames: Vec<Frame>,
    pub(super) containers: Vec<Container>,
    tables: Vec<TableState>,
    paragraph: Option<ParagraphState>,
    run: RunState,
    links: Vec<Option<Rc<str>>>,
    suggestions: Vec<(SuggestionKind, Rc<str>)>,
    seen_suggestions: HashSet<(bool, String, String)>,
    fields: Vec<Field>,
    skip: Option<Skip>,
    /// Comment markers met between paragraphs, put at the start of the next one.
    pending: Vec<Inline>,
    active_quotes: HashMap<String, String>,
    pub(super) quotes: HashMap<String, String>,
    started_comments: HashSet<String>,
    ended_comments: HashSet<String>,
    paragraph_number: usize,
    blocks: usize,
    counters: HashMap<String, [u32; 9]>,
    pub(super) first_heading: Option<String>,
    mark_changes: usize,
    format_changes: usize,
    /// Text runs pushed so far, to tell that two comment references are adjacent.
    text_count: usize,
    /// Inline items pushed so far (runs, atoms, markers), against `max_inlines`.
    inlines: usize,
    last_reference: Option<(String, usize)>,
    /// Replies told by position (LibreOffice), comment id → the comment it answers.
    pub(super) reply_to: HashMap<String, String>,
}

impl<'p> BodyParser<'p> {
    pub(super) fn new(
        styles: &'p Styles,
        numbering: &'p Numbering,
        relationships: &'p Relationships,
        footnotes: &'p HashMap<String, Note>,
        endnotes: &'p HashMap<String, Note>,
        limits: &'p ImportLimits,
    ) -> Self {
        Self {
            styles,
            numbering,
            relationships,
            footnotes,
            endnotes,
            limits,
            report: ImportReport::default(),
            frames: Vec::new(),
            containers: vec![Container::default()],
            tables: Vec::new(),
            paragraph: None,
            run: RunState::default(),
            links: Vec::new(),
            suggestions: Vec::new(),
            seen_suggestions: HashSet::new(),
            fields: Vec::new(),
            skip: None,
            pending: Vec::new(),
            active_quotes: HashMap::new(),
            quotes: HashMap::new(),
            started_comments: HashSet::new(),
            ended_comments: HashSet::new(),
            paragraph_number: 0,
            blocks: 0,
            counters: HashMap::new(),
            first_heading: None,
            mark_changes: 0,
            format_changes: 0,
            text_count: 0,
            inlines: 0,
            last_reference: None,
            reply_to: HashMap::new(),
        }
    }

    pub(super) fn run(&mut self, document: &[u8]) -> Result<(), ImportError> {
        let mut events = Events::new(document, "word/document.xml", self.limits.max_xml_depth);
        while let Some(node) = events.next()? {
            match node {
                Node::Start(element) => {
                    let frame = if self.skip.is_some() {
                        self.skip_info(&element);
                        Frame::Other
                    } else {
                        self.start(&element)?
                    };
                    self.frames.push(frame);
                }
                Node::Empty(element) => {
                    if self.skip.is_some() {
                        self.skip_info(&element);
                    } else {
                        self.empty(&element)?;
                    }
                }
                Node::End => {
                    let frame = self.frames.pop().unwrap_or(Frame::Other);
                    self.end(frame)?;
                }
                Node::Text(text) => self.text(&text),
            }
            if self.inlines > self.limits.max_inlines {
                return Err(ImportError::TooMuchContent {
                    limit: self.limits.max_inlines,
                });
            }
        }
        if self.mark_changes > 0 {
            self.report.warnings.push(format!(
                "{} tracked paragraph or row insertions/deletions were kept as plain paragraph \
                 breaks and rows (the text inside them keeps its suggestion marks).",
                self.mark_changes
            ));
        }
        if self.format_changes > 0 {
            self.report.warnings.push(format!(
                "{} tracked formatting changes were imported as accepted (the new formatting \
                 is shown).",
                self.format_changes
            ));
        }
        // Quotes of comments whose range never ended run to the end of the document.
        for (id, quote) in self.active_quotes.drain() {
            self.quotes
                .insert(id, quote.trim_end_matches('\n').to_owned());
        }
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.push_paragraph_block(Block::Paragraph {
                heading: None,
                inlines: pending,
            })?;
        }
        Ok(())
    }

    fn parent(&self) -> Frame {
        self.frames.last().copied().unwrap_or(Frame::Other)
    }

    fn start(&mut self, element: &BytesStart) -> Result<Frame, ImportError> {
        let name = local(element);
        Ok(match name {
            b"p" => {
                if let Some(paragraph) = self.paragraph.as_mut() {
                    // A paragraph inside a paragraph (content controls, malformed files).
                    paragraph.push(Inline::HardBreak);
                    Frame::NestedParagraph
                } else {
                    self.paragraph_number += 1;
                    let mut paragraph = ParagraphState::default();
                    for marker in self.pending.drain(..) {
                        paragraph.push(marker);
                    }
                    self.paragraph = Some(paragraph);
                    Frame::Paragraph
                }
            }
            b"pPr" if self.parent() == Frame::Paragraph => Frame::ParagraphProps,
            b"r" => {
                self.run = RunState::default();
                Frame::Run
            }
            b"rPr" if self.parent() == Frame::Run => Frame::RunProps,
            b"t" if self.parent() == Frame::Run => Frame::Text,
            b"delText" if self.parent() == Frame::Run => Frame::DeletedText,
            b"instrText" if self.parent() == Frame::Run => Frame::FieldCode,
            b"hyperlink" => {
                let href = attribute(element, b"id")
                    .and_then(|id| self.relationships.target(&id).map(str::to_owned))
                    .or_else(|| attribute(element, b"anchor").map(|anchor| format!("#{anchor}")));
                if href.is_some() {
                    self.report.hyperlinks += 1;
                }
                self.links.push(href.map(Rc::from));
                Frame::Hyperlink
            }
            b"ins" | b"moveTo" | b"del" | b"moveFrom" => {
                if self.in_properties() {
                    self.mark_changes += 1;
                    Frame::Other
                } else {
                    let insertion = matches!(name, b"ins" | b"moveTo");
                    let id = self.suggestion_id(element, insertion);
                    let kind = if insertion {
                        SuggestionKind::Insertion
                    } else {
                        SuggestionKind::Deletion
                    };
                    self.suggestions.push((kind, id));
                    Frame::Suggestion
                }
            }
            b"fldSimple" => {
                let code = attribute(element, b"instr").unwrap_or_default();
                self.fields.push(Field {
                    code,
                    result: true,
                    ..Field::default()
                });
                self.evaluate_field();
                Frame::SimpleField
            }
            b"tbl" => {
                self.tables.push(TableState {
                    grid: Vec::new(),
                    rows: Vec::new(),
                    cell_span: 1,
                    cell_merge: None,
                });
                Frame::Table
            }
            b"tr" => {
                if let Some(table) = self.tables.last_mut() {
                    table.rows.push(RawRow {
                        header: false,
                        grid_before: 0,
                        next_column: 0,
                        cells: Vec::new(),
                    });
                }
                Frame::Row
            }
            b"trPr" => Frame::RowProps,
            b"tc" => {
                if let Some(table) = self.tables.last_mut() {
                    table.cell_span = 1;
                    table.cell_merge = None;
                }
                self.containers.push(Container::default());
                Frame::Cell
            }
            b"tcPr" => Frame::CellProps,
            b"drawing" | b"pict" | b"object" | b"oMath" | b"oMathPara" | b"txbxContent" => {
                self.begin_skip(name, true, element);
                Frame::Skip
            }
            // Old formatting kept for tracked changes, section and control properties, the
            // Fallback twin of mc:AlternateContent, ruby annotations: nothing to show.
            b"rPrChange" | b"pPrChange" | b"tblPrChange" | b"trPrChange" | b"tcPrChange"
            | b"sectPrChange" | b"tblGridChange" | b"numberingChange" => {
                self.format_changes += 1;
                self.begin_skip(b"", false, element);
                Frame::Skip
            }
            b"Fallback" | b"sectPr" | b"sdtPr" | b"sdtEndPr" | b"tblPr" | b"tblPrEx" | b"rt"
            | b"customXmlPr" | b"smartTagPr" | b"background" | b"tabs" => {
                self.begin_skip(b"", false, element);
                Frame::Skip
            }
            _ => Frame::Other,
        })
    }

    fn in_properties(&self) -> bool {
        matches!(
            self.parent(),
            Frame::ParagraphProps | Frame::RowProps | Frame::CellProps | Frame::RunProps
        ) || self
            .frames
            .iter()
            .rev()
            .take(3)
            .any(|frame| matches!(frame, Frame::ParagraphProps | Frame::RowProps))
    }

    fn empty(&mut self, element: &BytesStart) -> Result<(), ImportError> {
        let name = local(element);
        let parent = self.parent();
        let value = || attribute(element, b"val");
        match (name, parent) {
            (b"pStyle", Frame::ParagraphProps) => {
                if let Some(paragraph) = self.paragraph.as_mut() {
                    paragraph.style = value();
                }
            }
            (b"numId", _) if self.within(Frame::ParagraphProps) => {
                if let Some(paragraph) = self.paragraph.as_mut() {
                    paragraph.num_id = value();
                }
            }
            (b"ilvl", _) if self.within(Frame::ParagraphProps) => {
                if let Some(paragraph) = self.paragraph.as_mut() {
                    paragraph.level = value().and_then(|level| level.parse().ok());
                }
            }
            (b"outlineLvl", Frame::ParagraphProps) => {
                if let Some(paragraph) = self.paragraph.as_mut() {
                    paragraph.outline = value().and_then(|level| level.parse().ok());
                }
            }
            (b"pageBreakBefore", Frame::ParagraphProps) => {
                if let Some(paragraph) = self.paragraph.as_mut() {
                    paragraph.break_before = toggle(element);
                }
            }
            (b"rStyle", Frame::RunProps) => {
                if let Some(style) = value() {
                    self.run.style = self.styles.marks(&style);
                }
            }
            (b"b", Frame::RunProps) => self.run.bold = Some(toggle(element)),
            (b"i", Frame::RunProps) => self.run.italic = Some(toggle(element)),
            (b"u", Frame::RunProps) => self.run.underline = Some(toggle(element)),
            (b"strike" | b"dstrike", Frame::RunProps) => self.run.strike = Some(toggle(element)),
            (b"ins" | b"del" | b"moveTo" | b"moveFrom", _) if self.in_properties() => {
                self.mark_changes += 1;
            }
            (b"tab", Frame::Run) => self.push_text("\t"),
            (b"noBreakHyphen", Frame::Run) => self.push_text("\u{2011}"),
            (b"softHyphen", Frame::Run) => self.push_text("\u{00AD}"),
            (b"cr", Frame::Run) => self.push_inline(Inline::HardBreak),
            (b"br", Frame::Run) => {
                if attribute(element, b"type").as_deref() == Some("page") {
                    if let Some(paragraph) = self.paragraph.as_mut() {
                        if paragraph.pieces.is_empty() {
                            paragraph.pieces.push(Vec::new());
                        }
                        paragraph.pieces.push(Vec::new());
                    }
                } else {
                    self.push_inline(Inline::HardBreak);
                }
            }
            (b"sym", Frame::Run) => {
                let font = attribute(element, b"font").unwrap_or_default();
                let character = attribute(element, b"char").unwrap_or_default();
                self.placeholder("symbol", format!("Symbol {character} ({font})"));
            }
            (b"footnoteReference", _) | (b"endnoteReference", _) => {
                let notes = if name == b"footnoteReference" {
                    self.footnotes
                } else {
                    self.endnotes
                };
                let id = attribute(element, b"id").unwrap_or_default();
                let text = match notes.get(&id) {
                    Some(note) => note.text.trim().to_owned(),
                    None => {
                        self.report.warnings.push(format!(
                            "A footnote reference in paragraph {} points to a footnote the \
                             file does not have; an empty footnote was kept.",
                            self.paragraph_number
                        ));
                        String::new()
                    }
                };
                self.report.footnotes += 1;
                self.push_inline(Inline::Footnote(text));
            }
            (b"commentRangeStart", _) => {
                if let Some(id) = attribute(element, b"id") {
                    self.comment_start(id);
                }
            }
            (b"commentRangeEnd", _) => {
                if let Some(id) = attribute(element, b"id") {
                    self.comment_end(id);
                }
            }
            (b"commentReference", _) => {
                if let Some(id) = attribute(element, b"id") {
                    if !self.started_comments.contains(&id) {
                        // LibreOffice writes a reply as a comment without a range, referenced
                        // right after its parent's reference with no text between.
                        if let Some((previous, at)) = &self.last_reference
                            && *at == self.text_count
                            && *previous != id
                        {
                            self.reply_to.insert(id.clone(), previous.clone());
                        }
                        self.comment_start(id.clone());
                        self.comment_end(id.clone());
                    }
                    self.last_reference = Some((id, self.text_count));
                }
            }
            (b"fldChar", _) => match attribute(element, b"fldCharType").as_deref() {
                Some("begin") => self.fields.push(Field::default()),
                Some("separate") => {
                    if let Some(field) = self.fields.last_mut() {
                        field.result = true;
                    }
                    self.evaluate_field();
                }
                Some("end") => {
                    self.evaluate_field();
                    self.fields.pop();
                }
                _ => {}
            },
            (b"fldSimple", _) => {
                let code = attribute(element, b"instr").unwrap_or_default();
                self.fields.push(Field {
                    code,
                    result: true,
                    ..Field::default()
                });
                self.evaluate_field();
                self.fields.pop();
            }
            (b"tblHeader", Frame::RowProps) => {
                if let Some(row) = self
                    .tables
                    .last_mut()
                    .and_then(|table| table.rows.last_mut())
                {
                    row.header = toggle(element);
                }
            }
            (b"gridBefore", Frame::RowProps) => {
                if let Some(row) = self
                    .tables
                    .last_mut()
                    .and_then(|table| table.rows.last_mut())
                {
                    row.grid_before = value().and_then(|span| span.parse().ok()).unwrap_or(0);
                    row.next_column = row.grid_before;
                }
            }
            (b"gridSpan", Frame::CellProps) => {
                if let Some(table) = self.tables.last_mut() {
                    table.cell_span = value()
                        .and_then(|span| span.parse().ok())
                        .unwrap_or(1)
                        .clamp(1, 1000);
                }
            }
            (b"vMerge", Frame::CellProps) => {
                if let Some(table) = self.tables.last_mut() {
                    table.cell_merge = Some(value().as_deref() == Some("restart"));
                }
            }
            (b"gridCol", _) => {
                if let Some(table) = self.tables.last_mut() {
                    table.grid.push(
                        attribute(element, b"w")
                            .and_then(|w| w.parse().ok())
                            .unwrap_or(0),
                    );
                }
            }
            (b"drawing" | b"pict" | b"object", _) => {
                self.begin_skip(name, true, element);
                self.finish_skip();
            }
            (b"altChunk", _) => {
                self.placeholder("object", "Content embedded from another file".to_owned());
            }
            _ => {}
        }
        Ok(())
    }

    fn within(&self, frame: Frame) -> bool {
        self.frames.iter().rev().take(3).any(|open| *open == frame)
    }

    fn end(&mut self, frame: Frame) -> Result<(), ImportError> {
        match frame {
            Frame::Paragraph => self.finish_paragraph()?,
            Frame::Run => self.run = RunState::default(),
            Frame::Hyperlink => {
                self.links.pop();
            }
            Frame::Suggestion => {
                self.suggestions.pop();
            }
            Frame::SimpleField => {
                self.fields.pop();
            }
            Frame::Cell => self.finish_cell(),
            Frame::Table => self.finish_table()?,
            Frame::Skip => self.finish_skip(),
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, text: &str) {
        if let Some(skip) = self.skip.as_mut() {
            if skip.placeholder && skip.text.len() < 4 * placeholders::LABEL_CHARS {
                skip.text.push_str(text);
            }
            return;
        }
        match self.parent() {
            Frame::Text => self.push_text(text),
            // Deleted text outside a deletion has no author to show it struck for.
            Frame::DeletedText
                if self
                    .suggestions
                    .iter()
                    .any(|(kind, _)| matches!(kind, SuggestionKind::Deletion)) =>
            {
                self.push_text(text);
            }
            Frame::FieldCode => {
                if let Some(field) = self.fields.last_mut()
                    && !field.result
                {
                    field.code.push_str(text);
                }
            }
            _ => {}
        }
    }

    fn marks(&self) -> Marks {
        let mut marks = self.run.marks();
        marks.link = self.links.iter().rev().find_map(Clone::clone).or_else(|| {
            self.fields
                .iter()
                .rev()
                .find_map(|field| field.link.clone())
        });
        // A link's character style (Word's "Hyperlink") underlines it; the editor shows links
        // underlined anyway, so only an underline set on the run itself is kept.
        if marks.link.is_some() && self.run.underline.is_none() {
            marks.underline = false;
        }
        for (kind, id) in self.suggestions.iter().rev() {
            match kind {
                SuggestionKind::Insertion if marks.insertion.is_none() => {
                    marks.insertion = Some(id.clone());
                }
                SuggestionKind::Deletion if marks.deletion.is_none() => {
                    marks.deletion = Some(id.clone());
                }
                _ => {}
            }
        }
        marks
    }

    fn push_text(&mut self, text: &str) {
        // The code of a field is not shown; its result is.
        if text.is_empty() || self.fields.iter().any(|field| !field.result) {
            return;
        }
        for quote in self.active_quotes.values_mut() {
            if quote.len() < QUOTE_BYTES {
                quote.push_str(text);
            }
        }
        self.text_count += 1;
        self.inlines += 1;
        let marks = self.marks();
        if let Some(paragraph) = self.paragraph.as_mut() {
            paragraph.push(Inline::Text(text.to_owned(), marks));
        }
    }

    fn push_inline(&mut self, inline: Inline) {
        if self.fields.iter().any(|field| !field.result) {
            return;
        }
        self.inlines += 1;
        match self.paragraph.as_mut() {
            Some(paragraph) => paragraph.push(inline),
            None => self.pending.push(inline),
        }
    }

    fn suggestion_id(&mut self, element: &BytesStart, insertion: bool) -> Rc<str> {
        let word_id = attribute(element, b"id").unwrap_or_default();
        let author = attribute(element, b"author")
            .filter(|author| !author.trim().is_empty())
            .unwrap_or_else(|| "Unknown author".to_owned());
        let date = attribute(element, b"date")
            .and_then(|date| time::unix_ms(&date))
            .unwrap_or(0);
        if self
            .seen_suggestions
            .insert((insertion, word_id.clone(), author.clone()))
        {
            let count = self.report.suggestions.entry(author.clone()).or_default();
            if insertion {
                count.insertions += 1;
            } else {
                count.deletions += 1;
            }
        }
        Rc::from(format!("s:{date}:w{word_id}:{author}"))
    }

    fn comment_start(&mut self, id: String) {
        // One start per comment: repeated markers add nothing.
        if !self.started_comments.insert(id.clone()) {
            return;
        }
        self.active_quotes.insert(id.clone(), String::new());
        self.push_marker(Inline::CommentStart(id));
    }

    fn comment_end(&mut self, id: String) {
        if !self.ended_comments.insert(id.clone()) {
            return;
        }
        if let Some(quote) = self.active_quotes.remove(&id) {
            self.quotes
                .insert(id.clone(), quote.trim_end_matches('\n').to_owned());
        }
        self.push_marker(Inline::CommentEnd(id));
    }

    /// Comment markers are kept even inside a field's code.
    fn push_marker(&mut self, marker: Inline) {
        self.inlines += 1;
        match self.paragraph.as_mut() {
            Some(paragraph) => paragraph.push(marker),
            None => self.pending.push(marker),
        }
    }

    fn finish_cell(&mut self) {
        // The body container is never popped here: a cell always pushed its own.
        if self.containers.len() < 2 {
            return;
        }
        let Some(container) = self.containers.pop() else {
            return;
        };
        let mut blocks = container.finish();
        if blocks.is_empty() {
            blocks.push(Block::Paragraph {
                heading: None,
                inlines: Vec::new(),
            });
        }
        let Some(table) = self.tables.last_mut() else {
            return;
        };
        let (span, merge) = (table.cell_span, table.cell_merge);
        if let Some(row) = table.rows.last_mut() {
            row.cells.push(RawCell {
                blocks,
                column: row.next_column,
                span,
                merge,
            });
            row.next_column = row.next_column.saturating_add(span);
        }
    }

    fn finish_table(&mut self) -> Result<(), ImportError> {
        let Some(table) = self.tables.pop() else {
            return Ok(());
        };
        self.report.tables += 1;
        let rows = table_rows(table);
        if let Some(container) = self.containers.last_mut() {
            container.push_block(Block::Table(rows));
        }
        Ok(())
    }
}
