//! The fake over real HTTP: response shapes, streaming, caching, errors and the fake model.

mod common;

use common::{agent_request, fake, judge_request, messages, messages_json, sse};
use glassbox_fake_anthropic::{FakeAnthropic, Options};
use serde_json::{Value, json};

const CONTEXT: &str = "Shipping is free over 75 dollars. Refunds are issued within five business days of the return arriving. Gift cards never expire. Refunds for damaged items include the original shipping charges.";

fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

#[tokio::test]
async fn non_streaming_message_has_the_documented_shape() {
    let fake = fake().await;
    let system = "Answer in at most 2 sentences.";
    let body = agent_request(
        system,
        "When are refunds issued for damaged items?",
        CONTEXT,
    );
    let (status, headers, text) = messages(&fake, &body).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        headers
            .get("request-id")
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("req_")))
    );
    let message: Value = serde_json::from_str(&text).expect("JSON");
    let answer = "Refunds are issued within five business days of the return arriving. Refunds for damaged items include the original shipping charges.";
    let user = body["messages"][0]["content"].as_str().expect("content");
    assert!(
        message["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("msg_"))
    );
    assert_eq!(
        message,
        json!({
            "id": message["id"],
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": answer}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {
                "input_tokens": tokens(system) + tokens(user),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "output_tokens": tokens(answer),
                "service_tier": "standard",
            },
        })
    );
    assert_eq!(fake.requests(), vec![body]);
}

#[tokio::test]
async fn stream_follows_the_event_sequence_and_reassembles_to_the_message() {
    let fake = fake().await;
    let body = agent_request("Be brief.", "How long until refunds are issued?", CONTEXT);
    let (_, whole) = messages_json(&fake, &body).await;
    let mut streamed_body = body.clone();
    streamed_body["stream"] = json!(true);
    let (status, headers, text) = messages(&fake, &streamed_body).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/event-stream"))
    );
    let events = sse(&text);
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "content_block_delta")
        .count();
    assert!(deltas >= 3, "text arrives in several chunks: {names:?}");
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", deltas));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    for (name, data) in &events {
        assert_eq!(data["type"], *name, "each data names its event");
    }

    let start = &events[0].1["message"];
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(start["usage"]["output_tokens"], 1);
    assert_eq!(
        start["usage"]["input_tokens"],
        whole["usage"]["input_tokens"]
    );
    let text: String = events
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| {
            assert_eq!(data["delta"]["type"], "text_delta");
            data["delta"]["text"].as_str().expect("text").to_string()
        })
        .collect();
    assert_eq!(text, whole["content"][0]["text"].as_str().expect("text"));
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    assert_eq!(
        delta["usage"],
        json!({"output_tokens": whole["usage"]["output_tokens"]})
    );
}

#[tokio::test]
async fn streamed_tool_use_sends_partial_json() {
    let fake = fake().await;
    let mut body = judge_request(
        "q",
        "refunds arrive within five days",
        "refunds arrive within five days",
    );
    let (_, whole) = messages_json(&fake, &body).await;
    body["stream"] = json!(true);
    let (_, _, text) = messages(&fake, &body).await;
    let events = sse(&text);
    assert_eq!(events[1].1["content_block"]["type"], "tool_use");
    assert_eq!(events[1].1["content_block"]["input"], json!({}));
    let json_text: String = events
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| {
            data["delta"]["partial_json"]
                .as_str()
                .expect("partial_json")
                .to_string()
        })
        .collect();
    let input: Value = serde_json::from_str(&json_text).expect("reassembled input");
    assert_eq!(input, whole["content"][0]["input"]);
    assert_eq!(
        events[events.len() - 2].1["delta"]["stop_reason"],
        "tool_use"
    );
}

