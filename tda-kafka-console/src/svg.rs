//! Inline SVG charts: lag over time and the persistence diagram.

use maud::{html, Markup};
use tda_kafka_client::model::PersistencePair;

use crate::lag::Sample;
use crate::layout::fmt_ts;

const W: f64 = 640.0;
const H: f64 = 240.0;
const PAD: f64 = 44.0;

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    let n = v / mag;
    let step = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

/// Total lag over time as a line chart (`id="lag-chart"`).
pub(crate) fn lag_chart(samples: &[Sample]) -> Markup {
    let max = nice_max(samples.iter().map(|s| s.lag).max().unwrap_or(0) as f64);
    let (t0, t1) = match (samples.first(), samples.last()) {
        (Some(a), Some(b)) => (a.at_ms, b.at_ms.max(a.at_ms + 1)),
        _ => (0, 1),
    };
    let x = |t: i64| PAD + (t - t0) as f64 / (t1 - t0) as f64 * (W - 2.0 * PAD);
    let y = |l: i64| H - PAD + -(l as f64 / max) * (H - 2.0 * PAD);
    let points: String = samples
        .iter()
        .map(|s| format!("{:.1},{:.1}", x(s.at_ms), y(s.lag)))
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        svg id="lag-chart" xmlns="http://www.w3.org/2000/svg" width=(W) height=(H)
            viewBox={ "0 0 " (W) " " (H) } role="img" aria-label="lag over time" data-samples=(samples.len()) {
            rect x="0" y="0" width=(W) height=(H) fill="#fff" stroke="#e3e7ee" {}
            @for i in 0..=4 {
                @let v = max * f64::from(i) / 4.0;
                @let yy = H - PAD - f64::from(i) / 4.0 * (H - 2.0 * PAD);
                line x1=(PAD) x2=(W - PAD) y1=(yy) y2=(yy) stroke="#eef1f6" {}
                text x=(PAD - 6.0) y=(yy + 4.0) text-anchor="end" { (format!("{v:.0}")) }
            }
            @if samples.is_empty() {
                text x=(W / 2.0) y=(H / 2.0) text-anchor="middle" { "no samples yet" }
            } @else {
                polyline points=(points) fill="none" stroke="#2454c5" stroke-width="2" {}
                @for s in samples {
                    circle cx=(format!("{:.1}", x(s.at_ms))) cy=(format!("{:.1}", y(s.lag))) r="2.5" fill="#2454c5" {
                        title { (fmt_ts(s.at_ms)) ": lag " (s.lag) }
                    }
                }
                text x=(PAD) y=(H - PAD + 16.0) { (fmt_ts(t0)) }
                text x=(W - PAD) y=(H - PAD + 16.0) text-anchor="end" { (fmt_ts(t1)) }
            }
            text x=(PAD) y="16" { "total lag (messages), " (samples.len()) " samples" }
        }
    }
}

const COLORS: &[&str] = &["#2454c5", "#c62828", "#1a7f37", "#b35900", "#7b3fb8"];

/// A persistence diagram: birth on x, death on y, the diagonal, essential
/// classes (no death) drawn as triangles on the "∞" line at the top.
pub(crate) fn persistence_diagram(pairs: &[PersistencePair]) -> Markup {
    let finite_max = pairs
        .iter()
        .flat_map(|p| [Some(p.birth), p.death])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let max = nice_max(finite_max);
    let size = 360.0;
    let inner = size - 2.0 * PAD;
    let x = |v: f64| PAD + v / max * inner;
    let y = |v: f64| size - PAD - v / max * inner;
    let inf_y = PAD - 18.0;
    let mut dims: Vec<i32> = pairs.iter().map(|p| p.dimension).collect();
    dims.sort_unstable();
    dims.dedup();
    html! {
        svg id="persistence-diagram" xmlns="http://www.w3.org/2000/svg" width=(size + 90.0) height=(size)
            viewBox={ "0 0 " (size + 90.0) " " (size) } role="img" aria-label="persistence diagram" {
            rect x="0" y="0" width=(size + 90.0) height=(size) fill="#fff" stroke="#e3e7ee" {}
            line x1=(x(0.0)) y1=(y(0.0)) x2=(x(max)) y2=(y(max)) stroke="#98a2b3" stroke-dasharray="4 3" {}
            line x1=(PAD) y1=(size - PAD) x2=(size - PAD) y2=(size - PAD) stroke="#475467" {}
            line x1=(PAD) y1=(size - PAD) x2=(PAD) y2=(PAD) stroke="#475467" {}
            line x1=(PAD) y1=(inf_y) x2=(size - PAD) y2=(inf_y) stroke="#e3e7ee" {}
            text x=(PAD - 6.0) y=(inf_y + 4.0) text-anchor="end" { "∞" }
            text x=(size / 2.0) y=(size - 8.0) text-anchor="middle" { "birth" }
            text x="12" y=(size / 2.0) transform={ "rotate(-90 12 " (size / 2.0) ")" } text-anchor="middle" { "death" }
            text x=(PAD) y=(size - PAD + 14.0) text-anchor="middle" { "0" }
            text x=(size - PAD) y=(size - PAD + 14.0) text-anchor="middle" { (format!("{max}")) }
            @for p in pairs {
                @let c = COLORS[p.dimension.unsigned_abs() as usize % COLORS.len()];
                @match p.death {
                    Some(d) if d.is_finite() => {
                        circle class="pair" cx=(format!("{:.1}", x(p.birth))) cy=(format!("{:.1}", y(d))) r="4" fill=(c) fill-opacity="0.75" {
                            title { "H" (p.dimension) ": (" (p.birth) ", " (d) ")" }
                        }
                    }
                    _ => {
                        @let cx = x(p.birth);
                        polygon class="essential" points=(format!("{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", cx, inf_y - 5.0, cx - 5.0, inf_y + 4.0, cx + 5.0, inf_y + 4.0)) fill=(c) {
                            title { "H" (p.dimension) ": born " (p.birth) ", essential" }
                        }
                    }
                }
            }
            @for (i, d) in dims.iter().enumerate() {
                @let c = COLORS[d.unsigned_abs() as usize % COLORS.len()];
                circle cx=(size + 10.0) cy=(PAD + 16.0 * i as f64) r="4" fill=(c) {}
                text x=(size + 20.0) y=(PAD + 4.0 + 16.0 * i as f64) { "H" (d) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_render_their_points() {
        let s = [
            Sample {
                at_ms: 1_000,
                lag: 5,
            },
            Sample {
                at_ms: 2_000,
                lag: 0,
            },
        ];
        let svg = lag_chart(&s).into_string();
        assert!(
            svg.contains("polyline") && svg.contains("2 samples"),
            "{svg}"
        );
        assert!(lag_chart(&[]).into_string().contains("no samples yet"));
        let pairs = [
            PersistencePair {
                dimension: 0,
                birth: 0.0,
                death: Some(0.5),
            },
            PersistencePair {
                dimension: 1,
                birth: 0.2,
                death: None,
            },
        ];
        let d = persistence_diagram(&pairs).into_string();
        assert_eq!(d.matches("class=\"pair\"").count(), 1);
        assert_eq!(d.matches("class=\"essential\"").count(), 1);
        assert_eq!(nice_max(37.0), 50.0);
    }
}
