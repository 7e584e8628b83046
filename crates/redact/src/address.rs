//! Street addresses: per-country structural patterns (house number + street type + postal
//! code/city) plus a context rule (`Address:`, `ship to`, `"line1":` …) for layouts the
//! patterns do not know.

use regex::Regex;

use crate::scan::{House, Start};
use crate::util::{Alt, Hit, right_ok};
use crate::{EntityType, Sink};

/// USPS Publication 28 street suffixes (full and common abbreviations) plus a few UK ones.
const US_SUFFIXES: &str = concat!(
    "Alley|Aly|Annex|Arcade|Avenue|Ave|Bayou|Beach|Bend|Bluffs?|Bottom|Boulevard|Blvd|Branch|Bridge|Brooks?|Burgs?|",
    "Bypass|Camp|Canyon|Cape|Causeway|Centers?|Circles?|Cir|Cliffs?|Close|Club|Commons?|Corners?|Course|Courts?|Ct|",
    "Coves?|Creek|Crescent|Crest|Crossing|Crossroad|Curve|Dale|Dam|Divide|Drives?|Dr|Estates?|Expressway|Extensions?|",
    "Falls?|Ferry|Fields?|Flats?|Fords?|Forest|Forges?|Forks?|Fort|Freeway|Gardens?|Gateway|Glens?|Greens?|Groves?|",
    "Harbors?|Haven|Heights|Highway|Hwy|Hills?|Hollow|Inlet|Islands?|Isle|Junctions?|Keys?|Knolls?|Lakes?|Land|Landing|",
    "Lane|Ln|Lights?|Loaf|Locks?|Lodge|Loop|Mall|Manors?|Meadows?|Mews|Mills?|Mission|Motorway|Mount|Mountains?|Neck|",
    "Orchard|Oval|Overpass|Parks?|Parkways?|Pkwy|Pass|Passage|Path|Pike|Pines?|Place|Pl|Plains?|Plaza|Points?|Ports?|",
    "Prairie|Radial|Ramp|Ranch|Rapids?|Rest|Ridges?|River|Roads?|Rd|Route|Row|Rue|Run|Shoals?|Shores?|Skyway|Springs?|",
    "Spurs?|Squares?|Sq|Station|Stravenue|Stream|Streets?|St|Summit|Terrace|Ter|Throughway|Trace|Track|Trafficway|",
    "Trail|Trl|Trailer|Tunnel|Turnpike|Underpass|Unions?|Valleys?|Via|Viaduct|Views?|Villages?|Ville|Vista|Walks?|",
    "Wall|Ways?|Wells?|Wynd"
);

const US_STATES: &str = concat!(
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|",
    "OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|AS|GU|MP|PR|VI|FM|MH|PW|AA|AE|AP"
);

const DE_SUFFIXES: &str = concat!(
    "straße|strasse|str\\.|weg|ring|allee|platz|gasse|damm|ufer|chaussee|pfad|steig|stieg|markt|hof|berg|feld|garten|",
    "park|brücke|kai|graben|anger|wall|höhe|grund|bogen|winkel|zeile|promenade|redder|twiete|kamp|koppel|wiese|aue|",
    "gürtel|kamp|siedlung|tor"
);

const FR_TYPES: &str = concat!(
    "rue|avenue|av\\.|boulevard|bd|chemin|allée|allee|impasse|place|quai|route|cours|passage|square|voie|rond-point|",
    "faubourg|sentier|cité|villa|résidence|hameau|lieu-dit|chaussée|promenade|esplanade|parvis|mail|montée|traverse"
);

const ES_TYPES: &str = concat!(
    "C\\.|Calle|C/|Avenida|Av\\.|Avda\\.?|Paseo|Plaza|Pza\\.|Camino|Pasaje|Urbanización|Ronda|Travesía|Carretera|",
    "Cuesta|Callejón|Glorieta|Rambla|Vía|Via|Alameda|Carrer|Passeig|Plaça|Rúa|Bulevar|Cañada|Senda|Vereda|Polígono|Praza|",
    "Pasadizo|Acceso|Carrera|Costanilla|Paraje|Partida|Sector|Torrente|Subida|Bajada|Muelle|Barrio|Callejuela"
);

