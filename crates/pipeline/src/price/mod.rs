//! The price table: which price was in force for a model at a time, and the
//! exact cost of a model call under it.

use std::collections::HashMap;

use glassbox_model::{Cost, ModelCall, Money};
use serde::Deserialize;

mod resolve;

pub use resolve::canonical_model_name;

const BUNDLED: &str = include_str!("prices.toml");

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("price table is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error(
        "model {model:?}: {field} = {value:?} is not a decimal USD-per-million-tokens amount with at most 6 decimals"
    )]
    Amount {
        model: String,
        field: &'static str,
        value: String,
    },
    #[error("model {model:?}: `from` = {value:?} is not a YYYY-MM-DD date")]
    Date { model: String, value: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    model: Vec<ModelEntry>,
}

/// One model as written in a price file (the bundled one or the config's `[[prices.model]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub id: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub price: Vec<PriceEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    pub from: String,
    pub input: String,
    pub output: String,
    #[serde(default)]
    pub cache_read: Option<String>,
    #[serde(default)]
    pub cache_write_5m: Option<String>,
    #[serde(default)]
    pub cache_write_1h: Option<String>,
    #[serde(default)]
    pub long_context: Option<LongContextEntry>,
    /// Percent off every rate for calls served by the provider's batch tier.
    #[serde(default)]
    pub batch_discount_percent: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongContextEntry {
    pub above_prompt_tokens: u64,
    pub input: String,
    pub output: String,
    #[serde(default)]
    pub cache_read: Option<String>,
    #[serde(default)]
    pub cache_write_5m: Option<String>,
    #[serde(default)]
    pub cache_write_1h: Option<String>,
}

/// Rates in pico-USD per token (= micro-USD per million tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write_5m: i64,
    pub cache_write_1h: i64,
}

/// The entry in force for one model at one time.
#[derive(Debug, Clone)]
pub struct PriceInForce {
    pub rates: Rates,
    /// Rates for requests whose whole prompt exceeds the threshold.
    pub long_context: Option<(u64, Rates)>,
    /// `model@from-date`, recorded with every cost it produces.
    pub price_id: String,
    pub batch_discount_percent: Option<u8>,
}

#[derive(Debug, Clone)]
struct Price {
    from_unix_nano: u64,
    from: String,
    rates: Rates,
    long_context: Option<(u64, Rates)>,
    batch_discount_percent: Option<u8>,
}

#[derive(Debug, Clone)]
struct Model {
    id: String,
    /// Sorted by `from_unix_nano`.
    prices: Vec<Price>,
}

/// The bundled price table plus any overrides, ready to price calls.
#[derive(Debug, Clone)]
pub struct PriceTable {
    version: String,
    models: Vec<Model>,
    by_name: HashMap<String, usize>,
}

/// USD per million tokens as a decimal string → pico-USD per token, exactly.
fn parse_amount(model: &str, field: &'static str, value: &str) -> Result<i64, PriceError> {
    let err = || PriceError::Amount {
        model: model.to_owned(),
        field,
        value: value.to_owned(),
    };
    let (whole, frac) = value.trim().split_once('.').unwrap_or((value.trim(), ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 6
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| err())?
    };
    if whole < 0 {
        return Err(err());
    }
    let frac_val: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().map_err(|_| err())? * 10_i64.pow(6 - frac.len() as u32)
    };
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(frac_val))
        .ok_or_else(err)
}

fn parse_date(model: &str, value: &str) -> Result<u64, PriceError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(value, fmt).map_err(|_| PriceError::Date {
        model: model.to_owned(),
        value: value.to_owned(),
    })?;
    let ts = date.midnight().assume_utc().unix_timestamp_nanos();
    Ok(u64::try_from(ts).unwrap_or(0))
}

fn rates(
    model: &str,
    input: &str,
    output: &str,
    cache_read: Option<&str>,
    cw5: Option<&str>,
    cw1: Option<&str>,
) -> Result<Rates, PriceError> {
    let input = parse_amount(model, "input", input)?;
    let output = parse_amount(model, "output", output)?;
    let opt = |field, v: Option<&str>, default: i64| {
        v.map_or(Ok(default), |v| parse_amount(model, field, v))
    };
    Ok(Rates {
        input,
        output,
        // Providers without cache pricing bill cached input as input.
        cache_read: opt("cache_read", cache_read, input)?,
        cache_write_5m: opt("cache_write_5m", cw5, input)?,
        cache_write_1h: opt("cache_write_1h", cw1, input)?,
    })
}

impl PriceTable {
    /// The table shipped inside the binary.
    pub fn bundled() -> Result<Self, PriceError> {
        Self::from_toml(BUNDLED)
    }

