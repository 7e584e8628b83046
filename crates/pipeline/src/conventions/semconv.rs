//! OpenTelemetry GenAI semantic conventions, current names and the deprecated
//! ones still emitted (`gen_ai.system`, `gen_ai.usage.prompt_tokens`, …).
//! `gen_ai.usage.input_tokens` here includes cache reads and writes, as the
//! spec says it SHOULD.

use glassbox_model::{SpanKind, StatusCode, ToolCall};

use super::{Convention, Draft, SpanView, common_grouping, exception_message, fill, messages};

pub struct Semconv;

pub fn kind_of_operation(op: &str) -> Option<SpanKind> {
    Some(match op {
        "chat" | "generate_content" | "text_completion" | "completion" => SpanKind::Llm,
        "embeddings" => SpanKind::Embedding,
        "retrieval" => SpanKind::Retrieval,
        "execute_tool" => SpanKind::Tool,
        "invoke_agent" | "create_agent" => SpanKind::Agent,
        "invoke_workflow" => SpanKind::Chain,
        _ => return None,
    })
}

impl Convention for Semconv {
    fn apply_span(&self, s: &SpanView<'_>, d: &mut Draft) {
        let a = &s.attrs;
        if let Some(op) = a.str("gen_ai.operation.name") {
            fill(&mut d.kind, kind_of_operation(&op));
        }
        fill(
            &mut d.provider,
            a.first_str(&["gen_ai.provider.name", "gen_ai.system"]),
        );
        fill(&mut d.request_model, a.str("gen_ai.request.model"));
        fill(&mut d.response_model, a.str("gen_ai.response.model"));
        fill(&mut d.response_id, a.str("gen_ai.response.id"));
        fill(
            &mut d.input_total,
            a.first_u64(&["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"]),
        );
        fill(
            &mut d.output,
            a.first_u64(&[
                "gen_ai.usage.output_tokens",
                "gen_ai.usage.completion_tokens",
            ]),
        );
        fill(
            &mut d.cache_read,
            a.u64("gen_ai.usage.cache_read.input_tokens"),
        );
        fill(
            &mut d.cache_write,
            a.first_u64(&[
                "gen_ai.usage.cache_write.input_tokens",
                "gen_ai.usage.cache_creation.input_tokens",
            ]),
        );
        fill(
            &mut d.finish_reasons,
            a.strings("gen_ai.response.finish_reasons"),
        );
        fill(&mut d.streamed, a.bool("gen_ai.request.stream"));
        if let Some(v) = a.json("gen_ai.input.messages") {
            fill(&mut d.input_messages, messages::from_semconv(&v));
        }
        if let Some(v) = a.json("gen_ai.output.messages") {
            fill(&mut d.output_messages, messages::from_semconv(&v));
        }
        if let Some(v) = a.json("gen_ai.system_instructions") {
            fill(&mut d.system_instructions, messages::system_text(&v));
        }
        fill(&mut d.tool_definitions, a.json("gen_ai.tool.definitions"));
        fill(&mut d.error_type, a.str("error.type"));
        fill(
            &mut d.service_tier,
            a.first_str(&[
                "anthropic.response.service_tier",
                "openai.response.service_tier",
                "gen_ai.openai.response.service_tier",
            ]),
        );
        if s.status.code == StatusCode::Error {
            fill(&mut d.failed, Some(true));
        }
        if d.kind == Some(SpanKind::Tool) || a.has("gen_ai.tool.name") && d.kind.is_none() {
            fill(&mut d.kind, Some(SpanKind::Tool));
            let failed = s.status.code == StatusCode::Error;
            fill(
                &mut d.tool,
                Some(ToolCall {
                    name: a
                        .str("gen_ai.tool.name")
                        .unwrap_or_else(|| s.name.to_owned()),
                    call_id: a.str("gen_ai.tool.call.id"),
                    arguments: a.json("gen_ai.tool.call.arguments"),
                    result: a.json("gen_ai.tool.call.result"),
                    error: failed.then(|| {
                        exception_message(s.events)
                            .or_else(|| Some(s.status.message.clone()).filter(|m| !m.is_empty()))
                            .or_else(|| a.str("error.type"))
                            .unwrap_or_else(|| "error".to_owned())
                    }),
                }),
            );
        }
        common_grouping(a, &s.resource, &mut d.grouping);
        // A span with a model and token usage is a model call whatever else it says.
        if d.kind.is_none()
            && (d.request_model.is_some() || d.response_model.is_some())
            && d.has_usage()
        {
            d.kind = Some(SpanKind::Llm);
        }
    }
}
