//! Pydantic Logfire (`logfire.*`). Span names are message templates; a
//! streamed call's usage sits on a child span ("streaming response from …"),
//! which the store joins with its parent into one model call.

use glassbox_model::{Message, Reporter, SpanKind};
use serde_json::Value;

use super::{Convention, Draft, SpanView, attrs::value_u64, fill, messages};

pub struct Logfire;

impl Convention for Logfire {
    fn apply_span(&self, s: &SpanView<'_>, d: &mut Draft) {
        let a = &s.attrs;
        if !s.scope_name.starts_with("logfire") && !a.has("logfire.msg_template") {
            return;
        }
        if a.u64("logfire.level_num").is_some_and(|l| l >= 17) {
            fill(&mut d.failed, Some(true));
        }
        let is_llm = s.scope_name.starts_with("logfire.") && a.has("gen_ai.operation.name")
            || a.strings("logfire.tags")
                .is_some_and(|t| t.iter().any(|t| t == "LLM"));
        if !is_llm {
            return;
        }
        fill(&mut d.kind, Some(SpanKind::Llm));
        let template = a
            .str("logfire.msg_template")
            .unwrap_or_else(|| s.name.to_owned());
        if template.starts_with("streaming response from") {
            // Logged when the stream finishes, as a sibling of the call's own span.
            d.stream_completion = Some(true);
        }
        if !a.has("gen_ai.usage.input_tokens") && !a.has("gen_ai.usage.output_tokens") {
            // The parent span of a streamed call: no usage of its own.
            fill(&mut d.reporter, Some(Reporter::LibraryPartial));
        }
        if let Some(raw) = a.json("gen_ai.usage.raw") {
            let cc = raw.get("cache_creation");
            fill(
                &mut d.cache_write_5m,
                cc.and_then(|c| c.get("ephemeral_5m_input_tokens"))
                    .and_then(value_u64),
            );
            fill(
                &mut d.cache_write_1h,
                cc.and_then(|c| c.get("ephemeral_1h_input_tokens"))
                    .and_then(value_u64),
            );
        }
        // Logfire v1 keeps the raw request and response.
        if let Some(req) = a.json("request_data") {
            fill(
                &mut d.request_model,
                req.get("model").and_then(Value::as_str).map(str::to_owned),
            );
            fill(
                &mut d.input_messages,
                req.get("messages")
                    .and_then(messages::from_anthropic_messages),
            );
            if let Some(sys) = req.get("system") {
                fill(&mut d.system_instructions, messages::system_text(sys));
            }
            fill(&mut d.streamed, req.get("stream").and_then(Value::as_bool));
        }
        if let Some(resp) = a.json("response_data")
            && let Some(msg) = resp.get("message")
        {
            fill(
                &mut d.output_messages,
                Some(vec![Message {
                    role: msg
                        .get("role")
                        .and_then(Value::as_str)
                        .unwrap_or("assistant")
                        .to_owned(),
                    parts: messages::anthropic_blocks(msg.get("content").unwrap_or(&Value::Null)),
                }]),
            );
        }
    }
}
