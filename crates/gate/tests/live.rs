//! The live-traffic source against a small fake of the Glassbox API: `GET /api/v1/traces`
//! with two pages joined by `next_cursor`, bearer-key checking, and the real API's strictness
//! about unknown parameters.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::{args, scratch};
use glassbox_gate::stats::SplitMix64;
use glassbox_gate::{Verdict, evaluate_args, execute};
use serde_json::{Value, json};

const KEY: &str = "test-key";
const PAGE: usize = 40;
const KNOWN: [&str; 10] = [
    "include",
    "release",
    "prompt_version",
    "service",
    "limit",
    "cursor",
    "from",
    "to",
    "model",
    "status",
];

#[derive(Clone, Default)]
struct Fake {
    log: Arc<Mutex<Vec<String>>>,
}

/// 60 traces of a release: v2 costs 10% more and its judged helpfulness is 15% lower; one in
/// 60 is an error.
fn traces(release: &str) -> Vec<Value> {
    let (seed, cost, helpful) = match release {
        "v1" => (11, 0.010, 0.80),
        "v2" => (12, 0.011, 0.68),
        _ => return Vec::new(),
    };
    let mut rng = SplitMix64::new(seed);
    (0..60)
        .map(|i| {
            json!({
                "trace_id": format!("{release}-{i:032}"),
                "name": "support_session",
                "duration_ms": 1500.0 * (0.25 * rng.normal()).exp(),
                "input_tokens": 1000 + i,
                "output_tokens": 200,
                "cost_usd": cost * (0.1 * rng.normal()).exp(),
                "status": if i == 17 { "error" } else { "ok" },
                "release": release,
                "pii_findings": 0,
                "scores": [{"id": format!("s{i}"), "name": "helpfulness", "source": "llm_judge",
                            "value": (helpful + 0.05 * rng.normal()).clamp(0.0, 1.0)}],
            })
        })
        .collect()
}

async fn list(
    State(f): State<Fake>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut keys: Vec<_> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    keys.sort();
    f.log.lock().expect("log").push(keys.join("&"));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}"))
    {
        return (StatusCode::UNAUTHORIZED, "no").into_response();
    }
    if let Some(k) = q.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        let body = json!({"error": {"code": "invalid_parameter", "message": format!("unknown parameter {k}")}});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let all = traces(
        q.get("release")
            .or(q.get("prompt_version"))
            .map_or("", String::as_str),
    );
    let all: Vec<Value> = if q.get("include").map(String::as_str) == Some("scores") {
        all
    } else {
        all.into_iter()
            .map(|mut t| {
                t.as_object_mut().map(|o| o.remove("scores"));
                t
            })
            .collect()
    };
    let start = match q.get("cursor").map(String::as_str) {
        None => 0,
        Some("page-2") => PAGE,
        Some(_) => return (StatusCode::BAD_REQUEST, "bad cursor").into_response(),
    };
    let end = (start + PAGE).min(all.len());
    let next = (end < all.len()).then_some("page-2");
    Json(json!({"traces": all.get(start..end).unwrap_or_default(), "next_cursor": next}))
        .into_response()
}

fn server() -> &'static (SocketAddr, Fake) {
    static S: OnceLock<(SocketAddr, Fake)> = OnceLock::new();
    S.get_or_init(|| {
        let fake = Fake::default();
        let state = fake.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(l.local_addr().expect("addr")).expect("send");
                let app = axum::Router::new()
                    .route("/api/v1/traces", get(list))
                    .with_state(state);
                axum::serve(l, app).await.expect("serve");
            });
        });
        (rx.recv().expect("server address"), fake)
    })
}

fn policy(name: &str, yaml: &str) -> String {
    let path = scratch(name).join("live.yaml");
    std::fs::write(&path, yaml).expect("write policy");
    path.display().to_string()
}

const LIVE_POLICY: &str = "min_samples: 30
rules:
  - cost_per_item <= baseline * 1.5
  - latency_p95_ms <= 5000
  - error_rate <= 0.2
  - pii_findings == 0
  - tokens_per_item <= baseline + 100
";

