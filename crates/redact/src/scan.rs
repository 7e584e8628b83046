//! The shared cue pass: every detector's cue patterns searched together.
//!
//! The cue patterns are searched as one leftmost-first alternation (so overlapping cues of
//! different detectors are resolved the same way everywhere), but not by running the
//! alternation's automaton over every byte: its lazy DFA has so many states that its cache
//! thrashes and it re-determinises states on every text. Instead each part declares how
//! its matches can begin ([`Start`]): most begin with a keyword, whose literal prefixes
//! are extracted from the pattern itself and found with one table-driven pass; the few
//! structural ones (house numbers, street suffixes, `Name Surname here`) are found from a
//! cheap anchor. The alternation is then run *anchored* at those candidate starts only,
//! in text order, skipping starts inside the previous match. As long as the candidates
//! include every position where some part can match, this yields exactly the matches an
//! unanchored `find_iter` over the alternation would, in a fraction of the time.

use regex_automata::meta;
use regex_automata::{Anchored, Input, PatternID};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A candidate start and the bits of the parts that may begin there.
type Cand = (usize, u64);

/// The candidate bit of the token pattern's prefixes (see [`Shared::new`]); cue parts use
/// the bits below it.
const TOKEN: u64 = 1 << 63;

/// How the matches of one cue pattern can begin; see the module documentation.
#[derive(Clone, Debug)]
pub(crate) enum Start {
    /// Every match begins with a literal prefix, extracted from the pattern.
    Prefix,
    /// A house number: a run of ASCII digits at a word boundary, then (after an optional
    /// letter, range or comma) whitespace and a word as [`House`] describes.
    HouseNumber(House),
    /// Words ending in one of these suffixes (case-insensitive; `.` literal) followed by
    /// whitespace and a digit; the match begins somewhere in the run of words before.
    StreetSuffix(Vec<String>),
    /// `Words[,] <house number>[letter], <4-5 digit postcode> `: the match begins at a
    /// capital in the run of words before the number.
    NumberPostcode,
    /// Capitalised words followed by one of these literals (case-sensitive): the match
    /// begins at a capital in the run of words before it.
    Tail(Vec<String>),
}

/// What may follow the number of a [`Start::HouseNumber`] part (after the whitespace).
#[derive(Clone, Debug)]
pub(crate) struct House {
    /// Longest digit run the part accepts.
    pub max_digits: usize,
    /// A capitalised word or an ordinal (`5 3rd Ave`), then whitespace and another such
    /// word or a (capitalised) street suffix.
    pub capitals: bool,
    /// A word starting with one of these (case-insensitive).
    pub words: Vec<String>,
    /// One of these capitals alone, then `,` or whitespace (`12 B, rue`).
    pub letters: Vec<char>,
}

/// A [`Start::HouseNumber`] part prepared for [`house_number_follows`].
struct HouseCheck {
    /// The part's bit.
    bit: u64,
    /// The part's [`House`], `words` lower-cased.
    house: House,
    /// One bit per pair of ASCII bytes that begins one of `words` (128 × first byte +
    /// second byte); `None` when some word is shorter than two bytes.
    pairs: Option<Box<[u64; 256]>>,
}

impl HouseCheck {
    fn new(bit: u64, house: House) -> HouseCheck {
        let mut pairs = Some(Box::new([0u64; 256]));
        for w in &house.words {
            match *w.as_bytes() {
                [a, b, ..] => {
                    if a.is_ascii()
                        && b.is_ascii()
                        && let Some(p) = pairs.as_mut()
                    {
                        let k = usize::from(a) * 128 + usize::from(b);
                        p[k / 64] |= 1 << (k % 64);
                    }
                }
                _ => pairs = None,
            }
        }
        HouseCheck { bit, house, pairs }
    }

    /// Whether a word at the start of `after` may begin with one of `words`, ASCII
    /// case-insensitively: `false` only when its first two bytes are ASCII and no word
    /// begins with them lower-cased (a word whose first two bytes are not both ASCII
    /// cannot match such a text).
    fn may_start(&self, after: &str) -> bool {
        let Some(pairs) = &self.pairs else {
            return true;
        };
        match *after.as_bytes() {
            [a, b, ..] if a.is_ascii() && b.is_ascii() => {
                let k =
                    usize::from(a.to_ascii_lowercase()) * 128 + usize::from(b.to_ascii_lowercase());
                (pairs[k / 64] >> (k % 64)) & 1 != 0
            }
            [a] if a.is_ascii() => false,
            _ => true,
        }
    }
}

/// A family of cue patterns owned by one detector. Its parts are searched together with
/// every other family in a single pass (see [`Shared`]); the owner receives its matches as
/// [`Hit`]s carrying the index of the part that matched.
pub(crate) struct Alt {
    pub parts: Vec<(String, Start)>,
}

impl Alt {
    /// Parts whose matches all begin with a literal.
    pub(crate) fn new(parts: &[&str]) -> Alt {
        Alt {
            parts: parts
                .iter()
                .map(|p| ((*p).to_owned(), Start::Prefix))
                .collect(),
        }
    }

    pub(crate) fn with_starts(parts: Vec<(String, Start)>) -> Alt {
        Alt { parts }
    }
}

/// Buffers of [`Shared::scan_into`], kept from one text to the next.
#[derive(Default)]
pub(crate) struct ScanBufs {
    cands: Vec<Cand>,
    /// The hits of every family, indexed by family.
    pub hits: Vec<Vec<Hit>>,
}

