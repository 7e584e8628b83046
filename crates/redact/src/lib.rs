//! PII and secret detection and redaction for agent telemetry.
//!
//! # Approach
//!
//! Detection is rule based and linear time: every detector is a `regex` (finite automata,
//! no backtracking) that proposes *candidates*, followed by a validator that decides.
//! Three kinds of evidence are combined:
//!
//! * **Shape + checksum** for self-validating values: card numbers must pass Luhn and carry
//!   a real issuer prefix and length; IBANs must pass ISO 7064 mod 97 for their country's
//!   length; SSNs must respect the SSA issuing rules; IPs must parse and be host addresses
//!   (loopback, unspecified, broadcast and netmasks are not); provider keys are recognised
//!   by their documented prefixes (`sk-ant-`, `AKIA`, `ghp_`, `xoxb-`, JWT `eyJ…`, PEM
//!   `-----BEGIN … PRIVATE KEY-----`).
//! * **Context** for values whose shape alone proves nothing: a date is a date of birth
//!   only after `DOB`/`born`/`geb.`/`né(e) le`/…, a 7-digit number is a medical record
//!   number only after `MRN`/`IPP`/`NHC`/…, a passport number needs a passport cue, a
//!   password needs `password=`/`://user:…@`/"my password is". Phone numbers are taken
//!   from their shape but rejected when the nearest cue is a ticket/tracking/SKU word.
//!   Person names are capitalised tokens after cues (honorifics, greetings, "my name is",
//!   `Patient:`, `"name":` keys, `Name <mail>`…), then every later mention of the same
//!   given or family name in the record is labelled too.
//! * **Look-alike vetoes**: UUIDs, trace/span ids, git SHAs, `sha256:` digests, API
//!   object ids, order numbers, ISO timestamps and versions are recognised explicitly and
//!   suppress weaker detectors that overlap them.
//!
//! Text inside JSON strings is matched after a length-preserving rewrite of escapes
//! (`\n`, `\"`, `\u00e9`) so word boundaries work, while offsets still point into the
//! original escaped text, as the labelling policy requires.
//!
//! Overlaps are resolved by priority (secrets > e-mail > IBAN > card > SSN > IP > date of
//! birth > MRN > passport > phone > address > person), so for example the local part of an
//! e-mail is never also a person, and a street named after a person stays an address.
//!
//! # Policy
//!
//! [`Policy`] chooses per type whether a finding is masked (`[EMAIL]`), pseudonymised
//! (`[EMAIL:3f9a1c2b]`, a keyed BLAKE3 hash: stable per key, irreversible without it),
//! kept, or whether the whole text is dropped.

mod address;
mod context;
mod jsonl;
mod normalize;
mod patterns;
mod person;
mod redact;
mod scan;
mod table;
mod util;
mod validate;

use std::borrow::Cow;

pub use jsonl::{JsonlError, run_jsonl};
pub use redact::{Action, Policy, PolicyError, Redacted, redact};

/// Kinds of sensitive values, named as in the labelling policy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Person,
    Email,
    Phone,
    CreditCard,
    Iban,
    UsSsn,
    IpAddress,
    StreetAddress,
    DateOfBirth,
    MedicalRecordNumber,
    Passport,
    Secret,
}

impl EntityType {
    /// Every type, in a stable order.
    pub const ALL: [EntityType; 12] = [
        EntityType::Person,
        EntityType::Email,
        EntityType::Phone,
        EntityType::CreditCard,
        EntityType::Iban,
        EntityType::UsSsn,
        EntityType::IpAddress,
        EntityType::StreetAddress,
        EntityType::DateOfBirth,
        EntityType::MedicalRecordNumber,
        EntityType::Passport,
        EntityType::Secret,
    ];

