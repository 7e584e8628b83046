//! Tabular text (CSV, TSV, Markdown tables): a header row names the columns, so a cell
//! under `name`, `dob`, `mrn`, `street`… is labelled by its column even though the row
//! itself carries no cue words.

use regex::Regex;

use crate::context::{MONTHS, mrn_shape, passport_shape};
use crate::person::scan_name;
use crate::util::re;
use crate::{EntityType, Sink};

pub(crate) struct Table {
    date: Regex,
}

impl Table {
    pub(crate) fn new() -> Table {
        Table {
            date: re(&format!(
                r"(?i)^(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:\d{{4}}|\d{{2}})|(?:{MONTHS})\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\.?\s+(?:{MONTHS})\.?\s+\d{{4}})$"
            )),
        }
    }

    pub(crate) fn regexes(&self) -> Vec<(&'static str, &Regex)> {
        vec![("table::date", &self.date)]
    }

    pub(crate) fn detect(&self, t: &str, sink: &mut Sink) {
        let mut newlines = memchr::memchr_iter(b'\n', t.as_bytes());
        let Some(first_nl) = newlines.next() else {
            return;
        };
        // Lines with their offsets, read once: a header is looked for line by line, its
        // rows follow it, and the line that ends a table is examined as a header in turn.
        // (`t.split('\n')`, with the newlines found by the vectorised `memchr`.)
        let mut off = 0;
        let mut next_nl = Some(first_nl);
        let mut lines = std::iter::from_fn(|| {
            let at = off;
            if at > t.len() {
                return None;
            }
            let end = next_nl.unwrap_or(t.len());
            next_nl = newlines.next();
            off = end + 1;
            Some((at, &t[at..end]))
        });
        let mut next_line = None;
        while let Some((_, line)) = next_line.take().or_else(|| lines.next()) {
            let Some(delim) = header_delimiter(line) else {
                continue;
            };
            let cols: Vec<Option<EntityType>> = line.split(delim).map(column_kind).collect();
            if cols.iter().all(Option::is_none) {
                continue;
            }
            let width = cols.len();
            for (loff, row) in lines.by_ref() {
                if row.trim().is_empty() || delimiter(row) != Some(delim) {
                    next_line = Some((loff, row));
                    break;
                }
                let cells: Vec<&str> = row.split(delim).collect();
                if cells.len() != width {
                    next_line = Some((loff, row));
                    break;
                }
                let mut coff = loff;
                for (cell, kind) in cells.iter().zip(&cols) {
                    if let Some(kind) = kind {
                        self.cell(t, coff, cell, *kind, sink);
                    }
                    coff += cell.len() + delim.len_utf8();
                }
            }
        }
    }

    fn cell(&self, t: &str, off: usize, cell: &str, kind: EntityType, sink: &mut Sink) {
        let trimmed = cell.trim_start_matches([' ', '"', '\'']);
        let s = off + (cell.len() - trimmed.len());
        let v = trimmed.trim_end_matches([' ', '"', '\'', '\r']);
        let e = s + v.len();
        if v.is_empty() || v.bytes().all(|c| c == b'-' || c == b':') {
            return;
        }
        let ok = match kind {
            EntityType::Person => scan_name(t, s, 5).is_some_and(|n| n.end == e),
            EntityType::StreetAddress => {
                v.bytes().any(|c| c.is_ascii_digit())
                    && v.bytes().any(|c| c.is_ascii_alphabetic())
                    && v.len() >= 5
            }
            EntityType::DateOfBirth => self.date.is_match(v),
            EntityType::MedicalRecordNumber => mrn_shape(v),
            EntityType::Passport => passport_shape(v),
            EntityType::UsSsn => {
                let d: String = v.chars().filter(char::is_ascii_digit).collect();
                d.len() == 9
                    && v.len() <= 11
                    && crate::validate::ssn_ok(&d[0..3], &d[3..5], &d[5..9])
            }
            _ => false,
        };
        if ok {
            sink.push(s, e, kind);
        }
    }
}

/// [`delimiter`] of a line that may be a header row. A header row is short and has no
/// key/value syntax; this keeps JSON and log lines (which also contain commas) from being
/// examined cell by cell.
fn header_delimiter(line: &str) -> Option<char> {
    if line.len() > 400 {
        return None;
    }
    count_delimiters(line, !line.starts_with('|'))
}

/// The field delimiter of a table-looking line, if any.
fn delimiter(line: &str) -> Option<char> {
    count_delimiters(line, false)
}

/// One pass over the bytes (the marks are ASCII; matching them as chars would cost a
/// UTF-8 decode per character of every line) counts all four delimiters, and gives up
/// at the first key/value mark when `reject_marks`.
fn count_delimiters(line: &str, reject_marks: bool) -> Option<char> {
    let (mut pipes, mut tabs, mut commas, mut semicolons) = (0, 0, 0, 0);
    for c in line.bytes() {
        match c {
            b':' | b'{' | b'}' | b'=' | b'@' if reject_marks => return None,
            b'|' => pipes += 1,
            b'\t' => tabs += 1,
            b',' => commas += 1,
            b';' => semicolons += 1,
            _ => {}
        }
    }
    pick_delimiter(pipes, tabs, commas, semicolons)
}

/// The delimiter a line's counts announce: two pipes, else a tab, a comma, a semicolon.
fn pick_delimiter(pipes: usize, tabs: usize, commas: usize, semicolons: usize) -> Option<char> {
    if pipes >= 2 {
        Some('|')
    } else if tabs >= 1 {
        Some('\t')
    } else if commas >= 1 {
        Some(',')
    } else if semicolons >= 1 {
        Some(';')
    } else {
        None
    }
}

/// Which entity a column header announces.
fn column_kind(header: &str) -> Option<EntityType> {
    if header.len() > 40 {
        return None;
    }
    let h: String = header
        .trim()
        .trim_matches(['"', '\'', '*', '`'])
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    let kind = match h.as_str() {
        "name" | "full_name" | "fullname" | "first_name" | "firstname" | "last_name"
        | "lastname" | "given_name" | "surname" | "family_name" | "customer" | "customer_name"
        | "patient" | "patient_name" | "employee" | "employee_name" | "contact"
        | "contact_name" | "author" | "owner" | "holder" | "account_holder" | "cardholder"
        | "card_holder" | "beneficiary" | "payee" | "recipient" | "nombre" | "nom" | "vorname"
        | "nachname" | "prénom" | "prenom" | "apellido" | "apellidos" | "passenger" | "guest"
        | "tenant" | "physician" | "doctor" | "provider" | "manager" => EntityType::Person,
        "address" | "street" | "street_address" | "address1" | "address_1" | "address_line1"
        | "address_line_1" | "line1" | "addr" | "adresse" | "anschrift" | "straße" | "strasse"
        | "dirección" | "direccion" | "domicilio" | "home_address" | "shipping_address"
        | "billing_address" => EntityType::StreetAddress,
        "dob"
        | "date_of_birth"
        | "birth_date"
        | "birthdate"
        | "birthday"
        | "geburtsdatum"
        | "fecha_de_nacimiento"
        | "fecha_nacimiento"
        | "date_de_naissance" => EntityType::DateOfBirth,
        "mrn" | "medical_record_number" | "patient_id" | "ipp" | "nhc" => {
            EntityType::MedicalRecordNumber
        }
        "passport" | "passport_no" | "passport_number" | "reisepassnummer" | "passeport"
        | "pasaporte" => EntityType::Passport,
        "ssn" | "social_security_number" => EntityType::UsSsn,
        _ => return None,
    };
    Some(kind)
}
