//! Length-preserving normalisation of JSON string escapes.
//!
//! Telemetry payloads carry text inside JSON strings, often JSON nested in JSON, so a
//! newline shows up as `\n`, `\\n` or `\\\\n` and a quote as `\"`. Regexes with word
//! boundaries would read `\nHolly` as the word `nHolly`. Rather than unescaping (which
//! moves every offset) we overwrite escape sequences in a copy of the text with bytes of
//! the same length: separators become spaces and `\uXXXX` letters become six ASCII
//! letters so a name like `Ren\u00e9e` still reads as one capitalised word. Offsets found
//! in the copy are therefore valid in the original, and char boundaries are unchanged
//! because only ASCII bytes are rewritten.

use std::borrow::Cow;

/// Returns a copy of `text` with escape sequences neutralised, or the text itself when it
/// has no backslash (the common case, which then costs one `memchr`-style scan).
pub(crate) fn normalize(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let Some(first) = memchr::memchr(b'\\', bytes) else {
        return Cow::Borrowed(text);
    };
    let mut out = bytes.to_vec();
    let mut i = first;
    while i < out.len() {
        if bytes[i] != b'\\' {
            match memchr::memchr(b'\\', &bytes[i..]) {
                Some(k) => i += k,
                None => break,
            }
        }
        let run_start = i;
        while i < bytes.len() && bytes[i] == b'\\' {
            i += 1;
        }
        let next = bytes.get(i).copied();
        match next {
            // An escaped newline or tab stays a line/field break so line-oriented rules
            // (tables, "Label: value" lines) see the structure of the embedded text.
            Some(b'n') => {
                out[run_start..i].fill(b' ');
                out[i] = b'\n';
                i += 1;
            }
            Some(b't') => {
                out[run_start..i].fill(b' ');
                out[i] = b'\t';
                i += 1;
            }
            Some(b'r' | b'"' | b'/' | b'b' | b'f') => {
                out[run_start..=i].fill(b' ');
                i += 1;
            }
            Some(b'u')
                if i + 4 < bytes.len() && bytes[i + 1..i + 5].iter().all(u8::is_ascii_hexdigit) =>
            {
                let hex = &text[i + 1..i + 5];
                let code = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                let seq = &mut out[run_start..i + 5];
                match code {
                    Some(c) if c.is_alphabetic() => {
                        // The whole escape becomes letters so the word stays one word; the
                        // case of the first keeps capitalisation tests meaningful.
                        seq.fill(b'x');
                        if c.is_uppercase() {
                            seq[0] = b'X';
                        }
                    }
                    _ => seq.fill(b' '),
                }
                i += 5;
            }
            _ => {
                out[run_start..i].fill(b' ');
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes, so the buffer is still UTF-8; fall
    // back to the original text rather than panicking if that invariant were ever broken.
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn keeps_length_and_splits_words() {
        let t = r#"regards,\nHolly \"x\" Ren\u00e9e \\\\nBob"#;
        let n = normalize(t);
        assert_eq!(n.len(), t.len());
        assert!(n.contains(" \nHolly"));
        assert!(n.contains("Renxxxxxxe"));
        assert!(n.contains("    \nBob"));
    }

    #[test]
    fn borrowed_without_backslash() {
        assert!(matches!(normalize("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
