//! "Is this the same value?" for values read back from a system. Systems re-serialise what they store
//! (ADF attribute order, HTML whitespace, tag order, 2 vs 2.0), and treating such differences as changes
//! would make the engine write forever.

use sha2::{Digest, Sha256};
use tandem_model::{FieldValue, RichText};

pub(crate) fn same_value(left: &FieldValue, right: &FieldValue) -> bool {
    match (left, right) {
        (FieldValue::RichText(left), FieldValue::RichText(right)) => {
            canonical_rich_text(left) == canonical_rich_text(right)
        }
        (FieldValue::User(left), FieldValue::User(right)) => {
            left.id == right.id
                || matches!((&left.email, &right.email), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
        }
        (FieldValue::List(left), FieldValue::List(right)) => sorted(left) == sorted(right),
        (FieldValue::Number(left), FieldValue::Number(right)) => (left - right).abs() < f64::EPSILON,
        (FieldValue::Text(left), FieldValue::Text(right)) => left.trim() == right.trim(),
        // Text written to a rich-text field reads back as rich text: the same words are the same value.
        (FieldValue::Text(text), FieldValue::RichText(rich)) | (FieldValue::RichText(rich), FieldValue::Text(text)) => {
            words(text) == words(&plain_text(rich))
        }
        (left, right) if left.is_empty() && right.is_empty() => true,
        (FieldValue::RichText(rich), other) | (other, FieldValue::RichText(rich)) if other.is_empty() => {
            rich_text_is_blank(rich)
        }
        (left, right) => left == right,
    }
}

fn sorted(values: &[String]) -> Vec<&str> {
    let mut values: Vec<&str> = values.iter().map(|value| value.trim()).filter(|v| !v.is_empty()).collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// No words and nothing else to see: an image alone is not blank.
fn rich_text_is_blank(text: &RichText) -> bool {
    plain_text(text).trim().is_empty() && tandem_rich_text::images(text).is_empty()
}

fn plain_text(text: &RichText) -> String {
    tandem_rich_text::plain_text(text)
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// The canonical serialisation of rich text: normalised, so two spellings of one document compare equal.
/// Text that cannot be normalised is compared as it is (still deterministic).
pub(crate) fn canonical_rich_text(text: &RichText) -> String {
    tandem_rich_text::canonical_form(text)
}

/// A short, stable fingerprint of a comment body, stored per comment link to notice edits.
pub(crate) fn fingerprint(text: &RichText) -> String {
    let digest = Sha256::digest(canonical_rich_text(text).as_bytes());
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::UserRef;

    #[test]
    fn numbers_lists_and_empties_compare_by_meaning() {
        assert!(same_value(&FieldValue::Number(2.0), &FieldValue::Number(2.0)));
        assert!(!same_value(&FieldValue::Number(2.0), &FieldValue::Number(3.0)));
        assert!(same_value(
            &FieldValue::List(vec!["b".into(), "a".into()]),
            &FieldValue::List(vec!["a".into(), " b".into()])
        ));
        assert!(same_value(&FieldValue::Empty, &FieldValue::Text(String::new())));
        assert!(same_value(&FieldValue::Empty, &FieldValue::List(vec![])));
        assert!(!same_value(&FieldValue::Empty, &FieldValue::Text("x".into())));
        assert!(same_value(&FieldValue::Empty, &FieldValue::RichText(RichText::Html("<p> </p>".into()))));
        let image_alone = RichText::Html("<img src=\"https://a.test/f/1\" alt=\"shot.png\">".into());
        assert!(!same_value(&FieldValue::Empty, &FieldValue::RichText(image_alone)), "an image alone is a value");
    }

    #[test]
    fn users_match_by_id_or_email() {
        let by_id = UserRef { id: "u1".into(), email: None, display_name: None };
        let by_mail = UserRef { id: "other".into(), email: Some("A@x.com".into()), display_name: None };
        let same_mail = UserRef { id: "u2".into(), email: Some("a@x.com".into()), display_name: None };
        assert!(same_value(&FieldValue::User(by_id.clone()), &FieldValue::User(by_id.clone())));
        assert!(same_value(&FieldValue::User(by_mail.clone()), &FieldValue::User(same_mail)));
        assert!(!same_value(&FieldValue::User(by_id), &FieldValue::User(by_mail)));
    }

    #[test]
    fn text_is_the_same_as_rich_text_with_the_same_words() {
        let text = FieldValue::Text("a <b> & c\nnext".into());
        let html = FieldValue::RichText(RichText::Html("a &lt;b&gt; &amp; c<br>next".into()));
        assert!(same_value(&text, &html) && same_value(&html, &text));
        assert!(!same_value(&text, &FieldValue::RichText(RichText::Html("<p>a <b>c</b></p>".into()))));
    }

    #[test]
    fn html_spellings_of_one_document_are_the_same() {
        let a = FieldValue::RichText(RichText::Html("<p>Hello <strong>world</strong></p>".into()));
        let b = FieldValue::RichText(RichText::Html("<p>Hello <b>world</b></p>".into()));
        let c = FieldValue::RichText(RichText::Html("<p>Hello world</p>".into()));
        assert!(same_value(&a, &b));
        assert!(!same_value(&a, &c));
        assert_eq!(fingerprint(&RichText::Html("<p>x</p>".into())), fingerprint(&RichText::Html("<p>x</p>".into())));
    }
}
