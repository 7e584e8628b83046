//! Small helpers shared by the detectors.

use regex::{Regex, RegexBuilder};

pub(crate) use crate::scan::{Alt, Hit};

/// Compiles a pattern that is a constant of this crate; a failure is a programming error
/// caught by the unit tests, never something input can trigger.
pub(crate) fn re(pattern: &str) -> Regex {
    let pattern = &ascii_digits(pattern);
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

/// Rewrites `\d` as `[0-9]`. Every value format detected here (cards, IPs, dates, ids)
/// uses ASCII digits, and the validators parse ASCII only; Unicode `\d` (hundreds of code
/// points across scripts) just makes every automaton larger and slower.
pub(crate) fn ascii_digits(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
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
