//! Shape-first detectors: secrets with documented prefixes, e-mail, cards, IBANs, SSNs,
//! IP addresses and phone numbers, plus the look-alike vetoes.

use regex::Regex;
use regex_automata::meta;

use crate::util::{
    Alt, Hit, Landmarks, anchored_re, back, find_at_starts, left_ok, nearest_cue, re, right_ok,
};
use crate::validate;
use crate::{EntityType, Sink};

pub(crate) struct Patterns {
    /// Searched only at the starts the cue pass reports.
    secret_tokens: meta::Regex,
    pem: Regex,
    conn_string: Regex,
    /// `key=value` secrets, `Authorization:` headers and passwords typed in prose.
    pub(crate) keyed_secret: Alt,
    email: Regex,
    /// Searched only at the starts [`veto_starts`] finds.
    vetoes: meta::Regex,
    version_cue: Regex,
    phone_cue: Regex,
    code_cue: Regex,
    card_cue: Regex,
    card_neg_cue: Regex,
}

impl Patterns {
    pub(crate) fn regexes(&self) -> Vec<(&'static str, &Regex)> {
        vec![
            ("patterns::pem", &self.pem),
            ("patterns::conn_string", &self.conn_string),
            ("patterns::email", &self.email),
            ("patterns::version_cue", &self.version_cue),
            ("patterns::phone_cue", &self.phone_cue),
            ("patterns::code_cue", &self.code_cue),
            ("patterns::card_cue", &self.card_cue),
            ("patterns::card_neg_cue", &self.card_neg_cue),
        ]
    }
}

/// API object id prefixes (`msg_…`, `toolu_…`, `cus_…`) recognised as look-alikes.
const ID_PREFIXES: &[&str; 37] = &[
    "msg", "toolu", "req", "call", "cus", "txn", "ch", "pi", "pm", "py", "in", "ii", "sub", "evt",
    "file", "run", "asst", "thread", "batch", "resp", "prod", "price", "seti", "src", "tok",
    "card", "acct", "sess", "cs", "po", "tr", "re", "si", "ba", "btok", "ord", "inv",
];
/// Model families whose names (`claude-…`, `gpt-…`) are look-alikes.
const MODEL_FAMILIES: &[&str; 9] = &[
    "claude", "gpt", "o1", "o3", "o4", "gemini", "mistral", "llama", "command",
];

/// Words that introduce identifiers which merely share a phone or card shape.
const CODE_CUES: &str = r"(?i)(?-u:\b)(?:ticket|tickets|sku|skus|tracking|track|suivi|sendungsnummer|sendung|seguimiento|part|parts|item|article|artikel|art\.-?nr|order|orders|commande|pedido|bestellung|invoice|rechnung|factura|facture|case|booking|reservation|reference|ref|lab|serial|model|build|version|release|vorgang|expediente|dossier|incident|inc|job|batch|lot|container|awb|shipment|parcel|colis|paket|paquete|account|konto|compte|cuenta|id)(?-u:\b)";

const PHONE_CUES: &str = r"(?i)(?:(?-u:\b)(?:phone|phones|tel|t[ée]l|telephone|t[ée]l[ée]phone|tel[ée]fono|telefon|telefonnummer|handy|handynummer|rufnummer|mobile|mobil|m[óo]vil|cell|cellphone|call|calls|fax|whatsapp|sms|text|reach|contact|contacto|kontakt|line|portable|numéro|n[úu]mero|hotline|dial|ring|anrufen|erreichen|llámame|appelez)(?-u:\b)|(?-u:\b)unter(?-u:\b))";

/// Provider tokens with documented prefixes. Everything here is a SECRET, so one
/// alternation is enough. Every branch starts with a literal, so the shared cue pass
/// ([`crate::scan::Shared`]) finds where a match can start in the same table walk as the
/// cue words, and the pattern is only searched there.
pub(crate) const SECRET_TOKENS: &str = concat!(
    r"sk-ant-[A-Za-z0-9_\-]{20,}",
    r"|sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}",
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}",
    r"|gh[pousr]_[A-Za-z0-9]{30,255}",
    r"|github_pat_[A-Za-z0-9_]{22,255}",
    r"|xox[abposre]-[A-Za-z0-9\-]{10,}",
    r"|xapp-\d-[A-Za-z0-9\-]{10,}",
    r"|hooks\.slack\.com/services/[A-Za-z0-9/_]{20,}",
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    r"|AIza[0-9A-Za-z_\-]{35}",
    r"|glpat-[A-Za-z0-9_\-]{20,}",
    r"|npm_[A-Za-z0-9]{36}",
    r"|hf_[A-Za-z0-9]{30,}",
);

/// Cues that a long digit run is a payment card.
const CARD_CUES: &str = r"(?i)(?-u:\b)(?:card|cards|carte|tarjeta|karte|kreditkarte|visa|mastercard|amex|discover|pan|cc|credit|debit|payment|charge|charged|paid|pay|number)(?-u:\b)";
const CARD_NEG_CUES: &str = r"(?i)(?-u:\b)(?:tracking|reference|ref|order|invoice|sendungsnummer|seguimiento|suivi|ticket|booking|case|awb|shipment|parcel|colis|paket|paquete|vorgang|expediente|dossier|serial|imei|account|konto|compte|cuenta)(?-u:\b)";

