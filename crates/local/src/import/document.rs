//! The document's parts read in order (relationships, styles, numbering, notes, comments, core
//! properties), then the body (`body`), then Word's comments gathered into threads.

use std::collections::HashMap;

use super::body::BodyParser;
use super::error::ImportError;
use super::lists::Container;
use super::model::{Block, Comment, Reply};
use super::package::Package;
use super::parts::{self, Note, Numbering, Relationships, Styles, resolve};
use super::{ImportLimits, ImportReport, time};

pub(crate) struct Parsed {
    pub body: Vec<Block>,
    pub comments: Vec<Comment>,
    pub report: ImportReport,
    pub core_title: Option<String>,
    pub first_heading: Option<String>,
}

/// Read every part the import needs, then the body.
pub(crate) fn parse(package: &mut Package, limits: &ImportLimits) -> Result<Parsed, ImportError> {
    let depth = limits.max_xml_depth;
    let root_relationships = match package.read("_rels/.rels")? {
        Some(bytes) => Relationships::parse(&bytes, depth)?,
        None => Relationships::default(),
    };
    let main = root_relationships
        .of_type("officeDocument")
        .map(|target| resolve("", target))
        .unwrap_or_else(|| "word/document.xml".to_owned());
    let document = package
        .read(&main)?
        .ok_or_else(|| ImportError::corrupt(format!("the main document ({main}) is missing")))?;
    let (directory, file) = main.rsplit_once('/').unwrap_or(("", main.as_str()));
    let relationships = match package.read(&resolve(directory, &format!("_rels/{file}.rels")))? {
        Some(bytes) => Relationships::parse(&bytes, depth)?,
        None => Relationships::default(),
    };
    let part = |kind: &str, default: &str| {
        resolve(directory, relationships.of_type(kind).unwrap_or(default))
    };
    let styles = match package.read(&part("styles", "styles.xml"))? {
        Some(bytes) => Styles::parse(&bytes, depth)?,
        None => Styles::default(),
    };
    let numbering = match package.read(&part("numbering", "numbering.xml"))? {
        Some(bytes) => Numbering::parse(&bytes, depth)?,
        None => Numbering::default(),
    };
    let read_notes = |package: &mut Package,
                      kind: &str,
                      default: &str,
                      part_name: &'static str,
                      element: &[u8]|
     -> Result<HashMap<String, Note>, ImportError> {
        match package.read(&part(kind, default))? {
            Some(bytes) => parts::notes(&bytes, part_name, element, depth),
            None => Ok(HashMap::new()),
        }
    };
    let footnotes = read_notes(
        package,
        "footnotes",
        "footnotes.xml",
        "word/footnotes.xml",
        b"footnote",
    )?;
    let endnotes = read_notes(
        package,
        "endnotes",
        "endnotes.xml",
        "word/endnotes.xml",
        b"endnote",
    )?;
    let comments = read_notes(
        package,
        "comments",
        "comments.xml",
        "word/comments.xml",
        b"comment",
    )?;
    let threads = match relationships.of_type("commentsExtended") {
        Some(target) => match package.read(&resolve(directory, target))? {
            Some(bytes) => parts::comment_threads(&bytes, depth)?,
            None => HashMap::new(),
        },
        None => HashMap::new(),
    };
    let core_title = match root_relationships.of_type("core-properties") {
        Some(target) => match package.read(&resolve("", target))? {
            Some(bytes) => parts::core_title(&bytes, depth)?,
            None => None,
        },
        None => None,
    };

    let mut body = BodyParser::new(
        &styles,
        &numbering,
        &relationships,
        &footnotes,
        &endnotes,
        limits,
    );
    body.run(&document)?;
    let mut report = std::mem::take(&mut body.report);
    if relationships.has_type("header") || relationships.has_type("footer") {
        report.warnings.push(
            "Headers and footers were not imported (the draft has none); copy them by hand if \
             they matter."
                .into(),
        );
    }
    if footnotes
        .values()
        .chain(endnotes.values())
        .any(|note| note.had_tracked_changes)
    {
        report
            .warnings
            .push("Tracked changes inside footnotes were imported as accepted text.".into());
    }
    if !endnotes.is_empty() {
        report
            .warnings
            .push("Endnotes were imported as footnotes at their reference.".into());
    }
    let comments = threads_of(
        &comments,
        &threads,
        &body.reply_to,
        &mut body.quotes,
        &mut report,
    );
    let BodyParser {
        containers,
        first_heading,
        ..
    } = body;
    let body = containers
        .into_iter()
        .next()
        .map(Container::finish)
        .unwrap_or_default();
    Ok(Parsed {
        body,
        comments,
        report,
        core_title,
        first_heading,
    })
}

/// Word's comments as threads: a reply names its parent through commentsExtended.xml.
fn threads_of(
    comments: &HashMap<String, Note>,
    extended: &HashMap<String, (Option<String>, bool)>,
    reply_to: &HashMap<String, String>,
    quotes: &mut HashMap<String, String>,
    report: &mut ImportReport,
) -> Vec<Comment> {
    let by_paragraph: HashMap<&str, &str> = comments
        .iter()
        .filter_map(|(id, note)| Some((note.last_paragraph.as_deref()?, id.as_str())))
        .collect();
    let parent_of = |id: &str| -> Option<&str> {
        let by_extended = || {
            let paragraph = comments.get(id)?.last_paragraph.as_deref()?;
            let parent_paragraph = extended.get(paragraph)?.0.as_deref()?;
            by_paragraph.get(parent_paragraph).copied()
        };
        by_extended().or_else(|| reply_to.get(id).map(String::as_str))
    };
    let root_of = |id: &str| -> String {
        let mut current = id;
        for _ in 0..64 {
            match parent_of(current) {
                Some(parent) if parent != current => current = parent,
                _ => break,
            }
        }
        current.to_owned()
    };
    let mut ids: Vec<&String> = comments.keys().collect();
    ids.sort_by_key(|id| (id.parse::<i64>().unwrap_or(i64::MAX), id.as_str()));
    let mut threads: Vec<Comment> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut replies: Vec<(String, Reply)> = Vec::new();
    let mut tracked = false;
    for id in ids {
        let Some(note) = comments.get(id) else {
            continue;
        };
        tracked |= note.had_tracked_changes;
        let author = if note.author.trim().is_empty() {
            "Unknown author".to_owned()
        } else {
            note.author.clone()
        };
        let created = time::unix_ms(&note.date).unwrap_or(0);
        let root = root_of(id);
        if &root != id {
            replies.push((
                root,
                Reply {
                    author,
                    created,
                    body: note.text.trim().to_owned(),
                },
            ));
            continue;
        }
        let resolved = note
            .last_paragraph
            .as_ref()
            .and_then(|paragraph| extended.get(paragraph))
            .is_some_and(|(_, done)| *done);
        index_of.insert(id.clone(), threads.len());
        threads.push(Comment {
            word_id: id.clone(),
            author,
            created,
            body: note.text.trim().to_owned(),
            quote: quotes.remove(id).unwrap_or_default(),
            resolved,
            replies: Vec::new(),
        });
    }
    for (root, reply) in replies {
        if let Some(index) = index_of.get(&root) {
            threads[*index].replies.push(reply);
        }
    }
    for thread in &mut threads {
        thread.replies.sort_by_key(|reply| reply.created);
    }
    if tracked {
        report
            .warnings
            .push("Tracked changes inside comments were imported as accepted text.".into());
    }
    report.comments.threads = threads.len();
    report.comments.replies = threads.iter().map(|thread| thread.replies.len()).sum();
    threads
}
