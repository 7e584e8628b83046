//! Evaluation for Glassbox: what turns outputs into scores, and experiments over datasets.
//!
//! - [`rules`]: deterministic checks (regex, JSON, length, tool called, refusal, PII, cost,
//!   latency) over a stored trace or an experiment's output;
//! - [`judge`]: LLM-as-a-judge over the Anthropic Messages API or an OpenAI-compatible
//!   endpoint, with rubric templates and strictly parsed verdicts;
//! - [`dataset`]: golden datasets (JSONL/CSV, content-versioned);
//! - [`experiment`]: `glassbox eval run` — a candidate over a dataset, traced and scored,
//!   written as a run file for `glassbox gate`.
//!
//! Evaluators read through the query layer (or the API, which serves the same shapes) and
//! never the store.

pub mod dataset;
pub mod experiment;
pub mod judge;
mod remote;
pub mod rules;

pub use rules::{Check, EvalError, Evaluator, RuleConfig, Subject, final_answer};

/// Now, in Unix nanoseconds (the unit of spans and scores).
pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
