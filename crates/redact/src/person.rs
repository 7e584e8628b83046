//! Person names from context.
//!
//! A name is a run of capitalised tokens (with particles such as `van`, `de la`, and
//! hyphenated or apostrophe forms) that follows a cue: an honorific (`Dr.`, `Frau`,
//! `M.`), a greeting or sign-off (`Hi`, `Dear`, `Best regards,`, `Gern geschehen,`), a
//! self-introduction (`my name is`, `me llamo`), a role label (`Patient:`, `Author:`,
//! `Kontoinhaber`), a person-valued JSON/SQL key (`"full_name":`), an e-mail written as
//! `Name <addr>`, or a role in parentheses (`X ("Tenant")`). Cues that also introduce
//! places or companies (`from`, `to`, the generic `"name"` key) require two tokens.
//! Finally, every later whole-word mention of a found given or family name is labelled,
//! which catches the bare "Luke to send…" and "Jimmy's direct line" mentions.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use regex::Regex;

use crate::scan::Start;
use crate::util::{Alt, Hit, re};
use crate::{EntityType, Sink};

pub(crate) struct Person {
    /// All cue kinds in one alternation (one pass over the text); the named group that
    /// matched tells which rule applies.
    pub(crate) cues: Alt,
    before_mail: Regex,
}

impl Person {
    pub(crate) fn regexes(&self) -> Vec<(&'static str, &Regex)> {
        vec![("person::before_mail", &self.before_mail)]
    }
}

const STRONG_CUES: &str = concat!(
    // Honorifics (case-sensitive).
    r"(?-u:\b)(?:Prof\.?[ \t]+)?Dr\.?[ \t]+(?:med\.|rer\.[ \t]?nat\.|phil\.|jur\.|h\.[ \t]?c\.)[ \t]+",
    r"|(?:(?-u:\b)(?:Dr|Mr|Mrs|Ms|Mx|Prof|Sr|Sra|Srta|Dra|Mme|Mlle|Herr|Frau|Miss|Dame|Sig|Sig\.ra|Dott)\.?|(?-u:\b)M\.|(?-u:\b)Frau/Herr|(?-u:\b)Herr/Frau|(?-u:\b)M\./Mme|(?-u:\b)Mme/M\.)[ \t]+",
    r"|(?i:(?-u:\b)(?:",
    // Greetings and sign-offs.
    r"hi|hello|hey|dear|good morning|good afternoon|good evening|morning|hallo|liebe|lieber|guten tag|guten morgen|",
    r"sehr geehrte|sehr geehrter|bonjour|bonsoir|salut|cher|chère|hola|buenos días|buenas tardes|buenas noches|buenas|",
    r"estimado|estimada|querido|querida|thanks|thank you|many thanks|welcome|you're welcome|you’re welcome|",
    r"gern geschehen|gerne|danke|vielen dank|avec plaisir|merci|de nada|gracias|muchas gracias|",
    r"sorry about that|sorry|so sorry|lo siento mucho|lo siento|désolé|désolée|es tut mir leid|great day|nice day|",
    r"best regards|kind regards|warm regards|regards|cheers|sincerely|cordialement|bien à vous|saludos|un saludo|",
    r"atentamente|gruß|grüße|viele grüße|beste grüße|mit freundlichen grüßen|freundliche grüße|",
    // Role labels that are unambiguous even without a colon.
    r"kontoinhaber|kontoinhaberin|account holder|cardholder|titulaire|titular|on-call engineer|",
    r"reply to|respond to|write to|talk to|speak to|speak with|forward to|assigned to|escalate to|",
    r"kyc review for|kyc-prüfung für|contrôle kyc pour|revisión kyc de",
    r"))[ \t]*[,:!]?[ \t\r\n]{1,8}",
    // Labels followed by a colon.
    r"|(?i:(?-u:\b)(?:patient|patient\(e\)|patientin|paciente|name|full name|nom|nom complet|nombre|nombre completo|author|",
    r"manager|employee|mitarbeiter|client|cliente|customer name|policyholder|insured|beneficiary|bill to|",
    r"rechnungsempfänger|empfänger|physician|doctor|attending|nurse|signed|signature|contact|contact person|",
    r"ansprechpartner|landlord|tenant|owner|applicant|passenger|guest|assignee|reporter|reported by|requested by|",
    r"approved by|reviewed by|prepared by|caller|recipient|sender|holder|médecin|arzt|ärztin|médico|witness|",
    r"emergency contact|next of kin|spouse|guardian|referred by|on behalf of|interlocutor|from|to|cc|attn|",
    r"committer|co-authored-by|signed-off-by|reviewer|user name|client name|patient name|nom du patient|",
    r"nombre del paciente))[ \t]*:[ \t]*"
);

