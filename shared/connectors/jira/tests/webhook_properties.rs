//! Property tests of the webhook receiver, the one parser here of input nobody at tandem controls:
//! whatever arrives, it never panics; a forged delivery is refused whatever its body; an authentic but
//! unreadable one is malformed, and the error names the member that is missing or of the wrong type.

use proptest::prelude::*;
use serde_json::{json, Value};
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_jira::JiraWebhookReceiver;
use tandem_model::{ChangeKind, CommentId, SecretString};
use tandem_simulators::webhooks::hmac_sha256_hex;

const SECRET: &str = "webhook-s3cret";

fn receiver() -> JiraWebhookReceiver {
    JiraWebhookReceiver::new(SecretString::new(SECRET), "OPS")
}

fn signed(body: Vec<u8>) -> WebhookRequest {
    let signature = format!("sha256={}", hmac_sha256_hex(SECRET.as_bytes(), &body));
    WebhookRequest { headers: vec![("x-hub-signature".into(), signature)], body }
}

fn receive_json(body: &Value) -> Result<tandem_model::Delivery, WebhookError> {
    receiver().receive(&signed(serde_json::to_vec(body).expect("JSON serialises")))
}

/// The documented `jira:issue_updated` delivery kept with this crate's tests.
fn issue_updated() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/issue_updated.json");
    serde_json::from_slice(&std::fs::read(path).expect("the fixture is readable")).expect("the fixture is JSON")
}

/// A `comment_created` delivery in the documented shape: no `user`, the comment's author instead.
fn comment_created() -> Value {
    json!({
        "timestamp": 1706696430123_i64,
        "webhookEvent": "comment_created",
        "comment": {
            "self": "https://acme.atlassian.net/rest/api/2/issue/10042/comment/10301",
            "id": "10301",
            "author": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Alice Example", "active": true},
            "body": "Smoke is visible from the corridor.",
            "updateAuthor": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Alice Example", "active": true},
            "created": "2024-01-31T11:20:30.123+0100",
            "updated": "2024-01-31T11:20:30.123+0100",
            "jsdPublic": true
        },
        "issue": {
            "id": "10042",
            "self": "https://acme.atlassian.net/rest/api/2/10042",
            "key": "OPS-42",
            "fields": {
                "summary": "Printer on fire",
                "issuetype": {"id": "10004", "name": "Bug", "subtask": false},
                "project": {"id": "10000", "key": "OPS", "name": "Operations"},
                "priority": {"id": "2", "name": "High"}
            }
        }
    })
}

fn seed() -> impl Strategy<Value = Value> {
    prop_oneof![Just(issue_updated()), Just(comment_created())]
}

/// The dotted name of a JSON pointer's member (`/issue/fields/project` → `issue.fields.project`) and
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

fn malformed(result: Result<tandem_model::Delivery, WebhookError>) -> String {
    match result {
        Err(WebhookError::Malformed(message)) => message,
        other => panic!("expected a malformed-body error, got {other:?}"),
    }
}

/// Members the receiver cannot do without, when the seed has them.
const REQUIRED: &[&str] = &[
    "/webhookEvent",
    "/issue",
    "/issue/id",
    "/user/accountId",
    "/comment",
    "/comment/id",
    "/comment/author/accountId",
];

/// JSON's kinds of value, to build one of a kind a member does not take.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Integer,
    Flag,
    Object,
}

/// Typed members and their kind. Objects read as structs also take arrays (serde reads them by
/// position), so an array is never "the wrong type" for them.
const TYPED: &[(&str, Kind)] = &[
    ("/webhookEvent", Kind::Text),
    ("/timestamp", Kind::Integer),
    ("/issue_event_type_name", Kind::Text),
    ("/user", Kind::Object),
    ("/user/accountId", Kind::Text),
    ("/user/displayName", Kind::Text),
    ("/user/active", Kind::Flag),
    ("/issue", Kind::Object),
    ("/issue/id", Kind::Text),
    ("/issue/key", Kind::Text),
    ("/issue/fields", Kind::Object),
    ("/issue/fields/project", Kind::Object),
    ("/issue/fields/project/id", Kind::Text),
    ("/issue/fields/project/key", Kind::Text),
    ("/comment", Kind::Object),
    ("/comment/id", Kind::Text),
    ("/comment/author", Kind::Object),
    ("/comment/updateAuthor/displayName", Kind::Text),
    ("/comment/created", Kind::Text),
];

