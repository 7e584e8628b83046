//! The fake model's deterministic behaviours: the judge and the extractive agent (see the crate
//! docs for the rules, which `examples/support-agent/tune.py` reimplements offline).

use std::collections::HashSet;
use std::sync::OnceLock;

/// Marker that makes the judge answer prose instead of a verdict.
pub(crate) const UNPARSABLE_MARKER: &str = "[[judge:unparsable]]";
/// The prose a judge gets for [`UNPARSABLE_MARKER`].
pub(crate) const UNPARSABLE_REPLY: &str = "I think it is good.";
const DEFAULT_SENTENCES: usize = 3;

fn stopwords() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("stopwords.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    })
}

/// Distinct content words of `text`, in first-seen order.
pub(crate) fn content_words(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut words = Vec::new();
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        let word = raw.to_lowercase();
        if word.chars().count() >= 4
            && !stopwords().contains(word.as_str())
            && seen.insert(word.clone())
        {
            words.push(word);
        }
    }
    words
}

/// The text inside the last `<name>…</name>` pair, if any.
pub(crate) fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut search_end = text.len();
    // The last opening tag that has a closing one after it: judge templates often mention
    // the tags in their instructions before the real blocks.
    while let Some(start) = text[..search_end].rfind(&open) {
        let body = start + open.len();
        if let Some(len) = text[body..].find(&close) {
            return Some(&text[body..body + len]);
        }
        search_end = start;
    }
    None
}

/// A judge's verdict, before it is wrapped in a tool call or JSON text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub score: f64,
    pub reasoning: String,
}

/// Scores the `<answer>` in `prompt` against its `<reference>` (or `<question>`).
pub(crate) fn judge(prompt: &str) -> Verdict {
    let Some(answer) = tag(prompt, "answer") else {
        return Verdict {
            score: 0.0,
            reasoning: "no <answer>…</answer> in the prompt, so there is nothing to score".into(),
        };
    };
    let (label, reference) = match (tag(prompt, "reference"), tag(prompt, "question")) {
        (Some(reference), _) => ("reference", reference),
        (None, Some(question)) => ("question", question),
        (None, None) => {
            return Verdict {
                score: 0.0,
                reasoning: "no <reference> or <question> to compare the answer with".into(),
            };
        }
    };
    let terms = content_words(reference);
    if terms.is_empty() {
        return Verdict {
            score: 1.0,
            reasoning: format!("the {label} has no content words to check"),
        };
    }
    let answer_words: HashSet<String> = content_words(answer).into_iter().collect();
    let missing: Vec<&String> = terms
        .iter()
        .filter(|t| !answer_words.contains(*t))
        .collect();
    let present = terms.len() - missing.len();
    let score = (present as f64 / terms.len() as f64 * 100.0).round() / 100.0;
    let mut reasoning = format!("{present} of {} {label} terms present", terms.len());
    if !missing.is_empty() {
        let listed: Vec<String> = missing.iter().take(8).map(|w| format!("'{w}'")).collect();
        reasoning.push_str(": missing ");
        reasoning.push_str(&listed.join(", "));
        if missing.len() > listed.len() {
            reasoning.push_str(", …");
        }
    }
    Verdict { score, reasoning }
}

