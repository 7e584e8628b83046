//! OTLP/HTTP: `POST /v1/{traces,metrics,logs}` in protobuf or JSON, optionally
//! gzip-compressed, per <https://opentelemetry.io/docs/specs/otlp/#otlphttp>.
//! The trace endpoint is also served at `/api/public/otel/v1/traces`, where the
//! Langfuse SDK sends.

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;

use super::ReceiverLimits;
use crate::decode::{self, Encoding, Signal};
use crate::{Project, Sink, SinkError};

#[derive(Clone)]
struct Receiver {
    sink: Arc<dyn Sink>,
    limits: ReceiverLimits,
}

/// The OTLP/HTTP routes, ready to merge into the server's router.
pub fn router(sink: Arc<dyn Sink>, limits: ReceiverLimits) -> Router {
    let state = Receiver { sink, limits };
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/api/public/otel/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        // We enforce the limit ourselves (after gzip too) to answer in OTLP's error format.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

async fn traces(
    State(r): State<Receiver>,
    project: Option<Extension<Project>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    export(r, Signal::Traces, project, headers, body).await
}

async fn metrics(
    State(r): State<Receiver>,
    project: Option<Extension<Project>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    export(r, Signal::Metrics, project, headers, body).await
}

async fn logs(
    State(r): State<Receiver>,
    project: Option<Extension<Project>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    export(r, Signal::Logs, project, headers, body).await
}

/// An OTLP/HTTP failure: the status code plus a `google.rpc.Status` body in the request's encoding.
struct ExportError {
    status: StatusCode,
    encoding: Encoding,
    message: String,
    retry_after_secs: Option<u64>,
}

/// `google.rpc.Status`, the body OTLP/HTTP prescribes for errors.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

impl IntoResponse for ExportError {
    fn into_response(self) -> Response {
        // gRPC code numbers, as the spec's Status message carries them.
        let grpc_code = match self.status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
            StatusCode::PAYLOAD_TOO_LARGE => 8,
            StatusCode::TOO_MANY_REQUESTS => 8,
            _ => 14,
        };
        let (content_type, body) = match self.encoding {
            Encoding::Protobuf => (
                "application/x-protobuf",
                RpcStatus {
                    code: grpc_code,
                    message: self.message.clone(),
                }
                .encode_to_vec(),
            ),
            Encoding::Json => (
                "application/json",
                serde_json::to_vec(
                    &serde_json::json!({"code": grpc_code, "message": self.message}),
                )
                .unwrap_or_default(),
            ),
        };
        let mut resp = (self.status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

fn content_encoding(headers: &HeaderMap) -> Result<Encoding, String> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        "" => {
            Err("missing Content-Type: send application/x-protobuf or application/json".to_owned())
        }
        other => Err(format!(
            "unsupported Content-Type {other:?}: send application/x-protobuf or application/json"
        )),
    }
}

async fn export(
    r: Receiver,
    signal: Signal,
    project: Option<Extension<Project>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let project = project.map(|Extension(Project(p))| p);
    match export_inner(&r, signal, project, &headers, body).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::debug!(status = %e.status, message = %e.message, "OTLP/HTTP export refused");
            e.into_response()
        }
    }
}

async fn export_inner(
    r: &Receiver,
    signal: Signal,
    project: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ExportError> {
    let encoding = content_encoding(headers).map_err(|message| ExportError {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        encoding: Encoding::Json,
        message,
        retry_after_secs: None,
    })?;
    let err = |status, message: String| ExportError {
        status,
        encoding,
        message,
        retry_after_secs: None,
    };
    let max = r.limits.max_message_bytes;
    let raw = axum::body::to_bytes(body, max).await.map_err(|e| {
        err(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds the {max}-byte limit (or could not be read: {e}); send smaller batches"),
        )
    })?;
    let body = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => raw,
        Some("gzip") => gunzip(&raw, max).map_err(|e| match e {
            GunzipError::TooLarge => err(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("gzip body inflates past the {max}-byte limit; send smaller batches"),
            ),
            GunzipError::Corrupt(e) => {
                err(StatusCode::BAD_REQUEST, format!("invalid gzip body: {e}"))
            }
        })?,
        Some(other) => {
            return Err(err(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Encoding {other:?}: send gzip or identity"),
            ));
        }
    };
    let mut batch = decode::decode(signal, encoding, &body)
        .map_err(|e| err(StatusCode::BAD_REQUEST, e.to_string()))?;
    batch.project = project;
    let rejected = batch.rejected;
    let message = batch.rejection_message();
    if !batch.is_empty() {
        r.sink.accept(batch).await.map_err(|e| match e {
            SinkError::Overloaded(_, retry) => ExportError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                encoding,
                message: e.to_string(),
                retry_after_secs: Some(retry.as_secs().max(1)),
            },
            SinkError::Unavailable(_) => ExportError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                encoding,
                message: e.to_string(),
                retry_after_secs: Some(1),
            },
        })?;
    }
    Ok(success(signal, encoding, rejected, message))
}

fn success(signal: Signal, encoding: Encoding, rejected: u64, message: String) -> Response {
    let rejected_i64 = i64::try_from(rejected).unwrap_or(i64::MAX);
    let partial = rejected > 0;
    macro_rules! respond {
        ($resp:expr) => {{
            let resp = $resp;
            match encoding {
                Encoding::Protobuf => (
                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                    Bytes::from(resp.encode_to_vec()),
                )
                    .into_response(),
                Encoding::Json => (
                    [(header::CONTENT_TYPE, "application/json")],
                    serde_json::to_vec(&resp).unwrap_or_default(),
                )
                    .into_response(),
            }
        }};
    }
    match signal {
        Signal::Traces => respond!(ExportTraceServiceResponse {
            partial_success: partial.then_some(ExportTracePartialSuccess {
                rejected_spans: rejected_i64,
                error_message: message,
            }),
        }),
        Signal::Metrics => respond!(ExportMetricsServiceResponse {
            partial_success: partial.then_some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected_i64,
                error_message: message,
            }),
        }),
        Signal::Logs => respond!(ExportLogsServiceResponse {
            partial_success: partial.then_some(ExportLogsPartialSuccess {
                rejected_log_records: rejected_i64,
                error_message: message,
            }),
        }),
    }
}

enum GunzipError {
    TooLarge,
    Corrupt(std::io::Error),
}

/// Inflates at most `max` bytes, so a gzip bomb costs us `max` and no more.
fn gunzip(raw: &[u8], max: usize) -> Result<Bytes, GunzipError> {
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(max));
    let mut decoder = flate2::read::MultiGzDecoder::new(raw).take(max as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(GunzipError::Corrupt)?;
    if out.len() > max {
        return Err(GunzipError::TooLarge);
    }
    Ok(Bytes::from(out))
}
