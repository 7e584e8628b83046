//! How span content is laid out at rest.
//!
//! Agents resend the whole conversation on every turn, so the Nth model call
//! carries N messages of which N-1 were already stored. Each message (and
//! each element of a large JSON-array attribute such as
//! `gen_ai.input.messages`) is therefore stored once, as an entry of the span
//! chunk of the export request that first carried it, and a span refers to
//! its lists as arrays of [`Entry`] addresses. The writer keeps a bounded map
//! from content hash to address (see `prepare::Committed`) to find what is
//! already stored; a miss only stores an element twice.
//!
//! Why addresses and not hashes: hash-keyed tables take every insert at a
//! random key, and at a few hundred thousand spans those B-tree pages were
//! two thirds of everything the write-ahead log wrote. Addresses append.
//! Stores written before this layout hold content-addressed cons lists
//! (tables `list_cells` and `blobs`, lists named by [`ListRef::Cells`]);
//! they are still read, and swept by erasure, but no longer written.
//!
//! Large JSON-array attribute values are split into elements only when the
//! stored form rebuilds the original string byte for byte.

use std::cell::RefCell;
use std::io;

use glassbox_model::{Attributes, Message};
use serde::{Deserialize, Serialize};
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

/// Where a content element is stored: entry `.1` of span chunk `.0`. Chunk
/// 0 stands for the chunk of the span that refers to it, whose id is not
/// known until the writer inserts it. Serialised as `[chunk, index]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry(pub i64, pub u32);

impl Entry {
    /// The address with "the span's own chunk" resolved to `own`.
    pub fn resolve(self, own: i64) -> Entry {
        if self.0 == 0 {
            Entry(own, self.1)
        } else {
            self
        }
    }
}

/// A stored list of content elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ListRef {
    /// The elements' addresses, in order.
    Entries(Vec<Entry>),
    /// Stores written before addresses: the hex hash of the list's last cons cell.
    Cells(String),
}

/// Where a record's lists go as they are encoded.
pub trait Lists {
    /// Stores `items`; returns the list's reference (None for an empty list).
    fn put_list(&mut self, items: Vec<Vec<u8>>) -> Option<ListRef>;
}

/// Reads stored content back.
pub trait Fetch {
    /// The bytes of one element.
    fn entry(&mut self, at: Entry) -> Option<Vec<u8>>;
    /// Older stores: blob bytes by hash.
    fn blob(&mut self, h: &Hash) -> Option<Vec<u8>>;
    /// Older stores: (previous cell, element) of a list cell.
    fn cell(&mut self, h: &Hash) -> Option<(Option<Hash>, Hash)>;
}

/// The elements of a list, in order; `own` is the referring span's chunk.
fn get_list(list: &ListRef, own: i64, fetch: &mut dyn Fetch) -> Result<Vec<Vec<u8>>, String> {
    match list {
        ListRef::Entries(entries) => entries
            .iter()
            .map(|e| {
                let at = e.resolve(own);
                fetch
                    .entry(at)
                    .ok_or_else(|| format!("missing content entry {} of chunk {}", at.1, at.0))
            })
            .collect(),
        ListRef::Cells(last) => get_cells(last, fetch),
    }
}

