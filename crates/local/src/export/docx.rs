//! Export a draft to Word (.docx) from the yrs document: headings as Word heading styles, bold /
//! italic / underline / strike runs, links, bullet and numbered lists as Word numbering, legal
//! clause numbering (1. / 1.1. / 1.1.1., running on through the draft) as a multi-level list so
//! the numbers stay live when the firm edits the file in Word; pending suggestions as Word
//! revisions (`w:ins` / `w:del` with author and date), comment threads as Word comments with
//! replies, tables (spans, repeating header rows), footnotes and page breaks.

use std::io::Cursor;

use docx_rs::{
    AbstractNumbering, BreakType, Comment as WordCommentEl, Delete, Docx, Footnote, Hyperlink,
    HyperlinkType, IndentLevel, Insert, Level, LevelJc, LevelOverride, LevelText, NumberFormat,
    Numbering, NumberingId, Paragraph, Run, RunProperty, Shading, SpecialIndentType, Start, Style,
    StyleType, Table, TableCell, TableRow, VMergeType, VertAlignType, WidthType,
};

use crate::LocalError;
use crate::store::draft::{
    Block, BlockStyle, Comment, Draft, Edge, GridSlot, Inline, Paragraph as DraftParagraph,
    Run as DraftRun, Suggestion, Table as DraftTable, paragraphs,
};

const BULLETS: usize = 1;
const ORDERED: usize = 2;
const CLAUSES: usize = 3;
/// Numbering instance ids: bullets and clauses have one each; every ordered list gets its own
/// instance from `FIRST_ORDERED_LIST` on, so each one restarts at 1.
const BULLET_NUMBERING: usize = 1;
const CLAUSE_NUMBERING: usize = 2;
const FIRST_ORDERED_LIST: usize = 10;
const LEVELS: usize = 6;

fn level(index: usize, format: &str, text: String) -> Level {
    Level::new(
        index,
        Start::new(1),
        NumberFormat::new(format),
        LevelText::new(text),
        LevelJc::new("left"),
    )
    .indent(
        Some(720 * (index as i32 + 1)),
        Some(SpecialIndentType::Hanging(360)),
        None,
        None,
    )
}

fn numbering_definitions(mut docx: Docx, ordered_lists: u32) -> Docx {
    let mut bullets = AbstractNumbering::new(BULLETS);
    let mut ordered = AbstractNumbering::new(ORDERED);
    let mut clauses = AbstractNumbering::new(CLAUSES);
    for index in 0..LEVELS {
        bullets = bullets.add_level(level(
            index,
            "bullet",
            if index % 2 == 0 { "•" } else { "◦" }.into(),
        ));
        let format = ["decimal", "lowerLetter", "lowerRoman"][index % 3];
        ordered = ordered.add_level(level(index, format, format!("%{}.", index + 1)));
        // 1. / 1.1. / 1.1.1. …
        let text: String = (1..=index + 1).map(|n| format!("%{n}.")).collect();
        clauses = clauses.add_level(level(index, "decimal", text).is_lgl());
    }
    docx = docx
        .add_abstract_numbering(bullets)
        .add_abstract_numbering(ordered)
        .add_abstract_numbering(clauses)
        .add_numbering(Numbering::new(BULLET_NUMBERING, BULLETS))
        .add_numbering(Numbering::new(CLAUSE_NUMBERING, CLAUSES));
    for list in 1..=ordered_lists as usize {
        docx = docx.add_numbering(
            Numbering::new(FIRST_ORDERED_LIST + list, ORDERED)
                .add_override(LevelOverride::new(0).start(1)),
        );
    }
    docx
}

fn styles(mut docx: Docx) -> Docx {
    let sizes = [36, 32, 28, 26, 24, 24];
    for (index, size) in sizes.iter().enumerate() {
        let level = index + 1;
        docx = docx.add_style(
            Style::new(format!("Heading{level}"), StyleType::Paragraph)
                .name(format!("Heading {level}"))
                .based_on("Normal")
                .size(*size)
                .bold(),
        );
    }
    docx.add_style(
        Style::new("Quote", StyleType::Paragraph)
            .name("Quote")
            .based_on("Normal")
            .italic()
            .indent(Some(720), None, Some(720), None),
    )
}

