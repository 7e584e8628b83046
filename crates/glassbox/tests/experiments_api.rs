//! The datasets and experiments API: versions by content, JSONL and CSV both ways, PII
//! redacted before storage, immutable runs, and clear errors for bad input.

mod common;

use serde_json::{Value, json};

async fn put(server: &common::TestServer, path: &str, ctype: &str, body: &str) -> (u16, Value) {
    let r = server
        .client
        .put(format!("{}{path}", server.base))
        .header("content-type", ctype)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post_json(server: &common::TestServer, path: &str, body: &Value) -> (u16, Value) {
    let r = server
        .client
        .post(format!("{}{path}", server.base))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

const GOLDEN: &str = r#"{"id":"q1","input":{"question":"Where is my order?"},"expected":"Write to ana.lima@example.com for order 42."}
{"id":"q2","input":"Refund?","expected":"Five business days."}
"#;

fn run(id: &str) -> Value {
    json!({"run_id": id, "name": "v1", "created_at": "2026-11-27T00:00:00Z",
           "dataset": {"name": "golden", "version": "abc", "items": 1},
           "target": "agent", "evaluators": ["q"],
           "summary": {"items": 1, "errors": 0, "evaluation_errors": 0, "scores": {"q": 1.0},
                       "cost_usd": 0.01, "judge_calls": 0, "judge_input_tokens": 0,
                       "judge_output_tokens": 0, "duration_ms": 5.0},
           "items": [{"item_id": "q1", "trace_id": "00", "output": "mail bob@example.org",
                      "scores": {"q": 1.0}, "cost_usd": 0.01, "latency_ms": 5.0,
                      "input_tokens": 1, "output_tokens": 2, "error": null, "pii_findings": 0}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_are_versioned_redacted_and_served_as_jsonl_or_csv() {
    let server = common::start().await;
    let (status, a) = put(
        &server,
        "/api/v1/datasets/golden",
        "application/x-ndjson",
        GOLDEN,
    )
    .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["items"], 2);
    assert_eq!(
        a["redactions"], 1,
        "the e-mail address is masked before storage"
    );
    let v1 = a["version"].as_str().unwrap().to_owned();
    // The same content again is the same version: stored once.
    let (status, again) = put(
        &server,
        "/api/v1/datasets/golden",
        "application/x-ndjson",
        GOLDEN,
    )
    .await;
    assert_eq!((status, again["created"].clone()), (200, json!(false)));
    assert_eq!(again["version"], v1.as_str());
    // An edit is a new version; the newest is served by default, any version by name.
    let edited = GOLDEN.replace("Five", "Ten");
    let (status, b) = put(
        &server,
        "/api/v1/datasets/golden",
        "application/jsonl",
        &edited,
    )
    .await;
    assert_eq!(status, 201);
    let v2 = b["version"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let newest = server
        .client
        .get(format!("{}/api/v1/datasets/golden", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(newest.headers()["glassbox-dataset-version"], v2.as_str());
    let text = newest.text().await.unwrap();
    assert!(
        text.contains("Ten business days") && text.contains("[EMAIL]"),
        "{text}"
    );
    assert!(!text.contains("ana.lima@example.com"));
    let csv = server
        .client
        .get(format!(
            "{}/api/v1/datasets/golden?version={v1}&format=csv",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("id,input,expected") && csv.contains("Five business days"),
        "{csv}"
    );
    // CSV in is the same dataset.
    let (status, c) = put(&server, "/api/v1/datasets/from-csv", "text/csv", &csv).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["items"], 2);
    let (_, list) = server.get("/api/v1/datasets").await;
    let versions: Vec<&str> = list["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["name"] == "golden")
        .map(|d| d["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, [v2.as_str(), v1.as_str()], "newest first");

    // Bad input: a clear 4xx naming the problem, nothing stored.
    let (status, e) = put(
        &server,
        "/api/v1/datasets/golden",
        "application/x-ndjson",
        "{\"input\":1}\n{oops\n",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("line 2"),
        "{e}"
    );
    let (status, e) = put(
        &server,
        "/api/v1/datasets/golden",
        "text/csv",
        "question\nq\n",
    )
    .await;
    assert_eq!(status, 400);
    assert!(e.to_string().contains("no `input` column"), "{e}");
    let (status, _) = put(
        &server,
        "/api/v1/datasets/bad%20name",
        "application/x-ndjson",
        GOLDEN,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = put(&server, "/api/v1/datasets/golden", "image/png", GOLDEN).await;
    assert_eq!(status, 415);
    let (status, _) = server.get("/api/v1/datasets/golden?version=nope").await;
    assert_eq!(status, 404);
    let (status, _) = server.get("/api/v1/datasets/golden?format=xml").await;
    assert_eq!(status, 400);
    let (_, list) = server.get("/api/v1/datasets").await;
    assert_eq!(list["datasets"].as_array().unwrap().len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_stored_once_listed_and_read_back_for_the_gate() {
    let server = common::start().await;
    let (status, r) = post_json(&server, "/api/v1/experiments", &run("run-a")).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["redactions"], 1);
    let (status, e) = post_json(&server, "/api/v1/experiments", &run("run-a")).await;
    assert_eq!(status, 409, "runs are immutable: {e}");
    let (status, e) = post_json(&server, "/api/v1/experiments", &json!({"run_id": "x"})).await;
    assert_eq!(status, 400);
    assert!(e.to_string().contains("not a run file"), "{e}");
    let mut empty = run("run-b");
    empty["items"] = json!([]);
    let (status, _) = post_json(&server, "/api/v1/experiments", &empty).await;
    assert_eq!(status, 400);
    let (status, back) = server.get("/api/v1/experiments/run-a").await;
    assert_eq!(status, 200);
    assert_eq!(back["items"][0]["output"], "mail [EMAIL]");
    let (_, list) = server.get("/api/v1/experiments?dataset=golden").await;
    assert_eq!(list["runs"][0]["run_id"], "run-a");
    assert_eq!(list["runs"][0]["dataset_version"], "abc");
    let (status, _) = server.get("/api/v1/experiments/nope").await;
    assert_eq!(status, 404);

    // The gate reads a stored run by id, as it reads a file.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("gate.yaml");
    std::fs::write(&policy, "rules: [pii_findings == 0]\n").unwrap();
    let gate = |baseline: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["gate", "--policy"])
            .arg(&policy)
            .args(["--baseline", baseline, "--candidate", "run:run-a"])
            .args(["--server", &server.base])
            .env_remove("GLASSBOX_API_KEY")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap()
    };
    let out = gate("run:run-a");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("run:run-a"), "{text}");
    let out = gate("run:missing");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no stored run \"missing\""));
    // So does `eval compare`; live traffic is refused there with a reason.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "eval",
            "compare",
            "run:run-a",
            "run:run-a",
            "--server",
            &server.base,
        ])
        .env_remove("GLASSBOX_API_KEY")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        table.contains("score.q") && table.contains("A: run:run-a"),
        "{table}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "eval",
            "compare",
            "run:run-a",
            "release=v2",
            "--server",
            &server.base,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not live traffic"));

    // Each stored run is in the audit trail, which still verifies.
    let (_, entries) = server.get("/api/v1/audit/entries?limit=50").await;
    assert!(
        entries.to_string().contains("experiment run stored"),
        "{entries}"
    );
    let data = server.stop().await;
    common::assert_audit_verifies(data.path());
}