#[test]
fn compares_two_releases_over_paged_traffic() {
    let (addr, fake) = server();
    let p = policy("live-ok", LIVE_POLICY);
    let url = format!("http://{addr}");
    let a = args([
        "--policy",
        &p,
        "--baseline",
        "release=v1",
        "--candidate",
        "release=v2",
        "--server",
        &url,
        "--api-key",
        KEY,
        "--from",
        "2026-05-01T00:00:00Z",
        "--to",
        "2026-05-08T00:00:00Z",
    ]);
    let r = evaluate_args(&a).expect("evaluates");
    println!(
        "{}",
        glassbox_gate::render(&r, glassbox_gate::Format::Table)
    );
    assert_eq!(
        (r.baseline.items, r.candidate.items),
        (60, 60),
        "both pages read"
    );
    assert!(
        r.outcomes.iter().all(|o| o.verdict == Verdict::Pass),
        "{}",
        r.summary
    );
    assert_eq!(r.outcomes[2].n_candidate, 60);
    assert!((r.outcomes[2].candidate_value.expect("rate") - 1.0 / 60.0).abs() < 1e-12);
    assert_eq!(execute(&a), 0);
    let log = fake.log.lock().expect("log").clone();
    assert!(
        log.contains(
            &"from=2026-05-01T00:00:00Z&include=scores&limit=1000&release=v2&to=2026-05-08T00:00:00Z".to_owned()
        ),
        "{log:?}"
    );
    assert!(log.contains(
        &"cursor=page-2&from=2026-05-01T00:00:00Z&include=scores&limit=1000&release=v2&to=2026-05-08T00:00:00Z".to_owned()
    ), "{log:?}");
}

#[test]
fn scores_of_live_traffic_are_gated_and_a_score_nobody_writes_cannot_be() {
    let (addr, _) = server();
    let p = policy(
        "live-quality",
        "quality_score: correctness\nrules: [quality >= baseline * 0.95, pii_findings == 0, \
         score.helpfulness >= baseline * 0.95]\n",
    );
    let url = format!("http://{addr}");
    let a = args([
        "--policy",
        &p,
        "--baseline",
        "prompt_version=v1",
        "--candidate",
        "prompt_version=v2",
        "--server",
        &url,
        "--api-key",
        KEY,
    ]);
    let r = evaluate_args(&a).expect("evaluates");
    assert_eq!(r.outcomes[0].verdict, Verdict::Error);
    assert!(
        r.outcomes[0].message.contains(
            "could not evaluate: no trace of prompt_version=v2 has a score `correctness`"
        ),
        "{}",
        r.outcomes[0].message
    );
    assert_eq!(r.outcomes[1].verdict, Verdict::Pass);
    assert_eq!(
        r.outcomes[2].verdict,
        Verdict::Fail,
        "{}",
        r.outcomes[2].message
    );
    assert_eq!(r.outcomes[2].n_candidate, 60);
    // A failed rule is definite, so it decides the exit code over the unevaluable one.
    assert_eq!(r.exit_code, 1);
    assert_eq!(execute(&a), 1);
}

#[test]
fn server_problems_exit_2_with_advice() {
    let (addr, _) = server();
    let p = policy("live-errors", LIVE_POLICY);
    let url = format!("http://{addr}");
    let run = |extra: &[&str]| {
        let mut v = vec!["--policy", &p, "--candidate", "release=v2"];
        v.extend_from_slice(extra);
        let a = args(v);
        let e = evaluate_args(&a).expect_err("cannot evaluate").to_string();
        assert_eq!(execute(&a), 2);
        e
    };
    let e = run(&[
        "--baseline",
        "release=v1",
        "--server",
        &url,
        "--api-key",
        "wrong",
    ]);
    assert!(
        e.contains("refused") && e.contains("GLASSBOX_API_KEY"),
        "{e}"
    );
    let e = run(&[
        "--baseline",
        "release=v0",
        "--server",
        &url,
        "--api-key",
        KEY,
    ]);
    assert!(e.contains("no traces match release=v0"), "{e}");
    let e = run(&[
        "--baseline",
        "release=v1,session=s1",
        "--server",
        &url,
        "--api-key",
        KEY,
    ]);
    assert!(
        e.contains("400") && e.contains("unknown parameter session"),
        "{e}"
    );
    let e = run(&[
        "--baseline",
        "release=v1",
        "--server",
        &url,
        "--api-key",
        KEY,
        "--from",
        "yesterday",
    ]);
    assert!(e.contains("RFC 3339"), "{e}");
    // A port nobody listens on (bound, then released).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let e = run(&[
        "--baseline",
        "release=v1",
        "--server",
        &format!("http://{closed}"),
    ]);
    assert!(
        e.contains("could not reach") && e.contains("glassbox serve"),
        "{e}"
    );
}
