//! `glassbox demo`'s workload: a day of multi-step Claude agent runs from
//! three services, as OpenTelemetry GenAI semantic-convention spans (with
//! OpenLLMetry's prompt-version attribute), sent over real OTLP/HTTP.
//!
//! It is built to make every screen say something: several releases and
//! prompt versions, tool errors, overloaded-then-retried model calls, prompt
//! caching (writes on a session's first call, reads after), a cost spike (an
//! hour of Opus with huge contexts) and a slow release (2026.11.2 of the
//! support agent doubles model and tool latency). Deterministic for a seed.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use prost::Message;
use serde_json::json;

const HOUR: u64 = 3_600_000_000_000;
const MS: u64 = 1_000_000;

/// What the workload contains, for a test to check the store against.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expected {
    pub traces: u64,
    pub spans: u64,
    /// Model calls, counting failed attempts.
    pub llm_calls: u64,
    pub failed_llm_calls: u64,
    /// Uncached input tokens.
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
}

pub struct Workload {
    /// OTLP/protobuf `ExportTraceServiceRequest` bodies, one per service batch.
    pub requests: Vec<Vec<u8>>,
    pub expected: Expected,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("could not reach {url}: {source}; is `glassbox serve` running there?")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("{url} answered {status}: {body}")]
    Rejected {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
}

/// Sends the workload to an OTLP/HTTP endpoint (`http://host:4318`),
/// calling `progress(sent, total)` after each request.
pub async fn send(
    endpoint: &str,
    workload: &Workload,
    mut progress: impl FnMut(usize, usize),
) -> Result<(), DemoError> {
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::new();
    for (i, body) in workload.requests.iter().enumerate() {
        let resp = client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(body.clone())
            .send()
            .await
            .map_err(|source| DemoError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(DemoError::Rejected { url, status, body });
        }
        progress(i + 1, workload.requests.len());
    }
    Ok(())
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: small, fast, deterministic; no statistical claims needed.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn id<const N: usize>(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(N);
        while out.len() < N {
            out.extend_from_slice(&self.next().to_be_bytes());
        }
        out.truncate(N);
        out
    }
}

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}
fn s(k: &str, v: impl Into<String>) -> KeyValue {
    kv(k, any_value::Value::StringValue(v.into()))
}
fn i(k: &str, v: u64) -> KeyValue {
    kv(k, any_value::Value::IntValue(v as i64))
}
fn strings(k: &str, v: &[&str]) -> KeyValue {
    kv(
        k,
        any_value::Value::ArrayValue(ArrayValue {
            values: v
                .iter()
                .map(|x| AnyValue {
                    value: Some(any_value::Value::StringValue((*x).into())),
                })
                .collect(),
        }),
    )
}

struct Tool {
    name: &'static str,
    args: fn(&mut Rng) -> serde_json::Value,
    result: fn(&mut Rng) -> serde_json::Value,
    error: &'static str,
}

struct Agent {
    service: &'static str,
    agent: &'static str,
    system: &'static str,
    questions: &'static [&'static str],
    answers: &'static [&'static str],
    tools: &'static [Tool],
    model: &'static str,
    system_tokens: u64,
}

const SUPPORT: Agent = Agent {
    service: "support-agent",
    agent: "support",
    system: "You are Acme's support agent. Look orders up before answering, never promise refunds above $500 without a human, and answer in the customer's language.",
    questions: &[
        "Where is my order A-4821? It was supposed to arrive yesterday.",
        "I was charged twice for my laptop, can you refund one of the charges?",
        "Can I change the delivery address of order A-7730 to my office?",
        "The headphones I received are damaged. How do I return them?",
        "Do you ship to Norway, and how long does it take?",
    ],
    answers: &[
        "Your order left our warehouse on Monday and is with the carrier; tracking shows delivery tomorrow before noon.",
        "I found the duplicate charge and started a refund of $1,249.00; it appears on your statement within 5 business days.",
        "Done: the delivery address is updated. The carrier confirmed the change.",
        "I'm sorry about that. I created return label RMA-5521; drop the parcel at any post office within 14 days.",
        "Yes, we ship to Norway in 3–5 business days; duties are included at checkout.",
    ],
    tools: &[
        Tool {
            name: "lookup_order",
            args: |r| json!({"order_id": format!("A-{}", r.range(1000, 9999))}),
            result: |r| json!({"status": "in_transit", "carrier": "DHL", "eta_days": r.range(1, 4)}),
            error: "OrderServiceTimeout: orders API did not answer within 5s",
        },
        Tool {
            name: "issue_refund",
            args: |r| json!({"order_id": format!("A-{}", r.range(1000, 9999)), "amount_usd": r.range(20, 1300)}),
            result: |_| json!({"refund_id": "rf_82c1", "state": "pending"}),
            error: "PaymentGatewayError: card network declined the reversal",
        },
        Tool {
            name: "search_help_center",
            args: |_| json!({"query": "international shipping times"}),
            result: |_| json!([{"title": "Shipping abroad", "snippet": "We ship to 42 countries…"}]),
            error: "SearchUnavailable: index is rebuilding",
        },
    ],
    model: "claude-sonnet-4-6",
    system_tokens: 2_400,
};

