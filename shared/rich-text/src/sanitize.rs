//! The sanitiser's rules for HTML from the Azure DevOps side, which is written by that system's users
//! and so untrusted. The HTML reader applies them as it walks the parsed document (one parse, no
//! cleaned copy): only what maps to ADF is built, scripts and styles go with their content, and links
//! and images with dangerous addresses lose them. The tests check the rules against ammonia's.

/// Link schemes people put in work items; anything else (`javascript:`, `data:`, ...) loses its link.
const URL_SCHEMES: &[&str] = &[
    "ftp", "ftps", "http", "https", "irc", "ircs", "mailto", "news", "nntp", "sip", "sms", "ssh", "tel", "webcal",
    "xmpp",
];

/// Elements whose content is dropped with them: it is code or styling, never text.
const CONTENT_DROPPED: &[&str] = &["script", "style"];

pub(crate) fn drops_content(tag: &str) -> bool {
    CONTENT_DROPPED.contains(&tag)
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
    use crate::html_in;
    use std::collections::{HashMap, HashSet};

    /// The sanitiser the reader replaced: ammonia, allowing what the model has. Reading its output must
    /// give what reading the raw HTML gives.
    fn ammonia_clean(html: &str) -> String {
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
            .clean_content_tags(CONTENT_DROPPED.iter().copied().collect())
            .link_rel(None)
            .strip_comments(true);
        builder.clean(html).to_string()
    }

    const HOSTILE: &[&str] = &[
        "<div onclick=\"x()\" style=\"color:red\">a<script>alert(1)</script><style>p{}</style>\
         <a href=\"javascript:alert(1)\">b</a><a href=\"#\" data-vss-mention=\"version:2.0,1\">@C</a>\
         <img src=x onerror=alert(1)><pre class=\"language-rust\">d</pre></div>",
        "<p>x<!-- hidden --><iframe src=\"https://evil.example\">inner</iframe><object data=y>o</object></p>",
        "<table><tr><td colspan=2 onmouseover=z>c<form>f</form></td></tr><font color=red>loose</font></table>",
        "<ul><li>one<script>bad()</script></li><svg><a href=\"javascript:x\">s</a></svg><li>two</li></ul>",
        "<a href=\"data:text/html,x\">d</a><a href=\"mailto:a@b.c\">m</a><a href=\"/rel\">r</a>\
         <img src=\"https://example.com/i.png\" alt=\"i\"><img src=\"data:image/png;base64,AAAA\">",
        "<noscript><b>n</b></noscript><textarea>t<b>u</b></textarea><title>ti</title><template><b>tp</b></template>",
        "<h2 style=\"x\">h</h2><blockquote cite=\"https://x\">q<math><mi>m</mi></math></blockquote><ol start=3>\
         <li>o</li></ol><code class=\"language-js\">c</code><span data-x=1>sp</span>",
    ];

    #[test]
    fn reading_raw_html_gives_what_reading_ammonias_output_gives() {
        let read = |html: &str| crate::normalize::canonicalize(html_in::parse(html));
        for html in HOSTILE {
            assert_eq!(read(html), read(&ammonia_clean(html)), "{html}");
        }
    }

    /// Pieces of tag soup: the model's elements and others, foreign ones, dangerous attributes and
    /// addresses, comments, unclosed and stray tags. What must never be read is marked `evil`. (No
    /// `<textarea>` or `<iframe>`: what follows one is its text, as in a browser and in ammonia.)
    const PIECES: &[&str] = &[
        "<p>",
        "</p>",
        "<div class=x>",
        "</div>",
        "<b>",
        "</b>",
        "<i>",
        "<u>",
        "<code class=\"language-go\">",
        "</code>",
        "<pre>",
        "</pre>",
        "<ul>",
        "<ol start=2>",
        "</ul>",
        "<li>",
        "</li>",
        "<table>",
        "<tr>",
        "<td rowspan=2>",
        "</td>",
        "</table>",
        "<h3>",
        "</h3>",
        "<blockquote>",
        "<br>",
        "<hr>",
        "<span>",
        "<a href=\"https://e.example/x\">",
        "<a href=\"javascript:evil()\">",
        "<a href=rel>",
        "</a>",
        "<a href=\"#\" data-vss-mention=\"version:2.0,abc\">",
        "<img src=\"https://e.example/i.png\" alt=i>",
        "<img src=\"data:image/png;base64,evil\">",
        "<img src=x onerror=evil()>",
        "<p onclick=evil()>",
        "<img data-media-id=m1 data-media-collection=c>",
        "<script>evil()</script>",
        "<style>evil{}</style>",
        "<svg><text>evil</text></svg>",
        "<math><mi>evil</mi></math>",
        "<font color=red>",
        "<form>",
        "<!-- evil -->",
        "text ",
        "&amp;",
        "&lt;x&gt;",
        " ",
        "\n",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]
        /// Reading once can shape a broken document differently from reading ammonia's re-serialised
        /// copy (a browser reads it once too), but never lets through what the sanitiser removes.
        #[test]
        fn nothing_the_sanitiser_removes_is_read_from_any_tag_soup(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40)
        ) {
            let html = pieces.concat();
            let read = format!("{:?}", crate::normalize::canonicalize(html_in::parse(&html)));
            proptest::prop_assert!(!read.contains("evil"), "{} read as {}", html, read);
        }
    }

    #[test]
    fn scripts_styles_handlers_and_dangerous_links_go_and_the_subset_stays() {
        let read = format!("{:?}", html_in::parse(HOSTILE[0]));
        for gone in ["alert", "p{}", "onclick", "color:red", "javascript", "onerror"] {
            assert!(!read.contains(gone), "{gone} in {read}");
        }
        for kept in ["\"a\"", "\"b\"", "@C", "rust", "\"d\""] {
            assert!(read.contains(kept), "{kept} not in {read}");
        }
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
            let kept = ammonia_clean(&format!("<a href=\"{href}\">x</a>")).contains("href");
            assert_eq!(is_allowed_href(href), kept, "{href}");
        }
    }
}
