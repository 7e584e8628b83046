//! The hot index: every model call and trace summary row, held in memory so
//! aggregates over millions of spans answer in milliseconds without a table
//! scan. The writer updates it after each commit; it is rebuilt from the
//! database at start. It answers exactly what the SQL path answers.
//!
//! Cost: about 150 bytes per model call and per trace (strings are interned).

use std::collections::{BTreeSet, HashMap, HashSet};

use rusqlite::Connection;

use crate::{CallRow, Filter, StoreError, Sym, TraceRow};

#[derive(Default)]
pub struct HotIndex {
    calls: Vec<CallRow>,
    call_pos: HashMap<i64, usize>,
    traces: Vec<TraceRow>,
    trace_pos: HashMap<[u8; 16], usize>,
    strings: HashSet<Sym>,
    models: BTreeSet<Sym>,
    services: BTreeSet<Sym>,
}

fn intern(strings: &mut HashSet<Sym>, s: &mut Option<Sym>) {
    if let Some(v) = s {
        match strings.get(v) {
            Some(shared) => *v = shared.clone(),
            None => {
                strings.insert(v.clone());
            }
        }
    }
}

fn remember(set: &mut BTreeSet<Sym>, value: &Option<Sym>) {
    if let Some(v) = value
        && !set.contains(v)
    {
        set.insert(v.clone());
    }
}

fn eq(field: &Option<Sym>, want: &Option<String>) -> bool {
    match want {
        None => true,
        Some(w) => field.as_deref() == Some(w.as_str()),
    }
}

/// SQL LIKE '%q%' semantics: ASCII case-insensitive substring.
fn like(hay: Option<&str>, q: &str) -> bool {
    hay.is_some_and(|h| h.to_ascii_lowercase().contains(&q.to_ascii_lowercase()))
}

fn in_window(ns: u64, f: &Filter) -> bool {
    f.from_ns.is_none_or(|from| ns >= from) && f.to_ns.is_none_or(|to| ns < to)
}

