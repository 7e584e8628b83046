use glassbox_store::StoreError;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a query failed; the API maps each to a status code.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("invalid parameter `{name}`: {message}")]
    BadParam { name: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueryError {
    pub fn bad(name: &'static str, message: impl Into<String>) -> Self {
        QueryError::BadParam {
            name,
            message: message.into(),
        }
    }
}

/// RFC 3339 (e.g. `2026-11-26T10:00:00Z`) → unix nanoseconds.
pub fn parse_time(name: &'static str, s: &str) -> Result<u64, QueryError> {
    let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        QueryError::bad(
            name,
            format!("{s:?} is not an RFC 3339 time such as 2026-11-26T10:00:00Z"),
        )
    })?;
    u64::try_from(t.unix_timestamp_nanos())
        .map_err(|_| QueryError::bad(name, "time is before 1970"))
}

/// Unix nanoseconds → RFC 3339 with nanosecond precision, UTC.
pub fn format_time(ns: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub fn duration_ms(start: u64, end: u64) -> f64 {
    end.saturating_sub(start) as f64 / 1e6
}

pub fn usd(pico: i128) -> f64 {
    pico as f64 / 1e12
}

/// Query-string parameters as received; each query type validates its own.
pub type Params = std::collections::HashMap<String, String>;

/// Decodes a URL query string strictly: percent-escapes must decode to UTF-8,
/// and a parameter may appear once (no silent "last one wins").
pub fn decode_query_string(raw: Option<&str>) -> Result<Params, QueryError> {
    let bad = |m: String| QueryError::bad("query", format!("invalid query string: {m}"));
    let mut out = Params::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad(format!("{s:?} does not decode to UTF-8")))
        };
        let (k, v) = (decode(k)?, decode(v)?);
        if out.insert(k.clone(), v).is_some() {
            return Err(bad(format!("parameter {k:?} given more than once")));
        }
    }
    Ok(out)
}

/// The filters shared by traces and metrics, validated.
pub fn filter_from(p: &Params) -> Result<glassbox_store::Filter, QueryError> {
    let s = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    let from_ns = p.get("from").map(|v| parse_time("from", v)).transpose()?;
    let to_ns = p.get("to").map(|v| parse_time("to", v)).transpose()?;
    if let (Some(f), Some(t)) = (from_ns, to_ns)
        && f > t
    {
        return Err(QueryError::bad("from", "must not be after `to`"));
    }
    let status = s("status");
    if let Some(st) = &status
        && st != "ok"
        && st != "error"
    {
        return Err(QueryError::bad(
            "status",
            format!("{st:?} must be \"ok\" or \"error\""),
        ));
    }
    for (k, v) in p {
        if v.len() > 4096 {
            return Err(QueryError::BadParam {
                name: "query",
                message: format!("parameter {k:?} is longer than 4096 bytes"),
            });
        }
    }
    Ok(glassbox_store::Filter {
        from_ns,
        to_ns,
        service: s("service"),
        model: s("model"),
        status,
        user: s("user"),
        session: s("session"),
        release: s("release"),
        prompt_version: s("prompt_version"),
        q: s("q"),
    })
}

/// Rejects parameters no endpoint knows, so a typo is not silently ignored.
pub fn reject_unknown(p: &Params, known: &[&str]) -> Result<(), QueryError> {
    for k in p.keys() {
        if !known.contains(&k.as_str()) {
            return Err(QueryError::BadParam {
                name: "query",
                message: format!(
                    "unknown parameter {k:?}; expected one of: {}",
                    known.join(", ")
                ),
            });
        }
    }
    Ok(())
}

pub const FILTER_PARAMS: &[&str] = &[
    "from",
    "to",
    "service",
    "model",
    "status",
    "user",
    "session",
    "release",
    "prompt_version",
    "q",
];
