//! The `kafka.env` format: `KEY=VALUE` lines as a POSIX shell would `source`
//! them, without variable expansion.
//!
//! - blank lines and lines starting with `#` are ignored;
//! - an optional `export ` prefix is allowed;
//! - values may be unquoted (an inline comment starts at ` #`), single-quoted
//!   (taken literally) or double-quoted (`\"`, `\\`, `` \` `` and `\$` are
//!   escapes, other backslashes are kept); quoted values may span lines;
//! - after a closing quote only whitespace and an optional `# comment` may follow.

use std::fmt;

use serde::Serialize;

/// One `KEY=VALUE` assignment of an env file. `Debug` shows `***` for the
/// values of secret keys.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvEntry {
    /// The key, e.g. `KAFKA_HEAP_OPTS`.
    pub key: String,
    /// The unquoted value.
    pub value: String,
    /// 1-based line of the assignment.
    pub line: usize,
}

impl fmt::Debug for EnvEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = crate::keys::lookup(&self.key).is_some_and(|k| k.is_secret());
        f.debug_struct("EnvEntry")
            .field("key", &self.key)
            .field("value", if secret { &"***" } else { &self.value })
            .field("line", &self.line)
            .finish()
    }
}

/// A line of an env file that is not a valid assignment. Messages never
/// repeat values (a broken line may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvSyntaxError {
    /// 1-based line.
    pub line: usize,
    /// The key, when the line got that far.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for EnvSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The result of parsing an env file: every assignment that parsed and every
/// line that did not (parsing never stops at the first error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedEnv {
    /// Assignments in file order (a key may repeat; the last one wins).
    pub entries: Vec<EnvEntry>,
    /// Syntax errors in file order.
    pub errors: Vec<EnvSyntaxError>,
}

fn is_valid_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses the text of a `kafka.env` file.
pub fn parse_env(text: &str) -> ParsedEnv {
    let mut out = ParsedEnv::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = match line.strip_prefix("export") {
            Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
            _ => line,
        };
        let Some((key, rest)) = line.split_once('=') else {
            out.errors.push(EnvSyntaxError {
                line: line_no,
                key: None,
                message: "expected KEY=VALUE, a # comment or a blank line".into(),
            });
            continue;
        };
        let key = key.trim_end();
        if !is_valid_key(key) {
            out.errors.push(EnvSyntaxError {
                line: line_no,
                key: None,
                message: invalid_key_message(key),
            });
            continue;
        }
        let rest = rest.trim_start();
        let parsed = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                parse_quoted(q, &rest[1..], &lines, &mut i).map(|(v, tail)| (v, Some(tail)))
            }
            _ => Ok((unquoted(rest), None)),
        };
        match parsed {
            Ok((value, tail)) => {
                if let Some(tail) = tail {
                    let tail = tail.trim_start();
                    if !tail.is_empty() && !tail.starts_with('#') {
                        out.errors.push(EnvSyntaxError {
                            line: line_no,
                            key: Some(key.to_string()),
                            message: "unexpected text after the closing quote (only a # comment may follow)".into(),
                        });
                        continue;
                    }
                }
                out.entries.push(EnvEntry {
                    key: key.to_string(),
                    value,
                    line: line_no,
                });
            }
            Err(message) => out.errors.push(EnvSyntaxError {
                line: line_no,
                key: Some(key.to_string()),
                message,
            }),
        }
    }
    out
}

/// Says where a key goes wrong without repeating the line (it may hold a
/// secret).
fn invalid_key_message(key: &str) -> String {
    let rule = "a key is letters, digits and '_', not starting with a digit";
    match key
        .chars()
        .enumerate()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())))
    {
        None => format!("empty key: {rule}"),
        Some((i, c)) if c.is_ascii_graphic() || c == ' ' => {
            format!("invalid key: {c:?} at column {}: {rule}", i + 1)
        }
        Some((i, _)) => format!("invalid key: character at column {}: {rule}", i + 1),
    }
}

