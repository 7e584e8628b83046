//! Model-name resolution: the many spellings of one model (dated snapshots,
//! Bedrock and Vertex ids, provider prefixes, dotted versions) → one key.

/// Lowercases and strips provider prefixes, region prefixes, snapshot dates
/// and deployment suffixes: `us.anthropic.claude-haiku-4-5-20251001-v1:0`,
/// `claude-haiku-4-5@20251001` and `claude-haiku-4.5` all become `claude-haiku-4-5`.
pub fn canonical_model_name(name: &str) -> String {
    let mut s = name.trim().to_ascii_lowercase();
    // Provider path prefixes: "anthropic/claude-…", "models/gemini-…".
    if let Some((_, rest)) = s.rsplit_once('/') {
        s = rest.to_owned();
    }
    // Bedrock: "[region.]anthropic.claude-…-v1:0".
    for region in ["us.", "eu.", "apac.", "au.", "jp.", "global.", "us-gov."] {
        if let Some(rest) = s.strip_prefix(region)
            && rest.starts_with("anthropic.")
        {
            s = rest.to_owned();
        }
    }
    for provider in ["anthropic.", "openai.", "google.", "mistral."] {
        if let Some(rest) = s.strip_prefix(provider) {
            s = rest.to_owned();
        }
    }
    if let Some(idx) = s.find(":") {
        s.truncate(idx);
    }
    // Vertex: "claude-haiku-4-5@20251001".
    if let Some(idx) = s.find('@') {
        s.truncate(idx);
    }
    // Bedrock version suffix "-v1", "-v2".
    if let Some(idx) = s.rfind("-v")
        && s[idx + 2..].bytes().all(|b| b.is_ascii_digit())
        && idx + 2 < s.len()
    {
        s.truncate(idx);
    }
    // Snapshot dates: "-20251001" or "-2025-10-01".
    let bytes = s.as_bytes();
    if bytes.len() > 9
        && bytes[bytes.len() - 9] == b'-'
        && bytes[bytes.len() - 8..].iter().all(u8::is_ascii_digit)
    {
        s.truncate(s.len() - 9);
    } else if s.len() > 11 {
        let tail = &s[s.len() - 11..];
        let t = tail.as_bytes();
        if t[0] == b'-'
            && t[5] == b'-'
            && t[8] == b'-'
            && tail[1..5]
                .bytes()
                .chain(tail[6..8].bytes())
                .chain(tail[9..].bytes())
                .all(|b| b.is_ascii_digit())
        {
            s.truncate(s.len() - 11);
        }
    }
    for suffix in ["-latest"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest.to_owned();
        }
    }
    // Claude's dotted versions ("claude-sonnet-4.5") are the dashed ids.
    if s.starts_with("claude") {
        s = s.replace('.', "-");
    }
    s
}
