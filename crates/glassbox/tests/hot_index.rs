//! The in-memory hot index answers aggregation exactly as SQL does, live and
//! after a restart rebuilds it from disk.

mod common;

use glassbox_ingest::decode::{self, Encoding, Signal};
use glassbox_model::{Score, ScoreSource, ScoreValue};
use glassbox_pipeline::{Pipeline, PriceTable};
use glassbox_store::sqlite::SqliteStore;
use glassbox_store::{Filter, Store, WriteBatch};

fn signal_of(name: &str) -> Option<(Signal, Encoding)> {
    let enc = if name.ends_with(".json") {
        Encoding::Json
    } else {
        Encoding::Protobuf
    };
    [
        ("traces", Signal::Traces),
        ("logs", Signal::Logs),
        ("metrics", Signal::Metrics),
    ]
    .into_iter()
    .find(|(s, _)| name.contains(&format!(".{s}.")))
    .map(|(_, sig)| (sig, enc))
}

fn filters() -> Vec<Filter> {
    let f = Filter::default;
    vec![
        f(),
        Filter {
            model: Some("claude-sonnet-4-6".into()),
            ..f()
        },
        Filter {
            model: Some("claude-haiku-4-5-20251001".into()),
            status: Some("error".into()),
            ..f()
        },
        Filter {
            status: Some("ok".into()),
            ..f()
        },
        Filter {
            user: Some("u-1001".into()),
            ..f()
        },
        Filter {
            session: Some("dev-basic-s2".into()),
            ..f()
        },
        Filter {
            service: Some("claude-code".into()),
            ..f()
        },
        Filter {
            from_ns: Some(1_700_000_000_000_000_000),
            to_ns: Some(1_900_000_000_000_000_000),
            ..f()
        },
        Filter {
            to_ns: Some(1_000),
            ..f()
        },
        // A span-name search is matched in SQL, with scores and ordinals from memory.
        Filter {
            q: Some("chat".into()),
            ..f()
        },
    ]
}

fn compare(store: &SqliteStore) {
    // The filter menus' values are every model and service the rows carry.
    let (mut models, mut services) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    store
        .for_each_call_sql(&Filter::default(), &mut |c| {
            models.extend(c.model.as_deref().map(str::to_owned));
            services.extend(c.service.as_deref().map(str::to_owned));
        })
        .unwrap();
    store
        .for_each_trace_sql(&Filter::default(), &mut |t| {
            services.extend(t.service.as_deref().map(str::to_owned));
        })
        .unwrap();
    assert!(models.len() > 3, "{models:?}");
    let known = |d| store.known_values(d).unwrap();
    assert_eq!(
        known(glassbox_store::Dimension::Model),
        models.into_iter().collect::<Vec<_>>()
    );
    assert_eq!(
        known(glassbox_store::Dimension::Service),
        services.into_iter().collect::<Vec<_>>()
    );
    for f in filters() {
        let (mut hot, mut sql) = (Vec::new(), Vec::new());
        store
            .for_each_call(&f, &mut |c| {
                hot.push((
                    c.call_id,
                    c.input_tokens,
                    c.output_tokens,
                    c.cost_pico,
                    c.failed,
                    c.model.clone(),
                ))
            })
            .unwrap();
        store
            .for_each_call_sql(&f, &mut |c| {
                sql.push((
                    c.call_id,
                    c.input_tokens,
                    c.output_tokens,
                    c.cost_pico,
                    c.failed,
                    c.model.clone(),
                ))
            })
            .unwrap();
        hot.sort();
        sql.sort();
        assert_eq!(hot, sql, "calls for {f:?}");
        let (mut hot, mut sql) = (Vec::new(), Vec::new());
        let scores = |t: &glassbox_store::TraceRow| -> Vec<(String, u64)> {
            let mut list: Vec<_> = t
                .scores
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|(name, v)| (name.to_string(), v.to_bits()))
                .collect();
            list.sort();
            list
        };
        store
            .for_each_trace(&f, &mut |t| {
                hot.push((
                    t.trace_id,
                    t.span_count,
                    t.error_count,
                    t.tool_calls,
                    t.name.clone(),
                    scores(t),
                ))
            })
            .unwrap();
        store
            .for_each_trace_sql(&f, &mut |t| {
                sql.push((
                    t.trace_id,
                    t.span_count,
                    t.error_count,
                    t.tool_calls,
                    t.name.clone(),
                    scores(t),
                ))
            })
            .unwrap();
        hot.sort();
        sql.sort();
        assert_eq!(hot, sql, "traces for {f:?}");
    }
}

fn score(id: &str, trace: [u8; 16], value: ScoreValue) -> Score {
    Score {
        id: id.into(),
        trace_id: glassbox_model::TraceId(trace),
        span_id: None,
        name: "quality".into(),
        value,
        source: ScoreSource::Rule,
        comment: None,
        author: None,
        time_unix_nano: 1_795_000_000_000_000_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_index_matches_sql_live_and_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(PriceTable::bundled().unwrap());
    let store = SqliteStore::open(dir.path()).unwrap();
    let mut calls = 0;
    for scenario in common::scenarios() {
        let mut names: Vec<_> = std::fs::read_dir(&scenario)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        names.sort();
        for path in names {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some((signal, enc)) = signal_of(&name) else {
                continue;
            };
            let batch = decode::decode(signal, enc, &std::fs::read(&path).unwrap()).unwrap();
            let (mut spans, mut logs) = (batch.spans, batch.logs);
            pipeline.process_spans(&mut spans);
            pipeline.process_logs(&mut logs);
            store
                .write(WriteBatch {
                    spans,
                    logs,
                    metrics: batch.metrics,
                    scores: Vec::new(),
                })
                .await
                .unwrap();
        }
    }
    store
        .for_each_call(&Filter::default(), &mut |_| calls += 1)
        .unwrap();
    assert!(calls > 100, "{calls}");
    // Scores: numeric, boolean and categorical, one sent twice, one on a trace
    // that has not arrived (it must not appear as a trace).
    let mut traces = Vec::new();
    store
        .for_each_trace(&Filter::default(), &mut |t| traces.push(t.trace_id))
        .unwrap();
    let mut scores = Vec::new();
    for (i, t) in traces.iter().take(30).enumerate() {
        let value = match i % 3 {
            0 => ScoreValue::Number(i as f64 / 30.0),
            1 => ScoreValue::Bool(i % 2 == 0),
            _ => ScoreValue::Category("helpful".into()),
        };
        scores.push(score(&format!("s{i}"), *t, value));
    }
    scores.push(score("s0", traces[0], ScoreValue::Number(0.99)));
    scores.push(score("orphan", [0xAB; 16], ScoreValue::Number(1.0)));
    store
        .write(WriteBatch {
            scores,
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let mut scored = 0;
    store
        .for_each_trace(&Filter::default(), &mut |t| {
            scored += usize::from(t.scores.is_some());
            assert_ne!(t.trace_id, [0xAB; 16]);
        })
        .unwrap();
    assert_eq!(scored, 20, "numeric and boolean scores, each once");
    compare(&store);
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    compare(&store);
}
