//! Attachments between Jira and Azure DevOps, end to end: files attached on either side by a person
//! are copied once, with their names and content, and stay copied once after edits on both sides; a
//! removed original takes its copy with it; a file over the configured limit is recorded, not copied;
//! an image in a text is shown on the other side from the copy of its file.

mod support;

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::json;
use support::{local_config, text, World};
use tandem_engine::ports::Connector;
use tandem_model::{Attachment, AttachmentContent, FieldValue, Item, RichText, Side};

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
        bytes: b"GET /export 500".as_slice().into(),
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
async fn files_over_the_limits_are_recorded_in_the_history_and_not_copied() -> Result<()> {
    let config = local_config(|text| format!("{text}\nattachments:\n  max_bytes: 500\n  max_files: 1\n"))?;
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

    // Past `max_files` copied from the item, a file is recorded and left where it is.
    world.jira_attach(&bug.item.id, "more.txt", "text/plain", b"one too many").await?;
    world.settle().await?;
    assert_eq!(names(&world.ado_alice.get_item(&copy.item.id).await?), ["note.txt"]);
    let history =
        tandem_cli::history::item_history(stores, &world.engine().config().name, Side::One, &bug.item.id, 20, now)
            .await?;
    let shown = history.to_string();
    assert!(shown.contains("1 files of this item are copied, the limit (attachments.max_files)"), "{shown}");
    world.finish().await
}

/// A description as Jira's editor writes it with a screenshot pasted in: the image is a `media` node
/// naming the file by its media id (which the REST API does not give) and by its name in `alt`.
fn description_with_screenshot() -> serde_json::Value {
    json!({"version": 1, "type": "doc", "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "The total is wrong, see:"}]},
        {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {
                "type": "file", "id": "6e2b0a1c-3f4d-4c5e-9a7b-1d2e3f4a5b6c", "collection": "",
                "alt": "screenshot.png", "width": 640, "height": 480,
            }},
        ]},
        {"type": "paragraph", "content": [{"type": "text", "text": "Happens on every export."}]},
    ]})
}

/// The file an `<img>` in Azure DevOps HTML shows, fetched from its address (with the `api-version` the
/// REST contract asks of a client).
async fn shown_image(world: &World, html: &str) -> Result<(String, Vec<u8>)> {
    let src = html.split("<img src=\"").nth(1).and_then(|rest| rest.split('"').next()).context("an <img>")?;
    let src = src.replace("&amp;", "&");
    let alice_pat = world.ado().identity("alice@fabrikam.example").context("ADO simulator has Alice")?.pat;
    let answer = reqwest::Client::new()
        .get(&src)
        .query(&[("api-version", "7.1")])
        .basic_auth("", Some(alice_pat))
        .send()
        .await?;
    anyhow::ensure!(answer.status().is_success(), "GET {src}: {}", answer.status());
    Ok((src.clone(), answer.bytes().await?.to_vec()))
}