impl Patterns {
    pub(crate) fn new() -> Patterns {
        Patterns {
            secret_tokens: anchored_re(SECRET_TOKENS),
            pem: re(
                r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
            ),
            conn_string: re(
                r"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:/@\x22'<>]{0,64}:[^\s@\x22'<>]{1,128}@",
            ),
            // `PASSWORD=…`, `"password": "…"`, `api_key: …`: the key must end with a secret
            // word, so `max_tokens` or `token_count` do not qualify.
            keyed_secret: Alt::new(&[
                concat!(
                    r"(?i)",
                    r"(?:password|passwd|passphrase|pgpassword|pwd|pass|secret|secret[_\-]?key|client[_\-]?secret|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|auth[_\-]?token|access[_\-]?token|refresh[_\-]?token|bearer[_\-]?token|session[_\-]?token|token|signing[_\-]?key|credentials?)",
                    r"(?:[\x22'\s]{0,6}(?:=|:|=>|:=)[\s\x22']{0,6}|>)",
                ),
                r"(?i)(?-u:\b)(?:authorization[\x22'\s]*[:=][\s\x22']*(?:bearer|token|basic|bot)|bearer)\s+",
                concat!(
                    r"(?i)(?-u:\b)(?:password|passwort|kennwort|mot de passe|contrase(?:ñ|n)a|clave|senha|passcode|pwd|pw)",
                    r"\s*(?:is|was|ist|lautet|est|es|era|:|=|->)\s*:?\s*[\x22'“«]?",
                ),
            ]),
            email: re(
                r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
            ),
            vetoes: anchored_re(&veto_pattern()),
            version_cue: re(
                r"(?i)(?:(?-u:\b)v|version|release|build|firmware|kernel|ver\.?|==|>=|<=|~=|_VERSION=|image:?)[\s:=\x22']*$",
            ),
            phone_cue: re(PHONE_CUES),
            code_cue: re(CODE_CUES),
            card_cue: re(CARD_CUES),
            card_neg_cue: re(CARD_NEG_CUES),
        }
    }

    pub(crate) fn detect(
        &self,
        t: &str,
        keyed: &[Hit],
        token_starts: &[usize],
        marks: &Landmarks,
        starts: &mut Vec<usize>,
        sink: &mut Sink,
    ) {
        let b = t.as_bytes();
        self.secrets(t, keyed, token_starts, sink);
        self.emails(t, sink);
        let runs = &marks.runs;
        if runs.is_empty() {
            return;
        }
        veto_starts(b, marks, starts);
        for (ms, me) in find_at_starts(&self.vetoes, t, starts) {
            let s = &t[ms..me];
            // A bare hex run is only an id when it mixes letters and digits; plain words
            // ("deadline") and plain numbers are left to the other detectors.
            if s.bytes().all(|c| c.is_ascii_hexdigit())
                && (s.bytes().all(|c| c.is_ascii_digit()) && s.len() < 19
                    || s.bytes().all(|c| c.is_ascii_alphabetic()))
            {
                continue;
            }
            sink.veto(ms, me);
        }
        self.ibans(t, runs, sink);
        self.ips(t, marks, sink);
        // One pass finds every run of digits and separators; cards, SSNs and phones are
        // all such runs, so each run is classified in code instead of three more passes.
        self.numeric_runs(t, runs, sink);
    }

    /// `token_starts`: where a [`SECRET_TOKENS`] match can start, from the cue pass.
    fn secrets(&self, t: &str, keyed: &[Hit], token_starts: &[usize], sink: &mut Sink) {
        let b = t.as_bytes();
        for (s, e) in find_at_starts(&self.secret_tokens, t, token_starts) {
            if left_ok(b, s) || b.get(s.wrapping_sub(1)) == Some(&b'/') {
                sink.push(s, e, EntityType::Secret);
            }
        }
        if memchr::memmem::find(t.as_bytes(), b"-----BEGIN").is_some() {
            for m in self.pem.find_iter(t) {
                sink.push(m.start(), m.end(), EntityType::Secret);
            }
        }
        // The password ends at an `@`: without one there is nothing to find.
        if memchr::memchr(b'@', t.as_bytes()).is_some()
            && memchr::memmem::find(t.as_bytes(), b"://").is_some()
        {
            for m in self.conn_string.find_iter(t) {
                // `scheme://user:PASSWORD@`: the password runs from the first colon after
                // the scheme to the closing `@`.
                let v = m.as_str();
                let Some(user_at) = v.find("://").map(|p| p + 3) else {
                    continue;
                };
                let Some(colon) = v[user_at..].find(':').map(|p| user_at + p) else {
                    continue;
                };
                let (s, e) = (m.start() + colon + 1, m.end() - 1);
                if e > s && !is_placeholder(&t[s..e]) {
                    sink.push(s, e, EntityType::Secret);
                }
            }
        }
        for m in keyed {
            match Some(m.kind) {
                Some(0) => {
                    // The key may carry a prefix (`POSTGRES_PASSWORD`, `x-api-key`) but
                    // must not be the tail of another word (`bypass`).
                    if m.start() > 0 && b[m.start() - 1].is_ascii_alphanumeric() {
                        continue;
                    }
                    let (s, e) = secret_value(t, m.end());
                    if e > s && plausible_secret(&t[s..e]) && !prose_follows(t, s, e) {
                        sink.push(s, e, EntityType::Secret);
                    }
                }
                Some(1) => {
                    let (s, e) = secret_value(t, m.end());
                    if e - s >= 12 && plausible_secret(&t[s..e]) {
                        sink.push(s, e, EntityType::Secret);
                    }
                }
                Some(_) => {
                    let (s, mut e) = secret_value(t, m.end());
                    // Prose ends the sentence right after the password.
                    while e > s && matches!(b[e - 1], b'.' | b',' | b';' | b'!' | b'?' | b')') {
                        e -= 1;
                    }
                    if e > s && plausible_chat_password(&t[s..e]) {
                        sink.push(s, e, EntityType::Secret);
                    }
                }
                None => {}
            }
        }
    }

