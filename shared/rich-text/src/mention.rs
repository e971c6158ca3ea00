//! Mentions of people: `mention` nodes in ADF (`attrs.id` is the Atlassian account id) and Azure DevOps'
//! mention links (`<a href="#" data-vss-mention="version:2.0,{id}">@Name</a>`, the id being the
//! identity's id). Ids differ between the systems, so mentions are extracted for a user mapping to
//! translate and mapped before a value crosses sides.

use serde_json::Value;

use crate::model::{Document, Inline};
use crate::normalize::{canonicalize, is_html_space};
use crate::{adf, html_out, recent};

/// A mentioned person: the id the system knows them by, and the text shown, like `@Jane Doe`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mention {
    pub id: String,
    pub text: String,
}

/// What a mapping does with a mention it cannot translate: it shows its text and no longer notifies.
fn unmapped(mention: &Mention) -> Inline {
    Inline::plain(mention.text.clone())
}

fn mapped(mention: &Mention, map: &dyn Fn(&Mention) -> Option<Mention>) -> Inline {
    match map(mention).map(Mention::canonical) {
        Some(Ok(mention)) => Inline::Mention(mention),
        _ => unmapped(mention),
    }
}

/// The id in an Azure DevOps `data-vss-mention` attribute, `version:2.0,{id}`. Older mentions without an
/// id are plain links.
pub(crate) fn id_from_ado_attribute(value: &str) -> Option<String> {
    let (version, id) = value.split_once(',')?;
    if !version.trim_matches(is_html_space).starts_with("version:") {
        return None;
    }
    let id = id.trim_matches(is_html_space);
    (!id.is_empty()).then(|| id.to_owned())
}

fn adf_mention(node: &Value) -> Option<Mention> {
    if node.get("type").and_then(Value::as_str) != Some("mention") {
        return None;
    }
    let attrs = node.get("attrs")?;
    Mention {
        id: attrs.get("id")?.as_str()?.to_owned(),
        text: attrs.get("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
    }
    .canonical()
    .ok()
}

/// The mentions in an ADF document, in document order, as the canonical form has them.
pub fn adf_mentions(document: &Value) -> Vec<Mention> {
    let mut found = Vec::new();
    // An explicit stack: the document may come from anywhere and nest arbitrarily deep.
    let mut stack = vec![document];
    while let Some(node) = stack.pop() {
        if let Some(mention) = adf_mention(node) {
            found.push(mention);
        } else if let Some(Value::Array(children)) = node.get("content") {
            stack.extend(children.iter().rev());
        }
    }
    found
}

/// The document with each mention replaced by what `map` makes of it; `None` turns the mention into
/// its text. Everything else in the document is left as it is.
pub fn map_adf_mentions(document: &Value, map: &dyn Fn(&Mention) -> Option<Mention>) -> Value {
    let mut out = document.clone();
    let mut stack = vec![&mut out];
    while let Some(node) = stack.pop() {
        if let Some(mention) = adf_mention(node) {
            *node = adf::inline_to_value(&mapped(&mention, map));
        } else if let Some(Value::Array(children)) = node.get_mut("content") {
            stack.extend(children.iter_mut());
        }
    }
    out
}

fn document_mentions(mut document: Document) -> Vec<Mention> {
    let mut found = Vec::new();
    document.for_each_inline_mut(&mut |content| {
        found.extend(content.iter().filter_map(|inline| match inline {
            Inline::Mention(mention) => Some(mention.clone()),
            _ => None,
        }));
    });
    found
}

/// The mentions in Azure DevOps HTML, in document order.
pub fn html_mentions(html: &str) -> Vec<Mention> {
    document_mentions(recent::read_html(html))
}

/// The HTML, in its canonical form, with each mention replaced by what `map` makes of it; `None` turns
/// the mention into its text.
pub fn map_html_mentions(html: &str, map: &dyn Fn(&Mention) -> Option<Mention>) -> String {
    let mut document = recent::read_html(html);
    document.for_each_inline_mut(&mut |content| {
        for inline in content.iter_mut() {
            if let Inline::Mention(mention) = inline {
                *inline = mapped(mention, map);
            }
        }
    });
    // Mentions turned into text may now sit next to text they should merge with.
    let document = canonicalize(document);
    let html = html_out::render(&document);
    // It is converted next, as a rule.
    recent::remember(&html, &document);
    html
}

/// Each literal occurrence of a mention's text (`@Carol Jira-only`) in `content`'s text turned back
/// into that mention: what a mention with no counterpart on the other side was shown as, restored
/// when the text comes back.
pub(crate) fn restore_in(content: &mut Vec<Inline>, mentions: &[&Mention]) {
    let mut restored = Vec::with_capacity(content.len());
    for inline in content.drain(..) {
        let Inline::Text { mut text, marks } = inline else {
            restored.push(inline);
            continue;
        };
        // Split at the earliest occurrence of any mention's text, again and again.
        while let Some((at, mention)) = earliest(&text, mentions) {
            let rest = text.split_off(at + mention.text.len());
            text.truncate(at);
            if !text.is_empty() {
                restored.push(Inline::Text { text: std::mem::take(&mut text), marks: marks.clone() });
            }
            restored.push(Inline::Mention(mention.clone()));
            text = rest;
        }
        if !text.is_empty() {
            restored.push(Inline::Text { text, marks });
        }
    }
    *content = restored;
}

fn earliest<'a>(text: &str, mentions: &[&'a Mention]) -> Option<(usize, &'a Mention)> {
    mentions.iter().filter_map(|mention| text.find(&mention.text).map(|at| (at, *mention))).min_by_key(|(at, _)| *at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ado_attribute_carries_the_id_after_the_version() {
        assert_eq!(
            id_from_ado_attribute("version:2.0,6b7a1c2d-0000-4000-8000-000000000001"),
            Some("6b7a1c2d-0000-4000-8000-000000000001".into())
        );
        assert_eq!(id_from_ado_attribute("version:1.0"), None);
        assert_eq!(id_from_ado_attribute("version:2.0, "), None);
        assert_eq!(id_from_ado_attribute("other,1"), None);
    }
}
