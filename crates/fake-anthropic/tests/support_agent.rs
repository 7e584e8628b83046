//! The example agent (examples/support-agent) against the fake: the real `anthropic` SDK's
//! stream parser and OpenTelemetry export, and the data set's tuned figures.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;
use common::{agent_request, fake, judge_request, messages_json};
use serde_json::{Value, json};

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/support-agent")
}

/// An OTLP/HTTP endpoint that keeps the bodies posted to `/v1/traces`.
async fn otlp_sink() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| async move {
            kept.lock().expect("sink lock").push(body);
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), bodies)
}

#[tokio::test(flavor = "multi_thread")]
async fn python_agent_streams_through_the_fake_and_continues_the_trace() {
    let Ok(python) = std::env::var("GLASSBOX_PYTHON") else {
        panic!(
            "GLASSBOX_PYTHON is not set: run scripts/test.sh, which creates the Python venv for \
             examples/support-agent and exports GLASSBOX_PYTHON"
        );
    };
    let fake = fake().await;
    let (otlp, bodies) = otlp_sink().await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let input = json!({
        "question": "Do gift cards expire?",
        "context": "Shipping is free over 75 dollars. Gift cards never expire and have no fees. Refunds take five days.",
    });
    let base_url = fake.base_url();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(python)
            .arg(example_dir().join("agent.py"))
            .args(["--prompt", "v1"])
            .env("ANTHROPIC_BASE_URL", base_url)
            .env("ANTHROPIC_API_KEY", "test")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
            .env("TRACEPARENT", format!("00-{trace_id}-b7ad6b7169203331-01"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the agent");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.to_string().as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("agent output")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "agent failed: {stderr}");
    // v1 allows three sentences; the context has exactly three.
    assert_eq!(
        stdout.trim(),
        "Shipping is free over 75 dollars. Gift cards never expire and have no fees. Refunds take five days."
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["model"], "claude-haiku-4-5");
    assert_eq!(requests[0]["temperature"], 0);
    assert_eq!(requests[0]["stream"], true);

    let exported: Vec<u8> = bodies.lock().expect("sink lock").concat();
    let trace_bytes: Vec<u8> = (0..trace_id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&trace_id[i..i + 2], 16).expect("hex"))
        .collect();
    assert!(
        exported
            .windows(trace_bytes.len())
            .any(|w| w == trace_bytes),
        "spans continue the TRACEPARENT trace"
    );
    for needle in [
        "support-agent.answer",
        "traceloop.prompt.version",
        "support-agent",
    ] {
        assert!(
            exported
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "exported spans mention {needle}"
        );
    }
}

/// The figures `tune.py` prints, recomputed through the fake over HTTP: protects the data set's
/// tuning from drift between the fake and its offline reimplementation.
#[tokio::test]
async fn golden_set_figures_hold_through_the_fake() {
    let dir = example_dir();
    let golden = std::fs::read_to_string(dir.join("golden.jsonl")).expect("golden.jsonl");
    let items: Vec<Value> = golden
        .lines()
        .map(|line| serde_json::from_str(line).expect("item"))
        .collect();
    assert!(items.len() >= 40);
    let fake = fake().await;
    let mut figures = Vec::new();
    for version in ["v1", "v2", "v3"] {
        let system =
            std::fs::read_to_string(dir.join(format!("prompts/{version}.txt"))).expect("prompt");
        let (mut quality, mut cost) = (0.0, 0.0);
        for item in &items {
            let (question, context) = (&item["input"]["question"], &item["input"]["context"]);
            let request = agent_request(
                system.trim(),
                question.as_str().expect("question"),
                context.as_str().expect("context"),
            );
            let (_, message) = messages_json(&fake, &request).await;
            let answer = message["content"][0]["text"].as_str().expect("answer");
            let usage = &message["usage"];
            let tokens = |field: &str| usage[field].as_f64().expect("tokens");
            cost += tokens("input_tokens") * 1e-6 + tokens("output_tokens") * 5e-6;
            let judge = judge_request(
                question.as_str().expect("question"),
                item["expected"].as_str().expect("expected"),
                answer,
            );
            let (_, verdict) = messages_json(&fake, &judge).await;
            quality += verdict["content"][0]["input"]["score"]
                .as_f64()
                .expect("score");
        }
        let n = items.len() as f64;
        figures.push((quality / n, cost / n));
    }
    let [(q1, c1), (q2, c2), (q3, c3)] = figures[..] else {
        unreachable!("three versions")
    };
    let report = format!("{figures:?}");
    assert!(q1 >= 0.88, "{report}");
    assert!((0.87..=0.92).contains(&(q2 / q1)), "{report}");
    assert!((1.27..=1.35).contains(&(c2 / c1)), "{report}");
    assert!(q3 / q1 >= 0.97, "{report}");
    assert!(c3 / c1 <= 1.05, "{report}");
}