fn html_of(value: &FieldValue) -> Result<String> {
    match value {
        FieldValue::RichText(RichText::Html(html)) => Ok(html.clone()),
        other => anyhow::bail!("not HTML: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_screenshot_is_shown_from_the_copys_own_storage_and_a_round_trip_changes_no_text() -> Result<()> {
    let world = World::start().await?;
    let bug = world.create_jira_bug("Totals are wrong in the export", "High").await?;
    world.jira_attach(&bug.item.id, "export.csv", "text/csv", b"id,total\n1,10\n").await?;
    world.jira_attach(&bug.item.id, "trace.txt", "text/plain", b"at export()").await?;
    world.jira_attach(&bug.item.id, "screenshot.png", "image/png", &screenshot()).await?;
    let description = json!({"fields": {"description": description_with_screenshot()}});
    world.jira_rest(Method::PUT, &format!("/rest/api/3/issue/{}", bug.item.id), Some(description)).await?;
    world.settle().await?;

    let copy = world.copy_in_ado(&bug).await?;
    assert_eq!(names(&copy), ["export.csv", "screenshot.png", "trace.txt"], "every file once");
    let html = html_of(copy.field("System.Description"))?;
    assert!(html.starts_with("<p>The total is wrong, see:</p><img src=\""), "{html}");
    assert!(html.ends_with("<p>Happens on every export.</p>"), "{html}");
    let (src, bytes) = shown_image(&world, &html).await?;
    let copied_png = named(&copy, "screenshot.png")?;
    assert!(src.starts_with(&world.ado().organization_url().to_string()), "from the copy's own storage: {src}");
    assert!(src.contains(&copied_png.id.0), "the image is the copied attachment: {src}");
    assert_eq!(bytes, screenshot());

    // A person edits the text in Azure DevOps: Jira's text changes by those words only, its image is
    // the same node, and nothing is uploaded again either way.
    let edited = html.replace("Happens on every export.", "Happens on every export since 4.2.");
    world.edit_in_ado(&copy.item.id, &[("System.Description", FieldValue::RichText(RichText::Html(edited)))]).await?;
    world.settle().await?;
    let in_jira = world.jira_alice.get_item(&bug.item.id).await?;
    let FieldValue::RichText(RichText::Adf(adf)) = in_jira.field("description") else { panic!("ADF") };
    let mut expected = description_with_screenshot();
    expected["content"][2]["content"][0]["text"] = json!("Happens on every export since 4.2.");
    assert_eq!(
        tandem_rich_text::normalize_adf(adf)?,
        tandem_rich_text::normalize_adf(&expected)?,
        "the original's image node is kept"
    );
    assert_eq!(in_jira.attachments.len(), 3, "{:?}", names(&in_jira));
    assert_eq!(world.ado_alice.get_item(&copy.item.id).await?.attachments.len(), 3);

    // An image pasted into an Azure DevOps comment (uploaded, not attached) appears in the Jira comment,
    // from a file attached to the Jira issue.
    let pasted = ado_upload(&world, "pasted.png", &screenshot()[..300]).await?;
    let comment = json!({"text": format!("<div>Still there:</div><div><img src=\"{pasted}\"></div>")});
    world
        .ado_rest(Method::POST, &format!("Fabrikam/_apis/wit/workItems/{}/comments", copy.item.id), Some(comment))
        .await?;
    world.settle().await?;
    let comments = world.jira_rest(Method::GET, &format!("/rest/api/3/issue/{}/comment", bug.item.id), None).await?;
    let body = &comments["comments"][0]["body"];
    let media = body["content"].as_array().context("content")?.iter().find(|node| node["type"] == "mediaSingle");
    let url = media.context("an image in the Jira comment")?["content"][0]["attrs"]["url"].as_str().context("url")?;
    let in_jira = world.jira_alice.get_item(&bug.item.id).await?;
    let pasted_copy = named(&in_jira, "pasted.png")?;
    assert_eq!(url, format!("{}/rest/api/3/attachment/content/{}", world.jira().base_url(), pasted_copy.id));
    let fetched = world.jira_alice.download_attachment(&bug.item.id, pasted_copy, 1 << 20).await?;
    assert_eq!(fetched.bytes, &screenshot()[..300]);
    assert!(
        world.ado_alice.get_item(&copy.item.id).await?.attachments.len() == 3,
        "the pasted image is not copied back"
    );
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_description_that_is_only_an_image_is_a_value_and_reaches_the_copy() -> Result<()> {
    let world = World::start().await?;
    // No notice until the issue is whole: the poll copies it, image and all, in one go (the copy is
    // created before its files can be, and its text is written again once they are).
    world.jira().webhooks().pause();
    let bug = world.create_jira_bug("Totals", "High").await?;
    let attached = world.jira_attach(&bug.item.id, "shot.png", "image/png", &screenshot()).await?;
    let id = attached[0]["id"].as_str().context("the attachment's id")?;
    // The image as an API client writes it: an external media node at the file's REST address.
    let url = format!("{}/rest/api/3/attachment/content/{id}", world.jira().base_url());
    let image = json!({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
        {"type": "media", "attrs": {"type": "external", "url": url, "alt": "shot.png"}},
    ]});
    let description = json!({"fields": {"description": {"version": 1, "type": "doc", "content": [image]}}});
    world.jira_rest(Method::PUT, &format!("/rest/api/3/issue/{}", bug.item.id), Some(description)).await?;
    world.settle().await?;
    world.jira().webhooks().resume();
    let copy = world.copy_in_ado(&bug).await?;
    let html = html_of(copy.field("System.Description"))?;
    let (src, bytes) = shown_image(&world, &html).await?;
    assert!(src.contains(&named(&copy, "shot.png")?.id.0), "{html}");
    assert_eq!(bytes, screenshot());
    world.finish().await
}

/// Alice pastes an image into Azure DevOps' editor: the file is uploaded (not attached); answers its address.
async fn ado_upload(world: &World, name: &str, bytes: &[u8]) -> Result<String> {
    let alice_pat = world.ado().identity("alice@fabrikam.example").context("ADO simulator has Alice")?.pat;
    let url =
        format!("{}/Fabrikam/_apis/wit/attachments?fileName={name}&api-version=7.1", world.ado().organization_url());
    let answer = reqwest::Client::new()
        .post(url)
        .basic_auth("", Some(alice_pat))
        .header("Content-Type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await?;
    let uploaded: serde_json::Value = answer.error_for_status()?.json().await?;
    Ok(uploaded["url"].as_str().context("the upload's address")?.to_string())
}
