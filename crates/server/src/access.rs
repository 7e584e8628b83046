//! The routes of access control: UI sign-in, key management, the audit
//! trail for auditors, and the dispatch of every other request to its
//! caller's project (whose content reads by auditors and admins are audited
//! when content is encrypted at rest).

use std::sync::Arc;

use axum::extract::{Form, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use glassbox_store::StoreError;
use glassbox_store::sqlite::keys::{KeyChange, KeyOutcome};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;

use crate::auth::{self, Access, Auth, Caller, Denied, Role, json_error};
use crate::projects::{self, Projects};

pub struct Shared {
    pub auth: Arc<Auth>,
    pub projects: Arc<Projects>,
}

/// Sign-in, key management and audit routes; everything else goes to the
/// caller's project.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout).post(logout))
        .route("/api/v1/admin/keys", get(list_keys).post(create_key))
        .route("/api/v1/admin/keys/{id}/revoke", post(revoke_key))
        .route("/api/v1/audit/verify", get(audit_verify))
        .route("/api/v1/audit/entries", get(audit_entries))
        .fallback(dispatch)
        .with_state(shared)
}

fn store_error(e: &StoreError) -> Response {
    match e {
        StoreError::Invalid(m) => json_error(StatusCode::BAD_REQUEST, "invalid_parameter", m),
        other => {
            tracing::error!(error = %other, "access-control request failed");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                &other.to_string(),
            )
        }
    }
}

/// Serves the request from the caller's project (the default one for open
/// routes and when authentication is off).
async fn dispatch(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let caller = req.extensions().get::<Caller>().cloned();
    let name = caller
        .as_ref()
        .map_or(projects::DEFAULT, |c| c.project.as_str());
    let project = match s.projects.get(name).await {
        Ok(p) => p,
        Err(e) => return store_error(&e),
    };
    if let Some(c) = &caller
        && c.key_id.is_some()
        && matches!(c.role, Role::Auditor | Role::Admin)
        && project.store.encrypted()
        && let Some(what) = content_read(req.uri().path())
    {
        // Recorded (durably) before the content is served; no record, no content.
        let about = json!({"event": "content read", "what": what, "path": req.uri().path(),
            "key_id": c.key_id, "key_prefix": c.key_prefix, "role": c.role, "project": c.project});
        if let Err(e) = project.store.record("access", about).await {
            return store_error(&e);
        }
    }
    match project.app.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// Reads that decrypt stored content (messages, tool I/O, attributes, log bodies).
fn content_read(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1", "traces", id] | ["traces", id] | ["traces", id, "spans", _] => {
            Some(format!("trace {id}"))
        }
        ["api", "v1", "sessions", id] | ["sessions", id] => Some(format!("session {id}")),
        ["api", "v1", "logs"] => Some("logs".to_owned()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct NewKey {
    project: String,
    role: String,
    #[serde(default)]
    name: Option<String>,
}

/// Checks a project name and role for a new key.
pub fn validate_new_key(project: &str, role: &str) -> Result<(), String> {
    if !projects::valid_name(project) {
        return Err(format!(
            "invalid project {project:?}: 1–64 of a-z, 0-9, _ and -, starting with a letter or digit"
        ));
    }
    if Role::parse(role).is_none() {
        return Err(format!(
            "invalid role {role:?}: one of ingest, viewer, engineer, auditor, admin"
        ));
    }
    Ok(())
}

async fn create_key(
    State(s): State<Arc<Shared>>,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(k)) = body else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "send JSON {\"project\": \"…\", \"role\": \"ingest|viewer|engineer|auditor|admin\", \"name\": \"…\"}",
        );
    };
    if let Err(m) = validate_new_key(&k.project, &k.role) {
        return json_error(StatusCode::BAD_REQUEST, "invalid_parameter", &m);
    }
    let store = &s.projects.default_project().store;
    match store
        .change_key(KeyChange::Create {
            project: k.project,
            role: k.role,
            name: k.name,
        })
        .await
    {
        Ok(KeyOutcome::Created { key, secret }) => {
            s.auth.changed();
            (
                StatusCode::CREATED,
                Json(json!({"key": key, "secret": secret})),
            )
                .into_response()
        }
        Ok(KeyOutcome::Revoked(_)) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "unexpected outcome",
        ),
        Err(e) => store_error(&e),
    }
}

async fn list_keys(State(s): State<Arc<Shared>>) -> Response {
    let store = s.projects.default_project().store.clone();
    match tokio::task::spawn_blocking(move || store.list_keys()).await {
        Ok(Ok(keys)) => Json(json!({"keys": keys})).into_response(),
        Ok(Err(e)) => store_error(&e),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

async fn revoke_key(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "the key id is a number (see GET /api/v1/admin/keys)",
        );
    };
    let store = &s.projects.default_project().store;
    match store.change_key(KeyChange::Revoke { id }).await {
        Ok(KeyOutcome::Revoked(key)) => {
            s.auth.changed();
            Json(json!({"key": key})).into_response()
        }
        Ok(KeyOutcome::Created { .. }) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "unexpected outcome",
        ),
        Err(StoreError::Invalid(m)) if m.starts_with("no API key") => {
            json_error(StatusCode::NOT_FOUND, "not_found", &m)
        }
        Err(StoreError::Invalid(m)) => json_error(StatusCode::CONFLICT, "conflict", &m),
        Err(e) => store_error(&e),
    }
}

