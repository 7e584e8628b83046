//! Redaction before storage, end to end: every captured fixture goes through
//! the real receivers with the default policy, and nothing any detector finds
//! comes back out of the store — not in messages, tool input and output,
//! attributes, events or logs. Findings are counted per span, per trace and
//! in the metrics. `glassbox redact` speaks the scorer's JSONL protocol.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use glassbox_redact::Detector;
use serde_json::Value;

/// Every string in a JSON document, with where it was found.
fn strings<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((path, s)),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                strings(x, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                strings(x, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Strings that are ids or timestamps of the API's own making, not content.
fn ours(path: &str) -> bool {
    [
        "trace_id",
        "span_id",
        "parent_span_id",
        "start_time",
        "end_time",
        "time",
        "call_id",
    ]
    .iter()
    .any(|k| path.ends_with(&format!(".{k}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_a_detector_finds_reaches_the_store() {
    let detector = Detector::new();
    let mut scanned = 0usize;
    let mut redacted_total = 0u64;
    for dir in common::scenarios() {
        let label = dir.display().to_string();
        let server = common::start().await;
        common::send_http(&server, &dir).await;
        let (_, page) = server.get("/api/v1/traces?limit=1000").await;
        let mut docs = Vec::new();
        let mut summed = 0u64;
        for t in page["traces"].as_array().unwrap() {
            summed += t["pii_findings"].as_u64().unwrap();
            let (_, detail) = server
                .get(&format!(
                    "/api/v1/traces/{}",
                    t["trace_id"].as_str().unwrap()
                ))
                .await;
            let spans_found: u64 = detail["spans"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["redactions"].as_object().unwrap().values())
                .map(|n| n.as_u64().unwrap())
                .sum();
            assert_eq!(
                spans_found,
                t["pii_findings"].as_u64().unwrap(),
                "{label}: the trace counts its spans' findings"
            );
            docs.push(detail);
        }
        let (_, logs) = server.get("/api/v1/logs?limit=10000").await;
        docs.push(logs);
        for doc in &docs {
            let mut all = Vec::new();
            strings(doc, String::new(), &mut all);
            for (path, s) in all.into_iter().filter(|(p, _)| !ours(p)) {
                scanned += s.len();
                let found = detector.detect(s);
                assert!(
                    found.is_empty(),
                    "{label}: {path} still holds {:?}: {:?}",
                    found[0].kind,
                    &s[found[0].start..found[0].end]
                );
            }
        }
        let (_, metrics) = server.get("/api/v1/metrics").await;
        assert_eq!(
            metrics["total"]["pii_findings"].as_u64().unwrap(),
            summed,
            "{label}: metrics count the compliance events"
        );
        redacted_total += summed;
        server.stop().await;
    }
    assert!(
        redacted_total > 20,
        "the fixtures do carry PII: {redacted_total} findings"
    );
    assert!(
        scanned > 1_000_000,
        "scanned {scanned} bytes of stored content"
    );
}

#[test]
fn redact_command_speaks_text_and_jsonl() {
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&["redact"], "Write to jane.doe@example.com today.\n");
    assert_eq!(code, 0);
    assert_eq!(out, "Write to [EMAIL] today.\n");

    // Offsets in code points: "é" is one character, two bytes.
    let (code, out, _) = run(
        &["redact", "--jsonl"],
        "{\"id\":\"a\",\"text\":\"é jane.doe@example.com\"}\n{\"id\":\"b\",\"text\":\"nothing here\"}\n",
    );
    assert_eq!(code, 0);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["entities"][0]["start"], 2);
    assert_eq!(lines[0]["entities"][0]["end"], 22);
    assert_eq!(lines[0]["entities"][0]["type"], "EMAIL");
    assert_eq!(lines[1]["entities"], serde_json::json!([]));

    let (code, _, err) = run(
        &["redact", "--jsonl"],
        "{\"id\":\"a\",\"text\":\"ok\"}\nnot json\n",
    );
    assert_ne!(code, 0);
    assert!(err.contains("line 2"), "{err}");
}
