//! Reading `Credentials` out of a secret's text, with failure reasons that never repeat the secret's
//! values: serde's messages quote the offending value ("invalid type: string \"ATATT…\""), so every
//! value of the secret is blanked out of the reason before anyone sees it.
//!
//! This mirrors the `parse` module of `tandem-secrets`, which is private to that crate; once it
//! exports `credentials_from_text`, this module goes away.

use serde::Deserialize;
use serde_json::Value;
use tandem_model::Credentials;

const REDACTED: &str = "***";

/// The credentials in `text`, or why it is not credentials JSON (without any of its values).
pub(crate) fn credentials_from_text(text: &str) -> Result<Credentials, String> {
    // serde_json's syntax errors name a position, never the input.
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let Value::Object(fields) = &value else {
        return Err(format!(
            "expected a JSON object with a `kind` field, found {}",
            kind_of(&value)
        ));
    };
    Credentials::deserialize(&value).map_err(|error| {
        let kind = fields.get("kind").and_then(Value::as_str);
        redact(&error.to_string(), &value, kind)
    })
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
    scalars.iter().fold(message.to_owned(), |redacted, scalar| {
        redacted.replace(scalar.as_str(), REDACTED)
    })
}

fn collect_scalars(value: &Value, scalars: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::Bool(flag) => scalars.push(flag.to_string()),
        Value::Number(number) => scalars.push(number.to_string()),
        Value::String(text) => scalars.push(text.clone()),
        Value::Array(values) => values
            .iter()
            .for_each(|value| collect_scalars(value, scalars)),
        Value::Object(fields) => fields
            .values()
            .for_each(|value| collect_scalars(value, scalars)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::SecretString;

    #[test]
    fn valid_credentials_are_read() {
        let credentials = credentials_from_text(
            r#"{"kind": "webhook-basic", "username": "ado-hook", "password": "pa55-word"}"#,
        )
        .unwrap();
        assert_eq!(
            credentials,
            Credentials::WebhookBasic {
                username: "ado-hook".into(),
                password: SecretString::new("pa55-word"),
            }
        );
    }

    #[test]
    fn refusals_never_repeat_a_value() {
        for (text, value) in [
            (r#""ATATT-bare-token""#, "ATATT-bare-token"),
            (
                r#"{"kind": "azure-devops-pat", "pat": 918273645}"#,
                "918273645",
            ),
            (
                r#"{"kind": "jira-password", "password": "hunter2"}"#,
                "hunter2",
            ),
            (r#"{"kind": "azure-devops-pat", "pat": "abc-cut"#, "abc-cut"),
        ] {
            let reason = credentials_from_text(text).unwrap_err();
            assert!(!reason.contains(value), "{reason}");
        }
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let missing = credentials_from_text(r#"{"kind": "jira-api-token", "api_token": "t0ken"}"#)
            .unwrap_err();
        assert!(missing.contains("email"), "{missing}");
        let unknown = credentials_from_text(r#"{"kind": "jira-password"}"#).unwrap_err();
        assert!(unknown.contains("jira-password"), "{unknown}");
        let wrong_type =
            credentials_from_text(r#"{"kind": "azure-devops-pat", "pat": 918273645}"#).unwrap_err();
        assert!(wrong_type.contains(REDACTED), "{wrong_type}");
    }

    #[test]
    fn a_value_inside_another_is_blanked_out_whole() {
        let redacted = redact(
            "saw `abc-long` and `abc`",
            &serde_json::json!({"a": "abc", "b": "abc-long"}),
            None,
        );
        assert_eq!(redacted, "saw `***` and `***`");
    }
}
