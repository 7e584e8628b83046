//! The `--jsonl` protocol of the scorer: `{"id","text"}` lines in, `{"id","entities"}`
//! lines out, offsets in Unicode code points.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::{Detector, Entity};

/// Errors of [`run_jsonl`].
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    #[error("input line {line}: {source}")]
    BadLine {
        line: usize,
        source: serde_json::Error,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("output error: {0}")]
    Encode(serde_json::Error),
}

#[derive(Deserialize)]
struct InRecord {
    id: serde_json::Value,
    text: String,
}

#[derive(Serialize)]
struct OutEntity {
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct OutRecord<'a> {
    id: &'a serde_json::Value,
    entities: Vec<OutEntity>,
}

/// Reads JSONL records from `input`, writes one prediction line per record to `output`.
/// Blank lines are skipped; a line that is not a `{"id","text"}` object stops the run
/// with an error naming its 1-based line number.
pub fn run_jsonl(
    detector: &Detector,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<usize, JsonlError> {
    let mut n = 0;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: InRecord = serde_json::from_str(&line).map_err(|source| JsonlError::BadLine {
            line: i + 1,
            source,
        })?;
        let ents = detector.detect(&rec.text);
        let entities = to_code_points(&rec.text, &ents);
        serde_json::to_writer(
            &mut output,
            &OutRecord {
                id: &rec.id,
                entities,
            },
        )
        .map_err(JsonlError::Encode)?;
        output.write_all(b"\n")?;
        n += 1;
    }
    output.flush()?;
    Ok(n)
}

/// Converts sorted byte offsets to code-point offsets in one pass over the text.
fn to_code_points(text: &str, ents: &[Entity]) -> Vec<OutEntity> {
    let mut marks: Vec<usize> = ents.iter().flat_map(|e| [e.start, e.end]).collect();
    marks.sort_unstable();
    marks.dedup();
    let mut map = Vec::with_capacity(marks.len());
    let mut mi = 0usize;
    let ends = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()));
    for (cp, bi) in ends.enumerate() {
        while mi < marks.len() && marks[mi] <= bi {
            map.push((marks[mi], cp));
            mi += 1;
        }
    }
    let lookup = |b: usize| {
        map.binary_search_by_key(&b, |&(k, _)| k)
            .map(|i| map[i].1)
            .unwrap_or(0)
    };
    ents.iter()
        .map(|e| OutEntity {
            start: lookup(e.start),
            end: lookup(e.end),
            kind: e.kind.as_str(),
        })
        .collect()
}