const WEAK_CUES: &str = concat!(
    r"(?i:(?:(?-u:\b)(?:between|from|with|by|for|and|i'm|i am)|",
    r"(?:(?-u:\b)(?:wire|transfer|send|pay|virer|virez|vire|transfiere|transferir|envía|enviar)|überweisen|überweise)",
    r"[^\n.;:]{0,40}?[ ](?:to|an|à|a)",
    r"))[ \t]+"
);

const INTRO_CUES: &str = concat!(
    r"(?i:(?-u:\b)(?:my name is|my name's|name is|this is|it's|it’s|its|it is|mein name ist|hier ist|hier spricht|ich bin|",
    r"ich heiße|je m'appelle|je m’appelle|je suis|ici|c'est|me llamo|soy|mi nombre es|habla|le habla))[ \t]*[,:]?[ \t]+"
);

const LIST_CUES: &str = r"(?i:(?-u:\b)(?:attendees|participants|teilnehmer|teilnehmende|anwesend|asistentes|participantes|présents|present|cc|to|bcc)[ \t]*:[ \t]*)";

const PERSON_KEYS: &str = concat!(
    r"full_?name|first_?name|given_?name|last_?name|family_?name|sur_?name|middle_?name|display_?name|customer_?name|",
    r"client_?name|patient_?name|contact_?name|account_?holder(?:_?name)?|card_?holder(?:_?name)?|holder_?name|",
    r"beneficiary(?:_?name)?|payee(?:_?name)?|recipient_?name|sender_?name|author(?:_?name)?|assignee|reporter|",
    r"owner_?name|employee_?name|manager|physician|doctor|nurse|passenger_?name|guest_?name|applicant|tenant|",
    r"landlord|signatory|signer|requester|user_?full_?name|nombre|nom|vorname|nachname|apellidos?|prénom|prenom"
);

