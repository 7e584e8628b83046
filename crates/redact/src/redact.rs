//! Applying a [`Policy`] to detections: mask, pseudonymise, keep or drop.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::{Detector, EntityType};

/// What to do with a finding of some type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Replace the value with the type's placeholder, e.g. `[EMAIL]`.
    Mask,
    /// Replace the value with a keyed hash token, e.g. `[EMAIL:3f9a1c2b]`: equal values
    /// give equal tokens under one key, so joins and counts still work.
    #[serde(alias = "pseudonymize", alias = "hash")]
    Pseudonymise,
    /// Drop the whole text (the caller stores nothing).
    Drop,
    /// Leave the value as it is (still counted in the findings).
    Keep,
}

/// Errors building a [`Policy`] from configuration.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("unknown entity type {0:?} in redaction policy")]
    UnknownType(String),
    #[error("pseudonymisation key must be 64 hex digits (32 bytes)")]
    BadKey,
    #[error("invalid redaction policy: {0}")]
    Json(#[from] serde_json::Error),
}

/// Redaction policy: a default action plus per-type overrides, and the key for
/// pseudonymisation.
///
/// Deserialises from e.g. `{"default": "mask", "types": {"email": "pseudonymise"},
/// "key": "<64 hex digits>"}`; type names are the policy labels in any case
/// (`EMAIL`, `email`, `credit_card`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub default: Action,
    pub types: HashMap<EntityType, Action>,
    pub key: [u8; 32],
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default: Action::Mask,
            types: HashMap::new(),
            key: [0u8; 32],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyConfig {
    #[serde(default = "default_action")]
    default: Action,
    #[serde(default)]
    types: BTreeMap<String, Action>,
    #[serde(default)]
    key: Option<String>,
}

fn default_action() -> Action {
    Action::Mask
}

impl TryFrom<PolicyConfig> for Policy {
    type Error = PolicyError;
    fn try_from(c: PolicyConfig) -> Result<Self, Self::Error> {
        let mut types = HashMap::new();
        for (name, action) in c.types {
            let t = EntityType::parse(&name).ok_or(PolicyError::UnknownType(name))?;
            types.insert(t, action);
        }
        let key = match c.key {
            None => [0u8; 32],
            Some(h) => parse_key(&h)?,
        };
        Ok(Policy {
            default: c.default,
            types,
            key,
        })
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = PolicyConfig::deserialize(d)?;
        Policy::try_from(c).map_err(serde::de::Error::custom)
    }
}

fn parse_key(h: &str) -> Result<[u8; 32], PolicyError> {
    let h = h.trim();
    if h.len() != 64 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(PolicyError::BadKey);
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).map_err(|_| PolicyError::BadKey)?;
    }
    Ok(key)
}

impl Policy {
    /// Parses a JSON policy document.
    pub fn from_json(s: &str) -> Result<Policy, PolicyError> {
        let c: PolicyConfig = serde_json::from_str(s)?;
        Policy::try_from(c)
    }

    /// Uses `key` for pseudonymisation tokens.
    pub fn with_key(mut self, key: [u8; 32]) -> Policy {
        self.key = key;
        self
    }

    /// The action for one type.
    pub fn action(&self, t: EntityType) -> Action {
        self.types.get(&t).copied().unwrap_or(self.default)
    }

    /// The pseudonymisation token for a value: `[TYPE:` + 8 hex digits of a keyed BLAKE3
    /// hash of the type and value + `]`. The type is hashed in so one value found as two
    /// types does not link them.
    pub fn pseudonym(&self, t: EntityType, value: &str) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(t.as_str().as_bytes());
        h.update(&[0]);
        h.update(value.as_bytes());
        let d = h.finalize();
        let b = d.as_bytes();
        format!(
            "[{}:{:02x}{:02x}{:02x}{:02x}]",
            t.as_str(),
            b[0],
            b[1],
            b[2],
            b[3]
        )
    }
}

/// Result of [`redact`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The redacted text, or `None` when a finding's action is [`Action::Drop`].
    pub text: Option<String>,
    /// How many findings of each type (in [`EntityType::ALL`] order, zero counts omitted).
    pub findings: Vec<(EntityType, u32)>,
}

/// Detects and redacts `text` under `policy`. When nothing is found the text is copied
/// once and no other work is done.
pub fn redact(detector: &Detector, policy: &Policy, text: &str) -> Redacted {
    let ents = detector.detect(text);
    if ents.is_empty() {
        return Redacted {
            text: Some(text.to_owned()),
            findings: Vec::new(),
        };
    }
    let mut counts = [0u32; EntityType::ALL.len()];
    for e in &ents {
        if let Some(i) = EntityType::ALL.iter().position(|t| *t == e.kind) {
            counts[i] += 1;
        }
    }
    let findings: Vec<(EntityType, u32)> = EntityType::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| (*t, n))
        .collect();
    if ents.iter().any(|e| policy.action(e.kind) == Action::Drop) {
        return Redacted {
            text: None,
            findings,
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for e in &ents {
        out.push_str(&text[last..e.start]);
        let value = &text[e.start..e.end];
        match policy.action(e.kind) {
            Action::Mask => out.push_str(e.kind.placeholder()),
            Action::Pseudonymise => out.push_str(&policy.pseudonym(e.kind, value)),
            Action::Keep | Action::Drop => out.push_str(value),
        }
        last = e.end;
    }
    out.push_str(&text[last..]);
    Redacted {
        text: Some(out),
        findings,
    }
}
