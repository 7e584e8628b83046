//! End to end over the example run files in tests/data/: exit codes and every output format.

mod common;

use common::{args, check_xml, data_str, scratch};
use glassbox_gate::{Format, execute, render};

fn gate(candidate: &str, extra: &[&str]) -> Vec<String> {
    let mut v = vec![
        "--policy".to_owned(),
        data_str("gate.yaml"),
        "--baseline".to_owned(),
        data_str("baseline.json"),
        "--candidate".to_owned(),
        data_str(candidate),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn report_of(candidate: &str) -> glassbox_gate::Report {
    glassbox_gate::evaluate_args(&args(gate(candidate, &[]))).expect("evaluates")
}

fn verdicts(r: &glassbox_gate::Report) -> Vec<(&str, &str)> {
    r.outcomes
        .iter()
        .map(|o| (o.rule.text.as_str(), o.verdict.as_str()))
        .collect()
}

#[test]
fn regressed_candidate_fails_naming_quality_and_cost() {
    let r = report_of("candidate-v2-regressed.json");
    println!("{}", render(&r, Format::Table));
    assert_eq!(
        verdicts(&r),
        [
            ("quality >= baseline * 0.95", "fail"),
            ("quality >= 0.85", "fail"),
            ("cost_per_item <= baseline * 1.20", "fail"),
            ("latency_p95_ms <= 5000", "pass"),
            ("pii_findings == 0", "pass"),
            ("error_rate <= 0.02", "pass"),
            ("score.helpfulness >= baseline - 0.05", "pass"),
        ]
    );
    assert_eq!(r.exit_code, 1);
    assert!(
        r.summary.contains("`quality >= baseline * 0.95`"),
        "{}",
        r.summary
    );
    assert!(
        r.summary.contains("`cost_per_item <= baseline * 1.20`"),
        "{}",
        r.summary
    );
    let o = &r.outcomes[0];
    assert_eq!((o.n_baseline, o.n_candidate), (60, 60));
    let ci = o.ci.expect("an interval");
    assert!(ci.low <= o.estimate.unwrap() && o.estimate.unwrap() <= ci.high);
    assert!(ci.high < 0.0);
    assert!(o.p_value.expect("a t-test for a mean") < 0.001);

    let dir = scratch("v2");
    let out = dir.join("gate.xml");
    let mut a = args(
        gate(
            "candidate-v2-regressed.json",
            &["--format", "junit", "--output"],
        )
        .into_iter()
        .chain([out.display().to_string()]),
    );
    a.step_summary = Some(dir.join("summary.md"));
    assert_eq!(execute(&a), 1);
    let xml = std::fs::read_to_string(&out).expect("junit written");
    let names = check_xml(&xml).expect("well-formed JUnit");
    assert_eq!(names.iter().filter(|n| *n == "testcase").count(), 7);
    assert_eq!(names.iter().filter(|n| *n == "failure").count(), 3);
    assert!(xml.contains("name=\"cost_per_item &lt;= baseline * 1.20\""));
    assert!(xml.contains("<property name=\"n_candidate\" value=\"60\"/>"));
    let md = std::fs::read_to_string(dir.join("summary.md")).expect("step summary appended");
    assert!(
        md.contains("| rule | baseline | candidate | 95% CI | verdict |"),
        "{md}"
    );
    assert!(
        md.contains("| `quality >= baseline * 0.95` |") && md.contains("❌ FAIL"),
        "{md}"
    );
}

#[test]
fn v3_passes() {
    let r = report_of("candidate-v3.json");
    println!("{}", render(&r, Format::Table));
    assert!(
        r.outcomes
            .iter()
            .all(|o| o.verdict == glassbox_gate::Verdict::Pass),
        "{:?}",
        verdicts(&r)
    );
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.summary, "gate PASSED: all 7 rules pass.");

    let dir = scratch("v3");
    let out = dir.join("gate.json");
    let a = args(
        gate("candidate-v3.json", &["--format", "json", "-o"])
            .into_iter()
            .chain([out.display().to_string()]),
    );
    assert_eq!(execute(&a), 0);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("json written")).expect("JSON");
    assert_eq!(v["schema"], "glassbox.gate/v1");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["candidate"]["items"], 60);
    assert_eq!(v["candidate"]["source"], "run_file");
    let rule = &v["rules"][2];
    assert_eq!(rule["rule"], "cost_per_item <= baseline * 1.20");
    assert_eq!(
        rule["threshold"],
        serde_json::json!({"kind": "baseline", "scale": 1.2})
    );
    assert_eq!(rule["tested"], "difference");
    assert_eq!(rule["n_baseline"], 60);
    assert!(rule["ci"]["low"].as_f64().unwrap() <= rule["ci"]["high"].as_f64().unwrap());
    assert_eq!(rule["ci"]["level"], 0.95);
    assert_eq!(v["rules"][4]["tested"], "exact_sum");
    assert!(v["rules"][4]["ci"].is_null());

    let md = render(&r, Format::Markdown);
    assert!(md.starts_with("### Glassbox gate ✅ passed"), "{md}");
    // Same inputs, same intervals: the seed is fixed.
    assert_eq!(report_of("candidate-v3.json"), r);
}

