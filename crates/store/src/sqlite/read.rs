//! The read side of the SQLite store.

use glassbox_model::{LogRecord, MetricPoint, Span, SpanId, SpanKind, Status, StatusCode, TraceId};
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::SqliteStore;
use super::content;
use super::hot::HotIndex;
use super::prepare::chunk_entry;
use super::vault::Vault;
use super::write::{LogDetail, MetricDetail, SpanDetail};
use crate::{
    CallRow, Filter, LogFilter, Store, StoreError, StoredSpan, Sym, TraceCursor, TraceRow,
};

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) const TRACE_COLUMNS: &str = "t.trace_id, t.name, t.service, t.start_ns, t.end_ns, t.span_count, t.error_count, t.tool_calls, t.tool_errors, t.user_id, t.session_id, t.release, t.prompt_version, t.environment, t.pii_findings";

pub(super) fn trace_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TraceRow> {
    Ok(TraceRow {
        trace_id: id16(r.get(0)?),
        ordinal: None,
        name: sym(r.get(1)?),
        service: sym(r.get(2)?),
        start_ns: u(r.get(3)?),
        end_ns: u(r.get(4)?),
        span_count: u(r.get(5)?),
        error_count: u(r.get(6)?),
        tool_calls: u(r.get(7)?),
        tool_errors: u(r.get(8)?),
        user_id: sym(r.get(9)?),
        session_id: sym(r.get(10)?),
        release: sym(r.get(11)?),
        prompt_version: sym(r.get(12)?),
        environment: sym(r.get(13)?),
        pii_findings: u(r.get(14)?),
        scores: None,
    })
}

/// Every numeric score (a boolean as 1 or 0) by trace, in the order written.
pub(super) fn numeric_scores(
    conn: &Connection,
    visit: &mut dyn FnMut([u8; 16], String, f64),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(
        "SELECT trace_id, name, value_num FROM scores WHERE value_num IS NOT NULL ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        visit(id16(r.get(0)?), r.get(1)?, r.get(2)?);
    }
    Ok(())
}

fn sym(s: Option<String>) -> Option<Sym> {
    s.map(Sym::from)
}

/// Ids are validated on the way in; a wrong length here would mean corruption, shown as zeros.
fn id16(v: Vec<u8>) -> [u8; 16] {
    v.try_into().unwrap_or([0; 16])
}

pub(super) const CALL_COLUMNS: &str = "c.call_id, c.trace_id, c.start_ns, c.end_ns, c.service, c.provider, c.model, c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.cost_pico, c.failed, c.user_id, c.session_id, c.release, c.prompt_version";

pub(super) fn call_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRow> {
    Ok(CallRow {
        call_id: r.get(0)?,
        trace_id: r.get::<_, Option<Vec<u8>>>(1)?.map(id16),
        trace_ordinal: None,
        start_ns: u(r.get(2)?),
        end_ns: u(r.get(3)?),
        service: sym(r.get(4)?),
        provider: sym(r.get(5)?),
        model: sym(r.get(6)?),
        input_tokens: u(r.get(7)?),
        output_tokens: u(r.get(8)?),
        cache_read_tokens: u(r.get(9)?),
        cache_write_tokens: u(r.get(10)?),
        cost_pico: r.get(11)?,
        failed: r.get(12)?,
        user_id: sym(r.get(13)?),
        session_id: sym(r.get(14)?),
        release: sym(r.get(15)?),
        prompt_version: sym(r.get(16)?),
    })
}

/// A WHERE clause under construction: conditions with `$` for their one parameter.
#[derive(Default)]
struct Conditions {
    cond: Vec<String>,
    args: Vec<Box<dyn ToSql>>,
}

impl Conditions {
    fn push(&mut self, sql: &str, v: Box<dyn ToSql>) {
        self.args.push(v);
        self.cond
            .push(sql.replace('$', &format!("?{}", self.args.len())));
    }

    /// The filters both tables share, on `alias` (`t` for traces, `c` for model calls).
    fn common(alias: &str, f: &Filter) -> Self {
        let mut c = Conditions::default();
        if let Some(v) = f.from_ns {
            c.push(&format!("{alias}.start_ns >= $"), Box::new(i(v)));
        }
        if let Some(v) = f.to_ns {
            c.push(&format!("{alias}.start_ns < $"), Box::new(i(v)));
        }
        for (column, value) in [
            ("service", &f.service),
            ("user_id", &f.user),
            ("session_id", &f.session),
            ("release", &f.release),
            ("prompt_version", &f.prompt_version),
        ] {
            if let Some(v) = value {
                c.push(&format!("{alias}.{column} = $"), Box::new(v.clone()));
            }
        }
        c
    }

