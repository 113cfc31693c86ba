//! Word import: files written by LibreOffice from the FODT sources in tests/docx-corpus (tracked
//! changes, comments, numbering, tables, footnotes, links, page breaks, images) imported into a
//! yrs document and checked node by node; then hostile and odd files (corrupt zips, a zip bomb,
//! a password-protected file, a PDF, an empty file, 20,000 paragraphs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "support/word_file.rs"]
mod word_file;

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hub_local::import::{ImportError, ImportLimits, ImportReport, import_docx};
use hub_local::store::matter_record::CaseFields;
use hub_local::store::projection::CaseFilter;
use hub_local::{FixedKey, Store};
use yrs::types::text::YChange;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, Doc, Map, OffsetKind, Options, Out, ReadTxn, StickyIndex, Text, Transact, Xml,
    XmlFragment, XmlOut, XmlTextRef,
};

const SOFFICE: [&str; 3] = [
    "/usr/bin/soffice",
    "/usr/local/bin/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
];

/// The corpus converted to .docx by LibreOffice, once per test run: file stem → bytes.
fn corpus() -> &'static HashMap<String, Vec<u8>> {
    static CORPUS: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let soffice = SOFFICE
            .iter()
            .map(Path::new)
            .find(|path| path.exists())
            .expect(
                "LibreOffice (soffice) is not installed, and the Word import tests need it to make \
             their .docx files: run scripts/setup (it installs LibreOffice headless)",
            );
        let sources_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/docx-corpus");
        let mut sources: Vec<PathBuf> = std::fs::read_dir(&sources_dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "fodt")
            })
            .collect();
        sources.sort();
        assert!(
            sources.len() >= 2,
            "no .fodt sources in {}",
            sources_dir.display()
        );
        let out = tempfile::tempdir().unwrap();
        let output = Command::new(soffice)
            .arg("--headless")
            .arg(format!(
                "-env:UserInstallation=file://{}",
                out.path().join("lo").display()
            ))
            .args(["--convert-to", "docx", "--outdir"])
            .arg(out.path())
            .args(&sources)
            .output()
            .unwrap();
        let mut files = HashMap::new();
        for source in &sources {
            let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
            let converted = out.path().join(format!("{stem}.docx"));
            let bytes = std::fs::read(&converted).unwrap_or_else(|error| {
                panic!(
                    "LibreOffice did not convert {}: {error}\nstdout: {}\nstderr: {}",
                    source.display(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )
            });
            files.insert(stem, bytes);
        }
        files
    })
}

fn draft_doc() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        skip_gc: true,
        ..Options::default()
    })
}

fn import(bytes: &[u8]) -> (Doc, ImportReport) {
    let doc = draft_doc();
    let report = {
        let mut txn = doc.transact_mut();
        import_docx(&mut txn, bytes, &ImportLimits::default()).unwrap()
    };
    (doc, report)
}

fn refuse(bytes: &[u8]) -> ImportError {
    refuse_with(bytes, &ImportLimits::default())
}

fn refuse_with(bytes: &[u8], limits: &ImportLimits) -> ImportError {
    let doc = draft_doc();
    let mut txn = doc.transact_mut();
    let error = import_docx(&mut txn, bytes, limits).expect_err("the file was accepted");
    // A refused file writes nothing.
    assert!(txn.get_xml_fragment("default").is_none());
    error
}

/// The draft's body, one node a line, indented by depth: `name key=value` for elements,
/// `"text" [mark, mark(key=value)]` for each run of a text.
fn render(doc: &Doc) -> String {
    let txn = doc.transact();
    let mut out = String::new();
    if let Some(fragment) = txn.get_xml_fragment("default") {
        for child in fragment.children(&txn) {
            render_node(&txn, &child, 0, &mut out);
        }
    }
    out
}

