//! Jira ↔ Salesforce end to end, as `examples/local-salesforce.yaml` configures it: `tandem serve`'s
//! webhook server and engine on an embedded store, the Jira simulator, and the Salesforce simulator
//! whose Outbound Messages reach the server. People act through each system's REST API: Alice through
//! tandem's connectors built with her own credentials, and through Salesforce's REST API directly as
//! a script would (an OAuth password-flow token, `PATCH /sobjects/Case/{id}`).

mod support;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{field_map as fields, text};
use tandem_cli::local::LocalEnvironment;
use tandem_cli::server::{self, RunningServer, ServedIntegration};
use tandem_cli::wiring;
use tandem_engine::ports::Connector;
use tandem_mapping::IntegrationConfig;
use tandem_model::{FieldValue, Item, ItemId, ItemVersion, RichText, Side};
use tandem_simulators::salesforce::{RunningSalesforce, SalesforceUser};

fn config(edit: impl FnOnce(String) -> String) -> Result<IntegrationConfig> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let text = edit(std::fs::read_to_string(dir.join("local-salesforce.yaml"))?);
    tandem_systems::load_str(&text, "local-salesforce.yaml", &dir).map_err(|problems| anyhow::anyhow!("{problems}"))
}

struct World {
    environment: LocalEnvironment,
    served: Arc<ServedIntegration>,
    _server: RunningServer,
    /// Alice, through tandem's connector of each side with her own credentials.
    alice: [Arc<dyn Connector>; 2],
    _store: tempfile::TempDir,
}

impl World {
    async fn start(config: IntegrationConfig) -> Result<World> {
        World::started(config, true).await
    }

    /// A world whose systems send no webhooks: polls alone carry the changes.
    async fn without_webhooks(config: IntegrationConfig) -> Result<World> {
        World::started(config, false).await
    }

    async fn started(config: IntegrationConfig, webhooks: bool) -> Result<World> {
        let config = Arc::new(config);
        let support::Serving { environment, served, server, store_dir } =
            support::Serving::start(&config, webhooks).await?;
        let alice = |side: Side| -> Result<Arc<dyn Connector>> {
            environment.person_connector(side, config.side(side), tandem_system_api::RetryPolicy::fast())
        };
        let alice = [alice(Side::One)?, alice(Side::Two)?];
        Ok(World { environment, served, _server: server, alice, _store: store_dir })
    }

    fn salesforce(&self) -> &RunningSalesforce {
        self.environment.running(Side::Two).expect("side 2 is the Salesforce simulator")
    }

    fn alice(&self, side: Side) -> &dyn Connector {
        self.alice[usize::from(side.number() - 1)].as_ref()
    }