/// Capitalised place word, allowing joiners such as `ob der`, `sur`, `de la`.
const CITY: &str = r"[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’.\-]*(?:[ \-](?:(?:ob|der|den|am|an|im|in|bei|sur|sous|lès|les|la|le|de|del|du|des|en|y|el|los|las|et|upon|on)[ \-])*[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’.\-]*){0,4}";

pub(crate) struct Address {
    /// US/UK, German, French, Spanish and generic European layouts in one pass.
    pub(crate) structural: Alt,
}

impl Address {
    pub(crate) fn regexes(&self) -> Vec<(&'static str, &Regex)> {
        vec![]
    }
}

impl Address {
    pub(crate) fn new() -> Address {
        let word = r"(?:[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’.\-]*|[0-9]+(?:st|nd|rd|th))";
        let us = format!(
            concat!(
                r"(?-u:\b)[0-9]{{1,6}}[A-Za-z]?(?:-[0-9]{{1,4}})?\s+(?:(?:[NSEW]\.?|North|South|East|West|Northeast|Northwest|Southeast|Southwest)\s+)?",
                r"(?:{w}\s+){{1,4}}(?:{sfx})(?-u:\b)\.?(?:\s+(?:[NSEW]\.?|N[EW]|S[EW])(?-u:\b))?",
                r"(?:,?\s*(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Fl\.?|Floor|Room|Rm\.?|Bldg\.?|Building|#)\s*#?[A-Za-z0-9\-]+)?",
                r"(?:,?\s+(?:{city}),?\s+(?:(?:{st})\s+[0-9]{{5}}(?:-[0-9]{{4}})?|[A-Z]{{1,2}}[0-9][A-Z0-9]?\s?[0-9][A-Z]{{2}})(?-u:\b))?"
            ),
            w = word,
            sfx = US_SUFFIXES,
            city = CITY,
            st = US_STATES
        );
        let de = format!(
            concat!(
                r"(?:[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]]*[\- ])*[A-ZÀ-ÖØ-Þ]?[[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]\-]*(?i:{sfx})\s+[0-9]{{1,4}}\s?[a-zA-Z]?(?:[\-/][0-9]{{1,4}}[a-z]?)?(?-u:\b)",
                r"(?:,?\s+(?:D-|A-|CH-)?[0-9]{{4,5}}\s+{city})?"
            ),
            sfx = DE_SUFFIXES,
            city = CITY
        );
        let fr = format!(
            concat!(
                r"(?-u:\b)[0-9]{{1,4}}(?:\s?(?:bis|ter|[A-D]))?,?\s+(?i:{t})\s+(?:(?:de|du|des|la|le|les|d'|l')\s*)*",
                r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’\-]*(?:\s+(?:(?:de|du|des|la|le|les|d'|l')\s*)*[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’\-]*){{0,4}}",
                r"(?:,?\s+[0-9]{{5}}\s+{city})?"
            ),
            t = FR_TYPES,
            city = CITY
        );
        let es = format!(
            concat!(
                r"(?:(?:{t})\s+(?:(?:de|del|la|las|los|el)\s+)*[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'\-]*",
                r"(?:\s+(?:(?:de|del|la|las|los|el|y)\s+)*[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'\-]*){{0,4}},?\s*(?:n[º°]\s*)?[0-9]{{1,4}}",
                r"(?:,?\s*[0-9]{{1,2}}[º°ª]?\s?[A-Za-z]?(?-u:\b))?(?:,?\s+[0-9]{{5}}\s+{city})?)"
            ),
            t = ES_TYPES,
            city = CITY
        );
        // "<street words>[,] <number>, <postcode> <city>" in any language.
        let generic_eu = format!(
            concat!(
                r"(?-u:\b)[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’.\-]*(?:[ ](?:(?:de|del|la|las|los|el|di|da|du|des|von|van|der|den|am|an|im|auf)[ ])*[A-ZÀ-ÖØ-Þ][[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]'’.\-]*){{0,4}}",
                r",?[ ][0-9]{{1,4}}[a-zA-Z]?,[ ][0-9]{{4,5}}[ ]{city}"
            ),
            city = CITY
        );
        let unescape = |list: &str| -> Vec<String> {
            list.split('|').map(|w| w.replace("\\.", ".")).collect()
        };
        let suffixes = unescape(DE_SUFFIXES);
        // `12 bis, rue …`: the French pattern lets `bis`/`ter` sit between number and type.
        let mut fr_words = unescape(FR_TYPES);
        fr_words.extend(["bis".to_owned(), "ter".to_owned()]);
        Address {
            // House numbers and postcodes are ASCII digits (`[0-9]`, not Unicode `\d`):
            // the cue scan finds the starts of these patterns from ASCII digit runs.
            structural: Alt::with_starts(vec![
                (
                    us,
                    Start::HouseNumber(House {
                        max_digits: 6,
                        capitals: true,
                        words: Vec::new(),
                        letters: Vec::new(),
                    }),
                ),
                (de, Start::StreetSuffix(suffixes)),
                (
                    fr,
                    Start::HouseNumber(House {
                        max_digits: 4,
                        capitals: false,
                        words: fr_words,
                        letters: vec!['A', 'B', 'C', 'D'],
                    }),
                ),
                (es, Start::Prefix),
                (generic_eu, Start::NumberPostcode),
                (concat!(
                    r"(?i)(?:(?-u:\b)(?:address|addr|adresse|anschrift|wohnanschrift|lieferadresse|rechnungsadresse|postanschrift|",
                    r"domicilio|direcci[óo]n(?: de env[íi]o| postal)?|ship(?:ping)? to|deliver(?:ed)? to|send (?:it|them|the \w+) to|",
                    r"located at|lives at|resides at|moved to|line_?1|address_?line_?1|street(?:_?address)?|street_line|",
                    r"liefern an|envoyer à|enviar a)(?-u:\b))",
                    r"[\x22'\s:=]{0,6}(?:(?:lautet jetzt|lautet|ahora es|est maintenant|est|is now|is|es|ist|à|a)\s*:?\s+)?"
                )
                .to_owned(), Start::Prefix),
            ]),
        }
    }

    pub(crate) fn detect(&self, t: &str, hits: &[Hit], sink: &mut Sink) {
        let b = t.as_bytes();
        if !b.iter().any(u8::is_ascii_digit) {
            return;
        }
        let before = sink.cands.len();
        let mut cues: Vec<usize> = Vec::new();
        for m in hits {
            if m.kind == 5 {
                cues.push(m.end());
                continue;
            }
            // Spanish street types start the match, so require a word start there.
            if t[..m.start()]
                .chars()
                .next_back()
                .is_some_and(char::is_alphabetic)
            {
                continue;
            }
            // "502 Bad Gateway" is an HTTP status line.
            if t[m.start()..m.end()].ends_with(" Bad Gateway") {
                continue;
            }
            // "May 6, 2025 Provider" is a date followed by a word.
            let first = t[m.start()..m.end()].split([' ', ',']).next().unwrap_or("");
            if crate::context::is_month(first) {
                continue;
            }
            push_trimmed(t, m.start(), m.end(), sink);
        }
        let found: Vec<(usize, usize)> = sink.cands[before..]
            .iter()
            .map(|c| (c.start, c.end))
            .collect();
        for s in cues {
            if s >= b.len()
                || !(b[s].is_ascii_digit() || t[s..].starts_with(|c: char| c.is_uppercase()))
            {
                continue;
            }
            // A structural match already covers this value; it has better boundaries.
            if found.iter().any(|&(fs, fe)| fs <= s + 2 && s < fe) {
                continue;
            }
            let e = context_value_end(t, s);
            let v = &t[s..e];
            if v.len() >= 8
                && v.len() <= 160
                && address_like(v)
                && v.bytes().any(|c| c.is_ascii_digit())
                && v.split_whitespace().count() >= 2
                && v.bytes().any(|c| c.is_ascii_alphabetic())
                && !v.contains('@')
            {
                push_trimmed(t, s, e, sink);
            }
        }
    }
}

