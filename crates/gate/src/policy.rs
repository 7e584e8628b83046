//! The policy file: which score is "quality", the statistical settings and the rules.
//!
//! ```yaml
//! quality_score: correctness   # the score `quality` means (mean; booleans count as 1/0)
//! min_samples: 30              # below it, on either side, a comparison is inconclusive
//! confidence: 0.95             # of the bootstrap intervals
//! inconclusive: fail           # or pass: what an inconclusive rule does to the exit code
//! bootstrap_resamples: 2000    # optional
//! seed: 1                      # optional; the same seed gives the same intervals
//! rules:
//!   - quality >= baseline * 0.95
//!   - latency_p95_ms <= 5000
//! ```
//!
//! A rule is `METRIC OP RIGHT`: `OP` is one of `>=`, `>`, `<=`, `<`, `==`; `RIGHT` is a number,
//! `baseline`, `baseline * k`, `baseline + k` or `baseline - k` (the baseline's value of the
//! same metric). Metrics: `quality`, `score.<name>`, `cost_per_item`, `tokens_per_item`,
//! `error_rate`, `pii_findings` and `latency_pNN_ms` for a percentile `NN` in (0, 100), e.g.
//! `latency_p50_ms`, `latency_p95_ms`, `latency_p99_ms`, `latency_p99.9_ms`.
//! Unknown keys, metrics or syntax are errors that name the rule and the column.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::GateError;
use crate::stats::{Statistic, Transform};

/// What an inconclusive rule does to the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inconclusive {
    Pass,
    Fail,
}

impl Inconclusive {
    pub fn as_str(self) -> &'static str {
        match self {
            Inconclusive::Pass => "pass",
            Inconclusive::Fail => "fail",
        }
    }
}

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub quality_score: Option<String>,
    pub min_samples: usize,
    pub confidence: f64,
    pub inconclusive: Inconclusive,
    pub bootstrap_resamples: usize,
    pub seed: u64,
    pub rules: Vec<Rule>,
}

pub const DEFAULT_MIN_SAMPLES: usize = 30;
pub const DEFAULT_CONFIDENCE: f64 = 0.95;
pub const DEFAULT_RESAMPLES: usize = 2000;
/// "glassbox" in ASCII: any fixed value would do; it only has to be the same every run.
pub const DEFAULT_SEED: u64 = 0x676C_6173_7362_6F78;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    quality_score: Option<String>,
    min_samples: Option<usize>,
    confidence: Option<f64>,
    inconclusive: Option<Inconclusive>,
    bootstrap_resamples: Option<usize>,
    seed: Option<u64>,
    rules: Vec<String>,
}

/// A quantity computed from a sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// The mean of the policy's `quality_score`.
    Quality,
    /// The mean of a named score.
    Score(String),
    CostPerItem,
    /// Input + output tokens, mean per item.
    TokensPerItem,
    /// A latency percentile in milliseconds, `q` in (0, 100).
    LatencyMs(f64),
    /// The share of items with an error.
    ErrorRate,
    /// The sum of PII findings: exact, no interval.
    PiiFindings,
}

impl Metric {
    /// How a sample's values reduce to the metric; `None` for the exact sum.
    pub fn statistic(&self) -> Option<Statistic> {
        match self {
            Metric::LatencyMs(q) => Some(Statistic::Percentile(*q)),
            Metric::PiiFindings => None,
            _ => Some(Statistic::Mean),
        }
    }

    /// Whether the gate reports a t-test (means only).
    pub fn is_mean(&self) -> bool {
        self.statistic() == Some(Statistic::Mean)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Quality => f.write_str("quality"),
            Metric::Score(n) => write!(f, "score.{n}"),
            Metric::CostPerItem => f.write_str("cost_per_item"),
            Metric::TokensPerItem => f.write_str("tokens_per_item"),
            Metric::LatencyMs(q) => write!(f, "latency_p{q}_ms"),
            Metric::ErrorRate => f.write_str("error_rate"),
            Metric::PiiFindings => f.write_str("pii_findings"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
        }
    }

    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Ge => lhs >= rhs,
            Op::Gt => lhs > rhs,
            Op::Le => lhs <= rhs,
            Op::Lt => lhs < rhs,
            Op::Eq => lhs == rhs,
        }
    }
}

