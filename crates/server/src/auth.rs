//! Access control: API keys scoped to a project, with a role, checked in one
//! place for every HTTP request ([`middleware`]) and every gRPC call
//! ([`grpc_interceptor`]).
//!
//! Authentication is on once any API key exists (or `[auth] required`), and
//! stays on: revoking every key locks everyone out rather than opening up.
//! Without it, every request is the default project's administrator, as
//! before keys existed (and the server listens on loopback only).
//!
//! Credentials: `Authorization: Bearer <key>`, `x-api-key: <key>`, or Basic
//! auth with the key as password (the Langfuse SDK's public:secret pair);
//! the UI's session cookie on GET requests only (SameSite=Strict as well, so
//! no cross-site request can act with it). A key is looked up by its hash;
//! answers are cached for [`CACHE_TTL`], so a revoked key stops working
//! within that time even when revoked by another process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use glassbox_ingest::Project;
use glassbox_store::sqlite::SqliteStore;
use glassbox_store::sqlite::keys;
use serde::Serialize;

use crate::projects::DEFAULT;

/// How long a key lookup (found, unknown or revoked) is trusted.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// How long a UI session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
pub const SESSION_COOKIE: &str = "glassbox_session";

/// What a key may do. See the matrix in `docs/api.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Send telemetry (OTLP) only.
    Ingest,
    /// Read the API and the UI (content as stored, i.e. after redaction).
    Viewer,
    /// Viewer + scores, datasets, experiments (write endpoints to come).
    Engineer,
    /// Viewer + the audit trail; content reads are themselves audited.
    Auditor,
    /// Everything, including key management and data-key rotation.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Ingest,
        Role::Viewer,
        Role::Engineer,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Viewer => "viewer",
            Role::Engineer => "engineer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role × access matrix: the one place it is decided.
    pub fn may(self, access: Access) -> bool {
        use Role::*;
        match access {
            Access::Open => true,
            Access::Ingest => matches!(self, Ingest | Admin),
            Access::Read => matches!(self, Viewer | Engineer | Auditor | Admin),
            Access::Evaluate => matches!(self, Engineer | Admin),
            Access::Audit => matches!(self, Auditor | Admin),
            Access::Admin => self == Admin,
        }
    }
}

/// What a request does, by route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Health checks, sign-in, static assets.
    Open,
    /// OTLP receivers.
    Ingest,
    /// The query API and UI pages (GET).
    Read,
    /// Writing scores, datasets, experiments.
    Evaluate,
    /// `/api/v1/audit/*`.
    Audit,
    /// `/api/v1/admin/*`, and any other non-GET request (deny by default).
    Admin,
}

/// Classifies a request. Unknown routes need `Read` (GET) or `Admin` (other
/// methods), so a new route is never open by accident.
pub fn access_for(method: &Method, path: &str) -> Access {
    let read = *method == Method::GET || *method == Method::HEAD;
    match path {
        "/healthz" | "/readyz" | "/login" | "/logout" | "/favicon.ico" => Access::Open,
        p if p.starts_with("/assets/") && read => Access::Open,
        "/v1/traces" | "/v1/metrics" | "/v1/logs" | "/api/public/otel/v1/traces" => Access::Ingest,
        p if p == "/api/v1/admin" || p.starts_with("/api/v1/admin/") => Access::Admin,
        p if p == "/api/v1/audit" || p.starts_with("/api/v1/audit/") => Access::Audit,
        p if !read
            && ["/api/v1/scores", "/api/v1/datasets", "/api/v1/experiments"]
                .iter()
                .any(|r| p == *r || p.starts_with(&format!("{r}/"))) =>
        {
            Access::Evaluate
        }
        _ if read => Access::Read,
        _ => Access::Admin,
    }
}

/// Who is calling: put in the request's extensions by [`middleware`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub project: String,
    pub role: Role,
    /// `None` when authentication is off.
    pub key_id: Option<i64>,
    pub key_prefix: Option<String>,
}

