//! The judge's own telemetry: each judgement becomes one OTLP trace — an `evaluate {name}`
//! span with one `chat {model}` child per HTTP attempt, in the GenAI semantic conventions —
//! so Glassbox's pipeline prices the judge's calls like any other and evaluation cost shows
//! in the explorer (service `glassbox-judge`). The judged trace is named in
//! `glassbox.eval.judged_trace_id` (an OTLP link would need a span id the judge does not know).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};

use super::{JudgeCall, Judgement};

/// The service the judge's telemetry is reported under.
pub const SERVICE: &str = "glassbox-judge";

/// What the judgement was about, recorded on its span.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The judged trace (32 hex digits), linked from the judgement's span.
    pub judged_trace_id: Option<&'a str>,
    pub run_id: Option<&'a str>,
    pub item_id: Option<&'a str>,
}

/// One OTLP request holding the judgement's trace. Returns `None` when no call was made.
pub fn judgement_trace(
    score_name: &str,
    j: &Judgement,
    cx: &Context<'_>,
) -> Option<ExportTraceServiceRequest> {
    let first = j.calls.first()?;
    let last = j.calls.last()?;
    let trace_id = new_id(16);
    let root_id = new_id(8);
    let mut attributes = vec![
        s("gen_ai.operation.name", "evaluate"),
        s("gen_ai.evaluation.name", score_name),
    ];
    match &j.result {
        Ok(v) => {
            attributes.push(f("gen_ai.evaluation.score.value", v.score));
            attributes.push(s("gen_ai.evaluation.explanation", &v.reasoning));
        }
        Err(e) => attributes.push(s("error.type", &e.to_string())),
    }
    for (k, v) in [
        ("glassbox.eval.run_id", cx.run_id),
        ("glassbox.eval.item_id", cx.item_id),
        ("glassbox.eval.judged_trace_id", cx.judged_trace_id),
    ] {
        if let Some(v) = v {
            attributes.push(s(k, v));
        }
    }
    let mut spans = vec![Span {
        trace_id: trace_id.clone(),
        span_id: root_id.clone(),
        name: format!("evaluate {score_name}"),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: first.start_unix_nano,
        end_time_unix_nano: last.end_unix_nano.max(first.start_unix_nano),
        attributes,
        status: Some(status_of(j.result.as_ref().err().map(|e| e.to_string()))),
        ..Default::default()
    }];
    for c in &j.calls {
        spans.push(call_span(c, &trace_id, &root_id));
    }
    Some(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![s("service.name", SERVICE)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "glassbox-eval".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn call_span(c: &JudgeCall, trace_id: &[u8], parent: &[u8]) -> Span {
    let mut attributes = vec![
        s("gen_ai.operation.name", "chat"),
        s("gen_ai.provider.name", c.provider),
        s("gen_ai.request.model", &c.request_model),
        f("gen_ai.request.temperature", 0.0),
        // The semantic conventions' input tokens include cache reads and writes.
        i(
            "gen_ai.usage.input_tokens",
            c.input_tokens + c.cache_read_tokens + c.cache_write_tokens,
        ),
        i("gen_ai.usage.output_tokens", c.output_tokens),
    ];
    if c.cache_read_tokens > 0 {
        attributes.push(i(
            "gen_ai.usage.cache_read.input_tokens",
            c.cache_read_tokens,
        ));
    }
    if c.cache_write_tokens > 0 {
        attributes.push(i(
            "gen_ai.usage.cache_creation.input_tokens",
            c.cache_write_tokens,
        ));
    }
    if let Some(m) = &c.response_model {
        attributes.push(s("gen_ai.response.model", m));
    }
    if let Some(id) = &c.response_id {
        attributes.push(s("gen_ai.response.id", id));
    }
    if let Some(e) = &c.error {
        attributes.push(s("error.type", e));
    }
    Span {
        trace_id: trace_id.to_vec(),
        span_id: new_id(8),
        parent_span_id: parent.to_vec(),
        name: format!("chat {}", c.request_model),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: c.start_unix_nano,
        end_time_unix_nano: c.end_unix_nano.max(c.start_unix_nano),
        attributes,
        status: Some(status_of(c.error.clone())),
        ..Default::default()
    }
}

fn status_of(error: Option<String>) -> Status {
    match error {
        Some(message) => Status {
            message,
            code: status::StatusCode::Error as i32,
        },
        None => Status {
            code: status::StatusCode::Ok as i32,
            ..Default::default()
        },
    }
}

/// A fresh non-zero id: the hash of the time, the process and a counter (unique, not secret).
pub fn new_id(len: usize) -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = format!("{}/{}/{n}", crate::now_ns(), std::process::id());
    let mut id = blake3::hash(seed.as_bytes()).as_bytes()[..len].to_vec();
    if id.iter().all(|b| *b == 0) {
        id[len - 1] = 1;
    }
    id
}

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}
fn s(k: &str, v: &str) -> KeyValue {
    kv(k, any_value::Value::StringValue(v.into()))
}
fn i(k: &str, v: u64) -> KeyValue {
    kv(
        k,
        any_value::Value::IntValue(i64::try_from(v).unwrap_or(i64::MAX)),
    )
}
fn f(k: &str, v: f64) -> KeyValue {
    kv(k, any_value::Value::DoubleValue(v))
}