    /// The label used by the labelling policy and the scorer.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntityType::Person => "PERSON",
            EntityType::Email => "EMAIL",
            EntityType::Phone => "PHONE",
            EntityType::CreditCard => "CREDIT_CARD",
            EntityType::Iban => "IBAN",
            EntityType::UsSsn => "US_SSN",
            EntityType::IpAddress => "IP_ADDRESS",
            EntityType::StreetAddress => "STREET_ADDRESS",
            EntityType::DateOfBirth => "DATE_OF_BIRTH",
            EntityType::MedicalRecordNumber => "MEDICAL_RECORD_NUMBER",
            EntityType::Passport => "PASSPORT",
            EntityType::Secret => "SECRET",
        }
    }

    /// The mask written in place of a value, e.g. `[EMAIL]`.
    pub fn placeholder(&self) -> &'static str {
        match self {
            EntityType::Person => "[PERSON]",
            EntityType::Email => "[EMAIL]",
            EntityType::Phone => "[PHONE]",
            EntityType::CreditCard => "[CREDIT_CARD]",
            EntityType::Iban => "[IBAN]",
            EntityType::UsSsn => "[US_SSN]",
            EntityType::IpAddress => "[IP_ADDRESS]",
            EntityType::StreetAddress => "[STREET_ADDRESS]",
            EntityType::DateOfBirth => "[DATE_OF_BIRTH]",
            EntityType::MedicalRecordNumber => "[MEDICAL_RECORD_NUMBER]",
            EntityType::Passport => "[PASSPORT]",
            EntityType::Secret => "[SECRET]",
        }
    }

    /// Parses a policy label (`EMAIL`) or its snake-case form (`email`).
    pub fn parse(s: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| {
            t.as_str().eq_ignore_ascii_case(s)
                || t.as_str().eq_ignore_ascii_case(&s.replace('-', "_"))
        })
    }

    /// Overlap resolution rank: higher wins.
    fn priority(self) -> u8 {
        match self {
            EntityType::Secret => 100,
            EntityType::Email => 90,
            EntityType::Iban => 85,
            EntityType::CreditCard => 80,
            EntityType::UsSsn => 75,
            EntityType::IpAddress => 70,
            EntityType::DateOfBirth => 65,
            EntityType::MedicalRecordNumber => 60,
            EntityType::Passport => 58,
            EntityType::Phone => 55,
            EntityType::StreetAddress => 50,
            EntityType::Person => 40,
        }
    }

    /// Types whose detectors are specific enough not to be vetoed by look-alikes.
    fn veto_exempt(self) -> bool {
        matches!(
            self,
            EntityType::Secret
                | EntityType::Email
                | EntityType::MedicalRecordNumber
                | EntityType::Passport
        )
    }
}