/// An unquoted value: up to an inline comment (` #`), trimmed.
fn unquoted(rest: &str) -> String {
    let mut end = rest.len();
    let bytes = rest.as_bytes();
    for (idx, &b) in bytes.iter().enumerate() {
        if b == b'#' && idx > 0 && (bytes[idx - 1] == b' ' || bytes[idx - 1] == b'\t') {
            end = idx;
            break;
        }
    }
    rest[..end].trim_end().to_string()
}

/// A quoted value starting after the opening quote `q` in `first`; may continue
/// on following lines (advancing `*next`). Returns the value and the text
/// after the closing quote.
fn parse_quoted<'a>(
    q: char,
    first: &'a str,
    lines: &[&'a str],
    next: &mut usize,
) -> Result<(String, &'a str), String> {
    let start_line = *next;
    let mut value = String::new();
    let mut current = first;
    loop {
        let mut chars = current.char_indices();
        let mut continued = false;
        while let Some((idx, c)) = chars.next() {
            if c == q {
                return Ok((value, &current[idx + c.len_utf8()..]));
            }
            if q == '"' && c == '\\' {
                match chars.clone().next() {
                    Some((_, e @ ('"' | '\\' | '$' | '`'))) => {
                        value.push(e);
                        chars.next();
                        continue;
                    }
                    None => {
                        // Backslash-newline inside double quotes joins the lines.
                        continued = true;
                        break;
                    }
                    _ => {}
                }
            }
            value.push(c);
        }
        if *next >= lines.len() {
            return Err(format!(
                "unterminated {} quote (opened on line {start_line})",
                if q == '"' { "double" } else { "single" }
            ));
        }
        if !continued {
            value.push('\n');
        }
        current = lines[*next];
        *next += 1;
    }
}