impl Person {
    pub(crate) fn new() -> Person {
        let token = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿĀ-ſ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’\-]*";
        let key_sep = r"(?:[\x22'\s]{0,6}(?:[:=]|\s(?i:I?LIKE)\s)[\s\x22'%]{0,8}|>)";
        let keys = format!(r"(?i:(?-u:\b)(?:{PERSON_KEYS})){key_sep}");
        // Lower-case only: JSON and SQL keys, not speaker labels such as "Customer:".
        let keyw = format!(
            r"(?-u:\b)(?:name|provider|owner|author|contact|customer|patient|employee|passenger|subject|holder){key_sep}"
        );
        let post = format!(
            r"{token} {token}(?: {token})?(?: \((?:\x22|“|')| here(?-u:\b)| speaking(?-u:\b)| hier(?-u:\b)| ici(?-u:\b))"
        );
        Person {
            cues: Alt::with_starts(vec![
                (LIST_CUES.to_owned(), Start::Prefix),
                (keys, Start::Prefix),
                (INTRO_CUES.to_owned(), Start::Prefix),
                (STRONG_CUES.to_owned(), Start::Prefix),
                (WEAK_CUES.to_owned(), Start::Prefix),
                (keyw, Start::Prefix),
                (
                    post,
                    Start::Tail(
                        [
                            " (\x22",
                            " (“",
                            " ('",
                            " here",
                            " speaking",
                            " hier",
                            " ici",
                        ]
                        .map(str::to_owned)
                        .to_vec(),
                    ),
                ),
            ]),
            before_mail: re(&format!(
                r"({token}(?: {token}){{0,3}}) ?[<(]\s*(?:mailto:)?([A-Za-z0-9._%+\-]+)@"
            )),
        }
    }

    pub(crate) fn detect(&self, t: &str, hits: &[Hit], sink: &mut Sink) {
        let mut names: Vec<(usize, usize)> = Vec::new();
        for m in hits {
            let kind = m.kind;
            if kind == 6 {
                if let Some(n) = scan_name(t, m.start(), 3)
                    && n.tokens >= 2
                {
                    names.push(n.span());
                }
                continue;
            }
            let Some(n) = scan_name(t, m.end(), 4) else {
                continue;
            };
            match kind {
                // Attendee lists: every item is a name.
                0 => {
                    names.push(n.span());
                    self.continue_list(t, n.end, 1, &mut names);
                }
                1 if value_ends(t, n.end) => names.push(n.span()),
                2 if !assistant_follows(t, n.end) => names.push(n.span()),
                3 => {
                    names.push(n.span());
                    self.continue_list(t, n.end, 2, &mut names);
                }
                4 if n.tokens >= 2 => {
                    names.push(n.span());
                    self.continue_list(t, n.end, 2, &mut names);
                }
                5 if n.tokens >= 2 && value_ends(t, n.end) => names.push(n.span()),
                _ => {}
            }
        }
        if memchr::memchr(b'@', t.as_bytes()).is_some() {
            for c in self.before_mail.captures_iter(t) {
                let (Some(nm), Some(local)) = (c.get(1), c.get(2)) else {
                    continue;
                };
                let local = local.as_str().to_lowercase();
                if let Some(n) = scan_name(t, nm.start(), 4) {
                    let first = t[n.start..n.end]
                        .split(' ')
                        .next()
                        .unwrap_or("")
                        .to_lowercase();
                    let last = t[n.start..n.end]
                        .rsplit(' ')
                        .next()
                        .unwrap_or("")
                        .to_lowercase();
                    if n.tokens >= 2 || local.contains(&first) || local.contains(&last) {
                        names.push(n.span());
                    }
                }
            }
        }
        if names.is_empty() {
            return;
        }
        propagate(t, &mut names);
        for (s, e) in names {
            sink.push(s, e, EntityType::Person);
        }
    }

    /// Follows `A B, C D and E F` after a found name.
    fn continue_list(
        &self,
        t: &str,
        mut pos: usize,
        min_tokens: usize,
        names: &mut Vec<(usize, usize)>,
    ) {
        for _ in 0..12 {
            let rest = &t[pos..];
            let mut skip = 0;
            let r = rest.as_bytes();
            // A parenthetical role or e-mail between list items.
            let mut k = 0;
            while k < r.len() && r[k] == b' ' {
                k += 1;
            }
            if k < r.len() && (r[k] == b'(' || r[k] == b'<') {
                let close = if r[k] == b'(' { b')' } else { b'>' };
                match r[k..].iter().take(60).position(|&c| c == close) {
                    Some(p) => skip = k + p + 1,
                    None => return,
                }
            }
            let rest2 = &rest[skip..];
            let sep_len = [
                "; ", ", and ", ", und ", ", et ", ", y ", ", ", " and ", " und ", " et ", " y ",
                " & ",
            ]
            .iter()
            .find(|s| rest2.starts_with(*s))
            .map(|s| s.len());
            let Some(sep_len) = sep_len else { return };
            let start = pos + skip + sep_len;
            match scan_name(t, start, 4) {
                Some(n) if n.tokens >= min_tokens => {
                    names.push(n.span());
                    pos = n.end;
                }
                _ => return,
            }
        }
    }
}

pub(crate) struct Name {
    pub start: usize,
    pub end: usize,
    pub tokens: usize,
}

impl Name {
    fn span(&self) -> (usize, usize) {
        (self.start, self.end)
    }
}

const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "dos", "das", "la", "le",
    "el", "al", "bin", "ibn", "ten", "ter", "zu", "y", "e", "dela", "van der", "van den", "de la",
    "de los",
];

