//! OTLP/gRPC: TraceService, MetricsService and LogsService with gzip, per
//! <https://opentelemetry.io/docs/specs/otlp/#otlpgrpc>.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::ReceiverLimits;
use crate::decode::{self, Batch};
use crate::{Project, Sink, SinkError};

#[derive(Clone)]
struct Receiver {
    sink: Arc<dyn Sink>,
}

impl Receiver {
    /// Hands the batch to the sink; returns (rejected, message) for partial_success.
    async fn accept(&self, batch: Batch) -> Result<(i64, String), Status> {
        let rejected = i64::try_from(batch.rejected).unwrap_or(i64::MAX);
        let message = batch.rejection_message();
        if !batch.is_empty() {
            self.sink.accept(batch).await.map_err(|e| match e {
                // UNAVAILABLE is always retryable for OTLP exporters.
                SinkError::Overloaded(..) | SinkError::Unavailable(_) => {
                    Status::unavailable(e.to_string())
                }
            })?;
        }
        Ok((rejected, message))
    }
}

/// The project the server's authentication attached to the request, if any.
fn project_of<T>(request: &Request<T>) -> Option<String> {
    request
        .extensions()
        .get::<Project>()
        .map(|Project(p)| p.clone())
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let project = project_of(&request);
        let mut batch = decode::traces(request.into_inner());
        batch.project = project;
        let (rejected, message) = self.accept(batch).await?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: (rejected > 0).then_some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message,
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let project = project_of(&request);
        let mut batch = decode::metrics(request.into_inner());
        batch.project = project;
        let (rejected, message) = self.accept(batch).await?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message: message,
            }),
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let project = project_of(&request);
        let mut batch = decode::logs(request.into_inner());
        batch.project = project;
        let (rejected, message) = self.accept(batch).await?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportLogsPartialSuccess {
                rejected_log_records: rejected,
                error_message: message,
            }),
        }))
    }
}

/// The three OTLP gRPC services, ready to add to a `tonic` server.
pub fn routes(sink: Arc<dyn Sink>, limits: ReceiverLimits) -> tonic::service::Routes {
    let r = Receiver { sink };
    let max = limits.max_message_bytes;
    tonic::service::Routes::new(
        TraceServiceServer::new(r.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max),
    )
    .add_service(
        MetricsServiceServer::new(r.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max),
    )
    .add_service(
        LogsServiceServer::new(r)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max),
    )
}
