//! `/traces/{id}`: the run as a tree with a waterfall, and one span's detail.

use std::collections::HashMap;

use glassbox_model::{Message, Part};
use glassbox_query::{self as query, SpanView, Store, TraceDetail};
use maud::{Markup, html};

use crate::layout::{self, Nav, num};
use crate::traces::percent;
use crate::{PageError, fmt};

/// Characters of one text shown before "show all".
const PREVIEW_CHARS: usize = 4000;

pub fn render(store: &dyn Store, id: &str, selected: Option<&str>) -> Result<Markup, PageError> {
    let t = query::get_trace(store, id)?;
    let tree = Tree::new(&t.spans);
    let selected = selected
        .and_then(|s| t.spans.iter().position(|x| x.span_id == s))
        .or_else(|| tree.order.first().map(|(i, _)| *i));
    let s = &t.summary;
    let title = s.name.as_deref().unwrap_or("(no root span)");
    let expensive = t
        .spans
        .iter()
        .filter(|x| x.counted)
        .filter_map(|x| x.cost_usd.map(|c| (x, c)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let body = html! {
        section.trace-head {
            h1 { (title) @if s.status == "error" { " " span.badge.error { "error" } } }
            dl.facts {
                div { dt { "Trace" } dd.mono { (s.trace_id) } }
                div { dt { "Started (UTC)" } dd { (fmt::time(&s.start_time)) } }
                div { dt { "Duration" } dd data-value=(s.duration_ms) { (fmt::duration_ms(s.duration_ms)) } }
                div { dt { "Cost" } dd #trace-cost data-value=(s.cost_usd) { (fmt::usd(s.cost_usd)) } }
                div { dt { "Tokens in / out" } dd { (fmt::count(s.input_tokens + s.cache_read_tokens + s.cache_write_tokens)) " / " (fmt::count(s.output_tokens)) } }
                div { dt { "LLM / tool calls" } dd { (s.llm_calls) " / " (s.tool_calls) } }
                @if let Some(v) = &s.service { div { dt { "Service" } dd { (v) } } }
                @if !s.models.is_empty() { div { dt { "Models" } dd { (s.models.join(", ")) } } }
                @if let Some(v) = &s.release { div { dt { "Release" } dd { (v) } } }
                @if let Some(v) = &s.prompt_version { div { dt { "Prompt version" } dd { (v) } } }
                @if let Some(v) = &s.user_id { div { dt { "User" } dd { a href=(layout::url("/traces", &[("user", v)])) { (v) } } } }
                @if let Some(v) = &s.session_id { div { dt { "Session" } dd { a href={ "/sessions/" (percent(v)) } { (v) } } } }
                @if s.pii_findings > 0 { div { dt { "Redacted" } dd #trace-redacted data-value=(s.pii_findings) { (s.pii_findings) " values" } } }
            }
            @if t.scores.iter().any(|x| x.span_id.is_none()) {
                div #trace-scores { (scores(t.scores.iter().filter(|x| x.span_id.is_none()), "")) }
            }
            p.findings {
                @if let Some((x, c)) = expensive {
                    "Most expensive span: " a.jump href={ "?span=" (x.span_id) } data-span-id=(x.span_id) { (x.name) } " (" (fmt::usd(c)) "). "
                }
                @if !tree.critical.is_empty() {
                    span.critical-key { "◆" } " Critical path: " (tree.critical.len()) " spans the run waited on."
                }
            }
        }
        div.trace-layout {
            (tree_view(&t, &tree, selected))
            aside #span-panel aria-live="polite" {
                @if let Some(i) = selected { (panel(&t, &t.spans[i])) }
            }
        }
    };
    Ok(layout::page(title, Nav::Traces, body))
}

/// The span panel alone, for the script to swap in without a reload.
pub fn render_panel(store: &dyn Store, id: &str, span: &str) -> Result<Markup, PageError> {
    let t = query::get_trace(store, id)?;
    let s = t
        .spans
        .iter()
        .find(|x| x.span_id == span)
        .ok_or_else(|| query::QueryError::NotFound(format!("span {span} in trace {id}")))?;
    Ok(panel(&t, s))
}

/// Spans in display order (depth-first, children by start time) and the critical path.
struct Tree {
    order: Vec<(usize, usize)>,
    children: Vec<Vec<usize>>,
    critical: Vec<usize>,
    /// (start, end) in unix nanoseconds.
    times: Vec<(u64, u64)>,
}

impl Tree {
    fn new(spans: &[SpanView]) -> Tree {
        let index: HashMap<&str, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        let mut children = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            match s.parent_span_id.as_deref().and_then(|p| index.get(p)) {
                Some(&p) if p != i => children[p].push(i),
                _ => roots.push(i),
            }
        }
        // Spans come sorted by start time, so each child list already is.
        let mut order = Vec::with_capacity(spans.len());
        let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
        let mut seen = vec![false; spans.len()];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push((i, depth));
            stack.extend(children[i].iter().rev().map(|&c| (c, depth + 1)));
        }
        let times: Vec<(u64, u64)> = spans
            .iter()
            .map(|s| {
                let start = query::parse_time("start", &s.start_time).unwrap_or(0);
                (start, start + (s.duration_ms * 1e6) as u64)
            })
            .collect();
        let mut critical = Vec::new();
        if let Some(root) = roots
            .iter()
            .copied()
            .max_by_key(|&r| times[r].1 - times[r].0)
        {
            critical_path(root, times[root].1, &times, &children, &mut critical);
        }
        Tree {
            order,
            children,
            critical,
            times,
        }
    }
}

/// The spans a run waited on (as Jaeger computes it): from the parent's end,
/// the child that finished last, then whatever finished before that child
/// started, and so on, each child expanded the same way.
fn critical_path(
    i: usize,
    until: u64,
    times: &[(u64, u64)],
    children: &[Vec<usize>],
    out: &mut Vec<usize>,
) {
    if out.contains(&i) {
        return;
    }
    out.push(i);
    let mut by_end = children[i].clone();
    by_end.sort_by_key(|&c| std::cmp::Reverse(times[c].1));
    let mut cursor = until.min(times[i].1);
    for c in by_end {
        if times[c].1 <= cursor || cursor == until.min(times[i].1) {
            let end = times[c].1.min(cursor);
            critical_path(c, end, times, children, out);
            cursor = times[c].0;
        }
        if cursor <= times[i].0 {
            break;
        }
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "agent" => "AG",
        "llm" => "LLM",
        "tool" => "TL",
        "retrieval" => "RT",
        "embedding" => "EM",
        "chain" => "CH",
        "guardrail" => "GR",
        "evaluator" => "EV",
        _ => "·",
    }
}

fn tree_view(t: &TraceDetail, tree: &Tree, selected: Option<usize>) -> Markup {
    let start = tree.times.iter().map(|t| t.0).min().unwrap_or(0);
    let offset_ms = |i: usize| tree.times[i].0.saturating_sub(start) as f64 / 1e6;
    let total = (0..t.spans.len())
        .map(|i| offset_ms(i) + t.spans[i].duration_ms)
        .fold(0.0f64, f64::max)
        .max(0.001);
    html! {
        div.tree-wrap {
            div.tree-head { span { "Span" } span { "Timeline (" (fmt::duration_ms(total)) ")" } span.num { "Tokens" } span.num { "Cost" } span.num { "Duration" } }
            div #span-tree role="tree" aria-label="Spans" {
                @for &(i, depth) in &tree.order {
                    @let s = &t.spans[i];
                    @let left = offset_ms(i) / total * 100.0;
                    @let width = (s.duration_ms / total * 100.0).max(0.3);
                    @let tokens = s.input_tokens.unwrap_or(0) + s.output_tokens.unwrap_or(0) + s.cache_read_tokens.unwrap_or(0) + s.cache_write_tokens.unwrap_or(0);
                    @let has_children = !tree.children[i].is_empty();
                    a.span-row.{"kind-" (s.kind)}
                        .critical[tree.critical.contains(&i)]
                        .error[s.status == "error"]
                        .selected[selected == Some(i)]
                        href={ "?span=" (s.span_id) }
                        role="treeitem"
                        aria-level=(depth + 1)
                        aria-selected=(if selected == Some(i) { "true" } else { "false" })
                        aria-expanded=[has_children.then_some("true")]
                        data-span-id=(s.span_id)
                        data-parent=(s.parent_span_id.as_deref().unwrap_or(""))
                        data-depth=(depth) {
                        span.label style={ "padding-left:" (depth * 14) "px" } {
                            @if has_children { span.fold aria-hidden="true" { "▾" } } @else { span.fold {} }
                            span.kind title=(s.kind) { (kind_label(s.kind)) }
                            span.span-name { (s.name) }
                            @if tree.critical.contains(&i) { span.critical-key title="On the critical path" { "◆" } }
                        }
                        span.bar-cell { span.bar style={ "left:" (format!("{left:.3}")) "%;width:" (format!("{width:.3}")) "%" } {} }
                        span.num { @if tokens > 0 { (fmt::count(tokens)) } }
                        span.num { @if let Some(c) = s.cost_usd { @if s.counted { (fmt::usd(c)) } @else { span.muted title="Counted on another span of this call" { "(" (fmt::usd(c)) ")" } } } }
                        span.num { (fmt::duration_ms(s.duration_ms)) }
                    }
                }
            }
        }
    }
}

fn panel(t: &TraceDetail, s: &SpanView) -> Markup {
    let uncached = s.input_tokens.unwrap_or(0);
    let total = uncached
        + s.cache_read_tokens.unwrap_or(0)
        + s.cache_write_tokens.unwrap_or(0)
        + s.output_tokens.unwrap_or(0);
    html! {
        div.panel data-span-id=(s.span_id) data-trace-id=(t.summary.trace_id) {
            h2 { span.kind.{"kind-" (s.kind)} { (kind_label(s.kind)) } " " (s.name) }
            p.status.{"status-" (s.status)} {
                "Status: " (s.status)
                @if !s.status_message.is_empty() { " — " span.error-message { (s.status_message) } }
            }
            @if let Some(e) = &s.tool_error { p.status.status-error { "Tool error: " span.error-message { (e) } } }
            @if !s.redactions.is_empty() {
                p.redactions title="Found and replaced before storage; the values were never stored" {
                    "Redacted before storage: "
                    @for (i, (t, n)) in s.redactions.iter().enumerate() {
                        @if i > 0 { ", " }
                        span.badge { (t) " × " (n) }
                    }
                }
            }
            dl.facts {
                div { dt { "Span" } dd.mono { (s.span_id) } }
                div { dt { "Kind" } dd { (s.kind) } }
                div { dt { "Started (UTC)" } dd { (fmt::time(&s.start_time)) } }
                div { dt { "Duration" } dd data-value=(s.duration_ms) { (fmt::duration_ms(s.duration_ms)) } }
                @if !s.scope.is_empty() { div { dt { "Instrumentation" } dd { (s.scope) } } }
                @if let Some(v) = &s.model { div { dt { "Model" } dd.model { (v) } } }
                @if let (Some(r), Some(m)) = (&s.request_model, &s.model) { @if r != m { div { dt { "Requested model" } dd { (r) } } } }
                @if let Some(v) = &s.provider { div { dt { "Provider" } dd { (v) } } }
                @if !s.finish_reasons.is_empty() { div { dt { "Finish reason" } dd { (s.finish_reasons.join(", ")) } } }
                @for (k, v) in parameters(s) { div.param { dt { (k) } dd { (v) } } }
            }
            @if s.input_tokens.is_some() || s.cost_usd.is_some() || s.unpriced_reason.is_some() {
                section {
                    h3 { "Tokens and cost" }
                    table.tokens {
                        tbody {
                            tr { th { "Input (uncached)" } (num(fmt::count(uncached), uncached)) }
                            tr { th { "Cache read" } (num(fmt::count(s.cache_read_tokens.unwrap_or(0)), s.cache_read_tokens.unwrap_or(0))) }
                            tr { th { "Cache write" } (num(fmt::count(s.cache_write_tokens.unwrap_or(0)), s.cache_write_tokens.unwrap_or(0))) }
                            tr { th { "Output" } (num(fmt::count(s.output_tokens.unwrap_or(0)), s.output_tokens.unwrap_or(0))) }
                            tr.total { th { "Total" } (num(fmt::count(total), total)) }
                            tr.total { th { "Cost" }
                                @if let Some(c) = s.cost_usd { td.num #span-cost data-value=(c) { (fmt::usd(c)) } }
                                @else { td.num { "unpriced" } }
                            }
                        }
                    }
                    @if let Some(r) = &s.unpriced_reason { p.muted { "Not priced: " (r) } }
                    @if !s.counted { p.muted { "Another span reports this same model call; the trace counts it once, there." } }
                }
            }
            @if let Some(name) = &s.tool_name {
                section.tool {
                    h3 { "Tool: " (name) }
                    @if let Some(id) = &s.tool_call_id { p.muted.mono { "call " (id) } }
                    @if let Some(a) = &s.tool_arguments { h4 { "Arguments" } (json_block(a)) }
                    @if let Some(r) = &s.tool_result { h4 { "Result" } (json_block(r)) }
                }
            }
            @if s.system_instructions.is_some() || !s.input_messages.is_empty() || !s.output_messages.is_empty() {
                section.conversation {
                    h3 { "Conversation" }
                    @if let Some(sys) = &s.system_instructions {
                        div.msg.role-system { div.role { "system" } (long_text(sys)) }
                    }
                    @for m in &s.input_messages { (message(m, false)) }
                    @for m in &s.output_messages { (message(m, true)) }
                }
            }
            @if !s.events.is_empty() {
                section {
                    h3 { "Events (" (s.events.len()) ")" }
                    @for e in &s.events {
                        details.event {
                            summary { (e.name) " " span.muted { (fmt::time(&e.time)) } }
                            (attributes(&e.attributes))
                        }
                    }
                }
            }
            section {
                h3 { "Scores" }
                (scores(t.scores.iter().filter(|x| x.span_id.as_deref() == Some(s.span_id.as_str())), "No scores on this span."))
            }
            section {
                details.raw open {
                    summary { h3 { "Attributes (" (s.attributes.len()) ")" } }
                    (attributes(&s.attributes))
                }
                details.raw {
                    summary { h3 { "Resource (" (s.resource.len()) ")" } }
                    (attributes(&s.resource))
                }
            }
        }
    }
}

/// Request parameters (temperature, max tokens, …) as the reporter named them.
fn parameters(s: &SpanView) -> Vec<(String, String)> {
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out: Vec<(String, String)> = s
        .attributes
        .iter()
        .filter_map(|(k, v)| {
            let name = k
                .strip_prefix("gen_ai.request.")
                .filter(|n| *n != "model")?;
            Some((name.replace('_', " "), scalar(v)?))
        })
        .collect();
    // OpenInference keeps them as one JSON object.
    if let Some(serde_json::Value::String(json)) = s.attributes.get("llm.invocation_parameters")
        && let Ok(serde_json::Value::Object(params)) = serde_json::from_str(json)
    {
        out.extend(
            params
                .iter()
                .filter(|(k, _)| *k != "model")
                .filter_map(|(k, v)| Some((k.replace('_', " "), scalar(v)?))),
        );
    }
    out
}

fn scores<'a>(list: impl Iterator<Item = &'a query::ScoreView>, empty: &str) -> Markup {
    let list: Vec<_> = list.collect();
    html! {
        @if list.is_empty() {
            @if !empty.is_empty() { p.muted { (empty) } }
        } @else {
            table.tokens.scores {
                tbody {
                    @for sc in list {
                        tr data-score=(sc.name) {
                            th { (sc.name) }
                            td.num data-value=(serde_json::to_string(&sc.value).unwrap_or_default()) {
                                (serde_json::to_string(&sc.value).unwrap_or_default().trim_matches('"'))
                            }
                            td { span.badge { (sc.source) } }
                            td.muted { (sc.comment.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

fn message(m: &Message, output: bool) -> Markup {
    html! {
        div.msg.{"role-" (m.role)}.output[output] {
            div.role { (m.role) @if output { " · output" } }
            @for p in &m.parts {
                @match p {
                    Part::Text { text } => (long_text(text)),
                    Part::ToolCall { id, name, arguments } => {
                        div.tool-call {
                            span.label { "→ tool call " strong { (name) } @if let Some(id) = id { " " span.mono.muted { (id) } } }
                            (json_block(arguments))
                        }
                    }
                    Part::ToolResult { id, content, is_error } => {
                        div.tool-result.error[*is_error] {
                            span.label { "← tool result" @if *is_error { " (error)" } @if let Some(id) = id { " " span.mono.muted { (id) } } }
                            (json_block(content))
                        }
                    }
                    Part::Other { value } => { div.other { (json_block(value)) } }
                }
            }
        }
    }
}

/// Text that may be huge (a 200K-token prompt): the head inline, the rest on demand.
fn long_text(text: &str) -> Markup {
    match text.char_indices().nth(PREVIEW_CHARS) {
        None => html! { pre.text { (text) } },
        Some((cut, _)) => {
            let rest = &text[cut..];
            html! {
                pre.text { (&text[..cut]) }
                details.more {
                    summary { "Show all (" (fmt::count(rest.chars().count() as u64)) " more characters)" }
                    pre.text { (rest) }
                }
            }
        }
    }
}

fn json_block(v: &serde_json::Value) -> Markup {
    match v {
        serde_json::Value::String(s) => long_text(s),
        other => long_text(&serde_json::to_string_pretty(other).unwrap_or_default()),
    }
}

fn attributes(a: &serde_json::Map<String, serde_json::Value>) -> Markup {
    html! {
        table.attrs {
            tbody {
                @for (k, v) in a {
                    tr { th.mono { (k) } td { (json_block(v)) } }
                }
            }
        }
    }
}
