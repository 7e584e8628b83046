//! Golden datasets: items with an input, an expected output and metadata, read from and
//! written to JSONL or CSV.
//!
//! A dataset's **version** is the first 12 hex digits of the BLAKE3 hash of its items in
//! canonical JSONL: the same items always have the same version and any edit changes it, so
//! a run that records `{name, version}` names exactly the data it ran on (as a Git commit
//! does), with no registry to keep in sync.
//!
//! JSONL: one object per line, `{"id", "input", "expected", "metadata"}`; only `input` is
//! required (`id` defaults to `item-0001`, … by line). CSV: a header row with `input` and
//! optionally `id` and `expected`; every other column becomes a metadata key. A CSV cell that
//! holds a JSON object or array is read as that JSON, so structured inputs survive a round
//! trip through a spreadsheet.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    #[serde(default)]
    pub id: String,
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
}

impl Item {
    /// The input as the text a target reads: a string as it is, anything else as JSON.
    pub fn input_text(&self) -> String {
        text_of(&self.input)
    }

    pub fn expected_text(&self) -> Option<String> {
        self.expected.as_ref().map(text_of)
    }

    /// The question, for judges: `input.question` (or `query`, `prompt`) or the whole input.
    pub fn question(&self) -> String {
        ["question", "query", "prompt", "input"]
            .iter()
            .find_map(|k| self.input.get(k).and_then(Value::as_str))
            .map_or_else(|| self.input_text(), str::to_owned)
    }

    /// Retrieved context given with the input (`input.context`), for factuality without an
    /// expected answer.
    pub fn context(&self) -> Option<String> {
        self.input.get("context").map(text_of)
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// By file extension (`.jsonl`, `.ndjson`, `.json` lines; `.csv`).
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("dataset {path}: {message}")]
    Read { path: String, message: String },
    #[error("dataset {path}, line {line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    #[error("could not write {path}: {message}")]
    Write { path: String, message: String },
}