/// The agent's answer to the last user message, under the system prompt's sentence limit.
pub(crate) fn answer(user: &str, system: &str) -> String {
    let (Some(context), Some(question)) = (tag(user, "context"), tag(user, "question")) else {
        return format!("You said: {user}");
    };
    let question_words = content_words(question);
    let sentences = split_sentences(context);
    let mut ranked: Vec<(usize, usize)> = sentences
        .iter()
        .enumerate()
        .map(|(index, sentence)| {
            let words: HashSet<String> = content_words(sentence).into_iter().collect();
            let shared = question_words.iter().filter(|w| words.contains(*w)).count();
            (index, shared)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = ranked
        .into_iter()
        .take(sentence_limit(system))
        .map(|(index, _)| index)
        .collect();
    chosen.sort_unstable();
    let picked: Vec<&str> = chosen.into_iter().map(|index| sentences[index]).collect();
    picked.join(" ")
}

/// Sentences of `text`: ended by `.`, `!` or `?` before whitespace or the end, or by a line
/// break; trimmed, empty ones dropped.
pub(crate) fn split_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((pos, c)) = chars.next() {
        let next_is_space = chars.peek().is_none_or(|(_, next)| next.is_whitespace());
        let (end, resume) = match c {
            '\n' => (pos, pos + 1),
            '.' | '!' | '?' if next_is_space => (pos + 1, pos + 1),
            _ => continue,
        };
        let sentence = text[start..end].trim();
        if !sentence.is_empty() {
            sentences.push(sentence);
        }
        start = resume;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        sentences.push(rest);
    }
    sentences
}

/// N from the first "at most N sentence(s)" in `system`, else the default.
pub(crate) fn sentence_limit(system: &str) -> usize {
    const NUMBERS: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    let lower = system.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    for window in words.windows(4) {
        if window[0] != "at" || window[1] != "most" || !window[3].starts_with("sentence") {
            continue;
        }
        let number = window[2]
            .parse::<usize>()
            .ok()
            .or_else(|| NUMBERS.iter().position(|n| *n == window[2]).map(|i| i + 1));
        if let Some(n) = number.filter(|n| *n >= 1) {
            return n;
        }
    }
    DEFAULT_SENTENCES
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stop {
    EndTurn,
    Sequence(String),
    MaxTokens,
}

/// Ends `text` where generation would: at the earliest stop sequence, then at `max_tokens`.
/// Returns the text, why it ended and its output tokens.
pub(crate) fn cut(
    mut text: String,
    stop_sequences: &[String],
    max_tokens: u64,
) -> (String, Stop, u64) {
    let mut stop = Stop::EndTurn;
    let earliest = stop_sequences
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at);
    if let Some((at, sequence)) = earliest {
        text.truncate(at);
        stop = Stop::Sequence(sequence.clone());
    }
    let tokens = crate::tokens::count(&text);
    if tokens <= max_tokens {
        return (text, stop, tokens);
    }
    let keep = usize::try_from(max_tokens)
        .unwrap_or(usize::MAX)
        .saturating_mul(4);
    (
        text.chars().take(keep).collect(),
        Stop::MaxTokens,
        max_tokens,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_words_skip_short_and_stop_words() {
        assert_eq!(
            content_words("Refunds take 5-7 business days, and THESE refunds"),
            vec!["refunds", "take", "business", "days"]
        );
    }

    #[test]
    fn judge_names_missing_terms() {
        let verdict = judge(
            "<reference>Refund within thirty days</reference><answer>within thirty days</answer>",
        );
        assert_eq!(verdict.score, 0.67);
        assert_eq!(
            verdict.reasoning,
            "2 of 3 reference terms present: missing 'refund'"
        );
    }

    #[test]
    fn tags_take_the_last_complete_pair() {
        let text = "Compare <answer> with the reference.\n<answer>real</answer>";
        assert_eq!(tag(text, "answer"), Some("real"));
    }

    #[test]
    fn sentences_split_at_terminators_and_lines() {
        assert_eq!(
            split_sentences("Costs 2.5 dollars. Really? Yes!\nHeading\nLast one"),
            vec![
                "Costs 2.5 dollars.",
                "Really?",
                "Yes!",
                "Heading",
                "Last one"
            ]
        );
    }

    #[test]
    fn sentence_limit_reads_digits_and_words() {
        assert_eq!(sentence_limit("Answer in at most 2 sentences."), 2);
        assert_eq!(sentence_limit("Use at most one sentence."), 1);
        assert_eq!(sentence_limit("Be brief."), 3);
    }

    #[test]
    fn cut_prefers_stop_sequences_then_max_tokens() {
        let stops = ["END".to_string()];
        assert_eq!(
            cut("abc END def".into(), &stops, 100),
            ("abc ".into(), Stop::Sequence("END".into()), 1)
        );
        assert_eq!(
            cut("abcdefghij".into(), &[], 2),
            ("abcdefgh".into(), Stop::MaxTokens, 2)
        );
    }

    #[test]
    fn agent_keeps_original_order() {
        let user = "<context>Shipping is free. Refunds take five days. Refunds need a receipt.</context>\n<question>How do refunds work with a receipt?</question>";
        assert_eq!(
            answer(user, "at most 2 sentences"),
            "Refunds take five days. Refunds need a receipt."
        );
    }
}
