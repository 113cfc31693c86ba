//! What the editor cannot hold (drawings, images, text boxes, charts, objects, equations, symbols,
//! fields): the region is read only for a label, and one `placeholder` atom stands in for it.

use quick_xml::events::BytesStart;

use super::BodyParser;
use crate::import::Placeholder;
use crate::import::model::{Block, Inline};
use crate::import::xml::{attribute, local};

/// The longest label a placeholder gets.
pub(super) const LABEL_CHARS: usize = 120;

/// A region read only for a placeholder's label (or not at all).
pub(super) struct Skip {
    pub(super) element: &'static str,
    pub(super) placeholder: bool,
    pub(super) text: String,
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) prog_id: Option<String>,
    pub(super) picture: bool,
    pub(super) textbox: bool,
    pub(super) chart: bool,
}

impl BodyParser<'_> {
    pub(super) fn placeholder(&mut self, kind: &'static str, label: String) {
        self.inlines += 1;
        let label = clip(&label);
        self.report.placeholders.push(Placeholder {
            kind: kind.to_owned(),
            label: label.clone(),
            location: format!("paragraph {}", self.paragraph_number.max(1)),
        });
        let inline = Inline::Placeholder { kind, label };
        match self.paragraph.as_mut() {
            Some(paragraph) => paragraph.push(inline),
            None => {
                let container = self.containers.last_mut();
                if let Some(container) = container {
                    container.push_block(Block::Paragraph {
                        heading: None,
                        inlines: vec![inline],
                    });
                }
            }
        }
    }

    pub(super) fn begin_skip(&mut self, element: &[u8], placeholder: bool, start: &BytesStart) {
        let element = match element {
            b"drawing" => "drawing",
            b"pict" => "pict",
            b"object" => "object",
            b"oMath" | b"oMathPara" => "equation",
            b"txbxContent" => "textbox",
            _ => "",
        };
        self.skip = Some(Skip {
            element,
            placeholder,
            text: String::new(),
            name: None,
            description: None,
            prog_id: None,
            picture: false,
            textbox: element == "textbox",
            chart: false,
        });
        self.skip_info(start);
    }

    pub(super) fn skip_info(&mut self, element: &BytesStart) {
        let Some(skip) = self.skip.as_mut() else {
            return;
        };
        if !skip.placeholder {
            return;
        }
        match local(element) {
            b"docPr" => {
                skip.name = attribute(element, b"name");
                skip.description = attribute(element, b"descr")
                    .or_else(|| attribute(element, b"title"))
                    .filter(|text| !text.trim().is_empty());
            }
            b"pic" | b"blip" | b"imagedata" => skip.picture = true,
            b"txbx" | b"textbox" | b"txbxContent" => skip.textbox = true,
            b"chart" => skip.chart = true,
            b"OLEObject" => skip.prog_id = attribute(element, b"ProgID"),
            b"p" if !skip.text.is_empty() => skip.text.push(' '),
            _ => {}
        }
    }

    pub(super) fn finish_skip(&mut self) {
        let Some(skip) = self.skip.take() else {
            return;
        };
        if !skip.placeholder {
            return;
        }
        let text = skip.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let (kind, label) = match skip.element {
            "equation" => ("equation", format!("Equation: {text}")),
            "object" => (
                "object",
                match skip.prog_id {
                    Some(program) => format!("Embedded object ({program})"),
                    None => "Embedded object".to_owned(),
                },
            ),
            _ if skip.chart => ("chart", skip.name.unwrap_or_else(|| "Chart".into())),
            _ if skip.textbox => (
                "textbox",
                if text.is_empty() {
                    "Text box".to_owned()
                } else {
                    format!("Text box: {text}")
                },
            ),
            _ if skip.picture => (
                "image",
                skip.description
                    .or(skip.name)
                    .unwrap_or_else(|| "Image".to_owned()),
            ),
            _ => ("drawing", skip.name.unwrap_or_else(|| "Drawing".to_owned())),
        };
        self.placeholder(kind, label);
    }
}

fn clip(label: &str) -> String {
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    if label.chars().count() <= LABEL_CHARS {
        label
    } else {
        let mut clipped: String = label.chars().take(LABEL_CHARS - 1).collect();
        clipped.push('…');
        clipped
    }
}
