//! Evaluating rules: from two samples and a policy to one [`Outcome`] per rule.
//!
//! # The decision rule
//!
//! Every rule `METRIC OP RIGHT` is turned into a question about one *tested quantity* `T`
//! and a target `c`:
//!
//! - `RIGHT` is a number: `T` is the candidate's metric and `c` is the number.
//! - `RIGHT` is `baseline * k`: `T = m(candidate) − k·m(baseline)` and `c = 0`;
//!   `baseline ± k` likewise with `T = m(candidate) − (m(baseline) ± k)`.
//!
//! The interval is a percentile bootstrap CI of `T` at the policy's `confidence` (the two
//! samples resampled independently for a difference; see [`crate::stats`]). Then:
//!
//! | op | PASS when | FAIL when | otherwise |
//! |---|---|---|---|
//! | `>=` / `>` | the lower bound is `>=` / `>` c | the upper bound is `<` / `<=` c | INCONCLUSIVE |
//! | `<=` / `<` | the upper bound is `<=` / `<` c | the lower bound is `>` / `>=` c | INCONCLUSIVE |
//! | `==` | the interval is exactly `[c, c]` | c lies outside the interval | INCONCLUSIVE |
//!
//! So a rule passes only when the whole interval satisfies it, and fails only when the whole
//! interval violates it: a difference within the noise is reported as INCONCLUSIVE rather
//! than flipping the gate either way. With a 95% two-sided interval each verdict is a
//! one-sided test at the 2.5% level.
//!
//! When either sample used by a rule has fewer than `min_samples` values of its metric, the
//! rule is INCONCLUSIVE ("too few samples") without an interval. `pii_findings` is a sum of
//! counts, not an estimate: it is compared exactly, at any sample size. A rule whose data is
//! missing altogether (a score no item has, e.g. over live traffic) is ERROR: could not
//! evaluate.
//!
//! # The overall verdict and exit code
//!
//! Any FAIL → exit 1. Else any ERROR → exit 2. Else any INCONCLUSIVE with
//! `inconclusive: fail` → exit 1. Else exit 0 (inconclusive rules allowed by
//! `inconclusive: pass` are listed, not hidden). A FAIL outranks an ERROR because a rule that
//! definitely failed already decides the release.

use crate::policy::{Inconclusive, Metric, Op, Policy, Rule, Threshold};
use crate::sample::{Origin, Sample};
use crate::stats::{self, Interval, SplitMix64, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
    /// Could not evaluate (data missing).
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Error => "error",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Error => "ERROR",
        }
    }
}

/// What the interval (or exact value) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tested {
    /// The candidate's metric against a number.
    Candidate,
    /// `candidate − f(baseline)` against 0.
    Difference,
    /// An exact sum: no interval.
    ExactSum,
}

impl Tested {
    pub fn as_str(self) -> &'static str {
        match self {
            Tested::Candidate => "candidate",
            Tested::Difference => "difference",
            Tested::ExactSum => "exact_sum",
        }
    }
}

/// The evaluation of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub rule: Rule,
    /// Values of the metric on each side (items that have it).
    pub n_baseline: usize,
    pub n_candidate: usize,
    pub baseline_value: Option<f64>,
    pub candidate_value: Option<f64>,
    /// The right-hand side at the point estimates (`k·baseline`, or the number).
    pub target: Option<f64>,
    pub tested: Tested,
    /// The point estimate of the tested quantity.
    pub estimate: Option<f64>,
    pub ci: Option<Interval>,
    /// Welch's t-test of candidate vs the transformed baseline (mean metrics, relative rules).
    pub p_value: Option<f64>,
    pub verdict: Verdict,
    /// Whether this outcome makes the gate fail (FAIL, or INCONCLUSIVE under `inconclusive: fail`).
    pub counts_as_failure: bool,
    /// A sentence for humans.
    pub message: String,
}

