//! Encryption at rest: content sealed with AES-256-GCM under data keys that
//! are themselves sealed ("wrapped") by a master key the store never writes.
//!
//! What is sealed: span details (attributes, events, tool input and output),
//! message content, log records and metric-point details — everything that
//! can carry what a user or a model said. What is not: the columns queries
//! filter and aggregate on (ids, times, names, models, token counts, cost),
//! resource attributes (`service.name`, host, SDK), and content hashes.
//!
//! A sealed value is `GBX1 ‖ data-key id (u32 LE) ‖ nonce (12) ‖ ciphertext ‖ tag`,
//! with the table name as associated data, so a value moved to another table
//! does not open. Values without the prefix are plaintext written before
//! encryption was turned on, and still read.
//!
//! Keys: the master key comes from configuration (a file or an environment
//! variable), never from the data directory. Data keys live in `data_keys`,
//! wrapped by the master key and identified by its fingerprint. Rotating the
//! data key (`rotate`) makes new writes use a fresh key while old values stay
//! readable; rotating the master key re-wraps every data key (at start-up,
//! when the previous master key is listed, or online through `rewrap`). Every
//! key operation appends an audit entry.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::RwLock;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rusqlite::{Connection, params};

use super::audit::now_ns;
use crate::StoreError;

const MAGIC: &[u8; 4] = b"GBX1";
const HEADER: usize = 4 + 4 + 12;

/// A 256-bit master key and its public fingerprint.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    pub fingerprint: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint)
    }
}

impl MasterKey {
    /// From 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<MasterKey, String> {
        let text = text.trim();
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<_>>()
            .ok_or(
                "a master key is 64 hex digits (32 random bytes, e.g. `openssl rand -hex 32`)",
            )?;
        let key: [u8; 32] = bytes.try_into().map_err(
            |_| "a master key is 64 hex digits (32 random bytes, e.g. `openssl rand -hex 32`)",
        )?;
        Ok(MasterKey::new(key))
    }

    pub fn new(key: [u8; 32]) -> MasterKey {
        let fingerprint = blake3::keyed_hash(&key, b"glassbox master key fingerprint")
            .to_hex()
            .as_str()[..16]
            .to_owned();
        MasterKey { key, fingerprint }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.key).into())
    }
}

fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| StoreError::Corrupt(format!("no randomness for encryption: {e}")))?;
    Ok(out)
}

fn seal_with(
    cipher: &Aes256Gcm,
    aad: &[u8],
    plain: &[u8],
) -> Result<(Vec<u8>, [u8; 12]), StoreError> {
    let nonce = random::<12>()?;
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
    Ok((sealed, nonce))
}

/// The store's keys, unwrapped in memory.
#[derive(Default)]
struct Keys {
    active: Option<u32>,
    by_id: HashMap<u32, Aes256Gcm>,
}

/// Seals and opens stored content. Disabled (a pass-through) without a master key.
pub struct Vault {
    master: Option<MasterKey>,
    keys: RwLock<Keys>,
}

/// A data key written but not yet in use.
pub struct NewKey {
    id: u32,
    dek: [u8; 32],
}

/// What `open` did to the keys, for the audit trail.
pub struct KeyEvents(pub Vec<serde_json::Value>);

