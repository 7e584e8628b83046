//! Any OpenAI-compatible chat endpoint (`POST /v1/chat/completions`), e.g. a local model
//! server: the verdict is asked for as a JSON object and parsed strictly.

use serde_json::{Value, json};

use super::anthropic::truncate;
use super::{Attempt, Judge, JudgeCall, verdict_from};

pub(super) async fn attempt(j: &Judge, system: &str, user: &str, call: &mut JudgeCall) -> Attempt {
    let url = format!("{}/v1/chat/completions", j.base_url);
    let system = format!(
        "{system}\n\nAnswer with one JSON object and nothing else: \
         {{\"score\": <number from 0 to 1>, \"reasoning\": \"<text>\"}}"
    );
    let body = json!({
        "model": j.config.model,
        "max_tokens": j.config.max_tokens,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ],
    });
    let req = j.http.post(&url).bearer_auth(&j.api_key).json(&body);
    let answer = match j.exchange(&url, req).await {
        Ok(a) => a,
        Err(attempt) => return attempt,
    };
    if !(200..300).contains(&answer.status) {
        // {"error":{"message":…,"type":…,"param":…,"code":…}}
        return j.failed(&answer, &["type", "code"]);
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
        let cached = u
            .pointer("/prompt_tokens_details/cached_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        // OpenAI's prompt_tokens include the cached ones; ours are uncached.
        call.input_tokens = n("prompt_tokens").saturating_sub(cached);
        call.cache_read_tokens = cached;
        call.output_tokens = n("completion_tokens");
    }
    let content = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .unwrap_or("");
    match json_object(content) {
        Ok(obj) => match verdict_from(&obj) {
            Ok(verdict) => Attempt::Verdict(verdict),
            Err(message) => Attempt::Unparsable {
                message,
                output: truncate(content),
            },
        },
        Err(message) => Attempt::Unparsable {
            message,
            output: truncate(content),
        },
    }
}

/// The content as exactly one JSON value; a single Markdown code fence around it is the one
/// wrapping allowed (local models add it even in JSON mode).
fn json_object(content: &str) -> Result<Value, String> {
    let mut s = content.trim();
    if let Some(rest) = s.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        s = rest.strip_suffix("```").unwrap_or(rest).trim();
    }
    if s.is_empty() {
        return Err("the model answered with no content".into());
    }
    serde_json::from_str(s).map_err(|e| format!("the content is not one JSON object ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_must_be_one_json_value() {
        assert!(json_object(r#"{"score":1,"reasoning":"r"}"#).is_ok());
        assert!(json_object("```json\n{\"score\":1,\"reasoning\":\"r\"}\n```").is_ok());
        assert!(json_object(r#"Sure! {"score":1,"reasoning":"r"}"#).is_err());
        assert!(json_object(r#"{"score":1,"reasoning":"r"} and more"#).is_err());
        assert!(json_object("").is_err());
    }
}
