//! Property tests of the service hook receiver, the one parser here of input nobody at tandem controls:
//! whatever arrives, it never panics; a delivery without our Basic credentials is refused whatever its
//! body; an authentic but unreadable one is malformed, and the error names the member that is missing
//! or of the wrong type.
//!
//! The seeds follow the samples of `docs/service-hooks/events.md` ("Work item") in
//! `MicrosoftDocs/azure-devops-docs`, which `shared/contracts/` does not hold.

use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};
use tandem_azure_devops::AzureDevopsWebhookReceiver;
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_model::{ChangeKind, CommentId, Delivery, SecretString};

const USERNAME: &str = "tandem-hooks";
const PASSWORD: &str = "s3cret";
const PROJECT: &str = "FabrikamCloud";
const COLLECTION: &str = "http://fabrikam-fiber-inc.visualstudio.com/DefaultCollection";

fn receiver() -> AzureDevopsWebhookReceiver {
    AzureDevopsWebhookReceiver::new(USERNAME, SecretString::new(PASSWORD), PROJECT)
}

fn basic(credentials: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

fn authentic(body: Vec<u8>) -> WebhookRequest {
    WebhookRequest { headers: vec![("authorization".into(), basic(&format!("{USERNAME}:{PASSWORD}")))], body }
}

fn receive_json(body: &Value) -> Result<Delivery, WebhookError> {
    receiver().receive(&authentic(serde_json::to_vec(body).expect("JSON serialises")))
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

/// The dotted name of a JSON pointer's member (`/resource/revision/id` → `resource.revision.id`) and
/// of its parent.
fn dotted(pointer: &str) -> (String, String) {
    let segments: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    (segments.join("."), segments[..segments.len() - 1].join("."))
}

fn remove(body: &mut Value, pointer: &str) -> bool {
    let (parent, name) = pointer.rsplit_once('/').expect("a pointer");
    body.pointer_mut(parent).and_then(Value::as_object_mut).and_then(|object| object.remove(name)).is_some()
}

fn replace(body: &mut Value, pointer: &str, value: Value) -> bool {
    body.pointer_mut(pointer).map(|slot| *slot = value).is_some()
}

/// Whether `word` appears in `text` as a word of its own (not inside `invalid` for `id`).
fn names(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn malformed(result: Result<Delivery, WebhookError>) -> String {
    match result {
        Err(WebhookError::Malformed(message)) => message,
        other => panic!("expected a malformed-body error, got {other:?}"),
    }
}

/// Members the receiver cannot do without, when the seed has them.
const REQUIRED: &[&str] = &[
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
];

/// JSON's kinds of value, to build one of a kind a member does not take.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    /// An unsigned integer of at most 32 bits (work item ids).
    U32,
    /// An unsigned integer of at most 64 bits.
    U64,
    /// A map of names to anything, which no array fits.
    Map,
    /// An object read as a struct, which serde also takes as an array (by position).
    Record,
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

/// A seed and one of its typed members.
fn typed_member() -> impl Strategy<Value = (Value, &'static str, Kind)> {
    let member = |table: &'static [(&'static str, Kind)]| prop::sample::select(table);
    prop_oneof![
        (seed(), member(ENVELOPE)),
        (prop_oneof![Just(created()), Just(commented())], member(WORK_ITEM)),
        (Just(updated()), member(UPDATE)),
    ]
    .prop_map(|(body, (pointer, kind))| (body, pointer, kind))
}

fn wrong_value(kind: Kind) -> impl Strategy<Value = Value> {
    let text = "\\PC{0,12}".prop_map(Value::String).boxed();
    let negative = (i64::MIN..0).prop_map(Value::from).boxed();
    let beyond_u32 = (u64::from(u32::MAX) + 1..=u64::MAX).prop_map(Value::from).boxed();
    let fraction = (-1e6f64..1e6).prop_map(|number| json!(number + 0.5)).boxed();
    let flag = any::<bool>().prop_map(Value::Bool).boxed();
    let number = any::<u32>().prop_map(Value::from).boxed();
    let array = prop::collection::vec(any::<u32>().prop_map(Value::from), 0..3).prop_map(Value::Array).boxed();
    let object = Just(json!({"unexpected": true})).boxed();
    match kind {
        Kind::Text => prop_oneof![number, fraction, flag, array, object].boxed(),
        Kind::U32 => prop_oneof![text, negative, beyond_u32, fraction, flag, array, object].boxed(),
        Kind::U64 => prop_oneof![text, negative, fraction, flag, array, object].boxed(),
        Kind::Map => prop_oneof![text, number, fraction, flag, array].boxed(),
        Kind::Record => prop_oneof![text, number, fraction, flag].boxed(),
    }
}

/// Any JSON, its object keys often the members a delivery has, so that parsing gets past the top.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |number| serde_json::Number::from_f64(number).map(Value::Number)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(vec!["workitem.updated", "workitem.created", "workitem.commented", PROJECT])
            .prop_map(Value::from),
    ];
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "subscriptionId", "notificationId", "eventType", "resource", "id", "workItemId", "fields", "revision",
            "revisedBy", "commentVersionRef", "commentId", "System.TeamProject", "System.ChangedBy",
        ])
        .prop_map(str::to_string),
        1 => any::<String>(),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Text that troubles parsers: any characters, or a very long run of them.
