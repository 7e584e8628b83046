//! Small helpers shared by the detectors.

use regex::{Regex, RegexBuilder};
use regex_automata::{Anchored, Input, meta};

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

/// Like [`re`], but for searches anchored at chosen starts ([`find_at_starts`]), which
/// the `regex` crate's API does not offer.
pub(crate) fn anchored_re(pattern: &str) -> meta::Regex {
    let pattern = &ascii_digits(pattern);
    match meta::Regex::builder()
        .configure(
            meta::Regex::config()
                .hybrid_cache_capacity(64 << 20)
                .nfa_size_limit(Some(64 << 20)),
        )
        .build(pattern)
    {
        Ok(r) => r,
        Err(e) => panic!("glassbox-redact: invalid built-in pattern {pattern:?}: {e}"),
    }
}

/// The matches `re.find_iter(t)` would report, found by anchored searches at `starts`
/// only. `starts` must be sorted and include every position where a match can begin;
/// then, as in `find_iter`, the first start (in text order) where the pattern matches
/// gives the leftmost match, and starts inside a match are skipped. When a cheap scan can
/// name the few possible starts, this avoids running the automaton over every byte.
/// The matches come in text order, searched as they are taken.
pub(crate) fn find_at_starts<'a>(
    re: &'a meta::Regex,
    t: &'a str,
    starts: &'a [usize],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut cursor = 0;
    starts.iter().filter_map(move |&p| {
        if p < cursor || !t.is_char_boundary(p) {
            return None;
        }
        let input = Input::new(t).range(p..).anchored(Anchored::Yes);
        let hm = re.search_half(&input)?;
        if hm.offset() <= p {
            return None;
        }
        cursor = hm.offset();
        Some((p, hm.offset()))
    })
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

/// Where the value detectors start looking, found in one pass over the text: the maximal
/// runs of ASCII digits (cards, phones, SSNs, IBANs, IPv4 addresses, house numbers and most
/// look-alikes contain one) and the `-`, `_` and `:` separators (ids, timestamps, IPv6).
/// Texts carry a few dozen of each, so listing them once spares every detector its own
/// walk over the bytes.
#[derive(Default)]
pub(crate) struct Landmarks {
    /// `[start, end)` of each digit run, in text order.
    pub runs: Vec<(usize, usize)>,
    /// Positions of `-`, `_` and `:`, in text order.
    pub seps: Vec<usize>,
}

impl Landmarks {
    #[cfg(test)]
    pub(crate) fn of(b: &[u8]) -> Landmarks {
        let mut marks = Landmarks {
            runs: Vec::new(),
            seps: Vec::new(),
        };
        marks.fill(b);
        marks
    }

    /// Replaces the landmarks with those of `b`, reusing the vectors.
    pub(crate) fn fill(&mut self, b: &[u8]) {
        self.runs.clear();
        self.seps.clear();
        // Sixty-four bytes at a time, as bit masks: a branch per landmark instead of a
        // branch per byte. The last block is padded with NUL, which is neither.
        let mut open = 0;
        let mut carry = 0;
        let mut blocks = b.chunks_exact(64);
        let mut base = 0;
        for block in &mut blocks {
            let mut blk = [0u8; 64];
            blk.copy_from_slice(block);
            self.block(&blk, base, &mut open, &mut carry);
            base += 64;
        }
        let mut last = [0u8; 64];
        let rest = blocks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.block(&last, base, &mut open, &mut carry);
    }

    /// Adds the landmarks of one 64-byte block at `base`. `open` is the start of a digit
    /// run still open, `carry` 1 when the byte before the block is a digit.
    #[inline(always)]
    fn block(&mut self, block: &[u8; 64], base: usize, open: &mut usize, carry: &mut u64) {
        let (digits, mut seps) = masks(block);
        while seps != 0 {
            self.seps.push(base + seps.trailing_zeros() as usize);
            seps &= seps - 1;
        }
        let before = (digits << 1) | *carry;
        *carry = digits >> 63;
        // Each bit is the first byte of a run or the first byte after one.
        let mut events = digits ^ before;
        while events != 0 {
            let i = events.trailing_zeros();
            let p = base + i as usize;
            if digits >> i & 1 == 1 {
                *open = p;
            } else {
                self.runs.push((*open, p));
            }
            events &= events - 1;
        }
    }
}

/// Bit `i` of the first mask: byte `i` of `block` is an ASCII digit; of the second: it is
/// `-`, `_` or `:`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn masks(block: &[u8; 64]) -> (u64, u64) {
    // SAFETY: the only requirement of calling a `#[target_feature(enable = "sse2")]`
    // function is that the CPU supports SSE2, and this is only compiled when SSE2 is
    // enabled for the whole build (`cfg(target_feature = "sse2")`, part of the x86-64
    // baseline), so every CPU this binary may run on has it.
    unsafe { masks_sse2(block) }
}

