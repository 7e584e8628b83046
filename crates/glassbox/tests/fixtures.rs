//! Ground truth from real instrumentation: every scenario under
//! `shared/fixtures/otlp/` is sent through the real receivers (HTTP as
//! captured, then gRPC), and the API must report the manifest's numbers.

mod common;

use std::path::Path;

use glassbox_model::{ModelCall, Tokens};
use glassbox_pipeline::PriceTable;
use serde_json::Value;

/// Sources whose instrumentation marks tool executions as such (Logfire and
/// plain OpenLLMetry record tools only as application-named spans, or not at all).
const TRACES_TOOLS: &[&str] = &[
    "claude-code-grpc",
    "claude-code-json",
    "claude-code-protobuf",
    "openinference",
    "langfuse",
    "langfuse-openllmetry",
    "traceloop-sdk",
];

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// The cost the price table gives for the manifest's per-model token sums.
fn expected_cost_pico(gt: &Value) -> i128 {
    let table = PriceTable::bundled().unwrap();
    let now = 1_795_000_000_000_000_000; // 2026-11, when the fixtures were captured
    let mut total = 0i128;
    for (model, m) in gt["by_model"].as_object().unwrap() {
        let call = ModelCall {
            response_model: Some(model.clone()),
            has_usage: true,
            tokens: Tokens {
                input: u(&m["input_tokens"]),
                output: u(&m["output_tokens"]),
                cache_read: u(&m["cache_read_input_tokens"]),
                cache_write: u(&m["cache_creation_input_tokens"]),
                ..Tokens::default()
            },
            ..ModelCall::default()
        };
        let amount = table
            .cost(&call, now)
            .amount()
            .unwrap_or_else(|| panic!("no price for {model}"));
        total += i128::from(amount.0);
    }
    total
}

/// The sum of one histogram metric's points in one OTLP metrics file.
fn histogram_sum(path: &Path, name: &str) -> f64 {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use prost::Message;
    let req = ExportMetricsServiceRequest::decode(std::fs::read(path).unwrap().as_slice()).unwrap();
    let mut total = 0.0;
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            for m in sm.metrics.iter().filter(|m| m.name == name) {
                if let Some(Data::Histogram(h)) = &m.data {
                    total += h.data_points.iter().filter_map(|p| p.sum).sum::<f64>();
                }
            }
        }
    }
    total
}

