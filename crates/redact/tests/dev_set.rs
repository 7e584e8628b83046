//! Scores the detector on the labelled dev set in place, with the matching rules of
//! `shared/fixtures/pii/score.py`, and fails if a type drops below its bar:
//!
//! * a gold entity is found when predictions of its type cover >= 50% of its characters;
//! * a prediction is correct when >= 50% of its characters lie inside gold of its type;
//! * a hard negative is flagged when any prediction overlaps it by one character.
//!
//! Offsets are Unicode code points, as in the data file.

use std::collections::BTreeMap;

use glassbox_redact::{Detector, EntityType};

const DEV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/pii/dev.jsonl"
);

/// Characters of `[lo, hi)` covered by the union of `spans`.
fn covered(lo: usize, hi: usize, spans: &[(usize, usize)]) -> usize {
    let mut segs: Vec<(usize, usize)> = spans
        .iter()
        .filter(|&&(s, e)| s < hi && e > lo)
        .map(|&(s, e)| (s.max(lo), e.min(hi)))
        .collect();
    segs.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(usize, usize)> = None;
    for (s, e) in segs {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += ce - cs;
    }
    total
}

#[derive(Default, Debug)]
struct Tally {
    gold: usize,
    found: usize,
    pred: usize,
    correct: usize,
}

#[test]
fn dev_set_meets_bars() {
    let data = match std::fs::read_to_string(DEV) {
        Ok(d) => d,
        Err(e) => panic!("cannot read {DEV}: {e}"),
    };
    let det = Detector::new();
    let mut per: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut negs, mut flagged) = (0usize, 0usize);
    for (n, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => panic!("{DEV}:{}: {e}", n + 1),
        };
        let text = rec["text"].as_str().unwrap_or_default();
        // Byte offset -> code point index.
        let mut cp_of = vec![0usize; text.len() + 1];
        let mut cp = 0;
        for (b, ch) in text.char_indices() {
            for k in 0..ch.len_utf8() {
                cp_of[b + k] = cp;
            }
            cp += 1;
        }
        cp_of[text.len()] = cp;
        let preds: Vec<(usize, usize, &str)> = det
            .detect(text)
            .iter()
            .map(|e| (cp_of[e.start], cp_of[e.end], e.kind.as_str()))
            .collect();
        let span = |v: &serde_json::Value| -> (usize, usize) {
            (
                v["start"].as_u64().unwrap_or(0) as usize,
                v["end"].as_u64().unwrap_or(0) as usize,
            )
        };
        let gold: Vec<(usize, usize, String)> = rec["entities"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|g| {
                        let (s, e) = span(g);
                        (s, e, g["type"].as_str().unwrap_or_default().to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (gs, ge, gt) in &gold {
            let same: Vec<(usize, usize)> = preds
                .iter()
                .filter(|p| p.2 == gt)
                .map(|p| (p.0, p.1))
                .collect();
            let t = per.entry(gt.clone()).or_default();
            t.gold += 1;
            if covered(*gs, *ge, &same) * 2 >= ge - gs {
                t.found += 1;
            }
        }
        for (ps, pe, pt) in &preds {
            let same: Vec<(usize, usize)> = gold
                .iter()
                .filter(|g| g.2 == *pt)
                .map(|g| (g.0, g.1))
                .collect();
            let t = per.entry((*pt).to_owned()).or_default();
            t.pred += 1;
            if covered(*ps, *pe, &same) * 2 >= pe - ps {
                t.correct += 1;
            }
        }
        for ng in rec["negatives"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (ns, ne) = span(ng);
            negs += 1;
            if preds.iter().any(|p| p.0 < ne && ns < p.1) {
                flagged += 1;
            }
        }
    }
    let mut failures = Vec::new();
    let (mut pred, mut correct) = (0, 0);
    for t in EntityType::ALL {
        let Some(s) = per.get(t.as_str()) else {
            continue;
        };
        pred += s.pred;
        correct += s.correct;
        let recall = if s.gold == 0 {
            1.0
        } else {
            s.found as f64 / s.gold as f64
        };
        let bar = match t {
            EntityType::Person | EntityType::StreetAddress => 0.85,
            _ => 0.95,
        };
        eprintln!(
            "{:<22} gold {:>5} found {:>5} pred {:>5} correct {:>5} recall {recall:.3}",
            t.as_str(),
            s.gold,
            s.found,
            s.pred,
            s.correct
        );
        if recall < bar {
            failures.push(format!("{t}: recall {recall:.3} < {bar}"));
        }
    }
    let precision = if pred == 0 {
        1.0
    } else {
        correct as f64 / pred as f64
    };
    let neg_rate = flagged as f64 / negs.max(1) as f64;
    eprintln!(
        "overall precision {precision:.3}; negatives flagged {flagged}/{negs} ({neg_rate:.4})"
    );
    if precision < 0.95 {
        failures.push(format!("overall precision {precision:.3} < 0.95"));
    }
    if neg_rate >= 0.02 {
        failures.push(format!("negatives flagged {neg_rate:.4} >= 0.02"));
    }
    assert!(failures.is_empty(), "dev set below bar: {failures:?}");
}
