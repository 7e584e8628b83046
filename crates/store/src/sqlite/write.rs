//! The write path: one thread owns the write connection, takes every batch
//! that is waiting, commits them in one transaction (group commit), and only
//! then acknowledges each.

use std::collections::{HashMap, HashSet};

use glassbox_model::{
    Attributes, Cost, Grouping, ModelCall, Redactions, SpanEvent, SpanKind, StatusCode, ToolCall,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::content::{Entry, Hash, ListRef};
use super::prepare::{PreparedBatch, PreparedLog, PreparedMetric, PreparedSpan, Resource};
use crate::{CallRow, StoreError, Sym, TraceRow};

/// A span's entry in its chunk (`span_chunks`): everything not in a column.
#[derive(Serialize, Deserialize)]
pub struct SpanDetail {
    pub attributes: Attributes,
    pub events: Vec<SpanEvent>,
    pub scope_version: String,
    pub otel_kind: i32,
    pub status_message: String,
    pub grouping: Grouping,
    pub model_call: Option<ModelCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_list: Option<ListRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_list: Option<ListRef>,
    pub tool: Option<ToolCall>,
    #[serde(default, skip_serializing_if = "Redactions::is_empty")]
    pub redactions: Redactions,
}

#[derive(Serialize, Deserialize)]
pub struct LogDetail {
    pub observed_time_unix_nano: u64,
    pub severity_text: String,
    pub body: serde_json::Value,
    pub scope_name: String,
    pub attributes: Attributes,
    pub grouping: Grouping,
    pub model_call: Option<ModelCall>,
    #[serde(default, skip_serializing_if = "Redactions::is_empty")]
    pub redactions: Redactions,
}

#[derive(Serialize, Deserialize)]
pub struct MetricDetail {
    pub unit: String,
    pub scope_name: String,
    pub attributes: Attributes,
    pub value: glassbox_model::MetricPointValue,
}

/// Resource hashes written by this writer: in the open transaction
/// (`pending`) or committed. Lets the writer skip insert-or-ignore for
/// repeated resources. Also the content the open transaction adds.
#[derive(Default)]
pub struct SeenHashes {
    seen: HashSet<[u8; 16]>,
    pending: Vec<[u8; 16]>,
    /// Content elements the open transaction stores, and where.
    pending_content: Vec<(Hash, Entry)>,
    /// Content rows this transaction inserted (for the audit entry).
    pub tally: super::audit::ContentTally,
}

impl SeenHashes {
    /// What this transaction added to the content tables, for its audit entry.
    pub fn take_tally(&mut self) -> super::audit::ContentTally {
        std::mem::take(&mut self.tally)
    }

    const MAX: usize = 500_000;

    fn first_time(&mut self, h: &[u8; 16]) -> bool {
        let new = self.seen.insert(*h);
        if new {
            self.pending.push(*h);
        }
        new
    }

    /// After a commit: what was written is durable; returns the resources
    /// and the content, for [`super::prepare::Committed`].
    pub fn committed(&mut self) -> (Vec<[u8; 16]>, Vec<(Hash, Entry)>) {
        if self.seen.len() > Self::MAX {
            self.seen.clear();
        }
        (
            std::mem::take(&mut self.pending),
            std::mem::take(&mut self.pending_content),
        )
    }

    /// After an erasure: resources may be gone.
    pub fn forget_all(&mut self) {
        self.seen.clear();
    }

    /// After a rollback: nothing of this transaction is on disk.
    pub fn rolled_back(&mut self) {
        for h in self.pending.drain(..) {
            self.seen.remove(&h);
        }
        self.pending_content.clear();
    }
}

/// Ledger and trace rows a batch changed, for the hot index once committed.
#[derive(Default)]
pub struct Changes {
    pub calls: Vec<CallRow>,
    pub traces: Vec<TraceRow>,
    /// New numeric scores: (trace, name, value).
    pub scores: Vec<([u8; 16], String, f64)>,
}

pub fn apply(
    tx: &Connection,
    batch: &PreparedBatch,
    seen: &mut SeenHashes,
    changes: &mut Changes,
) -> Result<(), StoreError> {
    let mut traces = TraceDeltas::default();
    if let Some(data) = &batch.span_chunk {
        tx.prepare_cached("INSERT INTO span_chunks (data) VALUES (?1)")?
            .execute([data])?;
        let chunk_id = tx.last_insert_rowid();
        for span in &batch.spans {
            insert_span(tx, span, chunk_id, seen, &mut traces, changes)?;
        }
        seen.pending_content.extend(
            batch
                .new_content
                .iter()
                .map(|(h, index)| (*h, Entry(chunk_id, *index))),
        );
    }
    traces.flush(tx, changes)?;
    for log in &batch.logs {
        insert_log(tx, log, seen, changes)?;
    }
    for point in &batch.metrics {
        insert_metric(tx, point, seen)?;
    }
    for score in &batch.scores {
        insert_score(tx, score, changes)?;
    }
    Ok(())
}

/// Scores are append-only and idempotent by id.
fn insert_score(
    tx: &Connection,
    s: &glassbox_model::Score,
    changes: &mut Changes,
) -> Result<(), StoreError> {
    use glassbox_model::ScoreValue;
    let (num, text, kind) = match &s.value {
        ScoreValue::Number(n) => (Some(*n), None, "number"),
        ScoreValue::Bool(b) => (Some(if *b { 1.0 } else { 0.0 }), None, "bool"),
        ScoreValue::Category(c) => (None, Some(c.as_str()), "category"),
    };
    let inserted = tx.prepare_cached(
        "INSERT OR IGNORE INTO scores (score_id, trace_id, span_id, name, value_num, value_text, value_kind, source, comment, author, time_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        s.id,
        &s.trace_id.0[..],
        s.span_id.as_ref().map(|x| x.0.to_vec()),
        s.name,
        num,
        text,
        kind,
        s.source.as_str(),
        s.comment,
        s.author,
        i64_of(s.time_unix_nano),
    ])?;
    if inserted == 1
        && let Some(v) = num
    {
        changes.scores.push((s.trace_id.0, s.name.clone(), v));
    }
    Ok(())
}

