//! `GET /api/v1/metrics`: counts, tokens, money and latency percentiles, grouped.

use std::collections::{BTreeMap, HashMap, HashSet};

use glassbox_store::{CallRow, Filter, Store, TraceRow};
use serde::Serialize;

use crate::params::{
    FILTER_PARAMS, Params, QueryError, filter_from, format_time, reject_unknown, usd,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Model,
    Service,
    Release,
    PromptVersion,
    User,
    Day,
    Hour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencyOf {
    #[default]
    Llm,
    Trace,
}

#[derive(Debug, Clone, Default)]
pub struct MetricsQuery {
    pub filter: Filter,
    pub group_by: Option<GroupBy>,
    pub latency_of: LatencyOf,
}

impl MetricsQuery {
    pub fn from_params(p: &Params) -> Result<Self, QueryError> {
        let mut known = FILTER_PARAMS.to_vec();
        known.extend(["group_by", "latency_of"]);
        reject_unknown(p, &known)?;
        let group_by = match p.get("group_by").map(String::as_str) {
            None | Some("") => None,
            Some("model") => Some(GroupBy::Model),
            Some("service") => Some(GroupBy::Service),
            Some("release") => Some(GroupBy::Release),
            Some("prompt_version") => Some(GroupBy::PromptVersion),
            Some("user") => Some(GroupBy::User),
            Some("day") => Some(GroupBy::Day),
            Some("hour") => Some(GroupBy::Hour),
            Some(other) => {
                return Err(QueryError::bad(
                    "group_by",
                    format!(
                        "{other:?} must be one of model, service, release, prompt_version, user, day, hour"
                    ),
                ));
            }
        };
        let latency_of = match p.get("latency_of").map(String::as_str) {
            None | Some("") | Some("llm") => LatencyOf::Llm,
            Some("trace") => LatencyOf::Trace,
            Some(other) => {
                return Err(QueryError::bad(
                    "latency_of",
                    format!("{other:?} must be \"llm\" or \"trace\""),
                ));
            }
        };
        Ok(Self {
            filter: filter_from(p)?,
            group_by,
            latency_of,
        })
    }
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct MetricsGroup {
    pub key: Option<String>,
    pub traces: u64,
    pub spans: u64,
    pub llm_calls: u64,
    pub tool_calls: u64,
    /// Failed model calls plus failed tool executions.
    pub errors: u64,
    /// `errors / (llm_calls + tool_calls)`.
    pub error_rate: f64,
    pub latency_ms: Percentiles,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// `cache_read / (input + cache_read + cache_write)`.
    pub cache_hit_ratio: Option<f64>,
    pub cost_usd: f64,
    pub cost_per_trace_usd: Option<f64>,
    pub unpriced_calls: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsResponse {
    pub groups: Vec<MetricsGroup>,
    pub total: MetricsGroup,
}

#[derive(Default)]
struct Acc {
    traces: HashSet<Vec<u8>>,
    spans: u64,
    llm_calls: u64,
    tool_calls: u64,
    failed_calls: u64,
    tool_errors: u64,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    pico: i128,
    unpriced: u64,
    latencies_ms: Vec<f64>,
}

impl Acc {
    fn add_call(&mut self, c: &CallRow, latency: bool) {
        self.llm_calls += 1;
        self.failed_calls += u64::from(c.failed);
        self.input += c.input_tokens;
        self.output += c.output_tokens;
        self.cache_read += c.cache_read_tokens;
        self.cache_write += c.cache_write_tokens;
        match c.cost_pico {
            Some(p) => self.pico += i128::from(p),
            None => self.unpriced += 1,
        }
        if latency {
            self.latencies_ms
                .push(c.end_ns.saturating_sub(c.start_ns) as f64 / 1e6);
        }
    }

    fn add_trace(&mut self, t: &TraceRow, latency: bool) {
        if self.traces.insert(t.trace_id.clone()) {
            self.spans += t.span_count;
            self.tool_calls += t.tool_calls;
            self.tool_errors += t.tool_errors;
            if latency {
                self.latencies_ms
                    .push(t.end_ns.saturating_sub(t.start_ns) as f64 / 1e6);
            }
        }
    }

    fn finish(mut self, key: Option<String>) -> MetricsGroup {
        self.latencies_ms.sort_by(f64::total_cmp);
        let pct = |q: f64| -> Option<f64> {
            let n = self.latencies_ms.len();
            // Nearest rank: the smallest value with at least q of the sample at or below it.
            (n > 0).then(|| self.latencies_ms[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        let errors = self.failed_calls + self.tool_errors;
        let ops = self.llm_calls + self.tool_calls;
        let traces = self.traces.len() as u64;
        let prompt = self.input + self.cache_read + self.cache_write;
        MetricsGroup {
            key,
            traces,
            spans: self.spans,
            llm_calls: self.llm_calls,
            tool_calls: self.tool_calls,
            errors,
            error_rate: if ops > 0 {
                errors as f64 / ops as f64
            } else {
                0.0
            },
            latency_ms: Percentiles {
                p50: pct(0.50),
                p95: pct(0.95),
                p99: pct(0.99),
            },
            input_tokens: self.input,
            output_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            cache_hit_ratio: (prompt > 0).then(|| self.cache_read as f64 / prompt as f64),
            cost_usd: usd(self.pico),
            cost_per_trace_usd: (traces > 0).then(|| usd(self.pico / i128::from(traces))),
            unpriced_calls: self.unpriced,
        }
    }
}

const HOUR_NS: u64 = 3_600_000_000_000;
const DAY_NS: u64 = 24 * HOUR_NS;

fn bucket(ns: u64, width: u64) -> String {
    format_time(ns - ns % width)
}

fn call_key(g: GroupBy, c: &CallRow) -> Option<String> {
    match g {
        GroupBy::Model => c.model.clone(),
        GroupBy::Service => c.service.clone(),
        GroupBy::Release => c.release.clone(),
        GroupBy::PromptVersion => c.prompt_version.clone(),
        GroupBy::User => c.user_id.clone(),
        GroupBy::Day => Some(bucket(c.start_ns, DAY_NS)),
        GroupBy::Hour => Some(bucket(c.start_ns, HOUR_NS)),
    }
}

fn trace_key(g: GroupBy, t: &TraceRow) -> Option<Option<String>> {
    Some(match g {
        // A trace belongs to every model it called; handled through its calls.
        GroupBy::Model => return None,
        GroupBy::Service => t.service.clone(),
        GroupBy::Release => t.release.clone(),
        GroupBy::PromptVersion => t.prompt_version.clone(),
        GroupBy::User => t.user_id.clone(),
        GroupBy::Day => Some(bucket(t.start_ns, DAY_NS)),
        GroupBy::Hour => Some(bucket(t.start_ns, HOUR_NS)),
    })
}

pub fn metrics(store: &dyn Store, q: &MetricsQuery) -> Result<MetricsResponse, QueryError> {
    let calls = store.scan_calls(&q.filter)?;
    let traces = store.scan_traces(&q.filter)?;
    let llm_latency = q.latency_of == LatencyOf::Llm;
    let mut total = Acc::default();
    for c in &calls {
        total.add_call(c, llm_latency);
    }
    for t in &traces {
        total.add_trace(t, !llm_latency);
    }
    let mut groups: BTreeMap<Option<String>, Acc> = BTreeMap::new();
    if let Some(g) = q.group_by {
        let by_id: HashMap<&[u8], &TraceRow> =
            traces.iter().map(|t| (t.trace_id.as_slice(), t)).collect();
        for c in &calls {
            let acc = groups.entry(call_key(g, c)).or_default();
            acc.add_call(c, llm_latency);
            if g == GroupBy::Model
                && let Some(t) = c.trace_id.as_deref().and_then(|id| by_id.get(id))
            {
                acc.add_trace(t, !llm_latency);
            }
        }
        for t in &traces {
            if let Some(key) = trace_key(g, t) {
                groups.entry(key).or_default().add_trace(t, !llm_latency);
            }
        }
    }
    Ok(MetricsResponse {
        groups: groups.into_iter().map(|(k, acc)| acc.finish(k)).collect(),
        total: total.finish(None),
    })
}
