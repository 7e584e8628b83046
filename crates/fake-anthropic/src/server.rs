//! The HTTP edge: shared state, routing, body reading and the `/_fake` control endpoints.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_stream::StreamExt;

use crate::Options;
use crate::errors::ApiError;

/// State every handler sees.
pub(crate) struct Shared {
    pub opts: Options,
    requests: Mutex<Vec<Value>>,
    failures: Mutex<VecDeque<u16>>,
    pub cache: Mutex<HashSet<[u8; 32]>>,
    nonce: u64,
    counter: AtomicU64,
}

/// A lock that survives a panicking holder: the data is plain and stays consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(opts: Options) -> Shared {
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Shared {
            opts,
            requests: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            cache: Mutex::new(HashSet::new()),
            nonce,
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn requests(&self) -> Vec<Value> {
        lock(&self.requests).clone()
    }

    pub(crate) fn record(&self, body: &Value) {
        lock(&self.requests).push(body.clone());
    }

    pub(crate) fn fail_next(&self, status: u16, count: usize) {
        lock(&self.failures).extend(std::iter::repeat_n(status, count));
    }

    pub(crate) fn take_failure(&self) -> Option<ApiError> {
        lock(&self.failures).pop_front().map(ApiError::injected)
    }

    /// A fresh id such as `req_01…`: unique per fake, shaped like the API's base58 ids.
    pub(crate) fn id(&self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.nonce.to_le_bytes());
        hasher.update(&n.to_le_bytes());
        let tail: String = hasher.finalize().as_bytes()[..22]
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        format!("{prefix}01{tail}")
    }

    /// Waits out the configured latency.
    pub(crate) async fn delay(&self) {
        if !self.opts.latency.is_zero() {
            tokio::time::sleep(self.opts.latency).await;
        }
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/messages", post(crate::messages::create))
        .route("/v1/chat/completions", post(crate::openai::create))
        .route("/_fake/fail", post(fail))
        .route("/_fake/requests", get(requests))
        .fallback(not_found)
        .with_state(shared)
}

/// Reads a JSON object body within the size limit: 413 beyond it, 400 for the wrong content
/// type or invalid JSON.
pub(crate) async fn json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Value, ApiError> {
    let bytes = read_limited(headers, body, limit).await?;
    parse_json(headers, &bytes)
}

/// Parses a body already read: 400 for the wrong content type, invalid JSON or a non-object.
pub(crate) fn parse_json(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::invalid(format!(
            "content-type must be application/json, got {content_type:?}"
        )));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("There was an error parsing the body: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid(
            "body: Input should be a valid dictionary or object",
        ));
    }
    Ok(value)
}

/// Reads the body, refusing more than `limit` bytes with 413 request_too_large.
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Reading (and discarding) a moderately oversized body lets the client finish sending and
    // see the 413 instead of a reset; a huge one is refused without reading.
    let drain_limit = limit.saturating_mul(2) as u64;
    if declared.is_some_and(|len| len > drain_limit) {
        return Err(ApiError::too_large(limit));
    }
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::invalid(format!("could not read the request body: {e}")))?;
        total += chunk.len() as u64;
        if total > drain_limit {
            return Err(ApiError::too_large(limit));
        }
        if total <= limit as u64 {
            buffer.extend_from_slice(&chunk);
        }
    }
    if total > limit as u64 {
        return Err(ApiError::too_large(limit));
    }
    Ok(Bytes::from(buffer))
}

async fn fail(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let request_id = shared.id("req_");
    let body = match json_body(&headers, body, 64 * 1024).await {
        Ok(body) => body,
        Err(error) => return error.anthropic(&request_id),
    };
    let status = body.get("status").and_then(Value::as_u64);
    let Some(status) = status.filter(|s| (400..=599).contains(s)) else {
        return ApiError::field("status", "must be an HTTP error status, 400 to 599")
            .anthropic(&request_id);
    };
    let count = match body.get("count") {
        None => 1,
        Some(count) => match count.as_u64() {
            Some(count) => count as usize,
            None => {
                return ApiError::field("count", "must be a non-negative integer")
                    .anthropic(&request_id);
            }
        },
    };
    shared.fail_next(status as u16, count);
    let pending = lock(&shared.failures).len();
    axum::Json(json!({"pending": pending})).into_response()
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(Value::Array(shared.requests())).into_response()
}

async fn not_found(State(shared): State<Arc<Shared>>) -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found_error", "Not found")
        .anthropic(&shared.id("req_"))
}