/// Walks a cons list back from its last cell; returns the elements in order.
fn get_cells(last: &str, fetch: &mut dyn Fetch) -> Result<Vec<Vec<u8>>, String> {
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

#[cfg(test)]
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
pub fn split_attributes(attrs: &Attributes, lists: &mut dyn Lists) -> Attributes {
    let mut out = Attributes::new();
    for (k, v) in attrs {
        if let Value::String(s) = v
            && s.len() >= SPLIT_MIN_BYTES
            && s.starts_with('[')
            && let Some(refs) = split_array(s, lists)
        {
            out.insert(k.clone(), refs);
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    out
}

fn split_array(s: &str, lists: &mut dyn Lists) -> Option<Value> {
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
    let list = lists.put_list(elements);
    Some(
        serde_json::json!({ "$glassbox_split": if spaced { "spaced" } else { "compact" }, "list": list }),
    )
}

/// Inverse of [`split_attributes`]; `own` is the record's chunk (0 for a log).
pub fn join_attributes(
    attrs: &mut Attributes,
    own: i64,
    fetch: &mut dyn Fetch,
) -> Result<(), String> {
    for v in attrs.values_mut() {
        let Some(mode) = v
            .get("$glassbox_split")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let items = match v.get("list").filter(|l| !l.is_null()) {
            Some(list) => {
                let list = ListRef::deserialize(list).map_err(|e| e.to_string())?;
                get_list(&list, own, fetch)?
            }
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
pub fn put_messages(messages: &[Message], lists: &mut dyn Lists) -> Option<ListRef> {
    lists.put_list(
        messages
            .iter()
            .map(|m| serde_json::to_vec(m).unwrap_or_default())
            .collect(),
    )
}

pub fn get_messages(
    list: Option<&ListRef>,
    own: i64,
    fetch: &mut dyn Fetch,
) -> Result<Vec<Message>, String> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    get_list(list, own, fetch)?
        .iter()
        .map(|bytes| serde_json::from_slice(bytes).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// An in-memory store: chunk 7 holds what this record added (so its
    /// references use chunk 0), and older stores' cons lists.
    #[derive(Default)]
    struct Mem {
        entries: Vec<Vec<u8>>,
        known: HashMap<Hash, u32>,
        blobs: HashMap<Hash, Vec<u8>>,
        cells: HashMap<Hash, (Option<Hash>, Hash)>,
    }
    const OWN: i64 = 7;

    impl Lists for Mem {
        fn put_list(&mut self, items: Vec<Vec<u8>>) -> Option<ListRef> {
            if items.is_empty() {
                return None;
            }
            let entries = items
                .into_iter()
                .map(|item| {
                    let h = hash(&item);
                    let index = *self.known.entry(h).or_insert_with(|| {
                        self.entries.push(item);
                        u32::try_from(self.entries.len() - 1).unwrap()
                    });
                    Entry(0, index)
                })
                .collect();
            Some(ListRef::Entries(entries))
        }
    }

    impl Mem {
        /// How stores before addresses wrote a list.
        fn put_cells(&mut self, items: Vec<Vec<u8>>) -> Option<ListRef> {
            let mut prev: Option<Hash> = None;
            for item in items {
                let elem = hash(&item);
                self.blobs.insert(elem, item);
                let mut key = [0u8; 32];
                key[..16].copy_from_slice(&prev.unwrap_or([0; 16]));
                key[16..].copy_from_slice(&elem);
                let cell = hash(&key);
                self.cells.insert(cell, (prev, elem));
                prev = Some(cell);
            }
            prev.map(|h| ListRef::Cells(hex(&h)))
        }
    }

    impl Fetch for Mem {
        fn entry(&mut self, at: Entry) -> Option<Vec<u8>> {
            (at.0 == OWN).then(|| self.entries.get(at.1 as usize).cloned())?
        }
        fn blob(&mut self, h: &Hash) -> Option<Vec<u8>> {
            self.blobs.get(h).cloned()
        }
        fn cell(&mut self, h: &Hash) -> Option<(Option<Hash>, Hash)> {
            self.cells.get(h).copied()
        }
    }

    fn messages(n: usize) -> Vec<Message> {
        (0..n)
            .map(|i| Message {
                role: "user".into(),
                parts: vec![glassbox_model::Part::Text {
                    text: format!("m{i}"),
                }],
            })
            .collect()
    }

    #[test]
    fn repeated_history_is_stored_once() {
        let msgs = messages(5);
        let mut mem = Mem::default();
        let a = put_messages(&msgs[..3], &mut mem).unwrap();
        let b = put_messages(&msgs, &mut mem).unwrap();
        assert_eq!(mem.entries.len(), 5, "the 3-message prefix is stored once");
        assert_eq!(get_messages(Some(&a), OWN, &mut mem).unwrap(), msgs[..3]);
        assert_eq!(get_messages(Some(&b), OWN, &mut mem).unwrap(), msgs);
        assert!(get_messages(None, OWN, &mut mem).unwrap().is_empty());
        let missing = get_messages(Some(&b), OWN + 1, &mut mem).unwrap_err();
        assert!(
            missing.contains("missing content entry 0 of chunk 8"),
            "{missing}"
        );
    }

    #[test]
    fn references_are_small_json() {
        let mut mem = Mem::default();
        let list = put_messages(&messages(2), &mut mem).unwrap();
        assert_eq!(serde_json::to_string(&list).unwrap(), "[[0,0],[0,1]]");
        let back: ListRef = serde_json::from_str("[[3,1]]").unwrap();
        assert_eq!(back, ListRef::Entries(vec![Entry(3, 1)]));
        assert_eq!(Entry(0, 4).resolve(9), Entry(9, 4));
        assert_eq!(Entry(2, 4).resolve(9), Entry(2, 4));
    }

    #[test]
    fn lists_written_before_addresses_still_read() {
        let msgs = messages(4);
        let mut mem = Mem::default();
        let items = msgs
            .iter()
            .map(|m| serde_json::to_vec(m).unwrap())
            .collect();
        let list = mem.put_cells(items).unwrap();
        let json = serde_json::to_value(&list).unwrap();
        assert!(json.is_string(), "older details hold a hex string: {json}");
        let list: ListRef = serde_json::from_value(json).unwrap();
        assert_eq!(get_messages(Some(&list), OWN, &mut mem).unwrap(), msgs);
        mem.cells.clear();
        assert_eq!(
            get_messages(Some(&list), OWN, &mut mem).unwrap_err(),
            "missing list cell"
        );
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
            let mut mem = Mem::default();
            let mut split = split_attributes(&attrs, &mut mem);
            assert_eq!(
                split != attrs,
                splits,
                "only exactly-reproducible arrays are split"
            );
            join_attributes(&mut split, OWN, &mut mem).unwrap();
            assert_eq!(split, attrs);
        }
    }

    #[test]
    fn split_attributes_written_before_addresses_still_join() {
        let original = format!(r#"[{{"a":"{}"}},{{"b":2}}]"#, "q".repeat(2000));
        let mut mem = Mem::default();
        let items = vec![
            format!(r#"{{"a":"{}"}}"#, "q".repeat(2000)).into_bytes(),
            br#"{"b":2}"#.to_vec(),
        ];
        let list = mem.put_cells(items).unwrap();
        let mut attrs = Attributes::new();
        attrs.insert(
            "gen_ai.input.messages".into(),
            serde_json::json!({"$glassbox_split": "compact", "list": list}),
        );
        join_attributes(&mut attrs, 0, &mut mem).unwrap();
        assert_eq!(attrs["gen_ai.input.messages"], Value::String(original));
    }
}
