//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//! Append new migrations; never edit a released one.

use rusqlite::Connection;

use crate::StoreError;

/// Each entry upgrades from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: spans, traces, the model-call ledger, logs, metric points, content blobs.
    r#"
    CREATE TABLE resources (
        hash BLOB PRIMARY KEY,
        json BLOB NOT NULL
    ) WITHOUT ROWID;

    -- Content blobs (messages, array elements) by hash: entry `chunk_index` of
    -- blob chunk `chunk_id`, one zstd frame per export request's new content.
    CREATE TABLE blobs (
        hash BLOB PRIMARY KEY,
        chunk_id INTEGER NOT NULL,
        chunk_index INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE blob_chunks (
        id INTEGER PRIMARY KEY,
        data BLOB NOT NULL
    );

    CREATE TABLE span_chunks (
        id INTEGER PRIMARY KEY,
        data BLOB NOT NULL
    );

    CREATE TABLE list_cells (
        hash BLOB PRIMARY KEY,
        prev BLOB,
        elem BLOB NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE spans (
        trace_id BLOB NOT NULL,
        span_id BLOB NOT NULL,
        parent_span_id BLOB,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        status INTEGER NOT NULL,
        scope TEXT NOT NULL,
        tool_name TEXT,
        tool_failed INTEGER NOT NULL DEFAULT 0,
        call_id INTEGER,
        resource_hash BLOB,
        -- The span's detail (attributes, events, canonical record) is entry
        -- `chunk_index` of chunk `chunk_id`: one zstd frame per export request
        -- compresses far better than one per span, and keeps span rows small.
        chunk_id INTEGER NOT NULL,
        chunk_index INTEGER NOT NULL
    );
    -- A rowid table: span rows are often over 1 KB, which a WITHOUT ROWID table spills to overflow pages.
    CREATE UNIQUE INDEX spans_by_id ON spans (trace_id, span_id);
    CREATE INDEX spans_by_parent ON spans (trace_id, parent_span_id);

    CREATE TABLE traces (
        trace_id BLOB PRIMARY KEY,
        name TEXT,
        has_root INTEGER NOT NULL DEFAULT 0,
        service TEXT,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        span_count INTEGER NOT NULL DEFAULT 0,
        error_count INTEGER NOT NULL DEFAULT 0,
        tool_calls INTEGER NOT NULL DEFAULT 0,
        tool_errors INTEGER NOT NULL DEFAULT 0,
        user_id TEXT,
        session_id TEXT,
        release TEXT,
        prompt_version TEXT,
        environment TEXT
    ) WITHOUT ROWID;
    CREATE INDEX traces_by_start ON traces (start_ns DESC, trace_id DESC);
    CREATE INDEX traces_by_session ON traces (session_id, start_ns);

    CREATE TABLE model_calls (
        call_id INTEGER PRIMARY KEY,
        response_id TEXT UNIQUE,
        trace_id BLOB,
        span_id BLOB,
        parent_span_id BLOB,
        service TEXT,
        scopes TEXT NOT NULL,
        rank INTEGER NOT NULL,
        has_usage INTEGER NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        provider TEXT,
        model TEXT,
        request_model TEXT,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        cache_write_5m_tokens INTEGER,
        cache_write_1h_tokens INTEGER,
        cost_pico INTEGER,
        price_id TEXT,
        unpriced_reason TEXT,
        failed INTEGER NOT NULL,
        error_type TEXT,
        attempts INTEGER NOT NULL,
        user_id TEXT,
        session_id TEXT,
        release TEXT,
        prompt_version TEXT,
        environment TEXT,
        members INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX calls_by_trace ON model_calls (trace_id);
    CREATE INDEX calls_by_service_start ON model_calls (service, start_ns);
    -- Calls no report has given an id yet (failed calls, id-less reporters): the
    -- few a newly arriving report may have to be joined with by timing.
    CREATE INDEX calls_unjoined ON model_calls (service, start_ns) WHERE response_id IS NULL;

    CREATE TABLE logs (
        id INTEGER PRIMARY KEY,
        time_ns INTEGER NOT NULL,
        trace_id BLOB,
        span_id BLOB,
        event_name TEXT,
        severity INTEGER NOT NULL,
        service TEXT,
        session_id TEXT,
        call_id INTEGER,
        resource_hash BLOB,
        detail BLOB NOT NULL
    );
    CREATE INDEX logs_by_time ON logs (time_ns);
    CREATE INDEX logs_by_trace ON logs (trace_id);

    CREATE TABLE metric_points (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        time_ns INTEGER NOT NULL,
        start_ns INTEGER NOT NULL,
        service TEXT,
        resource_hash BLOB,
        detail BLOB NOT NULL
    );
    CREATE INDEX metric_points_by_name ON metric_points (name, time_ns);
    "#,
    // 2: listing a service's traces newest first without a scan.
    r#"
    CREATE INDEX traces_by_service ON traces (service, start_ns DESC);
    "#,
    // 3: the tamper-evident audit trail (see sqlite/audit.rs). Entries cover
    // span rows by id, so spans get an explicit INTEGER PRIMARY KEY: VACUUM
    // may renumber an implicit rowid, which would break every digest.
    r#"
    CREATE TABLE spans_v3 (
        id INTEGER PRIMARY KEY,
        trace_id BLOB NOT NULL,
        span_id BLOB NOT NULL,
        parent_span_id BLOB,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        status INTEGER NOT NULL,
        scope TEXT NOT NULL,
        tool_name TEXT,
        tool_failed INTEGER NOT NULL DEFAULT 0,
        call_id INTEGER,
        resource_hash BLOB,
        chunk_id INTEGER NOT NULL,
        chunk_index INTEGER NOT NULL
    );
    INSERT INTO spans_v3 SELECT rowid, * FROM spans ORDER BY rowid;
    DROP TABLE spans;
    ALTER TABLE spans_v3 RENAME TO spans;
    CREATE UNIQUE INDEX spans_by_id ON spans (trace_id, span_id);
    CREATE INDEX spans_by_parent ON spans (trace_id, parent_span_id);

    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        time_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev BLOB NOT NULL,
        hash BLOB NOT NULL
    );
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        time_ns INTEGER NOT NULL,
        hash BLOB NOT NULL,
        signature BLOB NOT NULL
    );
    "#,
    // 4: data keys for encryption at rest, wrapped by the master key (see sqlite/vault.rs).
    r#"
    CREATE TABLE data_keys (
        id INTEGER PRIMARY KEY,
        wrapped BLOB NOT NULL,
        master TEXT NOT NULL,
        active INTEGER NOT NULL,
        created_ns INTEGER NOT NULL
    );
    "#,
    // 5: sensitive values redacted per trace (compliance events).
    r#"
    ALTER TABLE traces ADD COLUMN pii_findings INTEGER NOT NULL DEFAULT 0;
    "#,
    // 6: API keys (access control; see sqlite/keys.rs). Only a hash of each
    // key is stored; a revoked key stays listed.
    r#"
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        project TEXT NOT NULL,
        role TEXT NOT NULL,
        name TEXT,
        created_ns INTEGER NOT NULL,
        revoked_ns INTEGER
    );
    "#,
    // 7: what erasures (retention, a user's data) deleted or rewrote, so the
    // audit trail still verifies the rows that remain (see sqlite/erase.rs).
    r#"
    CREATE TABLE audit_erasures (
        seq INTEGER NOT NULL,
        tbl TEXT NOT NULL,
        row INTEGER NOT NULL,
        old BLOB NOT NULL,
        new BLOB,
        PRIMARY KEY (seq, tbl, row)
    ) WITHOUT ROWID;
    "#,
    // 8: scores on traces and spans (human, rule, LLM judge, SDK), append-only.
    r#"
    CREATE TABLE scores (
        id INTEGER PRIMARY KEY,
        score_id TEXT NOT NULL UNIQUE,
        trace_id BLOB NOT NULL,
        span_id BLOB,
        name TEXT NOT NULL,
        value_num REAL,
        value_text TEXT,
        value_kind TEXT NOT NULL,
        source TEXT NOT NULL,
        comment TEXT,
        author TEXT,
        time_ns INTEGER NOT NULL
    );
    CREATE INDEX scores_by_trace ON scores (trace_id);
    CREATE INDEX scores_by_name_time ON scores (name, time_ns);
    "#,
    // 9: golden datasets (one row per content version) and experiment runs, immutable;
    // bodies zstd-compressed and sealed like telemetry content.
    r#"
    CREATE TABLE datasets (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        items INTEGER NOT NULL,
        created_ns INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE TABLE experiment_runs (
        run_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        dataset TEXT,
        dataset_version TEXT,
        items INTEGER NOT NULL,
        created_ns INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX experiment_runs_by_dataset ON experiment_runs (dataset, created_ns);
    "#,
];

pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database to the newest schema, one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = current_version();
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "migrated store schema");
    }
    Ok(())
}
