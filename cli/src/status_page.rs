//! The status page's HTML (maud escapes every value): the overview of the integrations, an item's
//! history, and short messages. No script: the chart is SVG drawn here, the retry button a form.

use crate::activity::{Minute, PollSeen};
use crate::history::ItemHistory;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use tandem_engine::ports::{ConflictRecord, FailureRecord};
use tandem_model::{Side, Timestamp};

/// One integration as the overview shows it.
pub struct IntegrationView {
    pub name: String,
    pub sides: Vec<SideView>,
    pub failures: Vec<FailureRecord>,
    /// Newest first.
    pub conflicts: Vec<ConflictRecord>,
    /// Oldest first, one per minute of the last hour.
    pub minutes: Vec<Minute>,
}

pub struct SideView {
    pub side: Side,
    pub system: String,
    /// Project and item type.
    pub place: String,
    pub watermark: Option<Timestamp>,
    pub last_poll: Option<PollSeen>,
}

const STYLE: &str =
    "body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left;vertical-align:top}.healthy{color:#17652b}\
.behind{color:#8a5a00}.failing{color:#a31515}.notice{background:#eef5ff;padding:.6em 1em;border-radius:4px}\
section{margin-bottom:2.5em}pre{white-space:pre-wrap}";

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " — tandem" } style { (PreEscaped(STYLE)) } }
            body { (body) }
        }
    }
    .into_string()
}

