//! Property tests of the webhook receiver, the one parser here of input nobody at tandem controls: the
//! connector kit's properties (never a panic, forgeries refused, missing and mistyped members named),
//! and what only Jira's deliveries have.

use proptest::prelude::*;
use serde_json::{json, Value};
use tandem_connector_kit::webhooks::{awkward_text, names, receive, remove, replace, Kind, Seed, WebhookSubject};
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_jira::JiraWebhookReceiver;
use tandem_model::{ChangeKind, CommentId, SecretString};
use tandem_simulators::webhooks::hmac_sha256_hex;

const SECRET: &str = "webhook-s3cret";

struct Jira;

fn signed(body: Vec<u8>) -> WebhookRequest {
    let signature = format!("sha256={}", hmac_sha256_hex(SECRET.as_bytes(), &body));
    WebhookRequest::new(vec![("x-hub-signature".into(), signature)], body)
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

/// Typed members and their kind. Objects read as structs also take arrays (serde reads them by
/// position), so an array is never "the wrong type" for them.
const TYPED: &[(&str, Kind)] = &[
    ("/webhookEvent", Kind::Text),
    ("/timestamp", Kind::Integer),
    ("/issue_event_type_name", Kind::Text),
    ("/user", Kind::Record),
    ("/user/accountId", Kind::Text),
    ("/user/displayName", Kind::Text),
    ("/user/active", Kind::Flag),
    ("/issue", Kind::Record),
    ("/issue/id", Kind::Text),
    ("/issue/key", Kind::Text),
    ("/issue/fields", Kind::Record),
    ("/issue/fields/project", Kind::Record),
    ("/issue/fields/project/id", Kind::Text),
    ("/issue/fields/project/key", Kind::Text),
    ("/comment", Kind::Record),
    ("/comment/id", Kind::Text),
    ("/comment/author", Kind::Record),
    ("/comment/updateAuthor/displayName", Kind::Text),
    ("/comment/created", Kind::Text),
];

impl WebhookSubject for Jira {
    fn receiver(&self) -> Box<dyn WebhookReceiver> {
        Box::new(JiraWebhookReceiver::new(SecretString::new(SECRET), "OPS"))
    }

    fn authentic(&self, body: Vec<u8>) -> WebhookRequest {
        signed(body)
    }

    fn forged(&self, body: Vec<u8>) -> BoxedStrategy<WebhookRequest> {
        wrong_signature(body.clone())
            .prop_map(move |signature| {
                let headers = signature.map(|value| vec![("X-Hub-Signature".to_string(), value)]).unwrap_or_default();
                WebhookRequest::new(headers, body.clone())
            })
            .boxed()
    }

    fn seeds(&self) -> Vec<Seed> {
        [issue_updated(), comment_created()].into_iter().map(|body| Seed { body, typed: TYPED.to_vec() }).collect()
    }

    fn required(&self) -> &'static [&'static str] {
        &[
            "/webhookEvent",
            "/issue",
            "/issue/id",
            "/user/accountId",
            "/comment",
            "/comment/id",
            "/comment/author/accountId",
        ]
    }

    fn vocabulary(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let keys = vec![
            "webhookEvent",
            "timestamp",
            "issue",
            "id",
            "key",
            "fields",
            "project",
            "user",
            "accountId",
            "comment",
            "author",
            "updateAuthor",
        ];
        (keys, vec!["jira:issue_updated", "comment_created", "comment_deleted", "OPS-1", "OPS"])
    }
}

tandem_connector_kit::webhook_conformance!(Jira);

fn receive_json(body: &Value) -> Result<tandem_model::Delivery, WebhookError> {
    receive(&Jira, body)
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

fn malformed(result: Result<tandem_model::Delivery, WebhookError>) -> String {
    match result {
        Err(WebhookError::Malformed(message)) => message,
        other => panic!("expected a malformed-body error, got {other:?}"),
    }
}

#[test]
fn the_documented_deliveries_say_what_changed() {
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
    fn signed_bytes_that_are_not_json_say_where_reading_stopped(body in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assume!(serde_json::from_slice::<Value>(&body).is_err());
        let message = malformed(Jira.receiver().receive(&signed(body)));
        prop_assert!(message.contains("line") && message.contains("column"), "{message}");
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