/// [`masks`] with SSE2: sixteen bytes per compare. The intrinsics take no pointers; the
/// vectors are built from plain integers.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn masks_sse2(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8, _mm_sub_epi8,
    };
    let (mut digits, mut seps) = (0u64, 0u64);
    for (i, lane) in block.chunks_exact(16).enumerate() {
        let half = |k: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&lane[k..k + 8]);
            i64::from_le_bytes(w)
        };
        let v = _mm_set_epi64x(half(8), half(0));
        // `c - '0'` (wrapping) is at most 9 exactly for the digits.
        let d = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
        let is_sep = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8)),
            ),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8)),
        );
        // `movemask` sets the low 16 bits only.
        digits |= u64::from(_mm_movemask_epi8(is_digit) as u16) << (16 * i);
        seps |= u64::from(_mm_movemask_epi8(is_sep) as u16) << (16 * i);
    }
    (digits, seps)
}

/// Portable form of the SSE2 [`masks`].
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn masks(block: &[u8; 64]) -> (u64, u64) {
    masks_swar(block)
}

/// [`masks`] eight bytes at a time as SWAR bit masks (also compiled for the tests, which
/// compare it with the SSE2 form).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn masks_swar(block: &[u8; 64]) -> (u64, u64) {
    let (mut digits, mut seps) = (0u64, 0u64);
    for (i, chunk) in block.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        digits |= gather(digit_mask(x)) << (8 * i);
        seps |= gather(eq_mask(x, b'-') | eq_mask(x, b'_') | eq_mask(x, b':')) << (8 * i);
    }
    (digits, seps)
}

#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
const ONES: u64 = 0x0101_0101_0101_0101;
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that equals `c`.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn eq_mask(x: u64, c: u8) -> u64 {
    let y = x ^ (u64::from(c) * ONES);
    // High bit set where a byte of `y` is non-zero; no byte carries into the next.
    let nonzero = (((y & !HIGH) + !HIGH) | y) & HIGH;
    !nonzero & HIGH
}

/// Bit `i` set when the high bit of byte `i` (little-endian) of `m` is set.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn gather(m: u64) -> u64 {
    (m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The high bit of each byte of `x` that is an ASCII digit.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn digit_mask(x: u64) -> u64 {
    // With the high bits cleared no byte carries into the next: each sum's high bit says
    // whether the byte is >= 0x30, resp. >= 0x3A.
    let low = x & !HIGH;
    let ge_0 = low + (0x80 - 0x30) * ONES;
    let gt_9 = low + (0x80 - 0x3A) * ONES;
    ge_0 & !gt_9 & !x & HIGH
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

#[cfg(test)]
mod tests {
    use super::Landmarks;

    #[test]
    fn block_masks_match_a_byte_loop() {
        let naive = |b: &[u8; 64]| {
            let (mut d, mut s) = (0u64, 0u64);
            for (i, &c) in b.iter().enumerate() {
                d |= u64::from(c.is_ascii_digit()) << i;
                s |= u64::from(matches!(c, b'-' | b'_' | b':')) << i;
            }
            (d, s)
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut blocks: Vec<[u8; 64]> = (0..=255u8)
            .collect::<Vec<u8>>()
            .chunks_exact(64)
            .map(|c| {
                let mut b = [0u8; 64];
                b.copy_from_slice(c);
                b
            })
            .collect();
        for _ in 0..2000 {
            let mut b = [0u8; 64];
            for c in &mut b {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *c = seed as u8;
            }
            blocks.push(b);
        }
        for b in &blocks {
            assert_eq!(super::masks(b), naive(b), "{b:?}");
            assert_eq!(super::masks_swar(b), naive(b), "{b:?}");
        }
    }

    #[test]
    fn landmarks_match_a_byte_loop() {
        let naive = |b: &[u8]| {
            let mut v = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i].is_ascii_digit() {
                    let s = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    v.push((s, i));
                } else {
                    i += 1;
                }
            }
            v
        };
        // Every byte value, runs across chunk edges, runs of every length up to 20.
        let mut texts: Vec<Vec<u8>> = vec![(0..=255u8).collect(), Vec::new(), b"7".to_vec()];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200 {
            let mut t = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                t.push(match seed % 6 {
                    0 | 1 => b'0' + (seed >> 8) as u8 % 10,
                    2 => b'/',
                    3 => b"-_:"[(seed >> 8) as usize % 3],
                    4 => b':' ^ 0x80,
                    _ => (seed >> 16) as u8,
                });
            }
            texts.push(t);
        }
        for n in 0..20 {
            for pad in 0..9 {
                let mut t = vec![b'x'; pad];
                t.extend(std::iter::repeat_n(b'5', n));
                t.push(b'y');
                texts.push(t);
            }
        }
        for t in &texts {
            let l = Landmarks::of(t);
            assert_eq!(l.runs, naive(t), "{t:?}");
            let seps: Vec<usize> = (0..t.len())
                .filter(|&i| matches!(t[i], b'-' | b'_' | b':'))
                .collect();
            assert_eq!(l.seps, seps, "{t:?}");
        }
    }
}
