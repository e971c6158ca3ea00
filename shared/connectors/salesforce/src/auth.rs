//! OAuth 2.0 for the integration user: the JWT bearer flow (an assertion signed with the connected
//! app's certificate key, naming the user) or the client credentials flow (the app's "Run As" user).
//! Tokens are asked for at the org's My Domain; the answer names the instance every call then goes to
//! and, in its identity URL, the user the session runs as. Salesforce gives no lifetime: a session
//! lasts until the org's timeout, and a call answered `INVALID_SESSION_ID` asks for a new one.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};
use tandem_engine::ports::ConnectorError;
use tandem_http::{Answer, Repeat, Transport};
use tandem_model::{Credentials, SecretString};
use url::Url;

use crate::SALESFORCE as SYSTEM;

/// The login server a JWT assertion names unless the credentials say otherwise.
const PRODUCTION_LOGIN: &str = "https://login.salesforce.com";
/// How long an assertion is valid: Salesforce accepts at most 3 minutes.
const ASSERTION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(3);

/// How the integration user signs in.
pub(crate) enum Grant {
    JwtBearer { consumer_key: String, username: String, key: EncodingKey, audience: String },
    ClientCredentials { consumer_key: String, consumer_secret: SecretString },
}

impl Grant {
    /// The grant the service account's credentials allow; a private key that is not an RSA PEM is
    /// refused here, before any call.
    pub(crate) fn from_credentials(credentials: &Credentials) -> Result<Grant, String> {
        match credentials {
            Credentials::SalesforceJwtBearer { consumer_key, username, private_key, audience } => {
                let key = EncodingKey::from_rsa_pem(private_key.expose().as_bytes())
                    .map_err(|error| format!("the private key is not an RSA key in PEM form: {error}"))?;
                Ok(Grant::JwtBearer {
                    consumer_key: consumer_key.clone(),
                    username: username.clone(),
                    key,
                    audience: audience.clone().unwrap_or_else(|| PRODUCTION_LOGIN.to_string()),
                })
            }
            Credentials::SalesforceClientCredentials { consumer_key, consumer_secret } => {
                Ok(Grant::ClientCredentials {
                    consumer_key: consumer_key.clone(),
                    consumer_secret: consumer_secret.clone(),
                })
            }
            other => Err(format!(
                "credentials of kind `{}` cannot sign in to Salesforce",
                tandem_system_api::credentials_kind(other)
            )),
        }
    }

    /// The token request's form.
    fn form(&self) -> Result<Vec<(&'static str, String)>, ConnectorError> {
        match self {
            Grant::JwtBearer { consumer_key, username, key, audience } => {
                let claims = Claims {
                    iss: consumer_key,
                    sub: username,
                    aud: audience,
                    exp: (chrono::Utc::now() + ASSERTION_LIFETIME).timestamp(),
                };
                let assertion =
                    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key).map_err(|error| {
                        ConnectorError::Invalid {
                            system: SYSTEM,
                            message: format!("the JWT assertion could not be signed: {error}"),
                        }
                    })?;
                Ok(vec![("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".into()), ("assertion", assertion)])
            }
            Grant::ClientCredentials { consumer_key, consumer_secret } => Ok(vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", consumer_key.clone()),
                ("client_secret", consumer_secret.expose().to_string()),
            ]),
        }
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

/// A signed-in session: where to call, with what, as whom.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub access_token: SecretString,
    pub instance_url: Url,
    /// The integration user's record id (the identity URL's last segment).
    pub user_id: String,
    /// The org's id (the identity URL's segment before the user's).
    pub org_id: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    instance_url: String,
    id: String,
}

#[derive(Deserialize)]
struct OAuthRefusal {
    error: String,
    #[serde(default)]
    error_description: String,
}