impl ScanBufs {
    /// Drops buffers that a huge text left large, so a thread does not keep them.
    pub(crate) fn trim(&mut self, max: usize) {
        if self.cands.capacity() > max {
            self.cands = Vec::new();
        }
        for h in &mut self.hits {
            if h.capacity() > max {
                *h = Vec::new();
            }
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

/// Longest extracted prefix: eight bytes are compared with one word (see [`PackedLit`]),
/// and the longer a literal, the fewer failed anchored searches start at it.
const MAX_PREFIX: usize = 5;
/// Beyond this many alternatives a part is treated as having no usable prefix.
const MAX_PREFIXES: usize = 5000;
/// Case-folded classes larger than this end a prefix.
const MAX_CLASS: usize = 16;
/// How far back a structural anchor may reach for the start of its run of words.
const MAX_RUN: usize = 256;

/// A set of bytes, one bit each.
type ByteSet = [u64; 4];

/// Every byte: no constraint.
const ALL_BYTES: ByteSet = [u64::MAX; 4];

fn set_add(s: &mut ByteSet, c: u8) {
    s[usize::from(c >> 6)] |= 1 << (c & 63);
}

fn set_union(s: &mut ByteSet, o: &ByteSet) {
    for (a, b) in s.iter_mut().zip(o) {
        *a |= b;
    }
}

/// A literal prefix under construction. `exact` means the pattern continues after it (it
/// can still be extended); `boundary` that an ASCII word boundary precedes it.
#[derive(Clone)]
struct Lit {
    bytes: Vec<u8>,
    exact: bool,
    boundary: bool,
    /// Bit of the part (pattern id) the literal starts.
    part: u64,
    /// For an inexact literal, a superset of the bytes that can follow it in a match
    /// ([`ALL_BYTES`] when unknown); a match needs one of them right after the literal.
    /// [`ALL_BYTES`] for exact literals, since what follows them is not known yet.
    next: ByteSet,
}

impl Lit {
    fn empty(boundary: bool) -> Lit {
        Lit {
            bytes: Vec::new(),
            exact: true,
            boundary,
            part: 0,
            next: ALL_BYTES,
        }
    }
}

/// A superset of the bytes a match of `h` can begin with, and whether `h` can match the
/// empty string (then what follows `h` may come first). Both cases of ASCII letters are
/// included, and every UTF-8 lead byte for a class with a non-ASCII member.
fn first_bytes(h: &Hir) -> (ByteSet, bool) {
    let mut set = [0u64; 4];
    let add_cases = |set: &mut ByteSet, c: u8| {
        set_add(set, c.to_ascii_lowercase());
        set_add(set, c.to_ascii_uppercase());
    };
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => (set, true),
        HirKind::Literal(l) => match l.0.first() {
            Some(&c) => {
                add_cases(&mut set, c);
                (set, false)
            }
            None => (set, true),
        },
        HirKind::Class(Class::Unicode(u)) => {
            for r in u.ranges() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                for c in lo..=hi.min(0x7F) {
                    add_cases(&mut set, c as u8);
                }
                if hi > 0x7F {
                    for c in 0xC0..=0xFF {
                        set_add(&mut set, c);
                    }
                }
            }
            (set, false)
        }
        HirKind::Class(Class::Bytes(by)) => {
            for r in by.ranges() {
                for c in r.start()..=r.end() {
                    add_cases(&mut set, c);
                }
            }
            (set, false)
        }
        HirKind::Repetition(r) => {
            let (s, nullable) = first_bytes(&r.sub);
            (s, nullable || r.min == 0)
        }
        HirKind::Capture(c) => first_bytes(&c.sub),
        HirKind::Concat(xs) => first_bytes_seq(xs),
        HirKind::Alternation(xs) => {
            let mut nullable = false;
            for x in xs {
                let (s, n) = first_bytes(x);
                set_union(&mut set, &s);
                nullable |= n;
            }
            (set, nullable)
        }
    }
}

/// [`first_bytes`] of a sequence.
fn first_bytes_seq(xs: &[Hir]) -> (ByteSet, bool) {
    let mut set = [0u64; 4];
    for x in xs {
        let (s, nullable) = first_bytes(x);
        set_union(&mut set, &s);
        if !nullable {
            return (set, false);
        }
    }
    (set, true)
}

/// The literal prefixes (ASCII lower-cased) that every match of `h` starts with, or `None`
/// when some match can start with an arbitrary character.
fn prefixes(h: &Hir) -> Option<Vec<Lit>> {
    let out = match h.kind() {
        HirKind::Empty => vec![Lit::empty(false)],
        HirKind::Literal(l) => vec![Lit {
            bytes: l.0.to_ascii_lowercase(),
            exact: true,
            boundary: false,
            part: 0,
            next: ALL_BYTES,
        }],
        HirKind::Class(c) => {
            let mut chars: Vec<Vec<u8>> = Vec::new();
            match c {
                Class::Unicode(u) => {
                    for r in u.ranges() {
                        if u32::from(r.end()) - u32::from(r.start()) > MAX_CLASS as u32 {
                            return None;
                        }
                        for ch in r.start()..=r.end() {
                            let mut buf = [0u8; 4];
                            chars.push(ch.encode_utf8(&mut buf).as_bytes().to_ascii_lowercase());
                        }
                    }
                }
                Class::Bytes(by) => {
                    for r in by.ranges() {
                        if r.end() - r.start() > MAX_CLASS as u8 {
                            return None;
                        }
                        chars.extend((r.start()..=r.end()).map(|c| vec![c.to_ascii_lowercase()]));
                    }
                }
            }
            chars.sort_unstable();
            chars.dedup();
            if chars.len() > MAX_CLASS {
                return None;
            }
            chars
                .into_iter()
                .map(|bytes| Lit {
                    bytes,
                    exact: true,
                    boundary: false,
                    part: 0,
                    next: ALL_BYTES,
                })
                .collect()
        }
        HirKind::Look(l) => vec![Lit::empty(matches!(l, Look::WordAscii))],
        HirKind::Repetition(r) => {
            let sub = prefixes(&r.sub)?;
            let once = r.min <= 1 && r.max == Some(1);
            let mut out: Vec<Lit> = sub
                .into_iter()
                .map(|l| Lit {
                    exact: l.exact && once,
                    // Once more of `sub`, or what follows: not known here.
                    next: if l.exact { ALL_BYTES } else { l.next },
                    ..l
                })
                .collect();
            if r.min == 0 {
                out.push(Lit::empty(false));
            }
            out
        }
        HirKind::Capture(c) => prefixes(&c.sub)?,
        HirKind::Concat(xs) => {
            let mut cur = vec![Lit::empty(false)];
            for (i, x) in xs.iter().enumerate() {
                if cur.iter().all(|l| !l.exact) {
                    break;
                }
                let Some(next) = prefixes(x) else {
                    // What follows the literals still exact is the rest of this sequence,
                    // unless it can be empty (then it is not known here).
                    let (first, nullable) = first_bytes_seq(&xs[i..]);
                    let follow = if nullable { ALL_BYTES } else { first };
                    for l in cur.iter_mut().filter(|l| l.exact) {
                        l.exact = false;
                        l.next = follow;
                    }
                    break;
                };
                let mut joined = Vec::with_capacity(cur.len() * next.len());
                for l in &cur {
                    if !l.exact {
                        joined.push(l.clone());
                        continue;
                    }
                    for n in &next {
                        let mut bytes = l.bytes.clone();
                        bytes.extend_from_slice(&n.bytes);
                        joined.push(Lit {
                            boundary: l.boundary || (l.bytes.is_empty() && n.boundary),
                            exact: n.exact,
                            bytes,
                            part: 0,
                            next: n.next,
                        });
                    }
                }
                // A literal cut short is followed by its next byte (either case: the
                // bytes are lower-cased).
                for l in &mut joined {
                    if let Some(&c) = l.bytes.get(MAX_PREFIX) {
                        let mut follow = [0u64; 4];
                        set_add(&mut follow, c.to_ascii_lowercase());
                        set_add(&mut follow, c.to_ascii_uppercase());
                        l.next = follow;
                        l.bytes.truncate(MAX_PREFIX);
                        l.exact = false;
                    }
                }
                dedup(&mut joined);
                if joined.len() > MAX_PREFIXES {
                    return None;
                }
                cur = joined;
            }
            cur
        }
        HirKind::Alternation(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(prefixes(x)?);
            }
            dedup(&mut out);
            out
        }
    };
    if out.len() > MAX_PREFIXES {
        return None;
    }
    Some(out)
}

