//! Trace listing, one trace in full, and a session's traces.

use std::collections::HashMap;

use glassbox_model::{Message, SpanEvent, StatusCode};
use glassbox_store::{CallRow, Filter, Store, TraceCursor, TraceRow};
use serde::Serialize;

use crate::params::{
    FILTER_PARAMS, Params, QueryError, duration_ms, filter_from, format_time, reject_unknown, usd,
};

/// `GET /api/v1/traces` parameters.
#[derive(Debug, Clone, Default)]
pub struct TracesQuery {
    pub filter: Filter,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    /// Only traces whose priced calls cost at least this much.
    pub min_cost_usd: Option<f64>,
    pub min_duration_ms: Option<f64>,
    pub sort: SortBy,
    pub order: Order,
    /// `include=scores`: each row carries its trace's scores (for the release gate's
    /// live-traffic side, which compares score means between releases).
    pub include_scores: bool,
}

/// What the trace list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    StartTime,
    Duration,
    Cost,
    Tokens,
    LlmCalls,
    Errors,
}

impl SortBy {
    pub const ALL: [(&'static str, SortBy); 6] = [
        ("start_time", SortBy::StartTime),
        ("duration", SortBy::Duration),
        ("cost", SortBy::Cost),
        ("tokens", SortBy::Tokens),
        ("llm_calls", SortBy::LlmCalls),
        ("errors", SortBy::Errors),
    ];
    pub fn as_str(self) -> &'static str {
        SortBy::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("start_time", |(n, _)| n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Desc,
    Asc,
}

/// Where the next page starts. Newest-first listings page by position in the
/// time index (stable while data arrives); ranked and searched listings page
/// by offset into the ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Time(TraceCursor),
    Offset(usize),
}

/// Traces whose content a search reads per page at most; the page's
/// `next_cursor` resumes where the search stopped.
pub const SEARCH_BUDGET: usize = 2_000;

pub const MAX_LIMIT: usize = 1000;

impl TracesQuery {
    pub fn from_params(p: &Params) -> Result<Self, QueryError> {
        let mut known = FILTER_PARAMS.to_vec();
        known.extend([
            "limit",
            "cursor",
            "min_cost_usd",
            "min_duration_ms",
            "sort",
            "order",
            "include",
        ]);
        reject_unknown(p, &known)?;
        let include_scores = match p.get("include").map(String::as_str) {
            None | Some("") => false,
            Some("scores") => true,
            Some(v) => {
                return Err(QueryError::bad(
                    "include",
                    format!("{v:?} is not something a trace row can include; use include=scores"),
                ));
            }
        };
        let limit = match p.get("limit") {
            None => 50,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    QueryError::bad(
                        "limit",
                        format!("{v:?} must be an integer from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let cursor = p
            .get("cursor")
            .filter(|c| !c.is_empty())
            .map(|c| parse_cursor(c))
            .transpose()?;
        let number = |name: &'static str| -> Result<Option<f64>, QueryError> {
            p.get(name)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite() && *n >= 0.0)
                        .ok_or_else(|| QueryError::bad(name, format!("{v:?} must be a number ≥ 0")))
                })
                .transpose()
        };
        let sort = match p.get("sort").map(String::as_str) {
            None | Some("") => SortBy::default(),
            Some(v) => SortBy::ALL
                .iter()
                .find(|(n, _)| *n == v)
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    QueryError::bad(
                        "sort",
                        format!(
                            "{v:?} must be one of {}",
                            SortBy::ALL.map(|(n, _)| n).join(", ")
                        ),
                    )
                })?,
        };
        let order = match p.get("order").map(String::as_str) {
            None | Some("") | Some("desc") => Order::Desc,
            Some("asc") => Order::Asc,
            Some(v) => {
                return Err(QueryError::bad(
                    "order",
                    format!("{v:?} must be \"asc\" or \"desc\""),
                ));
            }
        };
        Ok(Self {
            filter: filter_from(p)?,
            limit,
            cursor,
            min_cost_usd: number("min_cost_usd")?,
            min_duration_ms: number("min_duration_ms")?,
            sort,
            order,
            include_scores,
        })
    }

    /// Newest first with no filter the time index cannot apply.
    fn is_plain(&self) -> bool {
        self.sort == SortBy::StartTime
            && self.order == Order::Desc
            && self.min_cost_usd.is_none()
            && self.min_duration_ms.is_none()
            && self.filter.q.is_none()
    }
}