    fn emails(&self, t: &str, sink: &mut Sink) {
        if memchr::memchr(b'@', t.as_bytes()).is_none() {
            return;
        }
        let b = t.as_bytes();
        for m in self.email.find_iter(t) {
            let mut s = m.start();
            while s < m.end() && matches!(b[s], b'.' | b'-' | b'+' | b'%') {
                s += 1;
            }
            if !right_ok(b, m.end()) && b.get(m.end()) != Some(&b'.') {
                continue;
            }
            // `scheme://user:password@host` is a credential, not a mailbox.
            if s > 0 && b[s - 1] == b':' {
                let ls = back(t, s, 80);
                if let Some(line) = t[ls..s].rsplit(['\n', ' ', '\x22', '\'']).next()
                    && line.contains("://")
                {
                    continue;
                }
            }
            sink.push(s, m.end(), EntityType::Email);
        }
    }

    /// IBAN candidates (two capitals, two digits, then up to 34 alphanumerics optionally
    /// grouped by single spaces or dashes). The two digits begin a digit run, so only the
    /// runs are visited rather than every byte; a candidate's extent is skipped before the
    /// next one is considered.
    fn ibans(&self, t: &str, runs: &[(usize, usize)], sink: &mut Sink) {
        let b = t.as_bytes();
        let mut next = 0;
        for &(d, run_end) in runs {
            if d < 2 || run_end - d < 2 || d - 2 < next {
                continue;
            }
            let i = d - 2;
            if !(b[i].is_ascii_uppercase() && b[i + 1].is_ascii_uppercase() && left_ok(b, i)) {
                continue;
            }
            let start = i;
            let mut e = i + 4;
            let mut n = 0;
            while n < 34 {
                let step = if e < b.len() && (b[e] == b' ' || b[e] == b'-') {
                    1
                } else {
                    0
                };
                match b.get(e + step) {
                    Some(c) if c.is_ascii_uppercase() || c.is_ascii_digit() => {
                        e += step + 1;
                        n += 1;
                    }
                    _ => break,
                }
            }
            next = e.max(start + 1);
            if n < 10 {
                continue;
            }
            let m_start = start;
            let m_end = e;
            let Some(want) = validate::iban_country_len(&b[m_start..m_start + 2]) else {
                continue;
            };
            let mut compact = Vec::with_capacity(34);
            let mut end = m_start;
            for (k, &c) in b[m_start..m_end].iter().enumerate() {
                if c.is_ascii_alphanumeric() {
                    compact.push(c);
                    if compact.len() == want {
                        end = m_start + k + 1;
                        break;
                    }
                }
            }
            if compact.len() < want {
                continue;
            }
            // The country length must end the value: "DE89…00" followed directly by more
            // alphanumerics is some other identifier.
            if end < b.len() && b[end].is_ascii_alphanumeric() {
                continue;
            }
            if validate::iban_mod97(&compact) {
                sink.push(m_start, end, EntityType::Iban);
            } else {
                sink.veto(m_start, end);
            }
        }
    }

    /// Card numbers inside a numeric run: the whole run or a prefix ending at a group
    /// boundary (a card followed by another number).
    fn card_in_run(&self, t: &str, start: usize, run_end: usize, sink: &mut Sink) -> bool {
        let b = t.as_bytes();
        let digits = b[start..run_end]
            .iter()
            .filter(|c| c.is_ascii_digit())
            .count();
        if digits < 12 {
            return false;
        }
        {
            let m_start = start;
            let mut end = run_end;
            // Try the whole run, then shorter prefixes ending at a group boundary, so a
            // card followed by another number is still found.
            loop {
                if let Some(ok) = self.card_at(t, m_start, end) {
                    if ok {
                        sink.push(m_start, end, EntityType::CreditCard);
                    }
                    return ok;
                }
                match t[m_start..end].rfind([' ', '-']) {
                    Some(p) if p >= 12 => end = m_start + p,
                    _ => return false,
                }
            }
        }
    }

