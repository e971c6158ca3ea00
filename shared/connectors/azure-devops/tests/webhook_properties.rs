//! Property tests of the service hook receiver, the one parser here of input nobody at tandem controls:
//! the connector kit's properties (never a panic, forgeries refused, missing and mistyped members
//! named), and what only Azure DevOps' deliveries have.
//!
//! The seeds follow the samples of `docs/service-hooks/events.md` ("Work item") in
//! `MicrosoftDocs/azure-devops-docs`, which `shared/contracts/` does not hold.

use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};
use tandem_azure_devops::AzureDevopsWebhookReceiver;
use tandem_connector_kit::webhooks::{awkward_text, receive, replace, wrong_value, Kind, Seed, WebhookSubject};
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_model::{ChangeKind, CommentId, Delivery, SecretString};

const USERNAME: &str = "tandem-hooks";
const PASSWORD: &str = "s3cret";
const PROJECT: &str = "FabrikamCloud";
const COLLECTION: &str = "http://fabrikam-fiber-inc.visualstudio.com/DefaultCollection";

struct AzureDevops;

fn basic(credentials: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

impl WebhookSubject for AzureDevops {
    fn receiver(&self) -> Box<dyn WebhookReceiver> {
        Box::new(AzureDevopsWebhookReceiver::new(USERNAME, SecretString::new(PASSWORD), PROJECT))
    }

    fn authentic(&self, body: Vec<u8>) -> WebhookRequest {
        WebhookRequest::new(vec![("authorization".into(), basic(&format!("{USERNAME}:{PASSWORD}")))], body)
    }

    fn forged(&self, body: Vec<u8>) -> BoxedStrategy<WebhookRequest> {
        wrong_authorization()
            .prop_map(move |authorization| {
                let headers = authorization.map(|value| vec![("Authorization".to_string(), value)]).unwrap_or_default();
                WebhookRequest::new(headers, body.clone())
            })
            .boxed()
    }

    fn seeds(&self) -> Vec<Seed> {
        let typed = |table: &[(&'static str, Kind)]| [ENVELOPE, table].concat();
        vec![
            Seed { body: created(), typed: typed(WORK_ITEM) },
            Seed { body: commented(), typed: typed(WORK_ITEM) },
            Seed { body: updated(), typed: typed(UPDATE) },
        ]
    }

    fn required(&self) -> &'static [&'static str] {
        &[
            "/subscriptionId",
            "/notificationId",
            "/eventType",
            "/resource",
            "/resource/id",
            "/resource/workItemId",
            "/resource/fields/System.TeamProject",
            "/resource/revision/id",
            "/resource/revision/fields/System.TeamProject",
            "/resource/commentVersionRef/commentId",
        ]
    }

    fn vocabulary(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let keys = vec![
            "subscriptionId",
            "notificationId",
            "eventType",
            "resource",
            "id",
            "workItemId",
            "fields",
            "revision",
            "revisedBy",
            "commentVersionRef",
            "commentId",
            "System.TeamProject",
            "System.ChangedBy",
        ];
        (keys, vec!["workitem.updated", "workitem.created", "workitem.commented", PROJECT])
    }
}

tandem_connector_kit::webhook_conformance!(AzureDevops);

fn receive_json(body: &Value) -> Result<Delivery, WebhookError> {
    receive(&AzureDevops, body)
}

/// The envelope every sample shares around its `resource`.
fn event(event_type: &str, notification_id: u64, resource: Value) -> Value {
    json!({
        "subscriptionId": "00000000-0000-0000-0000-000000000000",
        "notificationId": notification_id,
        "id": "d2d46fb1-dba5-403c-9373-427583f19e8c",
        "eventType": event_type,
        "publisherId": "tfs",
        "message": {"text": "Bug #5 (Some great new idea!) changed by Jamal Hartnett."},
        "resource": resource,
        "resourceVersion": "1.0",
        "resourceContainers": {
            "collection": {"id": "c12d0eb8-e382-443b-9f9c-c52cba5014c2"},
            "account": {"id": "f844ec47-a9db-4511-8281-8b63f4eaf94e"},
            "project": {"id": "be9b3917-87e6-42a4-a549-2bc06a7a878f"}
        },
        "createdDate": "2016-09-19T13:03:27.0379153Z"
    })
}

fn work_item(extra_fields: &[(&str, Value)]) -> Value {
    let mut fields = json!({
        "System.AreaPath": "FabrikamCloud",
        "System.TeamProject": "FabrikamCloud",
        "System.IterationPath": "FabrikamCloud",
        "System.WorkItemType": "Bug",
        "System.State": "New",
        "System.Reason": "New defect reported",
        "System.CreatedDate": "2014-07-15T17:42:44.663Z",
        "System.CreatedBy": "Jamal Hartnett <fabrikamfiber4@hotmail.com>",
        "System.ChangedDate": "2014-07-15T17:42:44.663Z",
        "System.ChangedBy": "Jamal Hartnett <fabrikamfiber4@hotmail.com>",
        "System.Title": "Some great new idea!",
        "Microsoft.VSTS.Common.Severity": "3 - Medium"
    });
    for (name, value) in extra_fields {
        fields[name] = value.clone();
    }
    json!({
        "id": 5,
        "rev": 1,
        "fields": fields,
        "_links": {"self": {"href": format!("{COLLECTION}/_apis/wit/workItems/5")}},
        "url": format!("{COLLECTION}/_apis/wit/workItems/5")
    })
}

fn created() -> Value {
    event("workitem.created", 1, work_item(&[]))
}

/// The service names the comment of a comment revision in `commentVersionRef`.
fn commented() -> Value {
    let mut resource = work_item(&[("System.History", json!("This is a great new idea"))]);
    resource["rev"] = json!(2);
    resource["commentVersionRef"] = json!({
        "commentId": 41,
        "version": 1,
        "url": format!("{COLLECTION}/_apis/wit/workItems/5/comments/41/versions/1")
    });
    event("workitem.commented", 3, resource)
}

fn updated() -> Value {
    let mut revision = work_item(&[("System.State", json!("Approved"))]);
    revision["rev"] = json!(2);
    event(
        "workitem.updated",
        5,
        json!({
            "id": 2,
            "workItemId": 5,
            "rev": 2,
            "revisedBy": {
                "id": "e5a5f7f8-6507-4c34-b397-6c4818e002f4",
                "name": "Jamal Hartnett <fabrikamfiber4@hotmail.com>",
                "displayName": "Jamal Hartnett",
                "uniqueName": "fabrikamfiber4@hotmail.com",
                "url": concat!(
                    "http://fabrikam-fiber-inc.visualstudio.com/_apis/Identities/",
                    "e5a5f7f8-6507-4c34-b397-6c4818e002f4"
                )
            },
            "revisedDate": "0001-01-01T00:00:00",
            "fields": {
                "System.Rev": {"oldValue": "1", "newValue": "2"},
                "System.State": {"oldValue": "New", "newValue": "Approved"},
                "System.Reason": {"oldValue": "New defect reported", "newValue": "Approved by the Product Owner"},
                "Microsoft.VSTS.Common.Severity": {"oldValue": "3 - Medium", "newValue": "2 - High"}
            },
            "url": format!("{COLLECTION}/_apis/wit/workItems/5/updates/2"),
            "revision": revision
        }),
    )
}

fn seed() -> impl Strategy<Value = Value> {
    prop_oneof![Just(created()), Just(commented()), Just(updated())]
}

fn malformed(result: Result<Delivery, WebhookError>) -> String {
    match result {
        Err(WebhookError::Malformed(message)) => message,
        other => panic!("expected a malformed-body error, got {other:?}"),
    }
}

/// Typed members of the envelope, and their kind.
const ENVELOPE: &[(&str, Kind)] = &[
    ("/subscriptionId", Kind::Text),
    ("/notificationId", Kind::U64),
    ("/eventType", Kind::Text),
    ("/createdDate", Kind::Text),
    ("/resource", Kind::Record),
];

/// Typed members of a work item resource (`workitem.created`, `workitem.commented`).
const WORK_ITEM: &[(&str, Kind)] = &[
    ("/resource/id", Kind::U32),
    ("/resource/rev", Kind::U64),
    ("/resource/fields", Kind::Map),
    ("/resource/url", Kind::Text),
    ("/resource/commentVersionRef", Kind::Record),
    ("/resource/commentVersionRef/commentId", Kind::U64),
    ("/resource/commentVersionRef/version", Kind::U64),
];

/// Typed members of an update resource (`workitem.updated`).
const UPDATE: &[(&str, Kind)] = &[
    ("/resource/id", Kind::U64),
    ("/resource/workItemId", Kind::U32),
    ("/resource/rev", Kind::U64),
    ("/resource/fields", Kind::Map),
    ("/resource/revisedBy", Kind::Record),
    ("/resource/revisedBy/displayName", Kind::Text),
    ("/resource/revisedBy/uniqueName", Kind::Text),
    ("/resource/revisedDate", Kind::Text),
    ("/resource/revision", Kind::Record),
    ("/resource/revision/id", Kind::U32),
    ("/resource/revision/fields", Kind::Map),
    ("/resource/revision/url", Kind::Text),
];

/// An Authorization header that does not carry our credentials.
fn wrong_authorization() -> impl Strategy<Value = Option<String>> {
    let expected = format!("{USERNAME}:{PASSWORD}");
    prop_oneof![
        Just(None),
        any::<String>().prop_map(Some),
        "[A-Za-z0-9+/=]{0,40}".prop_map(|encoded| Some(format!("Basic {encoded}"))),
        ("\\PC{0,12}", "\\PC{0,12}").prop_filter_map("other credentials", move |(user, password)| {
            let credentials = format!("{user}:{password}");
            (credentials != expected).then(|| Some(basic(&credentials)))
        }),
        Just(Some(basic(USERNAME))),
        Just(Some(basic(&format!("{USERNAME}:{PASSWORD} ")))),
        Just(Some(format!("Bearer {PASSWORD}"))),
    ]
}

#[test]
fn the_documented_deliveries_say_what_changed() {
    let delivery = receive_json(&created()).expect("the created sample is read");
    assert_eq!(delivery.id, "00000000-0000-0000-0000-000000000000:1");
    assert_eq!(delivery.notices[0].kind, ChangeKind::ItemCreated);
    let delivery = receive_json(&commented()).expect("the commented sample is read");
    assert_eq!(delivery.notices[0].kind, ChangeKind::CommentCreated(CommentId("41".into())));
    let delivery = receive_json(&updated()).expect("the updated sample is read");
    assert_eq!(delivery.notices[0].kind, ChangeKind::ItemUpdated);
    assert_eq!(delivery.notices[0].item.as_str(), "5");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Authentic bytes that are not JSON are malformed, and the error says where reading stopped.
    #[test]
    fn authentic_bytes_that_are_not_json_say_where_reading_stopped(
        body in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        prop_assume!(serde_json::from_slice::<Value>(&body).is_err());
        let message = malformed(AzureDevops.receiver().receive(&AzureDevops.authentic(body)));
        prop_assert!(message.contains("line") && message.contains("column"), "{message}");
    }

    /// A project name that is not text is as good as none: malformed, and the error names the field.
    #[test]
    fn a_project_that_is_not_text_is_named(body in seed(), value in wrong_value(Kind::Text)) {
        let mut body = body;
        let pointer = if body["eventType"] == "workitem.updated" {
            "/resource/revision/fields/System.TeamProject"
        } else {
            "/resource/fields/System.TeamProject"
        };
        replace(&mut body, pointer, value);
        let message = malformed(receive_json(&body));
        prop_assert!(message.contains("System.TeamProject"), "{message}");
    }

    /// Identifiers, names and dates of any length and alphabet are read without a panic, and the ids and
    /// names reach the delivery unchanged.
    #[test]
    fn awkward_text_passes_through(text in awkward_text()) {
        let mut body = updated();
        replace(&mut body, "/subscriptionId", json!(text));
        replace(&mut body, "/resource/revisedBy/displayName", json!(text));
        replace(&mut body, "/resource/revisedDate", json!(text));
        let delivery = receive_json(&body).expect("read");
        prop_assert_eq!(delivery.id, format!("{text}:5"));
        let actor = delivery.notices[0].actor.clone();
        prop_assert_eq!(actor.and_then(|actor| actor.display_name), Some(text.clone()));

        let mut body = commented();
        replace(&mut body, "/resource/fields/System.ChangedBy", json!(text));
        replace(&mut body, "/resource/fields/System.ChangedDate", json!(text));
        let delivery = receive_json(&body).expect("read");
        prop_assert_eq!(delivery.notices[0].kind.clone(), ChangeKind::CommentCreated(CommentId("41".into())));
    }

    /// An unknown event type or another project is ignored, and the reason quotes what was found.
    #[test]
    fn unknown_events_and_projects_are_ignored_by_name(
        body in seed(),
        text in awkward_text(),
        in_event in any::<bool>(),
    ) {
        prop_assume!(!text.eq_ignore_ascii_case(PROJECT) && !text.starts_with("workitem."));
        let mut body = body;
        let pointer = match (in_event, body["eventType"] == "workitem.updated") {
            (true, _) => "/eventType",
            (false, true) => "/resource/revision/fields/System.TeamProject",
            (false, false) => "/resource/fields/System.TeamProject",
        };
        replace(&mut body, pointer, json!(text));
        match receive_json(&body) {
            Err(WebhookError::Ignored(message)) => prop_assert!(message.contains(&text)),
            other => prop_assert!(false, "not ignored: {:?}", other),
        }
    }

    /// Any comment version is read: the first version is a new comment, later ones are edits.
    #[test]
    fn any_comment_version_is_read(comment_id in any::<u64>(), version in any::<u64>()) {
        let mut body = commented();
        body["resource"]["commentVersionRef"] = json!({"commentId": comment_id, "version": version});
        let kind = receive_json(&body).expect("read").notices.remove(0).kind;
        let id = CommentId(comment_id.to_string());
        let expected = if version > 1 { ChangeKind::CommentUpdated(id) } else { ChangeKind::CommentCreated(id) };
        prop_assert_eq!(kind, expected);
    }
}
