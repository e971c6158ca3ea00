//! Attachments between Jira and Azure DevOps, end to end: files attached on either side by a person
//! are copied once, with their names and content, and stay copied once after edits on both sides; a
//! removed original takes its copy with it; a file over the configured limit is recorded, not copied.

mod support;

use anyhow::{Context, Result};
use support::{local_config, text, World};
use tandem_engine::ports::Connector;
use tandem_model::{Attachment, AttachmentContent, Item, Side};

/// A small PNG (the signature and a few bytes): content is compared byte for byte.
fn screenshot() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.extend((0..600u32).map(|n| (n * 7 % 251) as u8));
    bytes
}

fn names(item: &Item) -> Vec<String> {
    let mut names: Vec<String> = item.attachments.iter().map(|attachment| attachment.name.clone()).collect();
    names.sort();
    names
}

fn named<'a>(item: &'a Item, name: &str) -> Result<&'a Attachment> {
    item.attachments
        .iter()
        .find(|attachment| attachment.name == name)
        .with_context(|| format!("no `{name}` on {}", item.item.id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_attached_on_either_side_are_copied_once_and_a_removal_follows() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = world.linked_bug("Export drops the last row", "High").await?;

    world.jira_attach(&bug.item.id, "export.csv", "text/csv", b"id,total\n1,10\n2,20\n").await?;
    world.jira_attach(&bug.item.id, "screenshot.png", "image/png", &screenshot()).await?;
    world.settle().await?;
    let in_ado = world.ado_alice.get_item(&copy.item.id).await?;
    assert_eq!(names(&in_ado), ["export.csv", "screenshot.png"], "both files reach the copy");
    let png = named(&in_ado, "screenshot.png")?;
    let downloaded = world.ado_alice.download_attachment(&copy.item.id, png, 1 << 20).await?;
    assert_eq!(downloaded.bytes, screenshot(), "the copy holds the same bytes");

    // A file attached in Azure DevOps reaches Jira, with its type.
    let log = AttachmentContent {
        name: "server.log".into(),
        content_type: "text/plain".into(),
        bytes: b"GET /export 500".to_vec(),
    };
    world.ado_alice.upload_attachment(&copy.item.id, &log, "").await?;
    world.settle().await?;
    let in_jira = world.jira_alice.get_item(&bug.item.id).await?;
    assert_eq!(names(&in_jira), ["export.csv", "screenshot.png", "server.log"]);
    assert_eq!(named(&in_jira, "server.log")?.content_type.as_deref(), Some("text/plain"));

    // Edits on both sides upload nothing again.
    world.edit_in_jira(&bug.item.id, &[("summary", text("Export drops the last row of a page"))]).await?;
    world
        .edit_in_ado(&copy.item.id, &[("Microsoft.VSTS.Common.Priority", tandem_model::FieldValue::Number(1.0))])
        .await?;
    world.settle().await?;
    let (in_jira, in_ado) =
        (world.jira_alice.get_item(&bug.item.id).await?, world.ado_alice.get_item(&copy.item.id).await?);
    assert_eq!(in_jira.attachments.len(), 3, "{:?}", names(&in_jira));
    assert_eq!(in_ado.attachments.len(), 3, "{:?}", names(&in_ado));

    // Removing an original removes its copy; its copy's removal is not undone by a re-upload.
    let csv = named(&in_jira, "export.csv")?.id.clone();
    world.jira_rest(reqwest::Method::DELETE, &format!("/rest/api/3/attachment/{csv}"), None).await?;
    world.settle().await?;
    let in_ado = world.ado_alice.get_item(&copy.item.id).await?;
    assert_eq!(names(&in_ado), ["screenshot.png", "server.log"]);
    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    assert_eq!(link.attachments.len(), 2, "{:?}", link.attachments);
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_limit_is_recorded_in_the_history_and_not_copied() -> Result<()> {
    let config = local_config(|text| format!("{text}\nattachments:\n  max_bytes: 500\n"))?;
    let world = World::with_config(config).await?;
    let (bug, copy) = world.linked_bug("Crash dump attached", "High").await?;
    world.jira_attach(&bug.item.id, "core.dump", "application/octet-stream", &[7u8; 2000]).await?;
    world.jira_attach(&bug.item.id, "note.txt", "text/plain", b"small enough").await?;
    world.settle().await?;
    let in_ado = world.ado_alice.get_item(&copy.item.id).await?;
    assert_eq!(names(&in_ado), ["note.txt"], "the small file is copied, the large one is not");

    let now = chrono::Utc::now();
    let stores = world.engine().stores();
    let history =
        tandem_cli::history::item_history(stores, &world.engine().config().name, Side::One, &bug.item.id, 20, now)
            .await?;
    let shown = history.to_string();
    assert!(shown.contains("attachment \"core.dump\""), "{shown}");
    assert!(
        shown.contains(
            "not copied on side 2: 2.0 KB is over the 500 bytes limit (attachments.max_bytes); the original is at http"
        ),
        "{shown}"
    );
    // Later syncs do not try it again.
    world.edit_in_jira(&bug.item.id, &[("summary", text("Crash dump attached (2 files)"))]).await?;
    world.settle().await?;
    assert_eq!(names(&world.ado_alice.get_item(&copy.item.id).await?), ["note.txt"]);
    world.finish().await
}
