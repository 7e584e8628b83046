//! Traces assemble from spans arriving in any order over many requests, and a
//! full ingest queue pushes back (503 + Retry-After) without losing anything.

mod common;

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use common::kv;

fn body(spans: Vec<Span>) -> Vec<u8> {
    common::trace_request(spans).encode_to_vec()
}

fn span(trace: [u8; 16], id: u8, parent: Option<u8>, name: &str, attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: 1_790_000_000_000_000_000 + u64::from(id) * 1_000_000,
        end_time_unix_nano: 1_790_000_001_000_000_000 - u64::from(id) * 1_000_000,
        attributes: attrs,
        ..Default::default()
    }
}

fn llm(response_id: &str) -> Vec<KeyValue> {
    use any_value::Value::*;
    vec![
        kv("gen_ai.operation.name", StringValue("chat".into())),
        kv(
            "gen_ai.request.model",
            StringValue("claude-sonnet-4-6".into()),
        ),
        kv("gen_ai.response.id", StringValue(response_id.into())),
        kv("gen_ai.usage.input_tokens", IntValue(500)),
        kv("gen_ai.usage.output_tokens", IntValue(20)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_before_parents_over_many_requests_form_one_trace() {
    let server = common::start().await;
    let t = [0x42; 16];
    // Grandchild, then child, then the root, each in its own request.
    for spans in [
        vec![span(t, 3, Some(2), "chat claude-sonnet-4-6", llm("msg_a"))],
        vec![
            span(t, 2, Some(1), "handle turn", vec![]),
            span(t, 4, Some(2), "chat claude-sonnet-4-6", llm("msg_b")),
        ],
        vec![span(t, 1, None, "support session", vec![])],
    ] {
        let (s, _) = server
            .post("/v1/traces", "application/x-protobuf", body(spans))
            .await;
        assert_eq!(s, 200);
    }
    let (s, v) = server
        .get(&format!("/api/v1/traces/{}", "42".repeat(16)))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["name"], "support session",
        "the root names the trace whenever it arrives"
    );
    assert_eq!(v["span_count"], 4);
    assert_eq!(v["llm_calls"], 2);
    assert_eq!(v["input_tokens"], 1000);
    let spans = v["spans"].as_array().unwrap();
    assert_eq!(
        spans[0]["name"], "support session",
        "spans come back in start order"
    );
    let (_, page) = server.get("/api/v1/traces").await;
    assert_eq!(page["traces"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_ingest_buffer_answers_503_with_retry_after_and_loses_nothing() {
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.ingest_buffer_bytes = 64 * 1024
    })
    .await;
    let filler = "x".repeat(40 * 1024);
    let mut tasks = Vec::new();
    for i in 0..40u8 {
        let client = server.client.clone();
        let url = format!("{}/v1/traces", server.base);
        let payload = body(vec![span(
            [i + 1; 16],
            1,
            None,
            "root",
            vec![kv("filler", any_value::Value::StringValue(filler.clone()))],
        )]);
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            // Retry on 503 like an OTLP exporter, bounded.
            for _ in 0..200 {
                let r = client
                    .post(&url)
                    .header("content-type", "application/x-protobuf")
                    .body(payload.clone())
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    200 => return refused,
                    503 => {
                        assert!(
                            r.headers().get("retry-after").is_some(),
                            "503 without Retry-After"
                        );
                        refused += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                    s => panic!("unexpected status {s}"),
                }
            }
            panic!("never admitted");
        }));
    }
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    assert!(
        refused > 0,
        "a 64 KiB buffer must push back on 40 concurrent 40 KiB requests"
    );
    let (_, m) = server.get("/api/v1/metrics").await;
    assert_eq!(
        m["total"]["traces"], 40,
        "every request was eventually stored once: {m}"
    );
    server.stop().await;
}
