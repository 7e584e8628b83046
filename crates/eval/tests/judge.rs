//! LLM-as-a-judge against the fake Anthropic API on loopback (its wire format, errors and
//! deterministic "model" are documented in crates/fake-anthropic): verdicts through the tool
//! call and through OpenAI-compatible JSON, retries, strict parsing, and the judge's telemetry.

use glassbox_eval::judge::{Judge, JudgeConfig, JudgeError, JudgeInput, Provider, Rubric};
use glassbox_fake_anthropic::{FakeAnthropic, Options};

/// The variable the judges read their key from. The fake accepts any non-empty key, so any
/// variable that is always set will do — and setting one of our own would need `set_var`,
/// which is unsound while other test threads may read the environment.
const KEY_ENV: &str = "PATH";

fn config(fake: &FakeAnthropic, provider: Provider, rubric: Rubric) -> JudgeConfig {
    JudgeConfig {
        name: "correctness".into(),
        rubric,
        criteria: None,
        provider,
        model: "claude-haiku-4-5".into(),
        base_url: Some(fake.base_url()),
        api_key_env: Some(KEY_ENV.into()),
        max_attempts: 3,
        timeout_secs: 10,
        max_tokens: 512,
    }
}

const EXPECTED: &str = "Refunds reach the original card within five business days.";

fn input(answer: &str) -> JudgeInput<'_> {
    JudgeInput {
        question: Some("How long do refunds take?"),
        answer,
        expected: Some(EXPECTED),
        context: None,
    }
}

#[tokio::test]
async fn anthropic_verdicts_come_through_the_forced_tool_call() {
    let fake = FakeAnthropic::start(Options::default()).await.unwrap();
    let judge = Judge::new(config(&fake, Provider::Anthropic, Rubric::Factuality)).unwrap();
    let full = judge.judge(&input(EXPECTED)).await;
    let v = full.result.unwrap();
    assert_eq!(v.score, 1.0);
    // "refunds", "reach", "original", "card", "within", "five", "business", "days": half present.
    let half = judge
        .judge(&input("Refunds reach your card, usually."))
        .await
        .result
        .unwrap();
    assert!(half.score > 0.0 && half.score < 1.0, "{half:?}");
    assert!(half.reasoning.contains("missing"), "{half:?}");
    // What was sent: temperature 0, the verdict tool forced, the parts tagged.
    let reqs = fake.requests();
    let r = &reqs[0];
    assert_eq!(r["temperature"], 0);
    assert_eq!(r["tool_choice"]["type"], "tool");
    assert_eq!(r["tool_choice"]["name"], r["tools"][0]["name"]);
    let user = r["messages"][0]["content"].as_str().unwrap();
    assert!(
        user.contains(&format!("<reference>{EXPECTED}</reference>")),
        "{user}"
    );
    assert!(r["system"].as_str().unwrap().contains("FACTUALITY"));
    // Usage is recorded per call, for pricing.
    let c = &full.calls[0];
    assert!(c.input_tokens > 100 && c.output_tokens > 0, "{c:?}");
    assert_eq!(c.response_model.as_deref(), Some("claude-haiku-4-5"));
    assert!(
        c.response_id
            .as_deref()
            .is_some_and(|id| id.starts_with("msg_"))
    );
    assert!(c.error.is_none());
}

#[tokio::test]
async fn overload_and_rate_limits_are_retried_and_auth_errors_are_not() {
    let fake = FakeAnthropic::start(Options::default()).await.unwrap();
    let judge = Judge::new(config(&fake, Provider::Anthropic, Rubric::Factuality)).unwrap();
    fake.fail_next(529, 1);
    fake.fail_next(429, 1);
    let j = judge.judge(&input(EXPECTED)).await;
    assert_eq!(j.result.unwrap().score, 1.0);
    assert_eq!(j.calls.len(), 3, "{:?}", j.calls);
    assert!(
        j.calls[0]
            .error
            .as_deref()
            .unwrap()
            .contains("overloaded_error")
    );
    assert!(
        j.calls[1]
            .error
            .as_deref()
            .unwrap()
            .contains("rate_limit_error")
    );

    // Three overloads exhaust three attempts: the provider's error, not a guess.
    fake.fail_next(529, 3);
    let j = judge.judge(&input(EXPECTED)).await;
    match j.result {
        Err(JudgeError::Api { status, kind, .. }) => {
            assert_eq!((status, kind.as_str()), (529, "overloaded_error"));
        }
        other => panic!("{other:?}"),
    }

    // A wrong key: one attempt, a clear message.
    let mut c = config(&fake, Provider::Anthropic, Rubric::Factuality);
    c.base_url = Some(format!("{}/", fake.base_url()));
    let judge = Judge::new(c).unwrap();
    fake.fail_next(401, 1);
    let j = judge.judge(&input(EXPECTED)).await;
    assert_eq!(j.calls.len(), 1);
    let e = j.result.unwrap_err().to_string();
    assert!(
        e.contains("HTTP 401") && e.contains("authentication_error"),
        "{e}"
    );
}

