//! A connector against its system's bundled simulator, through the [`System`] the connector registers:
//! what the engine relies on from every connector, checked the same way for each. Each check starts its
//! own simulator and ends by asking it whether any request or answer left the vendor's contract.

use anyhow::{bail, ensure, Context, Result};
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tandem_engine::ports::{Connector, CopyOrigin, WebhookRequest};
use tandem_mapping::SideConfig;
use tandem_model::{ItemId, Side};
use tandem_system_api::{RetryPolicy, RunningSimulator, System};

/// A system's simulator, started, with connectors for its service account and for a person.
pub struct Rig {
    pub system: &'static dyn System,
    pub side: SideConfig,
    pub simulator: Box<dyn RunningSimulator>,
    pub service: Arc<dyn Connector>,
    pub person: Arc<dyn Connector>,
}

impl Rig {
    pub async fn start(system: &'static dyn System) -> Result<Rig> {
        let kind = system.kind();
        let local = system.local_simulator().with_context(|| format!("{kind} has no bundled simulator"))?;
        let (project, item_type) = local.sample_place();
        let side = SideConfig {
            system: kind,
            base_url: None,
            project: project.into(),
            item_type: item_type.into(),
            secret: "conformance/service".into(),
            webhook_secret: "conformance/webhook".into(),
            settings: Default::default(),
            filter: None,
            simulator: true,
            confidential: Default::default(),
        };
        let simulator = local.start(&side).await.map_err(|error| anyhow::anyhow!("starting {kind}: {error}"))?;
        let connect = |credentials| system.connector(&side, &simulator.base_url(), &credentials, RetryPolicy::fast());
        let service = connect(simulator.service_credentials())?;
        let person = connect(simulator.person_credentials())?;
        Ok(Rig { system, side, simulator, service, person })
    }

    /// Ends the check: no request tandem sent and no answer the simulator gave left the vendor's
    /// contract.
    pub async fn finish(self) -> Result<()> {
        let violations = self.simulator.contract_violations();
        self.simulator.stop().await;
        ensure!(violations.is_empty(), "{}: outside the contract: {violations:#?}", self.system.kind());
        Ok(())
    }

    async fn create_sample(&self) -> Result<ItemId> {
        let item = self.person.create_item(&self.simulator.sample_item(), None).await?;
        Ok(item.item.id)
    }
}

fn recently() -> chrono::DateTime<chrono::Utc> {
    // Systems that search by the minute (JQL) are asked from a whole minute back.
    chrono::Utc::now() - chrono::Duration::minutes(2)
}

/// The service account is known, and may do what a mapping of no fields needs.
pub async fn the_service_account_has_access(system: &'static dyn System) -> Result<()> {
    let rig = Rig::start(system).await?;
    let account = rig.service.service_account().await?;
    let access = rig.service.check_access(&tandem_engine::ports::AccessNeeds::default()).await?;
    ensure!(access.problems.is_empty(), "{}: access problems: {:?}", system.kind(), access.problems);
    let checked = access.account.as_ref().is_some_and(|checked| checked.id == account.id);
    ensure!(checked, "{}: checked {access:?}, authenticated as {account:?}", system.kind());
    rig.finish().await
}

/// Items a person creates are read back whole, and listed once each among the changes since before.
pub async fn created_items_are_read_and_listed_once(system: &'static dyn System) -> Result<()> {
    let rig = Rig::start(system).await?;
    let since = recently();
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(rig.create_sample().await?);
    }
    for id in &created {
        let item = rig.service.get_item(id).await?;
        ensure!(&item.item.id == id && !item.fields.is_empty(), "{}: {id} read back as {item:?}", system.kind());
        let in_project = item.place.project.eq_ignore_ascii_case(&rig.side.project);
        ensure!(in_project, "{}: {id} is in {:?}", system.kind(), item.place);
    }
    let changed = rig.service.changed_since(since).await?;
    for id in &created {
        let listed = changed.iter().filter(|item| &item.item.id == id).count();
        ensure!(listed == 1, "{}: {id} listed {listed} times among {} changes", system.kind(), changed.len());
    }
    rig.finish().await
}

