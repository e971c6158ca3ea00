//! Atlassian Document Format <-> Azure DevOps HTML conversion that round-trips without drift.
//!
//! Descriptions and comments travel between Jira (ADF, JSON) and Azure DevOps (HTML). tandem compares
//! values between syncs, so a conversion that changed a value on its way back would be written again
//! and again. Both formats are therefore read into one model of what they have in common and written
//! from its canonical form (see [`normalize_adf`]): for every canonical document `d`,
//! `html_to_adf(&adf_to_html(&d)?)? == d`, and for every `h` written by [`adf_to_html`],
//! `adf_to_html(&html_to_adf(&h)?)? == h`. Compare values with [`normalize_adf`] / [`normalize_html`].
//!
//! The subset: paragraphs, headings 1-6, text marked strong, em, strike, underline, code or link, hard
//! breaks, bullet and ordered lists (with a start number), code blocks (with a language), blockquotes,
//! rules, tables (header cells, column and row spans), mentions, which use Azure DevOps' own markup
//! (`<a href="#" data-vss-mention="version:2.0,{id}">@Name</a>`), and images on a line of their own
//! (ADF `mediaSingle` ↔ `<img>`; an image amid text splits its line). An image's address must be an
//! absolute web address; a file Atlassian media stores (`media` of type `file`) is kept as such, for
//! the engine to re-host (see [`images`] and [`map_images`]).
//!
//! Outside the subset, conversion keeps the words and loses the form: emoji, status, date and smart
//! link nodes become text or links (see the `lossy` module), panels, expands, layouts, task and
//! decision lists give up their content, unknown nodes keep their text, colours and other unsupported
//! marks are dropped, media groups and inline media (file cards) are dropped. HTML is untrusted and
//! sanitised with ammonia before it is read.

mod adf;
mod any_format;
mod attribution;
mod error;
mod html_in;
mod html_out;
mod lossy;
mod mention;
mod model;
mod normalize;
mod plain_text;
mod recent;
mod sanitize;

use serde_json::Value;

pub use any_format::{
    append_image, canonical_form, convert, from_plain_text, images, map_images, map_mentions, mentions, plain_text,
    prepend_paragraph, remove_words, restore_mentions, stored_size,
};
pub use attribution::{
    prepend_paragraph_adf, prepend_paragraph_html, strip_leading_paragraph_adf, strip_leading_paragraph_html,
};
pub use error::RichTextError;
pub use mention::{adf_mentions, html_mentions, map_adf_mentions, map_html_mentions, Mention};

fn canonical_adf(document: &Value) -> Result<model::Document, RichTextError> {
    adf::parse_document(document).map(normalize::canonicalize)
}

fn canonical_html(html: &str) -> model::Document {
    recent::read_html(html)
}

/// An ADF document as Azure DevOps HTML.
pub fn adf_to_html(document: &Value) -> Result<String, RichTextError> {
    canonical_adf(document).map(|document| html_out::render(&document))
}

/// Azure DevOps HTML as a canonical ADF document that validates against the ADF schema. HTML that is not
/// well-formed is read as a browser reads it, so this does not fail on any input; it returns a `Result`
/// so that callers treat both directions alike.
pub fn html_to_adf(html: &str) -> Result<Value, RichTextError> {
    Ok(adf::to_value(&canonical_html(html)))
}

/// The canonical form of an ADF document: what `html_to_adf(adf_to_html(document))` gives, and a fixed
/// point of both conversions.
pub fn normalize_adf(document: &Value) -> Result<Value, RichTextError> {
    canonical_adf(document).map(|document| adf::to_value(&document))
}

/// The canonical form of Azure DevOps HTML, via the ADF model: what `adf_to_html(html_to_adf(html))`
/// gives.
pub fn normalize_html(html: &str) -> Result<String, RichTextError> {
    Ok(html_out::render(&canonical_html(html)))
}

/// The text of an ADF document (see the plain-text rules in `plain_text`); a document too malformed to
/// read gives the text of its text nodes.
pub fn adf_to_plain_text(document: &Value) -> String {
    match canonical_adf(document) {
        Ok(document) => plain_text::document(&document),
        Err(_) => plain_text::raw_adf_text(document),
    }
}

/// The text of Azure DevOps HTML, as [`adf_to_plain_text`] gives it for the converted document.
pub fn html_to_plain_text(html: &str) -> String {
    plain_text::document(&canonical_html(html))
}
