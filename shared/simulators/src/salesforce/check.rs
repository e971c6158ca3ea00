//! What the simulated org holds its exchanges to, in place of an API description Salesforce does not
//! publish for sObjects: requests go to the resources the REST API has, with the bodies they take;
//! answers have the shapes of the recorded ones (`../shared/contracts/salesforce/`): records with their
//! `attributes`, query batches, save results, error arrays and OAuth errors.

use crate::recording::{ExchangeCheck, RecordedExchange, RecordedViolation};
use serde_json::Value;
use tandem_contract_check::Violation;

pub(crate) struct SalesforceContract;

impl SalesforceContract {
    pub(crate) fn new() -> SalesforceContract {
        SalesforceContract
    }
}

/// The resource a `/services/data/vXX.X/…` path names.
#[derive(Debug, PartialEq)]
enum Resource<'a> {
    /// `/services/data/vXX.X`: the resources of a version.
    Version,
    Limits,
    DescribeGlobal,
    Describe,
    /// `sobjects/{Object}`: its basic information (GET), or a record created (POST).
    Object,
    /// `sobjects/{Object}/{id}`; POST when the segment is `Id` or an External ID field (a create).
    Record(&'a str),
    ByExternalId(&'a str),
    Query,
    NextBatch,
}

fn resource(path: &str) -> Option<Resource<'_>> {
    let rest = path.strip_prefix("/services/data/v")?;
    let Some((version, rest)) = rest.split_once('/') else {
        rest.parse::<f64>().ok()?;
        return Some(Resource::Version);
    };
    version.parse::<f64>().ok()?;
    let segments: Vec<&str> = rest.split('/').collect();
    Some(match segments.as_slice() {
        ["limits"] => Resource::Limits,
        ["sobjects"] => Resource::DescribeGlobal,
        ["sobjects", _, "describe"] => Resource::Describe,
        ["sobjects", _] => Resource::Object,
        ["sobjects", _, segment] => Resource::Record(segment),
        ["sobjects", _, field, _] => Resource::ByExternalId(field),
        ["query" | "queryAll"] => Resource::Query,
        ["query", _] => Resource::NextBatch,
        _ => return None,
    })
}

impl ExchangeCheck for SalesforceContract {
    fn check(&self, exchange: &RecordedExchange) -> Vec<RecordedViolation> {
        let mut found = Vec::new();
        let mut violation = |phase: &'static str, message: String| {
            found.push(RecordedViolation {
                phase,
                status: exchange.status,
                violation: Violation { request: format!("{} {}", exchange.method, exchange.path), message },
            });
        };
        let method = exchange.method.as_str();
        if exchange.path == "/services/oauth2/token" {
            if method != "POST" {
                violation("request", "the token endpoint takes POST".into());
            }
            check_token_answer(exchange, &mut violation);
            return found;
        }
        if exchange.path == "/services/data" {
            return found;
        }
        if let Some(allowed) = identity_methods(&exchange.path) {
            if !allowed.contains(&method) {
                violation("request", format!("{method} is not a method of this resource ({})", allowed.join(", ")));
            }
            return found;
        }
        let Some(resource) = resource(&exchange.path) else {
            violation("request", "no such REST resource".into());
            return found;
        };
        check_request(&resource, exchange, &mut violation);
        if exchange.status >= 400 {
            check_error_array(exchange.response_body.as_ref(), &mut violation);
        } else {
            check_answer(&resource, exchange, &mut violation);
        }
        found
    }
}

/// The methods of the identity service's and OAuth's other endpoints, which answer in their own
/// shapes (a document, an empty 200, plain-text or OAuth refusals).
fn identity_methods(path: &str) -> Option<&'static [&'static str]> {
    match path {
        "/services/oauth2/revoke" => Some(&["POST", "GET"]),
        "/services/oauth2/userinfo" => Some(&["GET", "POST"]),
        _ if path.starts_with("/id/") => Some(&["GET"]),
        _ => None,
    }
}

