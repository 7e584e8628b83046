//! Experiments: run a candidate over every item of a dataset, score each output, and write
//! the run (per item: output, scores, tokens, cost, latency, error) as a run file that
//! `glassbox gate` and `glassbox eval compare` read.
//!
//! The candidate is a command (the item's input on stdin, the output on stdout) or an HTTP
//! endpoint (`POST` `{"id", "input", "metadata"}`, answering text or `{"output": …}`). Each
//! item gets a fresh W3C trace context, passed as `TRACEPARENT`/`BAGGAGE` environment
//! variables or `traceparent`/`baggage` headers, so the telemetry the candidate emits joins
//! one trace per item under an `eval item` root span the runner reports itself; tokens, cost
//! and redaction findings are then read back from that trace on the Glassbox server. The
//! scores are posted to the server too, so they show on the trace and in `/api/v1/metrics`.
//! Without a server the run still completes, with outputs, latencies and scores only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use prost::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::dataset::{Dataset, Item};
use crate::judge::telemetry::{self, new_id};
use crate::judge::{Judge, JudgeConfig, JudgeInput};
use crate::now_ns;
use crate::rules::{Evaluator, RuleConfig, Subject, ToolUse};

/// The evaluators file (`--evaluators`, TOML): the same tables as the server's `[evaluation]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorsFile {
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    #[serde(default)]
    pub judges: Vec<JudgeConfig>,
}

/// What runs each item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Run through `sh -c`.
    Command(String),
    Url(String),
}

impl Target {
    /// An `http://` or `https://` URL is an endpoint; anything else a shell command.
    pub fn parse(s: &str) -> Target {
        if s.starts_with("http://") || s.starts_with("https://") {
            Target::Url(s.to_owned())
        } else {
            Target::Command(s.to_owned())
        }
    }
}

/// The Glassbox server the run reports to and reads from.
#[derive(Debug, Clone)]
pub struct Server {
    /// e.g. `http://127.0.0.1:4318` (OTLP/HTTP and the API share the port).
    pub url: String,
    pub api_key: Option<String>,
}

pub struct RunOptions {
    pub run_id: String,
    pub name: String,
    pub target: Target,
    pub concurrency: usize,
    pub item_timeout: Duration,
    pub server: Option<Server>,
    /// How long to wait for an item's trace to reach the server after the target finished.
    pub settle: Duration,
    /// Extra environment for a command target.
    pub env: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(String),
}

/// The run file (format documented in `glassbox-gate`'s `sample` module and docs/ci.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub run_id: String,
    pub name: String,
    pub created_at: String,
    pub dataset: DatasetRef,
    pub target: String,
    pub evaluators: Vec<String>,
    pub summary: Summary,
    pub items: Vec<RunItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetRef {
    pub name: String,
    pub version: String,
    pub items: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub items: usize,
    pub errors: usize,
    /// Evaluators that could not score an item (a judge's API error, say).
    pub evaluation_errors: usize,
    pub scores: BTreeMap<String, f64>,
    pub cost_usd: Option<f64>,
    pub judge_calls: usize,
    pub judge_input_tokens: u64,
    pub judge_output_tokens: u64,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunItem {
    pub item_id: String,
    pub trace_id: String,
    pub output: Option<String>,
    pub scores: BTreeMap<String, Value>,
    /// Judges' reasoning and rules' comments, by score name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub comments: BTreeMap<String, String>,
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<f64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub error: Option<String>,
    pub pii_findings: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluation_errors: Vec<String>,
}

/// Compiled evaluators.
pub struct Evaluators {
    pub rules: Vec<Evaluator>,
    pub judges: Vec<Judge>,
}

impl Evaluators {
    pub fn load(path: &std::path::Path) -> Result<Evaluators, RunError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunError::Setup(format!("evaluators {shown}: {e}")))?;
        let file: EvaluatorsFile = toml::from_str(&text)
            .map_err(|e| RunError::Setup(format!("evaluators {shown}: {e}")))?;
        Evaluators::new(file)
    }

    pub fn new(file: EvaluatorsFile) -> Result<Evaluators, RunError> {
        let mut names = std::collections::HashSet::new();
        for n in file
            .rules
            .iter()
            .map(|r| &r.name)
            .chain(file.judges.iter().map(|j| &j.name))
        {
            if !names.insert(n.clone()) {
                return Err(RunError::Setup(format!(
                    "evaluator name {n:?} is used twice; each names the score it writes"
                )));
            }
        }
        if names.is_empty() {
            return Err(RunError::Setup(
                "the evaluators file defines no [[rules]] or [[judges]]".into(),
            ));
        }
        let rules = file
            .rules
            .iter()
            .map(Evaluator::new)
            .collect::<Result<_, _>>()
            .map_err(|e| RunError::Setup(e.to_string()))?;
        let judges = file
            .judges
            .into_iter()
            .map(Judge::new)
            .collect::<Result<_, _>>()
            .map_err(|e| RunError::Setup(e.to_string()))?;
        Ok(Evaluators { rules, judges })
    }

    pub fn names(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| r.name.clone())
            .chain(self.judges.iter().map(|j| j.name().to_owned()))
            .collect()
    }
}

