//! Turns an API Gateway request into a webhook delivery for the runtime and its answer back into an
//! HTTP response.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use tandem_lambda_runtime::{
    deadline, handle_webhook, Runtime, WebhookAnswer, WebhookRequest, MAX_WEBHOOK_BODY, WEBHOOK_WORK_LIMIT,
};

pub async fn handle(runtime: &Runtime, request: Request) -> Result<Response<Body>, Error> {
    let answer = answer(runtime, request).await;
    // A delivery not recorded is retried by its sender; many in a row mean an outage (the store, a secret).
    if let Some(line) = tandem_lambda_runtime::metrics::delivery_metric_line(answer.status) {
        println!("{line}");
    }
    for line in tandem_lambda_runtime::metrics::api_call_lines_due() {
        println!("{line}");
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok(Response::builder()
        .status(status)
        .header("content-type", answer.content_type())
        .body(Body::Text(answer.body_text()))?)
}

/// The integration and system a delivery is addressed to: the HTTP API's route parameters, or, through a
/// Lambda function URL (which has no routes), the path itself, `/hooks/{integration}/{system}`.
fn addressed_to(request: &Request) -> Option<(String, String)> {
    let parameters = request.path_parameters();
    if let (Some(integration), Some(system)) = (parameters.first("integration"), parameters.first("system")) {
        return Some((integration.to_owned(), system.to_owned()));
    }
    // Integration names and system slugs are plain words (a name that is not is refused downstream),
    // so the segments are taken as they are.
    let mut segments = request.uri().path().trim_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next(), segments.next()) {
        (Some("hooks"), Some(integration), Some(system), None) if !integration.is_empty() && !system.is_empty() => {
            Some((integration.to_owned(), system.to_owned()))
        }
        _ => None,
    }
}

async fn answer(runtime: &Runtime, request: Request) -> WebhookAnswer {
    if request.method() != Method::POST {
        return WebhookAnswer::problem(405, format!("{} is not accepted; webhooks are POSTed", request.method()));
    }
    let Some((integration, system)) = addressed_to(&request) else {
        return WebhookAnswer::not_acted_on("?", "webhooks are POSTed to /hooks/{integration}/{system}");
    };
    // A context without a deadline (deadline 0) only happens outside Lambda; the work limit applies.
    let invocation_deadline =
        request.lambda_context_ref().filter(|context| context.deadline > 0).map(|context| context.deadline());
    let stop_at = deadline(invocation_deadline, Some(WEBHOOK_WORK_LIMIT));
    let query =
        request.query_string_parameters().iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let body = match request.into_body() {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return WebhookAnswer::problem(400, "the request body is in an unsupported form"),
    };
    if body.len() > MAX_WEBHOOK_BODY {
        return WebhookAnswer::too_large(&integration, body.len());
    }
    let request = WebhookRequest::new(headers, body).with_query(query);
    handle_webhook(runtime, &integration, &system, request, stop_at).await
}