fn put_resource(tx: &Connection, r: &Resource, seen: &mut SeenHashes) -> Result<(), StoreError> {
    if let Some(data) = &r.data
        && seen.first_time(&r.hash)
    {
        let added = tx
            .prepare_cached("INSERT OR IGNORE INTO resources (hash, json) VALUES (?1, ?2)")?
            .execute(params![&r.hash[..], data])?;
        if added == 1 {
            seen.tally
                .add_row(0, &[ValueRef::Blob(&r.hash[..]), ValueRef::Blob(data)]);
        }
    }
    Ok(())
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// One batch's contribution to a trace's summary row, folded in memory so
/// each trace costs one upsert per batch instead of one per span.
#[derive(Default)]
struct TraceDelta {
    name: String,
    has_root: bool,
    start_ns: u64,
    end_ns: u64,
    spans: i64,
    errors: i64,
    tool_calls: i64,
    tool_errors: i64,
    pii_findings: i64,
    grouping: Grouping,
}

impl TraceDelta {
    fn add(&mut self, span: &glassbox_model::Span) {
        let is_root = span.parent_span_id.is_none();
        if self.spans == 0
            || is_root && !self.has_root
            || !self.has_root && span.start_unix_nano < self.start_ns
        {
            self.name.clone_from(&span.name);
        }
        if self.spans == 0 {
            self.start_ns = span.start_unix_nano;
            self.end_ns = span.end_unix_nano;
        }
        if is_root && !self.has_root {
            // The root's service names the trace.
            self.grouping.service.clone_from(&span.grouping.service);
        }
        self.has_root |= is_root;
        self.start_ns = self.start_ns.min(span.start_unix_nano);
        self.end_ns = self.end_ns.max(span.end_unix_nano);
        self.spans += 1;
        self.errors += i64::from(span.is_error());
        self.tool_calls += i64::from(span.kind == SpanKind::Tool);
        self.tool_errors += i64::from(span.tool_failed);
        self.pii_findings += span.redactions.values().map(|&n| i64::from(n)).sum::<i64>();
        self.grouping.fill_from(&span.grouping);
    }
}

#[derive(Default)]
pub struct TraceDeltas(HashMap<[u8; 16], TraceDelta>);

impl TraceDeltas {
    pub fn flush(&mut self, tx: &Connection, changes: &mut Changes) -> Result<(), StoreError> {
        for (trace_id, d) in self.0.drain() {
            let g = &d.grouping;
            tx.prepare_cached(
                "INSERT INTO traces (trace_id, name, has_root, service, start_ns, end_ns, span_count, error_count, tool_calls, tool_errors, user_id, session_id, release, prompt_version, environment, pii_findings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (trace_id) DO UPDATE SET
                   name = CASE WHEN excluded.has_root OR (NOT has_root AND excluded.start_ns < start_ns) THEN excluded.name ELSE name END,
                   service = CASE WHEN excluded.has_root THEN COALESCE(excluded.service, service) ELSE COALESCE(service, excluded.service) END,
                   has_root = has_root OR excluded.has_root,
                   start_ns = MIN(start_ns, excluded.start_ns),
                   end_ns = MAX(end_ns, excluded.end_ns),
                   span_count = span_count + excluded.span_count,
                   error_count = error_count + excluded.error_count,
                   tool_calls = tool_calls + excluded.tool_calls,
                   tool_errors = tool_errors + excluded.tool_errors,
                   pii_findings = pii_findings + excluded.pii_findings,
                   user_id = COALESCE(user_id, excluded.user_id),
                   session_id = COALESCE(session_id, excluded.session_id),
                   release = COALESCE(release, excluded.release),
                   prompt_version = COALESCE(prompt_version, excluded.prompt_version),
                   environment = COALESCE(environment, excluded.environment)",
            )?
            .execute(params![
                &trace_id[..],
                d.name,
                d.has_root,
                g.service,
                i64_of(d.start_ns),
                i64_of(d.end_ns),
                d.spans,
                d.errors,
                d.tool_calls,
                d.tool_errors,
                g.user_id,
                g.session_id,
                g.release,
                g.prompt_version,
                g.environment,
                d.pii_findings,
            ])?;
            changes.traces.push(
                tx.prepare_cached(&format!(
                    "SELECT {} FROM traces t WHERE t.trace_id = ?1",
                    super::read::TRACE_COLUMNS
                ))?
                .query_row([&trace_id[..]], super::read::trace_row)?,
            );
        }
        Ok(())
    }
}

fn insert_span(
    tx: &Connection,
    prepared: &PreparedSpan,
    chunk_id: i64,
    seen: &mut SeenHashes,
    traces: &mut TraceDeltas,
    changes: &mut Changes,
) -> Result<(), StoreError> {
    let span = &prepared.span;
    // A model call joins the ledger before its span row is written, so the
    // row is written once, call id included. A re-sent span must not join twice.
    let call_id = match &span.model_call {
        Some(call) => {
            let exists = tx
                .prepare_cached("SELECT 1 FROM spans WHERE trace_id = ?1 AND span_id = ?2")?
                .exists(params![&span.trace_id.0[..], &span.span_id.0[..]])?;
            if exists {
                return Ok(());
            }
            let report = Report {
                trace_id: Some(span.trace_id.0.to_vec()),
                span_id: Some(span.span_id.0.to_vec()),
                parent_span_id: span.parent_span_id.map(|p| p.0.to_vec()),
                scope: &span.scope_name,
                start_ns: span.start_unix_nano,
                end_ns: span.end_unix_nano,
                call,
                grouping: &span.grouping,
            };
            Some(merge_call(tx, &report, changes)?)
        }
        None => None,
    };
    let status = match span.status.code {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    };
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status, scope, tool_name, tool_failed, call_id, resource_hash, chunk_id, chunk_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
            &span.trace_id.0[..],
            &span.span_id.0[..],
            span.parent_span_id.map(|p| p.0.to_vec()),
            span.name,
            span.kind.as_str(),
            i64_of(span.start_unix_nano),
            i64_of(span.end_unix_nano),
            status,
            span.scope_name,
            span.tool.as_ref().map(|t| t.name.as_str()),
            span.tool_failed,
            call_id,
            &prepared.resource.hash[..],
            chunk_id,
            prepared.chunk_index,
        ])?;
    if inserted == 0 {
        // Re-sent span: the first copy stands, and nothing is counted twice.
        return Ok(());
    }
    put_resource(tx, &prepared.resource, seen)?;
    traces.0.entry(span.trace_id.0).or_default().add(span);
    Ok(())
}

