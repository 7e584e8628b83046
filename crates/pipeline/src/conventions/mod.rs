//! One file per family of GenAI conventions. Each reads the original
//! attributes of a span (or log record) and fills the fields of a [`Draft`]
//! that it knows; the first convention to set a field wins, so the list in
//! [`CONVENTIONS`] runs from the most specific (one library's own keys) to the
//! most generic (the OpenTelemetry GenAI semantic conventions).
//!
//! Adding a convention: write `foo.rs` with a `Convention` impl, add it to
//! `CONVENTIONS`, and add its payloads under `shared/fixtures/otlp/`.

mod anthropic_sdk;
mod attrs;
mod claude_code;
mod langfuse;
mod logfire;
pub mod messages;
mod openinference;
mod openllmetry;
mod semconv;

pub use attrs::Attrs;

use glassbox_model::{Grouping, Message, Reporter, SpanEvent, SpanKind, Status, ToolCall};

/// What a convention sees of a span.
pub struct SpanView<'a> {
    pub name: &'a str,
    pub otel_kind: i32,
    pub scope_name: &'a str,
    pub scope_version: &'a str,
    pub attrs: Attrs<'a>,
    pub resource: Attrs<'a>,
    pub events: &'a [SpanEvent],
    pub status: &'a Status,
}

/// What a convention sees of a log record.
pub struct LogView<'a> {
    pub event_name: Option<&'a str>,
    pub scope_name: &'a str,
    pub attrs: Attrs<'a>,
    pub resource: Attrs<'a>,
    pub body: &'a serde_json::Value,
    pub time_unix_nano: u64,
}

/// Canonical fields as conventions discover them. Every field starts empty and
/// is set at most once (`fill`), so earlier conventions take precedence.
#[derive(Debug, Default)]
pub struct Draft {
    pub kind: Option<SpanKind>,
    pub reporter: Option<Reporter>,
    pub provider: Option<String>,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    /// Prompt tokens including cache reads and writes (OTel-style `input_tokens`).
    pub input_total: Option<u64>,
    /// Uncached prompt tokens (Anthropic API-style `input_tokens`).
    pub input_uncached: Option<u64>,
    pub output: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_write: Option<u64>,
    pub cache_write_5m: Option<u64>,
    pub cache_write_1h: Option<u64>,
    pub finish_reasons: Option<Vec<String>>,
    pub input_messages: Option<Vec<Message>>,
    pub output_messages: Option<Vec<Message>>,
    pub system_instructions: Option<String>,
    pub tool_definitions: Option<serde_json::Value>,
    pub response_id: Option<String>,
    pub streamed: Option<bool>,
    pub stream_completion: Option<bool>,
    pub error_type: Option<String>,
    pub service_tier: Option<String>,
    pub failed: Option<bool>,
    pub attempts: Option<u32>,
    /// Output tokens the reporter is known to over-count by (OpenLLMetry streaming).
    pub output_overcount: Option<u64>,
    pub tool: Option<ToolCall>,
    pub tool_failed: Option<bool>,
    pub grouping: Grouping,
}

/// Sets `slot` unless an earlier convention already did.
pub fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

impl Draft {
    pub fn has_usage(&self) -> bool {
        self.input_total.is_some()
            || self.input_uncached.is_some()
            || self.output.is_some()
            || self.cache_read.is_some()
            || self.cache_write.is_some()
    }
}

/// A family of conventions.
pub trait Convention: Sync {
    fn apply_span(&self, span: &SpanView<'_>, draft: &mut Draft);
    fn apply_log(&self, _log: &LogView<'_>, _draft: &mut Draft) {}
}

/// In precedence order: library-specific first, generic semconv last.
pub static CONVENTIONS: &[&dyn Convention] = &[
    &claude_code::ClaudeCode,
    &anthropic_sdk::AnthropicSdk,
    &langfuse::Langfuse,
    &openinference::OpenInference,
    &openllmetry::OpenLlmetry,
    &logfire::Logfire,
    &semconv::Semconv,
];

/// Grouping keys shared by many conventions, read from span then resource attributes.
pub fn common_grouping(attrs: &Attrs<'_>, resource: &Attrs<'_>, g: &mut Grouping) {
    let either = |keys: &[&str]| attrs.first_str(keys).or_else(|| resource.first_str(keys));
    fill(&mut g.service, resource.str("service.name"));
    fill(
        &mut g.environment,
        either(&[
            "deployment.environment.name",
            "deployment.environment",
            "langfuse.environment",
        ]),
    );
    fill(
        &mut g.release,
        either(&[
            "langfuse.release",
            "langfuse.trace.release",
            "service.version",
            "deployment.version",
        ]),
    );
    fill(
        &mut g.session_id,
        either(&[
            "session.id",
            "gen_ai.conversation.id",
            "langfuse.session.id",
        ]),
    );
    fill(
        &mut g.user_id,
        either(&["user.id", "enduser.id", "langfuse.user.id"]),
    );
    fill(&mut g.prompt_name, either(&["gen_ai.prompt.name"]));
    fill(&mut g.agent_name, either(&["gen_ai.agent.name"]));
}

/// The `exception` span event's message, if the reporter recorded one.
pub fn exception_message(events: &[SpanEvent]) -> Option<String> {
    events.iter().find(|e| e.name == "exception").map(|e| {
        let a = Attrs(&e.attributes);
        match (a.str("exception.type"), a.str("exception.message")) {
            (Some(t), Some(m)) => format!("{t}: {m}"),
            (Some(t), None) => t,
            (None, Some(m)) => m,
            (None, None) => "exception".to_owned(),
        }
    })
}
