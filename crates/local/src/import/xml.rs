//! The one quick-xml loop every part goes through: borrowed events from the inflated bytes, entity
//! references folded into text, element depth limited. quick-xml expands no DTD entities, so
//! "billion laughs" documents cannot grow.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::escape::{resolve_predefined_entity, unescape};
use quick_xml::events::{BytesStart, Event};

use super::error::ImportError;

/// An event of a part, as the parsers need it.
pub(crate) enum Node<'a> {
    /// An element that has content (`local` is its name without the namespace prefix).
    Start(BytesStart<'a>),
    /// `<a/>`: no `End` follows.
    Empty(BytesStart<'a>),
    End,
    Text(Cow<'a, str>),
}

pub(crate) struct Events<'a> {
    reader: Reader<&'a [u8]>,
    part: &'static str,
    depth: usize,
    max_depth: usize,
}

impl<'a> Events<'a> {
    pub(crate) fn new(bytes: &'a [u8], part: &'static str, max_depth: usize) -> Self {
        let mut reader = Reader::from_reader(bytes);
        reader.config_mut().check_end_names = true;
        Self {
            reader,
            part,
            depth: 0,
            max_depth,
        }
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// The next event, `None` at the end of the part.
    pub(crate) fn next(&mut self) -> Result<Option<Node<'a>>, ImportError> {
        loop {
            let event = self.reader.read_event().map_err(|error| {
                ImportError::corrupt(format!(
                    "{} at byte {}: {error}",
                    self.part,
                    self.reader.error_position()
                ))
            })?;
            return Ok(Some(match event {
                Event::Start(start) => {
                    self.depth += 1;
                    if self.depth > self.max_depth {
                        return Err(ImportError::TooDeep {
                            limit: self.max_depth,
                        });
                    }
                    Node::Start(start)
                }
                Event::Empty(start) => Node::Empty(start),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    Node::End
                }
                Event::Text(text) => Node::Text(
                    text.decode()
                        .map_err(|error| ImportError::corrupt(format!("{}: {error}", self.part)))?,
                ),
                Event::CData(data) => Node::Text(
                    data.decode()
                        .map_err(|error| ImportError::corrupt(format!("{}: {error}", self.part)))?,
                ),
                Event::GeneralRef(reference) => {
                    if let Ok(Some(character)) = reference.resolve_char_ref() {
                        Node::Text(Cow::Owned(character.to_string()))
                    } else {
                        let name = reference.decode().map_err(|error| {
                            ImportError::corrupt(format!("{}: {error}", self.part))
                        })?;
                        match resolve_predefined_entity(&name) {
                            Some(text) => Node::Text(Cow::Borrowed(text)),
                            // An undeclared entity: keep it visible rather than drop text.
                            None => Node::Text(Cow::Owned(format!("&{name};"))),
                        }
                    }
                }
                Event::Eof => return Ok(None),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
            }));
        }
    }
}

/// An element's name without its namespace prefix.
pub(crate) fn local<'b>(element: &'b BytesStart<'_>) -> &'b [u8] {
    let name = element.name().into_inner();
    match name.iter().rposition(|byte| *byte == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// An attribute's value by its name without prefix (`w:val` → `val`), unescaped.
pub(crate) fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    for attribute in element.attributes().with_checks(false).flatten() {
        let key = attribute.key.into_inner();
        let key = match key.iter().rposition(|byte| *byte == b':') {
            Some(colon) => &key[colon + 1..],
            None => key,
        };
        if key == name {
            let raw = String::from_utf8_lossy(&attribute.value);
            return Some(match unescape(&raw) {
                Ok(value) => value.into_owned(),
                Err(_) => raw.into_owned(),
            });
        }
    }
    None
}

/// A Word on/off property (`<w:b/>`, `<w:b w:val="0"/>`).
pub(crate) fn toggle(element: &BytesStart<'_>) -> bool {
    !matches!(
        attribute(element, b"val").as_deref(),
        Some("0" | "false" | "off" | "none")
    )
}