fn insert_log(
    tx: &Connection,
    prepared: &PreparedLog,
    seen: &mut SeenHashes,
    changes: &mut Changes,
) -> Result<(), StoreError> {
    let log = &prepared.log;
    put_resource(tx, &prepared.resource, seen)?;
    let call_id = match &log.model_call {
        Some(call) => {
            let duration_ns = log
                .attributes
                .get("duration_ms")
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .map_or(0, |ms| (ms * 1e6) as u64);
            let report = Report {
                trace_id: log.trace_id.map(|t| t.0.to_vec()),
                span_id: None,
                parent_span_id: None,
                scope: &log.scope_name,
                start_ns: log.time_unix_nano.saturating_sub(duration_ns),
                end_ns: log.time_unix_nano,
                call,
                grouping: &log.grouping,
            };
            Some(merge_call(tx, &report, changes)?)
        }
        None => None,
    };
    tx.prepare_cached(
        "INSERT INTO logs (time_ns, trace_id, span_id, event_name, severity, service, session_id, call_id, resource_hash, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        i64_of(log.time_unix_nano),
        log.trace_id.map(|t| t.0.to_vec()),
        log.span_id.map(|s| s.0.to_vec()),
        log.event_name,
        log.severity_number,
        log.grouping.service,
        log.grouping.session_id,
        call_id,
        &prepared.resource.hash[..],
        prepared.detail,
    ])?;
    Ok(())
}

