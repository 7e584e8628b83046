//! Rendering a [`Report`]: a terminal table, Markdown (CI step summaries), JUnit XML and JSON.
//!
//! The JSON shape (`"schema": "glassbox.gate/v1"`) is documented in `docs/ci.md`; like the
//! query API it is a contract: fields are added, never removed or renamed.

use serde_json::{Value, json};

use crate::eval::{Outcome, Report, Tested, Verdict, fmt_num};
use crate::sample::Origin;

pub const SCHEMA: &str = "glassbox.gate/v1";

fn value_cell(n: usize, v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{} (n={n})", fmt_num(v, false)),
        None => format!("– (n={n})"),
    }
}

fn ci_cell(o: &Outcome) -> String {
    match (o.tested, o.ci, o.estimate) {
        (Tested::ExactSum, _, _) => "exact".to_owned(),
        (Tested::Difference, Some(ci), Some(e)) => format!(
            "Δ {} [{}, {}]",
            fmt_num(e, true),
            fmt_num(ci.low, true),
            fmt_num(ci.high, true)
        ),
        (Tested::Candidate, Some(ci), _) => {
            format!("[{}, {}]", fmt_num(ci.low, false), fmt_num(ci.high, false))
        }
        _ => "–".to_owned(),
    }
}

fn pct(r: &Report) -> String {
    fmt_num(r.policy.confidence * 100.0, false)
}

fn origin(o: Origin) -> &'static str {
    match o {
        Origin::RunFile => "run_file",
        Origin::LiveTraffic => "live_traffic",
    }
}

/// A plain-text table for a terminal or a CI log.
pub fn table(r: &Report) -> String {
    let header = [
        "RULE".to_owned(),
        "BASELINE".to_owned(),
        "CANDIDATE".to_owned(),
        format!("{}% CI", pct(r)),
        "VERDICT".to_owned(),
    ];
    let rows: Vec<[String; 5]> = r
        .outcomes
        .iter()
        .map(|o| {
            [
                o.rule.text.clone(),
                value_cell(o.n_baseline, o.baseline_value),
                value_cell(o.n_candidate, o.candidate_value),
                ci_cell(o),
                o.verdict.label().to_owned(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 5]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w - cell.chars().count()));
            }
        }
        s.push('\n');
        s
    };
    let mut out = format!(
        "glassbox gate — baseline: {}, {} items; candidate: {}, {} items\n\n",
        r.baseline.label, r.baseline.items, r.candidate.label, r.candidate.items
    );
    out.push_str(&line(&header));
    for row in &rows {
        out.push_str(&line(row));
    }
    out.push('\n');
    for (i, o) in r.outcomes.iter().enumerate() {
        out.push_str(&format!(
            "{}. [{}] {}\n",
            i + 1,
            o.verdict.label(),
            o.message
        ));
    }
    out.push('\n');
    out.push_str(&r.summary);
    out.push('\n');
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn badge(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅ PASS",
        Verdict::Fail => "❌ FAIL",
        Verdict::Inconclusive => "⚠️ INCONCLUSIVE",
        Verdict::Error => "⛔ ERROR",
    }
}

/// Markdown for a pull request comment or `$GITHUB_STEP_SUMMARY`.
pub fn markdown(r: &Report) -> String {
    let head = match r.verdict {
        "pass" => "✅ passed",
        "fail" => "❌ failed",
        _ => "⛔ could not evaluate",
    };
    let mut out = format!(
        "### Glassbox gate {head}\n\nBaseline: `{}` ({} items) · Candidate: `{}` ({} items) · \
         {}% bootstrap intervals, min_samples {}, inconclusive: {}\n\n",
        md_escape(&r.baseline.label),
        r.baseline.items,
        md_escape(&r.candidate.label),
        r.candidate.items,
        pct(r),
        r.policy.min_samples,
        r.policy.inconclusive.as_str()
    );
    out.push_str(&format!(
        "| rule | baseline | candidate | {}% CI | verdict |\n|---|---|---|---|---|\n",
        pct(r)
    ));
    for o in &r.outcomes {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            md_escape(&o.rule.text),
            value_cell(o.n_baseline, o.baseline_value),
            value_cell(o.n_candidate, o.candidate_value),
            md_escape(&ci_cell(o)),
            badge(o.verdict)
        ));
    }
    out.push('\n');
    for o in &r.outcomes {
        out.push_str(&format!(
            "- {} `{}`: {}\n",
            badge(o.verdict),
            md_escape(&o.rule.text),
            o.message
        ));
    }
    out.push_str(&format!("\n**{}**\n", r.summary));
    out
}