/// Reads up to `max` capitalised name tokens starting exactly at `i`.
pub(crate) fn scan_name(t: &str, i: usize, max: usize) -> Option<Name> {
    // A quoted value (`From: "Sarah Connor" <…>`) starts after its quote.
    let i = match t[i..].chars().next() {
        Some(q @ ('"' | '“' | '\'')) if t[i + q.len_utf8()..].starts_with(char::is_uppercase) => {
            i + q.len_utf8()
        }
        _ => i,
    };
    let mut pos = i;
    let mut end = i;
    let mut tokens = 0;
    let mut first_tok = "";
    while tokens < max {
        // A middle or leading initial (`John Q. Public`, `J. Smith`) continues the name
        // when a real token follows.
        let bp = t.as_bytes();
        if pos + 3 < bp.len()
            && bp[pos].is_ascii_uppercase()
            && bp[pos + 1] == b'.'
            && bp[pos + 2] == b' '
            && token_at(t, pos + 3).is_some()
            && !(tokens == 0 && bp[pos] == b'M')
        {
            pos += 3;
            continue;
        }
        let Some(tok_end) = token_at(t, pos) else {
            break;
        };
        let tok = &t[pos..tok_end];
        if COMPANY.contains(tok) {
            // "Blue Yonder Bank": the capitalised run names an organisation.
            return None;
        }
        let inner_particle = tokens > 0
            && CAP_PARTICLES.contains(&tok)
            && ((t[tok_end..].starts_with(' ') && token_at(t, tok_end + 1).is_some())
                || t[tok_end..].starts_with(['"', '\'']));
        if is_stop(tok) && !inner_particle {
            break;
        }
        if tokens == 0 {
            first_tok = tok;
        }
        tokens += 1;
        end = tok_end;
        // Next token: one space, optional particles, then a capital.
        let rest = &t[end..];
        let Some(after_space) = rest.strip_prefix(' ') else {
            break;
        };
        let mut next = end + 1;
        let mut r = after_space;
        // Every particle starts with a lower-case ASCII letter; most names are followed by a
        // capital or punctuation, which one byte rules out.
        for _ in 0..2 {
            if !r.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
                break;
            }
            let Some(p) = PARTICLES.iter().find(|p| {
                r.starts_with(*p)
                    && r[p.len()..].starts_with(' ')
                    && r[p.len() + 1..].starts_with(char::is_uppercase)
            }) else {
                break;
            };
            next += p.len() + 1;
            r = &r[p.len() + 1..];
        }
        if !r.starts_with(char::is_uppercase) {
            break;
        }
        pos = next;
    }
    if tokens == 0 {
        return None;
    }
    if tokens == 1 && first_tok.chars().count() < 2 {
        return None;
    }
    // A company or product rather than a person.
    if t[i..end].split(' ').any(|w| COMPANY.contains(w)) {
        return None;
    }
    Some(Name {
        start: i,
        end,
        tokens,
    })
}

/// End of a capitalised token at `i`: an upper-case letter, then at least one lower-case
/// letter, then letters with inner `-`/`'` joins (`Hermann-Josef`, `O'Brien`).
fn token_at(t: &str, i: usize) -> Option<usize> {
    let mut it = t[i..].char_indices();
    let (_, c0) = it.next()?;
    if !c0.is_uppercase() {
        return None;
    }
    let mut end = i + c0.len_utf8();
    let mut lower = 0;
    let mut prev_join = false;
    for (off, c) in it {
        if c.is_alphabetic() {
            if c.is_lowercase() {
                lower += 1;
            }
            prev_join = false;
            end = i + off + c.len_utf8();
        } else if (c == '-' || c == '\'' || c == '’') && !prev_join {
            // A join only counts when a capital follows (`Jean-Luc`, `O'Neil`), which
            // keeps possessive `'s` and trailing hyphens out.
            let next = t[i + off + c.len_utf8()..].chars().next();
            if next.is_some_and(char::is_uppercase) {
                prev_join = true;
                continue;
            }
            break;
        } else {
            break;
        }
    }
    if lower == 0 {
        return None;
    }
    // Glued to a following digit or underscore: an identifier, not a name.
    if t[end..].starts_with(|c: char| c.is_ascii_digit() || c == '_') {
        return None;
    }
    Some(end)
}

fn is_stop(tok: &str) -> bool {
    STOP.contains(tok)
}

/// Names are checked against these lists token by token, several times per cue; hashing
/// a token once beats a binary search and a linear scan that call `memcmp` per probe.
type WordSet = HashSet<&'static str, BuildHasherDefault<WordHasher>>;
static STOP: LazyLock<WordSet> =
    LazyLock::new(|| STOP_WORDS.iter().chain(COMPANY_WORDS).copied().collect());
