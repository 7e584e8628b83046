//! Error responses in each API's documented envelope.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failure to answer, in terms both dialects can render.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub(crate) struct ApiError {
    pub status: StatusCode,
    /// Anthropic's `error.type`, e.g. `invalid_request_error`.
    pub kind: &'static str,
    pub message: String,
    /// OpenAI's `param`, when one field is at fault.
    pub param: Option<String>,
}

impl ApiError {
    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// A request field at fault: Anthropic names it at the start of the message.
    pub(crate) fn field(path: &str, message: &str) -> ApiError {
        let mut error = ApiError::invalid(format!("{path}: {message}"));
        error.param = Some(path.to_string());
        error
    }

    pub(crate) fn new(
        status: StatusCode,
        kind: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            param: None,
        }
    }

    pub(crate) fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            format!("Request exceeds the maximum allowed number of bytes ({limit})."),
        )
    }

    /// The error an injected failure of `status` stands for.
    pub(crate) fn injected(status: u16) -> ApiError {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (kind, message) = match status.as_u16() {
            400 => ("invalid_request_error", "Injected invalid request."),
            401 => ("authentication_error", "invalid x-api-key"),
            402 => ("billing_error", "Injected billing error."),
            403 => (
                "permission_error",
                "Your API key does not have permission to use the specified resource.",
            ),
            404 => (
                "not_found_error",
                "The requested resource could not be found.",
            ),
            413 => (
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes.",
            ),
            429 => (
                "rate_limit_error",
                "This request would exceed the rate limit for your organization. Please try again later.",
            ),
            529 => ("overloaded_error", "Overloaded"),
            500..=599 => ("api_error", "Internal server error"),
            _ => ("invalid_request_error", "Injected client error."),
        };
        ApiError::new(status, kind, message)
    }

    /// Renders Anthropic's envelope with the request id the header carries too.
    pub(crate) fn anthropic(&self, request_id: &str) -> Response {
        let body = json!({
            "type": "error",
            "error": {"type": self.kind, "message": self.message},
            "request_id": request_id,
        });
        self.with_headers((self.status, axum::Json(body)).into_response(), request_id)
    }

    /// Renders OpenAI's envelope `{"error":{"message","type","param","code"}}`.
    pub(crate) fn openai(&self, request_id: &str) -> Response {
        let (kind, code) = match self.status.as_u16() {
            401 => ("invalid_request_error", Some("invalid_api_key")),
            429 => ("requests", Some("rate_limit_exceeded")),
            400..=499 => ("invalid_request_error", None),
            _ => ("server_error", None),
        };
        let body = json!({
            "error": {"message": self.message, "type": kind, "param": self.param, "code": code},
        });
        self.with_headers((self.status, axum::Json(body)).into_response(), request_id)
    }

    fn with_headers(&self, mut response: Response, request_id: &str) -> Response {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert("request-id", value.clone());
            headers.insert("x-request-id", value);
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert("retry-after", HeaderValue::from_static("1"));
        }
        response
    }
}
