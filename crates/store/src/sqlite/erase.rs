//! Erasure: retention (everything older than a cutoff) and one user's data
//! (GDPR Art. 17), in one transaction with an `erase` audit entry.
//!
//! Span rows, log records and metric points are deleted. A span's detail,
//! and the message content its export request added, are entries of a chunk
//! shared with the other spans of that request; content is referred to by
//! later spans too, so chunks are swept by reachability: newest first (a
//! span refers only to its own chunk and older ones), every entry that is
//! neither a remaining span's detail nor content such a span refers to is
//! emptied, and the chunk rewritten. Stores written before content addresses
//! hold content in hash-keyed list cells and blobs: those no longer
//! reachable from a remaining span or log are deleted (their chunk entries
//! emptied). Every deleted or rewritten covered row is recorded with its
//! digest before and after (`audit_erasures`), which is how `audit verify`
//! still proves the remaining rows intact. Trace summaries and the model-call
//! ledger of the erased traces are removed too (they are derived).
//!
//! Cost: the sweep reads every remaining span's detail once — seconds per
//! million spans; erasure is rare and runs on the writer thread.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use serde_json::Value;

use super::audit::{self, Auditor, ContentTally};
use super::content::{self, Hash, ListRef};
use super::prepare::{ChunkBuilder, chunk_entry};
use super::vault::Vault;
use crate::StoreError;

/// What to erase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every trace whose user id is this (as stored: after redaction, the
    /// pseudonym), with its spans, logs and content.
    User(String),
    /// Every trace that ended before this time (unix ns), and older logs and metric points.
    Before(u64),
}

/// What an erasure removed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub traces: u64,
    pub spans: u64,
    pub logs: u64,
    pub metric_points: u64,
    pub scores: u64,
    pub content_blobs: u64,
    pub list_cells: u64,
}

use super::audit::Erasure;

fn digest(conn: &Connection, table: &'static str, id: i64) -> Result<[u8; 32], StoreError> {
    audit::digest_of(conn, table, id)?
        .ok_or_else(|| StoreError::Corrupt(format!("{table} row {id} vanished during erasure")))
}

/// Deletes rows of `table` by id, recording each one's digest first.
fn delete_rows(
    conn: &Connection,
    table: &'static str,
    ids: &[i64],
    out: &mut Vec<Erasure>,
) -> Result<(), StoreError> {
    for &id in ids {
        out.push((table, id, digest(conn, table, id)?, None));
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE rowid = ?1"))?
            .execute([id])?;
    }
    Ok(())
}

/// Rewrites chunk `id` of `table` with the entries at `emptied` made empty.
fn rewrite_chunk(
    conn: &Connection,
    vault: &Vault,
    table: &'static str,
    id: i64,
    emptied: &HashSet<usize>,
    out: &mut Vec<Erasure>,
) -> Result<(), StoreError> {
    let before = digest(conn, table, id)?;
    let data: Vec<u8> = conn
        .prepare_cached(&format!("SELECT data FROM {table} WHERE id = ?1"))?
        .query_row([id], |r| r.get(0))?;
    let plain =
        content::decompress(&vault.open_value(table, &data)?).map_err(StoreError::Corrupt)?;
    let mut rebuilt = ChunkBuilder::default();
    let mut i = 0;
    while let Some(entry) = chunk_entry(&plain, i) {
        rebuilt.push(if emptied.contains(&i) { &[] } else { entry });
        i += 1;
    }
    let sealed = match rebuilt.finish() {
        Some(c) => vault.seal(table, c)?,
        None => Vec::new(),
    };
    conn.prepare_cached(&format!("UPDATE {table} SET data = ?1 WHERE id = ?2"))?
        .execute(params![sealed, id])?;
    out.push((table, id, before, Some(digest(conn, table, id)?)));
    Ok(())
}

