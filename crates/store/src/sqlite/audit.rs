//! The tamper-evident audit trail.
//!
//! Every transaction the writer commits appends one entry to `audit_log`, in
//! the same transaction as the data, so data and its entry are durable
//! together. An entry commits to:
//! - the previous entry's hash (a chain: deleting, inserting or reordering
//!   entries breaks it);
//! - for each append-only row table (`RANGED`), the rowid range this
//!   transaction added and a digest of those rows as stored, column by column
//!   (editing, deleting or inserting a row breaks the digest of the entry
//!   that covers it; a row past every range is "not covered");
//! - for each content-addressed table (`CONTENT`), the running count and a
//!   512-bit multiset sum of its rows (each row is also checked against its
//!   own key, so an edited message, list cell or resource is named).
//!
//! Every `CHECKPOINT_EVERY` entries (and when the store closes) the writer
//! signs the newest entry's hash with Ed25519; the public key is written next
//! to the database for auditors. A signed checkpoint past the last entry
//! exposes a truncated tail.
//!
//! `traces` and `model_calls` are not covered: they are derived from covered
//! rows (summaries and the ledger) and are rewritten as reports arrive.
//! What is not detectable: rewriting the data, the chain *and* the signatures,
//! which needs the signing key (keep it outside the data directory with
//! `GLASSBOX_AUDIT_KEY`), or truncating entries and data together after the
//! last checkpoint an auditor holds.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde_json::{Value, json};

use super::content;
use crate::StoreError;

/// Row tables whose rows are only ever appended: covered by rowid range.
pub const RANGED: [&str; 6] = [
    "span_chunks",
    "blob_chunks",
    "spans",
    "logs",
    "metric_points",
    "scores",
];
/// Content-addressed tables: covered by count and multiset sum.
pub const CONTENT: [&str; 3] = ["resources", "blobs", "list_cells"];

pub const KEY_FILE: &str = "audit-ed25519.key";
pub const PUBLIC_KEY_FILE: &str = "audit-ed25519.pub";
const CHECKPOINT_EVERY: i64 = 64;
const ENTRY_DOMAIN: &[u8] = b"glassbox-audit-entry-v1\0";
const CHECKPOINT_DOMAIN: &[u8] = b"glassbox-audit-checkpoint-v1\0";

/// A multiset hash: the sum mod 2^512 of each row's 512-bit BLAKE3 output.
/// Order-independent, so rows can be tallied as they are inserted and
/// re-tallied in any order by `verify`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sum512([u64; 8]);

impl Sum512 {
    fn add_bytes(&mut self, bytes: &[u8; 64]) {
        let mut carry = 0u128;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            let s = u128::from(*limb) + u128::from(u64::from_le_bytes(word)) + carry;
            *limb = s as u64;
            carry = s >> 64;
        }
    }
    fn add(&mut self, other: &Sum512) {
        let mut bytes = [0u8; 64];
        for (i, limb) in other.0.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
        }
        self.add_bytes(&bytes);
    }
    /// Subtracts (mod 2^512): adds the two's complement.
    fn sub(&mut self, other: &Sum512) {
        let mut neg = Sum512(other.0.map(|l| !l));
        let mut one = [0u8; 64];
        one[0] = 1;
        neg.add_bytes(&one);
        self.add(&neg);
    }
    fn hex(&self) -> String {
        self.0.iter().rev().map(|l| format!("{l:016x}")).collect()
    }
    fn from_hex(s: &str) -> Option<Sum512> {
        if s.len() != 128 {
            return None;
        }
        let mut out = [0u64; 8];
        for (i, limb) in out.iter_mut().rev().enumerate() {
            *limb = u64::from_str_radix(s.get(i * 16..i * 16 + 16)?, 16).ok()?;
        }
        Some(Sum512(out))
    }
}

/// Rows added to the content tables (indexed like `CONTENT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentTally {
    pub rows: [u64; 3],
    pub sums: [Sum512; 3],
}

