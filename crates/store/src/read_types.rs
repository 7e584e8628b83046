use glassbox_model::{Span, TraceId};

/// Filters shared by trace listing and aggregation. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from_ns: Option<u64>,
    pub to_ns: Option<u64>,
    pub service: Option<String>,
    pub model: Option<String>,
    /// "ok" or "error".
    pub status: Option<String>,
    pub user: Option<String>,
    pub session: Option<String>,
    pub release: Option<String>,
    pub prompt_version: Option<String>,
    /// Substring searched in trace and span names and message content.
    pub q: Option<String>,
}

/// Which scores to read.
#[derive(Debug, Clone, Default)]
pub struct ScoreFilter {
    pub trace_id: Option<[u8; 16]>,
    pub name: Option<String>,
    pub source: Option<String>,
    pub from_ns: Option<u64>,
    pub to_ns: Option<u64>,
    pub limit: usize,
}

/// Position after the last trace of a page: (start time, trace id), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceCursor {
    pub start_ns: u64,
    pub trace_id: [u8; 16],
}

/// A shared, immutable string: rows held in memory share their repeated values.
pub type Sym = std::sync::Arc<str>;

#[derive(Debug, Clone, Default)]
pub struct TraceRow {
    pub trace_id: [u8; 16],
    /// A dense number for this trace, unique within the store, set by
    /// `Store::for_each_trace` and `for_each_call` so aggregation can index
    /// arrays instead of hashing ids. `None` where a store cannot provide one.
    pub ordinal: Option<u32>,
    pub name: Option<Sym>,
    pub service: Option<Sym>,
    pub start_ns: u64,
    pub end_ns: u64,
    pub span_count: u64,
    pub error_count: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
    pub user_id: Option<Sym>,
    pub session_id: Option<Sym>,
    pub release: Option<Sym>,
    pub prompt_version: Option<Sym>,
    pub environment: Option<Sym>,
    /// Sensitive values redacted from this trace's spans before storage.
    pub pii_findings: u64,
    /// Its numeric scores (name, value; a boolean as 1 or 0), from
    /// `Store::for_each_trace`, so aggregates need not read the scores table.
    pub scores: Option<std::sync::Arc<[(Sym, f64)]>>,
}

/// One deduplicated model call.
#[derive(Debug, Clone, Default)]
pub struct CallRow {
    pub call_id: i64,
    pub trace_id: Option<[u8; 16]>,
    /// The trace's `TraceRow::ordinal`, when known.
    pub trace_ordinal: Option<u32>,
    pub start_ns: u64,
    pub end_ns: u64,
    pub service: Option<Sym>,
    pub provider: Option<Sym>,
    pub model: Option<Sym>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Pico-USD; `None` when unpriced.
    pub cost_pico: Option<i64>,
    pub failed: bool,
    pub user_id: Option<Sym>,
    pub session_id: Option<Sym>,
    pub release: Option<Sym>,
    pub prompt_version: Option<Sym>,
}

/// A span as stored: the full record plus which model call it reports.
#[derive(Debug, Clone)]
pub struct StoredSpan {
    pub span: Span,
    /// The model call this span reports, if any.
    pub call_id: Option<i64>,
    /// True when this span is the call's primary (counted) report.
    pub primary: bool,
}

#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub from_ns: Option<u64>,
    pub to_ns: Option<u64>,
    pub trace_id: Option<TraceId>,
    pub event_name: Option<String>,
    pub session: Option<String>,
    pub limit: usize,
}