/// Every integration: health, sides, activity, failures (with retry buttons when `allow_changes`)
/// and recent conflicts.
pub fn overview(views: &[IntegrationView], notice: Option<&str>, allow_changes: bool, now: Timestamp) -> String {
    page(
        "Status",
        html! {
            h1 { "tandem status" }
            @if let Some(notice) = notice { p.notice data-testid="notice" { (notice) } }
            @if views.is_empty() { p { "No integration is served." } }
            @for view in views { (integration(view, allow_changes, now)) }
            p { small { "As of " (now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                @if !allow_changes { " · read-only (start `tandem serve --status-changes` to retry from here)" } } }
        },
    )
}

fn integration(view: &IntegrationView, allow_changes: bool, now: Timestamp) -> Markup {
    let (health, class) = health(view);
    html! {
        section data-testid="integration" data-name=(view.name) {
            h2 { (view.name) " " span.(class) data-testid="health" { (health) } }
            table {
                tr { th { "Side" } th { "System" } th { "Project and type" } th { "Watermark" } th { "Lag" } th { "Last poll" } }
                @for side in &view.sides {
                    tr {
                        td { (side.side) } td { (side.system) } td { (side.place) }
                        td { (side.watermark.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_else(|| "not polled yet".into())) }
                        td { (side.watermark.map(|at| age(now - at)).unwrap_or_default()) }
                        td { (last_poll(side.last_poll.as_ref(), now)) }
                    }
                }
            }
            form method="get" action="/status/history" {
                input type="hidden" name="integration" value=(view.name);
                label { "Item history: " input type="text" name="item" placeholder="1:OPS-7 or 2:42" required; }
                " " button type="submit" { "Show" }
            }
            h3 { "Last hour" }
            (chart(&view.minutes))
            h3 { "Open failures (" (view.failures.len()) ")" }
            @if view.failures.is_empty() { p { "None." } } @else { (failures(&view.name, &view.failures, allow_changes)) }
            h3 { "Recent conflicts" }
            @if view.conflicts.is_empty() { p { "None." } } @else { (conflicts(&view.name, &view.conflicts)) }
        }
    }
}

/// Failing: a poll failed or an item is parked; behind: items wait for a retry; else healthy.
fn health(view: &IntegrationView) -> (&'static str, &'static str) {
    let poll_failed = view.sides.iter().any(|side| side.last_poll.as_ref().is_some_and(|poll| poll.error.is_some()));
    if poll_failed || view.failures.iter().any(|failure| failure.parked) {
        ("failing", "failing")
    } else if !view.failures.is_empty() {
        ("behind", "behind")
    } else {
        ("healthy", "healthy")
    }
}

fn last_poll(poll: Option<&PollSeen>, now: Timestamp) -> Markup {
    match poll {
        None => html! { "none yet" },
        Some(poll) => html! {
            (age(now - poll.at)) " ago: "
            @match &poll.error { Some(error) => span.failing { "failed: " (error) }, None => { (poll.synced) " synced" } }
        },
    }
}

fn history_link(integration: &str, side: Side, item: &str, label: &str) -> Markup {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("integration", integration)
        .append_pair("item", &format!("{side}:{item}"))
        .finish();
    html! { a href=(format!("/status/history?{query}")) data-testid="history-link" { (label) } }
}

fn failures(integration: &str, failures: &[FailureRecord], allow_changes: bool) -> Markup {
    html! {
        table {
            tr { th { "Item" } th { "Attempts" } th { "State" } th { "Error" } @if allow_changes { th {} } }
            @for failure in failures {
                tr data-testid="failure" data-item=(failure.item) {
                    td { (history_link(integration, failure.side, failure.item.as_str(), &format!("side {} item {}", failure.side, failure.item))) }
                    td { (failure.attempts) }
                    td { @if failure.parked { span.failing { "parked" } } @else { "retried "
                        (failure.next_attempt_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()) } }
                    td { (failure.error) }
                    @if allow_changes {
                        td { form method="post" action="/status/retry" {
                            input type="hidden" name="integration" value=(integration);
                            input type="hidden" name="side" value=(failure.side.number());
                            input type="hidden" name="item" value=(failure.item);
                            button type="submit" data-testid="retry" { "Retry now" }
                        } }
                    }
                }
            }
        }
    }
}

fn conflicts(integration: &str, conflicts: &[ConflictRecord]) -> Markup {
    html! {
        table {
            tr { th { "When" } th { "Items" } th { "Field" } th { "Side 1" } th { "Side 2" } th { "Decided" } }
            @for conflict in conflicts {
                tr {
                    td { (conflict.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) }
                    td { (history_link(integration, Side::One, conflict.side1.id.as_str(), conflict.side1.label())) " ↔ " (conflict.side2.label()) }
                    td { (conflict.field) }
                    td { (tandem_engine::history::shown(&conflict.side1_value)) }
                    td { (tandem_engine::history::shown(&conflict.side2_value)) }
                    td { "side " (conflict.winner) " won (" (conflict.policy) ")" }
                }
            }
        }
    }
}

/// Bars per minute: deliveries (blue) beside items synced (green), failures as a red cap.
fn chart(minutes: &[Minute]) -> Markup {
    const BAR: usize = 8;
    const HEIGHT: u32 = 80;
    let highest = minutes.iter().map(|minute| minute.deliveries.max(minute.synced)).max().unwrap_or(0).max(1);
    let scale = |count: u32| count * HEIGHT / highest;
    let totals = minutes
        .iter()
        .fold((0, 0, 0), |(d, s, f), minute| (d + minute.deliveries, s + minute.synced, f + minute.failed));
    html! {
        svg data-testid="activity-chart" width=(minutes.len() * BAR) height=(HEIGHT + 16) role="img"
            aria-label="Webhook deliveries and items synced per minute, last hour" {
            @for (index, minute) in minutes.iter().enumerate() {
                g {
                    title { (minute_label(minute)) }
                    rect x=(index * BAR) y=(HEIGHT - scale(minute.deliveries)) width="3" height=(scale(minute.deliveries)) fill="#3b6fd8" {}
                    rect x=(index * BAR + 4) y=(HEIGHT - scale(minute.synced)) width="3" height=(scale(minute.synced)) fill="#2e9a4b" {}
                    @if minute.failed > 0 { rect x=(index * BAR) y="0" width="7" height="3" fill="#c62828" {} }
                }
            }
            text x="0" y=(HEIGHT + 14) font-size="11" { "an hour ago" }
            text x=(minutes.len() * BAR) y=(HEIGHT + 14) font-size="11" text-anchor="end" { "now" }
        }
        p data-testid="activity-totals" {
            span style="color:#3b6fd8" { "■ " } (totals.0) " webhook deliveries, "
            span style="color:#2e9a4b" { "■ " } (totals.1) " items synced, "
            span style="color:#c62828" { "■ " } (totals.2) " failed in the last hour (per minute; hover a bar for its counts)"
        }
    }
}

fn minute_label(minute: &Minute) -> String {
    let start = Timestamp::from_timestamp(minute.start * 60, 0).unwrap_or_default();
    format!(
        "{}: {} deliveries, {} synced, {} failed",
        start.format("%H:%M"),
        minute.deliveries,
        minute.synced,
        minute.failed
    )
}

/// A duration as people read it: `45 s`, `12 min`, `3 h`, `2 d`.
fn age(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86400 => format!("{} h", seconds / 3600),
        _ => format!("{} d", seconds / 86400),
    }
}

/// An item's history page.
pub fn history(integration: &str, history: &ItemHistory) -> String {
    page(
        "History",
        html! {
            p { a href="/status" { "← status" } }
            h1 { (integration) ": history of " (history.item.label()) }
            pre data-testid="history" { (history.to_string()) }
        },
    )
}

/// A page with a title and a sentence.
pub fn message(title: &str, text: &str) -> String {
    page(title, html! { p { a href="/status" { "← status" } } h1 { (title) } p { (text) } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(chrono::Duration::seconds(45)), "45 s");
        assert_eq!(age(chrono::Duration::seconds(130)), "2 min");
        assert_eq!(age(chrono::Duration::hours(5)), "5 h");
        assert_eq!(age(chrono::Duration::seconds(-3)), "0 s");
    }

    #[test]
    fn values_are_escaped() {
        let text = message("<b>", "<script>alert(1)</script>");
        assert!(!text.contains("<script>") && text.contains("&lt;script&gt;"), "{text}");
    }
}