fn parse_cursor(c: &str) -> Result<Cursor, QueryError> {
    let bad = || {
        QueryError::bad(
            "cursor",
            "not a cursor returned by this API (pass next_cursor back unchanged)",
        )
    };
    if let Some(n) = c.strip_prefix('o') {
        return n.parse().map(Cursor::Offset).map_err(|_| bad());
    }
    let (ns, id) = c.split_once('-').ok_or_else(bad)?;
    let start_ns = ns.parse().map_err(|_| bad())?;
    let trace_id: [u8; 16] = hex::decode(id)
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    Ok(Cursor::Time(TraceCursor { start_ns, trace_id }))
}

fn cursor_of(t: &TraceRow) -> String {
    format!("{}-{}", t.start_ns, hex::encode(t.trace_id))
}

/// One row of the trace list (the API contract).
#[derive(Debug, Clone, Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub name: Option<String>,
    pub service: Option<String>,
    pub start_time: String,
    pub duration_ms: f64,
    pub span_count: u64,
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub cost_usd: f64,
    /// Model calls whose model has no price: `cost_usd` leaves them out.
    pub unpriced_calls: u64,
    pub status: &'static str,
    pub errors: u64,
    pub tool_errors: u64,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub release: Option<String>,
    pub prompt_version: Option<String>,
    pub environment: Option<String>,
    pub models: Vec<String>,
    /// Sensitive values redacted from this trace before storage.
    pub pii_findings: u64,
    /// With `include=scores` only (the full trace has its own `scores`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<crate::ScoreView>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TracesPage {
    pub traces: Vec<TraceSummary>,
    pub next_cursor: Option<String>,
}

fn summarise(t: &TraceRow, calls: &[&CallRow]) -> TraceSummary {
    let mut s = TraceSummary {
        trace_id: hex::encode(t.trace_id),
        name: text(&t.name),
        service: text(&t.service),
        start_time: format_time(t.start_ns),
        duration_ms: duration_ms(t.start_ns, t.end_ns),
        span_count: t.span_count,
        llm_calls: calls.len() as u64,
        tool_calls: t.tool_calls,
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cost_usd: 0.0,
        unpriced_calls: 0,
        status: "ok",
        errors: 0,
        tool_errors: t.tool_errors,
        user_id: text(&t.user_id),
        session_id: text(&t.session_id),
        release: text(&t.release),
        prompt_version: text(&t.prompt_version),
        environment: text(&t.environment),
        models: Vec::new(),
        pii_findings: t.pii_findings,
        scores: None,
    };
    let mut pico: i128 = 0;
    let mut failed = 0u64;
    for c in calls {
        s.input_tokens += c.input_tokens;
        s.output_tokens += c.output_tokens;
        s.cache_read_tokens += c.cache_read_tokens;
        s.cache_write_tokens += c.cache_write_tokens;
        match c.cost_pico {
            Some(p) => pico += i128::from(p),
            None => s.unpriced_calls += 1,
        }
        failed += u64::from(c.failed);
        if let Some(m) = &c.model
            && !s.models.iter().any(|x| **x == **m)
        {
            s.models.push(m.to_string());
        }
    }
    s.cost_usd = usd(pico);
    s.errors = failed + t.tool_errors;
    if t.error_count > 0 || s.errors > 0 {
        s.status = "error";
    }
    s
}

fn text(s: &Option<glassbox_store::Sym>) -> Option<String> {
    s.as_deref().map(str::to_owned)
}

fn summaries(store: &dyn Store, rows: &[TraceRow]) -> Result<Vec<TraceSummary>, QueryError> {
    let ids: Vec<[u8; 16]> = rows.iter().map(|t| t.trace_id).collect();
    let calls = store.calls_for_traces(&ids)?;
    let mut by_trace: HashMap<[u8; 16], Vec<&CallRow>> = HashMap::new();
    for c in &calls {
        if let Some(t) = c.trace_id {
            by_trace.entry(t).or_default().push(c);
        }
    }
    Ok(rows
        .iter()
        .map(|t| {
            summarise(
                t,
                by_trace
                    .get(t.trace_id.as_slice())
                    .map_or(&[][..], Vec::as_slice),
            )
        })
        .collect())
}

pub fn list_traces(store: &dyn Store, q: &TracesQuery) -> Result<TracesPage, QueryError> {
    let mut page = list_trace_rows(store, q)?;
    if q.include_scores {
        for t in &mut page.traces {
            let id = hex::decode(&t.trace_id)
                .ok()
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .unwrap_or_default();
            t.scores = Some(crate::scores::trace_scores(store, id)?);
        }
    }
    Ok(page)
}

