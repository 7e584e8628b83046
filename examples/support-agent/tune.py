#!/usr/bin/env python3
"""Offline figures for golden.jsonl × prompts/v*.txt under the fake model.

Reimplements, with the same formulas, what crates/fake-anthropic does (its crate docs are the
specification; the stopword list is read from that crate): the extractive agent's answer, the
judge's score of it against `expected`, and tokens at ceil(chars / 4). Cost uses the Claude
Haiku 4.5 price, $1 per million input tokens and $5 per million output tokens, no caching.
Prints per-version means and checks the relations the evaluation tests rely on; exits 1 if one
does not hold.
"""

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STOPWORDS = {
    line.strip()
    for line in (HERE / "../../crates/fake-anthropic/src/stopwords.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
}
NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
INPUT_USD_PER_TOKEN = 1 / 1_000_000
OUTPUT_USD_PER_TOKEN = 5 / 1_000_000


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def content_words(text: str) -> list[str]:
    # Rust splits on every non-alphanumeric char; str.isalnum matches char::is_alphanumeric
    # closely enough for this (ASCII) data set.
    words, seen, current = [], set(), []
    for c in text + " ":
        if c.isalnum():
            current.append(c)
            continue
        word = "".join(current).lower()
        current = []
        if len(word) >= 4 and word not in STOPWORDS and word not in seen:
            seen.add(word)
            words.append(word)
    return words


def split_sentences(text: str) -> list[str]:
    sentences, start = [], 0
    for i, c in enumerate(text):
        next_is_space = i + 1 == len(text) or text[i + 1].isspace()
        if c == "\n":
            end, resume = i, i + 1
        elif c in ".!?" and next_is_space:
            end, resume = i + 1, i + 1
        else:
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = resume
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def sentence_limit(system: str) -> int:
    words = system.lower().split()
    for i in range(len(words) - 3):
        if words[i] == "at" and words[i + 1] == "most" and words[i + 3].startswith("sentence"):
            n = int(words[i + 2]) if words[i + 2].isdigit() else (NUMBERS.index(words[i + 2]) + 1 if words[i + 2] in NUMBERS else 0)
            if n >= 1:
                return n
    return 3


def answer(question: str, context: str, system: str) -> str:
    question_words = content_words(question)
    sentences = split_sentences(context)
    ranked = sorted(
        range(len(sentences)),
        key=lambda i: (-sum(1 for w in question_words if w in set(content_words(sentences[i]))), i),
    )
    chosen = sorted(ranked[: sentence_limit(system)])
    return " ".join(sentences[i] for i in chosen)


def judge(reference: str, answer_text: str) -> float:
    terms = content_words(reference)
    if not terms:
        return 1.0
    present = set(content_words(answer_text))
    share = sum(1 for t in terms if t in present) / len(terms)
    return math.floor(share * 100 + 0.5) / 100


def user_message(item_input: dict) -> str:
    # Must match agent.py.
    return f"<context>{item_input['context']}</context>\n<question>{item_input['question']}</question>"


def evaluate(version: str, items: list[dict]) -> tuple[float, float]:
    system = (HERE / "prompts" / f"{version}.txt").read_text(encoding="utf-8").strip()
    quality = cost = 0.0
    for item in items:
        text = answer(item["input"]["question"], item["input"]["context"], system)
        quality += judge(item["expected"], text)
        cost += (tokens(system) + tokens(user_message(item["input"]))) * INPUT_USD_PER_TOKEN
        cost += tokens(text) * OUTPUT_USD_PER_TOKEN
    return quality / len(items), cost / len(items)


def main() -> int:
    items = [json.loads(line) for line in (HERE / "golden.jsonl").read_text(encoding="utf-8").splitlines() if line]
    figures = {v: evaluate(v, items) for v in ("v1", "v2", "v3")}
    (q1, c1) = figures["v1"]
    print(f"{len(items)} items")
    for version, (quality, cost) in figures.items():
        print(f"{version}: mean quality {quality:.4f} ({quality / q1:.3f} x v1), "
              f"mean cost ${cost:.7f} ({cost / c1:.3f} x v1)")
    (q2, c2), (q3, c3) = figures["v2"], figures["v3"]
    checks = [
        ("v1 quality >= 0.88", q1 >= 0.88),
        ("v2 quality 0.87-0.92 x v1", 0.87 <= q2 / q1 <= 0.92),
        ("v2 cost 1.27-1.35 x v1", 1.27 <= c2 / c1 <= 1.35),
        ("v3 quality >= 0.97 x v1", q3 / q1 >= 0.97),
        ("v3 cost <= 1.05 x v1", c3 / c1 <= 1.05),
    ]
    for name, ok in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
