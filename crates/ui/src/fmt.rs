//! How numbers read on screen: aligned, grouped, with units. The exact value
//! travels beside the text in `data-value` so tests and tooltips can use it.

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars with enough digits to tell small calls apart.
pub fn usd(v: f64) -> String {
    if v == 0.0 {
        "$0".into()
    } else if v.abs() < 0.0001 {
        "<$0.0001".into()
    } else if v.abs() < 1.0 {
        format!("${v:.4}")
    } else if v.abs() < 1000.0 {
        format!("${v:.2}")
    } else {
        format!("${}", count(v.round() as u64))
    }
}

/// Milliseconds as `850 ms`, `1.24 s`, `2m 03s`.
pub fn duration_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// `2026-11-26T10:00:00.123456789Z` → `2026-11-26 10:00:00`.
pub fn time(rfc3339: &str) -> String {
    let t = rfc3339.replace('T', " ");
    t.get(..19).map(str::to_owned).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(0.012345), "$0.0123");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.00001), "<$0.0001");
        assert_eq!(duration_ms(850.4), "850 ms");
        assert_eq!(duration_ms(1240.0), "1.24 s");
        assert_eq!(duration_ms(123_000.0), "2m 03s");
        assert_eq!(time("2026-11-26T10:00:00.5Z"), "2026-11-26 10:00:00");
    }
}
