//! The pipeline between receivers and store: normalise, then price.
//!
//! Invariant: the pipeline is a pure function of what arrives (plus the price
//! table); it never reads the store. Joining several reports of one model call
//! happens in the store, which sees them all.

pub mod conventions;
pub mod normalise;
pub mod price;
pub mod redact;
pub mod scores;

use std::sync::Arc;

use glassbox_model::{LogRecord, Span};

pub use price::{PriceError, PriceTable};
pub use redact::Redactor;

/// Normalise, redact, price; configured once at start-up.
#[derive(Debug, Clone)]
pub struct Pipeline {
    prices: PriceTable,
    redactor: Option<Arc<Redactor>>,
}

impl Pipeline {
    /// A pipeline that stores content as received (no redaction).
    pub fn new(prices: PriceTable) -> Self {
        Self {
            prices,
            redactor: None,
        }
    }

    /// Redacts PII and secrets under `policy` before anything is stored.
    pub fn with_redaction(mut self, policy: glassbox_redact::Policy) -> Self {
        self.redactor = Some(Arc::new(Redactor::new(policy)));
        self
    }

    /// Fills the canonical fields of each span, in place.
    pub fn process_spans(&self, spans: &mut [Span]) {
        for span in spans {
            normalise::span(span);
            // After normalising, which copies content (messages, tool I/O) out of attributes.
            if let Some(r) = &self.redactor {
                r.span(span);
            }
            if let Some(call) = span.model_call.as_mut() {
                call.cost = Some(self.prices.cost(call, span.start_unix_nano));
            }
        }
    }

    /// Fills the canonical fields of each log record (model calls known only from logs).
    pub fn process_logs(&self, logs: &mut [LogRecord]) {
        for log in logs {
            normalise::log(log);
            if let Some(r) = &self.redactor {
                r.log(log);
            }
            if let Some(call) = log.model_call.as_mut() {
                call.cost = Some(self.prices.cost(call, log.time_unix_nano));
            }
        }
    }
}
