//! A generated corpus of realistic agent traffic: sessions of turns, each turn
//! a trace with an agent span, model calls whose input is the whole
//! conversation so far (1–8 KB of messages, growing turn by turn) and a tool
//! call. Deterministic, so every system under test gets the same bytes.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

pub const SPANS_PER_REQUEST: usize = 256;
const TURNS_PER_SESSION: usize = 10;
const BASE_NS: u64 = 1_795_000_000_000_000_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

const WORDS: &[&str] = &[
    "order", "refund", "shipping", "laptop", "warranty", "please", "customer", "ticket", "status",
    "delivery", "the", "a", "is", "was", "we", "you", "can", "check", "account", "invoice",
    "damaged", "return", "policy",
];

fn sentence(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    while s.len() < bytes {
        s.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
        s.push(' ');
    }
    s
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
fn i(k: &str, v: i64) -> KeyValue {
    kv(k, any_value::Value::IntValue(v))
}

/// `n_spans` spans packed into OTLP/protobuf request bodies of SPANS_PER_REQUEST spans.
pub struct Corpus {
    pub requests: Vec<Vec<u8>>,
    pub spans: usize,
    pub trace_ids: Vec<String>,
}

pub fn generate(n_spans: usize, seed: u64) -> Corpus {
    let mut rng = Rng(seed | 1);
    let models = [
        "claude-sonnet-4-6",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-6",
    ];
    let mut spans: Vec<Span> = Vec::with_capacity(SPANS_PER_REQUEST);
    let mut requests = Vec::new();
    let mut trace_ids = Vec::new();
    let mut total = 0usize;
    let mut session = 0u64;
    let resource = Resource {
        attributes: vec![
            s("service.name", "support-agent"),
            s("service.version", "2026.11.3"),
            s("deployment.environment.name", "bench"),
        ],
        ..Default::default()
    };
    let flush = |spans: &mut Vec<Span>, requests: &mut Vec<Vec<u8>>| {
        if spans.is_empty() {
            return;
        }
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "glassbox.bench".into(),
                        version: "1".into(),
                        ..Default::default()
                    }),
                    spans: std::mem::take(spans),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        requests.push(req.encode_to_vec());
    };
    'outer: loop {
        session += 1;
        let model = models[(session % 3) as usize];
        let user = format!("user-{}", session % 97);
        let mut history: Vec<serde_json::Value> = Vec::new();
        for turn in 0..TURNS_PER_SESSION {
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&session.to_be_bytes());
            trace_id[8..].copy_from_slice(&(turn as u64 + 1).to_be_bytes());
            trace_ids.push(trace_id.iter().map(|b| format!("{b:02x}")).collect());
            let start = BASE_NS + session * 60_000_000_000 + turn as u64 * 5_000_000_000;
            let root_id = rng.next().to_be_bytes().to_vec();
            history.push(serde_json::json!({"role": "user", "parts": [{"type": "text", "content": sentence(&mut rng, 300)}]}));
            let mut turn_spans = vec![Span {
                trace_id: trace_id.to_vec(),
                span_id: root_id.clone(),
                name: "invoke_agent support".into(),
                kind: 1,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 3_000_000_000,
                attributes: vec![
                    s("gen_ai.operation.name", "invoke_agent"),
                    s("gen_ai.agent.name", "support"),
                    s("session.id", format!("s-{session}")),
                    s("user.id", user.clone()),
                ],
                ..Default::default()
            }];
            for call in 0..2u64 {
                let len = rng.range(200, 600) as usize;
                let output = sentence(&mut rng, len);
                let input_json = serde_json::to_string(&history).unwrap_or_default();
                let cached = (input_json.len() / 4) as i64;
                let call_start = start + 10_000_000 + call * 1_400_000_000;
                turn_spans.push(Span {
                    trace_id: trace_id.to_vec(),
                    span_id: rng.next().to_be_bytes().to_vec(),
                    parent_span_id: root_id.clone(),
                    name: format!("chat {model}"),
                    kind: 3,
                    start_time_unix_nano: call_start,
                    end_time_unix_nano: call_start + rng.range(300_000_000, 1_300_000_000),
                    attributes: vec![
                        s("gen_ai.operation.name", "chat"),
                        s("gen_ai.provider.name", "anthropic"),
                        s("gen_ai.request.model", model),
                        s("gen_ai.response.model", model),
                        s("gen_ai.response.id", format!("msg_{:016x}{:016x}", rng.next(), rng.next())),
                        i("gen_ai.usage.input_tokens", cached + rng.range(50, 400) as i64),
                        i("gen_ai.usage.cache_read.input_tokens", cached),
                        i("gen_ai.usage.output_tokens", rng.range(40, 400) as i64),
                        s("gen_ai.input.messages", input_json),
                        s("gen_ai.output.messages", serde_json::json!([{"role": "assistant", "parts": [{"type": "text", "content": output}]}]).to_string()),
                        s("session.id", format!("s-{session}")),
                    ],
                    status: Some(Status::default()),
                    ..Default::default()
                });
                history.push(serde_json::json!({"role": "assistant", "parts": [{"type": "text", "content": output}]}));
            }
            let result_len = rng.range(500, 1500) as usize;
            let tool_result = sentence(&mut rng, result_len);
            turn_spans.push(Span {
                trace_id: trace_id.to_vec(),
                span_id: rng.next().to_be_bytes().to_vec(),
                parent_span_id: root_id.clone(),
                name: "execute_tool lookup_order".into(),
                kind: 1,
                start_time_unix_nano: start + 1_000_000_000,
                end_time_unix_nano: start + 1_300_000_000,
                attributes: vec![
                    s("gen_ai.operation.name", "execute_tool"),
                    s("gen_ai.tool.name", "lookup_order"),
                    s(
                        "gen_ai.tool.call.arguments",
                        format!("{{\"order_id\":\"A-{}\"}}", rng.range(1000, 9999)),
                    ),
                    s("gen_ai.tool.call.result", tool_result),
                ],
                ..Default::default()
            });
            for sp in turn_spans {
                spans.push(sp);
                total += 1;
                if spans.len() == SPANS_PER_REQUEST {
                    flush(&mut spans, &mut requests);
                }
                if total >= n_spans {
                    break 'outer;
                }
            }
        }
    }
    flush(&mut spans, &mut requests);
    Corpus {
        requests,
        spans: total,
        trace_ids,
    }
}