    /// The table's `version` (its date), logged at start-up.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn from_toml(text: &str) -> Result<Self, PriceError> {
        let file: TableFile = toml::from_str(text)?;
        let mut table = PriceTable {
            version: file.version.unwrap_or_else(|| "custom".to_owned()),
            models: Vec::new(),
            by_name: HashMap::new(),
        };
        table.extend(file.model)?;
        Ok(table)
    }

    /// Adds or replaces models (config overrides). A replaced model loses its bundled prices.
    pub fn extend(&mut self, entries: Vec<ModelEntry>) -> Result<(), PriceError> {
        for e in entries {
            let mut prices = Vec::with_capacity(e.price.len());
            for p in &e.price {
                let long_context = match &p.long_context {
                    Some(lc) => Some((
                        lc.above_prompt_tokens,
                        rates(
                            &e.id,
                            &lc.input,
                            &lc.output,
                            lc.cache_read.as_deref(),
                            lc.cache_write_5m.as_deref(),
                            lc.cache_write_1h.as_deref(),
                        )?,
                    )),
                    None => None,
                };
                prices.push(Price {
                    from_unix_nano: parse_date(&e.id, &p.from)?,
                    from: p.from.clone(),
                    rates: rates(
                        &e.id,
                        &p.input,
                        &p.output,
                        p.cache_read.as_deref(),
                        p.cache_write_5m.as_deref(),
                        p.cache_write_1h.as_deref(),
                    )?,
                    long_context,
                    batch_discount_percent: match p.batch_discount_percent {
                        Some(pct) if pct > 100 => {
                            return Err(PriceError::Amount {
                                model: e.id.clone(),
                                field: "batch_discount_percent",
                                value: pct.to_string(),
                            });
                        }
                        other => other,
                    },
                });
            }
            prices.sort_by_key(|p| p.from_unix_nano);
            let key = canonical_model_name(&e.id);
            let idx = match self.by_name.get(&key) {
                Some(&i) => {
                    self.models[i] = Model {
                        id: e.id.clone(),
                        prices,
                    };
                    i
                }
                None => {
                    self.models.push(Model {
                        id: e.id.clone(),
                        prices,
                    });
                    self.models.len() - 1
                }
            };
            self.by_name.insert(key, idx);
            for alias in &e.aliases {
                self.by_name.insert(canonical_model_name(alias), idx);
            }
        }
        Ok(())
    }

    /// The rates for `model` in force at `at_unix_nano`, and the id of that entry.
    pub fn rates_at(&self, model: &str, at_unix_nano: u64) -> Option<PriceInForce> {
        let m = &self.models[*self.by_name.get(&canonical_model_name(model))?];
        // Before the first entry's date we still use the first entry: a span
        // with a skewed clock should not lose its price.
        let p = m
            .prices
            .iter()
            .rev()
            .find(|p| p.from_unix_nano <= at_unix_nano)
            .or_else(|| m.prices.first())?;
        Some(PriceInForce {
            rates: p.rates,
            long_context: p.long_context,
            price_id: format!("{}@{}", m.id, p.from),
            batch_discount_percent: p.batch_discount_percent,
        })
    }

    /// Prices one call exactly. Unknown models are `Unpriced`, never zero.
    pub fn cost(&self, call: &ModelCall, at_unix_nano: u64) -> Cost {
        if !call.has_usage {
            // Failed calls are not billed; nothing to price.
            return match call.model() {
                Some(_) if call.error_type.is_some() => Cost::Priced {
                    amount: Money::ZERO,
                    price_id: "not-billed:failed-call".to_owned(),
                },
                _ => Cost::Unpriced {
                    reason: "the call reported no token usage".to_owned(),
                },
            };
        }
        let Some(model) = call.model() else {
            return Cost::Unpriced {
                reason: "the call names no model".to_owned(),
            };
        };
        let Some(PriceInForce {
            rates: base,
            long_context,
            price_id,
            batch_discount_percent,
        }) = self.rates_at(model, at_unix_nano).or_else(|| {
            call.request_model
                .as_deref()
                .and_then(|m| self.rates_at(m, at_unix_nano))
        })
        else {
            return Cost::Unpriced {
                reason: format!(
                    "no price for model {model:?}; add it under [[prices.model]] in the config file"
                ),
            };
        };
        let t = &call.tokens;
        let r = match long_context {
            Some((threshold, lc)) if t.prompt_total() > threshold => lc,
            _ => base,
        };
        let w1h = t.cache_write_1h.unwrap_or(0).min(t.cache_write);
        let w5m = t.cache_write - w1h;
        let sum = [
            (t.input, r.input),
            (t.output, r.output),
            (t.cache_read, r.cache_read),
            (w5m, r.cache_write_5m),
            (w1h, r.cache_write_1h),
        ]
        .iter()
        .try_fold(0i64, |acc, &(n, rate)| {
            i64::try_from(n)
                .ok()
                .and_then(|n| n.checked_mul(rate))
                .and_then(|c| acc.checked_add(c))
        });
        // Batch pricing: the provider's usage says which tier served the call.
        let (sum, price_id) = match (call.service_tier.as_deref(), batch_discount_percent) {
            (Some("batch"), Some(pct)) => (
                sum.and_then(|p| p.checked_mul(i64::from(100 - pct)))
                    .map(|p| p / 100),
                format!("{price_id}+batch-{pct}%"),
            ),
            _ => (sum, price_id),
        };
        match sum {
            Some(pico) => Cost::Priced {
                amount: Money(pico),
                price_id,
            },
            None => Cost::Unpriced {
                reason: "token counts too large to price".to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::Tokens;

    fn call(model: &str, tokens: Tokens) -> ModelCall {
        ModelCall {
            response_model: Some(model.to_owned()),
            tokens,
            has_usage: true,
            ..ModelCall::default()
        }
    }

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_amount("m", "input", "3").unwrap(), 3_000_000);
        assert_eq!(parse_amount("m", "input", "0.03").unwrap(), 30_000);
        assert_eq!(parse_amount("m", "input", "22.5").unwrap(), 22_500_000);
        assert!(parse_amount("m", "input", "1.2345678").is_err());
        assert!(parse_amount("m", "input", "-1").is_err());
        assert!(parse_amount("m", "input", "abc").is_err());
    }

    #[test]
    fn prices_cache_parts_separately() {
        let t = PriceTable::bundled().unwrap();
        // Sonnet 4.6: 1000 in ($3/M), 100 out ($15/M), 2000 cache read ($0.30/M), 500 5m write ($3.75/M).
        let c = t.cost(
            &call(
                "claude-sonnet-4-6",
                Tokens {
                    input: 1000,
                    output: 100,
                    cache_read: 2000,
                    cache_write: 500,
                    ..Tokens::default()
                },
            ),
            0,
        );
        let expected = 1000 * 3_000_000 + 100 * 15_000_000 + 2000 * 300_000 + 500 * 3_750_000;
        assert_eq!(c.amount(), Some(Money(expected)));
        // 1-hour writes at 2x input.
        let c = t.cost(
            &call(
                "claude-sonnet-4-6",
                Tokens {
                    cache_write: 500,
                    cache_write_1h: Some(200),
                    ..Tokens::default()
                },
            ),
            0,
        );
        assert_eq!(c.amount(), Some(Money(300 * 3_750_000 + 200 * 6_000_000)));
    }

    #[test]
    fn resolves_snapshots_bedrock_vertex_and_unknowns() {
        let t = PriceTable::bundled().unwrap();
        for name in [
            "claude-haiku-4-5-20251001",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "claude-haiku-4-5@20251001",
            "anthropic/claude-haiku-4-5",
            "claude-haiku-4.5",
        ] {
            assert_eq!(
                t.rates_at(name, 0).map(|r| r.rates.input),
                Some(1_000_000),
                "{name}"
            );
        }
        let c = t.cost(
            &call(
                "my-private-model",
                Tokens {
                    input: 5,
                    ..Tokens::default()
                },
            ),
            0,
        );
        assert!(matches!(c, Cost::Unpriced { .. }));
    }

    #[test]
    fn long_context_tier_applies_above_threshold() {
        let t = PriceTable::bundled().unwrap();
        let at = parse_date("m", "2025-09-01").unwrap();
        let small = t.cost(
            &call(
                "claude-sonnet-4-20250514",
                Tokens {
                    input: 200_000,
                    output: 1,
                    ..Tokens::default()
                },
            ),
            at,
        );
        let big = t.cost(
            &call(
                "claude-sonnet-4-20250514",
                Tokens {
                    input: 200_001,
                    output: 1,
                    ..Tokens::default()
                },
            ),
            at,
        );
        assert_eq!(
            small.amount(),
            Some(Money(200_000 * 3_000_000 + 15_000_000))
        );
        assert_eq!(big.amount(), Some(Money(200_001 * 6_000_000 + 22_500_000)));
    }

    #[test]
    fn batch_tier_gets_the_batch_discount() {
        let t = PriceTable::bundled().unwrap();
        let mut c = call(
            "claude-opus-4-1",
            Tokens {
                input: 1_000_000,
                output: 1_000_000,
                ..Tokens::default()
            },
        );
        assert_eq!(
            t.cost(&c, 0).amount(),
            Some(Money(90 * Money::PICO_PER_USD))
        );
        c.service_tier = Some("batch".into());
        assert_eq!(
            t.cost(&c, 0).amount(),
            Some(Money(45 * Money::PICO_PER_USD)),
            "$7.50 + $37.50 per the batch table"
        );
        c.service_tier = Some("priority".into());
        assert_eq!(
            t.cost(&c, 0).amount(),
            Some(Money(90 * Money::PICO_PER_USD))
        );
    }

    #[test]
    fn price_in_force_at_call_time() {
        let text = r#"
            [[model]]
            id = "m"
            price = [{ from = "2025-01-01", input = "1", output = "1" }, { from = "2026-01-01", input = "2", output = "2" }]
        "#;
        let t = PriceTable::from_toml(text).unwrap();
        let c = |date| {
            t.cost(
                &call(
                    "m",
                    Tokens {
                        input: 1,
                        ..Tokens::default()
                    },
                ),
                parse_date("m", date).unwrap(),
            )
            .amount()
        };
        assert_eq!(c("2025-06-01"), Some(Money(1_000_000)));
        assert_eq!(c("2026-06-01"), Some(Money(2_000_000)));
    }
}
