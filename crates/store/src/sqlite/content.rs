//! How span content is laid out at rest.
//!
//! Agents resend the whole conversation on every turn, so the Nth model call
//! carries N messages of which N-1 were already stored. Content is therefore
//! stored as content-addressed cons lists: each message is a blob keyed by
//! its hash, and each list cell is keyed by hash(previous cell, element), so
//! two conversations that share a prefix share its cells, and a span refers
//! to its whole history by one 16-byte hash. Canonical messages and large
//! JSON-array attribute values (e.g. `gen_ai.input.messages`) are stored this
//! way, the latter only when the stored form rebuilds the original string
//! byte for byte. Everything else is one zstd-compressed JSON document per span.

use std::cell::RefCell;
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

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Largest value we will inflate: far above any OTLP message we accept.
const MAX_INFLATED: usize = 1 << 30;

thread_local! {
    // Contexts are expensive to create (they dominated the write path's profile); keep one per thread.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// zstd-compresses `bytes`; if compression fails the bytes are stored as they
/// are (JSON never starts with the zstd magic, so `decompress` tells them apart).
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    // Below this, zstd's frame and table setup cost more than they save.
    if bytes.len() < 128 {
        return bytes.to_vec();
    }
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
        }
        slot.as_mut()
            .and_then(|c| c.compress(bytes).ok())
            .unwrap_or_else(|| bytes.to_vec())
    })
}

pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if !bytes.starts_with(&ZSTD_MAGIC) {
        return Ok(bytes.to_vec());
    }
    let size = zstd::zstd_safe::get_frame_content_size(bytes)
        .ok()
        .flatten()
        .map_or(MAX_INFLATED, |n| {
            usize::try_from(n).unwrap_or(MAX_INFLATED).min(MAX_INFLATED)
        });
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
        }
        match slot.as_mut() {
            Some(d) => d.decompress(bytes, size).map_err(|e| format!("zstd: {e}")),
            None => Err("zstd: no decompressor".to_owned()),
        }
    })
}

/// Blobs and list cells produced while encoding one record, to insert-or-ignore by hash.
#[derive(Default)]
pub struct Blobs {
    /// Element blobs, uncompressed JSON until [`Blobs::seal`].
    pub blobs: Vec<(Hash, Vec<u8>)>,
    /// (cell, previous cell or None for the head, element)
    pub cells: Vec<(Hash, Option<Hash>, Hash)>,
}

impl Blobs {
    /// Stores `items` as a cons list; returns the last cell's hash (None for an empty list).
    fn put_list(&mut self, items: impl IntoIterator<Item = Vec<u8>>) -> Option<String> {
        let mut prev: Option<Hash> = None;
        for item in items {
            let elem = hash(&item);
            self.blobs.push((elem, item));
            let mut key = [0u8; 32];
            key[..16].copy_from_slice(&prev.unwrap_or([0; 16]));
            key[16..].copy_from_slice(&elem);
            let cell = hash(&key);
            self.cells.push((cell, prev, elem));
            prev = Some(cell);
        }
        prev.map(|h| hex(&h))
    }
}

/// Reads stored content back: blob bytes by hash, and list cells by hash.
pub trait Fetch {
    fn blob(&mut self, h: &Hash) -> Option<Vec<u8>>;
    /// (previous cell, element)
    fn cell(&mut self, h: &Hash) -> Option<(Option<Hash>, Hash)>;
}