/// The whole gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub baseline: SideInfo,
    pub candidate: SideInfo,
    pub policy: PolicyInfo,
    pub outcomes: Vec<Outcome>,
    pub exit_code: u8,
    /// `pass`, `fail` or `error`.
    pub verdict: &'static str,
    /// The final line: what happened and what to do.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SideInfo {
    pub label: String,
    pub origin: Origin,
    pub items: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyInfo {
    pub quality_score: Option<String>,
    pub min_samples: usize,
    pub confidence: f64,
    pub inconclusive: Inconclusive,
    pub bootstrap_resamples: usize,
    pub seed: u64,
}

fn side(s: &Sample) -> SideInfo {
    SideInfo {
        label: s.label.clone(),
        origin: s.origin,
        items: s.items.len(),
    }
}

/// Evaluates every rule of `policy` on the two samples.
pub fn evaluate(policy: &Policy, baseline: &Sample, candidate: &Sample) -> Report {
    let outcomes: Vec<Outcome> = policy
        .rules
        .iter()
        .map(|r| evaluate_rule(policy, r, baseline, candidate))
        .collect();
    let (exit_code, verdict, summary) = overall(policy, &outcomes);
    Report {
        baseline: side(baseline),
        candidate: side(candidate),
        policy: PolicyInfo {
            quality_score: policy.quality_score.clone(),
            min_samples: policy.min_samples,
            confidence: policy.confidence,
            inconclusive: policy.inconclusive,
            bootstrap_resamples: policy.bootstrap_resamples,
            seed: policy.seed,
        },
        outcomes,
        exit_code,
        verdict,
        summary,
    }
}

