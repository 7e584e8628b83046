//! Unit tests per type: positives in several real-world formats and look-alike negatives.

use crate::{Action, Detector, EntityType, Policy, redact};
use std::sync::OnceLock;

fn det() -> &'static Detector {
    static D: OnceLock<Detector> = OnceLock::new();
    D.get_or_init(Detector::new)
}

/// The (type, text) pairs found in `text`.
fn found(text: &str) -> Vec<(EntityType, String)> {
    det()
        .detect(text)
        .into_iter()
        .map(|e| (e.kind, text[e.start..e.end].to_owned()))
        .collect()
}

#[track_caller]
fn has(text: &str, kind: EntityType, value: &str) {
    let f = found(text);
    assert!(
        f.iter().any(|(k, v)| *k == kind && v == value),
        "expected {kind} {value:?} in {text:?}, got {f:?}"
    );
}

#[track_caller]
fn none(text: &str) {
    let f = found(text);
    assert!(f.is_empty(), "expected nothing in {text:?}, got {f:?}");
}

#[track_caller]
fn no_kind(text: &str, kind: EntityType) {
    let f = found(text);
    assert!(
        !f.iter().any(|(k, _)| *k == kind),
        "expected no {kind} in {text:?}, got {f:?}"
    );
}

#[test]
fn emails() {
    has(
        "write to jane.doe+tag@example.co.uk today",
        EntityType::Email,
        "jane.doe+tag@example.co.uk",
    );
    has(
        "Author: Lisa Yang <lisayang@outlook.com>",
        EntityType::Email,
        "lisayang@outlook.com",
    );
    has(
        r#"{\"to\": \"ops@acme.io\"}"#,
        EntityType::Email,
        "ops@acme.io",
    );
    has("mailto:a.b@c.de", EntityType::Email, "a.b@c.de");
    no_kind(
        "postgres://app:s3cretPw@db.prod.internal:5432/x",
        EntityType::Email,
    );
}

#[test]
fn phones() {
    has(
        "call +1 415-555-0132 now",
        EntityType::Phone,
        "+1 415-555-0132",
    );
    has("Phone: (212) 555-0187", EntityType::Phone, "(212) 555-0187");
    has(
        "Tel. +49 (0)30 1234567",
        EntityType::Phone,
        "+49 (0)30 1234567",
    );
    has("mobile 07700 900123", EntityType::Phone, "07700 900123");
    has(
        "téléphone +33 6 12 34 56 78.",
        EntityType::Phone,
        "+33 6 12 34 56 78",
    );
    has(
        "mi móvil es 612 34 56 78",
        EntityType::Phone,
        "612 34 56 78",
    );
    has(
        "reach me at +442080867185",
        EntityType::Phone,
        "+442080867185",
    );
    has("Telefon 040 2819804", EntityType::Phone, "040 2819804");
    // Shape-alikes after product words, dates, versions, ids.
    no_kind("Support ticket 02 39 47 74 99 is open", EntityType::Phone);
    no_kind("The tracking number is 252.970.7887.", EntityType::Phone);
    no_kind("SKU 415-555-0132", EntityType::Phone);
    none("on 2024-12-19 build 10.0.19045.3803");
    none("order 114-3941689-8372113 shipped");
    none("ORD-2024-118833 and ORD-12345678");
}

#[test]
fn cards() {
    has(
        "card 4111 1111 1111 1111 exp 09/27",
        EntityType::CreditCard,
        "4111 1111 1111 1111",
    );
    has(
        "pay with 4111-1111-1111-1111",
        EntityType::CreditCard,
        "4111-1111-1111-1111",
    );
    has(
        "amex 378282246310005",
        EntityType::CreditCard,
        "378282246310005",
    );
    has(
        "amex 3782 822463 10005.",
        EntityType::CreditCard,
        "3782 822463 10005",
    );
    has(
        "mc 2221000000000009",
        EntityType::CreditCard,
        "2221000000000009",
    );
    // Luhn-invalid, and Luhn-valid but not a card context.
    no_kind("card 4111 1111 1111 1112", EntityType::CreditCard);
    no_kind(
        "number 5105105105105101 is fine but 5105105105105100 is not",
        EntityType::Phone,
    );
    no_kind("ref 1234 5678 9012 3456", EntityType::CreditCard);
    no_kind("last four 1111", EntityType::CreditCard);
}

