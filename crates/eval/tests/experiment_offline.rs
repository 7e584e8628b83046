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
