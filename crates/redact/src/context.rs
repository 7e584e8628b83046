//! Context-gated detectors: dates of birth, medical record numbers, passport numbers and
//! nine-digit SSNs. The value shapes are common (any date, any 7-digit number), so a cue
//! word in front of the value is what makes them sensitive.

use regex::Regex;

use crate::util::{Alt, Hit, left_ok, re, right_ok};
use crate::{EntityType, Sink};

pub(crate) const MONTHS: &str = concat!(
    "jan(?:uary|uar|vier|\\.)?|feb(?:ruary|ruar|\\.)?|f[ée]vr(?:ier|\\.)?|febrero|mar(?:ch|s|zo|\\.)?|m[äa]rz|",
    "apr(?:il|\\.)?|avr(?:il|\\.)?|abr(?:il|\\.)?|may|mai|mayo|jun(?:e|i|\\.)?|juin|junio|jul(?:y|i|\\.)?|juil(?:let|\\.)?|julio|",
    "aug(?:ust|\\.)?|ao[ûu]t|agosto|sep(?:tember|t|tiembre|tembre|\\.)?|setiembre|oct(?:ober|obre|\\.)?|okt(?:ober|\\.)?|octubre|",
    "nov(?:ember|embre|iembre|\\.)?|dec(?:ember|\\.)?|d[ée]c(?:embre|\\.)?|dez(?:ember|\\.)?|diciembre|ene(?:ro|\\.)?"
);

pub(crate) struct Context {
    date: Regex,
    /// Cues of every context type in one alternation, told apart by named group.
    pub(crate) cues: Alt,
    date_label: Regex,
}

impl Context {
    pub(crate) fn regexes(&self) -> Vec<(&'static str, &Regex)> {
        vec![
            ("context::date", &self.date),
            ("context::date_label", &self.date_label),
        ]
    }
}

impl Context {
    pub(crate) fn new() -> Context {
        let date = format!(
            concat!(
                r"(?i)(?-u:\b)(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}",
                r"|\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:\d{{4}}|\d{{2}})",
                r"|(?:{m})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}",
                r"|\d{{1,2}}(?:st|nd|rd|th|er|º|°)?\.?\s+(?:de\s+|of\s+)?(?:{m})\.?,?\s+(?:de\s+|del\s+)?\d{{4}})(?-u:\b)"
            ),
            m = MONTHS
        );
        Context {
            date: re(&date),
            cues: Alt::new(&[
                &format!("(?i:{DOB_CUES})"),
                &format!("(?i:{MRN_CUES})"),
                &format!("(?i:{PASSPORT_CUES})"),
                &format!("(?i:{SSN_CUES})"),
            ]),
            // Labels that make a later date something other than a birth date.
            date_label: re(concat!(
                r"(?i)(?-u:\b)(?:visit|admission|admitted|aufnahme|issued|issue|expir\w*|valid|created|updated|consultation|",
                r"consulta|visite|appointment|termin|cita|rendez|ordered|delivered|shipped|joined|start|hired|signed|",
                r"effective|due|paid|transaction|since|seit|until|bis|desde|depuis|date:|datum:|fecha:)"
            )),
        }
    }

    pub(crate) fn detect(&self, t: &str, hits: &[Hit], sink: &mut Sink) {
        let b = t.as_bytes();
        if !b.iter().any(u8::is_ascii_digit) {
            return;
        }
        let mut dob_cues: Vec<usize> = Vec::new();
        for m in hits {
            let kind = Some(m.kind);
            if kind == Some(0) {
                dob_cues.push(m.end());
            } else if kind == Some(1) {
                if let Some((s, e)) = value_after(t, m.end(), 28, MRN_FILLER)
                    && mrn_shape(&t[s..e])
                {
                    sink.push(s, e, EntityType::MedicalRecordNumber);
                }
            } else if kind == Some(2) {
                if let Some((s, e)) = value_after(t, m.end(), 40, PASSPORT_FILLER)
                    && passport_shape(&t[s..e])
                {
                    sink.push(s, e, EntityType::Passport);
                }
            } else if let Some((s, e)) = value_after(t, m.end(), 24, SSN_FILLER) {
                let v = &t[s..e];
                if v.len() == 9
                    && v.bytes().all(|c| c.is_ascii_digit())
                    && crate::validate::ssn_ok(&v[0..3], &v[3..5], &v[5..9])
                {
                    sink.push(s, e, EntityType::UsSsn);
                }
            }
        }
        if !dob_cues.is_empty() {
            self.dobs(t, &dob_cues, sink);
        }
    }

