//! Quality judgements attached to a trace or a span: by people, rules, an
//! LLM judge, or the application's own SDK.

use serde::{Deserialize, Serialize};

use crate::{SpanId, TraceId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScoreValue {
    Bool(bool),
    Number(f64),
    /// A category label, e.g. `"correct"`, `"refused"`.
    Category(String),
}

impl ScoreValue {
    /// The value as a number for aggregation: booleans count 1/0, categories not at all.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ScoreValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            ScoreValue::Number(n) => Some(*n),
            ScoreValue::Category(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreSource {
    Human,
    Rule,
    LlmJudge,
    Sdk,
}

impl ScoreSource {
    pub const ALL: [ScoreSource; 4] = [
        ScoreSource::Human,
        ScoreSource::Rule,
        ScoreSource::LlmJudge,
        ScoreSource::Sdk,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreSource::Human => "human",
            ScoreSource::Rule => "rule",
            ScoreSource::LlmJudge => "llm_judge",
            ScoreSource::Sdk => "sdk",
        }
    }
    pub fn parse(s: &str) -> Option<ScoreSource> {
        ScoreSource::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Unique; chosen by whoever records the score (random when not given).
    pub id: String,
    pub trace_id: TraceId,
    pub span_id: Option<SpanId>,
    pub name: String,
    pub value: ScoreValue,
    pub source: ScoreSource,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub time_unix_nano: u64,
}