fn check_request(
    resource: &Resource<'_>,
    exchange: &RecordedExchange,
    violation: &mut impl FnMut(&'static str, String),
) {
    let method = exchange.method.as_str();
    let allowed: &[&str] = match resource {
        Resource::Object => &["GET", "POST"],
        Resource::Record(segment) if super::ids::normalise(segment).is_none() => &["GET", "PATCH", "DELETE", "POST"],
        Resource::Record(_) => &["GET", "PATCH", "DELETE"],
        Resource::ByExternalId(_) => &["GET", "PATCH", "DELETE"],
        _ => &["GET"],
    };
    if !allowed.contains(&method) {
        violation("request", format!("{method} is not a method of this resource ({})", allowed.join(", ")));
    }
    if matches!(method, "POST" | "PATCH") {
        match &exchange.request_body {
            Some(Value::Object(fields)) => {
                if let Resource::ByExternalId(field) = resource {
                    if fields.keys().any(|name| name.eq_ignore_ascii_case(field) || name == "Id") {
                        violation(
                            "request",
                            format!("an upsert's body must not hold the external ID `{field}` or `Id`"),
                        );
                    }
                }
            }
            _ => violation("request", "the body is not a JSON object".into()),
        }
        let json =
            exchange.content_type.as_deref().is_some_and(|content_type| content_type.starts_with("application/json"));
        if !json {
            violation("request", "the body is not sent as application/json".into());
        }
    }
    if matches!(resource, Resource::Query) && !exchange.query.iter().any(|(name, _)| name == "q") {
        violation("request", "a query is sent in `q`".into());
    }
}

fn check_attributes(record: &Value, at: &str, violation: &mut impl FnMut(&'static str, String)) {
    let attributes = record.get("attributes");
    let typed = attributes.and_then(|attributes| attributes.get("type")).is_some_and(Value::is_string);
    // An aggregate query's row is no record and has no address.
    let aggregate = attributes.and_then(|attributes| attributes.get("type")) == Some(&Value::from("AggregateResult"));
    let located = aggregate || attributes.and_then(|attributes| attributes.get("url")).is_some_and(Value::is_string);
    if !typed || !located {
        violation("response", format!("{at}: a record carries `attributes` with `type` and `url`"));
    }
}

fn check_answer(
    resource: &Resource<'_>,
    exchange: &RecordedExchange,
    violation: &mut impl FnMut(&'static str, String),
) {
    let body = exchange.response_body.as_ref();
    match (resource, exchange.method.as_str(), exchange.status) {
        (Resource::Object, _, 201)
        | (Resource::Record(_), "POST", 200 | 201)
        | (Resource::ByExternalId(_), "PATCH", 200 | 201) => {
            let saved = body.is_some_and(|body| {
                body["id"].is_string() && body["success"] == Value::Bool(true) && body["errors"].is_array()
            });
            if !saved {
                violation("response", "a save result is `{id, success: true, errors: []}`".into());
            }
        }
        (Resource::ByExternalId(_), "PATCH" | "DELETE", 300)
            if !body.is_some_and(|body| body.as_array().is_some_and(|urls| urls.iter().all(Value::is_string))) =>
        {
            violation("response", "several matches are answered with a list of record URLs".into());
        }
        (Resource::Record(_) | Resource::ByExternalId(_), "GET", 200) => match body {
            Some(record) => check_attributes(record, "record", violation),
            None => violation("response", "a record is JSON".into()),
        },
        (Resource::Record(_), "PATCH" | "DELETE", status) | (Resource::ByExternalId(_), "DELETE", status)
            if status != 204 && status != 300 =>
        {
            violation("response", format!("an update or delete is answered 204, not {status}"));
        }
        (Resource::Query | Resource::NextBatch, _, 200) => check_query_batch(body, violation),
        _ => {}
    }
}

fn check_query_batch(body: Option<&Value>, violation: &mut impl FnMut(&'static str, String)) {
    let Some(batch) = body else {
        violation("response", "a query batch is JSON".into());
        return;
    };
    if !batch["totalSize"].is_u64() || !batch["done"].is_boolean() || !batch["records"].is_array() {
        violation("response", "a query batch is `{totalSize, done, records}`".into());
    }
    if batch["done"] == Value::Bool(false) && !batch["nextRecordsUrl"].is_string() {
        violation("response", "a batch that is not the last has a `nextRecordsUrl`".into());
    }
    for (index, record) in batch["records"].as_array().into_iter().flatten().enumerate() {
        check_attributes(record, &format!("records[{index}]"), violation);
    }
}

fn check_error_array(body: Option<&Value>, violation: &mut impl FnMut(&'static str, String)) {
    let well_formed = body.and_then(Value::as_array).is_some_and(|errors| {
        !errors.is_empty() && errors.iter().all(|error| error["message"].is_string() && error["errorCode"].is_string())
    });
    if !well_formed {
        violation("response", "an error is a JSON array of `{message, errorCode}`".into());
    }
}

fn check_token_answer(exchange: &RecordedExchange, violation: &mut impl FnMut(&'static str, String)) {
    let body = exchange.response_body.as_ref();
    let has = |name: &str| body.is_some_and(|body| body[name].is_string());
    if exchange.status == 200 {
        if !["access_token", "instance_url", "id", "token_type"].into_iter().all(has) {
            violation("response", "a token answer has `access_token`, `instance_url`, `id` and `token_type`".into());
        }
    } else if !(has("error") && has("error_description")) {
        violation("response", "an OAuth error is `{error, error_description}`".into());
    }
}