fn wrong_value(kind: Kind) -> impl Strategy<Value = Value> {
    let text = "\\PC{0,12}".prop_map(Value::String).boxed();
    let integer = any::<i64>().prop_map(Value::from).boxed();
    let fraction = (-1e6f64..1e6).prop_map(|number| json!(number + 0.5)).boxed();
    let flag = any::<bool>().prop_map(Value::Bool).boxed();
    let array = prop::collection::vec(any::<i32>().prop_map(Value::from), 0..3).prop_map(Value::Array).boxed();
    let object = Just(json!({"unexpected": true})).boxed();
    match kind {
        Kind::Text => prop_oneof![integer, fraction, flag, array, object].boxed(),
        Kind::Integer => prop_oneof![text, fraction, flag, array, object].boxed(),
        Kind::Flag => prop_oneof![text, integer, array, object].boxed(),
        Kind::Object => prop_oneof![text, integer, fraction, flag].boxed(),
    }
}

/// Any JSON, its object keys often the members a delivery has, so that parsing gets past the top.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |number| serde_json::Number::from_f64(number).map(Value::Number)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(vec!["jira:issue_updated", "comment_created", "comment_deleted", "OPS-1", "OPS"])
            .prop_map(Value::from),
    ];
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "webhookEvent", "timestamp", "issue", "id", "key", "fields", "project", "user", "accountId", "comment",
            "author", "updateAuthor",
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

