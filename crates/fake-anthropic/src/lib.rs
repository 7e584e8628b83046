//! A deterministic fake of the Anthropic Messages API, and of an OpenAI-compatible chat
//! endpoint, served on loopback so tests can drive real client SDKs without the network.
//!
//! The wire format follows the documented API: `POST /v1/messages` (JSON or server-sent events),
//! the error envelope `{"type":"error","error":{"type","message"},"request_id"}`, a `request-id`
//! header on every response, and `usage` with cache fields. `POST /v1/chat/completions` answers
//! in OpenAI's shape. Tests inject failures with [`FakeAnthropic::fail_next`] (or `POST
//! /_fake/fail {"status":529,"count":2}`) and read back what clients sent with
//! [`FakeAnthropic::requests`] (or `GET /_fake/requests`).
//!
//! # Tokens
//!
//! A text costs `ceil(chars / 4)` tokens. A request's input is the sum over its segments, in the
//! API's caching order: each tool definition (its JSON without `cache_control`), each system
//! block, then each message's blocks (text by its text, `tool_use` by the JSON of its input,
//! `tool_result` by its text, anything else by its JSON). Output is the generated text, or the
//! JSON of a tool call's input. `max_tokens` truncates text to `4 × max_tokens` characters
//! (`stop_reason: "max_tokens"`); a stop sequence cuts text before it (`"stop_sequence"`).
//!
//! # Prompt caching
//!
//! The prefix up to and including a segment that carries `cache_control` is cacheable when it
//! holds at least [`Options::min_cacheable_tokens`] tokens. Prefixes are keyed by a blake3 hash
//! of the model and the segments; the first request with a prefix reports it as
//! `cache_creation_input_tokens` (split by `ttl` into `cache_creation.ephemeral_5m/1h`), later
//! ones as `cache_read_input_tokens`, and `input_tokens` is only the uncached rest, as the real
//! API reports it. With several breakpoints the longest cached one is read and the tokens up to
//! the last one are written. Entries never expire while the fake runs.
//!
//! # The model
//!
//! Words are compared as *content words*: lowercase alphanumeric runs of at least four
//! characters that are not in `src/stopwords.txt`. Tags are read from the last user message;
//! `<tag>…</tag>` means the last such pair in it.
//!
//! * **Judge** — when `tool_choice` is `{"type":"tool","name":X}` and tool X's
//!   `input_schema.properties` has `score` and `reasoning` (or, on the chat endpoint, when
//!   `response_format` asks for a JSON object and the prompt contains `<answer>`): the score is
//!   the share, rounded to two decimals, of the distinct content words of `<reference>` (of
//!   `<question>` when there is no reference) that occur in `<answer>`, and the reasoning names
//!   the missing ones, e.g. `3 of 4 reference terms present: missing 'refund'`. No `<answer>`
//!   scores 0. An answer containing `[[judge:unparsable]]` gets the plain text
//!   `I think it is good.` instead, so a judge client's parse-error path can be tested. Any other
//!   forced tool is called with input `{}`.
//! * **Agent** — otherwise, when the last user message has `<context>` and `<question>`: the
//!   context is split into sentences (at `.`, `!` or `?` followed by whitespace, and at line
//!   breaks), ranked by how many of the question's distinct content words each contains (ties:
//!   earlier first), and the top N are returned in their original order, joined by a space. N
//!   comes from the first "at most N sentence(s)" in the system prompt (a digit or `one`…`ten`),
//!   else 3.
//! * **Echo** — anything else is answered `You said: <last user message text>`.

mod errors;
mod messages;
mod model;
mod openai;
mod server;
mod tokens;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the fake listens and behaves. `Options::default()` suits tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to bind; `127.0.0.1:0` (the default) picks a free port.
    pub listen: SocketAddr,
    /// Delay before each answer, to let tests see latency in spans.
    pub latency: Duration,
    /// Smallest prefix, in tokens, that prompt caching stores (the API's minimum is 1024 for
    /// most models).
    pub min_cacheable_tokens: u64,
    /// Largest accepted request body; the API's limit is 32 MB.
    pub max_body_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency: Duration::ZERO,
            min_cacheable_tokens: 1024,
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

/// A running fake. Dropping it stops the server.
pub struct FakeAnthropic {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeAnthropic {
    /// Binds `opts.listen` and serves on the current tokio runtime until dropped.
    pub async fn start(opts: Options) -> io::Result<FakeAnthropic> {
        let listener = tokio::net::TcpListener::bind(opts.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(server::Shared::new(opts));
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Anthropic server stopped");
            }
        });
        Ok(FakeAnthropic { addr, shared, task })
    }

    /// The address clients should use, e.g. `http://127.0.0.1:41234` (no trailing slash, the
    /// form `ANTHROPIC_BASE_URL` expects).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every authenticated JSON body received on `/v1/messages` and `/v1/chat/completions`, in
    /// arrival order, including those answered with an injected failure or a validation error
    /// (so retries can be counted).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.shared.requests()
    }

    /// Answers the next `count` model requests with `status` and its documented error type
    /// (429 `rate_limit_error` with `retry-after: 1`, 529 `overloaded_error`, 500 `api_error`,
    /// …). Statuses outside 400–599 are served as 500.
    pub fn fail_next(&self, status: u16, count: usize) {
        self.shared.fail_next(status, count);
    }

    /// Stops the server and waits for it to go; open connections are cut, not drained, because
    /// pooled keep-alive clients would otherwise hold it open.
    pub async fn shutdown(mut self) {
        self.task.abort();
        // The task can only end by the abort here; its result carries nothing to report.
        let _ = (&mut self.task).await;
    }
}

impl Drop for FakeAnthropic {
    fn drop(&mut self) {
        self.task.abort();
    }
}
