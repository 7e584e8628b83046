//! Redaction: PII and secrets are found and replaced in the pipeline, before
//! anything reaches the store, so the store (and every backup, export and
//! screen fed from it) never holds them.
//!
//! Every string a span or log carries is scanned: attribute values (also
//! inside JSON documents held as strings, such as `gen_ai.input.messages`),
//! resource attributes, event attributes, status messages, message content,
//! system instructions, tool arguments, results and errors, and the user id.
//! What was found is recorded on the record as counts by type, never values.
//! Agents resend the whole conversation on every call, so results are cached
//! by the text's hash: each message is scanned once, not once per turn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use glassbox_model::{LogRecord, Message, Part, Redactions, Span};
use glassbox_redact::{Action, Detector, EntityType, Policy};
use serde_json::Value;

/// What a text becomes: unchanged (the common case, cached as 16 bytes of
/// key), or its redaction (`None` text when the policy drops it).
#[derive(Clone)]
enum Outcome {
    Clean,
    Found(Arc<Found>),
}

/// The redacted text (`None` when dropped) and the findings by type.
type Found = (Option<String>, Vec<(EntityType, u32)>);

/// Texts remembered at most; the cache is emptied when full (it refills
/// with the live conversations within a few requests).
const CACHE_ENTRIES: usize = 100_000;
/// Shorter strings are not worth caching (ids, enums, numbers as text).
const CACHE_MIN_BYTES: usize = 64;
/// What a dropped message text or attribute element becomes.
const DROPPED: &str = "[REDACTED]";

pub struct Redactor {
    detector: Detector,
    policy: Policy,
    cache: Mutex<HashMap<[u8; 16], Outcome>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("default", &self.policy.default)
            .finish_non_exhaustive()
    }
}

impl Redactor {
    pub fn new(policy: Policy) -> Redactor {
        Redactor {
            detector: Detector::new(),
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn outcome(&self, text: &str) -> Outcome {
        let compute = || {
            let r = glassbox_redact::redact(&self.detector, &self.policy, text);
            if r.findings.is_empty() {
                Outcome::Clean
            } else {
                Outcome::Found(Arc::new((r.text, r.findings)))
            }
        };
        if text.len() < CACHE_MIN_BYTES {
            return compute();
        }
        let key: [u8; 16] = blake3::hash(text.as_bytes()).as_bytes()[..16]
            .try_into()
            .unwrap_or_default();
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return hit;
        }
        let out = compute();
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_ENTRIES {
                c.clear();
            }
            c.insert(key, out.clone());
        }
        out
    }

    /// Redacts `s` in place; returns false when the policy drops it.
    fn text(&self, s: &mut String, found: &mut Redactions) -> bool {
        if s.is_empty() {
            return true;
        }
        let Outcome::Found(out) = self.outcome(s) else {
            return true;
        };
        for (t, n) in &out.1 {
            *found.entry(t.as_str().to_owned()).or_default() += n;
        }
        match &out.0 {
            Some(redacted) => {
                s.clone_from(redacted);
                true
            }
            None => false,
        }
    }

    /// Redacts `s`; a dropped text becomes [`DROPPED`].
    fn text_or_dropped(&self, s: &mut String, found: &mut Redactions) {
        if !self.text(s, found) {
            *s = DROPPED.to_owned();
        }
    }

    /// Redacts every string inside a JSON value; a dropped string becomes [`DROPPED`].
    fn json(&self, v: &mut Value, found: &mut Redactions) {
        match v {
            Value::String(s) => self.text_or_dropped(s, found),
            Value::Array(a) => a.iter_mut().for_each(|x| self.json(x, found)),
            Value::Object(o) => o.values_mut().for_each(|x| self.json(x, found)),
            _ => {}
        }
    }

    /// Attributes: a top-level value the policy drops is removed entirely.
    fn attributes(&self, attrs: &mut glassbox_model::Attributes, found: &mut Redactions) {
        attrs.retain(|_, v| match v {
            Value::String(s) => self.text(s, found),
            other => {
                self.json(other, found);
                true
            }
        });
    }

    fn messages(&self, messages: &mut [Message], found: &mut Redactions) {
        for m in messages {
            for p in &mut m.parts {
                match p {
                    Part::Text { text } => self.text_or_dropped(text, found),
                    Part::ToolCall { arguments, .. } => self.json(arguments, found),
                    Part::ToolResult { content, .. } => self.json(content, found),
                    Part::Other { value } => self.json(value, found),
                }
            }
        }
    }

    fn optional(&self, s: &mut Option<String>, found: &mut Redactions) {
        if let Some(text) = s
            && !self.text(text, found)
        {
            *s = Some(DROPPED.to_owned());
        }
    }

