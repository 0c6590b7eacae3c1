//! The page frame (navigation, stylesheet) and small rendering helpers.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::security::CSRF_FIELD;
use crate::server::AppState;
use crate::ConsoleError;

/// The stylesheet, compiled into the binary.
const CSS: &str = include_str!("../assets/console.css");

const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/topics", "Topics"),
    ("/groups", "Consumer groups"),
    ("/schemas", "Schemas"),
    ("/connectors", "Connectors"),
    ("/tda/jobs", "TDA jobs"),
    ("/tda/results", "TDA results"),
];

fn frame(title: &str, active: &str, mode: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tda-kafka console" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    span.brand { "tda-kafka" }
                    nav {
                        @for (href, label) in NAV {
                            a href=(href) class=[(*href == active).then_some("active")] { (label) }
                        }
                    }
                    @if let Some(m) = mode { span.mode { (m) } }
                }
                main { (body) }
            }
        }
    }
}

/// A full page.
pub(crate) fn page(state: &AppState, title: &str, active: &str, body: Markup) -> Markup {
    let mode = state.opts.read_only.then_some("read-only");
    frame(title, active, mode, body)
}

/// The page shown for an error.
pub(crate) fn error_page(err: &ConsoleError) -> Markup {
    let title = match err.status() {
        403 => "Refused",
        404 => "Not found",
        400 => "Invalid request",
        502 => "Service unavailable",
        _ => "Error",
    };
    frame(
        title,
        "",
        None,
        html! {
            h1 { (title) }
            div.notice.error { (err.to_string()) }
        },
    )
}

/// The hidden CSRF field every change form carries.
pub(crate) fn csrf(state: &AppState) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(state.csrf); }
}

/// A notice box (`kind`: `error`, `success` or empty).
pub(crate) fn notice(kind: &str, text: impl AsRef<str>) -> Markup {
    html! { div class={ "notice " (kind) } { (text.as_ref()) } }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm` UTC.
pub(crate) fn fmt_ts(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A byte count as `1.2 MiB`.
pub(crate) fn fmt_bytes(n: i64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// Whether a config or property name holds a secret (never rendered).
pub(crate) fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        "jaas",
        "credential",
        "token",
        "private.key",
        "key.pem",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Percent-encodes a path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_sizes_format() {
        assert_eq!(fmt_ts(0), "1970-01-01 00:00:00.000");
        assert_eq!(fmt_ts(1_700_000_000_123), "2023-11-14 22:13:20.123");
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
        assert!(is_secret_name("sasl.jaas.config"));
        assert!(is_secret_name("ssl.keystore.password"));
        assert!(!is_secret_name("retention.ms"));
    }
}
