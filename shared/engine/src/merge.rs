//! The three-way merge of one mapped field: what each side has now, what each had at the last sync, and
//! which way the mapping lets values flow. Pure, so every case is tested without I/O.

use crate::ports::FieldSnapshot;
use tandem_mapping::{ConflictPolicy, FieldMapping};
use tandem_model::{FieldValue, Side, Timestamp};

/// What to do with one field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldAction {
    /// Neither side changed (or nothing may flow): keep the snapshot as it is.
    Unchanged,
    /// `from` changed and its value should be written to the other side.
    Propagate { from: Side },
    /// A side changed but the mapping does not let it flow: remember its value, write nothing.
    Accept { side: Side },
    /// Both sides changed: the policy picked `winner`; `recorded` is false when the two changes agree.
    Conflict { winner: Side },
}

pub(crate) struct FieldState<'a> {
    pub snapshot: Option<&'a FieldSnapshot>,
    pub side1: &'a FieldValue,
    pub side2: &'a FieldValue,
}

impl FieldState<'_> {
    fn current(&self, side: Side) -> &FieldValue {
        match side {
            Side::One => self.side1,
            Side::Two => self.side2,
        }
    }

    fn changed(&self, side: Side) -> bool {
        match self.snapshot {
            Some(snapshot) => !snapshot.holds(side, self.current(side)),
            // A field added to the mapping after the link was made: a non-empty value counts as a change.
            None => !self.current(side).is_empty(),
        }
    }
}

pub(crate) fn decide(
    mapping: &FieldMapping,
    state: &FieldState<'_>,
    policy: ConflictPolicy,
    updated: [Timestamp; 2],
) -> FieldAction {
    let present = |side: Side| mapping.field(side).is_some();
    let changed = |side: Side| present(side) && state.changed(side);
    match (changed(Side::One), changed(Side::Two)) {
        (false, false) => FieldAction::Unchanged,
        (true, false) => one_side_changed(mapping, Side::One),
        (false, true) => one_side_changed(mapping, Side::Two),
        (true, true) => {
            let flows = [mapping.flows_from(Side::One), mapping.flows_from(Side::Two)];
            match flows {
                [true, true] => FieldAction::Conflict { winner: winner(policy, updated) },
                [true, false] => FieldAction::Propagate { from: Side::One },
                [false, true] => FieldAction::Propagate { from: Side::Two },
                [false, false] => FieldAction::Accept { side: Side::One },
            }
        }
    }
}

fn one_side_changed(mapping: &FieldMapping, side: Side) -> FieldAction {
    if mapping.flows_from(side) && mapping.field(side.other()).is_some() {
        FieldAction::Propagate { from: side }
    } else {
        FieldAction::Accept { side }
    }
}

