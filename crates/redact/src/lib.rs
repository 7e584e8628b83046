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
        let norm: Cow<'_, str> = normalize::normalize(text);
        let t: &str = &norm;
        // Dense texts carry dozens of candidates; growing from empty costs a few reallocs.
        let mut sink = Sink {
            cands: Vec::with_capacity(32),
            vetoes: Vec::with_capacity(16),
        };
        let marks = util::Landmarks::of(t.as_bytes());
        let mut token_starts = Vec::new();
        let hits = self.cues.scan(t, &marks.runs, &mut token_starts);
        self.patterns
            .detect(t, &hits[0], &token_starts, &marks, &mut sink);
        self.context.detect(t, &hits[1], &mut sink);
        self.address.detect(t, &hits[2], &mut sink);
        self.table.detect(t, &mut sink);
        // Names are found last because their propagation step must not relabel text
        // already claimed by a stronger type (e-mail local parts, street names).
        self.person.detect(t, &hits[3], &mut sink);
        resolve(t, sink)
    }
}

/// Drops vetoed candidates, merges same-type overlaps, then keeps the highest-priority
/// candidate wherever types disagree.
fn resolve(text: &str, mut sink: Sink) -> Vec<Entity> {
    // Vetoes sorted by start with a running maximum of their ends answer "does anything
    // overlap [s, e)?" in O(log n), so huge texts with many ids stay linear-ish.
    sink.vetoes.sort_unstable();
    let mut max_end = Vec::with_capacity(sink.vetoes.len());
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
    sink.cands
        .sort_by_key(|c| (c.kind, c.start, std::cmp::Reverse(c.end)));
    let mut merged: Vec<Cand> = Vec::with_capacity(sink.cands.len());
    for c in sink.cands {
        if let Some(last) = merged.last_mut()
            && last.kind == c.kind
            && c.start < last.end
        {
            last.end = last.end.max(c.end);
            continue;
        }
        merged.push(c);
    }
    merged.sort_by_key(|c| {
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
    for c in merged {
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
