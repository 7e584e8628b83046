//! `/dashboards`: cost, tokens, latency and errors over time, and the top
//! spenders. Every number is a `glassbox-query` metrics result, so it equals
//! what `/api/v1/metrics` returns for the same parameters.

use glassbox_query::{
    self as query, Filter, GroupBy, LatencyOf, MetricsGroup, MetricsQuery, Order, Params, SortBy,
    Store, TracesQuery,
};
use maud::{Markup, html};

use crate::chart::{self, Series};
use crate::layout::{self, Nav, num, url};
use crate::{PageError, fmt};

const HOUR_NS: u64 = 3_600_000_000_000;
const DAY_NS: u64 = 24 * HOUR_NS;
/// Series drawn per chart; the rest stay in the tables.
const TOP_SERIES: usize = 6;

pub fn render(store: &dyn Store, p: &Params) -> Result<Markup, PageError> {
    let mut api = p.clone();
    layout::apply_range(&mut api)?;
    let by = match api.remove("by").as_deref() {
        None | Some("") | Some("model") => GroupBy::Model,
        Some("release") => GroupBy::Release,
        Some("prompt_version") => GroupBy::PromptVersion,
        Some(other) => {
            return Err(query::QueryError::bad(
                "by",
                format!("{other:?} must be model, release or prompt_version"),
            )
            .into());
        }
    };
    let base = MetricsQuery::from_params(&api)?;
    if base.group_by.is_some() {
        return Err(query::QueryError::bad("group_by", "the dashboard groups by `by`").into());
    }
    let filter = base.filter.clone();
    let m = |filter: &Filter, group_by: Option<GroupBy>, latency_of: LatencyOf| {
        query::metrics(
            store,
            &MetricsQuery {
                filter: filter.clone(),
                group_by,
                latency_of,
                thresholds: base.thresholds.clone(),
            },
        )
    };
    let total = m(&filter, None, LatencyOf::Llm)?.total;
    if total.llm_calls == 0 && total.traces == 0 {
        let body = html! { (controls(p)) (layout::empty_state("data")) };
        return Ok(layout::page("Dashboards", Nav::Dashboards, body));
    }
    let total_traces = m(&filter, None, LatencyOf::Trace)?.total;
    // Hourly buckets unless the data spans more than three days.
    let days = m(&filter, Some(GroupBy::Day), LatencyOf::Llm)?.groups.len();
    let (bucket, step) = if days > 3 {
        (GroupBy::Day, DAY_NS)
    } else {
        (GroupBy::Hour, HOUR_NS)
    };
    let over_time = m(&filter, Some(bucket), LatencyOf::Llm)?.groups;
    let over_time_traces = m(&filter, Some(bucket), LatencyOf::Trace)?.groups;
    let labels = buckets(&over_time, step);
    let at = |groups: &[MetricsGroup], f: &dyn Fn(&MetricsGroup) -> f64| -> Vec<f64> {
        labels
            .iter()
            .map(|l| {
                groups
                    .iter()
                    .find(|g| g.key.as_deref() == Some(l))
                    .map_or(0.0, f)
            })
            .collect()
    };
    let mut by_dim = m(&filter, Some(by), LatencyOf::Llm)?.groups;
    by_dim.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    let mut cost_series = Vec::new();
    for g in by_dim.iter().filter(|g| g.key.is_some()).take(TOP_SERIES) {
        let key = g.key.clone().unwrap_or_default();
        let mut f = filter.clone();
        match by {
            GroupBy::Release => f.release = Some(key.clone()),
            GroupBy::PromptVersion => f.prompt_version = Some(key.clone()),
            _ => f.model = Some(key.clone()),
        }
        let groups = m(&f, Some(bucket), LatencyOf::Llm)?.groups;
        cost_series.push(Series {
            name: key,
            values: at(&groups, &|g| g.cost_usd),
        });
    }
    let by_name = match by {
        GroupBy::Release => "release",
        GroupBy::PromptVersion => "prompt version",
        _ => "model",
    };
    let mut per_model = if by == GroupBy::Model {
        by_dim.clone()
    } else {
        m(&filter, Some(GroupBy::Model), LatencyOf::Llm)?.groups
    };
    per_model.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    let mut users = m(&filter, Some(GroupBy::User), LatencyOf::Llm)?.groups;
    users.retain(|g| g.key.is_some());
    users.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    users.truncate(10);
    let mut prompts = m(&filter, Some(GroupBy::PromptVersion), LatencyOf::Llm)?.groups;
    prompts.retain(|g| g.key.is_some());
    prompts.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    prompts.truncate(10);
    let expensive = query::list_traces(
        store,
        &TracesQuery {
            filter: filter.clone(),
            limit: 10,
            sort: SortBy::Cost,
            order: Order::Desc,
            ..TracesQuery::default()
        },
    )?;
    let tokens =
        |g: &MetricsGroup| (g.input_tokens + g.cache_read_tokens + g.cache_write_tokens) as f64;
    let body = html! {
        (controls(p))
        section.kpis {
            (kpi("Cost", fmt::usd(total.cost_usd), total.cost_usd))
            (kpi("Traces", fmt::count(total_traces.traces), total_traces.traces))
            (kpi("LLM calls", fmt::count(total.llm_calls), total.llm_calls))
            (kpi("Input tokens", fmt::count(tokens(&total) as u64), tokens(&total)))
            (kpi("Output tokens", fmt::count(total.output_tokens), total.output_tokens))
            (kpi("Cache hit ratio", total.cache_hit_ratio.map_or("–".into(), fmt::percent), total.cache_hit_ratio.unwrap_or(0.0)))
            (kpi("LLM p95", total.latency_ms.p95.map_or("–".into(), fmt::duration_ms), total.latency_ms.p95.unwrap_or(0.0)))
            (kpi("Trace p95", total_traces.latency_ms.p95.map_or("–".into(), fmt::duration_ms), total_traces.latency_ms.p95.unwrap_or(0.0)))
            (kpi("Error rate", fmt::percent(total.error_rate), total.error_rate))
            (kpi("PII redacted", fmt::count(total_traces.pii_findings), total_traces.pii_findings))
        }
        div.charts {
            (chart::line("chart-cost", &format!("Cost by {by_name}"), &labels, &cost_series, fmt::usd))
            (chart::line("chart-tokens", "Tokens: input, output, cache read, cache write", &labels, &[
                Series { name: "input (uncached)".into(), values: at(&over_time, &|g| g.input_tokens as f64) },
                Series { name: "output".into(), values: at(&over_time, &|g| g.output_tokens as f64) },
                Series { name: "cache read".into(), values: at(&over_time, &|g| g.cache_read_tokens as f64) },
                Series { name: "cache write".into(), values: at(&over_time, &|g| g.cache_write_tokens as f64) },
            ], |v| fmt::count(v.round() as u64)))
            (chart::line("chart-cache", "Cache hit ratio", &labels, &[
                Series { name: "cache hit ratio".into(), values: at(&over_time, &|g| g.cache_hit_ratio.unwrap_or(0.0)) },
            ], fmt::percent))
            (chart::line("chart-llm-latency", "Model-call latency", &labels, &[
                Series { name: "p50".into(), values: at(&over_time, &|g| g.latency_ms.p50.unwrap_or(0.0)) },
                Series { name: "p95".into(), values: at(&over_time, &|g| g.latency_ms.p95.unwrap_or(0.0)) },
                Series { name: "p99".into(), values: at(&over_time, &|g| g.latency_ms.p99.unwrap_or(0.0)) },
            ], fmt::duration_ms))
            (chart::line("chart-trace-latency", "Trace latency", &labels, &[
                Series { name: "p50".into(), values: at(&over_time_traces, &|g| g.latency_ms.p50.unwrap_or(0.0)) },
                Series { name: "p95".into(), values: at(&over_time_traces, &|g| g.latency_ms.p95.unwrap_or(0.0)) },
                Series { name: "p99".into(), values: at(&over_time_traces, &|g| g.latency_ms.p99.unwrap_or(0.0)) },
            ], fmt::duration_ms))
            (chart::line("chart-errors", "Error rate (failed model and tool calls)", &labels, &[
                Series { name: "error rate".into(), values: at(&over_time, &|g| g.error_rate) },
            ], fmt::percent))
        }
        section {
            h2 { "Per model" }
            table.grid #per-model {
                thead { tr {
                    th { "Model" } th.num { "Calls" } th.num { "Input" } th.num { "Cache read" } th.num { "Cache write" }
                    th.num { "Output" } th.num { "Cache hit" } th.num { "Cost" } th.num { "p50" } th.num { "p95" } th.num { "p99" } th.num { "Errors" }
                } }
                tbody {
                    @for g in &per_model {
                        tr data-key=(g.key.as_deref().unwrap_or("")) {
                            td { @if let Some(k) = &g.key { a href=(url("/traces", &[("model", k)])) { (k) } } @else { span.muted { "(unknown)" } } }
                            (num(fmt::count(g.llm_calls), g.llm_calls))
                            (num(fmt::count(g.input_tokens), g.input_tokens))
                            (num(fmt::count(g.cache_read_tokens), g.cache_read_tokens))
                            (num(fmt::count(g.cache_write_tokens), g.cache_write_tokens))
                            (num(fmt::count(g.output_tokens), g.output_tokens))
                            (num(g.cache_hit_ratio.map_or("–".into(), fmt::percent), g.cache_hit_ratio.unwrap_or(0.0)))
                            (num(fmt::usd(g.cost_usd), g.cost_usd))
                            (num(g.latency_ms.p50.map_or("–".into(), fmt::duration_ms), g.latency_ms.p50.unwrap_or(0.0)))
                            (num(g.latency_ms.p95.map_or("–".into(), fmt::duration_ms), g.latency_ms.p95.unwrap_or(0.0)))
                            (num(g.latency_ms.p99.map_or("–".into(), fmt::duration_ms), g.latency_ms.p99.unwrap_or(0.0)))
                            (num(fmt::percent(g.error_rate), g.error_rate))
                        }
                    }
                }
            }
        }
        div.tops {
            section {
                h2 { "Most expensive traces" }
                table.grid #top-traces {
                    thead { tr { th { "Trace" } th.num { "Cost" } th.num { "Duration" } } }
                    tbody { @for t in &expensive.traces {
                        tr { td { a href={ "/traces/" (t.trace_id) } { (t.name.as_deref().unwrap_or("(no root span)")) } }
                             (num(fmt::usd(t.cost_usd), t.cost_usd)) (num(fmt::duration_ms(t.duration_ms), t.duration_ms)) }
                    } }
                }
            }
            (top_table("Most expensive users", "top-users", "user", &users))
            (top_table("Prompt versions by cost", "top-prompts", "prompt_version", &prompts))
        }
    };
    Ok(layout::page("Dashboards", Nav::Dashboards, body))
}