#[test]
fn ibans() {
    has(
        "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
        EntityType::Iban,
        "DE89 3704 0044 0532 0130 00",
    );
    has(
        "to GB82WEST12345698765432.",
        EntityType::Iban,
        "GB82WEST12345698765432",
    );
    has(
        "iban: FR14 2004 1010 0505 0001 3M02 606",
        EntityType::Iban,
        "FR14 2004 1010 0505 0001 3M02 606",
    );
    // Wrong check digits: nothing, not even a phone inside it.
    none("IBAN checksum failed for DE89 3704 0044 0532 0130 01");
}

#[test]
fn ssns() {
    has("SSN: 123-45-6789", EntityType::UsSsn, "123-45-6789");
    has("ssn 123 45 6789", EntityType::UsSsn, "123 45 6789");
    has(
        "Social Security Number: 123456789",
        EntityType::UsSsn,
        "123456789",
    );
    no_kind("SSN: 666-45-6789", EntityType::UsSsn);
    no_kind("id 123456789", EntityType::UsSsn);
}

#[test]
fn ips() {
    has("from 203.0.113.7:443", EntityType::IpAddress, "203.0.113.7");
    has(
        "host [2001:db8::1]:8443",
        EntityType::IpAddress,
        "2001:db8::1",
    );
    has(
        "mapped ::ffff:203.0.113.7 ok",
        EntityType::IpAddress,
        "::ffff:203.0.113.7",
    );
    has(
        "client_ip=10.1.2.3 user=x",
        EntityType::IpAddress,
        "10.1.2.3",
    );
    has(
        "fd12:8f81:8968:a21:f46e:f680:c803:fc44",
        EntityType::IpAddress,
        "fd12:8f81:8968:a21:f46e:f680:c803:fc44",
    );
    none("probe from 127.0.0.1 ok; netmask 255.255.255.0; bind 0.0.0.0; [::]:4317 and ::1");
    none("broadcast 255.255.255.255");
    none("version 1.2.3.4 and v10.0.19045.3803, semver 1.2.3.4-rc.1");
    none("at 18:03:11 with MAC 00:1a:2b:3c:4d:5e");
}

#[test]
fn secrets() {
    let anth =
        "sk-ant-api03-UeSWJ5hV8hk7Fa_cP1ngcLfkE1tF8sg-UaLZXpqq-YeB8ZkPGzdN5ST1AeNlQRWLsWNumVSITx";
    has(
        &format!("ANTHROPIC_API_KEY={anth}\n"),
        EntityType::Secret,
        anth,
    );
    has(
        "key sk-proj-jOGRhFn8wuKUkbWvkNNtcwDBe2K8WwzK9i7dWp",
        EntityType::Secret,
        "sk-proj-jOGRhFn8wuKUkbWvkNNtcwDBe2K8WwzK9i7dWp",
    );
    has(
        "aws_access_key_id = AKIAQFTMJGNKLEINJ54H",
        EntityType::Secret,
        "AKIAQFTMJGNKLEINJ54H",
    );
    has(
        "aws_secret_access_key = rdfpnnbMzlVUVEHw0nvW6GItclGwekqWK0ZdacP8",
        EntityType::Secret,
        "rdfpnnbMzlVUVEHw0nvW6GItclGwekqWK0ZdacP8",
    );
    has(
        "Bearer ghp_Vgy32lbg9Njfy4EtzARF2cVNnXQVTzvycGo6",
        EntityType::Secret,
        "ghp_Vgy32lbg9Njfy4EtzARF2cVNnXQVTzvycGo6",
    );
    has(
        "xoxb-112929310354-1840536092215-ukRrdBOMrZlt9yRN",
        EntityType::Secret,
        "xoxb-112929310354-1840536092215-ukRrdBOMrZlt9yRN",
    );
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    has(
        &format!("Authorization: Bearer {jwt}"),
        EntityType::Secret,
        jwt,
    );
    let pem =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc=\n-----END RSA PRIVATE KEY-----";
    has(&format!("key:\n{pem}\n"), EntityType::Secret, pem);
    has(
        "postgres://admin:Winter221_@10.0.0.5:5432/app",
        EntityType::Secret,
        "Winter221_",
    );
    has(
        "redis://:hunter2pw@cache:6379",
        EntityType::Secret,
        "hunter2pw",
    );
    has(
        "POSTGRES_PASSWORD=meadow-horse-correct\n",
        EntityType::Secret,
        "meadow-horse-correct",
    );
    has(
        r#"{"password": "Tr0ub4dor&3"}"#,
        EntityType::Secret,
        "Tr0ub4dor&3",
    );
    has(
        "My password is Tiger1360# if that helps",
        EntityType::Secret,
        "Tiger1360#",
    );
    // Public material, placeholders and ids are not secrets.
    none("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----");
    none("-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+g\n-----END CERTIFICATE-----");
    none("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIfIeKGE1lthY deploy@ci");
    none("password=${DB_PASSWORD} token: <redacted> max_tokens=1024");
    none("msg_01XFDUDYJgAACzvnptvVoYEL toolu_01xmnM0gbWMNtoihXj6yNexh chatcmpl-9xYz12AbCd");
    none("never commit credentials: move them into your secret manager");
}