impl Caller {
    /// Every request when authentication is off.
    fn anonymous() -> Caller {
        Caller {
            project: DEFAULT.to_owned(),
            role: Role::Admin,
            key_id: None,
            key_prefix: None,
        }
    }
}

/// Why a request was not authenticated.
#[derive(Debug)]
pub enum Denied {
    Missing,
    Invalid,
    Unavailable(String),
}

struct Session {
    key_hash: [u8; 32],
    created: Instant,
}

/// Key hash → (when looked up, who it is; `None`: unknown or revoked).
type Lookups = HashMap<[u8; 32], (Instant, Option<Caller>)>;

/// Key lookups, the on/off state and UI sessions.
pub struct Auth {
    /// The default project's store, which holds the keys.
    store: Arc<SqliteStore>,
    /// Sticky: once on (required, or a key seen), never off again.
    enabled: AtomicBool,
    last_check: Mutex<Option<Instant>>,
    cache: Mutex<Lookups>,
    sessions: Mutex<HashMap<String, Session>>,
    /// Served over TLS: session cookies are `Secure`.
    pub tls: bool,
}

impl Auth {
    pub fn new(store: Arc<SqliteStore>, required: bool, tls: bool) -> Auth {
        Auth {
            store,
            enabled: AtomicBool::new(required),
            last_check: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            tls,
        }
    }

    /// Whether requests must authenticate: `required`, or any key exists
    /// (checked at most once a second until true, then for good).
    pub fn enabled(&self) -> bool {
        if self.enabled.load(Ordering::Relaxed) {
            return true;
        }
        let Ok(mut last) = self.last_check.lock() else {
            return true;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return false;
        }
        *last = Some(Instant::now());
        match self.store.keys_exist() {
            Ok(false) => false,
            Ok(true) => {
                self.enabled.store(true, Ordering::Relaxed);
                true
            }
            // Fail closed.
            Err(e) => {
                tracing::error!(error = %e, "could not read the API keys; refusing requests");
                true
            }
        }
    }

    /// Forgets cached lookups (after a key is revoked here) and turns
    /// authentication on if a key now exists.
    pub fn changed(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
        if let Ok(mut last) = self.last_check.lock() {
            *last = None;
        }
    }

    /// The caller a key hash belongs to; `None` for unknown and revoked keys.
    fn resolve(&self, hash: &[u8; 32]) -> Result<Option<Caller>, Denied> {
        if let Ok(c) = self.cache.lock()
            && let Some((at, caller)) = c.get(hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(caller.clone());
        }
        let key = self
            .store
            .key_by_hash(hash)
            .map_err(|e| Denied::Unavailable(format!("could not read the API keys: {e}")))?;
        let caller = key.filter(|k| !k.revoked).and_then(|k| {
            Some(Caller {
                role: Role::parse(&k.role)?,
                project: k.project,
                key_id: Some(k.id),
                key_prefix: Some(k.prefix),
            })
        });
        if let Ok(mut c) = self.cache.lock() {
            // Bounded: random keys cannot grow it without limit.
            if c.len() >= 4096 {
                c.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                if c.len() >= 4096 {
                    c.clear();
                }
            }
            c.insert(*hash, (Instant::now(), caller.clone()));
        }
        Ok(caller)
    }

    /// Authenticates a key given as a string.
    pub fn check_key(&self, secret: &str) -> Result<Caller, Denied> {
        self.resolve(&keys::hash(secret.trim()))?
            .ok_or(Denied::Invalid)
    }

    /// Authenticates request headers: a key header, else (GET only) a session cookie.
    pub fn authenticate(&self, headers: &HeaderMap, method: &Method) -> Result<Caller, Denied> {
        if let Some(secret) = key_from_headers(headers) {
            return self.check_key(&secret);
        }
        if (*method == Method::GET || *method == Method::HEAD)
            && let Some(id) = cookie(headers, SESSION_COOKIE)
        {
            let hash = {
                let sessions = self.sessions.lock().map_err(|_| Denied::Invalid)?;
                match sessions.get(&id) {
                    Some(s) if s.created.elapsed() < SESSION_TTL => s.key_hash,
                    _ => return Err(Denied::Invalid),
                }
            };
            return self.resolve(&hash)?.ok_or(Denied::Invalid);
        }
        Err(Denied::Missing)
    }

