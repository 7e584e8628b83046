//! The anthropic Python SDK's own spans (scope `com.anthropic.sdk.python`):
//! semconv names plus `anthropic.*` extras. Its numbers come straight from the
//! API response, so it outranks every library that wraps it.

use super::{Convention, Draft, SpanView, fill};
use glassbox_model::{Reporter, SpanKind};

pub struct AnthropicSdk;

impl Convention for AnthropicSdk {
    fn apply_span(&self, s: &SpanView<'_>, d: &mut Draft) {
        if !s.scope_name.starts_with("com.anthropic.sdk") {
            return;
        }
        let a = &s.attrs;
        fill(&mut d.kind, Some(SpanKind::Llm));
        fill(&mut d.reporter, Some(Reporter::ProviderSdk));
        fill(
            &mut d.cache_write_5m,
            a.u64("anthropic.usage.cache_creation.ephemeral_5m_input_tokens"),
        );
        fill(
            &mut d.cache_write_1h,
            a.u64("anthropic.usage.cache_creation.ephemeral_1h_input_tokens"),
        );
        fill(
            &mut d.finish_reasons,
            a.str("anthropic.message.stop_reason").map(|r| vec![r]),
        );
    }
}