/// Merges literals with equal bytes, exactness and part; a boundary is only required when
/// every copy required it, and any byte that may follow one copy may follow the merged one.
fn dedup(v: &mut Vec<Lit>) {
    v.sort_by(|a, b| (&a.bytes, a.exact, a.part).cmp(&(&b.bytes, b.exact, b.part)));
    v.dedup_by(|later, kept| {
        if later.bytes == kept.bytes && later.exact == kept.exact && later.part == kept.part {
            kept.boundary &= later.boundary;
            set_union(&mut kept.next, &later.next);
            true
        } else {
            false
        }
    });
}

/// All cue families in one leftmost-first alternation, searched anchored at candidate
/// starts (see the module documentation).
pub(crate) struct Shared {
    all: meta::Regex,
    /// Literal prefixes of the [`Start::Prefix`] parts.
    prefixes: PrefixTable,
    /// Part bits of each structural start kind (0: none).
    house_number: u64,
    number_postcode: u64,
    street_suffix: u64,
    tail: u64,
    /// Each [`Start::HouseNumber`] part and what may follow its number.
    houses: Vec<HouseCheck>,
    /// The longest digit run any of them accepts.
    house_digits: usize,
    /// Lower-cased street suffixes, chars reversed for matching backwards; sorted, so
    /// those ending in one char are adjacent, and without the empty one.
    street_suffixes: Vec<Vec<char>>,
    /// Whether one of the street suffixes is empty (every word then ends with one).
    empty_suffix: bool,
    /// Longest street suffix, in chars.
    suffix_chars: usize,

    /// (family, index within family) for each part, in alternation order.
    owner: Vec<(usize, usize)>,
    families: usize,
    /// The source of every part, for profiling them one by one.
    sources: Vec<String>,
}

