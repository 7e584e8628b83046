//! Helpers shared by the integration tests: a started fake and a client that speaks to it.

#![allow(dead_code)]

use glassbox_fake_anthropic::{FakeAnthropic, Options};
use serde_json::{Value, json};

pub async fn fake() -> FakeAnthropic {
    FakeAnthropic::start(Options::default())
        .await
        .expect("start the fake")
}

/// POSTs `body` to `/v1/messages` with valid headers; returns status, headers and raw text.
pub async fn messages(
    fake: &FakeAnthropic,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url()))
        .header("x-api-key", "test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

pub async fn messages_json(fake: &FakeAnthropic, body: &Value) -> (u16, Value) {
    let (status, _, text) = messages(fake, body).await;
    (status, serde_json::from_str(&text).expect("JSON body"))
}

/// `(event name, data)` of each server-sent event.
pub fn sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(rest) = line.strip_prefix("event: ") {
                    name = rest.to_string();
                } else if let Some(rest) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(rest).expect("event data is JSON");
                }
            }
            (name, data)
        })
        .collect()
}

/// The judge's request, as an LLM-as-judge client would send it.
pub fn judge_request(question: &str, reference: &str, answer: &str) -> Value {
    json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 512,
        "temperature": 0,
        "system": "You grade answers. Compare the <answer> with the <reference> and call record_verdict.",
        "tools": [{
            "name": "record_verdict",
            "description": "Record the grade.",
            "input_schema": {
                "type": "object",
                "properties": {"score": {"type": "number"}, "reasoning": {"type": "string"}},
                "required": ["score", "reasoning"],
            },
        }],
        "tool_choice": {"type": "tool", "name": "record_verdict"},
        "messages": [{
            "role": "user",
            "content": format!("<question>{question}</question><reference>{reference}</reference><answer>{answer}</answer>"),
        }],
    })
}

pub fn agent_request(system: &str, question: &str, context: &str) -> Value {
    json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 1024,
        "temperature": 0,
        "system": system,
        "messages": [{"role": "user", "content": format!("<context>{context}</context>\n<question>{question}</question>")}],
    })
}