fn list_trace_rows(store: &dyn Store, q: &TracesQuery) -> Result<TracesPage, QueryError> {
    if !q.is_plain() || matches!(q.cursor, Some(Cursor::Offset(_))) {
        return ranked(store, q);
    }
    let after = match &q.cursor {
        Some(Cursor::Time(c)) => Some(c),
        _ => None,
    };
    let rows = store.list_traces(&q.filter, q.limit + 1, after)?;
    let has_more = rows.len() > q.limit;
    let rows = &rows[..rows.len().min(q.limit)];
    Ok(TracesPage {
        traces: summaries(store, rows)?,
        next_cursor: if has_more {
            rows.last().map(cursor_of)
        } else {
            None
        },
    })
}

/// What ranking needs of one candidate trace.
struct Candidate {
    id: [u8; 16],
    start_ns: u64,
    duration_ns: u64,
    pico: i128,
    tokens: u64,
    llm_calls: u64,
    errors: u64,
}

/// Sorted, cost-filtered or searched listings: rank every trace the filter
/// admits (the store's aggregate path, in memory for SQLite), then page by
/// offset. Search reads content only for the page's worth of candidates.
fn ranked(store: &dyn Store, q: &TracesQuery) -> Result<TracesPage, QueryError> {
    let mut filter = q.filter.clone();
    let needle = filter.q.take().map(|n| n.to_lowercase());
    let min_duration_ns = q.min_duration_ms.map(|ms| (ms * 1e6) as u64);
    let mut cands: Vec<Candidate> = Vec::new();
    // Candidate slot by the store's dense ordinal (an array, not a hash:
    // ranking visits every call), or by id where a store has no ordinals.
    const NONE: u32 = u32::MAX;
    let mut by_ordinal: Vec<u32> = Vec::new();
    let mut by_id: HashMap<[u8; 16], usize> = HashMap::new();
    store.for_each_trace(&filter, &mut |t| {
        let duration_ns = t.end_ns.saturating_sub(t.start_ns);
        if min_duration_ns.is_some_and(|m| duration_ns < m) {
            return;
        }
        match t.ordinal {
            Some(o) => {
                let o = o as usize;
                if by_ordinal.len() <= o {
                    by_ordinal.resize(o + 1, NONE);
                }
                by_ordinal[o] = u32::try_from(cands.len()).unwrap_or(NONE);
            }
            None => {
                by_id.insert(t.trace_id, cands.len());
            }
        }
        cands.push(Candidate {
            id: t.trace_id,
            start_ns: t.start_ns,
            duration_ns,
            pico: 0,
            tokens: 0,
            llm_calls: 0,
            errors: t.tool_errors,
        });
    })?;
    let needs_calls = q.min_cost_usd.is_some()
        || matches!(
            q.sort,
            SortBy::Cost | SortBy::Tokens | SortBy::LlmCalls | SortBy::Errors
        );
    if needs_calls && !cands.is_empty() {
        // A trace's cost counts all its calls, whatever the filter matched them by.
        let window = Filter {
            from_ns: filter.from_ns,
            ..Filter::default()
        };
        store.for_each_call(&window, &mut |c| {
            let slot = match (c.trace_ordinal, c.trace_id) {
                (Some(o), _) => by_ordinal
                    .get(o as usize)
                    .filter(|&&i| i != NONE)
                    .map(|&i| i as usize),
                (None, Some(id)) => by_id.get(&id).copied(),
                _ => None,
            };
            if let Some(i) = slot {
                let t = &mut cands[i];
                t.pico += i128::from(c.cost_pico.unwrap_or(0));
                t.tokens +=
                    c.input_tokens + c.output_tokens + c.cache_read_tokens + c.cache_write_tokens;
                t.llm_calls += 1;
                t.errors += u64::from(c.failed);
            }
        })?;
    }
    if let Some(min) = q.min_cost_usd {
        let min_pico = (min * 1e12) as i128;
        cands.retain(|t| t.pico >= min_pico);
    }
    let key = |t: &Candidate| -> i128 {
        match q.sort {
            SortBy::StartTime => i128::from(t.start_ns),
            SortBy::Duration => i128::from(t.duration_ns),
            SortBy::Cost => t.pico,
            SortBy::Tokens => i128::from(t.tokens),
            SortBy::LlmCalls => i128::from(t.llm_calls),
            SortBy::Errors => i128::from(t.errors),
        }
    };
    // Ties fall back to newest first, then id, so pages never overlap.
    cands.sort_unstable_by(|a, b| {
        let by_key = key(a).cmp(&key(b));
        let by_key = if q.order == Order::Desc {
            by_key.reverse()
        } else {
            by_key
        };
        by_key
            .then(b.start_ns.cmp(&a.start_ns))
            .then(b.id.cmp(&a.id))
    });
    let offset = match q.cursor {
        Some(Cursor::Offset(n)) => n,
        _ => 0,
    };
    let mut page = Vec::with_capacity(q.limit);
    let mut next = offset;
    let mut searched = 0usize;
    for t in cands.iter().skip(offset) {
        if page.len() == q.limit || searched == SEARCH_BUDGET {
            break;
        }
        next += 1;
        let Some(row) = store.get_trace(&t.id)? else {
            continue;
        };
        if let Some(n) = &needle {
            searched += 1;
            if !trace_mentions(store, &row, n)? {
                continue;
            }
        }
        page.push(row);
    }
    Ok(TracesPage {
        traces: summaries(store, &page)?,
        next_cursor: (next < cands.len()).then(|| format!("o{next}")),
    })
}