/// Progress, reported after each item.
pub trait Progress: Send + Sync {
    fn item_done(&self, done: usize, total: usize, item: &RunItem);
}

/// Runs the experiment. Items run `concurrency` at a time; results keep dataset order.
pub async fn run(
    dataset: &Dataset,
    evaluators: Evaluators,
    opts: RunOptions,
    progress: &dyn Progress,
) -> Result<Run, RunError> {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| RunError::Setup(format!("HTTP client: {e}")))?;
    let version = dataset.version();
    let shared = Arc::new(Shared {
        http,
        evaluators,
        dataset_name: dataset.name.clone(),
        dataset_version: version.clone(),
        opts,
    });
    let sem = Arc::new(tokio::sync::Semaphore::new(shared.opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, item) in dataset.items.iter().cloned().enumerate() {
        let (shared, sem) = (shared.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let (run_item, judge) = shared.run_item(&item).await;
            (i, run_item, judge)
        });
    }
    let total = dataset.items.len();
    let mut slots: Vec<Option<RunItem>> = vec![None; total];
    let mut summary = Summary::default();
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        let (i, item, judge) =
            joined.map_err(|e| RunError::Setup(format!("an item's task failed: {e}")))?;
        done += 1;
        summary.judge_calls += judge.calls;
        summary.judge_input_tokens += judge.input_tokens;
        summary.judge_output_tokens += judge.output_tokens;
        progress.item_done(done, total, &item);
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(item);
        }
    }
    let items: Vec<RunItem> = slots.into_iter().flatten().collect();
    summary.items = items.len();
    summary.errors = items.iter().filter(|i| i.error.is_some()).count();
    summary.evaluation_errors = items.iter().map(|i| i.evaluation_errors.len()).sum();
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for it in &items {
        for (k, v) in &it.scores {
            if let Some(x) = score_number(v) {
                let e = sums.entry(k.clone()).or_default();
                e.0 += x;
                e.1 += 1;
            }
        }
    }
    summary.scores = sums
        .into_iter()
        .map(|(k, (s, n))| (k, s / n as f64))
        .collect();
    let costs: Vec<f64> = items.iter().filter_map(|i| i.cost_usd).collect();
    summary.cost_usd = (!costs.is_empty()).then(|| costs.iter().sum());
    summary.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let shared =
        Arc::try_unwrap(shared).map_err(|_| RunError::Setup("tasks still running".into()))?;
    Ok(Run {
        run_id: shared.opts.run_id.clone(),
        name: shared.opts.name.clone(),
        created_at: rfc3339_now(),
        dataset: DatasetRef {
            name: dataset.name.clone(),
            version,
            items: total,
        },
        target: match &shared.opts.target {
            Target::Command(c) => c.clone(),
            Target::Url(u) => u.clone(),
        },
        evaluators: shared.evaluators.names(),
        summary,
        items,
    })
}