#[test]
fn too_few_items_is_inconclusive_and_the_policy_decides() {
    let r = report_of("candidate-small.json");
    println!("{}", render(&r, Format::Table));
    for o in &r.outcomes {
        let want = if o.rule.text == "pii_findings == 0" {
            "pass"
        } else {
            "inconclusive"
        };
        assert_eq!(o.verdict.as_str(), want, "{}", o.message);
    }
    assert!(
        r.outcomes[0]
            .message
            .contains("too few samples: the candidate has 8")
    );
    assert_eq!(r.exit_code, 1, "inconclusive: fail");
    let xml = render(&r, Format::Junit);
    check_xml(&xml).expect("well-formed");
    assert_eq!(
        xml.matches("<failure ").count(),
        6,
        "inconclusive counts as failure"
    );

    // The same with `inconclusive: pass`.
    let dir = scratch("small");
    let policy = std::fs::read_to_string(common::data("gate.yaml"))
        .expect("policy")
        .replace("inconclusive: fail", "inconclusive: pass");
    std::fs::write(dir.join("gate.yaml"), policy).expect("write policy");
    let a = args([
        "--policy",
        &dir.join("gate.yaml").display().to_string(),
        "--baseline",
        &data_str("baseline.json"),
        "--candidate",
        &data_str("candidate-small.json"),
    ]);
    let r = glassbox_gate::evaluate_args(&a).expect("evaluates");
    assert_eq!(r.exit_code, 0);
    assert!(r.summary.contains("6 inconclusive"), "{}", r.summary);
    assert!(!render(&r, Format::Junit).contains("<failure "));
    assert_eq!(execute(&a), 0);
}

#[test]
fn cannot_evaluate_exits_2_with_advice() {
    let dir = scratch("errors");
    // A missing baseline file: exit 2, and the JUnit file still says why.
    let out = dir.join("gate.xml");
    let a = args([
        "--policy",
        &data_str("gate.yaml"),
        "--baseline",
        &dir.join("nope.json").display().to_string(),
        "--candidate",
        &data_str("candidate-v3.json"),
        "--format",
        "junit",
        "--output",
        &out.display().to_string(),
    ]);
    let e = glassbox_gate::evaluate_args(&a).unwrap_err().to_string();
    assert!(e.contains("no such file") && e.contains("release="), "{e}");
    assert_eq!(execute(&a), 2);
    let xml = std::fs::read_to_string(&out).expect("error junit written");
    check_xml(&xml).expect("well-formed");
    assert!(xml.contains("<error "));

    // A missing policy, and a policy with a bad rule: the message names the rule and column.
    let a = args(
        gate("candidate-v3.json", &[])
            .into_iter()
            .map(|s| s.replace("gate.yaml", "missing.yaml")),
    );
    let e = glassbox_gate::evaluate_args(&a).unwrap_err().to_string();
    assert!(
        e.contains("missing.yaml") && e.contains("no such file"),
        "{e}"
    );
    std::fs::write(
        dir.join("bad.yaml"),
        "rules:\n  - quality >= 0.9\n  - cost_per_item <= baseline ** 2\n",
    )
    .expect("write");
    let a = args([
        "--policy",
        &dir.join("bad.yaml").display().to_string(),
        "--baseline",
        &data_str("baseline.json"),
        "--candidate",
        &data_str("candidate-v3.json"),
    ]);
    assert_eq!(execute(&a), 2);
    let e = glassbox_gate::evaluate_args(&a).unwrap_err().to_string();
    assert!(
        e.contains("rule 1 `quality >= 0.9`") && e.contains("quality_score"),
        "{e}"
    );
    std::fs::write(
        dir.join("bad2.yaml"),
        "rules:\n  - cost_per_item <= baseline ** 2\n",
    )
    .expect("write");
    let a = args([
        "--policy",
        &dir.join("bad2.yaml").display().to_string(),
        "--baseline",
        &data_str("baseline.json"),
        "--candidate",
        &data_str("candidate-v3.json"),
    ]);
    let e = glassbox_gate::evaluate_args(&a).unwrap_err().to_string();
    assert!(
        e.contains(
            "rule 1 `cost_per_item <= baseline ** 2`: column 28: expected a number after `*`"
        ),
        "{e}"
    );

    // A run with no items.
    std::fs::write(dir.join("empty.json"), r#"{"run_id": "x", "items": []}"#).expect("write");
    let a = args(gate("candidate-v3.json", &[]).into_iter().map(|s| {
        if s.ends_with("candidate-v3.json") {
            dir.join("empty.json").display().to_string()
        } else {
            s
        }
    }));
    let e = glassbox_gate::evaluate_args(&a).unwrap_err().to_string();
    assert!(e.contains("no items"), "{e}");
    assert_eq!(execute(&a), 2);

    // --from on run files is a mistake worth telling.
    let a = args(gate(
        "candidate-v3.json",
        &["--from", "2026-01-01T00:00:00Z"],
    ));
    let e = glassbox_gate::evaluate_args(&a).unwrap_err().to_string();
    assert!(e.contains("live traffic only"), "{e}");
}