    fn into_parts(self) -> (Vec<String>, Vec<Box<dyn ToSql>>) {
        (self.cond, self.args)
    }
}

/// SQL conditions + parameters for a [`Filter`] applied to the `traces t` table.
fn trace_conditions(f: &Filter) -> (Vec<String>, Vec<Box<dyn ToSql>>) {
    let mut c = Conditions::common("t", f);
    match f.status.as_deref() {
        Some("error") => c.cond.push("t.error_count > 0".into()),
        Some("ok") => c.cond.push("t.error_count = 0".into()),
        _ => {}
    }
    if let Some(v) = &f.model {
        // `+m.model`: look calls up by trace, not by model (which scans every call of the model).
        c.push(
            "EXISTS (SELECT 1 FROM model_calls m WHERE m.trace_id = t.trace_id AND +m.model = $)",
            Box::new(v.clone()),
        );
    }
    if let Some(v) = &f.q {
        c.push(
            "(t.name LIKE $ ESCAPE '\\' OR EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND (s.name LIKE $ ESCAPE '\\' OR s.tool_name LIKE $ ESCAPE '\\')))",
            Box::new(like_pattern(v)),
        );
    }
    c.into_parts()
}

/// SQL conditions for a [`Filter`] applied to the `model_calls c` table.
fn call_conditions(f: &Filter) -> (Vec<String>, Vec<Box<dyn ToSql>>) {
    let mut c = Conditions::common("c", f);
    if let Some(v) = &f.model {
        c.push("c.model = $", Box::new(v.clone()));
    }
    match f.status.as_deref() {
        Some("error") => c.cond.push("c.failed = 1".into()),
        Some("ok") => c.cond.push("c.failed = 0".into()),
        _ => {}
    }
    if let Some(v) = &f.q {
        c.push(
            "EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = c.trace_id AND t.name LIKE $ ESCAPE '\\')",
            Box::new(like_pattern(v)),
        );
    }
    c.into_parts()
}

/// `%text%` with LIKE's wildcards in `text` escaped.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn where_clause(cond: &[String]) -> String {
    if cond.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", cond.join(" AND "))
    }
}

/// Reads content back, inflating each chunk once per request.
struct Fetcher<'c> {
    conn: &'c Connection,
    vault: &'c Vault,
    /// Inflated chunks by (table, id).
    chunks: std::collections::HashMap<(&'static str, i64), Vec<u8>>,
}

impl<'c> Fetcher<'c> {
    fn new(conn: &'c Connection, vault: &'c Vault) -> Self {
        Fetcher {
            conn,
            vault,
            chunks: Default::default(),
        }
    }

    /// Chunk `id` of `table` (`span_chunks` or `blob_chunks`), inflated.
    fn chunk(&mut self, table: &'static str, id: i64) -> Result<&[u8], StoreError> {
        match self.chunks.entry((table, id)) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let data: Vec<u8> = self
                    .conn
                    .prepare_cached(&format!("SELECT data FROM {table} WHERE id = ?1"))?
                    .query_row([id], |r| r.get(0))?;
                let data = self.vault.open_value(table, &data)?;
                Ok(e.insert(content::decompress(&data).map_err(StoreError::Corrupt)?))
            }
        }
    }

    fn chunk_entry(&mut self, table: &'static str, id: i64, index: i64) -> Option<Vec<u8>> {
        let chunk = self.chunk(table, id).ok()?;
        chunk_entry(chunk, usize::try_from(index).ok()?).map(<[u8]>::to_vec)
    }
}