    /// Dates within 160 bytes after a birth-date cue, with no other date or date label
    /// between cue and date (so "DOB: … Visit date: March 21" keeps the visit out).
    fn dobs(&self, t: &str, cues: &[usize], sink: &mut Sink) {
        let b = t.as_bytes();
        let mut searched_to = 0usize;
        for (k, &cue_end) in cues.iter().enumerate() {
            let from = cue_end.max(searched_to);
            let next_cue = cues.get(k + 1).copied().unwrap_or(usize::MAX);
            let to = crate::util::fwd(t, cue_end, 160).min(next_cue.max(from));
            if from >= to {
                continue;
            }
            searched_to = to;
            // The first acceptable date after the cue is the birth date; any later date
            // has this one between it and the cue.
            let Some(m) = self.date.find_iter(&t[from..]).find(|m| {
                let (s, e) = (from + m.start(), from + m.end());
                s < to
                    && (left_ok(b, s) || b[s - 1] == b'.')
                    && (right_ok(b, e) || b.get(e) == Some(&b'.'))
                    && !(b.get(e) == Some(&b'T') && b.get(e + 1).is_some_and(u8::is_ascii_digit))
            }) else {
                continue;
            };
            let (s, e) = (from + m.start(), from + m.end());
            if s >= to {
                continue;
            }
            if !self.date_label.is_match(&t[cue_end..s]) {
                sink.push(s, e, EntityType::DateOfBirth);
            }
        }
    }
}

const DOB_CUES: &str = concat!(
    r"(?-u:\b)dob(?-u:\b)|(?-u:\b)d\.o\.b(?-u:\b)|date[ _\-]?of[ _\-]?birth|birth[ _\-]?date|(?-u:\b)birthday|(?-u:\b)born(?-u:\b)|",
    r"(?-u:\b)geb\.|(?-u:\b)geboren|geburtsdatum|geburtstag|(?-u:\b)n[ée]\(?e?\)?\s+le(?-u:\b)|date de naissance|(?-u:\b)naissance|",
    r"fecha de nacimiento|(?-u:\b)nacid[oa](?-u:\b)|(?-u:\b)nacimiento|f\.\s?nac\.|data di nascita|(?-u:\b)nat[oa] il|(?-u:\b)født|geboortedatum"
);

const MRN_CUES: &str = concat!(
    r"(?-u:\b)mrn(?-u:\b)|medical[ _]record(?:[ _](?:number|no\.?|nr|#))?|(?-u:\b)med[ _]?rec(?:ord)?(?-u:\b)|",
    r"(?-u:\b)patient[ _\-]?(?:id|no|number|nr)(?-u:\b)|(?-u:\b)patienten[ _\-]?(?:id|nummer|nr)(?-u:\b)|(?-u:\b)n[°º]\s?ipp(?-u:\b)|(?-u:\b)ipp(?-u:\b)|(?-u:\b)nhc(?-u:\b)|",
    r"historia cl[ií]nica|n[úu]mero de historia|(?-u:\b)chart[ _](?:no|number|#)|health[ _]record[ _]number|",
    r"(?-u:\b)dossier m[ée]dical|(?-u:\b)fallnummer|krankenakte"
);

const PASSPORT_CUES: &str = concat!(
    r"(?-u:\b)passport(?:[ _\-]?(?:no|number|num|nr|id))?(?-u:\b)|(?-u:\b)reisepass(?:nummer|[ \-]?nr)?(?-u:\b)|(?-u:\b)passnummer(?-u:\b)|",
    r"(?-u:\b)pass[ \-]nr(?-u:\b)|num[ée]ro de passeport|(?-u:\b)passeport(?-u:\b)|n[úu]mero de pasaporte|(?-u:\b)pasaporte(?-u:\b)|(?-u:\b)passaporto(?-u:\b)|",
    r"(?-u:\b)paspoort(?:nummer)?(?-u:\b)|(?-u:\b)passport#"
);

