//! The copilot's prompts: plain Markdown templates in `sync-server/prompts/`, compiled in.
//!
//! Templates know three tags (a small Mustache subset): `{{name}}` inserts a value,
//! `{{#name}}…{{/name}}` keeps its inside only when the value is not empty, `{{^name}}…{{/name}}`
//! only when it is. Inserted values are never scanned for tags, so a draft that contains `{{…}}`
//! stays as it is. A newline right after a section tag is dropped, so tags can sit on lines of
//! their own.

use serde::{Deserialize, Serialize};

const SYSTEM: &str = include_str!("../../prompts/system.md");
const SUMMARIZE: &str = include_str!("../../prompts/summarize.md");
const REDRAFT: &str = include_str!("../../prompts/redraft.md");
const DRAFT_CLAUSE: &str = include_str!("../../prompts/draft_clause.md");
const REVIEW_RISKS: &str = include_str!("../../prompts/review_risks.md");

/// What the lawyer asks the copilot to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Summarize the draft (`text`: the draft).
    Summarize,
    /// Rewrite the selection (`text`), optionally following `instruction`.
    Redraft,
    /// Write a new clause from `instruction` (`text`: the draft, as context; may be empty).
    DraftClause,
    /// List the risks in `text`, as a Markdown list.
    ReviewRisks,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Summarize,
        Action::Redraft,
        Action::DraftClause,
        Action::ReviewRisks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Summarize => "summarize",
            Action::Redraft => "redraft",
            Action::DraftClause => "draft_clause",
            Action::ReviewRisks => "review_risks",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Action::Summarize => SUMMARIZE,
            Action::Redraft => REDRAFT,
            Action::DraftClause => DRAFT_CLAUSE,
            Action::ReviewRisks => REVIEW_RISKS,
        }
    }

    /// Whether the action needs text to work on (all but drafting a clause).
    pub fn needs_text(self) -> bool {
        !matches!(self, Action::DraftClause)
    }

    /// Whether the action needs an instruction (only drafting a clause).
    pub fn needs_instruction(self) -> bool {
        matches!(self, Action::DraftClause)
    }
}

/// The two messages sent to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
}

impl Prompt {
    pub fn chars(&self) -> usize {
        self.system.chars().count() + self.user.chars().count()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("unclosed tag")]
    UnclosedTag,
    #[error("section {0} is not closed")]
    UnclosedSection(String),
    #[error("unknown placeholder {0}")]
    UnknownPlaceholder(String),
}

pub fn build(action: Action, text: &str, instruction: &str) -> Result<Prompt, TemplateError> {
    let values = [("text", text), ("instruction", instruction)];
    Ok(Prompt {
        system: SYSTEM.trim_end().to_owned(),
        user: render(action.template(), &values)?.trim_end().to_owned(),
    })
}

fn render(template: &str, values: &[(&str, &str)]) -> Result<String, TemplateError> {
    let lookup = |name: &str| {
        values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| TemplateError::UnknownPlaceholder(name.to_owned()))
    };
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after_open = &rest[open + 2..];
        let close = after_open.find("}}").ok_or(TemplateError::UnclosedTag)?;
        let tag = after_open[..close].trim();
        let after_tag = &after_open[close + 2..];
        match tag.as_bytes().first() {
            Some(b'#') | Some(b'^') => {
                let name = tag[1..].trim();
                let end_tag = format!("{{{{/{name}}}}}");
                let end = after_tag
                    .find(&end_tag)
                    .ok_or_else(|| TemplateError::UnclosedSection(name.to_owned()))?;
                let inside = skip_newline(&after_tag[..end]);
                let present = !lookup(name)?.trim().is_empty();
                if present == tag.starts_with('#') {
                    out.push_str(&render(inside, values)?);
                }
                rest = skip_newline(&after_tag[end + end_tag.len()..]);
            }
            _ => {
                out.push_str(lookup(tag)?);
                rest = after_tag;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn skip_newline(text: &str) -> &str {
    text.strip_prefix('\n').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_with_and_without_an_instruction() {
        for action in Action::ALL {
            for instruction in ["", "more formal"] {
                let prompt = build(action, "The Supplier shall deliver.", instruction).unwrap();
                assert!(
                    prompt.user.contains("The Supplier shall deliver."),
                    "{action:?}"
                );
                assert!(!prompt.user.contains("{{"), "{action:?}: {}", prompt.user);
                assert_eq!(
                    prompt.user.contains("more formal"),
                    !instruction.is_empty(),
                    "{action:?}"
                );
                assert!(prompt.system.contains("<<<TEXT"));
            }
        }
    }

    #[test]
    fn inserted_text_is_never_expanded() {
        let prompt = build(Action::Redraft, "Pay {{instruction}} now {{#text}}", "x").unwrap();
        assert!(prompt.user.contains("Pay {{instruction}} now {{#text}}"));
    }

    #[test]
    fn sections_follow_their_value() {
        let values = [("a", "1"), ("b", "")];
        assert_eq!(
            render(
                "x\n{{#a}}\nA={{a}}\n{{/a}}\n{{^b}}\nno b\n{{/b}}\ny",
                &values
            )
            .unwrap(),
            "x\nA=1\nno b\ny"
        );
        assert_eq!(
            render("{{#b}}B{{/b}}{{^a}}not a{{/a}}.", &values).unwrap(),
            "."
        );
        assert_eq!(
            render("{{c}}", &values),
            Err(TemplateError::UnknownPlaceholder("c".into()))
        );
        assert_eq!(
            render("{{#a}}x", &values),
            Err(TemplateError::UnclosedSection("a".into()))
        );
        assert_eq!(render("{{a", &values), Err(TemplateError::UnclosedTag));
    }

    #[test]
    fn draft_clause_without_context_has_no_empty_text_block() {
        let prompt = build(Action::DraftClause, "", "a mutual indemnity").unwrap();
        assert!(!prompt.user.contains("<<<TEXT"), "{}", prompt.user);
        assert!(prompt.user.contains("a mutual indemnity"));
    }
}