impl std::fmt::Display for EntityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A detected value: byte offsets into the text passed to [`Detector::detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub kind: EntityType,
}

/// A candidate before overlap resolution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cand {
    pub start: usize,
    pub end: usize,
    pub kind: EntityType,
}

/// Collected output of the detectors for one text.
#[derive(Default)]
pub(crate) struct Sink {
    pub cands: Vec<Cand>,
    /// Spans of recognised look-alikes (ids, hashes, timestamps, bad IBANs…).
    pub vetoes: Vec<(usize, usize)>,
}

impl Sink {
    pub fn push(&mut self, start: usize, end: usize, kind: EntityType) {
        if start < end {
            self.cands.push(Cand { start, end, kind });
        }
    }
    pub fn veto(&mut self, start: usize, end: usize) {
        self.vetoes.push((start, end));
    }
}

/// The compiled detectors. Build once and share: it is `Send + Sync` and `detect` takes
/// `&self`.
pub struct Detector {
    patterns: patterns::Patterns,
    context: context::Context,
    address: address::Address,
    person: person::Person,
    table: table::Table,
    cues: scan::Shared,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    /// Compiles every detector. The patterns are fixed, so this cannot fail at runtime
    /// once the unit tests pass.
    pub fn new() -> Detector {
        let patterns = patterns::Patterns::new();
        let context = context::Context::new();
        let address = address::Address::new();
        let person = person::Person::new();
        // Order matters where cues could overlap: the earlier family wins a tie.
        let cues = scan::Shared::new(
            &[
                &patterns.keyed_secret,
                &context.cues,
                &address.structural,
                &person.cues,
            ],
            patterns::SECRET_TOKENS,
        );
        Detector {
            patterns,
            context,
            address,
            person,
            table: table::Table::new(),
            cues,
        }
    }

    /// Every compiled pattern with a name, for benchmarking individual detectors.
    #[doc(hidden)]
    pub fn debug_patterns(&self) -> Vec<(&'static str, &regex::Regex)> {
        let mut v = self.patterns.regexes();
        v.extend(self.context.regexes());
        v.extend(self.address.regexes());
        v.extend(self.person.regexes());
        v.extend(self.table.regexes());
        v
    }

    /// Every part of the shared cue pass compiled alone, for profiling.
    #[doc(hidden)]
    pub fn debug_cue_parts(&self) -> Vec<(String, regex::Regex)> {
        self.cues.part_regexes()
    }

    /// Finds sensitive values in `text`. The result is sorted by start and free of
    /// overlaps; offsets are byte offsets on char boundaries.
    pub fn detect(&self, text: &str) -> Vec<Entity> {
        if text.is_empty() {
            return Vec::new();
        }
        // The working vectors are kept per thread, so a text costs no allocations but its
        // result (and what the detectors allocate themselves). A nested call (none is made
        // today) or a call during thread teardown gets fresh ones.
        let run = |scratch: &mut Scratch| {
            let found = self.detect_with(text, scratch);
            scratch.trim();
            found
        };
        SCRATCH
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut scratch) => run(&mut scratch),
                Err(_) => run(&mut Scratch::default()),
            })
            .unwrap_or_else(|_| run(&mut Scratch::default()))
    }

    fn detect_with(&self, text: &str, scratch: &mut Scratch) -> Vec<Entity> {
        let norm: Cow<'_, str> = normalize::normalize(text);
        let t: &str = &norm;
        let Scratch {
            sink,
            marks,
            token_starts,
            veto_starts,
            scan,
            resolve: bufs,
        } = scratch;
        sink.cands.clear();
        sink.vetoes.clear();
        token_starts.clear();
        marks.fill(t.as_bytes());
        self.cues.scan_into(t, &marks.runs, token_starts, scan);
        let hits = &scan.hits;
        self.patterns
            .detect(t, &hits[0], token_starts, marks, veto_starts, sink);
        self.context.detect(t, &hits[1], sink);
        self.address.detect(t, &hits[2], sink);
        self.table.detect(t, sink);
        // Names are found last because their propagation step must not relabel text
        // already claimed by a stronger type (e-mail local parts, street names).
        self.person.detect(t, &hits[3], sink);
        resolve(t, sink, bufs)
    }
}

/// Working vectors of [`Detector::detect`], reused from one text to the next.
#[derive(Default)]
struct Scratch {
    sink: Sink,
    marks: util::Landmarks,
    token_starts: Vec<usize>,
    /// Where the look-alike pattern is searched (see `patterns`).
    veto_starts: Vec<usize>,
    scan: scan::ScanBufs,
    resolve: ResolveBufs,
}

/// Buffers of [`resolve`].
#[derive(Default)]
struct ResolveBufs {
    max_end: Vec<usize>,
    merged: Vec<Cand>,
}

/// A vector that grew past this many elements on a huge text is dropped afterwards
/// rather than kept for the thread's lifetime.
const SCRATCH_KEEP: usize = 1 << 14;

impl Scratch {
    fn trim(&mut self) {
        fn cap<T>(v: &mut Vec<T>) {
            if v.capacity() > SCRATCH_KEEP {
                *v = Vec::new();
            }
        }
        cap(&mut self.sink.cands);
        cap(&mut self.sink.vetoes);
        cap(&mut self.marks.runs);
        cap(&mut self.marks.seps);
        cap(&mut self.token_starts);
        cap(&mut self.veto_starts);
        cap(&mut self.resolve.max_end);
        cap(&mut self.resolve.merged);
        self.scan.trim(SCRATCH_KEEP);
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Drops vetoed candidates, merges same-type overlaps, then keeps the highest-priority
/// candidate wherever types disagree.
fn resolve(text: &str, sink: &mut Sink, bufs: &mut ResolveBufs) -> Vec<Entity> {
    // Vetoes sorted by start with a running maximum of their ends answer "does anything
    // overlap [s, e)?" in O(log n), so huge texts with many ids stay linear-ish.
    sink.vetoes.sort_unstable();
    let max_end = &mut bufs.max_end;
    max_end.clear();
    let mut m = 0usize;
    for &(_, e) in &sink.vetoes {
        m = m.max(e);
        max_end.push(m);
    }
    let vetoes = &sink.vetoes;
    sink.cands.retain(|c| {
        if c.kind.veto_exempt() {
            return true;
        }
        let k = vetoes.partition_point(|&(s, _)| s < c.end);
        k == 0 || max_end[k - 1] <= c.start
    });
    // Merge overlapping candidates of one type so that several partial views of one value
    // (e.g. a name found by two rules) become one span.
    // Candidates with equal keys are equal in every field, so an unstable sort leaves
    // the same sequence as a stable one.
    sink.cands
        .sort_unstable_by_key(|c| (c.kind, c.start, std::cmp::Reverse(c.end)));
    let merged = &mut bufs.merged;
    merged.clear();
    for &c in &sink.cands {
        if let Some(last) = merged.last_mut()
            && last.kind == c.kind
            && c.start < last.end
        {
            last.end = last.end.max(c.end);
            continue;
        }
        merged.push(c);
    }
    // Keys are unique here: a priority is one type's, and two same-type spans with one
    // start were merged above. So the unstable sort gives the stable order.
    merged.sort_unstable_by_key(|c| {
        (
            std::cmp::Reverse(c.kind.priority()),
            std::cmp::Reverse(c.end - c.start),
            c.start,
        )
    });
    // Accepted spans never overlap, so they are sorted by start and by end alike: the one
    // starting last before a candidate's end is the only one that can overlap it. A text
    // has a few dozen, so a sorted vector beats a tree map's allocations.
    let mut taken: Vec<Entity> = Vec::with_capacity(merged.len());
    for &c in merged.iter() {
        if !text.is_char_boundary(c.start) || !text.is_char_boundary(c.end) {
            continue;
        }
        let k = taken.partition_point(|e| e.start < c.end);
        if k > 0 && taken[k - 1].end > c.start {
            continue;
        }
        taken.insert(
            k,
            Entity {
                start: c.start,
                end: c.end,
                kind: c.kind,
            },
        );
    }
    taken
}

#[cfg(test)]
mod tests;
