//! Storage: the [`Store`] trait every backend implements, and the embedded
//! SQLite backend that is Glassbox's zero-config default.
//!
//! Invariants of every backend:
//! - `write` resolves only once the batch is durable (it survives `kill -9`);
//! - a span is stored once per (trace id, span id), however often it is re-sent;
//! - every report of one model call (two libraries' spans, a span and a log
//!   event) joins one model-call record, so calls and tokens count once;
//! - the original attributes come back exactly as received.

mod read_types;
pub mod sqlite;

pub use read_types::*;

use glassbox_model::{LogRecord, MetricPoint, Span};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("could not open the data directory {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
    #[error(
        "the database schema is version {found}, newer than this binary's {supported}; upgrade Glassbox"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("encryption key problem: {0}")]
    Key(String),
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Invalid(String),
    /// The write would replace something immutable (e.g. a stored run's id).
    #[error("{0}")]
    Conflict(String),
    /// Nothing was written; sending the same data again will succeed.
    #[error("{0}; nothing was written, send it again")]
    Retry(String),
}

/// Everything one export request contributes, written atomically.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub spans: Vec<Span>,
    pub logs: Vec<LogRecord>,
    pub metrics: Vec<MetricPoint>,
    pub scores: Vec<glassbox_model::Score>,
}

impl WriteBatch {
    pub fn len(&self) -> usize {
        self.spans.len() + self.logs.len() + self.metrics.len() + self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The read side, used by the query layer. Implementations may block; callers
/// run them off the async executor.
pub trait Store: Send + Sync + 'static {
    /// Traces matching `filter`, newest first, after `cursor`.
    fn list_traces(
        &self,
        filter: &Filter,
        limit: usize,
        cursor: Option<&TraceCursor>,
    ) -> Result<Vec<TraceRow>, StoreError>;
    /// Summary rows for the given traces.
    fn get_trace(&self, trace_id: &[u8]) -> Result<Option<TraceRow>, StoreError>;
    /// All spans of one trace, with their canonical fields and original attributes.
    fn trace_spans(&self, trace_id: &[u8]) -> Result<Vec<StoredSpan>, StoreError>;
    /// Model calls (deduplicated) whose primary report is in the given traces.
    fn calls_for_traces(&self, trace_ids: &[[u8; 16]]) -> Result<Vec<CallRow>, StoreError>;
    /// Visits every model call matching `filter` (for aggregation).
    fn for_each_call(
        &self,
        filter: &Filter,
        visit: &mut dyn FnMut(&CallRow),
    ) -> Result<(), StoreError>;
    /// Visits every trace matching `filter` (for aggregation), without paging.
    fn for_each_trace(
        &self,
        filter: &Filter,
        visit: &mut dyn FnMut(&TraceRow),
    ) -> Result<(), StoreError>;
    /// Log records matching `filter`.
    fn list_logs(&self, filter: &LogFilter) -> Result<Vec<LogRecord>, StoreError>;
    /// Metric points of one metric name in a time window.
    fn metric_points(
        &self,
        name: &str,
        from_ns: Option<u64>,
        to_ns: Option<u64>,
    ) -> Result<Vec<MetricPoint>, StoreError>;
    /// Scores matching `filter`, oldest first.
    fn scores(&self, filter: &ScoreFilter) -> Result<Vec<glassbox_model::Score>, StoreError>;
    /// Every value seen for a dimension, sorted (for filter menus).
    fn known_values(&self, dimension: Dimension) -> Result<Vec<String>, StoreError>;
}

/// A dimension whose values a UI offers as choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Model,
    Service,
}
