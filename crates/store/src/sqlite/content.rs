//! How span content is laid out at rest.
//!
//! Agents resend the whole conversation on every turn, so the Nth model call
//! carries N messages of which N-1 were already stored. Content is therefore
//! stored by hash, one message at a time: canonical messages as blobs, and
//! large JSON-array attribute values (e.g. `gen_ai.input.messages`) as a list
//! of per-element blobs, used only when the stored form rebuilds the original
//! string byte for byte. Everything else is one zstd-compressed JSON document
//! per span.

use std::io;

use glassbox_model::{Attributes, Message};
use serde::Serialize;
use serde_json::{Value, ser::Formatter};

/// Attribute strings shorter than this are kept inline.
const SPLIT_MIN_BYTES: usize = 1024;
const ZSTD_LEVEL: i32 = 1;

pub type Hash = [u8; 16];

pub fn hash(bytes: &[u8]) -> Hash {
    let full = blake3::hash(bytes);
    let mut h = [0u8; 16];
    h.copy_from_slice(&full.as_bytes()[..16]);
    h
}

pub fn compress(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, ZSTD_LEVEL).unwrap_or_else(|_| bytes.to_vec())
}

pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    zstd::stream::decode_all(bytes).map_err(|e| format!("zstd: {e}"))
}

/// Blobs produced while encoding one record, to insert-or-ignore by hash.
#[derive(Default)]
pub struct Blobs(pub Vec<(Hash, Vec<u8>)>);

impl Blobs {
    fn put(&mut self, json: Vec<u8>) -> String {
        let h = hash(&json);
        self.0.push((h, json));
        hex(&h)
    }
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 32 {
        return None;
    }
    let mut h = [0u8; 16];
    for (i, byte) in h.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(h)
}

/// Python's default `json.dumps` separators (`", "`, `": "`), which OpenLLMetry and others emit.
struct SpacedFormatter;

impl Formatter for SpacedFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

fn render(v: &Value, spaced: bool) -> Option<String> {
    if spaced {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, SpacedFormatter);
        v.serialize(&mut ser).ok()?;
        String::from_utf8(out).ok()
    } else {
        serde_json::to_string(v).ok()
    }
}

/// Replaces large JSON-array string attributes by element references, when lossless.
pub fn split_attributes(attrs: &Attributes, blobs: &mut Blobs) -> Attributes {
    let mut out = Attributes::new();
    for (k, v) in attrs {
        if let Value::String(s) = v
            && s.len() >= SPLIT_MIN_BYTES
            && s.starts_with('[')
            && let Some(refs) = split_array(s, blobs)
        {
            out.insert(k.clone(), refs);
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    out
}

fn split_array(s: &str, blobs: &mut Blobs) -> Option<Value> {
    let parsed: Value = serde_json::from_str(s).ok()?;
    let items = parsed.as_array()?;
    let spaced = if render(&parsed, false).as_deref() == Some(s) {
        false
    } else if render(&parsed, true).as_deref() == Some(s) {
        true
    } else {
        return None;
    };
    let refs: Vec<Value> = items
        .iter()
        .map(|item| Value::String(blobs.put(serde_json::to_vec(item).unwrap_or_default())))
        .collect();
    Some(
        serde_json::json!({ "$glassbox_split": if spaced { "spaced" } else { "compact" }, "refs": refs }),
    )
}

/// Inverse of [`split_attributes`]; `fetch` returns a blob's JSON bytes.
pub fn join_attributes(
    attrs: &mut Attributes,
    fetch: &mut dyn FnMut(&Hash) -> Option<Vec<u8>>,
) -> Result<(), String> {
    for v in attrs.values_mut() {
        let Some(mode) = v
            .get("$glassbox_split")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let refs = v
            .get("refs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut items = Vec::with_capacity(refs.len());
        for r in refs {
            let h = r.as_str().and_then(unhex).ok_or("bad content reference")?;
            let bytes = fetch(&h).ok_or("missing content blob")?;
            items.push(serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string())?);
        }
        let s = render(&Value::Array(items), mode == "spaced").ok_or("cannot render content")?;
        *v = Value::String(s);
    }
    Ok(())
}

/// Stores each message once; returns the reference list.
pub fn put_messages(messages: &[Message], blobs: &mut Blobs) -> Vec<String> {
    messages
        .iter()
        .map(|m| blobs.put(serde_json::to_vec(m).unwrap_or_default()))
        .collect()
}

pub fn get_messages(
    refs: &[String],
    fetch: &mut dyn FnMut(&Hash) -> Option<Vec<u8>>,
) -> Result<Vec<Message>, String> {
    refs.iter()
        .map(|r| {
            let h = unhex(r).ok_or("bad message reference")?;
            let bytes = fetch(&h).ok_or("missing message blob")?;
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join_round_trip_exactly() {
        let compact = format!(
            r#"[{{"role":"user","parts":[{{"type":"text","content":"{}"}}]}},{{"role":"assistant","n":1.5}}]"#,
            "x".repeat(2000)
        );
        let spaced = format!(
            r#"[{{"role": "user", "content": "{}"}}, {{"a": [1, 2]}}]"#,
            "y".repeat(2000)
        );
        let odd = format!(r#"[ {{"role" :"user","c":"{}"}} ]"#, "z".repeat(2000));
        for original in [compact, spaced, odd] {
            let mut attrs = Attributes::new();
            attrs.insert(
                "gen_ai.input.messages".into(),
                Value::String(original.clone()),
            );
            attrs.insert("small".into(), Value::from(3));
            let mut blobs = Blobs::default();
            let mut split = split_attributes(&attrs, &mut blobs);
            let store: std::collections::HashMap<Hash, Vec<u8>> = blobs.0.into_iter().collect();
            join_attributes(&mut split, &mut |h| store.get(h).cloned()).unwrap();
            assert_eq!(split, attrs);
        }
    }
}