fn score_number(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

struct Shared {
    http: reqwest::Client,
    evaluators: Evaluators,
    dataset_name: String,
    dataset_version: String,
    opts: RunOptions,
}

#[derive(Default)]
struct JudgeUsage {
    calls: usize,
    input_tokens: u64,
    output_tokens: u64,
}

/// What the target produced.
struct Produced {
    output: Result<String, String>,
    start_ns: u64,
    end_ns: u64,
    latency_ms: f64,
}

impl Shared {
    async fn run_item(&self, item: &Item) -> (RunItem, JudgeUsage) {
        let trace_id = hex::encode(new_id(16));
        let root_id = hex::encode(new_id(8));
        let traceparent = format!("00-{trace_id}-{root_id}-01");
        let baggage = format!(
            "glassbox.eval.run_id={},glassbox.eval.item_id={}",
            percent_encode(&self.opts.run_id),
            percent_encode(&item.id)
        );
        let produced = self.invoke(item, &traceparent, &baggage).await;
        let mut out = RunItem {
            item_id: item.id.clone(),
            trace_id: trace_id.clone(),
            output: produced.output.as_ref().ok().cloned(),
            scores: BTreeMap::new(),
            comments: BTreeMap::new(),
            cost_usd: None,
            latency_ms: Some(produced.latency_ms),
            input_tokens: None,
            output_tokens: None,
            error: produced.output.as_ref().err().cloned(),
            pii_findings: 0,
            evaluation_errors: Vec::new(),
        };
        let mut usage = JudgeUsage::default();
        let mut trace = None;
        if let Some(server) = &self.opts.server {
            let root = self.root_span(item, &trace_id, &root_id, &produced);
            if let Err(e) = export(&self.http, server, &root).await {
                out.evaluation_errors
                    .push(format!("reporting the item's span: {e}"));
            }
            match self.read_trace(server, &trace_id).await {
                Ok(t) => {
                    // The API flattens the summary into the trace object.
                    let s = &t;
                    out.cost_usd = s["cost_usd"].as_f64();
                    out.input_tokens = s["input_tokens"].as_u64();
                    out.output_tokens = s["output_tokens"].as_u64();
                    out.pii_findings = s["pii_findings"].as_u64().unwrap_or(0);
                    trace = Some(t);
                }
                Err(e) => out.evaluation_errors.push(e),
            }
        }
        let Ok(answer) = &produced.output else {
            return (out, usage);
        };
        let subject = Subject {
            answer: Some(answer),
            tools: trace.as_ref().map(ToolUse::from_api_json),
            cost_usd: out.cost_usd,
            latency_ms: out.latency_ms,
            pii_findings: trace.as_ref().map(|_| out.pii_findings),
        };
        for rule in &self.evaluators.rules {
            if let Some((pass, comment)) = rule.check(&subject) {
                out.scores.insert(rule.name.clone(), Value::Bool(pass));
                if let Some(c) = comment {
                    out.comments.insert(rule.name.clone(), c);
                }
            }
        }
        let (question, expected, context) = (item.question(), item.expected_text(), item.context());
        for judge in &self.evaluators.judges {
            let input = JudgeInput {
                question: Some(&question),
                answer,
                expected: expected.as_deref(),
                context: context.as_deref(),
            };
            let j = judge.judge(&input).await;
            usage.calls += j.calls.len();
            for c in &j.calls {
                usage.input_tokens += c.input_tokens + c.cache_read_tokens + c.cache_write_tokens;
                usage.output_tokens += c.output_tokens;
            }
            if let Some(server) = &self.opts.server
                && let Some(req) = telemetry::judgement_trace(
                    judge.name(),
                    &j,
                    &telemetry::Context {
                        judged_trace_id: Some(&trace_id),
                        run_id: Some(&self.opts.run_id),
                        item_id: Some(&item.id),
                    },
                )
                && let Err(e) = export(&self.http, server, &req).await
            {
                out.evaluation_errors
                    .push(format!("reporting judge {}'s calls: {e}", judge.name()));
            }
            match j.result {
                Ok(v) => {
                    out.scores.insert(judge.name().to_owned(), json!(v.score));
                    out.comments.insert(judge.name().to_owned(), v.reasoning);
                }
                Err(e) => out.evaluation_errors.push(e.to_string()),
            }
        }
        if let Some(server) = &self.opts.server
            && trace.is_some()
            && let Err(e) = self.post_scores(server, &out).await
        {
            out.evaluation_errors.push(e);
        }
        (out, usage)
    }

    async fn invoke(&self, item: &Item, traceparent: &str, baggage: &str) -> Produced {
        let start_ns = now_ns();
        let started = Instant::now();
        let output = match &self.opts.target {
            Target::Command(cmd) => self.invoke_command(cmd, item, traceparent, baggage).await,
            Target::Url(url) => self.invoke_url(url, item, traceparent, baggage).await,
        };
        Produced {
            output,
            start_ns,
            end_ns: now_ns(),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    async fn invoke_command(
        &self,
        cmd: &str,
        item: &Item,
        traceparent: &str,
        baggage: &str,
    ) -> Result<String, String> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("TRACEPARENT", traceparent)
            .env("BAGGAGE", baggage)
            .env("GLASSBOX_EVAL_RUN_ID", &self.opts.run_id)
            .env("GLASSBOX_EVAL_ITEM_ID", &item.id)
            .envs(self.opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start `{cmd}`: {e}"))?;
        let input = item.input_text();
        let stdin = child.stdin.take();
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A target that exits without reading its input is not an error of ours.
                let _ = stdin.write_all(input.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
        };
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let wait = async {
            let (_, out, err) = tokio::join!(feed, read_capped(stdout), read_tail(stderr));
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    // Stop a runaway target now rather than at the item timeout.
                    let _ = child.kill().await;
                    return Err(e);
                }
            };
            let status = child.wait().await.map_err(|e| format!("`{cmd}`: {e}"))?;
            Ok((status, out, err))
        };
        let (status, stdout, stderr) =
            match tokio::time::timeout(self.opts.item_timeout, wait).await {
                Ok(Ok(done)) => done,
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(format!(
                        "timed out after {} s (raise --item-timeout)",
                        self.opts.item_timeout.as_secs()
                    ));
                }
            };
        if !status.success() {
            let stderr = String::from_utf8_lossy(&stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "exited with {status}: {}",
                if tail.is_empty() {
                    "(no stderr)".to_owned()
                } else {
                    tail.join(" | ")
                }
            ));
        }
        let text = String::from_utf8_lossy(&stdout);
        Ok(text.trim_end_matches(['\n', '\r']).to_owned())
    }

    async fn invoke_url(
        &self,
        url: &str,
        item: &Item,
        traceparent: &str,
        baggage: &str,
    ) -> Result<String, String> {
        let body = json!({"id": item.id, "input": item.input, "metadata": item.metadata});
        let resp = self
            .http
            .post(url)
            .timeout(self.opts.item_timeout)
            .header("traceparent", traceparent)
            .header("baggage", baggage)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("POST {url}: reading the answer: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "POST {url} answered {status}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(o)) => match o.get("output") {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Ok(other.to_string()),
                None => Err(format!(
                    "POST {url} answered a JSON object without `output`; answer text or {{\"output\": …}}"
                )),
            },
            _ => Ok(text),
        }
    }

    fn root_span(
        &self,
        item: &Item,
        trace_id: &str,
        root_id: &str,
        p: &Produced,
    ) -> ExportTraceServiceRequest {
        let s = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        };
        let mut attributes = vec![
            s("glassbox.eval.run_id", &self.opts.run_id),
            s("glassbox.eval.run_name", &self.opts.name),
            s("glassbox.eval.dataset", &self.dataset_name),
            s("glassbox.eval.dataset_version", &self.dataset_version),
            s("glassbox.eval.item_id", &item.id),
        ];
        let status = match &p.output {
            Ok(_) => None,
            Err(e) => {
                attributes.push(s("error.type", "target_failed"));
                Some(opentelemetry_proto::tonic::trace::v1::Status {
                    message: e.clone(),
                    code: opentelemetry_proto::tonic::trace::v1::status::StatusCode::Error as i32,
                })
            }
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![s("service.name", "glassbox-eval")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: hex::decode(trace_id).unwrap_or_default(),
                        span_id: hex::decode(root_id).unwrap_or_default(),
                        name: format!("eval item {}", item.id),
                        kind: span::SpanKind::Internal as i32,
                        start_time_unix_nano: p.start_ns,
                        end_time_unix_nano: p.end_ns.max(p.start_ns),
                        attributes,
                        status,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// The item's trace from the server, once the candidate's spans are in: exporters send
    /// before their process exits, but a batching exporter in a long-lived HTTP target may
    /// lag, so wait up to `settle` for more than the runner's own root span.
    async fn read_trace(&self, server: &Server, trace_id: &str) -> Result<Value, String> {
        let url = format!("{}/api/v1/traces/{trace_id}", server.url);
        let deadline = Instant::now() + self.opts.settle;
        loop {
            let mut req = self.http.get(&url);
            if let Some(k) = &server.api_key {
                req = req.bearer_auth(k);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| format!("reading the item's trace from {url}: {e}"))?;
            let status = resp.status();
            if status.is_success() {
                let v: Value = resp
                    .json()
                    .await
                    .map_err(|e| format!("reading the item's trace from {url}: {e}"))?;
                let spans = v["spans"].as_array().map_or(0, Vec::len);
                if spans > 1 || Instant::now() >= deadline {
                    return Ok(v);
                }
            } else if status.as_u16() != 404 {
                return Err(format!(
                    "reading the item's trace from {url}: HTTP {status}{}",
                    if status.as_u16() == 401 || status.as_u16() == 403 {
                        " (pass an API key with the engineer role: --api-key or GLASSBOX_API_KEY)"
                    } else {
                        ""
                    }
                ));
            } else if Instant::now() >= deadline {
                return Err(format!(
                    "the item's trace {trace_id} did not reach {} within {} s; is the target \
                     exporting to it (OTEL_EXPORTER_OTLP_ENDPOINT)?",
                    server.url,
                    self.opts.settle.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn post_scores(&self, server: &Server, item: &RunItem) -> Result<(), String> {
        let url = format!("{}/api/v1/scores", server.url);
        for (name, value) in &item.scores {
            let source = if self.evaluators.judges.iter().any(|j| j.name() == name) {
                "llm_judge"
            } else {
                "rule"
            };
            let body = json!({
                "trace_id": item.trace_id,
                "name": name,
                "value": value,
                "source": source,
                "comment": item.comments.get(name),
            });
            let mut req = self.http.post(&url).json(&body);
            if let Some(k) = &server.api_key {
                req = req.bearer_auth(k);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| format!("posting score {name}: {e}"))?;
            if !resp.status().is_success() {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                return Err(format!("posting score {name}: HTTP {status}: {text}"));
            }
        }
        Ok(())
    }
}

/// The most a target may answer: an answer is text for people and judges, and a target that
/// streams without end must not take the runner's memory with it.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;
/// How much of a failing target's stderr is kept (its end, where the error is).
const STDERR_TAIL_BYTES: usize = 64 << 10;

/// Reads a target's stdout to its end, refusing more than [`MAX_OUTPUT_BYTES`].
async fn read_capped(r: Option<tokio::process::ChildStdout>) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt;
    let Some(r) = r else { return Ok(Vec::new()) };
    let mut buf = Vec::new();
    r.take(MAX_OUTPUT_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| format!("reading the target's output: {e}"))?;
    if buf.len() > MAX_OUTPUT_BYTES {
        return Err(format!(
            "the target wrote more than {} MiB to stdout; an answer is expected",
            MAX_OUTPUT_BYTES >> 20
        ));
    }
    Ok(buf)
}

/// Reads a target's stderr to its end (so the target never blocks on a full pipe), keeping
/// the last [`STDERR_TAIL_BYTES`].
async fn read_tail(r: Option<tokio::process::ChildStderr>) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let Some(mut r) = r else { return Vec::new() };
    let mut tail = Vec::new();
    let mut chunk = vec![0u8; 8192];
    while let Ok(n) = r.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > 2 * STDERR_TAIL_BYTES {
            tail.drain(..tail.len() - STDERR_TAIL_BYTES);
        }
    }
    if tail.len() > STDERR_TAIL_BYTES {
        tail.drain(..tail.len() - STDERR_TAIL_BYTES);
    }
    tail
}

/// Sends one OTLP/HTTP protobuf request to the server.
pub async fn export(
    http: &reqwest::Client,
    server: &Server,
    req: &ExportTraceServiceRequest,
) -> Result<(), String> {
    let url = format!("{}/v1/traces", server.url);
    let mut r = http
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec());
    if let Some(k) = &server.api_key {
        r = r.bearer_auth(k);
    }
    let resp = r.send().await.map_err(|e| format!("POST {url}: {e}"))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        let status = resp.status();
        Err(format!(
            "POST {url}: HTTP {status}: {}",
            resp.text().await.unwrap_or_default()
        ))
    }
}

/// Baggage values are percent-encoded (W3C Baggage); URL-unreserved bytes stay as they are.
fn percent_encode(s: &str) -> String {
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, ESCAPED).to_string()
}

pub fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A new run id: `run-YYYYMMDD-HHMMSS-xxxx`.
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "run-{:04}{:02}{:02}-{:02}{:02}{:02}-{}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        &hex::encode(new_id(2))
    )
}

/// Where a run is written by default.
pub fn default_output(run_id: &str) -> PathBuf {
    PathBuf::from("runs").join(format!("{run_id}.json"))
}
