//! Encryption at rest, end to end: content sent through the real receivers
//! is readable through the API, and a known phrase is absent from every file
//! in the data directory — not in plain bytes, and not inside any zstd frame
//! (the control run without a key shows the scanner does find it). Data-key
//! rotation happens online; master-key rotation re-wraps at start-up.

mod common;

use std::path::Path;

use common::{TestServer, kv};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

const PHRASE: &str = "saffron-lighthouse-7741";

fn key_file(dir: &Path, name: &str, byte: u8) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{byte:02x}").repeat(32)).unwrap();
    p
}

async fn send_phrase(server: &TestServer, trace: u8, phrase: &str) {
    let messages = serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": format!("My secret is {phrase}, keep it.")}]}]);
    let spans = vec![
        common::chat_span(
            (trace, 1),
            (12, 3),
            vec![kv(
                "gen_ai.input.messages",
                Av::StringValue(messages.to_string()),
            )],
        ),
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![1; 8],
            name: "execute_tool lookup".into(),
            start_time_unix_nano: 1_795_000_000_100_000_000,
            end_time_unix_nano: 1_795_000_000_200_000_000,
            attributes: vec![
                kv(
                    "gen_ai.operation.name",
                    Av::StringValue("execute_tool".into()),
                ),
                kv("gen_ai.tool.name", Av::StringValue("lookup".into())),
                kv(
                    "gen_ai.tool.call.arguments",
                    Av::StringValue(format!("{{\"q\":\"{phrase}\"}}")),
                ),
                kv(
                    "gen_ai.tool.call.result",
                    Av::StringValue(format!("found {phrase}")),
                ),
            ],
            ..Default::default()
        },
    ];
    let (status, body) = server
        .post(
            "/v1/traces",
            "application/x-protobuf",
            common::trace_request(spans).encode_to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_795_000_000_500_000_000,
                    body: Some(AnyValue {
                        value: Some(Av::StringValue(format!("user said {phrase}"))),
                    }),
                    attributes: vec![kv("prompt", Av::StringValue(phrase.into()))],
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

async fn trace_text(server: &TestServer, trace: u8) -> String {
    let (status, body) = server
        .get(&format!(
            "/api/v1/traces/{}",
            format!("{trace:02x}").repeat(16)
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_is_sealed_at_rest_and_keys_rotate() {
    let keys = tempfile::tempdir().unwrap();
    let first = key_file(keys.path(), "master-1", 0x11);
    let second = key_file(keys.path(), "master-2", 0x22);

    // Control: without a key, the scanner finds the phrase (through zstd).
    let plain = common::start().await;
    send_phrase(&plain, 9, PHRASE).await;
    let plain_dir = plain.stop().await;
    assert!(
        !common::phrase_on_disk(plain_dir.path(), PHRASE).is_empty(),
        "the scanner must see content stored without encryption"
    );

    let with_key = |k: std::path::PathBuf, prev: Vec<std::path::PathBuf>| {
        move |c: &mut glassbox_server::Config| {
            c.encryption.master_key_file = Some(k);
            c.encryption.previous_master_key_files = prev;
        }
    };
    let server = common::start_in(
        tempfile::tempdir().unwrap(),
        with_key(first.clone(), vec![]),
    )
    .await;
    send_phrase(&server, 1, PHRASE).await;
    assert!(
        trace_text(&server, 1).await.contains(PHRASE),
        "readable through the API"
    );
    let (status, logs) = server.get("/api/v1/logs?limit=10").await;
    assert_eq!(status, 200);
    assert!(logs.to_string().contains(PHRASE), "log bodies too");

    // Online data-key rotation: new content under a new key, old still readable.
    let resp = server
        .client
        .post(format!("{}/api/v1/admin/keys/rotate", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    send_phrase(&server, 2, "second-phrase-5521").await;
    assert!(trace_text(&server, 1).await.contains(PHRASE));
    assert!(trace_text(&server, 2).await.contains("second-phrase-5521"));
    let dir = server.stop().await;

    let leaks = common::phrase_on_disk(dir.path(), PHRASE);
    assert!(leaks.is_empty(), "the phrase is on disk: {leaks:?}");
    assert!(common::phrase_on_disk(dir.path(), "second-phrase-5521").is_empty());

    // Without its master key the store refuses to start (no silent plaintext).
    let config = glassbox_server::Config {
        data_dir: dir.path().to_path_buf(),
        http: "127.0.0.1:0".parse().unwrap(),
        grpc: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let err = glassbox_server::start(config.clone())
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("master key"), "{err}");
    // With the wrong key it refuses too, naming the key it needs.
    let mut wrong = config.clone();
    wrong.encryption.master_key_file = Some(second.clone());
    let err = glassbox_server::start(wrong).await.err().expect("refused");
    assert!(err.to_string().contains("not configured"), "{err}");

    // Master-key rotation: the new key current, the old one listed as previous.
    let server = common::start_in(dir, with_key(second.clone(), vec![first.clone()])).await;
    assert!(trace_text(&server, 1).await.contains(PHRASE));
    let dir = server.stop().await;
    // Re-wrapped: the new key alone now opens everything.
    let server = common::start_in(dir, with_key(second, vec![])).await;
    assert!(trace_text(&server, 1).await.contains(PHRASE));
    assert!(trace_text(&server, 2).await.contains("second-phrase-5521"));
    let dir = server.stop().await;

    // Every key operation is in the audit trail, and the trail verifies.
    common::assert_audit_verifies(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("glassbox.db")).unwrap();
    let key_events: Vec<String> = conn
        .prepare("SELECT json_extract(detail, '$.about.event') FROM audit_log WHERE kind = 'key'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let created = key_events
        .iter()
        .filter(|e| *e == "data key created")
        .count();
    let rewrapped = key_events
        .iter()
        .filter(|e| e.contains("re-wrapped"))
        .count();
    assert_eq!((created, rewrapped), (2, 2), "{key_events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_without_encryption_is_a_clear_error() {
    let server = common::start().await;
    let resp = server
        .client
        .post(format!("{}/api/v1/admin/keys/rotate", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GLASSBOX_MASTER_KEY"),
        "{body}"
    );
    server.stop().await;
}
