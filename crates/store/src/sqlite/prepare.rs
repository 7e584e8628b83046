//! Encoding for the write path, done by the callers' threads so the single
//! writer thread only runs SQL: JSON, content splitting, hashing and zstd.

use std::collections::HashSet;
use std::sync::Mutex;

use glassbox_model::{Attributes, LogRecord, MetricPoint, Span};

use super::content::{self, Blobs, Hash};
use super::vault::Vault;
use super::write::{LogDetail, MetricDetail, SpanDetail};
use crate::{StoreError, WriteBatch};

/// Content hashes known to be committed, so preparers can skip compressing
/// content that is already stored (the history agents resend every turn).
/// Only the writer adds to it, and only after a commit; bounded by clearing.
#[derive(Default)]
pub struct Committed(Mutex<HashSet<Hash>>);

impl Committed {
    const MAX: usize = 1_000_000;

    pub fn contains(&self, h: &Hash) -> bool {
        self.0.lock().map(|s| s.contains(h)).unwrap_or(false)
    }

    /// After an erasure: these are no longer stored, so must be written again if seen.
    pub fn forget(&self, hashes: &[Hash]) {
        if let Ok(mut s) = self.0.lock() {
            for h in hashes {
                s.remove(h);
            }
        }
    }

    pub fn extend(&self, hashes: impl IntoIterator<Item = Hash>) {
        if let Ok(mut s) = self.0.lock() {
            if s.len() > Self::MAX {
                s.clear();
            }
            s.extend(hashes);
        }
    }
}

/// Length-prefixed entries (u32 LE length, then bytes) compressed as one zstd
/// frame: how a batch's span details and its new content blobs are stored.
#[derive(Default)]
pub struct ChunkBuilder {
    buf: Vec<u8>,
    entries: u32,
}

impl ChunkBuilder {
    /// Appends an entry; returns its index in the chunk.
    pub fn push(&mut self, bytes: &[u8]) -> u32 {
        self.buf
            .extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.buf.extend_from_slice(bytes);
        self.entries += 1;
        self.entries - 1
    }

    /// The compressed chunk, or None when nothing was pushed.
    pub fn finish(self) -> Option<Vec<u8>> {
        (self.entries > 0).then(|| content::compress(&self.buf))
    }
}

/// Entry `index` of a decompressed chunk.
pub fn chunk_entry(chunk: &[u8], index: usize) -> Option<&[u8]> {
    let mut pos = 0usize;
    for i in 0.. {
        let len = u32::from_le_bytes(chunk.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let body = chunk.get(pos + 4..pos + 4 + len)?;
        if i == index {
            return Some(body);
        }
        pos += 4 + len;
    }
    None
}

/// New content of one record: blobs as (hash, index in the batch's blob chunk), and list cells.
pub struct Content {
    pub blobs: Vec<(Hash, u32)>,
    pub cells: Vec<(Hash, Option<Hash>, Hash)>,
}

/// Gathers a batch's new content into one blob chunk. Content already
/// committed, or already sealed earlier in this batch (a session's turns
/// often share a request), is passed by hash only, or not at all.
struct Sealer<'a> {
    committed: &'a Committed,
    in_batch: HashSet<Hash>,
    chunk: ChunkBuilder,
}

impl Sealer<'_> {
    fn seal(&mut self, blobs: Blobs) -> Content {
        let mut out = Content {
            blobs: Vec::new(),
            cells: Vec::new(),
        };
        for (h, json) in blobs.blobs {
            if self.in_batch.insert(h) && !self.committed.contains(&h) {
                out.blobs.push((h, self.chunk.push(&json)));
            }
        }
        out.cells = blobs
            .cells
            .into_iter()
            .filter(|(h, _, _)| self.in_batch.insert(*h))
            .collect();
        out
    }
}

pub struct Resource {
    pub hash: Hash,
    pub data: Option<Vec<u8>>,
}

fn resource(r: &Attributes, committed: &Committed) -> Resource {
    let json = serde_json::to_vec(r).unwrap_or_default();
    let hash = content::hash(&json);
    let data = (!committed.contains(&hash)).then(|| content::compress(&json));
    Resource { hash, data }
}

/// A span ready for SQL: its columns (the `span` with its bulky parts moved
/// out) and its encoded content; its detail JSON moves into the batch's chunk.
pub struct PreparedSpan {
    pub span: Span,
    detail: Vec<u8>,
    pub content: Content,
    pub resource: Resource,
}

pub struct PreparedLog {
    pub log: LogRecord,
    pub detail: Vec<u8>,
    pub content: Content,
    pub resource: Resource,
}

pub struct PreparedMetric {
    pub point: MetricPoint,
    pub detail: Vec<u8>,
    pub resource: Resource,
}

