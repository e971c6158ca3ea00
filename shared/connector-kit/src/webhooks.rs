//! Properties every webhook receiver has: whatever arrives, it never panics; a forged delivery is
//! refused whatever its body; an authentic but unreadable one is malformed, and the error names the
//! member that is missing or of the wrong type. [`webhook_conformance!`](crate::webhook_conformance)
//! turns them into a connector's tests.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_model::Delivery;

/// The kinds of value a member takes, to build one of a kind it does not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A signed 64-bit integer.
    Integer,
    /// An unsigned integer of at most 32 bits (work item ids).
    U32,
    /// An unsigned integer of at most 64 bits.
    U64,
    Flag,
    /// A map of names to anything, which no array fits.
    Map,
    /// An object read as a struct, which serde also takes as an array (by position).
    Record,
}

/// A documented delivery, and its members of a known kind (as JSON pointers).
#[derive(Debug, Clone)]
pub struct Seed {
    pub body: Value,
    pub typed: Vec<(&'static str, Kind)>,
}

/// What only the connector knows of its webhook receiver.
pub trait WebhookSubject: Sync {
    fn receiver(&self) -> Box<dyn WebhookReceiver>;

    /// `body` as the system's sender sends it: signed, or with the subscription's credentials.
    fn authentic(&self, body: Vec<u8>) -> WebhookRequest;

    /// Requests carrying `body` without the right signature or credentials.
    fn forged(&self, body: Vec<u8>) -> BoxedStrategy<WebhookRequest>;

    /// Deliveries as the vendor documents them; each is accepted.
    fn seeds(&self) -> Vec<Seed>;

    /// Members (JSON pointers) the receiver cannot do without, when a seed has them.
    fn required(&self) -> &'static [&'static str];

    /// Object keys and text values a delivery has, so that generated JSON gets past the top.
    fn vocabulary(&self) -> (Vec<&'static str>, Vec<&'static str>);

    /// The body as sent, from its JSON model.
    fn encode(&self, body: &Value) -> Vec<u8> {
        serde_json::to_vec(body).expect("JSON serialises")
    }

    /// Whether bytes are in the delivery's format at all (bytes that are not are malformed).
    fn decodes(&self, bytes: &[u8]) -> bool {
        serde_json::from_slice::<Value>(bytes).is_ok()
    }
}

/// What the receiver makes of the authentic delivery of `body`.
pub fn receive(subject: &dyn WebhookSubject, body: &Value) -> Result<Delivery, WebhookError> {
    subject.receiver().receive(&subject.authentic(subject.encode(body)))
}

/// Removes the member at `pointer`; false when there is none.
pub fn remove(body: &mut Value, pointer: &str) -> bool {
    let Some((parent, name)) = pointer.rsplit_once('/') else {
        return false;
    };
    body.pointer_mut(parent).and_then(Value::as_object_mut).and_then(|object| object.remove(name)).is_some()
}

/// Replaces the member at `pointer`; false when there is none.
pub fn replace(body: &mut Value, pointer: &str, value: Value) -> bool {
    body.pointer_mut(pointer).map(|slot| *slot = value).is_some()
}

/// The dotted name of a JSON pointer's member (`/issue/fields/project` → `issue.fields.project`) and of
/// its parent.
pub fn dotted(pointer: &str) -> (String, String) {
    let segments: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    (segments.join("."), segments[..segments.len() - 1].join("."))
}

/// Whether `word` appears in `text` as a word of its own (not inside `invalid` for `id`).
pub fn names(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Text that troubles parsers: any characters, or a very long run of them.
pub fn awkward_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), ("\\PC{1,4}", 10_000..60_000usize).prop_map(|(unit, length)| unit.repeat(length))]
}

/// A value of another kind than `kind`.
pub fn wrong_value(kind: Kind) -> BoxedStrategy<Value> {
    let text = "\\PC{0,12}".prop_map(Value::String).boxed();
    let integer = any::<i64>().prop_map(Value::from).boxed();
    let negative = (i64::MIN..0).prop_map(Value::from).boxed();
    let beyond_u32 = (u64::from(u32::MAX) + 1..=u64::MAX).prop_map(Value::from).boxed();
    let fraction = (-1e6f64..1e6).prop_map(|number| json!(number + 0.5)).boxed();
    let flag = any::<bool>().prop_map(Value::Bool).boxed();
    let array = prop::collection::vec(any::<u32>().prop_map(Value::from), 0..3).prop_map(Value::Array).boxed();
    let object = Just(json!({"unexpected": true})).boxed();
    match kind {
        Kind::Text => prop_oneof![integer, fraction, flag, array, object].boxed(),
        Kind::Integer => prop_oneof![text, fraction, flag, array, object].boxed(),
        Kind::U32 => prop_oneof![text, negative, beyond_u32, fraction, flag, array, object].boxed(),
        Kind::U64 => prop_oneof![text, negative, fraction, flag, array, object].boxed(),
        Kind::Flag => prop_oneof![text, integer, array, object].boxed(),
        Kind::Map => prop_oneof![text, integer, fraction, flag, array].boxed(),
        Kind::Record => prop_oneof![text, integer, fraction, flag].boxed(),
    }
}

/// Any JSON, its object keys and texts often the ones a delivery has.
fn any_json(subject: &dyn WebhookSubject) -> impl Strategy<Value = Value> {
    let (keys, texts) = subject.vocabulary();
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |number| serde_json::Number::from_f64(number).map(Value::Number)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(texts).prop_map(Value::from),
    ];
    let key = prop_oneof![3 => prop::sample::select(keys).prop_map(str::to_string), 1 => any::<String>()];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn seeds(subject: &dyn WebhookSubject) -> impl Strategy<Value = Seed> {
    prop::sample::select(subject.seeds())
}

