use serde::{Deserialize, Serialize};

use crate::{Attributes, Grouping, ModelCall, SpanId, TraceId};

/// One OTLP log record, plus the model call it reports when it is one
/// (Claude Code's `api_request` event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    pub time_unix_nano: u64,
    pub observed_time_unix_nano: u64,
    pub severity_number: i32,
    pub severity_text: String,
    pub event_name: Option<String>,
    pub body: serde_json::Value,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub scope_name: String,
    pub resource: Attributes,
    pub attributes: Attributes,
    pub grouping: Grouping,
    pub model_call: Option<ModelCall>,
    /// What redaction found and replaced in this record: counts by type.
    #[serde(default, skip_serializing_if = "crate::Redactions::is_empty")]
    pub redactions: crate::Redactions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Temporality {
    Unspecified,
    Delta,
    Cumulative,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MetricPointValue {
    Gauge {
        value: f64,
    },
    Sum {
        value: f64,
        monotonic: bool,
        temporality: Temporality,
    },
    Histogram {
        count: u64,
        sum: Option<f64>,
        bounds: Vec<f64>,
        bucket_counts: Vec<u64>,
        temporality: Temporality,
    },
    /// Exponential histograms and summaries, kept as received.
    Other {
        value: serde_json::Value,
    },
}

/// One data point of one OTLP metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub name: String,
    pub unit: String,
    pub scope_name: String,
    pub start_unix_nano: u64,
    pub time_unix_nano: u64,
    pub resource: Attributes,
    pub attributes: Attributes,
    pub value: MetricPointValue,
}
