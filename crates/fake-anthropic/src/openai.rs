//! `POST /v1/chat/completions`: the OpenAI-compatible endpoint, non-streaming, with the same
//! fake model. The judge answers in JSON text when `response_format` asks for a JSON object.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::model::{self, Stop};
use crate::server::{Shared, parse_json, read_limited};
use crate::tokens;

const FIELDS: &[&str] = &[
    "model",
    "messages",
    "temperature",
    "top_p",
    "n",
    "stream",
    "stream_options",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "response_format",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "metadata",
    "store",
    "reasoning_effort",
    "service_tier",
    "modalities",
    "prediction",
    "audio",
    "verbosity",
];
const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = shared.id("req_");
    match respond(&shared, &headers, body).await {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert("x-request-id", value);
            }
            response
        }
        Err(error) => error.openai(&request_id),
    }
}

struct ChatRequest {
    model: String,
    max_tokens: u64,
    stop: Vec<String>,
    wants_json: bool,
    /// System and developer messages, joined.
    system: String,
    last_user: String,
    /// Every message's text, joined: where the judge looks for its tags.
    prompt: String,
    prompt_tokens: u64,
}

async fn respond(shared: &Shared, headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let bytes = read_limited(headers, body, shared.opts.max_body_bytes).await?;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|token| !token.trim().is_empty());
    if bearer.is_none() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ));
    }
    let body = parse_json(headers, &bytes)?;
    shared.record(&body);
    shared.delay().await;
    if let Some(failure) = shared.take_failure() {
        return Err(failure);
    }
    let request = parse(&body)?;

    let text = if request.wants_json && request.prompt.contains("<answer>") {
        let answer = model::tag(&request.prompt, "answer").unwrap_or("");
        if answer.contains(model::UNPARSABLE_MARKER) {
            model::UNPARSABLE_REPLY.to_string()
        } else {
            let verdict = model::judge(&request.prompt);
            json!({"score": verdict.score, "reasoning": verdict.reasoning}).to_string()
        }
    } else {
        model::answer(&request.last_user, &request.system)
    };
    let (content, stop, completion_tokens) = model::cut(text, &request.stop, request.max_tokens);
    let finish_reason = if stop == Stop::MaxTokens {
        "length"
    } else {
        "stop"
    };
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(json!({
        "id": shared.id("chatcmpl-"),
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null},
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": request.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": request.prompt_tokens + completion_tokens,
        },
    }))
}

fn parse(body: &Value) -> Result<ChatRequest, ApiError> {
    let top = body
        .as_object()
        .ok_or_else(|| ApiError::invalid("body: Input should be an object"))?;
    for key in top.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return Err(ApiError::field(
                key,
                "Unrecognized request argument supplied",
            ));
        }
    }
    let model = match present(top, "model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => {
            return Err(ApiError::field(
                "model",
                "you must provide a model parameter",
            ));
        }
    };
    if present(top, "stream").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::field(
            "stream",
            "streaming is not supported by this fake's chat completions endpoint",
        ));
    }
    if let Some(temperature) = present(top, "temperature") {
        match temperature.as_f64() {
            Some(t) if (0.0..=2.0).contains(&t) => {}
            _ => {
                return Err(ApiError::field(
                    "temperature",
                    "must be a number between 0 and 2",
                ));
            }
        }
    }
    let mut max_tokens = u64::MAX;
    for name in ["max_tokens", "max_completion_tokens"] {
        if let Some(value) = present(top, name) {
            max_tokens = value
                .as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::field(name, "must be an integer of at least 1"))?;
        }
    }
    let stop = match present(top, "stop") {
        None => Vec::new(),
        Some(Value::String(stop)) => vec![stop.clone()],
        Some(Value::Array(stops)) => stops
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::field("stop", "must be a string or a list of strings"))?,
        Some(_) => {
            return Err(ApiError::field(
                "stop",
                "must be a string or a list of strings",
            ));
        }
    };
    let wants_json = match present(top, "response_format") {
        None => false,
        Some(format) => match format.get("type").and_then(Value::as_str) {
            Some("text") => false,
            Some("json_object") => true,
            Some("json_schema") => format
                .pointer("/json_schema/schema/properties")
                .and_then(Value::as_object)
                .is_some_and(|p| p.contains_key("score") && p.contains_key("reasoning")),
            _ => {
                return Err(ApiError::field(
                    "response_format.type",
                    "must be one of 'text', 'json_object', 'json_schema'",
                ));
            }
        },
    };

    let messages = match present(top, "messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            return Err(ApiError::field("messages", "must be a non-empty array"));
        }
        _ => {
            return Err(ApiError::field(
                "messages",
                "Missing required parameter: 'messages'",
            ));
        }
    };
    let (mut system, mut prompt) = (Vec::new(), Vec::new());
    let (mut last_user, mut prompt_tokens) = (String::new(), 0);
    for (i, message) in messages.iter().enumerate() {
        let path = format!("messages.[{i}]");
        let fields = message
            .as_object()
            .ok_or_else(|| ApiError::field(&path, "must be an object"))?;
        let role = match present(fields, "role") {
            Some(Value::String(role)) if ROLES.contains(&role.as_str()) => role.as_str(),
            Some(other) => {
                return Err(ApiError::field(
                    &format!("{path}.role"),
                    &format!(
                        "Invalid value: {other}. Supported values are: {}",
                        ROLES.join(", ")
                    ),
                ));
            }
            None => {
                return Err(ApiError::field(
                    &format!("{path}.role"),
                    "Missing required parameter",
                ));
            }
        };
        let text = match present(fields, "content") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|part| match part.get("text").and_then(Value::as_str) {
                    Some(text) => text.to_string(),
                    None => part.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            // An assistant turn that only calls tools has no content.
            None if role == "assistant" => String::new(),
            _ => {
                return Err(ApiError::field(
                    &format!("{path}.content"),
                    "must be a string or an array of content parts",
                ));
            }
        };
        prompt_tokens += tokens::count(&text);
        match role {
            "system" | "developer" => system.push(text.clone()),
            "user" => last_user = text.clone(),
            _ => {}
        }
        prompt.push(text);
    }
    Ok(ChatRequest {
        model,
        max_tokens,
        stop,
        wants_json,
        system: system.join("\n"),
        last_user,
        prompt: prompt.join("\n"),
        prompt_tokens,
    })
}

fn present<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields.get(name).filter(|v| !v.is_null())
}