#[test]
fn dates_of_birth() {
    has(
        "DOB: 1938-03-12    MRN: M7337649",
        EntityType::DateOfBirth,
        "1938-03-12",
    );
    has(
        "born on January 13, 1955.",
        EntityType::DateOfBirth,
        "January 13, 1955",
    );
    has(
        "Patient: X, geb. 16.05.1971, Station",
        EntityType::DateOfBirth,
        "16.05.1971",
    );
    has(
        "né(e) le 14/11/1950.",
        EntityType::DateOfBirth,
        "14/11/1950",
    );
    has(
        "fecha de nacimiento: 12 de marzo de 1980",
        EntityType::DateOfBirth,
        "12 de marzo de 1980",
    );
    has(
        r#"{"date_of_birth": "1994-05-18"}"#,
        EntityType::DateOfBirth,
        "1994-05-18",
    );
    has(
        "please confirm your date of birth.\"},{\"role\":\"user\",\"content\":\"It's 3 August 1987.",
        EntityType::DateOfBirth,
        "3 August 1987",
    );
    // Other dates are not birth dates.
    none("Visit date: March 21, 2024; invoice dated 2024-05-01");
    no_kind(
        "DOB: 1938-03-12\nVisit date: March 21, 2024",
        EntityType::StreetAddress,
    );
    has(
        "DOB: 1938-03-12\nVisit date: March 21, 2024",
        EntityType::DateOfBirth,
        "1938-03-12",
    );
    assert_eq!(
        found("DOB: 1938-03-12\nVisit date: March 21, 2024").len(),
        1
    );
    none("created_at 2024-12-19T11:45:17+00:00");
}

#[test]
fn medical_record_numbers() {
    has("MRN: 8364658", EntityType::MedicalRecordNumber, "8364658");
    has(
        "Patienten-ID (MRN) A4878232",
        EntityType::MedicalRecordNumber,
        "A4878232",
    );
    has(
        r#""mrn": "E5209203""#,
        EntityType::MedicalRecordNumber,
        "E5209203",
    );
    has(
        "N° IPP 06888157",
        EntityType::MedicalRecordNumber,
        "06888157",
    );
    has("NHC H5496779", EntityType::MedicalRecordNumber, "H5496779");
    none("Lab order LAB-76419516");
}

#[test]
fn passports() {
    has(
        "passport no. 372509800, nationality GB",
        EntityType::Passport,
        "372509800",
    );
    has(
        "Reisepassnummer HK5YX53H7",
        EntityType::Passport,
        "HK5YX53H7",
    );
    has(
        r#""passport": {"number": "87BF14149""#,
        EntityType::Passport,
        "87BF14149",
    );
    has(
        "Mon numéro de passeport est 56TV30882.",
        EntityType::Passport,
        "56TV30882",
    );
    none("your passport details were updated");
}