const TOKEN_PATH: &str = "/services/oauth2/token";
/// How soon a sign-in refused for too many sign-ins is tried again. Salesforce counts them per user
/// and hour (3,600), so one more a few seconds later costs nothing against the limit, and a change
/// that still fails waits in the failure log for its next try rather than being parked.
const SIGN_IN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Signs in at `my_domain` (`https://acme.my.salesforce.com`).
pub(crate) async fn sign_in(transport: &Transport, my_domain: &str, grant: &Grant) -> Result<Session, ConnectorError> {
    let url = format!("{my_domain}{TOKEN_PATH}");
    let form = grant.form()?;
    let build =
        |http: &reqwest::Client| http.post(&url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").form(&form);
    let answer = transport.send(Repeat::Safe, build, refusal).await?;
    let token: TokenAnswer = serde_json::from_slice(&answer.body).map_err(|error| ConnectorError::InvalidResponse {
        system: SYSTEM,
        message: format!("the token answer: {error}"),
        source: Some(Box::new(error)),
    })?;
    let unreadable = |what: &str| ConnectorError::InvalidResponse {
        system: SYSTEM,
        message: format!("the token answer's {what} is not usable"),
        source: None,
    };
    let instance_url = Url::parse(&token.instance_url).map_err(|_| unreadable("instance_url"))?;
    let mut identity = token.id.rsplit('/');
    let (user_id, org_id) = match (identity.next(), identity.next()) {
        (Some(user), Some(org)) if !user.is_empty() && !org.is_empty() => (user.to_string(), org.to_string()),
        _ => return Err(unreadable("identity URL (id)")),
    };
    tracing::debug!(instance = %instance_url, user = %user_id, "signed in to Salesforce");
    Ok(Session { access_token: token.access_token, instance_url, user_id, org_id })
}

/// The token endpoint's refusal: a refused grant or client is a credential problem (the operator
/// must fix the connected app, the user's approval or the key), told with Salesforce's own words.
/// Too many sign-ins is a limit that frees up, never a credential problem; an answer in the REST
/// API's error shape (a proxy in front of the org) is read as the API's.
fn refusal(answer: &Answer) -> ConnectorError {
    let status = answer.status.as_u16();
    match serde_json::from_slice::<OAuthRefusal>(&answer.body) {
        Ok(refused) if refused.error == "rate_limit_exceeded" => {
            tracing::warn!(description = %refused.error_description, "Salesforce refused a sign-in: too many sign-ins");
            ConnectorError::RateLimited { system: SYSTEM, status, retry_after: Some(SIGN_IN_WAIT) }
        }
        Ok(refused) if (400..500).contains(&status) && refused.error != "unknown_error" => {
            tracing::warn!(error = %refused.error, description = %refused.error_description, "Salesforce refused to sign the integration user in");
            ConnectorError::Unauthorized { system: SYSTEM, status: 401 }
        }
        Err(_) if answer.body.starts_with(b"[") => {
            crate::client::error_for(answer, &reqwest::Method::POST, TOKEN_PATH, "the sign-in")
        }
        _ => ConnectorError::Http {
            system: SYSTEM,
            status,
            method: "POST".into(),
            path: TOKEN_PATH.into(),
            message: String::from_utf8_lossy(&answer.body).chars().take(300).collect(),
            retry_after: tandem_http::retry_after(&answer.headers),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use reqwest::StatusCode;

    fn refused(status: u16, body: &str) -> ConnectorError {
        refusal(&Answer { status: StatusCode::from_u16(status).unwrap(), headers: HeaderMap::new(), body: body.into() })
    }

    #[test]
    fn a_refused_grant_is_a_credential_problem() {
        let error = refused(400, r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#);
        assert!(matches!(error, ConnectorError::Unauthorized { .. }), "{error:?}");
    }

    #[test]
    fn too_many_sign_ins_is_a_limit_that_frees_up_not_a_credential_problem() {
        let error =
            refused(400, r#"{"error":"rate_limit_exceeded","error_description":"Number of login attempts exceeded"}"#);
        assert!(
            matches!(error, ConnectorError::RateLimited { retry_after: Some(wait), .. } if wait == SIGN_IN_WAIT),
            "{error:?}"
        );
        assert!(error.is_retryable());
    }

    #[test]
    fn a_server_failure_and_an_answer_in_the_rest_shape_are_retried() {
        let failed = refused(503, r#"{"error":"unknown_error","error_description":"retry your request"}"#);
        assert!(matches!(failed, ConnectorError::Http { status: 503, .. }), "{failed:?}");
        let concurrent = refused(
            403,
            r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(matches!(concurrent, ConnectorError::RateLimited { status: 403, .. }), "{concurrent:?}");
        for error in [failed, concurrent] {
            assert!(error.is_retryable(), "{error:?}");
        }
    }
}