async fn check(server: &common::TestServer, dir: &Path, transport: &str) -> Vec<String> {
    let m = common::manifest(dir);
    let gt = &m["ground_truth"];
    let source = m["source"].as_str().unwrap();
    let label = format!(
        "{source}/{} via {transport}",
        m["scenario"].as_str().unwrap()
    );
    let mut problems = Vec::new();
    let mut expect = |what: &str, ok: bool, detail: String| {
        if !ok {
            problems.push(format!("{label}: {what}: {detail}"));
        }
    };
    let (status, metrics) = server.get("/api/v1/metrics?group_by=model").await;
    assert_eq!(status, 200, "{metrics}");
    let total = &metrics["total"];
    let usage = &gt["usage"];
    for (api, truth) in [
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
        ("cache_read_tokens", "cache_read_input_tokens"),
        ("cache_write_tokens", "cache_creation_input_tokens"),
    ] {
        expect(
            api,
            u(&total[api]) == u(&usage[truth]),
            format!("got {} want {}", total[api], usage[truth]),
        );
    }
    let calls = u(&total["llm_calls"]);
    let (lo, hi) = (u(&gt["llm_calls_succeeded"]), u(&gt["llm_calls"]));
    expect(
        "llm_calls",
        (lo..=hi).contains(&calls),
        format!("got {calls}, want {lo}..={hi}"),
    );
    let mut models: Vec<String> = metrics["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| u(&g["input_tokens"]) + u(&g["output_tokens"]) > 0)
        .filter_map(|g| g["key"].as_str().map(str::to_owned))
        .collect();
    models.sort();
    let mut want: Vec<String> = gt["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    want.sort();
    expect(
        "models",
        models == want,
        format!("got {models:?} want {want:?}"),
    );
    for g in metrics["groups"].as_array().unwrap() {
        if let Some(model) = g["key"].as_str()
            && let Some(bm) = gt["by_model"].get(model)
        {
            expect(
                "per-model output tokens",
                u(&g["output_tokens"]) == u(&bm["output_tokens"]),
                format!(
                    "{model}: got {} want {}",
                    g["output_tokens"], bm["output_tokens"]
                ),
            );
        }
    }
    let cost_pico = (total["cost_usd"].as_f64().unwrap() * 1e12).round() as i128;
    let want_cost = expected_cost_pico(gt);
    expect(
        "cost_usd",
        (cost_pico - want_cost).abs() <= 1_000,
        format!("got {cost_pico} pUSD want {want_cost}"),
    );
    expect(
        "unpriced_calls",
        u(&total["unpriced_calls"]) == 0,
        format!("{}", total["unpriced_calls"]),
    );
    if TRACES_TOOLS.contains(&source) {
        expect(
            "tool_calls",
            u(&total["tool_calls"]) == u(&gt["tool_executions"]),
            format!("got {} want {}", total["tool_calls"], gt["tool_executions"]),
        );
        let errors = u(&total["errors"]);
        let (elo, ehi) = (u(&gt["tool_errors"]), u(&gt["errors_total"]));
        expect(
            "errors",
            (elo..=ehi).contains(&errors),
            format!("got {errors}, want {elo}..={ehi}"),
        );
    }
    // OTLP metrics are stored and queryable: Claude Code's DELTA token counter
    // sums to the ground truth; a CUMULATIVE histogram exported twice at
    // shutdown counts once.
    let files = m["files"].as_array().unwrap();
    if files.iter().any(|f| f["signal"] == "metrics") {
        if source.starts_with("claude-code") {
            let (s, v) = server
                .get("/api/v1/otel-metrics/claude_code.token.usage?group_by=type")
                .await;
            assert_eq!(s, 200, "{v}");
            let by_type = |t: &str| {
                v["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|g| g["key"] == t)
                    .and_then(|g| g["value"].as_f64())
                    .unwrap_or(-1.0) as u64
            };
            for (t, truth) in [
                ("input", "input_tokens"),
                ("output", "output_tokens"),
                ("cacheRead", "cache_read_input_tokens"),
                ("cacheCreation", "cache_creation_input_tokens"),
            ] {
                expect(
                    "claude_code.token.usage",
                    by_type(t) == u(&usage[truth]),
                    format!("{t}: got {} want {}", by_type(t), usage[truth]),
                );
            }
        } else {
            let last = files
                .iter()
                .rev()
                .find(|f| f["signal"] == "metrics")
                .unwrap();
            let want = histogram_sum(
                &dir.join(last["file"].as_str().unwrap()),
                "gen_ai.client.token.usage",
            );
            let (s, v) = server
                .get("/api/v1/otel-metrics/gen_ai.client.token.usage")
                .await;
            assert_eq!(s, 200, "{v}");
            let got = v["total"]["value"].as_f64().unwrap_or(-1.0);
            expect(
                "gen_ai.client.token.usage (cumulative, exported twice)",
                (got - want).abs() < 0.5,
                format!("got {got} want {want}"),
            );
        }
    }
    // The aggregate agrees with the listing and with itself.
    let (_, page) = server.get("/api/v1/traces?limit=1000").await;
    let listed = page["traces"].as_array().unwrap();
    expect(
        "metrics total.traces",
        u(&total["traces"]) == listed.len() as u64,
        format!("{} vs {} listed", total["traces"], listed.len()),
    );
    let calls_in_groups: u64 = metrics["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| u(&g["llm_calls"]))
        .sum();
    expect(
        "groups add up",
        calls_in_groups == calls,
        format!("{calls_in_groups} vs {calls}"),
    );
    let traces_with_model = listed
        .iter()
        .filter(|t| !t["models"].as_array().unwrap().is_empty())
        .count() as u64;
    let max_group_traces = metrics["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| u(&g["traces"]))
        .max()
        .unwrap_or(0);
    expect(
        "traces per model",
        max_group_traces <= traces_with_model,
        format!("{max_group_traces} > {traces_with_model}"),
    );
    if let Some(traces) = gt["traces"].as_u64() {
        let n = listed.len() as u64;
        expect("traces", n == traces, format!("got {n} want {traces}"));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_matches_its_ground_truth_over_http_and_grpc() {
    let scenarios = common::scenarios();
    assert!(
        scenarios.len() >= 30,
        "expected the shared fixtures, found {}",
        scenarios.len()
    );
    let mut problems = Vec::new();
    for dir in &scenarios {
        let server = common::start().await;
        common::send_http(&server, dir).await;
        problems.extend(check(&server, dir, "http").await);
        server.stop().await;

        let server = common::start().await;
        common::send_grpc(&server, dir).await;
        problems.extend(check(&server, dir, "grpc").await);
        server.stop().await;
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
