//! The query layer: plain Rust over any [`Store`], called by the HTTP API, the
//! UI, the CLI and tests alike. It owns the API's JSON shapes (a contract:
//! extend, don't break) and every derived number (summaries, percentiles).
//! It knows nothing of HTTP.

mod metrics;
mod params;
mod scores;
mod telemetry;
mod traces;

pub use metrics::{GroupBy, LatencyOf, MetricsGroup, MetricsQuery, MetricsResponse, metrics};
pub use params::{Params, QueryError, decode_query_string, format_time, parse_time};
pub use scores::{ScoreView, ScoresQuery, list_scores, new_score, trace_scores};
pub use telemetry::{LogView, LogsQuery, OtelMetricQuery, OtelMetricResponse, logs, otel_metric};
pub use traces::{
    Cursor, Order, SEARCH_BUDGET, SortBy, SpanView, TraceDetail, TraceSummary, TracesPage,
    TracesQuery, get_trace, list_traces, session,
};

pub use glassbox_store::{Dimension, Filter, Store};
