//! OTLP receivers: the first stage of the flow.
//!
//! `decode` turns OTLP request bodies (protobuf or JSON, any signal) into
//! Glassbox's model, rejecting invalid items one by one so that their valid
//! siblings are kept. `receivers` serves OTLP over HTTP and gRPC and hands every
//! decoded batch to a [`Sink`], which acknowledges only once the batch is
//! durable. This crate knows nothing of the pipeline or the store.

pub mod decode;
pub mod receivers;
mod sink;

pub use decode::{Batch, DecodeError, Encoding, Signal};
pub use sink::{Sink, SinkError};

/// A request extension naming the project a request's data belongs to. The
/// server's authentication inserts it; receivers copy it into
/// [`Batch::project`]. This crate never checks credentials itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project(pub String);
