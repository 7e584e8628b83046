//! OTLP receivers. Both hand decoded batches to a [`crate::Sink`] and answer
//! only after it has made them durable.

pub mod grpc;
pub mod http;

/// Limits shared by both receivers.
#[derive(Debug, Clone, Copy)]
pub struct ReceiverLimits {
    /// Largest accepted request, after decompression (OTLP default in Glassbox: 64 MiB).
    pub max_message_bytes: usize,
}

impl Default for ReceiverLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024 * 1024,
        }
    }
}
