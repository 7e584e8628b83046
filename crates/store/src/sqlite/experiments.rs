//! Golden datasets and experiment runs, stored for the team: each dataset version and each
//! run is one immutable row (zstd-compressed, sealed at rest like telemetry content), written
//! through the writer with an audit entry that records its content hash.

use rusqlite::{Connection, OptionalExtension, params};

use super::audit;
use super::vault::Vault;
use crate::StoreError;

/// What to store.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// `body` is the dataset as JSONL; `version` its content version.
    Dataset {
        name: String,
        version: String,
        items: usize,
        body: Vec<u8>,
    },
    /// `body` is the run file (JSON).
    Run {
        run_id: String,
        name: String,
        dataset: Option<String>,
        dataset_version: Option<String>,
        items: usize,
        body: Vec<u8>,
    },
}

/// A stored dataset version or run, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The dataset's name, or the run's id.
    pub key: String,
    /// The dataset's version, or the run's name.
    pub label: String,
    pub dataset: Option<String>,
    pub dataset_version: Option<String>,
    pub items: usize,
    pub created_ns: u64,
}

/// Stores `a` unless an identical key exists: `Ok(true)` when stored, `Ok(false)` when that
/// dataset version (same content) was already there. A run id is unique: storing another run
/// under it is an error.
pub(super) fn store(
    conn: &mut Connection,
    vault: &Vault,
    auditor: &mut audit::Auditor,
    a: &Artifact,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let now = audit::now_ns();
    let (table, body, detail) = match a {
        Artifact::Dataset {
            name,
            version,
            items,
            body,
        } => (
            "datasets",
            body,
            serde_json::json!({"event": "dataset stored", "name": name, "version": version,
                               "items": items, "blake3": blake3::hash(body).to_hex().to_string()}),
        ),
        Artifact::Run {
            run_id,
            name,
            dataset,
            dataset_version,
            items,
            body,
        } => (
            "experiment_runs",
            body,
            serde_json::json!({"event": "experiment run stored", "run_id": run_id, "name": name,
                               "dataset": dataset, "dataset_version": dataset_version,
                               "items": items, "blake3": blake3::hash(body).to_hex().to_string()}),
        ),
    };
    let compressed = zstd::encode_all(body.as_slice(), 3)
        .map_err(|e| StoreError::Invalid(format!("compressing {table}: {e}")))?;
    let sealed = vault.seal(table, compressed)?;
    let inserted = match a {
        Artifact::Dataset {
            name,
            version,
            items,
            ..
        } => tx.execute(
            "INSERT OR IGNORE INTO datasets (name, version, items, created_ns, body)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, version, *items as i64, now, sealed],
        )?,
        Artifact::Run {
            run_id,
            name,
            dataset,
            dataset_version,
            items,
            ..
        } => {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM experiment_runs WHERE run_id = ?1",
                    [run_id],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a run with id {run_id:?} is already stored; runs are immutable"
                )));
            }
            tx.execute(
                "INSERT INTO experiment_runs (run_id, name, dataset, dataset_version, items, created_ns, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![run_id, name, dataset, dataset_version, *items as i64, now, sealed],
            )?
        }
    };
    if inserted == 0 {
        return Ok(false);
    }
    let entry = auditor.append(&tx, "experiment", &audit::ContentTally::default(), detail)?;
    tx.commit()?;
    auditor.apply(entry);
    Ok(true)
}

pub(super) fn list_datasets(conn: &Connection) -> Result<Vec<Listed>, StoreError> {
    let mut st = conn.prepare(
        "SELECT name, version, items, created_ns FROM datasets ORDER BY name, created_ns DESC",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Listed {
            key: r.get(0)?,
            label: r.get(1)?,
            dataset: None,
            dataset_version: None,
            items: r.get::<_, i64>(2)? as usize,
            created_ns: r.get::<_, i64>(3)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn list_runs(
    conn: &Connection,
    dataset: Option<&str>,
) -> Result<Vec<Listed>, StoreError> {
    let mut st = conn.prepare(
        "SELECT run_id, name, dataset, dataset_version, items, created_ns FROM experiment_runs
         WHERE ?1 IS NULL OR dataset = ?1 ORDER BY created_ns DESC",
    )?;
    let rows = st.query_map([dataset], |r| {
        Ok(Listed {
            key: r.get(0)?,
            label: r.get(1)?,
            dataset: r.get(2)?,
            dataset_version: r.get(3)?,
            items: r.get::<_, i64>(4)? as usize,
            created_ns: r.get::<_, i64>(5)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A dataset's body (JSONL) and version: the given version, or the newest.
pub(super) fn dataset(
    conn: &Connection,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    let row: Option<(String, Vec<u8>)> = conn
        .query_row(
            "SELECT version, body FROM datasets WHERE name = ?1 AND (?2 IS NULL OR version = ?2)
             ORDER BY created_ns DESC LIMIT 1",
            params![name, version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(v, body)| Ok((v, unpack(vault, "datasets", &body)?)))
        .transpose()
}

/// A run's body (JSON).
pub(super) fn run(
    conn: &Connection,
    vault: &Vault,
    run_id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let body: Option<Vec<u8>> = conn
        .query_row(
            "SELECT body FROM experiment_runs WHERE run_id = ?1",
            [run_id],
            |r| r.get(0),
        )
        .optional()?;
    body.map(|b| unpack(vault, "experiment_runs", &b))
        .transpose()
}

fn unpack(vault: &Vault, table: &str, stored: &[u8]) -> Result<Vec<u8>, StoreError> {
    let plain = vault.open_value(table, stored)?;
    zstd::decode_all(plain.as_ref()).map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))
}