    pub fn span(&self, span: &mut Span) {
        let mut found = Redactions::new();
        self.attributes(&mut span.attributes, &mut found);
        self.attributes(&mut span.resource, &mut found);
        for e in &mut span.events {
            self.attributes(&mut e.attributes, &mut found);
        }
        self.text_or_dropped(&mut span.status.message, &mut found);
        if let Some(c) = span.model_call.as_mut() {
            self.messages(&mut c.input_messages, &mut found);
            self.messages(&mut c.output_messages, &mut found);
            self.optional(&mut c.system_instructions, &mut found);
            if let Some(defs) = c.tool_definitions.as_mut() {
                self.json(defs, &mut found);
            }
        }
        if let Some(t) = span.tool.as_mut() {
            if let Some(a) = t.arguments.as_mut() {
                self.json(a, &mut found);
            }
            if let Some(r) = t.result.as_mut() {
                self.json(r, &mut found);
            }
            self.optional(&mut t.error, &mut found);
        }
        self.optional(&mut span.grouping.user_id, &mut found);
        span.redactions = found;
    }

    pub fn log(&self, log: &mut LogRecord) {
        let mut found = Redactions::new();
        self.json(&mut log.body, &mut found);
        self.attributes(&mut log.attributes, &mut found);
        self.attributes(&mut log.resource, &mut found);
        if let Some(c) = log.model_call.as_mut() {
            self.messages(&mut c.input_messages, &mut found);
            self.messages(&mut c.output_messages, &mut found);
            self.optional(&mut c.system_instructions, &mut found);
        }
        self.optional(&mut log.grouping.user_id, &mut found);
        log.redactions = found;
    }

    /// Whether the policy keeps any type as it is (allowed only when content
    /// is encrypted at rest).
    pub fn keeps_values(&self) -> bool {
        self.policy.default == Action::Keep
            || self.policy.types.values().any(|a| *a == Action::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::{ModelCall, SpanId, ToolCall, TraceId};

    fn span() -> Span {
        Span {
            trace_id: TraceId::from_bytes(&[1; 16]).unwrap(),
            span_id: SpanId::from_bytes(&[2; 8]).unwrap(),
            parent_span_id: None,
            name: "chat".into(),
            otel_kind: 0,
            start_unix_nano: 0,
            end_unix_nano: 0,
            status: Default::default(),
            scope_name: String::new(),
            scope_version: String::new(),
            resource: Default::default(),
            attributes: Default::default(),
            events: Vec::new(),
            kind: Default::default(),
            grouping: Default::default(),
            model_call: None,
            tool: None,
            tool_failed: false,
            redactions: Default::default(),
        }
    }

    #[test]
    fn every_string_of_a_span_is_redacted_and_counted() {
        let r = Redactor::new(Policy::default());
        let mut span = span();
        span.attributes.insert(
            "gen_ai.input.messages".into(),
            Value::String(
                r#"[{"role":"user","content":"mail me at jane.doe@example.com"}]"#.into(),
            ),
        );
        span.attributes.insert("n".into(), Value::from(42));
        span.status.message =
            "auth failed for sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
        span.model_call = Some(ModelCall {
            input_messages: vec![Message {
                role: "user".into(),
                parts: vec![Part::Text {
                    text: "My email is jane.doe@example.com".into(),
                }],
            }],
            ..Default::default()
        });
        span.tool = Some(ToolCall {
            name: "lookup".into(),
            arguments: Some(serde_json::json!({"email": "jane.doe@example.com"})),
            ..Default::default()
        });
        r.span(&mut span);
        let all = serde_json::to_string(&span).unwrap();
        assert!(!all.contains("jane.doe@example.com"), "{all}");
        assert!(!all.contains("sk-ant-api03"), "{all}");
        assert!(all.contains("[EMAIL]"));
        assert_eq!(span.redactions.get("EMAIL"), Some(&3));
        assert_eq!(span.redactions.get("SECRET"), Some(&1));
        assert_eq!(span.attributes["n"], 42, "numbers untouched");
    }

    #[test]
    fn drop_removes_attributes_and_pseudonyms_join() {
        let policy = Policy::from_json(
            r#"{"default":"mask","types":{"secret":"drop","email":"pseudonymise"},"key":"0101010101010101010101010101010101010101010101010101010101010101"}"#,
        )
        .unwrap();
        let r = Redactor::new(policy);
        let mut a = span();
        a.attributes.insert(
            "token".into(),
            Value::String("ghp_abcdefghijklmnopqrstuvwxyz0123456789".into()),
        );
        a.attributes.insert(
            "who".into(),
            Value::String("write to jane.doe@example.com".into()),
        );
        let mut b = a.clone();
        r.span(&mut a);
        r.span(&mut b);
        assert!(!a.attributes.contains_key("token"), "dropped");
        let who = a.attributes["who"].as_str().unwrap().to_owned();
        assert!(who.starts_with("write to [EMAIL:"), "{who}");
        assert_eq!(
            who,
            b.attributes["who"].as_str().unwrap(),
            "same value, same token"
        );
        assert!(!r.keeps_values());
    }
}
