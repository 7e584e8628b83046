//! `eval run`'s engine without a server: a shell command as the target, rule evaluators,
//! trace context in the environment, failures and timeouts recorded per item.

use std::time::Duration;

use glassbox_eval::dataset::{Dataset, Format};
use glassbox_eval::experiment::{self, Evaluators, EvaluatorsFile, RunItem, RunOptions, Target};

struct Quiet;
impl experiment::Progress for Quiet {
    fn item_done(&self, _: usize, _: usize, _: &RunItem) {}
}

fn options(target: &str, timeout: Duration) -> RunOptions {
    RunOptions {
        run_id: "run-test".into(),
        name: "test".into(),
        target: Target::parse(target),
        concurrency: 3,
        item_timeout: timeout,
        server: None,
        settle: Duration::from_secs(1),
        env: vec![("EXTRA".into(), "from-options".into())],
    }
}

fn evaluators(toml_text: &str) -> Evaluators {
    let file: EvaluatorsFile = toml::from_str(toml_text).unwrap();
    Evaluators::new(file).unwrap()
}

#[tokio::test]
async fn a_command_target_gets_each_input_and_its_own_trace_context() {
    let d = Dataset::parse(
        "d",
        r#"{"id":"a","input":"hello"}
{"id":"b","input":{"question":"q"}}
{"id":"c","input":"fail me"}
"#,
        Format::Jsonl,
        "d.jsonl",
    )
    .unwrap();
    // Echo the input, the trace context and the run's environment; fail on request.
    let target = r#"read -r line; case "$line" in *fail*) echo "boom" >&2; exit 3;; esac; printf '%s|%s|%s|%s' "$line" "$TRACEPARENT" "$GLASSBOX_EVAL_ITEM_ID" "$EXTRA""#;
    let ev = evaluators(
        r#"
[[rules]]
name = "says_hello"
kind = "contains"
text = "HELLO"
[[rules]]
name = "short"
kind = "length"
max = 10
"#,
    );
    let run = experiment::run(&d, ev, options(target, Duration::from_secs(20)), &Quiet)
        .await
        .unwrap();
    assert_eq!(run.items.len(), 3);
    assert_eq!(run.dataset.version, d.version());
    let a = &run.items[0];
    let out = a.output.as_deref().unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    assert_eq!(parts[0], "hello");
    assert_eq!(
        parts[1],
        format!("00-{}-{}-01", a.trace_id, &parts[1][36..52])
    );
    assert_eq!(parts[2], "a");
    assert_eq!(parts[3], "from-options");
    assert_eq!(a.scores["says_hello"], serde_json::json!(true));
    assert_eq!(a.scores["short"], serde_json::json!(false));
    let b = &run.items[1];
    assert!(
        b.output
            .as_deref()
            .unwrap()
            .starts_with(r#"{"question":"q"}|"#)
    );
    assert_eq!(b.scores["says_hello"], serde_json::json!(false));
    assert_ne!(a.trace_id, b.trace_id);
    let c = &run.items[2];
    let err = c.error.as_deref().unwrap();
    assert!(
        err.contains("exit status: 3") && err.contains("boom"),
        "{err}"
    );
    assert!(c.scores.is_empty());
    assert_eq!(run.summary.errors, 1);
    assert_eq!(run.summary.scores["says_hello"], 0.5);
    // The run file is what the gate reads.
    let text = serde_json::to_string(&run).unwrap();
    let sample = glassbox_gate_free_check(&text);
    assert_eq!(sample, 3);
}

/// The gate's run-file parser is in another crate; check the shape it needs here.
fn glassbox_gate_free_check(text: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let items = v["items"].as_array().unwrap();
    for it in items {
        assert!(it["item_id"].is_string());
        assert!(it["scores"].is_object());
        assert!(it["latency_ms"].is_number());
    }
    items.len()
}

#[tokio::test]
async fn a_hung_target_times_out_and_the_others_finish() {
    let d = Dataset::parse(
        "d",
        "{\"id\":\"slow\",\"input\":\"sleep\"}\n{\"id\":\"fast\",\"input\":\"x\"}\n",
        Format::Jsonl,
        "d.jsonl",
    )
    .unwrap();
    let target = r#"read -r line; if [ "$line" = sleep ]; then sleep 30; fi; echo ok"#;
    let ev = evaluators("[[rules]]\nname = \"ok\"\nkind = \"contains\"\ntext = \"ok\"\n");
    let run = experiment::run(&d, ev, options(target, Duration::from_secs(1)), &Quiet)
        .await
        .unwrap();
    assert!(run.items[0].error.as_deref().unwrap().contains("timed out"));
    assert_eq!(run.items[1].output.as_deref(), Some("ok"));
    assert_eq!(run.items[1].scores["ok"], serde_json::json!(true));
}

#[test]
fn evaluator_files_are_checked() {
    let e = Evaluators::new(EvaluatorsFile::default()).err().unwrap();
    assert!(e.to_string().contains("no [[rules]]"), "{e}");
    let twice: EvaluatorsFile = toml::from_str(
        "[[rules]]\nname = \"x\"\nkind = \"valid_json\"\n[[rules]]\nname = \"x\"\nkind = \"not_refusal\"\n",
    )
    .unwrap();
    let e = Evaluators::new(twice).err().unwrap();
    assert!(e.to_string().contains("used twice"), "{e}");
    assert!(
        toml::from_str::<EvaluatorsFile>("[[rules]]\nname = \"x\"\nkind = \"nope\"\n").is_err()
    );
    let custom: EvaluatorsFile = toml::from_str(
        "[[judges]]\nname = \"j\"\nrubric = \"custom\"\nmodel = \"m\"\napi_key_env = \"GLASSBOX_TEST_KEY_SET\"\n",
    )
    .unwrap();
    // A custom rubric without criteria is refused before the key is even looked for.
    let e = Evaluators::new(custom).err().unwrap();
    assert!(e.to_string().contains("criteria"), "{e}");
}

#[tokio::test]
async fn an_http_target_gets_the_item_and_the_trace_context_in_headers() {
    use axum::http::HeaderMap;
    use axum::routing::post;
    async fn answer(
        headers: HeaderMap,
        body: axum::Json<serde_json::Value>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let tp = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bag = headers
            .get("baggage")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        match body["id"].as_str() {
            Some("plain") => format!("text answer to {}", body["input"]).into_response(),
            Some("broken") => {
                (axum::http::StatusCode::BAD_GATEWAY, "upstream down").into_response()
            }
            Some("noout") => axum::Json(serde_json::json!({"answer": "x"})).into_response(),
            _ => axum::Json(serde_json::json!({"output": format!("{tp} {bag}")})).into_response(),
        }
    }
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(l, axum::Router::new().route("/answer", post(answer)))
            .await
            .unwrap();
    });
    let d = Dataset::parse(
        "d",
        "{\"id\":\"json\",\"input\":{\"q\":1}}\n{\"id\":\"plain\",\"input\":\"hi\"}\n{\"id\":\"broken\",\"input\":\"x\"}\n{\"id\":\"noout\",\"input\":\"x\"}\n",
        Format::Jsonl,
        "d.jsonl",
    )
    .unwrap();
    let ev = evaluators("[[rules]]\nname = \"any\"\nkind = \"length\"\nmin = 1\n");
    let run = experiment::run(
        &d,
        ev,
        options(&format!("http://{addr}/answer"), Duration::from_secs(5)),
        &Quiet,
    )
    .await
    .unwrap();
    let json = run.items[0].output.as_deref().unwrap();
    assert!(
        json.starts_with(&format!("00-{}-", run.items[0].trace_id)),
        "{json}"
    );
    assert!(
        json.ends_with("glassbox.eval.run_id=run-test,glassbox.eval.item_id=json"),
        "{json}"
    );
    assert_eq!(
        run.items[1].output.as_deref(),
        Some("text answer to \"hi\"")
    );
    let e = run.items[2].error.as_deref().unwrap();
    assert!(e.contains("502") && e.contains("upstream down"), "{e}");
    let e = run.items[3].error.as_deref().unwrap();
    assert!(e.contains("without `output`"), "{e}");
    assert_eq!(run.summary.errors, 2);
}

