//! Receivers → pipeline → store, with bounded memory: a batch is admitted only
//! if its bytes fit in the ingest buffer and the store's queue has room;
//! otherwise the exporter is told to retry (never a silent drop).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use glassbox_ingest::{Batch, Sink, SinkError};
use glassbox_pipeline::Pipeline;
use glassbox_store::WriteBatch;
use tokio::sync::Semaphore;

use crate::projects::{DEFAULT, Projects};

pub struct StoreSink {
    /// Each batch goes to its project's store.
    projects: Arc<Projects>,
    pipeline: Arc<Pipeline>,
    /// One permit per KiB of request body waiting for the store.
    buffer: Arc<Semaphore>,
    buffer_kib: u32,
}

impl StoreSink {
    pub fn new(projects: Arc<Projects>, pipeline: Arc<Pipeline>, buffer_bytes: usize) -> Self {
        let buffer_kib = u32::try_from(buffer_bytes / 1024)
            .unwrap_or(u32::MAX)
            .max(1);
        Self {
            projects,
            pipeline,
            buffer: Arc::new(Semaphore::new(buffer_kib as usize)),
            buffer_kib,
        }
    }
}

impl Sink for StoreSink {
    fn accept(
        &self,
        batch: Batch,
    ) -> Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + '_>> {
        Box::pin(async move {
            // Decoded spans take a few times their wire size; count that.
            let kib = u32::try_from(batch.body_bytes.saturating_mul(3) / 1024)
                .unwrap_or(u32::MAX)
                .clamp(1, self.buffer_kib);
            let _permit = self
                .buffer
                .clone()
                .try_acquire_many_owned(kib)
                .map_err(|_| {
                    SinkError::Overloaded("ingest buffer full".to_owned(), Duration::from_secs(1))
                })?;
            let Batch {
                mut spans,
                mut logs,
                metrics,
                project,
                ..
            } = batch;
            let store = self
                .projects
                .get(project.as_deref().unwrap_or(DEFAULT))
                .await
                .map_err(|e| SinkError::Unavailable(format!("project store: {e}")))?
                .store
                .clone();
            let pipeline = self.pipeline.clone();
            let preparer = store.clone();
            // Normalising, pricing and encoding run here, in parallel across
            // requests; the store's single writer only runs SQL.
            let prepared = tokio::task::spawn_blocking(move || {
                pipeline.process_spans(&mut spans);
                pipeline.process_logs(&mut logs);
                // Evaluation results in the telemetry become scores.
                let scores = glassbox_pipeline::scores::from_telemetry(&spans, &logs);
                preparer.prepare(WriteBatch {
                    spans,
                    logs,
                    metrics,
                    scores,
                })
            })
            .await
            .map_err(|e| SinkError::Unavailable(format!("pipeline task failed: {e}")))?
            .map_err(|e| SinkError::Unavailable(format!("could not encode the batch: {e}")))?;
            let written = store
                .try_write(prepared)
                .map_err(|e| SinkError::Overloaded(e.to_string(), Duration::from_secs(1)))?;
            written
                .await
                .map_err(|e| SinkError::Unavailable(e.to_string()))
        })
    }
}