    /// `Some(true)` a card, `Some(false)` card-shaped but rejected (stop trimming),
    /// `None` not card-shaped (try a shorter prefix).
    fn card_at(&self, t: &str, s: usize, e: usize) -> Option<bool> {
        let b = t.as_bytes();
        if !right_ok(b, e) {
            return None;
        }
        let span = &b[s..e];
        let digits: Vec<u8> = span.iter().copied().filter(u8::is_ascii_digit).collect();
        if !(12..=19).contains(&digits.len()) {
            return None;
        }
        let seps: Vec<u8> = span
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        if let Some(&first) = seps.first() {
            if seps.iter().any(|&c| c != first) {
                return None;
            }
            let groups: Vec<usize> = t[s..e].split(first as char).map(str::len).collect();
            if groups.iter().any(|&g| !(3..=6).contains(&g)) || groups[0] != 4 {
                return None;
            }
        }
        if !validate::luhn(&digits) || !validate::card_brand_ok(&digits) {
            return Some(false);
        }
        let w = &t[back(t, s, 48)..s];
        Some(nearest_cue(w, &self.card_cue, &self.card_neg_cue) != Some(false))
    }

    /// `123-45-6789` or `123 45 6789` exactly.
    fn ssn_at(t: &str, s: usize, e: usize) -> bool {
        let v = t.as_bytes();
        if e - s != 11 {
            return false;
        }
        let w = &v[s..e];
        let sep = w[3];
        if !(sep == b'-' || sep == b' ') || w[6] != sep {
            return false;
        }
        let digits_ok = w
            .iter()
            .enumerate()
            .all(|(i, c)| i == 3 || i == 6 || c.is_ascii_digit());
        digits_ok && validate::ssn_ok(&t[s..s + 3], &t[s + 4..s + 6], &t[s + 7..e])
    }

    fn ips(&self, t: &str, marks: &Landmarks, sink: &mut Sink) {
        let b = t.as_bytes();
        for (s, e) in ipv4_matches(b, &marks.runs) {
            if s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'.' || b[s - 1] == b'_') {
                continue;
            }
            if e < b.len()
                && (b[e].is_ascii_alphanumeric()
                    || (b[e] == b'.' && b.get(e + 1).is_some_and(u8::is_ascii_digit)))
            {
                continue;
            }
            if !validate::ipv4_is_host(&t[s..e]) {
                continue;
            }
            // `1.2.3.4` after `version`/`v`/`==` is a release, not a host.
            let w = &t[back(t, s, 24)..s];
            if self.version_cue.is_match(w) {
                continue;
            }
            // Embedded in an IPv6 literal, handled there.
            if s > 0 && b[s - 1] == b':' {
                continue;
            }
            sink.push(s, e, EntityType::IpAddress);
        }
        for (s, mut e) in ipv6_matches(b, &marks.seps) {
            if s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_' || b[s - 1] == b'.') {
                continue;
            }
            if e < b.len() && b[e].is_ascii_alphanumeric() {
                continue;
            }
            while e > s && matches!(b[e - 1], b'.' | b':') && !t[s..e].ends_with("::") {
                e -= 1;
            }
            let cand = &t[s..e];
            if cand.bytes().filter(u8::is_ascii_hexdigit).count() < 4 {
                continue;
            }
            if validate::ipv6_is_host(cand) {
                sink.push(s, e, EntityType::IpAddress);
            }
        }
    }

    fn numeric_runs(&self, t: &str, runs: &[(usize, usize)], sink: &mut Sink) {
        let b = t.as_bytes();
        let mut pos = 0;
        let mut k = 0;
        while let Some((run_s, run_e)) = next_numeric_run(b, runs, &mut k, pos) {
            pos = run_e;
            // SSNs have nine digits, cards twelve or more, phones seven or more (trimming
            // parentheses keeps every digit); most runs are dates, times and amounts.
            if b[run_s..run_e]
                .iter()
                .filter(|c| c.is_ascii_digit())
                .count()
                < 7
            {
                continue;
            }
            let (mut s, mut e) = (run_s, run_e);
            let digit_start = s + b[s..e].iter().position(u8::is_ascii_digit).unwrap_or(0);
            if left_ok(b, digit_start) {
                if right_ok(b, e) && Self::ssn_at(t, digit_start, e) {
                    sink.push(digit_start, e, EntityType::UsSsn);
                    continue;
                }
                if b[s] != b'+' && b[s] != b'(' && self.card_in_run(t, s, e, sink) {
                    continue;
                }
            }
            // Trim unbalanced parentheses at either end.
            if b[s] == b'(' && !t[s..e].contains(')') {
                s += 1;
            }
            while e > s && (b[e - 1] == b')' && !t[s..e - 1].contains('(')) {
                e -= 1;
            }
            if e <= s || !left_ok(b, s) || !right_ok(b, e) {
                continue;
            }
            if let Some(ok) = self.phone_ok(t, s, e)
                && ok
            {
                sink.push(s, e, EntityType::Phone);
            }
        }
    }

    fn phone_ok(&self, t: &str, s: usize, e: usize) -> Option<bool> {
        let v = &t[s..e];
        let digits = v.bytes().filter(u8::is_ascii_digit).count();
        // Cheap shape checks first: most numeric runs (dates, amounts, ids) fail here and
        // never pay for the cue lookup.
        if !(7..=15).contains(&digits) {
            return Some(false);
        }
        let mut groups: [&str; 8] = [""; 8];
        let mut ng = 0;
        for g in v
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
        {
            if ng == groups.len() {
                return Some(false);
            }
            groups[ng] = g;
            ng += 1;
        }
        let groups = &groups[..ng];
        let intl = v.starts_with('+') || (v.starts_with("00") && !v.starts_with("000"));
        // Dates, times and versions share the shape.
        let all_dots = v
            .bytes()
            .filter(|c| !c.is_ascii_digit() && *c != b'+')
            .all(|c| c == b'.');
        if all_dots && groups.len() >= 4 && !v.starts_with('+') {
            return Some(false);
        }
        let mut lens = [0usize; 8];
        for (l, g) in lens.iter_mut().zip(groups) {
            *l = g.len();
        }
        let g = &lens[..groups.len()];
        // North American numbering: area code and exchange never start with 0 or 1.
        let area = if g == [3, 3, 4] || g == [3, 7] {
            Some(groups[0])
        } else if g == [1, 3, 3, 4] && groups[0] == "1" {
            Some(groups[1])
        } else {
            None
        };
        let nanp =
            area.is_some_and(|a| !a.starts_with(['0', '1'])) && (g != [3, 7] || v.starts_with('('));
        let trunk = v.starts_with('0')
            && (10..=12).contains(&digits)
            && groups.len() >= 2
            && groups[0].len() <= 6;
        let paren = v.starts_with('(') && (9..=12).contains(&digits);
        let shaped =
            (intl && (8..=15).contains(&digits) && groups.len() <= 6) || nanp || trunk || paren;
        if !shaped && !(9..=13).contains(&digits) {
            return Some(false);
        }
        let w = &t[back(t, s, 40)..s];
        let cue = nearest_cue(w, &self.phone_cue, &self.code_cue);
        if cue == Some(false) {
            return Some(false);
        }
        let has_cue = cue == Some(true);
        if v.contains('/') && !has_cue {
            return Some(false);
        }
        Some(shaped || has_cue)
    }
}