/// The right-hand side of a rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// An absolute value.
    Value(f64),
    /// The baseline's value, scaled or shifted (`baseline` alone is `Scale(1.0)`).
    Baseline(Transform),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// As written in the policy (trimmed): names the rule in every report.
    pub text: String,
    pub metric: Metric,
    pub op: Op,
    pub threshold: Threshold,
}

/// Reads and validates a policy file.
pub fn load(path: &Path) -> Result<Policy, GateError> {
    let bad = |message: String| GateError::Policy {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad(if e.kind() == std::io::ErrorKind::NotFound {
            "no such file; write one (see docs/ci.md) or fix --policy".to_owned()
        } else {
            e.to_string()
        })
    })?;
    parse(&text).map_err(bad)
}

/// Parses a policy's YAML; the error is a sentence naming what is wrong and where.
pub fn parse(yaml: &str) -> Result<Policy, String> {
    let f: PolicyFile = serde_norway::from_str(yaml).map_err(|e| format!("invalid YAML: {e}"))?;
    let min_samples = f.min_samples.unwrap_or(DEFAULT_MIN_SAMPLES);
    if min_samples < 2 {
        return Err(format!(
            "min_samples: {min_samples} is too small; an interval needs at least 2 items a side"
        ));
    }
    let confidence = f.confidence.unwrap_or(DEFAULT_CONFIDENCE);
    if !(0.5..1.0).contains(&confidence) {
        return Err(format!(
            "confidence: {confidence} must be at least 0.5 and below 1 (e.g. 0.95)"
        ));
    }
    let bootstrap_resamples = f.bootstrap_resamples.unwrap_or(DEFAULT_RESAMPLES);
    if !(100..=1_000_000).contains(&bootstrap_resamples) {
        return Err(format!(
            "bootstrap_resamples: {bootstrap_resamples} must be from 100 to 1000000 (2000 is plenty)"
        ));
    }
    if f.rules.is_empty() {
        return Err("rules: the list is empty; a gate needs at least one rule".to_owned());
    }
    let mut rules = Vec::with_capacity(f.rules.len());
    for (i, text) in f.rules.iter().enumerate() {
        let rule = parse_rule(text).map_err(|(col, msg)| {
            format!("rule {} `{}`: column {col}: {msg}", i + 1, text.trim())
        })?;
        if rule.metric == Metric::Quality && f.quality_score.is_none() {
            return Err(format!(
                "rule {} `{}`: `quality` needs `quality_score: <score name>` in the policy \
                 (or write `score.<name>`)",
                i + 1,
                rule.text
            ));
        }
        rules.push(rule);
    }
    Ok(Policy {
        quality_score: f.quality_score,
        min_samples,
        confidence,
        inconclusive: f.inconclusive.unwrap_or(Inconclusive::Fail),
        bootstrap_resamples,
        seed: f.seed.unwrap_or(DEFAULT_SEED),
        rules,
    })
}

/// A scanner over one rule; columns are 1-based character positions in the trimmed text.
struct Scanner<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    text: &'a str,
}