/// A signature header that is not the body's under our secret.
fn wrong_signature(body: Vec<u8>) -> impl Strategy<Value = Option<String>> {
    let correct_hex = hmac_sha256_hex(SECRET.as_bytes(), &body);
    let mut longer = body.clone();
    longer.push(b' ');
    prop_oneof![
        Just(None),
        any::<String>().prop_map(Some),
        "[0-9a-f]{64}".prop_map(|hex| Some(format!("sha256={hex}"))),
        "[a-z0-9 ]{0,20}".prop_filter_map("another secret", move |secret| {
            (secret != SECRET).then(|| Some(format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &body))))
        }),
        Just(Some(format!("sha1={correct_hex}"))),
        Just(Some(format!("sha256={}", hmac_sha256_hex(SECRET.as_bytes(), &longer)))),
        Just(Some(format!("sha256={}", &correct_hex[..62]))),
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
    let updated = receive_json(&issue_updated()).expect("the documented update is read");
    assert_eq!(updated.notices[0].kind, ChangeKind::ItemUpdated);
    let commented = receive_json(&comment_created()).expect("the comment event is read");
    assert_eq!(commented.notices[0].kind, ChangeKind::CommentCreated(CommentId("10301".into())));
    assert_eq!(commented.notices[0].actor.as_ref().map(|actor| actor.id.as_str()), Some("5b10ac8d82e05b22cc7d4ef5"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Authentic bytes that are not JSON are malformed, and the error says where reading stopped.
    #[test]
    fn signed_bytes_that_are_not_json_are_malformed(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let result = receiver().receive(&signed(body.clone()));
        if serde_json::from_slice::<Value>(&body).is_err() {
            let message = malformed(result);
            prop_assert!(message.contains("line") && message.contains("column"), "{message}");
        } else {
            prop_assert!(!matches!(result, Err(WebhookError::Unauthorized(_))), "{result:?}");
        }
    }

    /// Authentic JSON of any shape is read, ignored or refused as malformed with a message; never a panic.
    #[test]
    fn signed_json_of_any_shape_never_panics(body in any_json()) {
        match receive_json(&body) {
            Ok(delivery) => prop_assert_eq!(delivery.notices.len(), 1),
            Err(WebhookError::Unauthorized(message)) => prop_assert!(false, "authentic but refused: {}", message),
            Err(WebhookError::Malformed(message) | WebhookError::Ignored(message)) => prop_assert!(!message.is_empty()),
        }
    }

    /// Without the right signature nothing is read, whatever the body.
    #[test]
    fn a_wrong_signature_is_unauthorized_whatever_the_body(
        (body, signature) in any_body().prop_flat_map(|body| (Just(body.clone()), wrong_signature(body)))
    ) {
        let headers = signature.map(|value| vec![("X-Hub-Signature".to_string(), value)]).unwrap_or_default();
        match receiver().receive(&WebhookRequest { headers, body }) {
            Err(WebhookError::Unauthorized(message)) => {
                prop_assert!(message.contains("X-Hub-Signature"), "{}", message)
            }
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
        (body, pointer, value) in (seed(), prop::sample::select(TYPED))
            .prop_flat_map(|(body, (pointer, kind))| (Just(body), Just(pointer), wrong_value(kind)))
    ) {
        let mut body = body;
        prop_assume!(replace(&mut body, pointer, value));
        let message = malformed(receive_json(&body));
        let (path, _) = dotted(pointer);
        prop_assert!(message.contains(&path), "{pointer}: {message}");
    }

    /// An issue that names no project, by key or by field, is malformed and the error says so.
    #[test]
    fn an_issue_without_a_project_is_malformed(body in seed(), without_fields in any::<bool>()) {
        let mut body = body;
        remove(&mut body, "/issue/key");
        remove(&mut body, if without_fields { "/issue/fields" } else { "/issue/fields/project/key" });
        let message = malformed(receive_json(&body));
        prop_assert!(names(&message, "project"), "{message}");
    }

    /// Identifiers and names of any length and alphabet reach the notice unchanged.
    #[test]
    fn awkward_identifiers_pass_through_unchanged(text in awkward_text()) {
        let mut updated = issue_updated();
        replace(&mut updated, "/issue/id", json!(text));
        replace(&mut updated, "/user/displayName", json!(text));
        let notice = receive_json(&updated).expect("read").notices.remove(0);
        prop_assert_eq!(notice.item.as_str(), text.as_str());
        prop_assert_eq!(notice.actor.and_then(|actor| actor.display_name), Some(text.clone()));

        let mut commented = comment_created();
        replace(&mut commented, "/comment/id", json!(text));
        replace(&mut commented, "/comment/updateAuthor/accountId", json!(text));
        let notice = receive_json(&commented).expect("read").notices.remove(0);
        prop_assert_eq!(notice.kind, ChangeKind::CommentCreated(CommentId(text.clone())));
        prop_assert_eq!(notice.actor.map(|actor| actor.id), Some(text));
    }

    /// An unknown event type or another project is ignored, and the reason quotes what was found.
    #[test]
    fn unknown_events_and_projects_are_ignored_by_name(
        body in seed(),
        text in awkward_text(),
        in_event in any::<bool>(),
    ) {
        let synced = text.starts_with("jira:issue_") || text.starts_with("comment_");
        prop_assume!(!text.eq_ignore_ascii_case("OPS") && !synced);
        let mut body = body;
        replace(&mut body, if in_event { "/webhookEvent" } else { "/issue/fields/project/key" }, json!(text));
        match receive_json(&body) {
            Err(WebhookError::Ignored(message)) => prop_assert!(message.contains(&text)),
            other => prop_assert!(false, "not ignored: {:?}", other),
        }
    }

    /// Any millisecond count is a readable timestamp; one outside the calendar's range is simply unknown.
    #[test]
    fn any_timestamp_is_read(millis in any::<i64>()) {
        let mut body = issue_updated();
        replace(&mut body, "/timestamp", json!(millis));
        let notice = receive_json(&body).expect("read").notices.remove(0);
        if let Some(at) = notice.occurred_at {
            prop_assert_eq!(at.timestamp_millis(), millis);
        }
    }
}
