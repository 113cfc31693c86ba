//! Word files from the command line, with the parser the app uses.
//!
//!   cargo run -p hub-local --example docx -- import IN.docx [--json]
//!   cargo run -p hub-local --example docx -- roundtrip IN.docx OUT.docx
//!
//! `import` reads IN.docx into a fresh draft document (in memory) and prints what came in: a short
//! summary, or the whole `ImportReport` as JSON with `--json`. A refused file prints the message
//! the lawyer would see and its code, and exits 1. Usage errors exit 2.
//!
//! `roundtrip` imports IN.docx as the app does and exports it again as the app's "Export to
//! Word" does: tracked changes stay tracked changes (author and date), comments stay comments
//! (with replies), tables, lists, links and footnotes come back. A check for IT, and a way to
//! see what a file will look like after a round through Lawyers Hub.

use std::process::ExitCode;

use hub_local::import::{ImportLimits, ImportReport, WordDocument};
use hub_local::store::draft::{self, DRAFT_META};
use yrs::{Doc, Map, OffsetKind, Options, Transact, WriteTxn};

const USAGE: &str = "usage: docx import IN.docx [--json] | docx roundtrip IN.docx OUT.docx";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        Some("import") => import(&arguments[1..]),
        Some("roundtrip") => roundtrip(&arguments[1..]),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn import(arguments: &[String]) -> ExitCode {
    let json = arguments.iter().any(|argument| argument == "--json");
    let files: Vec<&String> = arguments
        .iter()
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    let [path] = files.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        skip_gc: true,
        ..Options::default()
    });
    let report = match WordDocument::parse(&bytes, path, &ImportLimits::default()) {
        Ok(document) => document.write(&mut doc.transact_mut()),
        Err(error) => {
            eprintln!("{error} [{}]", error.code());
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("cannot write the report as JSON: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print_summary(&report);
    }
    ExitCode::SUCCESS
}

fn roundtrip(arguments: &[String]) -> ExitCode {
    let [input, output] = arguments else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(input) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("cannot read {input}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        skip_gc: true,
        ..Options::default()
    });
    let report = match WordDocument::parse(&bytes, input, &ImportLimits::default()) {
        Ok(document) => {
            let mut txn = doc.transact_mut();
            let title = document.title().trim().to_owned();
            let report = document.write(&mut txn);
            txn.get_or_insert_map(DRAFT_META)
                .insert(&mut txn, "title", title);
            report
        }
        Err(error) => {
            eprintln!("{error} [{}]", error.code());
            return ExitCode::FAILURE;
        }
    };
    let draft = draft::read(&doc.transact());
    let exported = match hub_local::export::docx::export(&draft) {
        Ok(exported) => exported,
        Err(error) => {
            eprintln!("cannot export: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = std::fs::write(output, &exported) {
        eprintln!("cannot write {output}: {error}");
        return ExitCode::FAILURE;
    }
    print_summary(&report);
    println!(
        "wrote {output}: {} bytes, {} tracked changes, {} comment threads",
        exported.len(),
        report.suggestion_total(),
        draft.comments.len()
    );
    ExitCode::SUCCESS
}

fn print_summary(report: &ImportReport) {
    println!("title: {}", report.title);
    println!(
        "{} paragraphs, {} headings, {} list items, {} tables, {} footnotes, {} links, {} page breaks",
        report.paragraphs,
        report.headings,
        report.list_items,
        report.tables,
        report.footnotes,
        report.hyperlinks,
        report.page_breaks
    );
    for (author, count) in &report.suggestions {
        println!(
            "tracked changes by {author}: {} insertions, {} deletions",
            count.insertions, count.deletions
        );
    }
    println!(
        "comments: {} threads, {} replies",
        report.comments.threads, report.comments.replies
    );
    for placeholder in &report.placeholders {
        println!(
            "placeholder ({}) at {}: {}",
            placeholder.kind, placeholder.location, placeholder.label
        );
    }
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
}