impl Shared {
    /// `tokens` is a pattern that is not a cue (nothing is searched for it here), but
    /// whose literal prefixes are filed in the same table, so that [`Shared::scan`] also
    /// reports where its matches can start.
    pub(crate) fn new(families: &[&Alt], tokens: &str) -> Shared {
        let mut sources = Vec::new();
        let mut owner = Vec::new();
        let mut lits: Vec<Lit> = Vec::new();
        let (mut house_number, mut number_postcode, mut street_suffix, mut tail) = (0, 0, 0, 0);
        let mut houses: Vec<HouseCheck> = Vec::new();
        let mut street_suffixes = Vec::new();
        for (f, alt) in families.iter().enumerate() {
            for (k, (p, start)) in alt.parts.iter().enumerate() {
                let p = &crate::util::ascii_digits(p);
                let bit = 1u64 << sources.len().min(63);
                sources.push(p.clone());
                owner.push((f, k));
                match start {
                    Start::Prefix => {
                        let found = regex_syntax::parse(p)
                            .ok()
                            .and_then(|h| prefixes(&h))
                            .filter(|l| l.iter().all(|l| !l.bytes.is_empty()));
                        match found {
                            Some(l) => lits.extend(l.into_iter().map(|l| Lit { part: bit, ..l })),
                            None => panic!(
                                "glassbox-redact: cue pattern {f}.{k} has no literal prefix; give it another Start"
                            ),
                        }
                    }
                    Start::HouseNumber(h) => {
                        house_number |= bit;
                        let words = h.words.iter().map(|w| w.to_lowercase()).collect();
                        houses.push(HouseCheck::new(bit, House { words, ..h.clone() }));
                    }
                    Start::NumberPostcode => number_postcode |= bit,
                    Start::StreetSuffix(_) => street_suffix |= bit,
                    // The tail literal is filed like a prefix; `scan` turns its hits into
                    // the capitals of the words before it.
                    Start::Tail(t) => {
                        tail |= bit;
                        lits.extend(t.iter().map(|w| Lit {
                            bytes: w.as_bytes().to_ascii_lowercase(),
                            exact: true,
                            boundary: false,
                            part: bit,
                            next: ALL_BYTES,
                        }));
                    }
                }
                if let Start::StreetSuffix(s) = start {
                    street_suffixes.extend(
                        s.iter()
                            .map(|w| w.chars().rev().flat_map(char::to_lowercase).collect()),
                    );
                }
            }
        }
        assert!(
            sources.len() < 64,
            "glassbox-redact: at most 63 cue patterns fit the candidate masks"
        );
        let token_prefixes = regex_syntax::parse(&crate::util::ascii_digits(tokens))
            .ok()
            .and_then(|h| prefixes(&h))
            .filter(|l| l.iter().all(|l| !l.bytes.is_empty()));
        match token_prefixes {
            Some(l) => lits.extend(l.into_iter().map(|l| Lit { part: TOKEN, ..l })),
            None => panic!("glassbox-redact: the token pattern has no literal prefix"),
        }
        for l in &mut lits {
            l.exact = true;
        }
        dedup(&mut lits);
        let all = match meta::Regex::builder()
            .configure(
                meta::Regex::config()
                    .match_kind(regex_automata::MatchKind::LeftmostFirst)
                    .hybrid_cache_capacity(64 << 20)
                    .nfa_size_limit(Some(64 << 20)),
            )
            .build_many(&sources)
        {
            Ok(r) => r,
            Err(e) => panic!("glassbox-redact: invalid built-in cue pattern: {e}"),
        };
        Shared {
            all,
            prefixes: PrefixTable::new(&lits),
            house_number,
            house_digits: houses.iter().map(|h| h.house.max_digits).max().unwrap_or(0),
            houses,
            number_postcode,
            street_suffix,
            tail,
            suffix_chars: street_suffixes.iter().map(Vec::len).max().unwrap_or(0),
            empty_suffix: street_suffixes.iter().any(Vec::is_empty),
            street_suffixes: {
                let mut v: Vec<Vec<char>> = street_suffixes
                    .into_iter()
                    .filter(|s: &Vec<char>| !s.is_empty())
                    .collect();
                v.sort();
                v
            },

            owner,
            families: families.len(),
            sources,
        }
    }

    /// The hits of every family, indexed by family. `runs` are the text's digit runs
    /// ([`crate::util::Landmarks`]).
    ///
    /// Where a match of the token pattern (see [`Shared::new`]) can start is appended to
    /// `token_starts`, in text order.
    #[cfg(test)]
    pub(crate) fn scan(
        &self,
        t: &str,
        runs: &[(usize, usize)],
        token_starts: &mut Vec<usize>,
    ) -> Vec<Vec<Hit>> {
        let mut bufs = ScanBufs::default();
        self.scan_into(t, runs, token_starts, &mut bufs);
        bufs.hits
    }

    /// [`Shared::scan`] into reused buffers: the hits are left in `bufs.hits`.
    pub(crate) fn scan_into(
        &self,
        t: &str,
        runs: &[(usize, usize)],
        token_starts: &mut Vec<usize>,
        bufs: &mut ScanBufs,
    ) {
        let b = t.as_bytes();
        let cands = &mut bufs.cands;
        cands.clear();
        self.prefixes.find(b, cands);
        for c in cands.iter_mut() {
            if c.1 & TOKEN != 0 {
                token_starts.push(c.0);
                c.1 &= !TOKEN;
            }
        }
        self.tail_candidates(t, cands);
        self.structural_candidates(t, runs, cands);
        cands.sort_unstable_by_key(|c| c.0);
        let out = &mut bufs.hits;
        out.resize_with(self.families, Vec::new);
        out.iter_mut().for_each(Vec::clear);
        let mut cursor = 0;
        let mut k = 0;
        while k < cands.len() {
            let p = cands[k].0;
            let mut parts = 0u64;
            while k < cands.len() && cands[k].0 == p {
                parts |= cands[k].1;
                k += 1;
            }
            if p < cursor || !t.is_char_boundary(p) {
                continue;
            }
            // Anchored at `p`, the leftmost-first alternation returns the match of the
            // first part (in order) that matches there; only the parts whose start was
            // seen at `p` can, and searching each alone keeps the automaton walk short.
            while parts != 0 {
                let pid = parts.trailing_zeros() as usize;
                parts &= parts - 1;
                let Some(id) = PatternID::new(pid).ok() else {
                    continue;
                };
                let input = Input::new(t).range(p..).anchored(Anchored::Pattern(id));
                if let Some(hm) = self.all.search_half(&input)
                    && hm.offset() > p
                {
                    let (f, kind) = self.owner[pid];
                    out[f].push(Hit {
                        start: p,
                        end: hm.offset(),
                        kind,
                    });
                    cursor = hm.offset();
                    break;
                }
            }
        }
    }

    /// Replaces the hits of [`Start::Tail`] literals by the capitals before them.
    fn tail_candidates(&self, t: &str, cands: &mut Vec<Cand>) {
        if self.tail == 0 {
            return;
        }
        let n = cands.len();
        for k in 0..n {
            let (p, parts) = cands[k];
            if parts & self.tail != 0 {
                cands[k].1 &= !self.tail;
                run_before(t, p, false, self.tail, cands);
            }
        }
    }

