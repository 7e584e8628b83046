//! What the gate compares: a [`Sample`] of [`Item`]s, from an experiment run file or from live
//! traffic; both sources map to these types, so the rules and statistics never know which.
//!
//! # The run file (format version 1)
//!
//! One JSON object per experiment run, as an evaluation harness writes it:
//!
//! ```json
//! {"run_id": "run-2026-05-01-a", "name": "support-bot v2", "created_at": "2026-05-01T12:00:00Z",
//!  "dataset": {"name": "support-golden", "version": "3"},
//!  "items": [{"item_id": "q-001", "output": "…",
//!             "scores": {"correctness": 0.92, "helpfulness": 0.81, "grounded": true},
//!             "cost_usd": 0.0102, "latency_ms": 1840.5, "input_tokens": 1200, "output_tokens": 310,
//!             "error": null, "pii_findings": 0}]}
//! ```
//!
//! - `items` is required and must not be empty; everything else at the top level is optional
//!   and only labels the report. Unknown fields are ignored (a harness may add its own).
//! - Per item, `item_id` is required. `scores` maps a name to a number or a boolean (`true` = 1,
//!   `false` = 0). `cost_usd`, `latency_ms`, `input_tokens`, `output_tokens` may be absent or
//!   `null`: a metric is computed over the items that have its field, and the report shows that
//!   count as `n`. `error` is `null` (or absent) for success, or a message. `pii_findings`
//!   defaults to 0. `output` is kept for humans and not read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::GateError;

/// One evaluated item: an experiment item, or a trace of live traffic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    pub item_id: String,
    pub scores: BTreeMap<String, f64>,
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<f64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub error: Option<String>,
    pub pii_findings: u64,
}

/// Where a sample came from; decides how a missing score is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    RunFile,
    LiveTraffic,
}

/// The items of one side of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// How the report names this side, e.g. `runs/baseline.json (run-17)` or `release=v1`.
    pub label: String,
    pub origin: Origin,
    pub items: Vec<Item>,
}

#[derive(Deserialize)]
struct RunFile {
    run_id: Option<String>,
    name: Option<String>,
    items: Vec<RunItem>,
}

#[derive(Deserialize)]
struct RunItem {
    item_id: String,
    #[serde(default)]
    scores: BTreeMap<String, ScoreValue>,
    cost_usd: Option<f64>,
    latency_ms: Option<f64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    error: Option<String>,
    #[serde(default)]
    pii_findings: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScoreValue {
    Bool(bool),
    Number(f64),
}

/// Reads and validates a run file.
pub fn load_run_file(path: &Path) -> Result<Sample, GateError> {
    let text = std::fs::read_to_string(path).map_err(|e| GateError::RunFile {
        path: path.display().to_string(),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file; export the run first, or pass release=… / prompt_version=… to gate on \
             live traffic"
                .to_owned()
        } else {
            e.to_string()
        },
    })?;
    parse_run_file(&text, &path.display().to_string())
}

/// Parses a run file's text; `name` labels errors and the report.
pub fn parse_run_file(text: &str, name: &str) -> Result<Sample, GateError> {
    let bad = |message: String| GateError::RunFile {
        path: name.to_owned(),
        message,
    };
    let run: RunFile = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "not a run file ({e}); the format is documented in docs/ci.md"
        ))
    })?;
    if run.items.is_empty() {
        return Err(bad(
            "the run has no items; check that the evaluation run finished and wrote its results"
                .to_owned(),
        ));
    }
    let mut items = Vec::with_capacity(run.items.len());
    for (i, it) in run.items.into_iter().enumerate() {
        let at = |field: &str| format!("items[{i}] ({}).{field}", it.item_id);
        let mut scores = BTreeMap::new();
        for (k, v) in it.scores {
            let x = match v {
                ScoreValue::Bool(b) => f64::from(u8::from(b)),
                ScoreValue::Number(x) => x,
            };
            if !x.is_finite() {
                return Err(bad(format!(
                    "{} is not a finite number",
                    at(&format!("scores.{k}"))
                )));
            }
            scores.insert(k, x);
        }
        for (field, v) in [("cost_usd", it.cost_usd), ("latency_ms", it.latency_ms)] {
            if let Some(x) = v
                && !(x.is_finite() && x >= 0.0)
            {
                return Err(bad(format!("{} must be a number ≥ 0, not {x}", at(field))));
            }
        }
        items.push(Item {
            scores,
            cost_usd: it.cost_usd,
            latency_ms: it.latency_ms,
            input_tokens: it.input_tokens,
            output_tokens: it.output_tokens,
            error: it.error,
            pii_findings: it.pii_findings.unwrap_or(0),
            item_id: it.item_id,
        });
    }
    let label = match run.run_id.or(run.name) {
        Some(id) => format!("{name} ({id})"),
        None => name.to_owned(),
    };
    Ok(Sample {
        label,
        origin: Origin::RunFile,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scores_bools_and_optional_fields() {
        let s = parse_run_file(
            r#"{"run_id":"r1","items":[
                {"item_id":"a","scores":{"c":0.5,"ok":true},"cost_usd":0.01,"latency_ms":10,
                 "input_tokens":5,"output_tokens":7,"error":null,"pii_findings":1,"output":"x"},
                {"item_id":"b","scores":{"ok":false},"error":"timeout","extra":1}]}"#,
            "f.json",
        )
        .unwrap();
        assert_eq!(s.label, "f.json (r1)");
        assert_eq!(s.items[0].scores["ok"], 1.0);
        assert_eq!(s.items[1].scores["ok"], 0.0);
        assert_eq!(s.items[1].cost_usd, None);
        assert_eq!(s.items[1].error.as_deref(), Some("timeout"));
        assert_eq!(s.items[0].pii_findings, 1);
    }

    #[test]
    fn rejects_empty_and_malformed_runs() {
        let e = parse_run_file(r#"{"items":[]}"#, "f.json").unwrap_err();
        assert!(e.to_string().contains("no items"), "{e}");
        let e = parse_run_file(r#"{"items":[{"scores":{}}]}"#, "f.json").unwrap_err();
        assert!(e.to_string().contains("item_id"), "{e}");
        let e =
            parse_run_file(r#"{"items":[{"item_id":"a","cost_usd":-1}]}"#, "f.json").unwrap_err();
        assert!(e.to_string().contains("items[0] (a).cost_usd"), "{e}");
        let e = parse_run_file(
            r#"{"items":[{"item_id":"a","scores":{"q":"high"}}]}"#,
            "f.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a run file"), "{e}");
    }
}