const REVIEW: Agent = Agent {
    service: "code-review-agent",
    agent: "reviewer",
    system: "You review pull requests. Read the diff, run the tests, and leave precise, actionable comments. Never approve a change that lowers test coverage.",
    questions: &[
        "Review PR #1432: add retry with backoff to the payments client.",
        "Review PR #1437: migrate the session store to Redis.",
        "Review PR #1440: bump tokio to 1.48 and fix the deprecations.",
    ],
    answers: &[
        "Two issues: the retry loop does not cap total time, and the jitter uses a non-seeded RNG in tests. Otherwise LGTM.",
        "The migration drops TTLs on existing keys; add EXPIRE in the backfill. Tests pass.",
        "Approved: deprecations fixed and all 412 tests pass.",
    ],
    tools: &[
        Tool {
            name: "get_diff",
            args: |r| json!({"pr": r.range(1400, 1450)}),
            result: |r| json!({"files": r.range(2, 14), "additions": r.range(10, 400), "deletions": r.range(0, 120)}),
            error: "GitHubError: 502 Bad Gateway",
        },
        Tool {
            name: "run_tests",
            args: |_| json!({"suite": "unit"}),
            result: |r| json!({"passed": r.range(380, 412), "failed": 0}),
            error: "TestRunnerError: container exited with code 137 (out of memory)",
        },
    ],
    model: "claude-sonnet-4-5-20250929",
    system_tokens: 3_100,
};

const RESEARCH: Agent = Agent {
    service: "research-agent",
    agent: "researcher",
    system: "You are a research analyst. Search the corpus, read the most relevant documents in full, and write a cited brief.",
    questions: &[
        "Summarise the Q3 churn drivers for the enterprise segment.",
        "What did competitors announce about agent pricing this quarter?",
        "Compare our incident rate with last year's, by service.",
    ],
    answers: &[
        "Churn rose 1.8 points, driven by onboarding delays (41% of exits) and missing SSO (23%) [1][3].",
        "Three competitors moved to per-task pricing; two added free tiers for evaluation [2][5].",
        "Incidents fell 22% year over year; payments improved most, search regressed [4].",
    ],
    tools: &[Tool {
        name: "search_documents",
        args: |_| json!({"query": "enterprise churn Q3", "top_k": 8}),
        result: |r| json!({"documents": r.range(3, 9), "tokens": r.range(8_000, 30_000)}),
        error: "VectorStoreError: connection reset by peer",
    }],
    model: "claude-haiku-4-5-20251001",
    system_tokens: 1_200,
};

struct Builder<'a> {
    rng: &'a mut Rng,
    trace_id: Vec<u8>,
    spans: Vec<Span>,
    expected: &'a mut Expected,
}

impl Builder<'_> {
    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        parent: &[u8],
        name: String,
        kind: i32,
        start: u64,
        end: u64,
        attributes: Vec<KeyValue>,
        error: Option<&str>,
    ) -> Vec<u8> {
        let id = self.rng.id::<8>();
        self.expected.spans += 1;
        self.spans.push(Span {
            trace_id: self.trace_id.clone(),
            span_id: id.clone(),
            parent_span_id: parent.to_vec(),
            name,
            kind,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            status: Some(match error {
                Some(m) => Status {
                    code: status::StatusCode::Error as i32,
                    message: m.into(),
                },
                None => Status::default(),
            }),
            ..Default::default()
        });
        id
    }
}