fn caller_project(caller: Option<Extension<Caller>>) -> String {
    caller.map_or(projects::DEFAULT.to_owned(), |Extension(c)| c.project)
}

/// Verifies the caller's project's audit trail, as `glassbox audit verify` does.
async fn audit_verify(State(s): State<Arc<Shared>>, caller: Option<Extension<Caller>>) -> Response {
    let project = match s.projects.get(&caller_project(caller)).await {
        Ok(p) => p,
        Err(e) => return store_error(&e),
    };
    let dir = project.store.dir().to_path_buf();
    let report =
        tokio::task::spawn_blocking(move || glassbox_store::sqlite::audit::verify(&dir, None))
            .await;
    match report {
        Ok(Ok(r)) => Json(json!({
            "project": project.name,
            "intact": r.problems.is_empty(),
            "entries": r.entries,
            "checkpoints": r.checkpoints,
            "rows": r.rows,
            "problems": r.problems,
            "public_key": r.public_key,
        }))
        .into_response(),
        Ok(Err(e)) => store_error(&e),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// The newest audit entries of the caller's project, newest first.
async fn audit_entries(
    State(s): State<Arc<Shared>>,
    caller: Option<Extension<Caller>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match glassbox_query::decode_query_string(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, "invalid_parameter", &e.to_string()),
    };
    if let Some(k) = params.keys().find(|k| *k != "limit") {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            &format!("unknown parameter `{k}`; expected limit"),
        );
    }
    let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                "invalid parameter `limit`: a number from 1 to 1000",
            );
        }
    };
    let project = match s.projects.get(&caller_project(caller)).await {
        Ok(p) => p,
        Err(e) => return store_error(&e),
    };
    let store = project.store.clone();
    match tokio::task::spawn_blocking(move || store.audit_entries(limit)).await {
        Ok(Ok(entries)) => {
            Json(json!({"project": project.name, "entries": entries})).into_response()
        }
        Ok(Err(e)) => store_error(&e),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
    next: Option<String>,
}

/// Only a local path: never another site (`//host`, `/\host`, `https:`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/traces".to_owned(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn login_html(next: &str, error: Option<&str>) -> Html<String> {
    let error = error.map_or(String::new(), |e| {
        format!(
            "<p class=\"error-message\" role=\"alert\">{}</p>",
            escape(e)
        )
    });
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Glassbox</title><link rel="icon" href="/assets/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/assets/app.css"></head>
<body><header class="top"><a class="brand" href="/traces">Glassbox</a></header>
<main><section class="error-page"><h1>Sign in</h1>{error}
<form method="post" action="/login">
<p><label for="key">API key (viewer, engineer, auditor or admin)</label><br>
<input id="key" name="key" type="password" autocomplete="off" required size="72" placeholder="gbx_…" autofocus></p>
<input type="hidden" name="next" value="{next}">
<p><button type="submit">Sign in</button></p>
</form><p>Keys are created with <code>glassbox keys create --project NAME --role viewer</code>.</p></section></main></body></html>"#,
        next = escape(next)
    ))
}

async fn login_page(
    State(s): State<Arc<Shared>>,
    q: Result<axum::extract::Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(q.as_ref().ok().and_then(|q| q.next.as_deref()));
    if !s.auth.enabled() {
        return redirect(&next, None);
    }
    login_html(&next, None).into_response()
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut resp = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, to.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    if let Some(c) = cookie
        && let Ok(v) = header::HeaderValue::from_str(&c)
    {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn session_cookie(auth: &Auth, value: &str, max_age: u64) -> String {
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        auth::SESSION_COOKIE,
        if auth.tls { "; Secure" } else { "" }
    )
}

async fn login(
    State(s): State<Arc<Shared>>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return (
            StatusCode::BAD_REQUEST,
            login_html("/traces", Some("Paste an API key.")),
        )
            .into_response();
    };
    let next = safe_next(f.next.as_deref());
    let auth = &s.auth;
    let fail = |status: StatusCode, m: &str| (status, login_html(&next, Some(m))).into_response();
    match auth.check_key(&f.key) {
        Ok(c) if c.role.may(Access::Read) => match auth.start_session(&f.key) {
            Ok(id) => redirect(
                &next,
                Some(session_cookie(auth, &id, auth::SESSION_TTL.as_secs())),
            ),
            Err(_) => fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "Could not start a session; try again.",
            ),
        },
        Ok(c) => fail(
            StatusCode::FORBIDDEN,
            &format!(
                "This key has the {} role, which cannot sign in to the UI (viewer, engineer, auditor or admin can).",
                c.role.as_str()
            ),
        ),
        Err(Denied::Unavailable(m)) => fail(StatusCode::SERVICE_UNAVAILABLE, &m),
        Err(_) => fail(
            StatusCode::UNAUTHORIZED,
            "That key is not valid (unknown or revoked).",
        ),
    }
}

async fn logout(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    s.auth.end_session(&headers);
    redirect("/login", Some(session_cookie(&s.auth, "", 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/traces?x=1")), "/traces?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "traces",
        ] {
            assert_eq!(safe_next(Some(bad)), "/traces", "{bad}");
        }
        assert_eq!(
            content_read("/api/v1/traces/ab").as_deref(),
            Some("trace ab")
        );
        assert_eq!(
            content_read("/traces/ab/spans/cd").as_deref(),
            Some("trace ab")
        );
        assert_eq!(content_read("/api/v1/traces"), None);
    }
}