    /// Polls both sides (webhooks land meanwhile) until `check` holds, for at most 15 s.
    async fn until<T>(&self, what: &str, check: impl AsyncFn() -> Option<T>) -> Result<T> {
        for _ in 0..50 {
            if let Some(found) = check().await {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            server::poll_once(&self.served.engine).await;
        }
        bail!("{what}: not within 15 s")
    }

    async fn copy_of(&self, side: Side, item: &ItemId) -> Option<ItemId> {
        let link = self.served.engine.stores().links.get_link(&self.served.engine.config().name, side, item).await;
        link.ok().flatten().map(|link| link.item(side.other()).id.clone())
    }

    async fn read(&self, side: Side, item: &ItemId) -> Item {
        self.alice(side).get_item(item).await.expect("readable")
    }

    /// Salesforce's REST API as a script calls it: a token from the password flow, then the call.
    async fn salesforce_rest(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value> {
        self.salesforce_call(method, path, &[], Some(body)).await
    }

    /// A case comment as an agent posts it, published or internal.
    async fn comment_on_case(&self, case: &ItemId, body: &str, published: bool) -> Result<()> {
        let comment = json!({"ParentId": case.as_str(), "CommentBody": body, "IsPublished": published});
        self.salesforce_rest(reqwest::Method::POST, "sobjects/CaseComment", comment).await?;
        Ok(())
    }

    async fn salesforce_query(&self, soql: &str) -> Result<Vec<Value>> {
        let answer = self.salesforce_call(reqwest::Method::GET, "query", &[("q", soql)], None).await?;
        Ok(answer["records"].as_array().cloned().unwrap_or_default())
    }

    async fn salesforce_call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Value> {
        let org = self.salesforce();
        let alice = SalesforceUser::alice();
        let http = reqwest::Client::new();
        let form = [
            ("grant_type", "password"),
            ("client_id", org.app().consumer_key.as_str()),
            ("client_secret", org.app().consumer_secret.as_str()),
            ("username", alice.username.as_str()),
            ("password", alice.password.as_str()),
        ];
        let token: Value =
            http.post(format!("{}/services/oauth2/token", org.base_url())).form(&form).send().await?.json().await?;
        let access = token["access_token"].as_str().context("a token")?;
        let url = format!("{}/services/data/v64.0/{path}", token["instance_url"].as_str().context("an instance")?);
        let mut request = http.request(method, url).bearer_auth(access).query(query);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await?;
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }

    /// Writes each system has answered so far (from anyone).
    fn writes(&self) -> (Option<u64>, usize) {
        let jira = self.environment.running::<tandem_simulators::jira::RunningJira>(Side::One);
        let salesforce = self.salesforce().exchanges();
        let writes =
            salesforce.iter().filter(|exchange| exchange.method != "GET" && !exchange.path.ends_with("/token"));
        (jira.map(|jira| jira.stats().writes), writes.count())
    }

    /// Once settled, more polls (and what they cause) write nothing: no echo, no drift of text
    /// converted between Jira's rich text and Salesforce's plain text.
    async fn assert_quiet(&self) -> Result<()> {
        for _ in 0..2 {
            server::poll_once(&self.served.engine).await;
        }
        let before = self.writes();
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            server::poll_once(&self.served.engine).await;
        }
        let after = self.writes();
        if before != after {
            bail!("writes after quiescence: {before:?} then {after:?}");
        }
        Ok(())
    }

    /// The remote links of a Jira issue, as a person reads them (`GET …/remotelink`).
    async fn jira_remote_links(&self, issue: &ItemId) -> Result<Vec<Value>> {
        let jira = self.environment.simulator(Side::One).context("Jira")?;
        let alice = tandem_simulators::jira::SimUser::alice();
        let url = format!("{}/rest/api/3/issue/{issue}/remotelink", jira.base_url());
        let answer = reqwest::Client::new().get(url).basic_auth(&alice.email, Some(&alice.api_token)).send().await?;
        Ok(answer.error_for_status()?.json().await?)
    }

    async fn finish(self) -> Result<()> {
        let violations: Vec<String> = Side::BOTH
            .into_iter()
            .filter_map(|side| self.environment.simulator(side))
            .flat_map(|sim| sim.contract_violations())
            .collect();
        self.environment.stop().await;
        if !violations.is_empty() {
            bail!("contract violations: {violations:#?}");
        }
        Ok(())
    }
}

fn words(value: &FieldValue) -> String {
    match value {
        FieldValue::RichText(text) => tandem_rich_text::plain_text(text),
        other => other.as_text().unwrap_or_default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_bug_becomes_a_case_and_edits_and_comments_flow_both_ways() -> Result<()> {
    let world = World::start(config(|text| text)?).await?;
    let description = tandem_rich_text::from_plain_text(tandem_model::RichTextFormat::Adf, "Steps:\nOpen the cart");
    let bug = world
        .alice(Side::One)
        .create_item(
            &fields(&[
                ("summary", text("Checkout fails")),
                ("priority", text("Highest")),
                ("description", FieldValue::RichText(description)),
            ]),
            None,
        )
        .await?;
    let case = world.until("the Case", || world.copy_of(Side::One, &bug.item.id)).await?;
    let read = world.read(Side::Two, &case).await;
    assert_eq!(read.field("Subject"), &text("Checkout fails"));
    assert_eq!(read.field("Priority"), &text("High"), "Highest maps to High");
    assert_eq!(words(read.field("Description")), "Steps:\nOpen the cart");
    let record = world.salesforce().records("Case").into_iter().find(|record| record["Id"] == case.as_str());
    let marker = record.as_ref().and_then(|record| record["Tandem_Sync_Id__c"].as_str().map(str::to_string));
    assert!(marker.is_some_and(|marker| marker.ends_with(bug.item.id.as_str())), "the Case carries its origin");
    let case_url = world.read(Side::Two, &case).await.item.url;
    world
        .until("the Case opening its Jira issue", || async {
            let link = world.read(Side::Two, &case).await.field("Engineering_Issue__c").clone();
            (link == text(bug.item.url.as_deref().unwrap_or("?"))).then_some(())
        })
        .await?;
    // The Jira issue shows its Case as a remote link, once however often it is posted.
    let links = world.jira_remote_links(&bug.item.id).await?;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["object"]["url"].as_str(), case_url.as_deref());
    assert!(links[0]["object"]["title"].as_str().is_some_and(|title| title.starts_with("Salesforce ")), "{links:?}");

    // An agent retitles the Case through the REST API as a script does: the Jira bug follows.
    world
        .salesforce_rest(
            reqwest::Method::PATCH,
            &format!("sobjects/Case/{case}"),
            json!({"Subject": "Checkout fails on mobile"}),
        )
        .await?;
    world
        .until("the retitle in Jira", || async {
            (world.read(Side::One, &bug.item.id).await.field("summary") == &text("Checkout fails on mobile"))
                .then_some(())
        })
        .await?;

    // The agent rewrites the description as plain text lines: Jira gets them, and nothing drifts after.
    let steps = "Steps:\n1. Open the cart\n2. Pay with a saved card\n\nSeen since 4.2";
    world
        .salesforce_rest(reqwest::Method::PATCH, &format!("sobjects/Case/{case}"), json!({"Description": steps}))
        .await?;
    world
        .until("the description in Jira", || async {
            (words(world.read(Side::One, &bug.item.id).await.field("description")) == steps).then_some(())
        })
        .await?;

    // A comment in Jira reaches the Case, unpublished (internal) as tandem's copies are by default, its
    // formatting kept in the rich-text body and its words in the plain one.
    let body = RichText::Adf(json!({"version": 1, "type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Fixed in "}, {"type": "text", "text": "build 42", "marks": [{"type": "strong"}]}
    ]}]}));
    world.alice(Side::One).add_comment(&bug.item.id, &body).await?;
    let copied = world
        .until("the comment on the Case", || async {
            let comments = world.alice(Side::Two).list_comments(&case).await.ok()?;
            comments
                .into_iter()
                .find(|comment| tandem_rich_text::plain_text(&comment.body).contains("Fixed in build 42"))
        })
        .await?;
    assert!(copied.visibility != tandem_model::Visibility::Everyone, "copies stay internal: {copied:?}");
    let stored =
        world.salesforce().records("CaseComment").into_iter().find(|record| record["Id"] == copied.id.0.as_str());
    let stored = stored.context("the copy is stored")?;
    assert!(
        stored["CommentBodyRichtext"].as_str().is_some_and(|html| html.contains("<strong>build 42</strong>")),
        "{stored:?}"
    );
    assert!(stored["CommentBody"].as_str().is_some_and(|plain| plain.contains("Fixed in build 42")), "{stored:?}");

    // An agent's formatted comment, published, reaches Jira formatted.
    world
        .salesforce_rest(
            reqwest::Method::POST,
            "sobjects/CaseComment",
            json!({"ParentId": case.as_str(), "IsPublished": true, "CommentBody": "Works on 4.3",
                   "CommentBodyRichtext": "<p>Works on <b>4.3</b></p>"}),
        )
        .await?;
    let formatted = world
        .until("the formatted comment in Jira", || async {
            let comments = world.alice(Side::One).list_comments(&bug.item.id).await.ok()?;
            comments.into_iter().find(|comment| tandem_rich_text::plain_text(&comment.body).contains("Works on 4.3"))
        })
        .await?;
    let RichText::Adf(document) = &formatted.body else { bail!("Jira comments are ADF: {formatted:?}") };
    assert!(document.to_string().contains(r#""type":"strong""#), "{document}");

    // A published comment on the Case reaches Jira.
    world.comment_on_case(&case, "Customer confirms", true).await?;
    world
        .until("the Case comment in Jira", || async {
            let comments = world.read_comments(Side::One, &bug.item.id).await;
            comments.iter().any(|comment| comment.contains("Customer confirms")).then_some(())
        })
        .await?;
    world.assert_quiet().await?;
    world.finish().await
}

/// A Case's Description holds 32,000 characters: a longer Jira description keeps the field out of the
/// copy (recorded for an operator), not the whole bug; once it fits, it is written and the record goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_too_long_for_its_field_is_left_out_of_the_copy_and_recorded() -> Result<()> {
    let world = World::start(config(|text| text)?).await?;
    let long = tandem_rich_text::from_plain_text(tandem_model::RichTextFormat::Adf, &"x".repeat(32_500));
    let bug_fields = fields(&[("summary", text("Crash on export")), ("description", FieldValue::RichText(long))]);
    let bug = world.alice(Side::One).create_item(&bug_fields, None).await?;
    let case = world.until("the Case", || world.copy_of(Side::One, &bug.item.id)).await?;
    let read = world.read(Side::Two, &case).await;
    assert_eq!(read.field("Subject"), &text("Crash on export"));
    assert_eq!(read.field("Description"), &FieldValue::Empty, "the value that does not fit is left out");
    let engine = &world.served.engine;
    let failures = engine.stores().log.list_failures(&engine.config().name).await?;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].error.contains("Description holds at most 32000 characters"), "{}", failures[0].error);

    let short = tandem_rich_text::from_plain_text(tandem_model::RichTextFormat::Adf, "Export a report of 40,000 rows");
    let edit = fields(&[("description", FieldValue::RichText(short))]);
    world.alice(Side::One).update_item(&bug.item.id, &edit, &ItemVersion::UNCHECKED).await?;
    world
        .until("the description that fits", || async {
            let description = world.read(Side::Two, &case).await.field("Description").clone();
            (words(&description) == "Export a report of 40,000 rows").then_some(())
        })
        .await?;
    world
        .until("the failure cleared", || async {
            engine.stores().log.list_failures(&engine.config().name).await.ok()?.is_empty().then_some(())
        })
        .await?;
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublished_case_comments_stay_in_salesforce_unless_allowed() -> Result<()> {
    let world = World::start(config(|text| text)?).await?;
    let case = world
        .alice(Side::Two)
        .create_item(&fields(&[("Subject", text("Login loops")), ("Origin", text("Web"))]), None)
        .await?;
    let bug = world.until("the Jira bug", || world.copy_of(Side::Two, &case.item.id)).await?;
    let links = world.jira_remote_links(&bug).await?;
    assert_eq!(links.len(), 1, "the issue made of the Case shows it: {links:?}");
    let issue_url = text(world.read(Side::One, &bug).await.item.url.as_deref().unwrap_or("?"));
    world
        .until("the Case pointing at the issue made of it", || async {
            (world.read(Side::Two, &case.item.id).await.field("Engineering_Issue__c") == &issue_url).then_some(())
        })
        .await?;
    world.comment_on_case(&case.item.id, "Customer's card number is 4111…", false).await?;
    world.comment_on_case(&case.item.id, "Reproduced on Safari", true).await?;
    world
        .until("the published comment in Jira", || async {
            let comments = world.read_comments(Side::One, &bug).await;
            comments.iter().any(|comment| comment.contains("Reproduced on Safari")).then_some(())
        })
        .await?;
    let comments = world.read_comments(Side::One, &bug).await;
    assert!(
        !comments.iter().any(|comment| comment.contains("card number")),
        "an internal comment leaked: {comments:?}"
    );
    // Nothing else is pending: a Jira edit of the bug still flows, and the internal comment stays put.
    world
        .alice(Side::One)
        .update_item(&bug, &fields(&[("summary", text("Login loops on Safari"))]), &ItemVersion::UNCHECKED)
        .await?;
    world
        .until("the retitle on the Case", || async {
            (world.read(Side::Two, &case.item.id).await.field("Subject") == &text("Login loops on Safari"))
                .then_some(())
        })
        .await?;
    assert!(!world.read_comments(Side::One, &bug).await.iter().any(|comment| comment.contains("card number")));
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_read_with_its_account_contact_and_owner_and_a_lookup_is_set_by_its_key() -> Result<()> {
    let world = World::start(config(|text| text)?).await?;
    let account = world.salesforce_query("SELECT Id FROM Account WHERE Name = 'Acme Corporation'").await?;
    let contact = world.salesforce_query("SELECT Id FROM Contact WHERE Email = 'carol@customer.example'").await?;
    let (account, contact) = (account[0]["Id"].as_str().context("Acme")?, contact[0]["Id"].as_str().context("Carol")?);
    let created = world
        .salesforce_rest(
            reqwest::Method::POST,
            "sobjects/Case",
            json!({"Subject": "Invoice missing", "AccountId": account, "ContactId": contact, "Origin": "Email"}),
        )
        .await?;
    let case = ItemId::new(created["id"].as_str().context("an id")?);
    let service = world.served.engine.connector(Side::Two);
    let read = service.get_item(&case).await?;
    assert_eq!(read.field("Account.Name"), &text("Acme Corporation"));
    assert_eq!(read.field("Contact.Name"), &text("Carol Customer"));
    assert_eq!(read.field("Contact.Email"), &text("carol@customer.example"));
    assert_eq!(read.field("Owner.Email"), &text(&SalesforceUser::alice().email), "the agent who created it owns it");

    // In Jira, the issue made of the Case shows its customer in the mapped fields, its owner as the
    // assignee, and links to the Case, its Account and its Contact.
    let issue = world.until("the Jira issue", || world.copy_of(Side::Two, &case)).await?;
    let bug = world.read(Side::One, &issue).await;
    assert_eq!(bug.field("customfield_10070"), &text("Acme Corporation"));
    assert_eq!(bug.field("customfield_10071"), &text("Carol Customer"));
    let FieldValue::User(assignee) = bug.field("assignee") else { bail!("no assignee: {bug:?}") };
    assert_eq!(assignee.id, tandem_simulators::jira::SimUser::alice().account_id, "the owner, by the users sheet");
    let links = world
        .until("the remote links", || async {
            let links = world.jira_remote_links(&issue).await.ok()?;
            (links.len() == 3).then_some(links)
        })
        .await?;
    let url_of = |kind: &str, id: &str| format!("{}/lightning/r/{kind}/{id}/view", world.salesforce().base_url());
    for (kind, id, title) in [
        ("Case", case.as_str(), "Salesforce "),
        ("Account", account, "Account Acme Corporation"),
        ("Contact", contact, "Contact Carol Customer"),
    ] {
        let link = links.iter().find(|link| link["object"]["url"] == url_of(kind, id).as_str());
        let link = link.with_context(|| format!("a remote link to the {kind}: {links:?}"))?;
        assert!(link["object"]["title"].as_str().is_some_and(|shown| shown.starts_with(title)), "{link}");
    }

    // Writing a related record's key sets the lookup to the one record that has it.
    service.update_item(&case, &fields(&[("Account.Name", text("Globex"))]), &read.version()).await?;
    assert_eq!(service.get_item(&case).await?.field("Account.Name"), &text("Globex"));
    let unknown = service.update_item(&case, &fields(&[("Account.Name", text("Initech"))]), &read.version()).await;
    let unknown = unknown.expect_err("no such account");
    assert!(unknown.to_string().contains("no Account has Name `Initech`"), "{unknown}");
    let deep = service.update_item(&case, &fields(&[("Account.Owner.Email", text("x@y.z"))]), &read.version()).await;
    assert!(deep.expect_err("two lookups away").to_string().contains("one lookup away"));
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_marked_comments_only_the_comments_people_mark_reach_the_case() -> Result<()> {
    let marked =
        |text: String| text.replace("  side1_to_side2: true", "  side1_to_side2: marked\n  marker: \"#customer\"");
    let world = World::start(config(marked)?).await?;
    let bug = world.alice(Side::One).create_item(&fields(&[("summary", text("Export times out"))]), None).await?;
    let case = world.until("the Case", || world.copy_of(Side::One, &bug.item.id)).await?;
    let adf = |words: &str| tandem_rich_text::from_plain_text(tandem_model::RichTextFormat::Adf, words);
    world.alice(Side::One).add_comment(&bug.item.id, &adf("Stack trace points at the CSV writer")).await?;
    world.alice(Side::One).add_comment(&bug.item.id, &adf("#customer A fix ships on Friday")).await?;
    world
        .until("the marked comment on the Case", || async {
            let comments = world.read_comments(Side::Two, &case).await;
            comments.iter().any(|comment| comment.contains("A fix ships on Friday")).then_some(())
        })
        .await?;
    let comments = world.read_comments(Side::Two, &case).await;
    assert_eq!(comments.len(), 1, "only the marked comment: {comments:?}");
    assert!(!comments[0].contains("#customer"), "the marker is taken out of the copy: {comments:?}");
    world.finish().await
}

/// Waits until just after a second begins, so that what follows (a create, its sync, an edit) can share
/// that second, as Salesforce's whole-second `SystemModstamp` counts it.
async fn start_of_a_second() {
    let into_second = chrono::Utc::now().timestamp_subsec_millis();
    tokio::time::sleep(Duration::from_millis(u64::from(1010 - into_second))).await;
}

/// Salesforce keeps whole seconds: an edit made in the second tandem last read the Case shows the same
/// `SystemModstamp`, and a poll must not take it for what it has already seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_the_same_second_as_the_last_sync_is_still_synced_by_a_poll() -> Result<()> {
    let world = World::without_webhooks(config(|text| text)?).await?;
    let engine = &world.served.engine;
    for attempt in 1..=5 {
        start_of_a_second().await;
        let subject = format!("Refund stuck (try {attempt})");
        let case = world.alice(Side::Two).create_item(&fields(&[("Subject", text(&subject))]), None).await?;
        engine.poll_side(Side::Two).await?;
        let bug = world.copy_of(Side::Two, &case.item.id).await.context("copied by the poll")?;
        let edited = format!("Refund stuck for EUR (try {attempt})");
        world
            .salesforce_rest(
                reqwest::Method::PATCH,
                &format!("sobjects/Case/{}", case.item.id),
                json!({"Subject": edited}),
            )
            .await?;
        if world.read(Side::Two, &case.item.id).await.updated != case.updated {
            continue; // the second ended first: try again
        }
        engine.poll_side(Side::Two).await?;
        assert_eq!(world.read(Side::One, &bug).await.field("summary"), &text(&edited));
        return world.finish().await;
    }
    bail!("no attempt fitted in one second")
}

/// The other half of whole seconds: a poll's page read before a newer state of that second was synced
/// shows the same `SystemModstamp` as that state. Written from, it would undo the newer state; the
/// engine reads the Case again instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_read_older_than_a_sync_of_the_same_second_is_not_written() -> Result<()> {
    let world = World::without_webhooks(config(|text| text)?).await?;
    let engine = &world.served.engine;
    for attempt in 1..=5 {
        start_of_a_second().await;
        let case =
            world.alice(Side::Two).create_item(&fields(&[("Subject", text(&format!("Try {attempt}")))]), None).await?;
        engine.poll_side(Side::Two).await?;
        let bug = world.copy_of(Side::Two, &case.item.id).await.context("copied by the poll")?;
        let page_read = world.read(Side::Two, &case.item.id).await;
        let newer = format!("Try {attempt}, renamed in the same second");
        let path = format!("sobjects/Case/{}", case.item.id);
        world.salesforce_rest(reqwest::Method::PATCH, &path, json!({"Subject": newer})).await?;
        engine.sync_item(Side::Two, &case.item.id).await?;
        if world.read(Side::Two, &case.item.id).await.updated != page_read.updated {
            continue; // the second ended first: try again
        }
        engine.sync_read_item(Side::Two, page_read, Some(chrono::Utc::now())).await?;
        assert_eq!(world.read(Side::One, &bug).await.field("summary"), &text(&newer), "the older read was written");
        return world.finish().await;
    }
    bail!("no attempt fitted in one second")
}

