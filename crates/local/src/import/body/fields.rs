//! Word fields (`w:fldChar` begin / separate / end, `w:fldSimple`): a HYPERLINK is a link on its
//! result; any other field keeps its last result as text after a placeholder naming it.

use std::rc::Rc;

use super::BodyParser;

#[derive(Default)]
pub(super) struct Field {
    pub(super) code: String,
    pub(super) result: bool,
    pub(super) evaluated: bool,
    pub(super) link: Option<Rc<str>>,
}

impl BodyParser<'_> {
    /// Once a field's code is complete: a HYPERLINK becomes a link on its result; any other
    /// field keeps its result as text, after a placeholder naming the field.
    pub(super) fn evaluate_field(&mut self) {
        let Some((field, outer)) = self.fields.split_last_mut() else {
            return;
        };
        if field.evaluated {
            return;
        }
        field.evaluated = true;
        let code = field.code.split_whitespace().collect::<Vec<_>>().join(" ");
        let keyword = code.split(' ').next().unwrap_or_default();
        if keyword.eq_ignore_ascii_case("HYPERLINK") {
            if let Some(href) = hyperlink_target(&code) {
                field.link = Some(Rc::from(href));
                self.report.hyperlinks += 1;
            }
            return;
        }
        // A field inside another field's result (a page number in a table of contents) or
        // code is part of that field: one placeholder is enough.
        if code.is_empty() || !outer.is_empty() {
            return;
        }
        self.placeholder("field", format!("Field: {code}"));
    }
}

/// `HYPERLINK "https://…" \o "tip"` → the address; `HYPERLINK \l "clause-3"` → `#clause-3`.
fn hyperlink_target(code: &str) -> Option<String> {
    let rest = code.get("HYPERLINK".len()..)?.trim();
    let (anchor, rest) = match rest.strip_prefix("\\l") {
        Some(rest) => (true, rest.trim()),
        None => (false, rest),
    };
    let target = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()?
    } else {
        rest.split(' ').next()?
    };
    if target.is_empty() {
        return None;
    }
    Some(if anchor {
        format!("#{target}")
    } else {
        target.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperlink_field_codes() {
        assert_eq!(
            hyperlink_target("HYPERLINK \"https://example.com/a b\" \\o \"tip\"").as_deref(),
            Some("https://example.com/a b")
        );
        assert_eq!(
            hyperlink_target("HYPERLINK \\l \"clause-3\"").as_deref(),
            Some("#clause-3")
        );
        assert_eq!(hyperlink_target("HYPERLINK").as_deref(), None);
    }
}