    /// Starts a UI session for a key; returns the session id.
    pub fn start_session(&self, secret: &str) -> Result<String, Denied> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Denied::Unavailable(e.to_string()))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut sessions = self
            .sessions
            .lock()
            .map_err(|_| Denied::Unavailable("session table poisoned".into()))?;
        sessions.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        sessions.insert(
            id.clone(),
            Session {
                key_hash: keys::hash(secret.trim()),
                created: Instant::now(),
            },
        );
        Ok(id)
    }

    pub fn end_session(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers, SESSION_COOKIE)
            && let Ok(mut sessions) = self.sessions.lock()
        {
            sessions.remove(&id);
        }
    }
}

/// The key from `Authorization: Bearer`, `x-api-key`, or Basic auth's
/// password (or its user name when that is the key).
pub fn key_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_owned()).filter(|k| !k.is_empty());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = auth.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned()).filter(|k| !k.is_empty());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(base64_decode(rest)?).ok()?;
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        let key = if password.starts_with(keys::KEY_PREFIX) || !user.starts_with(keys::KEY_PREFIX) {
            password
        } else {
            user
        };
        return Some(key.to_owned()).filter(|k| !k.is_empty());
    }
    None
}

/// Standard base64 (with or without padding); `None` if malformed.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A UI page (not the API, not OTLP).
fn is_ui(path: &str) -> bool {
    !(path.starts_with("/api/") || path.starts_with("/v1/"))
}

pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn unauthorized(denied: &Denied, path: &str) -> Response {
    let (status, code, message) = match denied {
        Denied::Missing => (
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "missing API key: send `Authorization: Bearer gbx_…` (or `x-api-key`); OTLP exporters: OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20gbx_…".to_owned(),
        ),
        Denied::Invalid => (
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "invalid API key: unknown or revoked".to_owned(),
        ),
        Denied::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m.clone()),
    };
    let mut resp = json_error(status, code, &message);
    if status == StatusCode::UNAUTHORIZED {
        let scheme = if path == "/api/public/otel/v1/traces" {
            "Basic realm=\"glassbox\""
        } else {
            "Bearer realm=\"glassbox\""
        };
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    }
    resp
}

fn forbidden(caller: &Caller, access: Access) -> Response {
    json_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!(
            "the {} role may not do this (it needs {})",
            caller.role.as_str(),
            match access {
                Access::Open => "nothing",
                Access::Ingest => "the ingest or admin role",
                Access::Read => "the viewer, engineer, auditor or admin role",
                Access::Evaluate => "the engineer or admin role",
                Access::Audit => "the auditor or admin role",
                Access::Admin => "the admin role",
            }
        ),
    )
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Authenticates and authorises every HTTP request, in one place.
pub async fn middleware(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    if !auth.enabled() {
        req.extensions_mut().insert(Caller::anonymous());
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let access = access_for(req.method(), &path);
    if access == Access::Open {
        return next.run(req).await;
    }
    let page = is_ui(&path) && *req.method() == Method::GET;
    let caller = match auth.authenticate(req.headers(), req.method()) {
        Ok(c) => c,
        Err(Denied::Missing | Denied::Invalid) if page => {
            let target = req
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned();
            let to = format!("/login?next={}", url_encode(&target));
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, to),
                    (header::CACHE_CONTROL, "no-store".into()),
                ],
            )
                .into_response();
        }
        Err(d) => return unauthorized(&d, &path),
    };
    if !caller.role.may(access) {
        return forbidden(&caller, access);
    }
    if access == Access::Ingest {
        req.extensions_mut().insert(Project(caller.project.clone()));
    }
    req.extensions_mut().insert(caller.clone());
    let resp = next.run(req).await;
    if page {
        return with_badge(resp, &caller).await;
    }
    resp
}

