//! The evaluation loop end to end, as a team would run it: the example support agent
//! (examples/support-agent: the official Anthropic Python SDK, OpenTelemetry, OpenLLMetry)
//! answers the golden dataset against a faithful fake of the Anthropic API; `glassbox eval
//! run` traces, prices and judges every item through a real Glassbox server; `glassbox gate`
//! then fails prompt v2 (30 % dearer, 10 % worse) naming both rules, passes v3, and calls a
//! five-item run inconclusive. Needs the venv scripts/test.sh prepares (GLASSBOX_PYTHON).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use glassbox_fake_anthropic::{FakeAnthropic, Options};
use serde_json::Value;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/support-agent")
}

fn python() -> String {
    match std::env::var("GLASSBOX_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => panic!(
            "GLASSBOX_PYTHON is not set: run the tests with scripts/test.sh, which prepares the \
             example agent's Python venv (anthropic + OpenTelemetry SDKs)"
        ),
    }
}

struct Env<'a> {
    server: &'a str,
    fake: &'a str,
    out: &'a Path,
}

/// `glassbox eval run` for one prompt version; returns (exit code, stderr, run JSON).
fn eval_run(env: &Env<'_>, version: &str, extra: &[&str]) -> (i32, String, Value) {
    let output = env.out.join(format!("{version}.json"));
    let target = format!(
        "{} {} --prompt {}",
        python(),
        example().join("agent.py").display(),
        version.split('-').next().unwrap_or(version)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["eval", "run", "--dataset"])
        .arg(example().join("golden.jsonl"))
        .args(["--target", &target, "--evaluators"])
        .arg(example().join("evaluators.toml"))
        .args([
            "--concurrency",
            "4",
            "--name",
            version,
            "--server",
            env.server,
        ])
        .arg("--output")
        .arg(&output)
        .args(extra)
        .env("ANTHROPIC_BASE_URL", env.fake)
        .env("ANTHROPIC_API_KEY", "test-key")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("GLASSBOX_API_KEY")
        .output()
        .expect("glassbox runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let run = std::fs::read_to_string(&output)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), stderr, run)
}

fn gate(policy: &Path, baseline: &Path, candidate: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .arg("gate")
        .arg("--policy")
        .arg(policy)
        .arg("--baseline")
        .arg(baseline)
        .arg("--candidate")
        .arg(candidate)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("glassbox runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn mean(run: &Value, f: impl Fn(&Value) -> Option<f64>) -> f64 {
    let xs: Vec<f64> = run["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(f)
        .collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_v2_fails_the_gate_on_quality_and_cost_and_v3_passes() {
    let server = common::start().await;
    let fake = FakeAnthropic::start(Options::default())
        .await
        .expect("fake starts");
    let out = tempfile::tempdir().expect("tempdir");
    let env = Env {
        server: &server.base,
        fake: &fake.base_url(),
        out: out.path(),
    };
    let dataset_items = std::fs::read_to_string(example().join("golden.jsonl"))
        .expect("dataset")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();

    // The baseline, run in a blocking thread so the server in this runtime keeps serving.
    let (code, stderr, v1) = tokio::task::block_in_place(|| eval_run(&env, "v1", &[]));
    assert_eq!(code, 0, "{stderr}");
    let items = v1["items"].as_array().expect("items");
    assert_eq!(items.len(), dataset_items, "{stderr}");
    for it in items {
        assert!(it["error"].is_null(), "{it}");
        assert!(
            it.get("evaluation_errors").is_none(),
            "every item traced, read back and judged: {it}"
        );
        assert!(it["cost_usd"].as_f64().unwrap() > 0.0, "priced: {it}");
        assert!(it["input_tokens"].as_u64().unwrap() > 0, "{it}");
        assert!(it["scores"]["correctness"].is_number(), "{it}");
        assert_eq!(it["scores"]["no_refusal"], true, "{it}");
    }
    assert_eq!(
        v1["dataset"]["version"].as_str().map(str::len),
        Some(12),
        "the run records the dataset version"
    );
    let q1 = mean(&v1, |i| i["scores"]["correctness"].as_f64());
    assert!(q1 > 0.9, "v1 quality {q1}");

    // The item's trace on the server: the runner's root, the agent's spans under it (trace
    // context through TRACEPARENT), the model call priced, the judge's score attached.
    let first = &items[0];
    let trace_id = first["trace_id"].as_str().expect("trace id");
    let (status, t) = server.get(&format!("/api/v1/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = t["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"eval item q-001") && names.contains(&"support-agent.answer"),
        "{names:?}"
    );
    assert_eq!(t["llm_calls"], 1, "{t}");
    assert_eq!(t["cost_usd"], first["cost_usd"]);
    assert_eq!(t["prompt_version"], "v1");
    let judged: Vec<&Value> = t["scores"]
        .as_array()
        .expect("scores")
        .iter()
        .filter(|s| s["name"] == "correctness")
        .collect();
    assert_eq!(judged.len(), 1, "{t}");
    assert_eq!(judged[0]["source"], "llm_judge");
    assert_eq!(judged[0]["value"], first["scores"]["correctness"]);

    // The judge's own calls: traced under their own service, priced like any model call.
    let (_, m) = server.get("/api/v1/metrics?service=glassbox-judge").await;
    assert_eq!(
        m["total"]["llm_calls"].as_u64(),
        Some(dataset_items as u64),
        "{m}"
    );
    assert!(m["total"]["cost_usd"].as_f64().unwrap() > 0.0, "{m}");
    assert_eq!(m["total"]["unpriced_calls"], 0);

    // Production traces become a dataset to review: the agent's question in, its answer out.
    let from_prod = out.path().join("from-prod.jsonl");
    let made = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "dataset",
            "from-traces",
            "prompt_version=v1",
            "--limit",
            "5",
            "--server",
        ])
        .arg(&server.base)
        .arg("-o")
        .arg(&from_prod)
        .env_remove("GLASSBOX_API_KEY")
        .output()
        .expect("glassbox runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&from_prod)
        .expect("written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSONL"))
        .collect();
    assert_eq!(lines.len(), 5);
    for l in &lines {
        assert!(
            l["input"]
                .as_str()
                .is_some_and(|i| i.contains("<question>")),
            "{l}"
        );
        assert!(l["expected"].as_str().is_some_and(|e| !e.is_empty()), "{l}");
        assert_eq!(l["metadata"]["prompt_version"], "v1");
    }

    // Quality by prompt version is one query over the scores the run posted.
    let (_, by) = server
        .get("/api/v1/metrics?group_by=prompt_version&thresholds=correctness:0.9")
        .await;
    let g = by["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["key"] == "v1")
        .expect("v1 group")
        .clone();
    assert_eq!(
        g["scores"]["correctness"]["count"].as_u64(),
        Some(dataset_items as u64)
    );

    let (code, stderr, v2) = tokio::task::block_in_place(|| eval_run(&env, "v2", &[]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr, _) = tokio::task::block_in_place(|| eval_run(&env, "v3", &[]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr, small) =
        tokio::task::block_in_place(|| eval_run(&env, "v3-small", &["--limit", "5"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(small["items"].as_array().map(Vec::len), Some(5));

    let q2 = mean(&v2, |i| i["scores"]["correctness"].as_f64());
    let c1 = mean(&v1, |i| i["cost_usd"].as_f64());
    let c2 = mean(&v2, |i| i["cost_usd"].as_f64());
    assert!(
        (0.85..0.95).contains(&(q2 / q1)),
        "quality ratio {}",
        q2 / q1
    );
    assert!((1.2..1.4).contains(&(c2 / c1)), "cost ratio {}", c2 / c1);

    let policy = example().join("gate.yaml");
    let run = |v: &str| out.path().join(format!("{v}.json"));
    let (code, report) = gate(&policy, &run("v1"), &run("v2"));
    assert_eq!(code, 1, "{report}");
    let failed: Vec<&str> = report.lines().filter(|l| l.contains("FAIL")).collect();
    assert!(
        failed
            .iter()
            .any(|l| l.contains("quality >= baseline * 0.95"))
            && failed
                .iter()
                .any(|l| l.contains("cost_per_item <= baseline * 1.20")),
        "{report}"
    );
    let (code, report) = gate(&policy, &run("v1"), &run("v3"));
    assert_eq!(code, 0, "{report}");
    let (code, report) = gate(&policy, &run("v1"), &run("v3-small"));
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("INCONCLUSIVE"), "{report}");

    // Every run and the dataset are stored on the server; the gate reads runs by id.
    let (_, runs) = server.get("/api/v1/experiments?dataset=golden").await;
    let runs = runs["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 4, "{runs:?}");
    let id_of = |name: &str| {
        runs.iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["run_id"].as_str())
            .map(|id| format!("run:{id}"))
            .expect("stored run")
    };
    assert!(
        runs.iter()
            .all(|r| r["dataset_version"] == v1["dataset"]["version"] || r["name"] == "v3-small")
    );
    let (_, datasets) = server.get("/api/v1/datasets").await;
    assert_eq!(
        datasets["datasets"].as_array().map(Vec::len),
        Some(1),
        "{datasets}"
    );
    let stored_gate = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .arg("gate")
        .arg("--policy")
        .arg(&policy)
        .args([
            "--baseline",
            &id_of("v1"),
            "--candidate",
            &id_of("v2"),
            "--server",
            &server.base,
        ])
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GLASSBOX_API_KEY")
        .output()
        .expect("gate runs");
    assert_eq!(stored_gate.status.code(), Some(1));

    // A person's view of the same two runs.
    let out_cmp = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["eval", "compare"])
        .arg(run("v1"))
        .arg(run("v2"))
        .output()
        .expect("compare runs");
    assert!(out_cmp.status.success());
    let table = String::from_utf8_lossy(&out_cmp.stdout);
    let line = |m: &str| {
        table
            .lines()
            .find(|l| l.starts_with(m))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("score.correctness").ends_with(&format!("{dataset_items}/{dataset_items}"))
            || line("score.correctness").contains(" *"),
        "{table}"
    );
    assert!(line("cost_per_item").contains(" *"), "{table}");
    fake.shutdown().await;
    server.stop().await;
}

#[test]
fn eval_run_says_what_is_wrong_before_running_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"input\": \"a\"}\n{\"question\": \"no input\"}\n").expect("write");
    let run = |dataset: &Path, evaluators: &Path, server: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["eval", "run", "--dataset"])
            .arg(dataset)
            .args(["--target", "cat", "--evaluators"])
            .arg(evaluators)
            .args(["--server", server])
            .arg("--output")
            .arg(dir.path().join("run.json"))
            .output()
            .expect("glassbox runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let evaluators = example().join("evaluators.toml");
    let (code, err) = run(&bad, &evaluators, "http://127.0.0.1:9");
    assert_eq!(code, 2);
    assert!(err.contains("line 2") && err.contains("input"), "{err}");
    let (code, err) = run(
        &example().join("golden.jsonl"),
        &evaluators,
        "http://127.0.0.1:9",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no Glassbox server at http://127.0.0.1:9")
            || err.contains("ANTHROPIC_API_KEY"),
        "{err}"
    );
    assert!(
        !dir.path().join("run.json").exists(),
        "nothing half-written"
    );
}
