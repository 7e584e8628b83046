//! OpenLLMetry / Traceloop (`opentelemetry.instrumentation.*`, `traceloop.*`).
//! Known defect handled here: for streamed Anthropic calls it adds
//! `message_start`'s `output_tokens: 1` to the final count, so its output is
//! one too high (0.62.x; the SDK span, when present, outranks it anyway).

use glassbox_model::{Reporter, SpanKind, StatusCode, ToolCall};

use super::{Convention, Draft, SpanView, exception_message, fill};

pub struct OpenLlmetry;

impl Convention for OpenLlmetry {
    fn apply_span(&self, s: &SpanView<'_>, d: &mut Draft) {
        let a = &s.attrs;
        let is_instrumentation = s.scope_name.starts_with("opentelemetry.instrumentation.");
        let kind = a.str("traceloop.span.kind");
        if !is_instrumentation && kind.is_none() && a.with_prefix("traceloop.").next().is_none() {
            return;
        }
        if let Some(k) = kind.as_deref() {
            fill(
                &mut d.kind,
                match k {
                    "workflow" | "task" => Some(SpanKind::Chain),
                    "agent" => Some(SpanKind::Agent),
                    "tool" => Some(SpanKind::Tool),
                    _ => None,
                },
            );
        }
        let streamed = a
            .bool("gen_ai.is_streaming")
            .or_else(|| a.bool("llm.is_streaming"));
        fill(&mut d.streamed, streamed);
        if is_instrumentation && s.scope_name.ends_with(".anthropic") && streamed == Some(true) {
            d.output_overcount = Some(1);
            fill(&mut d.reporter, Some(Reporter::LibraryPartial));
        }
        fill(&mut d.input_total, a.u64("llm.usage.prompt_tokens"));
        fill(&mut d.output, a.u64("llm.usage.completion_tokens"));
        let g = &mut d.grouping;
        fill(
            &mut g.session_id,
            a.str("traceloop.association.properties.session_id"),
        );
        fill(
            &mut g.user_id,
            a.str("traceloop.association.properties.user_id"),
        );
        fill(&mut g.prompt_name, a.str("traceloop.prompt.key"));
        fill(&mut g.prompt_version, a.str("traceloop.prompt.version"));
        fill(&mut g.agent_name, a.str("traceloop.workflow.name"));
        if d.kind == Some(SpanKind::Tool) {
            let failed = s.status.code == StatusCode::Error;
            fill(
                &mut d.tool,
                Some(ToolCall {
                    name: a
                        .first_str(&["gen_ai.tool.name", "traceloop.entity.name"])
                        .unwrap_or_else(|| s.name.trim_end_matches(".tool").to_owned()),
                    call_id: a.str("gen_ai.tool.call.id"),
                    arguments: a.json("traceloop.entity.input"),
                    result: a.json("traceloop.entity.output"),
                    error: failed.then(|| {
                        exception_message(s.events).unwrap_or_else(|| s.status.message.clone())
                    }),
                }),
            );
        }
    }
}
