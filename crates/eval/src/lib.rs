//! Rule-based evaluators: checks over a stored trace, read through the query
//! layer, whose results become scores (source `rule`). They run online on
//! completed traces (see `glassbox-server`'s evaluation loop) and on demand.
//!
//! A rule looks at the trace's final answer (the last model call's output
//! text), its tool calls, its cost, duration and redaction findings. Each
//! evaluator yields a boolean score named after it; the score id is derived
//! from the trace and the evaluator, so re-running never duplicates.

use glassbox_model::{Part, Score, ScoreSource, ScoreValue, TraceId};
use glassbox_query::TraceDetail;
use serde::Deserialize;
use serde_json::Value;

/// One configured evaluator: `[[evaluation.rules]]` in the config. (Unknown
/// keys are caught by `Check`, which sees every key but `name`.)
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RuleConfig {
    /// The score name it writes.
    pub name: String,
    #[serde(flatten)]
    pub check: Check,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The answer contains `text` (case-insensitive).
    Contains { text: String },
    /// The answer does not contain `text` (case-insensitive).
    NotContains { text: String },
    /// The answer matches the regular expression.
    Regex { pattern: String },
    /// The answer is valid JSON.
    ValidJson,
    /// The answer's length in characters is within bounds.
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// A tool of this name was called (with these arguments, if given: every
    /// key given must be present with an equal value).
    ToolCalled {
        tool: String,
        arguments: Option<Value>,
    },
    /// The answer is not a refusal ("I can't help with that", …).
    NotRefusal,
    /// Redaction found no PII or secret in the trace.
    NoPii,
    /// The trace cost at most this many dollars.
    MaxCostUsd { usd: f64 },
    /// The trace took at most this many milliseconds.
    MaxLatencyMs { ms: f64 },
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("evaluator {name:?}: invalid regular expression: {message}")]
    Regex { name: String, message: String },
}

/// A compiled evaluator.
pub struct Evaluator {
    pub name: String,
    check: Check,
    regex: Option<regex::Regex>,
}

/// Phrases that mark a refusal, lower-case.
const REFUSALS: &[&str] = &[
    "i can't help with",
    "i cannot help with",
    "i can't assist with",
    "i cannot assist with",
    "i'm not able to help",
    "i am not able to help",
    "i won't be able to help",
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i must decline",
    "i can't provide",
    "i cannot provide",
];

impl Evaluator {
    pub fn new(c: &RuleConfig) -> Result<Evaluator, EvalError> {
        let regex = match &c.check {
            Check::Regex { pattern } => {
                Some(regex::Regex::new(pattern).map_err(|e| EvalError::Regex {
                    name: c.name.clone(),
                    message: e.to_string(),
                })?)
            }
            _ => None,
        };
        Ok(Evaluator {
            name: c.name.clone(),
            check: c.check.clone(),
            regex,
        })
    }

    /// Evaluates a trace; `None` when the rule does not apply (no answer to judge).
    pub fn evaluate(&self, t: &TraceDetail, now_ns: u64) -> Option<Score> {
        let answer = final_answer(t);
        let lower = || answer.as_deref().map(str::to_lowercase);
        let (pass, comment): (bool, Option<String>) = match &self.check {
            Check::Contains { text } => (lower()?.contains(&text.to_lowercase()), None),
            Check::NotContains { text } => (!lower()?.contains(&text.to_lowercase()), None),
            Check::Regex { .. } => (self.regex.as_ref()?.is_match(answer.as_deref()?), None),
            Check::ValidJson => {
                let a = answer.as_deref()?;
                let parsed = serde_json::from_str::<Value>(a.trim());
                (parsed.is_ok(), parsed.err().map(|e| e.to_string()))
            }
            Check::Length { min, max } => {
                let n = answer.as_deref()?.chars().count();
                (
                    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m),
                    Some(format!("{n} characters")),
                )
            }
            Check::ToolCalled { tool, arguments } => {
                let called = t.spans.iter().any(|s| {
                    s.tool_name.as_deref() == Some(tool.as_str())
                        && arguments.as_ref().is_none_or(|want| {
                            s.tool_arguments
                                .as_ref()
                                .is_some_and(|got| subset(want, got))
                        })
                });
                (called, None)
            }
            Check::NotRefusal => {
                let a = lower()?;
                let hit = REFUSALS.iter().find(|p| a.contains(*p));
                (hit.is_none(), hit.map(|p| format!("refusal: {p:?}")))
            }
            Check::NoPii => (
                t.summary.pii_findings == 0,
                Some(format!("{} values redacted", t.summary.pii_findings)),
            ),
            Check::MaxCostUsd { usd } => (
                t.summary.cost_usd <= *usd,
                Some(format!("${:.6}", t.summary.cost_usd)),
            ),
            Check::MaxLatencyMs { ms } => (
                t.summary.duration_ms <= *ms,
                Some(format!("{:.0} ms", t.summary.duration_ms)),
            ),
        };
        let trace_id = TraceId::from_hex(&t.summary.trace_id).ok()?;
        Some(Score {
            id: format!(
                "rule-{}",
                &blake3::hash(format!("{}/{}", t.summary.trace_id, self.name).as_bytes()).to_hex()
                    [..24]
            ),
            trace_id,
            span_id: None,
            name: self.name.clone(),
            value: ScoreValue::Bool(pass),
            source: ScoreSource::Rule,
            comment,
            author: Some("glassbox".into()),
            time_unix_nano: now_ns,
        })
    }
}

/// Every key of `want` is in `got` with an equal value (recursively for objects).
fn subset(want: &Value, got: &Value) -> bool {
    let got = match got {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| got.clone()),
        other => other.clone(),
    };
    match (want, &got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|x| subset(v, x))),
        _ => *want == got,
    }
}

/// The text of the trace's last model output (the answer the user saw).
pub fn final_answer(t: &TraceDetail) -> Option<String> {
    let span = t
        .spans
        .iter()
        .filter(|s| s.counted && !s.output_messages.is_empty())
        .max_by_key(|s| glassbox_query::parse_time("end", &s.end_time).unwrap_or(0))?;
    let text: Vec<&str> = span
        .output_messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    (!text.is_empty()).then(|| text.join("\n"))
}