fn render_any(value: &Any) -> String {
    match value {
        Any::String(text) => text.to_string(),
        Any::Number(number) => format!("{number:?}")
            .trim_start_matches("Int(")
            .trim_start_matches("Float(")
            .trim_end_matches(')')
            .to_owned(),
        Any::Array(values) => format!(
            "[{}]",
            values.iter().map(render_any).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn render_node(txn: &yrs::Transaction, node: &XmlOut, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    match node {
        XmlOut::Element(element) => {
            let mut attributes: Vec<String> = element
                .attributes(txn)
                .map(|(key, value)| {
                    let value = match value {
                        Out::Any(any) => render_any(&any),
                        other => other.to_string(txn),
                    };
                    format!("{key}={value}")
                })
                .collect();
            attributes.sort();
            let mut line = format!("{indent}{}", element.tag());
            for attribute in attributes {
                line.push(' ');
                line.push_str(&attribute);
            }
            out.push_str(&line);
            out.push('\n');
            for child in element.children(txn) {
                render_node(txn, &child, depth + 1, out);
            }
        }
        XmlOut::Text(text) => {
            for chunk in text.diff(txn, YChange::identity) {
                let Out::Any(Any::String(content)) = chunk.insert else {
                    continue;
                };
                let mut marks: Vec<String> = chunk
                    .attributes
                    .map(|attributes| {
                        attributes
                            .iter()
                            .map(|(name, value)| match value {
                                Any::Map(map) if !map.is_empty() => {
                                    let mut pairs: Vec<String> = map
                                        .iter()
                                        .map(|(key, value)| format!("{key}={}", render_any(value)))
                                        .collect();
                                    pairs.sort();
                                    format!("{name}({})", pairs.join(","))
                                }
                                _ => name.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                marks.sort();
                out.push_str(&format!("{indent}{content:?}"));
                if !marks.is_empty() {
                    out.push_str(&format!(" [{}]", marks.join(", ")));
                }
                out.push('\n');
            }
        }
        XmlOut::Fragment(_) => {}
    }
}

#[derive(Debug)]
struct Thread {
    author: String,
    body: String,
    quote: String,
    /// The text between the anchors, resolved through `StickyIndex::get_offset`.
    anchored: String,
    created: f64,
    resolved: bool,
    replies: Vec<(String, String)>,
}

fn string(map: &yrs::MapRef, txn: &yrs::Transaction, key: &str) -> String {
    match map.get(txn, key) {
        Some(Out::Any(Any::String(text))) => text.to_string(),
        other => panic!("{key} is not a string: {other:?}"),
    }
}

fn plain(txn: &yrs::Transaction, text: &XmlTextRef) -> String {
    text.diff(txn, YChange::identity)
        .into_iter()
        .filter_map(|chunk| match chunk.insert {
            Out::Any(Any::String(content)) => Some(content.to_string()),
            _ => None,
        })
        .collect()
}

fn threads(doc: &Doc) -> Vec<Thread> {
    let txn = doc.transact();
    let comments = txn.get_map("comments").expect("no comments map");
    let mut threads: Vec<Thread> = comments
        .iter(&txn)
        .map(|(_, value)| {
            let Out::YMap(thread) = value else {
                panic!("a thread is not a Y.Map: {value:?}")
            };
            let anchor = |key: &str| {
                let Some(Out::Any(Any::Buffer(bytes))) = thread.get(&txn, key) else {
                    panic!("{key} is not a Uint8Array");
                };
                StickyIndex::decode_v1(&bytes)
                    .unwrap()
                    .get_offset(&txn)
                    .expect("the anchor does not resolve")
            };
            let (from, to) = (anchor("from"), anchor("to"));
            assert_eq!(from.branch, to.branch, "a comment across paragraphs");
            let text = plain(&txn, &XmlTextRef::from(from.branch));
            let units: Vec<u16> = text.encode_utf16().collect();
            let anchored =
                String::from_utf16(&units[from.index as usize..to.index as usize]).unwrap();
            let replies = match thread.get(&txn, "replies") {
                Some(Out::YArray(replies)) => replies
                    .iter(&txn)
                    .map(|reply| {
                        let Out::YMap(reply) = reply else {
                            panic!("a reply is not a Y.Map")
                        };
                        assert_eq!(string(&reply, &txn, "authorId"), "");
                        assert!(!string(&reply, &txn, "id").is_empty());
                        (string(&reply, &txn, "author"), string(&reply, &txn, "body"))
                    })
                    .collect(),
                other => panic!("replies is not a Y.Array: {other:?}"),
            };
            let created = match thread.get(&txn, "created") {
                Some(Out::Any(Any::Number(number))) => number.as_f64().unwrap(),
                other => panic!("created is not a number: {other:?}"),
            };
            Thread {
                author: string(&thread, &txn, "author"),
                body: string(&thread, &txn, "body"),
                quote: string(&thread, &txn, "quote"),
                anchored,
                created,
                resolved: matches!(
                    thread.get(&txn, "resolved"),
                    Some(Out::Any(Any::Bool(true)))
                ),
                replies,
            }
        })
        .collect();
    threads.sort_by(|a, b| a.created.total_cmp(&b.created));
    threads
}

#[test]
fn libreoffice_wrote_what_the_corpus_asks_for() {
    // The converted files really hold Word's tracked changes and comments (not plain text).
    let negotiation = &corpus()["negotiation"];
    let mut archive = zip::ZipArchive::new(Cursor::new(negotiation)).unwrap();
    let mut document = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("word/document.xml").unwrap(),
        &mut document,
    )
    .unwrap();
    assert!(document.contains("<w:ins w:id="), "{document}");
    assert!(document.contains("<w:delText>sixty</w:delText>"));
    assert!(document.contains("<w:commentRangeStart"));
    assert!(archive.by_name("word/comments.xml").is_ok());
    let contract = &corpus()["contract"];
    let mut archive = zip::ZipArchive::new(Cursor::new(contract)).unwrap();
    assert!(archive.by_name("word/footnotes.xml").is_ok());
    assert!(archive.by_name("word/numbering.xml").is_ok());
    assert!(archive.by_name("word/media/image1.png").is_ok());
}

#[test]
fn tracked_changes_become_suggestion_marks_with_word_authors_and_dates() {
    let (doc, report) = import(&corpus()["negotiation"]);
    let body = render(&doc);
    let expected = r#"heading level=1
  "Letter of Intent"
paragraph
  "The Buyer shall pay "
  "the full " [insertion(id=s:1765011600000:w0:Alice Smith)]
  "price within "
  "sixty" [deletion(id=s:1765103400000:w1:Bob Jones)]
  "thirty" [insertion(id=s:1765103400000:w2:Bob Jones)]
  " days."
"#;
    assert!(body.starts_with(expected), "{body}");
    assert_eq!(report.title, "Letter of Intent");
    assert_eq!(report.suggestions["Alice Smith"].insertions, 1);
    assert_eq!(report.suggestions["Alice Smith"].deletions, 0);
    assert_eq!(report.suggestions["Bob Jones"].insertions, 1);
    assert_eq!(report.suggestions["Bob Jones"].deletions, 1);
    assert_eq!(report.suggestion_total(), 3);
    assert_eq!(report.headings, 1);
    assert_eq!(report.paragraphs, 3);
}

#[test]
fn comments_become_threads_anchored_to_their_text() {
    let (doc, report) = import(&corpus()["negotiation"]);
    assert_eq!(report.comments.threads, 2, "{report:#?}");
    assert_eq!(report.comments.replies, 1);
    let threads = threads(&doc);
    assert_eq!(threads.len(), 2, "{threads:#?}");
    let cap = &threads[0];
    assert_eq!(cap.author, "Alice Smith");
    assert_eq!(cap.body, "Is a £1m cap enough?");
    // After "Café 🚀": the anchors count UTF-16 units, as Yjs does.
    assert_eq!(cap.anchored, "liability cap");
    assert_eq!(cap.quote, "liability cap");
    assert_eq!(cap.created, 1_765_018_800_000.0);
    assert!(!cap.resolved);
    assert_eq!(
        cap.replies,
        vec![(
            "Bob Jones".to_owned(),
            "Yes, for a deal this size.".to_owned()
        )]
    );
    let law = &threads[1];
    assert_eq!(law.author, "Bob Jones");
    assert_eq!(law.anchored, "England");
    assert_eq!(law.body, "England and Wales, agreed.");
    assert!(
        law.resolved,
        "Word's done flag (commentsExtended.xml) resolves the thread"
    );
    assert!(law.replies.is_empty());
}

#[test]
fn comment_anchors_follow_edits_before_them() {
    let (doc, _) = import(&corpus()["negotiation"]);
    {
        // Type in front of the commented words: the anchors move with the text.
        let mut txn = doc.transact_mut();
        let fragment = txn.get_xml_fragment("default").unwrap();
        let Some(XmlOut::Element(paragraph)) = fragment.get(&txn, 2) else {
            panic!("no third block")
        };
        let Some(XmlOut::Text(text)) = paragraph.get(&txn, 0) else {
            panic!("no text")
        };
        text.insert(&mut txn, 0, "Note: ");
    }
    assert_eq!(threads(&doc)[0].anchored, "liability cap");
}

#[test]
fn structure_marks_lists_tables_notes_links_breaks_and_images() {
    let (doc, report) = import(&corpus()["contract"]);
    let body = render(&doc);
    for expected in [
        // Headings and marks.
        "heading level=1\n  \"Services Agreement\"\nparagraph\n  \"This agreement is made between \"\n  \"Acme Ltd\" [bold]\n  \" and \"\n  \"Globex plc\" [italic]\n  \", who \"\n  \"must\" [underline]\n  \" read it \"\n  \"twice\" [strike]\n  \".\"\n",
        // The legal outline: 1. / 1.1. / 1.1.1., nested clause lists.
        "clauseList\n  listItem\n    paragraph\n      \"Definitions\"\n    clauseList\n      listItem\n        paragraph\n          \"Agreement means this document.\"\n      listItem\n        paragraph\n          \"Services means the work in Schedule 1.\"\n        clauseList\n          listItem\n            paragraph\n              \"including any reports.\"\n  listItem\n    paragraph\n      \"Term\"\n    clauseList\n      listItem\n        paragraph\n          \"This agreement lasts two years.\"\n",
        // Bullets, nested.
        "bulletList\n  listItem\n    paragraph\n      \"Monthly report\"\n  listItem\n    paragraph\n      \"Quarterly review\"\n    bulletList\n      listItem\n        paragraph\n          \"with the board\"\n",
        // The table: a header row, then a row spanning both columns.
        "table\n  tableRow\n    tableHeader colspan=1 colwidth=[322] rowspan=1\n      paragraph\n        \"Item\"\n    tableHeader colspan=1 colwidth=[322] rowspan=1\n      paragraph\n        \"Fee\"\n  tableRow\n    tableCell colspan=1 colwidth=[322] rowspan=1\n      paragraph\n        \"Consulting\"\n",
        "  tableRow\n    tableCell colspan=2 colwidth=[322,322] rowspan=1\n      paragraph\n        \"Total £1,500\"\n",
        // The footnote at its reference.
        "paragraph\n  \"Payment is due within 30 days\"\n  footnote text=Calendar days, not business days.\n  \".\"\n",
        // The link, with its address from the relationships.
        "  \"standard terms\" [link(href=https://example.com/terms)]\n",
        // LibreOffice writes the page break at the end of the paragraph before.
        "  \" online.\"\npageBreak\nheading level=1\n  \"Schedule 1\"\n",
        // The image, as a placeholder between the texts around it.
        "paragraph\n  \"The firm's logo: \"\n  placeholder kind=image label=Firm logo\n  \" end.\"\n",
    ] {
        assert!(body.contains(expected), "missing:\n{expected}\nin:\n{body}");
    }
    assert_eq!(report.title, "Services Agreement");
    assert_eq!(report.headings, 2);
    assert_eq!(report.list_items, 9);
    assert_eq!(report.tables, 1);
    assert_eq!(report.footnotes, 1);
    assert_eq!(report.hyperlinks, 1);
    assert_eq!(report.page_breaks, 1);
    assert_eq!(report.placeholders.len(), 1);
    assert_eq!(report.placeholders[0].kind, "image");
    assert_eq!(report.placeholders[0].label, "Firm logo");
    assert!(report.placeholders[0].location.starts_with("paragraph "));
    assert!(report.suggestions.is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["placeholders"][0]["kind"], "image");
    assert_eq!(json["comments"]["threads"], 0);
}

#[test]
fn a_long_generated_contract_keeps_every_change_and_comment() {
    let (bytes, shape) = word_file::contract(5_000, 40, 12);
    let (doc, report) = import(&bytes);
    let insertions: usize = report
        .suggestions
        .values()
        .map(|count| count.insertions)
        .sum();
    let deletions: usize = report
        .suggestions
        .values()
        .map(|count| count.deletions)
        .sum();
    assert_eq!(insertions, shape.insertions);
    assert_eq!(deletions, shape.deletions);
    assert_eq!(report.comments.threads, shape.comments);
    assert_eq!(report.tables, shape.tables);
    assert_eq!(threads(&doc).len(), shape.comments);
    for thread in threads(&doc) {
        assert!(thread.anchored.len() > 20, "{thread:?}");
        assert_eq!(thread.anchored, thread.quote);
    }
    let body = render(&doc);
    assert_eq!(
        body.matches("[bold, insertion(id=s:").count(),
        shape.insertions
    );
    assert!(body.contains("\"in writing \" [bold, insertion(id=s:1765011600000:w"));
}

#[test]
fn fields_and_text_boxes_become_placeholders() {
    let body = [
        // A date field: its result is kept as text after a placeholder naming the field.
        r#"<w:p><w:r><w:t xml:space="preserve">Dated </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> DATE \@ "d MMMM yyyy" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>6 December 2025</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#,
        // A HYPERLINK field is a link.
        r#"<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> HYPERLINK "https://example.com/x" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>our site</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#,
        // A text box (DrawingML shape with its VML fallback), an equation, an OLE object.
        r#"<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="wps"><w:drawing><wp:anchor xmlns:wp="wp"><wp:docPr id="1" name="Text Box 1"/><a:graphic xmlns:a="a"><a:graphicData><wps:wsp xmlns:wps="wps"><wps:txbx><w:txbxContent><w:p><w:r><w:t>Draft - privileged</w:t></w:r></w:p></w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape xmlns:v="v"><v:textbox><w:txbxContent><w:p><w:r><w:t>Draft - privileged</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"#,
        r#"<w:p><m:oMath xmlns:m="m"><m:r><m:t>x=1</m:t></m:r></m:oMath><w:r><w:object><o:OLEObject xmlns:o="o" ProgID="Excel.Sheet.12"/></w:object></w:r></w:p>"#,
    ]
    .concat();
    let (doc, report) = import(&word_file::docx(&body, ""));
    let rendered = render(&doc);
    assert!(
        rendered.contains("  \"Dated \"\n  placeholder kind=field label=Field: DATE \\@ \"d MMMM yyyy\"\n  \"6 December 2025\"\n"),
        "{rendered}"
    );
    assert!(rendered.contains("\"our site\" [link(href=https://example.com/x)]"));
    assert!(rendered.contains("placeholder kind=textbox label=Text box: Draft - privileged\n"));
    assert!(rendered.contains("placeholder kind=equation label=Equation: x=1\n"));
    assert!(rendered.contains("placeholder kind=object label=Embedded object (Excel.Sheet.12)\n"));
    // The text box's own paragraph is inside the placeholder, not in the body.
    assert_eq!(rendered.matches("Draft - privileged").count(), 1);
    let kinds: Vec<&str> = report
        .placeholders
        .iter()
        .map(|p| p.kind.as_str())
        .collect();
    assert_eq!(kinds, ["field", "textbox", "equation", "object"]);
    assert_eq!(report.hyperlinks, 1);
}

#[test]
fn word_reply_threads_and_ordered_lists() {
    // Word names a reply's parent in commentsExtended.xml by the paraId of the comments' last
    // paragraphs; a reply has its own range, the same as its parent's.
    let body = [
        r#"<w:p><w:r><w:t xml:space="preserve">Rent is </w:t></w:r><w:commentRangeStart w:id="7"/><w:commentRangeStart w:id="8"/><w:r><w:t>payable quarterly</w:t></w:r><w:commentRangeEnd w:id="7"/><w:commentRangeEnd w:id="8"/><w:r><w:commentReference w:id="7"/></w:r><w:r><w:commentReference w:id="8"/></w:r><w:r><w:t>.</w:t></w:r></w:p>"#.to_owned(),
        word_file::item(3, 0, "first"),
        word_file::item(3, 1, "nested"),
        word_file::item(3, 0, "second"),
        word_file::paragraph("Interlude."),
        word_file::item(3, 0, "third, continuing"),
        word_file::item(4, 0, "restarted at five"),
    ]
    .concat();
    let comments = r#"<w:comment w:id="7" w:author="Carol King" w:date="2025-12-06T11:00:00Z"><w:p w14:paraId="0A000001"><w:r><w:t>Monthly?</w:t></w:r></w:p></w:comment><w:comment w:id="8" w:author="Dan Wu" w:date="2025-12-06T12:00:00Z"><w:p w14:paraId="0A000002"><w:r><w:t>Quarterly is market.</w:t></w:r></w:p></w:comment>"#;
    let extended = r#"<w15:commentEx w15:paraId="0A000001" w15:done="0"/><w15:commentEx w15:paraId="0A000002" w15:paraIdParent="0A000001" w15:done="0"/>"#;
    let (doc, report) = import(&word_file::docx_with_threads(&body, comments, extended));
    assert_eq!(report.comments.threads, 1);
    assert_eq!(report.comments.replies, 1);
    let threads = threads(&doc);
    assert_eq!(threads[0].author, "Carol King");
    assert_eq!(threads[0].anchored, "payable quarterly");
    assert_eq!(
        threads[0].replies,
        vec![("Dan Wu".to_owned(), "Quarterly is market.".to_owned())]
    );
    let rendered = render(&doc);
    let expected = "orderedList start=1\n  listItem\n    paragraph\n      \"first\"\n    orderedList start=1\n      listItem\n        paragraph\n          \"nested\"\n  listItem\n    paragraph\n      \"second\"\nparagraph\n  \"Interlude.\"\norderedList start=3\n  listItem\n    paragraph\n      \"third, continuing\"\norderedList start=5\n  listItem\n    paragraph\n      \"restarted at five\"\n";
    assert!(rendered.ends_with(expected), "{rendered}");
    assert_eq!(report.list_items, 5);
}

#[test]
fn vertical_merges_become_row_spans() {
    let cell = |text: &str, properties: &str| {
        format!(
            r#"<w:tc><w:tcPr>{properties}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"#
        )
    };
    let body = format!(
        "<w:tbl><w:tblGrid><w:gridCol w:w=\"1500\"/><w:gridCol w:w=\"3000\"/></w:tblGrid><w:tr>{}{}</w:tr><w:tr>{}{}</w:tr><w:tr>{}{}</w:tr></w:tbl>",
        cell("Party", r#"<w:vMerge w:val="restart"/>"#),
        cell("Acme", ""),
        cell("", "<w:vMerge/>"),
        cell("Globex", ""),
        cell("Fee", ""),
        cell("£1", ""),
    );
    let (doc, report) = import(&word_file::docx(&body, ""));
    let rendered = render(&doc);
    assert!(
        rendered.starts_with("table\n  tableRow\n    tableCell colspan=1 colwidth=[100] rowspan=2\n      paragraph\n        \"Party\"\n    tableCell colspan=1 colwidth=[200] rowspan=1\n      paragraph\n        \"Acme\"\n  tableRow\n    tableCell colspan=1 colwidth=[200] rowspan=1\n      paragraph\n        \"Globex\"\n"),
        "{rendered}"
    );
    assert_eq!(report.tables, 1);
}

#[test]
fn twenty_thousand_paragraphs_import_whole() {
    let body: String = (0..20_000)
        .map(|index| word_file::paragraph(&format!("Paragraph {index} of the bundle.")))
        .collect();
    let bytes = word_file::docx(&body, "");
    let started = Instant::now();
    let (doc, report) = import(&bytes);
    let elapsed = started.elapsed();
    assert_eq!(report.paragraphs, 20_000);
    let txn = doc.transact();
    assert_eq!(txn.get_xml_fragment("default").unwrap().len(&txn), 20_000);
    println!("20,000 paragraphs imported in {elapsed:?} (debug build)");
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    // Over the limit the file is refused, never cut short.
    let error = refuse_with(
        &bytes,
        &ImportLimits {
            max_blocks: 10_000,
            ..ImportLimits::default()
        },
    );
    assert_eq!(error.code(), "import_too_many_paragraphs");
    assert!(
        error.to_string().contains("more than 10000 paragraphs"),
        "{error}"
    );
}

#[test]
fn refuses_an_empty_file_a_pdf_and_random_bytes() {
    let empty = refuse(b"");
    assert_eq!(empty.code(), "import_empty");
    assert!(empty.to_string().starts_with("The file is empty."));
    let pdf = refuse(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n");
    assert_eq!(pdf.code(), "import_pdf");
    assert!(
        pdf.to_string()
            .starts_with("This is a PDF, not a Word document.")
    );
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_eq!(refuse(&random).code(), "import_not_docx");
    let rtf = refuse(br"{\rtf1\ansi Hello}");
    assert_eq!(rtf.code(), "import_rtf");
    let odt = word_file::zip(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.text".as_slice(),
        ),
        ("content.xml", b"<office:document-content/>".as_slice()),
    ]);
    assert_eq!(refuse(&odt).code(), "import_odt");
    let other_zip = word_file::zip(&[("notes.txt", b"hello".as_slice())]);
    assert_eq!(refuse(&other_zip).code(), "import_not_docx");
}

/// A real OLE compound file with the given streams, as Word writes them.
fn compound_file(streams: &[(&str, &[u8])]) -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    for (name, content) in streams {
        let mut stream = file.create_stream(name).unwrap();
        stream.write_all(content).unwrap();
    }
    file.flush().unwrap();
    file.into_inner().into_inner()
}

#[test]
fn refuses_a_password_protected_file_and_an_old_doc() {
    let encrypted = compound_file(&[
        (
            "/EncryptionInfo",
            &[4, 0, 4, 0, 0x40, 0, 0, 0, 0, 0, 0, 0][..],
        ),
        ("/EncryptedPackage", &[0x5a; 8192][..]),
    ]);
    let error = refuse(&encrypted);
    assert_eq!(error.code(), "import_password_protected");
    assert_eq!(
        error.to_string(),
        "This Word file is password-protected. Remove the password in Word (File → Info → \
         Protect Document), save it, and import it again."
    );
    let legacy = compound_file(&[("/WordDocument", &[0xec, 0xa5, 0xc1, 0x00][..])]);
    let error = refuse(&legacy);
    assert_eq!(error.code(), "import_legacy_doc");
    assert!(error.to_string().contains("Save As"));
}

#[test]
fn refuses_corrupt_zips() {
    let good = &corpus()["negotiation"];
    // Cut short: the central directory is gone.
    let error = refuse(&good[..good.len() / 2]);
    assert_eq!(error.code(), "import_corrupt");
    assert!(
        error
            .to_string()
            .starts_with("This Word file is damaged and cannot be read")
    );
    // Damaged in the middle: the document's compressed bytes no longer inflate or check out.
    let mut damaged = word_file::docx(&word_file::paragraph(&"Clause text. ".repeat(2_000)), "");
    let mut archive = zip::ZipArchive::new(Cursor::new(damaged.clone())).unwrap();
    let start = archive
        .by_name("word/document.xml")
        .unwrap()
        .data_start()
        .unwrap() as usize;
    for byte in &mut damaged[start + 20..start + 120] {
        *byte ^= 0x5a;
    }
    let error = refuse(&damaged);
    assert_eq!(error.code(), "import_corrupt", "{error}");
    assert!(error.to_string().contains("word/document.xml"), "{error}");
    // A zip without the main document.
    let no_document = word_file::zip(&[
        ("[Content_Types].xml", b"<Types/>".as_slice()),
        ("_rels/.rels", b"<Relationships/>".as_slice()),
    ]);
    let error = refuse(&no_document);
    assert_eq!(error.code(), "import_corrupt");
    assert!(error.to_string().contains("word/document.xml"));
    // Broken XML.
    let broken = word_file::zip(&[(
        "word/document.xml",
        b"<w:document><w:body><w:p></w:body>".as_slice(),
    )]);
    assert_eq!(refuse(&broken).code(), "import_corrupt");
}

#[test]
fn refuses_a_zip_bomb_without_inflating_it_whole() {
    // 400 MB of zeros deflate to under a megabyte; the import stops at its 300 MB budget.
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    writer.start_file("word/document.xml", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..400 {
        writer.write_all(&zeros).unwrap();
    }
    let bomb = writer.finish().unwrap().into_inner();
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let started = Instant::now();
    let error = refuse(&bomb);
    assert_eq!(error.code(), "import_expands_too_much");
    assert!(error.to_string().contains("more than 300 MB"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // A smaller budget stops sooner, whatever the header says.
    let error = refuse_with(
        &bomb,
        &ImportLimits {
            max_expanded_bytes: 1 << 20,
            ..ImportLimits::default()
        },
    );
    assert_eq!(error.code(), "import_expands_too_much");
}

#[test]
fn refuses_too_many_parts_too_deep_and_too_big() {
    let names: Vec<String> = (0..5_001)
        .map(|index| format!("word/media/{index}.bin"))
        .collect();
    let parts: Vec<(&str, &[u8])> = names
        .iter()
        .map(|name| (name.as_str(), b"".as_slice()))
        .collect();
    let error = refuse(&word_file::zip(&parts));
    assert_eq!(error.code(), "import_too_many_parts");
    let deep = format!(
        "{}{}",
        "<w:sdt><w:sdtContent>".repeat(300),
        "</w:sdtContent></w:sdt>".repeat(300)
    );
    let error = refuse(&word_file::docx(&deep, ""));
    assert_eq!(error.code(), "import_too_deep");
    let error = refuse_with(
        &corpus()["contract"],
        &ImportLimits {
            max_file_bytes: 1024,
            ..ImportLimits::default()
        },
    );
    assert_eq!(error.code(), "import_file_too_large");
    // Millions of tiny runs (or symbols, or breaks) in few paragraphs.
    let runs =
        r#"<w:r><w:rPr><w:b/></w:rPr><w:t>a</w:t></w:r><w:r><w:t>b</w:t></w:r>"#.repeat(3_000);
    let error = refuse_with(
        &word_file::docx(&format!("<w:p>{runs}</w:p>"), ""),
        &ImportLimits {
            max_inlines: 5_000,
            ..ImportLimits::default()
        },
    );
    assert_eq!(error.code(), "import_too_much_content");
}

#[test]
fn store_imports_a_word_file_as_a_new_draft_in_one_edit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &dir.path().join("hub.db"),
        &FixedKey("docx import key".into()),
    )
    .unwrap();
    let case_id = store
        .create_case(&CaseFields {
            title: "Acme v. Globex".into(),
            ..CaseFields::default()
        })
        .unwrap();
    let pending = store.outbox_state().pending;
    let (draft, report) = store
        .import_docx(
            &case_id,
            "LOI v2.docx",
            &corpus()["negotiation"],
            "Ada Lovelace",
        )
        .unwrap();
    assert_eq!(report.title, "Letter of Intent");
    assert_eq!(
        store.outbox_state().pending,
        pending + 1,
        "one edit, one outbox entry"
    );
    let exported = store.draft_for_export(&draft).unwrap();
    assert_eq!(exported.title, "Letter of Intent");
    let paragraphs = hub_local::store::draft::paragraphs(&exported.blocks);
    assert_eq!(
        paragraphs[1].text(),
        "The Buyer shall pay the full price within sixtythirty days."
    );
    let comments = store
        .read(&draft, |txn| {
            txn.get_map("comments").map(|map| map.len(txn))
        })
        .unwrap();
    assert_eq!(comments, Some(2));
    // The import is the draft's first version, so "changes since we received it" can be asked.
    let versions = store.versions(&draft).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].name, "Imported from LOI v2.docx");
    assert_eq!(versions[0].kind, "import");
    assert_eq!(versions[0].author, "Ada Lovelace");
    let (_, redline) = store.redline(&draft, &versions[0].id, "current").unwrap();
    assert!(
        redline.starts_with(b"PK"),
        "a redline from the import to now is a .docx"
    );
    // A refused file creates no draft and says why.
    let error = store
        .import_docx(&case_id, "scan.pdf", b"%PDF-1.4 ...", "Ada Lovelace")
        .unwrap_err();
    assert_eq!(error.code(), "import_pdf");
    assert!(error.to_string().starts_with("This is a PDF"));
    assert_eq!(store.drafts(&case_id).unwrap().len(), 1);
    assert!(store.cases(&CaseFilter::default()).unwrap().len() == 1);
    // Without a title or heading, the file's name is the title.
    let (_, report) = store
        .import_docx(
            &case_id,
            "Heads of terms.docx",
            &word_file::docx(&word_file::paragraph("Hello"), ""),
            "Ada Lovelace",
        )
        .unwrap();
    assert_eq!(report.title, "Heads of terms");
}

/// Every part of a .docx, by name.
fn parts_of(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut file = archive.by_index(index).unwrap();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut content).unwrap();
            (file.name().to_owned(), content)
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

    /// Mangled XML in any part (bytes overwritten, the part cut short) is refused or imported,
    /// never a panic.
    #[test]
    fn mangled_parts_never_panic(
        part in 0usize..16,
        edits in proptest::collection::vec((0.0f64..1.0, proptest::prelude::any::<u8>()), 1..12),
        cut in proptest::option::of(0.0f64..1.0),
    ) {
        let source = if part % 2 == 0 { &corpus()["negotiation"] } else { &corpus()["contract"] };
        let mut parts = parts_of(source);
        let xml_parts: Vec<usize> = parts
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| name.ends_with(".xml") || name.ends_with(".rels"))
            .map(|(index, _)| index)
            .collect();
        let target = xml_parts[part % xml_parts.len()];
        let content = &mut parts[target].1;
        for (position, byte) in edits {
            let at = ((content.len() as f64) * position) as usize;
            if at < content.len() {
                content[at] = byte;
            }
        }
        if let Some(cut) = cut {
            let keep = ((content.len() as f64) * cut) as usize;
            content.truncate(keep);
        }
        let named: Vec<(&str, &[u8])> = parts
            .iter()
            .map(|(name, content)| (name.as_str(), content.as_slice()))
            .collect();
        let doc = draft_doc();
        let mut txn = doc.transact_mut();
        let _ = import_docx(&mut txn, &word_file::zip(&named), &ImportLimits::default());
    }
}

#[test]
fn comments_across_paragraphs_and_comments_without_a_place() {
    let body = [
        r#"<w:p><w:r><w:t xml:space="preserve">First </w:t></w:r><w:commentRangeStart w:id="5"/><w:r><w:t>clause</w:t></w:r></w:p>"#,
        r#"<w:p><w:r><w:t>second</w:t></w:r><w:commentRangeEnd w:id="5"/><w:r><w:commentReference w:id="5"/></w:r><w:r><w:t xml:space="preserve"> clause</w:t></w:r></w:p>"#,
    ]
    .concat();
    let comments = r#"<w:comment w:id="5" w:author="Erin Cole" w:date="2025-12-06T11:00:00Z"><w:p><w:r><w:t>Merge these?</w:t></w:r></w:p></w:comment><w:comment w:id="99" w:author="Frank Hale"><w:p><w:r><w:t>Lost its place.</w:t></w:r></w:p></w:comment>"#;
    let (doc, report) = import(&word_file::docx(&body, comments));
    assert_eq!(report.comments.threads, 2);
    assert!(
        report
            .warnings
            .iter()
            .any(|warning| warning.contains("1 comments had lost their place")),
        "{:?}",
        report.warnings
    );
    let txn = doc.transact();
    let comments = txn.get_map("comments").unwrap();
    let mut seen = 0;
    for (_, thread) in comments.iter(&txn) {
        let Out::YMap(thread) = thread else { panic!() };
        let offset = |key: &str| {
            let Some(Out::Any(Any::Buffer(bytes))) = thread.get(&txn, key) else {
                panic!()
            };
            let offset = StickyIndex::decode_v1(&bytes)
                .unwrap()
                .get_offset(&txn)
                .unwrap();
            (plain(&txn, &XmlTextRef::from(offset.branch)), offset.index)
        };
        match string(&thread, &txn, "author").as_str() {
            "Erin Cole" => {
                // From "clause" in the first paragraph to the end of "second" in the next.
                assert_eq!(offset("from"), ("First clause".to_owned(), 6));
                assert_eq!(offset("to"), ("second clause".to_owned(), 6));
                assert_eq!(string(&thread, &txn, "quote"), "clause\nsecond");
            }
            "Frank Hale" => {
                assert_eq!(offset("from"), ("First clause".to_owned(), 0));
                assert_eq!(string(&thread, &txn, "body"), "Lost its place.");
                // No date in the file: 0, not a made-up time.
                assert!(matches!(
                    thread.get(&txn, "created"),
                    Some(Out::Any(Any::Number(number))) if number.as_f64() == Some(0.0)
                ));
            }
            other => panic!("unexpected author {other}"),
        }
        seen += 1;
    }
    assert_eq!(seen, 2);
}

#[test]
fn an_imported_draft_travels_as_one_update() {
    // What the editor loads and the server stores: the import's update, applied to an empty doc.
    for name in ["contract", "negotiation"] {
        let (doc, _) = import(&corpus()[name]);
        let update = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let copy = draft_doc();
        copy.transact_mut()
            .apply_update(yrs::Update::decode_v1(&update).unwrap())
            .unwrap();
        assert_eq!(render(&copy), render(&doc), "{name}");
        if name == "negotiation" {
            let anchored: Vec<String> = threads(&copy).into_iter().map(|t| t.anchored).collect();
            assert_eq!(anchored, ["liability cap", "England"]);
        }
    }
}

#[test]
fn word_wrappers_moves_and_paragraph_mark_changes() {
    let body = [
        // A content control and a smart tag around runs: their text is kept, the wrappers go.
        r#"<w:sdt><w:sdtPr><w:alias w:val="Party"/><w:showingPlcHdr/></w:sdtPr><w:sdtContent><w:p><w:r><w:t xml:space="preserve">Between </w:t></w:r><w:smartTag w:uri="x" w:element="company"><w:r><w:t>Acme</w:t></w:r></w:smartTag></w:p></w:sdtContent></w:sdt>"#,
        // A moved sentence (moveFrom / moveTo) and a tracked change inside a link.
        r#"<w:p><w:moveFrom w:id="11" w:author="Gus Low" w:date="2025-12-08T08:00:00Z"><w:r><w:t>Moved away.</w:t></w:r></w:moveFrom><w:hyperlink r:id="rId4"><w:ins w:id="12" w:author="Gus Low" w:date="2025-12-08T08:00:00Z"><w:r><w:t>new terms</w:t></w:r></w:ins></w:hyperlink></w:p>"#,
        // A paragraph whose break was deleted, and a formatting change.
        r#"<w:p><w:pPr><w:rPr><w:del w:id="13" w:author="Gus Low" w:date="2025-12-08T08:00:00Z"/></w:rPr></w:pPr><w:r><w:rPr><w:b/><w:rPrChange w:id="14" w:author="Gus Low"><w:rPr><w:i/></w:rPr></w:rPrChange></w:rPr><w:t>Bold now.</w:t></w:r></w:p>"#,
        r#"<w:p><w:moveTo w:id="15" w:author="Gus Low" w:date="2025-12-08T08:00:00Z"><w:r><w:t>Moved away.</w:t></w:r></w:moveTo><w:r><w:br w:type="page"/></w:r></w:p>"#,
        "<w:sectPr><w:headerReference w:type=\"default\" r:id=\"rId9\"/></w:sectPr>",
    ]
    .concat();
    let (doc, report) = import(&word_file::docx(&body, ""));
    let rendered = render(&doc);
    let expected = "paragraph\n  \"Between Acme\"\nparagraph\n  \"Moved away.\" [deletion(id=s:1765180800000:w11:Gus Low)]\n  \"new terms\" [insertion(id=s:1765180800000:w12:Gus Low), link(href=https://example.com/terms)]\nparagraph\n  \"Bold now.\" [bold]\nparagraph\n  \"Moved away.\" [insertion(id=s:1765180800000:w15:Gus Low)]\npageBreak\n";
    assert_eq!(rendered, expected);
    assert_eq!(report.suggestions["Gus Low"].insertions, 2);
    assert_eq!(report.suggestions["Gus Low"].deletions, 1);
    assert_eq!(report.page_breaks, 1);
    assert_eq!(report.hyperlinks, 1);
    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains("1 tracked paragraph or row insertions/deletions"),
        "{warnings}"
    );
    assert!(
        warnings.contains("1 tracked formatting changes"),
        "{warnings}"
    );
}

/// The other side's file through Lawyers Hub and back (`examples/docx.rs roundtrip`): imported,
/// then exported as "Export to Word" does. pandoc reads the same tracked changes, by the same
/// people, and the same comments, as in the file LibreOffice wrote.
#[test]
fn a_libreoffice_file_round_trips_with_its_tracked_changes_and_comments() {
    let (doc, report) = import(&corpus()["negotiation"]);
    assert!(report.suggestion_total() >= 3, "{report:?}");
    let draft = hub_local::store::draft::read(&doc.transact());
    let exported = hub_local::export::docx::export(&draft).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pandoc = |bytes: &[u8], name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let output = std::process::Command::new("pandoc")
            .args(["--track-changes=all", "-f", "docx", "-t", "markdown"])
            .arg(&path)
            .output()
            .expect("pandoc is installed (scripts/setup)");
        assert!(output.status.success(), "pandoc read {name}");
        String::from_utf8(output.stdout).unwrap()
    };
    let before = pandoc(&corpus()["negotiation"], "in.docx");
    let after = pandoc(&exported, "out.docx");
    for expected in [
        "[the full]{.insertion author=\"Alice Smith\"",
        "[sixty]{.deletion",
        "author=\"Bob Jones\"",
        "Is a £1m cap enough?",
        "England and Wales, agreed.",
    ] {
        assert!(
            before.contains(expected),
            "LibreOffice's file has {expected:?}:\n{before}"
        );
        assert!(
            after.contains(expected),
            "the round trip kept {expected:?}:\n{after}"
        );
    }
    let count = |text: &str, what: &str| text.matches(what).count();
    assert_eq!(count(&after, ".insertion"), count(&before, ".insertion"));
    assert_eq!(count(&after, ".deletion"), count(&before, ".deletion"));
    // LibreOffice writes a reply as a comment with no range, which pandoc does not show; the
    // import makes it a reply, and the export writes it as one Word and pandoc read.
    assert!(after.contains("Yes, for a deal this"), "{after}");
    assert_eq!(
        count(&after, ".comment-start"),
        count(&before, ".comment-start") + report.comments.replies
    );
}
