//! The fake model's reply, rendered as a Message or as the documented event stream.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request::{MessagesRequest, ToolChoice};
use crate::model::{self, Stop};
use crate::tokens::{self, InputUsage};

/// Characters per `text_delta` and per `input_json_delta`: small, so even short answers stream
/// in several chunks and clients' reassembly is exercised.
const TEXT_CHUNK: usize = 12;
const JSON_CHUNK: usize = 16;

/// The one content block the fake produces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub model: String,
    pub output: Output,
    pub stop_reason: &'static str,
    pub stop_sequence: Option<String>,
    pub input: InputUsage,
    pub output_tokens: u64,
}

/// Runs the fake model (crate docs) and applies stop sequences and `max_tokens`.
pub(crate) fn generate(
    request: &MessagesRequest,
    input: InputUsage,
    tool_id: impl FnOnce() -> String,
) -> Reply {
    let (output, stop_reason, stop_sequence, output_tokens) = match &request.tool_choice {
        ToolChoice::Judge(name) => {
            let answer = model::tag(&request.last_user, "answer").unwrap_or(&request.last_user);
            if answer.contains(model::UNPARSABLE_MARKER) {
                finish_text(model::UNPARSABLE_REPLY.to_string(), request)
            } else {
                let verdict = model::judge(&request.last_user);
                let input = json!({"score": verdict.score, "reasoning": verdict.reasoning});
                finish_tool_use(tool_id(), name, input, request.max_tokens)
            }
        }
        ToolChoice::Forced(name) => finish_tool_use(tool_id(), name, json!({}), request.max_tokens),
        ToolChoice::Free => {
            finish_text(model::answer(&request.last_user, &request.system), request)
        }
    };
    Reply {
        model: request.model.clone(),
        output,
        stop_reason,
        stop_sequence,
        input,
        output_tokens,
    }
}

type Finished = (Output, &'static str, Option<String>, u64);

fn finish_text(text: String, request: &MessagesRequest) -> Finished {
    let (text, stop, tokens) = model::cut(text, &request.stop_sequences, request.max_tokens);
    let (stop_reason, stop_sequence) = match stop {
        Stop::EndTurn => ("end_turn", None),
        Stop::Sequence(sequence) => ("stop_sequence", Some(sequence)),
        Stop::MaxTokens => ("max_tokens", None),
    };
    (Output::Text(text), stop_reason, stop_sequence, tokens)
}

fn finish_tool_use(id: String, name: &str, input: Value, max: u64) -> Finished {
    let tokens = tokens::count(&input.to_string());
    // A call cut off by max_tokens arrives with whatever input was complete: none here.
    let (input, stop_reason, tokens) = if tokens > max {
        (json!({}), "max_tokens", max)
    } else {
        (input, "tool_use", tokens)
    };
    let output = Output::ToolUse {
        id,
        name: name.to_string(),
        input,
    };
    (output, stop_reason, None, tokens)
}

fn usage(input: &InputUsage, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input.input,
        "cache_creation_input_tokens": input.cache_creation,
        "cache_read_input_tokens": input.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": input.ephemeral_5m,
            "ephemeral_1h_input_tokens": input.ephemeral_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    })
}

fn block(output: &Output) -> Value {
    match output {
        Output::Text(text) => json!({"type": "text", "text": text}),
        Output::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

fn message(reply: &Reply, id: &str, content: Vec<Value>, stop: bool, output_tokens: u64) -> Value {
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": if stop { Value::from(reply.stop_reason) } else { Value::Null },
        "stop_sequence": if stop { json!(reply.stop_sequence) } else { Value::Null },
        "usage": usage(&reply.input, output_tokens),
    })
}

pub(crate) fn json(reply: &Reply, id: &str, request_id: &str) -> Response {
    let body = message(
        reply,
        id,
        vec![block(&reply.output)],
        true,
        reply.output_tokens,
    );
    with_request_id(axum::Json(body).into_response(), request_id)
}

/// The documented event sequence: `message_start`, `content_block_start`, `ping`,
/// `content_block_delta`…, `content_block_stop`, `message_delta`, `message_stop`.
pub(crate) fn events(reply: &Reply, id: &str) -> Vec<(&'static str, Value)> {
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": message(reply, id, Vec::new(), false, 1)}),
    )];
    let (start_block, deltas) = match &reply.output {
        Output::Text(text) => {
            let deltas: Vec<Value> = chunks(text, TEXT_CHUNK)
                .into_iter()
                .map(|piece| json!({"type": "text_delta", "text": piece}))
                .collect();
            (json!({"type": "text", "text": ""}), deltas)
        }
        Output::ToolUse { id, name, input } => {
            // The API opens a tool call's input with an empty fragment.
            let mut deltas = vec![json!({"type": "input_json_delta", "partial_json": ""})];
            deltas.extend(
                chunks(&input.to_string(), JSON_CHUNK)
                    .into_iter()
                    .map(|piece| json!({"type": "input_json_delta", "partial_json": piece})),
            );
            (
                json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                deltas,
            )
        }
    };
    events.push((
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": start_block}),
    ));
    events.push(("ping", json!({"type": "ping"})));
    for delta in deltas {
        events.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ));
    }
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push((
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
            "usage": {"output_tokens": reply.output_tokens},
        }),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events
}

pub(crate) fn stream(reply: &Reply, id: &str, request_id: &str) -> Response {
    let frames: Vec<Result<String, Infallible>> = events(reply, id)
        .into_iter()
        .map(|(name, data)| Ok(format!("event: {name}\ndata: {data}\n\n")))
        .collect();
    let mut response = Body::from_stream(tokio_stream::iter(frames)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_request_id(response, request_id)
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

/// `text` in pieces of at most `size` characters.
fn chunks(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size)
        .map(|piece| piece.iter().collect())
        .collect()
}
