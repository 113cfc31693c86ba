//! Word export with tracked changes and comments, the redline between two versions, and tables
//! in PDF — read back by real tools: pandoc (`--track-changes=all`), LibreOffice (the export
//! converted to flat ODF) and poppler's `pdftotext`. scripts/setup installs all three; a test
//! fails with that advice when one is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use hub_local::export::redline::{RedlineMeta, redline_docx};
use hub_local::export::{docx, pdf};
use hub_local::store::draft::{self, COMMENTS, DRAFT_FRAGMENT, DRAFT_META, USERS, VERSIONS};
use serde_json::Value;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ArrayPrelim, Assoc, Doc, IndexedSequence, Map, MapPrelim, OffsetKind, Options,
    ReadTxn, Text, Transact, Update, WriteTxn, Xml, XmlElementPrelim, XmlElementRef, XmlFragment,
    XmlOut, XmlTextPrelim, XmlTextRef,
};

const JANE: &str = "s:1764979200000:ab12:Jane Smith";
const BOB: &str = "s:1764982800000:cd34:Bob Jones";

fn draft_doc(client: u64) -> Doc {
    Doc::with_options(Options {
        client_id: yrs::ClientID::new(client),
        offset_kind: OffsetKind::Utf16,
        skip_gc: true,
        ..Options::default()
    })
}

fn mark(name: &str, attrs: &[(&str, &str)]) -> yrs::types::Attrs {
    let inner: HashMap<String, Any> = attrs
        .iter()
        .map(|(key, value)| (key.to_string(), Any::from(*value)))
        .collect();
    [(Arc::<str>::from(name), Any::Map(Arc::new(inner)))]
        .into_iter()
        .collect()
}

fn paragraph(txn: &mut yrs::TransactionMut, parent: &impl XmlFragment, text: &str) -> XmlTextRef {
    let element = parent.push_back(txn, XmlElementPrelim::empty("paragraph"));
    element.push_back(txn, XmlTextPrelim::new(text))
}

/// A comment thread to anchor on `text` between two UTF-16 offsets.
struct Thread<'a> {
    id: &'a str,
    author: &'a str,
    body: &'a str,
    replies: &'a [(&'a str, &'a str)],
    resolved: bool,
}

fn comment(txn: &mut yrs::TransactionMut, text: &XmlTextRef, (from, to): (u32, u32), t: Thread) {
    let Thread {
        id,
        author,
        body,
        replies,
        resolved,
    } = t;
    let start = text.sticky_index(txn, from, Assoc::After).unwrap();
    let end = text.sticky_index(txn, to, Assoc::Before).unwrap();
    let comments = txn.get_or_insert_map(COMMENTS);
    let thread = comments.insert(txn, id, MapPrelim::default());
    thread.insert(txn, "from", Any::from(start.encode_v1()));
    thread.insert(txn, "to", Any::from(end.encode_v1()));
    thread.insert(txn, "quote", "");
    thread.insert(txn, "author", author);
    thread.insert(txn, "authorId", "");
    thread.insert(txn, "created", 1_764_990_000_000.0);
    thread.insert(txn, "body", body);
    thread.insert(txn, "resolved", resolved);
    let list = thread.insert(txn, "replies", ArrayPrelim::default());
    for (index, (author, body)) in replies.iter().enumerate() {
        let reply = list.push_back(txn, MapPrelim::default());
        reply.insert(txn, "id", format!("r{index}"));
        reply.insert(txn, "author", *author);
        reply.insert(txn, "created", 1_764_990_100_000.0 + index as f64);
        reply.insert(txn, "body", *body);
    }
}

