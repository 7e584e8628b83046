//! The embedded store: SQLite (bundled) in WAL mode.
//!
//! One writer thread owns the only write connection and group-commits every
//! batch that is waiting into one transaction with `synchronous = FULL`, so an
//! acknowledged batch survives `kill -9` and power loss while many concurrent
//! exporters share one fsync. Readers use their own connections and never
//! block the writer.

pub mod audit;
mod content;
pub mod erase;
pub mod experiments;
mod hot;
pub mod keys;
mod prepare;
mod read;
mod schema;
pub mod vault;
mod write;

pub use prepare::PreparedBatch;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, WriteBatch};

pub use schema::{MIGRATIONS, current_version};

const DB_FILE: &str = "glassbox.db";
/// Batches waiting for the writer; beyond this, writers are told to back off.
const QUEUE_DEPTH: usize = 64;
const READERS: usize = 4;

struct Job {
    work: Work,
    done: oneshot::Sender<Result<(), StoreError>>,
}

enum Work {
    Batch(PreparedBatch),
    /// Start sealing new content with a fresh data key.
    RotateDataKey,
    /// Erase a user's data, or everything older than a cutoff.
    Erase(
        erase::Selector,
        oneshot::Sender<Result<erase::Report, StoreError>>,
    ),
    /// Store a dataset version or an experiment run, with its audit entry.
    Artifact(
        experiments::Artifact,
        oneshot::Sender<Result<bool, StoreError>>,
    ),
    /// Record an event (configuration in force, a policy change) in the audit trail.
    Record(&'static str, serde_json::Value),
    /// Create or revoke an API key, with its audit entry.
    Key(
        keys::KeyChange,
        oneshot::Sender<Result<keys::KeyOutcome, StoreError>>,
    ),
}

/// The embedded SQLite store.
pub struct SqliteStore {
    dir: std::path::PathBuf,
    /// `None` only while dropping.
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    committed: std::sync::Arc<prepare::Committed>,
    vault: std::sync::Arc<vault::Vault>,
    hot: std::sync::Arc<std::sync::RwLock<hot::HotIndex>>,
    stop_checkpoints: std::sync::Arc<std::sync::atomic::AtomicBool>,
    checkpoints: Option<std::thread::JoinHandle<()>>,
}

/// Returned when the write queue is full: retry later.
#[derive(Debug, thiserror::Error)]
#[error("the write queue is full ({0} batches waiting)")]
pub struct QueueFull(pub usize);

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    Ok(conn)
}