fn insert_metric(
    tx: &Connection,
    prepared: &PreparedMetric,
    seen: &mut SeenHashes,
) -> Result<(), StoreError> {
    let p = &prepared.point;
    put_resource(tx, &prepared.resource, seen)?;
    let service = p.resource.get("service.name").and_then(|v| v.as_str());
    tx.prepare_cached(
        "INSERT INTO metric_points (name, time_ns, start_ns, service, resource_hash, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        p.name,
        i64_of(p.time_unix_nano),
        i64_of(p.start_unix_nano),
        service,
        &prepared.resource.hash[..],
        prepared.detail,
    ])?;
    Ok(())
}

/// One report of a model call: a span or a log event.
struct Report<'a> {
    trace_id: Option<Vec<u8>>,
    span_id: Option<Vec<u8>>,
    parent_span_id: Option<Vec<u8>>,
    scope: &'a str,
    start_ns: u64,
    end_ns: u64,
    call: &'a ModelCall,
    grouping: &'a Grouping,
}

/// The ledger row of one model call, as merged so far.
#[derive(Debug, Default)]
struct CallState {
    call_id: i64,
    response_id: Option<String>,
    trace_id: Option<Vec<u8>>,
    span_id: Option<Vec<u8>>,
    parent_span_id: Option<Vec<u8>>,
    service: Option<String>,
    scopes: String,
    rank: i64,
    has_usage: bool,
    start_ns: i64,
    end_ns: i64,
    provider: Option<String>,
    model: Option<String>,
    request_model: Option<String>,
    input: i64,
    output: i64,
    cache_read: i64,
    cache_write: i64,
    cache_write_5m: Option<i64>,
    cache_write_1h: Option<i64>,
    cost_pico: Option<i64>,
    price_id: Option<String>,
    unpriced_reason: Option<String>,
    failed: bool,
    error_type: Option<String>,
    attempts: i64,
    user_id: Option<String>,
    session_id: Option<String>,
    release: Option<String>,
    prompt_version: Option<String>,
    environment: Option<String>,
    members: i64,
}

