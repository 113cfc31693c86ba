//! The small parts around `document.xml`: relationships, styles, numbering, footnotes and
//! endnotes, comments (with Word's reply threads in commentsExtended.xml), and the core title.

use std::collections::HashMap;

use super::error::ImportError;
use super::model::ListKind;
use super::xml::{Events, Node, attribute, local, toggle};

/// A relationship of a part: `rId7` → its type and target.
#[derive(Debug, Clone, Default)]
pub(crate) struct Relationships {
    by_id: HashMap<String, (String, String)>,
}

impl Relationships {
    pub(crate) fn parse(bytes: &[u8], depth: usize) -> Result<Self, ImportError> {
        let mut events = Events::new(bytes, "relationships", depth);
        let mut by_id = HashMap::new();
        while let Some(node) = events.next()? {
            if let Node::Start(element) | Node::Empty(element) = &node
                && local(element) == b"Relationship"
            {
                let (Some(id), Some(kind), Some(target)) = (
                    attribute(element, b"Id"),
                    attribute(element, b"Type"),
                    attribute(element, b"Target"),
                ) else {
                    continue;
                };
                by_id.insert(id, (kind, target));
            }
        }
        Ok(Self { by_id })
    }

    pub(crate) fn target(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(|(_, target)| target.as_str())
    }

    /// The target of the first relationship whose type ends with `/kind`.
    pub(crate) fn of_type(&self, kind: &str) -> Option<&str> {
        self.by_id
            .values()
            .find(|(relationship, _)| relationship.rsplit('/').next() == Some(kind))
            .map(|(_, target)| target.as_str())
    }

    pub(crate) fn has_type(&self, kind: &str) -> bool {
        self.by_id
            .values()
            .any(|(relationship, _)| relationship.rsplit('/').next() == Some(kind))
    }
}