/// Walks a cons list back from its last cell; returns the elements in order.
fn get_list(last: &str, fetch: &mut dyn Fetch) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut next = Some(unhex(last).ok_or("bad content reference")?);
    while let Some(cell) = next {
        let (prev, elem) = fetch.cell(&cell).ok_or("missing list cell")?;
        out.push(fetch.blob(&elem).ok_or("missing content blob")?);
        next = prev;
        if out.len() > 10_000_000 {
            return Err("content list does not end".into());
        }
    }
    out.reverse();
    Ok(out)
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
    // Compact JSON (JavaScript, Go, Rust clients) is checked against the
    // element bytes we store anyway; anything else by rendering it.
    let elements: Vec<Vec<u8>> = items
        .iter()
        .map(|item| serde_json::to_vec(item).unwrap_or_default())
        .collect();
    let compact = s.len()
        == 2 + elements
            .iter()
            .map(|e| e.len() + 1)
            .sum::<usize>()
            .saturating_sub(1)
        && s.as_bytes().first() == Some(&b'[')
        && {
            let mut pos = 1;
            let bytes = s.as_bytes();
            elements.iter().enumerate().all(|(i, e)| {
                let ok = bytes.get(pos..pos + e.len()) == Some(e.as_slice())
                    && (i + 1 == elements.len() || bytes.get(pos + e.len()) == Some(&b','));
                pos += e.len() + 1;
                ok
            })
        };
    let spaced = if compact {
        false
    } else if render(&parsed, true).as_deref() == Some(s) {
        true
    } else {
        return None;
    };
    let list = blobs.put_list(elements);
    Some(
        serde_json::json!({ "$glassbox_split": if spaced { "spaced" } else { "compact" }, "list": list }),
    )
}

/// Inverse of [`split_attributes`].
pub fn join_attributes(attrs: &mut Attributes, fetch: &mut dyn Fetch) -> Result<(), String> {
    for v in attrs.values_mut() {
        let Some(mode) = v
            .get("$glassbox_split")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let items = match v.get("list").and_then(Value::as_str) {
            Some(last) => get_list(last, fetch)?,
            None => Vec::new(),
        };
        let items = items
            .iter()
            .map(|bytes| serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let s = render(&Value::Array(items), mode == "spaced").ok_or("cannot render content")?;
        *v = Value::String(s);
    }
    Ok(())
}

/// Stores messages as a list; returns its reference (None when empty).
pub fn put_messages(messages: &[Message], blobs: &mut Blobs) -> Option<String> {
    blobs.put_list(
        messages
            .iter()
            .map(|m| serde_json::to_vec(m).unwrap_or_default()),
    )
}

pub fn get_messages(list: Option<&str>, fetch: &mut dyn Fetch) -> Result<Vec<Message>, String> {
    let Some(last) = list else {
        return Ok(Vec::new());
    };
    get_list(last, fetch)?
        .iter()
        .map(|bytes| serde_json::from_slice(bytes).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem(Blobs);
    impl Fetch for Mem {
        fn blob(&mut self, h: &Hash) -> Option<Vec<u8>> {
            self.0
                .blobs
                .iter()
                .find(|(k, _)| k == h)
                .map(|(_, v)| v.clone())
        }
        fn cell(&mut self, h: &Hash) -> Option<(Option<Hash>, Hash)> {
            self.0
                .cells
                .iter()
                .find(|(k, _, _)| k == h)
                .map(|(_, p, e)| (*p, *e))
        }
    }

    #[test]
    fn shared_prefixes_share_cells() {
        let msgs: Vec<Message> = (0..5)
            .map(|i| Message {
                role: "user".into(),
                parts: vec![glassbox_model::Part::Text {
                    text: format!("m{i}"),
                }],
            })
            .collect();
        let mut blobs = Blobs::default();
        let a = put_messages(&msgs[..3], &mut blobs).unwrap();
        let b = put_messages(&msgs, &mut blobs).unwrap();
        let distinct: std::collections::HashSet<Hash> = blobs.cells.iter().map(|c| c.0).collect();
        assert_eq!(distinct.len(), 5, "the 3-message prefix is shared");
        let mut mem = Mem(blobs);
        assert_eq!(get_messages(Some(&a), &mut mem).unwrap(), msgs[..3]);
        assert_eq!(get_messages(Some(&b), &mut mem).unwrap(), msgs);
        assert!(get_messages(None, &mut mem).unwrap().is_empty());
    }

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
        for (original, splits) in [(compact, true), (spaced, true), (odd, false)] {
            let mut attrs = Attributes::new();
            attrs.insert(
                "gen_ai.input.messages".into(),
                Value::String(original.clone()),
            );
            attrs.insert("small".into(), Value::from(3));
            let mut blobs = Blobs::default();
            let mut split = split_attributes(&attrs, &mut blobs);
            assert_eq!(
                split != attrs,
                splits,
                "only exactly-reproducible arrays are split"
            );
            let mut mem = Mem(blobs);
            join_attributes(&mut split, &mut mem).unwrap();
            assert_eq!(split, attrs);
        }
    }
}
