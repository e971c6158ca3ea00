//! Edits people make between a reader's read and its write, shared by the simulators: the one-shot
//! changes a test queues with `change_after` (applied once a matching request is answered), and the
//! title a meddling person writes when the fault plan's `meddle_rate` strikes.

use std::sync::{Arc, Mutex, MutexGuard};

/// The most characters a meddled title keeps: both vendors refuse titles above 255.
const MAX_TITLE_CHARS: usize = 254;

/// What a meddling person appends to a title, before the meddle's number.
const MEDDLE_MARK: &str = " (edited meanwhile ";

/// `title` with any trailing ` (edited meanwhile N)` replaced by ` (edited meanwhile <number>)`,
/// shortened so that the whole stays under 255 characters.
pub(crate) fn meddled_title(title: &str, number: u64) -> String {
    let base = strip_meddle_mark(title);
    let suffix = format!("{MEDDLE_MARK}{number})");
    let room = MAX_TITLE_CHARS.saturating_sub(suffix.chars().count());
    let kept: String = base.chars().take(room).collect();
    format!("{kept}{suffix}")
}

fn strip_meddle_mark(title: &str) -> &str {
    let Some(start) = title.rfind(MEDDLE_MARK) else {
        return title;
    };
    let tail = &title[start + MEDDLE_MARK.len()..];
    let numbered = tail
        .strip_suffix(')')
        .is_some_and(|digits| !digits.is_empty() && digits.chars().all(|character| character.is_ascii_digit()));
    if numbered {
        &title[..start]
    } else {
        title
    }
}

/// Whether a request path ends with a queued suffix: exactly, or ignoring ASCII case for vendors whose
/// routes ignore it (Azure DevOps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathCase {
    Sensitive,
    Insensitive,
}

struct Queued<C> {
    method: String,
    path_suffix: String,
    change: C,
}

/// One-shot changes, each applied after the next request with its method whose path ends with its
/// suffix is answered. Cheap to clone; clones share the queue.
pub(crate) struct ChangeAfter<C> {
    case: PathCase,
    queued: Arc<Mutex<Vec<Queued<C>>>>,
}

impl<C> Clone for ChangeAfter<C> {
    fn clone(&self) -> Self {
        ChangeAfter { case: self.case, queued: Arc::clone(&self.queued) }
    }
}

impl<C> ChangeAfter<C> {
    pub(crate) fn new(case: PathCase) -> Self {
        ChangeAfter { case, queued: Arc::default() }
    }

    pub(crate) fn queue(&self, method: &str, path_suffix: &str, change: C) {
        let queued = Queued { method: method.to_ascii_uppercase(), path_suffix: path_suffix.to_string(), change };
        self.queued().push(queued);
    }

    /// Takes the changes waiting for this answered request, in the order they were queued.
    pub(crate) fn take_matching(&self, method: &str, path: &str) -> Vec<C> {
        let mut queued = self.queued();
        if queued.is_empty() {
            return Vec::new();
        }
        let (matching, waiting) =
            std::mem::take(&mut *queued).into_iter().partition(|entry| self.matches(entry, method, path));
        *queued = waiting;
        matching.into_iter().map(|entry: Queued<C>| entry.change).collect()
    }

    fn matches(&self, entry: &Queued<C>, method: &str, path: &str) -> bool {
        if !entry.method.eq_ignore_ascii_case(method) || path.len() < entry.path_suffix.len() {
            return false;
        }
        match self.case {
            PathCase::Sensitive => path.ends_with(&entry.path_suffix),
            PathCase::Insensitive => path
                .get(path.len() - entry.path_suffix.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(&entry.path_suffix)),
        }
    }

    fn queued(&self) -> MutexGuard<'_, Vec<Queued<C>>> {
        // Pushes and swaps only: a panic elsewhere cannot leave the queue half-changed.
        self.queued.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meddled_title_replaces_the_previous_mark_and_stays_short() {
        assert_eq!(meddled_title("Broken", 1), "Broken (edited meanwhile 1)");
        assert_eq!(meddled_title("Broken (edited meanwhile 1)", 12), "Broken (edited meanwhile 12)");
        assert_eq!(meddled_title("Broken (edited meanwhile x)", 2), "Broken (edited meanwhile x) (edited meanwhile 2)");
        let long = "é".repeat(300);
        let meddled = meddled_title(&long, 7);
        assert_eq!(meddled.chars().count(), MAX_TITLE_CHARS);
        assert!(meddled.ends_with(" (edited meanwhile 7)"));
    }

    #[test]
    fn a_queued_change_fires_once_on_the_first_matching_request() {
        let sensitive = ChangeAfter::new(PathCase::Sensitive);
        sensitive.queue("get", "/issue/OPS-1", "first");
        sensitive.queue("PUT", "/issue/OPS-1", "second");
        assert!(sensitive.take_matching("GET", "/rest/api/3/issue/ops-1").is_empty());
        assert_eq!(sensitive.take_matching("GET", "/rest/api/3/issue/OPS-1"), ["first"]);
        assert!(sensitive.take_matching("GET", "/rest/api/3/issue/OPS-1").is_empty());
        assert_eq!(sensitive.take_matching("PUT", "/rest/api/3/issue/OPS-1"), ["second"]);

        let insensitive = ChangeAfter::new(PathCase::Insensitive);
        insensitive.queue("POST", "/_apis/wit/wiql", 1);
        assert_eq!(insensitive.take_matching("POST", "/fabrikam/Fabrikam/_apis/wit/WIQL"), [1]);
    }
}