fn awkward_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), ("\\PC{1,4}", 10_000..60_000usize).prop_map(|(unit, length)| unit.repeat(length))]
}

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

fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        seed().prop_map(|body| serde_json::to_vec(&body).expect("JSON serialises")),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

#[test]
fn the_seeds_are_accepted() {
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
    fn authentic_bytes_that_are_not_json_are_malformed(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let result = receiver().receive(&authentic(body.clone()));
        if serde_json::from_slice::<Value>(&body).is_err() {
            let message = malformed(result);
            prop_assert!(message.contains("line") && message.contains("column"), "{message}");
        } else {
            prop_assert!(!matches!(result, Err(WebhookError::Unauthorized(_))), "{result:?}");
        }
    }

    /// Authentic JSON of any shape is read, ignored or refused as malformed with a message; never a panic.
    #[test]
    fn authentic_json_of_any_shape_never_panics(body in any_json()) {
        match receive_json(&body) {
            Ok(delivery) => prop_assert_eq!(delivery.notices.len(), 1),
            Err(WebhookError::Unauthorized(message)) => prop_assert!(false, "authentic but refused: {}", message),
            Err(WebhookError::Malformed(message) | WebhookError::Ignored(message)) => prop_assert!(!message.is_empty()),
        }
    }

    /// Without our Basic credentials nothing is read, whatever the body.
    #[test]
    fn wrong_credentials_are_unauthorized_whatever_the_body(
        body in any_body(),
        authorization in wrong_authorization(),
    ) {
        let headers = authorization.map(|value| vec![("Authorization".to_string(), value)]).unwrap_or_default();
        match receiver().receive(&WebhookRequest { headers, body }) {
            Err(WebhookError::Unauthorized(message)) => prop_assert!(!message.is_empty()),
            other => prop_assert!(false, "not refused: {:?}", other),
        }
    }

    /// A documented delivery without a member it needs is malformed, and the error names the member.
    #[test]
    fn a_missing_member_is_named(body in seed(), pointer in prop::sample::select(REQUIRED)) {
        let mut body = body;
        prop_assume!(remove(&mut body, pointer));
        let message = malformed(receive_json(&body));
        let (_, parent) = dotted(pointer);
        let name = pointer.rsplit('/').next().expect("a name");
        prop_assert!(names(&message, name) && (parent.is_empty() || message.contains(&parent)), "{pointer}: {message}");
    }

    /// A documented delivery with a member of the wrong type is malformed, and the error names the member
    /// by its whole path.
    #[test]
    fn a_member_of_the_wrong_type_is_named(
        (body, pointer, value) in typed_member()
            .prop_flat_map(|(body, pointer, kind)| (Just(body), Just(pointer), wrong_value(kind)))
    ) {
        let mut body = body;
        prop_assume!(replace(&mut body, pointer, value));
        let message = malformed(receive_json(&body));
        let (path, _) = dotted(pointer);
        prop_assert!(message.contains(&path), "{pointer}: {message}");
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
