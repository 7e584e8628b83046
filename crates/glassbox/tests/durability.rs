//! `kill -9` during sustained ingestion from concurrent exporters: after a
//! restart, every span whose export was acknowledged is present.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const SPANS_PER_TRACE: usize = 50;

/// Starts `glassbox serve` and returns it with its HTTP base URL, read from its log.
fn spawn(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn glassbox");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(i) = line.find("on http://") {
                let url: String = line[i + 3..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                let _ = tx.send(url);
                sent = true;
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("server printed its address");
    (child, url)
}

fn request(exporter: u8, seq: u32) -> (Vec<u8>, ExportTraceServiceRequest) {
    let mut trace_id = vec![exporter; 16];
    trace_id[12..].copy_from_slice(&seq.to_be_bytes());
    let spans = (0..SPANS_PER_TRACE)
        .map(|i| Span {
            trace_id: trace_id.clone(),
            span_id: {
                let mut s = vec![0xab; 8];
                s[4..].copy_from_slice(&(i as u32 + 1).to_be_bytes());
                s
            },
            parent_span_id: if i == 0 {
                vec![]
            } else {
                vec![0xab, 0xab, 0xab, 0xab, 0, 0, 0, 1]
            },
            name: format!("step {i}"),
            start_time_unix_nano: 1_790_000_000_000_000_000 + u64::from(seq) * 1_000_000,
            end_time_unix_nano: 1_790_000_000_000_000_000 + u64::from(seq) * 1_000_000 + 500_000,
            attributes: vec![KeyValue {
                key: "gen_ai.input.messages".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(format!(
                        "[{{\"role\":\"user\",\"content\":\"{}\"}}]",
                        "history ".repeat(100 + i)
                    ))),
                }),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    (
        trace_id,
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn(dir.path());
    let acked: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut tasks = Vec::new();
    for exporter in 1..=4u8 {
        let acked = acked.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut seq = 0u32;
            // Bounded: stops at the deadline or at the first failure (the kill).
            while Instant::now() < deadline + Duration::from_secs(5) && seq < 100_000 {
                seq += 1;
                let (trace_id, req) = request(exporter, seq);
                let sent = client
                    .post(format!("{base}/v1/traces"))
                    .header("content-type", "application/x-protobuf")
                    .body(req.encode_to_vec())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => acked.lock().unwrap().push(trace_id),
                    Ok(r) if r.status().as_u16() == 503 => {
                        tokio::time::sleep(Duration::from_millis(50)).await
                    }
                    _ => break,
                }
            }
        }));
    }
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().expect("SIGKILL"); // kill -9: no graceful shutdown, no final checkpoint
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "too few acknowledged exports to be meaningful: {}",
        acked.len()
    );

    let (mut child, base) = spawn(dir.path());
    let client = reqwest::Client::new();
    let mut missing = Vec::new();
    for id in &acked {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let resp = client
            .get(format!("{base}/api/v1/traces/{hex}"))
            .send()
            .await
            .unwrap();
        let ok = resp.status().is_success()
            && resp.json::<serde_json::Value>().await.unwrap()["span_count"]
                == SPANS_PER_TRACE as u64;
        if !ok {
            missing.push(hex);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged traces incomplete after kill -9: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "{} acknowledged traces ({} spans) all present after kill -9",
        acked.len(),
        acked.len() * SPANS_PER_TRACE
    );
    // The audit trail commits with the data, so a crash leaves it intact too.
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "audit trail after kill -9: {}",
        String::from_utf8_lossy(&verified.stdout)
    );
}