/// One agent run of `n_spans` spans (a root, then alternating model and tool
/// calls), as one OTLP/protobuf request: the UI's worst realistic trace.
pub fn big_trace(n_spans: usize, seed: u64) -> (String, Vec<u8>) {
    let mut rng = Rng(seed | 1);
    let trace_id: Vec<u8> = (0..16).map(|_| (rng.next() & 0xff) as u8).collect();
    let root_id = rng.next().to_be_bytes().to_vec();
    let start = BASE_NS + 10 * 86_400_000_000_000;
    let mut spans = vec![Span {
        trace_id: trace_id.clone(),
        span_id: root_id.clone(),
        name: "invoke_agent long-task".into(),
        kind: 1,
        start_time_unix_nano: start,
        end_time_unix_nano: start + n_spans as u64 * 100_000_000,
        attributes: vec![s("gen_ai.operation.name", "invoke_agent")],
        ..Default::default()
    }];
    for n in 1..n_spans as u64 {
        let t = start + n * 100_000_000;
        let attributes = if n % 2 == 1 {
            let question = sentence(&mut rng, 400);
            let answer = sentence(&mut rng, 300);
            vec![
                s("gen_ai.operation.name", "chat"),
                s("gen_ai.provider.name", "anthropic"),
                s("gen_ai.request.model", "claude-sonnet-4-6"),
                s("gen_ai.response.model", "claude-sonnet-4-6"),
                i("gen_ai.usage.input_tokens", rng.range(500, 5000) as i64),
                i("gen_ai.usage.output_tokens", rng.range(40, 400) as i64),
                s("gen_ai.input.messages", serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": question}]}]).to_string()),
                s("gen_ai.output.messages", serde_json::json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]).to_string()),
            ]
        } else {
            vec![
                s("gen_ai.operation.name", "execute_tool"),
                s("gen_ai.tool.name", "read_file"),
                s(
                    "gen_ai.tool.call.arguments",
                    format!("{{\"path\":\"src/{n}.rs\"}}"),
                ),
                s("gen_ai.tool.call.result", sentence(&mut rng, 500)),
            ]
        };
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id: rng.next().to_be_bytes().to_vec(),
            parent_span_id: root_id.clone(),
            name: if n % 2 == 1 {
                "chat claude-sonnet-4-6".into()
            } else {
                "execute_tool read_file".into()
            },
            kind: if n % 2 == 1 { 3 } else { 1 },
            start_time_unix_nano: t,
            end_time_unix_nano: t + 90_000_000,
            attributes,
            ..Default::default()
        });
    }
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![s("service.name", "long-agent")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let hex = trace_id.iter().map(|b| format!("{b:02x}")).collect();
    (hex, req.encode_to_vec())
}