fn runner() -> TestRunner {
    TestRunner::new(Config { cases: 128, failure_persistence: None, ..Config::default() })
}

/// Runs one property, panicking with proptest's report (the minimal failing input) when it fails.
fn check<S: Strategy>(strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(failure) = runner().run(&strategy, property) {
        panic!("{failure}");
    }
}

fn malformed(result: Result<Delivery, WebhookError>) -> Result<String, TestCaseError> {
    match result {
        Err(WebhookError::Malformed(message)) => Ok(message),
        other => Err(TestCaseError::fail(format!("expected a malformed-body error, got {other:?}"))),
    }
}

/// Every documented delivery is accepted.
pub fn the_seeds_are_accepted(subject: &dyn WebhookSubject) {
    for seed in subject.seeds() {
        if let Err(error) = receive(subject, &seed.body) {
            panic!("a documented delivery is refused: {error}\n{:#}", seed.body);
        }
    }
}

/// Authentic bytes not in the delivery's format are malformed; authentic bytes are never unauthorized.
pub fn authentic_bytes_are_never_unauthorized(subject: &dyn WebhookSubject) {
    check(prop::collection::vec(any::<u8>(), 0..512), |body| {
        let result = subject.receiver().receive(&subject.authentic(body.clone()));
        if subject.decodes(&body) {
            prop_assert!(!matches!(result, Err(WebhookError::Unauthorized(_))), "{result:?}");
        } else {
            prop_assert!(!malformed(result)?.is_empty());
        }
        Ok(())
    });
}

/// An authentic delivery of any shape is read, ignored or refused as malformed with a message; never a
/// panic.
pub fn any_shape_never_panics(subject: &dyn WebhookSubject) {
    check(any_json(subject), |body| {
        match receive(subject, &body) {
            Ok(delivery) => prop_assert!(!delivery.notices.is_empty()),
            Err(WebhookError::Unauthorized(message)) => prop_assert!(false, "authentic but refused: {}", message),
            Err(WebhookError::Malformed(message) | WebhookError::Ignored(message)) => {
                prop_assert!(!message.is_empty())
            }
        }
        Ok(())
    });
}

/// Without the right signature or credentials nothing is read, whatever the body.
pub fn forgeries_are_unauthorized(subject: &dyn WebhookSubject) {
    let bodies = prop_oneof![
        seeds(subject).prop_map(|seed| subject.encode(&seed.body)),
        prop::collection::vec(any::<u8>(), 0..256),
    ];
    check(bodies.prop_flat_map(|body| subject.forged(body)), |request| {
        match subject.receiver().receive(&request) {
            Err(WebhookError::Unauthorized(message)) => prop_assert!(!message.is_empty()),
            other => prop_assert!(false, "not refused: {:?}", other),
        }
        Ok(())
    });
}

/// A documented delivery without a member it needs is malformed, and the error names the member.
pub fn a_missing_member_is_named(subject: &dyn WebhookSubject) {
    check((seeds(subject), prop::sample::select(subject.required())), |(seed, pointer)| {
        let mut body = seed.body;
        prop_assume!(remove(&mut body, pointer));
        let message = malformed(receive(subject, &body))?;
        let (_, parent) = dotted(pointer);
        let name = pointer.rsplit('/').next().unwrap_or_default();
        prop_assert!(names(&message, name) && (parent.is_empty() || message.contains(&parent)), "{pointer}: {message}");
        Ok(())
    });
}

/// A documented delivery with a member of the wrong kind is malformed, and the error names the member by
/// its whole path.
pub fn a_member_of_the_wrong_kind_is_named(subject: &dyn WebhookSubject) {
    let members = seeds(subject).prop_flat_map(|seed| {
        let typed = prop::sample::select(seed.typed.clone());
        (Just(seed.body), typed).prop_flat_map(|(body, (pointer, kind))| (Just(body), Just(pointer), wrong_value(kind)))
    });
    check(members, |(body, pointer, value)| {
        let mut body = body;
        prop_assume!(replace(&mut body, pointer, value));
        let message = malformed(receive(subject, &body))?;
        let (path, _) = dotted(pointer);
        prop_assert!(message.contains(&path), "{pointer}: {message}");
        Ok(())
    });
}

/// The webhook properties as a connector's tests: `webhook_conformance!(MySubject);` in a test file,
/// where `MySubject` implements [`WebhookSubject`].
#[macro_export]
macro_rules! webhook_conformance {
    ($subject:expr) => {
        #[test]
        fn the_seeds_are_accepted() {
            $crate::webhooks::the_seeds_are_accepted(&$subject);
        }

        #[test]
        fn authentic_bytes_are_never_unauthorized() {
            $crate::webhooks::authentic_bytes_are_never_unauthorized(&$subject);
        }

        #[test]
        fn any_shape_never_panics() {
            $crate::webhooks::any_shape_never_panics(&$subject);
        }

        #[test]
        fn forgeries_are_unauthorized() {
            $crate::webhooks::forgeries_are_unauthorized(&$subject);
        }

        #[test]
        fn a_missing_member_is_named() {
            $crate::webhooks::a_missing_member_is_named(&$subject);
        }

        #[test]
        fn a_member_of_the_wrong_kind_is_named() {
            $crate::webhooks::a_member_of_the_wrong_kind_is_named(&$subject);
        }
    };
}