/// A draft with everything the contract has: suggestions by two authors, comment threads with
/// replies (one resolved, one detached), a table with a header row and a span, a link, a
/// footnote, a placeholder and a page break.
fn contract_draft() -> Doc {
    let doc = draft_doc(1);
    let mut txn = doc.transact_mut();
    txn.get_or_insert_map(DRAFT_META)
        .insert(&mut txn, "title", "Supply agreement");
    let body = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
    let first = paragraph(&mut txn, &body, "The Supplier shall deliver the goods.");
    // Jane proposes "promptly ", Bob proposes deleting "the goods".
    first.insert_with_attributes(
        &mut txn,
        19,
        "promptly ",
        mark("insertion", &[("id", JANE)]),
    );
    first.format(&mut txn, 36, 9, mark("deletion", &[("id", BOB)]));
    let second = paragraph(&mut txn, &body, "Terms are published at .");
    second.insert_with_attributes(
        &mut txn,
        23,
        "our website",
        mark("link", &[("href", "https://example.com/terms")]),
    );
    let note_holder = body.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
    note_holder.push_back(&mut txn, XmlTextPrelim::new("Liability is capped"));
    let note = note_holder.push_back(&mut txn, XmlElementPrelim::empty("footnote"));
    note.insert_attribute(&mut txn, "text", "Except for fraud.");
    let chip = note_holder.push_back(&mut txn, XmlElementPrelim::empty("placeholder"));
    chip.insert_attribute(&mut txn, "kind", "image");
    chip.insert_attribute(&mut txn, "label", "Signature");
    body.push_back(&mut txn, XmlElementPrelim::empty("pageBreak"));
    let table = body.push_back(&mut txn, XmlElementPrelim::empty("table"));
    let rows = [
        vec![("tableHeader", "Party", 1), ("tableHeader", "Role", 1)],
        vec![("tableCell", "Acme Ltd", 1), ("tableCell", "Supplier", 1)],
        vec![("tableCell", "Signed by both parties", 2)],
    ];
    let mut acme = None;
    for row in rows {
        let row_element = table.push_back(&mut txn, XmlElementPrelim::empty("tableRow"));
        for (tag, text, colspan) in row {
            let cell: XmlElementRef = row_element.push_back(&mut txn, XmlElementPrelim::empty(tag));
            cell.insert_attribute(&mut txn, "colspan", Any::from(colspan as f64));
            let cell_text = paragraph(&mut txn, &cell, text);
            if text == "Acme Ltd" {
                acme = Some(cell_text);
            }
        }
    }
    // A thread on a table cell's text.
    let acme = acme.unwrap();
    comment(
        &mut txn,
        &acme,
        (0, 8),
        Thread {
            id: "thread-4",
            author: "Jane Smith",
            body: "Confirm the registered name.",
            replies: &[],
            resolved: false,
        },
    );
    comment(
        &mut txn,
        &first,
        (4, 12),
        Thread {
            id: "thread-1",
            author: "Ann Counsel",
            body: "Which supplier entity?",
            replies: &[
                ("Jane Smith", "The UK subsidiary."),
                ("Ann Counsel", "Agreed."),
            ],
            resolved: false,
        },
    );
    comment(
        &mut txn,
        &second,
        (0, 5),
        Thread {
            id: "thread-2",
            author: "Bob Jones",
            body: "Settled wording.",
            replies: &[],
            resolved: true,
        },
    );
    // A thread whose text was deleted: detached, still exported.
    let gone = paragraph(&mut txn, &body, "Old clause.");
    comment(
        &mut txn,
        &gone,
        (0, 3),
        Thread {
            id: "thread-3",
            author: "Ann Counsel",
            body: "Keep?",
            replies: &[],
            resolved: false,
        },
    );
    let comments = txn.get_or_insert_map(COMMENTS);
    if let Some(yrs::Out::YMap(thread)) = comments.get(&txn, "thread-3") {
        thread.insert(&mut txn, "quote", "Old clause.");
    }
    let count = body.len(&txn);
    body.remove_range(&mut txn, count - 1, 1);
    drop(txn);
    doc
}

