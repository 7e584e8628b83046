//! The datasets and experiments API: golden dataset versions and experiment runs, stored so
//! a team shares them and a gate can name a run by id. Bodies are checked with the same
//! parsers the CLI uses, and redacted like telemetry before they are stored.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use glassbox_eval::dataset::{Dataset, Format};
use glassbox_store::StoreError;
use glassbox_store::sqlite::SqliteStore;
use glassbox_store::sqlite::experiments::{Artifact, Listed};
use serde_json::{Value, json};

use crate::api::ApiError;

/// Datasets and runs are files a person made, not telemetry; allow large ones.
const MAX_BODY: usize = 64 << 20;

pub fn routes() -> Router<Arc<SqliteStore>> {
    Router::new()
        .route("/api/v1/datasets", get(list_datasets))
        .route("/api/v1/datasets/{name}", get(get_dataset).put(put_dataset))
        .route("/api/v1/experiments", get(list_runs).post(post_run))
        .route("/api/v1/experiments/{run_id}", get(get_run))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, code, message.into())
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) => ApiError(StatusCode::CONFLICT, "conflict", m),
        other => {
            tracing::error!(error = %other, "experiments store");
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            )
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}

/// Names appear in URLs and file names: keep them plain.
fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 100
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(bad(
            "invalid_name",
            format!("{what} {name:?} must be 1–100 letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(())
}

/// Masks every PII finding in every string of `v` (the default policy: type masks); returns
/// how many values were masked.
fn redact(v: &mut Value) -> usize {
    static DETECTOR: OnceLock<glassbox_redact::Detector> = OnceLock::new();
    let detector = DETECTOR.get_or_init(glassbox_redact::Detector::new);
    let policy = glassbox_redact::Policy::default();
    let mut n = 0;
    walk(v, &mut |s: &mut String| {
        let r = glassbox_redact::redact(detector, &policy, s);
        match r.text {
            Some(text) if text != *s => {
                n += 1;
                *s = text;
            }
            Some(_) => {}
            // A policy that drops the whole value.
            None => {
                n += 1;
                *s = "[REDACTED]".to_owned();
            }
        }
    });
    n
}

fn walk(v: &mut Value, f: &mut impl FnMut(&mut String)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
        Value::Object(o) => o.values_mut().for_each(|x| walk(x, f)),
        _ => {}
    }
}

fn time(ns: u64) -> String {
    glassbox_query::format_time(ns)
}

async fn put_dataset(
    State(store): State<Arc<SqliteStore>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    check_name("dataset name", &name)?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = if ctype.starts_with("text/csv") {
        Format::Csv
    } else if ctype.is_empty()
        || [
            "application/x-ndjson",
            "application/jsonl",
            "application/json",
            "text/plain",
        ]
        .iter()
        .any(|t| ctype.starts_with(t))
    {
        Format::Jsonl
    } else {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{ctype:?}: send JSONL (application/x-ndjson) or CSV (text/csv)"),
        ));
    };
    let text = std::str::from_utf8(&body)
        .map_err(|e| bad("invalid_body", format!("the dataset is not UTF-8: {e}")))?;
    let mut d = Dataset::parse(&name, text, format, "the request body")
        .map_err(|e| bad("invalid_dataset", e.to_string()))?;
    let mut redactions = 0;
    for it in &mut d.items {
        let mut v = serde_json::to_value(&*it).unwrap_or(Value::Null);
        let n = redact(&mut v);
        if n > 0 {
            redactions += n;
            if let Ok(clean) = serde_json::from_value(v) {
                *it = clean;
            }
        }
    }
    let version = d.version();
    let items = d.items.len();
    let stored = store
        .store_artifact(Artifact::Dataset {
            name: name.clone(),
            version: version.clone(),
            items,
            body: d.to_jsonl().into_bytes(),
        })
        .await
        .map_err(store_error)?;
    let status = if stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"name": name, "version": version, "items": items,
                    "created": stored, "redactions": redactions})),
    )
        .into_response())
}