/// How to open a store beyond its directory.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Seal content at rest under this master key (see [`vault`]).
    pub master_key: Option<vault::MasterKey>,
    /// Master keys being rotated out: data keys they wrap are re-wrapped under `master_key`.
    pub previous_master_keys: Vec<vault::MasterKey>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, migrating its schema.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, StoreOptions::default())
    }

    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Open {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let mut conn = open_connection(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: the WAL is fsynced at every commit, so an acknowledged batch survives power loss.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoints run on their own thread (below) so commits never wait for
        // them; this larger limit is only the writer's fallback if that thread
        // falls behind, which bounds the WAL at ~256 MiB.
        conn.pragma_update(None, "wal_autocheckpoint", 65536)?;
        conn.pragma_update(None, "cache_size", -65536)?;
        schema::migrate(&mut conn)?;
        let mut auditor = audit::Auditor::open(&mut conn, dir)?;
        let vault = {
            let tx = conn.transaction()?;
            let (vault, events) =
                vault::Vault::open(&tx, options.master_key, &options.previous_master_keys)?;
            for event in events.0 {
                let entry = auditor.append(&tx, "key", &audit::ContentTally::default(), event)?;
                auditor.apply(entry);
            }
            tx.commit()?;
            std::sync::Arc::new(vault)
        };
        let hot = std::sync::Arc::new(std::sync::RwLock::new(hot::HotIndex::load(&conn)?));
        let writer_hot = hot.clone();
        let readers = (0..READERS)
            .map(|_| {
                let c = open_connection(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
                c.pragma_update(None, "cache_size", -32768)?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let committed = std::sync::Arc::new(prepare::Committed::default());
        let published = committed.clone();
        let checkpointer = open_connection(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let stop_checkpoints = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = stop_checkpoints.clone();
        let checkpoints = std::thread::Builder::new()
            .name("glassbox-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, &stop))
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let writer = std::thread::Builder::new()
            .name("glassbox-writer".into())
            .spawn({
                let vault = vault.clone();
                move || writer_loop(conn, rx, &published, &writer_hot, auditor, &vault)
            })
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            jobs: Some(tx),
            writer: Some(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            committed,
            vault,
            hot,
            stop_checkpoints,
            checkpoints: Some(checkpoints),
        })
    }

    /// Encodes a batch for the writer (JSON, content hashing, compression).
    /// CPU-heavy and independent of the writer: call it from any thread.
    pub fn prepare(&self, batch: WriteBatch) -> Result<PreparedBatch, StoreError> {
        prepare::prepare(batch, &self.committed, &self.vault)
    }

    /// Whether content is sealed at rest.
    pub fn encrypted(&self) -> bool {
        self.vault.enabled()
    }

    /// Queues a prepared batch and resolves once it is committed. Fails fast
    /// with [`QueueFull`] instead of queueing without bound.
    pub fn try_write(
        &self,
        batch: PreparedBatch,
    ) -> Result<impl std::future::Future<Output = Result<(), StoreError>> + use<>, QueueFull> {
        let jobs = self.jobs.as_ref().ok_or(QueueFull(0))?;
        let permit = jobs.try_reserve().map_err(|_| QueueFull(QUEUE_DEPTH))?;
        let (done, wait) = oneshot::channel();
        permit.send(Job {
            work: Work::Batch(batch),
            done,
        });
        Ok(async move { wait.await.unwrap_or(Err(StoreError::Closed)) })
    }

    /// Queues `batch`, waiting for room, and resolves once it is committed.
    pub async fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let batch = self.prepare(batch)?;
        self.send(Work::Batch(batch)).await
    }

    /// Rotates the data key without stopping ingestion: new content is
    /// sealed with a fresh key, old content stays readable. Audited.
    pub async fn rotate_data_key(&self) -> Result<(), StoreError> {
        if !self.vault.enabled() {
            return Err(StoreError::Key(
                "encryption at rest is not configured".into(),
            ));
        }
        self.send(Work::RotateDataKey).await
    }

    /// Appends an event of `kind` to the audit trail (e.g. the configuration
    /// and policies in force at start-up), in order with the data.
    pub async fn record(
        &self,
        kind: &'static str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.send(Work::Record(kind, detail)).await
    }

    /// Erases a user's data (GDPR Art. 17) or everything older than a
    /// cutoff (retention), with an audit entry that keeps the rest verifiable.
    pub async fn erase(&self, selector: erase::Selector) -> Result<erase::Report, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Work::Erase(selector, reply)).await?;
        outcome.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates or revokes an API key through the writer, which commits the
    /// change with its audit entry.
    pub async fn change_key(
        &self,
        change: keys::KeyChange,
    ) -> Result<keys::KeyOutcome, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Work::Key(change, reply)).await?;
        outcome.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Stores a dataset version or an experiment run (see [`experiments`]): `true` when
    /// stored, `false` when that dataset version was already there.
    pub async fn store_artifact(
        &self,
        artifact: experiments::Artifact,
    ) -> Result<bool, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Work::Artifact(artifact, reply)).await?;
        outcome.await.unwrap_or(Err(StoreError::Closed))
    }

    pub fn list_datasets(&self) -> Result<Vec<experiments::Listed>, StoreError> {
        self.read(experiments::list_datasets)
    }

    pub fn list_runs(&self, dataset: Option<&str>) -> Result<Vec<experiments::Listed>, StoreError> {
        self.read(|c| experiments::list_runs(c, dataset))
    }

    /// A dataset's JSONL and version: `version`, or the newest.
    pub fn dataset(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.read(|c| experiments::dataset(c, &self.vault, name, version))
    }

    /// A stored run's JSON.
    pub fn run(&self, run_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|c| experiments::run(c, &self.vault, run_id))
    }

    /// The key whose secret hashes to `hash` ([`keys::hash`]), revoked or not.
    pub fn key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<keys::ApiKey>, StoreError> {
        self.read(|conn| keys::lookup(conn, hash))
    }

    /// Every API key, without secrets.
    pub fn list_keys(&self) -> Result<Vec<keys::ApiKey>, StoreError> {
        self.read(keys::list)
    }

    /// Whether any API key was ever created.
    pub fn keys_exist(&self) -> Result<bool, StoreError> {
        self.read(keys::any)
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_entries(&self, limit: usize) -> Result<Vec<audit::Entry>, StoreError> {
        self.read(|conn| audit::entries(conn, limit))
    }

    async fn send(&self, work: Work) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or(StoreError::Closed)?;
        jobs.send(Job { work, done })
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Runs `f` on a read connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Ok(conn) = self.readers[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[start % n]
            .lock()
            .map_err(|_| StoreError::Closed)?;
        f(&conn)
    }
}