/// Case-insensitive search of a trace's names, messages, tool input and
/// output and attribute values.
fn trace_mentions(store: &dyn Store, t: &TraceRow, needle: &str) -> Result<bool, QueryError> {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    if t.name.as_deref().is_some_and(hit) {
        return Ok(true);
    }
    fn json_hit(v: &serde_json::Value, hit: &dyn Fn(&str) -> bool) -> bool {
        match v {
            serde_json::Value::String(s) => hit(s),
            serde_json::Value::Array(a) => a.iter().any(|v| json_hit(v, hit)),
            serde_json::Value::Object(o) => o.values().any(|v| json_hit(v, hit)),
            _ => false,
        }
    }
    let message_hit = |m: &Message| {
        m.parts.iter().any(|p| match p {
            glassbox_model::Part::Text { text } => hit(text),
            glassbox_model::Part::ToolCall {
                name, arguments, ..
            } => hit(name) || json_hit(arguments, &hit),
            glassbox_model::Part::ToolResult { content, .. } => json_hit(content, &hit),
            glassbox_model::Part::Other { value } => json_hit(value, &hit),
        })
    };
    for s in store.trace_spans(&t.trace_id)? {
        let span = &s.span;
        let found = hit(&span.name)
            || span.attributes.values().any(|v| json_hit(v, &hit))
            || span.model_call.as_ref().is_some_and(|c| {
                c.system_instructions.as_deref().is_some_and(hit)
                    || c.input_messages.iter().any(message_hit)
                    || c.output_messages.iter().any(message_hit)
            })
            || span.tool.as_ref().is_some_and(|tool| {
                hit(&tool.name)
                    || tool.arguments.as_ref().is_some_and(|a| json_hit(a, &hit))
                    || tool.result.as_ref().is_some_and(|r| json_hit(r, &hit))
            });
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One span in a trace (the API contract).
#[derive(Debug, Clone, Serialize)]
pub struct SpanView {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: &'static str,
    pub start_time: String,
    pub end_time: String,
    pub duration_ms: f64,
    pub status: &'static str,
    pub status_message: String,
    pub scope: String,
    pub model: Option<String>,
    pub request_model: Option<String>,
    pub provider: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub unpriced_reason: Option<String>,
    pub finish_reasons: Vec<String>,
    /// The model call this span reports; several spans may report one call.
    pub call_id: Option<i64>,
    /// False for a second report of a call counted elsewhere in the ledger.
    pub counted: bool,
    pub tool_name: Option<String>,
    pub tool_call_id: Option<String>,
    pub tool_arguments: Option<serde_json::Value>,
    pub tool_result: Option<serde_json::Value>,
    pub tool_error: Option<String>,
    pub system_instructions: Option<String>,
    pub input_messages: Vec<Message>,
    pub output_messages: Vec<Message>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub resource: serde_json::Map<String, serde_json::Value>,
    pub events: Vec<EventView>,
    /// What redaction replaced on this span before storage: counts by type, never values.
    pub redactions: glassbox_model::Redactions,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub name: String,
    pub time: String,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl From<&SpanEvent> for EventView {
    fn from(e: &SpanEvent) -> Self {
        EventView {
            name: e.name.clone(),
            time: format_time(e.time_unix_nano),
            attributes: e.attributes.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TraceDetail {
    #[serde(flatten)]
    pub summary: TraceSummary,
    pub spans: Vec<SpanView>,
    /// Scores on the trace and its spans (`span_id` says which), oldest first.
    pub scores: Vec<crate::ScoreView>,
}

pub fn get_trace(store: &dyn Store, trace_id_hex: &str) -> Result<TraceDetail, QueryError> {
    let id = hex::decode(trace_id_hex)
        .ok()
        .filter(|b| b.len() == 16)
        .ok_or_else(|| {
            QueryError::bad(
                "trace_id",
                format!(
                    "{:?} is not 32 hex digits",
                    trace_id_hex.chars().take(64).collect::<String>()
                ),
            )
        })?;
    let row = store
        .get_trace(&id)?
        .ok_or_else(|| QueryError::NotFound(format!("trace {trace_id_hex}")))?;
    let summary = summaries(store, std::slice::from_ref(&row))?.remove(0);
    let spans = store
        .trace_spans(&id)?
        .into_iter()
        .map(|s| {
            let span = s.span;
            let call = span.model_call.as_ref();
            let (cost_usd, unpriced_reason) = match call.and_then(|c| c.cost.as_ref()) {
                Some(glassbox_model::Cost::Priced { amount, .. }) => (Some(amount.usd()), None),
                Some(glassbox_model::Cost::Unpriced { reason }) => (None, Some(reason.clone())),
                None => (None, None),
            };
            SpanView {
                span_id: span.span_id.to_hex(),
                parent_span_id: span.parent_span_id.map(|p| p.to_hex()),
                kind: span.kind.as_str(),
                start_time: format_time(span.start_unix_nano),
                end_time: format_time(span.end_unix_nano),
                duration_ms: duration_ms(span.start_unix_nano, span.end_unix_nano),
                status: match span.status.code {
                    StatusCode::Error => "error",
                    StatusCode::Ok => "ok",
                    StatusCode::Unset if span.is_error() => "error",
                    StatusCode::Unset => "unset",
                },
                status_message: span.status.message.clone(),
                scope: span.scope_name.clone(),
                model: call.and_then(|c| c.model().map(str::to_owned)),
                request_model: call.and_then(|c| c.request_model.clone()),
                provider: call.and_then(|c| c.provider.clone()),
                input_tokens: call.filter(|c| c.has_usage).map(|c| c.tokens.input),
                output_tokens: call.filter(|c| c.has_usage).map(|c| c.tokens.output),
                cache_read_tokens: call.filter(|c| c.has_usage).map(|c| c.tokens.cache_read),
                cache_write_tokens: call.filter(|c| c.has_usage).map(|c| c.tokens.cache_write),
                cost_usd,
                unpriced_reason,
                finish_reasons: call.map(|c| c.finish_reasons.clone()).unwrap_or_default(),
                call_id: s.call_id,
                counted: s.call_id.is_none() || s.primary,
                tool_name: span.tool.as_ref().map(|t| t.name.clone()),
                tool_call_id: span.tool.as_ref().and_then(|t| t.call_id.clone()),
                tool_arguments: span.tool.as_ref().and_then(|t| t.arguments.clone()),
                tool_result: span.tool.as_ref().and_then(|t| t.result.clone()),
                tool_error: span.tool.as_ref().and_then(|t| t.error.clone()),
                system_instructions: call.and_then(|c| c.system_instructions.clone()),
                input_messages: call.map(|c| c.input_messages.clone()).unwrap_or_default(),
                output_messages: call.map(|c| c.output_messages.clone()).unwrap_or_default(),
                session_id: span.grouping.session_id.clone(),
                user_id: span.grouping.user_id.clone(),
                events: span.events.iter().map(EventView::from).collect(),
                redactions: span.redactions,
                name: span.name,
                attributes: span.attributes,
                resource: span.resource,
            }
        })
        .collect();
    let scores = crate::trace_scores(store, row.trace_id)?;
    Ok(TraceDetail {
        summary,
        spans,
        scores,
    })
}

/// A session's traces, oldest first.
pub fn session(store: &dyn Store, session_id: &str) -> Result<Vec<TraceSummary>, QueryError> {
    let filter = Filter {
        session: Some(session_id.to_owned()),
        ..Filter::default()
    };
    let mut rows = store.list_traces(&filter, 10_000, None)?;
    if rows.is_empty() {
        return Err(QueryError::NotFound(format!("session {session_id}")));
    }
    rows.reverse();
    summaries(store, &rows)
}