fn overall(policy: &Policy, outcomes: &[Outcome]) -> (u8, &'static str, String) {
    let of = |v: Verdict| -> Vec<&str> {
        outcomes
            .iter()
            .filter(|o| o.verdict == v)
            .map(|o| o.rule.text.as_str())
            .collect()
    };
    let (failed, errors, inconclusive) = (
        of(Verdict::Fail),
        of(Verdict::Error),
        of(Verdict::Inconclusive),
    );
    let total = outcomes.len();
    let list = |v: &[&str]| {
        v.iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !failed.is_empty() {
        let mut s = format!(
            "gate FAILED: {} of {total} rules failed: {}. The candidate regressed beyond what the \
             policy allows: fix it, or change the policy if the change is intended.",
            failed.len(),
            list(&failed)
        );
        if !errors.is_empty() {
            s.push_str(&format!(" ({} more could not be evaluated.)", errors.len()));
        }
        return (1, "fail", s);
    }
    if !errors.is_empty() {
        return (
            2,
            "error",
            format!(
                "gate could not evaluate {} of {total} rules: {}. See each rule's message; remove \
                 the rule from this policy or provide the data it needs.",
                errors.len(),
                list(&errors)
            ),
        );
    }
    if !inconclusive.is_empty() {
        if policy.inconclusive == Inconclusive::Fail {
            return (
                1,
                "fail",
                format!(
                    "gate FAILED: {} of {total} rules inconclusive ({}) and the policy says \
                     `inconclusive: fail`. Evaluate more items (min_samples is {}), or set \
                     `inconclusive: pass` to let them through.",
                    inconclusive.len(),
                    list(&inconclusive),
                    policy.min_samples
                ),
            );
        }
        return (
            0,
            "pass",
            format!(
                "gate PASSED: {} of {total} rules pass; {} inconclusive ({}) allowed by \
                 `inconclusive: pass`.",
                total - inconclusive.len(),
                inconclusive.len(),
                list(&inconclusive)
            ),
        );
    }
    (0, "pass", format!("gate PASSED: all {total} rules pass."))
}

/// The metric's per-item values in `s` (items lacking the field are left out).
pub fn values(metric: &Metric, quality_score: Option<&str>, s: &Sample) -> Vec<f64> {
    let score = |name: &str| -> Vec<f64> {
        s.items
            .iter()
            .filter_map(|i| i.scores.get(name).copied())
            .collect()
    };
    match metric {
        Metric::Quality => quality_score.map(score).unwrap_or_default(),
        Metric::Score(name) => score(name),
        Metric::CostPerItem => s.items.iter().filter_map(|i| i.cost_usd).collect(),
        Metric::TokensPerItem => s
            .items
            .iter()
            .filter(|i| i.input_tokens.is_some() || i.output_tokens.is_some())
            .map(|i| (i.input_tokens.unwrap_or(0) + i.output_tokens.unwrap_or(0)) as f64)
            .collect(),
        Metric::LatencyMs(_) => s.items.iter().filter_map(|i| i.latency_ms).collect(),
        Metric::ErrorRate => s
            .items
            .iter()
            .map(|i| if i.error.is_some() { 1.0 } else { 0.0 })
            .collect(),
        Metric::PiiFindings => s.items.iter().map(|i| i.pii_findings as f64).collect(),
    }
}

/// Why a metric has no values in a sample, or `None` when it has some.
fn missing(metric: &Metric, policy: &Policy, s: &Sample, n: usize) -> Option<String> {
    if n > 0 {
        return None;
    }
    let what = match metric {
        Metric::Quality | Metric::Score(_) => {
            let name = match metric {
                Metric::Score(n) => n.as_str(),
                _ => policy.quality_score.as_deref().unwrap_or("?"),
            };
            if s.origin == Origin::LiveTraffic {
                return Some(format!(
                    "could not evaluate: no trace of {} has a score `{name}`; have the server \
                     write it ([evaluation] rules or judges, or POST /api/v1/scores), or gate \
                     quality on experiment run files",
                    s.label
                ));
            }
            let mut names: Vec<&str> = s
                .items
                .iter()
                .flat_map(|i| i.scores.keys().map(String::as_str))
                .collect();
            names.sort_unstable();
            names.dedup();
            return Some(format!(
                "could not evaluate: no item in {} has a score `{name}` (scores present: {}); fix \
                 quality_score / the rule, or score the run",
                s.label,
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        }
        Metric::CostPerItem => "cost_usd",
        Metric::TokensPerItem => "input_tokens/output_tokens",
        Metric::LatencyMs(_) => "latency_ms",
        Metric::ErrorRate | Metric::PiiFindings => "items",
    };
    Some(format!(
        "could not evaluate: no item in {} has {what}; record it in the run file",
        s.label
    ))
}

/// FNV-1a: mixes the rule's text into the seed, so a rule's interval does not change when
/// other rules are added or reordered.
fn rule_seed(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    seed ^ h
}

fn decide(op: Op, ci: Interval, c: f64) -> Verdict {
    // Bootstrap bounds are computed in floating point: a zero-width interval at exactly the
    // target (e.g. both sides error-free) must not miss `==` or `<=` by a rounding error.
    let eps = 1e-12 * (1.0 + c.abs().max(ci.low.abs()).max(ci.high.abs()));
    let (lo, hi) = (ci.low, ci.high);
    let (pass, fail) = match op {
        Op::Ge => (lo >= c - eps, hi < c - eps),
        Op::Gt => (lo > c + eps, hi <= c + eps),
        Op::Le => (hi <= c + eps, lo > c + eps),
        Op::Lt => (hi < c - eps, lo >= c - eps),
        Op::Eq => (
            (lo - c).abs() <= eps && (hi - c).abs() <= eps,
            c < lo - eps || c > hi + eps,
        ),
    };
    if pass {
        Verdict::Pass
    } else if fail {
        Verdict::Fail
    } else {
        Verdict::Inconclusive
    }
}

/// A p-value: scientific below 0.001, where fixed decimals would round it to 0.
pub fn fmt_p(p: f64) -> String {
    if p < 1e-3 && p > 0.0 {
        format!("{p:.1e}")
    } else {
        fmt_num(p, false)
    }
}

/// Four significant digits, trailing zeros trimmed; `signed` adds `+` to positive numbers.
pub fn fmt_num(x: f64, signed: bool) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let decimals = if x == 0.0 {
        0
    } else {
        (3 - x.abs().log10().floor() as i32).clamp(0, 8) as usize
    };
    let mut s = format!("{x:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    if s == "-0" {
        s = "0".to_owned();
    }
    if signed && !s.starts_with('-') && s != "0" {
        s.insert(0, '+');
    }
    s
}

fn evaluate_rule(policy: &Policy, rule: &Rule, baseline: &Sample, candidate: &Sample) -> Outcome {
    let qs = policy.quality_score.as_deref();
    let base_vals = values(&rule.metric, qs, baseline);
    let cand_vals = values(&rule.metric, qs, candidate);
    let relative = matches!(rule.threshold, Threshold::Baseline(_));
    let point = |vals: &[f64]| -> Option<f64> {
        if vals.is_empty() {
            return None;
        }
        Some(match rule.metric.statistic() {
            Some(st) => st.of(vals),
            None => vals.iter().sum(),
        })
    };
    let (bv, cv) = (point(&base_vals), point(&cand_vals));
    let target = match rule.threshold {
        Threshold::Value(c) => Some(c),
        Threshold::Baseline(t) => bv.map(|b| t.apply(b)),
    };
    let mut o = Outcome {
        rule: rule.clone(),
        n_baseline: base_vals.len(),
        n_candidate: cand_vals.len(),
        baseline_value: bv,
        candidate_value: cv,
        target,
        tested: match (rule.metric.statistic(), relative) {
            (None, _) => Tested::ExactSum,
            (Some(_), true) => Tested::Difference,
            (Some(_), false) => Tested::Candidate,
        },
        estimate: None,
        ci: None,
        p_value: None,
        verdict: Verdict::Error,
        counts_as_failure: false,
        message: String::new(),
    };
    let finish = |mut o: Outcome, verdict: Verdict, message: String| {
        o.counts_as_failure = verdict == Verdict::Fail
            || (verdict == Verdict::Inconclusive && policy.inconclusive == Inconclusive::Fail);
        o.verdict = verdict;
        o.message = message;
        o
    };
    // Data missing altogether: could not evaluate.
    if let Some(why) = missing(&rule.metric, policy, candidate, cand_vals.len()) {
        return finish(o, Verdict::Error, why);
    }
    if relative && let Some(why) = missing(&rule.metric, policy, baseline, base_vals.len()) {
        return finish(o, Verdict::Error, why);
    }
    let (Some(cv), Some(target)) = (cv, target) else {
        return finish(
            o,
            Verdict::Error,
            "could not evaluate: no values".to_owned(),
        );
    };
    let m = &rule.metric;
    let vs_base = match bv {
        Some(b) => format!(" vs baseline {} (n={})", fmt_num(b, false), base_vals.len()),
        None => String::new(),
    };
    let head = format!(
        "{m} is {} (n={}){vs_base}",
        fmt_num(cv, false),
        cand_vals.len()
    );

    // An exact sum: compared as it is.
    let Some(stat) = m.statistic() else {
        o.estimate = Some(cv);
        let verdict = if rule.op.holds(cv, target) {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        let msg = format!(
            "{head}; an exact count, {} {} {}: {}.",
            fmt_num(cv, false),
            if verdict == Verdict::Pass {
                "satisfies"
            } else {
                "violates"
            },
            format_args!("{} {}", rule.op.as_str(), fmt_num(target, false)),
            if verdict == Verdict::Pass {
                "passes"
            } else {
                "fails"
            }
        );
        return finish(o, verdict, msg);
    };

    // Too few samples: inconclusive, no interval.
    let min = policy.min_samples;
    let short: Vec<String> = [
        ("candidate", cand_vals.len(), true),
        ("baseline", base_vals.len(), relative),
    ]
    .into_iter()
    .filter(|(_, n, used)| *used && *n < min)
    .map(|(side, n, _)| format!("the {side} has {n}"))
    .collect();
    if !short.is_empty() {
        let msg = format!(
            "{head}; too few samples: {} (min_samples {min}), so no interval is trusted: \
             inconclusive. Evaluate more items.",
            short.join(" and ")
        );
        return finish(o, Verdict::Inconclusive, msg);
    }

    let mut rng = SplitMix64::new(rule_seed(policy.seed, &rule.text));
    let (b, conf) = (policy.bootstrap_resamples, policy.confidence);
    let (estimate, ci, c, subject) = match rule.threshold {
        Threshold::Value(c) => (
            cv,
            stats::bootstrap_ci(&cand_vals, stat, conf, b, &mut rng),
            c,
            m.to_string(),
        ),
        Threshold::Baseline(t) => {
            if m.is_mean() {
                let shifted: Vec<f64> = base_vals.iter().map(|x| t.apply(*x)).collect();
                o.p_value = stats::welch_t_test(&cand_vals, &shifted).map(|w| w.p_value);
            }
            let rhs = match t {
                Transform::Scale(1.0) => "baseline".to_owned(),
                Transform::Scale(k) => format!("{} × baseline", fmt_num(k, false)),
                Transform::Shift(k) if k < 0.0 => format!("(baseline − {})", fmt_num(-k, false)),
                Transform::Shift(k) => format!("(baseline + {})", fmt_num(k, false)),
            };
            (
                cv - target,
                stats::bootstrap_diff_ci(&cand_vals, &base_vals, stat, t, conf, b, &mut rng),
                0.0,
                format!("candidate − {rhs}"),
            )
        }
    };
    let Some(ci) = ci else {
        return finish(
            o,
            Verdict::Error,
            "could not evaluate: empty sample".to_owned(),
        );
    };
    o.estimate = Some(estimate);
    o.ci = Some(ci);
    let verdict = decide(rule.op, ci, c);
    let signed = o.tested == Tested::Difference;
    let pct = fmt_num(conf * 100.0, false);
    let relation = match verdict {
        Verdict::Pass => format!(
            "lies entirely {} {}: passes",
            rule.op.as_str(),
            fmt_num(c, false)
        ),
        Verdict::Fail => format!(
            "lies entirely on the wrong side of {}: fails",
            fmt_num(c, false)
        ),
        _ => format!(
            "includes values on both sides of {}: inconclusive — the difference is within the \
             noise; more items would narrow the interval",
            fmt_num(c, false)
        ),
    };
    let p = o
        .p_value
        .map(|p| format!(" (Welch t-test p = {})", fmt_p(p)))
        .unwrap_or_default();
    let msg = format!(
        "{head}; {subject} = {}, {pct}% CI [{}, {}] {relation}{p}.",
        fmt_num(estimate, signed),
        fmt_num(ci.low, signed),
        fmt_num(ci.high, signed),
    );
    finish(o, verdict, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy;
    use crate::sample::Item;

    fn sample(label: &str, origin: Origin, items: Vec<Item>) -> Sample {
        Sample {
            label: label.into(),
            origin,
            items,
        }
    }

    fn items(n: usize, f: impl Fn(usize) -> Item) -> Vec<Item> {
        (0..n).map(f).collect()
    }

    #[test]
    fn decision_table() {
        let ci = |low, high| Interval { low, high };
        assert_eq!(decide(Op::Ge, ci(0.1, 0.2), 0.0), Verdict::Pass);
        assert_eq!(decide(Op::Ge, ci(-0.2, -0.1), 0.0), Verdict::Fail);
        assert_eq!(decide(Op::Ge, ci(-0.1, 0.1), 0.0), Verdict::Inconclusive);
        assert_eq!(decide(Op::Gt, ci(0.0, 0.1), 0.0), Verdict::Inconclusive);
        assert_eq!(decide(Op::Le, ci(3000.0, 4000.0), 5000.0), Verdict::Pass);
        assert_eq!(decide(Op::Le, ci(5001.0, 6000.0), 5000.0), Verdict::Fail);
        assert_eq!(
            decide(Op::Lt, ci(4000.0, 5000.0), 5000.0),
            Verdict::Inconclusive
        );
        assert_eq!(decide(Op::Le, ci(0.0, 0.0), 0.0), Verdict::Pass);
        assert_eq!(decide(Op::Eq, ci(0.0, 0.0), 0.0), Verdict::Pass);
        assert_eq!(decide(Op::Eq, ci(0.1, 0.2), 0.0), Verdict::Fail);
        assert_eq!(decide(Op::Eq, ci(-0.1, 0.2), 0.0), Verdict::Inconclusive);
    }

    #[test]
    fn fmt_num_reads_well() {
        assert_eq!(fmt_num(0.0102, false), "0.0102");
        assert_eq!(fmt_num(3270.44, false), "3270");
        assert_eq!(fmt_num(0.9, false), "0.9");
        assert_eq!(fmt_num(0.047, true), "+0.047");
        assert_eq!(fmt_num(-0.00001234, true), "-0.00001234");
        assert_eq!(fmt_num(0.0, true), "0");
        assert_eq!(fmt_num(95.0, false), "95");
        assert_eq!(fmt_p(0.0000123), "1.2e-5");
        assert_eq!(fmt_p(0.02014), "0.02014");
    }

    #[test]
    fn scores_missing_in_live_traffic_cannot_be_evaluated() {
        let p =
            policy::parse("quality_score: correctness\nrules: [quality >= 0.8, pii_findings == 0]")
                .unwrap();
        let live = sample(
            "release=v2",
            Origin::LiveTraffic,
            items(40, |i| Item {
                item_id: i.to_string(),
                ..Item::default()
            }),
        );
        let r = evaluate(&p, &live, &live);
        assert_eq!(r.outcomes[0].verdict, Verdict::Error);
        assert!(r.outcomes[0].message.contains("has a score `"));
        assert_eq!(r.outcomes[1].verdict, Verdict::Pass);
        assert_eq!(r.exit_code, 2);
    }

    #[test]
    fn exact_sums_and_small_samples() {
        let p = policy::parse(
            "min_samples: 30\ninconclusive: pass\nrules: [pii_findings == 0, error_rate <= 0.02, cost_per_item <= baseline]",
        )
        .unwrap();
        let mk = |n: usize, pii: u64| {
            sample(
                "s",
                Origin::RunFile,
                items(n, |i| Item {
                    item_id: i.to_string(),
                    cost_usd: Some(0.01),
                    pii_findings: if i == 0 { pii } else { 0 },
                    ..Item::default()
                }),
            )
        };
        let r = evaluate(&p, &mk(40, 0), &mk(8, 0));
        let v: Vec<Verdict> = r.outcomes.iter().map(|o| o.verdict).collect();
        assert_eq!(
            v,
            [Verdict::Pass, Verdict::Inconclusive, Verdict::Inconclusive]
        );
        assert!(
            r.outcomes[1].message.contains("the candidate has 8"),
            "{}",
            r.outcomes[1].message
        );
        assert_eq!(r.exit_code, 0);
        let r = evaluate(&p, &mk(40, 0), &mk(40, 2));
        assert_eq!(r.outcomes[0].verdict, Verdict::Fail);
        assert_eq!(r.outcomes[1].verdict, Verdict::Pass);
        // Constant costs on both sides: a zero-width interval at exactly 0.
        assert_eq!(r.outcomes[2].verdict, Verdict::Pass);
        assert_eq!(r.exit_code, 1);
    }

    #[test]
    fn seeds_do_not_depend_on_rule_order() {
        let p1 = policy::parse("rules: [cost_per_item <= 0.02, latency_p95_ms <= 100]").unwrap();
        let p2 = policy::parse("rules: [latency_p95_ms <= 100, cost_per_item <= 0.02]").unwrap();
        let s = sample(
            "s",
            Origin::RunFile,
            items(50, |i| Item {
                item_id: i.to_string(),
                cost_usd: Some(0.001 * (i % 7) as f64),
                latency_ms: Some((i * 13 % 97) as f64),
                ..Item::default()
            }),
        );
        let (a, b) = (evaluate(&p1, &s, &s), evaluate(&p2, &s, &s));
        assert_eq!(a.outcomes[0].ci, b.outcomes[1].ci);
        assert_eq!(a.outcomes[1].ci, b.outcomes[0].ci);
    }
}
