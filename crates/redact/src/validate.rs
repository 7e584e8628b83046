//! Checksums and structural validators that turn "looks like" into "is".

use std::net::{Ipv4Addr, Ipv6Addr};

/// Luhn (mod 10) check over the ASCII digits of `s`, ignoring separators.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Whether a digit string has the prefix and length of a real card brand. Issuer ranges
/// from the public IIN tables: Visa, Mastercard (51-55 and 2221-2720), Amex, Discover,
/// JCB, Diners, UnionPay and Maestro.
pub(crate) fn card_brand_ok(d: &[u8]) -> bool {
    let len = d.len();
    let n = |k: usize| -> u32 {
        d[..k.min(len)]
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    let (p1, p2, p3, p4, p6) = (n(1), n(2), n(3), n(4), n(6));
    match p1 {
        4 => matches!(len, 13 | 16 | 19),
        5 => match p2 {
            51..=55 => len == 16,
            // Maestro
            50 | 56..=59 => (12..=19).contains(&len),
            _ => false,
        },
        2 => (2221..=2720).contains(&p4) && len == 16,
        3 => {
            (matches!(p2, 34 | 37) && len == 15)
                || ((300..=305).contains(&p3) && (14..=19).contains(&len))
                || (matches!(p2, 36 | 38 | 39) && (14..=19).contains(&len))
                || ((3528..=3589).contains(&p4) && (16..=19).contains(&len))
        }
        6 => {
            (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6))
                && (16..=19).contains(&len)
                // UnionPay and Maestro 6xxx
                || (p2 == 62 && (16..=19).contains(&len))
                || (matches!(p2, 60 | 63 | 66 | 67 | 68 | 69) && (12..=19).contains(&len))
        }
        _ => false,
    }
}

/// IBAN lengths per country (ISO 13616 registry).
fn iban_len(cc: &[u8]) -> Option<usize> {
    let l = match cc {
        b"AD" => 24,
        b"AE" => 23,
        b"AL" => 28,
        b"AT" => 20,
        b"AZ" => 28,
        b"BA" => 20,
        b"BE" => 16,
        b"BG" => 22,
        b"BH" => 22,
        b"BI" => 27,
        b"BR" => 29,
        b"BY" => 28,
        b"CH" => 21,
        b"CR" => 22,
        b"CY" => 28,
        b"CZ" => 24,
        b"DE" => 22,
        b"DJ" => 27,
        b"DK" => 18,
        b"DO" => 28,
        b"EE" => 20,
        b"EG" => 29,
        b"ES" => 24,
        b"FI" => 18,
        b"FK" => 18,
        b"FO" => 18,
        b"FR" => 27,
        b"GB" => 22,
        b"GE" => 22,
        b"GI" => 23,
        b"GL" => 18,
        b"GR" => 27,
        b"GT" => 28,
        b"HR" => 21,
        b"HU" => 28,
        b"IE" => 22,
        b"IL" => 23,
        b"IQ" => 23,
        b"IS" => 26,
        b"IT" => 27,
        b"JO" => 30,
        b"KW" => 30,
        b"KZ" => 20,
        b"LB" => 28,
        b"LC" => 32,
        b"LI" => 21,
        b"LT" => 20,
        b"LU" => 20,
        b"LV" => 21,
        b"LY" => 25,
        b"MC" => 27,
        b"MD" => 24,
        b"ME" => 22,
        b"MK" => 19,
        b"MN" => 20,
        b"MR" => 27,
        b"MT" => 31,
        b"MU" => 30,
        b"NI" => 28,
        b"NL" => 18,
        b"NO" => 15,
        b"OM" => 23,
        b"PK" => 24,
        b"PL" => 28,
        b"PS" => 29,
        b"PT" => 25,
        b"QA" => 29,
        b"RO" => 24,
        b"RS" => 22,
        b"RU" => 33,
        b"SA" => 24,
        b"SC" => 31,
        b"SD" => 18,
        b"SE" => 24,
        b"SI" => 19,
        b"SK" => 24,
        b"SM" => 27,
        b"SO" => 23,
        b"ST" => 25,
        b"SV" => 28,
        b"TL" => 23,
        b"TN" => 24,
        b"TR" => 26,
        b"UA" => 29,
        b"VA" => 22,
        b"VG" => 24,
        b"XK" => 20,
        b"YE" => 30,
        _ => return None,
    };
    Some(l)
}

/// Expected compact length of an IBAN for its country code, if the country issues IBANs.
pub(crate) fn iban_country_len(cc: &[u8]) -> Option<usize> {
    iban_len(cc)
}

/// ISO 7064 mod 97-10 over a compact, upper-case IBAN.
pub(crate) fn iban_mod97(compact: &[u8]) -> bool {
    if compact.len() < 5 {
        return false;
    }
    let mut rem: u32 = 0;
    let rotated = compact[4..].iter().chain(&compact[..4]);
    for &c in rotated {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// SSA rules for issued numbers: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub(crate) fn ssn_ok(area: &str, group: &str, serial: &str) -> bool {
    let (Ok(a), Ok(g), Ok(s)) = (
        area.parse::<u32>(),
        group.parse::<u32>(),
        serial.parse::<u32>(),
    ) else {
        return false;
    };
    a != 0 && a != 666 && a < 900 && g != 0 && s != 0
}

/// An IPv4 host address worth redacting: not loopback, unspecified, broadcast or a netmask.
pub(crate) fn ipv4_is_host(s: &str) -> bool {
    let Ok(ip) = s.parse::<Ipv4Addr>() else {
        return false;
    };
    let o = ip.octets();
    if o[0] == 0 || o[0] == 127 || ip.is_broadcast() {
        return false;
    }
    // A netmask is a run of one bits followed by zero bits; real hosts starting with 255
    // do not exist outside the reserved 240/4 block anyway.
    let bits = u32::from(ip);
    if o[0] == 255 && bits.leading_ones() + bits.trailing_zeros() == 32 {
        return false;
    }
    true
}

/// An IPv6 host address worth redacting: parses, and is not `::` or `::1`.
pub(crate) fn ipv6_is_host(s: &str) -> bool {
    let Ok(ip) = s.parse::<Ipv6Addr>() else {
        return false;
    };
    if ip.is_loopback() || ip.is_unspecified() {
        return false;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return ipv4_is_host(&v4.to_string());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_brand() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(card_brand_ok(b"4111111111111111"));
        assert!(card_brand_ok(b"378282246310005"));
        assert!(card_brand_ok(b"2221000000000009"));
        assert!(!card_brand_ok(b"9111111111111111"));
    }

    #[test]
    fn iban() {
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(!iban_mod97(b"DE89370400440532013001"));
        assert_eq!(iban_country_len(b"DE"), Some(22));
    }

    #[test]
    fn ips() {
        assert!(ipv4_is_host("203.0.113.7"));
        assert!(ipv4_is_host("10.1.2.3"));
        assert!(!ipv4_is_host("127.0.0.1"));
        assert!(!ipv4_is_host("0.0.0.0"));
        assert!(!ipv4_is_host("255.255.255.0"));
        assert!(!ipv4_is_host("255.255.255.255"));
        assert!(ipv6_is_host("2001:db8::1"));
        assert!(ipv6_is_host("::ffff:203.0.113.7"));
        assert!(!ipv6_is_host("::1"));
        assert!(!ipv6_is_host("::"));
    }
}