#[tokio::test]
async fn an_unparsable_verdict_is_retried_then_reported_with_the_output() {
    let fake = FakeAnthropic::start(Options::default()).await.unwrap();
    let judge = Judge::new(config(&fake, Provider::Anthropic, Rubric::Relevance)).unwrap();
    let j = judge.judge(&input("fine [[judge:unparsable]]")).await;
    assert_eq!(j.calls.len(), 3);
    let e = j.result.unwrap_err().to_string();
    assert!(
        e.contains("did not parse after 3 attempts") && e.contains("I think it is good"),
        "{e}"
    );
}

#[tokio::test]
async fn openai_compatible_endpoints_answer_in_json_mode() {
    let fake = FakeAnthropic::start(Options::default()).await.unwrap();
    let judge = Judge::new(config(&fake, Provider::Openai, Rubric::Factuality)).unwrap();
    let j = judge.judge(&input(EXPECTED)).await;
    assert_eq!(j.result.unwrap().score, 1.0);
    let r = &fake.requests()[0];
    assert_eq!(r["response_format"]["type"], "json_object");
    assert_eq!(r["temperature"], 0);
    assert!(j.calls[0].input_tokens > 0);
    fake.fail_next(401, 1);
    let e = judge
        .judge(&input(EXPECTED))
        .await
        .result
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP 401"), "{e}");
}

#[tokio::test]
async fn judgements_become_priced_genai_spans() {
    let fake = FakeAnthropic::start(Options::default()).await.unwrap();
    let judge = Judge::new(config(&fake, Provider::Anthropic, Rubric::Factuality)).unwrap();
    fake.fail_next(529, 1);
    let j = judge.judge(&input(EXPECTED)).await;
    let req = glassbox_eval::judge::telemetry::judgement_trace(
        "correctness",
        &j,
        &glassbox_eval::judge::telemetry::Context {
            judged_trace_id: Some(&"ab".repeat(16)),
            run_id: Some("run-1"),
            item_id: Some("q-001"),
        },
    )
    .unwrap();
    let spans = &req.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 3, "a root and one span per attempt");
    let attr = |i: usize, k: &str| {
        spans[i]
            .attributes
            .iter()
            .find(|a| a.key == k)
            .and_then(|a| a.value.clone())
            .and_then(|v| v.value)
    };
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    assert_eq!(spans[0].name, "evaluate correctness");
    assert_eq!(
        attr(0, "glassbox.eval.judged_trace_id"),
        Some(Value::StringValue("ab".repeat(16)))
    );
    assert_eq!(
        attr(0, "gen_ai.evaluation.score.value"),
        Some(Value::DoubleValue(1.0))
    );
    assert_eq!(spans[1].parent_span_id, spans[0].span_id);
    assert_eq!(spans[2].name, "chat claude-haiku-4-5");
    assert_eq!(
        attr(2, "gen_ai.usage.input_tokens"),
        Some(Value::IntValue(j.calls[1].input_tokens as i64))
    );
    assert!(
        attr(1, "error.type").is_some(),
        "the failed attempt says why"
    );
    // It survives the protobuf encoding the exporter sends (the server test prices it).
    assert_eq!(decode_roundtrip(&req), 3);
}

fn decode_roundtrip(
    req: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
) -> usize {
    use prost::Message;
    let bytes = req.encode_to_vec();
    let back = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(
        bytes.as_slice(),
    )
    .unwrap();
    back.resource_spans[0].scope_spans[0].spans.len()
}

#[test]
fn configs_are_checked_before_any_call() {
    let mut c = JudgeConfig {
        name: "x".into(),
        rubric: Rubric::Custom,
        criteria: None,
        provider: Provider::Anthropic,
        model: "m".into(),
        base_url: Some("http://127.0.0.1:9".into()),
        api_key_env: Some("GLASSBOX_TEST_UNSET_KEY".into()),
        max_attempts: 3,
        timeout_secs: 1,
        max_tokens: 10,
    };
    let e = Judge::new(c.clone()).err().unwrap().to_string();
    assert!(e.contains("criteria"), "{e}");
    c.rubric = Rubric::Safety;
    let e = Judge::new(c.clone()).err().unwrap().to_string();
    assert!(e.contains("GLASSBOX_TEST_UNSET_KEY"), "{e}");
    c.base_url = Some("ftp://x".into());
    let e = Judge::new(c).err().unwrap().to_string();
    assert!(e.contains("http://"), "{e}");
}