impl Dataset {
    /// Reads a dataset file; the format comes from the extension, the name from the file stem.
    pub fn load(path: &Path) -> Result<Dataset, DatasetError> {
        let shown = path.display().to_string();
        let format = Format::of_path(path).ok_or_else(|| DatasetError::Read {
            path: shown.clone(),
            message: "unknown format: name the file .jsonl or .csv".into(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("dataset")
            .to_owned();
        Dataset::parse(&name, &text, format, &shown)
    }

    /// Parses a dataset's text; `shown` names it in errors.
    pub fn parse(
        name: &str,
        text: &str,
        format: Format,
        shown: &str,
    ) -> Result<Dataset, DatasetError> {
        let mut items = match format {
            Format::Jsonl => parse_jsonl(text, shown)?,
            Format::Csv => parse_csv(text, shown)?,
        };
        let mut seen = HashSet::new();
        for (i, it) in items.iter_mut().enumerate() {
            if it.id.is_empty() {
                it.id = format!("item-{:04}", i + 1);
            }
            if !seen.insert(it.id.clone()) {
                return Err(DatasetError::Read {
                    path: shown.to_owned(),
                    message: format!("item id {:?} appears twice; ids must be unique", it.id),
                });
            }
        }
        if items.is_empty() {
            return Err(DatasetError::Read {
                path: shown.to_owned(),
                message: "the dataset has no items".into(),
            });
        }
        Ok(Dataset {
            name: name.to_owned(),
            items,
        })
    }

    /// The content version (see the module docs).
    pub fn version(&self) -> String {
        blake3::hash(self.to_jsonl().as_bytes()).to_hex()[..12].to_owned()
    }

    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for it in &self.items {
            // An Item always serialises (string keys, JSON values).
            out.push_str(&serde_json::to_string(it).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    pub fn to_csv(&self) -> Result<String, DatasetError> {
        let bad = |e: csv::Error| DatasetError::Write {
            path: "csv".into(),
            message: e.to_string(),
        };
        let meta_keys: Vec<String> = self
            .items
            .iter()
            .flat_map(|it| it.metadata.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["id".to_owned(), "input".to_owned(), "expected".to_owned()];
        header.extend(meta_keys.iter().cloned());
        w.write_record(&header).map_err(bad)?;
        for it in &self.items {
            let mut row = vec![
                it.id.clone(),
                it.input_text(),
                it.expected_text().unwrap_or_default(),
            ];
            row.extend(
                meta_keys
                    .iter()
                    .map(|k| it.metadata.get(k).map(text_of).unwrap_or_default()),
            );
            w.write_record(&row).map_err(bad)?;
        }
        let bytes = w.into_inner().map_err(|e| DatasetError::Write {
            path: "csv".into(),
            message: e.to_string(),
        })?;
        String::from_utf8(bytes).map_err(|e| DatasetError::Write {
            path: "csv".into(),
            message: e.to_string(),
        })
    }

    /// Writes the dataset in the format the path's extension names.
    pub fn save(&self, path: &Path) -> Result<(), DatasetError> {
        let shown = path.display().to_string();
        let text = match Format::of_path(path) {
            Some(Format::Csv) => self.to_csv()?,
            Some(Format::Jsonl) => self.to_jsonl(),
            None => {
                return Err(DatasetError::Write {
                    path: shown,
                    message: "unknown format: name the file .jsonl or .csv".into(),
                });
            }
        };
        std::fs::write(path, text).map_err(|e| DatasetError::Write {
            path: shown,
            message: e.to_string(),
        })
    }
}

fn parse_jsonl(text: &str, shown: &str) -> Result<Vec<Item>, DatasetError> {
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let item: Item = serde_json::from_str(line).map_err(|e| DatasetError::Line {
            path: shown.to_owned(),
            line: n + 1,
            message: format!(
                "{e} (each line is {{\"id\", \"input\", \"expected\", \"metadata\"}}, input required)"
            ),
        })?;
        items.push(item);
    }
    Ok(items)
}

fn parse_csv(text: &str, shown: &str) -> Result<Vec<Item>, DatasetError> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| DatasetError::Read {
            path: shown.to_owned(),
            message: format!("header row: {e}"),
        })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if !header.iter().any(|h| h == "input") {
        return Err(DatasetError::Read {
            path: shown.to_owned(),
            message: format!(
                "the header row has no `input` column (it has: {})",
                header.join(", ")
            ),
        });
    }
    let mut items = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| DatasetError::Line {
            path: shown.to_owned(),
            line: n + 2,
            message: e.to_string(),
        })?;
        let mut it = Item {
            id: String::new(),
            input: Value::Null,
            expected: None,
            metadata: BTreeMap::new(),
        };
        for (h, cell) in header.iter().zip(rec.iter()) {
            match h.as_str() {
                "id" => it.id = cell.to_owned(),
                "input" => it.input = cell_value(cell),
                "expected" if !cell.is_empty() => it.expected = Some(cell_value(cell)),
                "expected" => {}
                _ if !cell.is_empty() => {
                    it.metadata.insert(h.clone(), cell_value(cell));
                }
                _ => {}
            }
        }
        items.push(it);
    }
    Ok(items)
}

/// A cell holding a JSON object or array is that JSON; anything else is text.
fn cell_value(cell: &str) -> Value {
    let t = cell.trim_start();
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(cell)
    {
        return v;
    }
    Value::String(cell.to_owned())
}

/// Builds a dataset from production traces on a Glassbox server: each trace matching the
/// filters (the trace API's query keys, e.g. `release=v1`) becomes an item whose input is the
/// first user message its agent received and whose `expected` is the answer it gave — a
/// starting point for a golden set that a person then reviews and corrects. The trace id and
/// grouping keys are kept in `metadata`.
pub async fn from_traces(
    server: &crate::experiment::Server,
    filters: &[(String, String)],
    limit: usize,
) -> Result<Vec<Item>, String> {
    let http = reqwest::Client::new();
    let get = |url: String| {
        let mut r = http.get(url);
        if let Some(k) = &server.api_key {
            r = r.bearer_auth(k);
        }
        r
    };
    let mut query: Vec<(String, String)> = filters.to_vec();
    query.push(("limit".into(), limit.clamp(1, 1000).to_string()));
    let url = format!("{}/api/v1/traces", server.url);
    let resp = get(url.clone())
        .query(&query)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !resp.status().is_success() {
        let status = resp.status();
        return Err(format!(
            "{url}: HTTP {status}: {}",
            resp.text().await.unwrap_or_default()
        ));
    }
    let page: Value = resp.json().await.map_err(|e| format!("{url}: {e}"))?;
    let mut items = Vec::new();
    for t in page["traces"].as_array().into_iter().flatten() {
        let Some(id) = t["trace_id"].as_str() else {
            continue;
        };
        let url = format!("{}/api/v1/traces/{id}", server.url);
        let detail: Value = get(url.clone())
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let llm: Vec<&Value> = detail["spans"]
            .as_array()
            .into_iter()
            .flatten()
            // Every reporter of a model call, ordered by start: the one counted for tokens
            // may not have captured content, another may have.
            .filter(|s| s["kind"] == "llm")
            .collect();
        let text_of_role = |s: &Value, key: &str, role: &str| -> Option<String> {
            let texts: Vec<&str> = s[key]
                .as_array()?
                .iter()
                .filter(|m| m["role"].as_str() == Some(role))
                .flat_map(|m| m["parts"].as_array().into_iter().flatten())
                .filter_map(|p| (p["type"] == "text").then(|| p["text"].as_str()).flatten())
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        };
        let Some(input) = llm
            .iter()
            .find_map(|s| text_of_role(s, "input_messages", "user"))
        else {
            continue;
        };
        let expected = llm
            .iter()
            .rev()
            .find_map(|s| text_of_role(s, "output_messages", "assistant"));
        let mut metadata = BTreeMap::new();
        metadata.insert("trace_id".to_owned(), Value::String(id.to_owned()));
        for k in ["service", "release", "prompt_version"] {
            if let Some(v) = t[k].as_str() {
                metadata.insert(k.to_owned(), Value::String(v.to_owned()));
            }
        }
        items.push(Item {
            id: format!("trace-{}", &id[..id.len().min(12)]),
            input: Value::String(input),
            expected: expected.map(Value::String),
            metadata,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSONL: &str = r#"{"id":"a","input":{"question":"Q1?","context":"C1."},"expected":"E1","metadata":{"topic":"billing"}}
{"input":"plain, with \"quotes\"\nand a newline"}
"#;

    #[test]
    fn jsonl_and_csv_round_trip_with_the_same_version() {
        let d = Dataset::parse("golden", JSONL, Format::Jsonl, "t").unwrap();
        assert_eq!(d.items[1].id, "item-0002");
        assert_eq!(d.items[0].question(), "Q1?");
        assert_eq!(d.items[0].context().as_deref(), Some("C1."));
        let csv = d.to_csv().unwrap();
        let back = Dataset::parse("golden", &csv, Format::Csv, "t").unwrap();
        assert_eq!(back, d);
        assert_eq!(back.version(), d.version());
        let again = Dataset::parse("golden", &back.to_jsonl(), Format::Jsonl, "t").unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn any_edit_changes_the_version() {
        let d = Dataset::parse("golden", JSONL, Format::Jsonl, "t").unwrap();
        let mut e = d.clone();
        e.items[0].expected = Some(Value::String("E2".into()));
        assert_ne!(d.version(), e.version());
        assert_eq!(d.version().len(), 12);
    }

    #[test]
    fn bad_files_name_the_line_and_the_problem() {
        let e = Dataset::parse(
            "d",
            "{\"input\":1}\n{\"inp\":2}\n",
            Format::Jsonl,
            "d.jsonl",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 2") && e.contains("inp"), "{e}");
        let e = Dataset::parse("d", "{\"input\":1", Format::Jsonl, "d.jsonl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = Dataset::parse("d", "question,answer\nq,a\n", Format::Csv, "d.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `input` column"), "{e}");
        let e = Dataset::parse("d", "input\n\"unterminated\n", Format::Csv, "d.csv");
        assert!(e.is_err() || e.is_ok_and(|d| d.items.len() == 1));
        let e = Dataset::parse("d", "id,input\nx,1\nx,2\n", Format::Csv, "d.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
        let e = Dataset::parse("d", "\n\n", Format::Jsonl, "d.jsonl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no items"), "{e}");
    }
}
