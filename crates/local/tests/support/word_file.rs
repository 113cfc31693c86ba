//! Word files written by hand, for what LibreOffice cannot be asked for: a contract of any size
//! (the import benchmark, the 20,000-paragraph test) and malformed packages. Shared by
//! tests/docx_import.rs and benches/docx_import.rs (`#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

pub const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" Target="numbering.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com/terms" TargetMode="External"/><Relationship Id="rId5" Type="http://schemas.microsoft.com/office/2011/relationships/commentsExtended" Target="commentsExtended.xml"/></Relationships>"#;

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:style w:type="paragraph" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style></w:styles>"#;

/// numId 1: legal clauses (%1. / %1.%2. / %1.%2.%3.); numId 2: bullets; numId 3: (a), (b) then
/// (i), (ii); numId 4: the same list restarted at (e).
const NUMBERING: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl><w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2."/></w:lvl><w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2.%3."/></w:lvl></w:abstractNum><w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val="&#8226;"/></w:lvl></w:abstractNum><w:abstractNum w:abstractNumId="2"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%1)"/></w:lvl><w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerRoman"/><w:lvlText w:val="(%2)"/></w:lvl></w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num><w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num><w:num w:numId="3"><w:abstractNumId w:val="2"/></w:num><w:num w:numId="4"><w:abstractNumId w:val="2"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="5"/></w:lvlOverride></w:num></w:numbering>"#;

/// A zip of the given parts, deflated, in order.
pub fn zip(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A .docx whose body is `body` (the XML inside `<w:body>`), with styles (Heading1/2), legal
/// and bullet numbering (numId 1 and 2), `comments` (the XML inside `<w:comments>`) and a
/// hyperlink relationship `rId4`.
pub fn docx(body: &str, comments: &str) -> Vec<u8> {
    docx_with_threads(body, comments, "")
}

/// [`docx`] with Word's reply threads: `extended` is the XML inside `<w15:commentsEx>`.
pub fn docx_with_threads(body: &str, comments: &str, extended: &str) -> Vec<u8> {
    let extended = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w15:commentsEx xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">{extended}</w15:commentsEx>"#
    );
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>{body}</w:body></w:document>"#
    );
    let comments = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:comments xmlns:w="{W}" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml">{comments}</w:comments>"#
    );
    zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        ("word/styles.xml", STYLES.as_bytes()),
        ("word/numbering.xml", NUMBERING.as_bytes()),
        ("word/comments.xml", comments.as_bytes()),
        ("word/commentsExtended.xml", extended.as_bytes()),
    ])
}

/// A paragraph numbered by `num_id` at `level`.
pub fn item(num_id: u32, level: u32, text: &str) -> String {
    format!(
        r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr></w:pPr><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#
    )
}

