//! The status page in a real browser: Debian's Chromium, driven headless through ChromeDriver
//! (`infra/test.sh` installs both when missing). A failure made the way they happen — Azure DevOps
//! refusing the service account while a bug is filed in Jira — shows on the page; "Retry now" syncs
//! the bug once the credentials work again, and the item's history is a click away.

mod support;

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{field_map, text, World};
use tandem_engine::ports::Connector;
use tandem_model::{Item, Side};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// ChromeDriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Result<Driver> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        bail!("{CHROMIUM} and {CHROMEDRIVER} are missing: install Debian's chromium and chromium-driver (infra/test.sh does)");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting chromedriver")?;
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("chromedriver did not listen on port {port} within 10 s")
}

/// Headless Chromium with the flags this machine's closed network needs, in a profile of its own.
async fn browser(driver: &Driver, profile: &std::path::Path) -> Result<Client> {
    let options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_string(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Ok(ClientBuilder::new(connector).capabilities(capabilities).connect(&driver.url).await?)
}

async fn file_bug_while_azure_devops_refuses(world: &World) -> Result<Item> {
    world.ado().expire_credentials();
    let fields = field_map(&[("summary", text("Invoice PDF is blank")), ("priority", text("High"))]);
    let bug = world.jira_alice.create_item(&fields, None).await?;
    for _ in 0..100 {
        let failures = world.engine().stores().log.list_failures(&world.config.name).await?;
        // A failed attempt, not the note a delivery leaves while its sync is still under way.
        if failures.iter().any(|failure| failure.item == bug.item.id && failure.last_attempt_began.is_some()) {
            return Ok(bug);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no failure was recorded for {}", bug.item.id)
}

/// A world serving its status page (retries allowed or not), with a bug whose copy failed, and Azure
/// DevOps taking the service account again.
async fn world_with_a_failure(allow_changes: bool) -> Result<(World, std::net::SocketAddr, Item)> {
    let mut world = World::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let status = world.server.as_mut().context("served")?.serve_status(listener, allow_changes)?;
    let bug = file_bug_while_azure_devops_refuses(&world).await?;
    world.ado().renew_credentials();
    Ok((world, status, bug))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_a_failure_and_its_retry_syncs_the_item() -> Result<()> {
    let (world, status, bug) = world_with_a_failure(true).await?;

    let driver = start_driver().await?;
    let profile = tempfile::tempdir()?;
    let client = browser(&driver, profile.path()).await?;
    let shown = async {
        client.goto(&format!("http://{status}/status")).await?;
        let integration = client.find(Locator::Css("[data-testid=integration]")).await?.text().await?;
        assert!(integration.contains("local-demo") && integration.contains("Azure DevOps"), "{integration}");
        assert_eq!(client.find(Locator::Css("[data-testid=health]")).await?.text().await?, "behind");
        client.find(Locator::Css("[data-testid=activity-chart]")).await?;
        let row = client.find(Locator::Css(&format!("[data-testid=failure][data-item='{}']", bug.item.id))).await?;
        assert!(row.text().await?.contains(&format!("side 1 item {}", bug.item.id)));

        row.find(Locator::Css("[data-testid=retry]")).await?.click().await?;
        let notice = client.wait().for_element(Locator::Css("[data-testid=notice]")).await?.text().await?;
        assert!(notice.contains(&format!("Retried side 1 item {}: created", bug.item.id)), "{notice}");
        assert!(client.find_all(Locator::Css("[data-testid=failure]")).await?.is_empty(), "the failure is gone");
        assert_eq!(client.find(Locator::Css("[data-testid=health]")).await?.text().await?, "healthy");

        client.goto(&format!("http://{status}/status/history?integration=local-demo&item=1:{}", bug.item.id)).await?;
        let history = client.find(Locator::Css("[data-testid=history]")).await?.text().await?;
        assert!(history.contains("created") && history.contains("manual"), "{history}");
        anyhow::Ok(())
    }
    .await;
    client.close().await?;
    shown?;
    assert_eq!(world.ado().work_item_count(), 1, "the retry made the copy");
    assert!(world.link_of(Side::One, &bug.item.id).await?.is_some());
    world.finish().await
}

/// Without `--status-changes` the page offers no retry, and a posted one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_status_page_refuses_a_retry() -> Result<()> {
    let (world, status, bug) = world_with_a_failure(false).await?;
    let http = reqwest::Client::new();
    let page = http.get(format!("http://{status}/status")).send().await?.text().await?;
    assert!(page.contains(bug.item.id.as_str()) && !page.contains("data-testid=\"retry\""), "{page}");
    let form = [("integration", "local-demo"), ("side", "1"), ("item", bug.item.id.as_str())];
    let refused = http.post(format!("http://{status}/status/retry")).form(&form).send().await?;
    assert_eq!(refused.status(), 403);
    assert_eq!(world.ado().work_item_count(), 0, "nothing was retried");
    world.finish().await
}
