//! API keys (access control) and the data-directory lock.
//!
//! A key is `gbx_` + 64 hex digits (256 random bits), shown once when it is
//! created; the store keeps only its BLAKE3 hash (`derive_key` with a context
//! of its own), a short public prefix for lists, the project and the role.
//! Keys carry 256 bits of entropy, so a fast hash cannot be brute-forced.
//! A lookup finds the row by hash and compares the hashes in constant time.
//!
//! Every change (create, revoke) commits with an audit entry of kind
//! `access`, so the trail shows who could read what and since when. Changes
//! go through the writer thread of a running store ([`super::SqliteStore::change_key`]),
//! or, with no server running, through [`change_offline`], which holds the
//! [`DataDirLock`] the server holds while it runs: two processes never append
//! to the audit chain at once.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::audit::now_ns;
use super::{DB_FILE, audit, open_connection, schema};
use crate::StoreError;

pub const KEY_PREFIX: &str = "gbx_";
const HASH_CONTEXT: &str = "glassbox api key 2026 v1";
const LOCK_FILE: &str = "glassbox.lock";

/// A stored key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    /// `gbx_` and the first 8 hex digits: enough to recognise a key in a list.
    pub prefix: String,
    pub project: String,
    pub role: String,
    pub name: Option<String>,
    pub created_ns: i64,
    pub revoked: bool,
}

/// A change to the key table.
#[derive(Debug, Clone)]
pub enum KeyChange {
    /// `project` and `role` are validated by the caller (the server knows the roles).
    Create {
        project: String,
        role: String,
        name: Option<String>,
    },
    Revoke {
        id: i64,
    },
}

/// What a [`KeyChange`] did.
#[derive(Debug, Clone)]
pub enum KeyOutcome {
    /// The new key and its secret, which is never stored and cannot be shown again.
    Created {
        key: ApiKey,
        secret: String,
    },
    Revoked(ApiKey),
}

/// The stored form of a key's secret.
pub fn hash(secret: &str) -> [u8; 32] {
    blake3::derive_key(HASH_CONTEXT, secret.as_bytes())
}

fn generate() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Key(format!("no randomness for a new API key: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{KEY_PREFIX}{hex}"))
}

/// Constant-time equality (no early exit on the first differing byte).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const COLUMNS: &str = "id, prefix, project, role, name, created_ns, revoked_ns IS NOT NULL";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        prefix: r.get(1)?,
        project: r.get(2)?,
        role: r.get(3)?,
        name: r.get(4)?,
        created_ns: r.get(5)?,
        revoked: r.get(6)?,
    })
}

/// The key whose secret hashes to `want` (revoked or not), if any.
pub fn lookup(conn: &Connection, want: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, hash FROM api_keys WHERE hash = ?1"
        ))?
        .query_row([&want[..]], |r| Ok((row(r)?, r.get::<_, Vec<u8>>(7)?)))
        .optional()?;
    Ok(found.and_then(|(key, stored)| ct_eq(&stored, want).then_some(key)))
}

/// Every key, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<ApiKey>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY id"))?;
    let keys = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(keys)
}

/// Whether any key was ever created (a revoked key counts: revoking every key
/// locks everyone out rather than turning authentication off).
pub fn any(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM api_keys)", [], |r| r.get(0))?)
}

/// Applies `change` in `tx`; returns the outcome and what the audit entry says about it.
pub(super) fn apply(
    tx: &Connection,
    change: &KeyChange,
) -> Result<(KeyOutcome, Value), StoreError> {
    match change {
        KeyChange::Create {
            project,
            role,
            name,
        } => {
            let secret = generate()?;
            let prefix = secret[..KEY_PREFIX.len() + 8].to_owned();
            let created_ns = now_ns();
            tx.prepare_cached(
                "INSERT INTO api_keys (hash, prefix, project, role, name, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![&hash(&secret)[..], prefix, project, role, name, created_ns])?;
            let key = ApiKey {
                id: tx.last_insert_rowid(),
                prefix,
                project: project.clone(),
                role: role.clone(),
                name: name.clone(),
                created_ns,
                revoked: false,
            };
            let about = json!({"event": "api key created", "key_id": key.id, "prefix": key.prefix,
                "project": key.project, "role": key.role, "name": key.name});
            Ok((KeyOutcome::Created { key, secret }, about))
        }
        KeyChange::Revoke { id } => {
            let changed = tx
                .prepare_cached(
                    "UPDATE api_keys SET revoked_ns = ?2 WHERE id = ?1 AND revoked_ns IS NULL",
                )?
                .execute(params![id, now_ns()])?;
            let key = tx
                .prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"))?
                .query_row([id], row)
                .optional()?
                .ok_or_else(|| StoreError::Invalid(format!("no API key with id {id}")))?;
            if changed == 0 {
                return Err(StoreError::Invalid(format!(
                    "API key {id} is already revoked"
                )));
            }
            let about = json!({"event": "api key revoked", "key_id": key.id, "prefix": key.prefix,
                "project": key.project, "role": key.role});
            Ok((KeyOutcome::Revoked(key), about))
        }
    }
}

/// Held by a running server for the life of its store: a second server on the
/// same data directory, or an offline key change, waits for it or is refused.
/// An exclusive SQLite lock on a file of its own, so the operating system
/// releases it when the process dies, however it dies.
pub struct DataDirLock {
    _conn: std::sync::Mutex<Connection>,
}

impl DataDirLock {
    /// Takes the lock, waiting up to `wait` for another holder to release it.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Open {
            path: dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(dir.join(LOCK_FILE))?;
        conn.busy_timeout(wait)?;
        match conn.execute_batch("BEGIN EXCLUSIVE") {
            Ok(()) => Ok(DataDirLock {
                _conn: std::sync::Mutex::new(conn),
            }),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                Err(StoreError::Locked(format!(
                    "{} is in use by a running Glassbox server",
                    dir.display()
                )))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Applies a key change with no server running: takes the data-directory lock
/// (refused while a server runs), migrates the schema, and commits the change
/// with its audit entry.
pub fn change_offline(dir: &Path, change: &KeyChange) -> Result<KeyOutcome, StoreError> {
    let _lock = DataDirLock::acquire(dir, Duration::ZERO)?;
    let path = dir.join(DB_FILE);
    let mut conn = open_connection(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    schema::migrate(&mut conn)?;
    let mut auditor = audit::Auditor::open(&mut conn, dir)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (outcome, about) = apply(&tx, change)?;
    let entry = auditor.append(&tx, "access", &audit::ContentTally::default(), about)?;
    tx.commit()?;
    auditor.apply(entry);
    auditor.checkpoint(&conn)?;
    Ok(outcome)
}

/// Every key in the store in `dir`, read-only (works while a server runs).
pub fn list_offline(dir: &Path) -> Result<Vec<ApiKey>, StoreError> {
    let path = dir.join(DB_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let conn = open_connection(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 6 {
        return Ok(Vec::new());
    }
    list(&conn)
}
