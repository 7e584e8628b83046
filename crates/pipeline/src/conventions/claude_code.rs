//! Claude Code and the Claude Agent SDK (which runs Claude Code): spans of
//! scope `com.anthropic.claude_code.tracing` and log events of scope
//! `com.anthropic.claude_code.events`. Plain `input_tokens` is the uncached
//! part; `gen_ai.response.id` is the request id (`req_…`), the same id the
//! `api_request` event carries, which is how the store joins the two.

use glassbox_model::{Reporter, SpanKind, StatusCode, ToolCall};

use super::{Convention, Draft, LogView, SpanView, fill};

pub struct ClaudeCode;

fn is_claude_code(scope: &str) -> bool {
    scope.starts_with("com.anthropic.claude_code")
}

impl Convention for ClaudeCode {
    fn apply_span(&self, s: &SpanView<'_>, d: &mut Draft) {
        if !is_claude_code(s.scope_name) {
            return;
        }
        let a = &s.attrs;
        let span_type = a
            .str("span.type")
            .unwrap_or_else(|| s.name.trim_start_matches("claude_code.").to_owned());
        match span_type.as_str() {
            "llm_request" => {
                d.kind = Some(SpanKind::Llm);
                d.reporter = Some(Reporter::AgentSpan);
                fill(&mut d.input_uncached, a.u64("input_tokens"));
                fill(&mut d.output, a.u64("output_tokens"));
                fill(&mut d.cache_read, a.u64("cache_read_tokens"));
                fill(&mut d.cache_write, a.u64("cache_creation_tokens"));
                fill(&mut d.cache_write_5m, a.u64("cache_creation_5m_tokens"));
                fill(&mut d.cache_write_1h, a.u64("cache_creation_1h_tokens"));
                fill(&mut d.response_model, a.str("model"));
                fill(
                    &mut d.response_id,
                    a.first_str(&["gen_ai.response.id", "request_id"]),
                );
                fill(&mut d.finish_reasons, a.str("stop_reason").map(|r| vec![r]));
                fill(&mut d.streamed, Some(true));
                let attempts = s
                    .events
                    .iter()
                    .filter(|e| e.name == "gen_ai.request.attempt")
                    .count();
                if attempts > 0 {
                    d.attempts = Some(u32::try_from(attempts).unwrap_or(u32::MAX));
                }
                if a.bool("success") == Some(false) || s.status.code == StatusCode::Error {
                    fill(&mut d.failed, Some(true));
                    fill(&mut d.error_type, a.first_str(&["error.type", "error"]));
                }
            }
            "interaction" => {
                d.kind = Some(SpanKind::Agent);
                fill(&mut d.grouping.agent_name, Some("claude-code".to_owned()));
            }
            "tool" => {
                d.kind = Some(SpanKind::Tool);
                fill(
                    &mut d.tool,
                    Some(ToolCall {
                        name: a
                            .first_str(&["gen_ai.tool.name", "tool_name"])
                            .unwrap_or_else(|| s.name.to_owned()),
                        call_id: a.first_str(&["gen_ai.tool.call.id", "tool_use_id"]),
                        arguments: a
                            .json("tool_input")
                            .or_else(|| a.json("gen_ai.tool.call.arguments")),
                        result: a.json("tool.output"),
                        error: None,
                    }),
                );
            }
            "tool.execution" => {
                // The tool's outcome lives on this child of the tool span.
                d.kind = Some(SpanKind::Other);
                if a.bool("success") == Some(false) || s.status.code == StatusCode::Error {
                    d.tool_failed = Some(true);
                }
            }
            _ => {
                fill(&mut d.kind, Some(SpanKind::Other));
            }
        }
        fill(&mut d.grouping.agent_name, a.str("agent_id"));
    }

    fn apply_log(&self, l: &LogView<'_>, d: &mut Draft) {
        if !is_claude_code(l.scope_name) {
            return;
        }
        let a = &l.attrs;
        match l.event_name.unwrap_or_default() {
            "api_request" | "claude_code.api_request" => {
                d.kind = Some(SpanKind::Llm);
                d.reporter = Some(Reporter::AgentLog);
                fill(&mut d.provider, Some("anthropic".to_owned()));
                fill(&mut d.response_model, a.str("model"));
                fill(&mut d.input_uncached, a.u64("input_tokens"));
                fill(&mut d.output, a.u64("output_tokens"));
                fill(&mut d.cache_read, a.u64("cache_read_tokens"));
                fill(&mut d.cache_write, a.u64("cache_creation_tokens"));
                fill(&mut d.cache_write_5m, a.u64("cache_creation_5m_tokens"));
                fill(&mut d.cache_write_1h, a.u64("cache_creation_1h_tokens"));
                fill(&mut d.response_id, a.str("request_id"));
                fill(&mut d.streamed, Some(true));
            }
            "api_error" | "claude_code.api_error" => {
                d.kind = Some(SpanKind::Llm);
                d.reporter = Some(Reporter::AgentLog);
                fill(&mut d.provider, Some("anthropic".to_owned()));
                fill(&mut d.response_model, a.str("model"));
                fill(&mut d.response_id, a.str("request_id"));
                d.failed = Some(true);
                fill(&mut d.error_type, a.first_str(&["error", "status_code"]));
            }
            _ => {}
        }
    }
}