    /// Candidate starts of the parts that do not begin with a literal.
    fn structural_candidates(&self, t: &str, runs: &[(usize, usize)], cands: &mut Vec<Cand>) {
        let b = t.as_bytes();
        if self.house_number | self.number_postcode | self.street_suffix == 0 {
            return;
        }
        for &(d, e) in runs {
            let boundary = at_boundary(b, d);
            if self.house_number != 0 && boundary && e - d <= self.house_digits {
                let parts = house_number_follows(t, e, e - d, &self.houses);
                if parts != 0 {
                    cands.push((d, parts));
                }
            }
            if self.number_postcode != 0 && e - d <= 4 && d > 0 && b[d - 1] == b' ' {
                let mut k = e;
                if k < b.len() && b[k].is_ascii_alphabetic() {
                    k += 1;
                }
                if b[k..].starts_with(b", ") {
                    let pc = b[k + 2..].iter().take_while(|c| c.is_ascii_digit()).count();
                    if (4..=5).contains(&pc) && b.get(k + 2 + pc) == Some(&b' ') {
                        let mut w = d - 1;
                        if w > 0 && b[w - 1] == b',' {
                            w -= 1;
                        }
                        run_before(t, w, false, self.number_postcode, cands);
                    }
                }
            }
            // Whitespace, then the word that must end with a street suffix; most digits
            // follow punctuation, which one byte rules out.
            if self.street_suffix != 0
                && d > 0
                && (b[d - 1] >= 0x80 || matches!(b[d - 1], b'\t'..=b'\r' | b' '))
            {
                // The start of the whitespace before the digits: ASCII whitespace byte by
                // byte, and through chars only where a non-ASCII byte precedes it (it may
                // be Unicode whitespace).
                let mut w = d;
                while w > 0 && matches!(b[w - 1], b'\t'..=b'\r' | b' ') {
                    w -= 1;
                }
                let ws = if w > 0 && b[w - 1] >= 0x80 {
                    t[..d]
                        .char_indices()
                        .rev()
                        .take_while(|(_, c)| c.is_whitespace())
                        .last()
                        .map(|(p, _)| p)
                } else {
                    Some(w).filter(|&w| w < d)
                };
                if let Some(w) = ws
                    && self.ends_with_suffix(&t[..w])
                {
                    run_before(t, w, true, self.street_suffix, cands);
                }
            }
        }
    }

    fn ends_with_suffix(&self, t: &str) -> bool {
        // Most digits follow ordinary words: fold the word's tail once, then compare.
        let mut tail = ['\0'; 16];
        let limit = self.suffix_chars.min(tail.len());
        let mut n = 0;
        // ASCII words (nearly all) are folded byte by byte; the first non-ASCII byte
        // sends the word through the char-by-char loop below instead.
        let bytes = t.as_bytes();
        let mut ascii = true;
        while n < limit {
            let Some(&c) = bytes.len().checked_sub(n + 1).and_then(|i| bytes.get(i)) else {
                break;
            };
            if !c.is_ascii() {
                ascii = false;
                break;
            }
            if !(c.is_ascii_alphabetic() || c == b'.') {
                break;
            }
            tail[n] = char::from(c.to_ascii_lowercase());
            n += 1;
        }
        if !ascii {
            n = 0;
            for c in t.chars().rev() {
                if n >= limit || !(c.is_alphabetic() || c == '.') {
                    break;
                }
                tail[n] = c.to_lowercase().next().map_or(c, fold);
                n += 1;
            }
        }
        let tail = &tail[..n];
        // Digits after digits (phone groups, dates) leave no word at all.
        if tail.is_empty() {
            return false;
        }
        if self.empty_suffix {
            return true;
        }
        // Only the suffixes ending in the word's last char can match: they are adjacent
        // in the sorted list.
        let sfx = &self.street_suffixes;
        let first = tail[0];
        let lo = sfx.partition_point(|s| s[0] < first);
        let hi = lo + sfx[lo..].partition_point(|s| s[0] == first);
        sfx[lo..hi]
            .iter()
            .any(|sfx| tail.len() >= sfx.len() && tail[..sfx.len()] == sfx[..])
    }
}

