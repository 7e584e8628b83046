//! Schema migrations from an empty store and from the previous version.

use glassbox_store::Store;
use glassbox_store::sqlite::{MIGRATIONS, SqliteStore, current_version};
use rusqlite::Connection;

fn user_version(path: &std::path::Path) -> i64 {
    Connection::open(path.join("glassbox.db"))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn empty_store_migrates_to_current() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    drop(store);
    assert_eq!(user_version(dir.path()), current_version());
    // Opening again is a no-op.
    let store = SqliteStore::open(dir.path()).unwrap();
    assert!(
        store
            .list_traces(&Default::default(), 10, None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn previous_version_migrates_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join("glassbox.db")).unwrap();
        for sql in &MIGRATIONS[..MIGRATIONS.len() - 1] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 - 1)
            .unwrap();
        conn.execute(
            "INSERT INTO traces (trace_id, name, has_root, service, start_ns, end_ns, span_count) VALUES (?1, 'old trace', 1, 'svc', 5, 9, 3)",
            [vec![7u8; 16]],
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), current_version());
    let t = store
        .get_trace(&[7u8; 16])
        .unwrap()
        .expect("trace survives the migration");
    assert_eq!(t.name.as_deref(), Some("old trace"));
    assert_eq!(t.span_count, 3);
}

#[test]
fn newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join("glassbox.db")).unwrap();
        conn.pragma_update(None, "user_version", current_version() + 5)
            .unwrap();
    }
    let err = SqliteStore::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("upgrade Glassbox"), "{err}");
}
