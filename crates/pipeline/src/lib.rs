//! The pipeline between receivers and store: normalise, then price.
//!
//! Invariant: the pipeline is a pure function of what arrives (plus the price
//! table); it never reads the store. Joining several reports of one model call
//! happens in the store, which sees them all.

pub mod conventions;
pub mod normalise;
pub mod price;

use glassbox_model::{LogRecord, Span};

pub use price::{PriceError, PriceTable};

/// Normalise + price, configured once at start-up.
#[derive(Debug, Clone)]
pub struct Pipeline {
    prices: PriceTable,
}

impl Pipeline {
    pub fn new(prices: PriceTable) -> Self {
        Self { prices }
    }

    /// Fills the canonical fields of each span, in place.
    pub fn process_spans(&self, spans: &mut [Span]) {
        for span in spans {
            normalise::span(span);
            if let Some(call) = span.model_call.as_mut() {
                call.cost = Some(self.prices.cost(call, span.start_unix_nano));
            }
        }
    }

    /// Fills the canonical fields of each log record (model calls known only from logs).
    pub fn process_logs(&self, logs: &mut [LogRecord]) {
        for log in logs {
            normalise::log(log);
            if let Some(call) = log.model_call.as_mut() {
                call.cost = Some(self.prices.cost(call, log.time_unix_nano));
            }
        }
    }
}