/// The bits of the house-number parts that can continue after the digit run ending at
/// `e` (`digits` long): an optional letter suffix (`221B`, `12bis`), range (`12-14`) or
/// comma, whitespace, then a word that part accepts ([`House`]). Numbers followed by
/// another number, a unit-less punctuation or nothing are not house numbers, and skipping
/// them (and the parts whose word does not follow) keeps the anchored searches few.
#[inline(always)]
fn house_number_follows(t: &str, e: usize, digits: usize, houses: &[HouseCheck]) -> u64 {
    let b = t.as_bytes();
    let mut k = e;
    let letters = b[k..]
        .iter()
        .take(4)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    k += letters.min(3);
    if b.get(k) == Some(&b'-') {
        k += 1;
        k += b[k..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    if b.get(k) == Some(&b',') {
        k += 1;
    }
    // Most numbers are followed by punctuation: an ASCII byte decides without decoding.
    match b.get(k) {
        None => return 0,
        Some(&c) if c.is_ascii() && !matches!(c, b'\t'..=b'\r' | b' ') => return 0,
        _ => {}
    }
    let mut rest = t[k..].chars();
    if !rest.next().is_some_and(char::is_whitespace) {
        return 0;
    }
    house_parts(rest.as_str().trim_start(), digits, houses)
}

/// [`house_number_follows`] once whitespace is seen: the parts that accept the word at the
/// start of `after`. Out of line, since few numbers get this far.
#[inline(never)]
fn house_parts(after: &str, digits: usize, houses: &[HouseCheck]) -> u64 {
    let Some(c) = after.chars().next() else {
        return 0;
    };
    let mut parts = 0;
    // Whether a second capitalised word (or ordinal) follows; computed at most once.
    let mut second = None;
    let mut capitals = || *second.get_or_insert_with(|| second_word_capital(after));
    for check in houses {
        let h = &check.house;
        if digits > h.max_digits {
            continue;
        }
        let ok = if c.is_uppercase() {
            (h.capitals && capitals())
                || lone_letter(after, c, &h.letters)
                || (check.may_start(after) && capital_word_starts(after, &h.words))
        } else if c.is_alphabetic() {
            check.may_start(after) && word_starts(after, c, &h.words)
        } else if c.is_ascii_digit() {
            h.capitals
                && {
                    let r = after.trim_start_matches(|c: char| c.is_ascii_digit());
                    ["st", "nd", "rd", "th"].iter().any(|o| r.starts_with(o))
                }
                && capitals()
        } else {
            false
        };
        if ok {
            parts |= check.bit;
        }
    }
    parts
}

/// Whether the word at the start of `after` (a capitalised word or an ordinal) is followed
/// by whitespace and a char that can begin another such word or a street suffix: an
/// upper-case letter, an ASCII digit, or (not decided here) any non-ASCII char. The word
/// is taken as the run of chars that can be in one (ASCII letters and digits, `'`, `.`,
/// `-`, and every non-ASCII char but whitespace): it must end where whitespace begins.
fn second_word_capital(after: &str) -> bool {
    let in_word = |x: char| {
        if x.is_ascii() {
            x.is_ascii_alphanumeric() || matches!(x, '\'' | '.' | '-')
        } else {
            !x.is_whitespace()
        }
    };
    let mut chars = after.chars();
    let end = loop {
        match chars.next() {
            Some(x) if in_word(x) => {}
            other => break other,
        }
    };
    if !end.is_some_and(char::is_whitespace) {
        return false;
    }
    chars
        .as_str()
        .trim_start()
        .chars()
        .next()
        .is_some_and(|x| x.is_uppercase() || x.is_ascii_digit() || !x.is_ascii())
}

/// Whether `after` begins with `c`, one of `letters`, alone: then `,` or whitespace.
fn lone_letter(after: &str, c: char, letters: &[char]) -> bool {
    if !letters.contains(&c) {
        return false;
    }
    let mut rest = after.chars();
    rest.next();
    rest.next().is_some_and(|n| n == ',' || n.is_whitespace())
}

/// Whether the capitalised word at the start of `after` may begin with one of `words`
/// (lower case) case-insensitively. ASCII letters are compared folded, byte by byte; from
/// the first non-ASCII byte of the text on, the word is taken to match, since the case
/// folding of a non-ASCII char may reach a char of the word (`K` for k).
fn capital_word_starts(after: &str, words: &[String]) -> bool {
    let text = after.as_bytes();
    words.iter().any(|x| {
        for (i, &xc) in x.as_bytes().iter().enumerate() {
            match text.get(i) {
                Some(&c) if c.is_ascii() => {
                    if c.to_ascii_lowercase() != xc {
                        return false;
                    }
                }
                Some(_) => return true,
                None => return false,
            }
        }
        true
    })
}

/// Whether the lower-case word at the start of `after` (first char `c`), lower-cased (at
/// most 24 chars), starts with one of `words`. Out of line, so that its buffer is only
/// zeroed for the few words that get this far.
#[inline(never)]
fn word_starts(after: &str, c: char, words: &[String]) -> bool {
    // Most numbers are followed by some lower-case word and most of those words match
    // nothing, so the word is folded once onto the stack, not into a String. Most such
    // words share no first letter with any of `words`.
    let first = c.to_lowercase().next().unwrap_or(c);
    if !words
        .iter()
        .any(|x| x.chars().next().is_none_or(|xc| xc == first))
    {
        return false;
    }
    let mut folded = ['\0'; 72];
    let mut n = 0;
    let word = after.chars().take(24).take_while(|c| !c.is_whitespace());
    for c in word.flat_map(char::to_lowercase) {
        if let Some(slot) = folded.get_mut(n) {
            *slot = c;
            n += 1;
        }
    }
    let folded = &folded[..n];
    words.iter().any(|x| {
        let mut w = folded.iter();
        x.chars().all(|xc| w.next() == Some(&xc))
    })
}

/// Simple case folding beyond `to_lowercase`: the long s folds with `s`.
fn fold(c: char) -> char {
    if c == 'ſ' { 's' } else { c }
}

/// Folded 3-byte keys, five bits per byte: ASCII letters by letter (case-insensitive),
/// then one value each for the other word bytes (digits, `_`), the space, `(`, all other
/// ASCII, UTF-8 continuation bytes and UTF-8 lead bytes. The space and `(` are apart so
/// that the `Name Surname ("…` tails do not collide with JSON's runs of punctuation.
const KEY_BITS: usize = 5;
const KEY_BASE: usize = 1 << KEY_BITS;
const KEYS: usize = KEY_BASE * KEY_BASE * KEY_BASE;
const WORD_OTHER: u8 = 26;
const OUT_OF_TEXT: u8 = 29;

const fn fold_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = match c as u8 {
            b'a'..=b'z' => c as u8 - b'a',
            b'A'..=b'Z' => c as u8 - b'A',
            // The other ASCII word bytes, as `(?-u:\b)` sees them.
            b'0'..=b'9' | b'_' => WORD_OTHER,
            b' ' => 27,
            b'(' => 28,
            0..=0x7F => OUT_OF_TEXT,
            0x80..=0xBF => 30,
            _ => 31,
        };
        c += 1;
    }
    t
}
static FOLD: [u8; 256] = fold_table();

/// Finds where any literal prefix occurs, ASCII case-insensitively. A table over the
/// folded first three bytes rejects almost every position with one L1-resident lookup;
/// the few survivors are compared with the literals filed under their key. This beats an
/// overlapping Aho-Corasick pass over hundreds of literals, whose automaton does not stay
/// in cache.
struct PrefixTable {
    /// Two bits per key: bit 0 = a literal without a boundary requirement, bit 1 = one
    /// with. Packed so the table (8 KiB) stays in L1 next to the text.
    flags: Box<[u64; KEYS / 32]>,
    /// One bit per key: some literal is filed under it. Twice over (8 KiB), for a key
    /// whose unused 16th bit is set (see [`PrefixTable::find`]).
    any: Box<[u64; 2 * KEYS / 64]>,
    /// Per key, the range of `entries` holding its literals.
    index: Vec<u32>,
    entries: Vec<PackedLit>,
    /// The bytes of every literal, by [`PackedLit::id`].
    bytes: Vec<Vec<u8>>,
    /// The sets of bytes that may follow a literal, by [`PackedLit::next`]; the first
    /// (unused) is [`ALL_BYTES`].
    follows: Vec<ByteSet>,
}

