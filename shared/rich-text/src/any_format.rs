//! Rich text of any format, for callers that must not care which: the engine, the mapping, the CLI.
//!
//! Each function takes a [`RichText`] as its system stores it and dispatches on its format here, in
//! one place. Conversions read the source format into the document model and write the target format
//! from it, so a new format is a reader and a writer here and nothing anywhere else.

use crate::mention::Mention;
use crate::{adf, attribution, html_out, mention, model, RichTextError};
use serde_json::{json, Value};
use tandem_model::{Image, RichText, RichTextFormat};

/// `text` in `format`: as it is when already in it, otherwise converted through the document model
/// (which round-trips without drift, see the crate's documentation).
pub fn convert(text: &RichText, format: RichTextFormat) -> Result<RichText, RichTextError> {
    if text.format() == format {
        return Ok(text.clone());
    }
    Ok(write(format, &read(text)?))
}

fn read(text: &RichText) -> Result<model::Document, RichTextError> {
    match text {
        RichText::Adf(document) => crate::canonical_adf(document),
        RichText::Html(html) => Ok(crate::canonical_html(html)),
        RichText::Plain(text) => Ok(plain_document(text)),
    }
}

fn write(format: RichTextFormat, document: &model::Document) -> RichText {
    match format {
        RichTextFormat::Adf => RichText::Adf(adf::to_value(document)),
        RichTextFormat::Html => RichText::Html(html_out::render(document)),
        RichTextFormat::PlainText => RichText::Plain(crate::plain_text::document(document)),
    }
}

/// Plain text as a document: a paragraph per line (an empty line, an empty paragraph).
fn plain_document(text: &str) -> model::Document {
    let paragraph = |line: &str| match line {
        "" => model::Block::Paragraph(Vec::new()),
        line => model::Block::Paragraph(vec![model::Inline::plain(line)]),
    };
    model::Document { blocks: text.lines().map(paragraph).collect() }
}

/// The text of `text`, by the plain-text rules (a document too malformed to read gives the text of its
/// text nodes).
pub fn plain_text(text: &RichText) -> String {
    match text {
        RichText::Adf(document) => crate::adf_to_plain_text(document),
        RichText::Html(html) => crate::html_to_plain_text(html),
        RichText::Plain(text) => text.clone(),
    }
}