impl ContentTally {
    pub fn add_row(&mut self, table: usize, columns: &[ValueRef<'_>]) {
        let mut h = blake3::Hasher::new();
        for c in columns {
            encode(&mut h, *c);
        }
        let mut out = [0u8; 64];
        h.finalize_xof().fill(&mut out);
        self.rows[table] += 1;
        self.sums[table].add_bytes(&out);
    }
    fn minus(&self, other: &ContentTally) -> ContentTally {
        let mut out = *self;
        for i in 0..3 {
            out.rows[i] = out.rows[i].saturating_sub(other.rows[i]);
            out.sums[i].sub(&other.sums[i]);
        }
        out
    }

    fn plus(&self, other: &ContentTally) -> ContentTally {
        let mut out = *self;
        for i in 0..3 {
            out.rows[i] += other.rows[i];
            out.sums[i].add(&other.sums[i]);
        }
        out
    }
}

/// Each value tagged with its type and length, so no two rows encode alike.
fn encode(h: &mut blake3::Hasher, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => {
            h.update(&[0]);
        }
        ValueRef::Integer(i) => {
            h.update(&[1]);
            h.update(&i.to_le_bytes());
        }
        ValueRef::Real(f) => {
            h.update(&[2]);
            h.update(&f.to_bits().to_le_bytes());
        }
        ValueRef::Text(t) => {
            h.update(&[3]);
            h.update(&(t.len() as u64).to_le_bytes());
            h.update(t);
        }
        ValueRef::Blob(b) => {
            h.update(&[4]);
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        }
    }
}

/// A stored row's digest: every column as stored, row id first.
pub fn row_digest(row: &rusqlite::Row<'_>, columns: usize) -> Result<[u8; 32], StoreError> {
    let mut h = blake3::Hasher::new();
    for i in 0..columns {
        encode(&mut h, row.get_ref(i)?);
    }
    Ok(*h.finalize().as_bytes())
}

/// The digest of one row by id, or `None` when there is no such row.
pub fn digest_of(
    conn: &Connection,
    table: &str,
    rowid: i64,
) -> Result<Option<[u8; 32]>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT rowid, * FROM {table} WHERE rowid = ?1"))?;
    let n = stmt.column_count();
    let mut q = stmt.query([rowid])?;
    match q.next()? {
        Some(row) => Ok(Some(row_digest(row, n)?)),
        None => Ok(None),
    }
}

/// What erasures did to covered rows: (table, row id) → (the digest the row
/// had when first covered, its digest now or `None` when deleted).
pub type Erased = std::collections::HashMap<(String, i64), ([u8; 32], Option<[u8; 32]>)>;

/// (rows found, digest) of a table's rows with rowid in `from..=to`: a hash
/// of each row's id and digest, in id order. With `erased`, rows that a
/// recorded erasure deleted or rewrote count with the digest they had when
/// covered, provided they are now exactly as the erasure left them.
fn range_digest(
    conn: &Connection,
    table: &str,
    from: i64,
    to: i64,
    erased: Option<&Erased>,
) -> Result<(u64, [u8; 32]), StoreError> {
    let mut rows: Vec<(i64, [u8; 32])> = Vec::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT rowid, * FROM {table} WHERE rowid BETWEEN ?1 AND ?2 ORDER BY rowid"
    ))?;
    let n = stmt.column_count();
    let mut q = stmt.query(params![from, to])?;
    while let Some(row) = q.next()? {
        let id: i64 = row.get(0)?;
        rows.push((id, row_digest(row, n)?));
    }
    let found = rows.len() as u64;
    if let Some(erased) = erased {
        for r in &mut rows {
            if let Some((original, Some(now))) = erased.get(&(table.to_owned(), r.0))
                && *now == r.1
            {
                r.1 = *original;
            }
        }
        let present: std::collections::HashSet<i64> = rows.iter().map(|r| r.0).collect();
        for ((t, id), (original, now)) in erased {
            if t == table && now.is_none() && (from..=to).contains(id) && !present.contains(id) {
                rows.push((*id, *original));
            }
        }
        rows.sort_by_key(|r| r.0);
    }
    let mut h = blake3::Hasher::new();
    for (id, d) in &rows {
        h.update(&id.to_le_bytes());
        h.update(d);
    }
    Ok((found, *h.finalize().as_bytes()))
}

