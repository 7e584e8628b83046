//! `/sessions/{id}`: a conversation across its traces, oldest first.

use glassbox_model::{Message, Part};
use glassbox_query::{self as query, Store};
use maud::{Markup, html};

use crate::layout::{self, Nav};
use crate::{PageError, fmt};

/// Traces of one session rendered in full; longer sessions link the rest.
const MAX_TURNS: usize = 200;

pub fn render(store: &dyn Store, id: &str) -> Result<Markup, PageError> {
    let traces = query::session(store, id)?;
    let cost: f64 = traces.iter().map(|t| t.cost_usd).sum();
    let tokens: u64 = traces
        .iter()
        .map(|t| t.input_tokens + t.output_tokens + t.cache_read_tokens + t.cache_write_tokens)
        .sum();
    let mut turns = Vec::new();
    for t in traces.iter().take(MAX_TURNS) {
        let detail = query::get_trace(store, &t.trace_id)?;
        let llm: Vec<_> = detail
            .spans
            .iter()
            .filter(|s| {
                s.counted && (!s.input_messages.is_empty() || !s.output_messages.is_empty())
            })
            .collect();
        let asked = llm
            .first()
            .and_then(|s| s.input_messages.iter().rev().find(|m| m.role == "user"))
            .map(text_of);
        let answered = llm
            .iter()
            .rev()
            .find_map(|s| s.output_messages.last())
            .map(text_of);
        turns.push((t, asked, answered));
    }
    let body = html! {
        section.trace-head {
            h1 { "Session " span.mono { (id) } }
            dl.facts {
                div { dt { "Traces" } dd { (traces.len()) } }
                div { dt { "Cost" } dd #session-cost data-value=(cost) { (fmt::usd(cost)) } }
                div { dt { "Tokens" } dd { (fmt::count(tokens)) } }
                @if let Some(u) = traces.first().and_then(|t| t.user_id.as_deref()) { div { dt { "User" } dd { (u) } } }
            }
        }
        ol.session {
            @for (t, asked, answered) in &turns {
                li.turn data-trace-id=(t.trace_id) {
                    div.turn-head {
                        a href={ "/traces/" (t.trace_id) } { (t.name.as_deref().unwrap_or("(no root span)")) }
                        span.muted { " " (fmt::time(&t.start_time)) " · " (fmt::duration_ms(t.duration_ms)) " · " (fmt::usd(t.cost_usd)) }
                        @if t.status == "error" { " " span.badge.error { "error" } }
                    }
                    @if let Some(a) = asked { div.msg.role-user { div.role { "user" } pre.text { (a) } } }
                    @if let Some(a) = answered { div.msg.role-assistant { div.role { "assistant" } pre.text { (a) } } }
                }
            }
        }
        @if traces.len() > MAX_TURNS {
            p.muted { "Showing the first " (MAX_TURNS) " of " (traces.len()) " traces. "
                a href=(layout::url("/traces", &[("session", id)])) { "List them all" } }
        }
    };
    Ok(layout::page("Session", Nav::Traces, body))
}

/// A message's text, with tool calls named, clipped for a transcript.
fn text_of(m: &Message) -> String {
    let mut out = String::new();
    for p in &m.parts {
        match p {
            Part::Text { text } => out.push_str(text),
            Part::ToolCall { name, .. } => out.push_str(&format!("[calls tool {name}]")),
            Part::ToolResult { .. } => out.push_str("[tool result]"),
            Part::Other { .. } => {}
        }
        out.push('\n');
    }
    match out.char_indices().nth(1500) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out.trim_end().to_owned(),
    }
}