impl Drop for SqliteStore {
    /// Lets the writer finish what is queued and close its connection, which
    /// checkpoints the WAL into the database file.
    fn drop(&mut self) {
        // The background checkpointer first, so the writer's final checkpoint runs alone.
        self.stop_checkpoints.store(true, Ordering::Relaxed);
        if let Some(c) = self.checkpoints.take() {
            let _ = c.join();
        }
        self.jobs.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// Copies committed WAL frames into the database file in the background
/// (PASSIVE: never blocks the writer or readers), so the WAL stays short
/// without the writer pausing for checkpoints.
fn checkpoint_loop(conn: Connection, stop: &std::sync::atomic::AtomicBool) {
    let mut ticks = 0u32;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        ticks += 1;
        if ticks.is_multiple_of(5)
            && let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        {
            tracing::debug!(error = %e, "background checkpoint skipped");
        }
    }
}

fn writer_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    committed: &prepare::Committed,
    hot: &std::sync::RwLock<hot::HotIndex>,
    mut auditor: audit::Auditor,
    vault: &vault::Vault,
) {
    let mut seen = write::SeenHashes::default();
    let mut next = None;
    while let Some(first) = next.take().or_else(|| rx.blocking_recv()) {
        let Job { work, done } = first;
        let batch = match work {
            Work::Batch(b) => b,
            Work::Record(kind, detail) => {
                let _ = done.send(record(&mut conn, &mut auditor, kind, detail));
                continue;
            }
            Work::RotateDataKey => {
                let _ = done.send(rotate_data_key(&mut conn, vault, &mut auditor));
                continue;
            }
            Work::Key(change, reply) => {
                let _ = reply.send(change_key(&mut conn, &change, &mut auditor));
                let _ = done.send(Ok(()));
                continue;
            }
            Work::Artifact(artifact, reply) => {
                let _ = reply.send(experiments::store(
                    &mut conn,
                    vault,
                    &mut auditor,
                    &artifact,
                ));
                let _ = done.send(Ok(()));
                continue;
            }
            Work::Erase(selector, reply) => {
                let outcome = erase::erase(&mut conn, vault, &auditor, &selector).and_then(
                    |(report, entry)| {
                        auditor.apply(entry);
                        // Emptied entries and deleted resources must not be referred to again.
                        committed.forget_all();
                        seen.forget_all();
                        // Erased traces and calls leave the in-memory index too.
                        let fresh = hot::HotIndex::load(&conn)?;
                        if let Ok(mut h) = hot.write() {
                            *h = fresh;
                        }
                        Ok(report)
                    },
                );
                let _ = reply.send(outcome);
                let _ = done.send(Ok(()));
                continue;
            }
        };
        let mut items = batch.len();
        let mut jobs = vec![(batch, done)];
        while items < 50_000 {
            match rx.try_recv() {
                Ok(Job {
                    work: Work::Batch(b),
                    done,
                }) => {
                    items += b.len();
                    jobs.push((b, done));
                }
                // Key operations run between groups, in their own transaction.
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        let (results, changes) =
            commit_group(&mut conn, &jobs, committed.epoch(), &mut seen, &mut auditor);
        let (resources, content) = seen.committed();
        committed.extend(resources, content);
        // Readers see the new rows only once they are durable.
        if let Ok(mut hot) = hot.write() {
            for c in changes.calls {
                hot.upsert_call(c);
            }
            for t in changes.traces {
                hot.upsert_trace(t);
            }
            for (t, name, v) in changes.scores {
                hot.add_score(t, name, v);
            }
        }
        for ((_, done), result) in jobs.into_iter().zip(results) {
            let _ = done.send(result);
        }
    }
    if let Err(e) = auditor.checkpoint(&conn) {
        tracing::warn!(error = %e, "could not sign the final audit checkpoint");
    }
    // Fold the WAL into the database so a stopped store is one compact file.
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "final checkpoint failed; the WAL will be replayed at next start");
    }
    tracing::debug!("writer stopped");
}

