//! OTLP request bodies → model. Spec: <https://opentelemetry.io/docs/specs/otlp/>.

use glassbox_model::{
    Attributes, Grouping, LogRecord, MetricPoint, MetricPointValue, Span, SpanEvent, SpanId,
    SpanKind, Status, StatusCode, Temporality, TraceId,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use prost::Message;
use serde_json::Value;

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// A request body that could not be decoded at all.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("body is not a valid OTLP protobuf {what}: {source}")]
    Protobuf {
        what: &'static str,
        source: prost::DecodeError,
    },
    #[error("body is not valid OTLP/JSON {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
}

/// Decoded items of one export request, plus what was rejected and why.
#[derive(Debug, Default)]
pub struct Batch {
    pub spans: Vec<Span>,
    pub logs: Vec<LogRecord>,
    pub metrics: Vec<MetricPoint>,
    pub rejected: u64,
    /// The first few rejection reasons, for `partial_success.error_message`.
    pub rejection_reasons: Vec<String>,
    /// Approximate size of the request body, for memory accounting.
    pub body_bytes: usize,
    /// The project the sender's credentials belong to (set by the receiver
    /// from the request's [`crate::Project`] extension); `None`: the default.
    pub project: Option<String>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty() && self.logs.is_empty() && self.metrics.is_empty()
    }

    fn reject(&mut self, reason: String) {
        self.rejected += 1;
        if self.rejection_reasons.len() < 5 {
            self.rejection_reasons.push(reason);
        }
    }

    /// The text for OTLP's `partial_success.error_message`.
    pub fn rejection_message(&self) -> String {
        if self.rejected == 0 {
            return String::new();
        }
        let mut msg = format!("{} item(s) rejected: ", self.rejected);
        msg.push_str(&self.rejection_reasons.join("; "));
        if (self.rejected as usize) > self.rejection_reasons.len() {
            msg.push_str("; …");
        }
        msg
    }
}

pub fn decode(signal: Signal, encoding: Encoding, body: &[u8]) -> Result<Batch, DecodeError> {
    let mut batch = match signal {
        Signal::Traces => traces(parse(encoding, body, "ExportTraceServiceRequest")?),
        Signal::Logs => logs(parse(encoding, body, "ExportLogsServiceRequest")?),
        Signal::Metrics => metrics(parse(encoding, body, "ExportMetricsServiceRequest")?),
    };
    batch.body_bytes = body.len();
    Ok(batch)
}

/// One OTLP request message from protobuf or OTLP/JSON.
fn parse<T: Message + Default + serde::de::DeserializeOwned>(
    encoding: Encoding,
    body: &[u8],
    what: &'static str,
) -> Result<T, DecodeError> {
    match encoding {
        Encoding::Protobuf => {
            T::decode(body).map_err(|source| DecodeError::Protobuf { what, source })
        }
        Encoding::Json => {
            serde_json::from_slice(body).map_err(|source| DecodeError::Json { what, source })
        }
    }
}

/// An optional id on a log record: absent or all-zero is None; a wrong length is an error.
fn optional_id<T>(
    bytes: &[u8],
    parse: fn(&[u8]) -> Result<T, glassbox_model::IdError>,
) -> Result<Option<T>, glassbox_model::IdError> {
    if bytes.iter().all(|b| *b == 0) {
        Ok(None)
    } else {
        parse(bytes).map(Some)
    }
}

/// OTLP AnyValue → JSON, losslessly: ints stay integers, bytes become hex.
pub fn any_value_to_json(value: &AnyValue) -> Value {
    match &value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map_or_else(|| Value::String(d.to_string()), Value::Number),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(any_value_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(attributes(&kv.values)),
        Some(any_value::Value::BytesValue(b)) => Value::String(hex::encode(b)),
        // Profiles-only string-table reference; meaningless without the table.
        Some(any_value::Value::StringValueStrindex(i)) => serde_json::json!({ "strindex": i }),
    }
}

