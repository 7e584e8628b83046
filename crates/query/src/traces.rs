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
    pub cursor: Option<TraceCursor>,
}

pub const MAX_LIMIT: usize = 1000;

impl TracesQuery {
    pub fn from_params(p: &Params) -> Result<Self, QueryError> {
        let mut known = FILTER_PARAMS.to_vec();
        known.extend(["limit", "cursor"]);
        reject_unknown(p, &known)?;
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
        Ok(Self {
            filter: filter_from(p)?,
            limit,
            cursor,
        })
    }
}

fn parse_cursor(c: &str) -> Result<TraceCursor, QueryError> {
    let bad = || {
        QueryError::bad(
            "cursor",
            "not a cursor returned by this API (pass next_cursor back unchanged)",
        )
    };
    let (ns, id) = c.split_once('-').ok_or_else(bad)?;
    let start_ns = ns.parse().map_err(|_| bad())?;
    let trace_id: [u8; 16] = hex::decode(id)
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    Ok(TraceCursor { start_ns, trace_id })
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
    let rows = store.list_traces(&q.filter, q.limit + 1, q.cursor.as_ref())?;
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
                name: span.name,
                attributes: span.attributes,
                resource: span.resource,
            }
        })
        .collect();
    Ok(TraceDetail { summary, spans })
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
