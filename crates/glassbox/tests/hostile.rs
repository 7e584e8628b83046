//! Bad input on every receiver and API parameter: each gets a clear error, the
//! server stays up, and data accepted before is intact.

mod common;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;

use common::{kv, trace_request as request};

fn span(trace: Vec<u8>, id: Vec<u8>, parent: Vec<u8>, name: &str, attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id: trace,
        span_id: id,
        parent_span_id: parent,
        name: name.into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_000_500_000_000,
        attributes: attrs,
        ..Default::default()
    }
}

fn llm_attrs() -> Vec<KeyValue> {
    use any_value::Value::*;
    vec![
        kv("gen_ai.operation.name", StringValue("chat".into())),
        kv("gen_ai.provider.name", StringValue("anthropic".into())),
        kv(
            "gen_ai.request.model",
            StringValue("claude-haiku-4-5".into()),
        ),
        kv("gen_ai.response.id", StringValue("msg_hostile_1".into())),
        kv("gen_ai.usage.input_tokens", IntValue(1000)),
        kv("gen_ai.usage.output_tokens", IntValue(50)),
    ]
}

const T1: [u8; 16] = [1; 16];

fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn field(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![(tag << 3) | 2];
    varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// An ExportTraceServiceRequest whose one attribute nests `depth` arrays,
/// encoded by hand (building it as structs would overflow the test's own stack).
fn deeply_nested_protobuf(depth: usize) -> Vec<u8> {
    let mut value = field(1, b"leaf"); // AnyValue.string_value
    for _ in 0..depth {
        value = field(5, &field(1, &value)); // AnyValue.array_value(ArrayValue.values)
    }
    let mut kv = field(1, b"deep");
    kv.extend(field(2, &value));
    let mut span = field(1, &T1);
    span.extend(field(2, &[4; 8]));
    span.extend(field(5, b"deep"));
    span.extend(field(9, &kv));
    field(1, &field(2, &field(2, &span)))
}

async fn baseline(server: &common::TestServer) -> Value {
    let (s, v) = server.get(&format!("/api/v1/traces/{}", hex(&T1))).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_refuse_bad_input_and_keep_what_was_accepted() {
    let server = common::start().await;
    let good = request(vec![span(
        T1.to_vec(),
        vec![2; 8],
        vec![],
        "agent turn",
        llm_attrs(),
    )]);
    let (s, _) = server
        .post("/v1/traces", "application/x-protobuf", good.encode_to_vec())
        .await;
    assert_eq!(s, 200);
    let before = baseline(&server).await;
    assert_eq!(before["llm_calls"], 1);

    // Truncated protobuf.
    let bytes = good.encode_to_vec();
    let (s, body) = server
        .post(
            "/v1/traces",
            "application/x-protobuf",
            bytes[..bytes.len() - 7].to_vec(),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        String::from_utf8_lossy(&body).contains("ExportTraceServiceRequest"),
        "{body:?}"
    );

    // Random bytes, on every signal.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for path in [
        "/v1/traces",
        "/v1/metrics",
        "/v1/logs",
        "/api/public/otel/v1/traces",
    ] {
        let (s, _) = server
            .post(path, "application/x-protobuf", noise.clone())
            .await;
        assert_eq!(s, 400, "{path}");
    }

    // Wrong and missing content types.
    let (s, body) = server
        .post("/v1/traces", "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(s, 415);
    assert!(
        error_message(&body).contains("Content-Type"),
        "{}",
        error_message(&body)
    );
    let resp = server
        .client
        .post(format!("{}/v1/traces", server.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);

    // Invalid JSON and non-UTF-8 JSON.
    let (s, body) = server
        .post(
            "/v1/logs",
            "application/json",
            b"{\"resourceLogs\": [".to_vec(),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        error_message(&body).contains("OTLP/JSON"),
        "{}",
        error_message(&body)
    );
    let (s, _) = server
        .post(
            "/v1/traces",
            "application/json",
            vec![b'{', 0xff, 0xfe, b'}'],
        )
        .await;
    assert_eq!(s, 400);

    // Non-UTF-8 inside a protobuf string field.
    let mut bad_utf8 = request(vec![span(
        T1.to_vec(),
        vec![3; 8],
        vec![],
        "PLACEHOLDER",
        vec![],
    )])
    .encode_to_vec();
    let pos = bad_utf8
        .windows(11)
        .position(|w| w == b"PLACEHOLDER")
        .unwrap();
    bad_utf8[pos] = 0xff;
    let (s, _) = server
        .post("/v1/traces", "application/x-protobuf", bad_utf8)
        .await;
    assert_eq!(s, 400);

    // 10 000-deep nesting, in protobuf and in JSON.
    let (s, _) = server
        .post(
            "/v1/traces",
            "application/x-protobuf",
            deeply_nested_protobuf(10_000),
        )
        .await;
    assert_eq!(s, 400);
    let mut json = String::from(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0505050505050505","name":"deep","attributes":[{"key":"k","value":"#,
    );
    json.push_str(&r#"{"arrayValue":{"values":["#.repeat(10_000));
    json.push_str(r#"{"stringValue":"x"}"#);
    json.push_str(&"]}}".repeat(10_000));
    json.push_str("}]}]}]}]}");
    let (s, _) = server
        .post("/v1/traces", "application/json", json.into_bytes())
        .await;
    assert_eq!(s, 400);

    // Ids of the wrong length: rejected and counted; the valid sibling is kept.
    let mixed = request(vec![
        span(vec![9; 15], vec![6; 8], vec![], "short trace id", vec![]),
        span(T1.to_vec(), vec![7; 9], vec![], "long span id", vec![]),
        span(vec![0; 16], vec![8; 8], vec![], "zero trace id", vec![]),
        span(T1.to_vec(), vec![10; 8], vec![2; 8], "valid child", vec![]),
    ]);
    let (s, body) = server
        .post(
            "/v1/traces",
            "application/x-protobuf",
            mixed.encode_to_vec(),
        )
        .await;
    assert_eq!(s, 200);
    let resp = ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
    let partial = resp.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_spans, 3);
    assert!(
        partial
            .error_message
            .contains("trace id must be 16 bytes, got 15"),
        "{}",
        partial.error_message
    );
    let (_, t) = server.get(&format!("/api/v1/traces/{}", hex(&T1))).await;
    assert_eq!(t["span_count"], 2);

    // The same over JSON: partial_success in JSON.
    let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"0101","spanId":"0b0b0b0b0b0b0b0b","name":"bad"},
        {"traceId":"01010101010101010101010101010101","spanId":"0c0c0c0c0c0c0c0c","parentSpanId":"0202020202020202","name":"ok json child","startTimeUnixNano":"1790000000000000000","endTimeUnixNano":"1790000000100000000"}]}]}]}"#;
    let (s, body) = server
        .post("/v1/traces", "application/json", json.as_bytes().to_vec())
        .await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    // int64 may be a JSON number or string (OTLP/JSON); accept either.
    assert_eq!(
        v["partialSuccess"]["rejectedSpans"]
            .to_string()
            .trim_matches('"'),
        "1",
        "{v}"
    );

    // Duplicate spans: re-sending changes nothing.
    for _ in 0..3 {
        let (s, _) = server
            .post("/v1/traces", "application/x-protobuf", good.encode_to_vec())
            .await;
        assert_eq!(s, 200);
    }

    // An orphan span (its parent never arrives) still forms a trace.
    let orphan = request(vec![span(
        vec![0x0d; 16],
        vec![0x0e; 8],
        vec![0x0f; 8],
        "orphan",
        vec![],
    )]);
    let (s, _) = server
        .post(
            "/v1/traces",
            "application/x-protobuf",
            orphan.encode_to_vec(),
        )
        .await;
    assert_eq!(s, 200);
    let (s, t) = server
        .get(&format!("/api/v1/traces/{}", hex(&[0x0d; 16])))
        .await;
    assert_eq!(s, 200);
    assert_eq!(t["name"], "orphan");

    // Invalid gzip, and a gzip bomb that inflates past the limit.
    let resp = server
        .client
        .post(format!("{}/v1/traces", server.base))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(b"not gzip at all".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let resp = server
        .client
        .post(format!("{}/v1/traces", server.base))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "br")
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);

    // The server is up and the first trace is exactly as it was (plus the valid children).
    let (s, _) = server.get("/healthz").await;
    assert_eq!(s, 200);
    let after = baseline(&server).await;
    for k in [
        "llm_calls",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "start_time",
    ] {
        assert_eq!(before[k], after[k], "{k}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_and_large_attributes_are_kept() {
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.max_message_bytes = 60 * 1024 * 1024
    })
    .await;
    // A 50 MB attribute fits under the limit and comes back intact.
    let big = "a".repeat(50 * 1024 * 1024);
    let req = request(vec![span(
        T1.to_vec(),
        vec![2; 8],
        vec![],
        "big",
        vec![kv("blob", any_value::Value::StringValue(big.clone()))],
    )]);
    let (s, _) = server
        .post("/v1/traces", "application/x-protobuf", req.encode_to_vec())
        .await;
    assert_eq!(s, 200);
    let (s, t) = server.get(&format!("/api/v1/traces/{}", hex(&T1))).await;
    assert_eq!(s, 200);
    assert_eq!(
        t["spans"][0]["attributes"]["blob"].as_str().map(str::len),
        Some(big.len())
    );
    // Over the limit: 413, raw and gzip-inflated alike.
    let huge = vec![0u8; 61 * 1024 * 1024];
    let (s, body) = server
        .post("/v1/traces", "application/x-protobuf", huge.clone())
        .await;
    assert_eq!(s, 413, "{}", error_message(&body));
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&huge).unwrap();
        e.finish().unwrap()
    };
    let resp = server
        .client
        .post(format!("{}/v1/traces", server.base))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gz)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_refuses_bad_input_with_status_codes() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.max_message_bytes = 1024 * 1024
    })
    .await;
    let channel = tonic::transport::Endpoint::from_shared(server.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = TraceServiceClient::new(channel).max_encoding_message_size(64 * 1024 * 1024);
    let mixed = request(vec![
        span(vec![1; 3], vec![6; 8], vec![], "bad", vec![]),
        span(T1.to_vec(), vec![2; 8], vec![], "good", llm_attrs()),
    ]);
    let resp = client.export(mixed).await.unwrap().into_inner();
    assert_eq!(resp.partial_success.unwrap().rejected_spans, 1);
    let big = request(vec![span(
        T1.to_vec(),
        vec![3; 8],
        vec![],
        "big",
        vec![kv(
            "b",
            any_value::Value::StringValue("x".repeat(2 * 1024 * 1024)),
        )],
    )]);
    let err = client.export(big).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::OutOfRange, "{err:?}");
    let (_, t) = server.get(&format!("/api/v1/traces/{}", hex(&T1))).await;
    assert_eq!(t["llm_calls"], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_parameters_are_validated() {
    let server = common::start().await;
    for (path, param) in [
        ("/api/v1/traces?limit=0", "limit"),
        ("/api/v1/traces?limit=abc", "limit"),
        ("/api/v1/traces?limit=100000", "limit"),
        ("/api/v1/traces?from=yesterday", "from"),
        (
            "/api/v1/traces?from=2026-11-27T00:00:00Z&to=2026-11-26T00:00:00Z",
            "from",
        ),
        ("/api/v1/traces?status=maybe", "status"),
        ("/api/v1/traces?cursor=garbage", "cursor"),
        ("/api/v1/traces?sevice=typo", "query"),
        ("/api/v1/traces/xyz", "trace_id"),
        ("/api/v1/traces/0101", "trace_id"),
        ("/api/v1/metrics?group_by=planet", "group_by"),
        ("/api/v1/metrics?latency_of=disk", "latency_of"),
        ("/api/v1/logs?trace_id=00", "trace_id"),
        ("/api/v1/traces?q=%FF%FE", "query"),
        ("/api/v1/traces?limit=5&limit=6", "limit"),
    ] {
        let (s, body) = server.get(path).await;
        assert_eq!(s, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{path}: {body}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(param), "{path}: {msg}");
    }
    let (s, body) = server
        .get("/api/v1/traces/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = server.get("/api/v1/nope").await;
    assert_eq!(s, 404, "{body}");
    // Hostile but valid search text is just text.
    let (s, body) = server
        .get("/api/v1/traces?q=%27%3B%20DROP%20TABLE%20spans%3B%20--%25_")
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = server.get("/readyz").await;
    assert_eq!(s, 200);
    server.stop().await;
}
