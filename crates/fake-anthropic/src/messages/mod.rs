//! `POST /v1/messages`: checks headers, validates the body, runs the fake model and answers in
//! JSON or server-sent events.

mod request;
mod response;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::errors::ApiError;
use crate::server::{Shared, lock, parse_json, read_limited};
use crate::tokens;

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = shared.id("req_");
    match respond(&shared, &headers, body, &request_id).await {
        Ok(response) => response,
        Err(error) => error.anthropic(&request_id),
    }
}

async fn respond(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Result<Response, ApiError> {
    // The API's size limit is enforced in front of it, before authentication.
    let bytes = read_limited(headers, body, shared.opts.max_body_bytes).await?;
    authenticate(headers)?;
    let body = parse_json(headers, &bytes)?;
    shared.record(&body);
    shared.delay().await;
    if let Some(failure) = shared.take_failure() {
        return Err(failure);
    }
    let request = request::parse(&body)?;
    let usage = tokens::account(
        &request.model,
        &request.segments,
        shared.opts.min_cacheable_tokens,
        &mut lock(&shared.cache),
    );
    let reply = response::generate(&request, usage, || shared.id("toolu_"));
    let message_id = shared.id("msg_");
    Ok(if request.stream {
        response::stream(&reply, &message_id, request_id)
    } else {
        response::json(&reply, &message_id, request_id)
    })
}

fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let api_key = header("x-api-key").filter(|k| !k.is_empty());
    // OAuth clients (Claude Code with a subscription) send a bearer token instead.
    let bearer = header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.trim().is_empty());
    if api_key.is_none() && bearer.is_none() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
        ));
    }
    match header("anthropic-version") {
        None => Err(ApiError::field("anthropic-version", "header is required")),
        Some(version) if is_api_version(version) => Ok(()),
        Some(version) => Err(ApiError::field(
            "anthropic-version",
            &format!("invalid version {version:?}; expected a date such as 2023-06-01"),
        )),
    }
}

/// API versions are dates, and SDKs send newer ones than this fake knows (2.14 sends
/// 2026-10-21), so any well-formed date from the first one on is accepted.
fn is_api_version(version: &str) -> bool {
    let bytes = version.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped && version >= "2023-01-01"
}