/// One erased row: table, row id, digest before, digest after (`None`: deleted).
pub type Erasure = (&'static str, i64, [u8; 32], Option<[u8; 32]>);
/// The same, as read back from `audit_erasures`.
type ErasureRecord = (String, i64, [u8; 32], Option<[u8; 32]>);

/// What an erase entry commits to: its erasure records, in (table, row) order.
fn erasures_digest(rows: impl Iterator<Item = ErasureRecord>) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for (t, row, old, new) in rows {
        h.update(t.as_bytes());
        h.update(&[0]);
        h.update(&row.to_le_bytes());
        h.update(&old);
        match new {
            Some(n) => {
                h.update(&[1]);
                h.update(&n);
            }
            None => {
                h.update(&[0]);
            }
        }
    }
    *h.finalize().as_bytes()
}

/// Every recorded erasure: the map `range_digest` needs, and each erase
/// entry's digest of its records.
fn load_erasures(conn: &Connection) -> Result<(Erased, HashMap<i64, [u8; 32]>), StoreError> {
    let mut erased = Erased::new();
    let mut per_entry: BTreeMap<i64, Vec<ErasureRecord>> = BTreeMap::new();
    let mut stmt =
        conn.prepare("SELECT seq, tbl, row, old, new FROM audit_erasures ORDER BY seq, tbl, row")?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        let seq: i64 = r.get(0)?;
        let t: String = r.get(1)?;
        let row: i64 = r.get(2)?;
        let old: Vec<u8> = r.get(3)?;
        let new: Option<Vec<u8>> = r.get(4)?;
        let old: [u8; 32] = old.try_into().unwrap_or([0; 32]);
        let new: Option<[u8; 32]> = new.map(|n| n.try_into().unwrap_or([0; 32]));
        erased
            .entry((t.clone(), row))
            .and_modify(|e| e.1 = new)
            .or_insert((old, new));
        per_entry.entry(seq).or_default().push((t, row, old, new));
    }
    let digests = per_entry
        .into_iter()
        .map(|(seq, rows)| (seq, erasures_digest(rows.into_iter())))
        .collect();
    Ok((erased, digests))
}

fn max_rowid(conn: &Connection, table: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT coalesce(max(rowid), 0) FROM {table}"))?
        .query_row([], |r| r.get(0))?)
}

fn entry_hash(prev: &[u8; 32], seq: i64, time_ns: i64, kind: &str, detail: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(ENTRY_DOMAIN);
    h.update(prev);
    h.update(&seq.to_le_bytes());
    h.update(&time_ns.to_le_bytes());
    h.update(&(kind.len() as u64).to_le_bytes());
    h.update(kind.as_bytes());
    h.update(&(detail.len() as u64).to_le_bytes());
    h.update(detail.as_bytes());
    *h.finalize().as_bytes()
}

fn checkpoint_message(seq: i64, hash: &[u8; 32]) -> Vec<u8> {
    let mut m = CHECKPOINT_DOMAIN.to_vec();
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend_from_slice(hash);
    m
}

/// Wall-clock time in unix nanoseconds, as the store records it.
pub(super) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where the signing key lives: `GLASSBOX_AUDIT_KEY` if set, else the data dir.
pub fn key_path(dir: &Path) -> PathBuf {
    std::env::var_os("GLASSBOX_AUDIT_KEY").map_or_else(|| dir.join(KEY_FILE), PathBuf::from)
}

/// Loads the signing key, creating it (mode 0600) on first use; writes the
/// public key beside the database. Returns whether it was created.
fn load_or_create_key(dir: &Path) -> Result<(SigningKey, bool), StoreError> {
    let path = key_path(dir);
    let io = |source: std::io::Error| StoreError::Open {
        path: path.display().to_string(),
        source,
    };
    let (key, created) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let seed = hex32(text.trim()).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "{}: not an audit signing key (64 hex digits)",
                    path.display()
                ))
            })?;
            (SigningKey::from_bytes(&seed), false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| {
                StoreError::Corrupt(format!("no randomness for the audit key: {e}"))
            })?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&path).map_err(io)?;
            std::io::Write::write_all(&mut f, hex(&seed).as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            (SigningKey::from_bytes(&seed), true)
        }
        Err(e) => return Err(io(e)),
    };
    let public = dir.join(PUBLIC_KEY_FILE);
    std::fs::write(&public, hex(key.verifying_key().as_bytes())).map_err(|source| {
        StoreError::Open {
            path: public.display().to_string(),
            source,
        }
    })?;
    Ok((key, created))
}

