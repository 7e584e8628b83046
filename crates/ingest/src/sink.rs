use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::Batch;

/// Why a sink refused a batch. Receivers map each case to the OTLP status the
/// spec prescribes, so exporters retry rather than lose data.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The ingest queue is full; try again after the given delay.
    #[error("ingest queue is full ({0}); retry later")]
    Overloaded(String, Duration),
    /// The server is shutting down or the store failed; nothing was committed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Where receivers send decoded batches. `accept` resolves only after the
/// batch is durable (or definitively refused).
pub trait Sink: Send + Sync + 'static {
    fn accept(
        &self,
        batch: Batch,
    ) -> Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + '_>>;
}