#[tokio::test]
async fn cache_is_written_once_then_read() {
    let fake = fake().await;
    let policy = "Our policy text. ".repeat(300); // 5100 chars: 1275 tokens
    let request = |question: &str| {
        json!({
            "model": "claude-haiku-4-5",
            "max_tokens": 100,
            "system": [
                {"type": "text", "text": "You are a support agent."},
                {"type": "text", "text": policy, "cache_control": {"type": "ephemeral"}},
            ],
            "messages": [{"role": "user", "content": question}],
        })
    };
    let prefix = tokens("You are a support agent.") + tokens(&policy);
    let (_, first) = messages_json(&fake, &request("Hello there")).await;
    assert_eq!(first["usage"]["cache_creation_input_tokens"], prefix);
    assert_eq!(
        first["usage"]["cache_creation"]["ephemeral_5m_input_tokens"],
        prefix
    );
    assert_eq!(first["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(first["usage"]["input_tokens"], tokens("Hello there"));
    assert_eq!(first["content"][0]["text"], "You said: Hello there");

    let (_, second) = messages_json(&fake, &request("Another question")).await;
    assert_eq!(second["usage"]["cache_creation_input_tokens"], 0);
    assert_eq!(second["usage"]["cache_read_input_tokens"], prefix);
    assert_eq!(second["usage"]["input_tokens"], tokens("Another question"));
}

#[tokio::test]
async fn short_prefixes_are_not_cached_unless_the_minimum_is_lowered() {
    let body = json!({
        "model": "m", "max_tokens": 10,
        "system": [{"type": "text", "text": "short system prompt", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": "hi"}],
    });
    let fake = fake().await;
    let (_, usage) = messages_json(&fake, &body).await;
    assert_eq!(usage["usage"]["cache_creation_input_tokens"], 0);

    let lowered = FakeAnthropic::start(Options {
        min_cacheable_tokens: 1,
        ..Options::default()
    })
    .await
    .expect("start");
    let (_, usage) = messages_json(&lowered, &body).await;
    assert_eq!(
        usage["usage"]["cache_creation"]["ephemeral_1h_input_tokens"],
        tokens("short system prompt")
    );
}

async fn assert_error(
    fake: &FakeAnthropic,
    body: &Value,
    status: u16,
    kind: &str,
) -> (reqwest::header::HeaderMap, String) {
    let (got, headers, text) = messages(fake, body).await;
    assert_eq!(got, status, "{text}");
    let error: Value = serde_json::from_str(&text).expect("JSON error");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], kind, "{text}");
    let request_id = headers["request-id"].to_str().expect("ascii");
    assert_eq!(error["request_id"], request_id);
    (
        headers,
        error["error"]["message"]
            .as_str()
            .expect("message")
            .to_string(),
    )
}

#[tokio::test]
async fn injected_failures_use_the_documented_errors_then_recover() {
    let fake = fake().await;
    let body = agent_request("", "q", "c");
    fake.fail_next(429, 1);
    let (headers, _) = assert_error(&fake, &body, 429, "rate_limit_error").await;
    assert_eq!(headers["retry-after"], "1");
    fake.fail_next(529, 2);
    assert_error(&fake, &body, 529, "overloaded_error").await;
    assert_error(&fake, &body, 529, "overloaded_error").await;
    let control = reqwest::Client::new()
        .post(format!("{}/_fake/fail", fake.base_url()))
        .json(&json!({"status": 500, "count": 1}))
        .send()
        .await
        .expect("send");
    assert_eq!(control.status(), 200);
    assert_error(&fake, &body, 500, "api_error").await;
    let (status, _) = messages_json(&fake, &body).await;
    assert_eq!(status, 200);
    let recorded: Value = reqwest::get(format!("{}/_fake/requests", fake.base_url()))
        .await
        .expect("get")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        recorded.as_array().map(Vec::len),
        Some(5),
        "failed attempts are recorded too"
    );
}

#[tokio::test]
async fn authentication_and_headers_are_checked() {
    let fake = fake().await;
    let url = format!("{}/v1/messages", fake.base_url());
    let client = reqwest::Client::new();
    let body = agent_request("", "q", "c");
    let send = |key: Option<&str>, version: Option<&str>, content_type: &str, raw: String| {
        let mut request = client
            .post(&url)
            .header("content-type", content_type)
            .body(raw);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        if let Some(version) = version {
            request = request.header("anthropic-version", version);
        }
        request.send()
    };
    let check = |response: reqwest::Response, status: u16, kind: &'static str| async move {
        assert_eq!(response.status().as_u16(), status);
        let error: Value = response.json().await.expect("JSON");
        assert_eq!(error["error"]["type"], kind);
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let raw = body.to_string();
    let ok = Some("2023-06-01");
    check(
        send(None, ok, "application/json", raw.clone())
            .await
            .expect("send"),
        401,
        "authentication_error",
    )
    .await;
    check(
        send(Some(""), ok, "application/json", raw.clone())
            .await
            .expect("send"),
        401,
        "authentication_error",
    )
    .await;
    let message = check(
        send(Some("k"), None, "application/json", raw.clone())
            .await
            .expect("send"),
        400,
        "invalid_request_error",
    )
    .await;
    assert!(message.starts_with("anthropic-version"), "{message}");
    check(
        send(Some("k"), ok, "text/plain", raw.clone())
            .await
            .expect("send"),
        400,
        "invalid_request_error",
    )
    .await;
    check(
        send(Some("k"), ok, "application/json", "{not json".into())
            .await
            .expect("send"),
        400,
        "invalid_request_error",
    )
    .await;
    let response = send(
        Some("k"),
        Some("2026-10-21"),
        "application/json; charset=utf-8",
        raw,
    )
    .await
    .expect("send");
    assert_eq!(
        response.status(),
        200,
        "newer SDKs send newer dated versions"
    );

    let missing = client
        .post(format!("{}/v1/nothing", fake.base_url()))
        .send()
        .await
        .expect("send");
    check(missing, 404, "not_found_error").await;
}

#[tokio::test]
async fn invalid_fields_are_named_in_the_message() {
    let fake = fake().await;
    let base = agent_request("s", "q", "c");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"messages": base["messages"], "max_tokens": 5}),
            "model: Field required",
        ),
        (
            json!({"model": "m", "messages": base["messages"]}),
            "max_tokens: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 0, "messages": base["messages"]}),
            "max_tokens: Input should be greater than or equal to 1",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": []}),
            "messages: at least one message is required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}),
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": ""}]}),
            "messages.0: all messages must have non-empty content",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "temperature": 1.5, "messages": base["messages"]}),
            "temperature: Input should be less than or equal to 1",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "stream": "yes", "messages": base["messages"]}),
            "stream: Input should be a valid boolean",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "bogus": 1, "messages": base["messages"]}),
            "bogus: Extra inputs are not permitted",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "video"}]}]}),
            "messages.0.content.0.type: Input tag 'video'",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}),
            "messages.0.content.0.tool_use_id: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "system": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}], "messages": base["messages"]}),
            "system.0.cache_control.type: Input should be 'ephemeral'",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "tool_choice": {"type": "tool", "name": "nope"}, "messages": base["messages"]}),
            "tool_choice.tool.name: Tool 'nope' not found",
        ),
    ];
    for (body, expected) in cases {
        let (_, message) = assert_error(&fake, &body, 400, "invalid_request_error").await;
        assert!(
            message.starts_with(expected),
            "{message:?} should start with {expected:?}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let fake = fake().await;
    let big = format!(
        "{{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "x".repeat(33 * 1024 * 1024)
    );
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.expect("JSON");
    assert_eq!(error["error"]["type"], "request_too_large");
}

#[tokio::test]
async fn judge_scores_reference_terms_found_in_the_answer() {
    let fake = fake().await;
    let body = judge_request(
        "How long do refunds take?",
        "Refunds arrive within five business days.",
        "They arrive in five days.",
    );
    let (status, verdict) = messages_json(&fake, &body).await;
    assert_eq!(status, 200);
    assert_eq!(verdict["stop_reason"], "tool_use");
    let block = &verdict["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "record_verdict");
    assert!(
        block["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("toolu_"))
    );
    // Terms: refunds, arrive, five, business, days; the answer has arrive, five, days.
    assert_eq!(
        block["input"],
        json!({"score": 0.6, "reasoning": "3 of 5 reference terms present: missing 'refunds', 'business'"})
    );

    let mut no_reference = judge_request("", "", "");
    no_reference["messages"][0]["content"] =
        json!("<question>How long do refunds take?</question><answer>Refunds take days.</answer>");
    let (_, verdict) = messages_json(&fake, &no_reference).await;
    assert_eq!(
        verdict["content"][0]["input"]["score"], 0.67,
        "question terms: long, refunds, take"
    );

    let mut no_answer = judge_request("", "", "");
    no_answer["messages"][0]["content"] = json!("<reference>Refunds take days.</reference>");
    let (_, verdict) = messages_json(&fake, &no_answer).await;
    assert_eq!(verdict["content"][0]["input"]["score"], 0.0);

    let unparsable = judge_request("q", "refunds", "fine [[judge:unparsable]]");
    let (_, verdict) = messages_json(&fake, &unparsable).await;
    assert_eq!(
        verdict["content"],
        json!([{"type": "text", "text": "I think it is good."}])
    );
    assert_eq!(verdict["stop_reason"], "end_turn");
}

#[tokio::test]
async fn agent_extracts_the_best_sentences_in_order() {
    let fake = fake().await;
    let question = "Do damaged items get their original shipping charges refunded?";
    for (system, expected) in [
        (
            "Answer in at most one sentence.",
            "Refunds for damaged items include the original shipping charges.",
        ),
        (
            "Use at most 2 sentences.",
            "Shipping is free over 75 dollars. Refunds for damaged items include the original shipping charges.",
        ),
        (
            "Be helpful.",
            "Shipping is free over 75 dollars. Refunds are issued within five business days of the return arriving. Refunds for damaged items include the original shipping charges.",
        ),
    ] {
        let (_, message) = messages_json(&fake, &agent_request(system, question, CONTEXT)).await;
        assert_eq!(message["content"][0]["text"], expected, "system: {system}");
    }
}

#[tokio::test]
async fn max_tokens_and_stop_sequences_end_the_text() {
    let fake = fake().await;
    let mut body = json!({"model": "m", "max_tokens": 3, "messages": [{"role": "user", "content": "please repeat this long sentence"}]});
    let (_, message) = messages_json(&fake, &body).await;
    assert_eq!(message["content"][0]["text"], "You said: pl");
    assert_eq!(message["stop_reason"], "max_tokens");
    assert_eq!(message["usage"]["output_tokens"], 3);

    body["max_tokens"] = json!(100);
    body["stop_sequences"] = json!(["long"]);
    let (_, message) = messages_json(&fake, &body).await;
    assert_eq!(
        message["content"][0]["text"],
        "You said: please repeat this "
    );
    assert_eq!(message["stop_reason"], "stop_sequence");
    assert_eq!(message["stop_sequence"], "long");
}

#[tokio::test]
async fn openai_endpoint_answers_and_judges() {
    let fake = fake().await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", fake.base_url());

    let unauthorized = client
        .post(&url)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthorized.status(), 401);
    let error: Value = unauthorized.json().await.expect("JSON");
    let envelope = error["error"].as_object().expect("error object");
    assert!(
        ["message", "type", "param", "code"]
            .iter()
            .all(|k| envelope.contains_key(*k))
    );

    let judge = json!({
        "model": "gpt-4o-mini",
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": "Reply with JSON {score, reasoning}."},
            {"role": "user", "content": "<reference>Refunds arrive within five business days.</reference><answer>Refunds arrive in five business days.</answer>"},
        ],
    });
    let response: Value = client
        .post(&url)
        .bearer_auth("k")
        .json(&judge)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("JSON");
    assert_eq!(response["object"], "chat.completion");
    assert!(
        response["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert_eq!(response["choices"][0]["finish_reason"], "stop");
    assert_eq!(response["choices"][0]["message"]["role"], "assistant");
    let content = response["choices"][0]["message"]["content"]
        .as_str()
        .expect("content");
    let verdict: Value = serde_json::from_str(content).expect("content is JSON");
    assert_eq!(verdict["score"], 1.0);
    let usage = &response["usage"];
    assert_eq!(usage["completion_tokens"], tokens(content));
    assert_eq!(
        usage["total_tokens"].as_u64(),
        usage["prompt_tokens"]
            .as_u64()
            .zip(usage["completion_tokens"].as_u64())
            .map(|(p, c)| p + c)
    );

    let agent = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Answer in at most one sentence."},
            {"role": "user", "content": format!("<context>{CONTEXT}</context><question>Do gift cards expire?</question>")},
        ],
    });
    let response: Value = client
        .post(&url)
        .bearer_auth("k")
        .json(&agent)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        response["choices"][0]["message"]["content"],
        "Gift cards never expire."
    );

    fake.fail_next(429, 1);
    let limited = client
        .post(&url)
        .bearer_auth("k")
        .json(&agent)
        .send()
        .await
        .expect("send");
    assert_eq!(limited.status(), 429);
    let error: Value = limited.json().await.expect("JSON");
    assert_eq!(error["error"]["code"], "rate_limit_exceeded");
    assert_eq!(fake.requests().len(), 3);
}