/// Run a tool from scripts/setup; a missing tool fails the test with that advice.
fn tool(program: &str, args: &[&str], cwd: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} is needed for the Word export tests ({error}): run scripts/setup")
        });
    assert!(output.status.success(), "{program} {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A tracked change or comment as pandoc reads it: (kind, author, text).
type Marked = (String, String, String);

fn inline_text(inlines: &Value, out: &mut String) {
    match inlines {
        Value::Array(items) => items.iter().for_each(|item| inline_text(item, out)),
        Value::Object(node) => match node.get("t").and_then(Value::as_str) {
            Some("Str") => out.push_str(node["c"].as_str().unwrap_or_default()),
            Some("Space") | Some("SoftBreak") | Some("LineBreak") => out.push(' '),
            Some("Span") => inline_text(&node["c"][1], out),
            Some(_) => {
                if let Some(content) = node.get("c") {
                    inline_text(content, out);
                }
            }
            None => {}
        },
        _ => {}
    }
}

/// Every pandoc Span with a class (insertion, deletion, comment-start, ...), in document order.
fn spans(value: &Value, out: &mut Vec<Marked>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| spans(item, out)),
        Value::Object(node) => {
            if node.get("t").and_then(Value::as_str) == Some("Span") {
                let attr = &node["c"][0];
                let class = attr[1][0].as_str().unwrap_or_default().to_owned();
                let author = attr[2]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|pair| pair[0] == "author")
                    .and_then(|pair| pair[1].as_str())
                    .unwrap_or_default()
                    .to_owned();
                let mut text = String::new();
                inline_text(&node["c"][1], &mut text);
                out.push((class, author, text.trim().to_owned()));
            }
            node.values().for_each(|child| spans(child, out));
        }
        _ => {}
    }
}

fn pandoc_spans(docx: &[u8], dir: &Path) -> Vec<Marked> {
    std::fs::write(dir.join("read.docx"), docx).unwrap();
    let json = tool(
        "pandoc",
        &[
            "--track-changes=all",
            "-f",
            "docx",
            "-t",
            "json",
            "read.docx",
        ],
        dir,
    );
    let value: Value = serde_json::from_str(&json).unwrap();
    let mut out = Vec::new();
    spans(&value["blocks"], &mut out);
    out
}

fn of_kind<'a>(spans: &'a [Marked], kind: &str) -> Vec<(&'a str, &'a str)> {
    spans
        .iter()
        .filter(|(class, _, text)| class == kind && !text.is_empty())
        .map(|(_, author, text)| (author.as_str(), text.as_str()))
        .collect()
}

#[test]
fn pandoc_reads_suggestions_as_tracked_changes_and_comments_as_comments() {
    let doc = contract_draft();
    let draft = draft::read(&doc.transact());
    let bytes = docx::export(&draft).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spans = pandoc_spans(&bytes, dir.path());
    assert_eq!(
        of_kind(&spans, "insertion"),
        vec![("Jane Smith", "promptly")],
        "{spans:?}"
    );
    assert_eq!(
        of_kind(&spans, "deletion"),
        vec![("Bob Jones", "the goods")],
        "{spans:?}"
    );
    let comments = of_kind(&spans, "comment-start");
    for expected in [
        ("Ann Counsel", "Which supplier entity?"),
        ("Jane Smith", "The UK subsidiary."),
        ("Ann Counsel", "Agreed."),
        ("Bob Jones", "Settled wording."),
        ("Jane Smith", "Confirm the registered name."),
    ] {
        assert!(comments.contains(&expected), "{expected:?} in {comments:?}");
    }
    assert!(
        comments
            .iter()
            .any(|(author, text)| *author == "Ann Counsel" && text.contains("Old clause.")),
        "the detached thread with its quote: {comments:?}"
    );
    // The rest of the body: the link, the footnote, the chip, the table.
    let native = tool(
        "pandoc",
        &[
            "--track-changes=all",
            "-f",
            "docx",
            "-t",
            "native",
            "read.docx",
        ],
        dir.path(),
    );
    assert!(native.contains("https://example.com/terms"), "{native}");
    assert!(native.contains("Note"), "a real footnote: {native}");
    assert!(native.contains("\"fraud.\""), "{native}");
    assert!(native.contains("\"[Image:\""), "{native}");
    assert!(native.contains("Table"), "{native}");
    assert!(native.contains("\"Supplier\""), "{native}");
    assert!(native.contains("\"Signed\""), "{native}");
}