/// A literal prepared for comparison with eight text bytes at once: the text word, with
/// `fold` or-ed in (0x20 under letters, so capitals compare as lower case), masked to the
/// literal's length, must equal `value`. Longer literals, and positions near the end of
/// the text, are compared byte by byte with the literal's bytes (`PrefixTable::bytes`).
/// Small and stored once per key it is filed under, so the literals of a key are read
/// from one or two cache lines.
#[derive(Clone, Copy)]
struct PackedLit {
    value: u64,
    fold: u64,
    part: u64,
    /// Index of the literal's bytes in [`PrefixTable::bytes`].
    id: u16,
    /// Length in bytes; 0 for literals longer than eight bytes.
    len: u8,
    boundary: bool,
    /// Index in [`PrefixTable::follows`] of the bytes that may follow the literal in a
    /// match (see [`Lit::next`]); 0: any byte, or the end of the text.
    next: u16,
}

impl PackedLit {
    fn new(l: &Lit, id: u16, next: u16) -> PackedLit {
        let (mut value, mut fold) = ([0u8; 8], [0u8; 8]);
        for (i, &c) in l.bytes.iter().take(8).enumerate() {
            value[i] = c;
            // Literal bytes are lower-cased already.
            fold[i] = if c.is_ascii_lowercase() { 0x20 } else { 0 };
        }
        PackedLit {
            value: u64::from_le_bytes(value),
            fold: u64::from_le_bytes(fold),
            part: l.part,
            id,
            len: if (1..=8).contains(&l.bytes.len()) {
                l.bytes.len() as u8
            } else {
                0
            },
            boundary: l.boundary,
            next,
        }
    }

    #[inline(always)]
    fn matches(&self, b: &[u8], p: usize, bytes: &[Vec<u8>]) -> bool {
        match b.get(p..p + 8) {
            Some(w) if self.len != 0 => {
                let mut word = [0u8; 8];
                word.copy_from_slice(w);
                let mask = u64::MAX >> (64 - 8 * u32::from(self.len));
                (u64::from_le_bytes(word) | self.fold) & mask == self.value
            }
            _ => {
                let lit = bytes
                    .get(usize::from(self.id))
                    .map_or(&[][..], Vec::as_slice);
                b.len() - p >= lit.len() && b[p..p + lit.len()].eq_ignore_ascii_case(lit)
            }
        }
    }
}

impl PrefixTable {
    fn new(lits: &[Lit]) -> PrefixTable {
        let mut per_key: Vec<Vec<u32>> = vec![Vec::new(); KEYS];
        let mut flags = Box::new([0u64; KEYS / 32]);
        for (id, l) in lits.iter().enumerate() {
            // A literal shorter than the key is filed under every key it prefixes.
            let mut keys = vec![0usize];
            for i in 0..3 {
                keys = match l.bytes.get(i) {
                    Some(&c) => keys
                        .iter()
                        .map(|k| (k << KEY_BITS) | usize::from(FOLD[usize::from(c)]))
                        .collect(),
                    None => keys
                        .iter()
                        .flat_map(|k| (0..KEY_BASE).map(move |x| (k << KEY_BITS) | x))
                        .collect(),
                };
            }
            for k in keys {
                per_key[k].push(id as u32);
                let bit: u64 = if l.boundary { 2 } else { 1 };
                flags[k / 32] |= bit << (2 * (k % 32));
            }
        }
        assert!(
            lits.len() <= usize::from(u16::MAX),
            "glassbox-redact: too many cue literals"
        );
        let mut follows = vec![ALL_BYTES];
        let packed: Vec<PackedLit> = lits
            .iter()
            .enumerate()
            .map(|(id, l)| {
                let next = if l.next == ALL_BYTES {
                    0
                } else {
                    match follows.iter().position(|f| *f == l.next) {
                        Some(k) => k,
                        None => {
                            follows.push(l.next);
                            follows.len() - 1
                        }
                    }
                };
                let next = u16::try_from(next)
                    .unwrap_or_else(|_| panic!("glassbox-redact: too many follow sets"));
                PackedLit::new(l, id as u16, next)
            })
            .collect();
        let mut index = Vec::with_capacity(KEYS + 1);
        let mut entries = Vec::new();
        index.push(0);
        for v in per_key {
            entries.extend(v.iter().map(|&id| packed[id as usize]));
            index.push(entries.len() as u32);
        }
        let mut any = Box::new([0u64; 2 * KEYS / 64]);
        for k in 0..2 * KEYS {
            let key = k % KEYS;
            if (flags[key / 32] >> (2 * (key % 32))) & 3 != 0 {
                any[k / 64] |= 1 << (k % 64);
            }
        }
        PrefixTable {
            flags,
            any,
            index,
            entries,
            bytes: lits.iter().map(|l| l.bytes.clone()).collect(),
            follows,
        }
    }