impl CallState {
    fn to_row(&self, call_id: i64) -> CallRow {
        let sym = |s: &Option<String>| s.as_deref().map(Sym::from);
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        CallRow {
            call_id,
            trace_ordinal: None,
            trace_id: self
                .trace_id
                .as_ref()
                .and_then(|t| t.as_slice().try_into().ok()),
            start_ns: u(self.start_ns),
            end_ns: u(self.end_ns),
            service: sym(&self.service),
            provider: sym(&self.provider),
            model: sym(&self.model),
            input_tokens: u(self.input),
            output_tokens: u(self.output),
            cache_read_tokens: u(self.cache_read),
            cache_write_tokens: u(self.cache_write),
            cost_pico: self.cost_pico,
            failed: self.failed,
            user_id: sym(&self.user_id),
            session_id: sym(&self.session_id),
            release: sym(&self.release),
            prompt_version: sym(&self.prompt_version),
        }
    }
}

const CALL_COLUMNS: &str = "call_id, response_id, trace_id, span_id, parent_span_id, service, scopes, rank, has_usage, start_ns, end_ns, provider, model, request_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_pico, price_id, unpriced_reason, failed, error_type, attempts, user_id, session_id, release, prompt_version, environment, members";

fn call_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallState> {
    Ok(CallState {
        call_id: r.get(0)?,
        response_id: r.get(1)?,
        trace_id: r.get(2)?,
        span_id: r.get(3)?,
        parent_span_id: r.get(4)?,
        service: r.get(5)?,
        scopes: r.get(6)?,
        rank: r.get(7)?,
        has_usage: r.get(8)?,
        start_ns: r.get(9)?,
        end_ns: r.get(10)?,
        provider: r.get(11)?,
        model: r.get(12)?,
        request_model: r.get(13)?,
        input: r.get(14)?,
        output: r.get(15)?,
        cache_read: r.get(16)?,
        cache_write: r.get(17)?,
        cache_write_5m: r.get(18)?,
        cache_write_1h: r.get(19)?,
        cost_pico: r.get(20)?,
        price_id: r.get(21)?,
        unpriced_reason: r.get(22)?,
        failed: r.get(23)?,
        error_type: r.get(24)?,
        attempts: r.get(25)?,
        user_id: r.get(26)?,
        session_id: r.get(27)?,
        release: r.get(28)?,
        prompt_version: r.get(29)?,
        environment: r.get(30)?,
        members: r.get(31)?,
    })
}

fn load_call(tx: &Connection, call_id: i64) -> Result<Option<CallState>, StoreError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {CALL_COLUMNS} FROM model_calls WHERE call_id = ?1"
        ))?
        .query_row([call_id], call_from_row)
        .optional()?)
}

fn ids_compatible(a: Option<&str>, b: Option<&str>) -> bool {
    !matches!((a, b), (Some(x), Some(y)) if x != y)
}

fn has_scope(scopes: &str, scope: &str) -> bool {
    scopes.split('\n').any(|s| s == scope)
}

