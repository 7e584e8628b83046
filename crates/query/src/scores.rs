//! Scores: recording one (validated against the stored trace) and listing them.

use glassbox_model::{Score, ScoreSource, ScoreValue, SpanId, TraceId};
use glassbox_store::{ScoreFilter, Store};
use serde::Serialize;
use serde_json::Value;

use crate::params::{Params, QueryError, format_time, parse_time, reject_unknown};

/// One score as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreView {
    pub id: String,
    pub trace_id: String,
    pub span_id: Option<String>,
    pub name: String,
    pub value: ScoreValue,
    pub source: &'static str,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub created_at: String,
}

impl From<&Score> for ScoreView {
    fn from(s: &Score) -> Self {
        ScoreView {
            id: s.id.clone(),
            trace_id: s.trace_id.to_hex(),
            span_id: s.span_id.map(|x| x.to_hex()),
            name: s.name.clone(),
            value: s.value.clone(),
            source: s.source.as_str(),
            comment: s.comment.clone(),
            author: s.author.clone(),
            created_at: format_time(s.time_unix_nano),
        }
    }
}

/// `GET /api/v1/scores` parameters.
pub struct ScoresQuery(ScoreFilter);

pub const MAX_SCORES: usize = 10_000;

impl ScoresQuery {
    pub fn from_params(p: &Params) -> Result<Self, QueryError> {
        reject_unknown(p, &["trace_id", "name", "source", "from", "to", "limit"])?;
        let s = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
        let trace_id = s("trace_id")
            .map(|t| {
                TraceId::from_hex(&t)
                    .map(|t| t.0)
                    .map_err(|_| QueryError::bad("trace_id", format!("{t:?} is not 32 hex digits")))
            })
            .transpose()?;
        let source = s("source");
        if let Some(src) = &source
            && ScoreSource::parse(src).is_none()
        {
            return Err(QueryError::bad(
                "source",
                format!("{src:?} must be human, rule, llm_judge or sdk"),
            ));
        }
        let limit = match p.get("limit") {
            None => 1000,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_SCORES).contains(n))
                .ok_or_else(|| {
                    QueryError::bad("limit", format!("{v:?} must be 1 to {MAX_SCORES}"))
                })?,
        };
        Ok(ScoresQuery(ScoreFilter {
            trace_id,
            name: s("name"),
            source,
            from_ns: p.get("from").map(|v| parse_time("from", v)).transpose()?,
            to_ns: p.get("to").map(|v| parse_time("to", v)).transpose()?,
            limit,
        }))
    }
}

pub fn list_scores(store: &dyn Store, q: &ScoresQuery) -> Result<Vec<ScoreView>, QueryError> {
    Ok(store.scores(&q.0)?.iter().map(ScoreView::from).collect())
}

/// The scores of one trace, for its detail.
pub fn trace_scores(store: &dyn Store, trace_id: [u8; 16]) -> Result<Vec<ScoreView>, QueryError> {
    let filter = ScoreFilter {
        trace_id: Some(trace_id),
        limit: MAX_SCORES,
        ..ScoreFilter::default()
    };
    Ok(store.scores(&filter)?.iter().map(ScoreView::from).collect())
}

/// Validates a `POST /api/v1/scores` body against the store: the trace (and
/// span) must exist, so no score is an orphan. `id` and `now` come from the caller.
pub fn new_score(
    store: &dyn Store,
    body: &Value,
    id: String,
    now: u64,
) -> Result<Score, QueryError> {
    let field = |k: &'static str| body.get(k).filter(|v| !v.is_null());
    let text = |k: &'static str, max: usize| -> Result<Option<String>, QueryError> {
        match field(k) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
            Some(Value::String(_)) => {
                Err(QueryError::bad(k, format!("longer than {max} characters")))
            }
            Some(_) => Err(QueryError::bad(k, "must be a string")),
        }
    };
    if !body.is_object() {
        return Err(QueryError::bad("body", "must be a JSON object"));
    }
    let trace_hex =
        text("trace_id", 64)?.ok_or_else(|| QueryError::bad("trace_id", "is required"))?;
    let trace_id = TraceId::from_hex(&trace_hex)
        .map_err(|_| QueryError::bad("trace_id", format!("{trace_hex:?} is not 32 hex digits")))?;
    let span_id = text("span_id", 64)?
        .map(|s| {
            SpanId::from_hex(&s)
                .map_err(|_| QueryError::bad("span_id", format!("{s:?} is not 16 hex digits")))
        })
        .transpose()?;
    let name = text("name", 200)?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| QueryError::bad("name", "is required"))?;
    let value = match field("value") {
        Some(Value::Bool(b)) => ScoreValue::Bool(*b),
        Some(Value::Number(n)) => ScoreValue::Number(
            n.as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| QueryError::bad("value", "must be a finite number"))?,
        ),
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 200 => {
            ScoreValue::Category(s.clone())
        }
        _ => {
            return Err(QueryError::bad(
                "value",
                "is required: a number, a boolean, or a category string (1-200 characters)",
            ));
        }
    };
    let source = text("source", 20)?
        .map(|s| {
            ScoreSource::parse(&s).ok_or_else(|| {
                QueryError::bad(
                    "source",
                    format!("{s:?} must be human, rule, llm_judge or sdk"),
                )
            })
        })
        .transpose()?
        .unwrap_or(ScoreSource::Human);
    if store.get_trace(&trace_id.0)?.is_none() {
        return Err(QueryError::NotFound(format!(
            "trace {trace_hex} (score it once its spans have arrived)"
        )));
    }
    if let Some(sid) = span_id
        && !store
            .trace_spans(&trace_id.0)?
            .iter()
            .any(|s| s.span.span_id == sid)
    {
        return Err(QueryError::NotFound(format!(
            "span {} in trace {trace_hex}",
            sid.to_hex()
        )));
    }
    Ok(Score {
        id,
        trace_id,
        span_id,
        name,
        value,
        source,
        comment: text("comment", 4000)?,
        author: text("author", 200)?,
        time_unix_nano: now,
    })
}