    fn find(&self, b: &[u8], cands: &mut Vec<Cand>) {
        // Past the end counts as "other ASCII", like the end of a word.
        let f = |i: usize| b.get(i).map_or(OUT_OF_TEXT, |&c| FOLD[usize::from(c)]);
        // Three folded bytes fill 15 bits of the key; the 16th holds a stale bit, which
        // `any` ignores (its two halves are equal), so the roll needs no mask.
        let mut key: u16 =
            (u16::from(f(0)) << (2 * KEY_BITS)) | (u16::from(f(1)) << KEY_BITS) | u16::from(f(2));
        let any: &[u64; 2 * KEYS / 64] = &self.any;
        let hit = |key: u16| (any[usize::from(key >> 6)] >> (key & 63)) & 1 != 0;
        // Almost every position has a key no literal is filed under: the inner loop only
        // rolls the byte three ahead into the key and tests one bit, with everything in
        // registers; the literals are compared where a bit is set. `ahead[i]` is the
        // byte three after position `i`.
        let ahead = b.get(3..).unwrap_or_default();
        let mut base = 0;
        loop {
            base = next_hit(any, ahead, base, &mut key);
            let Some(&c) = ahead.get(base) else {
                break;
            };
            self.check(b, base, usize::from(key), cands);
            key = (key << KEY_BITS) | u16::from(FOLD[usize::from(c)]);
            base += 1;
        }
        // The last three positions roll in "past the end".
        while base < b.len() {
            if hit(key) {
                self.check(b, base, usize::from(key), cands);
            }
            key = (key << KEY_BITS) | u16::from(OUT_OF_TEXT);
            base += 1;
        }
    }

    /// Compares the literals filed under `key` (of the bytes at `p`) with the text.
    #[inline(always)]
    fn check(&self, b: &[u8], p: usize, key: usize, cands: &mut Vec<Cand>) {
        let k = key & (KEYS - 1);
        let v = (self.flags[k / 32] >> (2 * (k % 32))) & 3;
        let word = (k >> (2 * KEY_BITS)) <= usize::from(WORD_OTHER);
        let prev_word = p > 0 && FOLD[usize::from(b[p - 1])] <= WORD_OTHER;
        let boundary = word != prev_word;
        if v & 1 == 0 && !boundary {
            return;
        }
        let (lo, hi) = (self.index[k] as usize, self.index[k + 1] as usize);
        let mut parts = 0;
        for lit in self.entries.get(lo..hi).unwrap_or_default() {
            if (!lit.boundary || boundary)
                && lit.matches(b, p, &self.bytes)
                && self.followed(lit, b, p)
            {
                parts |= lit.part;
            }
        }
        if parts != 0 {
            cands.push((p, parts));
        }
    }
}

impl PrefixTable {
    /// Whether the byte after `lit` (which matches at `p`) may follow it in a match: a
    /// literal whose continuation is known needs one of its follow bytes, so neither
    /// another byte nor the end of the text can continue a match.
    #[inline(always)]
    fn followed(&self, lit: &PackedLit, b: &[u8], p: usize) -> bool {
        if lit.next == 0 {
            return true;
        }
        let len = if lit.len != 0 {
            usize::from(lit.len)
        } else {
            self.bytes.get(usize::from(lit.id)).map_or(0, Vec::len)
        };
        match (b.get(p + len), self.follows.get(usize::from(lit.next))) {
            (Some(&c), Some(set)) => (set[usize::from(c >> 6)] >> (c & 63)) & 1 != 0,
            (None, Some(_)) => false,
            (_, None) => true,
        }
    }
}

/// The first position from `p` on whose `key` has a bit in `any`, or `ahead.len()`;
/// `key` is rolled up to it ([`PrefixTable::find`]). Kept out of line so that its loop
/// has every register to itself.
#[inline(never)]
fn next_hit(any: &[u64; 2 * KEYS / 64], ahead: &[u8], mut p: usize, key: &mut u16) -> usize {
    let hit = |k: u16| (any[usize::from(k >> 6)] >> (k & 63)) & 1 != 0;
    let roll = |k: u16, c: u8| (k << KEY_BITS) | u16::from(FOLD[usize::from(c)]);
    let mut k = *key;
    // Four positions per round: a quarter of the loop control.
    while let Some(&[c0, c1, c2, c3]) = ahead.get(p..p + 4) {
        if hit(k) {
            *key = k;
            return p;
        }
        let k1 = roll(k, c0);
        if hit(k1) {
            *key = k1;
            return p + 1;
        }
        let k2 = roll(k1, c1);
        if hit(k2) {
            *key = k2;
            return p + 2;
        }
        let k3 = roll(k2, c2);
        if hit(k3) {
            *key = k3;
            return p + 3;
        }
        k = roll(k3, c3);
        p += 4;
    }
    while let Some(&c) = ahead.get(p) {
        if hit(k) {
            break;
        }
        k = roll(k, c);
        p += 1;
    }
    *key = k;
    p
}

/// Whether an ASCII word boundary (`(?-u:\b)`) lies at `p`.
fn at_boundary(b: &[u8], p: usize) -> bool {
    let w = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let before = p > 0 && w(b[p - 1]);
    let after = p < b.len() && w(b[p]);
    before != after
}

/// Pushes candidate starts in the run of name or street words that ends at `end`: its
/// capitals, or (with `any_letter`) every non-space position, since some street patterns
/// may begin inside a word.
fn run_before(t: &str, end: usize, any_letter: bool, parts: u64, cands: &mut Vec<Cand>) {
    let floor = end.saturating_sub(MAX_RUN);
    for (p, c) in t[..end].char_indices().rev() {
        if p < floor || !(c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.')) {
            break;
        }
        if c.is_uppercase() || (any_letter && c != ' ') {
            cands.push((p, parts));
        }
    }
}

impl Shared {
    /// Every part compiled on its own, named `family.part`.
    pub(crate) fn part_regexes(&self) -> Vec<(String, regex::Regex)> {
        self.sources
            .iter()
            .zip(&self.owner)
            .map(|(p, (f, k))| (format!("cue {f}.{k}"), crate::util::re(p)))
            .collect()
    }

    /// The alternation searched unanchored over the whole text: the reference the
    /// candidate search must reproduce.
    #[cfg(test)]
    pub(crate) fn scan_reference(&self, t: &str) -> Vec<Vec<Hit>> {
        let mut out = vec![Vec::new(); self.families];
        for m in self.all.find_iter(t) {
            let (f, kind) = self.owner[m.pattern().as_usize()];
            out[f].push(Hit {
                start: m.start(),
                end: m.end(),
                kind,
            });
        }
        out
    }
}
