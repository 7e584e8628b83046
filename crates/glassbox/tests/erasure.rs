//! Erasure of one user's data (GDPR Art. 17) and retention, end to end: the
//! user's traces, logs and message content leave the API and every file in
//! the data directory, other users' data stays whole, and the audit trail
//! still verifies — while tampering with the erasure record does not.

mod common;

use std::path::Path;
use std::process::Command;

use common::{TestServer, kv};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;

const PHRASE: &str = "cobalt-orchard-3390";

async fn send_user_trace(server: &TestServer, user: &str, phrase: &str) {
    let messages = serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": format!("Please remember {phrase} for me.")}]}]);
    let spans = vec![common::chat_span(
        (0xEE, 1),
        (20, 5),
        vec![
            kv("user.id", Av::StringValue(user.into())),
            kv(
                "gen_ai.input.messages",
                Av::StringValue(messages.to_string()),
            ),
        ],
    )];
    let (status, _) = server
        .post(
            "/v1/traces",
            "application/x-protobuf",
            common::trace_request(spans).encode_to_vec(),
        )
        .await;
    assert_eq!(status, 200);
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_795_000_000_500_000_000,
                    trace_id: vec![0xEE; 16],
                    span_id: vec![1; 8],
                    body: Some(AnyValue {
                        value: Some(Av::StringValue(format!("prompt: {phrase}"))),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (status, _) = server
        .post("/v1/logs", "application/x-protobuf", logs.encode_to_vec())
        .await;
    assert_eq!(status, 200);
}

fn verify(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn erase(server: &TestServer, body: serde_json::Value) -> (u16, serde_json::Value) {
    let resp = server
        .client
        .post(format!("{}/api/v1/admin/erase", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    )
}

async fn count(server: &TestServer, query: &str) -> usize {
    let (_, page) = server
        .get(&format!("/api/v1/traces?limit=1000&{query}"))
        .await;
    page["traces"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_data_is_erased_everywhere_and_the_trail_still_verifies() {
    let server = common::start().await;
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    glassbox_demo::send(
        &server.base,
        &glassbox_demo::generate(now, 120, 3),
        |_, _| {},
    )
    .await
    .unwrap();
    send_user_trace(&server, "erase-me", PHRASE).await;
    let others_before = count(&server, "").await - 1;
    let dir = server.stop().await;
    assert!(
        !common::phrase_on_disk(dir.path(), PHRASE).is_empty(),
        "the phrase is stored before erasure"
    );

    let server = common::start_in(dir, |_| {}).await;
    assert_eq!(count(&server, "user=erase-me").await, 1);
    let (status, report) = erase(&server, serde_json::json!({"user_id": "erase-me"})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["traces"], 1, "{report}");
    assert_eq!(report["spans"], 1, "{report}");
    assert_eq!(report["logs"], 1, "{report}");
    assert!(report["content_blobs"].as_u64().unwrap() >= 1, "{report}");

    assert_eq!(count(&server, "user=erase-me").await, 0);
    let (status, _) = server
        .get(&format!("/api/v1/traces/{}", "ee".repeat(16)))
        .await;
    assert_eq!(status, 404);
    let (_, logs) = server.get("/api/v1/logs?limit=10000").await;
    assert!(!logs.to_string().contains(PHRASE));
    let (_, metrics) = server.get("/api/v1/metrics").await;
    assert_eq!(
        metrics["total"]["traces"].as_u64().unwrap() as usize,
        others_before,
        "aggregates forget them too"
    );
    // Other users' conversations are intact, content included.
    assert_eq!(count(&server, "").await, others_before);
    let (_, page) = server.get("/api/v1/traces?limit=5").await;
    for t in page["traces"].as_array().unwrap() {
        let (status, detail) = server
            .get(&format!(
                "/api/v1/traces/{}",
                t["trace_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status, 200);
        assert!(
            detail["spans"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| !s["input_messages"].as_array().unwrap().is_empty())
        );
    }
    // Erasing again finds nothing; a bad body says what it wants.
    let (_, again) = erase(&server, serde_json::json!({"user_id": "erase-me"})).await;
    assert_eq!(again["traces"], 0);
    let (status, bad) = erase(&server, serde_json::json!({"user": "x"})).await;
    assert_eq!(status, 400);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user_id"),
        "{bad}"
    );
    let dir = server.stop().await;

    assert!(
        common::phrase_on_disk(dir.path(), PHRASE).is_empty(),
        "no byte of the erased conversation remains on disk"
    );
    let (ok, out) = verify(dir.path());
    assert!(ok, "the trail verifies after erasure: {out}");

    // The erasure record is itself tamper-evident.
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
        }
    }
    rusqlite::Connection::open(copy.path().join("glassbox.db"))
        .unwrap()
        .execute_batch("DELETE FROM audit_erasures WHERE tbl = 'spans'")
        .unwrap();
    let (ok, out) = verify(copy.path());
    assert!(!ok, "{out}");
    assert!(
        out.contains("(erase): its record of erased rows was altered"),
        "{out}"
    );

    // Retention: everything before a cutoff goes, and the trail still verifies.
    let server = common::start_in(dir, |_| {}).await;
    let cutoff = glassbox_query::format_time(now + 86_400_000_000_000);
    let (status, report) = erase(&server, serde_json::json!({"before": cutoff})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["traces"].as_u64().unwrap() as usize,
        others_before,
        "{report}"
    );
    assert_eq!(count(&server, "").await, 0);
    let dir = server.stop().await;
    let (ok, out) = verify(dir.path());
    assert!(ok, "{out}");
    let entries: i64 = rusqlite::Connection::open(dir.path().join("glassbox.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE kind = 'erase'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(entries, 3, "each erasure is on record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_sweeps_old_data_on_its_own() {
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.retention.days = Some(1);
        c.retention.interval_secs = 1;
    })
    .await;
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    // A day of runs ending now, plus one run from three days ago.
    glassbox_demo::send(
        &server.base,
        &glassbox_demo::generate(now, 48, 5),
        |_, _| {},
    )
    .await
    .unwrap();
    send_user_trace(&server, "old-user", "ancient-phrase").await; // 2026-11-17: older than a day
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while count(&server, "user=old-user").await > 0 {
        assert!(std::time::Instant::now() < deadline, "retention never ran");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let recent = count(&server, "").await;
    assert!(recent > 0, "runs younger than the retention stay");
    let dir = server.stop().await;
    let (ok, out) = verify(dir.path());
    assert!(ok, "{out}");
}
