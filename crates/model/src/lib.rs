//! The canonical model every other Glassbox crate speaks.
//!
//! Receivers decode OTLP into these types, the pipeline fills in the derived
//! (canonical) fields, the store persists them and the query layer reads them
//! back. Nothing here knows about HTTP, SQL or a particular instrumentation
//! library.

mod ids;
mod money;
mod score;
mod span;
mod telemetry;

pub use ids::{IdError, SpanId, TraceId};
pub use money::{Cost, Money};
pub use score::{Score, ScoreSource, ScoreValue};
pub use span::{
    Attributes, Grouping, Message, ModelCall, Part, Redactions, Reporter, Span, SpanEvent,
    SpanKind, Status, StatusCode, Tokens, ToolCall,
};
pub use telemetry::{LogRecord, MetricPoint, MetricPointValue, Temporality};