impl Vault {
    pub fn disabled() -> Vault {
        Vault {
            master: None,
            keys: RwLock::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.master.is_some()
    }

    /// Loads and unwraps the data keys: those wrapped by `previous` master
    /// keys are re-wrapped under `master`; a first data key is created when
    /// there is none. A store with data keys refuses to open without its
    /// master key, rather than mixing plaintext into an encrypted store.
    pub fn open(
        tx: &Connection,
        master: Option<MasterKey>,
        previous: &[MasterKey],
    ) -> Result<(Vault, KeyEvents), StoreError> {
        let rows: Vec<(u32, Vec<u8>, String, bool)> = tx
            .prepare("SELECT id, wrapped, master, active FROM data_keys ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let Some(master) = master else {
            if rows.is_empty() {
                return Ok((Vault::disabled(), KeyEvents(Vec::new())));
            }
            return Err(StoreError::Key(
                "this store's content is encrypted: configure its master key (GLASSBOX_MASTER_KEY or [encryption] master_key_file)".into(),
            ));
        };
        let mut events = Vec::new();
        let mut keys = Keys::default();
        for (id, wrapped, fingerprint, active) in rows {
            let wrapper = std::iter::once(&master)
                .chain(previous)
                .find(|k| k.fingerprint == fingerprint)
                .ok_or_else(|| {
                    StoreError::Key(format!(
                        "data key {id} is wrapped by master key {fingerprint}, which is not configured (the current one is {}); list the old key in [encryption] previous_master_key_files",
                        master.fingerprint
                    ))
                })?;
            let dek = unwrap(wrapper, id, &wrapped)?;
            if wrapper.fingerprint != master.fingerprint {
                let rewrapped = wrap(&master, id, &dek)?;
                tx.execute(
                    "UPDATE data_keys SET wrapped = ?1, master = ?2 WHERE id = ?3",
                    params![rewrapped, master.fingerprint, id],
                )?;
                events.push(serde_json::json!({
                    "event": "data key re-wrapped under a new master key",
                    "data_key": id, "from": wrapper.fingerprint, "to": master.fingerprint,
                }));
            }
            keys.by_id.insert(id, Aes256Gcm::new((&dek).into()));
            if active {
                keys.active = Some(id);
            }
        }
        let vault = Vault {
            master: Some(master),
            keys: RwLock::new(keys),
        };
        if vault.active_id().is_none() {
            let (key, event) = vault.rotate(tx)?;
            vault.activate(key)?;
            events.push(event);
        }
        Ok((vault, KeyEvents(events)))
    }

    fn active_id(&self) -> Option<u32> {
        self.keys.read().ok().and_then(|k| k.active)
    }

    /// Makes a key from [`Vault::rotate`] the one new writes use; call once
    /// its transaction has committed, so nothing is sealed with a key that
    /// is not on disk.
    pub fn activate(&self, key: NewKey) -> Result<(), StoreError> {
        let mut keys = self
            .keys
            .write()
            .map_err(|_| StoreError::Key("key state poisoned".into()))?;
        keys.by_id.insert(key.id, Aes256Gcm::new((&key.dek).into()));
        keys.active = Some(key.id);
        Ok(())
    }

    /// Writes a fresh data key for new writes (older keys stay for reading);
    /// it takes effect with [`Vault::activate`].
    pub fn rotate(&self, tx: &Connection) -> Result<(NewKey, serde_json::Value), StoreError> {
        let master = self
            .master
            .as_ref()
            .ok_or_else(|| StoreError::Key("encryption is not configured".into()))?;
        let dek = random::<32>()?;
        let id: u32 = tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM data_keys", [], |r| {
            r.get(0)
        })?;
        let wrapped = wrap(master, id, &dek)?;
        tx.execute("UPDATE data_keys SET active = 0 WHERE active = 1", [])?;
        tx.execute(
            "INSERT INTO data_keys (id, wrapped, master, active, created_ns) VALUES (?1, ?2, ?3, 1, ?4)",
            params![id, wrapped, master.fingerprint, now_ns()],
        )?;
        Ok((
            NewKey { id, dek },
            serde_json::json!({"event": "data key created", "data_key": id, "master": master.fingerprint}),
        ))
    }

    /// Seals `plain` for `table`; a pass-through when encryption is off.
    pub fn seal(&self, table: &str, plain: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        if self.master.is_none() {
            return Ok(plain);
        }
        let keys = self
            .keys
            .read()
            .map_err(|_| StoreError::Key("key state poisoned".into()))?;
        let id = keys
            .active
            .ok_or_else(|| StoreError::Key("no active data key".into()))?;
        let cipher = keys
            .by_id
            .get(&id)
            .ok_or_else(|| StoreError::Key(format!("data key {id} missing")))?;
        let (sealed, nonce) = seal_with(cipher, table.as_bytes(), &plain)?;
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value read from `table`; plaintext values pass through.
    pub fn open_value<'a>(&self, table: &str, data: &'a [u8]) -> Result<Cow<'a, [u8]>, StoreError> {
        if !data.starts_with(MAGIC) {
            return Ok(Cow::Borrowed(data));
        }
        let bad = |m: &str| StoreError::Corrupt(format!("sealed value in {table}: {m}"));
        if data.len() < HEADER {
            return Err(bad("truncated"));
        }
        let id = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        let keys = self
            .keys
            .read()
            .map_err(|_| StoreError::Key("key state poisoned".into()))?;
        let cipher = keys.by_id.get(&id).ok_or_else(|| {
            StoreError::Key(format!(
                "content in {table} is encrypted with data key {id}, which this server cannot unwrap; configure the store's master key"
            ))
        })?;
        cipher
            .decrypt(
                Nonce::from_slice(&data[8..HEADER]),
                Payload {
                    msg: &data[HEADER..],
                    aad: table.as_bytes(),
                },
            )
            .map(Cow::Owned)
            .map_err(|_| bad("authentication failed (altered, moved, or the wrong key)"))
    }
}