#[tokio::test]
async fn json_schema_rules_check_structured_answers() {
    let d = Dataset::parse(
        "d",
        r#"{"id":"ok","input":{"order_id":"A-1","refund":true}}
{"id":"wrong_type","input":{"order_id":7,"refund":true}}
{"id":"missing","input":{"refund":false}}
{"id":"prose","input":"Sure! Here you go."}
"#,
        Format::Jsonl,
        "d.jsonl",
    )
    .unwrap();
    let ev = evaluators(
        r#"
[[rules]]
name = "schema"
kind = "json_schema"
schema = { type = "object", required = ["order_id", "refund"], properties = { order_id = { type = "string", pattern = "^A-" }, refund = { type = "boolean" } } }
"#,
    );
    let run = experiment::run(&d, ev, options("cat", Duration::from_secs(10)), &Quiet)
        .await
        .unwrap();
    let verdict = |i: usize| {
        (
            run.items[i].scores["schema"].clone(),
            run.items[i].comments.get("schema").cloned(),
        )
    };
    assert_eq!(verdict(0).0, serde_json::json!(true));
    let (v, c) = verdict(1);
    assert_eq!(v, serde_json::json!(false));
    assert!(c.as_deref().unwrap().contains("/order_id"), "{c:?}");
    let (v, c) = verdict(2);
    assert_eq!(v, serde_json::json!(false));
    assert!(c.as_deref().unwrap().contains("order_id"), "{c:?}");
    let (v, c) = verdict(3);
    assert_eq!(v, serde_json::json!(false));
    assert!(c.as_deref().unwrap().starts_with("not JSON"), "{c:?}");

    let bad: EvaluatorsFile = toml::from_str(
        "[[rules]]\nname = \"s\"\nkind = \"json_schema\"\nschema = { type = \"objekt\" }\n",
    )
    .unwrap();
    let e = Evaluators::new(bad).err().unwrap().to_string();
    assert!(e.contains("invalid JSON Schema"), "{e}");
}