#[test]
fn addresses() {
    has(
        "ship to 1146 Everett Lodge, Jonathanside, MD 02032 within 2 days",
        EntityType::StreetAddress,
        "1146 Everett Lodge, Jonathanside, MD 02032",
    );
    has(
        "Address: 4210 Hughes Gateway\n",
        EntityType::StreetAddress,
        "4210 Hughes Gateway",
    );
    has(
        "Anschrift: Hauptstraße 5, 10115 Berlin, Germany",
        EntityType::StreetAddress,
        "Hauptstraße 5, 10115 Berlin",
    );
    has(
        "Adresse : 46 avenue Margaret Duhamel, 83975 Sainte Tristannec",
        EntityType::StreetAddress,
        "46 avenue Margaret Duhamel, 83975 Sainte Tristannec",
    );
    has(
        "Domicilio: Paseo Ámbar Lluch, 125, 35045 La Rioja.",
        EntityType::StreetAddress,
        "Paseo Ámbar Lluch, 125, 35045 La Rioja",
    );
    has(
        "Home address: 193 Williams Pass, Jennaside N6 0JZ\n",
        EntityType::StreetAddress,
        "193 Williams Pass, Jennaside N6 0JZ",
    );
    has(
        "7470 Russell Walks\nJonestown, MH 37403\n",
        EntityType::StreetAddress,
        "7470 Russell Walks\nJonestown, MH 37403",
    );
    none("Meeting notes, May 6, 2025\nAttendees");
}

#[test]
fn persons() {
    has(
        "Hallo, mein Name ist Elma Jessel. Ich habe",
        EntityType::Person,
        "Elma Jessel",
    );
    has("Provider: Dr. Palmer\n", EntityType::Person, "Palmer");
    has(
        r#"{"name": "Olga Torrents", "email": "x@y.es"}"#,
        EntityType::Person,
        "Olga Torrents",
    );
    has(
        "Author: Nilima Khare <nkhare444@rediffmail.com>",
        EntityType::Person,
        "Nilima Khare",
    );
    has(
        "Patient(e) : Margaud Le Goff, né(e) le",
        EntityType::Person,
        "Margaud Le Goff",
    );
    let notes =
        "Attendees: Luke Skinner, Jimmy Richards\n- Luke to send the quote.\n- Jimmy's line";
    has(notes, EntityType::Person, "Luke Skinner");
    has(notes, EntityType::Person, "Jimmy Richards");
    assert_eq!(
        found(notes)
            .iter()
            .filter(|(k, _)| *k == EntityType::Person)
            .count(),
        4
    );
    has(
        r#"Best regards,\nHolly Rush\nProseware"#,
        EntityType::Person,
        "Holly Rush",
    );
    has(
        "between Rodney Mitchell (\"Landlord\") and Arunima Parmer (\"Tenant\")",
        EntityType::Person,
        "Arunima Parmer",
    );
    has(
        "please wire €12,888 to Tracey Evans, IBAN",
        EntityType::Person,
        "Tracey Evans",
    );
    // Assistant and company names are not people; e-mail local parts stay e-mails.
    none("Hi! I'm Claude, the digital assistant of Globex.");
    none("You are a helpful support agent for Blue Yonder Bank.");
    no_kind(
        "ship to 1146 Everett Lodge, Jonathanside, MD 02032",
        EntityType::Person,
    );
    no_kind("contact kelly.price@gmail.com", EntityType::Person);
}

