//! The Salesforce simulator as people use it from the REST API docs: describe's picklist defaults and
//! `If-Modified-Since`, SOQL date literals, aggregates and its errors, the OAuth token's signature, the
//! identity URL, userinfo and revocation, Salesforce's answers to other methods and addresses, create
//! and delete by a field, and `CommentBodyRichtext` from API 63.0 only.

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use tandem_simulators::salesforce::{
    RunningSalesforce, SalesforceSimConfig, SalesforceSimulator, API_VERSION, CASE_EXTERNAL_ID,
};

async fn org() -> RunningSalesforce {
    SalesforceSimulator::start(SalesforceSimConfig::default()).await.expect("the simulator starts")
}

/// A person signed in: REST calls under one API version.
struct Person {
    base: String,
    version: String,
    token: String,
    client: Client,
}

impl Person {
    fn new(org: &RunningSalesforce, email: &str) -> Person {
        Person::at(org, email, API_VERSION)
    }

    fn at(org: &RunningSalesforce, email: &str, version: &str) -> Person {
        Person {
            base: org.base_url().to_string(),
            version: version.to_string(),
            token: org.open_session(email).expect("a known user"),
            client: Client::new(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}/services/data/v{}{path}", self.base, self.version);
        self.client.request(method, url).bearer_auth(&self.token)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let answer = request.send().await.unwrap();
        let (status, headers) = (answer.status(), answer.headers().clone());
        let text = answer.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    async fn query(&self, soql: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(self.request(Method::GET, "/query").query(&[("q", soql)])).await;
        (status, body)
    }

    async fn create(&self, object: &str, fields: Value) -> String {
        let (status, body) = self.call(Method::POST, &format!("/sobjects/{object}"), Some(fields)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }
}

fn no_violations(org: &RunningSalesforce) {
    let violations = org.violations();
    assert!(violations.is_empty(), "{violations:#?}");
}

fn error_code(body: &Value) -> (&str, &str) {
    (body[0]["errorCode"].as_str().unwrap_or_default(), body[0]["message"].as_str().unwrap_or_default())
}

fn recorded_case_describe() -> Value {
    let path = tandem_contract_check::contracts_dir()
        .expect("the contracts are there")
        .join("salesforce/describe/Case.describe.v48.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn case_picklists_default_as_the_recorded_describe_and_a_create_gets_the_defaults() {
    let org = org().await;
    let alice = Person::new(&org, "alice@acme.example");
    let (status, describe) = alice.call(Method::GET, "/sobjects/Case/describe", None).await;
    assert_eq!(status, StatusCode::OK);
    let recorded = recorded_case_describe();
    let field = |describe: &Value, name: &str| {
        describe["fields"].as_array().unwrap().iter().find(|field| field["name"] == json!(name)).cloned().unwrap()
    };
    for name in ["Status", "Priority", "Type", "Origin", "Reason", "OwnerId", "IsEscalated", "Subject", "ClosedDate"] {
        let (simulated, recorded) = (field(&describe, name), field(&recorded, name));
        for key in ["defaultedOnCreate", "defaultValue", "picklistValues"] {
            assert_eq!(simulated[key], recorded[key], "Case.{name}.{key}");
        }
    }
    let defaults = |name: &str| {
        field(&describe, name)["picklistValues"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|value| value["defaultValue"] == json!(true))
            .map(|value| value["value"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(defaults("Priority"), ["Medium"]);
    assert_eq!(defaults("Status"), ["New"]);
    assert!(defaults("Type").is_empty() && defaults("Origin").is_empty() && defaults("Reason").is_empty());

    let id = alice.create("Case", json!({"Subject": "No defaults given"})).await;
    let (_, case) = alice.call(Method::GET, &format!("/sobjects/Case/{id}"), None).await;
    assert_eq!((case["Status"].as_str(), case["Priority"].as_str()), (Some("New"), Some("Medium")));
    assert_eq!((case["Type"].clone(), case["Origin"].clone()), (Value::Null, Value::Null));
    assert_eq!(case["IsEscalated"], json!(false));
    no_violations(&org);
}

#[tokio::test]
async fn soql_date_literals_compare_with_datetime_fields() {
    let org = org().await;
    let alice = Person::new(&org, "alice@acme.example");
    let id = alice.create("Case", json!({"Subject": "Today's case"})).await;
    let ids_of = |body: &Value| -> Vec<String> {
        body["records"].as_array().unwrap().iter().map(|record| record["Id"].as_str().unwrap().to_string()).collect()
    };
    for (condition, found) in [
        ("CreatedDate = TODAY", true),
        ("CreatedDate = YESTERDAY", false),
        ("CreatedDate > YESTERDAY", true),
        ("CreatedDate < TODAY", false),
        ("CreatedDate = LAST_N_DAYS:7", true),
        ("CreatedDate = LAST_N_DAYS:1", true),
        ("CreatedDate = NEXT_N_DAYS:3", false),
        ("CreatedDate < NEXT_N_DAYS:3", true),
        ("CreatedDate = N_DAYS_AGO:2", false),
        ("SystemModstamp >= THIS_WEEK AND CreatedDate = THIS_MONTH", true),
        ("LastModifiedDate = THIS_YEAR", true),
    ] {
        let (status, body) = alice.query(&format!("SELECT Id FROM Case WHERE {condition}")).await;
        assert_eq!(status, StatusCode::OK, "{condition}: {body}");
        assert_eq!(ids_of(&body).contains(&id), found, "{condition}");
    }
    no_violations(&org);
}

#[tokio::test]
async fn aggregates_answer_one_aggregate_result() {
    let org = org().await;
    let alice = Person::new(&org, "alice@acme.example");
    for subject in ["one", "two", "three"] {
        alice.create("Case", json!({"Subject": subject})).await;
    }
    let (status, body) = alice.query("SELECT COUNT(Id) FROM Case").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalSize"], json!(1));
    assert_eq!(body["records"][0], json!({"attributes": {"type": "AggregateResult"}, "expr0": 3}));

    let (_, body) = alice
        .query("SELECT COUNT(Id) total, MAX(CreatedDate), COUNT_DISTINCT(Status) FROM Case WHERE Subject != 'one'")
        .await;
    let row = &body["records"][0];
    assert_eq!((row["total"].clone(), row["expr1"].clone()), (json!(2), json!(1)), "{row}");
    assert!(row["expr0"].as_str().is_some_and(|at| at.ends_with("+0000")), "{row}");

    let (_, body) = alice.query("SELECT COUNT() FROM Case").await;
    assert_eq!((body["totalSize"].clone(), body["records"].clone()), (json!(3), json!([])));

    let (status, body) = alice.query("SELECT Subject, COUNT(Id) FROM Case").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body).0, "MALFORMED_QUERY");
    assert!(error_code(&body).1.ends_with("Field must be grouped or aggregated: Subject"), "{body}");
}

#[tokio::test]
async fn a_malformed_id_in_a_filter_and_a_malformed_query_are_pointed_at() {
    let org = org().await;
    let alice = Person::new(&org, "alice@acme.example");
    let soql = "SELECT Id FROM Case WHERE Id = 'xyz'";
    let (status, body) = alice.query(soql).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message) = error_code(&body);
    assert_eq!(code, "INVALID_QUERY_FILTER_OPERATOR");
    assert_eq!(message, format!("\n{soql}\n{}^\nERROR at Row:1:Column:32\ninvalid ID field: xyz", " ".repeat(31)));

    let (_, body) = alice.query("SELECT Id FROM CaseComment WHERE ParentId IN ('500bm00000A1b2C', 'nope')").await;
    assert_eq!(error_code(&body), ("INVALID_QUERY_FILTER_OPERATOR", error_code(&body).1));
    assert!(error_code(&body).1.ends_with("invalid ID field: nope"));

    let (status, body) = alice.query("SELECT Id, FROM Case").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message) = error_code(&body);
    assert_eq!(code, "MALFORMED_QUERY");
    assert!(message.contains("ERROR at Row:1:Column:12\nunexpected token: 'FROM'"), "{message}");

    let (_, body) = alice.query("SELECT Id\nFROM Case\nWHERE Subject = 'a' junk").await;
    assert!(error_code(&body).1.contains("ERROR at Row:3:Column:21"), "{body}");
}

#[tokio::test]
async fn describe_answers_not_modified_since_the_org_started() {
    let org = org().await;
    let alice = Person::new(&org, "alice@acme.example");
    for path in ["/sobjects/Case/describe", "/sobjects"] {
        let (status, headers, _) = alice.send(alice.request(Method::GET, path)).await;
        assert_eq!(status, StatusCode::OK);
        let modified = headers["last-modified"].to_str().unwrap().to_string();
        assert!(modified.ends_with(" GMT"), "{modified}");

        let request = alice.request(Method::GET, path).header("If-Modified-Since", &modified);
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(answer.bytes().await.unwrap().is_empty());

        let long_ago = "Mon, 01 Jan 2001 00:00:00 GMT";
        let (status, _, body) =
            alice.send(alice.request(Method::GET, path).header("If-Modified-Since", long_ago)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.is_object());
    }
    no_violations(&org);
}

#[tokio::test]
async fn the_token_is_signed_and_its_identity_url_userinfo_and_revocation_work() {
    let org = org().await;
    let client = Client::new();
    let token_url = format!("{}/services/oauth2/token", org.base_url());
    let app = org.app().clone();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app.consumer_key.as_str()),
        ("client_secret", app.consumer_secret.as_str()),
    ];
    let token: Value = client.post(&token_url).form(&form).send().await.unwrap().json().await.unwrap();
    let (id, issued_at) = (token["id"].as_str().unwrap(), token["issued_at"].as_str().unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(app.consumer_secret.as_bytes()).unwrap();
    mac.update(format!("{id}{issued_at}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(token["signature"], json!(expected));

    let unknown = [("grant_type", "client_credentials"), ("client_id", "nobody"), ("client_secret", "x")];
    let answer = client.post(&token_url).form(&unknown).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let refusal: Value = answer.json().await.unwrap();
    assert_eq!(refusal["error"], json!("invalid_client_id"));

    let access = token["access_token"].as_str().unwrap();
    let identity = client.get(id).bearer_auth(access).send().await.unwrap();
    assert_eq!(identity.status(), StatusCode::OK);
    let identity: Value = identity.json().await.unwrap();
    let integration = &org.users()[0];
    assert_eq!(identity["user_id"], json!(integration.0));
    assert_eq!(identity["organization_id"], json!(org.org_id()));
    assert_eq!(identity["username"], json!(integration.1.username));
    assert_eq!(identity["email"], json!(integration.1.email));
    assert_eq!(identity["display_name"], json!("Tandem Integration"));
    assert!(identity["urls"]["rest"].as_str().unwrap().ends_with("/services/data/v{version}/"));
    let versioned: Value =
        client.get(id).query(&[("version", "64.0")]).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert!(versioned["urls"]["query"].as_str().unwrap().ends_with("/services/data/v64.0/query/"));

    let userinfo = format!("{}/services/oauth2/userinfo", org.base_url());
    let info: Value = client.get(&userinfo).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!((info["sub"].as_str(), info["user_id"].clone()), (Some(id), json!(integration.0)));
    assert_eq!(info["preferred_username"], json!(integration.1.username));

    let revoke = format!("{}/services/oauth2/revoke", org.base_url());
    let answer = client.post(&revoke).form(&[("token", access)]).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let after = client
        .get(format!("{}/services/data/v{API_VERSION}/limits", org.base_url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let body: Value = after.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], json!("INVALID_SESSION_ID"));
    let again = client.post(&revoke).form(&[("token", access)]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    no_violations(&org);
}

#[tokio::test]
async fn other_methods_and_addresses_are_answered_in_salesforce_errors() {
    let org = org().await;
    let alice = Person::new(&org, "alice@acme.example");
    let id = alice.create("Case", json!({"Subject": "methods"})).await;
    let (status, body) = alice.call(Method::PUT, &format!("/sobjects/Case/{id}"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        error_code(&body),
        ("METHOD_NOT_ALLOWED", "HTTP Method 'PUT' not allowed. Allowed are GET,PATCH,DELETE")
    );
    let (status, body) = alice.call(Method::GET, "/no/such/thing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), ("NOT_FOUND", "The requested resource does not exist"));
}

#[tokio::test]
async fn records_are_created_at_id_and_deleted_by_external_id() {
    let org = org().await;
    let alice = Person::new(&org, "alice@acme.example");
    let (status, body) = alice.call(Method::POST, "/sobjects/Case/Id", Some(json!({"Subject": "by Id"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["success"].clone(), body["created"].clone()), (json!(true), json!(true)));
    let (_, case) = alice.call(Method::GET, &format!("/sobjects/Case/{}", body["id"].as_str().unwrap()), None).await;
    assert_eq!(case["Subject"], json!("by Id"));

    alice.create("Case", json!({"Subject": "to delete", CASE_EXTERNAL_ID: "JIRA-9"})).await;
    let path = format!("/sobjects/Case/{CASE_EXTERNAL_ID}/jira-9");
    let (status, _) = alice.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = alice.call(Method::GET, &path, None).await;
    assert_eq!((status, error_code(&body).0), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (status, _) = alice.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    no_violations(&org);
}

#[tokio::test]
async fn the_rich_text_comment_body_exists_from_api_63() {
    let org = org().await;
    let old = Person::at(&org, "alice@acme.example", "62.0");
    let new = Person::at(&org, "alice@acme.example", "63.0");
    let case = new.create("Case", json!({"Subject": "rich"})).await;
    let has_field = |describe: &Value| {
        describe["fields"].as_array().unwrap().iter().any(|field| field["name"] == json!("CommentBodyRichtext"))
    };
    let (_, describe) = old.call(Method::GET, "/sobjects/CaseComment/describe", None).await;
    assert!(!has_field(&describe));
    let (_, describe) = new.call(Method::GET, "/sobjects/CaseComment/describe", None).await;
    assert!(has_field(&describe));

    let (status, body) = old.query("SELECT Id, CommentBodyRichtext FROM CaseComment").await;
    assert_eq!((status, error_code(&body).0), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));
    let (status, _) = new.query("SELECT Id, CommentBodyRichtext FROM CaseComment").await;
    assert_eq!(status, StatusCode::OK);

    let rich = json!({"ParentId": case, "CommentBody": "plain", "CommentBodyRichtext": "<b>rich</b>"});
    let (status, body) = old.call(Method::POST, "/sobjects/CaseComment", Some(rich.clone())).await;
    assert_eq!((status, error_code(&body).0), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));
    let comment = new.create("CaseComment", rich).await;
    let (_, read) = old.call(Method::GET, &format!("/sobjects/CaseComment/{comment}"), None).await;
    assert!(read.get("CommentBodyRichtext").is_none() && read["CommentBody"] == json!("plain"));
    let (_, read) = new.call(Method::GET, &format!("/sobjects/CaseComment/{comment}"), None).await;
    assert_eq!(read["CommentBodyRichtext"], json!("<b>rich</b>"));
}