/// Look-alikes: UUIDs, digests, timestamps, API object ids, model names, ticket and
/// tracking numbers, versions. Keep [`veto_starts`] in step with the branches: it must find
/// every place where one of them can begin.
fn veto_pattern() -> String {
    format!(
        concat!(
            r"(?i:(?-u:\b)[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}(?-u:\b))",
            r"|(?-u:\b)sha(?:1|256|512):[0-9a-fA-F]{{16,}}",
            r"|(?-u:\b)0x[0-9a-fA-F]{{16,}}(?-u:\b)",
            r"|(?-u:\b)\d{{4}}-\d{{2}}-\d{{2}}[T ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:[.,]\d+)?)?(?:Z|[+\-]\d{{2}}:?\d{{2}})?",
            r"|(?-u:\b)(?:{ids})_[A-Za-z0-9]{{6,}}",
            r"|(?-u:\b)chatcmpl-[A-Za-z0-9]{{6,}}",
            r"|(?-u:\b)(?:{models})-[A-Za-z0-9.\-]+",
            r"|(?-u:\b)[A-Z]{{2,6}}-\d{{2,6}}-\d{{3,10}}(?-u:\b)",
            r"|(?-u:\b)[A-Z]{{2,6}}-\d{{5,12}}(?-u:\b)",
            r"|(?-u:\b)\d{{3}}-\d{{7}}-\d{{7}}(?-u:\b)",
            r"|(?-u:\b)1Z[0-9A-Z]{{16}}(?-u:\b)",
            r"|(?-u:\b)v\d+(?:\.\d+){{1,3}}(?:-[A-Za-z0-9.]+)?(?-u:\b)",
            r"|(?-u:\b)\d+\.\d+\.\d+(?:\.\d+)?-(?:rc|alpha|beta|dev|pre)[.\d]*",
            r"|(?-u:\b)\d{{19}}(?-u:\b)",
        ),
        ids = ID_PREFIXES.join("|"),
        models = MODEL_FAMILIES.join("|"),
    )
}

/// Every position where a branch of the veto pattern can begin, sorted: a necessary
/// condition per branch, checked on the word that starts there (the branches all begin at
/// an ASCII word boundary). Words before a `-`: eight hex digits (UUID), `chatcmpl`, two
/// to six capitals, three or four digits, or a model family; before a `_`: an id prefix;
/// before a `:`: `sha1`/`sha256`/`sha512`. Digit runs: `0x…`, `1Z…`, nineteen digits, or
/// digits (also after a `v`) followed by `.` and a digit, twice unless after a `v`.
/// Everything else is left to the anchored search, which runs at a handful of places per
/// text instead of the automaton running over every byte.
fn veto_starts(b: &[u8], marks: &Landmarks, starts: &mut Vec<usize>) {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let word_start = |p: usize| p == 0 || !word(b[p - 1]);
    starts.clear();
    for &q in &marks.seps {
        // The run of ASCII alphanumerics before the separator, up to nine bytes.
        let w = alnum_run_before(b, q);
        let p = q - w;
        if !(2..=8).contains(&w) || !word_start(p) {
            continue;
        }
        let v = &b[p..q];
        let key = match b.get(p..p + 8) {
            // `pack(v)`: the eight bytes from `p`, those past `v` masked off.
            Some(x) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(x);
                u64::from_le_bytes(word) & (u64::MAX >> (64 - 8 * w))
            }
            None => pack(v),
        };
        let shaped = match b[q] {
            b'-' => match w {
                8 => v.iter().all(u8::is_ascii_hexdigit) || v == b"chatcmpl",
                _ => {
                    (w <= 6 && v.iter().all(u8::is_ascii_uppercase))
                        || ((3..=4).contains(&w) && v.iter().all(u8::is_ascii_digit))
                        || MODEL_KEYS.contains(&key)
                }
            },
            b'_' => ID_KEYS.contains(&key),
            _ => matches!(v, b"sha1" | b"sha256" | b"sha512"),
        };
        if shaped {
            starts.push(p);
        }
    }
    // Digits, a dot and a digit, from `k` on: where the next group of a version starts.
    let dot_digit = |k: usize| {
        let k = k + b
            .get(k..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
        (b.get(k) == Some(&b'.') && b.get(k + 1).is_some_and(u8::is_ascii_digit)).then_some(k + 1)
    };
    for &(d, e) in &marks.runs {
        let next = b.get(e).copied();
        let prefixed =
            e - d == 1 && matches!((b[d], next), (b'0', Some(b'x')) | (b'1', Some(b'Z')));
        // Most runs end in something else: one test rules them out.
        if next != Some(b'.') && e - d < 19 && !prefixed {
            continue;
        }
        if word_start(d) {
            if prefixed || e - d >= 19 || dot_digit(d).and_then(dot_digit).is_some() {
                starts.push(d);
            }
        } else if b[d - 1] == b'v' && word_start(d - 1) && next_is_dot_digit(b, e) {
            starts.push(d - 1);
        }
    }
    starts.sort_unstable();
    starts.dedup();
}

