//! `tandem resync SIDE:ITEM…`: syncs the named items now, from their current state, as a webhook would
//! (nothing is written where both sides already agree), with a progress bar (rate and time left) on a
//! terminal and a line per item otherwise, and a summary of what happened to them.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use tandem_engine::tally::{Counted, PollTally};
use tandem_engine::{Engine, SyncError};
use tandem_model::{ItemId, Side};

/// An item named on the command line: `1:OPS-7` (side 1, by key or id) or `2:42`.
pub fn parse_target(text: &str) -> Result<(Side, ItemId)> {
    let (side, item) =
        text.split_once(':').with_context(|| format!("`{text}`: name items as SIDE:ITEM, e.g. 1:OPS-7"))?;
    let side = match side.trim() {
        "1" => Side::One,
        "2" => Side::Two,
        other => bail!("`{text}`: the side is 1 or 2, not `{other}`"),
    };
    if item.trim().is_empty() {
        bail!("`{text}`: no item after the side");
    }
    Ok((side, ItemId::new(item.trim())))
}

/// What a resync did, in sum and for each item that failed.
#[derive(Debug, Default)]
pub struct ResyncSummary {
    pub counts: PollTally,
    /// The items that failed, with why.
    pub failures: Vec<(String, String)>,
}

impl std::fmt::Display for ResyncSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.counts)?;
        for (item, error) in &self.failures {
            write!(f, "\n  {item}: {error}")?;
        }
        Ok(())
    }
}

/// Syncs each target through `engine`. An item named by key is read first, so the sync and its link
/// go by the id the system gives it (a key is not what links are kept under).
pub async fn resync(engine: &Engine, targets: &[(Side, ItemId)]) -> ResyncSummary {
    let bar = ProgressBar::with_draw_target(Some(targets.len() as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("[{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let plain = !std::io::stderr().is_terminal();
    let mut summary = ResyncSummary::default();
    for (side, id) in targets {
        let shown = format!("{side}:{id}");
        bar.set_message(shown.clone());
        let outcome = match engine.connector(*side).get_item(id).await {
            Ok(item) => engine.sync_item(*side, &item.item.id).await,
            Err(error) => Err(SyncError::connector(*side)(error)),
        };
        let counted = Counted::of(&outcome);
        if plain {
            eprintln!("{shown}: {}", counted.name());
        }
        summary.counts.count(counted);
        if let Err(error) = outcome {
            summary.failures.push((shown, error.to_string()));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_engine::SyncOutcome;

    #[test]
    fn targets_name_a_side_and_an_item() {
        assert_eq!(parse_target("1:OPS-7").unwrap(), (Side::One, ItemId::new("OPS-7")));
        assert_eq!(parse_target("2: 42").unwrap(), (Side::Two, ItemId::new("42")));
        for wrong in ["OPS-7", "3:OPS-7", "1:", ":7"] {
            assert!(parse_target(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_summary_counts_outcomes_and_lists_failures() {
        let mut summary = ResyncSummary::default();
        summary.counts.count(Counted::of(&Ok(SyncOutcome::Updated { writes: 0 })));
        summary.counts.count(Counted::of(&Ok(SyncOutcome::Updated { writes: 3 })));
        summary.counts.count(Counted::Failed);
        summary.failures.push(("1:OPS-9".into(), "not found".into()));
        assert_eq!(summary.to_string(), "0 created, 1 updated, 1 unchanged, 0 skipped, 1 failed\n  1:OPS-9: not found");
    }
}
