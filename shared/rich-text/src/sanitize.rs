//! The sanitiser for HTML from the Azure DevOps side, which is written by that system's users and so
//! untrusted. Only what maps to ADF survives; scripts, styles and their content, event handlers, classes
//! other than a code block's language and links with dangerous schemes are removed.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Elements that carry meaning in the ADF subset, plus the transparent `div` and `span`.
const TAGS: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strike",
    "strong",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "data-vss-mention"]),
    ("code", &["class"]),
    ("img", &["src", "alt", "data-media-id", "data-media-collection"]),
    ("ol", &["start"]),
    ("pre", &["class"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan"]),
];

/// Link schemes people put in work items; anything else (`javascript:`, `data:`, ...) loses its link.
const URL_SCHEMES: &[&str] = &[
    "ftp", "ftps", "http", "https", "irc", "ircs", "mailto", "news", "nntp", "sip", "sms", "ssh", "tel", "webcal",
    "xmpp",
];

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(TAGS.iter().copied().collect())
        .tag_attributes(
            TAG_ATTRIBUTES
                .iter()
                .map(|(tag, attributes)| (*tag, attributes.iter().copied().collect()))
                .collect::<HashMap<_, HashSet<_>>>(),
        )
        .generic_attributes(HashSet::new())
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .link_rel(None)
        .strip_comments(true);
    builder
});

pub(crate) fn clean(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

/// Whether the sanitiser keeps this link target, decided the way ammonia decides it. Link marks from ADF
/// that it would strip are dropped up front, so that a document reads back the same after a trip through
/// HTML.
pub(crate) fn is_allowed_href(href: &str) -> bool {
    match url::Url::parse(href) {
        Ok(url) => URL_SCHEMES.contains(&url.scheme()),
        Err(url::ParseError::RelativeUrlWithoutBase) => true,
        Err(_) => false,
    }
}

/// Whether an image address can be shown on the other side as it is: an absolute web address. A
/// relative one would point into whichever system shows it, and `data:` or script addresses are never
/// followed.
pub(crate) fn is_shown_image_source(src: &str) -> bool {
    url::Url::parse(src).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_styles_and_handlers_go_and_the_subset_stays() {
        let cleaned = clean(
            "<div onclick=\"x()\" style=\"color:red\">a<script>alert(1)</script><style>p{}</style>\
             <a href=\"javascript:alert(1)\">b</a><a href=\"#\" data-vss-mention=\"version:2.0,1\">@C</a>\
             <img src=x onerror=alert(1)><pre class=\"language-rust\">d</pre></div>",
        );
        assert_eq!(
            cleaned,
            "<div>a<a>b</a><a href=\"#\" data-vss-mention=\"version:2.0,1\">@C</a><img src=\"x\">\
             <pre class=\"language-rust\">d</pre></div>"
        );
    }

    #[test]
    fn href_check_matches_the_sanitiser() {
        for href in [
            "https://example.com/a?b=c",
            "/relative",
            "#",
            "",
            "mailto:a@b.c",
            "javascript:alert(1)",
            "data:text/html,x",
            "http://[::1",
        ] {
            let kept = clean(&format!("<a href=\"{href}\">x</a>")).contains("href");
            assert_eq!(is_allowed_href(href), kept, "{href}");
        }
    }
}