/// A [`WriteBatch`] encoded for the SQLite writer.
pub struct PreparedBatch {
    pub spans: Vec<PreparedSpan>,
    /// The spans' details, entry i for span i (see [`ChunkBuilder`]).
    pub span_chunk: Option<Vec<u8>>,
    /// The batch's new content blobs (see [`Content`]).
    pub blob_chunk: Option<Vec<u8>>,
    pub logs: Vec<PreparedLog>,
    pub metrics: Vec<PreparedMetric>,
    pub scores: Vec<glassbox_model::Score>,
}

impl PreparedBatch {
    pub fn len(&self) -> usize {
        self.spans.len() + self.logs.len() + self.metrics.len() + self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn prepare(
    batch: WriteBatch,
    committed: &Committed,
    vault: &Vault,
) -> Result<PreparedBatch, StoreError> {
    let mut sealer = Sealer {
        committed,
        in_batch: HashSet::new(),
        chunk: ChunkBuilder::default(),
    };
    let mut spans: Vec<PreparedSpan> = batch
        .spans
        .into_iter()
        .map(|s| prepare_span(s, &mut sealer))
        .collect();
    let mut details = ChunkBuilder::default();
    for s in &mut spans {
        details.push(&std::mem::take(&mut s.detail));
    }
    let mut logs: Vec<PreparedLog> = batch
        .logs
        .into_iter()
        .map(|l| prepare_log(l, &mut sealer))
        .collect();
    let mut metrics: Vec<PreparedMetric> = batch
        .metrics
        .into_iter()
        .map(|m| prepare_metric(m, committed))
        .collect();
    // Sealed last, after compression (ciphertext does not compress).
    for l in &mut logs {
        l.detail = vault.seal("logs", std::mem::take(&mut l.detail))?;
    }
    for m in &mut metrics {
        m.detail = vault.seal("metric_points", std::mem::take(&mut m.detail))?;
    }
    Ok(PreparedBatch {
        span_chunk: details
            .finish()
            .map(|c| vault.seal("span_chunks", c))
            .transpose()?,
        blob_chunk: sealer
            .chunk
            .finish()
            .map(|c| vault.seal("blob_chunks", c))
            .transpose()?,
        spans,
        logs,
        metrics,
        scores: batch.scores,
    })
}

fn prepare_span(mut span: Span, sealer: &mut Sealer<'_>) -> PreparedSpan {
    let mut blobs = Blobs::default();
    // Messages move into content lists; the writer needs the call's numbers only.
    let (input_list, output_list) = match span.model_call.as_mut() {
        Some(c) => (
            content::put_messages(&std::mem::take(&mut c.input_messages), &mut blobs),
            content::put_messages(&std::mem::take(&mut c.output_messages), &mut blobs),
        ),
        None => (None, None),
    };
    let model_call = span.model_call.clone();
    let detail = SpanDetail {
        attributes: content::split_attributes(&std::mem::take(&mut span.attributes), &mut blobs),
        events: std::mem::take(&mut span.events),
        scope_version: span.scope_version.clone(),
        otel_kind: span.otel_kind,
        status_message: span.status.message.clone(),
        grouping: span.grouping.clone(),
        model_call,
        input_list,
        output_list,
        tool: span.tool.clone(),
        redactions: span.redactions.clone(),
    };
    // Compressed with its batch's other spans, in `prepare`.
    let detail = serde_json::to_vec(&detail).unwrap_or_default();
    let resource = resource(&std::mem::take(&mut span.resource), sealer.committed);
    PreparedSpan {
        span,
        detail,
        content: sealer.seal(blobs),
        resource,
    }
}

fn prepare_log(mut log: LogRecord, sealer: &mut Sealer<'_>) -> PreparedLog {
    let mut blobs = Blobs::default();
    let detail = LogDetail {
        observed_time_unix_nano: log.observed_time_unix_nano,
        severity_text: log.severity_text.clone(),
        body: std::mem::take(&mut log.body),
        scope_name: log.scope_name.clone(),
        attributes: content::split_attributes(&log.attributes, &mut blobs),
        grouping: log.grouping.clone(),
        model_call: log.model_call.clone(),
        redactions: std::mem::take(&mut log.redactions),
    };
    let detail = content::compress(&serde_json::to_vec(&detail).unwrap_or_default());
    let resource = resource(&std::mem::take(&mut log.resource), sealer.committed);
    PreparedLog {
        log,
        detail,
        content: sealer.seal(blobs),
        resource,
    }
}

fn prepare_metric(mut point: MetricPoint, committed: &Committed) -> PreparedMetric {
    let detail = MetricDetail {
        unit: point.unit.clone(),
        scope_name: point.scope_name.clone(),
        attributes: std::mem::take(&mut point.attributes),
        value: point.value.clone(),
    };
    let detail = content::compress(&serde_json::to_vec(&detail).unwrap_or_default());
    let resource = resource(&point.resource, committed);
    PreparedMetric {
        point,
        detail,
        resource,
    }
}
