//! OTLP logs and metrics as stored: `GET /api/v1/logs` and `GET /api/v1/otel-metrics/{name}`.

use std::collections::BTreeMap;

use glassbox_model::{MetricPointValue, Temporality, TraceId};
use glassbox_store::{LogFilter, Store};
use serde::Serialize;

use crate::params::{Params, QueryError, format_time, parse_time, reject_unknown};

#[derive(Debug, Clone)]
pub struct LogsQuery(pub LogFilter);

impl LogsQuery {
    pub fn from_params(p: &Params) -> Result<Self, QueryError> {
        reject_unknown(p, &["from", "to", "trace_id", "event", "session", "limit"])?;
        let limit = match p.get("limit") {
            None => 100,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    QueryError::bad("limit", format!("{v:?} must be an integer from 1 to 10000"))
                })?,
        };
        Ok(Self(LogFilter {
            from_ns: p.get("from").map(|v| parse_time("from", v)).transpose()?,
            to_ns: p.get("to").map(|v| parse_time("to", v)).transpose()?,
            trace_id: p
                .get("trace_id")
                .map(|v| {
                    TraceId::from_hex(v).map_err(|e| QueryError::bad("trace_id", e.to_string()))
                })
                .transpose()?,
            event_name: p.get("event").cloned(),
            session: p.get("session").cloned(),
            limit,
        }))
    }
}

#[derive(Debug, Serialize)]
pub struct LogView {
    pub time: String,
    pub event_name: Option<String>,
    pub severity_number: i32,
    pub severity_text: String,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub scope: String,
    pub body: serde_json::Value,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub resource: serde_json::Map<String, serde_json::Value>,
}

pub fn logs(store: &dyn Store, q: &LogsQuery) -> Result<Vec<LogView>, QueryError> {
    Ok(store
        .list_logs(&q.0)?
        .into_iter()
        .map(|l| LogView {
            time: format_time(l.time_unix_nano),
            event_name: l.event_name,
            severity_number: l.severity_number,
            severity_text: l.severity_text,
            trace_id: l.trace_id.map(|t| t.to_hex()),
            span_id: l.span_id.map(|s| s.to_hex()),
            scope: l.scope_name,
            body: l.body,
            attributes: l.attributes,
            resource: l.resource,
        })
        .collect())
}

#[derive(Debug, Clone)]
pub struct OtelMetricQuery {
    pub name: String,
    pub from_ns: Option<u64>,
    pub to_ns: Option<u64>,
    pub group_by: Option<String>,
}

impl OtelMetricQuery {
    pub fn from_params(name: &str, p: &Params) -> Result<Self, QueryError> {
        reject_unknown(p, &["from", "to", "group_by"])?;
        Ok(Self {
            name: name.to_owned(),
            from_ns: p.get("from").map(|v| parse_time("from", v)).transpose()?,
            to_ns: p.get("to").map(|v| parse_time("to", v)).transpose()?,
            group_by: p.get("group_by").filter(|g| !g.is_empty()).cloned(),
        })
    }
}

#[derive(Debug, Serialize, Default)]
pub struct SeriesValue {
    pub key: Option<String>,
    /// For sums: the increase in the window; for gauges: the last value; for histograms: the sum of observations.
    pub value: f64,
    /// Histograms only: observations in the window.
    pub count: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct OtelMetricResponse {
    pub name: String,
    pub unit: String,
    pub kind: &'static str,
    pub points: usize,
    pub groups: Vec<SeriesValue>,
    pub total: SeriesValue,
}

/// Reduces the stored points of one metric to the window's value per group.
/// Delta points are summed; cumulative points are differenced per series
/// (resource + attributes + start time), so a point exported twice counts once.
pub fn otel_metric(
    store: &dyn Store,
    q: &OtelMetricQuery,
) -> Result<OtelMetricResponse, QueryError> {
    let points = store.metric_points(&q.name, None, q.to_ns)?;
    if points.is_empty() {
        return Err(QueryError::NotFound(format!("metric {:?}", q.name)));
    }
    let from = q.from_ns.unwrap_or(0);
    let unit = points[0].unit.clone();
    let kind = match points[0].value {
        MetricPointValue::Gauge { .. } => "gauge",
        MetricPointValue::Sum { .. } => "sum",
        MetricPointValue::Histogram { .. } => "histogram",
        MetricPointValue::Other { .. } => "other",
    };
    // series key -> (group key, value at window start, value at window end, count start, count end, delta sum, delta count)
    #[derive(Default)]
    struct Series {
        group: Option<String>,
        before: Option<(f64, u64)>,
        last: Option<(f64, u64)>,
        delta: (f64, u64),
        gauge: Option<f64>,
    }
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    let mut in_window = 0usize;
    for p in &points {
        let id = format!(
            "{}|{}|{}",
            serde_json::to_string(&p.resource).unwrap_or_default(),
            serde_json::to_string(&p.attributes).unwrap_or_default(),
            p.start_unix_nano
        );
        let s = series.entry(id).or_default();
        s.group = q.group_by.as_ref().and_then(|g| {
            p.attributes
                .get(g)
                .or_else(|| p.resource.get(g))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        });
        let inside = p.time_unix_nano >= from;
        in_window += usize::from(inside);
        let (value, count, temporality) = match &p.value {
            MetricPointValue::Sum {
                value, temporality, ..
            } => (*value, 0, *temporality),
            MetricPointValue::Histogram {
                count,
                sum,
                temporality,
                ..
            } => (sum.unwrap_or(0.0), *count, *temporality),
            MetricPointValue::Gauge { value } => {
                if inside {
                    s.gauge = Some(*value);
                }
                continue;
            }
            MetricPointValue::Other { .. } => continue,
        };
        match temporality {
            Temporality::Delta => {
                if inside {
                    s.delta.0 += value;
                    s.delta.1 += count;
                }
            }
            _ => {
                if inside {
                    s.last = Some((value, count));
                } else {
                    s.before = Some((value, count));
                }
            }
        }
    }
    let mut groups: BTreeMap<Option<String>, SeriesValue> = BTreeMap::new();
    let mut total = SeriesValue::default();
    for s in series.values() {
        let (v, c) = match (s.gauge, s.last) {
            (Some(g), _) => (g, 0),
            (None, Some((last, lc))) => {
                let (b, bc) = s.before.unwrap_or((0.0, 0));
                (last - b + s.delta.0, lc.saturating_sub(bc) + s.delta.1)
            }
            (None, None) => s.delta,
        };
        let g = groups
            .entry(s.group.clone())
            .or_insert_with(|| SeriesValue {
                key: s.group.clone(),
                ..Default::default()
            });
        g.value += v;
        total.value += v;
        if kind == "histogram" {
            *g.count.get_or_insert(0) += c;
            *total.count.get_or_insert(0) += c;
        }
    }
    Ok(OtelMetricResponse {
        name: q.name.clone(),
        unit,
        kind,
        points: in_window,
        groups: if q.group_by.is_some() {
            groups.into_values().collect()
        } else {
            Vec::new()
        },
        total,
    })
}
