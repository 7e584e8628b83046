//! Loading the two sides: a run file, or live traffic from a running Glassbox server.
//!
//! A side is given as a path (`runs/baseline.json`) or as a selector of live traffic:
//! `release=v1`, `prompt_version=v3`, optionally narrowed with more comma-separated keys the
//! trace API filters on (`release=v2,service=support-agent`). Over live traffic each trace is
//! one item: `duration_ms` is its latency, `status: "error"` its error, and its `cost_usd`,
//! tokens and `pii_findings` are taken as they are, and its scores (rules, judges, people,
//! SDKs; asked for with `include=scores`) are the item's scores. Rules on a score no trace
//! carries report "could not evaluate" instead of guessing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::GateError;
use crate::sample::{Item, Origin, Sample, load_run_file, parse_run_file};

/// Selector keys passed to `GET /api/v1/traces` as they are (its filters).
pub const SELECTOR_KEYS: [&str; 6] = [
    "release",
    "prompt_version",
    "service",
    "model",
    "user",
    "session",
];

/// Page size: the API's maximum, so a window of traffic takes few requests.
const PAGE_LIMIT: usize = 1000;
/// A bound on how much one side may read, so a mistyped (empty) selector on a huge store does
/// not page forever; a gate wants a window, not all history.
pub const MAX_TRACES: usize = 200_000;

/// One side of the comparison, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    File(PathBuf),
    /// `run:ID`: an experiment run stored on the server (`glassbox eval run` stores each).
    Stored(String),
    /// `(key, value)` filters of the trace API.
    Live(Vec<(String, String)>),
}

impl SourceSpec {
    /// `release=v1[,key=value…]` is live traffic; anything else is a run file path.
    pub fn parse(s: &str) -> Result<Self, GateError> {
        if let Some(id) = s.strip_prefix("run:")
            && !std::path::Path::new(s).exists()
        {
            if id.is_empty() {
                return Err(GateError::Source(format!(
                    "`{s}`: name the run, e.g. run:run-20260501-120000-ab12 (glassbox eval list)"
                )));
            }
            return Ok(SourceSpec::Stored(id.to_owned()));
        }
        let Some((key, _)) = s.split_once('=') else {
            return Ok(SourceSpec::File(PathBuf::from(s)));
        };
        if !SELECTOR_KEYS.contains(&key) && !key.contains(',') {
            // `=` is legal in a file name; only a file that does not exist is a typo.
            if std::path::Path::new(s).exists() {
                return Ok(SourceSpec::File(PathBuf::from(s)));
            }
        }
        let mut pairs = Vec::new();
        for part in s.split(',') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            if !SELECTOR_KEYS.contains(&k) {
                return Err(GateError::Source(format!(
                    "`{s}`: `{k}` is not a live-traffic selector (use {}), nor an existing run file",
                    SELECTOR_KEYS.map(|k| format!("{k}=…")).join(", ")
                )));
            }
            if v.is_empty() {
                return Err(GateError::Source(format!(
                    "`{s}`: `{k}=` needs a value, e.g. `{k}=v1`"
                )));
            }
            if pairs.iter().any(|(p, _)| p == k) {
                return Err(GateError::Source(format!("`{s}`: `{k}` is given twice")));
            }
            pairs.push((k.to_owned(), v.to_owned()));
        }
        Ok(SourceSpec::Live(pairs))
    }

    pub fn label(&self) -> String {
        match self {
            SourceSpec::File(p) => p.display().to_string(),
            SourceSpec::Stored(id) => format!("run:{id}"),
            SourceSpec::Live(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// How to reach the server for live traffic.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub server: String,
    pub api_key: Option<String>,
    /// RFC 3339, validated.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Loads every side; live sides share one runtime and one client.
pub fn load_all(specs: &[&SourceSpec], live: &LiveOptions) -> Result<Vec<Sample>, GateError> {
    let mut out = Vec::with_capacity(specs.len());
    let mut rt = None;
    for spec in specs {
        out.push(match spec {
            SourceSpec::File(p) => load_run_file(p)?,
            SourceSpec::Stored(id) => runtime(&mut rt)?.block_on(fetch_stored(id, live))?,
            SourceSpec::Live(pairs) => runtime(&mut rt)?.block_on(fetch_live(pairs, live))?,
        });
    }
    Ok(out)
}

/// The one runtime the server-backed sides share, started on first use.
fn runtime(
    slot: &mut Option<tokio::runtime::Runtime>,
) -> Result<&tokio::runtime::Runtime, GateError> {
    if slot.is_none() {
        *slot = Some(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| GateError::Source(format!("could not start a runtime: {e}")))?,
        );
    }
    slot.as_ref()
        .ok_or_else(|| GateError::Source("no runtime".to_owned()))
}

#[derive(Deserialize)]
struct Page {
    traces: Vec<TraceRow>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct TraceRow {
    trace_id: String,
    cost_usd: Option<f64>,
    duration_ms: Option<f64>,
    status: Option<String>,
    pii_findings: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    /// With `include=scores`: `[{name, value, …}]`.
    #[serde(default)]
    scores: Vec<ScoreRow>,
}

#[derive(Deserialize)]
struct ScoreRow {
    name: String,
    value: serde_json::Value,
}

#[derive(Deserialize)]
struct ApiError {
    error: ApiErrorBody,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    message: String,
}

/// The Glassbox server a gate reads from, with the errors every request can meet
/// phrased once: unreachable, refused, not found, or any other failure.
struct Server<'a> {
    base: &'a str,
    api_key: Option<&'a str>,
    client: reqwest::Client,
}

impl<'a> Server<'a> {
    fn new(opts: &'a LiveOptions) -> Result<Self, GateError> {
        let base = opts.server.trim_end_matches('/');
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| error(base, format!("could not build an HTTP client: {e}")))?;
        Ok(Server {
            base,
            api_key: opts.api_key.as_deref(),
            client,
        })
    }

    fn error(&self, message: String) -> GateError {
        error(self.base, message)
    }

    /// The body of a successful `GET {path}`; `not_found` says what a 404 means here.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        not_found: Option<String>,
    ) -> Result<String, GateError> {
        let mut req = self.client.get(format!("{}{path}", self.base)).query(query);
        if let Some(key) = self.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.map_err(|e| {
            self.error(format!(
                "could not reach the server ({}); start it with `glassbox serve`, or point \
                 --server / GLASSBOX_URL at a running one",
                chain(&e)
            ))
        })?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| self.error(format!("the response broke off: {e}")))?;
        if status == reqwest::StatusCode::NOT_FOUND
            && let Some(message) = not_found
        {
            return Err(self.error(message));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(self.error(format!(
                "the server refused the request ({status}); pass an API key with --api-key or \
                 GLASSBOX_API_KEY"
            )));
        }
        if !status.is_success() {
            let detail = serde_json::from_str::<ApiError>(&body)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| body.chars().take(200).collect());
            return Err(self.error(format!("GET {path} answered {status}: {detail}")));
        }
        Ok(body)
    }
}

