//! Deterministic token counts and the prompt cache (rules in the crate docs).

use std::collections::HashSet;

/// Tokens of a text: one per four characters, rounded up.
pub(crate) fn count(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// How long a cache entry is meant to live; only reported, never enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ttl {
    FiveMinutes,
    OneHour,
}

/// One countable piece of a request, in caching order (tools, system, messages).
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub tokens: u64,
    /// Set when the piece carries `cache_control`: a cache breakpoint.
    pub cache: Option<Ttl>,
    /// What identifies the piece for the cache key.
    pub key: String,
}

impl Segment {
    pub(crate) fn new(text: &str, cache: Option<Ttl>, key: String) -> Segment {
        Segment {
            tokens: count(text),
            cache,
            key,
        }
    }
}

/// The input side of `usage`, as the API reports it: `input` is the uncached part only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct InputUsage {
    pub input: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
    pub ephemeral_5m: u64,
    pub ephemeral_1h: u64,
}

/// Splits a request's input tokens into uncached, cache-written and cache-read parts, and
/// records the prefixes it writes in `cache`.
pub(crate) fn account(
    model: &str,
    segments: &[Segment],
    min_cacheable: u64,
    cache: &mut HashSet<[u8; 32]>,
) -> InputUsage {
    let total: u64 = segments.iter().map(|s| s.tokens).sum();
    // (prefix tokens, prefix hash, ttl) at each breakpoint; the cache is per model.
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(model.len() as u64).to_le_bytes());
    hasher.update(model.as_bytes());
    let mut prefix = 0;
    let mut breakpoints = Vec::new();
    for segment in segments {
        prefix += segment.tokens;
        // Length-prefixed so that two different splits of the same bytes hash differently.
        hasher.update(&(segment.key.len() as u64).to_le_bytes());
        hasher.update(segment.key.as_bytes());
        if let Some(ttl) = segment.cache {
            breakpoints.push((prefix, *hasher.finalize().as_bytes(), ttl));
        }
    }
    breakpoints.retain(|(tokens, _, _)| *tokens >= min_cacheable);

    let read = breakpoints
        .iter()
        .rev()
        .find(|(_, hash, _)| cache.contains(hash))
        .map_or(0, |(tokens, _, _)| *tokens);
    let mut usage = InputUsage {
        cache_read: read,
        ..InputUsage::default()
    };
    let mut covered = read;
    for (tokens, hash, ttl) in &breakpoints {
        if *tokens > covered {
            let written = tokens - covered;
            match ttl {
                Ttl::FiveMinutes => usage.ephemeral_5m += written,
                Ttl::OneHour => usage.ephemeral_1h += written,
            }
            usage.cache_creation += written;
            covered = *tokens;
        }
        cache.insert(*hash);
    }
    usage.input = total - usage.cache_read - usage.cache_creation;
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(tokens: usize, cache: Option<Ttl>, key: &str) -> Segment {
        Segment::new(&"x".repeat(tokens * 4), cache, key.into())
    }

    #[test]
    fn counts_round_up() {
        assert_eq!(count(""), 0);
        assert_eq!(count("abcde"), 2);
        assert_eq!(count("éééé"), 1);
    }

    #[test]
    fn first_request_writes_then_later_ones_read() {
        let mut cache = HashSet::new();
        let segments = [
            seg(1500, Some(Ttl::FiveMinutes), "system"),
            seg(10, None, "q1"),
        ];
        let first = account("m", &segments, 1024, &mut cache);
        assert_eq!(
            (first.input, first.cache_creation, first.cache_read),
            (10, 1500, 0)
        );
        assert_eq!(first.ephemeral_5m, 1500);
        let segments = [
            seg(1500, Some(Ttl::FiveMinutes), "system"),
            seg(20, None, "q2"),
        ];
        let second = account("m", &segments, 1024, &mut cache);
        assert_eq!(
            (second.input, second.cache_creation, second.cache_read),
            (20, 0, 1500)
        );
        let other_model = account("n", &segments, 1024, &mut cache);
        assert_eq!(other_model.cache_creation, 1500);
    }

    #[test]
    fn short_prefixes_are_not_cached() {
        let mut cache = HashSet::new();
        let segments = [seg(100, Some(Ttl::OneHour), "system"), seg(10, None, "q")];
        let usage = account("m", &segments, 1024, &mut cache);
        assert_eq!(
            (usage.input, usage.cache_creation, usage.cache_read),
            (110, 0, 0)
        );
    }

    #[test]
    fn longest_cached_breakpoint_is_read_and_the_rest_written() {
        let mut cache = HashSet::new();
        let tools = seg(1200, Some(Ttl::OneHour), "tools");
        account("m", &[tools.clone(), seg(5, None, "q")], 1024, &mut cache);
        let usage = account(
            "m",
            &[
                tools,
                seg(300, Some(Ttl::FiveMinutes), "system"),
                seg(5, None, "q"),
            ],
            1024,
            &mut cache,
        );
        assert_eq!(
            (usage.input, usage.cache_creation, usage.cache_read),
            (5, 300, 1200)
        );
        assert_eq!((usage.ephemeral_5m, usage.ephemeral_1h), (300, 0));
    }
}