pub fn attributes(kvs: &[KeyValue]) -> Attributes {
    let mut map = Attributes::new();
    for kv in kvs {
        let v = kv.value.as_ref().map_or(Value::Null, any_value_to_json);
        map.insert(kv.key.clone(), v);
    }
    map
}

fn service_grouping(resource: &Attributes) -> Grouping {
    let s = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_owned);
    Grouping {
        service: s("service.name"),
        ..Grouping::default()
    }
}

/// Decodes an already-parsed trace request (the gRPC path).
pub fn traces(req: ExportTraceServiceRequest) -> Batch {
    let mut batch = Batch::default();
    for rs in req.resource_spans {
        let resource = rs
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let grouping = service_grouping(&resource);
        for ss in rs.scope_spans {
            let (scope_name, scope_version) = ss
                .scope
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
                .unwrap_or_default();
            for span in ss.spans {
                let trace_id = match TraceId::from_bytes(&span.trace_id) {
                    Ok(id) => id,
                    Err(e) => {
                        batch.reject(format!("span {:?}: {e}", span.name));
                        continue;
                    }
                };
                let span_id = match SpanId::from_bytes(&span.span_id) {
                    Ok(id) => id,
                    Err(e) => {
                        batch.reject(format!("span {:?}: {e}", span.name));
                        continue;
                    }
                };
                let parent_span_id = if span.parent_span_id.is_empty() {
                    None
                } else {
                    match SpanId::from_bytes(&span.parent_span_id) {
                        Ok(id) => Some(id),
                        Err(e) => {
                            batch.reject(format!("span {:?}: parent {e}", span.name));
                            continue;
                        }
                    }
                };
                if span.end_time_unix_nano < span.start_time_unix_nano {
                    batch.reject(format!(
                        "span {:?}: end_time_unix_nano {} is before start_time_unix_nano {}",
                        span.name, span.end_time_unix_nano, span.start_time_unix_nano
                    ));
                    continue;
                }
                let status = span
                    .status
                    .as_ref()
                    .map_or_else(Status::default, |s| Status {
                        code: match s.code {
                            1 => StatusCode::Ok,
                            2 => StatusCode::Error,
                            _ => StatusCode::Unset,
                        },
                        message: s.message.clone(),
                    });
                let events = span
                    .events
                    .iter()
                    .map(|e| SpanEvent {
                        name: e.name.clone(),
                        time_unix_nano: e.time_unix_nano,
                        attributes: attributes(&e.attributes),
                    })
                    .collect();
                batch.spans.push(Span {
                    trace_id,
                    span_id,
                    parent_span_id,
                    name: span.name,
                    otel_kind: span.kind,
                    start_unix_nano: span.start_time_unix_nano,
                    end_unix_nano: span.end_time_unix_nano,
                    status,
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                    resource: resource.clone(),
                    attributes: attributes(&span.attributes),
                    events,
                    kind: SpanKind::Other,
                    grouping: grouping.clone(),
                    model_call: None,
                    tool: None,
                    tool_failed: false,
                    redactions: Default::default(),
                });
            }
        }
    }
    batch
}