fn error(base: &str, message: String) -> GateError {
    GateError::Server {
        url: base.to_owned(),
        message,
    }
}

async fn fetch_live(pairs: &[(String, String)], opts: &LiveOptions) -> Result<Sample, GateError> {
    let server = Server::new(opts)?;
    let label = SourceSpec::Live(pairs.to_vec()).label();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query: Vec<(&str, String)> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        query.push(("limit", PAGE_LIMIT.to_string()));
        query.push(("include", "scores".to_owned()));
        if let Some(f) = &opts.from {
            query.push(("from", f.clone()));
        }
        if let Some(t) = &opts.to {
            query.push(("to", t.clone()));
        }
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let body = server.get("/api/v1/traces", &query, None).await?;
        let page: Page = serde_json::from_str(&body).map_err(|e| {
            server.error(format!(
                "the answer is not a Glassbox trace list ({e}); is --server a Glassbox server?"
            ))
        })?;
        items.extend(page.traces.into_iter().map(item_of));
        if items.len() > MAX_TRACES {
            return Err(GateError::Source(format!(
                "{label}: more than {MAX_TRACES} traces match; narrow the window with --from/--to"
            )));
        }
        match page.next_cursor {
            Some(c) if !c.is_empty() && Some(&c) != cursor.as_ref() => cursor = Some(c),
            _ => break,
        }
    }
    if items.is_empty() {
        return Err(GateError::NoItems {
            side: label.clone(),
            hint: format!(
                "no traces match {label}{}; check the value (the Traces page lists releases and \
                 prompt versions) or widen --from/--to",
                window_text(opts)
            ),
        });
    }
    Ok(Sample {
        label,
        origin: Origin::LiveTraffic,
        items,
    })
}

/// A run stored on the server, read as a run file.
async fn fetch_stored(id: &str, opts: &LiveOptions) -> Result<Sample, GateError> {
    let path = format!(
        "/api/v1/experiments/{}",
        percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
    );
    let not_found = format!("no stored run {id:?}; `glassbox eval list` shows the stored runs");
    let body = Server::new(opts)?.get(&path, &[], Some(not_found)).await?;
    parse_run_file(&body, &format!("run:{id}"))
}

/// An error with its causes: reqwest's own message ("error sending request") hides the one a
/// person needs ("Connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = c.source();
    }
    s
}

fn window_text(opts: &LiveOptions) -> String {
    match (&opts.from, &opts.to) {
        (None, None) => String::new(),
        (f, t) => format!(
            " between {} and {}",
            f.as_deref().unwrap_or("the beginning"),
            t.as_deref().unwrap_or("now")
        ),
    }
}

fn item_of(t: TraceRow) -> Item {
    let mut scores = BTreeMap::new();
    for s in t.scores {
        let v = match s.value {
            serde_json::Value::Bool(b) => Some(f64::from(u8::from(b))),
            serde_json::Value::Number(n) => n.as_f64(),
            _ => None,
        };
        if let Some(v) = v.filter(|v| v.is_finite()) {
            scores.insert(s.name, v);
        }
    }
    Item {
        error: (t.status.as_deref() == Some("error")).then(|| "trace status error".to_owned()),
        item_id: t.trace_id,
        scores,
        cost_usd: t.cost_usd,
        latency_ms: t.duration_ms,
        input_tokens: t.input_tokens,
        output_tokens: t.output_tokens,
        pii_findings: t.pii_findings.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            SourceSpec::parse("runs/a.json").unwrap(),
            SourceSpec::File("runs/a.json".into())
        );
        assert_eq!(
            SourceSpec::parse("release=v2,service=bot").unwrap(),
            SourceSpec::Live(vec![
                ("release".into(), "v2".into()),
                ("service".into(), "bot".into())
            ])
        );
        let e = SourceSpec::parse("relase=v2").unwrap_err().to_string();
        assert!(e.contains("`relase` is not a live-traffic selector"), "{e}");
        let e = SourceSpec::parse("release=").unwrap_err().to_string();
        assert!(e.contains("needs a value"), "{e}");
        let e = SourceSpec::parse("release=a,release=b")
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
    }
}
