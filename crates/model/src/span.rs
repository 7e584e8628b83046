use serde::{Deserialize, Serialize};

use crate::{Cost, SpanId, TraceId};

/// Original OTLP attributes, kept losslessly as JSON (ints stay ints, bytes become hex).
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// What a span does, whatever library reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    Agent,
    /// A call to a language model.
    Llm,
    Tool,
    Retrieval,
    Embedding,
    /// Chain, workflow or task: a step that groups others.
    Chain,
    Guardrail,
    Evaluator,
    #[default]
    Other,
}

impl SpanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Agent => "agent",
            SpanKind::Llm => "llm",
            SpanKind::Tool => "tool",
            SpanKind::Retrieval => "retrieval",
            SpanKind::Embedding => "embedding",
            SpanKind::Chain => "chain",
            SpanKind::Guardrail => "guardrail",
            SpanKind::Evaluator => "evaluator",
            SpanKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<SpanKind> {
        Some(match s {
            "agent" => SpanKind::Agent,
            "llm" => SpanKind::Llm,
            "tool" => SpanKind::Tool,
            "retrieval" => SpanKind::Retrieval,
            "embedding" => SpanKind::Embedding,
            "chain" => SpanKind::Chain,
            "guardrail" => SpanKind::Guardrail,
            "evaluator" => SpanKind::Evaluator,
            "other" => SpanKind::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    pub code: StatusCode,
    pub message: String,
}

/// Token counts as the provider bills them.
///
/// `input` is the uncached input billed at the base rate (Anthropic's
/// `input_tokens`); cache reads and writes are separate. Libraries that report
/// a total prompt count are converted by the pipeline, never here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    /// All cache writes; the 5-minute / 1-hour split below when the reporter gives it.
    pub cache_write: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_5m: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<u64>,
}

impl Tokens {
    /// Everything the model read, cached or not: what long-context price tiers look at.
    pub fn prompt_total(&self) -> u64 {
        self.input + self.cache_read + self.cache_write
    }
}

/// One part of a chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    ToolCall {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        name: String,
        #[serde(default)]
        arguments: serde_json::Value,
    },
    ToolResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default)]
        content: serde_json::Value,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
    /// Anything else (images, thinking blocks…), kept as the reporter sent it.
    Other {
        value: serde_json::Value,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub parts: Vec<Part>,
}

/// Which kind of reporter a model-call record came from. When one call is
/// reported several times, the numbers of the highest-ranked reporter win.
/// Compare with [`Reporter::rank`]; there is deliberately no `Ord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reporter {
    /// An instrumentation library wrapping the provider SDK.
    #[default]
    Library,
    /// A library's span that is known to miscount or to lack usage (e.g. a streamed call's parent span).
    LibraryPartial,
    /// The agent's own event log (Claude Code `api_request`).
    AgentLog,
    /// The agent's own span (Claude Code `claude_code.llm_request`).
    AgentSpan,
    /// The provider SDK's own span: the numbers straight from the API response.
    ProviderSdk,
}

impl Reporter {
    /// Higher is more trustworthy.
    pub fn rank(self) -> u8 {
        match self {
            Reporter::LibraryPartial => 0,
            Reporter::Library => 1,
            Reporter::AgentLog => 2,
            Reporter::AgentSpan => 3,
            Reporter::ProviderSdk => 4,
        }
    }
}

/// The canonical view of one model call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_model: Option<String>,
    pub tokens: Tokens,
    /// False when the reporter gave no usage at all (e.g. a failed call).
    pub has_usage: bool,
    pub finish_reasons: Vec<String>,
    pub input_messages: Vec<Message>,
    pub output_messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_definitions: Option<serde_json::Value>,
    /// The provider's id for the response (`msg_…`) or request (`req_…`): how
    /// duplicate reports of one call are joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    pub streamed: bool,
    /// This report completes a streamed call opened by an earlier sibling span
    /// that had no usage (Logfire's "streaming response from …" span).
    pub stream_completion: bool,
    pub reporter: Reporter,
    /// API error type or exception class when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The provider's service tier for this call (`standard`, `priority`, `batch`…), when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Attempts the reporter made (Claude Code retries inside one span).
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

impl ModelCall {
    /// The model that answered, else the one asked for.
    pub fn model(&self) -> Option<&str> {
        self.response_model
            .as_deref()
            .or(self.request_model.as_deref())
    }
}

/// The canonical view of one tool execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ToolCall {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Dimensions users slice by. Filled from span, resource and convention attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Grouping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

impl Grouping {
    /// Fills each empty field from `other`.
    pub fn fill_from(&mut self, other: &Grouping) {
        fn fill(a: &mut Option<String>, b: &Option<String>) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        fill(&mut self.service, &other.service);
        fill(&mut self.environment, &other.environment);
        fill(&mut self.release, &other.release);
        fill(&mut self.session_id, &other.session_id);
        fill(&mut self.user_id, &other.user_id);
        fill(&mut self.prompt_name, &other.prompt_name);
        fill(&mut self.prompt_version, &other.prompt_version);
        fill(&mut self.agent_name, &other.agent_name);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub name: String,
    pub time_unix_nano: u64,
    pub attributes: Attributes,
}

/// One span: the original as received plus its canonical view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    /// OTLP SpanKind as its number (0 unspecified … 5 consumer).
    pub otel_kind: i32,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub status: Status,
    pub scope_name: String,
    pub scope_version: String,
    pub resource: Attributes,
    pub attributes: Attributes,
    pub events: Vec<SpanEvent>,
    // --- canonical, derived by the pipeline ---
    pub kind: SpanKind,
    pub grouping: Grouping,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_call: Option<ModelCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolCall>,
    /// A tool execution that failed, reported on this span (on the tool span
    /// itself, or on a child such as Claude Code's `claude_code.tool.execution`).
    pub tool_failed: bool,
    /// What redaction found and replaced on this span: counts by type, never values.
    #[serde(default, skip_serializing_if = "Redactions::is_empty")]
    pub redactions: Redactions,
}

/// Redaction findings by type label (`EMAIL`, `SECRET`, …).
pub type Redactions = std::collections::BTreeMap<String, u32>;

impl Span {
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    pub fn is_error(&self) -> bool {
        self.status.code == StatusCode::Error
            || self.tool_failed
            || self
                .model_call
                .as_ref()
                .is_some_and(|c| c.error_type.is_some())
    }
}