/// Decodes an already-parsed logs request (the gRPC path).
pub fn logs(req: ExportLogsServiceRequest) -> Batch {
    let mut batch = Batch::default();
    for rl in req.resource_logs {
        let resource = rl
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let grouping = service_grouping(&resource);
        for sl in rl.scope_logs {
            let scope_name = sl
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for rec in sl.log_records {
                let ids = optional_id(&rec.trace_id, TraceId::from_bytes)
                    .and_then(|t| Ok((t, optional_id(&rec.span_id, SpanId::from_bytes)?)));
                let (trace_id, span_id) = match ids {
                    Ok(ids) => ids,
                    Err(e) => {
                        batch.reject(format!("log record: {e}"));
                        continue;
                    }
                };
                let attributes = attributes(&rec.attributes);
                let event_name = Some(rec.event_name.clone())
                    .filter(|n| !n.is_empty())
                    .or_else(|| {
                        attributes
                            .get("event.name")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    });
                batch.logs.push(LogRecord {
                    time_unix_nano: if rec.time_unix_nano != 0 {
                        rec.time_unix_nano
                    } else {
                        rec.observed_time_unix_nano
                    },
                    observed_time_unix_nano: rec.observed_time_unix_nano,
                    severity_number: rec.severity_number,
                    severity_text: rec.severity_text.clone(),
                    event_name,
                    body: rec.body.as_ref().map_or(Value::Null, any_value_to_json),
                    trace_id,
                    span_id,
                    scope_name: scope_name.clone(),
                    resource: resource.clone(),
                    attributes,
                    grouping: grouping.clone(),
                    model_call: None,
                    redactions: Default::default(),
                });
            }
        }
    }
    batch
}

fn temporality(t: i32) -> Temporality {
    match t {
        1 => Temporality::Delta,
        2 => Temporality::Cumulative,
        _ => Temporality::Unspecified,
    }
}

fn number(v: &Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsDouble(d)) => *d,
        Some(number_data_point::Value::AsInt(i)) => *i as f64,
        None => 0.0,
    }
}

/// Decodes an already-parsed metrics request (the gRPC path).
pub fn metrics(req: ExportMetricsServiceRequest) -> Batch {
    let mut batch = Batch::default();
    for rm in req.resource_metrics {
        let resource = rm
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for sm in rm.scope_metrics {
            let scope_name = sm
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for m in sm.metrics {
                if m.name.is_empty() {
                    batch.reject("metric with an empty name".to_owned());
                    continue;
                }
                let mut push =
                    |start: u64, time: u64, attrs: &[KeyValue], value: MetricPointValue| {
                        batch.metrics.push(MetricPoint {
                            name: m.name.clone(),
                            unit: m.unit.clone(),
                            scope_name: scope_name.clone(),
                            start_unix_nano: start,
                            time_unix_nano: time,
                            resource: resource.clone(),
                            attributes: attributes(attrs),
                            value,
                        })
                    };
                match &m.data {
                    Some(metric::Data::Gauge(g)) => {
                        for p in &g.data_points {
                            push(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                MetricPointValue::Gauge {
                                    value: number(&p.value),
                                },
                            );
                        }
                    }
                    Some(metric::Data::Sum(s)) => {
                        for p in &s.data_points {
                            push(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                MetricPointValue::Sum {
                                    value: number(&p.value),
                                    monotonic: s.is_monotonic,
                                    temporality: temporality(s.aggregation_temporality),
                                },
                            );
                        }
                    }
                    Some(metric::Data::Histogram(h)) => {
                        for p in &h.data_points {
                            push(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                MetricPointValue::Histogram {
                                    count: p.count,
                                    sum: p.sum,
                                    bounds: p.explicit_bounds.clone(),
                                    bucket_counts: p.bucket_counts.clone(),
                                    temporality: temporality(h.aggregation_temporality),
                                },
                            );
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(h)) => {
                        for p in &h.data_points {
                            push(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                MetricPointValue::Other {
                                    value: serde_json::json!({"kind": "exponential_histogram", "count": p.count, "sum": p.sum, "scale": p.scale, "zero_count": p.zero_count}),
                                },
                            );
                        }
                    }
                    Some(metric::Data::Summary(s)) => {
                        for p in &s.data_points {
                            push(
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.attributes,
                                MetricPointValue::Other {
                                    value: serde_json::json!({"kind": "summary", "count": p.count, "sum": p.sum,
                                    "quantiles": p.quantile_values.iter().map(|q| [q.quantile, q.value]).collect::<Vec<_>>()}),
                                },
                            );
                        }
                    }
                    None => batch.reject(format!("metric {:?} has no data", m.name)),
                }
            }
        }
    }
    batch
}
