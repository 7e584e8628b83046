//! The Anthropic Messages API: `POST /v1/messages`, the verdict forced through a tool call.

use serde_json::{Value, json};

use super::{Attempt, Judge, JudgeCall, verdict_from, verdict_schema};

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
    let req = j
        .http
        .post(&url)
        .header("x-api-key", &j.api_key)
        .header("anthropic-version", API_VERSION)
        .json(&body);
    let answer = match j.exchange(&url, req).await {
        Ok(a) => a,
        Err(attempt) => return attempt,
    };
    if !(200..300).contains(&answer.status) {
        // {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
        return j.failed(&answer, &["type"]);
    }
    let Some(v) = answer.json else {
        return Attempt::Unparsable {
            message: "the response body is not JSON".into(),
            output: truncate(&answer.text),
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