/// Finds the ledger row this report belongs to, if another report of the same call is already stored.
fn find_call(tx: &Connection, r: &Report<'_>) -> Result<Option<CallState>, StoreError> {
    let rid = r.call.response_id.as_deref();
    // 1. The provider's id joins reports wherever they are.
    if let Some(id) = rid {
        let found = tx
            .prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM model_calls WHERE response_id = ?1"
            ))?
            .query_row([id], call_from_row)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let (Some(trace_id), Some(span_id)) = (&r.trace_id, &r.span_id) else {
        return Ok(None);
    };
    // 2-3. A model-call span directly under (or over) another is the same call
    // reported by two layers (library wrapping SDK, streamed call's usage child).
    let mut nested: Vec<i64> = Vec::new();
    if let Some(parent) = &r.parent_span_id
        && let Some(id) = tx
            .prepare_cached("SELECT call_id FROM spans WHERE trace_id = ?1 AND span_id = ?2 AND call_id IS NOT NULL")?
            .query_row(params![trace_id, parent], |row| row.get::<_, i64>(0))
            .optional()?
        {
            nested.push(id);
        }
    {
        let mut stmt = tx.prepare_cached(
            "SELECT call_id FROM spans WHERE trace_id = ?1 AND parent_span_id = ?2 AND call_id IS NOT NULL",
        )?;
        let rows = stmt.query_map(params![trace_id, span_id], |row| row.get::<_, i64>(0))?;
        for id in rows {
            nested.push(id?);
        }
    }
    for id in nested {
        if let Some(c) = load_call(tx, id)?
            && ids_compatible(c.response_id.as_deref(), rid)
        {
            return Ok(Some(c));
        }
    }
    // 4. The completion of a streamed call, logged after the call's own span
    // (which had no usage) under the same parent.
    if r.call.stream_completion {
        let candidates: Vec<CallState> = tx
            .prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM model_calls WHERE trace_id = ?1 AND parent_span_id IS ?2 AND has_usage = 0 AND failed = 0 AND end_ns <= ?3"
            ))?
            .query_map(params![trace_id, r.parent_span_id, i64_of(r.end_ns)], call_from_row)?
            .collect::<Result<_, _>>()?;
        if let Some(c) = candidates
            .into_iter()
            .filter(|c| ids_compatible(c.response_id.as_deref(), rid) && c.span_id.is_some())
            .max_by_key(|c| c.end_ns)
        {
            return Ok(Some(c));
        }
    }
    // 5. Siblings from different reporters whose intervals nest: the library
    // span wraps the SDK's. Without ids this is the only join left (failed calls,
    // OpenLLMetry's events mode).
    let service = r.grouping.service.as_deref();
    let start = i64_of(r.start_ns);
    let end = i64_of(r.end_ns);
    // Had both reports an id, step 1 would have joined them: a report with an
    // id only looks at id-less calls, which the partial index keeps few.
    let unjoined_only = rid.is_some();
    let candidates: Vec<CallState> = match &r.parent_span_id {
        Some(parent) => tx
            .prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM model_calls WHERE trace_id = ?1 AND parent_span_id = ?2 AND (NOT ?3 OR response_id IS NULL)"
            ))?
            .query_map(params![trace_id, parent, unjoined_only], call_from_row)?
            .collect::<Result<_, _>>()?,
        None if unjoined_only => tx
            .prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM model_calls INDEXED BY calls_unjoined WHERE response_id IS NULL AND service IS ?1 AND start_ns BETWEEN ?2 AND ?3 AND parent_span_id IS NULL AND span_id IS NOT NULL"
            ))?
            .query_map(params![service, start.saturating_sub(3_600_000_000_000), end], call_from_row)?
            .collect::<Result<_, _>>()?,
        None => tx
            .prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM model_calls WHERE service IS ?1 AND start_ns BETWEEN ?2 AND ?3 AND end_ns >= ?4 AND parent_span_id IS NULL AND span_id IS NOT NULL"
            ))?
            .query_map(params![service, start.saturating_sub(3_600_000_000_000), end, start], call_from_row)?
            .collect::<Result<_, _>>()?,
    };
    let mine_failed = r.call.error_type.is_some() && !r.call.has_usage;
    let best = candidates
        .into_iter()
        .filter(|c| {
            let nests = (c.start_ns <= start && end <= c.end_ns)
                || (start <= c.start_ns && c.end_ns <= end);
            nests
                && !has_scope(&c.scopes, r.scope)
                && (c.response_id.is_none() || rid.is_none())
                && ids_compatible(c.request_model.as_deref(), r.call.request_model.as_deref())
                && c.failed == mine_failed
        })
        .min_by_key(|c| (c.start_ns - start).abs());
    Ok(best)
}

