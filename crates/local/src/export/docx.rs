//! Export a draft to Word (.docx) from the yrs document: headings as Word heading styles, bold /
//! italic / underline runs, bullet and numbered lists as Word numbering, and legal clause
//! numbering (1. / 1.1. / 1.1.1., running on through the draft) as a multi-level list, so the
//! numbers stay live when the firm edits the file in Word.

use std::io::Cursor;

use docx_rs::{
    AbstractNumbering, Docx, IndentLevel, Level, LevelJc, LevelOverride, LevelText, NumberFormat,
    Numbering, NumberingId, Paragraph, Run, SpecialIndentType, Start, Style, StyleType,
};

use crate::LocalError;
use crate::store::draft::{Block, BlockStyle};

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

fn paragraph(block: &Block) -> Paragraph {
    let mut paragraph = Paragraph::new();
    for run in &block.runs {
        // A hard break inside a paragraph arrives as "\n" text.
        for (index, line) in run.text.split('\n').enumerate() {
            let mut word_run = Run::new();
            if index > 0 {
                word_run = word_run.add_break(docx_rs::BreakType::TextWrapping);
            }
            word_run = word_run.add_text(line);
            if run.bold {
                word_run = word_run.bold();
            }
            if run.italic {
                word_run = word_run.italic();
            }
            if run.underline {
                word_run = word_run.underline("single");
            }
            paragraph = paragraph.add_run(word_run);
        }
    }
    let numbered = |paragraph: Paragraph, id: usize, level: u8| {
        paragraph.numbering(
            NumberingId::new(id),
            IndentLevel::new((level as usize).min(LEVELS - 1)),
        )
    };
    match block.style {
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

/// The .docx bytes of a draft with `title` and `blocks`.
pub fn export(title: &str, blocks: &[Block]) -> Result<Vec<u8>, LocalError> {
    let ordered_lists = blocks
        .iter()
        .filter_map(|block| match block.style {
            BlockStyle::Numbered { list, .. } => Some(list),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut docx = styles(numbering_definitions(Docx::new(), ordered_lists));
    if !title.is_empty() {
        docx = docx.add_paragraph(
            Paragraph::new()
                .add_run(Run::new().add_text(title))
                .style("Heading1"),
        );
    }
    for block in blocks {
        docx = docx.add_paragraph(paragraph(block));
    }
    let mut bytes = Cursor::new(Vec::new());
    docx.pack(&mut bytes)
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
        let blocks = draft::blocks(&doc.transact());
        let bytes = export("Supply agreement", &blocks).unwrap();
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
