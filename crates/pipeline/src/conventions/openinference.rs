//! OpenInference (Arize Phoenix): `openinference.span.kind`, `llm.*` with
//! flattened messages, `input.value` / `output.value`. `llm.token_count.prompt`
//! is the whole prompt, cache reads and writes included.

use glassbox_model::{SpanKind, StatusCode, ToolCall};
use serde_json::Value;

use super::{Convention, Draft, SpanView, exception_message, fill, messages};

pub struct OpenInference;

impl Convention for OpenInference {
    fn apply_span(&self, s: &SpanView<'_>, d: &mut Draft) {
        let a = &s.attrs;
        let Some(kind) = a.str("openinference.span.kind") else {
            return;
        };
        fill(
            &mut d.kind,
            Some(match kind.to_ascii_uppercase().as_str() {
                "LLM" => SpanKind::Llm,
                "TOOL" => SpanKind::Tool,
                "AGENT" => SpanKind::Agent,
                "CHAIN" => SpanKind::Chain,
                "RETRIEVER" | "RERANKER" => SpanKind::Retrieval,
                "EMBEDDING" => SpanKind::Embedding,
                "GUARDRAIL" => SpanKind::Guardrail,
                "EVALUATOR" => SpanKind::Evaluator,
                _ => SpanKind::Other,
            }),
        );
        fill(
            &mut d.provider,
            a.first_str(&["llm.provider", "llm.system"]),
        );
        fill(&mut d.request_model, a.str("llm.request.model_name"));
        fill(
            &mut d.response_model,
            a.first_str(&["llm.response.model_name", "llm.model_name"]),
        );
        fill(&mut d.input_total, a.u64("llm.token_count.prompt"));
        fill(&mut d.output, a.u64("llm.token_count.completion"));
        fill(
            &mut d.cache_read,
            a.u64("llm.token_count.prompt_details.cache_read"),
        );
        fill(
            &mut d.cache_write,
            a.u64("llm.token_count.prompt_details.cache_write"),
        );
        fill(
            &mut d.finish_reasons,
            a.str("llm.finish_reason").map(|r| vec![r]),
        );
        fill(
            &mut d.input_messages,
            messages::from_openinference(a, "llm.input_messages"),
        );
        fill(
            &mut d.output_messages,
            messages::from_openinference(a, "llm.output_messages"),
        );
        if d.kind == Some(SpanKind::Llm) {
            // The full response, when JSON, carries the provider's message id.
            if let Some(out) = a.json("output.value") {
                fill(
                    &mut d.response_id,
                    out.get("id").and_then(Value::as_str).map(str::to_owned),
                );
            }
            let tools: Vec<Value> = (0..)
                .map_while(|i| a.json(&format!("llm.tools.{i}.tool.json_schema")))
                .collect();
            if !tools.is_empty() {
                fill(&mut d.tool_definitions, Some(Value::Array(tools)));
            }
            if s.status.code == StatusCode::Error {
                fill(&mut d.failed, Some(true));
                fill(&mut d.error_type, exception_message(s.events));
            }
        }
        if d.kind == Some(SpanKind::Tool) {
            let failed = s.status.code == StatusCode::Error;
            fill(
                &mut d.tool,
                Some(ToolCall {
                    name: a.str("tool.name").unwrap_or_else(|| s.name.to_owned()),
                    call_id: a.str("tool.id").or_else(|| a.str("tool_call.id")),
                    arguments: a.json("input.value").or_else(|| a.json("tool.parameters")),
                    result: a
                        .json("output.value")
                        .or_else(|| a.get("output.value").cloned()),
                    error: failed.then(|| {
                        exception_message(s.events).unwrap_or_else(|| s.status.message.clone())
                    }),
                }),
            );
        }
        fill(
            &mut d.grouping.prompt_version,
            a.str("llm.prompt_template.version"),
        );
    }
}
