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
//! by the text's hash: each message is scanned once, not once per turn. A
//! string attribute holding a JSON array (`gen_ai.input.messages` and its
//! kin: the whole history, re-serialised every turn) is scanned element by
//! element for the same reason; the bytes between elements are kept as sent.

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
/// String attributes from this length on that hold a JSON array are
/// redacted element by element.
const ARRAY_MIN_BYTES: usize = 512;
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

    /// [`Redactor::text`] for a string that may hold a JSON array: each
    /// element is redacted (and cached) on its own, so a history resent with
    /// one more message costs one message. Anything else is one text.
    fn array_or_text(&self, s: &mut String, found: &mut Redactions) -> bool {
        if s.len() < ARRAY_MIN_BYTES || !s.starts_with('[') {
            return self.text(s, found);
        }
        let Ok(elements) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(s) else {
            return self.text(s, found);
        };
        // Each element borrows from `s`, so its address gives its offset.
        let base = s.as_ptr() as usize;
        let spans: Vec<(usize, &str)> = elements
            .iter()
            .map(|e| ((e.get().as_ptr() as usize).wrapping_sub(base), e.get()))
            .collect();
        if spans
            .iter()
            .any(|(start, raw)| s.get(*start..start + raw.len()) != Some(*raw))
        {
            return self.text(s, found);
        }
        let mut out = String::new();
        let mut copied = 0;
        let mut kept = true;
        for (start, raw) in spans {
            let Outcome::Found(hit) = self.outcome(raw) else {
                continue;
            };
            for (t, n) in &hit.1 {
                *found.entry(t.as_str().to_owned()).or_default() += n;
            }
            match &hit.0 {
                Some(redacted) => {
                    out.push_str(s.get(copied..start).unwrap_or_default());
                    out.push_str(redacted);
                    copied = start + raw.len();
                }
                None => kept = false,
            }
        }
        if kept && copied > 0 {
            out.push_str(s.get(copied..).unwrap_or_default());
            *s = out;
        }
        kept
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
            Value::String(s) => self.array_or_text(s, found),
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

    #[test]
    fn json_arrays_redacted_by_element_match_redacting_the_whole_string() {
        let filler = "Some ordinary words to make the history long enough. ".repeat(12);
        let arrays = [
            format!(
                r#"[{{"role":"system","content":"{filler}"}},{{"role":"user","content":"mail jane.doe@example.com or call +44 20 7946 0958"}},{{"role":"assistant","content":"Noted, Jane."}}]"#
            ),
            format!(
                r#"[{{"role": "user", "content": "{filler} my card is 4111 1111 1111 1111"}}, {{"role": "assistant", "content": "key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n done"}}]"#
            ),
            format!(r#"[ "{filler}", 42, null, {{"ip": "10.1.2.3"}} ]"#),
            format!(r#"[{{"role":"user","content":"{filler}"}}]"#),
            format!(r#"["{filler}", "unterminated"#),
        ];
        let policies = [
            Policy::default(),
            Policy::from_json(
                r#"{"default":"mask","types":{"secret":"drop","email":"pseudonymise"},"key":"0101010101010101010101010101010101010101010101010101010101010101"}"#,
            )
            .unwrap(),
        ];
        for policy in policies {
            for array in &arrays {
                let (mut by_element, mut whole) = (array.clone(), array.clone());
                let (mut found_e, mut found_w) = (Redactions::new(), Redactions::new());
                let kept_e =
                    Redactor::new(policy.clone()).array_or_text(&mut by_element, &mut found_e);
                let kept_w = Redactor::new(policy.clone()).text(&mut whole, &mut found_w);
                assert_eq!(kept_e, kept_w, "{array}");
                assert_eq!(found_e, found_w, "{array}");
                if kept_e {
                    assert_eq!(by_element, whole, "{array}");
                }
            }
        }
    }

    #[test]
    fn a_clean_json_array_is_left_byte_for_byte() {
        let r = Redactor::new(Policy::default());
        let mut s = format!(r#"[ {{"a" : "{}"}} ,  {{"b":1}} ]"#, "word ".repeat(200));
        let original = s.clone();
        assert!(r.array_or_text(&mut s, &mut Redactions::new()));
        assert_eq!(s, original);
    }
}
