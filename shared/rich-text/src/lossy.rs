//! Readable stand-ins for ADF nodes that Azure DevOps HTML cannot express. These conversions are lossy
//! on purpose and one-way: the text survives the trip to Azure DevOps, the node does not come back.
//!
//! | ADF node | becomes |
//! | --- | --- |
//! | `emoji` | its character (`attrs.text`), else its short name (`:smile:`) |
//! | `status` | its label in brackets: `[IN PROGRESS]` |
//! | `date` | the day it names, `YYYY-MM-DD` (UTC) |
//! | `inlineCard` | its URL as a link |
//! | `blockCard`, `embedCard` | a paragraph holding its URL as a link |

use serde_json::Value;

use crate::model::{Inline, Mark};

fn attr_str<'a>(node: &'a Value, name: &str) -> Option<&'a str> {
    node.get("attrs").and_then(|attrs| attrs.get(name)).and_then(Value::as_str).filter(|value| !value.is_empty())
}

pub(crate) fn emoji(node: &Value) -> Option<Inline> {
    attr_str(node, "text").or_else(|| attr_str(node, "shortName")).map(Inline::plain)
}

pub(crate) fn status(node: &Value) -> Option<Inline> {
    attr_str(node, "text").map(|label| Inline::plain(format!("[{label}]")))
}

/// ADF dates are milliseconds since the epoch, as a string.
pub(crate) fn date(node: &Value) -> Option<Inline> {
    let timestamp = attr_str(node, "timestamp")?;
    let day = timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|moment| moment.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| timestamp.to_owned());
    Some(Inline::plain(day))
}

/// Smart links carry their URL either directly or inside JSON-LD `data`.
pub(crate) fn card_link(node: &Value) -> Option<Inline> {
    let url = attr_str(node, "url").or_else(|| {
        node.get("attrs")
            .and_then(|attrs| attrs.get("data"))
            .and_then(|data| data.get("url"))
            .and_then(Value::as_str)
            .filter(|url| !url.is_empty())
    })?;
    Some(Inline::Text { text: url.to_owned(), marks: vec![Mark::Link { href: url.to_owned() }] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inline_nodes_become_readable_text() {
        let text = |inline: Option<Inline>| match inline {
            Some(Inline::Text { text, .. }) => text,
            other => panic!("expected text, got {other:?}"),
        };
        assert_eq!(text(emoji(&json!({"attrs": {"shortName": ":smile:", "text": "😄"}}))), "😄");
        assert_eq!(text(emoji(&json!({"attrs": {"shortName": ":party:"}}))), ":party:");
        assert_eq!(text(status(&json!({"attrs": {"text": "IN PROGRESS", "color": "blue"}}))), "[IN PROGRESS]");
        assert_eq!(text(date(&json!({"attrs": {"timestamp": "1700000000000"}}))), "2023-11-14");
        assert_eq!(text(date(&json!({"attrs": {"timestamp": "soon"}}))), "soon");
        assert_eq!(
            card_link(&json!({"attrs": {"data": {"url": "https://x.test/"}}})),
            Some(Inline::Text {
                text: "https://x.test/".into(),
                marks: vec![Mark::Link { href: "https://x.test/".into() }]
            })
        );
        assert_eq!(status(&json!({"attrs": {}})), None);
    }
}