fn wrap(master: &MasterKey, id: u32, dek: &[u8; 32]) -> Result<Vec<u8>, StoreError> {
    let (sealed, nonce) = seal_with(&master.cipher(), &id.to_le_bytes(), dek)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn unwrap(master: &MasterKey, id: u32, wrapped: &[u8]) -> Result<[u8; 32], StoreError> {
    let fail = || {
        StoreError::Key(format!(
            "data key {id} does not unwrap with master key {} (wrong key, or the row was altered)",
            master.fingerprint
        ))
    };
    if wrapped.len() < 12 {
        return Err(fail());
    }
    let plain = master
        .cipher()
        .decrypt(
            Nonce::from_slice(&wrapped[..12]),
            Payload {
                msg: &wrapped[12..],
                aad: &id.to_le_bytes(),
            },
        )
        .map_err(|_| fail())?;
    plain.try_into().map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE data_keys (id INTEGER PRIMARY KEY, wrapped BLOB NOT NULL, master TEXT NOT NULL, active INTEGER NOT NULL, created_ns INTEGER NOT NULL)",
        )
        .unwrap();
        c
    }

    #[test]
    fn seals_opens_rotates_and_rewraps() {
        let c = store();
        let m1 = MasterKey::new([1; 32]);
        let (v, events) = Vault::open(&c, Some(m1.clone()), &[]).unwrap();
        assert_eq!(events.0.len(), 1, "a first data key");
        let sealed = v
            .seal("blob_chunks", b"the secret phrase".to_vec())
            .unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            &*v.open_value("blob_chunks", &sealed).unwrap(),
            b"the secret phrase"
        );
        assert!(v.open_value("logs", &sealed).is_err(), "bound to its table");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(
            v.open_value("blob_chunks", &flipped).is_err(),
            "authenticated"
        );
        assert_eq!(
            &*v.open_value("logs", b"plain").unwrap(),
            b"plain",
            "old plaintext reads"
        );

        let (key, _) = v.rotate(&c).unwrap();
        v.activate(key).unwrap();
        let newer = v.seal("blob_chunks", b"after rotation".to_vec()).unwrap();
        assert_ne!(newer[4..8], sealed[4..8], "a new data key id");

        // Master key rotation: open with the new key, the old one listed as previous.
        let m2 = MasterKey::new([2; 32]);
        let (v2, events) = Vault::open(&c, Some(m2.clone()), std::slice::from_ref(&m1)).unwrap();
        assert_eq!(events.0.len(), 2, "both data keys re-wrapped");
        assert_eq!(
            &*v2.open_value("blob_chunks", &sealed).unwrap(),
            b"the secret phrase"
        );
        assert_eq!(
            &*v2.open_value("blob_chunks", &newer).unwrap(),
            b"after rotation"
        );
        // The old master key alone no longer opens the store.
        assert!(Vault::open(&c, Some(m1), &[]).is_err());
        assert!(
            Vault::open(&c, None, &[]).is_err(),
            "no silent plaintext mode"
        );
        assert!(MasterKey::from_hex("abc").is_err());
        assert_eq!(
            MasterKey::from_hex(&"02".repeat(32)).unwrap().fingerprint,
            m2.fingerprint
        );
    }
}