/// People on both sides edit the same few items at once for a while, comments included, the org's
/// sessions expire halfway and Outbound Messages arrive in any order; once polls have settled, every
/// pair agrees, every comment has one copy, and there is one copy per item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_edits_on_both_sides_converges_without_duplicates() -> Result<()> {
    let world = Arc::new(World::start(config(|text| text)?).await?);
    let mut bugs = Vec::new();
    for n in 0..3 {
        let bug = world.alice(Side::One).create_item(&fields(&[("summary", text(&format!("Bug {n}")))]), None).await?;
        bugs.push(bug.item.id);
    }
    let mut pairs = Vec::new();
    for bug in &bugs {
        pairs.push((bug.clone(), world.until("the Case", || world.copy_of(Side::One, bug)).await?));
    }
    let pairs = Arc::new(pairs);
    let mut people = Vec::new();
    for person in 0..4u64 {
        let (world, pairs) = (Arc::clone(&world), Arc::clone(&pairs));
        people.push(tokio::spawn(async move {
            for step in 0..12u64 {
                let (bug, case) = &pairs[usize::try_from((person + step) % 3).unwrap_or_default()];
                let words = format!("edit {step} by person {person}");
                let priority = ["High", "Medium", "Low"][usize::try_from(step % 3).unwrap_or_default()];
                let unchecked = &ItemVersion::UNCHECKED;
                // A refused or failed edit is given up, as a person would; the sync must still agree.
                let _ = match (person + step) % 4 {
                    0 => world
                        .alice(Side::One)
                        .update_item(bug, &fields(&[("summary", text(&words))]), unchecked)
                        .await
                        .is_ok(),
                    1 => world
                        .alice(Side::Two)
                        .update_item(case, &fields(&[("Subject", text(&words))]), unchecked)
                        .await
                        .is_ok(),
                    2 => world
                        .alice(Side::Two)
                        .update_item(case, &fields(&[("Priority", text(priority))]), unchecked)
                        .await
                        .is_ok(),
                    _ => world.comment_on_case(case, &words, true).await.is_ok(),
                };
                if person == 0 && step == 6 {
                    world.salesforce().expire_sessions();
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }));
    }
    for person in people {
        person.await?;
    }
    let engine = &world.served.engine;
    let in_sync = || async {
        let links = engine.stores().links.list_links(&engine.config().name).await.ok()?;
        for link in &links {
            if !engine.audit_link(link).await.ok()?.in_sync() {
                return None;
            }
        }
        Some(links.len())
    };
    let links = world.until("every pair in sync", in_sync).await?;
    assert_eq!(links, 3);
    let copies = world.salesforce().records("Case").iter().filter(|case| !case["Tandem_Sync_Id__c"].is_null()).count();
    assert_eq!(copies, 3, "one Case per bug");
    world.assert_quiet().await?;
    Arc::try_unwrap(world).map_err(|_| anyhow::anyhow!("the world is still shared"))?.finish().await
}

/// The org's daily API allowance runs out: syncs into Salesforce wait (none is parked however long it
/// lasts), polls hold back, and everything arrives once the allowance frees up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_up_api_allowance_parks_nothing_and_the_changes_arrive_once_it_frees_up() -> Result<()> {
    let world = World::start(config(|text| text)?).await?;
    let bug = world.alice(Side::One).create_item(&fields(&[("summary", text("Sync stalls"))]), None).await?;
    let case = world.until("the Case", || world.copy_of(Side::One, &bug.item.id)).await?;
    let org = world.salesforce();
    org.set_api_allowance(org.api_used());
    world
        .alice(Side::One)
        .update_item(&bug.item.id, &fields(&[("summary", text("Sync stalls at night"))]), &ItemVersion::UNCHECKED)
        .await?;
    let engine = &world.served.engine;
    let policy = tandem_engine::RetryPolicy {
        base: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_attempts: 2,
    };
    let config = Arc::new(engine.config().clone());
    let (endpoints, secrets) = (world.environment.endpoints(), world.environment.secrets());
    let connectors = [
        wiring::connector(&config, Side::One, endpoints, secrets.as_ref()).await?,
        wiring::connector(&config, Side::Two, endpoints, secrets.as_ref()).await?,
    ];
    let clock = Arc::new(tandem_engine::ports::SystemClock);
    let worker =
        tandem_engine::Engine::new(config, connectors, engine.stores().clone(), clock).with_retry_policy(policy);
    for _ in 0..5 {
        server::poll_once(&worker).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let failures = engine.stores().log.list_failures(&engine.config().name).await?;
    assert!(!failures.is_empty(), "the change waits in the failure log");
    assert!(failures.iter().all(|failure| !failure.parked), "nothing parked: {failures:?}");
    org.set_api_allowance(100_000);
    world
        .until("the retitle on the Case", || async {
            (world.read(Side::Two, &case).await.field("Subject") == &text("Sync stalls at night")).then_some(())
        })
        .await?;
    world.finish().await
}

/// Salesforce with Azure DevOps: nothing in the engine or the wiring knows either system, so the same
/// connector serves this pair as it serves Jira.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_azure_devops_bug_and_a_case_stay_in_sync_the_same_way() -> Result<()> {
    let text_config = r#"
name: ado-salesforce
side1: { system: azure-devops, simulator: true, project: Fabrikam, item_type: Bug, secret: l/ado, webhook_secret: l/ado-hook }
side2:
  system: salesforce
  simulator: true
  project: acme
  item_type: Case
  secret: l/sf
  webhook_secret: l/sf-hook
  confidential: { comments: ["internal:unpublished"] }
polling: { interval: 30s, search_lag: 0s }
users: { map: [{ side1: alice@fabrikam.example, side2: alice@acme.example }] }
fields:
  - { name: title, side1: System.Title, side2: Subject }
  - { name: description, side1: System.Description, side2: Description, kind: rich-text }
  - name: priority
    side1: Microsoft.VSTS.Common.Priority
    side2: Priority
    kind: option
    values: { 1: High, 2: High, 3: Medium, 4: Low }
    reverse: { High: 2 }
"#;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let config = tandem_systems::load_str(text_config, "ado-salesforce.yaml", &dir)
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let world = World::start(config).await?;
    let html = FieldValue::RichText(tandem_model::RichText::Html("<p>Crash on <b>save</b></p><p>Build 7</p>".into()));
    let bug = world
        .alice(Side::One)
        .create_item(
            &fields(&[
                ("System.Title", text("Editor crashes")),
                ("System.Description", html),
                ("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0)),
            ]),
            None,
        )
        .await?;
    let case = world.until("the Case", || world.copy_of(Side::One, &bug.item.id)).await?;
    let read = world.read(Side::Two, &case).await;
    assert_eq!(read.field("Subject"), &text("Editor crashes"));
    assert_eq!(read.field("Priority"), &text("High"));
    assert_eq!(words(read.field("Description")), "Crash on save\nBuild 7");
    world.comment_on_case(&case, "Customer sees it too", true).await?;
    world
        .until("the Case comment in Azure DevOps", || async {
            world
                .read_comments(Side::One, &bug.item.id)
                .await
                .iter()
                .any(|comment| comment.contains("Customer sees it too"))
                .then_some(())
        })
        .await?;
    world.assert_quiet().await?;
    world.finish().await
}

/// Nothing of the integration user's sign-in (the private key, the consumer secret) nor the Outbound
/// Messages' URL token reaches a log line, at any level, through a sync both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_salesforce_secret_appears_in_any_log_line() -> Result<()> {
    let capture = support::logs::capture_every_line();
    let world = World::start(config(|text| text)?).await?;
    let bug = world.alice(Side::One).create_item(&fields(&[("summary", text("Keys stay put"))]), None).await?;
    let case = world.until("the Case", || world.copy_of(Side::One, &bug.item.id)).await?;
    world.comment_on_case(&case, "Public answer", true).await?;
    world.salesforce().expire_sessions();
    world
        .until("the comment in Jira", || async {
            world
                .read_comments(Side::One, &bug.item.id)
                .await
                .iter()
                .any(|comment| comment.contains("Public answer"))
                .then_some(())
        })
        .await?;
    let token = world.environment.webhook_secret(Side::Two).context("a token")?.to_string();
    let key_line =
        tandem_simulators::salesforce::key::PRIVATE_KEY_PEM.lines().nth(1).context("a key line")?.to_string();
    let secrets = [world.salesforce().app().consumer_secret.clone(), key_line, token];
    world.finish().await?;
    capture.assert_none_of(&secrets);
    Ok(())
}

impl World {
    async fn read_comments(&self, side: Side, item: &ItemId) -> Vec<String> {
        let comments = self.alice(side).list_comments(item).await.unwrap_or_default();
        comments.iter().map(|comment| tandem_rich_text::plain_text(&comment.body)).collect()
    }
}
