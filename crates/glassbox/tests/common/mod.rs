//! Shared test harness: a real server on ephemeral loopback ports with a
//! temporary data directory, and helpers to send the shared OTLP fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use glassbox_server::{Config, Running};
use serde_json::Value;

pub struct TestServer {
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
    pub base: String,
    pub grpc: String,
    pub client: reqwest::Client,
}

pub async fn start() -> TestServer {
    start_in(tempfile::tempdir().expect("tempdir"), |_| {}).await
}

pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        http: "127.0.0.1:0".parse().unwrap(),
        grpc: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    tweak(&mut config);
    let running = glassbox_server::start(config).await.expect("server starts");
    let base = format!("http://{}", running.http_addr);
    let grpc = format!("http://{}", running.grpc_addr);
    TestServer {
        running: Some(running),
        dir,
        base,
        grpc,
        client: reqwest::Client::new(),
    }
}

impl TestServer {
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .expect("GET");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        (status, resp.bytes().await.unwrap_or_default().to_vec())
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.dir
    }
}

pub fn fixtures_root() -> PathBuf {
    if let Ok(p) = std::env::var("GLASSBOX_FIXTURES") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/otlp")
}

/// Every `<source>/<scenario>` directory that has a manifest.
pub fn scenarios() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = fixtures_root();
    let mut sources: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| {
            panic!(
                "fixtures at {}: {e} (set GLASSBOX_FIXTURES)",
                root.display()
            )
        })
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sources.sort();
    for s in sources {
        let mut scen: Vec<_> = std::fs::read_dir(&s)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        scen.sort();
        out.extend(
            scen.into_iter()
                .filter(|p| p.join("manifest.json").exists()),
        );
    }
    out
}

pub fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Sends a scenario's files over OTLP/HTTP exactly as the manifest says they were sent.
pub async fn send_http(server: &TestServer, dir: &Path) {
    let m = manifest(dir);
    for f in m["files"].as_array().unwrap() {
        let name = f["file"].as_str().unwrap();
        let body = std::fs::read(dir.join(name)).unwrap();
        let signal = f["signal"].as_str().unwrap();
        // Langfuse posts to its own path; the gRPC captures go to the standard one.
        let path = match f["path"].as_str() {
            Some(p) if p.starts_with('/') && f["transport"] == "http" => p.to_owned(),
            _ => format!("/v1/{signal}"),
        };
        let ct = if name.ends_with(".json") {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        let mut req = server
            .client
            .post(format!("{}{}", server.base, path))
            .header("content-type", ct);
        let body = if f["content_encoding_on_wire"] == "gzip" {
            req = req.header("content-encoding", "gzip");
            gzip(&body)
        } else {
            body
        };
        let resp = req.body(body).send().await.unwrap();
        assert_eq!(
            resp.status().as_u16(),
            200,
            "{}: {:?}",
            dir.join(name).display(),
            resp.text().await
        );
    }
}

/// Sends a scenario's files over OTLP/gRPC (JSON files are decoded first).
pub async fn send_grpc(server: &TestServer, dir: &Path) {
    use opentelemetry_proto::tonic::collector::logs::v1::{
        ExportLogsServiceRequest, logs_service_client::LogsServiceClient,
    };
    use opentelemetry_proto::tonic::collector::metrics::v1::{
        ExportMetricsServiceRequest, metrics_service_client::MetricsServiceClient,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, trace_service_client::TraceServiceClient,
    };
    use prost::Message;
    fn decode<T: Message + Default + serde::de::DeserializeOwned>(name: &str, bytes: &[u8]) -> T {
        if name.ends_with(".json") {
            serde_json::from_slice(bytes).unwrap()
        } else {
            T::decode(bytes).unwrap()
        }
    }
    let channel = tonic::transport::Endpoint::from_shared(server.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let m = manifest(dir);
    for f in m["files"].as_array().unwrap() {
        let name = f["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        match f["signal"].as_str().unwrap() {
            "traces" => {
                let req: ExportTraceServiceRequest = decode(name, &bytes);
                TraceServiceClient::new(channel.clone())
                    .send_compressed(tonic::codec::CompressionEncoding::Gzip)
                    .export(req)
                    .await
                    .unwrap();
            }
            "logs" => {
                let req: ExportLogsServiceRequest = decode(name, &bytes);
                LogsServiceClient::new(channel.clone())
                    .export(req)
                    .await
                    .unwrap();
            }
            "metrics" => {
                let req: ExportMetricsServiceRequest = decode(name, &bytes);
                MetricsServiceClient::new(channel.clone())
                    .export(req)
                    .await
                    .unwrap();
            }
            other => panic!("unknown signal {other}"),
        }
    }
}

/// An OTLP attribute.
pub fn kv(
    key: &str,
    v: opentelemetry_proto::tonic::common::v1::any_value::Value,
) -> opentelemetry_proto::tonic::common::v1::KeyValue {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// A `chat claude-sonnet-4-6` model-call span in GenAI semantic conventions:
/// trace id `[trace; 16]`, span id `[span; 8]`, one second long, with these
/// token counts and `extra` attributes.
pub fn chat_span(
    (trace, span): (u8, u8),
    (input_tokens, output_tokens): (i64, i64),
    extra: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
) -> opentelemetry_proto::tonic::trace::v1::Span {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
    let mut attributes = vec![
        kv("gen_ai.operation.name", Av::StringValue("chat".into())),
        kv(
            "gen_ai.request.model",
            Av::StringValue("claude-sonnet-4-6".into()),
        ),
        kv("gen_ai.usage.input_tokens", Av::IntValue(input_tokens)),
        kv("gen_ai.usage.output_tokens", Av::IntValue(output_tokens)),
    ];
    attributes.extend(extra);
    opentelemetry_proto::tonic::trace::v1::Span {
        trace_id: vec![trace; 16],
        span_id: vec![span; 8],
        name: "chat claude-sonnet-4-6".into(),
        start_time_unix_nano: 1_795_000_000_000_000_000,
        end_time_unix_nano: 1_795_000_001_000_000_000,
        attributes,
        ..Default::default()
    }
}

/// An export request carrying `spans` under one resource and scope.
pub fn trace_request(
    spans: Vec<opentelemetry_proto::tonic::trace::v1::Span>,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Where `phrase` appears in the data dir: plain, or inside a zstd frame.
pub fn phrase_on_disk(dir: &std::path::Path, phrase: &str) -> Vec<String> {
    use std::io::Read;
    let needle = phrase.as_bytes();
    let magic = [0x28, 0xb5, 0x2f, 0xfd];
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            found.push(format!("{name}: plain"));
        }
        for at in (0..bytes.len().saturating_sub(4)).filter(|&i| bytes[i..i + 4] == magic) {
            let mut out = Vec::new();
            if let Ok(d) = zstd::stream::read::Decoder::new(&bytes[at..]) {
                let _ = d.single_frame().take(64 << 20).read_to_end(&mut out);
            }
            if out.windows(needle.len()).any(|w| w == needle) {
                found.push(format!("{name}: zstd frame at {at}"));
            }
        }
    }
    found
}

/// `glassbox audit verify --data-dir DIR` exits 0: the trail in a stopped server's directory is intact.
pub fn assert_audit_verifies(dir: &std::path::Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .output()
        .expect("glassbox runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
