//! Small helpers shared by the detectors.

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// Compiles a pattern that is a constant of this crate; a failure is a programming error
/// caught by the unit tests, never something input can trigger.
pub(crate) fn re(pattern: &str) -> Regex {
    // A roomy lazy-DFA cache keeps the big alternations on the DFA instead of letting the
    // engine fall back to the much slower NFA simulation when the cache thrashes.
    match RegexBuilder::new(pattern)
        .dfa_size_limit(64 << 20)
        .size_limit(64 << 20)
        .build()
    {
        Ok(r) => r,
        Err(e) => panic!("glassbox-redact: invalid built-in pattern {pattern:?}: {e}"),
    }
}

#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// True when the value starting at `start` is not glued to a preceding token: the byte
/// before is not a word byte, and not a `-`/`.` that itself follows a word byte (as in
/// `ORD-2024-…` or `v1.2.…`).
pub(crate) fn left_ok(t: &[u8], start: usize) -> bool {
    if start == 0 {
        return true;
    }
    let p = t[start - 1];
    if is_word(p) {
        return false;
    }
    if matches!(p, b'-' | b'.' | b'/' | b'+') && start >= 2 && t[start - 2].is_ascii_alphanumeric()
    {
        return false;
    }
    true
}

/// Mirror of [`left_ok`] for the end of a value.
pub(crate) fn right_ok(t: &[u8], end: usize) -> bool {
    if end >= t.len() {
        return true;
    }
    let n = t[end];
    if is_word(n) {
        return false;
    }
    if matches!(n, b'-' | b'.' | b'/') && end + 1 < t.len() && t[end + 1].is_ascii_alphanumeric() {
        return false;
    }
    true
}

/// Start of a window of about `n` bytes before `pos`, on a char boundary.
pub(crate) fn back(text: &str, pos: usize, n: usize) -> usize {
    let mut s = pos.saturating_sub(n);
    while s > 0 && !text.is_char_boundary(s) {
        s -= 1;
    }
    s
}

/// End of a window of about `n` bytes after `pos`, on a char boundary.
pub(crate) fn fwd(text: &str, pos: usize, n: usize) -> usize {
    let mut e = (pos + n).min(text.len());
    while e < text.len() && !text.is_char_boundary(e) {
        e += 1;
    }
    e
}

/// Which of two cue lists occurs last (closest) in `window`: `Some(true)` for the
/// positive list, `Some(false)` for the negative list, `None` if neither occurs.
pub(crate) fn nearest_cue(window: &str, positive: &Regex, negative: &Regex) -> Option<bool> {
    let p = positive.find_iter(window).last().map(|m| m.end());
    let n = negative.find_iter(window).last().map(|m| m.end());
    match (p, n) {
        (None, None) => None,
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (Some(a), Some(b)) => Some(a >= b),
    }
}

/// A family of cue patterns owned by one detector. Its parts are searched together with
/// every other family in a single pass (see [`Shared`]); the owner receives its matches as
/// [`Hit`]s carrying the index of the part that matched.
pub(crate) struct Alt {
    pub parts: Vec<String>,
}

impl Alt {
    pub(crate) fn new(parts: &[&str]) -> Alt {
        Alt {
            parts: parts.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

/// One match of a cue family: byte span and the index of the part within its family.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    start: usize,
    end: usize,
    pub kind: usize,
}

impl Hit {
    pub(crate) fn start(&self) -> usize {
        self.start
    }
    pub(crate) fn end(&self) -> usize {
        self.end
    }
}

/// All cue families in one regex: a single pass over the text instead of one per
/// detector. `find_iter` on the union is far cheaper than capture groups (which need a
/// slower engine per match); the part that matched is recovered with one anchored
/// `RegexSet` test on the short matched text.
pub(crate) struct Shared {
    all: Regex,
    kinds: RegexSet,
    /// (family, index within family) for each part, in union order.
    owner: Vec<(usize, usize)>,
    families: usize,
}

impl Shared {
    pub(crate) fn new(families: &[&Alt]) -> Shared {
        let mut parts = Vec::new();
        let mut owner = Vec::new();
        for (f, alt) in families.iter().enumerate() {
            for (k, p) in alt.parts.iter().enumerate() {
                parts.push(p.as_str());
                owner.push((f, k));
            }
        }
        let all = parts
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        let anchored: Vec<String> = parts.iter().map(|p| format!("^(?:{p})$")).collect();
        let kinds = match RegexSetBuilder::new(&anchored)
            .dfa_size_limit(64 << 20)
            .size_limit(64 << 20)
            .build()
        {
            Ok(k) => k,
            Err(e) => panic!("glassbox-redact: invalid built-in pattern set: {e}"),
        };
        Shared {
            all: re(&all),
            kinds,
            owner,
            families: families.len(),
        }
    }

    /// The hits of every family, indexed by family.
    pub(crate) fn scan(&self, t: &str) -> Vec<Vec<Hit>> {
        let mut out = vec![Vec::new(); self.families];
        for m in self.all.find_iter(t) {
            if let Some(i) = self.kinds.matches(m.as_str()).iter().next() {
                let (f, kind) = self.owner[i];
                out[f].push(Hit {
                    start: m.start(),
                    end: m.end(),
                    kind,
                });
            }
        }
        out
    }

    pub(crate) fn regex(&self) -> &Regex {
        &self.all
    }
}
