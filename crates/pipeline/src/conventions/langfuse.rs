//! The Langfuse SDK's own attributes (`langfuse.observation.*`,
//! `langfuse.trace.*`). Usage is whatever the application passed; by the
//! Anthropic convention `input` is the uncached part.

use glassbox_model::{SpanKind, StatusCode, ToolCall};
use serde_json::Value;

use super::{Convention, Draft, SpanView, attrs::value_u64, fill, messages};

pub struct Langfuse;

impl Convention for Langfuse {
    fn apply_span(&self, s: &SpanView<'_>, d: &mut Draft) {
        let a = &s.attrs;
        let Some(obs_type) = a.str("langfuse.observation.type") else {
            return;
        };
        fill(
            &mut d.kind,
            Some(match obs_type.as_str() {
                "generation" => SpanKind::Llm,
                "embedding" => SpanKind::Embedding,
                "agent" => SpanKind::Agent,
                "tool" => SpanKind::Tool,
                "chain" => SpanKind::Chain,
                "retriever" => SpanKind::Retrieval,
                "evaluator" => SpanKind::Evaluator,
                "guardrail" => SpanKind::Guardrail,
                _ => SpanKind::Other,
            }),
        );
        let is_error = a.str("langfuse.observation.level").as_deref() == Some("ERROR")
            || s.status.code == StatusCode::Error;
        let status_message = a.str("langfuse.observation.status_message");
        if d.kind == Some(SpanKind::Llm) {
            fill(
                &mut d.response_model,
                a.str("langfuse.observation.model.name"),
            );
            let usage = a.json("langfuse.observation.usage_details");
            let u = |k: &str| {
                usage
                    .as_ref()
                    .and_then(|u| u.get(k))
                    .and_then(value_u64)
                    .or_else(|| a.u64(&format!("langfuse.observation.usage_details.{k}")))
            };
            fill(&mut d.input_uncached, u("input"));
            fill(&mut d.output, u("output"));
            fill(
                &mut d.cache_read,
                u("cache_read_input_tokens").or_else(|| u("input_cache_read")),
            );
            fill(
                &mut d.cache_write,
                u("cache_creation_input_tokens").or_else(|| u("input_cache_creation")),
            );
            fill(
                &mut d.response_id,
                a.json("langfuse.observation.metadata.message_id")
                    .and_then(|v| v.as_str().map(str::to_owned)),
            );
            if let Some(input) = a.json("langfuse.observation.input") {
                fill(
                    &mut d.input_messages,
                    input
                        .get("messages")
                        .and_then(messages::from_anthropic_messages),
                );
                if let Some(sys) = input.get("system") {
                    fill(&mut d.system_instructions, messages::system_text(sys));
                }
            }
            if let Some(output) = a.json("langfuse.observation.output") {
                let parts = messages::anthropic_blocks(output.get("content").unwrap_or(&output));
                if !parts.is_empty() {
                    fill(
                        &mut d.output_messages,
                        Some(vec![glassbox_model::Message {
                            role: "assistant".to_owned(),
                            parts,
                        }]),
                    );
                }
            }
            if is_error {
                fill(&mut d.failed, Some(true));
                fill(&mut d.error_type, status_message.clone());
            }
        }
        if d.kind == Some(SpanKind::Tool) {
            let input = a.json("langfuse.observation.input");
            // Decorated functions record {"args": [...], "kwargs": {...}}; the kwargs are the arguments.
            let arguments = input.map(|i| match i.get("kwargs") {
                Some(k)
                    if i.get("args")
                        .and_then(Value::as_array)
                        .is_some_and(Vec::is_empty) =>
                {
                    k.clone()
                }
                _ => i,
            });
            fill(
                &mut d.tool,
                Some(ToolCall {
                    name: s.name.to_owned(),
                    call_id: None,
                    arguments,
                    result: a
                        .json("langfuse.observation.output")
                        .or_else(|| a.get("langfuse.observation.output").cloned()),
                    error: is_error
                        .then(|| status_message.clone().unwrap_or_else(|| "error".to_owned())),
                }),
            );
        }
        let g = &mut d.grouping;
        fill(
            &mut g.prompt_name,
            a.str("langfuse.observation.prompt.name"),
        );
        fill(
            &mut g.prompt_version,
            a.str("langfuse.observation.prompt.version"),
        );
        fill(&mut g.agent_name, a.str("langfuse.trace.name"));
    }
}
