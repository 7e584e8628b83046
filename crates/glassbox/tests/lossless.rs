//! Original attributes come back exactly as received (redaction off), and
//! chat content is rendered as messages, for real payloads with content
//! capture on.

mod common;

use std::collections::HashMap;

use glassbox_ingest::decode::{self, Encoding, Signal};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_round_trip_exactly_and_messages_are_rendered() {
    let root = common::fixtures_root();
    let mut checked_messages = 0;
    for scenario in [
        "anthropic-sdk-content/support-basic",
        "openllmetry-content/support-basic",
        "openinference/parallel-tools-stream",
        "logfire-v1/faq-no-tools",
    ] {
        let dir = root.join(scenario);
        // Storage fidelity, so with redaction off (it rewrites what it finds).
        let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
            c.redaction.enabled = false
        })
        .await;
        common::send_http(&server, &dir).await;
        // What was sent, decoded independently of the server.
        let mut sent: HashMap<String, serde_json::Map<String, Value>> = HashMap::new();
        let mut traces = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.contains(".traces.") {
                continue;
            }
            let enc = if name.ends_with(".json") {
                Encoding::Json
            } else {
                Encoding::Protobuf
            };
            let batch =
                decode::decode(Signal::Traces, enc, &std::fs::read(&path).unwrap()).unwrap();
            for s in batch.spans {
                traces.insert(s.trace_id.to_hex());
                sent.insert(s.span_id.to_hex(), s.attributes);
            }
        }
        let mut seen = 0;
        for t in &traces {
            let (status, detail) = server.get(&format!("/api/v1/traces/{t}")).await;
            assert_eq!(status, 200, "{scenario}: {detail}");
            for span in detail["spans"].as_array().unwrap() {
                let id = span["span_id"].as_str().unwrap();
                let original = sent
                    .get(id)
                    .unwrap_or_else(|| panic!("{scenario}: unknown span {id}"));
                assert_eq!(
                    span["attributes"].as_object().unwrap(),
                    original,
                    "{scenario}: span {id} attributes changed"
                );
                seen += 1;
                if span["kind"] == "llm"
                    && span["counted"] == true
                    && !span["input_messages"].as_array().unwrap().is_empty()
                {
                    let first = &span["input_messages"][0];
                    assert!(first["role"].is_string(), "{first}");
                    assert!(
                        !first["parts"].as_array().unwrap().is_empty(),
                        "{scenario}: {first}"
                    );
                    checked_messages += 1;
                }
            }
        }
        assert_eq!(seen, sent.len(), "{scenario}: every span comes back");
        server.stop().await;
    }
    assert!(
        checked_messages >= 10,
        "model calls with rendered input messages: {checked_messages}"
    );
}
