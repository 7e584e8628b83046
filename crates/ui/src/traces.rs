//! `/traces`: the trace list with filters, search, sorting and paging.

use glassbox_query::{
    self as query, Dimension, Order, Params, QueryError, SortBy, Store, TraceSummary, TracesQuery,
};
use maud::{Markup, html};

use crate::layout::{self, Nav, num, url};
use crate::{PageError, fmt};

/// Text filters shown as inputs, in order: (parameter, label, placeholder).
const TEXT_FILTERS: [(&str, &str, &str); 6] = [
    ("release", "Release", "e.g. 2026.11.3"),
    ("prompt_version", "Prompt version", "e.g. v2"),
    ("user", "User", "user id"),
    ("session", "Session", "session id"),
    ("min_cost_usd", "Min cost ($)", "0.01"),
    ("min_duration_ms", "Min duration (ms)", "1000"),
];

/// Parameters that make up the list's state, carried across links.
const STATE: [&str; 14] = [
    "q",
    "range",
    "service",
    "model",
    "status",
    "release",
    "prompt_version",
    "user",
    "session",
    "min_cost_usd",
    "min_duration_ms",
    "sort",
    "order",
    "limit",
];

pub fn render(store: &dyn Store, p: &Params) -> Result<Markup, PageError> {
    let mut api = p.clone();
    layout::apply_range(&mut api)?;
    let q = TracesQuery::from_params(&api)?;
    let page = query::list_traces(store, &q)?;
    let services = store
        .known_values(Dimension::Service)
        .map_err(QueryError::from)?;
    let models = store
        .known_values(Dimension::Model)
        .map_err(QueryError::from)?;
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let filtered = STATE.iter().any(|k| {
        !matches!(*k, "sort" | "order" | "limit") && !get(k).is_empty() && get(k) != "all"
    });
    let state: Vec<(&str, &str)> = STATE.iter().map(|k| (*k, get(k))).collect();
    let sort_link = |s: SortBy| {
        let order = if q.sort == s && q.order == Order::Desc {
            "asc"
        } else {
            "desc"
        };
        let mut pairs: Vec<(&str, &str)> = state
            .iter()
            .filter(|(k, _)| *k != "sort" && *k != "order")
            .copied()
            .collect();
        pairs.push(("sort", s.as_str()));
        pairs.push(("order", order));
        url("/traces", &pairs)
    };
    let arrow = |s: SortBy| match (q.sort == s, q.order) {
        (false, _) => "",
        (true, Order::Desc) => " ▼",
        (true, Order::Asc) => " ▲",
    };
    let header = |label: &str, s: SortBy| {
        html! {
            th.num aria-sort=[(q.sort == s).then_some(if q.order == Order::Desc { "descending" } else { "ascending" })] {
                a.sort href=(sort_link(s)) { (label) (arrow(s)) }
            }
        }
    };
    let next = page.next_cursor.as_deref().map(|c| {
        let mut pairs = state.clone();
        pairs.push(("cursor", c));
        url("/traces", &pairs)
    });
    let body = html! {
        form.filters #trace-filters method="get" action="/traces" {
            input.search type="search" name="q" value=(get("q")) placeholder="Search names, messages, tool input and output…" aria-label="Search";
            (layout::range_select(p.get("range").map(String::as_str)))
            select name="service" aria-label="Service" {
                option value="" { "All services" }
                @for s in &services { option value=(s) selected[get("service") == s] { (s) } }
            }
            select name="model" aria-label="Model" {
                option value="" { "All models" }
                @for m in &models { option value=(m) selected[get("model") == m] { (m) } }
            }
            select name="status" aria-label="Status" {
                option value="" { "Any status" }
                option value="ok" selected[get("status") == "ok"] { "OK" }
                option value="error" selected[get("status") == "error"] { "Error" }
            }
            @for (k, label, hint) in TEXT_FILTERS {
                label.field { span { (label) } input type="text" name=(k) value=(get(k)) placeholder=(hint); }
            }
            input type="hidden" name="sort" value=(get("sort"));
            input type="hidden" name="order" value=(get("order"));
            button type="submit" { "Apply" }
            @if filtered { a.clear href="/traces" { "Clear filters" } }
        }
        @if page.traces.is_empty() {
            @if filtered || q.cursor.is_some() {
                section.empty { h2 { "No traces match" } p { "Widen the time range or clear a filter." } }
            } @else {
                (layout::empty_state("traces"))
            }
        } @else {
            table.grid #traces {
                thead { tr {
                    th { "Started (UTC)" } th { "Trace" } th { "Service" } th { "Models" }
                    (header("LLM calls", SortBy::LlmCalls))
                    (header("Tokens", SortBy::Tokens))
                    (header("Cost", SortBy::Cost))
                    (header("Duration", SortBy::Duration))
                    (header("Errors", SortBy::Errors))
                } }
                tbody {
                    @for t in &page.traces { (row(t)) }
                }
            }
            nav.pager {
                @if q.cursor.is_some() { a href=(url("/traces", &state)) { "« First page" } }
                @if let Some(n) = &next { a rel="next" href=(n) { "Next page »" } }
                @if q.filter.q.is_some() {
                    span.hint { "Search reads up to " (fmt::count(query::SEARCH_BUDGET as u64)) " traces per page." }
                }
            }
        }
    };
    Ok(layout::page("Traces", Nav::Traces, body))
}

fn row(t: &TraceSummary) -> Markup {
    let tokens = t.input_tokens + t.output_tokens + t.cache_read_tokens + t.cache_write_tokens;
    html! {
        tr.trace-row data-trace-id=(t.trace_id) {
            td.time { (fmt::time(&t.start_time)) }
            td.name {
                a href={ "/traces/" (t.trace_id) } { (t.name.as_deref().unwrap_or("(no root span)")) }
                @if t.status == "error" { " " span.badge.error { "error" } }
                @if let Some(s) = &t.session_id {
                    " " a.badge.session href={ "/sessions/" (percent(s)) } title="Session" { "session" }
                }
            }
            td { (t.service.as_deref().unwrap_or("")) }
            td.models { (t.models.join(", ")) }
            (num(fmt::count(t.llm_calls), t.llm_calls))
            (num(fmt::count(tokens), tokens))
            td.num data-value=(t.cost_usd) {
                (fmt::usd(t.cost_usd))
                @if t.unpriced_calls > 0 { " " span.badge title="Calls to models without a price are not counted" { "+" (t.unpriced_calls) " unpriced" } }
            }
            (num(fmt::duration_ms(t.duration_ms), t.duration_ms))
            (num(fmt::count(t.errors), t.errors))
        }
    }
}

pub fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
