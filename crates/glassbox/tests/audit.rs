//! The audit trail against tampering: a store written by the real server
//! through its receivers, then edited behind its back (SQL as the `sqlite3`
//! CLI would, and raw file bytes), checked with the real `glassbox audit
//! verify` and its exit codes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;

fn glassbox(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .output()
        .expect("run glassbox");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn verify(dir: &Path) -> (i32, String) {
    glassbox(&["audit", "verify", "--data-dir", dir.to_str().unwrap()])
}

/// A stopped store holding spans, content blobs, logs and metric points.
async fn store() -> tempfile::TempDir {
    let server = common::start().await;
    for dir in common::scenarios().into_iter().filter(|d| {
        let s = d.to_string_lossy();
        s.contains("claude-code-json/") || s.contains("anthropic-sdk-content/support-basic")
    }) {
        common::send_http(&server, &dir).await;
    }
    server.stop().await
}

fn copy(from: &Path, name: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let to = root.path().join(name);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    (root, to)
}

fn sql(dir: &Path, statements: &str) {
    Connection::open(dir.join("glassbox.db"))
        .unwrap()
        .execute_batch(statements)
        .unwrap();
}

fn count(dir: &Path, query: &str) -> i64 {
    Connection::open(dir.join("glassbox.db"))
        .unwrap()
        .query_row(query, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_found_and_named() {
    let original = store().await;
    let dir = original.path();

    let (code, out) = verify(dir);
    assert_eq!(code, 0, "an untouched store verifies: {out}");
    assert!(out.starts_with("ok:"), "{out}");
    assert_eq!(
        count(dir, "SELECT count(*) FROM blobs"),
        0,
        "message content lives in the covered span chunks, not in hash-keyed tables"
    );
    assert!(
        count(dir, "SELECT count(*) FROM audit_checkpoints") > 0,
        "a signed checkpoint at shutdown"
    );
    assert_eq!(
        count(
            dir,
            "SELECT count(*) FROM audit_log WHERE kind = 'config' AND json_extract(detail, '$.about.redaction.default') = 'mask'"
        ),
        1,
        "the policies in force at start-up are on record"
    );

    // Which entry covers span row 5: the first bad entry must be named.
    let entry_of_span5 = count(
        dir,
        "SELECT min(seq) FROM audit_log WHERE json_extract(detail, '$.tables.spans.to') >= 5",
    );
    let cases: Vec<(&str, String, String)> = vec![
        (
            "edit a span",
            "UPDATE spans SET name = name || '!' WHERE id = 5".into(),
            format!("entry {entry_of_span5} (ingest): spans rows"),
        ),
        (
            "delete a span",
            "DELETE FROM spans WHERE id = 5".into(),
            format!("entry {entry_of_span5} (ingest): spans rows"),
        ),
        (
            "edit a span's detail chunk",
            "UPDATE span_chunks SET data = data || x'00' WHERE id = 1".into(),
            "span_chunks rows".into(),
        ),
        (
            "edit a log record",
            "UPDATE logs SET severity = severity + 1 WHERE id = (SELECT max(id) FROM logs)".into(),
            "logs rows".into(),
        ),
        (
            "edit a metric point",
            "UPDATE metric_points SET time_ns = time_ns + 1 WHERE id = 1".into(),
            "metric_points rows".into(),
        ),
        (
            "insert a span",
            "INSERT INTO spans (trace_id, span_id, name, kind, start_ns, end_ns, status, scope, chunk_id, chunk_index)
             VALUES (x'00', x'01', 'forged', 'llm', 0, 0, 0, '', 1, 0)"
                .into(),
            "spans: rows".into(),
        ),
        (
            "delete a chunk of span details and message content",
            "DELETE FROM span_chunks WHERE id = (SELECT max(id) FROM span_chunks)".into(),
            "span_chunks".into(),
        ),
        (
            "delete an audit entry",
            "DELETE FROM audit_log WHERE seq = 4".into(),
            "entry 4: missing".into(),
        ),
        (
            "swap two audit entries",
            "UPDATE audit_log SET detail = CASE seq WHEN 3 THEN (SELECT detail FROM audit_log WHERE seq = 4)
                                                  ELSE (SELECT detail FROM audit_log WHERE seq = 3) END,
                                  hash = CASE seq WHEN 3 THEN (SELECT hash FROM audit_log WHERE seq = 4)
                                                  ELSE (SELECT hash FROM audit_log WHERE seq = 3) END
             WHERE seq IN (3, 4)"
                .into(),
            "entry 3".into(),
        ),
        (
            "edit an audit entry",
            "UPDATE audit_log SET detail = detail || ' ' WHERE seq = 3".into(),
            "its contents were altered".into(),
        ),
        (
            "truncate the tail of the trail",
            "DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 2 FROM audit_log)".into(),
            "were truncated".into(),
        ),
        (
            "forge a checkpoint signature",
            "UPDATE audit_checkpoints SET signature = zeroblob(64)".into(),
            "signature does not verify".into(),
        ),
    ];
    for (what, statements, expect) in cases {
        let (_root, copy) = copy(dir, "store");
        sql(&copy, &statements);
        let (code, out) = verify(&copy);
        assert_eq!(code, 1, "{what}: verify must fail: {out}");
        assert!(out.contains("TAMPERED"), "{what}: {out}");
        assert!(
            out.contains(&expect),
            "{what}: expected {expect:?} in: {out}"
        );
    }

    // A byte changed in the database file itself, not through SQL.
    let (_root, raw) = copy(dir, "raw");
    let db = raw.join("glassbox.db");
    let mut bytes = std::fs::read(&db).unwrap();
    // Every copy of a span name (the span rows, and the derived trace rows).
    let needle = b"claude_code.interaction";
    let at: Vec<usize> = (0..bytes.len() - needle.len())
        .filter(|&i| &bytes[i..i + needle.len()] == needle)
        .collect();
    assert!(!at.is_empty(), "span names are stored in the file");
    for i in at {
        bytes[i] = b'C';
    }
    std::fs::write(&db, bytes).unwrap();
    let (code, out) = verify(&raw);
    assert_eq!(code, 1, "a flipped byte is found: {out}");

    // Maintenance that rewrites the file but not the data verifies.
    let (_root, vacuumed) = copy(dir, "vacuumed");
    sql(&vacuumed, "VACUUM");
    let (code, out) = verify(&vacuumed);
    assert_eq!(code, 0, "VACUUM keeps every row id: {out}");

    // Nothing to verify is a different failure from tampering.
    let (code, out) = glassbox(&["audit", "verify", "--data-dir", "/nonexistent/glassbox"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no Glassbox store"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_bundle_verifies_offline_with_a_pinned_key() {
    let original = store().await;
    let dir = original.path();
    let (code, key) = glassbox(&["audit", "public-key", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    let key = key.trim().to_owned();
    assert_eq!(key.len(), 64, "{key}");

    let out_root = tempfile::tempdir().unwrap();
    let bundle = out_root.path().join("bundle");
    let (code, out) = glassbox(&[
        "audit",
        "export",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    for f in [
        "glassbox.db",
        "audit-ed25519.pub",
        "audit-log.jsonl",
        "README.txt",
    ] {
        assert!(bundle.join(f).exists(), "{f} in the bundle");
    }
    assert!(
        !bundle.join("audit-ed25519.key").exists(),
        "never the signing key"
    );
    let entries = std::fs::read_to_string(bundle.join("audit-log.jsonl")).unwrap();
    assert!(entries.lines().count() >= 3);

    let b = bundle.to_str().unwrap();
    let (code, out) = glassbox(&["audit", "verify", "--data-dir", b, "--public-key", &key]);
    assert_eq!(code, 0, "{out}");

    // Someone who rewrites the bundle and re-signs with their own key is
    // caught by the auditor's pinned key.
    let other = "11".repeat(32);
    let (code, out) = glassbox(&["audit", "verify", "--data-dir", b, "--public-key", &other]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature does not verify"), "{out}");

    let (code, out) = glassbox(&["audit", "verify", "--data-dir", b, "--public-key", "zz"]);
    assert_eq!(code, 2, "a malformed key is an error, not a verdict: {out}");
    assert!(out.contains("--public-key"), "{out}");

    let (code, out) = glassbox(&[
        "audit",
        "export",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        b,
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("already exists"), "{out}");
}