static COMPANY: LazyLock<WordSet> = LazyLock::new(|| COMPANY_WORDS.iter().copied().collect());

/// A multiply-rotate hash over eight bytes at a time (FxHash-like). The sets are fixed and
/// only looked up, so text cannot make their buckets grow; flooding resistance (std's
/// SipHash) buys nothing here and costs more than the lookup itself.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = 0u64;
            for (i, &c) in chunk.iter().enumerate() {
                w |= u64::from(c) << (8 * i);
            }
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A JSON/SQL value must be the whole value: the name is followed by its closing quote.
fn value_ends(t: &str, end: usize) -> bool {
    let rest = &t.as_bytes()[end..];
    rest.is_empty()
        || matches!(
            rest[0],
            b'\x22' | b'\'' | b'%' | b' ' | b',' | b'}' | b'\n' | b'\r' | b'<' | b'\t'
        )
}

/// "I'm Ava, your virtual assistant": the assistant's own name is not PII.
fn assistant_follows(t: &str, end: usize) -> bool {
    let w = &t[end..crate::util::fwd(t, end, 60)];
    let l = w.to_lowercase();
    [
        "assistant",
        "assistent",
        "asistente",
        "bot",
        " ai ",
        " ki ",
        " ia ",
        "virtual",
        "digital",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// Labels every whole-word mention of a found name's tokens and merges adjacent tokens.
fn propagate(t: &str, names: &mut Vec<(usize, usize)>) {
    let mut toks: Vec<&str> = Vec::new();
    for &(s, e) in names.iter() {
        for w in t[s..e].split(' ') {
            if w.chars().count() >= 3
                && !PARTICLES.contains(&w)
                && !is_stop(w)
                && !toks.contains(&w)
            {
                toks.push(w);
            }
        }
    }
    let b = t.as_bytes();
    for w in toks {
        for p in occurrences(b, w.as_bytes()) {
            let e = p + w.len();
            let before_ok = t[..p]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && !matches!(c, '_' | '@' | '.'));
            // `name.surname@` belongs to an e-mail; the resolver would drop it anyway, but
            // skipping keeps the candidate list small.
            let after_ok = t[e..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() && !matches!(c, '_' | '@'))
                && !(b.get(e) == Some(&b'.')
                    && b.get(e + 1).is_some_and(u8::is_ascii_alphanumeric));
            // "April" found as a name must not relabel "April 3, 2026".
            let date_follows = t[e..]
                .strip_prefix(' ')
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
            if before_ok && after_ok && !date_follows {
                names.push((p, e));
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(names.len());
    for &(s, e) in names.iter() {
        if let Some(last) = merged.last_mut()
            && (s <= last.1 || (s == last.1 + 1 && b[last.1] == b' '))
        {
            last.1 = last.1.max(e);
            continue;
        }
        merged.push((s, e));
    }
    *names = merged;
}

/// Every non-overlapping occurrence of `w` in `b`, as `memmem::find_iter` reports them.
/// This runs once per distinct name token over the whole text. Most tokens start with an
/// ASCII capital, rare in text, so finding that byte and comparing the rest beats building
/// a substring searcher per token; other tokens use the searcher.
fn occurrences<'a>(b: &'a [u8], w: &'a [u8]) -> Box<dyn Iterator<Item = usize> + 'a> {
    match w.first() {
        Some(&first) if first.is_ascii_uppercase() => {
            let mut next = 0;
            Box::new(memchr::memchr_iter(first, b).filter(move |&p| {
                let found = p >= next && b[p..].starts_with(w);
                if found {
                    next = p + w.len();
                }
                found
            }))
        }
        _ => Box::new(memchr::memmem::find_iter(b, w)),
    }
}

/// Capitalised words that are not names in the contexts above. Sorted for binary search.
const STOP_WORDS: &[&str] = &[
    "Abend",
    "About",
    "Account",
    "Accounts",
    "Action",
    "Address",
    "Admin",
    "Afternoon",
    "Again",
    "Agenda",
    "Agent",
    "Agente",
    "Ahora",
    "Alexa",
    "All",
    "Also",
    "Am",
    "An",
    "And",
    "Any",
    "Api",
    "Apr",
    "Aqui",
    "Aquí",
    "Arc",
    "Are",
    "Array",
    "Asistente",
    "Assistant",
    "Assistent",
    "Attendees",
    "Aug",
    "Ava",
    "Avec",
    "BTreeMap",
    "Bank",
    "Bard",
    "Be",
    "Been",
    "Best",
    "Bienvenido",
    "Bienvenue",
    "Bitte",
    "Bonjour",
    "Bool",
    "Boolean",
    "Bot",
    "Box",
    "Buenas",
    "Buenos",
    "But",
    "Bytes",
    "Can",
    "Card",
    "Case",
    "Cc",
    "Ce",
    "Cette",
    "Char",
    "Chat",
    "ChatGPT",
    "Check",
    "Cheers",
    "Ciao",
    "Claude",
    "Client",
    "Cliente",
    "Clients",
    "Clone",
    "Code",
    "Content",
    "Copilot",
    "Cordialement",
    "Cortana",
    "Could",
    "Customer",
    "Customers",
    "Dame",
    "Danke",
    "Das",
    "Data",
    "Date",
    "Day",
    "De",
    "Dear",
    "Debug",
    "Dec",
    "December",
    "Default",
    "Dein",
    "Del",
    "Der",
    "Dict",
    "Did",
    "Die",
    "Do",
    "Doctor",
    "Does",
    "Done",
    "Dr",
    "Dra",
    "Du",
    "Duration",
    "Días",
    "Ein",
    "Eine",
    "El",
    "Email",
    "En",
    "Enum",
    "Err",
    "Error",
    "Errors",
    "Es",
    "Est",
    "Esta",
    "Este",
    "Evening",
    "Everyone",
    "Example",
    "Examples",
    "Exception",
    "External",
    "False",
    "Feb",
    "February",
    "Fixme",
    "Fn",
    "Folks",
    "For",
    "Frau",
    "Fri",
    "Friday",
    "From",
    "Func",
    "Function",
    "Fwd",
    "Gemini",
    "Gern",
    "Gerne",
    "Good",
    "Gracias",
    "Great",
    "Guten",
    "Guys",
    "Had",
    "Hallo",
    "Has",
    "HashMap",
    "HashSet",
    "Have",
    "He",
    "Hej",
    "Hello",
    "Help",
    "Her",
    "Here",
    "Herr",
    "Herzlich",
    "Hey",
    "Hi",
    "Hier",
    "His",
    "Hola",
    "How",
    "Http",
    "Https",
    "I",
    "Ich",
    "Ici",
    "Id",
    "Ihnen",
    "Ihr",
    "Ihre",
    "Ihrem",
    "Ihren",
    "Il",
    "Impl",
    "Incident",
    "Info",
    "Instant",
    "Int",
    "Integer",
    "Interface",
    "Internal",
    "Is",
    "Issue",
    "It",
    "Items",
    "Its",
    "Jan",
    "January",
    "Je",
    "Json",
    "Jul",
    "July",
    "Jun",
    "Just",
    "Key",
    "Kind",
    "Kunde",
    "Kundin",
    "La",
    "Las",
    "Le",
    "Les",
    "Let",
    "Liebe",
    "Lieber",
    "Lo",
    "Los",
    "Ma",
    "Madam",
    "Madame",
    "Mar",
    "March",
    "May",
    "Me",
    "Meeting",
    "Mein",
    "Meine",
    "Meinen",
    "Meiner",
    "Merci",
    "Mes",
    "Message",
    "Mi",
    "Might",
    "Mis",
    "Miss",
    "Mister",
    "Mlle",
    "Mme",
    "Module",
    "Moin",
    "Mon",
    "Monday",
    "Monsieur",
    "Morning",
    "Mr",
    "Mrs",
    "Ms",
    "Muchas",
    "Must",
    "Mutex",
    "Mx",
    "My",
    "Nada",
    "Namaste",
    "Name",
    "Nil",
    "No",
    "None",
    "Nos",
    "Not",
    "Note",
    "Notes",
    "Notre",
    "Nous",
    "Nov",
    "November",
    "Now",
    "Nuestra",
    "Nuestro",
    "Null",
    "Number",
    "Object",
    "Oct",
    "October",
    "Ok",
    "Okay",
    "On",
    "Option",
    "Or",
    "Order",
    "Our",
    "Paciente",
    "Password",
    "Path",
    "PathBuf",
    "Patient",
    "Patienten",
    "Phone",
    "Plaisir",
    "Please",
    "Por",
    "Pour",
    "Problem",
    "Prof",
    "Project",
    "Promise",
    "Question",
    "Quick",
    "Rc",
    "Re",
    "Regards",
    "Renewal",
    "Report",
    "Request",
    "Response",
    "Result",
    "RwLock",
    "Salut",
    "Sat",
    "Saturday",
    "Se",
    "Secret",
    "Sehr",
    "Self",
    "Sep",
    "Sept",
    "September",
    "Service",
    "Señor",
    "Señora",
    "She",
    "Should",
    "Sie",
    "Sir",
    "Siri",
    "So",
    "Some",
    "Sorry",
    "Sr",
    "Sra",
    "Srta",
    "Status",
    "Str",
    "String",
    "Struct",
    "Su",
    "Subject",
    "Summary",
    "Sun",
    "Sunday",
    "Support",
    "Sure",
    "Sus",
    "System",
    "Ta",
    "Tag",
    "Team",
    "Test",
    "Tests",
    "Text",
    "Thank",
    "Thanks",
    "That",
    "The",
    "Their",
    "Then",
    "There",
    "These",
    "They",
    "This",
    "Those",
    "Thu",
    "Thursday",
    "Ticket",
    "Tickets",
    "Time",
    "To",
    "Today",
    "Todo",
    "Token",
    "Tomorrow",
    "Trait",
    "True",
    "Tu",
    "Tue",
    "Tuesday",
    "Tuple",
    "Type",
    "Un",
    "Una",
    "Undefined",
    "Une",
    "Unit",
    "Unser",
    "Unsere",
    "Update",
    "Url",
    "User",
    "Usted",
    "Uuid",
    "Value",
    "Vec",
    "Vielen",
    "Void",
    "Vos",
    "Votre",
    "Vous",
    "Warning",
    "Was",
    "We",
    "Wed",
    "Wednesday",
    "Welcome",
    "Were",
    "What",
    "When",
    "Where",
    "Which",
    "Who",
    "Why",
    "Will",
    "Willkommen",
    "Wir",
    "With",
    "Would",
    "Yes",
    "Yesterday",
    "Yo",
    "You",
    "Your",
];

/// Tokens that mark an organisation or product rather than a person.
const COMPANY_WORDS: &[&str] = &[
    "Inc",
    "Inc.",
    "Ltd",
    "Ltd.",
    "LLC",
    "GmbH",
    "AG",
    "SA",
    "SAS",
    "SARL",
    "SL",
    "Corp",
    "Corp.",
    "Corporation",
    "Co",
    "Company",
    "Group",
    "Bank",
    "Toys",
    "Air",
    "Airlines",
    "Labs",
    "Systems",
    "Solutions",
    "Technologies",
    "Software",
    "Services",
    "Holdings",
    "Partners",
    "Health",
    "Clinic",
    "Hospital",
    "Insurance",
    "University",
    "Foundation",
    "Institute",
    "Store",
    "Shop",
    "Market",
    "Pharmacy",
    "Logistics",
    "Travel",
    "Motors",
    "Energy",
    "Media",
    "Capital",
    "Ventures",
    "Consulting",
    "Studio",
    "Cloud",
    "Analytics",
    "Global",
    "International",
    "Anthropic",
    "OpenAI",
    "Google",
    "Microsoft",
    "Amazon",
    "Azure",
    "Bedrock",
    "Vertex",
    "Mistral",
    "Cohere",
    "Meta",
    "Apple",
    "Acme",
    "Globex",
    "Initech",
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Hooli",
    "Umbrella",
];

/// Capitalised particles inside a name (`Margaud Le Goff`, `Ana De Souza`).
const CAP_PARTICLES: &[&str] = &[
    "Le", "La", "De", "Del", "Della", "Van", "Von", "Da", "Di", "Du", "Dos", "El", "Al", "Ten",
    "Ter",
];

#[cfg(test)]
mod tests {
    use super::STOP_WORDS;

    #[test]
    fn stop_words_sorted() {
        let mut s = STOP_WORDS.to_vec();
        s.sort_unstable();
        assert_eq!(s, STOP_WORDS);
    }
}
