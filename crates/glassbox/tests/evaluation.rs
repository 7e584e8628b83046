//! Online rule evaluation: configured evaluators score completed traces as
//! they arrive, the scores agree with the traces they judge, and they feed
//! the metrics' pass rates — "quality by release" is one query.

mod common;

use glassbox_eval::{Check, RuleConfig};
use serde_json::{Value, json};

fn rule(name: &str, check: Check) -> RuleConfig {
    RuleConfig {
        name: name.into(),
        check,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_traces_are_scored_by_the_configured_rules() {
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.evaluation.settle_secs = 0;
        c.evaluation.interval_secs = 1;
        c.evaluation.rules = vec![
            rule("under_budget", Check::MaxCostUsd { usd: 0.03 }),
            rule(
                "looked_up_order",
                Check::ToolCalled {
                    tool: "lookup_order".into(),
                    arguments: None,
                },
            ),
            rule("not_refusal", Check::NotRefusal),
            rule("json_answer", Check::ValidJson),
            rule(
                "mentions_refund",
                Check::Contains {
                    text: "refund".into(),
                },
            ),
            rule(
                "short",
                Check::Length {
                    min: None,
                    max: Some(200),
                },
            ),
        ];
    })
    .await;
    demo_traffic(&server, 60, 9).await;
    let (_, page) = server.get("/api/v1/traces?limit=1000").await;
    let traces = page["traces"].as_array().unwrap().clone();
    assert_eq!(traces.len(), 60);
    let want = traces.len() * 6;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let scores = loop {
        let (_, s) = server.get("/api/v1/scores?source=rule&limit=10000").await;
        let list = s["scores"].as_array().unwrap().clone();
        if list.len() >= want {
            break list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {want} rule scores",
            list.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert_eq!(scores.len(), want, "each rule once per trace");
    let value = |trace: &str, name: &str| -> bool {
        scores
            .iter()
            .find(|s| s["trace_id"] == trace && s["name"] == name)
            .unwrap_or_else(|| panic!("{name} on {trace}"))["value"]
            .as_bool()
            .unwrap()
    };
    let mut under = 0;
    for t in &traces {
        let id = t["trace_id"].as_str().unwrap();
        let cheap = t["cost_usd"].as_f64().unwrap() <= 0.03;
        under += usize::from(cheap);
        assert_eq!(value(id, "under_budget"), cheap, "{id}");
        let (_, detail) = server.get(&format!("/api/v1/traces/{id}")).await;
        let looked = detail["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["tool_name"] == "lookup_order");
        assert_eq!(value(id, "looked_up_order"), looked, "{id}");
        assert!(value(id, "not_refusal"), "the demo agents never refuse");
        assert!(!value(id, "json_answer"), "their answers are prose");
        let answer: String = detail["spans"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["counted"] == true && !s["output_messages"].as_array().unwrap().is_empty()
            })
            .max_by_key(|s| s["end_time"].as_str().unwrap().to_owned())
            .map(|s| s["output_messages"].to_string())
            .unwrap();
        assert_eq!(
            value(id, "mentions_refund"),
            answer.to_lowercase().contains("refund"),
            "{id}"
        );
    }
    assert!(
        under > 0 && under < traces.len(),
        "the budget splits the runs: {under}"
    );

    // Pass rates in the metrics equal the share of passing traces.
    let (_, m) = server
        .get("/api/v1/metrics?thresholds=under_budget:1")
        .await;
    let rate = m["total"]["scores"]["under_budget"]["pass_rate"]
        .as_f64()
        .unwrap();
    assert!(
        (rate - under as f64 / traces.len() as f64).abs() < 1e-9,
        "{rate}"
    );
    let (_, by_release) = server
        .get("/api/v1/metrics?group_by=release&thresholds=under_budget:1")
        .await;
    let counted: u64 = by_release["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["scores"]["under_budget"]["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        counted as usize,
        traces.len(),
        "every trace in exactly one release"
    );

    // A restart re-evaluates nothing twice (score ids are per trace and rule).
    let dir = server.stop().await;
    let server = common::start_in(dir, |c| {
        c.evaluation.settle_secs = 0;
        c.evaluation.interval_secs = 1;
        c.evaluation.rules = vec![rule("under_budget", Check::MaxCostUsd { usd: 0.03 })];
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, s) = server.get("/api/v1/scores?source=rule&limit=10000").await;
    assert_eq!(s["scores"].as_array().unwrap().len(), want);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rule_stops_start_up_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = glassbox_server::Config {
        data_dir: dir.path().to_path_buf(),
        http: "127.0.0.1:0".parse().unwrap(),
        grpc: "127.0.0.1:0".parse().unwrap(),
        evaluation: glassbox_server::config::EvaluationConfig {
            rules: vec![rule(
                "broken",
                Check::Regex {
                    pattern: "(".into(),
                },
            )],
            ..Default::default()
        },
        ..Default::default()
    };
    let err = glassbox_server::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("\"broken\""), "{err}");
    // And the TOML form parses as documented.
    let toml_text = r#"
        [evaluation]
        sample_rate = 0.5
        [[evaluation.rules]]
        name = "on_topic"
        kind = "contains"
        text = "order"
        [[evaluation.rules]]
        name = "cheap"
        kind = "max_cost_usd"
        usd = 0.02
    "#;
    let path = dir.path().join("glassbox.toml");
    std::fs::write(&path, toml_text).unwrap();
    let c = glassbox_server::Config::from_file(&path).unwrap();
    assert_eq!(c.evaluation.rules.len(), 2);
    assert_eq!(c.evaluation.rules[1].check, Check::MaxCostUsd { usd: 0.02 });
    std::fs::write(
        &path,
        "[[evaluation.rules]]\nname = \"typo\"\nkind = \"contains\"\ntxt = \"order\"\n",
    )
    .unwrap();
    let err = glassbox_server::Config::from_file(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("txt"), "a misspelt key is named: {err}");
    let _: Value = json!(null);
}

fn judge_config(
    fake: &glassbox_fake_anthropic::FakeAnthropic,
) -> glassbox_eval::judge::JudgeConfig {
    glassbox_eval::judge::JudgeConfig {
        name: "relevance".into(),
        rubric: glassbox_eval::judge::Rubric::Relevance,
        criteria: None,
        provider: glassbox_eval::judge::Provider::Anthropic,
        model: "claude-haiku-4-5".into(),
        base_url: Some(fake.base_url()),
        // The fake takes any non-empty key; PATH is always set (set_var would be unsound here).
        api_key_env: Some("PATH".into()),
        max_attempts: 2,
        timeout_secs: 10,
        max_tokens: 256,
    }
}

/// `runs` demo agent runs that started two minutes ago (settled), sent over OTLP.
async fn demo_traffic(server: &common::TestServer, runs: usize, seed: u64) {
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    glassbox_demo::send(
        &server.base,
        &glassbox_demo::generate(now - 120_000_000_000, runs, seed),
        |_, _| {},
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_judges_are_rate_limited_traced_and_priced() {
    let fake = glassbox_fake_anthropic::FakeAnthropic::start(Default::default())
        .await
        .unwrap();
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.evaluation.settle_secs = 0;
        c.evaluation.interval_secs = 1;
        c.evaluation.judges = vec![judge_config(&fake)];
        c.evaluation.judge_calls_per_minute = 4;
    })
    .await;
    demo_traffic(&server, 20, 5).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let judged = loop {
        let (_, s) = server.get("/api/v1/scores?source=llm_judge").await;
        let list = s["scores"].as_array().unwrap().clone();
        if list.len() >= 4 {
            break list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} judged",
            list.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    // Three more rounds: the limit holds them back for the rest of the minute.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (_, s) = server.get("/api/v1/scores?source=llm_judge").await;
    assert_eq!(s["scores"].as_array().unwrap().len(), 4, "{s}");
    assert_eq!(fake.requests().len(), 4);
    for sc in &judged {
        let v = sc["value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{sc}");
        assert!(
            sc["comment"].as_str().is_some_and(|c| c.contains("terms")),
            "{sc}"
        );
        assert_eq!(sc["author"], "anthropic:claude-haiku-4-5");
    }
    // What the judge saw: the trace's question and final answer, at temperature 0.
    let r = &fake.requests()[0];
    assert_eq!(r["temperature"], 0);
    let user = r["messages"][0]["content"].as_str().unwrap();
    assert!(
        user.contains("<question>") && user.contains("<answer>"),
        "{user}"
    );
    // The judge's own calls: stored, priced, and never judged themselves.
    let (_, m) = server.get("/api/v1/metrics?service=glassbox-judge").await;
    assert_eq!(m["total"]["llm_calls"], 4, "{m}");
    assert!(m["total"]["cost_usd"].as_f64().unwrap() > 0.0, "{m}");
    let (_, page) = server
        .get("/api/v1/traces?service=glassbox-judge&include=scores")
        .await;
    for t in page["traces"].as_array().unwrap() {
        assert!(t["scores"].as_array().unwrap().is_empty(), "{t}");
    }
    server.stop().await;
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_judge_budget_stops_judging_but_not_rules() {
    let fake = glassbox_fake_anthropic::FakeAnthropic::start(Default::default())
        .await
        .unwrap();
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.evaluation.settle_secs = 0;
        c.evaluation.interval_secs = 1;
        c.evaluation.rules = vec![rule("not_refusal", Check::NotRefusal)];
        c.evaluation.judges = vec![judge_config(&fake)];
        c.evaluation.judge_budget_usd_per_day = 0.0;
    })
    .await;
    demo_traffic(&server, 10, 5).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, s) = server.get("/api/v1/scores?source=rule").await;
        if s["scores"].as_array().unwrap().len() >= 10 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rules still run");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(fake.requests().is_empty(), "no judge call over budget");
    let (_, s) = server.get("/api/v1/scores?source=llm_judge").await;
    assert!(s["scores"].as_array().unwrap().is_empty());
    server.stop().await;
    fake.shutdown().await;
}