fn listed_dataset(l: &Listed) -> Value {
    json!({"name": l.key, "version": l.label, "items": l.items, "created_at": time(l.created_ns)})
}

async fn list_datasets(State(store): State<Arc<SqliteStore>>) -> Result<Response, ApiError> {
    let all = blocking(move || store.list_datasets().map_err(store_error)).await?;
    let list: Vec<Value> = all.iter().map(listed_dataset).collect();
    Ok(Json(json!({"datasets": list})).into_response())
}

async fn get_dataset(
    State(store): State<Arc<SqliteStore>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(k) = q.keys().find(|k| *k != "version" && *k != "format") {
        return Err(bad(
            "invalid_parameter",
            format!("unknown parameter {k:?} (use version, format)"),
        ));
    }
    let csv = match q.get("format").map(String::as_str) {
        None | Some("jsonl") => false,
        Some("csv") => true,
        Some(f) => {
            return Err(bad(
                "invalid_parameter",
                format!("format {f:?}: use jsonl or csv"),
            ));
        }
    };
    let version = q.get("version").cloned();
    let n = name.clone();
    let found =
        blocking(move || store.dataset(&n, version.as_deref()).map_err(store_error)).await?;
    let Some((version, body)) = found else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no dataset {name:?} with that version; GET /api/v1/datasets lists them"),
        ));
    };
    let text = String::from_utf8(body)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let (ctype, out) = if csv {
        let d = Dataset::parse(&name, &text, Format::Jsonl, "stored dataset")
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
        let csv = d
            .to_csv()
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
        ("text/csv; charset=utf-8", csv)
    } else {
        ("application/x-ndjson", text)
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::HeaderName::from_static("glassbox-dataset-version"),
                version,
            ),
        ],
        out,
    )
        .into_response())
}

async fn post_run(
    State(store): State<Arc<SqliteStore>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let mut v: Value = serde_json::from_slice(&body)
        .map_err(|e| bad("invalid_body", format!("the run must be JSON: {e}")))?;
    // The same shape `glassbox eval run` writes; checked before anything is stored.
    let run: glassbox_eval::experiment::Run = serde_json::from_value(v.clone()).map_err(|e| {
        bad(
            "invalid_run",
            format!("not a run file: {e} (docs/evaluation.md)"),
        )
    })?;
    check_name("run_id", &run.run_id)?;
    if run.items.is_empty() {
        return Err(bad("invalid_run", "the run has no items"));
    }
    let redactions = redact(&mut v);
    let body = serde_json::to_vec(&v)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    store
        .store_artifact(Artifact::Run {
            run_id: run.run_id.clone(),
            name: run.name.clone(),
            dataset: Some(run.dataset.name.clone()),
            dataset_version: Some(run.dataset.version.clone()),
            items: run.items.len(),
            body,
        })
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"run_id": run.run_id, "items": run.items.len(), "redactions": redactions})),
    )
        .into_response())
}

async fn list_runs(
    State(store): State<Arc<SqliteStore>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(k) = q.keys().find(|k| *k != "dataset") {
        return Err(bad(
            "invalid_parameter",
            format!("unknown parameter {k:?} (use dataset)"),
        ));
    }
    let dataset = q.get("dataset").cloned();
    let all = blocking(move || store.list_runs(dataset.as_deref()).map_err(store_error)).await?;
    let list: Vec<Value> = all
        .iter()
        .map(|l| {
            json!({"run_id": l.key, "name": l.label, "dataset": l.dataset,
                   "dataset_version": l.dataset_version, "items": l.items,
                   "created_at": time(l.created_ns)})
        })
        .collect();
    Ok(Json(json!({"runs": list})).into_response())
}

async fn get_run(
    State(store): State<Arc<SqliteStore>>,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = run_id.clone();
    let body = blocking(move || store.run(&id).map_err(store_error)).await?;
    match body {
        Some(b) => Ok(([(header::CONTENT_TYPE, "application/json")], b).into_response()),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no run {run_id:?}; GET /api/v1/experiments lists them"),
        )),
    }
}