/// The writer's view of the chain's head.
pub struct Auditor {
    seq: i64,
    prev: [u8; 32],
    /// Last covered rowid per `RANGED` table.
    covered: [i64; RANGED.len()],
    content: ContentTally,
    key: SigningKey,
    last_checkpoint: i64,
}

/// The chain's head after an entry, applied once its transaction commits.
pub struct Pending {
    seq: i64,
    prev: [u8; 32],
    covered: [i64; RANGED.len()],
    content: ContentTally,
    checkpointed: bool,
}

impl Auditor {
    /// Reads the chain's head; on a store that has data but no entries yet
    /// (written before the audit trail existed), adopts those rows in a first
    /// entry that says so.
    pub fn open(conn: &mut Connection, dir: &Path) -> Result<Auditor, StoreError> {
        let (key, created) = load_or_create_key(dir)?;
        let head: Option<(i64, Vec<u8>, String)> = conn
            .query_row(
                "SELECT seq, hash, detail FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let last_checkpoint: i64 = conn.query_row(
            "SELECT coalesce(max(seq), 0) FROM audit_checkpoints",
            [],
            |r| r.get(0),
        )?;
        let mut auditor = Auditor {
            seq: 0,
            prev: [0; 32],
            covered: [0; RANGED.len()],
            content: ContentTally::default(),
            key,
            last_checkpoint,
        };
        if let Some((seq, hash, detail)) = head {
            let corrupt = || StoreError::Corrupt(format!("audit entry {seq} is unreadable"));
            let detail: Value = serde_json::from_str(&detail).map_err(|_| corrupt())?;
            auditor.seq = seq;
            auditor.prev = hash.try_into().map_err(|_| corrupt())?;
            for (i, t) in RANGED.iter().enumerate() {
                // A table added to the trail later starts uncovered (at 0).
                auditor.covered[i] = match &detail["tables"][t] {
                    Value::Null => 0,
                    e => e["to"].as_i64().ok_or_else(corrupt)?,
                };
            }
            for (i, t) in CONTENT.iter().enumerate() {
                auditor.content.rows[i] =
                    detail["content"][t]["rows"].as_u64().ok_or_else(corrupt)?;
                auditor.content.sums[i] = detail["content"][t]["sum"]
                    .as_str()
                    .and_then(Sum512::from_hex)
                    .ok_or_else(corrupt)?;
            }
        }
        let tx = conn.transaction()?;
        if auditor.seq == 0 {
            let existing = content_tally(&tx, &mut |_| {})?;
            let kind = if existing.rows.iter().any(|&n| n > 0)
                || RANGED.iter().any(|t| max_rowid(&tx, t).unwrap_or(0) > 0)
            {
                "adopt"
            } else {
                "genesis"
            };
            let p = auditor.append(
                &tx,
                kind,
                &existing,
                json!({"note": if kind == "adopt" { "rows stored before the audit trail existed" } else { "a new store" }}),
            )?;
            auditor.apply(p);
        }
        if created {
            let public = hex(auditor.key.verifying_key().as_bytes());
            let p = auditor.append(
                &tx,
                "key",
                &ContentTally::default(),
                json!({"event": "audit signing key created", "public_key": public}),
            )?;
            auditor.apply(p);
        }
        tx.commit()?;
        Ok(auditor)
    }

    /// Appends an entry covering everything written since the previous one.
    /// `added` is what this transaction added to the content tables.
    pub fn append(
        &self,
        tx: &Connection,
        kind: &str,
        added: &ContentTally,
        extra: Value,
    ) -> Result<Pending, StoreError> {
        self.append_with(tx, kind, self.content.plus(added), extra)
    }