/// A free-form value after an address cue must start like a street line: a house number
/// and a capitalised street word (`12 Main St`, `221B Baker Street`), or street words then
/// a house number that ends the segment (`Berliner Straße 12a,`). "42 countries" or
/// "Norway in 3–5 days" do not.
fn address_like(v: &str) -> bool {
    let b = v.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if (1..=6).contains(&digits) {
        let rest = v[digits..]
            .trim_start_matches(|c: char| c.is_ascii_alphabetic() && c.is_ascii_uppercase());
        let rest = rest.trim_start_matches([',', ' ']);
        return rest.starts_with(|c: char| c.is_uppercase())
            && !rest.starts_with(|c: char| c.is_ascii_digit());
    }
    if !v.starts_with(|c: char| c.is_uppercase()) {
        return false;
    }
    v.split(',').next().is_some_and(|seg| {
        let last = seg.trim_end().rsplit(' ').next().unwrap_or("");
        let d = last.bytes().take_while(u8::is_ascii_digit).count();
        (1..=5).contains(&d)
            && last[d..].bytes().all(|c| c.is_ascii_alphabetic())
            && last.len() - d <= 1
    })
}

const COUNTRIES: &[&str] = &[
    "USA",
    "US",
    "U.S.",
    "U.S.A.",
    "United States",
    "United States of America",
    "UK",
    "U.K.",
    "United Kingdom",
    "England",
    "Scotland",
    "Wales",
    "Germany",
    "Deutschland",
    "France",
    "Spain",
    "España",
    "Italy",
    "Italia",
    "Austria",
    "Österreich",
    "Switzerland",
    "Schweiz",
    "Suisse",
    "Netherlands",
    "Nederland",
    "Belgium",
    "Belgique",
    "Canada",
    "Ireland",
    "Portugal",
    "India",
    "Australia",
    "Mexico",
    "México",
];