/// A copy created for an origin is found again for that origin, and for no other.
pub async fn the_copy_made_for_an_origin_is_found(system: &'static dyn System) -> Result<()> {
    let rig = Rig::start(system).await?;
    let since = recently();
    let origin = |item: &str| CopyOrigin {
        integration: "conformance".into(),
        side: Side::One,
        item: ItemId::new(item),
        url: None,
    };
    let copy = rig.service.create_item(&rig.simulator.sample_item(), Some(&origin("source-1"))).await?;
    let found = rig.service.find_copy(&origin("source-1"), since).await?;
    ensure!(found.map(|item| item.item.id) == Some(copy.item.id.clone()), "{}: the copy is not found", system.kind());
    let other = rig.service.find_copy(&origin("source-2"), since).await?;
    ensure!(other.is_none(), "{}: another origin's copy found: {other:?}", system.kind());
    rig.finish().await
}

/// Comments are added, listed, edited and deleted; deleting one that is gone is not an error.
pub async fn comments_round_trip(system: &'static dyn System) -> Result<()> {
    let rig = Rig::start(system).await?;
    let item = rig.create_sample().await?;
    let format = system.kind().comment_format();
    let text = |words: &str| tandem_rich_text::from_plain_text(format, words);
    let words_of = |comments: &[tandem_model::Comment], id: &tandem_model::CommentId| {
        comments.iter().find(|comment| &comment.id == id).map(|comment| tandem_rich_text::plain_text(&comment.body))
    };
    let added = rig.service.add_comment(&item, &text("Seen on staging")).await?;
    let listed = rig.service.list_comments(&item).await?;
    ensure!(words_of(&listed, &added.id).as_deref() == Some("Seen on staging"), "{}: {listed:?}", system.kind());
    rig.service.update_comment(&item, &added.id, &text("Seen on production")).await?;
    let listed = rig.service.list_comments(&item).await?;
    ensure!(words_of(&listed, &added.id).as_deref() == Some("Seen on production"), "{}: {listed:?}", system.kind());
    rig.service.delete_comment(&item, &added.id).await?;
    let listed = rig.service.list_comments(&item).await?;
    ensure!(words_of(&listed, &added.id).is_none(), "{}: deleted but listed", system.kind());
    let again = rig.service.delete_comment(&item, &added.id).await;
    again.with_context(|| format!("{}: deleting a comment that is gone", system.kind()))?;
    rig.finish().await
}

/// The simulator's webhooks reach an endpoint, and the system's receiver reads them: the item a person
/// created is named.
pub async fn webhooks_arrive_and_are_read(system: &'static dyn System) -> Result<()> {
    let rig = Rig::start(system).await?;
    let received: Arc<Mutex<Vec<WebhookRequest>>> = Arc::default();
    let url = serve_hooks(received.clone()).await?;
    let secret = "conformance-webhook-secret";
    rig.simulator.subscribe_webhooks(&url, secret);
    let receiver = system.receiver(&rig.side, rig.simulator.webhook_credentials(secret))?;
    let item = rig.create_sample().await?;
    for _ in 0..100 {
        let requests = received.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let named = requests
            .iter()
            .filter_map(|request| receiver.receive(request).ok())
            .any(|delivery| delivery.notices.iter().any(|notice| notice.item == item));
        if named {
            return rig.finish().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{}: no delivery the receiver reads names {item}", system.kind())
}

/// A local endpoint that keeps every request it is sent.
async fn serve_hooks(received: Arc<Mutex<Vec<WebhookRequest>>>) -> Result<String> {
    let keep = move |RawQuery(query): RawQuery, headers: HeaderMap, body: Bytes| {
        let received = received.clone();
        async move {
            let query = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
            let headers = headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
                .collect();
            received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(WebhookRequest::new(headers, body.to_vec()).with_query(query));
            "ok"
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = axum::Router::new().route("/hooks", axum::routing::post(keep));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}/hooks"))
}

/// The checks as tests over every system of a list: `simulated_conformance!(tandem_systems::all());`.
#[macro_export]
macro_rules! simulated_conformance {
    ($systems:expr) => {
        $crate::simulated_conformance!(@each $systems;
            the_service_account_has_access,
            created_items_are_read_and_listed_once,
            the_copy_made_for_an_origin_is_found,
            comments_round_trip,
            webhooks_arrive_and_are_read,
        );
    };
    (@each $systems:expr; $($check:ident,)*) => {
        $(
            #[tokio::test]
            async fn $check() {
                for system in $systems {
                    if let Err(error) = $crate::simulated::$check(*system).await {
                        panic!("{error:#}");
                    }
                }
            }
        )*
    };
}