/// Character styles the body refers to: footnote markers are superscript, links blue and
/// underlined.
fn character_styles(docx: Docx) -> Docx {
    let mut footnote =
        Style::new("FootnoteReference", StyleType::Character).name("footnote reference");
    footnote.run_property = RunProperty::new().vert_align(VertAlignType::SuperScript);
    let hyperlink = Style::new("Hyperlink", StyleType::Character)
        .name("Hyperlink")
        .color("0563C1")
        .underline("single");
    docx.add_style(footnote).add_style(hyperlink)
}

/// ISO 8601 (UTC, seconds) of unix milliseconds, as `w:date` wants it.
pub(crate) fn iso_date(millis: Option<i64>) -> Option<String> {
    let date = chrono::DateTime::from_timestamp_millis(millis?)?;
    Some(date.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// What the body refers to while it is written: Word comment ids by thread, and which threads
/// are anchored on the document start because their text is gone.
struct Comments {
    /// Per thread (index into `Draft::comments`): its Word comment and its replies'.
    threads: Vec<Vec<WordComment>>,
}

/// One Word comment (a thread's opening comment or a reply).
struct WordComment {
    comment: WordCommentEl,
    done: bool,
}

/// Word comment ids are numbers; each comment's one paragraph carries a fixed `w14:paraId` so
/// the resolved flag (`w15:done` in commentsExtended) can be set on it.
const COMMENT_PARA_BASE: usize = 0x5000_0000;

fn comment_paragraph(id: usize, text: &str) -> Paragraph {
    let mut paragraph = Paragraph::new().id(format!("{:08X}", COMMENT_PARA_BASE + id));
    for (index, line) in text.split('\n').enumerate() {
        let mut run = Run::new();
        if index > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        paragraph = paragraph.add_run(run.add_text(line));
    }
    paragraph
}

impl Comments {
    fn new(threads: &[Comment]) -> Comments {
        let mut next = 0usize;
        let mut word_threads = Vec::new();
        for thread in threads {
            let id = next;
            next += 1;
            let mut body = if thread.deleted {
                "(comment deleted)".to_owned()
            } else {
                thread.body.clone()
            };
            if thread.detached {
                body = format!("On “{}” (text since removed): {body}", thread.quote);
            }
            let mut opening = WordCommentEl::new(id)
                .author(author_or_unknown(&thread.author))
                .add_paragraph(comment_paragraph(id, &body));
            if let Some(date) = iso_date(thread.created) {
                opening = opening.date(date);
            }
            let mut comments = vec![WordComment {
                comment: opening,
                done: thread.resolved,
            }];
            for reply in thread.replies.iter().filter(|reply| !reply.deleted) {
                let reply_id = next;
                next += 1;
                let mut comment = WordCommentEl::new(reply_id)
                    .author(author_or_unknown(&reply.author))
                    .parent_comment_id(id)
                    .add_paragraph(comment_paragraph(reply_id, &reply.body));
                if let Some(date) = iso_date(reply.created) {
                    comment = comment.date(date);
                }
                comments.push(WordComment {
                    comment,
                    done: thread.resolved,
                });
            }
            word_threads.push(comments);
        }
        Comments {
            threads: word_threads,
        }
    }

    fn start(&self, thread: usize, mut paragraph: Paragraph) -> Paragraph {
        for comment in self.threads.get(thread).into_iter().flatten() {
            paragraph = paragraph.add_comment_start(comment.comment.clone());
        }
        paragraph
    }

    fn end(&self, thread: usize, mut paragraph: Paragraph) -> Paragraph {
        for comment in self.threads.get(thread).into_iter().flatten() {
            paragraph = paragraph.add_comment_end(comment.comment.id());
        }
        paragraph
    }

    /// The paragraph ids of resolved comments.
    fn done(&self) -> Vec<String> {
        self.threads
            .iter()
            .flatten()
            .filter(|comment| comment.done)
            .map(|comment| format!("{:08X}", COMMENT_PARA_BASE + comment.comment.id()))
            .collect()
    }
}

fn author_or_unknown(author: &str) -> &str {
    if author.trim().is_empty() {
        "Unknown"
    } else {
        author
    }
}

/// A draft run as Word runs (a hard break inside a paragraph arrives as "\n" text); `deleted`
/// writes `w:delText`, as Word wants inside `w:del`.
fn word_runs(run: &DraftRun, text: &str, force_bold: bool) -> Vec<Run> {
    let deleted = run.deletion.is_some();
    let style = |mut word_run: Run| {
        if run.bold || force_bold {
            word_run = word_run.bold();
        }
        if run.italic {
            word_run = word_run.italic();
        }
        if run.underline {
            word_run = word_run.underline("single");
        }
        if run.strike {
            word_run = word_run.strike();
        }
        if run.link.is_some() {
            word_run = word_run.style("Hyperlink");
        }
        if matches!(run.inline, Inline::Placeholder { .. }) {
            word_run = word_run.color("808080").highlight("lightGray");
        }
        word_run
    };
    if let Inline::Footnote { text: note } = &run.inline {
        let mut footnote = Footnote::new();
        let footnote =
            footnote.add_content(Paragraph::new().add_run(Run::new().add_text(note.as_str())));
        return vec![Run::new().add_footnote_reference(footnote)];
    }
    text.split('\n')
        .enumerate()
        .map(|(index, line)| {
            let mut word_run = Run::new();
            if index > 0 {
                word_run = word_run.add_break(BreakType::TextWrapping);
            }
            if deleted {
                word_run = word_run.add_delete_text(line);
            } else {
                word_run = word_run.add_text(line);
            }
            style(word_run)
        })
        .collect()
}

/// Add a piece of a run to the paragraph: inside `w:ins` / `w:del` when it is a pending
/// suggestion, inside a hyperlink when it is linked.
fn add_piece(paragraph: Paragraph, run: &DraftRun, text: &str, force_bold: bool) -> Paragraph {
    let runs = word_runs(run, text, force_bold);
    let revision = |author: &str, date: Option<i64>| {
        (
            author_or_unknown(author).to_owned(),
            iso_date(date).unwrap_or_else(|| NO_DATE.to_owned()),
        )
    };
    enum Piece {
        Runs(Vec<Run>),
        Insert(Insert),
        Delete(Delete),
    }
    let delete = run.deletion.as_ref().map(|suggestion| {
        let (author, date) = revision(&suggestion.author, suggestion.date);
        runs.iter()
            .cloned()
            .fold(Delete::new().author(author).date(date), Delete::add_run)
    });
    let piece = match (&run.insertion, delete) {
        (Some(insertion), delete) => {
            let (author, date) = revision(&insertion.author, insertion.date);
            let insert = match delete {
                Some(delete) => Insert::new_with_del(delete),
                None => runs
                    .into_iter()
                    .fold(Insert::new_with_empty(), Insert::add_run),
            };
            Piece::Insert(insert.author(author).date(date))
        }
        (None, Some(delete)) => Piece::Delete(delete),
        (None, None) => Piece::Runs(runs),
    };
    match &run.link {
        Some(href) => {
            let link = Hyperlink::new(href.as_str(), HyperlinkType::External);
            let link = match piece {
                Piece::Runs(runs) => runs.into_iter().fold(link, Hyperlink::add_run),
                Piece::Insert(insert) => link.add_insert(insert),
                Piece::Delete(delete) => link.add_delete(delete),
            };
            paragraph.add_hyperlink(link)
        }
        None => match piece {
            Piece::Runs(runs) => runs.into_iter().fold(paragraph, Paragraph::add_run),
            Piece::Insert(insert) => paragraph.add_insert(insert),
            Piece::Delete(delete) => paragraph.add_delete(delete),
        },
    }
}

/// The suggestion every run of the paragraph shares, if the whole paragraph is one pending
/// insertion (or deletion): its paragraph mark is then inserted (deleted) too, so accepting or
/// rejecting it in Word adds or removes the paragraph, not just its text.
fn whole<'a>(
    paragraph: &'a DraftParagraph,
    pick: impl Fn(&'a DraftRun) -> Option<&'a Suggestion>,
) -> Option<&'a Suggestion> {
    let first = pick(paragraph.runs.first()?)?;
    paragraph
        .runs
        .iter()
        .all(|run| pick(run).is_some_and(|s| s.author == first.author))
        .then_some(first)
}

fn paragraph(source: &DraftParagraph, comments: &Comments, force_bold: bool) -> Paragraph {
    let mut paragraph = Paragraph::new();
    let mut marks = source.comments.iter().peekable();
    let mut offset = 0usize;
    for run in &source.runs {
        let end = offset + run.text.len();
        let mut piece_start = offset;
        loop {
            // Marks at this point go before the text that follows them.
            while let Some(mark) = marks.next_if(|mark| mark.at <= piece_start) {
                paragraph = match mark.edge {
                    Edge::Start => comments.start(mark.comment, paragraph),
                    Edge::End => comments.end(mark.comment, paragraph),
                };
            }
            let piece_end = marks
                .peek()
                .map_or(end, |mark| mark.at.clamp(piece_start, end));
            let piece_end = if piece_end == piece_start {
                end
            } else {
                piece_end
            };
            let text = run
                .text
                .get(piece_start - offset..piece_end - offset)
                .unwrap_or_default();
            if !text.is_empty() || !matches!(run.inline, Inline::Text) {
                paragraph = add_piece(paragraph, run, text, force_bold);
            }
            piece_start = piece_end;
            if piece_start >= end {
                break;
            }
        }
        offset = end;
    }
    for mark in marks {
        paragraph = match mark.edge {
            Edge::Start => comments.start(mark.comment, paragraph),
            Edge::End => comments.end(mark.comment, paragraph),
        };
    }
    if let Some(insertion) = whole(source, |run| run.insertion.as_ref()) {
        paragraph = paragraph.insert(
            author_or_unknown(&insertion.author),
            iso_date(insertion.date).unwrap_or_else(|| NO_DATE.to_owned()),
        );
    } else if let Some(deletion) = whole(source, |run| run.deletion.as_ref()) {
        paragraph = paragraph.delete(
            author_or_unknown(&deletion.author),
            iso_date(deletion.date).unwrap_or_else(|| NO_DATE.to_owned()),
        );
    }
    let numbered = |paragraph: Paragraph, id: usize, level: u8| {
        paragraph.numbering(
            NumberingId::new(id),
            IndentLevel::new((level as usize).min(LEVELS - 1)),
        )
    };
    match source.style {
        BlockStyle::Paragraph => paragraph,
        BlockStyle::Heading(level) => paragraph.style(&format!("Heading{level}")),
        BlockStyle::Quote => paragraph.style("Quote"),
        BlockStyle::Bullet { level } => numbered(paragraph, BULLET_NUMBERING, level),
        BlockStyle::Numbered { level, list } => {
            numbered(paragraph, FIRST_ORDERED_LIST + list as usize, level)
        }
        BlockStyle::Clause { level } => numbered(paragraph, CLAUSE_NUMBERING, level),
    }
}

fn page_break() -> Paragraph {
    Paragraph::new().add_run(Run::new().add_break(BreakType::Page))
}

/// The usable width of an A4/Letter page with 1" margins, in twentieths of a point.
const TEXT_WIDTH: usize = 9000;

/// A table with ProseMirror's spans mapped onto Word's grid: `colspan` is `w:gridSpan`; a cell
/// with `rowspan` starts a vertical merge and the rows below get a continuing empty cell in its
/// column (ProseMirror leaves that slot out). The leading rows of header cells repeat on every
/// page (`w:tblHeader`).
fn table(source: &DraftTable, comments: &Comments) -> Table {
    let grid = source.grid();
    let columns = DraftTable::grid_columns(&grid);
    let width = TEXT_WIDTH / columns;
    let mut header_rows = true;
    let mut rows = Vec::new();
    for (row, slots) in source.rows.iter().zip(&grid) {
        let header = header_rows && !row.cells.is_empty() && row.cells.iter().all(|c| c.header);
        header_rows = header;
        let mut cells = Vec::new();
        for slot in slots {
            let (span, index) = match *slot {
                GridSlot::Covered { span, .. } => {
                    cells.push(
                        TableCell::new()
                            .vertical_merge(VMergeType::Continue)
                            .grid_span(span)
                            .width(width * span, WidthType::Dxa)
                            .add_paragraph(Paragraph::new()),
                    );
                    continue;
                }
                GridSlot::Cell { span, index, .. } => (span, index),
            };
            let Some(cell) = row.cells.get(index) else {
                continue;
            };
            let mut word_cell = TableCell::new().width(width * span, WidthType::Dxa);
            if span > 1 {
                word_cell = word_cell.grid_span(span);
            }
            if cell.rowspan > 1 {
                word_cell = word_cell.vertical_merge(VMergeType::Restart);
            }
            if cell.header {
                word_cell = word_cell.shading(Shading::new().fill("E7E6E6"));
            }
            let mut has_paragraph = false;
            for block in &cell.blocks {
                match block {
                    Block::Paragraph(inner) => {
                        word_cell =
                            word_cell.add_paragraph(paragraph(inner, comments, cell.header));
                        has_paragraph = true;
                    }
                    Block::Table(inner) => word_cell = word_cell.add_table(table(inner, comments)),
                    Block::PageBreak => {}
                }
            }
            if !has_paragraph {
                // Word requires a paragraph in every cell (and after a nested table).
                word_cell = word_cell.add_paragraph(Paragraph::new());
            }
            cells.push(word_cell);
        }
        let mut word_row = TableRow::new(cells);
        if header {
            // Marks the row for `w:tblHeader`, which docx-rs cannot write (see `mark_header_rows`).
            word_row = word_row.cant_split();
        }
        rows.push(word_row);
    }
    Table::new(rows)
        .set_grid(vec![width; columns])
        .width(width * columns, WidthType::Dxa)
}

/// What docx-rs 0.4.22 cannot write, patched into the written body (and comments):
/// `w:tblHeader` (header rows
/// are the only rows written with `w:cantSplit` — a header row should not split across pages
/// either — so the flag goes beside it), and revisions without a date (a suggestion id not in
/// the contract's form) lose the placeholder date docx-rs insists on (`w:date` is optional).
fn patch_document(document: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(document) {
        Ok(xml) => xml
            .replace("<w:cantSplit />", "<w:cantSplit /><w:tblHeader />")
            .replace(&format!(" w:date=\"{NO_DATE}\""), "")
            .into_bytes(),
        Err(error) => error.into_bytes(),
    }
}

/// The date written for a revision whose suggestion has none; removed again by
/// [`patch_document`].
const NO_DATE: &str = "1970-01-01T00:00:00Z";

/// docx-rs writes every comment as open (`w15:done="0"`); resolved threads are marked done.
fn mark_resolved(comments_extended: Vec<u8>, done: &[String]) -> Vec<u8> {
    if done.is_empty() {
        return comments_extended;
    }
    let Ok(mut xml) = String::from_utf8(comments_extended.clone()) else {
        return comments_extended;
    };
    const OPEN: &str = "w15:done=\"0\"";
    for id in done {
        // `<w15:commentEx w15:paraId="ID" [w15:paraIdParent="P"] w15:done="0" />`
        let Some(at) = xml.find(&format!("w15:paraId=\"{id}\"")) else {
            continue;
        };
        if let Some(done_at) = xml[at..].find(OPEN).map(|offset| at + offset) {
            xml.replace_range(done_at..done_at + OPEN.len(), "w15:done=\"1\"");
        }
    }
    xml.into_bytes()
}

fn count_ordered_lists(blocks: &[Block]) -> u32 {
    paragraphs(blocks)
        .iter()
        .filter_map(|paragraph| match paragraph.style {
            BlockStyle::Numbered { list, .. } => Some(list),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The .docx bytes of a draft: pending suggestions as Word revisions (`w:ins`/`w:del` with their
/// author and date), comment threads as Word comments with replies and their resolved state,
/// tables, links, footnotes and page breaks.
pub fn export(draft: &Draft) -> Result<Vec<u8>, LocalError> {
    let comments = Comments::new(&draft.comments);
    let mut docx = character_styles(styles(numbering_definitions(
        Docx::new(),
        count_ordered_lists(&draft.blocks),
    )));
    // Detached threads (their text is gone) sit at the start of the document.
    let detached: Vec<usize> = (0..draft.comments.len())
        .filter(|index| draft.comments[*index].detached)
        .collect();
    let mut first = Paragraph::new();
    let title_above = draft.title_above_body();
    if title_above {
        first = first.style("Heading1");
    }
    for thread in &detached {
        first = comments.start(*thread, first);
    }
    for thread in &detached {
        first = comments.end(*thread, first);
    }
    if title_above {
        first = first.add_run(Run::new().add_text(draft.title.as_str()));
    }
    if title_above || !detached.is_empty() {
        docx = docx.add_paragraph(first);
    }
    for block in &draft.blocks {
        docx = match block {
            Block::Paragraph(source) => docx.add_paragraph(paragraph(source, &comments, false)),
            Block::Table(source) => docx.add_table(table(source, &comments)),
            Block::PageBreak => docx.add_paragraph(page_break()),
        };
    }
    let mut xml = docx.build();
    xml.document = patch_document(xml.document);
    xml.comments_extended = mark_resolved(xml.comments_extended, &comments.done());
    // A comment without a `created` time: no date rather than docx-rs's 1970 default.
    xml.comments = patch_document(xml.comments);
    let mut bytes = Cursor::new(Vec::new());
    xml.pack(&mut bytes)
        .map_err(|error| LocalError::Export(format!("Could not write the Word file: {error}")))?;
    Ok(bytes.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::draft;
    use yrs::{Doc, Transact};

    /// The export, read back by docx-rs's own reader, keeps the text, the marks, the heading
    /// style and the clause numbering.
    #[test]
    fn exports_headings_marks_and_clauses() {
        let doc = Doc::new();
        draft::tests::sample_draft(&doc);
        let draft = draft::read(&doc.transact());
        let bytes = export(&draft).unwrap();
        let read = docx_rs::read_docx(&bytes).unwrap();
        let json = read.json();
        assert!(json.contains("Supply agreement"));
        assert!(json.contains("indemnify"));
        assert!(json.contains("Heading2"));
        // The clause paragraphs point at the clause numbering instance.
        let numbered = json.matches(&format!("\"id\": {CLAUSE_NUMBERING}")).count();
        assert!(numbered >= 2, "clause numbering missing: {numbered}");
        // The bold run survives.
        let document = String::from_utf8_lossy(&unzip_document(&bytes)).to_string();
        assert!(
            document.contains("<w:b />") || document.contains("<w:b/>"),
            "{document}"
        );
        assert!(
            document.contains("w:lvlText w:val=\"%1.%2.\""),
            "multi-level clause numbers"
        );
    }

    /// A suggestion whose id is not in the contract's form: author "Unknown", no `w:date`.
    #[test]
    fn a_malformed_suggestion_id_is_an_undated_revision_by_unknown() {
        use crate::store::draft::{Run as DraftRun, Suggestion};
        let draft = Draft {
            title: String::new(),
            blocks: vec![Block::paragraph(
                BlockStyle::Paragraph,
                vec![
                    DraftRun::text("Keep "),
                    DraftRun {
                        deletion: Some(Suggestion::parse("not-an-id")),
                        ..DraftRun::text("this")
                    },
                ],
            )],
            comments: Vec::new(),
        };
        let bytes = export(&draft).unwrap();
        let document = String::from_utf8(zip_part(&bytes, "word/document.xml")).unwrap();
        let deletion = document.split("<w:del ").nth(1).unwrap();
        let deletion = deletion.split('>').next().unwrap();
        assert!(deletion.contains(r#"w:author="Unknown""#), "{deletion}");
        assert!(!deletion.contains("w:date"), "{deletion}");
        assert!(document.contains("<w:delText"), "{document}");
    }

    fn unzip_document(bytes: &[u8]) -> Vec<u8> {
        // The numbering part carries the level texts; the body carries the runs. Concatenate
        // both so the assertions above can look at either.
        let mut all = Vec::new();
        for part in ["word/document.xml", "word/numbering.xml"] {
            all.extend(zip_part(bytes, part));
        }
        all
    }

    fn zip_part(bytes: &[u8], name: &str) -> Vec<u8> {
        use std::io::Read;
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut file = archive.by_name(name).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        content
    }
}