/// How many ASCII alphanumeric bytes directly precede `q`, counting at most nine: the
/// eight bytes before `q` are classified at once (SWAR), which costs no branch per byte.
fn alnum_run_before(b: &[u8], q: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let Some(chunk) = q.checked_sub(9).and_then(|s| b.get(s + 1..q)) else {
        let mut p = q;
        while p > 0 && q - p < 9 && b[p - 1].is_ascii_alphanumeric() {
            p -= 1;
        }
        return q - p;
    };
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    let x = u64::from_le_bytes(word);
    // High bit of each byte whose low seven bits lie in `lo..=hi`; with the high bits
    // cleared no byte carries into the next.
    let in_range = |v: u64, lo: u8, hi: u8| {
        let low = v & !HIGH;
        let ge = low + u64::from(0x80 - lo) * ONES;
        let gt = low + u64::from(0x7F - hi) * ONES;
        ge & !gt & HIGH
    };
    let alnum = (in_range(x, b'0', b'9') | in_range(x | (0x20 * ONES), b'a', b'z')) & !x & HIGH;
    // The byte before `q` is the most significant: count alphanumerics from the top.
    let run = ((!alnum & HIGH).leading_zeros() / 8) as usize;
    if run == 8 && b[q - 9].is_ascii_alphanumeric() {
        9
    } else {
        run
    }
}

fn next_is_dot_digit(b: &[u8], e: usize) -> bool {
    b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit)
}

