//! The page shell, shared widgets (time range, empty state) and URL helpers.

use axum::http::StatusCode;
use glassbox_query::{Params, QueryError};
use maud::{DOCTYPE, Markup, PreEscaped, html};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Traces,
    Dashboards,
    None,
}

pub fn page(title: &str, nav: Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Glassbox" }
                // Set the theme before first paint so a dark page never flashes light.
                script { (PreEscaped("try{var t=localStorage.getItem('glassbox-theme');if(t)document.documentElement.dataset.theme=t}catch(e){}")) }
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/traces" { "Glassbox" }
                    nav {
                        a href="/traces" aria-current=[(nav == Nav::Traces).then_some("page")] { "Traces" }
                        a href="/dashboards" aria-current=[(nav == Nav::Dashboards).then_some("page")] { "Dashboards" }
                    }
                    button #theme-toggle type="button" title="Switch light/dark theme" aria-label="Switch light/dark theme" { "◐" }
                }
                main { (body) }
            }
        }
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Markup {
    page(
        "Error",
        Nav::None,
        html! {
            section.error-page {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
                p.error-message { (message) }
                p { a href="/traces" { "Back to traces" } }
            }
        },
    )
}

/// What a new user sees before any data arrives: how to send some.
pub fn empty_state(what: &str) -> Markup {
    html! {
        section.empty {
            h2 { "No " (what) " yet" }
            p { "Point any OpenTelemetry-instrumented agent at this server, or load a demo workload:" }
            pre { code {
                "glassbox demo --endpoint " span.origin { "http://127.0.0.1:4318" } "\n\n"
                "# OpenLLMetry, OpenInference, Logfire, Langfuse, any OTel SDK:\n"
                "export OTEL_EXPORTER_OTLP_ENDPOINT=" span.origin { "http://127.0.0.1:4318" } "\n"
                "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n\n"
                "# Claude Code:\n"
                "export CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_TRACES_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp"
            } }
        }
    }
}

pub const RANGES: [(&str, &str, u64); 5] = [
    ("1h", "Last hour", 3600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
    ("30d", "Last 30 days", 30 * 86_400),
    ("all", "All time", 0),
];

/// Turns the UI-only `range` parameter into the API's `from`, so the query
/// layer sees exactly what `/api/v1` would.
pub fn apply_range(p: &mut Params) -> Result<(), QueryError> {
    let Some(range) = p.remove("range") else {
        return Ok(());
    };
    if range.is_empty() || range == "all" || p.contains_key("from") {
        return Ok(());
    }
    let secs = RANGES
        .iter()
        .find(|(k, _, _)| *k == range)
        .map(|(_, _, s)| *s)
        .ok_or_else(|| {
            QueryError::bad(
                "range",
                format!(
                    "{range:?} must be one of {}",
                    RANGES.map(|(k, _, _)| k).join(", ")
                ),
            )
        })?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let from = u64::try_from(now - i128::from(secs) * 1_000_000_000).unwrap_or(0);
    p.insert("from".into(), glassbox_query::format_time(from));
    Ok(())
}

pub fn range_select(current: Option<&str>) -> Markup {
    let current = current.unwrap_or("all");
    html! {
        select name="range" aria-label="Time range" {
            @for (k, label, _) in RANGES {
                option value=(k) selected[k == current] { (label) }
            }
        }
    }
}

/// `path?k=v&…` from pairs, skipping empty values, percent-encoded.
pub fn url(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    let mut first = true;
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(k);
        out.push('=');
        out.extend(percent_encoding::utf8_percent_encode(
            v,
            percent_encoding::NON_ALPHANUMERIC,
        ));
    }
    out
}

/// A number cell: formatted text, exact value in `data-value`.
pub fn num(text: String, value: impl std::fmt::Display) -> Markup {
    html! { td.num data-value=(value) { (text) } }
}
