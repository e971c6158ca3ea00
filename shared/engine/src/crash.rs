//! Crash points: the places between the engine's steps where a test can stop processing dead, as a
//! Lambda killed by a timeout or an out-of-memory error stops, with no error handling and no clean-up.
//!
//! They exist to prove that every step is safe to lose: whatever state a crash leaves (a creation
//! claimed but not made, a copy made but not linked, a target written but the link not updated), a
//! later delivery, poll or retry brings both sides in line without a duplicate or a lost change.
//!
//! Only builds with the `crash-points` feature can arm them; without it every crash point compiles to
//! nothing. A crash is a panic whose payload is a [`Crash`], so the caller that ran the work (a task, a
//! request handler) sees it the way a platform sees a dead process.

use serde::{Deserialize, Serialize};

/// A boundary between two steps of the engine, named after the step just completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// A delivery is taken in; nothing is recorded or synced yet (the sender's retry or the poller must
    /// bring its changes).
    DeliveryTaken,
    /// The creation of a copy is claimed; nothing is sent to the target yet.
    CreationClaimed,
    /// The target created the copy; the link is not stored.
    CopyCreated,
    /// The link of a new copy is stored; its comments are not synced.
    LinkInserted,
    /// The writes a merge will make are announced in the link; nothing is written to a target yet.
    WritesAnnounced,
    /// Fields are written to a target; the link still holds them as announced, not as done, and the
    /// files and comments are not synced.
    TargetUpdated,
    /// The link is updated at the end of a merge, after its files and comments: the sync's last write.
    LinkUpdated,
    /// A comment's copy is posted; the link does not know it yet.
    CommentCopied,
    /// A poll synced its changes; the watermark is not moved.
    PollSynced,
    /// An attachment's copy is attached; the link does not know it yet.
    AttachmentCopied,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::DeliveryTaken,
        Step::CreationClaimed,
        Step::CopyCreated,
        Step::LinkInserted,
        Step::WritesAnnounced,
        Step::TargetUpdated,
        Step::LinkUpdated,
        Step::CommentCopied,
        Step::PollSynced,
        Step::AttachmentCopied,
    ];
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = serde_json::to_value(self).ok().and_then(|value| value.as_str().map(str::to_string));
        f.write_str(name.as_deref().unwrap_or("unknown"))
    }
}

/// Decides, each time the engine passes a step, whether the process dies there.
pub trait CrashPlan: Send + Sync {
    fn crash_at(&self, step: Step) -> bool;
}

/// The panic payload of a simulated crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    pub step: Step,
}

impl Crash {
    /// The crash carried by a panic payload (from `JoinError::into_panic` or `catch_unwind`), if the
    /// panic was a crash point rather than a bug.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Option<Crash> {
        payload.downcast_ref::<Crash>().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_named_in_kebab_case() {
        assert_eq!(Step::CopyCreated.to_string(), "copy-created");
        assert_eq!(serde_json::from_str::<Step>("\"poll-synced\"").expect("parses"), Step::PollSynced);
    }

    #[test]
    fn a_crash_payload_is_told_apart_from_a_bug() {
        let crash =
            std::panic::catch_unwind(|| std::panic::panic_any(Crash { step: Step::LinkUpdated })).expect_err("panics");
        assert_eq!(Crash::from_panic(crash.as_ref()), Some(Crash { step: Step::LinkUpdated }));
        let bug = std::panic::catch_unwind(|| panic!("a bug")).expect_err("panics");
        assert_eq!(Crash::from_panic(bug.as_ref()), None);
    }
}
