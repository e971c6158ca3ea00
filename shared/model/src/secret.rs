use serde::{Deserialize, Serialize};
use std::fmt;

/// A credential value. `Debug` and `Display` never show it, so it cannot leak into logs or errors.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The value itself, for the one place that needs it (an Authorization header, an HMAC key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for SecretString {
    /// Serialising writes the value (secrets files are written by tandem's own tools); logging goes
    /// through `Debug`, which does not.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A service account's credentials, as stored in a secret (JSON with a `kind` tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Credentials {
    /// Jira Cloud: Atlassian account e-mail and API token (HTTP Basic).
    JiraApiToken { email: String, api_token: SecretString },
    /// Azure DevOps: personal access token (HTTP Basic with an empty user name).
    AzureDevopsPat { pat: SecretString },
    /// A webhook's HMAC secret (Jira `X-Hub-Signature`, GitHub `X-Hub-Signature-256`). `previous`, the
    /// secret being rotated out, is accepted too while it is there (see the webhook variants' rotation).
    WebhookHmac {
        secret: SecretString,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<SecretString>,
    },
    /// The Basic credentials an Azure DevOps service hook subscription sends; `previous` is the password
    /// being rotated out, accepted too while it is there.
    WebhookBasic {
        username: String,
        password: SecretString,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<SecretString>,
    },
    /// Salesforce: the OAuth 2.0 JWT bearer flow for an integration user (a connected app's consumer
    /// key and the private key of its certificate). `audience` is the login server the assertion names:
    /// `https://login.salesforce.com` (the default) or `https://test.salesforce.com` for a sandbox.
    SalesforceJwtBearer {
        consumer_key: String,
        username: String,
        private_key: SecretString,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
    /// Salesforce: the OAuth 2.0 client credentials flow (the connected app's "Run As" user).
    SalesforceClientCredentials { consumer_key: String, consumer_secret: SecretString },
    /// A shared token the sender puts in the endpoint's URL (`?token=…`), for senders that can neither
    /// sign nor authenticate (Salesforce Outbound Messages).
    WebhookUrlToken {
        token: SecretString,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<SecretString>,
    },
}

impl Credentials {
    /// What is empty in these credentials, if anything: an empty HMAC key or Basic password would let
    /// anyone sign or authenticate a webhook, and an empty token only fails later, further from its cause.
    pub fn empty_part(&self) -> Option<&'static str> {
        let blank = |text: &str| text.trim().is_empty();
        match self {
            Credentials::JiraApiToken { email, .. } if blank(email) => Some("the e-mail address"),
            Credentials::JiraApiToken { api_token, .. } if blank(api_token.expose()) => Some("the API token"),
            Credentials::AzureDevopsPat { pat } if blank(pat.expose()) => Some("the personal access token"),
            Credentials::WebhookHmac { secret, .. } if blank(secret.expose()) => Some("the webhook's HMAC secret"),
            Credentials::WebhookBasic { username, .. } if blank(username) => Some("the webhook's user name"),
            Credentials::WebhookBasic { password, .. } if blank(password.expose()) => Some("the webhook's password"),
            Credentials::SalesforceJwtBearer { consumer_key, .. } if blank(consumer_key) => Some("the consumer key"),
            Credentials::SalesforceJwtBearer { username, .. } if blank(username) => Some("the user name"),
            Credentials::SalesforceJwtBearer { private_key, .. } if blank(private_key.expose()) => {
                Some("the private key")
            }
            Credentials::SalesforceClientCredentials { consumer_key, .. } if blank(consumer_key) => {
                Some("the consumer key")
            }
            Credentials::SalesforceClientCredentials { consumer_secret, .. } if blank(consumer_secret.expose()) => {
                Some("the consumer secret")
            }
            Credentials::WebhookUrlToken { token, .. } if blank(token.expose()) => Some("the webhook's URL token"),
            Credentials::WebhookHmac { previous: Some(previous), .. }
            | Credentials::WebhookBasic { previous: Some(previous), .. }
            | Credentials::WebhookUrlToken { previous: Some(previous), .. }
                if blank(previous.expose()) =>
            {
                Some("the webhook's previous value (remove `previous` once the rotation is over)")
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_print_the_value() {
        let credentials = Credentials::JiraApiToken {
            email: "svc@example.com".into(),
            api_token: SecretString::new("ATATT-very-secret"),
        };
        let shown = format!("{credentials:?} {} {:?}", SecretString::new("pat-123"), SecretString::new("pat-123"));
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(!shown.contains("pat-123"), "{shown}");
        assert!(shown.contains("svc@example.com"));
    }

    #[test]
    fn credentials_parse_from_secret_json() {
        let parsed: Credentials = serde_json::from_str(r#"{"kind":"azure-devops-pat","pat":"abc"}"#).unwrap();
        assert_eq!(parsed, Credentials::AzureDevopsPat { pat: SecretString::new("abc") });
    }

    #[test]
    fn a_webhook_secret_being_rotated_parses_with_its_previous_value() {
        let parsed: Credentials =
            serde_json::from_str(r#"{"kind":"webhook-hmac","secret":"new","previous":"old"}"#).unwrap();
        let expected =
            Credentials::WebhookHmac { secret: SecretString::new("new"), previous: Some(SecretString::new("old")) };
        assert_eq!(parsed, expected);
        let blank_previous: Credentials =
            serde_json::from_str(r#"{"kind":"webhook-url-token","token":"new","previous":" "}"#).unwrap();
        assert!(blank_previous.empty_part().is_some_and(|part| part.contains("previous")));
    }

    #[test]
    fn empty_parts_are_named() {
        let hmac = Credentials::WebhookHmac { secret: SecretString::new(""), previous: None };
        assert_eq!(hmac.empty_part(), Some("the webhook's HMAC secret"));
        let basic =
            Credentials::WebhookBasic { username: String::new(), password: SecretString::new("x"), previous: None };
        assert_eq!(basic.empty_part(), Some("the webhook's user name"));
        let basic =
            Credentials::WebhookBasic { username: "tandem".into(), password: SecretString::new(" "), previous: None };
        assert_eq!(basic.empty_part(), Some("the webhook's password"));
        assert_eq!(Credentials::AzureDevopsPat { pat: SecretString::new("p") }.empty_part(), None);
    }
}