/// A day of runs ending at `now_unix_nano`.
pub fn generate(now_unix_nano: u64, runs: usize, seed: u64) -> Workload {
    let mut rng = Rng(seed | 1);
    let mut expected = Expected::default();
    let start_of_day = now_unix_nano.saturating_sub(24 * HOUR);
    let mut by_service: Vec<(&'static str, &'static str, Vec<Span>)> = Vec::new();
    let mut session: Option<(String, String, u32)> = None;
    for run in 0..runs {
        let t0 = start_of_day
            + (24 * HOUR) * run as u64 / runs.max(1) as u64
            + rng.range(0, 60_000) * MS;
        let hours_ago = now_unix_nano.saturating_sub(t0) / HOUR;
        let agent = match rng.next() % 10 {
            0..=5 => &SUPPORT,
            6..=7 => &REVIEW,
            _ => &RESEARCH,
        };
        // Support shipped 2026.11.2 eight hours ago, and it is slow.
        let (release, slow) = match agent.service {
            "support-agent" if hours_ago < 8 => ("2026.11.2", 2.0),
            "support-agent" => ("2026.11.1", 1.0),
            "code-review-agent" => ("1.4.0", 1.0),
            _ => ("0.9.2", 1.0),
        };
        let prompt_version = match agent.service {
            "support-agent" if hours_ago < 12 => "support-v2",
            "support-agent" => "support-v1",
            "code-review-agent" => "review-v3",
            _ => "research-v1",
        };
        // The cost spike: for an hour, research runs on Opus with huge contexts.
        let spike = agent.service == "research-agent" && hours_ago == 5;
        let model = if spike {
            "claude-opus-4-6"
        } else {
            agent.model
        };
        // Sessions of 1–4 runs by one user; the first call of a session writes the cache.
        let fresh = match &mut session {
            Some((_, _, left)) if *left > 0 => {
                *left -= 1;
                false
            }
            _ => {
                session = Some((
                    format!("sess-{:08x}", rng.next() as u32),
                    format!("user-{}", rng.range(1, 41)),
                    rng.range(0, 4) as u32,
                ));
                true
            }
        };
        let (session_id, user_id) = session
            .as_ref()
            .map(|(s, u, _)| (s.clone(), u.clone()))
            .unwrap_or_default();
        expected.traces += 1;
        let q = rng.range(0, agent.questions.len() as u64) as usize;
        let question = agent.questions[q];
        let answer = agent.answers[q % agent.answers.len()];
        let mut b = Builder {
            trace_id: rng.id::<16>(),
            rng: &mut rng,
            spans: Vec::new(),
            expected: &mut expected,
        };
        let root_id = b.rng.id::<8>();
        let mut t = t0 + 5 * MS;
        let mut history =
            vec![json!({"role": "user", "parts": [{"type": "text", "content": question}]})];
        let steps = b.rng.range(1, 4);
        let mut first_call = fresh;
        for step in 0..=steps {
            let last = step == steps;
            // ~6% of calls are refused as overloaded first, then retried.
            if b.rng.chance(6) {
                let end = t + b.rng.range(200, 900) * MS;
                b.expected.llm_calls += 1;
                b.expected.failed_llm_calls += 1;
                b.span(
                    &root_id,
                    format!("chat {model}"),
                    3,
                    t,
                    end,
                    vec![
                        s("gen_ai.operation.name", "chat"),
                        s("gen_ai.provider.name", "anthropic"),
                        s("gen_ai.request.model", model),
                        s("error.type", "overloaded_error"),
                        s("traceloop.prompt.version", prompt_version),
                        s("session.id", session_id.clone()),
                        s("user.id", user_id.clone()),
                    ],
                    Some("529 overloaded_error: Overloaded"),
                );
                t = end + b.rng.range(500, 2000) * MS;
            }
            let tool = b.rng.pick(agent.tools);
            let call_id = format!("toolu_{:016x}", b.rng.next());
            let args = (tool.args)(b.rng);
            let output_parts = if last {
                json!([{"type": "text", "content": answer}])
            } else {
                json!([{"type": "text", "content": "Let me check that."},
                       {"type": "tool_call", "id": call_id, "name": tool.name, "arguments": args}])
            };
            let context = history.len() as u64 * 350;
            let (cache_write, cache_read) = if first_call {
                (agent.system_tokens, 0)
            } else {
                (0, agent.system_tokens)
            };
            first_call = false;
            let uncached = if spike {
                b.rng.range(120_000, 180_000)
            } else {
                context + b.rng.range(40, 400)
            };
            let output = if last {
                b.rng.range(120, 700)
            } else {
                b.rng.range(30, 160)
            };
            let latency =
                ((400 + output * 9 + uncached / 200) as f64 * slow) as u64 + b.rng.range(0, 400);
            let end = t + latency * MS;
            let response_id = format!("msg_{:016x}{:08x}", b.rng.next(), b.rng.next() as u32);
            b.expected.llm_calls += 1;
            b.expected.input_tokens += uncached;
            b.expected.output_tokens += output;
            b.expected.cache_read_tokens += cache_read;
            b.expected.cache_write_tokens += cache_write;
            b.span(
                &root_id,
                format!("chat {model}"),
                3,
                t,
                end,
                vec![
                    s("gen_ai.operation.name", "chat"),
                    s("gen_ai.provider.name", "anthropic"),
                    s("gen_ai.request.model", model),
                    s("gen_ai.response.model", model),
                    s("gen_ai.response.id", response_id),
                    i("gen_ai.request.max_tokens", 4096),
                    kv("gen_ai.request.temperature", any_value::Value::DoubleValue(0.2)),
                    i("gen_ai.usage.input_tokens", uncached + cache_read + cache_write),
                    i("gen_ai.usage.output_tokens", output),
                    i("gen_ai.usage.cache_read.input_tokens", cache_read),
                    i("gen_ai.usage.cache_creation.input_tokens", cache_write),
                    strings("gen_ai.response.finish_reasons", &[if last { "end_turn" } else { "tool_use" }]),
                    s("gen_ai.system_instructions", json!([{"type": "text", "content": agent.system}]).to_string()),
                    s("gen_ai.input.messages", serde_json::Value::Array(history.clone()).to_string()),
                    s("gen_ai.output.messages", json!([{"role": "assistant", "parts": output_parts, "finish_reason": if last { "end_turn" } else { "tool_use" }}]).to_string()),
                    s("traceloop.prompt.version", prompt_version),
                    s("session.id", session_id.clone()),
                    s("user.id", user_id.clone()),
                ],
                None,
            );
            history.push(json!({"role": "assistant", "parts": output_parts}));
            t = end + 3 * MS;
            if last {
                break;
            }
            let failed = b.rng.chance(8);
            let tool_ms = (b.rng.range(30, 900) as f64 * slow) as u64;
            let end = t + tool_ms * MS;
            let result = (tool.result)(b.rng);
            b.expected.tool_calls += 1;
            b.expected.tool_errors += u64::from(failed);
            let mut attrs = vec![
                s("gen_ai.operation.name", "execute_tool"),
                s("gen_ai.tool.name", tool.name),
                s("gen_ai.tool.call.id", call_id.clone()),
                s("gen_ai.tool.call.arguments", args.to_string()),
            ];
            if failed {
                attrs.push(s(
                    "error.type",
                    tool.error.split(':').next().unwrap_or("error"),
                ));
            } else {
                attrs.push(s("gen_ai.tool.call.result", result.to_string()));
            }
            b.span(
                &root_id,
                format!("execute_tool {}", tool.name),
                1,
                t,
                end,
                attrs,
                failed.then_some(tool.error),
            );
            let response = if failed { json!(tool.error) } else { result };
            history.push(json!({"role": "tool", "parts": [{"type": "tool_call_response", "id": call_id, "response": response}]}));
            t = end + 3 * MS;
        }
        let root = Span {
            trace_id: b.trace_id.clone(),
            span_id: root_id.clone(),
            name: format!("invoke_agent {}", agent.agent),
            kind: 1,
            start_time_unix_nano: t0,
            end_time_unix_nano: t + 2 * MS,
            attributes: vec![
                s("gen_ai.operation.name", "invoke_agent"),
                s("gen_ai.agent.name", agent.agent),
                s("gen_ai.provider.name", "anthropic"),
                s("session.id", session_id.clone()),
                s("user.id", user_id.clone()),
            ],
            status: Some(Status::default()),
            ..Default::default()
        };
        b.expected.spans += 1;
        let mut spans = std::mem::take(&mut b.spans);
        spans.insert(0, root);
        match by_service
            .iter_mut()
            .find(|(svc, rel, _)| *svc == agent.service && *rel == release)
        {
            Some((_, _, v)) => v.extend(spans),
            None => by_service.push((agent.service, release, spans)),
        }
    }
    let mut requests = Vec::new();
    for (service, release, spans) in by_service {
        for chunk in spans.chunks(512) {
            let req = ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![
                            s("service.name", service),
                            s("service.version", release),
                            s("deployment.environment.name", "demo"),
                            s("telemetry.sdk.language", "python"),
                        ],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "glassbox.demo".into(),
                            version: env!("CARGO_PKG_VERSION").into(),
                            ..Default::default()
                        }),
                        spans: chunk.to_vec(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            requests.push(req.encode_to_vec());
        }
    }
    Workload { requests, expected }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let now = 1_795_000_000_000_000_000;
        let a = generate(now, 300, 7);
        let b = generate(now, 300, 7);
        assert_eq!(a.requests, b.requests);
        assert_eq!(a.expected.traces, 300);
        assert!(a.expected.failed_llm_calls > 0, "some calls are retried");
        assert!(a.expected.tool_errors > 0, "some tools fail");
        assert!(a.expected.cache_read_tokens > 0 && a.expected.cache_write_tokens > 0);
        assert_ne!(generate(now, 300, 8).requests, a.requests);
    }
}
