use glassbox_model::Attributes;
use serde_json::Value;

/// Typed, forgiving reads of OTLP attributes: numbers may arrive as ints,
/// doubles or strings, JSON may arrive as a string or a structure.
#[derive(Clone, Copy)]
pub struct Attrs<'a>(pub &'a Attributes);

impl<'a> Attrs<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A non-empty string value (numbers and bools are rendered).
    pub fn str(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn first_str(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.str(k))
    }

    /// A non-negative integer, whether sent as int, integral double or numeric string.
    pub fn u64(&self, key: &str) -> Option<u64> {
        value_u64(self.get(key)?)
    }

    pub fn first_u64(&self, keys: &[&str]) -> Option<u64> {
        keys.iter().find_map(|k| self.u64(k))
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "true" | "True" | "1" => Some(true),
                "false" | "False" | "0" => Some(false),
                _ => None,
            },
            Value::Number(n) => n.as_i64().map(|i| i != 0),
            _ => None,
        }
    }

    /// A JSON value, parsing strings that hold JSON.
    pub fn json(&self, key: &str) -> Option<Value> {
        match self.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            v => Some(v.clone()),
        }
    }

    /// A list of strings from an array or a JSON-encoded array or a single string.
    pub fn strings(&self, key: &str) -> Option<Vec<String>> {
        let v = self.get(key)?;
        let v = match v {
            Value::String(s) => {
                serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.clone()))
            }
            v => v.clone(),
        };
        match v {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
            ),
            Value::String(s) => Some(vec![s]),
            _ => None,
        }
    }

    /// Keys starting with `prefix`, for flattened conventions such as OpenInference.
    pub fn with_prefix<'p>(
        &self,
        prefix: &'p str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> + use<'a, 'p> {
        self.0
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
    }
}

pub fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1e18)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