const SSN_CUES: &str = r"(?-u:\b)ssn(?-u:\b)|social[ _]security(?:[ _](?:number|no))?|(?-u:\b)ss#|(?-u:\b)soc\.?\s?sec(?-u:\b)";

/// Whether a word is a month name or abbreviation in one of the supported languages.
pub(crate) fn is_month(w: &str) -> bool {
    const M: &[&str] = &[
        "jan",
        "january",
        "januar",
        "janvier",
        "enero",
        "feb",
        "february",
        "februar",
        "février",
        "febrero",
        "mar",
        "march",
        "märz",
        "mars",
        "marzo",
        "apr",
        "april",
        "avril",
        "abril",
        "may",
        "mai",
        "mayo",
        "jun",
        "june",
        "juni",
        "juin",
        "junio",
        "jul",
        "july",
        "juli",
        "juillet",
        "julio",
        "aug",
        "august",
        "août",
        "agosto",
        "sep",
        "sept",
        "september",
        "septembre",
        "septiembre",
        "oct",
        "october",
        "oktober",
        "octobre",
        "octubre",
        "nov",
        "november",
        "novembre",
        "noviembre",
        "dec",
        "december",
        "dezember",
        "décembre",
        "diciembre",
    ];
    let l = w.trim_end_matches('.').to_lowercase();
    M.contains(&l.as_str())
}

const MRN_FILLER: &[&str] = &[
    "mrn", "no", "nr", "number", "num", "n°", "nº", "id", "is", "ist", "est", "es", "de", "the",
];
const PASSPORT_FILLER: &[&str] = &[
    "no", "nr", "number", "num", "n°", "nº", "id", "is", "ist", "est", "es", "de", "the", "my",
    "mi", "mon", "meine", "lautet", "type", "passport", "value", "document", "doc", "número",
    "numéro", "nummer",
];
const SSN_FILLER: &[&str] = &["no", "nr", "number", "num", "is", "#"];

/// Skips separators and filler words after a cue, then returns the next token
/// (`[A-Za-z0-9-]+`). `limit` bounds how far the value may be from the cue.
fn value_after(t: &str, mut i: usize, limit: usize, filler: &[&str]) -> Option<(usize, usize)> {
    let b = t.as_bytes();
    let stop = (i + limit).min(b.len());
    loop {
        while i < stop
            && matches!(
                b[i],
                b' ' | b'\t'
                    | b'\r'
                    | b'\n'
                    | b':'
                    | b'#'
                    | b'='
                    | b'\x22'
                    | b'\''
                    | b'.'
                    | b','
                    | b'('
                    | b')'
                    | b'{'
                    | b'['
                    | b'-'
                    | b'>'
                    | b'|'
            )
        {
            i += 1;
        }
        if i >= stop {
            return None;
        }
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_alphabetic() || b[j] >= 0x80) {
            j += 1;
        }
        if j > i && t.is_char_boundary(j) && filler.iter().any(|f| t[i..j].eq_ignore_ascii_case(f))
        {
            i = j;
            continue;
        }
        break;
    }
    let s = i;
    let mut e = s;
    while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'-') {
        e += 1;
    }
    while e > s && b[e - 1] == b'-' {
        e -= 1;
    }
    if e == s || !right_ok(b, e) && b.get(e) != Some(&b'.') {
        return None;
    }
    Some((s, e))
}

pub(crate) fn mrn_shape(v: &str) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let lower = v.bytes().any(|c| c.is_ascii_lowercase());
    let letters = v.bytes().filter(u8::is_ascii_alphabetic).count();
    (4..=16).contains(&v.len()) && digits >= 4 && !lower && letters <= 4
}

pub(crate) fn passport_shape(v: &str) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    (6..=12).contains(&v.len())
        && digits >= 1
        && v.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}