fn controls(p: &Params) -> Markup {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    html! {
        form.filters method="get" action="/dashboards" {
            (layout::range_select(p.get("range").map(String::as_str)))
            select name="by" aria-label="Group cost by" {
                option value="model" selected[matches!(get("by"), "" | "model")] { "Cost by model" }
                option value="release" selected[get("by") == "release"] { "Cost by release" }
                option value="prompt_version" selected[get("by") == "prompt_version"] { "Cost by prompt version" }
            }
            label.field { span { "Service" } input type="text" name="service" value=(get("service")); }
            label.field { span { "Release" } input type="text" name="release" value=(get("release")); }
            button type="submit" { "Apply" }
        }
    }
}

fn kpi(label: &str, text: String, value: impl std::fmt::Display) -> Markup {
    html! { div.kpi { span.kpi-label { (label) } span.kpi-value data-value=(value) { (text) } } }
}

fn top_table(title: &str, id: &str, param: &str, groups: &[MetricsGroup]) -> Markup {
    html! {
        section {
            h2 { (title) }
            @if groups.is_empty() { p.muted { "None reported." } } @else {
                table.grid #(id) {
                    thead { tr { th { "Key" } th.num { "Traces" } th.num { "Cost" } } }
                    tbody { @for g in groups {
                        @let k = g.key.as_deref().unwrap_or("");
                        tr data-key=(k) { td { a href=(url("/traces", &[(param, k)])) { (k) } }
                            (num(fmt::count(g.traces), g.traces)) (num(fmt::usd(g.cost_usd), g.cost_usd)) }
                    } }
                }
            }
        }
    }
}

/// Every bucket from the first to the last with data, so gaps show as zeros.
fn buckets(groups: &[MetricsGroup], step: u64) -> Vec<String> {
    let times: Vec<u64> = groups
        .iter()
        .filter_map(|g| g.key.as_deref())
        .filter_map(|k| query::parse_time("bucket", k).ok())
        .collect();
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        return Vec::new();
    };
    (0..=((last - first) / step).min(1000))
        .map(|i| query::format_time(first + i * step))
        .collect()
}