fn ids(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(args, |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What a span or log detail document refers to: content entries by chunk
/// (`own` is the document's chunk) and, in older stores, list heads.
#[derive(Default)]
struct Reached {
    entries: HashMap<i64, HashSet<u32>>,
    heads: Vec<Hash>,
}

impl Reached {
    fn add(&mut self, list: &Value, own: i64) {
        match serde_json::from_value::<ListRef>(list.clone()) {
            Ok(ListRef::Entries(entries)) => {
                for e in entries {
                    let at = e.resolve(own);
                    self.entries.entry(at.0).or_default().insert(at.1);
                }
            }
            Ok(ListRef::Cells(last)) => self.heads.extend(content::unhex(&last)),
            Err(_) => {}
        }
    }

    fn walk(&mut self, v: &Value, own: i64) {
        match v {
            Value::Object(o) => {
                for key in ["input_list", "output_list"] {
                    if let Some(list) = o.get(key) {
                        self.add(list, own);
                    }
                }
                if o.contains_key("$glassbox_split")
                    && let Some(list) = o.get("list")
                {
                    self.add(list, own);
                }
                o.values().for_each(|x| self.walk(x, own));
            }
            Value::Array(a) => a.iter().for_each(|x| self.walk(x, own)),
            _ => {}
        }
    }
}

/// Erases what `selector` names. Returns the report and the erasure's audit
/// entry (apply after commit).
pub fn erase(
    conn: &mut Connection,
    vault: &Vault,
    auditor: &Auditor,
    selector: &Selector,
) -> Result<(Report, audit::Pending), StoreError> {
    // Freed pages are zeroed, so erased bytes do not linger in the file.
    conn.pragma_update(None, "secure_delete", true)?;
    let result = erase_in(conn, vault, auditor, selector);
    conn.pragma_update(None, "secure_delete", false)?;
    result
}

fn erase_in(
    conn: &mut Connection,
    vault: &Vault,
    auditor: &Auditor,
    selector: &Selector,
) -> Result<(Report, audit::Pending), StoreError> {
    let tx = conn.transaction()?;
    let mut report = Report::default();
    let mut erasures: Vec<Erasure> = Vec::new();
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS erase_traces (trace_id BLOB PRIMARY KEY); DELETE FROM erase_traces;",
    )?;
    let (reason, cutoff) = match selector {
        Selector::User(u) => {
            tx.execute(
                "INSERT INTO erase_traces SELECT trace_id FROM traces WHERE user_id = ?1",
                [u],
            )?;
            // The user id itself is personal data: the entry keeps a digest.
            (
                serde_json::json!({"erasure": "user", "user_id_blake3": blake3::hash(u.as_bytes()).to_hex().to_string()}),
                None,
            )
        }
        Selector::Before(ns) => {
            let ns = i64::try_from(*ns).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO erase_traces SELECT trace_id FROM traces WHERE end_ns < ?1",
                [ns],
            )?;
            (
                serde_json::json!({"erasure": "retention", "before_ns": ns}),
                Some(ns),
            )
        }
    };
    report.traces = tx.query_row("SELECT count(*) FROM erase_traces", [], |r| r.get(0))?;

    // Spans (their chunk entries go in the sweep below).
    let span_ids = ids(
        &tx,
        "SELECT id FROM spans WHERE trace_id IN (SELECT trace_id FROM erase_traces)",
        &[],
    )?;
    report.spans = span_ids.len() as u64;
    delete_rows(&tx, "spans", &span_ids, &mut erasures)?;

    // Logs of those traces (and, for retention, every older log and metric point).
    let log_ids = match cutoff {
        None => ids(
            &tx,
            "SELECT id FROM logs WHERE trace_id IN (SELECT trace_id FROM erase_traces)",
            &[],
        )?,
        Some(ns) => ids(
            &tx,
            "SELECT id FROM logs WHERE time_ns < ?1 OR trace_id IN (SELECT trace_id FROM erase_traces)",
            &[&ns],
        )?,
    };
    report.logs = log_ids.len() as u64;
    delete_rows(&tx, "logs", &log_ids, &mut erasures)?;
    if let Some(ns) = cutoff {
        let points = ids(
            &tx,
            "SELECT id FROM metric_points WHERE time_ns < ?1",
            &[&ns],
        )?;
        report.metric_points = points.len() as u64;
        delete_rows(&tx, "metric_points", &points, &mut erasures)?;
    }
    let score_ids = ids(
        &tx,
        "SELECT id FROM scores WHERE trace_id IN (SELECT trace_id FROM erase_traces)",
        &[],
    )?;
    report.scores = score_ids.len() as u64;
    delete_rows(&tx, "scores", &score_ids, &mut erasures)?;
    tx.execute_batch(
        "DELETE FROM model_calls WHERE trace_id IN (SELECT trace_id FROM erase_traces);
         DELETE FROM traces WHERE trace_id IN (SELECT trace_id FROM erase_traces);",
    )?;

    // Span chunks, newest first: keep the remaining spans' details and the
    // content they reach, empty the rest.
    let mut details: HashMap<i64, HashSet<u32>> = HashMap::new();
    {
        let mut stmt = tx.prepare("SELECT chunk_id, chunk_index FROM spans")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let index = u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX);
            details.entry(r.get(0)?).or_default().insert(index);
        }
    }
    let mut reached = Reached::default();
    let mut span_chunks: Vec<(i64, HashSet<usize>)> = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT id, data FROM span_chunks ORDER BY id DESC")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let id: i64 = r.get(0)?;
            let data: Vec<u8> = r.get(1)?;
            if data.is_empty() {
                continue;
            }
            let plain = content::decompress(&vault.open_value("span_chunks", &data)?)
                .map_err(StoreError::Corrupt)?;
            let mine = details.remove(&id).unwrap_or_default();
            for &i in &mine {
                if let Some(entry) = chunk_entry(&plain, i as usize)
                    && let Ok(v) = serde_json::from_slice::<Value>(entry)
                {
                    reached.walk(&v, id);
                }
            }
            let used = reached.entries.remove(&id).unwrap_or_default();
            let mut dead = HashSet::new();
            let mut i = 0usize;
            while let Some(entry) = chunk_entry(&plain, i) {
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                if !entry.is_empty() && !mine.contains(&index) && !used.contains(&index) {
                    dead.insert(i);
                }
                i += 1;
            }
            if !dead.is_empty() {
                span_chunks.push((id, dead));
            }
        }
    }
    let emptied: u64 = span_chunks.iter().map(|(_, d)| d.len() as u64).sum();
    // What is not a span's detail is content.
    report.content_blobs = emptied.saturating_sub(report.spans);
    for (chunk, dead) in &span_chunks {
        rewrite_chunk(&tx, vault, "span_chunks", *chunk, dead, &mut erasures)?;
    }
    // Logs (and, in older stores, spans) reach content through list cells.
    let mut roots = std::mem::take(&mut reached.heads);
    {
        let mut stmt = tx.prepare("SELECT detail FROM logs")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let data: Vec<u8> = r.get(0)?;
            let plain = content::decompress(&vault.open_value("logs", &data)?)
                .map_err(StoreError::Corrupt)?;
            if let Ok(v) = serde_json::from_slice::<Value>(&plain) {
                let mut from_log = Reached::default();
                from_log.walk(&v, 0);
                roots.extend(from_log.heads);
            }
        }
    }
    let mut cells: HashSet<Hash> = HashSet::new();
    let mut blobs: HashSet<Hash> = HashSet::new();
    {
        let mut stmt = tx.prepare("SELECT prev, elem FROM list_cells WHERE hash = ?1")?;
        for root in roots {
            let mut next = Some(root);
            while let Some(cell) = next.take() {
                if !cells.insert(cell) {
                    break;
                }
                let row: Option<(Option<Vec<u8>>, Vec<u8>)> = stmt
                    .query_row([&cell[..]], |r| Ok((r.get(0)?, r.get(1)?)))
                    .ok();
                if let Some((prev, elem)) = row {
                    if let Ok(e) = Hash::try_from(elem.as_slice()) {
                        blobs.insert(e);
                    }
                    next = prev.and_then(|p| Hash::try_from(p.as_slice()).ok());
                }
            }
        }
    }
    let mut removed = ContentTally::default();
    let mut blob_chunks: BTreeMap<i64, HashSet<usize>> = BTreeMap::new();
    {
        // (cell, previous cell, element) as stored.
        type Cell = (Vec<u8>, Option<Vec<u8>>, Vec<u8>);
        let mut dead_cells: Vec<Cell> = Vec::new();
        let mut stmt = tx.prepare("SELECT hash, prev, elem FROM list_cells")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let hash: Vec<u8> = r.get(0)?;
            if Hash::try_from(hash.as_slice()).is_ok_and(|h| !cells.contains(&h)) {
                dead_cells.push((hash, r.get(1)?, r.get(2)?));
            }
        }
        drop(q);
        for (hash, prev, elem) in &dead_cells {
            removed.add_row(
                2,
                &[
                    ValueRef::Blob(hash),
                    prev.as_deref().map_or(ValueRef::Null, ValueRef::Blob),
                    ValueRef::Blob(elem),
                ],
            );
            tx.execute("DELETE FROM list_cells WHERE hash = ?1", [hash])?;
        }
        report.list_cells = dead_cells.len() as u64;
        let mut dead_blobs: Vec<(Vec<u8>, i64, i64)> = Vec::new();
        let mut stmt = tx.prepare("SELECT hash, chunk_id, chunk_index FROM blobs")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let hash: Vec<u8> = r.get(0)?;
            if Hash::try_from(hash.as_slice()).is_ok_and(|h| !blobs.contains(&h)) {
                dead_blobs.push((hash, r.get(1)?, r.get(2)?));
            }
        }
        drop(q);
        for (hash, chunk, index) in &dead_blobs {
            removed.add_row(
                1,
                &[
                    ValueRef::Blob(hash),
                    ValueRef::Integer(*chunk),
                    ValueRef::Integer(*index),
                ],
            );
            tx.execute("DELETE FROM blobs WHERE hash = ?1", [hash])?;
            blob_chunks
                .entry(*chunk)
                .or_default()
                .insert(usize::try_from(*index).unwrap_or(usize::MAX));
        }
        report.content_blobs += dead_blobs.len() as u64;
    }
    for (chunk, emptied) in &blob_chunks {
        rewrite_chunk(&tx, vault, "blob_chunks", *chunk, emptied, &mut erasures)?;
    }
    let mut about = reason;
    about["report"] = serde_json::to_value(&report).unwrap_or_default();
    let pending = auditor.append_erasure(&tx, &erasures, &removed, about)?;
    tx.commit()?;
    Ok((report, pending))
}