/// Drops trailing punctuation and a trailing country, which the policy keeps out of the
/// span.
fn push_trimmed(t: &str, s: usize, mut e: usize, sink: &mut Sink) {
    loop {
        let v = t[s..e].trim_end_matches([',', ' ', '\n', '\t', ';', ':', '-']);
        e = s + v.len();
        let mut changed = false;
        if let Some(p) = v.rfind(',') {
            let last = v[p + 1..].trim();
            if COUNTRIES.iter().any(|c| c.eq_ignore_ascii_case(last)) {
                e = s + p;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // A sentence-final period is not part of the address unless it ends an abbreviation.
    if e > s && t.as_bytes()[e - 1] == b'.' {
        let v = &t[s..e - 1];
        let last = v.rsplit([' ', ',']).next().unwrap_or("");
        if last.len() > 3 || last.bytes().all(|c| c.is_ascii_digit()) {
            e -= 1;
        }
    }
    if e > s && right_ok(t.as_bytes(), e) || e < t.len() && t.as_bytes()[e] == b'.' {
        sink.push(s, e, EntityType::StreetAddress);
    }
}

/// End of a free-form address after a cue: the end of the field, line or sentence.
fn context_value_end(t: &str, s: usize) -> usize {
    let b = t.as_bytes();
    // On a char boundary: the rest of the line is sliced up to here (a limit inside a
    // multi-byte char panicked). The bytes given up are continuation bytes, which end
    // nothing, so where the value ends is unchanged.
    let mut limit = (s + 160).min(b.len());
    while !t.is_char_boundary(limit) {
        limit -= 1;
    }
    let mut i = s;
    while i < limit {
        let c = b[i];
        if matches!(
            c,
            b'\x22' | b'\n' | b';' | b'|' | b'\t' | b'(' | b'<' | b'{' | b'}'
        ) {
            break;
        }
        if c == b' ' && b.get(i + 1) == Some(&b' ') {
            break;
        }
        if c == b'.' && (i + 1 >= b.len() || b[i + 1] == b' ' || b[i + 1] == b'\x22') {
            let word = t[s..i].rsplit([' ', ',']).next().unwrap_or("");
            let abbrev = word.len() <= 4 && word.starts_with(|ch: char| ch.is_uppercase());
            if !abbrev {
                break;
            }
        }
        if c == b',' || c == b' ' {
            let rest = &t[i + 1..limit];
            let rest = rest.trim_start();
            const STOP: &[&str] = &[
                "Tel",
                "tel",
                "Tél",
                "tél",
                "Phone",
                "phone",
                "Telefon",
                "Teléfono",
                "teléfono",
                "Email",
                "E-Mail",
                "email",
                "Contact",
                "Kontakt",
                "within",
                "and",
                "until",
                "for",
                "por",
                "pour",
                "und",
                "can",
                "please",
                "bitte",
                "por favor",
                "s'il",
                "Mobile",
                "Fax",
                "DOB",
                "SSN",
                "MRN",
            ];
            if STOP.iter().any(|w| {
                rest.starts_with(w) && rest[w.len()..].starts_with(|ch: char| !ch.is_alphanumeric())
            }) {
                break;
            }
        }
        i += 1;
    }
    while i > s && !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}