impl HotIndex {
    pub fn load(conn: &Connection) -> Result<Self, StoreError> {
        let mut hot = HotIndex::default();
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM model_calls c",
            super::read::CALL_COLUMNS
        ))?;
        for row in stmt.query_map([], super::read::call_row)? {
            hot.upsert_call(row?);
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM traces t",
            super::read::TRACE_COLUMNS
        ))?;
        for row in stmt.query_map([], super::read::trace_row)? {
            hot.upsert_trace(row?);
        }
        super::read::numeric_scores(conn, &mut |t, name, v| hot.add_score(t, name, v))?;
        Ok(hot)
    }

    /// The trace's dense ordinal, allocating its slot (an empty placeholder row
    /// until the trace's own row arrives) on first sight.
    fn ordinal_for(&mut self, trace_id: [u8; 16]) -> u32 {
        let next = self.traces.len();
        let i = *self.trace_pos.entry(trace_id).or_insert(next);
        if i == next {
            self.traces.push(TraceRow {
                trace_id,
                ordinal: u32::try_from(i).ok(),
                ..TraceRow::default()
            });
        }
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    pub fn known_values(&self, dimension: crate::Dimension) -> Vec<String> {
        let set = match dimension {
            crate::Dimension::Model => &self.models,
            crate::Dimension::Service => &self.services,
        };
        set.iter().map(|s| s.to_string()).collect()
    }

    pub fn ordinal_of(&self, trace_id: &[u8; 16]) -> Option<u32> {
        self.trace_pos
            .get(trace_id)
            .and_then(|&i| u32::try_from(i).ok())
    }

    pub fn upsert_call(&mut self, mut row: CallRow) {
        row.trace_ordinal = row.trace_id.map(|t| self.ordinal_for(t));
        for s in [
            &mut row.service,
            &mut row.provider,
            &mut row.model,
            &mut row.user_id,
            &mut row.session_id,
            &mut row.release,
            &mut row.prompt_version,
        ] {
            intern(&mut self.strings, s);
        }
        remember(&mut self.models, &row.model);
        remember(&mut self.services, &row.service);
        match self.call_pos.get(&row.call_id) {
            Some(&i) => self.calls[i] = row,
            None => {
                self.call_pos.insert(row.call_id, self.calls.len());
                self.calls.push(row);
            }
        }
    }

    pub fn scores_of(&self, trace_id: &[u8; 16]) -> Option<std::sync::Arc<[(Sym, f64)]>> {
        self.trace_pos
            .get(trace_id)
            .and_then(|&i| self.traces[i].scores.clone())
    }

    /// A numeric score on a trace (its row may not have arrived yet).
    pub fn add_score(&mut self, trace_id: [u8; 16], name: String, value: f64) {
        let mut name = Some(Sym::from(name));
        intern(&mut self.strings, &mut name);
        let Some(name) = name else { return };
        let i = self.ordinal_for(trace_id) as usize;
        let row = &mut self.traces[i];
        let mut list = row.scores.as_deref().unwrap_or_default().to_vec();
        list.push((name, value));
        row.scores = Some(list.into());
    }

    pub fn upsert_trace(&mut self, mut row: TraceRow) {
        for s in [
            &mut row.name,
            &mut row.service,
            &mut row.user_id,
            &mut row.session_id,
            &mut row.release,
            &mut row.prompt_version,
            &mut row.environment,
        ] {
            intern(&mut self.strings, s);
        }
        remember(&mut self.services, &row.service);
        let i = self.ordinal_for(row.trace_id);
        row.ordinal = Some(i);
        // Scores arrive on their own; the summary row does not carry them.
        row.scores = self.traces[i as usize].scores.take();
        self.traces[i as usize] = row;
    }

    /// Whether the index can answer this filter for traces (span-name search needs the spans).
    pub fn answers_traces(f: &Filter) -> bool {
        f.q.is_none()
    }

    pub fn for_each_call(&self, f: &Filter, visit: &mut dyn FnMut(&CallRow)) {
        for c in &self.calls {
            let ok = in_window(c.start_ns, f)
                && eq(&c.service, &f.service)
                && eq(&c.model, &f.model)
                && eq(&c.user_id, &f.user)
                && eq(&c.session_id, &f.session)
                && eq(&c.release, &f.release)
                && eq(&c.prompt_version, &f.prompt_version)
                && match f.status.as_deref() {
                    Some("error") => c.failed,
                    Some("ok") => !c.failed,
                    _ => true,
                }
                && f.q.as_deref().is_none_or(|q| {
                    c.trace_id
                        .and_then(|t| self.trace_pos.get(&t))
                        .is_some_and(|&i| like(self.traces[i].name.as_deref(), q))
                });
            if ok {
                visit(c);
            }
        }
    }

    pub fn for_each_trace(&self, f: &Filter, visit: &mut dyn FnMut(&TraceRow)) {
        let with_model: Option<HashSet<[u8; 16]>> = f.model.as_ref().map(|m| {
            self.calls
                .iter()
                .filter(|c| c.model.as_deref() == Some(m.as_str()))
                .filter_map(|c| c.trace_id)
                .collect()
        });
        for t in &self.traces {
            // A placeholder (calls seen, trace row not yet) is not a trace yet.
            let ok = t.span_count > 0
                && in_window(t.start_ns, f)
                && eq(&t.service, &f.service)
                && eq(&t.user_id, &f.user)
                && eq(&t.session_id, &f.session)
                && eq(&t.release, &f.release)
                && eq(&t.prompt_version, &f.prompt_version)
                && match f.status.as_deref() {
                    Some("error") => t.error_count > 0,
                    Some("ok") => t.error_count == 0,
                    _ => true,
                }
                && with_model
                    .as_ref()
                    .is_none_or(|set| set.contains(&t.trace_id));
            if ok {
                visit(t);
            }
        }
    }
}