/// The later change wins under `latest-wins`; ties go to side 1 so every worker decides alike.
fn winner(policy: ConflictPolicy, updated: [Timestamp; 2]) -> Side {
    match policy {
        ConflictPolicy::Side1Wins => Side::One,
        ConflictPolicy::Side2Wins => Side::Two,
        ConflictPolicy::LatestWins => {
            if updated[1] > updated[0] {
                Side::Two
            } else {
                Side::One
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;
    use tandem_mapping::IntegrationConfig;
    use tandem_model::{RichTextFormat, SystemInfo, SystemKind};

    fn config(direction: &str) -> IntegrationConfig {
        let text = format!(
            r#"
name: merge-test
side1: {{ system: jira, base_url: "https://example.atlassian.net", project: OPS, item_type: Bug, secret: s1, webhook_secret: w1 }}
side2: {{ system: azure-devops, base_url: "https://dev.azure.com/fabrikam", project: Fabrikam, item_type: Bug, secret: s2, webhook_secret: w2 }}
fields:
  - name: title
    side1: summary
    side2: System.Title
    direction: "{direction}"
"#
        );
        let systems: [&dyn tandem_mapping::SystemRules; 2] = [
            &tandem_mapping::CommonRules(SystemKind::new(&SystemInfo {
                slug: "jira",
                display_name: "Jira",
                rich_text_format: RichTextFormat::Adf,
                comment_format: RichTextFormat::Adf,
                change_instants: tandem_model::InstantPrecision::Millisecond,
            })),
            &tandem_mapping::CommonRules(SystemKind::new(&SystemInfo {
                slug: "azure-devops",
                display_name: "Azure DevOps",
                rich_text_format: RichTextFormat::Html,
                comment_format: RichTextFormat::Html,
                change_instants: tandem_model::InstantPrecision::Millisecond,
            })),
        ];
        tandem_mapping::load_str(&text, "merge-test.yaml", Path::new("."), &systems).expect("test config is valid")
    }

    fn text(value: &str) -> FieldValue {
        FieldValue::Text(value.to_string())
    }

    fn at(second: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, second).unwrap()
    }

    fn run(
        direction: &str,
        snapshot: Option<(&str, &str)>,
        now: (&str, &str),
        policy: ConflictPolicy,
        updated: [Timestamp; 2],
    ) -> FieldAction {
        let config = config(direction);
        let snapshot = snapshot.map(|(one, two)| FieldSnapshot::new(text(one), text(two)));
        let (one, two) = (text(now.0), text(now.1));
        let state = FieldState { snapshot: snapshot.as_ref(), side1: &one, side2: &two };
        decide(&config.fields[0], &state, policy, updated)
    }

    #[test]
    fn nothing_changed_means_nothing_to_do() {
        let action = run("both", Some(("a", "a")), ("a", "a"), ConflictPolicy::LatestWins, [at(0), at(1)]);
        assert_eq!(action, FieldAction::Unchanged);
    }

    #[test]
    fn a_change_on_one_side_flows_to_the_other() {
        let action = run("both", Some(("a", "a")), ("a", "b"), ConflictPolicy::LatestWins, [at(0), at(1)]);
        assert_eq!(action, FieldAction::Propagate { from: Side::Two });
        let action = run("both", Some(("a", "a")), ("c", "a"), ConflictPolicy::LatestWins, [at(0), at(1)]);
        assert_eq!(action, FieldAction::Propagate { from: Side::One });
    }

    #[test]
    fn a_change_against_the_direction_is_remembered_not_written() {
        let action = run("1->2", Some(("a", "a")), ("a", "b"), ConflictPolicy::LatestWins, [at(0), at(1)]);
        assert_eq!(action, FieldAction::Accept { side: Side::Two });
    }

    #[test]
    fn both_changed_goes_to_the_policy() {
        let later_two = [at(0), at(5)];
        let action = run("both", Some(("a", "a")), ("b", "c"), ConflictPolicy::LatestWins, later_two);
        assert_eq!(action, FieldAction::Conflict { winner: Side::Two });
        let action = run("both", Some(("a", "a")), ("b", "c"), ConflictPolicy::LatestWins, [at(9), at(5)]);
        assert_eq!(action, FieldAction::Conflict { winner: Side::One });
        let action = run("both", Some(("a", "a")), ("b", "c"), ConflictPolicy::Side1Wins, later_two);
        assert_eq!(action, FieldAction::Conflict { winner: Side::One });
        // One-way mappings have no conflict: the flowing side wins.
        let action = run("2->1", Some(("a", "a")), ("b", "c"), ConflictPolicy::Side1Wins, later_two);
        assert_eq!(action, FieldAction::Propagate { from: Side::Two });
    }

    #[test]
    fn a_field_new_to_the_mapping_counts_as_changed_where_it_has_a_value() {
        let action = run("both", None, ("x", ""), ConflictPolicy::LatestWins, [at(0), at(1)]);
        assert_eq!(action, FieldAction::Propagate { from: Side::One });
    }
}
