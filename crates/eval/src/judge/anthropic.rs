//! The Anthropic Messages API: `POST /v1/messages`, the verdict forced through a tool call.

use serde_json::{Value, json};

use super::{Attempt, Judge, JudgeCall, retry_after, verdict_from, verdict_schema};

/// The API version this client speaks (the `anthropic-version` header).
const API_VERSION: &str = "2023-06-01";
const TOOL: &str = "record_verdict";

pub(super) async fn attempt(j: &Judge, system: &str, user: &str, call: &mut JudgeCall) -> Attempt {
    let url = format!("{}/v1/messages", j.base_url);
    let body = json!({
        "model": j.config.model,
        "max_tokens": j.config.max_tokens,
        "temperature": 0,
        "system": system,
        "messages": [{"role": "user", "content": user}],
        "tools": [{
            "name": TOOL,
            "description": "Record the verdict on the answer.",
            "input_schema": verdict_schema(),
        }],
        "tool_choice": {"type": "tool", "name": TOOL},
    });
    let resp = match j
        .http
        .post(&url)
        .header("x-api-key", &j.api_key)
        .header("anthropic-version", API_VERSION)
        .json(&body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return Attempt::Retry {
                error: j.transport_error(&url, &e),
                after: std::time::Duration::from_millis(500),
            };
        }
    };
    let status = resp.status().as_u16();
    let wait = retry_after(resp.headers());
    let text = match resp.text().await {
        Ok(t) => t,
        Err(e) => {
            return Attempt::Retry {
                error: j.transport_error(&url, &e),
                after: std::time::Duration::from_millis(500),
            };
        }
    };
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    if !(200..300).contains(&status) {
        // {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
        let err = parsed.as_ref().and_then(|v| v.get("error"));
        let kind = err
            .and_then(|e| e.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let message = err
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map_or_else(|| truncate(&text), str::to_owned);
        return j.on_status(status, wait, kind, message);
    }
    let Some(v) = parsed else {
        return Attempt::Unparsable {
            message: "the response body is not JSON".into(),
            output: truncate(&text),
        };
    };
    call.response_id = v.get("id").and_then(Value::as_str).map(str::to_owned);
    call.response_model = v.get("model").and_then(Value::as_str).map(str::to_owned);
    if let Some(u) = v.get("usage") {
        let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        call.input_tokens = n("input_tokens");
        call.output_tokens = n("output_tokens");
        call.cache_read_tokens = n("cache_read_input_tokens");
        call.cache_write_tokens = n("cache_creation_input_tokens");
    }
    let blocks = v.get("content").and_then(Value::as_array);
    let tool_input = blocks.into_iter().flatten().find_map(|b| {
        (b.get("type").and_then(Value::as_str) == Some("tool_use")
            && b.get("name").and_then(Value::as_str) == Some(TOOL))
        .then(|| b.get("input"))
        .flatten()
    });
    match tool_input {
        Some(input) => match verdict_from(input) {
            Ok(verdict) => Attempt::Verdict(verdict),
            Err(message) => Attempt::Unparsable {
                message,
                output: input.to_string(),
            },
        },
        None => {
            let said: Vec<&str> = blocks
                .into_iter()
                .flatten()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect();
            Attempt::Unparsable {
                message: format!("the model did not call the {TOOL} tool"),
                output: truncate(&said.join("\n")),
            }
        }
    }
}

pub(super) fn truncate(s: &str) -> String {
    const MAX: usize = 500;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