fn cost_parts(call: &ModelCall) -> (Option<i64>, Option<String>, Option<String>) {
    match &call.cost {
        Some(Cost::Priced { amount, price_id }) => (Some(amount.0), Some(price_id.clone()), None),
        Some(Cost::Unpriced { reason }) => (None, None, Some(reason.clone())),
        None => (None, None, Some("not priced".to_owned())),
    }
}

fn merge_call(tx: &Connection, r: &Report<'_>, changes: &mut Changes) -> Result<i64, StoreError> {
    let call = r.call;
    let rank = i64::from(call.reporter.rank());
    let t = &call.tokens;
    let (cost_pico, price_id, unpriced_reason) = cost_parts(call);
    let mine_failed = call.error_type.is_some() && !call.has_usage;
    let mut c = match find_call(tx, r)? {
        Some(c) => c,
        None => {
            let g = r.grouping;
            let c = CallState {
                call_id: 0,
                response_id: call.response_id.clone(),
                trace_id: r.trace_id.clone(),
                span_id: r.span_id.clone(),
                parent_span_id: r.parent_span_id.clone(),
                service: g.service.clone(),
                scopes: r.scope.to_owned(),
                rank,
                has_usage: call.has_usage,
                start_ns: i64_of(r.start_ns),
                end_ns: i64_of(r.end_ns),
                provider: call.provider.clone(),
                model: call.model().map(str::to_owned),
                request_model: call.request_model.clone(),
                input: i64_of(t.input),
                output: i64_of(t.output),
                cache_read: i64_of(t.cache_read),
                cache_write: i64_of(t.cache_write),
                cache_write_5m: t.cache_write_5m.map(i64_of),
                cache_write_1h: t.cache_write_1h.map(i64_of),
                cost_pico,
                price_id,
                unpriced_reason,
                failed: mine_failed,
                error_type: call.error_type.clone(),
                attempts: i64::from(call.attempts),
                user_id: g.user_id.clone(),
                session_id: g.session_id.clone(),
                release: g.release.clone(),
                prompt_version: g.prompt_version.clone(),
                environment: g.environment.clone(),
                members: 1,
            };
            let call_id = insert_call(tx, &c)?;
            changes.calls.push(c.to_row(call_id));
            return Ok(call_id);
        }
    };
    let better = call.has_usage && (!c.has_usage || rank > c.rank);
    if better {
        c.rank = rank;
        c.has_usage = true;
        c.input = i64_of(t.input);
        c.output = i64_of(t.output);
        c.cache_read = i64_of(t.cache_read);
        c.cache_write = i64_of(t.cache_write);
        if t.cache_write_5m.is_some() || t.cache_write_1h.is_some() {
            c.cache_write_5m = t.cache_write_5m.map(i64_of);
            c.cache_write_1h = t.cache_write_1h.map(i64_of);
        }
        c.cost_pico = cost_pico;
        c.price_id = price_id;
        c.unpriced_reason = unpriced_reason;
        if let Some(m) = call.model() {
            c.model = Some(m.to_owned());
        }
        if r.span_id.is_some() {
            c.trace_id = r.trace_id.clone();
            c.span_id = r.span_id.clone();
            c.parent_span_id = r.parent_span_id.clone();
            c.start_ns = i64_of(r.start_ns);
            c.end_ns = i64_of(r.end_ns);
        }
    } else {
        if c.span_id.is_none() && r.span_id.is_some() {
            // A log-only call gains the span that places it in a trace.
            c.trace_id = r.trace_id.clone();
            c.span_id = r.span_id.clone();
            c.parent_span_id = r.parent_span_id.clone();
        }
        if c.cache_write_5m.is_none()
            && c.cache_write_1h.is_none()
            && i64_of(t.cache_write) == c.cache_write
        {
            c.cache_write_5m = t.cache_write_5m.map(i64_of);
            c.cache_write_1h = t.cache_write_1h.map(i64_of);
        }
    }
    fn fill(slot: &mut Option<String>, v: Option<&str>) {
        if slot.is_none() {
            *slot = v.map(str::to_owned);
        }
    }
    fill(&mut c.response_id, call.response_id.as_deref());
    fill(&mut c.provider, call.provider.as_deref());
    fill(&mut c.model, call.model());
    fill(&mut c.request_model, call.request_model.as_deref());
    fill(&mut c.error_type, call.error_type.as_deref());
    let g = r.grouping;
    fill(&mut c.service, g.service.as_deref());
    fill(&mut c.user_id, g.user_id.as_deref());
    fill(&mut c.session_id, g.session_id.as_deref());
    fill(&mut c.release, g.release.as_deref());
    fill(&mut c.prompt_version, g.prompt_version.as_deref());
    fill(&mut c.environment, g.environment.as_deref());
    // A call with usage from any reporter succeeded.
    c.failed = !c.has_usage && (c.failed || mine_failed);
    if !c.failed {
        c.error_type = None;
    }
    c.attempts = c.attempts.max(i64::from(call.attempts));
    if !has_scope(&c.scopes, r.scope) {
        c.scopes.push('\n');
        c.scopes.push_str(r.scope);
    }
    c.members += 1;
    update_call(tx, &c)?;
    changes.calls.push(c.to_row(c.call_id));
    Ok(c.call_id)
}

