//! The web UI: the trace explorer, sessions and dashboards, rendered on the
//! server from the query layer, with a little progressive JavaScript.
//!
//! Why server-rendered: `cargo build` alone yields a working UI (no Node.js
//! toolchain, no generated assets to keep in sync), every view is a plain
//! URL (deep links and the back button work without client routing), and
//! every number on screen comes from the same `glassbox-query` call the API
//! serves, so the UI cannot disagree with `/api/v1`. The JavaScript only
//! enhances: theme toggle, tree folding, keyboard navigation, and swapping
//! the span panel without a full reload.

mod chart;
mod dashboards;
mod fmt;
mod layout;
mod session;
mod trace;
mod traces;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use glassbox_query::{Params, QueryError, Store};
use maud::Markup;

pub use dashboards::render as render_dashboards;
pub use trace::render as render_trace;
pub use traces::render as render_traces;

type Shared = Arc<dyn Store>;

/// The UI's routes, to merge into the HTTP server beside the API.
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/traces") }))
        .route("/traces", get(traces_page))
        .route("/traces/{id}", get(trace_page))
        .route("/traces/{id}/spans/{span}", get(span_panel))
        .route("/sessions/{id}", get(session_page))
        .route("/dashboards", get(dashboards_page))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .route("/assets/favicon.svg", get(favicon))
        .route(
            "/favicon.ico",
            get(|| async { Redirect::permanent("/assets/favicon.svg") }),
        )
        .with_state(store)
}

/// Why a page could not be shown: rendered as a page with a fitting status.
pub struct PageError(StatusCode, String);

impl From<QueryError> for PageError {
    fn from(e: QueryError) -> Self {
        let status = match e {
            QueryError::BadParam { .. } => StatusCode::BAD_REQUEST,
            QueryError::NotFound(_) => StatusCode::NOT_FOUND,
            QueryError::Store(_) => {
                tracing::error!(error = %e, "UI query failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        PageError(status, e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        (self.0, layout::error_page(self.0, &self.1)).into_response()
    }
}

/// Runs a page's queries and rendering off the async executor.
async fn blocking(
    store: Shared,
    f: impl FnOnce(&dyn Store) -> Result<Markup, PageError> + Send + 'static,
) -> Result<Markup, PageError> {
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| PageError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

fn params(raw: Option<String>) -> Result<Params, PageError> {
    Ok(glassbox_query::decode_query_string(raw.as_deref())?)
}

async fn traces_page(
    State(store): State<Shared>,
    RawQuery(q): RawQuery,
) -> Result<Markup, PageError> {
    let p = params(q)?;
    blocking(store, move |s| traces::render(s, &p)).await
}

async fn trace_page(
    State(store): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Markup, PageError> {
    let p = params(q)?;
    blocking(store, move |s| {
        trace::render(s, &id, p.get("span").map(String::as_str))
    })
    .await
}

async fn span_panel(
    State(store): State<Shared>,
    Path((id, span)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    blocking(store, move |s| trace::render_panel(s, &id, &span)).await
}

async fn session_page(
    State(store): State<Shared>,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    blocking(store, move |s| session::render(s, &id)).await
}

async fn dashboards_page(
    State(store): State<Shared>,
    RawQuery(q): RawQuery,
) -> Result<Markup, PageError> {
    let p = params(q)?;
    blocking(store, move |s| dashboards::render(s, &p)).await
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/app.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/app.js"),
    )
}

async fn favicon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        include_str!("../assets/favicon.svg"),
    )
}