/// A part's path in the zip from a relationship target relative to `base_dir` (`word`).
pub(crate) fn resolve(base_dir: &str, target: &str) -> String {
    if let Some(absolute) = target.strip_prefix('/') {
        return absolute.to_owned();
    }
    let mut parts: Vec<&str> = base_dir
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    for segment in target.split('/') {
        match segment {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[derive(Debug, Clone, Default)]
struct Style {
    name: String,
    based_on: Option<String>,
    outline: Option<u8>,
    numbering: Option<(String, u8)>,
    bold: Option<bool>,
    italic: Option<bool>,
    underline: Option<bool>,
    strike: Option<bool>,
}

/// Character formatting a style gives its runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StyleMarks {
    pub bold: Option<bool>,
    pub italic: Option<bool>,
    pub underline: Option<bool>,
    pub strike: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Styles {
    by_id: HashMap<String, Style>,
}

impl Styles {
    pub(crate) fn parse(bytes: &[u8], depth: usize) -> Result<Self, ImportError> {
        let mut events = Events::new(bytes, "word/styles.xml", depth);
        let mut by_id = HashMap::new();
        let mut current: Option<(String, Style)> = None;
        let mut skip_depth: Option<usize> = None;
        let mut in_rpr = false;
        while let Some(node) = events.next()? {
            let element = match &node {
                Node::Start(element) | Node::Empty(element) => element,
                Node::End => {
                    if skip_depth.is_some_and(|depth| events.depth() < depth) {
                        skip_depth = None;
                    }
                    if events.depth() == 1
                        && let Some((id, style)) = current.take()
                    {
                        by_id.insert(id, style);
                    }
                    continue;
                }
                Node::Text(_) => continue,
            };
            if skip_depth.is_some() {
                continue;
            }
            let name = local(element);
            let started = matches!(node, Node::Start(_));
            match name {
                b"style" => {
                    if let Some(id) = attribute(element, b"styleId") {
                        current = Some((id, Style::default()));
                    }
                    in_rpr = false;
                }
                // Older formatting kept for tracked changes, and table-part styles.
                b"pPrChange" | b"rPrChange" | b"tblStylePr" if started => {
                    skip_depth = Some(events.depth());
                }
                _ => {}
            }
            let Some((_, style)) = current.as_mut() else {
                continue;
            };
            let value = || attribute(element, b"val");
            match name {
                b"name" => style.name = value().unwrap_or_default(),
                b"basedOn" => style.based_on = value(),
                b"outlineLvl" => style.outline = value().and_then(|level| level.parse().ok()),
                b"numId" => {
                    let level = style.numbering.as_ref().map_or(0, |(_, level)| *level);
                    style.numbering = value().map(|id| (id, level));
                }
                b"ilvl" => {
                    let level = value().and_then(|level| level.parse().ok()).unwrap_or(0);
                    if let Some((_, current)) = style.numbering.as_mut() {
                        *current = level;
                    } else {
                        style.numbering = Some((String::new(), level));
                    }
                }
                b"rPr" => in_rpr = started,
                b"b" if in_rpr => style.bold = Some(toggle(element)),
                b"i" if in_rpr => style.italic = Some(toggle(element)),
                b"u" if in_rpr => style.underline = Some(toggle(element)),
                b"strike" | b"dstrike" if in_rpr => style.strike = Some(toggle(element)),
                _ => {}
            }
        }
        Ok(Self { by_id })
    }

    /// The style and the styles it is based on, nearest first (cycles cut short).
    fn chain<'s>(&'s self, id: &str) -> impl Iterator<Item = &'s Style> + 's {
        let mut next = self.by_id.get(id);
        let mut steps = 0;
        std::iter::from_fn(move || {
            let style = next?;
            steps += 1;
            next = if steps < 16 {
                style
                    .based_on
                    .as_deref()
                    .and_then(|parent| self.by_id.get(parent))
            } else {
                None
            };
            Some(style)
        })
    }

    /// A heading level 1–6 from the style's name ("heading 2", "Title") or outline level.
    pub(crate) fn heading_level(&self, id: &str) -> Option<u8> {
        for style in self.chain(id) {
            if let Some(level) = heading_from_name(&style.name) {
                return Some(level);
            }
            if let Some(outline) = style.outline {
                return outline_heading(outline);
            }
        }
        heading_from_name(id)
    }

    pub(crate) fn numbering(&self, id: &str) -> Option<(String, u8)> {
        self.chain(id)
            .find_map(|style| style.numbering.clone())
            .filter(|(num_id, _)| !num_id.is_empty())
    }

    pub(crate) fn marks(&self, id: &str) -> StyleMarks {
        let mut marks = StyleMarks::default();
        for style in self.chain(id) {
            marks.bold = marks.bold.or(style.bold);
            marks.italic = marks.italic.or(style.italic);
            marks.underline = marks.underline.or(style.underline);
            marks.strike = marks.strike.or(style.strike);
        }
        marks
    }
}

/// Outline level 0–8 (Word) → heading 1–6; 9 is body text.
pub(crate) fn outline_heading(outline: u8) -> Option<u8> {
    (outline < 9).then(|| (outline + 1).min(6))
}

fn heading_from_name(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    let rest = lower.strip_prefix("heading")?.trim();
    let level: u8 = rest.parse().ok()?;
    (1..=9).contains(&level).then(|| level.min(6))
}

#[derive(Debug, Clone)]
struct Level {
    format: String,
    text: String,
    start: u32,
    legal: bool,
}

/// numbering.xml: which list kind and start each (numId, level) has.
#[derive(Debug, Clone, Default)]
pub(crate) struct Numbering {
    abstracts: HashMap<String, HashMap<u8, Level>>,
    instances: HashMap<String, (String, HashMap<u8, u32>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListLevel {
    pub kind: ListKind,
    pub start: u32,
}

impl Numbering {
    pub(crate) fn parse(bytes: &[u8], depth: usize) -> Result<Self, ImportError> {
        let mut events = Events::new(bytes, "word/numbering.xml", depth);
        let mut numbering = Self::default();
        let mut abstract_id: Option<String> = None;
        let mut level: Option<(u8, Level)> = None;
        let mut instance: Option<(String, String, HashMap<u8, u32>)> = None;
        let mut override_level: Option<u8> = None;
        while let Some(node) = events.next()? {
            let element = match &node {
                Node::Start(element) | Node::Empty(element) => element,
                Node::End => {
                    match events.depth() {
                        // </w:lvl> inside <w:abstractNum>
                        2 => {
                            if let (Some(id), Some((index, finished))) =
                                (abstract_id.as_ref(), level.take())
                            {
                                numbering
                                    .abstracts
                                    .entry(id.clone())
                                    .or_default()
                                    .insert(index, finished);
                            }
                        }
                        1 => {
                            abstract_id = None;
                            if let Some((num_id, abstract_ref, overrides)) = instance.take() {
                                numbering
                                    .instances
                                    .insert(num_id, (abstract_ref, overrides));
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                Node::Text(_) => continue,
            };
            let value = || attribute(element, b"val");
            match local(element) {
                b"abstractNum" => {
                    abstract_id = attribute(element, b"abstractNumId");
                }
                b"lvl" if instance.is_none() => {
                    let index = attribute(element, b"ilvl")
                        .and_then(|index| index.parse().ok())
                        .unwrap_or(0);
                    level = Some((
                        index,
                        Level {
                            format: "decimal".into(),
                            text: String::new(),
                            start: 1,
                            legal: false,
                        },
                    ));
                }
                b"numFmt" => {
                    if let (Some((_, level)), Some(format)) = (level.as_mut(), value()) {
                        level.format = format;
                    }
                }
                b"lvlText" => {
                    if let (Some((_, level)), Some(text)) = (level.as_mut(), value()) {
                        level.text = text;
                    }
                }
                b"isLgl" => {
                    if let Some((_, level)) = level.as_mut() {
                        level.legal = toggle(element);
                    }
                }
                b"start" => {
                    if let (Some((_, level)), Some(start)) =
                        (level.as_mut(), value().and_then(|start| start.parse().ok()))
                    {
                        level.start = start;
                    }
                }
                b"num" => {
                    if let Some(num_id) = attribute(element, b"numId") {
                        instance = Some((num_id, String::new(), HashMap::new()));
                    }
                }
                b"abstractNumId" => {
                    if let (Some((_, abstract_ref, _)), Some(id)) = (instance.as_mut(), value()) {
                        *abstract_ref = id;
                    }
                }
                b"lvlOverride" => {
                    override_level =
                        attribute(element, b"ilvl").and_then(|index| index.parse().ok());
                }
                b"startOverride" => {
                    if let (Some((_, _, overrides)), Some(index), Some(start)) = (
                        instance.as_mut(),
                        override_level,
                        value().and_then(|start| start.parse().ok()),
                    ) {
                        overrides.insert(index, start);
                    }
                }
                _ => {}
            }
        }
        Ok(numbering)
    }

    /// The list kind of a numbered paragraph; `None` for "no numbering" (numId 0, format none).
    pub(crate) fn level(&self, num_id: &str, index: u8) -> Option<ListLevel> {
        let (abstract_id, overrides) = self.instances.get(num_id)?;
        let levels = self.abstracts.get(abstract_id)?;
        let level = levels.get(&index).or_else(|| levels.get(&0))?;
        // Legal outline numbering: some level shows its parents' numbers ("%1.%2.").
        let legal = levels.values().any(|level| {
            level.format == "decimal" && (level.legal || level.text.matches('%').count() >= 2)
        });
        let kind = match level.format.as_str() {
            "none" => return None,
            "bullet" => ListKind::Bullet,
            "decimal" if legal => ListKind::Clause,
            _ => ListKind::Ordered,
        };
        Some(ListLevel {
            kind,
            start: overrides.get(&index).copied().unwrap_or(level.start),
        })
    }
}

/// A story outside the body (a footnote, an endnote, a comment) as plain text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Note {
    pub text: String,
    pub author: String,
    pub date: String,
    /// `w14:paraId` of its last paragraph: how commentsExtended.xml names a comment.
    pub last_paragraph: Option<String>,
    pub had_tracked_changes: bool,
}

/// footnotes.xml / endnotes.xml / comments.xml: `w:id` → its text (separators left out).
pub(crate) fn notes(
    bytes: &[u8],
    part: &'static str,
    element_name: &[u8],
    depth: usize,
) -> Result<HashMap<String, Note>, ImportError> {
    let mut events = Events::new(bytes, part, depth);
    let mut notes = HashMap::new();
    let mut current: Option<(String, Note)> = None;
    let mut in_text = false;
    let mut skip_depth: Option<usize> = None;
    while let Some(node) = events.next()? {
        let is_start = matches!(node, Node::Start(_));
        match node {
            Node::Start(element) | Node::Empty(element) if skip_depth.is_none() => {
                let started = events.depth();
                let name = local(&element);
                if name == element_name {
                    let separator =
                        attribute(&element, b"type").is_some_and(|kind| kind != "normal");
                    current = match (attribute(&element, b"id"), separator) {
                        (Some(id), false) => Some((
                            id,
                            Note {
                                author: attribute(&element, b"author").unwrap_or_default(),
                                date: attribute(&element, b"date").unwrap_or_default(),
                                ..Note::default()
                            },
                        )),
                        _ => None,
                    };
                    continue;
                }
                let Some((_, note)) = current.as_mut() else {
                    continue;
                };
                match name {
                    b"p" => {
                        if !note.text.is_empty() {
                            note.text.push('\n');
                        }
                        note.last_paragraph = attribute(&element, b"paraId");
                    }
                    b"t" => in_text = true,
                    b"tab" => note.text.push('\t'),
                    b"br" | b"cr" => note.text.push('\n'),
                    b"ins" | b"del" => note.had_tracked_changes = true,
                    // Deleted text, old formatting and field codes are not what the note says.
                    b"delText" | b"instrText" | b"pPrChange" | b"rPrChange" => {
                        note.had_tracked_changes |= name == b"delText";
                        if is_start {
                            skip_depth = Some(started);
                        }
                    }
                    _ => {}
                }
            }
            Node::Start(_) | Node::Empty(_) => {}
            Node::End => {
                if skip_depth.is_some_and(|depth| events.depth() < depth) {
                    skip_depth = None;
                }
                in_text = false;
                if events.depth() == 1
                    && let Some((id, note)) = current.take()
                {
                    notes.insert(id, note);
                }
            }
            Node::Text(text) => {
                if in_text
                    && skip_depth.is_none()
                    && let Some((_, note)) = current.as_mut()
                {
                    note.text.push_str(&text);
                }
            }
        }
    }
    Ok(notes)
}

/// commentsExtended.xml: a comment's `paraId` → (its parent's `paraId`, resolved).
pub(crate) fn comment_threads(
    bytes: &[u8],
    depth: usize,
) -> Result<HashMap<String, (Option<String>, bool)>, ImportError> {
    let mut events = Events::new(bytes, "word/commentsExtended.xml", depth);
    let mut threads = HashMap::new();
    while let Some(node) = events.next()? {
        if let Node::Start(element) | Node::Empty(element) = &node
            && local(element) == b"commentEx"
            && let Some(id) = attribute(element, b"paraId")
        {
            let done = attribute(element, b"done").is_some_and(|done| done == "1");
            threads.insert(id, (attribute(element, b"paraIdParent"), done));
        }
    }
    Ok(threads)
}

/// docProps/core.xml's `dc:title`, if set.
pub(crate) fn core_title(bytes: &[u8], depth: usize) -> Result<Option<String>, ImportError> {
    let mut events = Events::new(bytes, "docProps/core.xml", depth);
    let mut in_title = false;
    let mut title = String::new();
    while let Some(node) = events.next()? {
        match node {
            Node::Start(element) => in_title = local(&element) == b"title",
            Node::Text(text) if in_title => title.push_str(&text),
            Node::End => in_title = false,
            _ => {}
        }
    }
    let title = title.trim();
    Ok((!title.is_empty()).then(|| title.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relationship_targets() {
        assert_eq!(resolve("word", "styles.xml"), "word/styles.xml");
        assert_eq!(
            resolve("word", "../customXml/item.xml"),
            "customXml/item.xml"
        );
        assert_eq!(resolve("word", "/word/numbering.xml"), "word/numbering.xml");
    }

    #[test]
    fn headings_from_style_names() {
        assert_eq!(heading_from_name("heading 2"), Some(2));
        assert_eq!(heading_from_name("Heading 9"), Some(6));
        assert_eq!(heading_from_name("Title"), Some(1));
        assert_eq!(heading_from_name("Normal"), None);
        assert_eq!(outline_heading(9), None);
    }

    #[test]
    fn legal_numbering_is_a_clause_list() {
        let xml = br#"<w:numbering xmlns:w="w">
          <w:abstractNum w:abstractNumId="1">
            <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>
            <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2."/></w:lvl>
            <w:lvl w:ilvl="2"><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%3)"/></w:lvl>
          </w:abstractNum>
          <w:abstractNum w:abstractNumId="2">
            <w:lvl w:ilvl="0"><w:start w:val="3"/><w:numFmt w:val="lowerRoman"/><w:lvlText w:val="%1)"/></w:lvl>
          </w:abstractNum>
          <w:abstractNum w:abstractNumId="3">
            <w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val="&#8226;"/></w:lvl>
          </w:abstractNum>
          <w:num w:numId="5"><w:abstractNumId w:val="1"/></w:num>
          <w:num w:numId="6"><w:abstractNumId w:val="2"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="7"/></w:lvlOverride></w:num>
          <w:num w:numId="7"><w:abstractNumId w:val="3"/></w:num>
        </w:numbering>"#;
        let numbering = Numbering::parse(xml, 64).unwrap();
        let clause = |index| numbering.level("5", index).map(|level| level.kind);
        assert_eq!(clause(0), Some(ListKind::Clause));
        assert_eq!(clause(1), Some(ListKind::Clause));
        assert_eq!(clause(2), Some(ListKind::Ordered));
        assert_eq!(
            numbering.level("6", 0),
            Some(ListLevel {
                kind: ListKind::Ordered,
                start: 7
            })
        );
        assert_eq!(
            numbering.level("7", 0).map(|level| level.kind),
            Some(ListKind::Bullet)
        );
        assert_eq!(numbering.level("0", 0), None);
    }
}
