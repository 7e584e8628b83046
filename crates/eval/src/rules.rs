//! Rule-based evaluators: deterministic checks whose results become boolean
//! scores (source `rule`).
//!
//! A rule looks at a [`Subject`]: the answer (a stored trace's last model
//! output, or an experiment item's output), the trace's tool calls, its cost,
//! duration and redaction findings. Over a stored trace the score id is
//! derived from the trace and the evaluator, so re-running never duplicates.

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
    /// The answer is JSON valid against this JSON Schema (any draft `jsonschema` detects from
    /// `$schema`; 2020-12 without one).
    JsonSchema { schema: Value },
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
    #[error("evaluator {name:?}: invalid JSON Schema: {message}")]
    Schema { name: String, message: String },
}

/// A compiled evaluator.
pub struct Evaluator {
    pub name: String,
    check: Check,
    regex: Option<regex::Regex>,
    schema: Option<jsonschema::Validator>,
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
        let schema = match &c.check {
            Check::JsonSchema { schema } => Some(jsonschema::validator_for(schema).map_err(
                |e| EvalError::Schema {
                    name: c.name.clone(),
                    message: e.to_string(),
                },
            )?),
            _ => None,
        };
        Ok(Evaluator {
            name: c.name.clone(),
            check: c.check.clone(),
            regex,
            schema,
        })
    }

    /// Evaluates a stored trace; `None` when the rule does not apply (no answer to judge).
    pub fn evaluate(&self, t: &TraceDetail, now_ns: u64) -> Option<Score> {
        let answer = final_answer(t);
        let (pass, comment) = self.check(&Subject::of_trace(t, answer.as_deref()))?;
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

    /// Pass or fail, with a comment; `None` when the subject lacks what the rule reads
    /// (no answer, or no trace for a tool rule).
    pub fn check(&self, s: &Subject<'_>) -> Option<(bool, Option<String>)> {
        let answer = s.answer;
        let lower = || answer.map(str::to_lowercase);
        let (pass, comment): (bool, Option<String>) = match &self.check {
            Check::Contains { text } => (lower()?.contains(&text.to_lowercase()), None),
            Check::NotContains { text } => (!lower()?.contains(&text.to_lowercase()), None),
            Check::Regex { .. } => (self.regex.as_ref()?.is_match(answer?), None),
            Check::ValidJson => {
                let a = answer?;
                let parsed = serde_json::from_str::<Value>(a.trim());
                (parsed.is_ok(), parsed.err().map(|e| e.to_string()))
            }
            Check::JsonSchema { .. } => {
                let validator = self.schema.as_ref()?;
                match serde_json::from_str::<Value>(answer?.trim()) {
                    Err(e) => (false, Some(format!("not JSON: {e}"))),
                    Ok(doc) => match validator.iter_errors(&doc).next() {
                        None => (true, None),
                        Some(err) => (false, Some(format!("at {}: {err}", err.instance_path()))),
                    },
                }
            }
            Check::Length { min, max } => {
                let n = answer?.chars().count();
                (
                    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m),
                    Some(format!("{n} characters")),
                )
            }
            Check::ToolCalled { tool, arguments } => {
                let called = s.tools.as_ref()?.iter().any(|t| {
                    t.name == tool.as_str()
                        && arguments
                            .as_ref()
                            .is_none_or(|want| t.arguments.is_some_and(|got| subset(want, got)))
                });
                (called, None)
            }
            Check::NotRefusal => {
                let a = lower()?;
                let hit = REFUSALS.iter().find(|p| a.contains(*p));
                (hit.is_none(), hit.map(|p| format!("refusal: {p:?}")))
            }
            Check::NoPii => {
                let n = s.pii_findings?;
                (n == 0, Some(format!("{n} values redacted")))
            }
            Check::MaxCostUsd { usd } => {
                let c = s.cost_usd?;
                (c <= *usd, Some(format!("${c:.6}")))
            }
            Check::MaxLatencyMs { ms } => {
                let d = s.latency_ms?;
                (d <= *ms, Some(format!("{d:.0} ms")))
            }
        };
        Some((pass, comment))
    }
}

/// What a rule looks at. Fields a source cannot supply are `None`, and rules
/// reading them do not apply.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    pub answer: Option<&'a str>,
    /// The tools the trace called, when the trace is known.
    pub tools: Option<Vec<ToolUse<'a>>>,
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<f64>,
    pub pii_findings: Option<u64>,
}

impl<'a> Subject<'a> {
    pub fn of_trace(t: &'a TraceDetail, answer: Option<&'a str>) -> Subject<'a> {
        Subject {
            answer,
            tools: Some(
                t.spans
                    .iter()
                    .filter_map(|s| {
                        Some(ToolUse {
                            name: s.tool_name.as_deref()?,
                            arguments: s.tool_arguments.as_ref(),
                        })
                    })
                    .collect(),
            ),
            cost_usd: Some(t.summary.cost_usd),
            latency_ms: Some(t.summary.duration_ms),
            pii_findings: Some(t.summary.pii_findings),
        }
    }
}

/// A tool execution in a trace.
#[derive(Debug, Clone, Copy)]
pub struct ToolUse<'a> {
    pub name: &'a str,
    pub arguments: Option<&'a Value>,
}

impl<'a> ToolUse<'a> {
    /// The tool executions in a trace as the API returns it (`GET /api/v1/traces/{id}`).
    pub fn from_api_json(trace: &'a Value) -> Vec<ToolUse<'a>> {
        trace["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(ToolUse {
                    name: s["tool_name"].as_str()?,
                    arguments: s.get("tool_arguments").filter(|a| !a.is_null()),
                })
            })
            .collect()
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
        // Any reporter of a call: the one counted for tokens may not have captured content.
        .filter(|s| !s.output_messages.is_empty())
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

/// The first user message of the trace's first model call (what the agent was asked).
pub fn first_question(t: &TraceDetail) -> Option<String> {
    let span = t
        .spans
        .iter()
        .filter(|s| !s.input_messages.is_empty())
        .min_by_key(|s| glassbox_query::parse_time("start", &s.start_time).unwrap_or(u64::MAX))?;
    let text: Vec<&str> = span
        .input_messages
        .iter()
        .find(|m| m.role == "user")?
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    (!text.is_empty()).then(|| text.join("\n"))
}
