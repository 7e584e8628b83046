//! `glassbox eval compare RUN_A RUN_B`: every metric of two runs side by side — A, B, the
//! change, and a bootstrap confidence interval of the change, marked when it excludes zero —
//! then the items whose scores moved most. A report for people; `glassbox gate` decides.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::eval::values;
use crate::policy::Metric;
use crate::sample::Sample;
use crate::stats::{self, SplitMix64, Statistic, Transform};

/// One compared metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub metric: String,
    pub n_a: usize,
    pub n_b: usize,
    pub a: f64,
    pub b: f64,
    /// The interval of `B − A`; `None` when a side has no values.
    pub ci: Option<stats::Interval>,
}

impl Row {
    /// The interval excludes zero.
    pub fn significant(&self) -> bool {
        self.ci.is_some_and(|c| c.low > 0.0 || c.high < 0.0)
    }
}

/// An item present in both runs, with how much its score changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub item_id: String,
    pub score: String,
    pub a: f64,
    pub b: f64,
}

pub struct Comparison {
    pub a_label: String,
    pub b_label: String,
    pub rows: Vec<Row>,
    pub moved: Vec<Moved>,
    pub confidence: f64,
}

const RESAMPLES: usize = 5_000;

pub fn compare(a: &Sample, b: &Sample, confidence: f64, top: usize) -> Comparison {
    let mut rng = SplitMix64::new(0x5eed);
    let score_names: BTreeSet<&String> = a
        .items
        .iter()
        .chain(&b.items)
        .flat_map(|i| i.scores.keys())
        .collect();
    let mut metrics: Vec<Metric> = score_names
        .iter()
        .map(|n| Metric::Score((*n).clone()))
        .collect();
    metrics.extend([
        Metric::CostPerItem,
        Metric::TokensPerItem,
        Metric::LatencyMs(50.0),
        Metric::LatencyMs(95.0),
        Metric::ErrorRate,
        Metric::PiiFindings,
    ]);
    let mut rows = Vec::new();
    for m in &metrics {
        let (va, vb) = (values(m, None, a), values(m, None, b));
        if va.is_empty() && vb.is_empty() {
            continue;
        }
        let stat = m.statistic().unwrap_or(Statistic::Mean);
        let of = |xs: &[f64]| match m {
            Metric::PiiFindings => xs.iter().sum(),
            _ => stat.of(xs),
        };
        let ci = match m {
            Metric::PiiFindings => None,
            _ => stats::bootstrap_diff_ci(
                &vb,
                &va,
                stat,
                Transform::Shift(0.0),
                confidence,
                RESAMPLES,
                &mut rng,
            ),
        };
        rows.push(Row {
            metric: m.to_string(),
            n_a: va.len(),
            n_b: vb.len(),
            a: of(&va),
            b: of(&vb),
            ci,
        });
    }
    let by_id: BTreeMap<&str, &crate::sample::Item> =
        a.items.iter().map(|i| (i.item_id.as_str(), i)).collect();
    let mut moved: Vec<Moved> = b
        .items
        .iter()
        .filter_map(|ib| Some((by_id.get(ib.item_id.as_str())?, ib)))
        .flat_map(|(ia, ib)| {
            ib.scores.iter().filter_map(|(name, &vb)| {
                let va = *ia.scores.get(name)?;
                (va != vb).then(|| Moved {
                    item_id: ib.item_id.clone(),
                    score: name.clone(),
                    a: va,
                    b: vb,
                })
            })
        })
        .collect();
    moved.sort_by(|x, y| {
        (y.b - y.a)
            .abs()
            .total_cmp(&(x.b - x.a).abs())
            .then_with(|| x.item_id.cmp(&y.item_id))
    });
    moved.truncate(top);
    Comparison {
        a_label: a.label.clone(),
        b_label: b.label.clone(),
        rows,
        moved,
        confidence,
    }
}

impl Comparison {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "A: {}\nB: {}\n", self.a_label, self.b_label);
        let pct = (self.confidence * 100.0).round();
        let header = [
            "metric".to_owned(),
            "A".to_owned(),
            "B".to_owned(),
            "B − A".to_owned(),
            "change".to_owned(),
            format!("{pct}% CI of B − A"),
            "n (A/B)".to_owned(),
        ];
        let mut lines = vec![header.to_vec()];
        for r in &self.rows {
            let change = if r.a != 0.0 {
                format!("{:+.1}%", (r.b - r.a) / r.a.abs() * 100.0)
            } else {
                "–".to_owned()
            };
            let ci = r.ci.map_or("–".to_owned(), |c| {
                format!(
                    "[{}, {}]{}",
                    num(c.low),
                    num(c.high),
                    if r.significant() { " *" } else { "" }
                )
            });
            lines.push(vec![
                r.metric.clone(),
                num(r.a),
                num(r.b),
                format!("{}{}", if r.b >= r.a { "+" } else { "" }, num(r.b - r.a)),
                change,
                ci,
                format!("{}/{}", r.n_a, r.n_b),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for l in &lines {
            let cells: Vec<String> = l
                .iter()
                .zip(&widths)
                .map(|(s, w)| format!("{s}{}", " ".repeat(w - s.chars().count())))
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        let _ = writeln!(
            out,
            "\n* the interval excludes 0: a change beyond resampling noise."
        );
        if !self.moved.is_empty() {
            let _ = writeln!(out, "\nItems whose scores moved most:");
            for m in &self.moved {
                let _ = writeln!(
                    out,
                    "  {:<12} {:<16} {} → {}",
                    m.item_id,
                    m.score,
                    num(m.a),
                    num(m.b)
                );
            }
        }
        out
    }
}

/// About four significant digits, no exponent for everyday magnitudes, no trailing zeros.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    let s = if a == 0.0 {
        return "0".into();
    } else if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::parse_run_file;

    #[test]
    fn a_clear_change_is_marked_and_noise_is_not() {
        let run = |q: &dyn Fn(usize) -> f64, cost: f64| {
            let items: Vec<String> = (0..40)
                .map(|i| {
                    format!(
                        r#"{{"item_id":"i{i}","scores":{{"q":{}}},"cost_usd":{}}}"#,
                        q(i),
                        cost + (i % 3) as f64 * 0.0001
                    )
                })
                .collect();
            parse_run_file(&format!(r#"{{"items":[{}]}}"#, items.join(",")), "r").unwrap()
        };
        let a = run(&|i| 0.8 + (i % 5) as f64 * 0.01, 0.010);
        let b = run(&|i| 0.8 + ((i + 1) % 5) as f64 * 0.01, 0.013);
        let c = compare(&a, &b, 0.95, 3);
        let q = c.rows.iter().find(|r| r.metric == "score.q").unwrap();
        assert!(!q.significant(), "{q:?}");
        let cost = c.rows.iter().find(|r| r.metric == "cost_per_item").unwrap();
        assert!(cost.significant(), "{cost:?}");
        assert!((cost.b / cost.a - 1.3).abs() < 0.02, "{cost:?}");
        assert_eq!(c.moved.len(), 3);
        let t = c.table();
        assert!(t.contains("cost_per_item") && t.contains(" *"), "{t}");
    }

    #[test]
    fn numbers_read_plainly() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1500.0), "1500");
        assert_eq!(num(1489.4), "1489");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(-0.0954), "-0.0954");
        assert_eq!(num(0.10), "0.1");
        assert_eq!(num(f64::NAN), "–");
    }
}
