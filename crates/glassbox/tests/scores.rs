//! Scores over the real API: recorded against stored traces (never orphans),
//! listed and filtered, shown in the trace, aggregated in the metrics with
//! pass rates, arriving in OTLP as GenAI evaluation events, and covered by
//! the audit trail.

mod common;

use common::{TestServer, kv};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
use opentelemetry_proto::tonic::trace::v1::{Span, span::Event};
use prost::Message;
use serde_json::{Value, json};

async fn post(server: &TestServer, body: Value) -> (u16, Value) {
    let resp = server
        .client
        .post(format!("{}/api/v1/scores", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    )
}

fn trace(id: u8, release: &str, with_eval: bool) -> Span {
    let mut events = Vec::new();
    if with_eval {
        events.push(Event {
            time_unix_nano: 1_795_000_000_900_000_000,
            name: "gen_ai.evaluation.result".into(),
            attributes: vec![
                kv(
                    "gen_ai.evaluation.name",
                    Av::StringValue("relevance".into()),
                ),
                kv("gen_ai.evaluation.score.value", Av::DoubleValue(0.75)),
                kv(
                    "gen_ai.evaluation.explanation",
                    Av::StringValue("mostly on topic".into()),
                ),
            ],
            ..Default::default()
        });
    }
    Span {
        events,
        ..common::chat_span(
            (id, id),
            (10, 2),
            vec![kv("service.version", Av::StringValue(release.into()))],
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_are_recorded_listed_aggregated_and_audited() {
    let server = common::start().await;
    let spans = vec![
        trace(1, "v1", true),
        trace(2, "v1", false),
        trace(3, "v2", false),
    ];
    let (status, _) = server
        .post(
            "/v1/traces",
            "application/x-protobuf",
            common::trace_request(spans).encode_to_vec(),
        )
        .await;
    assert_eq!(status, 200);
    let t1 = "01".repeat(16);

    // Recorded: 201 with the stored score.
    let (status, s) = post(&server, json!({"trace_id": t1, "name": "correctness", "value": 0.9, "source": "human", "comment": "good", "author": "ana"})).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["name"], "correctness");
    assert_eq!(s["value"], 0.9);
    assert_eq!(s["source"], "human");
    assert_eq!(s["author"], "ana");
    assert!(s["id"].as_str().unwrap().starts_with("score-"));
    assert!(s["created_at"].as_str().unwrap().ends_with('Z'));
    let (status, _) = post(&server, json!({"trace_id": "02".repeat(16), "span_id": "02".repeat(8), "name": "correctness", "value": false, "source": "rule"})).await;
    assert_eq!(status, 201);
    let (status, _) = post(&server, json!({"trace_id": "03".repeat(16), "name": "correctness", "value": 0.4, "source": "llm_judge"})).await;
    assert_eq!(status, 201);
    let (status, _) = post(
        &server,
        json!({"trace_id": t1, "name": "tone", "value": "friendly"}),
    )
    .await;
    assert_eq!(status, 201);

    // Refused, each with the field named.
    for (body, code, field) in [
        (
            json!({"trace_id": "0f".repeat(16), "name": "x", "value": 1}),
            404,
            "trace",
        ),
        (
            json!({"trace_id": t1, "span_id": "0e".repeat(8), "name": "x", "value": 1}),
            404,
            "span",
        ),
        (
            json!({"trace_id": "nothex", "name": "x", "value": 1}),
            400,
            "trace_id",
        ),
        (json!({"trace_id": t1, "value": 1}), 400, "name"),
        (json!({"trace_id": t1, "name": "x"}), 400, "value"),
        (
            json!({"trace_id": t1, "name": "x", "value": [1]}),
            400,
            "value",
        ),
        (
            json!({"trace_id": t1, "name": "x", "value": 1, "source": "oracle"}),
            400,
            "source",
        ),
        (json!([1, 2]), 400, "body"),
    ] {
        let (status, err) = post(&server, body.clone()).await;
        assert_eq!(status, code, "{body} → {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(field),
            "{body} → {err}"
        );
    }
    let resp = server
        .client
        .post(format!("{}/api/v1/scores", server.base))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // Listed and filtered; the OTLP evaluation event is there as an sdk score.
    let (_, all) = server.get("/api/v1/scores").await;
    assert_eq!(all["scores"].as_array().unwrap().len(), 5, "{all}");
    let (_, sdk) = server.get("/api/v1/scores?source=sdk").await;
    let sdk = &sdk["scores"][0];
    assert_eq!(
        (sdk["name"].as_str(), sdk["value"].as_f64()),
        (Some("relevance"), Some(0.75))
    );
    assert_eq!(sdk["comment"], "mostly on topic");
    assert_eq!(sdk["span_id"], "01".repeat(8));
    let (_, by) = server
        .get(&format!("/api/v1/scores?trace_id={t1}&name=correctness"))
        .await;
    assert_eq!(by["scores"].as_array().unwrap().len(), 1);
    let (status, _) = server.get("/api/v1/scores?source=oracle").await;
    assert_eq!(status, 400);

    // In the trace detail.
    let (_, detail) = server.get(&format!("/api/v1/traces/{t1}")).await;
    let names: Vec<&str> = detail["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(detail.get("scores").is_some_and(Value::is_array));

    // In the trace list on request (the release gate's live side reads them so).
    let (_, list) = server.get("/api/v1/traces?include=scores").await;
    let row = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trace_id"] == t1.as_str())
        .unwrap();
    assert_eq!(row["scores"].as_array().unwrap().len(), 3, "{row}");
    let (_, list) = server.get("/api/v1/traces").await;
    assert!(list["traces"][0].get("scores").is_none());
    let (status, e) = server.get("/api/v1/traces?include=spans").await;
    assert_eq!(status, 400);
    assert!(e.to_string().contains("include=scores"), "{e}");

    // Aggregated per group, with pass rates against thresholds.
    let (status, m) = server
        .get("/api/v1/metrics?group_by=release&thresholds=correctness:0.8")
        .await;
    assert_eq!(status, 200, "{m}");
    let group = |k: &str| {
        m["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == k)
            .unwrap()
            .clone()
    };
    let v1 = group("v1");
    assert_eq!(v1["scores"]["correctness"]["count"], 2);
    assert!((v1["scores"]["correctness"]["mean"].as_f64().unwrap() - 0.45).abs() < 1e-9);
    assert_eq!(v1["scores"]["correctness"]["pass_rate"], 0.5);
    assert_eq!(
        v1["scores"]["relevance"]["pass_rate"],
        Value::Null,
        "no threshold given"
    );
    assert_eq!(group("v2")["scores"]["correctness"]["pass_rate"], 0.0);
    assert_eq!(m["total"]["scores"]["correctness"]["count"], 3);
    let (status, _) = server.get("/api/v1/metrics?thresholds=correctness").await;
    assert_eq!(status, 400);

    // The UI shows them on the trace.
    let html = server
        .client
        .get(format!(
            "{}/traces/{t1}?span={}",
            server.base,
            "01".repeat(8)
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-score=\"relevance\""),
        "span score in the panel"
    );
    assert!(
        html.contains("data-score=\"correctness\""),
        "trace score in the header"
    );

    // Covered by the audit trail: a changed score is found.
    let dir = server.stop().await;
    let verify = |d: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["audit", "verify", "--data-dir"])
            .arg(d)
            .output()
            .unwrap()
    };
    assert!(verify(dir.path()).status.success());
    rusqlite::Connection::open(dir.path().join("glassbox.db"))
        .unwrap()
        .execute_batch(
            "UPDATE scores SET value_num = 1.0 WHERE name = 'correctness' AND value_num = 0.4",
        )
        .unwrap();
    let out = verify(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("scores rows"));
}