#[tokio::test]
async fn a_runaway_target_is_stopped_and_a_chatty_one_keeps_its_last_words() {
    let d = Dataset::parse(
        "d",
        "{\"id\":\"flood\",\"input\":\"flood\"}\n{\"id\":\"noisy\",\"input\":\"noisy\"}\n{\"id\":\"fine\",\"input\":\"fine\"}\n",
        Format::Jsonl,
        "d.jsonl",
    )
    .unwrap();
    // `flood` never stops writing; `noisy` writes 1 MB of stderr before failing.
    let target = r#"read -r line; case "$line" in flood) yes;; noisy) head -c 1000000 /dev/zero | tr '\0' 'x' >&2; echo "the real error" >&2; exit 4;; *) echo ok;; esac"#;
    let ev = evaluators("[[rules]]\nname = \"ok\"\nkind = \"contains\"\ntext = \"ok\"\n");
    let run = experiment::run(&d, ev, options(target, Duration::from_secs(60)), &Quiet)
        .await
        .unwrap();
    // Stopped at the cap (this message), not at the item timeout ("timed out").
    let e = run.items[0].error.as_deref().unwrap();
    assert!(e.contains("more than 16 MiB"), "{e}");
    let e = run.items[1].error.as_deref().unwrap();
    assert!(
        e.contains("exit status: 4") && e.ends_with("the real error"),
        "{e}"
    );
    assert_eq!(run.items[2].output.as_deref(), Some("ok"));
}
