//! Message content at rest: history resent every turn is stored once, and an
//! erasure never leaves a span referring to content it emptied.

use glassbox_model::{
    Attributes, Grouping, Message, ModelCall, Part, Span, SpanId, SpanKind, Status, TraceId,
};
use glassbox_store::sqlite::SqliteStore;
use glassbox_store::sqlite::erase::Selector;
use glassbox_store::{Store, StoreError, WriteBatch};

fn message(text: &str) -> Message {
    Message {
        role: "user".into(),
        parts: vec![Part::Text { text: text.into() }],
    }
}

/// A model-call span of trace `t` by `user`, sent the conversation `history`.
fn call(t: u8, user: &str, history: &[&str]) -> Span {
    Span {
        trace_id: TraceId([t; 16]),
        span_id: SpanId([t; 8]),
        parent_span_id: None,
        name: "chat claude-sonnet-4-5".into(),
        otel_kind: 3,
        start_unix_nano: 1_000 * u64::from(t),
        end_unix_nano: 1_000 * u64::from(t) + 500,
        status: Status::default(),
        scope_name: "test".into(),
        scope_version: String::new(),
        resource: Attributes::new(),
        attributes: Attributes::new(),
        events: Vec::new(),
        kind: SpanKind::Llm,
        grouping: Grouping {
            user_id: Some(user.into()),
            ..Grouping::default()
        },
        model_call: Some(ModelCall {
            response_model: Some("claude-sonnet-4-5".into()),
            input_messages: history.iter().map(|m| message(m)).collect(),
            ..ModelCall::default()
        }),
        tool: None,
        tool_failed: false,
        redactions: Default::default(),
    }
}

fn batch(spans: Vec<Span>) -> WriteBatch {
    WriteBatch {
        spans,
        ..WriteBatch::default()
    }
}

fn history_of(store: &SqliteStore, t: u8) -> Vec<Message> {
    let spans = store.trace_spans(&[t; 16]).unwrap();
    assert_eq!(spans.len(), 1, "trace {t}");
    spans[0]
        .span
        .model_call
        .as_ref()
        .unwrap()
        .input_messages
        .clone()
}

#[tokio::test]
async fn resent_history_is_stored_once_and_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let long = "a long system-sized message ".repeat(400);
    store
        .write(batch(vec![call(1, "u", &[&long])]))
        .await
        .unwrap();
    let size_after_first = chunk_bytes(dir.path());
    for turn in 2..=6u8 {
        let mut history: Vec<String> = vec![long.clone()];
        history.extend((2..=turn).map(|i| format!("turn {i}")));
        let refs: Vec<&str> = history.iter().map(String::as_str).collect();
        store
            .write(batch(vec![call(turn, "u", &refs)]))
            .await
            .unwrap();
    }
    for turn in 2..=6u8 {
        let got = history_of(&store, turn);
        assert_eq!(got.len(), usize::from(turn), "turn {turn}");
        assert_eq!(got[0], message(&long));
        assert_eq!(got.last().unwrap(), &message(&format!("turn {turn}")));
    }
    // Five more turns resending an 11 KB message add far less than 5 copies of it.
    let grown = chunk_bytes(dir.path()) - size_after_first;
    assert!(grown < 2_000, "later turns stored {grown} bytes of chunks");
}

fn chunk_bytes(dir: &std::path::Path) -> i64 {
    rusqlite::Connection::open(dir.join("glassbox.db"))
        .unwrap()
        .query_row("SELECT sum(length(data)) FROM span_chunks", [], |r| {
            r.get(0)
        })
        .unwrap()
}

#[tokio::test]
async fn a_batch_encoded_before_an_erasure_is_refused_and_succeeds_when_resent() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let shared = "the opening message both users were sent ".repeat(50);
    store
        .write(batch(vec![call(1, "erase-me", &[&shared])]))
        .await
        .unwrap();

    // Encoded while the shared message is known to be stored (in trace 1's chunk)…
    let second = || batch(vec![call(2, "keep-me", &[&shared, "and a reply"])]);
    let prepared = store.prepare(second()).unwrap();
    // …then the only span that stored it is erased, emptying that entry.
    let report = store
        .erase(Selector::User("erase-me".into()))
        .await
        .unwrap();
    assert_eq!(report.spans, 1);
    assert!(report.content_blobs >= 1, "{report:?}");

    let refused = store.try_write(prepared).unwrap().await;
    assert!(
        matches!(&refused, Err(StoreError::Retry(m)) if m.contains("erasure")),
        "{refused:?}"
    );
    assert!(store.trace_spans(&[2; 16]).unwrap().is_empty());
    // Sent again (as an exporter retries), the content is stored anew.
    store.write(second()).await.unwrap();
    assert_eq!(
        history_of(&store, 2),
        vec![message(&shared), message("and a reply")]
    );
    assert!(store.trace_spans(&[1; 16]).unwrap().is_empty());
}

