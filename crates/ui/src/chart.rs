//! Line charts as inline SVG, drawn on the server: no chart library to ship,
//! and every point carries its exact value (a tooltip, and the table below).

use maud::{Markup, html};

pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const PAD_L: f64 = 64.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 28.0;

/// `labels` name the x positions (time buckets); each series has one value per label.
pub fn line(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series],
    unit: fn(f64) -> String,
) -> Markup {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let n = labels.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            PAD_L + (W - PAD_L - PAD_R) / 2.0
        } else {
            PAD_L + (W - PAD_L - PAD_R) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| PAD_T + (H - PAD_T - PAD_B) * (1.0 - v / max);
    let tick_every = n.div_ceil(6).max(1);
    html! {
        figure.chart #(id) {
            figcaption { (title) }
            @if labels.is_empty() {
                p.muted { "No data in this range." }
            } @else {
                svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(title) {
                    @for k in 0..=4 {
                        @let v = max * f64::from(k) / 4.0;
                        line.grid x1=(PAD_L) x2=(W - PAD_R) y1=(y(v)) y2=(y(v)) {}
                        text.axis x=(PAD_L - 6.0) y=(y(v) + 4.0) text-anchor="end" { (unit(v)) }
                    }
                    @for (i, l) in labels.iter().enumerate() {
                        @if i.is_multiple_of(tick_every) {
                            text.axis x=(x(i)) y=(H - 8.0) text-anchor=(if i == 0 && n > 1 { "start" } else if i + 1 == n && n > 1 { "end" } else { "middle" }) { (short(l)) }
                        }
                    }
                    @for (si, s) in series.iter().enumerate() {
                        @let points: Vec<String> = s.values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect();
                        polyline.{"s" (si % 8)} points=(points.join(" ")) {}
                        @for (i, v) in s.values.iter().enumerate() {
                            circle.{"s" (si % 8)} cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*v))) r="3" {
                                title { (s.name) " · " (labels[i]) ": " (unit(*v)) }
                            }
                        }
                    }
                }
                ul.legend {
                    @for (si, s) in series.iter().enumerate() { li { span.swatch.{"s" (si % 8)} {} (s.name) } }
                }
                details.numbers {
                    summary { "Numbers" }
                    table.grid {
                        thead { tr { th { "Bucket (UTC)" } @for s in series { th.num { (s.name) } } } }
                        tbody {
                            @for (i, l) in labels.iter().enumerate() {
                                tr { td { (l) } @for s in series { td.num data-value=(s.values[i]) { (unit(s.values[i])) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `2026-11-26T10:00:00Z` → `11-26 10:00`.
fn short(label: &str) -> String {
    match (label.get(5..10), label.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => label.to_owned(),
    }
}