fn insert_call(tx: &Connection, c: &CallState) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO model_calls (response_id, trace_id, span_id, parent_span_id, service, scopes, rank, has_usage, start_ns, end_ns, provider, model, request_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_pico, price_id, unpriced_reason, failed, error_type, attempts, user_id, session_id, release, prompt_version, environment, members)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)",
    )?
    .execute(params![
        c.response_id, c.trace_id, c.span_id, c.parent_span_id, c.service, c.scopes, c.rank, c.has_usage,
        c.start_ns, c.end_ns, c.provider, c.model, c.request_model, c.input, c.output, c.cache_read,
        c.cache_write, c.cache_write_5m, c.cache_write_1h, c.cost_pico, c.price_id, c.unpriced_reason,
        c.failed, c.error_type, c.attempts, c.user_id, c.session_id, c.release, c.prompt_version,
        c.environment, c.members,
    ])?;
    Ok(tx.last_insert_rowid())
}

fn update_call(tx: &Connection, c: &CallState) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE model_calls SET response_id = ?2, trace_id = ?3, span_id = ?4, parent_span_id = ?5, service = ?6, scopes = ?7, rank = ?8, has_usage = ?9, start_ns = ?10, end_ns = ?11, provider = ?12, model = ?13, request_model = ?14, input_tokens = ?15, output_tokens = ?16, cache_read_tokens = ?17, cache_write_tokens = ?18, cache_write_5m_tokens = ?19, cache_write_1h_tokens = ?20, cost_pico = ?21, price_id = ?22, unpriced_reason = ?23, failed = ?24, error_type = ?25, attempts = ?26, user_id = ?27, session_id = ?28, release = ?29, prompt_version = ?30, environment = ?31, members = ?32
         WHERE call_id = ?1",
    )?
    .execute(params![
        c.call_id, c.response_id, c.trace_id, c.span_id, c.parent_span_id, c.service, c.scopes, c.rank, c.has_usage,
        c.start_ns, c.end_ns, c.provider, c.model, c.request_model, c.input, c.output, c.cache_read,
        c.cache_write, c.cache_write_5m, c.cache_write_1h, c.cost_pico, c.price_id, c.unpriced_reason,
        c.failed, c.error_type, c.attempts, c.user_id, c.session_id, c.release, c.prompt_version,
        c.environment, c.members,
    ])?;
    Ok(())
}
