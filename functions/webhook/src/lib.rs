//! The webhook function: API Gateway (HTTP API, payload format 2.0) `POST /hooks/{integration}/{system}`
//! to [`tandem_lambda_runtime::handle_webhook`].

pub mod handler;