/// Copies the fixture store written before content addresses into a temporary directory.
fn store_before_addresses() -> tempfile::TempDir {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/store-before-addresses");
    let dir = tempfile::tempdir().unwrap();
    for file in ["glassbox.db", "audit-ed25519.key", "audit-ed25519.pub"] {
        std::fs::copy(from.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn verifies(dir: &std::path::Path) {
    let report = glassbox_store::sqlite::audit::verify(dir, None).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// A trace's id, user and each model call's input messages.
type Conversation = (Vec<u8>, Option<String>, Vec<Vec<Message>>);

/// Every model call's messages, by trace, as the store reads them back.
fn conversations(store: &SqliteStore) -> Vec<Conversation> {
    let traces = store.list_traces(&Default::default(), 100, None).unwrap();
    traces
        .iter()
        .map(|t| {
            let spans = store.trace_spans(&t.trace_id).unwrap();
            let calls = spans
                .iter()
                .filter_map(|s| s.span.model_call.as_ref())
                .map(|c| c.input_messages.clone())
                .collect();
            (
                t.trace_id.to_vec(),
                t.user_id.as_deref().map(str::to_owned),
                calls,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_store_written_before_content_addresses_reads_erases_and_verifies() {
    let dir = store_before_addresses();
    verifies(dir.path());
    let store = SqliteStore::open(dir.path()).unwrap();
    let before = conversations(&store);
    assert_eq!(before.len(), 12);
    let messages: usize = before
        .iter()
        .flat_map(|(_, _, calls)| calls)
        .map(Vec::len)
        .sum();
    assert!(messages >= 33, "every call has its history: {messages}");

    // New writes next to the old layout, resending an old conversation.
    let old_history: Vec<String> = before[0].2[0]
        .iter()
        .map(|m| match &m.parts[0] {
            Part::Text { text } => text.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    let refs: Vec<&str> = old_history.iter().map(String::as_str).collect();
    store
        .write(batch(vec![call(9, "new-user", &refs)]))
        .await
        .unwrap();

    let gone = before[0].1.clone().unwrap();
    let report = store.erase(Selector::User(gone.clone())).await.unwrap();
    assert!(report.spans > 0 && report.list_cells > 0, "{report:?}");
    let after = conversations(&store);
    let kept: Vec<_> = before
        .iter()
        .filter(|(_, user, _)| user.as_deref() != Some(gone.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        after
            .iter()
            .filter(|(id, _, _)| id != &vec![9u8; 16])
            .cloned()
            .collect::<Vec<_>>(),
        kept,
        "other users' conversations are intact"
    );
    assert_eq!(history_of(&store, 9).len(), refs.len());
    drop(store);
    verifies(dir.path());
}

/// A trace's id and its numeric scores (name, value).
type Scored = ([u8; 16], Vec<(String, f64)>);

/// Numeric scores on each trace, as `for_each_trace` gives them.
fn trace_scores(store: &SqliteStore) -> Vec<Scored> {
    let mut out = Vec::new();
    store
        .for_each_trace(&Default::default(), &mut |t| {
            let list = t
                .scores
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|(n, v)| (n.to_string(), *v))
                .collect();
            out.push((t.trace_id, list));
        })
        .unwrap();
    out
}

#[tokio::test]
async fn a_score_sent_before_its_trace_stays_with_it_as_the_trace_grows_and_after_restart() {
    use glassbox_model::{Score, ScoreSource, ScoreValue};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let score = Score {
        id: "early".into(),
        trace_id: TraceId([5; 16]),
        span_id: None,
        name: "quality".into(),
        value: ScoreValue::Number(0.25),
        source: ScoreSource::Human,
        comment: None,
        author: None,
        time_unix_nano: 1,
    };
    store
        .write(WriteBatch {
            scores: vec![score],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    assert!(trace_scores(&store).is_empty(), "no trace yet");
    store
        .write(batch(vec![call(5, "u", &["hi"])]))
        .await
        .unwrap();
    let expected = vec![([5u8; 16], vec![("quality".to_owned(), 0.25)])];
    assert_eq!(trace_scores(&store), expected);
    // A later span of the same trace rewrites its summary; the score stays.
    let mut later = call(5, "u", &["hi", "again"]);
    later.span_id = SpanId([9; 8]);
    store.write(batch(vec![later])).await.unwrap();
    assert_eq!(trace_scores(&store), expected);
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(trace_scores(&store), expected);
}