/// XML-escapes text and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab/newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test case per rule. FAIL is a `<failure>`, and so is INCONCLUSIVE when the
/// policy says inconclusive fails; a rule that could not be evaluated is an `<error>`.
pub fn junit(r: &Report) -> String {
    let failures = r.outcomes.iter().filter(|o| o.counts_as_failure).count();
    let errors = r
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Error)
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"glassbox gate\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\">\n\
         <testsuite name=\"glassbox gate\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">\n",
        n = r.outcomes.len()
    ));
    out.push_str("<properties>\n");
    for (k, v) in [
        ("baseline", r.baseline.label.clone()),
        ("candidate", r.candidate.label.clone()),
        ("baseline_items", r.baseline.items.to_string()),
        ("candidate_items", r.candidate.items.to_string()),
        ("confidence", r.policy.confidence.to_string()),
        ("min_samples", r.policy.min_samples.to_string()),
        ("inconclusive", r.policy.inconclusive.as_str().to_owned()),
        ("summary", r.summary.clone()),
    ] {
        out.push_str(&format!(
            "<property name=\"{k}\" value=\"{}\"/>\n",
            xml_escape(&v)
        ));
    }
    out.push_str("</properties>\n");
    for o in &r.outcomes {
        out.push_str(&format!(
            "<testcase classname=\"glassbox.gate\" name=\"{}\">\n<properties>\n",
            xml_escape(&o.rule.text)
        ));
        let mut props = vec![
            ("verdict", o.verdict.as_str().to_owned()),
            ("n_baseline", o.n_baseline.to_string()),
            ("n_candidate", o.n_candidate.to_string()),
        ];
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        props.push(("baseline_value", opt(o.baseline_value)));
        props.push(("candidate_value", opt(o.candidate_value)));
        props.push(("estimate", opt(o.estimate)));
        props.push(("ci_low", opt(o.ci.map(|c| c.low))));
        props.push(("ci_high", opt(o.ci.map(|c| c.high))));
        if let Some(p) = o.p_value {
            props.push(("p_value", p.to_string()));
        }
        for (k, v) in props {
            out.push_str(&format!(
                "<property name=\"{k}\" value=\"{}\"/>\n",
                xml_escape(&v)
            ));
        }
        out.push_str("</properties>\n");
        let msg = xml_escape(&o.message);
        if o.verdict == Verdict::Error {
            out.push_str(&format!(
                "<error message=\"{msg}\" type=\"ERROR\">{msg}</error>\n"
            ));
        } else if o.counts_as_failure {
            out.push_str(&format!(
                "<failure message=\"{msg}\" type=\"{}\">{msg}</failure>\n",
                o.verdict.label()
            ));
        } else {
            out.push_str(&format!("<system-out>{msg}</system-out>\n"));
        }
        out.push_str("</testcase>\n");
    }
    out.push_str(&format!(
        "<system-out>{}</system-out>\n</testsuite>\n</testsuites>\n",
        xml_escape(&r.summary)
    ));
    out
}

/// The JSON report (see docs/ci.md for the shape).
pub fn json(r: &Report) -> Value {
    let rules: Vec<Value> = r
        .outcomes
        .iter()
        .map(|o| {
            let threshold = match o.rule.threshold {
                crate::policy::Threshold::Value(v) => json!({"kind": "value", "value": v}),
                crate::policy::Threshold::Baseline(crate::stats::Transform::Scale(k)) => {
                    json!({"kind": "baseline", "scale": k})
                }
                crate::policy::Threshold::Baseline(crate::stats::Transform::Shift(k)) => {
                    json!({"kind": "baseline", "shift": k})
                }
            };
            json!({
                "rule": o.rule.text,
                "metric": o.rule.metric.to_string(),
                "op": o.rule.op.as_str(),
                "threshold": threshold,
                "n_baseline": o.n_baseline,
                "n_candidate": o.n_candidate,
                "baseline_value": o.baseline_value,
                "candidate_value": o.candidate_value,
                "target": o.target,
                "tested": o.tested.as_str(),
                "estimate": o.estimate,
                "ci": o.ci.map(|c| json!({"low": c.low, "high": c.high, "level": r.policy.confidence})),
                "p_value": o.p_value,
                "verdict": o.verdict.as_str(),
                "counts_as_failure": o.counts_as_failure,
                "message": o.message,
            })
        })
        .collect();
    let side = |s: &crate::eval::SideInfo| json!({"label": s.label, "source": origin(s.origin), "items": s.items});
    json!({
        "schema": SCHEMA,
        "verdict": r.verdict,
        "exit_code": r.exit_code,
        "summary": r.summary,
        "policy": {
            "quality_score": r.policy.quality_score,
            "min_samples": r.policy.min_samples,
            "confidence": r.policy.confidence,
            "inconclusive": r.policy.inconclusive.as_str(),
            "bootstrap_resamples": r.policy.bootstrap_resamples,
            "seed": r.policy.seed,
        },
        "baseline": side(&r.baseline),
        "candidate": side(&r.candidate),
        "rules": rules,
    })
}

/// The same four formats for a gate that could not run at all (exit 2).
pub fn error_table(message: &str) -> String {
    format!("glassbox gate could not evaluate: {message}\n")
}

pub fn error_markdown(message: &str) -> String {
    format!("### Glassbox gate ⛔ could not evaluate\n\n{message}\n")
}

pub fn error_junit(message: &str) -> String {
    let m = xml_escape(message);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"glassbox gate\" tests=\"1\" failures=\"0\" errors=\"1\">\n\
         <testsuite name=\"glassbox gate\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n\
         <testcase classname=\"glassbox.gate\" name=\"evaluate the gate\">\n\
         <error message=\"{m}\" type=\"ERROR\">{m}</error>\n</testcase>\n</testsuite>\n</testsuites>\n"
    )
}

pub fn error_json(message: &str) -> Value {
    json!({"schema": SCHEMA, "verdict": "error", "exit_code": 2, "summary": message, "rules": []})
}