/// One transaction for all waiting batches; each batch in its own savepoint so
/// one bad batch does not sink the others.
fn record(
    conn: &mut Connection,
    auditor: &mut audit::Auditor,
    kind: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let entry = auditor.append(&tx, kind, &audit::ContentTally::default(), detail)?;
    tx.commit()?;
    auditor.apply(entry);
    Ok(())
}

fn change_key(
    conn: &mut Connection,
    change: &keys::KeyChange,
    auditor: &mut audit::Auditor,
) -> Result<keys::KeyOutcome, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (outcome, about) = keys::apply(&tx, change)?;
    let entry = auditor.append(&tx, "access", &audit::ContentTally::default(), about)?;
    tx.commit()?;
    auditor.apply(entry);
    Ok(outcome)
}

fn rotate_data_key(
    conn: &mut Connection,
    vault: &vault::Vault,
    auditor: &mut audit::Auditor,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let (key, event) = vault.rotate(&tx)?;
    let entry = auditor.append(&tx, "key", &audit::ContentTally::default(), event)?;
    tx.commit()?;
    auditor.apply(entry);
    vault.activate(key)
}

fn commit_group(
    conn: &mut Connection,
    jobs: &[(PreparedBatch, oneshot::Sender<Result<(), StoreError>>)],
    epoch: u64,
    seen: &mut write::SeenHashes,
    auditor: &mut audit::Auditor,
) -> (Vec<Result<(), StoreError>>, write::Changes) {
    let mut attempt = || -> Result<(Vec<Result<(), StoreError>>, write::Changes), StoreError> {
        let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(jobs.len());
        let mut changes = write::Changes::default();
        for (batch, _) in jobs {
            if batch.epoch.is_some_and(|e| e != epoch) {
                results.push(Err(StoreError::Retry(
                    "an erasure ran while this batch was being encoded".into(),
                )));
                continue;
            }
            let tally_before = seen.tally;
            let sp = tx.savepoint()?;
            let mut job_changes = write::Changes::default();
            match write::apply(&sp, batch, seen, &mut job_changes) {
                Ok(()) => {
                    sp.commit()?;
                    changes.calls.extend(job_changes.calls);
                    changes.traces.extend(job_changes.traces);
                    changes.scores.extend(job_changes.scores);
                    results.push(Ok(()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "batch failed and was rolled back");
                    drop(sp);
                    seen.rolled_back();
                    seen.tally = tally_before;
                    results.push(Err(e));
                }
            }
        }
        // The entry commits with the data it covers, or not at all.
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        let entry = auditor.append(
            &tx,
            "ingest",
            &seen.take_tally(),
            serde_json::json!({"batches": accepted}),
        )?;
        tx.commit()?;
        auditor.apply(entry);
        Ok((results, changes))
    };
    match attempt() {
        Ok(r) => r,
        Err(e) => {
            // Hashes remembered from the rolled-back transaction are not on disk.
            seen.rolled_back();
            seen.take_tally();
            tracing::error!(error = %e, "commit failed; {} batches refused", jobs.len());
            let results = jobs
                .iter()
                .map(|_| Err(StoreError::Corrupt(format!("commit failed: {e}"))))
                .collect();
            (results, write::Changes::default())
        }
    }
}
