//! The copy marker: which item a work item was copied from, stamped as a hyperlink relation whose
//! comment is [`CopyOrigin::marker`], so that a copy whose link was never stored can be found again.

use serde_json::{json, Value};
use tandem_engine::ports::CopyOrigin;
use url::Url;

use crate::wire::{PatchOperation, WorkItem};

/// The relation type Azure DevOps shows as a hyperlink.
pub const HYPERLINK: &str = "Hyperlink";

/// Azure DevOps refuses a hyperlink whose URL is not an absolute URL. When the source item's browser URL
/// is unknown (or unusable), the hyperlink points into `.invalid`, a top-level domain reserved never to
/// resolve (RFC 2606), so the link names the origin without leading anywhere.
pub fn origin_url(origin: &CopyOrigin) -> String {
    if let Some(url) = origin.url.as_deref().and_then(|text| Url::parse(text.trim()).ok()) {
        if matches!(url.scheme(), "http" | "https") && url.has_host() {
            return url.to_string();
        }
    }
    let mut url = Url::parse("https://tandem.invalid/origin").expect("the fallback base URL is valid");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.extend([origin.integration.as_str(), &origin.side.to_string(), origin.item.as_str()]);
    }
    url.to_string()
}

/// The JSON Patch operation that stamps the origin on a work item being created.
pub fn origin_relation(origin: &CopyOrigin) -> PatchOperation {
    PatchOperation::add_relation(json!({
        "rel": HYPERLINK,
        "url": origin_url(origin),
        "attributes": {"comment": origin.marker()},
    }))
}

/// Whether the work item carries the origin's marker (read with its relations expanded).
pub fn carries_marker(work_item: &WorkItem, origin: &CopyOrigin) -> bool {
    let marker = origin.marker();
    work_item.relations.iter().any(|relation| {
        relation.rel.eq_ignore_ascii_case(HYPERLINK)
            && relation.attributes.get("comment").and_then(Value::as_str) == Some(marker.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::{ItemId, Side};

    fn origin(url: Option<&str>) -> CopyOrigin {
        CopyOrigin {
            integration: "ops sync".into(),
            side: Side::One,
            item: ItemId::new("OPS-7"),
            url: url.map(str::to_string),
        }
    }

    #[test]
    fn the_hyperlink_is_the_source_url_when_it_is_a_web_url() {
        assert_eq!(
            origin_url(&origin(Some("https://acme.atlassian.net/browse/OPS-7"))),
            "https://acme.atlassian.net/browse/OPS-7"
        );
    }

    #[test]
    fn without_a_usable_source_url_the_hyperlink_names_the_origin_under_a_reserved_domain() {
        let expected = "https://tandem.invalid/origin/ops%20sync/1/OPS-7";
        assert_eq!(origin_url(&origin(None)), expected);
        assert_eq!(origin_url(&origin(Some("not a url"))), expected);
        assert_eq!(origin_url(&origin(Some("mailto:ops@example.com"))), expected);
    }

    #[test]
    fn only_a_hyperlink_with_the_exact_marker_counts() {
        let origin = origin(None);
        let operation = serde_json::to_value(origin_relation(&origin)).unwrap();
        assert_eq!(operation["op"], "add");
        assert_eq!(operation["path"], "/relations/-");
        let with = |relation: Value| -> WorkItem {
            serde_json::from_value(json!({"id": 1, "fields": {}, "relations": [relation]})).unwrap()
        };
        assert!(carries_marker(&with(operation["value"].clone()), &origin));
        let other = json!({"rel": "Hyperlink", "url": "https://x.example", "attributes": {"comment": "tandem:ops sync:1:OPS-8"}});
        assert!(!carries_marker(&with(other), &origin));
        let parent = json!({"rel": "System.LinkTypes.Hierarchy-Reverse", "url": "https://x.example", "attributes": {"comment": origin.marker()}});
        assert!(!carries_marker(&with(parent), &origin));
    }
}