impl content::Fetch for Fetcher<'_> {
    fn entry(&mut self, at: content::Entry) -> Option<Vec<u8>> {
        self.chunk_entry("span_chunks", at.0, i64::from(at.1))
    }

    fn blob(&mut self, h: &content::Hash) -> Option<Vec<u8>> {
        let (chunk_id, index): (i64, i64) = self
            .conn
            .prepare_cached("SELECT chunk_id, chunk_index FROM blobs WHERE hash = ?1")
            .ok()?
            .query_row([&h[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .ok()?;
        self.chunk_entry("blob_chunks", chunk_id, index)
    }

    fn cell(&mut self, h: &content::Hash) -> Option<(Option<content::Hash>, content::Hash)> {
        let (prev, elem): (Option<Vec<u8>>, Vec<u8>) = self
            .conn
            .prepare_cached("SELECT prev, elem FROM list_cells WHERE hash = ?1")
            .ok()?
            .query_row([&h[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .ok()?;
        let prev = match prev {
            Some(p) => Some(p.try_into().ok()?),
            None => None,
        };
        Some((prev, elem.try_into().ok()?))
    }
}

fn load_resource(
    conn: &Connection,
    hash: Option<Vec<u8>>,
) -> Result<glassbox_model::Attributes, StoreError> {
    let Some(hash) = hash else {
        return Ok(Default::default());
    };
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT json FROM resources WHERE hash = ?1")?
        .query_row([&hash], |r| r.get(0))
        .optional()?;
    match data {
        Some(d) => {
            let json = content::decompress(&d).map_err(StoreError::Corrupt)?;
            serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        None => Ok(Default::default()),
    }
}

/// Runs `SELECT {columns} FROM {table} WHERE …` and visits each mapped row.
fn visit_rows<T>(
    conn: &Connection,
    columns_and_table: &str,
    (cond, args): (Vec<String>, Vec<Box<dyn ToSql>>),
    map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    visit: &mut dyn FnMut(&T),
) -> Result<(), StoreError> {
    let sql = format!("SELECT {columns_and_table} {}", where_clause(&cond));
    let mut stmt = conn.prepare(&sql)?;
    let params: Vec<&dyn ToSql> = args.iter().map(|b| b.as_ref()).collect();
    for row in stmt.query_map(params.as_slice(), map)? {
        visit(&row?);
    }
    Ok(())
}

impl SqliteStore {
    /// The SQL answer to [`Store::for_each_call`], which the hot index must match.
    pub fn for_each_call_sql(
        &self,
        filter: &Filter,
        visit: &mut dyn FnMut(&CallRow),
    ) -> Result<(), StoreError> {
        self.read(|conn| {
            visit_rows(
                conn,
                &format!("{CALL_COLUMNS} FROM model_calls c"),
                call_conditions(filter),
                call_row,
                visit,
            )
        })
    }

    /// The SQL answer to [`Store::for_each_trace`], which the hot index must match.
    pub fn for_each_trace_sql(
        &self,
        filter: &Filter,
        visit: &mut dyn FnMut(&TraceRow),
    ) -> Result<(), StoreError> {
        let mut scores: std::collections::HashMap<[u8; 16], Vec<(Sym, f64)>> = Default::default();
        self.read(|conn| {
            numeric_scores(conn, &mut |t, name, v| {
                scores.entry(t).or_default().push((Sym::from(name), v));
            })
        })?;
        self.trace_rows_sql(filter, &mut |t| match scores.get(&t.trace_id) {
            Some(list) => {
                let mut t = t.clone();
                t.scores = Some(list.as_slice().into());
                visit(&t);
            }
            None => visit(t),
        })
    }

    /// Trace summary rows matching `filter`, without their scores.
    fn trace_rows_sql(
        &self,
        filter: &Filter,
        visit: &mut dyn FnMut(&TraceRow),
    ) -> Result<(), StoreError> {
        self.read(|conn| {
            visit_rows(
                conn,
                &format!("{TRACE_COLUMNS} FROM traces t"),
                trace_conditions(filter),
                trace_row,
                visit,
            )
        })
    }
}

impl Store for SqliteStore {
    fn list_traces(
        &self,
        filter: &Filter,
        limit: usize,
        cursor: Option<&TraceCursor>,
    ) -> Result<Vec<TraceRow>, StoreError> {
        self.read(|conn| {
            let (mut cond, mut args) = trace_conditions(filter);
            if let Some(c) = cursor {
                args.push(Box::new(i(c.start_ns)));
                let a = args.len();
                args.push(Box::new(c.trace_id.to_vec()));
                let b = args.len();
                cond.push(format!("(t.start_ns < ?{a} OR (t.start_ns = ?{a} AND t.trace_id < ?{b}))"));
            }
            let sql = format!(
                "SELECT {TRACE_COLUMNS} FROM traces t {} ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT {}",
                where_clause(&cond),
                limit
            );
            let mut stmt = conn.prepare(&sql)?;
            let params: Vec<&dyn ToSql> = args.iter().map(|b| b.as_ref()).collect();
            let rows = stmt.query_map(params.as_slice(), trace_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn get_trace(&self, trace_id: &[u8]) -> Result<Option<TraceRow>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {TRACE_COLUMNS} FROM traces t WHERE t.trace_id = ?1"
                ))?
                .query_row([trace_id], trace_row)
                .optional()?)
        })
    }

    fn trace_spans(&self, trace_id: &[u8]) -> Result<Vec<StoredSpan>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_ns, s.end_ns, s.status, s.scope, s.tool_failed, s.call_id, s.resource_hash, s.chunk_id, s.chunk_index,
                        (SELECT m.span_id = s.span_id AND m.trace_id = s.trace_id FROM model_calls m WHERE m.call_id = s.call_id)
                 FROM spans s WHERE s.trace_id = ?1 ORDER BY s.start_ns, s.span_id",
            )?;
            let rows = stmt.query_map([trace_id], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, bool>(9)?,
                    r.get::<_, Option<i64>>(10)?,
                    r.get::<_, Option<Vec<u8>>>(11)?,
                    (r.get::<_, i64>(12)?, r.get::<_, i64>(13)?),
                    r.get::<_, Option<bool>>(14)?,
                ))
            })?;
            let mut out = Vec::new();
            // A trace's spans usually share a few chunks: the fetcher inflates each once.
            let mut fetch = Fetcher::new(conn, &self.vault);
            let mut resources: std::collections::HashMap<Vec<u8>, glassbox_model::Attributes> = Default::default();
            for row in rows {
                let (tid, sid, parent, name, kind, start, end, status, scope, tool_failed, call_id, rhash, (chunk_id, chunk_index), primary) = row?;
                let corrupt = |what: &str| StoreError::Corrupt(format!("span {}: {what}", hex_of(&sid)));
                let chunk = fetch.chunk("span_chunks", chunk_id)?;
                let json = chunk_entry(chunk, usize::try_from(chunk_index).unwrap_or(usize::MAX))
                    .ok_or_else(|| corrupt("missing chunk entry"))?;
                let mut d: SpanDetail = serde_json::from_slice(json).map_err(|e| corrupt(&e.to_string()))?;
                content::join_attributes(&mut d.attributes, chunk_id, &mut fetch).map_err(|e| corrupt(&e))?;
                if let Some(call) = d.model_call.as_mut() {
                    call.input_messages = content::get_messages(d.input_list.as_ref(), chunk_id, &mut fetch).map_err(|e| corrupt(&e))?;
                    call.output_messages = content::get_messages(d.output_list.as_ref(), chunk_id, &mut fetch).map_err(|e| corrupt(&e))?;
                }
                let resource = match &rhash {
                    Some(h) => match resources.get(h) {
                        Some(r) => r.clone(),
                        None => {
                            let r = load_resource(conn, Some(h.clone()))?;
                            resources.insert(h.clone(), r.clone());
                            r
                        }
                    },
                    None => Default::default(),
                };
                let span = Span {
                    trace_id: TraceId::from_bytes(&tid).map_err(|e| corrupt(&e.to_string()))?,
                    span_id: SpanId::from_bytes(&sid).map_err(|e| corrupt(&e.to_string()))?,
                    parent_span_id: parent.as_deref().map(SpanId::from_bytes).transpose().map_err(|e| corrupt(&e.to_string()))?,
                    name,
                    otel_kind: d.otel_kind,
                    start_unix_nano: u(start),
                    end_unix_nano: u(end),
                    status: Status {
                        code: match status {
                            1 => StatusCode::Ok,
                            2 => StatusCode::Error,
                            _ => StatusCode::Unset,
                        },
                        message: d.status_message,
                    },
                    scope_name: scope,
                    scope_version: d.scope_version,
                    resource,
                    attributes: d.attributes,
                    events: d.events,
                    kind: SpanKind::parse(&kind).unwrap_or_default(),
                    grouping: d.grouping,
                    model_call: d.model_call,
                    tool: d.tool,
                    tool_failed,
                    redactions: d.redactions,
                };
                out.push(StoredSpan { span, call_id, primary: primary.unwrap_or(false) });
            }
            Ok(out)
        })
    }

    fn calls_for_traces(&self, trace_ids: &[[u8; 16]]) -> Result<Vec<CallRow>, StoreError> {
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let mut out = Vec::new();
            for chunk in trace_ids.chunks(500) {
                let marks = (1..=chunk.len())
                    .map(|n| format!("?{n}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let sql = format!(
                    "SELECT {CALL_COLUMNS} FROM model_calls c WHERE c.trace_id IN ({marks})"
                );
                let mut stmt = conn.prepare(&sql)?;
                let params: Vec<&dyn ToSql> = chunk.iter().map(|t| t as &dyn ToSql).collect();
                for row in stmt.query_map(params.as_slice(), call_row)? {
                    out.push(row?);
                }
            }
            Ok(out)
        })
    }

    fn for_each_call(
        &self,
        filter: &Filter,
        visit: &mut dyn FnMut(&CallRow),
    ) -> Result<(), StoreError> {
        // Every call filter is answerable from memory.
        let hot = self.hot.read().map_err(|_| StoreError::Closed)?;
        hot.for_each_call(filter, visit);
        Ok(())
    }

    fn scores(&self, f: &crate::ScoreFilter) -> Result<Vec<glassbox_model::Score>, StoreError> {
        use glassbox_model::{Score, ScoreSource, ScoreValue};
        self.read(|conn| {
            // Only the conditions given, so SQLite can use `scores_by_trace` or
            // `scores_by_name_time` (an `?1 IS NULL OR …` form scans the table).
            let mut cond: Vec<&str> = Vec::new();
            let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
            if let Some(t) = f.trace_id {
                cond.push("trace_id = ?");
                args.push(Box::new(t.to_vec()));
            }
            if let Some(n) = &f.name {
                cond.push("name = ?");
                args.push(Box::new(n.clone()));
            }
            if let Some(s) = &f.source {
                cond.push("source = ?");
                args.push(Box::new(s.clone()));
            }
            if let Some(ns) = f.from_ns {
                cond.push("time_ns >= ?");
                args.push(Box::new(i(ns)));
            }
            if let Some(ns) = f.to_ns {
                cond.push("time_ns < ?");
                args.push(Box::new(i(ns)));
            }
            args.push(Box::new(i64::try_from(f.limit).unwrap_or(i64::MAX)));
            let filter = if cond.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", cond.join(" AND "))
            };
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT score_id, trace_id, span_id, name, value_num, value_text, value_kind, source, comment, author, time_ns
                 FROM scores {filter}
                 ORDER BY time_ns, id LIMIT ?"
            ))?;
            let rows = stmt.query_map(
                rusqlite::params_from_iter(args.iter()),
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Option<Vec<u8>>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<f64>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, i64>(10)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (id, tid, sid, name, num, text, kind, source, comment, author, time) = row?;
                let corrupt = || StoreError::Corrupt(format!("score {id}"));
                let value = match (kind.as_str(), num, text) {
                    ("bool", Some(n), _) => ScoreValue::Bool(n != 0.0),
                    ("number", Some(n), _) => ScoreValue::Number(n),
                    ("category", _, Some(t)) => ScoreValue::Category(t),
                    _ => return Err(corrupt()),
                };
                out.push(Score {
                    id: id.clone(),
                    trace_id: TraceId::from_bytes(&tid).map_err(|_| corrupt())?,
                    span_id: sid.as_deref().map(SpanId::from_bytes).transpose().map_err(|_| corrupt())?,
                    name,
                    value,
                    source: ScoreSource::parse(&source).ok_or_else(corrupt)?,
                    comment,
                    author,
                    time_unix_nano: u(time),
                });
            }
            Ok(out)
        })
    }

    fn known_values(&self, dimension: crate::Dimension) -> Result<Vec<String>, StoreError> {
        let hot = self.hot.read().map_err(|_| StoreError::Closed)?;
        Ok(hot.known_values(dimension))
    }

    fn for_each_trace(
        &self,
        filter: &Filter,
        visit: &mut dyn FnMut(&TraceRow),
    ) -> Result<(), StoreError> {
        if HotIndex::answers_traces(filter) {
            let hot = self.hot.read().map_err(|_| StoreError::Closed)?;
            hot.for_each_trace(filter, visit);
            return Ok(());
        }
        // Only the matching needs SQL (a span-name search); scores and ordinals are in memory.
        let hot = self.hot.read().map_err(|_| StoreError::Closed)?;
        self.trace_rows_sql(filter, &mut |t| {
            let mut t = t.clone();
            t.ordinal = hot.ordinal_of(&t.trace_id);
            t.scores = hot.scores_of(&t.trace_id);
            visit(&t);
        })
    }

    fn list_logs(&self, f: &LogFilter) -> Result<Vec<LogRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT time_ns, trace_id, span_id, event_name, severity, resource_hash, detail FROM logs
                 WHERE (?1 IS NULL OR time_ns >= ?1) AND (?2 IS NULL OR time_ns < ?2) AND (?3 IS NULL OR trace_id = ?3)
                   AND (?4 IS NULL OR event_name = ?4) AND (?5 IS NULL OR session_id = ?5)
                 ORDER BY time_ns, id LIMIT ?6",
            )?;
            let rows = stmt.query_map(
                params![
                    f.from_ns.map(i),
                    f.to_ns.map(i),
                    f.trace_id.map(|t| t.0.to_vec()),
                    f.event_name,
                    f.session,
                    i64::try_from(f.limit).unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?,
                        r.get::<_, Option<Vec<u8>>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i32>(4)?,
                        r.get::<_, Option<Vec<u8>>>(5)?,
                        r.get::<_, Vec<u8>>(6)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (time, tid, sid, event_name, severity, rhash, detail) = row?;
                let detail = self.vault.open_value("logs", &detail)?;
                let json = content::decompress(&detail).map_err(StoreError::Corrupt)?;
                let mut d: LogDetail = serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                content::join_attributes(&mut d.attributes, 0, &mut Fetcher::new(conn, &self.vault)).map_err(StoreError::Corrupt)?;
                out.push(LogRecord {
                    time_unix_nano: u(time),
                    observed_time_unix_nano: d.observed_time_unix_nano,
                    severity_number: severity,
                    severity_text: d.severity_text,
                    event_name,
                    body: d.body,
                    trace_id: tid.as_deref().and_then(|t| TraceId::from_bytes(t).ok()),
                    span_id: sid.as_deref().and_then(|s| SpanId::from_bytes(s).ok()),
                    scope_name: d.scope_name,
                    resource: load_resource(conn, rhash)?,
                    attributes: d.attributes,
                    grouping: d.grouping,
                    model_call: d.model_call,
                    redactions: d.redactions,
                });
            }
            Ok(out)
        })
    }

    fn metric_points(
        &self,
        name: &str,
        from_ns: Option<u64>,
        to_ns: Option<u64>,
    ) -> Result<Vec<MetricPoint>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT time_ns, start_ns, resource_hash, detail FROM metric_points
                 WHERE name = ?1 AND (?2 IS NULL OR time_ns >= ?2) AND (?3 IS NULL OR time_ns < ?3) ORDER BY time_ns, id",
            )?;
            let rows = stmt.query_map(params![name, from_ns.map(i), to_ns.map(i)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<Vec<u8>>>(2)?, r.get::<_, Vec<u8>>(3)?))
            })?;
            let mut out = Vec::new();
            let mut resources: std::collections::HashMap<Vec<u8>, glassbox_model::Attributes> = Default::default();
            for row in rows {
                let (time, start, rhash, detail) = row?;
                let detail = self.vault.open_value("metric_points", &detail)?;
                let json = content::decompress(&detail).map_err(StoreError::Corrupt)?;
                let d: MetricDetail = serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let resource = match rhash {
                    Some(h) => match resources.get(&h) {
                        Some(r) => r.clone(),
                        None => {
                            let r = load_resource(conn, Some(h.clone()))?;
                            resources.insert(h, r.clone());
                            r
                        }
                    },
                    None => Default::default(),
                };
                out.push(MetricPoint {
                    name: name.to_owned(),
                    unit: d.unit,
                    scope_name: d.scope_name,
                    start_unix_nano: u(start),
                    time_unix_nano: u(time),
                    resource,
                    attributes: d.attributes,
                    value: d.value,
                });
            }
            Ok(out)
        })
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
