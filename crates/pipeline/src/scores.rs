//! Scores that arrive in telemetry: the GenAI semantic conventions'
//! `gen_ai.evaluation.result` event (as a span event, or a log record
//! parented to the evaluated span), recorded with source `sdk`.

use glassbox_model::{
    Attributes, LogRecord, Score, ScoreSource, ScoreValue, Span, SpanId, TraceId,
};
use serde_json::Value;

const EVENT: &str = "gen_ai.evaluation.result";

/// A stable id, so a re-sent event is stored once.
fn id_of(trace: &TraceId, span: Option<&SpanId>, time: u64, name: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(trace.to_hex().as_bytes());
    h.update(span.map(SpanId::to_hex).unwrap_or_default().as_bytes());
    h.update(&time.to_le_bytes());
    h.update(name.as_bytes());
    format!("otel-{}", &h.finalize().to_hex()[..24])
}

fn score(trace: TraceId, span: Option<SpanId>, time: u64, a: &Attributes) -> Option<Score> {
    let name = a.get("gen_ai.evaluation.name")?.as_str()?.to_owned();
    let value = match (
        a.get("gen_ai.evaluation.score.value"),
        a.get("gen_ai.evaluation.score.label"),
    ) {
        (Some(Value::Number(n)), _) => ScoreValue::Number(n.as_f64()?),
        (Some(Value::Bool(b)), _) => ScoreValue::Bool(*b),
        (_, Some(Value::String(l))) => ScoreValue::Category(l.clone()),
        _ => return None,
    };
    Some(Score {
        id: id_of(&trace, span.as_ref(), time, &name),
        trace_id: trace,
        span_id: span,
        name,
        value,
        source: ScoreSource::Sdk,
        comment: a
            .get("gen_ai.evaluation.explanation")
            .and_then(Value::as_str)
            .map(str::to_owned),
        author: None,
        time_unix_nano: time,
    })
}

/// Every evaluation result carried by these spans and logs.
pub fn from_telemetry(spans: &[Span], logs: &[LogRecord]) -> Vec<Score> {
    let mut out = Vec::new();
    for s in spans {
        for e in s.events.iter().filter(|e| e.name == EVENT) {
            out.extend(score(
                s.trace_id,
                Some(s.span_id),
                e.time_unix_nano,
                &e.attributes,
            ));
        }
    }
    for l in logs
        .iter()
        .filter(|l| l.event_name.as_deref() == Some(EVENT))
    {
        if let Some(t) = l.trace_id {
            out.extend(score(t, l.span_id, l.time_unix_nano, &l.attributes));
        }
    }
    out
}
