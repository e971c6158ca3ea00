//! The Salesforce simulator through its REST API, as a person or an integration would use it: OAuth
//! flows, records, upserts, SOQL, limits, sessions, Outbound Messages; and its answers against the
//! recorded shapes in `../shared/contracts/salesforce/`.

use axum::body::Bytes;
use axum::routing::post;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tandem_simulators::salesforce::{
    key, OutboundTarget, RunningSalesforce, SalesforceSimConfig, SalesforceSimulator, SalesforceUser, API_VERSION,
    CASE_EXTERNAL_ID,
};

async fn org() -> RunningSalesforce {
    SalesforceSimulator::start(SalesforceSimConfig::default()).await.expect("the simulator starts")
}

/// A JWT bearer assertion for `user`, signed with the connected app's certificate key.
fn assertion(org: &RunningSalesforce, username: &str, audience: &str) -> String {
    let expires = chrono::Utc::now().timestamp() + 180;
    let claims = json!({ "iss": org.app().consumer_key, "sub": username, "aud": audience, "exp": expires });
    let key = EncodingKey::from_rsa_pem(key::PRIVATE_KEY_PEM.as_bytes()).expect("the test key reads");
    jsonwebtoken::encode(&Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key).expect("signs")
}

/// Logs in as `user` with the JWT bearer flow; the access token.
async fn login(org: &RunningSalesforce, user: &SalesforceUser) -> String {
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string()),
        ("assertion", assertion(org, &user.username, "https://login.salesforce.com")),
    ];
    let answer =
        Client::new().post(format!("{}/services/oauth2/token", org.base_url())).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let token: Value = answer.json().await.unwrap();
    assert_eq!(token["instance_url"], json!(org.base_url()));
    assert_eq!(token["token_type"], json!("Bearer"));
    token["access_token"].as_str().expect("an access token").to_string()
}

struct Api {
    base: String,
    token: String,
    client: Client,
}