type RuleError = (usize, String);

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self
            .chars
            .get(self.pos)
            .is_some_and(|(_, c)| c.is_whitespace())
        {
            self.pos += 1;
        }
    }
    fn col(&self) -> usize {
        self.pos + 1
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|(_, c)| *c)
    }
    fn rest(&self) -> &str {
        self.chars
            .get(self.pos)
            .map_or("", |(byte, _)| &self.text[*byte..])
    }
    fn found(&self) -> String {
        match self.rest().split_whitespace().next() {
            Some(w) => format!("`{w}`"),
            None => "the end of the rule".to_owned(),
        }
    }
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek().filter(|c| f(*c)) {
            s.push(c);
            self.pos += 1;
        }
        s
    }
    fn number(&mut self, what: &str) -> Result<f64, RuleError> {
        self.skip_ws();
        let col = self.col();
        let mut s = String::new();
        if let Some(c) = self.peek().filter(|c| *c == '-' || *c == '+') {
            s.push(c);
            self.pos += 1;
        }
        loop {
            s.push_str(&self.take_while(|c| c.is_ascii_digit() || c == '.'));
            // An exponent may carry its own sign (1e-3).
            match self.peek() {
                Some(e @ ('e' | 'E')) => {
                    s.push(e);
                    self.pos += 1;
                    if let Some(c) = self.peek().filter(|c| *c == '-' || *c == '+') {
                        s.push(c);
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => {
                self.pos = col - 1;
                Err((col, format!("expected {what}, found {}", self.found())))
            }
        }
    }
}

const METRICS_HELP: &str = "quality, score.<name>, cost_per_item, tokens_per_item, \
     latency_p50_ms (any latency_pNN_ms), error_rate, pii_findings";

/// Parses one rule; the error is `(column, message)`.
pub fn parse_rule(text: &str) -> Result<Rule, RuleError> {
    let trimmed = text.trim();
    let mut s = Scanner {
        chars: trimmed.char_indices().collect(),
        pos: 0,
        text: trimmed,
    };
    // Metric.
    let col = s.col();
    let name = s.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if name.is_empty() {
        return Err((
            col,
            format!("expected a metric ({METRICS_HELP}), found {}", s.found()),
        ));
    }
    let metric = metric_of(&name).ok_or_else(|| {
        (
            col,
            format!("unknown metric `{name}`; known: {METRICS_HELP}"),
        )
    })?;
    // Operator.
    s.skip_ws();
    let col = s.col();
    let op = if s.rest().starts_with(">=") {
        Op::Ge
    } else if s.rest().starts_with("<=") {
        Op::Le
    } else if s.rest().starts_with("==") {
        Op::Eq
    } else if s.rest().starts_with('>') {
        Op::Gt
    } else if s.rest().starts_with('<') {
        Op::Lt
    } else {
        return Err((
            col,
            format!(
                "expected an operator (>=, >, <=, <, ==), found {}",
                s.found()
            ),
        ));
    };
    s.pos += op.as_str().len();
    // Right-hand side.
    s.skip_ws();
    let col = s.col();
    let threshold = if s.rest().starts_with("baseline") {
        s.pos += "baseline".len();
        s.skip_ws();
        let op_col = s.col();
        match s.peek() {
            None => Threshold::Baseline(Transform::Scale(1.0)),
            Some('*') => {
                s.pos += 1;
                let k = s.number("a number after `*`")?;
                if k <= 0.0 {
                    return Err((op_col, format!("the factor must be > 0, not {k}")));
                }
                Threshold::Baseline(Transform::Scale(k))
            }
            Some(c @ ('+' | '-')) => {
                s.pos += 1;
                s.skip_ws();
                if s.peek().is_some_and(|c| c == '-' || c == '+') {
                    return Err((
                        s.col(),
                        format!("expected a number after `{c}`, found {}", s.found()),
                    ));
                }
                let k = s.number(&format!("a number after `{c}`"))?;
                Threshold::Baseline(Transform::Shift(if c == '-' { -k } else { k }))
            }
            Some(_) => {
                return Err((
                    op_col,
                    format!(
                        "expected `* k`, `+ k`, `- k` or the end after `baseline`, found {}",
                        s.found()
                    ),
                ));
            }
        }
    } else if s
        .peek()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
    {
        Threshold::Value(s.number("a number")?)
    } else {
        return Err((
            col,
            format!(
                "expected a number or `baseline` (`baseline * k`, `baseline + k`, `baseline - k`), found {}",
                s.found()
            ),
        ));
    };
    s.skip_ws();
    if s.peek().is_some() {
        return Err((s.col(), format!("unexpected {} after the rule", s.found())));
    }
    Ok(Rule {
        text: trimmed.to_owned(),
        metric,
        op,
        threshold,
    })
}

fn metric_of(name: &str) -> Option<Metric> {
    Some(match name {
        "quality" => Metric::Quality,
        "cost_per_item" => Metric::CostPerItem,
        "tokens_per_item" => Metric::TokensPerItem,
        "error_rate" => Metric::ErrorRate,
        "pii_findings" => Metric::PiiFindings,
        _ => {
            if let Some(score) = name.strip_prefix("score.") {
                let ok = !score.is_empty()
                    && score
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
                return ok.then(|| Metric::Score(score.to_owned()));
            }
            let q: f64 = name
                .strip_prefix("latency_p")?
                .strip_suffix("_ms")?
                .parse()
                .ok()?;
            if !(q > 0.0 && q < 100.0) {
                return None;
            }
            Metric::LatencyMs(q)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_rule_form() {
        let r = parse_rule("quality >= baseline * 0.95").unwrap();
        assert_eq!(
            (r.metric, r.op, r.threshold),
            (
                Metric::Quality,
                Op::Ge,
                Threshold::Baseline(Transform::Scale(0.95))
            )
        );
        let r = parse_rule("  score.helpfulness >= baseline - 0.05 ").unwrap();
        assert_eq!(r.text, "score.helpfulness >= baseline - 0.05");
        assert_eq!(r.metric, Metric::Score("helpfulness".into()));
        assert_eq!(r.threshold, Threshold::Baseline(Transform::Shift(-0.05)));
        let r = parse_rule("latency_p95_ms<=5000").unwrap();
        assert_eq!((r.metric, r.op), (Metric::LatencyMs(95.0), Op::Le));
        assert_eq!(r.threshold, Threshold::Value(5000.0));
        let r = parse_rule("latency_p99.9_ms < 1e4").unwrap();
        assert_eq!(r.metric, Metric::LatencyMs(99.9));
        assert_eq!(r.threshold, Threshold::Value(10_000.0));
        let r = parse_rule("pii_findings == 0").unwrap();
        assert_eq!((r.metric, r.op), (Metric::PiiFindings, Op::Eq));
        let r = parse_rule("error_rate <= baseline").unwrap();
        assert_eq!(r.threshold, Threshold::Baseline(Transform::Scale(1.0)));
        let r = parse_rule("tokens_per_item > baseline + 10").unwrap();
        assert_eq!(r.threshold, Threshold::Baseline(Transform::Shift(10.0)));
        assert_eq!(r.metric.to_string(), "tokens_per_item");
        assert_eq!(Metric::LatencyMs(95.0).to_string(), "latency_p95_ms");
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("qualty >= 0.9", 1, "unknown metric `qualty`"),
            ("quality => 0.9", 9, "expected an operator"),
            ("quality >= baseline * x", 23, "expected a number after `*`"),
            ("quality >= baseline / 2", 21, "expected `* k`"),
            ("quality >= 0.9 please", 16, "unexpected `please`"),
            ("quality >=", 11, "expected a number or `baseline`"),
            ("cost_per_item <= baseline * 0", 27, "must be > 0"),
            ("latency_p100_ms <= 1", 1, "unknown metric"),
            (">= 1", 1, "expected a metric"),
        ];
        for (rule, col, msg) in cases {
            let (c, m) = parse_rule(rule).unwrap_err();
            assert!(m.contains(msg), "{rule}: {m}");
            assert_eq!(c, col, "{rule}: {m}");
        }
    }

    #[test]
    fn policy_defaults_and_strictness() {
        let p = parse("quality_score: correctness\nrules: [quality >= 0.8]\n").unwrap();
        assert_eq!(p.min_samples, 30);
        assert_eq!(p.confidence, 0.95);
        assert_eq!(p.inconclusive, Inconclusive::Fail);
        assert_eq!(p.bootstrap_resamples, 2000);

        let e = parse("rules: [quality >= 0.8]\n").unwrap_err();
        assert!(
            e.contains("rule 1 `quality >= 0.8`") && e.contains("quality_score"),
            "{e}"
        );
        let e = parse("min_sample: 3\nrules: [error_rate <= 0]\n").unwrap_err();
        assert!(e.contains("unknown field `min_sample`"), "{e}");
        let e = parse("rules:\n  - error_rate <= 0\n  - cost <= 1\n").unwrap_err();
        assert!(
            e.starts_with("rule 2 `cost <= 1`: column 1: unknown metric"),
            "{e}"
        );
        let e = parse("confidence: 95\nrules: [error_rate <= 0]\n").unwrap_err();
        assert!(e.contains("confidence"), "{e}");
        let e = parse("inconclusive: maybe\nrules: [error_rate <= 0]\n").unwrap_err();
        assert!(e.contains("invalid YAML") && e.contains("line 1"), "{e}");
        let e = parse("rules: []\n").unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }
}
