//! Access control end to end, over real HTTP and gRPC: every route refuses
//! every role it should (and no key, a wrong key, a revoked key); each
//! project sees only its own data, in the API and the UI; auditor content
//! reads are themselves audited; a non-loopback bind needs no flag once
//! authentication is on.

mod common;

use std::path::Path;

use common::{TestServer, kv};
use glassbox_store::sqlite::keys::{self, KeyChange, KeyOutcome};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

const ROLES: [&str; 5] = ["ingest", "viewer", "engineer", "auditor", "admin"];

/// Creates a key offline (no server running), as `glassbox keys create` does.
fn create_key(dir: &Path, project: &str, role: &str) -> (i64, String) {
    let change = KeyChange::Create {
        project: project.into(),
        role: role.into(),
        name: Some(format!("{project}-{role}")),
    };
    match keys::change_offline(dir, &change).unwrap() {
        KeyOutcome::Created { key, secret } => (key.id, secret),
        KeyOutcome::Revoked(_) => unreachable!(),
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn trace_body(trace: u8, name: &str) -> Vec<u8> {
    common::trace_request(vec![Span {
        trace_id: vec![trace; 16],
        span_id: vec![1; 8],
        name: name.into(),
        start_time_unix_nano: 1_795_000_000_000_000_000 + u64::from(trace),
        end_time_unix_nano: 1_795_000_001_000_000_000,
        attributes: vec![
            kv("gen_ai.operation.name", Av::StringValue("chat".into())),
            kv("gen_ai.request.model", Av::StringValue("claude-sonnet-4-6".into())),
            kv("gen_ai.usage.input_tokens", Av::IntValue(12)),
            kv("gen_ai.usage.output_tokens", Av::IntValue(3)),
            kv("session.id", Av::StringValue(format!("session-{trace}"))),
            kv(
                "gen_ai.input.messages",
                Av::StringValue(
                    serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": format!("hello from {name}")}]}])
                        .to_string(),
                ),
            ),
        ],
        ..Default::default()
    }])
    .encode_to_vec()
}

fn log_body(trace: u8, event: &str) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_795_000_000_500_000_000,
                    event_name: event.into(),
                    trace_id: vec![trace; 16],
                    body: Some(AnyValue {
                        value: Some(Av::StringValue(format!("log of {event}"))),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn metric_body(name: &str, value: i64) -> Vec<u8> {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 1_795_000_000_000_000_000,
                            value: Some(number_data_point::Value::AsInt(value)),
                            ..Default::default()
                        }],
                        aggregation_temporality: 1,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

async fn send(server: &TestServer, key: &str, path: &str, body: Vec<u8>) -> u16 {
    server
        .client
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(key)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    Open,
    Ingest,
    Read,
    Evaluate,
    Audit,
    Admin,
}

fn role_may(role: &str, need: Need) -> bool {
    match need {
        Need::Open => true,
        Need::Ingest => matches!(role, "ingest" | "admin"),
        Need::Read => role != "ingest",
        Need::Evaluate => matches!(role, "engineer" | "admin"),
        Need::Audit => matches!(role, "auditor" | "admin"),
        Need::Admin => role == "admin",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_every_role_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = std::collections::BTreeMap::new();
    for role in ROLES {
        keys.insert(role, create_key(dir.path(), "default", role).1);
    }
    let (revoked_id, revoked) = create_key(dir.path(), "default", "admin");
    keys::change_offline(dir.path(), &KeyChange::Revoke { id: revoked_id }).unwrap();
    let server = common::start_in(dir, |_| {}).await;
    assert_eq!(
        send(
            &server,
            &keys["ingest"],
            "/v1/traces",
            trace_body(7, "seed")
        )
        .await,
        200
    );
    let trace = "07".repeat(16);

    let empty = Vec::new();
    let routes: Vec<(&str, String, Need, Vec<u8>)> = vec![
        ("GET", "/healthz".into(), Need::Open, empty.clone()),
        ("GET", "/readyz".into(), Need::Open, empty.clone()),
        ("GET", "/login".into(), Need::Open, empty.clone()),
        ("GET", "/assets/app.css".into(), Need::Open, empty.clone()),
        (
            "POST",
            "/v1/traces".into(),
            Need::Ingest,
            trace_body(8, "x"),
        ),
        ("POST", "/v1/metrics".into(), Need::Ingest, empty.clone()),
        ("POST", "/v1/logs".into(), Need::Ingest, empty.clone()),
        (
            "POST",
            "/api/public/otel/v1/traces".into(),
            Need::Ingest,
            empty.clone(),
        ),
        ("GET", "/api/v1/traces".into(), Need::Read, empty.clone()),
        (
            "GET",
            format!("/api/v1/traces/{trace}"),
            Need::Read,
            empty.clone(),
        ),
        (
            "GET",
            "/api/v1/sessions/session-7".into(),
            Need::Read,
            empty.clone(),
        ),
        ("GET", "/api/v1/metrics".into(), Need::Read, empty.clone()),
        ("GET", "/api/v1/logs".into(), Need::Read, empty.clone()),
        (
            "GET",
            "/api/v1/otel-metrics/some.metric".into(),
            Need::Read,
            empty.clone(),
        ),
        ("GET", "/traces".into(), Need::Read, empty.clone()),
        ("GET", format!("/traces/{trace}"), Need::Read, empty.clone()),
        (
            "GET",
            format!("/traces/{trace}/spans/{}", "01".repeat(8)),
            Need::Read,
            empty.clone(),
        ),
        (
            "GET",
            "/sessions/session-7".into(),
            Need::Read,
            empty.clone(),
        ),
        ("GET", "/dashboards".into(), Need::Read, empty.clone()),
        (
            "POST",
            "/api/v1/scores".into(),
            Need::Evaluate,
            empty.clone(),
        ),
        (
            "GET",
            "/api/v1/audit/verify".into(),
            Need::Audit,
            empty.clone(),
        ),
        (
            "GET",
            "/api/v1/audit/entries?limit=5".into(),
            Need::Audit,
            empty.clone(),
        ),
        (
            "GET",
            "/api/v1/admin/keys".into(),
            Need::Admin,
            empty.clone(),
        ),
        (
            "POST",
            "/api/v1/admin/keys/999999/revoke".into(),
            Need::Admin,
            empty.clone(),
        ),
        (
            "POST",
            "/api/v1/admin/keys/rotate".into(),
            Need::Admin,
            empty.clone(),
        ),
        (
            "POST",
            "/api/v1/admin/keys".into(),
            Need::Admin,
            b"{\"project\":\"p\",\"role\":\"viewer\"}".to_vec(),
        ),
        // Any other write is admin-only (deny by default).
        ("POST", "/api/v1/traces".into(), Need::Admin, empty.clone()),
    ];
    let client = no_redirects();
    let mut creds: Vec<(&str, Option<String>)> = vec![
        ("none", None),
        ("wrong", Some(format!("gbx_{}", "0".repeat(64)))),
        ("revoked", Some(revoked.clone())),
    ];
    for role in ROLES {
        creds.push((role, Some(keys[role].clone())));
    }
    let mut failures = Vec::new();
    for (method, path, need, body) in &routes {
        for (who, key) in &creds {
            let mut req = client.request(method.parse().unwrap(), format!("{}{path}", server.base));
            if path.starts_with("/v1/") || path.starts_with("/api/public") {
                req = req.header("content-type", "application/x-protobuf");
            } else if *method == "POST" {
                req = req.header("content-type", "application/json");
            }
            if let Some(k) = key {
                req = if path.starts_with("/api/public") {
                    // The Langfuse SDK: Basic auth, the key as the password.
                    req.basic_auth("pk-lf-anything", Some(k))
                } else {
                    req.bearer_auth(k)
                };
            }
            let resp = req.body(body.clone()).send().await.unwrap();
            let status = resp.status().as_u16();
            let www = resp.headers().get("www-authenticate").is_some();
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let ui = !path.starts_with("/api/") && !path.starts_with("/v1/");
            let expected_ok = match (*who, *need) {
                (_, Need::Open) => true,
                ("none" | "wrong" | "revoked", _) => false,
                (role, need) => role_may(role, need),
            };
            let ok = if expected_ok {
                !matches!(status, 401 | 403)
            } else if matches!(*who, "none" | "wrong" | "revoked") {
                if ui && *method == "GET" {
                    status == 303 && location.starts_with("/login?next=")
                } else {
                    status == 401 && www
                }
            } else {
                status == 403
            };
            if !ok {
                failures.push(format!("{method} {path} as {who}: {status} {location}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A few exact answers for the allowed case.
    let (s, body) = get_as(&server, &keys["viewer"], "/api/v1/traces").await;
    assert_eq!(s, 200);
    assert_eq!(body["traces"].as_array().map(Vec::len), Some(2), "{body}");
    let (s, body) = get_as(&server, &keys["auditor"], "/api/v1/audit/verify").await;
    assert_eq!((s, body["intact"].as_bool()), (200, Some(true)), "{body}");
    let unauth = server
        .client
        .get(format!("{}/api/v1/traces", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
    assert_eq!(
        unauth.headers()["www-authenticate"],
        "Bearer realm=\"glassbox\""
    );
    let err: serde_json::Value = unauth.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unauthenticated", "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing API key"),
        "{err}"
    );
    // x-api-key works too.
    let resp = server
        .client
        .get(format!("{}/api/v1/traces", server.base))
        .header("x-api-key", &keys["viewer"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // Keys created and revoked through the admin API take effect at once.
    let resp = server
        .client
        .post(format!("{}/api/v1/admin/keys", server.base))
        .bearer_auth(&keys["admin"])
        .json(&serde_json::json!({"project": "default", "role": "viewer", "name": "temp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["key"]["id"].as_i64().unwrap();
    assert_eq!(get_as(&server, &secret, "/api/v1/traces").await.0, 200);
    let resp = server
        .client
        .post(format!("{}/api/v1/admin/keys/{id}/revoke", server.base))
        .bearer_auth(&keys["admin"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(get_as(&server, &secret, "/api/v1/traces").await.0, 401);
    let (_, listed) = get_as(&server, &keys["admin"], "/api/v1/admin/keys").await;
    let text = listed.to_string();
    assert!(!text.contains(&secret[4..]), "a list never shows secrets");
    // Both key events are in the audit trail.
    let (_, entries) = get_as(&server, &keys["auditor"], "/api/v1/audit/entries").await;
    let events: Vec<String> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["about"]["event"].as_str().map(str::to_owned))
        .collect();
    assert!(events.contains(&"api key created".to_owned()), "{events:?}");
    assert!(events.contains(&"api key revoked".to_owned()), "{events:?}");
    server.stop().await;
}

async fn get_as(server: &TestServer, key: &str, path: &str) -> (u16, serde_json::Value) {
    let resp = server
        .client
        .get(format!("{}{path}", server.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_ingest_needs_an_ingest_key() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let dir = tempfile::tempdir().unwrap();
    let (_, ingest) = create_key(dir.path(), "grpc-project", "ingest");
    let (_, viewer) = create_key(dir.path(), "grpc-project", "viewer");
    let server = common::start_in(dir, |_| {}).await;
    let channel = tonic::transport::Endpoint::from_shared(server.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let export = |key: Option<String>| {
        let channel = channel.clone();
        async move {
            let body = ExportTraceServiceRequest::decode(trace_body(3, "grpc").as_slice()).unwrap();
            let mut req = tonic::Request::new(body);
            if let Some(k) = key {
                req.metadata_mut()
                    .insert("authorization", format!("Bearer {k}").parse().unwrap());
            }
            TraceServiceClient::new(channel).export(req).await
        }
    };
    assert_eq!(
        export(None).await.unwrap_err().code(),
        tonic::Code::Unauthenticated
    );
    assert_eq!(
        export(Some(format!("gbx_{}", "1".repeat(64))))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::Unauthenticated
    );
    assert_eq!(
        export(Some(viewer.clone())).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    export(Some(ingest)).await.unwrap();
    // The span landed in the key's project.
    let (s, body) = get_as(
        &server,
        &viewer,
        &format!("/api/v1/traces/{}", "03".repeat(16)),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(server.dir.path().join("projects/grpc-project").is_dir());
    server.stop().await;
}

/// Signs in to the UI; returns the session cookie (`name=value`).
async fn login(server: &TestServer, key: &str) -> String {
    let resp = no_redirects()
        .post(format!("{}/login", server.base))
        .form(&[("key", key), ("next", "/traces")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/traces");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_owned()
}

async fn page(server: &TestServer, cookie: &str, path: &str) -> (u16, String) {
    let resp = no_redirects()
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_see_only_their_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ingest_a) = create_key(dir.path(), "alpha", "ingest");
    let (_, ingest_b) = create_key(dir.path(), "beta", "ingest");
    let (_, viewer_a) = create_key(dir.path(), "alpha", "viewer");
    let (_, viewer_b) = create_key(dir.path(), "beta", "viewer");
    let (_, ingest_only) = create_key(dir.path(), "alpha", "ingest");
    let server = common::start_in(dir, |_| {}).await;
    let ta = "0a".repeat(16);
    let tb = "0b".repeat(16);
    for (key, trace, name) in [(&ingest_a, 0x0a, "alpha"), (&ingest_b, 0x0b, "beta")] {
        assert_eq!(
            send(&server, key, "/v1/traces", trace_body(trace, name)).await,
            200
        );
        assert_eq!(
            send(&server, key, "/v1/logs", log_body(trace, name)).await,
            200
        );
        assert_eq!(
            send(
                &server,
                key,
                "/v1/metrics",
                metric_body("agent.runs", if name == "alpha" { 5 } else { 7 })
            )
            .await,
            200
        );
    }
    for (key, mine, theirs, value) in [(&viewer_a, &ta, &tb, 5.0), (&viewer_b, &tb, &ta, 7.0)] {
        let (_, list) = get_as(&server, key, "/api/v1/traces").await;
        let ids: Vec<&str> = list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["trace_id"].as_str())
            .collect();
        assert_eq!(ids, vec![mine.as_str()], "{list}");
        assert_eq!(
            get_as(&server, key, &format!("/api/v1/traces/{mine}"))
                .await
                .0,
            200
        );
        // Another project's trace is not found (ids do not leak), not forbidden.
        assert_eq!(
            get_as(&server, key, &format!("/api/v1/traces/{theirs}"))
                .await
                .0,
            404
        );
        let (_, logs) = get_as(&server, key, "/api/v1/logs").await;
        assert_eq!(logs["logs"].as_array().map(Vec::len), Some(1), "{logs}");
        assert_eq!(
            logs["logs"][0]["trace_id"].as_str(),
            Some(mine.as_str()),
            "{logs}"
        );
        let (_, m) = get_as(&server, key, "/api/v1/otel-metrics/agent.runs").await;
        assert_eq!(m["total"]["value"].as_f64(), Some(value), "{m}");
        let (_, metrics) = get_as(&server, key, "/api/v1/metrics").await;
        assert_eq!(metrics["total"]["traces"].as_u64(), Some(1), "{metrics}");
    }

    // The UI: sign in, see your project's traces only, and who you are.
    let (status, _) = page(&server, "", "/traces").await;
    assert_eq!(status, 303, "no session: to the sign-in page");
    let cookie = login(&server, &viewer_a).await;
    let (status, html) = page(&server, &cookie, "/traces").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&ta) && !html.contains(&tb),
        "only alpha's trace"
    );
    assert!(html.contains("data-project=\"alpha\"") && html.contains("data-role=\"viewer\""));
    assert_eq!(
        page(&server, &cookie, &format!("/traces/{tb}")).await.0,
        404
    );
    assert_eq!(
        page(&server, &cookie, &format!("/traces/{ta}")).await.0,
        200
    );
    let cookie_b = login(&server, &viewer_b).await;
    let (_, html) = page(&server, &cookie_b, "/traces").await;
    assert!(
        html.contains(&tb) && !html.contains(&ta),
        "only beta's trace"
    );
    // The cookie is good for reading only: no writes with it (CSRF).
    let resp = no_redirects()
        .post(format!("{}/api/v1/admin/keys/rotate", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // An ingest key cannot sign in; a wrong key neither.
    for (key, status) in [(ingest_only.as_str(), 403), ("gbx_nope", 401)] {
        let resp = no_redirects()
            .post(format!("{}/login", server.base))
            .form(&[("key", key), ("next", "/traces")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert!(resp.headers().get("set-cookie").is_none());
    }
    // Signing out ends the session.
    let resp = no_redirects()
        .get(format!("{}/logout", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(page(&server, &cookie, "/traces").await.0, 303);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_content_reads_are_audited() {
    let keys_dir = tempfile::tempdir().unwrap();
    let master = keys_dir.path().join("master");
    std::fs::write(&master, "33".repeat(32)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, ingest) = create_key(dir.path(), "default", "ingest");
    let (auditor_id, auditor) = create_key(dir.path(), "default", "auditor");
    let (_, viewer) = create_key(dir.path(), "default", "viewer");
    let server = common::start_in(dir, |c| c.encryption.master_key_file = Some(master)).await;
    assert_eq!(
        send(&server, &ingest, "/v1/traces", trace_body(5, "sealed")).await,
        200
    );
    let trace = "05".repeat(16);
    let content_reads = |entries: &serde_json::Value| -> Vec<serde_json::Value> {
        entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["about"]["event"] == "content read")
            .map(|e| e["about"].clone())
            .collect()
    };
    // A viewer's read is not an auditor's read.
    assert_eq!(
        get_as(&server, &viewer, &format!("/api/v1/traces/{trace}"))
            .await
            .0,
        200
    );
    let (_, before) = get_as(&server, &auditor, "/api/v1/audit/entries").await;
    assert!(content_reads(&before).is_empty(), "{before}");
    let (s, body) = get_as(&server, &auditor, &format!("/api/v1/traces/{trace}")).await;
    assert_eq!(s, 200);
    assert!(body.to_string().contains("hello from sealed"), "decrypted");
    let (_, after) = get_as(&server, &auditor, "/api/v1/audit/entries").await;
    let reads = content_reads(&after);
    assert_eq!(reads.len(), 1, "{after}");
    assert_eq!(reads[0]["key_id"].as_i64(), Some(auditor_id));
    assert_eq!(reads[0]["what"], format!("trace {trace}"));
    assert_eq!(reads[0]["role"], "auditor");
    let (_, verified) = get_as(&server, &auditor, "/api/v1/audit/verify").await;
    assert_eq!(verified["intact"], true, "{verified}");
    let dir = server.stop().await;
    common::assert_audit_verifies(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_cli_and_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    // Without keys, a non-loopback bind is refused…
    let open = glassbox_server::start(glassbox_server::Config {
        data_dir: dir.path().to_path_buf(),
        http: "0.0.0.0:0".parse().unwrap(),
        grpc: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await;
    assert!(open.is_err());
    let out = cli(&[
        "keys",
        "create",
        "--project",
        "default",
        "--role",
        "admin",
        "--name",
        "ops",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(admin.starts_with("gbx_") && admin.len() == 68, "{admin}");
    assert!(
        !cli(&[
            "keys",
            "create",
            "--project",
            "Bad/Name",
            "--role",
            "viewer"
        ])
        .status
        .success()
    );
    assert!(
        !cli(&["keys", "create", "--project", "p", "--role", "superuser"])
            .status
            .success()
    );
    // …and allowed once authentication is on.
    let running = glassbox_server::start(glassbox_server::Config {
        data_dir: dir.path().to_path_buf(),
        http: "0.0.0.0:0".parse().unwrap(),
        grpc: "0.0.0.0:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .expect("non-loopback bind with API keys");
    let base = format!("http://127.0.0.1:{}", running.http_addr.port());
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/v1/traces"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/v1/traces"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // While the server runs, the CLI refuses to change keys (the audit chain
    // has one writer) and points at the admin API; listing works.
    let out = cli(&["keys", "create", "--project", "default", "--role", "viewer"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/api/v1/admin/keys"));
    let out = cli(&["keys", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listed.contains("admin") && listed.contains("ops"),
        "{listed}"
    );
    assert!(!listed.contains(&admin[4..]), "no secrets in lists");
    running.shutdown().await;
    let out = cli(&["keys", "revoke", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["keys", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked"));
    common::assert_audit_verifies(dir.path());
}