impl Api {
    async fn new(org: &RunningSalesforce, user: &SalesforceUser) -> Api {
        Api {
            base: format!("{}/services/data/v{API_VERSION}", org.base_url()),
            token: login(org, user).await,
            client: Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let (status, headers) = (answer.status(), answer.headers().clone());
        let text = answer.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn query(&self, soql: &str) -> (StatusCode, Value) {
        let answer = self
            .client
            .get(format!("{}/query", self.base))
            .query(&[("q", soql)])
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (answer.status(), answer.json().await.unwrap_or(Value::Null))
    }

    async fn create_case(&self, fields: Value) -> String {
        let (status, _, body) = self.call(reqwest::Method::POST, "/sobjects/Case", Some(fields)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }
}

fn no_violations(org: &RunningSalesforce) {
    let violations = org.violations();
    assert!(violations.is_empty(), "{violations:#?}");
}

#[tokio::test]
async fn a_case_is_created_read_updated_and_found_with_its_account_and_owner() {
    let org = org().await;
    let alice = Api::new(&org, &SalesforceUser::alice()).await;
    let (_, _, accounts) =
        alice.call(reqwest::Method::GET, "/query?q=SELECT+Id+FROM+Account+WHERE+Name='Acme+Corporation'", None).await;
    let account = accounts["records"][0]["Id"].as_str().expect("Acme is there").to_string();
    let id = alice.create_case(json!({"Subject": "Cannot log in", "Priority": "High", "AccountId": account, "Description": "Line one\nLine two"})).await;
    assert!(id.starts_with("500") && id.len() == 18);

    let (status, _, case) = alice.call(reqwest::Method::GET, &format!("/sobjects/Case/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["attributes"]["type"], json!("Case"));
    assert_eq!((case["Status"].as_str(), case["IsClosed"].as_bool()), (Some("New"), Some(false)));
    assert!(case["CaseNumber"].as_str().is_some_and(|number| number.len() == 8));
    assert_eq!(case["OwnerId"], json!(org.user_id("alice@acme.example").unwrap()));
    let stamp = case["SystemModstamp"].as_str().unwrap();
    assert!(stamp.ends_with("+0000") && stamp.contains('.'), "{stamp}");

    let (status, _, _) = alice
        .call(reqwest::Method::PATCH, &format!("/sobjects/Case/{}", &id[..15]), Some(json!({"Status": "Closed"})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, found) = alice
        .query(&format!(
            "SELECT Id, Subject, IsClosed, Account.Name, Owner.Email, Contact.Email FROM Case WHERE Id = '{id}' AND SystemModstamp >= 2020-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let case = &found["records"][0];
    assert_eq!(case["IsClosed"], json!(true));
    assert_eq!(case["Account"]["Name"], json!("Acme Corporation"));
    assert_eq!(case["Account"]["attributes"]["type"], json!("Account"));
    assert_eq!(case["Owner"]["Email"], json!("alice@acme.example"));
    assert_eq!(case["Owner"]["attributes"]["type"], json!("Name"), "the owner is polymorphic");
    assert_eq!(case["Contact"], Value::Null);
    no_violations(&org);
}

#[tokio::test]
async fn the_addresses_the_docs_print_are_served_with_or_without_a_trailing_slash() {
    let org = org().await;
    let api = Api::new(&org, &SalesforceUser::alice()).await;
    let id = api.create_case(json!({"Subject": "Trailing slashes", "Status": "New"})).await;
    let answer = api.client.get(format!("{}/services/data/", org.base_url())).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let versions: Value = answer.json().await.unwrap();
    let listed = versions.as_array().unwrap();
    assert_eq!(listed.len(), 19, "v46.0 to v64.0, each: {versions}");
    assert!(listed.contains(&json!({"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"})));
    let (status, _, resources) = api.call(reqwest::Method::GET, "/", None).await;
    assert_eq!(
        (status, resources["sobjects"].clone()),
        (StatusCode::OK, json!(format!("/services/data/v{API_VERSION}/sobjects")))
    );
    for path in ["/sobjects/", "/sobjects/Case/describe/", "/limits/", &format!("/sobjects/Case/{id}/")] {
        let (status, _, body) = api.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, _, basic) = api.call(reqwest::Method::GET, "/sobjects/Case", None).await;
    assert_eq!((status, basic["objectDescribe"]["name"].clone()), (StatusCode::OK, json!("Case")), "{basic}");
    let answer = reqwest::Client::new()
        .get(format!("{}/query/", api.base))
        .query(&[("q", "SELECT Id FROM Case")])
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.json::<Value>().await.unwrap()["totalSize"], json!(1));
    let (status, _, missing) = api.call(reqwest::Method::GET, "/sobjects/Case/500000000000099AAA", None).await;
    assert_eq!(
        (status, missing),
        (
            StatusCode::NOT_FOUND,
            json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
        )
    );
    assert_eq!(
        api.call(reqwest::Method::DELETE, &format!("/sobjects/Case/{id}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _, deleted) = api.call(reqwest::Method::GET, &format!("/sobjects/Case/{id}"), None).await;
    assert_eq!((status, deleted[0]["errorCode"].clone()), (StatusCode::NOT_FOUND, json!("ENTITY_IS_DELETED")));
    no_violations(&org);
}

#[tokio::test]
async fn writes_are_refused_as_salesforce_refuses_them() {
    let org = org().await;
    let alice = Api::new(&org, &SalesforceUser::alice()).await;
    let (status, _, body) = alice.call(reqwest::Method::POST, "/sobjects/Case", Some(json!({"Subjekt": "x"}))).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_FIELD")));
    let (status, _, body) =
        alice.call(reqwest::Method::POST, "/sobjects/Case", Some(json!({"Subject": "x".repeat(256)}))).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("STRING_TOO_LONG")));
    assert_eq!(body[0]["fields"], json!(["Subject"]));
    let (status, _, body) = alice.call(reqwest::Method::POST, "/sobjects/Case", Some(json!({"CaseNumber": "1"}))).await;
    assert_eq!(body[0]["errorCode"], json!("INVALID_FIELD_FOR_INSERT_UPDATE"), "{status}");
    let id = alice.create_case(json!({"Subject": "ok"})).await;
    // CommentBody holds 4,000 bytes: 2,000 two-byte characters fit, one more does not.
    let comment = |body: String| json!({"ParentId": id, "CommentBody": body, "IsPublished": false});
    let (status, _, _) =
        alice.call(reqwest::Method::POST, "/sobjects/CaseComment", Some(comment("é".repeat(2000)))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) =
        alice.call(reqwest::Method::POST, "/sobjects/CaseComment", Some(comment("é".repeat(2001)))).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("STRING_TOO_LONG")));
    let (status, _, body) = alice.call(reqwest::Method::GET, "/sobjects/Case/not-an-id", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")));
    let (status, body) = alice.query("SELECT Id, FROM Case").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("MALFORMED_QUERY")));
    let (status, body) = alice.query("SELECT Id FROM Xyzzy").await;
    assert_eq!(body[0]["errorCode"], json!("INVALID_TYPE"), "{status}");
    let (_, body) = alice.query("SELECT Subjekt FROM Case").await;
    assert_eq!(body[0]["errorCode"], json!("INVALID_FIELD"));
    no_violations(&org);
}

#[tokio::test]
async fn upsert_by_external_id_creates_once_then_updates_and_reports_several_matches() {
    let org = org().await;
    let api = Api::new(&org, &SalesforceUser::integration()).await;
    let path = format!("/sobjects/Case/{CASE_EXTERNAL_ID}/tandem:ops:1:OPS-7");
    let (status, _, first) = api.call(reqwest::Method::PATCH, &path, Some(json!({"Subject": "From Jira"}))).await;
    assert_eq!((status, &first["created"]), (StatusCode::CREATED, &json!(true)));
    // The same request again (a retry after a lost answer) updates the same Case.
    let (status, _, again) = api.call(reqwest::Method::PATCH, &path, Some(json!({"Subject": "From Jira"}))).await;
    assert_eq!((status, &again["created"], &again["id"]), (StatusCode::OK, &json!(false), &first["id"]));
    let (_, count) =
        api.query(&format!("SELECT COUNT() FROM Case WHERE {CASE_EXTERNAL_ID} = 'TANDEM:OPS:1:OPS-7'")).await;
    assert_eq!(count["totalSize"], json!(1), "matched without regard to case");
    let only_update = format!("/sobjects/Case/{CASE_EXTERNAL_ID}/tandem:ops:1:OPS-8?updateOnly=true");
    let (status, _, _) = api.call(reqwest::Method::PATCH, &only_update, Some(json!({"Subject": "x"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "updateOnly creates nothing");
    let (status, _, body) = api.call(reqwest::Method::PATCH, "/sobjects/Case/Subject/x", Some(json!({}))).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")));
    let (status, _, body) = api.call(reqwest::Method::GET, &path, None).await;
    assert_eq!((status, &body["Id"]), (StatusCode::OK, &first["id"]));
    no_violations(&org);
}

#[tokio::test]
async fn queries_page_with_next_records_urls() {
    let org = org().await;
    let api = Api::new(&org, &SalesforceUser::alice()).await;
    for number in 0..450 {
        api.create_case(json!({"Subject": format!("case {number:03}")})).await;
    }
    let mut url = format!("{}/query?q={}", api.base, "SELECT+Id,+Subject+FROM+Case+ORDER+BY+Subject+DESC");
    let mut subjects = Vec::new();
    let mut batches = 0;
    loop {
        let answer = api
            .client
            .get(&url)
            .bearer_auth(&api.token)
            .header("Sforce-Query-Options", "batchSize=200")
            .send()
            .await
            .unwrap();
        let batch: Value = answer.json().await.unwrap();
        assert_eq!(batch["totalSize"], json!(450));
        subjects.extend(
            batch["records"].as_array().unwrap().iter().map(|record| record["Subject"].as_str().unwrap().to_string()),
        );
        batches += 1;
        match batch["nextRecordsUrl"].as_str() {
            Some(next) => url = format!("{}{next}", org.base_url()),
            None => break,
        }
    }
    assert_eq!((batches, subjects.len()), (3, 450));
    assert_eq!((subjects[0].as_str(), subjects[449].as_str()), ("case 449", "case 000"));
    no_violations(&org);
}

#[tokio::test]
async fn comments_come_with_their_case_or_alone() {
    let org = org().await;
    let alice = Api::new(&org, &SalesforceUser::alice()).await;
    let case = alice.create_case(json!({"Subject": "with comments"})).await;
    let lonely = alice.create_case(json!({"Subject": "without"})).await;
    for (body, public) in [("Reset link sent.", true), ("Internal: customer is VIP", false)] {
        let (status, _, _) = alice
            .call(
                reqwest::Method::POST,
                "/sobjects/CaseComment",
                Some(json!({"ParentId": case, "CommentBody": body, "IsPublished": public})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, found) = alice
        .query(&format!(
            "SELECT Id, (SELECT Id, CommentBody, IsPublished FROM CaseComments ORDER BY CreatedDate) FROM Case WHERE Id IN ('{case}', '{lonely}') ORDER BY Subject"
        ))
        .await;
    // "with comments" sorts before "without".
    assert_eq!(found["records"][1]["CaseComments"], Value::Null, "no comments: null");
    let comments = &found["records"][0]["CaseComments"];
    assert_eq!(comments["totalSize"], json!(2));
    assert_eq!(comments["records"][1]["IsPublished"], json!(false));
    let (_, public) = alice
        .query(&format!("SELECT CommentBody FROM CaseComment WHERE ParentId = '{case}' AND IsPublished = true"))
        .await;
    assert_eq!(public["records"][0]["CommentBody"], json!("Reset link sent."));
    no_violations(&org);
}

#[tokio::test]
async fn sessions_expire_and_the_allowance_runs_out() {
    let org = org().await;
    let api = Api::new(&org, &SalesforceUser::integration()).await;
    let (status, headers, _) = api.call(reqwest::Method::GET, "/limits", None).await;
    assert_eq!(status, StatusCode::OK);
    let usage = headers.get("sforce-limit-info").and_then(|value| value.to_str().ok()).unwrap_or_default().to_string();
    assert!(usage.starts_with("api-usage=") && usage.ends_with("/100000"), "{usage}");

    org.expire_sessions();
    let (status, _, body) = api.call(reqwest::Method::GET, "/limits", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::UNAUTHORIZED, Some("INVALID_SESSION_ID")));

    let api = Api::new(&org, &SalesforceUser::integration()).await;
    org.set_api_allowance(org.api_used() + 1);
    let (status, _, _) = api.call(reqwest::Method::GET, "/sobjects/Case/describe", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = api.call(reqwest::Method::GET, "/limits", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::FORBIDDEN, Some("REQUEST_LIMIT_EXCEEDED")));
    assert!(headers.get("retry-after").is_none(), "Salesforce sends no Retry-After");
    org.reset_api_usage();
    let (status, _, _) = api.call(reqwest::Method::GET, "/limits", None).await;
    assert_eq!(status, StatusCode::OK, "the rolling window frees up");
    no_violations(&org);
}

#[tokio::test]
async fn oauth_flows_accept_the_app_and_refuse_the_rest() {
    let org = org().await;
    let token_url = format!("{}/services/oauth2/token", org.base_url());
    let client = Client::new();
    let app = org.app().clone();
    let answer = client
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &app.consumer_key),
            ("client_secret", &app.consumer_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let token: Value = answer.json().await.unwrap();
    let integration = org.user_id("tandem@acme.example").unwrap();
    assert!(token["id"].as_str().unwrap().ends_with(&integration), "runs as the integration user");
    let refused = client
        .post(&token_url)
        .form(&[("grant_type", "client_credentials"), ("client_id", &app.consumer_key), ("client_secret", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], json!("invalid_client"));
    let unknown = assertion(&org, "mallory@acme.example.sim", "https://login.salesforce.com");
    let refused = client
        .post(&token_url)
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", unknown.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], json!("invalid_grant"));
    let elsewhere = assertion(&org, &SalesforceUser::alice().username, "https://example.com");
    let refused = client
        .post(&token_url)
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", elsewhere.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "another audience");
    no_violations(&org);
}

#[tokio::test]
async fn injected_faults_answer_in_the_shape_of_the_endpoint_called() {
    let org = org().await;
    let api = Api::new(&org, &SalesforceUser::integration()).await;
    let plan = |rates: Value| serde_json::from_value(rates).expect("a fault plan");
    org.controls().set_fault_plan(plan(json!({"seed": 5, "rate_limit_rate": 1.0}))).expect("the plan is valid");
    let (status, _, body) = api.call(reqwest::Method::GET, "/limits", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::FORBIDDEN, Some("REQUEST_LIMIT_EXCEEDED")));
    let form = [("grant_type", "client_credentials"), ("client_id", "x"), ("client_secret", "y")];
    let token_url = format!("{}/services/oauth2/token", org.base_url());
    let signing_in = Client::new().post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(signing_in.status(), StatusCode::BAD_REQUEST);
    let refused: Value = signing_in.json().await.unwrap();
    assert_eq!(refused["error"], json!("rate_limit_exceeded"), "OAuth's shape, not the REST API's: {refused}");

    org.controls().set_fault_plan(plan(json!({"seed": 5, "server_error_rate": 1.0}))).expect("the plan is valid");
    let failing = Client::new().post(&token_url).form(&form).send().await.unwrap();
    assert!(failing.status().is_server_error(), "{}", failing.status());
    assert_eq!(failing.json::<Value>().await.unwrap()["error"], json!("unknown_error"));
    org.controls().clear_fault_plan();
    no_violations(&org);
}

#[tokio::test]
async fn outbound_messages_are_sent_until_acknowledged() {
    let org = org().await;
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/outbound",
        post(move |body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                let mut kept = kept.lock().unwrap();
                kept.push(String::from_utf8_lossy(&body).into_owned());
                // The first message is refused, as an endpoint that is down would.
                if kept.len() == 1 {
                    return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                }
                let ack = std::fs::read_to_string(ack_file()).unwrap();
                (StatusCode::OK, ack)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    org.subscribe_outbound(OutboundTarget {
        url: format!("http://{address}/outbound"),
        object: "Case".into(),
        fields: vec!["Subject".into(), "Status".into(), "SystemModstamp".into(), "LastModifiedById".into()],
    });
    let alice = Api::new(&org, &SalesforceUser::alice()).await;
    let id = alice.create_case(json!({"Subject": "Printer <on> fire"})).await;
    for _ in 0..100 {
        if org.outbound_stats().acknowledged >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = org.outbound_stats();
    assert_eq!((stats.acknowledged, stats.messages_sent), (1, 2), "{stats:?}");
    let message = received.lock().unwrap()[1].clone();
    assert!(message.contains(&format!("<OrganizationId>{}</OrganizationId>", org.org_id())));
    assert!(
        message.contains(&format!("<sf:Id>{id}</sf:Id>"))
            && message.contains("<sf:Subject>Printer &lt;on&gt; fire</sf:Subject>")
    );
    assert!(message.contains("<sf:SystemModstamp>") && message.contains("Z</sf:SystemModstamp>"));
    assert!(!message.contains("<sf:Priority>"), "only the chosen fields");
    no_violations(&org);
}

fn contracts() -> std::path::PathBuf {
    tandem_contract_check::contracts_dir().expect("the contracts are there").join("salesforce")
}

fn ack_file() -> std::path::PathBuf {
    contracts().join("outbound-messaging/notificationsResponse.ack.aspnet-webhooks.xml")
}

/// The simulator's describe of Case agrees with the recorded v48 describe on every standard field it
/// has: type, length, access, references.
#[tokio::test]
async fn the_case_describe_agrees_with_the_recorded_one() {
    let org = org().await;
    let api = Api::new(&org, &SalesforceUser::integration()).await;
    let (_, _, simulated) = api.call(reqwest::Method::GET, "/sobjects/Case/describe", None).await;
    let recorded: Value =
        serde_json::from_slice(&std::fs::read(contracts().join("describe/Case.describe.v48.json")).unwrap()).unwrap();
    assert_eq!(simulated["keyPrefix"], recorded["keyPrefix"]);
    let recorded_field =
        |name: &str| recorded["fields"].as_array().unwrap().iter().find(|field| field["name"] == json!(name)).cloned();
    let mut compared = 0;
    for field in simulated["fields"].as_array().unwrap() {
        let name = field["name"].as_str().unwrap();
        if field["custom"] == json!(true) {
            continue;
        }
        let recorded = recorded_field(name).unwrap_or_else(|| panic!("{name} is not a recorded Case field"));
        for key in ["type", "length", "createable", "updateable", "nillable", "referenceTo", "relationshipName"] {
            assert_eq!(field[key], recorded[key], "Case.{name}.{key}");
        }
        compared += 1;
    }
    assert!(compared >= 25, "{compared}");
}

/// A query answer has the keys of the constructed example built from recorded shapes, at every level.
#[tokio::test]
async fn a_query_answer_has_the_recorded_shape() {
    let org = org().await;
    let alice = Api::new(&org, &SalesforceUser::alice()).await;
    for _ in 0..2 {
        alice.create_case(json!({"Subject": "shape"})).await;
    }
    let (_, simulated) = alice
        .query("SELECT Id, CaseNumber, Subject, Status, Priority, Origin, Description, IsClosed, IsEscalated, OwnerId, Owner.Name, AccountId, Account.Name, ContactId, Contact.Name, CreatedDate, LastModifiedDate, SystemModstamp FROM Case")
        .await;
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(contracts().join("examples/query.Case.page2-last.constructed.json")).unwrap(),
    )
    .unwrap();
    let keys = |value: &Value| {
        value
            .as_object()
            .map(|object| object.keys().cloned().collect::<std::collections::BTreeSet<_>>())
            .unwrap_or_default()
    };
    assert!(keys(&simulated).is_superset(&keys(&recorded).into_iter().filter(|key| key != "nextRecordsUrl").collect()));
    let record = &simulated["records"][0];
    let example = &recorded["records"][0];
    for key in keys(example) {
        if key == "CaseComments" {
            continue;
        }
        assert!(record.get(&key).is_some(), "the record has `{key}`");
        let kind = |value: &Value| std::mem::discriminant(value);
        if !example[&key].is_null() && !record[&key].is_null() {
            assert_eq!(kind(&record[&key]), kind(&example[&key]), "`{key}` is of the recorded kind");
        }
    }
    assert_eq!(keys(&record["attributes"]), keys(&example["attributes"]));
    no_violations(&org);
}