/// Quotes `value` for an env file so that [`parse_env`] (and a POSIX shell)
/// read back exactly `value`.
pub fn quote_env_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | ',' | '+' | '@' | '%')
        });
    if plain {
        value.to_string()
    } else if !value.contains('\'') {
        format!("'{value}'")
    } else {
        let mut out = String::with_capacity(value.len() + 2);
        out.push('"');
        for c in value.chars() {
            if matches!(c, '"' | '\\' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
}

impl crate::ClusterConfig {
    /// This configuration as a `kafka.env` file with every known key, in
    /// key-table order; unset values are written as `KEY=`. With
    /// `include_secrets` false, secrets are written as comments (`# KEY=***`).
    /// Topics not covered by `TDA_<TOPIC>_*` keys belong in a topics file.
    pub fn to_env_file(&self, include_secrets: bool) -> String {
        let mut out = String::new();
        for key in crate::keys::all_keys() {
            let value = key.value(self);
            if key.is_secret() && !include_secrets {
                if value.is_some() {
                    out.push_str(&format!("# {}=***\n", key.name()));
                }
                continue;
            }
            let value = value.map(|v| quote_env_value(&v)).unwrap_or_default();
            out.push_str(&format!("{}={value}\n", key.name()));
        }
        out
    }

    /// A documented `kafka.env` to start from (what `tda-kafka config
    /// template` prints): every key with its doc line. Keys whose value
    /// differs from the profile's are set; the others are commented out with
    /// the profile's value, so changing `ENVIRONMENT` still changes them.
    /// Secrets are always commented out and never written.
    pub fn to_env_template(&self) -> String {
        let profile = crate::ClusterConfig::for_environment(self.environment);
        let mut out = format!(
            "# kafka.env for tda-kafka ({} profile). Every key is optional; a\n\
             # commented key has the profile's value. Layering: defaults < profile <\n\
             # this file < environment variables < command-line flags.\n",
            self.environment
        );
        if self.environment == crate::Environment::Production {
            out.push_str(
                "# Production refuses PLAINTEXT and SASL_PLAINTEXT: set KAFKA_SECURITY_PROTOCOL=SASL_SSL\n\
                 # (or SSL) with TDA_KAFKA_TLS_DIR (certificates generated there) or your own\n\
                 # keystores, and the SASL user and password (KAFKA_SASL_PASSWORD in a 0600 file).\n",
            );
        }
        for key in crate::keys::all_keys() {
            out.push_str(&format!("\n# {}\n", key.doc()));
            let value = key.value(self);
            let line = match &value {
                _ if key.is_secret() => format!("#{}=", key.name()),
                None => format!("#{}=", key.name()),
                Some(v) => {
                    let set = key.name() == "ENVIRONMENT" || value != key.value(&profile);
                    let hash = if set { "" } else { "#" };
                    format!("{hash}{}={}", key.name(), quote_env_value(v))
                }
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> EnvEntry {
        let p = parse_env(text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.entries.len(), 1, "{:?}", p.entries);
        p.entries[0].clone()
    }

    #[test]
    fn quoted_values_keep_spaces() {
        assert_eq!(
            one("KAFKA_HEAP_OPTS=\"-Xmx32g -Xms32g\"").value,
            "-Xmx32g -Xms32g"
        );
        assert_eq!(one("A='x # y'  # c").value, "x # y");
        assert_eq!(one(r#"A="a\"b\\c\$d\n""#).value, "a\"b\\c$d\\n");
    }

    #[test]
    fn export_and_inline_comments() {
        let e = one("export KAFKA_BROKER_COUNT=3   # three brokers");
        assert_eq!(
            (e.key.as_str(), e.value.as_str()),
            ("KAFKA_BROKER_COUNT", "3")
        );
        assert_eq!(one("A=x#y").value, "x#y");
        assert_eq!(one("A=").value, "");
        assert_eq!(one("exportA=1").key, "exportA");
    }

    #[test]
    fn errors_carry_lines_and_parsing_goes_on() {
        let p = parse_env("# c\nnot an assignment\nA=1\n1B=2\nC=\"open\nD='x' y\nE=2");
        let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(
            p.errors[2].message.contains("unterminated"),
            "{:?}",
            p.errors
        );
        let keys: Vec<&str> = p.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, vec!["A"]);
    }

    #[test]
    fn multi_line_quoted_values() {
        let p = parse_env("A=\"one\ntwo\"\nB=3");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.entries[0].value, "one\ntwo");
        assert_eq!(p.entries[1].line, 3);
    }

    #[test]
    fn the_template_loads_back_to_the_profile() {
        for env in crate::Environment::ALL {
            let mut c = crate::ClusterConfig::for_environment(env);
            c.security.sasl_password = Some(crate::SecretString::new("hunter2"));
            c.num_io_threads = 5;
            let text = c.to_env_template();
            assert!(text.contains("\nKAFKA_NUM_IO_THREADS=5\n"), "{text}");
            assert!(text.contains("\n#KAFKA_BROKER_COUNT=3\n"), "{text}");
            assert!(!text.contains("hunter2"));
            let loaded = crate::ConfigLoader::new()
                .env_text("kafka.env", text)
                .check();
            // The template never holds the password; a SASL profile names it.
            // Production refuses the profile's PLAINTEXT until security is set.
            let refused = |key: Option<&str>| {
                key == Some("KAFKA_SASL_PASSWORD")
                    || (env == crate::Environment::Production
                        && key == Some("KAFKA_SECURITY_PROTOCOL"))
            };
            let issues: Vec<_> = loaded
                .report
                .issues
                .iter()
                .filter(|i| !refused(i.key.as_deref()))
                .collect();
            assert!(issues.is_empty(), "{env}: {}", loaded.report);
            assert_eq!(
                loaded.report.has_errors(),
                env == crate::Environment::Production,
                "{env}: {}",
                loaded.report
            );
            c.security.sasl_password = None;
            assert_eq!(loaded.config, c);
        }
    }

    #[test]
    fn quote_round_trips() {
        for v in [
            "",
            "plain",
            "-Xmx1g -Xms1g",
            "it's",
            "a\"b$c`d\\e",
            "x # y",
            "l1\nl2",
        ] {
            let text = format!("K={}", quote_env_value(v));
            assert_eq!(one(&text).value, v, "{text}");
        }
    }
}
