//! The org's OAuth 2.0 token endpoint and its sessions: the JWT bearer flow (an assertion signed with
//! the connected app's certificate, naming a user), the client credentials flow (the connected app's
//! key and secret; the session runs as the app's "Run As" user), and the username-password flow people
//! use from scripts. Sessions can be expired at will: the API then answers `INVALID_SESSION_ID` until
//! the caller gets a new token.

use super::key::PUBLIC_KEY_PEM;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;

/// A person or integration user of the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesforceUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub username: String,
    pub password: String,
}

impl SalesforceUser {
    pub fn new(first_name: &str, last_name: &str, email: &str) -> Self {
        SalesforceUser {
            first_name: first_name.into(),
            last_name: last_name.into(),
            email: email.into(),
            username: format!("{email}.sim"),
            password: format!("{}-password", first_name.to_lowercase()),
        }
    }

    /// The integration user tandem authenticates as (the first user of the default org).
    pub fn integration() -> Self {
        SalesforceUser::new("Tandem", "Integration", "tandem@acme.example")
    }

    pub fn alice() -> Self {
        SalesforceUser::new("Alice", "Agent", "alice@acme.example")
    }

    pub fn bob() -> Self {
        SalesforceUser::new("Bob", "Builder", "bob@acme.example")
    }
}

/// The connected app's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    pub consumer_key: String,
    pub consumer_secret: String,
}

impl Default for ConnectedApp {
    fn default() -> Self {
        ConnectedApp {
            consumer_key: "3MVG9sim.tandem.consumer.key".into(),
            consumer_secret: "sim-consumer-secret".into(),
        }
    }
}

/// An OAuth endpoint's refusal: HTTP 400 (401 for a bad client) with `{error, error_description}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn grant(description: impl Into<String>) -> OAuthError {
        OAuthError { status: 400, error: "invalid_grant", description: description.into() }
    }

    /// The integration user's credentials no longer work (a revoked certificate, a frozen user).
    pub(crate) fn expired() -> OAuthError {
        OAuthError::grant("expired access/refresh token")
    }

    /// An injected fault at the token endpoint: too many sign-ins (Salesforce limits them per user
    /// and hour) for a rate limit, its servers' failure otherwise; the status stays the fault's.
    pub(crate) fn fault(status: u16) -> OAuthError {
        match status {
            429 => OAuthError {
                status: 400,
                error: "rate_limit_exceeded",
                description: "Number of login attempts exceeded".into(),
            },
            status => OAuthError { status, error: "unknown_error", description: "retry your request".into() },
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }

    /// A `client_id` that names no connected app of the org.
    fn unknown_client() -> OAuthError {
        OAuthError { status: 400, error: "invalid_client_id", description: "client identifier invalid".into() }
    }

    /// A known connected app with the wrong secret.
    fn wrong_secret() -> OAuthError {
        OAuthError { status: 400, error: "invalid_client", description: "invalid client credentials".into() }
    }
}

/// A token answer's `signature`: Base64 of the HMAC-SHA256 of `id` followed by `issued_at`, keyed
/// with the connected app's consumer secret, so that the app can tell the answer came from the org.
pub(crate) fn signature(consumer_secret: &str, id: &str, issued_at: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(consumer_secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a connected app's key and secret: an unknown key and a wrong secret are refused apart.
fn check_client(app: &ConnectedApp, id: &str, secret: &str) -> Result<(), OAuthError> {
    if id != app.consumer_key {
        return Err(OAuthError::unknown_client());
    }
    if secret != app.consumer_secret {
        return Err(OAuthError::wrong_secret());
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
}

/// The audiences an assertion may name: production and sandbox login, or the org itself.
const AUDIENCES: [&str; 2] = ["https://login.salesforce.com", "https://test.salesforce.com"];

/// Who a token request authenticates, by user id; the form's fields as sent.
pub(crate) fn authenticate(
    form: &HashMap<String, String>,
    basic: Option<(String, String)>,
    app: &ConnectedApp,
    base_url: &str,
    users: &[(String, SalesforceUser)],
    run_as: &str,
) -> Result<String, OAuthError> {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let user_named = |username: &str| {
        users.iter().find(|(_, user)| user.username.eq_ignore_ascii_case(username)).map(|(id, user)| (id.clone(), user))
    };
    match field("grant_type") {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let mut validation = Validation::new(Algorithm::RS256);
            let audiences: Vec<&str> = AUDIENCES.into_iter().chain([base_url]).collect();
            validation.set_audience(&audiences);
            validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
            let key = DecodingKey::from_rsa_pem(PUBLIC_KEY_PEM.as_bytes())
                .map_err(|error| OAuthError::grant(format!("the org's certificate is unusable: {error}")))?;
            let claims = jsonwebtoken::decode::<Claims>(field("assertion"), &key, &validation).map_err(|error| {
                match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        OAuthError::grant("expired authorization code")
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidAudience => OAuthError::grant("audience is invalid"),
                    _ => OAuthError::grant(format!("invalid assertion: {error}")),
                }
            })?;
            if claims.claims.iss != app.consumer_key {
                return Err(OAuthError::unknown_client());
            }
            user_named(&claims.claims.sub)
                .map(|(id, _)| id)
                .ok_or_else(|| OAuthError::grant("user hasn't approved this consumer"))
        }
        "client_credentials" => {
            let (id, secret) =
                basic.unwrap_or_else(|| (field("client_id").to_string(), field("client_secret").to_string()));
            check_client(app, &id, &secret)?;
            Ok(run_as.to_string())
        }
        "password" => {
            check_client(app, field("client_id"), field("client_secret"))?;
            match user_named(field("username")) {
                Some((id, user)) if user.password == field("password") => Ok(id),
                _ => Err(OAuthError::grant("authentication failure")),
            }
        }
        other => Err(OAuthError {
            status: 400,
            error: "unsupported_grant_type",
            description: format!("grant type not supported: {other}"),
        }),
    }
}

/// The sessions tokens were issued for.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    tokens: HashMap<String, String>,
    issued: u64,
}

impl Sessions {
    /// A new access token for `user`.
    pub(crate) fn open(&mut self, org_id: &str, user: &str) -> String {
        self.issued += 1;
        let token = format!("{}!AQ0AQsim{:06}{}", &org_id[..15], self.issued, uuid::Uuid::new_v4().simple());
        self.tokens.insert(token.clone(), user.to_string());
        token
    }

    /// The user of a valid token.
    pub(crate) fn user(&self, token: &str) -> Option<&str> {
        self.tokens.get(token).map(String::as_str)
    }

    /// Ends one session (`/services/oauth2/revoke`); whether the token was a live one.
    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }

    /// Ends every session, as a session timeout or an administrator does.
    pub(crate) fn expire_all(&mut self) {
        self.tokens.clear();
    }

    pub(crate) fn issued(&self) -> u64 {
        self.issued
    }
}
