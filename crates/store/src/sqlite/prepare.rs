//! Encoding for the write path, done by the callers' threads so the single
//! writer thread only runs SQL: JSON, content splitting, hashing and zstd.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use glassbox_model::{Attributes, LogRecord, MetricPoint, Span};

use super::content::{self, Entry, Hash, ListRef, Lists};
use super::vault::Vault;
use super::write::{LogDetail, MetricDetail, SpanDetail};
use crate::{StoreError, WriteBatch};

/// What preparers may take as already stored. Only the writer adds to it,
/// and only after a commit; both parts are bounded.
#[derive(Default)]
pub struct Committed {
    /// Resource hashes: a known resource is passed by hash only.
    resources: Mutex<HashSet<Hash>>,
    /// Content elements by hash, so the history agents resend every turn is
    /// referred to, not stored again.
    content: Mutex<ContentIndex>,
    /// Erasures so far. An erasure empties entries that a batch prepared
    /// before it may refer to; the writer refuses such a batch (see
    /// [`PreparedBatch::epoch`]) and the exporter sends it again.
    epoch: AtomicU64,
}

/// Two generations of hash → address: when the newer fills up it becomes the
/// older and the oldest is dropped, so what live conversations resend stays
/// found while memory stays bounded (~40 MB at the limit).
#[derive(Default)]
struct ContentIndex {
    newer: HashMap<Hash, Entry>,
    older: HashMap<Hash, Entry>,
}

impl Committed {
    const MAX_RESOURCES: usize = 100_000;
    const CONTENT_GENERATION: usize = 500_000;

    pub fn contains(&self, h: &Hash) -> bool {
        self.resources
            .lock()
            .map(|s| s.contains(h))
            .unwrap_or(false)
    }

    /// Where the element with this hash is stored, if known.
    pub fn content(&self, h: &Hash) -> Option<Entry> {
        let index = self.content.lock().ok()?;
        index.newer.get(h).or_else(|| index.older.get(h)).copied()
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// After an erasure: entries may have been emptied, resources deleted.
    pub fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut s) = self.resources.lock() {
            s.clear();
        }
        if let Ok(mut c) = self.content.lock() {
            *c = ContentIndex::default();
        }
    }

    pub fn extend(&self, resources: Vec<Hash>, content: Vec<(Hash, Entry)>) {
        if let Ok(mut s) = self.resources.lock() {
            if s.len() > Self::MAX_RESOURCES {
                s.clear();
            }
            s.extend(resources);
        }
        if let Ok(mut c) = self.content.lock() {
            for (h, at) in content {
                if c.newer.len() >= Self::CONTENT_GENERATION {
                    c.older = std::mem::take(&mut c.newer);
                }
                c.newer.insert(h, at);
            }
        }
    }
}

/// Length-prefixed entries (u32 LE length, then bytes) compressed as one zstd
/// frame: how a batch's span details and the content they add are stored.
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

/// Gathers a batch's span details and new content into one chunk. Content
/// already committed, or already added earlier in this batch (a session's
/// turns often share a request), is referred to by address instead.
struct Sealer<'a> {
    committed: &'a Committed,
    in_batch: HashMap<Hash, u32>,
    chunk: ChunkBuilder,
    /// Content added to `chunk`: (hash, entry), published after commit.
    new_content: Vec<(Hash, u32)>,
    /// Whether any list refers to content committed before this batch.
    refers_to_committed: bool,
}

impl Lists for Sealer<'_> {
    fn put_list(&mut self, items: Vec<Vec<u8>>) -> Option<ListRef> {
        if items.is_empty() {
            return None;
        }
        let entries = items
            .into_iter()
            .map(|item| {
                let h = content::hash(&item);
                if let Some(&index) = self.in_batch.get(&h) {
                    return Entry(0, index);
                }
                if let Some(at) = self.committed.content(&h) {
                    self.refers_to_committed = true;
                    return at;
                }
                let index = self.chunk.push(&item);
                self.in_batch.insert(h, index);
                self.new_content.push((h, index));
                Entry(0, index)
            })
            .collect();
        Some(ListRef::Entries(entries))
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
    /// The span's detail: this entry of the batch's chunk.
    pub chunk_index: u32,
    pub resource: Resource,
}

pub struct PreparedLog {
    pub log: LogRecord,
    pub detail: Vec<u8>,
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
    /// The spans' details and the content they added (see [`ChunkBuilder`]).
    pub span_chunk: Option<Vec<u8>>,
    /// The content `span_chunk` adds: (hash, entry).
    pub new_content: Vec<(Hash, u32)>,
    /// [`Committed::epoch`] when preparing began, if the batch refers to
    /// committed content: it is only valid while no erasure intervenes.
    pub epoch: Option<u64>,
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
    let epoch = committed.epoch();
    let mut sealer = Sealer {
        committed,
        in_batch: HashMap::new(),
        chunk: ChunkBuilder::default(),
        new_content: Vec::new(),
        refers_to_committed: false,
    };
    let spans: Vec<PreparedSpan> = batch
        .spans
        .into_iter()
        .map(|s| prepare_span(s, &mut sealer))
        .collect();
    let mut logs: Vec<PreparedLog> = batch
        .logs
        .into_iter()
        .map(|l| prepare_log(l, committed))
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
        span_chunk: sealer
            .chunk
            .finish()
            .map(|c| vault.seal("span_chunks", c))
            .transpose()?,
        new_content: sealer.new_content,
        epoch: sealer.refers_to_committed.then_some(epoch),
        spans,
        logs,
        metrics,
        scores: batch.scores,
    })
}

fn prepare_span(mut span: Span, sealer: &mut Sealer<'_>) -> PreparedSpan {
    // Messages move into content lists; the writer needs the call's numbers only.
    let (input_list, output_list) = match span.model_call.as_mut() {
        Some(c) => (
            content::put_messages(&std::mem::take(&mut c.input_messages), sealer),
            content::put_messages(&std::mem::take(&mut c.output_messages), sealer),
        ),
        None => (None, None),
    };
    let model_call = span.model_call.clone();
    let detail = SpanDetail {
        attributes: content::split_attributes(&std::mem::take(&mut span.attributes), sealer),
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
    let chunk_index = sealer
        .chunk
        .push(&serde_json::to_vec(&detail).unwrap_or_default());
    let resource = resource(&std::mem::take(&mut span.resource), sealer.committed);
    PreparedSpan {
        span,
        chunk_index,
        resource,
    }
}

/// A log's detail is its own document: logs carry little repeated content.
fn prepare_log(mut log: LogRecord, committed: &Committed) -> PreparedLog {
    let detail = LogDetail {
        observed_time_unix_nano: log.observed_time_unix_nano,
        severity_text: log.severity_text.clone(),
        body: std::mem::take(&mut log.body),
        scope_name: log.scope_name.clone(),
        attributes: log.attributes.clone(),
        grouping: log.grouping.clone(),
        model_call: log.model_call.clone(),
        redactions: std::mem::take(&mut log.redactions),
    };
    let detail = content::compress(&serde_json::to_vec(&detail).unwrap_or_default());
    let resource = resource(&std::mem::take(&mut log.resource), committed);
    PreparedLog {
        log,
        detail,
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
