//! Attachments on Azure DevOps work items as the REST API documents them: the file uploaded to
//! `_apis/wit/attachments` (`application/octet-stream`), then linked with an `AttachedFile` relation,
//! downloaded from the URL the upload answered with, and removed by removing the relation. And a work item
//! deleted to the recycle bin.

mod common;

use common::{AdoAs, JSON_PATCH};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, HookTarget};

/// Files of tens of megabytes are common (logs, captures, videos): one upload takes them whole, and they
/// come back as sent.
#[tokio::test]
async fn a_file_of_tens_of_megabytes_is_uploaded_in_one_request() {
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the simulator starts");
    let file: Vec<u8> = (0..25 * 1024 * 1024_u32).map(|at| (at % 251) as u8).collect();
    let http = reqwest::Client::new();
    let pat = ado.service_account().pat.clone();
    let url = upload(&ado, "capture.pcap", file.clone()).await;
    let downloaded =
        http.get(format!("{url}&api-version=7.1")).basic_auth("", Some(&pat)).send().await.expect("an answer");
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert!(downloaded.bytes().await.expect("the file").as_ref() == file.as_slice(), "the file comes back as sent");
}

#[tokio::test]
async fn a_file_is_uploaded_attached_downloaded_and_detached() {
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the simulator starts");
    let service = AdoAs::service(&ado);
    let bug = service.create("Fabrikam", "Bug", "Crash on save").await;
    let id = bug["id"].as_u64().expect("an id");
    let http = reqwest::Client::new();
    let pat = ado.service_account().pat.clone();
    let png: &[u8] = b"\x89PNG\r\n\x1a\n pixels";

    let url = upload(&ado, "crash log.png", png.to_vec()).await;
    assert!(url.contains("/_apis/wit/attachments/") && url.ends_with("fileName=crash+log.png"), "{url}");

    let attach = json!([{ "op": "add", "path": "/relations/-", "value": {
        "rel": "AttachedFile", "url": url, "attributes": { "comment": "from the crash reporter" }
    }}]);
    let attached = service.patch(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1"), &attach).await;
    assert_eq!(attached.status, StatusCode::OK, "{}", attached.body);
    let relation = &attached.body["relations"][0];
    assert_eq!(
        (relation["rel"].as_str(), relation["attributes"]["name"].as_str()),
        (Some("AttachedFile"), Some("crash log.png"))
    );
    assert_eq!(relation["attributes"]["resourceSize"], png.len());

    let downloaded =
        http.get(format!("{url}&api-version=7.1")).basic_auth("", Some(&pat)).send().await.expect("an answer");
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert_eq!(downloaded.bytes().await.expect("the file").as_ref(), png);

    let unknown = json!([{ "op": "add", "path": "/relations/-", "value": {
        "rel": "AttachedFile", "url": format!("{}/_apis/wit/attachments/00000000-0000-0000-0000-000000000000", ado.organization_url())
    }}]);
    let refused = service.patch(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1"), &unknown).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "a relation to a file never uploaded: {}", refused.body);

    let detach = json!([{ "op": "remove", "path": "/relations/0" }]);
    let detached = service.patch(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1"), &detach).await;
    assert_eq!(detached.status, StatusCode::OK);
    assert!(detached.body["relations"].as_array().is_none_or(Vec::is_empty), "{}", detached.body);
    let as_json = service
        .call(Method::POST, "Fabrikam/_apis/wit/attachments?api-version=7.1", JSON_PATCH, Some(&json!({})))
        .await;
    assert_eq!(as_json.status, StatusCode::BAD_REQUEST, "the file is sent as octet-stream");
    let violations = ado.violations();
    assert!(
        violations.iter().all(|violation| violation.violation.message.contains("is not accepted")),
        "only the deliberate JSON upload departs from the contract: {violations:#?}"
    );
}

#[tokio::test]
async fn a_deleted_work_item_is_gone_and_the_service_hook_says_so() {
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the simulator starts");
    let (url, received) = common::receiver().await;
    ado.subscribe_hook(HookTarget { url, username: None, password: None, headers: Default::default() });
    let service = AdoAs::service(&ado);
    let bug = service.create("Fabrikam", "Bug", "Filed by mistake").await;
    let id = bug["id"].as_u64().expect("an id");
    let path = format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1");
    let deleted = service.call(Method::DELETE, &path, "application/json", None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!((deleted.body["id"].as_u64(), deleted.body["code"].as_u64()), (Some(id), Some(200)));
    assert_eq!(service.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(service.call(Method::DELETE, &path, "application/json", None).await.status, StatusCode::NOT_FOUND);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let hooks = common::bodies_where(&received, "eventType", "workitem.deleted");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["resource"]["id"].as_u64(), Some(id));
    assert!(ado.violations().is_empty(), "{:#?}", ado.violations());
}

/// Uploads `file` as the service account, as `fileName` `name`; the URL the upload answers with.
async fn upload(ado: &tandem_simulators::azure_devops::RunningAzureDevops, name: &str, file: Vec<u8>) -> String {
    let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let uploaded = reqwest::Client::new()
        .post(format!("{}/Fabrikam/_apis/wit/attachments?fileName={name}&api-version=7.1", ado.organization_url()))
        .basic_auth("", Some(&ado.service_account().pat))
        .header("content-type", "application/octet-stream")
        .body(file)
        .send()
        .await
        .expect("an answer");
    assert_eq!(uploaded.status(), StatusCode::OK);
    let reference: serde_json::Value = uploaded.json().await.expect("JSON");
    reference["url"].as_str().expect("a URL").to_string()
}