    /// Appends an `erase` entry: `erasures` (table, row id, digest before,
    /// digest after or `None` when deleted) are recorded in `audit_erasures`
    /// under the entry's number and committed to by a digest in the entry;
    /// `removed` is what left the content tables.
    pub fn append_erasure(
        &self,
        tx: &Connection,
        erasures: &[Erasure],
        removed: &ContentTally,
        mut about: Value,
    ) -> Result<Pending, StoreError> {
        let seq = self.seq + 1;
        let mut sorted: Vec<_> = erasures.to_vec();
        sorted.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (t, row, old, new) in &sorted {
            tx.prepare_cached(
                "INSERT INTO audit_erasures (seq, tbl, row, old, new) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![seq, t, row, &old[..], new.as_ref().map(|n| &n[..])])?;
        }
        about["erased_rows"] = Value::from(sorted.len());
        about["erasures_digest"] = Value::String(hex(&erasures_digest(
            sorted
                .iter()
                .map(|(t, r, o, n)| (t.to_string(), *r, *o, *n)),
        )));
        self.append_with(tx, "erase", self.content.minus(removed), about)
    }

    fn append_with(
        &self,
        tx: &Connection,
        kind: &str,
        content: ContentTally,
        extra: Value,
    ) -> Result<Pending, StoreError> {
        let mut tables = serde_json::Map::new();
        let mut covered = self.covered;
        for (i, t) in RANGED.iter().enumerate() {
            let from = self.covered[i] + 1;
            let to = max_rowid(tx, t)?.max(self.covered[i]);
            let (rows, digest) = range_digest(tx, t, from, to, None)?;
            covered[i] = to;
            tables.insert(
                (*t).to_owned(),
                json!({"from": from, "to": to, "rows": rows, "digest": hex(&digest)}),
            );
        }
        let mut sums = serde_json::Map::new();
        for (i, t) in CONTENT.iter().enumerate() {
            sums.insert(
                (*t).to_owned(),
                json!({"rows": content.rows[i], "sum": content.sums[i].hex()}),
            );
        }
        let detail = json!({"tables": tables, "content": sums, "about": extra}).to_string();
        let seq = self.seq + 1;
        let time = now_ns();
        let hash = entry_hash(&self.prev, seq, time, kind, &detail);
        tx.prepare_cached(
            "INSERT INTO audit_log (seq, time_ns, kind, detail, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![seq, time, kind, detail, &self.prev[..], &hash[..]])?;
        let checkpointed = seq - self.last_checkpoint >= CHECKPOINT_EVERY;
        if checkpointed {
            self.sign(tx, seq, &hash)?;
        }
        Ok(Pending {
            seq,
            prev: hash,
            covered,
            content,
            checkpointed,
        })
    }

    fn sign(&self, tx: &Connection, seq: i64, hash: &[u8; 32]) -> Result<(), StoreError> {
        let signature = self.key.sign(&checkpoint_message(seq, hash));
        tx.prepare_cached(
            "INSERT OR REPLACE INTO audit_checkpoints (seq, time_ns, hash, signature) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![seq, now_ns(), &hash[..], &signature.to_bytes()[..]])?;
        Ok(())
    }

    pub fn apply(&mut self, p: Pending) {
        self.seq = p.seq;
        self.prev = p.prev;
        self.covered = p.covered;
        self.content = p.content;
        if p.checkpointed {
            self.last_checkpoint = p.seq;
        }
    }

    /// Signs the newest entry (when the store closes).
    pub fn checkpoint(&mut self, conn: &Connection) -> Result<(), StoreError> {
        if self.seq > self.last_checkpoint {
            self.sign(conn, self.seq, &self.prev)?;
            self.last_checkpoint = self.seq;
        }
        Ok(())
    }
}

/// Tallies every row of the content tables, reporting rows whose key does
/// not match their content.
fn content_tally(
    conn: &Connection,
    bad: &mut dyn FnMut(String),
) -> Result<ContentTally, StoreError> {
    let mut tally = ContentTally::default();
    for (i, t) in CONTENT.iter().enumerate() {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {t}"))?;
        let n = stmt.column_count();
        let mut q = stmt.query([])?;
        while let Some(row) = q.next()? {
            let cols: Vec<ValueRef<'_>> =
                (0..n).map(|c| row.get_ref(c)).collect::<Result<_, _>>()?;
            tally.add_row(i, &cols);
            let key = cols[0].as_blob().unwrap_or_default();
            let ok = match *t {
                "resources" => cols[1]
                    .as_blob()
                    .ok()
                    .and_then(|b| content::decompress(b).ok())
                    .is_some_and(|json| content::hash(&json)[..] == *key),
                "list_cells" => {
                    let prev = cols[1].as_blob_or_null().ok().flatten().unwrap_or(&[0; 16]);
                    let elem = cols[2].as_blob().unwrap_or_default();
                    let mut k = [0u8; 32];
                    if prev.len() == 16 && elem.len() == 16 {
                        k[..16].copy_from_slice(prev);
                        k[16..].copy_from_slice(elem);
                    }
                    content::hash(&k)[..] == *key
                }
                // A blob's bytes live in a covered chunk; its key is checked by readers.
                _ => true,
            };
            if !ok {
                bad(format!(
                    "{t}: row {} does not match its content hash (edited)",
                    hex(key)
                ));
            }
        }
    }
    Ok(tally)
}

/// What `verify` found.
#[derive(Debug, Default)]
pub struct Report {
    pub entries: u64,
    pub checkpoints: u64,
    /// Covered rows per table.
    pub rows: BTreeMap<String, u64>,
    /// Problems in the order found; the first names the first bad entry.
    pub problems: Vec<String>,
    pub public_key: String,
}

/// Checks a store's audit trail and the data it covers, read-only (the
/// server may be stopped). `public_key` pins the key the checkpoints must be
/// signed with; without it the key beside the database is used.
pub fn verify(dir: &Path, public_key: Option<[u8; 32]>) -> Result<Report, StoreError> {
    let path = dir.join(super::DB_FILE);
    if !path.exists() {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no Glassbox store here"),
        });
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    // One snapshot for the whole check, so a server committing meanwhile
    // (entry and rows together) never shows rows past the last entry read.
    conn.execute_batch("BEGIN")?;
    let (erased, erase_digests) = load_erasures(&conn)?;
    let mut r = Report::default();
    let key_bytes = match public_key {
        Some(k) => k,
        None => {
            let p = dir.join(PUBLIC_KEY_FILE);
            let text = std::fs::read_to_string(&p).map_err(|source| StoreError::Open {
                path: p.display().to_string(),
                source,
            })?;
            hex32(text.trim())
                .ok_or_else(|| StoreError::Corrupt(format!("{}: not a public key", p.display())))?
        }
    };
    r.public_key = hex(&key_bytes);
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|e| StoreError::Corrupt(format!("the audit public key is invalid: {e}")))?;

    let mut prev = [0u8; 32];
    let mut expected_seq = 1i64;
    let mut covered = [0i64; RANGED.len()];
    let mut hashes: Vec<[u8; 32]> = Vec::new();
    let mut last_content: Option<Value> = None;
    let mut stmt =
        conn.prepare("SELECT seq, time_ns, kind, detail, prev, hash FROM audit_log ORDER BY seq")?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        let seq: i64 = row.get(0)?;
        let time: i64 = row.get(1)?;
        let kind: String = row.get(2)?;
        let detail: String = row.get(3)?;
        let stored_prev: Vec<u8> = row.get(4)?;
        let stored_hash: Vec<u8> = row.get(5)?;
        r.entries += 1;
        if seq != expected_seq {
            r.problems.push(format!(
                "entry {expected_seq}: missing (the next entry is {seq}); entries were deleted"
            ));
            return Ok(r);
        }
        if stored_prev[..] != prev[..] {
            r.problems.push(format!(
                "entry {seq}: does not follow entry {} (entries were reordered, replaced or inserted)",
                seq - 1
            ));
            return Ok(r);
        }
        let hash = entry_hash(&prev, seq, time, &kind, &detail);
        if stored_hash[..] != hash[..] {
            r.problems
                .push(format!("entry {seq} ({kind}): its contents were altered"));
            return Ok(r);
        }
        let d: Value = serde_json::from_str(&detail).unwrap_or(Value::Null);
        if kind == "erase" {
            let recorded = d["about"]["erasures_digest"].as_str().unwrap_or("");
            let found = erase_digests
                .get(&seq)
                .map(|h| hex(h))
                .unwrap_or_else(|| hex(&erasures_digest(std::iter::empty())));
            if recorded != found {
                r.problems.push(format!(
                    "entry {seq} (erase): its record of erased rows was altered"
                ));
            }
        }
        for (i, t) in RANGED.iter().enumerate() {
            let e = &d["tables"][t];
            if e.is_null() {
                // An entry written before this table joined the trail.
                continue;
            }
            let (Some(from), Some(to), Some(rows), Some(digest)) = (
                e["from"].as_i64(),
                e["to"].as_i64(),
                e["rows"].as_u64(),
                e["digest"].as_str(),
            ) else {
                r.problems
                    .push(format!("entry {seq}: no coverage recorded for {t}"));
                return Ok(r);
            };
            if from != covered[i] + 1 {
                r.problems.push(format!(
                    "entry {seq}: {t} coverage starts at row {from}, expected {}",
                    covered[i] + 1
                ));
            }
            let (found, got) = range_digest(&conn, t, from, to, Some(&erased))?;
            if hex(&got) != digest {
                r.problems.push(format!(
                    "entry {seq} ({kind}): {t} rows {from}..={to} were altered, deleted or inserted ({rows} recorded, {found} found)"
                ));
            }
            *r.rows.entry((*t).to_owned()).or_default() += found;
            covered[i] = to;
        }
        last_content = Some(d["content"].clone());
        hashes.push(hash);
        prev = hash;
        expected_seq += 1;
    }
    drop(q);
    if r.entries == 0 {
        r.problems.push("no audit entries: the trail was deleted, or this store predates it and was never opened since".into());
        return Ok(r);
    }
    for (i, t) in RANGED.iter().enumerate() {
        let max = max_rowid(&conn, t)?;
        if max > covered[i] {
            r.problems.push(format!(
                "{t}: rows {}..={max} are not covered by any entry (written outside Glassbox)",
                covered[i] + 1
            ));
        }
    }
    let mut bad = Vec::new();
    let tally = content_tally(&conn, &mut |m| bad.push(m))?;
    r.problems.extend(bad);
    if let Some(c) = last_content {
        for (i, t) in CONTENT.iter().enumerate() {
            let rows = c[t]["rows"].as_u64();
            let sum = c[t]["sum"].as_str().and_then(Sum512::from_hex);
            if rows != Some(tally.rows[i]) || sum != Some(tally.sums[i]) {
                r.problems.push(format!(
                    "{t}: rows were added, removed or changed since entry {} ({} recorded, {} found)",
                    r.entries,
                    rows.unwrap_or(0),
                    tally.rows[i]
                ));
            }
            r.rows.insert((*t).to_owned(), tally.rows[i]);
        }
    }
    let mut stmt =
        conn.prepare("SELECT seq, hash, signature FROM audit_checkpoints ORDER BY seq")?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        let seq: i64 = row.get(0)?;
        let hash: Vec<u8> = row.get(1)?;
        let signature: Vec<u8> = row.get(2)?;
        r.checkpoints += 1;
        let Ok(hash32) = <[u8; 32]>::try_from(hash.as_slice()) else {
            r.problems.push(format!("checkpoint {seq}: malformed"));
            continue;
        };
        let signed = ed25519_dalek::Signature::from_slice(&signature)
            .ok()
            .is_some_and(|s| key.verify(&checkpoint_message(seq, &hash32), &s).is_ok());
        if !signed {
            r.problems.push(format!(
                "checkpoint {seq}: the signature does not verify with public key {}",
                r.public_key
            ));
            continue;
        }
        match usize::try_from(seq - 1).ok().and_then(|i| hashes.get(i)) {
            None => r.problems.push(format!(
                "checkpoint {seq} is signed but the trail ends at entry {}: entries (and the data they covered) were truncated",
                r.entries
            )),
            Some(h) if *h != hash32 => r.problems.push(format!(
                "entry {seq}: differs from the signed checkpoint"
            )),
            Some(_) => {}
        }
    }
    Ok(r)
}

/// One audit entry as listed for auditors: what it is about, not its digests.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub seq: i64,
    pub time_ns: i64,
    pub kind: String,
    /// The entry's `about` part (e.g. `{"batches": 3}`, a key event, a content read).
    pub about: Value,
    pub hash: String,
}

/// The newest `limit` entries, newest first.
pub fn entries(conn: &Connection, limit: usize) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, time_ns, kind, detail, hash FROM audit_log ORDER BY seq DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        let detail: String = r.get(3)?;
        let hash: Vec<u8> = r.get(4)?;
        Ok(Entry {
            seq: r.get(0)?,
            time_ns: r.get(1)?,
            kind: r.get(2)?,
            about: serde_json::from_str::<Value>(&detail)
                .map(|d| d["about"].clone())
                .unwrap_or(Value::Null),
            hash: hex(&hash),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