/// Shows the project and role (and a sign-out link) in a UI page's header.
async fn with_badge(resp: Response, caller: &Caller) -> Response {
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if !html {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "page body");
    };
    let text = String::from_utf8_lossy(&bytes);
    // Project names are [a-z0-9_-]; roles are fixed words: nothing to escape.
    let badge = format!(
        "<span class=\"who\" data-project=\"{p}\" data-role=\"{r}\" style=\"margin-left:auto;margin-right:.75rem;font-size:.85em;opacity:.8\">project <b>{p}</b> · {r} · <a href=\"/logout\">Sign out</a></span>",
        p = caller.project,
        r = caller.role.as_str()
    );
    let out = text.replacen(
        "<button id=\"theme-toggle\"",
        &format!("{badge}<button id=\"theme-toggle\""),
        1,
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}

/// The same checks for OTLP/gRPC: UNAUTHENTICATED without a valid key,
/// PERMISSION_DENIED for a role that may not send telemetry.
pub fn grpc_interceptor(
    auth: Arc<Auth>,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    move |mut req: tonic::Request<()>| {
        if !auth.enabled() {
            return Ok(req);
        }
        let headers = req.metadata().clone().into_headers();
        let caller = match key_from_headers(&headers) {
            None => {
                return Err(tonic::Status::unauthenticated(
                    "missing API key: send metadata `authorization: Bearer gbx_…` (OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20gbx_…)",
                ));
            }
            Some(k) => match auth.check_key(&k) {
                Ok(c) => c,
                Err(Denied::Unavailable(m)) => return Err(tonic::Status::unavailable(m)),
                Err(_) => {
                    return Err(tonic::Status::unauthenticated(
                        "invalid API key: unknown or revoked",
                    ));
                }
            },
        };
        if !caller.role.may(Access::Ingest) {
            return Err(tonic::Status::permission_denied(format!(
                "the {} role may not send telemetry (it needs the ingest or admin role)",
                caller.role.as_str()
            )));
        }
        req.extensions_mut().insert(Project(caller.project));
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(access_for(&get, "/healthz"), Access::Open);
        assert_eq!(access_for(&post, "/v1/traces"), Access::Ingest);
        assert_eq!(access_for(&get, "/api/v1/traces"), Access::Read);
        assert_eq!(access_for(&get, "/traces/abc"), Access::Read);
        assert_eq!(
            access_for(&post, "/api/v1/admin/keys/rotate"),
            Access::Admin
        );
        assert_eq!(access_for(&get, "/api/v1/audit/verify"), Access::Audit);
        assert_eq!(access_for(&post, "/api/v1/scores"), Access::Evaluate);
        assert_eq!(access_for(&post, "/api/v1/traces"), Access::Admin);
        assert_eq!(access_for(&post, "/assets/app.css"), Access::Admin);
        assert!(Role::Ingest.may(Access::Ingest) && !Role::Ingest.may(Access::Read));
        assert!(Role::Viewer.may(Access::Read) && !Role::Viewer.may(Access::Ingest));
        assert!(!Role::Viewer.may(Access::Evaluate) && Role::Engineer.may(Access::Evaluate));
        assert!(!Role::Engineer.may(Access::Audit) && Role::Auditor.may(Access::Audit));
        assert!(!Role::Auditor.may(Access::Admin) && Role::Admin.may(Access::Admin));
    }

    #[test]
    fn credentials_from_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer gbx_abc"),
        );
        assert_eq!(key_from_headers(&h).as_deref(), Some("gbx_abc"));
        let mut h = HeaderMap::new();
        // base64("pk-lf-1:gbx_abc")
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic cGstbGYtMTpnYnhfYWJj"),
        );
        assert_eq!(key_from_headers(&h).as_deref(), Some("gbx_abc"));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static(" gbx_x "));
        assert_eq!(key_from_headers(&h).as_deref(), Some("gbx_x"));
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("YWI").as_deref(), Some(&b"ab"[..]));
        assert!(base64_decode("*").is_none());
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; glassbox_session=xyz"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
    }
}
