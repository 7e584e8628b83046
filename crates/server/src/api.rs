//! The JSON query API. Handlers parse, call the query layer off the async
//! executor, and map its typed errors to statuses in one place.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use glassbox_query::{self as query, QueryError};
use glassbox_store::Store;
use glassbox_store::sqlite::SqliteStore;
use serde::Serialize;

type Params = RawQuery;

pub fn router(store: Arc<SqliteStore>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/traces", get(traces))
        .route("/api/v1/traces/{trace_id}", get(trace))
        .route("/api/v1/sessions/{session_id}", get(session))
        .route("/api/v1/metrics", get(metrics))
        .route("/api/v1/logs", get(logs))
        .route("/api/v1/otel-metrics/{name}", get(otel_metric))
        .route(
            "/api/v1/admin/keys/rotate",
            axum::routing::post(rotate_data_key),
        )
        .route("/api/v1/admin/erase", axum::routing::post(erase))
        .route("/api/v1/scores", get(scores).post(record_score))
        .merge(crate::experiments::routes())
        .fallback(not_found)
        .with_state(store)
}

/// `{"error":{"code","message"}}` with a fitting status.
pub(crate) struct ApiError(pub StatusCode, pub &'static str, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
        }
        (
            self.0,
            Json(Body {
                error: Inner {
                    code: self.1,
                    message: &self.2,
                },
            }),
        )
            .into_response()
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match &e {
            QueryError::BadParam { .. } => {
                ApiError(StatusCode::BAD_REQUEST, "invalid_parameter", e.to_string())
            }
            QueryError::NotFound(_) => ApiError(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            QueryError::Store(_) => {
                tracing::error!(error = %e, "query failed");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            }
        }
    }
}

fn params(RawQuery(raw): Params) -> Result<HashMap<String, String>, ApiError> {
    Ok(query::decode_query_string(raw.as_deref())?)
}

/// Runs a blocking query on the blocking pool.
async fn run<T: Serialize + Send + 'static>(
    store: Arc<SqliteStore>,
    f: impl FnOnce(&dyn Store) -> Result<T, QueryError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map(Json)
        .map_err(ApiError::from)
}

async fn readyz(State(store): State<Arc<SqliteStore>>) -> Response {
    let ok = run(store, |s| {
        Ok(s.list_traces(&Default::default(), 1, None).is_ok())
    })
    .await;
    match ok {
        Ok(Json(true)) => (StatusCode::OK, "ready\n").into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "store not readable\n").into_response(),
    }
}

async fn traces(
    State(store): State<Arc<SqliteStore>>,
    p: Params,
) -> Result<impl IntoResponse, ApiError> {
    let q = query::TracesQuery::from_params(&params(p)?)?;
    run(store, move |s| query::list_traces(s, &q)).await
}

async fn trace(
    State(store): State<Arc<SqliteStore>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    run(store, move |s| query::get_trace(s, &id)).await
}

async fn session(
    State(store): State<Arc<SqliteStore>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    #[derive(Serialize)]
    struct Session {
        session_id: String,
        traces: Vec<query::TraceSummary>,
    }
    run(store, move |s| {
        Ok(Session {
            traces: query::session(s, &id)?,
            session_id: id,
        })
    })
    .await
}

async fn metrics(
    State(store): State<Arc<SqliteStore>>,
    p: Params,
) -> Result<impl IntoResponse, ApiError> {
    let q = query::MetricsQuery::from_params(&params(p)?)?;
    run(store, move |s| query::metrics(s, &q)).await
}

async fn logs(
    State(store): State<Arc<SqliteStore>>,
    p: Params,
) -> Result<impl IntoResponse, ApiError> {
    #[derive(Serialize)]
    struct Logs<T> {
        logs: T,
    }
    let q = query::LogsQuery::from_params(&params(p)?)?;
    run(store, move |s| {
        Ok(Logs {
            logs: query::logs(s, &q)?,
        })
    })
    .await
}

async fn otel_metric(
    State(store): State<Arc<SqliteStore>>,
    Path(name): Path<String>,
    p: Params,
) -> Result<impl IntoResponse, ApiError> {
    let q = query::OtelMetricQuery::from_params(&name, &params(p)?)?;
    run(store, move |s| query::otel_metric(s, &q)).await
}

/// Seals new content under a fresh data key, without stopping ingestion.
async fn rotate_data_key(State(store): State<Arc<SqliteStore>>) -> Result<Response, ApiError> {
    match store.rotate_data_key().await {
        Ok(()) => Ok((StatusCode::OK, Json(serde_json::json!({"rotated": true}))).into_response()),
        Err(glassbox_store::StoreError::Key(m)) => Err(ApiError(
            StatusCode::CONFLICT,
            "encryption_off",
            format!("{m}; set [encryption] master_key_file or GLASSBOX_MASTER_KEY and restart"),
        )),
        Err(e) => Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        )),
    }
}

async fn scores(
    State(store): State<Arc<SqliteStore>>,
    p: Params,
) -> Result<impl IntoResponse, ApiError> {
    #[derive(Serialize)]
    struct Scores<T> {
        scores: T,
    }
    let q = query::ScoresQuery::from_params(&params(p)?)?;
    run(store, move |s| {
        Ok(Scores {
            scores: query::list_scores(s, &q)?,
        })
    })
    .await
}

/// `POST /api/v1/scores`: 201 with the stored score; 404 for an unknown trace.
async fn record_score(
    State(store): State<Arc<SqliteStore>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body must be JSON: {e}"),
        )
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let id = match body.get("id").and_then(serde_json::Value::as_str) {
        Some(id) if !id.is_empty() && id.len() <= 100 => id.to_owned(),
        _ => {
            let mut b = [0u8; 16];
            getrandom::fill(&mut b).map_err(|e| {
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
            format!(
                "score-{}",
                b.iter().map(|x| format!("{x:02x}")).collect::<String>()
            )
        }
    };
    let validated = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || query::new_score(store.as_ref(), &body, id, now))
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??
    };
    let view = query::ScoreView::from(&validated);
    store
        .write(glassbox_store::WriteBatch {
            scores: vec![validated],
            ..Default::default()
        })
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            )
        })?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `{"user_id": "…"}` erases one user's traces, logs and content (GDPR
/// Art. 17); `{"before": "RFC 3339"}` everything older (retention). Audited.
async fn erase(
    State(store): State<Arc<SqliteStore>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    use glassbox_store::sqlite::erase::Selector;
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, "invalid_body", m);
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("the body must be JSON: {e}")))?;
    let selector = match (v.get("user_id"), v.get("before")) {
        (Some(serde_json::Value::String(u)), None) if !u.is_empty() => Selector::User(u.clone()),
        (None, Some(serde_json::Value::String(t))) => {
            Selector::Before(query::parse_time("before", t).map_err(|e| bad(e.to_string()))?)
        }
        _ => {
            return Err(bad(
                "give exactly one of {\"user_id\": \"…\"} (a user's data) or {\"before\": \"2026-01-01T00:00:00Z\"} (retention)".into(),
            ));
        }
    };
    match store.erase(selector).await {
        Ok(report) => Ok((StatusCode::OK, Json(report)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "erasure failed");
            Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
            ))
        }
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route for {}; see /api/v1/traces, /api/v1/metrics",
            uri.path()
        ),
    )
}