/// Plain text as rich text in `format`: one paragraph per line, so that [`plain_text`] gives the same
/// text back.
pub fn from_plain_text(format: RichTextFormat, text: &str) -> RichText {
    let lines = text.lines();
    match format {
        RichTextFormat::Adf => {
            let paragraphs: Vec<Value> = lines
                .map(|line| match line {
                    "" => json!({ "type": "paragraph", "content": [] }),
                    line => json!({ "type": "paragraph", "content": [{ "type": "text", "text": line }] }),
                })
                .collect();
            RichText::Adf(json!({ "type": "doc", "version": 1, "content": paragraphs }))
        }
        RichTextFormat::Html => RichText::Html(lines.map(|line| format!("<p>{}</p>", escape_html(line))).collect()),
        RichTextFormat::PlainText => RichText::Plain(text.to_string()),
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The canonical serialisation of `text`: two spellings of one document give the same string. Text that
/// cannot be read is given as it is (still deterministic).
pub fn canonical_form(text: &RichText) -> String {
    match text {
        RichText::Adf(document) => {
            crate::normalize_adf(document).map(|normal| normal.to_string()).unwrap_or_else(|_| document.to_string())
        }
        RichText::Html(html) => crate::normalize_html(html).unwrap_or_else(|_| html.clone()),
        // Line endings are the only spelling plain text has.
        RichText::Plain(text) => text.replace("\r\n", "\n").trim_end().to_string(),
    }
}

/// How many bytes `text` takes as its system stores it.
pub fn stored_size(text: &RichText) -> usize {
    match text {
        RichText::Html(html) | RichText::Plain(html) => html.len(),
        RichText::Adf(document) => serde_json::to_string(document).map_or(usize::MAX, |json| json.len()),
    }
}

/// The people `text` mentions, in document order.
pub fn mentions(text: &RichText) -> Vec<Mention> {
    match text {
        RichText::Adf(document) => mention::adf_mentions(document),
        RichText::Html(html) => mention::html_mentions(html),
        // Plain text has no markup to mention anyone with.
        RichText::Plain(_) => Vec::new(),
    }
}

/// `text` with each mention replaced by what `map` gives for it; a mention `map` has nothing for
/// becomes its text.
pub fn map_mentions(text: &RichText, map: &dyn Fn(&Mention) -> Option<Mention>) -> RichText {
    match text {
        RichText::Adf(document) => RichText::Adf(mention::map_adf_mentions(document, map)),
        RichText::Html(html) => RichText::Html(mention::map_html_mentions(html, map)),
        RichText::Plain(_) => text.clone(),
    }
}

/// Whether `text` may show an image: a look that parses nothing, since most texts show none.
fn may_show_images(text: &RichText) -> bool {
    match text {
        RichText::Html(html) => html.as_bytes().windows(4).any(|window| window.eq_ignore_ascii_case(b"<img")),
        RichText::Adf(document) => adf::has_node(document, "mediaSingle"),
        RichText::Plain(_) => false,
    }
}

/// The images `text` shows, in document order.
pub fn images(text: &RichText) -> Vec<Image> {
    if !may_show_images(text) {
        return Vec::new();
    }
    let Ok(mut document) = read(text) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    document.for_each_block_mut(&mut |block| {
        if let model::Block::Image(image) = block {
            found.push(image.clone());
        }
    });
    found
}

/// `text` with each image replaced by what `map` gives for it; an image `map` has nothing for
/// becomes a line naming it (`[image: screenshot.png]`), so a reader knows one was there rather than
/// seeing a broken one. A text without images comes back as it is.
pub fn map_images(text: &RichText, map: &dyn Fn(&Image) -> Option<Image>) -> RichText {
    if !may_show_images(text) {
        return text.clone();
    }
    let Ok(mut document) = read(text) else {
        return text.clone();
    };
    let mut any = false;
    document.for_each_block_mut(&mut |block| {
        if let model::Block::Image(image) = block {
            any = true;
            *block = match map(image) {
                Some(image) => model::Block::Image(image),
                None => model::Block::Paragraph(vec![model::Inline::plain(image_line(image))]),
            };
        }
    });
    match any {
        true => write(text.format(), &crate::normalize::canonicalize(document)),
        false => text.clone(),
    }
}

/// `text` with `image` on a line of its own at the end, as a person pastes one below the text.
pub fn append_image(text: &RichText, image: &Image) -> RichText {
    let Ok(mut document) = read(text) else {
        return text.clone();
    };
    document.blocks.push(model::Block::Image(image.clone()));
    write(text.format(), &crate::normalize::canonicalize(document))
}

fn image_line(image: &Image) -> String {
    match image.alt.trim() {
        "" => "[image]".to_string(),
        alt => format!("[image: {alt}]"),
    }
}

/// `text` with each literal occurrence of a mention's text turned back into the mention: a mention of
/// someone the other side does not know travels there as its text (`@Carol`), and when that text comes
/// back, the mention it stood for is restored rather than overwritten by the words. Mentions with an
/// empty text are left out; a text with none of them comes back as it is.
pub fn restore_mentions(text: &RichText, mentions: &[Mention]) -> RichText {
    let words = plain_text(text);
    let wanted: Vec<&Mention> =
        mentions.iter().filter(|mention| !mention.text.is_empty() && words.contains(&mention.text)).collect();
    if wanted.is_empty() || matches!(text, RichText::Plain(_)) {
        return text.clone();
    }
    let Ok(mut document) = read(text) else {
        return text.clone();
    };
    document.for_each_inline_mut(&mut |content| mention::restore_in(content, &wanted));
    write(text.format(), &document)
}

/// `text` without each occurrence of `words` (compared ignoring case) in its text, and the spaces
/// doubled where they stood collapsed: a marker people type to choose what is copied, taken out of the
/// copy. Formatting and everything else stay; text that cannot be read is left as it is.
pub fn remove_words(text: &RichText, words: &str) -> RichText {
    if words.is_empty() || !plain_text(text).to_lowercase().contains(&words.to_lowercase()) {
        return text.clone();
    }
    let Ok(mut document) = read(text) else {
        return text.clone();
    };
    document.for_each_inline_mut(&mut |content| {
        let mut changed = false;
        for inline in content.iter_mut() {
            if let model::Inline::Text { text, .. } = inline {
                let kept = without(text, words);
                changed |= kept != *text;
                *text = kept;
            }
        }
        if changed {
            trim_ends(content);
        }
    });
    write(text.format(), &document)
}

/// `text` without `words` (ignoring case), with the space after each one that followed a space (or
/// began the text) and the spaces before one that ended it.
fn without(text: &str, words: &str) -> String {
    let (lower, needle) = (text.to_lowercase(), words.to_lowercase());
    // Lower-casing may change byte lengths (rare letters): then the text is left alone.
    if lower.len() != text.len() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    while let Some(found) = lower[rest..].find(&needle) {
        out.push_str(&text[rest..rest + found]);
        rest += found + needle.len();
        if out.is_empty() || out.ends_with(' ') {
            rest += text[rest..].len() - text[rest..].trim_start_matches(' ').len();
        }
    }
    if rest == text.len() {
        return out.trim_end_matches(' ').to_string();
    }
    out.push_str(&text[rest..]);
    out
}

/// A paragraph's content without empty text and without spaces at its two ends.
fn trim_ends(content: &mut Vec<model::Inline>) {
    content.retain(|inline| !matches!(inline, model::Inline::Text { text, .. } if text.is_empty()));
    if let Some(model::Inline::Text { text, .. }) = content.first_mut() {
        *text = text.trim_start().to_string();
    }
    if let Some(model::Inline::Text { text, .. }) = content.last_mut() {
        *text = text.trim_end().to_string();
    }
    content.retain(|inline| !matches!(inline, model::Inline::Text { text, .. } if text.is_empty()));
}

/// `text` with `paragraph` as an italic first paragraph (an attribution line); the rest as it is.
pub fn prepend_paragraph(text: &RichText, paragraph: &str) -> RichText {
    match text {
        RichText::Adf(document) => RichText::Adf(attribution::prepend_paragraph_adf(document, paragraph)),
        RichText::Html(html) => RichText::Html(attribution::prepend_paragraph_html(html, paragraph)),
        RichText::Plain(text) => RichText::Plain(format!("{}\n{text}", paragraph.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::ImageSource;

    const FORMATS: [RichTextFormat; 3] = [RichTextFormat::Adf, RichTextFormat::Html, RichTextFormat::PlainText];

    #[test]
    fn a_marker_is_taken_out_of_every_format_and_nothing_else_is() {
        for format in FORMATS {
            let marked = from_plain_text(format, "#Customer A fix ships on Friday\nThanks #customer");
            let clean = remove_words(&marked, "#customer");
            assert_eq!(plain_text(&clean), "A fix ships on Friday\nThanks", "{format:?}");
            let unmarked = from_plain_text(format, "Nothing to remove");
            assert_eq!(remove_words(&unmarked, "#customer"), unmarked);
        }
        let bold = RichText::Html("<p><strong>#sync</strong> Deployed <em>today</em></p>".into());
        assert_eq!(remove_words(&bold, "#sync"), RichText::Html("<p>Deployed <em>today</em></p>".into()));
    }

    #[test]
    fn a_mention_shown_as_its_text_is_restored_where_the_text_comes_back() {
        let carol = Mention { id: "712020:carol".into(), text: "@Carol Jira-only".into() };
        let html = RichText::Html("<p>Ask <b>@Carol Jira-only</b> about totals and the export</p>".into());
        let adf = convert(&html, RichTextFormat::Adf).unwrap();
        let restored = restore_mentions(&adf, std::slice::from_ref(&carol));
        assert_eq!(mentions(&restored), std::slice::from_ref(&carol));
        assert_eq!(plain_text(&restored), plain_text(&adf), "the words are the same");
        let RichText::Adf(document) = &restored else { panic!("ADF stays ADF") };
        let content = &document["content"][0]["content"];
        assert_eq!(content[0]["text"], "Ask ");
        assert_eq!(content[1]["type"], "mention");
        assert_eq!(content[2]["text"], " about totals and the export");
        let untouched = RichText::Html("<p>Nobody named</p>".into());
        assert_eq!(restore_mentions(&untouched, &[carol]), untouched);
    }

    #[test]
    fn images_are_found_and_repointed_and_one_without_a_counterpart_is_named() {
        let html = RichText::Html(
            "<p>Before</p><img src=\"https://a.test/f/1\" alt=\"one.png\"><ul><li>x<img src=\"https://a.test/f/2\"></li></ul>"
                .into(),
        );
        for format in [RichTextFormat::Adf, RichTextFormat::Html] {
            let text = convert(&html, format).unwrap();
            let found = images(&text);
            assert_eq!(found.len(), 2, "{format:?}");
            assert_eq!(
                found[0],
                Image { source: ImageSource::Url("https://a.test/f/1".into()), alt: "one.png".into() }
            );
            let moved = map_images(&text, &|image| match &image.source {
                ImageSource::Url(url) if url.ends_with("/1") => {
                    Some(Image { source: ImageSource::Url("https://b.test/g/9".into()), alt: image.alt.clone() })
                }
                _ => None,
            });
            let sources: Vec<ImageSource> = images(&moved).into_iter().map(|image| image.source).collect();
            assert_eq!(sources, [ImageSource::Url("https://b.test/g/9".into())], "{format:?}");
            assert_eq!(plain_text(&moved), "Before\nx\n[image]", "{format:?}");
            let plain = RichText::Html("<p>no images</p>".into());
            assert_eq!(map_images(&plain, &|_| None), plain);
        }
    }

    #[test]
    fn plain_text_survives_a_trip_through_every_format() {
        let text = "First line\n\nThird <b>line</b> & more";
        for format in FORMATS {
            assert_eq!(plain_text(&from_plain_text(format, text)), text, "{format:?}");
        }
        assert_eq!(from_plain_text(RichTextFormat::Html, "a<b"), RichText::Html("<p>a&lt;b</p>".into()));
    }

    #[test]
    fn conversion_between_every_pair_of_formats_keeps_the_words_and_is_stable() {
        let original = RichText::Html("<p>Hello <strong>world</strong></p><ul><li>one</li></ul>".into());
        for from in FORMATS {
            let source = convert(&original, from).unwrap();
            assert_eq!(source.format(), from);
            for to in FORMATS {
                let target = convert(&source, to).unwrap();
                assert_eq!(target.format(), to);
                assert_eq!(plain_text(&target), plain_text(&original), "{from:?} -> {to:?}");
                // Plain text keeps the words and loses the form; between the rich formats nothing drifts.
                if to != RichTextFormat::PlainText {
                    let back = convert(&target, from).unwrap();
                    assert_eq!(canonical_form(&back), canonical_form(&source), "{from:?} -> {to:?} -> {from:?}");
                }
            }
        }
    }

    #[test]
    fn same_format_passes_through_unchanged() {
        let html = RichText::Html("<p>x</p><!-- kept -->".into());
        assert_eq!(convert(&html, RichTextFormat::Html).unwrap(), html);
    }

    #[test]
    fn plain_text_reads_as_paragraphs_and_back_without_drift() {
        let plain = RichText::Plain("Line one\n\nLine <three> & more".into());
        for format in FORMATS {
            let there = convert(&plain, format).unwrap();
            assert_eq!(convert(&there, RichTextFormat::PlainText).unwrap(), plain, "{format:?}");
        }
        let html = convert(&plain, RichTextFormat::Html).unwrap();
        assert_eq!(html, RichText::Html("<p>Line one</p><p></p><p>Line &lt;three&gt; &amp; more</p>".into()));
    }

    #[test]
    fn attribution_and_mentions_work_alike_in_every_format() {
        let mentioning =
            RichText::Html(r##"<p>Ask <a href="#" data-vss-mention="version:2.0,abc">@Ada</a></p>"##.into());
        for format in [RichTextFormat::Adf, RichTextFormat::Html] {
            let text = convert(&mentioning, format).unwrap();
            assert_eq!(mentions(&text).iter().map(|found| found.id.as_str()).collect::<Vec<_>>(), ["abc"]);
            let repointed = map_mentions(&text, &|_| Some(Mention { id: "xyz".into(), text: "@Ada L".into() }));
            assert_eq!(mentions(&repointed)[0].id, "xyz", "{format:?}");
            let attributed = prepend_paragraph(&text, "Ada commented:");
            assert!(plain_text(&attributed).starts_with("Ada commented:"), "{format:?}");
            assert!(stored_size(&attributed) > stored_size(&text));
        }
    }
}
