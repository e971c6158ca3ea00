//! @mentions in comment text, which the service lists as a comment's `mentions`.
//!
//! The HTML editor writes a mention as `<a href="#" data-vss-mention="version:2.0,{identity id}">@Name</a>`
//! and the Markdown one as `@<{identity id}>` (learn.microsoft.com, "Use @mentions in work items").

use uuid::Uuid;

const HTML_ATTRIBUTE: &str = "data-vss-mention=";

/// The identity ids `text` mentions, each once, in the order they first appear.
pub fn mentioned_ids(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for id in html_mentions(text).chain(markdown_mentions(text)) {
        if !found.iter().any(|known| known.eq_ignore_ascii_case(id)) {
            found.push(id.to_string());
        }
    }
    found
}

/// The id after the last comma of each `data-vss-mention="version:2.0,{id}"` attribute.
fn html_mentions(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices(HTML_ATTRIBUTE).filter_map(move |(at, _)| {
        let rest = &text[at + HTML_ATTRIBUTE.len()..];
        let quote = rest.chars().next().filter(|quote| *quote == '"' || *quote == '\'')?;
        let value = rest[1..].split(quote).next()?;
        let id = value.rsplit(',').next()?.trim();
        (!id.is_empty()).then_some(id)
    })
}

/// Each `@<{id}>` whose id is a GUID (an `@<` that is not a mention is left alone).
fn markdown_mentions(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("@<").filter_map(move |(at, _)| {
        let id = text[at + 2..].split('>').next()?.trim();
        Uuid::parse_str(id).is_ok().then_some(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_markdown_mentions_are_found_once_each() {
        let alice = "5d3f7a2e-0b1c-4c8e-9f00-112233445566";
        let bob = "8a9b0c1d-2e3f-4a5b-8c7d-665544332211";
        let text = format!(
            "<div><a href=\"#\" data-vss-mention=\"version:2.0,{alice}\">@Alice</a> and @<{bob}> and \
             <a href='#' data-vss-mention='version:2.0,{alice}'>@Alice</a> mail@<x></div>"
        );
        assert_eq!(mentioned_ids(&text), vec![alice.to_string(), bob.to_string()]);
        assert!(mentioned_ids("<p>no one</p>").is_empty());
    }
}