pub fn paragraph(text: &str) -> String {
    format!(r#"<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#)
}

const WORDS: [&str; 16] = [
    "the",
    "Supplier",
    "shall",
    "indemnify",
    "Client",
    "against",
    "all",
    "losses",
    "arising",
    "from",
    "any",
    "breach",
    "of",
    "this",
    "Agreement",
    "promptly",
];

fn sentence(seed: usize, words: usize) -> String {
    (0..words)
        .map(|index| WORDS[(seed * 7 + index * 3) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// What [`contract`] put in, to check the import against.
#[derive(Debug, Default, Clone, Copy)]
pub struct ContractShape {
    pub words: usize,
    pub clauses: usize,
    pub tables: usize,
    pub insertions: usize,
    pub deletions: usize,
    pub comments: usize,
}

/// A long contract like a lawyer's: headings, legal clauses three levels deep, bullets, fee
/// tables, tracked insertions and deletions by two authors, comments, links.
pub fn contract(
    target_words: usize,
    changes: usize,
    comment_count: usize,
) -> (Vec<u8>, ContractShape) {
    let mut body = String::new();
    let mut comments = String::new();
    let mut shape = ContractShape::default();
    let mut seed = 0;
    // Every how many clauses a tracked change / comment goes in.
    let estimated_clauses = target_words / 30;
    let change_every = (estimated_clauses / changes.max(1)).max(1);
    let comment_every = (estimated_clauses / comment_count.max(1)).max(1);
    let mut section = 0;
    while shape.words < target_words {
        section += 1;
        write!(
            body,
            r#"<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Part {section}</w:t></w:r></w:p>"#
        )
        .unwrap();
        for clause in 0..12 {
            seed += 1;
            let level = [0, 1, 1, 2][clause % 4];
            let text = sentence(seed, 24);
            shape.words += 24;
            shape.clauses += 1;
            // Runs the way Word writes them: split (spell-check, edits) and each with its fonts.
            let words: Vec<&str> = text.split(' ').collect();
            let mut runs = String::new();
            for part in words.chunks(8) {
                write!(
                    runs,
                    r#"<w:r w:rsidR="00A1B2C3"><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:cs="Arial"/><w:sz w:val="22"/><w:szCs w:val="22"/><w:lang w:val="en-GB"/></w:rPr><w:t xml:space="preserve">{} </w:t></w:r>"#,
                    part.join(" ")
                )
                .unwrap();
            }
            if shape.clauses % change_every == 0 && shape.insertions + shape.deletions < changes {
                let (author, date) = if seed % 2 == 0 {
                    ("Alice Smith", "2025-12-06T09:00:00Z")
                } else {
                    ("Bob Jones", "2025-12-07T10:30:00Z")
                };
                if seed % 3 == 0 {
                    shape.deletions += 1;
                    write!(runs, r#"<w:del w:id="{seed}" w:author="{author}" w:date="{date}"><w:r><w:delText>without delay </w:delText></w:r></w:del>"#).unwrap();
                } else {
                    shape.insertions += 1;
                    write!(runs, r#"<w:ins w:id="{seed}" w:author="{author}" w:date="{date}"><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">in writing </w:t></w:r></w:ins>"#).unwrap();
                }
                shape.words += 2;
            }
            if shape.clauses % comment_every == 0 && shape.comments < comment_count {
                let id = 100_000 + shape.comments;
                shape.comments += 1;
                runs = format!(
                    r#"<w:commentRangeStart w:id="{id}"/>{runs}<w:commentRangeEnd w:id="{id}"/><w:r><w:commentReference w:id="{id}"/></w:r>"#
                );
                write!(comments, r#"<w:comment w:id="{id}" w:author="Alice Smith" w:date="2025-12-06T11:00:00Z"><w:p><w:r><w:t>Please check clause {seed}.</w:t></w:r></w:p></w:comment>"#).unwrap();
            }
            write!(
                body,
                r#"<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00D4E5F6"><w:pPr><w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="1"/></w:numPr><w:spacing w:after="120" w:line="276" w:lineRule="auto"/><w:jc w:val="both"/></w:pPr>{runs}<w:hyperlink r:id="rId4"><w:r><w:t>terms</w:t></w:r></w:hyperlink></w:p>"#
            )
            .unwrap();
            shape.words += 1;
        }
        for bullet in 0..3 {
            write!(
                body,
                r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="2"/></w:numPr></w:pPr><w:r><w:t>Deliverable {bullet}: monthly report</w:t></w:r></w:p>"#
            )
            .unwrap();
            shape.words += 4;
        }
        if section % 2 == 0 {
            shape.tables += 1;
            body.push_str(r#"<w:tbl><w:tblGrid><w:gridCol w:w="4000"/><w:gridCol w:w="2000"/></w:tblGrid><w:tr><w:trPr><w:tblHeader/></w:trPr><w:tc><w:p><w:r><w:t>Item</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Fee</w:t></w:r></w:p></w:tc></w:tr>"#);
            for row in 0..5 {
                write!(body, r#"<w:tr><w:tc><w:p><w:r><w:t>Service {row}</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>£{row},000</w:t></w:r></w:p></w:tc></w:tr>"#).unwrap();
                shape.words += 3;
            }
            body.push_str("</w:tbl>");
        }
    }
    (docx(&body, &comments), shape)
}