#[test]
fn look_alikes() {
    none("trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7");
    none("commit 07a9d95326b7669907e3ad1d697618baf5fc593a (4bb2a71)");
    none("request 123e4567-e89b-12d3-a456-426614174000");
    none("image sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    none("timeUnixNano 1700000000000000000, model claude-sonnet-4-5-20250929");
    none("deployed v2.14.3 at 2025-09-02T18:22:33.123Z");
    none("order ORD-12345678, invoice INV-2024-53195, tracking 1Z999AA10123456784");
    none("numbers 4111111111111112 and 5500000000000005");
}

#[test]
fn escaped_json_offsets() {
    let t = r#"{\"name\": \"Gary Spencer\", \"note\": \"Dear Sean West,\\n\\nthanks\"}"#;
    has(t, EntityType::Person, "Gary Spencer");
    has(t, EntityType::Person, "Sean West");
    let t = r#"Best regards,\nRen\u00e9e Blanchard"#;
    has(t, EntityType::Person, r"Ren\u00e9e Blanchard");
}

/// A free-form address value is cut 160 bytes after its cue; that limit may fall inside a
/// multi-byte character, which must not panic.
#[test]
fn address_limit_inside_a_character() {
    let t = format!("address: {} {}É, 1", "A".repeat(100), "A".repeat(58));
    assert_eq!(t.find('É'), Some(9 + 159));
    let _ = det().detect(&t);
}

#[test]
fn spans_sorted_and_disjoint() {
    let t = "Hi Kevin, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, ip 10.0.0.1, mail k@x.io";
    let ents = det().detect(t);
    assert!(ents.windows(2).all(|w| w[0].end <= w[1].start));
    assert!(
        ents.iter()
            .all(|e| t.is_char_boundary(e.start) && t.is_char_boundary(e.end))
    );
}

#[test]
fn redaction_policies() {
    let text = "Mail jane@example.com or call +1 415-555-0132.";
    let r = redact(det(), &Policy::default(), text);
    assert_eq!(r.text.as_deref(), Some("Mail [EMAIL] or call [PHONE]."));
    assert_eq!(
        r.findings,
        vec![(EntityType::Email, 1), (EntityType::Phone, 1)]
    );

    let p = Policy::from_json(
        r#"{"default": "mask", "types": {"email": "pseudonymise", "PHONE": "keep"}}"#,
    )
    .expect("valid policy");
    let a = redact(det(), &p, text);
    let b = redact(det(), &p, "again: jane@example.com");
    let tok = p.pseudonym(EntityType::Email, "jane@example.com");
    assert!(tok.starts_with("[EMAIL:") && tok.len() == "[EMAIL:12345678]".len());
    assert_eq!(
        a.text.as_deref(),
        Some(format!("Mail {tok} or call +1 415-555-0132.").as_str())
    );
    assert!(b.text.as_deref().is_some_and(|t| t.contains(&tok)));
    // A different key gives a different token.
    assert_ne!(
        p.clone()
            .with_key([7u8; 32])
            .pseudonym(EntityType::Email, "jane@example.com"),
        tok
    );

    let drop = Policy {
        default: Action::Drop,
        ..Policy::default()
    };
    assert_eq!(redact(det(), &drop, text).text, None);
    assert_eq!(
        redact(det(), &drop, "nothing here").text.as_deref(),
        Some("nothing here")
    );

    assert!(Policy::from_json(r#"{"types": {"shoe_size": "mask"}}"#).is_err());
    assert!(Policy::from_json(r#"{"key": "abc"}"#).is_err());
    let keyed = Policy::from_json(&format!(
        r#"{{"default": "pseudonymise", "key": "{}"}}"#,
        "ab".repeat(32)
    ));
    assert!(keyed.is_ok_and(|k| k.key == [0xab; 32]));
}

#[test]
fn jsonl_protocol() {
    let input = "{\"id\": \"a\", \"text\": \"é mail x@y.io\"}\n\n{\"id\": 7, \"text\": \"none\"}\n";
    let mut out = Vec::new();
    let n = crate::run_jsonl(det(), input.as_bytes(), &mut out).expect("valid input");
    assert_eq!(n, 2);
    let s = String::from_utf8(out).expect("utf-8 output");
    let lines: Vec<&str> = s.lines().collect();
    // Offsets are code points: "é" is one.
    assert_eq!(
        lines[0],
        r#"{"id":"a","entities":[{"start":7,"end":13,"type":"EMAIL"}]}"#
    );
    assert_eq!(lines[1], r#"{"id":7,"entities":[]}"#);

    let bad = "{\"id\": \"a\", \"text\": \"x\"}\nnot json\n";
    let err = crate::run_jsonl(det(), bad.as_bytes(), Vec::new()).expect_err("line 2 is bad");
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn detector_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Detector>();
}

/// The texts of the labelled dev set (none when the fixtures are absent).
pub(crate) fn dev_texts() -> Vec<String> {
    let dev = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/pii/dev.jsonl"
    );
    std::fs::read_to_string(dev)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

/// The candidate-driven cue scan must find exactly the matches of the plain unanchored
/// alternation, on the dev texts and on texts built to stress the structural starts.
#[test]
fn cue_scan_matches_reference() {
    let mut texts = dev_texts();
    texts.extend(
        [
            "Lieferadresse: Am Neuen Markt 5, 10115 Berlin",
            "xAbc Defstraße 12a, D-80331 München",
            "Bahnhofstr. 7 und Hauptstraße\u{a0}9",
            "Rue de la Paix, 12, 75002 Paris, then Calle Mayor 3",
            "Jean Dupont here, and Anna Maria Schmidt (\"Tenant\") speaking",
            "1146 Everett Lodge, Jonathanside, MD 02032 and 12 bis, rue Victor Hugo",
            "PASSWORD=x; paſsword: y; DOB 1990-01-01; ssn 123456789",
            "12 INFO  [app] 7 Main\u{a0}St, 9 N. Main St, 12 3rd Ave, 5 O'Neil’s Ave",
            "10 Élysée Ave; 11 Main\tSt; 12 MAIN 3rd St; 13 Main st; 14 Main-Lane Rd; 15 X",
        ]
        .map(str::to_owned),
    );
    // House numbers before each kind of word the US and French parts tell apart.
    let words = [
        "rue",
        "Rue",
        "RUE",
        "Av.",
        "bd",
        "bis",
        "Bis",
        "ter",
        "B",
        "B,",
        "E",
        "Impasse",
        "INFO",
        "Main",
        "3rd",
        "Résidence",
        "résidence",
        "Rond-Point",
        "Paſſage",
        "\u{212a}ai",
        "lieu-dit",
        "Allée",
        "Quai",
        "x",
    ];
    for n in [
        "7", "12", "1234", "12345", "123456", "12B", "12bis", "12-14", "12,",
    ] {
        for w in words {
            for sep in [" ", "  ", "\u{a0}", ", "] {
                texts.push(format!("at {n}{sep}{w} de la Paix Street, 75001 Paris"));
                texts.push(format!("{n}{sep}{w} Victor Hugo Ave"));
            }
        }
    }
    // Cue literals cut off at every length, and followed by other bytes: the follow sets.
    for cue in [
        "Customer: Jane Doe",
        "client.address: x",
        "to: Jane Doe",
        "reply to Jane Doe",
        "password = hunter2",
        "Dr. Jane Doe",
        "DOB: 1990-01-01",
        "patient(e) : Jane Doe",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
    ] {
        for k in 1..=cue.len() {
            if let Some(head) = cue.get(..k) {
                texts.push(head.to_owned());
                texts.push(format!("{head}Éx"));
                texts.push(format!("{head}_Q"));
            }
        }
    }
    let upper: Vec<String> = texts.iter().take(300).map(|t| t.to_uppercase()).collect();
    texts.extend(upper);
    let d = det();
    for t in &texts {
        let n = crate::normalize::normalize(t);
        let runs = crate::util::Landmarks::of(n.as_bytes()).runs;
        let got = d.cues.scan(&n, &runs, &mut Vec::new());
        let want = d.cues.scan_reference(&n);
        let key = |v: &Vec<Vec<crate::util::Hit>>| -> Vec<Vec<(usize, usize, usize)>> {
            v.iter()
                .map(|f| f.iter().map(|h| (h.start(), h.end(), h.kind)).collect())
                .collect()
        };
        assert_eq!(key(&got), key(&want), "cue scan differs on {t:?}");
    }
}
