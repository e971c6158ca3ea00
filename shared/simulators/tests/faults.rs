//! The fault plan over HTTP, on both simulators: each kind of fault at full rate, shares near their rate,
//! repeatable sequences from a seed, timed-out writes that happened, throttled creates, added latency,
//! dropped, duplicated and reordered webhooks seen by a real receiver, refused plans, and control paths
//! that are never faulted.

mod common;

use axum::http::HeaderMap;
use common::receiver;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, RunningAzureDevops};
use tandem_simulators::faults::{FaultPlan, FaultStats};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimUser};
use tandem_simulators::recording::RecordedViolation;

const PATCH: &str = "application/json-patch+json";

/// One running simulator of either vendor, driven through its own API.
enum Sim {
    Jira(RunningJira),
    AzureDevops(RunningAzureDevops),
}

impl Sim {
    async fn both() -> [Sim; 2] {
        let jira = JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts");
        let azure_devops =
            AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the ADO simulator starts");
        [Sim::Jira(jira), Sim::AzureDevops(azure_devops)]
    }

    fn name(&self) -> &'static str {
        match self {
            Sim::Jira(_) => "Jira",
            Sim::AzureDevops(_) => "Azure DevOps",
        }
    }

    fn control(&self, path: &str) -> String {
        match self {
            Sim::Jira(jira) => format!("{}/_sim/{path}", jira.base_url()),
            Sim::AzureDevops(ado) => format!("{}/_sim/{path}", ado.base_url()),
        }
    }

    fn authenticated(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Sim::Jira(_) => {
                let account = SimUser::service_account();
                request.basic_auth(account.email, Some(account.api_token))
            }
            Sim::AzureDevops(ado) => request.basic_auth("tandem", Some(&ado.service_account().pat)),
        }
    }

    /// A cheap read of the vendor API.
    fn read(&self, http: &Client) -> RequestBuilder {
        let url = match self {
            Sim::Jira(jira) => format!("{}/rest/api/3/myself", jira.base_url()),
            Sim::AzureDevops(ado) => {
                format!("{}/Fabrikam/_apis/wit/workitemtypes/Bug?api-version=7.1", ado.organization_url())
            }
        };
        self.authenticated(http.get(url))
    }

    /// Creates an item titled `title`.
    fn create(&self, http: &Client, title: &str) -> RequestBuilder {
        match self {
            Sim::Jira(jira) => self
                .authenticated(http.post(format!("{}/rest/api/3/issue", jira.base_url())))
                .json(&json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": title}})),
            Sim::AzureDevops(ado) => self
                .authenticated(
                    http.post(format!("{}/Fabrikam/_apis/wit/workitems/$Bug?api-version=7.1", ado.organization_url())),
                )
                .header("content-type", PATCH)
                .body(json!([{"op": "add", "path": "/fields/System.Title", "value": title}]).to_string()),
        }
    }

    /// The titles of every item, read through the API (call without a fault plan).
    async fn titles(&self, http: &Client) -> Vec<String> {
        match self {
            Sim::Jira(jira) => {
                let page: Value = self
                    .authenticated(http.post(format!("{}/rest/api/3/search/jql", jira.base_url())))
                    .json(&json!({"jql": "project = OPS", "fields": ["summary"], "maxResults": 100}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                page["issues"].as_array().unwrap().iter().map(|issue| text(&issue["fields"]["summary"])).collect()
            }
            Sim::AzureDevops(ado) => {
                let count = ado.work_item_count();
                if count == 0 {
                    return Vec::new();
                }
                let ids: Vec<String> = (1..=count).map(|id| id.to_string()).collect();
                let url = format!(
                    "{}/Fabrikam/_apis/wit/workitems?api-version=7.1&fields=System.Title&ids={}",
                    ado.organization_url(),
                    ids.join(",")
                );
                let listed: Value = self.authenticated(http.get(url)).send().await.unwrap().json().await.unwrap();
                listed["value"].as_array().unwrap().iter().map(|item| text(&item["fields"]["System.Title"])).collect()
            }
        }
    }

    async fn subscribe(&self, http: &Client, url: &str) {
        let path = match self {
            Sim::Jira(_) => "webhooks",
            Sim::AzureDevops(_) => "hooks",
        };
        let answer = http.post(self.control(path)).json(&json!({ "url": url })).send().await.unwrap();
        assert!(answer.status().is_success(), "{}: {}", self.name(), answer.status());
    }

    /// The delivery id and the item title of a received `created` event.
    fn delivery(&self, headers: &HeaderMap, body: &Value) -> Delivery {
        match self {
            Sim::Jira(_) => Delivery {
                id: headers["x-atlassian-webhook-identifier"].to_str().unwrap().to_string(),
                title: text(&body["issue"]["fields"]["summary"]),
            },
            // Service hooks carry no delivery header; the event id in the body plays that part.
            Sim::AzureDevops(_) => {
                Delivery { id: text(&body["id"]), title: text(&body["resource"]["fields"]["System.Title"]) }
            }
        }
    }

    async fn webhooks_settled(&self) {
        match self {
            Sim::Jira(jira) => jira.webhooks().settled().await,
            Sim::AzureDevops(ado) => ado.hooks_settled().await,
        }
    }

    fn webhooks_dropped(&self) -> u64 {
        match self {
            Sim::Jira(jira) => jira.stats().webhooks.dropped,
            Sim::AzureDevops(ado) => ado.stats().webhooks.dropped,
        }
    }

    fn set_fault_plan(&self, plan: FaultPlan) {
        let set = match self {
            Sim::Jira(jira) => jira.set_fault_plan(plan),
            Sim::AzureDevops(ado) => ado.set_fault_plan(plan),
        };
        set.expect("the plan is valid");
    }

    fn clear_fault_plan(&self) {
        match self {
            Sim::Jira(jira) => jira.clear_fault_plan(),
            Sim::AzureDevops(ado) => ado.clear_fault_plan(),
        }
    }

    fn fault_stats(&self) -> FaultStats {
        match self {
            Sim::Jira(jira) => jira.fault_stats(),
            Sim::AzureDevops(ado) => ado.fault_stats(),
        }
    }

    fn violations(&self) -> Vec<RecordedViolation> {
        match self {
            Sim::Jira(jira) => jira.violations(),
            Sim::AzureDevops(ado) => ado.violations(),
        }
    }

    /// Sets `plan` over HTTP, as a test harness outside the process would.
    async fn put_plan(&self, http: &Client, plan: &Value) -> reqwest::Response {
        http.put(self.control("fault-plan")).json(plan).send().await.unwrap()
    }

    /// Checks the body of an injected error against the vendor's error shape.
    fn assert_error_shape(&self, body: &Value) {
        match self {
            Sim::Jira(_) => {
                assert!(body["errorMessages"].as_array().is_some_and(|messages| !messages.is_empty()), "{body}");
                assert!(body["errors"].is_object(), "{body}");
            }
            Sim::AzureDevops(_) => {
                assert_eq!(body["$id"], "1", "{body}");
                assert!(body["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
                assert!(body["typeKey"].is_string(), "{body}");
            }
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Delivery {
    id: String,
    title: String,
}

async fn statuses(sim: &Sim, http: &Client, calls: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(calls);
    for _ in 0..calls {
        statuses.push(sim.read(http).send().await.unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn each_fault_kind_at_full_rate_gives_its_answer_and_control_paths_are_spared() {
    let http = Client::new();
    for sim in Sim::both().await {
        let name = sim.name();
        let put = sim.put_plan(&http, &json!({"seed": 3, "server_error_rate": 1.0})).await;
        assert_eq!(put.status(), StatusCode::NO_CONTENT, "{name}");
        let mut seen = Vec::new();
        for _ in 0..20 {
            let answer = sim.read(&http).send().await.unwrap();
            seen.push(answer.status().as_u16());
            sim.assert_error_shape(&answer.json().await.unwrap());
        }
        assert!(seen.iter().all(|status| [500, 502, 503].contains(status)), "{name}: {seen:?}");
        assert!(seen.iter().any(|status| *status != seen[0]), "{name}: the rng picks among the statuses: {seen:?}");
        for path in ["fault-stats", "fault-plan", "stats", "exchanges"] {
            let control = http.get(sim.control(path)).send().await.unwrap();
            assert_eq!(control.status(), StatusCode::OK, "{name}: /_sim/{path} is never faulted");
        }

        sim.put_plan(&http, &json!({"rate_limit_rate": 1.0, "retry_after_seconds": 7})).await;
        let limited = sim.read(&http).send().await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
        assert_eq!(limited.headers()["retry-after"], "7", "{name}");
        if let Sim::Jira(_) = sim {
            assert!(limited.headers().contains_key("ratelimit-reason"), "Jira says why it limits");
        }
        sim.assert_error_shape(&limited.json().await.unwrap());

        sim.put_plan(&http, &json!({"timeout_rate": 1.0, "timeout_hold_ms": 300})).await;
        let started = Instant::now();
        let timed_out = sim.read(&http).send().await.unwrap();
        assert_eq!(timed_out.status(), StatusCode::GATEWAY_TIMEOUT, "{name}");
        assert!(started.elapsed() >= Duration::from_millis(300), "{name}: held for {:?}", started.elapsed());
        sim.assert_error_shape(&timed_out.json().await.unwrap());

        assert_eq!(http.delete(sim.control("fault-plan")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(sim.read(&http).send().await.unwrap().status(), StatusCode::OK, "{name}: the plan is gone");
        let stats: FaultStats = http.get(sim.control("fault-stats")).send().await.unwrap().json().await.unwrap();
        assert_eq!(stats, sim.fault_stats());
        assert_eq!(
            (stats.api_calls, stats.server_errors, stats.rate_limited, stats.timeouts),
            (23, 20, 1, 1),
            "{name}"
        );
        assert!(sim.violations().is_empty(), "{name}: {:#?}", sim.violations());
    }
}

#[tokio::test]
async fn shares_land_near_their_rates_and_a_seed_repeats_its_sequence() {
    let http = Client::new();
    let plan = |seed| FaultPlan {
        seed,
        server_error_rate: 0.2,
        rate_limit_rate: 0.2,
        timeout_rate: 0.2,
        timeout_hold_ms: 1,
        ..FaultPlan::none()
    };
    for sim in Sim::both().await {
        let name = sim.name();
        sim.set_fault_plan(plan(2024));
        let first = statuses(&sim, &http, 500).await;
        let share = |statuses: &[u16], wanted: &[u16]| statuses.iter().filter(|status| wanted.contains(status)).count();
        for (wanted, kind) in [(&[500, 502, 503][..], "server errors"), (&[429], "rate limits"), (&[504], "timeouts")] {
            let count = share(&first, wanted);
            assert!((60..=140).contains(&count), "{name}: {count} {kind} in 500 calls at a rate of 0.2");
        }
        assert_eq!(share(&first, &[200]) + share(&first, &[500, 502, 503, 429, 504]), 500, "{name}: {first:?}");

        sim.set_fault_plan(plan(2024));
        assert_eq!(statuses(&sim, &http, 500).await, first, "{name}: the same seed repeats the sequence");
        sim.set_fault_plan(plan(2025));
        assert_ne!(statuses(&sim, &http, 500).await, first, "{name}: another seed draws another sequence");
    }
}

#[tokio::test]
async fn a_timed_out_create_that_was_processed_exists_afterwards_even_one_made_after_its_answer() {
    let http = Client::new();
    for sim in Sim::both().await {
        let name = sim.name();
        sim.set_fault_plan(FaultPlan { seed: 5, timeout_rate: 1.0, timeout_hold_ms: 20, ..FaultPlan::none() });
        let titles: Vec<String> = (0..12).map(|number| format!("lost answer {number}")).collect();
        for title in &titles {
            let answer = sim.create(&http, title).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT, "{name}");
        }
        let stats = sim.fault_stats();
        assert_eq!(stats.timeouts, 12, "{name}");
        assert!((1..12).contains(&stats.timeouts_processed), "{name}: about half are processed: {stats:?}");
        assert!(
            (1..stats.timeouts_processed).contains(&stats.timeouts_processed_late),
            "{name}: some only after their 504: {stats:?}"
        );
        // Those are made a hold after their answer.
        tokio::time::sleep(Duration::from_millis(200)).await;

        sim.clear_fault_plan();
        let existing = sim.titles(&http).await;
        assert_eq!(existing.len() as u64, stats.timeouts_processed, "{name}: {existing:?}");
        assert!(existing.iter().all(|title| titles.contains(title)), "{name}: {existing:?}");
        assert!(sim.violations().is_empty(), "{name}: {:#?}", sim.violations());
    }
}

#[tokio::test]
async fn creates_are_throttled_with_a_long_retry_after_and_not_made() {
    let http = Client::new();
    for sim in Sim::both().await {
        let name = sim.name();
        let plan = json!({"seed": 6, "create_throttle_rate": 1.0, "create_retry_after_seconds": 120});
        assert_eq!(sim.put_plan(&http, &plan).await.status(), StatusCode::NO_CONTENT, "{name}");
        let throttled = sim.create(&http, "never made").send().await.unwrap();
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
        assert_eq!(throttled.headers()["retry-after"], "120", "{name}");
        sim.assert_error_shape(&throttled.json().await.unwrap());
        assert_eq!(sim.read(&http).send().await.unwrap().status(), StatusCode::OK, "{name}: only creates");

        sim.set_fault_plan(FaultPlan { seed: 6, create_throttle_rate: 0.5, ..FaultPlan::none() });
        let mut answers = Vec::new();
        for number in 0..40 {
            answers.push(sim.create(&http, &format!("maybe {number}")).send().await.unwrap().status().as_u16());
        }
        let throttled = answers.iter().filter(|status| **status == 429).count();
        assert!((8..=32).contains(&throttled), "{name}: {answers:?}");
        let stats = sim.fault_stats();
        assert_eq!(
            (stats.create_throttles, stats.rate_limited),
            (1 + throttled as u64, 1 + throttled as u64),
            "{name}"
        );

        sim.clear_fault_plan();
        assert_eq!(sim.titles(&http).await.len(), 40 - throttled, "{name}: throttled creates made nothing");
        assert!(sim.violations().is_empty(), "{name}: {:#?}", sim.violations());
    }
}

#[tokio::test]
async fn latency_is_added_to_every_call_and_counted_as_busy_time() {
    let http = Client::new();
    for sim in Sim::both().await {
        let name = sim.name();
        assert_eq!(sim.read(&http).send().await.unwrap().status(), StatusCode::OK);
        let unplanned = sim.fault_stats();
        assert_eq!(unplanned.api_calls, 1, "{name}: calls are counted without a plan");
        assert!(unplanned.handler_busy_micros > 0, "{name}");

        let put = sim.put_plan(&http, &json!({"seed": 9, "latency_ms": {"min": 80, "max": 120}})).await;
        assert_eq!(put.status(), StatusCode::NO_CONTENT);
        for _ in 0..5 {
            let started = Instant::now();
            assert_eq!(sim.read(&http).send().await.unwrap().status(), StatusCode::OK);
            assert!(started.elapsed() >= Duration::from_millis(80), "{name}: took {:?}", started.elapsed());
        }
        let stats = sim.fault_stats();
        assert_eq!(stats.api_calls, 6, "{name}");
        assert!((400..=600).contains(&stats.injected_latency_ms), "{name}: {stats:?}");
        assert!(stats.handler_busy_micros >= stats.injected_latency_ms * 1000, "{name}: {stats:?}");
    }
}

/// Calls made at once, to one simulator or to both, count once in the process's wall-busy time (what a
/// benchmark subtracts), while each simulator's busy time adds them up.
#[tokio::test]
async fn calls_made_at_once_count_once_in_the_wall_busy_time() {
    let http = Client::new();
    let sims = Sim::both().await;
    for sim in &sims {
        let put = sim.put_plan(&http, &json!({"seed": 9, "latency_ms": {"min": 100, "max": 100}})).await;
        assert_eq!(put.status(), StatusCode::NO_CONTENT);
    }
    let (before_wall, before_summed) = (
        tandem_simulators::faults::wall_busy_micros(),
        sims.iter().map(|sim| sim.fault_stats().handler_busy_micros).sum::<u64>(),
    );
    let [one, two] = &sims;
    let answers =
        tokio::join!(one.read(&http).send(), one.read(&http).send(), two.read(&http).send(), two.read(&http).send());
    for answer in [answers.0, answers.1, answers.2, answers.3] {
        assert_eq!(answer.unwrap().status(), StatusCode::OK);
    }
    let wall = tandem_simulators::faults::wall_busy_micros() - before_wall;
    let summed = sims.iter().map(|sim| sim.fault_stats().handler_busy_micros).sum::<u64>() - before_summed;
    assert!(summed >= 400_000, "four calls of 100 ms: {summed} µs summed");
    assert!((100_000..300_000).contains(&wall), "at once: {wall} µs of wall time");
}

/// Creates one item per title, in order, then waits for the simulator's deliveries to end.
async fn create_and_settle(sim: &Sim, http: &Client, titles: &[String]) {
    for title in titles {
        assert!(sim.create(http, title).send().await.unwrap().status().is_success(), "{}", sim.name());
    }
    sim.webhooks_settled().await;
}

#[tokio::test]
async fn webhooks_are_dropped_duplicated_and_reordered() {
    let http = Client::new();
    for sim in Sim::both().await {
        let name = sim.name();
        let (url, received) = receiver().await;
        sim.subscribe(&http, &url).await;
        let take = |received: &Mutex<Vec<(HeaderMap, Value)>>| -> Vec<Delivery> {
            received.lock().unwrap().drain(..).map(|(headers, body)| sim.delivery(&headers, &body)).collect()
        };
        let titles = |prefix: &str, count: usize| -> Vec<String> {
            (0..count).map(|number| format!("{prefix} {number:02}")).collect()
        };

        sim.set_fault_plan(FaultPlan { webhook_drop_rate: 1.0, ..FaultPlan::none() });
        create_and_settle(&sim, &http, &titles("dropped", 3)).await;
        assert!(take(&received).is_empty(), "{name}");
        assert_eq!((sim.fault_stats().webhooks_dropped, sim.webhooks_dropped()), (3, 3), "{name}");

        let copies = 2;
        sim.set_fault_plan(FaultPlan {
            webhook_duplicate_rate: 1.0,
            webhook_duplicate_copies: copies,
            ..FaultPlan::none()
        });
        let made = titles("duplicated", 3);
        create_and_settle(&sim, &http, &made).await;
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for delivery in take(&received) {
            by_id.entry(delivery.id).or_default().push(delivery.title);
        }
        assert_eq!(by_id.len(), 3, "{name}: one delivery id per event: {by_id:?}");
        for (id, titles) in &by_id {
            assert_eq!(titles.len(), 1 + copies as usize, "{name}: copies of {id}: {titles:?}");
            assert!(titles.iter().all(|title| *title == titles[0]), "{name}: {titles:?}");
        }
        assert_eq!(sim.fault_stats().webhooks_duplicated, 3, "{name}");

        // Edits made one after the other arrive out of order for some seed once deliveries wait a random
        // part of the window; every event still arrives exactly once.
        let mut reordered = None;
        for seed in 1..=10 {
            sim.set_fault_plan(FaultPlan { seed, webhook_reorder_window_ms: 200, ..FaultPlan::none() });
            let made = titles(&format!("seed {seed}"), 6);
            create_and_settle(&sim, &http, &made).await;
            let arrived: Vec<String> = take(&received).into_iter().map(|delivery| delivery.title).collect();
            let mut sorted = arrived.clone();
            sorted.sort();
            assert_eq!(sorted, made, "{name}: every event arrives once");
            if arrived != made {
                reordered = Some(seed);
                break;
            }
        }
        assert!(reordered.is_some(), "{name}: no seed reordered the deliveries");
        assert!(sim.fault_stats().webhooks_delayed > 0, "{name}");
    }
}

#[tokio::test]
async fn invalid_plans_are_refused_with_the_field_named() {
    let http = Client::new();
    for sim in Sim::both().await {
        let name = sim.name();
        let valid = json!({"seed": 1, "rate_limit_rate": 0.5});
        assert_eq!(sim.put_plan(&http, &valid).await.status(), StatusCode::NO_CONTENT, "{name}");
        let refusals = [
            (json!({"timeout_rate": 1.5}), "timeout_rate"),
            (json!({"server_error_rate": 0.5, "rate_limit_rate": 0.4, "timeout_rate": 0.2}), "timeout_rate"),
            (json!({"latency_ms": {"min": 50, "max": 10}}), "latency_ms"),
            (json!({"webhook_duplicate_rate": 0.5, "webhook_duplicate_copies": 0}), "webhook_duplicate_copies"),
            (json!({"webhook_drop_rat": 0.5}), "webhook_drop_rat"),
            (json!({"webhook_drop_rate": "often"}), "often"),
        ];
        for (plan, field) in refusals {
            let refused = sim.put_plan(&http, &plan).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{name}: {plan}");
            let body: Value = refused.json().await.unwrap();
            assert!(text(&body["message"]).contains(field), "{name}: {plan} → {body}");
        }
        let current: Value = http.get(sim.control("fault-plan")).send().await.unwrap().json().await.unwrap();
        assert_eq!(current["rate_limit_rate"], 0.5, "{name}: a refused plan leaves the current one");

        let refused = match &sim {
            Sim::Jira(jira) => jira.set_fault_plan(FaultPlan { webhook_drop_rate: 2.0, ..FaultPlan::none() }),
            Sim::AzureDevops(ado) => ado.set_fault_plan(FaultPlan { webhook_drop_rate: 2.0, ..FaultPlan::none() }),
        };
        assert_eq!(refused.unwrap_err().field(), "webhook_drop_rate", "{name}");

        assert_eq!(http.delete(sim.control("fault-plan")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        let cleared: Value = http.get(sim.control("fault-plan")).send().await.unwrap().json().await.unwrap();
        assert_eq!(cleared, Value::Null, "{name}");
    }
}

#[tokio::test]
async fn a_quota_holds_three_times_its_rate_near_the_rate() {
    let http = Client::new();
    let (requests_per_second, burst, seconds) = (20.0, 5, 2.0);
    for sim in Sim::both().await {
        let name = sim.name();
        let plan = json!({"rate_limit": {"requests_per_second": requests_per_second, "burst": burst}});
        assert_eq!(sim.put_plan(&http, &plan).await.status(), StatusCode::NO_CONTENT, "{name}");
        // Calls leave at three times the quota whether or not earlier ones were answered.
        let calls = (3.0 * requests_per_second * seconds) as usize;
        let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / (3.0 * requests_per_second)));
        let mut answers = tokio::task::JoinSet::new();
        for _ in 0..calls {
            pace.tick().await;
            answers.spawn(sim.read(&http).send());
        }
        let mut answered = 0;
        let mut refused = 0;
        while let Some(answer) = answers.join_next().await {
            let answer = answer.unwrap().unwrap();
            match answer.status() {
                StatusCode::OK => answered += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    refused += 1;
                    let retry_after: u64 = answer.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!(retry_after >= 1, "{name}: Retry-After {retry_after}");
                    if let Sim::Jira(_) = sim {
                        assert_eq!(answer.headers()["ratelimit-reason"], "jira-quota-global-based");
                    }
                    sim.assert_error_shape(&answer.json().await.unwrap());
                }
                other => panic!("{name}: unexpected {other}"),
            }
        }
        // About burst + rate × duration (45) are answered; the bounds leave room for a slow machine.
        let expected = f64::from(burst) + requests_per_second * seconds;
        assert!(
            (expected * 0.6..=expected * 1.4).contains(&f64::from(answered)),
            "{name}: {answered} answered of {calls}, expected about {expected}"
        );
        let stats = sim.fault_stats();
        assert_eq!((stats.rate_limit_refusals, stats.rate_limited), (refused, refused), "{name}: {stats:?}");
        assert!(sim.violations().is_empty(), "{name}: {:#?}", sim.violations());

        sim.clear_fault_plan();
        assert_eq!(sim.read(&http).send().await.unwrap().status(), StatusCode::OK, "{name}: the quota is gone");
    }
}
