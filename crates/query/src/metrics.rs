//! `GET /api/v1/metrics`: counts, tokens, money and latency percentiles, grouped.

use std::collections::HashMap;

use glassbox_store::{CallRow, Filter, Store, Sym, TraceRow};
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
    /// Pass thresholds per score name (`value >= threshold` passes).
    pub thresholds: std::collections::BTreeMap<String, f64>,
}

impl MetricsQuery {
    pub fn from_params(p: &Params) -> Result<Self, QueryError> {
        let mut known = FILTER_PARAMS.to_vec();
        known.extend(["group_by", "latency_of", "thresholds"]);
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
        let mut thresholds = std::collections::BTreeMap::new();
        for pair in p
            .get("thresholds")
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
            .filter(|x| !x.is_empty())
        {
            let parsed = pair
                .rsplit_once(':')
                .and_then(|(n, v)| Some((n, v.parse::<f64>().ok().filter(|v| v.is_finite())?)))
                .filter(|(n, _)| !n.is_empty());
            let Some((name, value)) = parsed else {
                return Err(QueryError::bad(
                    "thresholds",
                    format!("{pair:?} must be NAME:NUMBER, e.g. correctness:0.8"),
                ));
            };
            thresholds.insert(name.to_owned(), value);
        }
        Ok(Self {
            filter: filter_from(p)?,
            group_by,
            latency_of,
            thresholds,
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
    /// Per score name, over the group's traces and their spans: count, mean,
    /// and the share at or above the name's threshold (with `thresholds`).
    pub scores: std::collections::BTreeMap<String, ScoreAggregate>,
    /// Sensitive values redacted before storage (compliance events), over the group's traces.
    pub pii_findings: u64,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct ScoreAggregate {
    pub count: u64,
    pub mean: f64,
    pub pass_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsResponse {
    pub groups: Vec<MetricsGroup>,
    pub total: MetricsGroup,
}

/// FxHash-style multiply-rotate hashing: aggregation hashes millions of
/// small keys, where SipHash's DoS resistance buys nothing (keys come from
/// our own store) and costs most of the query time.
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        // murmur3's finaliser: ids are mostly zero bytes, so mix every bit into the low ones.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type Fast = std::hash::BuildHasherDefault<FastHasher>;

/// Pass thresholds by score name.
type Thresholds = std::collections::BTreeMap<String, f64>;

/// What aggregation needs of a trace, copied out of the store's row.
#[derive(Clone)]
struct TraceFacts {
    span_count: u64,
    tool_calls: u64,
    tool_errors: u64,
    pii_findings: u64,
    start_ns: u64,
    end_ns: u64,
    scores: Option<std::sync::Arc<[(Sym, f64)]>>,
}

impl From<&TraceRow> for TraceFacts {
    fn from(t: &TraceRow) -> Self {
        TraceFacts {
            span_count: t.span_count,
            tool_calls: t.tool_calls,
            tool_errors: t.tool_errors,
            pii_findings: t.pii_findings,
            scores: t.scores.clone(),
            start_ns: t.start_ns,
            end_ns: t.end_ns,
        }
    }
}

#[derive(Default)]
struct Acc {
    traces: u64,
    /// Model groups only: which traces (by dense index) this group has counted.
    seen: Vec<u64>,
    spans: u64,
    llm_calls: u64,
    tool_calls: u64,
    failed_calls: u64,
    tool_errors: u64,
    pii_findings: u64,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    pico: i128,
    unpriced: u64,
    latencies_ms: Vec<f64>,
    /// name → (count, sum, passed)
    /// Per score name: (name, its pass threshold, count, sum, passed). A
    /// handful of names, so a vector searched by the interned pointer first.
    scores: Vec<(Sym, Option<f64>, u64, f64, u64)>,
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

    fn add_trace(&mut self, t: &TraceFacts, latency: bool, thresholds: &Thresholds) {
        for (name, v) in t.scores.as_deref().unwrap_or_default() {
            let found = self
                .scores
                .iter()
                .position(|e| std::sync::Arc::ptr_eq(&e.0, name))
                .or_else(|| self.scores.iter().position(|e| e.0 == *name));
            let i = found.unwrap_or_else(|| {
                let threshold = thresholds.get(&**name).copied();
                self.scores.push((name.clone(), threshold, 0, 0.0, 0));
                self.scores.len() - 1
            });
            let e = &mut self.scores[i];
            e.2 += 1;
            e.3 += v;
            e.4 += u64::from(e.1.is_some_and(|th| *v >= th));
        }
        self.traces += 1;
        self.spans += t.span_count;
        self.tool_calls += t.tool_calls;
        self.tool_errors += t.tool_errors;
        self.pii_findings += t.pii_findings;
        if latency {
            self.latencies_ms
                .push(t.end_ns.saturating_sub(t.start_ns) as f64 / 1e6);
        }
    }

    /// Counts trace `index` once however many of its calls fall in this group.
    fn add_trace_once(
        &mut self,
        index: usize,
        t: &TraceFacts,
        latency: bool,
        thresholds: &Thresholds,
    ) {
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & bit == 0 {
            self.seen[word] |= bit;
            self.add_trace(t, latency, thresholds);
        }
    }

    fn finish(
        mut self,
        key: Option<String>,
        thresholds: &std::collections::BTreeMap<String, f64>,
    ) -> MetricsGroup {
        let scores = std::mem::take(&mut self.scores)
            .into_iter()
            .map(|(name, _, count, sum, passed)| {
                let agg = ScoreAggregate {
                    count,
                    mean: sum / count.max(1) as f64,
                    pass_rate: thresholds
                        .contains_key(&*name)
                        .then(|| passed as f64 / count.max(1) as f64),
                };
                (name.to_string(), agg)
            })
            .collect();
        let n = self.latencies_ms.len();
        let mut pct = |q: f64| -> Option<f64> {
            // Nearest rank: the smallest value with at least q of the sample at or below it.
            (n > 0).then(|| {
                let rank = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
                *self
                    .latencies_ms
                    .select_nth_unstable_by(rank, f64::total_cmp)
                    .1
            })
        };
        let latency_ms = Percentiles {
            p50: pct(0.50),
            p95: pct(0.95),
            p99: pct(0.99),
        };
        let errors = self.failed_calls + self.tool_errors;
        let ops = self.llm_calls + self.tool_calls;
        let traces = self.traces;
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
            latency_ms,
            input_tokens: self.input,
            output_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            cache_hit_ratio: (prompt > 0).then(|| self.cache_read as f64 / prompt as f64),
            cost_usd: usd(self.pico),
            cost_per_trace_usd: (traces > 0).then(|| usd(self.pico / i128::from(traces))),
            unpriced_calls: self.unpriced,
            scores,
            pii_findings: self.pii_findings,
        }
    }
}

const HOUR_NS: u64 = 3_600_000_000_000;
const DAY_NS: u64 = 24 * HOUR_NS;

/// A group's key before rendering: interned strings and time buckets hash cheaply.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Text(Option<Sym>),
    Bucket(u64),
}

impl Key {
    fn render(&self) -> Option<String> {
        match self {
            Key::Text(s) => s.as_deref().map(str::to_owned),
            Key::Bucket(ns) => Some(format_time(*ns)),
        }
    }
}

fn call_key(g: GroupBy, c: &CallRow) -> Key {
    match g {
        GroupBy::Model => Key::Text(c.model.clone()),
        GroupBy::Service => Key::Text(c.service.clone()),
        GroupBy::Release => Key::Text(c.release.clone()),
        GroupBy::PromptVersion => Key::Text(c.prompt_version.clone()),
        GroupBy::User => Key::Text(c.user_id.clone()),
        GroupBy::Day => Key::Bucket(c.start_ns - c.start_ns % DAY_NS),
        GroupBy::Hour => Key::Bucket(c.start_ns - c.start_ns % HOUR_NS),
    }
}

/// `None` for model: a trace belongs to every model it called, via its calls.
fn trace_key(g: GroupBy, t: &TraceRow) -> Option<Key> {
    Some(match g {
        GroupBy::Model => return None,
        GroupBy::Service => Key::Text(t.service.clone()),
        GroupBy::Release => Key::Text(t.release.clone()),
        GroupBy::PromptVersion => Key::Text(t.prompt_version.clone()),
        GroupBy::User => Key::Text(t.user_id.clone()),
        GroupBy::Day => Key::Bucket(t.start_ns - t.start_ns % DAY_NS),
        GroupBy::Hour => Key::Bucket(t.start_ns - t.start_ns % HOUR_NS),
    })
}

pub fn metrics(store: &dyn Store, q: &MetricsQuery) -> Result<MetricsResponse, QueryError> {
    let llm_latency = q.latency_of == LatencyOf::Llm;
    let mut total = Acc::default();
    let mut groups: HashMap<Key, Acc, Fast> = HashMap::default();
    // Model groups count the traces their calls belong to: trace facts by a
    // dense index (the store's ordinal, or one assigned here) so each call
    // costs an array access, not a hash lookup.
    let by_model = q.group_by == Some(GroupBy::Model);
    let mut facts: Vec<Option<TraceFacts>> = Vec::new();
    // A store without ordinals gets dense ones assigned here (stores give
    // ordinals for every row or for none).
    let mut local: HashMap<[u8; 16], usize, Fast> = HashMap::default();
    let index_of = |id: [u8; 16],
                    ordinal: Option<u32>,
                    local: &mut HashMap<[u8; 16], usize, Fast>| match ordinal {
        Some(o) => o as usize,
        None => {
            let next = local.len();
            *local.entry(id).or_insert(next)
        }
    };
    // Scores come with the trace rows (the store keeps them with the summaries).
    let scores = &q.thresholds;
    store.for_each_trace(&q.filter, &mut |t| {
        total.add_trace(&t.into(), !llm_latency, scores);
        match q.group_by {
            Some(GroupBy::Model) => {
                let i = index_of(t.trace_id, t.ordinal, &mut local);
                if facts.len() <= i {
                    facts.resize(i + 1, None);
                }
                facts[i] = Some(t.into());
            }
            Some(g) => {
                if let Some(k) = trace_key(g, t) {
                    groups
                        .entry(k)
                        .or_default()
                        .add_trace(&t.into(), !llm_latency, scores);
                }
            }
            None => {}
        }
    })?;
    // Consecutive calls usually share a key (a session's calls arrive together):
    // remember the last group to skip most hash lookups.
    let mut slots: Vec<(Key, Acc)> = groups.into_iter().collect();
    let mut index: HashMap<Key, usize, Fast> = slots
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    let mut last: Option<(Key, usize)> = None;
    store.for_each_call(&q.filter, &mut |c| {
        total.add_call(c, llm_latency);
        if let Some(g) = q.group_by {
            let key = call_key(g, c);
            let slot = match &last {
                Some((k, i)) if *k == key => *i,
                _ => {
                    let i = *index.entry(key.clone()).or_insert_with(|| {
                        slots.push((key.clone(), Acc::default()));
                        slots.len() - 1
                    });
                    last = Some((key, i));
                    i
                }
            };
            let acc = &mut slots[slot].1;
            acc.add_call(c, llm_latency);
            if by_model && let Some(id) = c.trace_id {
                // Only traces that passed the filter have facts.
                let i = index_of(id, c.trace_ordinal, &mut local);
                if let Some(Some(t)) = facts.get(i) {
                    acc.add_trace_once(i, t, !llm_latency, scores);
                }
            }
        }
    })?;
    let groups = slots;
    let mut groups: Vec<MetricsGroup> = groups
        .into_iter()
        .map(|(k, acc)| acc.finish(k.render(), &q.thresholds))
        .collect();
    groups.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(MetricsResponse {
        groups,
        total: total.finish(None, &q.thresholds),
    })
}
