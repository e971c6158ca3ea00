//! Reading `Credentials` out of a secret's JSON, with failure reasons that never repeat the secret's
//! values: serde's messages quote the offending value ("invalid type: string \"ATATT…\""), so every
//! value of the secret is blanked out of the reason before anyone sees it.

use serde::Deserialize;
use serde_json::Value;
use tandem_model::Credentials;

const REDACTED: &str = "***";

/// The credentials in `text`, or why it is not credentials JSON (without any of its values).
pub fn credentials_from_text(text: &str) -> Result<Credentials, String> {
    // serde_json's syntax errors name a position, never the input.
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    credentials_from_value(&value)
}

/// The credentials in `value`, or why it is not credentials JSON (without any of its values).
pub(crate) fn credentials_from_value(value: &Value) -> Result<Credentials, String> {
    let Value::Object(fields) = value else {
        return Err(format!("expected a JSON object with a `kind` field, found {}", kind_of(value)));
    };
    let credentials = Credentials::deserialize(value).map_err(|error| {
        let kind = fields.get("kind").and_then(Value::as_str);
        redact(&error.to_string(), value, kind)
    })?;
    match credentials.empty_part() {
        Some(part) => Err(format!("{part} is empty")),
        None => Ok(credentials),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `message` with every scalar of `value` blanked out, except the `kind` tag, which names a type of
/// credentials and is what makes "unknown variant" messages useful.
fn redact(message: &str, value: &Value, kind: Option<&str>) -> String {
    let mut scalars = Vec::new();
    collect_scalars(value, &mut scalars);
    scalars.retain(|scalar| !scalar.is_empty() && Some(scalar.as_str()) != kind);
    // Longest first, so a value that contains another is blanked out whole.
    scalars.sort_by_key(|scalar| std::cmp::Reverse(scalar.len()));
    scalars.iter().fold(message.to_owned(), |redacted, scalar| redacted.replace(scalar.as_str(), REDACTED))
}

fn collect_scalars(value: &Value, scalars: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::Bool(flag) => scalars.push(flag.to_string()),
        Value::Number(number) => scalars.push(number.to_string()),
        Value::String(text) => scalars.push(text.clone()),
        Value::Array(values) => values.iter().for_each(|value| collect_scalars(value, scalars)),
        Value::Object(fields) => fields.values().for_each(|value| collect_scalars(value, scalars)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tandem_model::SecretString;

    #[test]
    fn valid_credentials_are_read() {
        let credentials = credentials_from_value(&json!({
            "kind": "jira-api-token", "email": "svc@example.com", "api_token": "ATATT-secret"
        }))
        .unwrap();
        assert_eq!(
            credentials,
            Credentials::JiraApiToken { email: "svc@example.com".into(), api_token: SecretString::new("ATATT-secret") }
        );
    }

    #[test]
    fn a_bare_token_is_refused_without_repeating_it() {
        let reason = credentials_from_value(&json!("ATATT-bare-token")).unwrap_err();
        assert_eq!(reason, "expected a JSON object with a `kind` field, found a string");
    }

    #[test]
    fn a_token_of_the_wrong_type_is_refused_without_repeating_it() {
        let reason = credentials_from_value(&json!({"kind": "azure-devops-pat", "pat": 918273645})).unwrap_err();
        assert!(!reason.contains("918273645"), "{reason}");
        assert!(reason.contains(REDACTED), "{reason}");
    }

    #[test]
    fn a_missing_field_is_named() {
        let reason = credentials_from_value(&json!({"kind": "jira-api-token", "api_token": "t0ken"})).unwrap_err();
        assert!(reason.contains("email"), "{reason}");
    }

    #[test]
    fn an_unknown_kind_is_named() {
        let reason = credentials_from_value(&json!({"kind": "jira-password", "password": "hunter2"})).unwrap_err();
        assert!(reason.contains("jira-password"), "{reason}");
        assert!(!reason.contains("hunter2"), "{reason}");
    }

    #[test]
    fn empty_webhook_secrets_and_tokens_are_refused() {
        let reason = credentials_from_value(&json!({"kind": "webhook-hmac", "secret": ""})).unwrap_err();
        assert_eq!(reason, "the webhook's HMAC secret is empty");
        let reason =
            credentials_from_value(&json!({"kind": "webhook-basic", "username": "", "password": ""})).unwrap_err();
        assert_eq!(reason, "the webhook's user name is empty");
        let reason = credentials_from_value(&json!({"kind": "azure-devops-pat", "pat": "  "})).unwrap_err();
        assert_eq!(reason, "the personal access token is empty");
    }

    #[test]
    fn broken_json_text_names_the_position() {
        let reason = credentials_from_text(r#"{"kind": "azure-devops-pat", "pat": "abc"#).unwrap_err();
        assert!(reason.contains("line 1"), "{reason}");
        assert!(!reason.contains("abc"), "{reason}");
    }

    #[test]
    fn a_value_inside_another_is_blanked_out_whole() {
        let redacted = redact("saw `abc-long` and `abc`", &json!({"a": "abc", "b": "abc-long"}), None);
        assert_eq!(redacted, "saw `***` and `***`");
    }
}