/// Up to eight bytes as one integer (zero-padded; the words compared contain no NUL), so
/// a word is compared with a short list without a `memcmp` call per entry.
const fn pack(v: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < v.len() && i < 8 {
        w |= (v[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// [`pack`] of every word of a list, at compile time.
const fn packed<const N: usize>(words: &[&str; N]) -> [u64; N] {
    let mut out = [0u64; N];
    let mut i = 0;
    while i < N {
        out[i] = pack(words[i].as_bytes());
        i += 1;
    }
    out
}

const ID_KEYS: [u64; ID_PREFIXES.len()] = packed(ID_PREFIXES);
const MODEL_KEYS: [u64; MODEL_FAMILIES.len()] = packed(MODEL_FAMILIES);

/// The matches `find_iter` would report for `\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}` (ASCII
/// digits), found from the digit runs instead of a regex pass over every byte. A match
/// can only start in a run followed by a dot, at most three digits before it (not inside
/// the previous match); what follows the dot does not depend on where in the run it
/// starts, so the leftmost start either matches or the run is passed.
fn ipv4_matches(b: &[u8], runs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let digits_at = |k: usize| {
        b.get(k..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let mut out = Vec::new();
    let mut pos = 0;
    for &(d, e) in runs {
        if e <= pos || b.get(e) != Some(&b'.') {
            continue;
        }
        let start = d.max(pos).max(e.saturating_sub(3));
        let mut k = e + 1;
        let mut dotted = true;
        for _ in 0..2 {
            let n = digits_at(k);
            if !(1..=3).contains(&n) || b.get(k + n) != Some(&b'.') {
                dotted = false;
                break;
            }
            k += n + 1;
        }
        let n = digits_at(k);
        if !dotted || n == 0 {
            continue;
        }
        pos = k + n.min(3);
        out.push((start, pos));
    }
    out
}

/// The matches `find_iter` would report for
/// `[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*`, found from the colons instead of a
/// regex pass over every byte (`seps` are the text's separators, [`Landmarks`]). A match
/// needs a colon followed by at most four hex digits
/// and another colon (JSON and prose colons are followed by a space or quote, so few
/// qualify); it starts up to four hex digits before that colon and runs greedily over
/// hex digits, colons and dots.
fn ipv6_matches(b: &[u8], seps: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for &c in seps {
        if c < pos || b[c] != b':' {
            continue;
        }
        let h = b[c + 1..]
            .iter()
            .take(5)
            .take_while(|x| x.is_ascii_hexdigit())
            .count();
        if h > 4 || b.get(c + 1 + h) != Some(&b':') {
            continue;
        }
        let mut start = c;
        while start > pos && c - start < 4 && b[start - 1].is_ascii_hexdigit() {
            start -= 1;
        }
        let mut end = c + 2 + h;
        while end < b.len() && (b[end].is_ascii_hexdigit() || matches!(b[end], b':' | b'.')) {
            end += 1;
        }
        out.push((start, end));
        pos = end;
    }
    out
}

/// Next run of digit groups joined by single separators (`+49 (0)30 123-45`, `4111 1111
/// …`, `10.0.0.1`) at or after `from`: a hand-written scanner standing in for a regex
/// pass. It starts at the first digit run (of `runs`, from index `*k` on) ending after
/// `from`.
fn next_numeric_run(
    b: &[u8],
    runs: &[(usize, usize)],
    k: &mut usize,
    from: usize,
) -> Option<(usize, usize)> {
    while runs.get(*k).is_some_and(|&(_, e)| e <= from) {
        *k += 1;
    }
    let i = runs.get(*k)?.0.max(from);
    let mut s = i;
    if s > 0 && b[s - 1] == b'(' {
        s -= 1;
    }
    if s > 0 && b[s - 1] == b'+' {
        s -= 1;
    }
    // Each group of digits is one of `runs`: its end is read off instead of scanned.
    let mut j = *k;
    let mut e;
    let mut groups = 0;
    loop {
        e = runs.get(j).map_or(b.len(), |&(_, end)| end);
        groups += 1;
        if groups >= 10 {
            break;
        }
        // Separators between groups: one of ` .-/`, or a parenthesis with an optional
        // space (`(0)30`, `(555) 123`, `+1 (555)`).
        let mut k = e;
        if k < b.len() && b[k] == b')' {
            k += 1;
            if k < b.len() && b[k] == b' ' {
                k += 1;
            }
        } else if k < b.len() && matches!(b[k], b' ' | b'.' | b'-' | b'/') {
            k += 1;
        }
        if k < b.len() && b[k] == b'(' {
            k += 1;
        }
        if k > e && k < b.len() && b[k].is_ascii_digit() {
            // Only separators lie between `e` and `k`: the next run starts at `k`.
            j += 1;
            continue;
        }
        // A closing parenthesis directly after the last group belongs to the run.
        if e < b.len() && b[e] == b')' && b[s..e].contains(&b'(') {
            e += 1;
        }
        break;
    }
    Some((s, e))
}

/// The value after `key=` / `"key": "`. A quoted value runs to its closing quote (so
/// `"Tr0ub4dor&3"` stays whole); a bare one stops at whitespace or a delimiter such as
/// `&`, `;` or `,` (query strings, DSNs, CSV).
fn secret_value(t: &str, start: usize) -> (usize, usize) {
    let b = t.as_bytes();
    let mut e = start;
    if start > 0 && matches!(b[start - 1], b'\x22' | b'\'') {
        let q = b[start - 1];
        let limit = (start + 512).min(b.len());
        while e < limit && b[e] != q && b[e] != b'\n' && b[e] != b'\\' {
            e += 1;
        }
        if e < limit && b[e] == q {
            return (start, e);
        }
        e = start;
    }
    while e < b.len()
        && !matches!(
            b[e],
            b' ' | b'\t'
                | b'\n'
                | b'\r'
                | b'\x22'
                | b'\''
                | b'`'
                | b','
                | b';'
                | b'&'
                | b'}'
                | b']'
                | b'<'
                | b'>'
        )
    {
        e += 1;
    }
    (start, e)
}

/// "credentials: move them into…": an all-lowercase word followed by more words is prose,
/// not a value.
fn prose_follows(t: &str, s: usize, e: usize) -> bool {
    let v = &t[s..e];
    if !v.bytes().all(|c| c.is_ascii_lowercase()) || v.len() > 12 {
        return false;
    }
    let rest = t[e..].strip_prefix(' ').unwrap_or("");
    rest.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    v.len() < 4
        || v.starts_with('$')
        || v.starts_with('%')
        || v.starts_with('{')
        || v.starts_with('<')
        || v.starts_with('[')
        || v.starts_with('(')
        || v.chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.' || c == '•')
        || matches!(
            l.as_str(),
            "null"
                | "none"
                | "true"
                | "false"
                | "redacted"
                | "[redacted]"
                | "undefined"
                | "string"
                | "required"
                | "optional"
                | "hidden"
        )
        || l.starts_with("os.environ")
        || l.starts_with("process.env")
        || l.starts_with("env(")
        || l.starts_with("env.")
        || l.starts_with("getenv")
        || l.starts_with("secrets.")
        || l.contains("redacted")
}

fn plausible_secret(v: &str) -> bool {
    if is_placeholder(v) {
        return false;
    }
    // Pure numbers are counts, ports or ids rather than secrets.
    if v.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return false;
    }
    // `read_key(path)?`, `os.getenv("X")`: code computing the value, not the value.
    let call = v.find('(').is_some_and(|p| {
        p > 0
            && v[..p]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':'))
    });
    !call
}

fn plausible_chat_password(v: &str) -> bool {
    if is_placeholder(v) || v.len() < 5 {
        return false;
    }
    let l = v.to_lowercase();
    const NOT_PASSWORDS: &[&str] = &[
        "incorrect",
        "wrong",
        "expired",
        "invalid",
        "reset",
        "required",
        "correct",
        "not",
        "too",
        "the",
        "being",
        "still",
        "now",
        "also",
        "please",
        "never",
        "changed",
        "updated",
        "locked",
        "missing",
        "empty",
        "blank",
        "falsch",
        "abgelaufen",
        "ungültig",
        "incorrecto",
        "caducado",
        "incorrect.",
        "erroné",
        "expiré",
        "nicht",
        "pas",
        "no",
        "ne",
        "n'est",
    ];
    !NOT_PASSWORDS.contains(&l.as_str())
}

#[cfg(test)]
mod tests {
    use super::{SECRET_TOKENS, ipv4_matches, ipv6_matches, veto_pattern, veto_starts};
    use crate::util::{Landmarks, anchored_re, find_at_starts, re};

    #[test]
    fn alnum_run_matches_a_byte_loop() {
        let naive = |b: &[u8], q: usize| {
            let mut p = q;
            while p > 0 && q - p < 9 && b[p - 1].is_ascii_alphanumeric() {
                p -= 1;
            }
            q - p
        };
        let alphabet = b"aZ09_-:.@[`{/\x80\xffmQ5";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            for _ in 0..50 {
                let mut t = Vec::with_capacity(len);
                for _ in 0..len {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    t.push(alphabet[(seed % alphabet.len() as u64) as usize]);
                }
                for q in 0..=len {
                    assert_eq!(super::alnum_run_before(&t, q), naive(&t, q), "{t:?} {q}");
                }
            }
        }
        let all: Vec<u8> = (0..=255u8).collect();
        for q in 0..=all.len() {
            assert_eq!(super::alnum_run_before(&all, q), naive(&all, q));
        }
    }

    /// The hand-written scanners must report exactly what `find_iter` of the regexes they
    /// stand in for reports, on the dev texts and on edge cases.
    #[test]
    fn scanners_match_regex_reference() {
        let mut texts = crate::tests::dev_texts();
        // Upper-cased copies turn ids and hex into other shapes.
        let upper: Vec<String> = texts.iter().map(|t| t.to_uppercase()).collect();
        texts.extend(upper);
        texts.extend(
            [
                "1.2.3.4567.8.9.1 1234.5.6.7.8 1.2345.6.7.8 9.9.9 1.2.3.4. 10.0.0.1a",
                "fe80::1 ::1 abcdef:12: 1:2:3 2001:db8::8a2e:370:7334 12345:6:7 :: x::y",
                "a1b2c3d4-e5f6-4a5b-8c9d-0e1f2a3b4c5d _abcdef12-0000-0000-0000-000000000000",
                "sha256:0123456789abcdef0123 0x0123456789abcdef01 1Z999AA10123456784",
                "2026-08-06T03:20:59.084+02:00 2026-08-06 03:20 123-1234567-1234567",
                "msg_abc123xyz toolu_01AbCdEf resp_123456 xmsg_abcdefg foo_msg_abcdefg",
                "chatcmpl-abc123 claude-opus-4-6 o3-mini gpt-4o ABC-12345 AB-12-123 ABCDEFG-12345",
                "v1.2.3 v10.0 xv1.2 1.2.3-rc1 1.2.3.4-beta.2 1234567890123456789 v1.2.3-alpha",
                "sk-ant-api03-abcdefghijklmnopqrstuvwxyz ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "xoxb-1234567890-abc AKIAABCDEFGHIJKLMNOP eyJhbGciOi.eyJzdWIiOiIx.abcdefghijk",
                "hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXX sk_live_abcdefghijklmnop",
            ]
            .map(str::to_owned),
        );
        let vetoes = (anchored_re(&veto_pattern()), re(&veto_pattern()));
        let tokens = re(SECRET_TOKENS);
        let d = crate::Detector::new();
        let ipv4 = re(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}");
        let ipv6 = re(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*");
        let spans = |r: &regex::Regex, t: &str| -> Vec<(usize, usize)> {
            r.find_iter(t).map(|m| (m.start(), m.end())).collect()
        };
        for t in &texts {
            let b = t.as_bytes();
            let marks = Landmarks::of(b);
            let mut starts = Vec::new();
            veto_starts(b, &marks, &mut starts);
            let got: Vec<_> = find_at_starts(&vetoes.0, t, &starts).collect();
            assert_eq!(got, spans(&vetoes.1, t), "vetoes differ on {t:?}");
            let got = ipv4_matches(b, &marks.runs);
            assert_eq!(got, spans(&ipv4, t), "IPv4 differs on {t:?}");
            let got = ipv6_matches(b, &marks.seps);
            assert_eq!(got, spans(&ipv6, t), "IPv6 differs on {t:?}");
            let mut starts = Vec::new();
            d.cues.scan(t, &marks.runs, &mut starts);
            let got: Vec<_> = find_at_starts(&d.patterns.secret_tokens, t, &starts).collect();
            assert_eq!(got, spans(&tokens, t), "secret tokens differ on {t:?}");
        }
    }
}
