//! The last few HTML texts read, in canonical form. One sync reads the same text more than once — its
//! mentions are looked for, re-pointed (which writes it again), then it is converted — and parsing is
//! most of what a conversion costs: a text read again is answered from here. Per thread, so nothing
//! is shared or locked; a handful of entries, so memory stays bounded whatever the texts' sizes.

use std::cell::RefCell;
use std::collections::VecDeque;

use crate::html_in;
use crate::model::Document;
use crate::normalize::canonicalize;

/// Texts kept per thread: a sync's reads of one field come one after another.
const KEPT: usize = 4;

thread_local! {
    static RECENT: RefCell<VecDeque<(String, Document)>> = const { RefCell::new(VecDeque::new()) };
}

/// `html` read into the model, in canonical form.
pub(crate) fn read_html(html: &str) -> Document {
    let known = RECENT.with_borrow(|recent| recent.iter().find(|(text, _)| text == html).map(|(_, read)| read.clone()));
    if let Some(document) = known {
        return document;
    }
    let document = canonicalize(html_in::parse(html));
    remember(html, &document);
    document
}

/// Notes that `html` reads as `document` (HTML just written from it), so reading it back is free.
pub(crate) fn remember(html: &str, document: &Document) {
    // The canonical form renders to HTML that reads back the same (no drift): checked where it is cheap.
    debug_assert_eq!(&canonicalize(html_in::parse(html)), document, "{html}");
    RECENT.with_borrow_mut(|recent| {
        if recent.len() == KEPT {
            recent.pop_back();
        }
        recent.push_front((html.to_owned(), document.clone()));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_read_again_reads_the_same_and_the_memory_stays_small() {
        let texts: Vec<String> = (0..10).map(|n| format!("<p>text <b>{n}</b></p>")).collect();
        for text in &texts {
            assert_eq!(read_html(text), canonicalize(html_in::parse(text)));
        }
        assert_eq!(read_html(&texts[9]), canonicalize(html_in::parse(&texts[9])), "from memory");
        assert_eq!(RECENT.with_borrow(VecDeque::len), KEPT);
    }
}
