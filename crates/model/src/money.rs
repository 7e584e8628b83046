use serde::{Deserialize, Serialize};

/// An exact amount of US dollars, in pico-dollars (10^-12 USD).
///
/// Why pico: the cheapest prices in the table are a few cents per million
/// tokens (3 × 10^-8 USD per token), so one token times one price is an integer
/// number of pico-dollars and every cost is exact. An `i64` holds ±9.2 million
/// USD, far above any single call; sums use `i128`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);
    pub const PICO_PER_USD: i64 = 1_000_000_000_000;

    /// The decimal USD figure the API reports. Rounded only at this edge.
    pub fn usd(self) -> f64 {
        self.0 as f64 / Self::PICO_PER_USD as f64
    }
}

/// The priced state of a model call. Unknown models are `Unpriced`, never a silent zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Cost {
    Priced {
        amount: Money,
        /// The price-table entry that produced it, e.g. `anthropic/claude-sonnet-4-6@2025-08-01`.
        price_id: String,
    },
    Unpriced {
        reason: String,
    },
}

impl Cost {
    pub fn amount(&self) -> Option<Money> {
        match self {
            Cost::Priced { amount, .. } => Some(*amount),
            Cost::Unpriced { .. } => None,
        }
    }
}
