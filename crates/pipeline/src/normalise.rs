//! Runs the conventions over a span or log record and resolves what they found
//! into the canonical fields.

use glassbox_model::{LogRecord, ModelCall, Reporter, Span, SpanKind, Tokens};

use crate::conventions::{Attrs, CONVENTIONS, Draft, LogView, SpanView, common_grouping};

/// Fills `kind`, `grouping`, `model_call` and `tool` of one span from its original attributes.
pub fn span(span: &mut Span) {
    let mut draft = Draft::default();
    {
        let view = SpanView {
            name: &span.name,
            otel_kind: span.otel_kind,
            scope_name: &span.scope_name,
            scope_version: &span.scope_version,
            attrs: Attrs(&span.attributes),
            resource: Attrs(&span.resource),
            events: &span.events,
            status: &span.status,
        };
        for c in CONVENTIONS {
            c.apply_span(&view, &mut draft);
        }
    }
    let kind = draft.kind.unwrap_or(SpanKind::Other);
    span.kind = kind;
    span.grouping.fill_from(&draft.grouping);
    span.tool_failed = draft.tool_failed.unwrap_or(false)
        || draft.tool.as_ref().is_some_and(|t| t.error.is_some());
    span.tool = draft.tool.take();
    if kind == SpanKind::Llm {
        span.model_call = Some(model_call(draft));
    }
}

/// Fills `grouping` and, for events that report a model call, `model_call`.
pub fn log(log: &mut LogRecord) {
    let mut draft = Draft::default();
    {
        let view = LogView {
            event_name: log.event_name.as_deref(),
            scope_name: &log.scope_name,
            attrs: Attrs(&log.attributes),
            resource: Attrs(&log.resource),
            body: &log.body,
            time_unix_nano: log.time_unix_nano,
        };
        for c in CONVENTIONS {
            c.apply_log(&view, &mut draft);
        }
        common_grouping(&view.attrs, &view.resource, &mut draft.grouping);
    }
    log.grouping.fill_from(&draft.grouping);
    if draft.kind == Some(SpanKind::Llm) {
        log.model_call = Some(model_call(draft));
    }
}

fn model_call(d: Draft) -> ModelCall {
    let has_usage = d.has_usage();
    let cache_read = d.cache_read.unwrap_or(0);
    let cache_write = d
        .cache_write
        .or_else(|| match (d.cache_write_5m, d.cache_write_1h) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        })
        .unwrap_or(0);
    // Subtract, never add: OTel-style totals include the cache parts.
    let input = d
        .input_uncached
        .or_else(|| {
            d.input_total
                .map(|t| t.saturating_sub(cache_read + cache_write))
        })
        .unwrap_or(0);
    let output = d
        .output
        .map(|o| o.saturating_sub(d.output_overcount.unwrap_or(0)))
        .unwrap_or(0);
    let failed = d.failed.unwrap_or(false) || (d.error_type.is_some() && !has_usage);
    ModelCall {
        provider: d.provider,
        request_model: d.request_model,
        response_model: d.response_model,
        tokens: Tokens {
            input,
            output,
            cache_read,
            cache_write,
            cache_write_5m: d.cache_write_5m,
            cache_write_1h: d.cache_write_1h,
        },
        has_usage,
        finish_reasons: d.finish_reasons.unwrap_or_default(),
        input_messages: d.input_messages.unwrap_or_default(),
        output_messages: d.output_messages.unwrap_or_default(),
        system_instructions: d.system_instructions,
        tool_definitions: d.tool_definitions,
        response_id: d.response_id,
        streamed: d.streamed.unwrap_or(false) || d.stream_completion.unwrap_or(false),
        stream_completion: d.stream_completion.unwrap_or(false),
        reporter: d.reporter.unwrap_or(Reporter::Library),
        error_type: if failed {
            d.error_type.or(Some("error".to_owned()))
        } else {
            None
        },
        service_tier: d.service_tier,
        attempts: d.attempts.unwrap_or(1),
        cost: None,
    }
}