/// The package itself: dates in ISO 8601, the resolved thread marked done, the header row
/// repeating, the spanning cell, the page break.
#[test]
fn the_package_has_dates_resolved_state_header_rows_and_spans() {
    let doc = contract_draft();
    let bytes = docx::export(&draft::read(&doc.transact())).unwrap();
    let part = |name: &str| {
        use std::io::Read;
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let mut file = archive.by_name(name).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        text
    };
    let document = part("word/document.xml");
    assert!(
        document.contains(r#"w:author="Jane Smith" w:date="2025-12-06T00:00:00Z""#),
        "{document}"
    );
    assert!(document.contains("<w:delText"), "{document}");
    assert!(document.contains("<w:tblHeader />"), "{document}");
    assert_eq!(document.matches("<w:tblHeader />").count(), 1);
    assert!(
        document.contains(r#"<w:gridSpan w:val="2" />"#),
        "{document}"
    );
    assert!(document.contains(r#"<w:br w:type="page" />"#), "{document}");
    let extended = part("word/commentsExtended.xml");
    assert_eq!(extended.matches(r#"w15:done="1""#).count(), 1, "{extended}");
    assert_eq!(
        extended.matches("w15:paraIdParent").count(),
        2,
        "{extended}"
    );
    let footnotes = part("word/footnotes.xml");
    assert!(footnotes.contains("Except for fraud."), "{footnotes}");
}

#[test]
fn libreoffice_keeps_the_tracked_changes_and_the_comments() {
    let doc = contract_draft();
    let bytes = docx::export(&draft::read(&doc.transact())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("draft.docx"), &bytes).unwrap();
    let profile = format!("file://{}/lo", dir.path().display());
    tool(
        "soffice",
        &[
            "--headless",
            &format!("-env:UserInstallation={profile}"),
            "--convert-to",
            "fodt",
            "--outdir",
            ".",
            "draft.docx",
        ],
        dir.path(),
    );
    let fodt = std::fs::read_to_string(dir.path().join("draft.fodt")).unwrap();
    let changes = fodt
        .split("<text:tracked-changes")
        .nth(1)
        .and_then(|rest| rest.split("</text:tracked-changes>").next())
        .unwrap_or_else(|| panic!("no tracked changes: {fodt}"));
    assert!(changes.contains("<text:insertion>"), "{changes}");
    assert!(changes.contains("<text:deletion>"), "{changes}");
    assert!(
        changes.contains("<dc:creator>Jane Smith</dc:creator>"),
        "{changes}"
    );
    assert!(
        changes.contains("<dc:creator>Bob Jones</dc:creator>"),
        "{changes}"
    );
    // LibreOffice keeps deleted text in the body between change marks of Bob's deletion.
    let deletion = changes
        .split("<text:changed-region")
        .find(|region| region.contains("<text:deletion>") && region.contains("Bob Jones"))
        .and_then(|region| region.split("text:id=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no deletion by Bob: {changes}"));
    let marked = format!(
        "<text:change-start text:change-id=\"{deletion}\"/>the goods<text:change-end \
         text:change-id=\"{deletion}\"/>"
    );
    assert!(fodt.contains(&marked), "{marked} in {fodt}");
    let annotations = fodt.matches("<office:annotation").count();
    assert!(annotations >= 6, "{annotations} comments: {fodt}");
    assert!(
        fodt.contains("Confirm the registered name."),
        "in a table cell"
    );
    // The rest of the body as LibreOffice sees it.
    assert!(
        fodt.contains("<table:table-header-rows>"),
        "repeating header row"
    );
    assert!(
        fodt.contains(r#"text:note-class="footnote""#),
        "a real footnote"
    );
    assert!(
        fodt.contains(r#"xlink:href="https://example.com/terms""#),
        "the link"
    );
    assert!(
        fodt.contains(r#"table:number-columns-spanned="2""#),
        "the spanning cell"
    );
    assert!(fodt.contains("Which supplier entity?"));
    assert!(fodt.contains("The UK subsidiary."));
}

#[test]
fn the_pdf_shows_the_table_cells_and_the_footnote() {
    let doc = contract_draft();
    let bytes = pdf::export(&draft::read(&doc.transact()), pdf::Paper::A4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("draft.pdf"), &bytes).unwrap();
    let text = tool("pdftotext", &["-layout", "draft.pdf", "-"], dir.path());
    for expected in [
        "Party",
        "Role",
        "Acme Ltd",
        "Supplier",
        "Signed by both parties",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert!(text.contains("Liability is capped[1]"), "{text}");
    assert!(text.contains("[1] Except for fraud."), "{text}");
    assert!(text.contains("Suggested changes"), "the legend: {text}");
    assert!(text.contains("promptly"), "{text}");
}

fn text_of(txn: &impl ReadTxn, index: u32) -> XmlTextRef {
    let body = txn.get_xml_fragment(DRAFT_FRAGMENT).unwrap();
    let Some(XmlOut::Element(element)) = body.get(txn, index) else {
        panic!("no paragraph {index}");
    };
    let Some(XmlOut::Text(text)) = element.get(txn, 0) else {
        panic!("no text in paragraph {index}");
    };
    text
}

fn sync(from: &Doc, to: &Doc) {
    let update = from
        .transact()
        .encode_state_as_update_v1(&to.transact().state_vector());
    to.transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
}

/// Version A by Alice; Bob edits (inserts, deletes and replaces words, removes a paragraph) and
/// Carol adds one; version B. The redline holds exactly those changes, by who made them.
#[test]
fn the_redline_of_two_versions_shows_exactly_the_changes_and_who_made_them() {
    let alice = draft_doc(1);
    {
        let mut txn = alice.transact_mut();
        txn.get_or_insert_map(DRAFT_META)
            .insert(&mut txn, "title", "Supply agreement");
        let body = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
        paragraph(
            &mut txn,
            &body,
            "The Supplier shall deliver the goods within thirty days.",
        );
        paragraph(&mut txn, &body, "Payment is due on delivery.");
        paragraph(&mut txn, &body, "This clause will be removed entirely.");
        paragraph(&mut txn, &body, "Governing law is English law.");
    }
    let version_a = alice.transact().snapshot();
    let bob = draft_doc(2);
    sync(&alice, &bob);
    {
        let mut txn = bob.transact_mut();
        let first = text_of(&txn, 0);
        first.remove_range(&mut txn, 44, 6); // "thirty"
        first.insert(&mut txn, 44, "fourteen");
        first.insert(&mut txn, 19, "promptly ");
        let second = text_of(&txn, 1);
        second.remove_range(&mut txn, 14, 12); // " on delivery"
        let body = txn.get_xml_fragment(DRAFT_FRAGMENT).unwrap();
        body.remove_range(&mut txn, 2, 1);
    }
    let carol = draft_doc(3);
    sync(&bob, &carol);
    {
        let mut txn = carol.transact_mut();
        let body = txn.get_xml_fragment(DRAFT_FRAGMENT).unwrap();
        let added = body.insert(&mut txn, 2, XmlElementPrelim::empty("paragraph"));
        added.push_back(
            &mut txn,
            XmlTextPrelim::new("Each party bears its own costs."),
        );
    }
    sync(&bob, &alice);
    sync(&carol, &alice);
    // Who is who (Y.PermanentUserData): Bob's deletions are his delete set.
    let bob_deletes = bob.transact().snapshot().delete_set.encode_v1();
    {
        let mut txn = alice.transact_mut();
        let users = txn.get_or_insert_map(USERS);
        for (name, client, deletes) in [
            ("Alice Adams", 1.0, None),
            ("Bob Jones", 2.0, Some(bob_deletes.clone())),
            ("Carol Chen", 3.0, None),
        ] {
            let user = users.insert(&mut txn, name, MapPrelim::default());
            let ids = user.insert(&mut txn, "ids", ArrayPrelim::default());
            ids.push_back(&mut txn, client);
            let ds = user.insert(&mut txn, "ds", ArrayPrelim::default());
            if let Some(deletes) = deletes {
                ds.push_back(&mut txn, Any::from(deletes));
            }
        }
    }
    let version_b = alice.transact().snapshot();
    // Later edits are not in the redline.
    {
        let mut txn = alice.transact_mut();
        text_of(&txn, 0).insert(&mut txn, 0, "LATER ");
    }
    let meta = RedlineMeta {
        title: "Supply agreement".into(),
        name_a: "First draft".into(),
        name_b: "Revised".into(),
        author_b: "Dana Partner".into(),
        date_b: Some(1_765_000_000_000),
    };
    let bytes = redline_docx(&alice, &version_a, &version_b, &meta).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spans = pandoc_spans(&bytes, dir.path());
    let inserted: BTreeSet<_> = of_kind(&spans, "insertion").into_iter().collect();
    let deleted: BTreeSet<_> = of_kind(&spans, "deletion").into_iter().collect();
    assert_eq!(
        inserted,
        BTreeSet::from([
            ("Bob Jones", "promptly"),
            ("Bob Jones", "fourteen"),
            ("Carol Chen", "Each party bears its own costs."),
        ]),
        "{spans:?}"
    );
    assert_eq!(
        deleted,
        BTreeSet::from([
            ("Bob Jones", "thirty"),
            ("Bob Jones", "on delivery"),
            ("Bob Jones", "This clause will be removed entirely."),
        ]),
        "{spans:?}"
    );
    let native = tool(
        "pandoc",
        &[
            "--track-changes=accept",
            "--wrap=none",
            "-f",
            "docx",
            "-t",
            "plain",
            "read.docx",
        ],
        dir.path(),
    );
    assert!(
        native.contains("The Supplier shall promptly deliver the goods within fourteen days."),
        "{native}"
    );
    assert!(native.contains("Governing law is English law."), "{native}");
    assert!(!native.contains("LATER"), "{native}");

    // Without a `users` entry for a change, it is version B's author's.
    let plain = draft_doc(9);
    sync(&alice, &plain);
    {
        let mut txn = plain.transact_mut();
        txn.get_or_insert_map(USERS).clear(&mut txn);
    }
    let bytes = redline_docx(&plain, &version_a, &plain.transact().snapshot(), &meta).unwrap();
    let spans = pandoc_spans(&bytes, dir.path());
    assert!(
        of_kind(&spans, "insertion")
            .iter()
            .all(|(author, _)| *author == "Dana Partner"),
        "{spans:?}"
    );
    assert!(of_kind(&spans, "insertion").contains(&("Dana Partner", "LATER")));
}

/// The `versions` list reads as the UI shows it.
#[test]
fn versions_are_listed_with_their_names_and_authors() {
    let doc = draft_doc(1);
    {
        let mut txn = doc.transact_mut();
        let body = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
        paragraph(&mut txn, &body, "Text.");
        let snapshot = txn.snapshot().encode_v1();
        let versions = txn.get_or_insert_array(VERSIONS);
        let entry: HashMap<String, Any> = [
            ("id".to_owned(), Any::from("v1")),
            ("name".to_owned(), Any::from("Sent to client")),
            ("kind".to_owned(), Any::from("named")),
            ("author".to_owned(), Any::from("Jane Smith")),
            ("created".to_owned(), Any::from(1_764_979_200_000.0)),
            ("snapshot".to_owned(), Any::from(snapshot)),
        ]
        .into_iter()
        .collect();
        versions.push_back(&mut txn, Any::from(entry));
    }
    let versions = draft::versions(&doc.transact());
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].id, "v1");
    assert_eq!(versions[0].name, "Sent to client");
    assert_eq!(versions[0].author, "Jane Smith");
    assert_eq!(versions[0].created, Some(1_764_979_200_000));
}

/// Through the store, as the desktop's export command reads it: the draft made in the editor
/// (one update), read in one pass with its comments, exported with its revisions.
#[test]
fn the_store_reads_a_draft_for_export_with_its_comments_and_versions() {
    use hub_local::store::matter_record::CaseFields;
    use hub_local::{FixedKey, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db"), &FixedKey("key".into())).unwrap();
    let case = store
        .create_case(&CaseFields {
            title: "Acme v Beta".into(),
            ..CaseFields::default()
        })
        .unwrap();
    let name = store.create_draft(&case, "Supply agreement").unwrap();
    let editor = contract_draft();
    let state = store.full_state(&name).unwrap();
    editor
        .transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    let update = editor
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    store.apply_local_update(&name, &update).unwrap();
    let draft = store.draft_for_export(&name).unwrap();
    assert_eq!(draft.title, "Supply agreement");
    assert_eq!(draft.comments.len(), 4);
    assert_eq!(
        draft.comments.iter().filter(|c| c.detached).count(),
        1,
        "{:?}",
        draft.comments
    );
    let first = draft.blocks[0].as_paragraph().unwrap();
    assert_eq!(first.comments.len(), 2, "one thread: start and end");
    assert!(store.versions(&name).unwrap().is_empty());
    let bytes = docx::export(&draft).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spans = pandoc_spans(&bytes, dir.path());
    assert_eq!(
        of_kind(&spans, "insertion"),
        vec![("Jane Smith", "promptly")]
    );
}
