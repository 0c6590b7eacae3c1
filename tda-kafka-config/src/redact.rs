//! Parser messages without the values they quote: a configuration, topics
//! or backup file can hold secrets, and serde echoes the values it rejects.

/// Replaces every value serde quotes in `message` (`string "..."`,
/// ``integer `...` ``, ``floating point `...` ``, ``character `...` ``) by
/// `<N characters>`. Backquoted field and variant names are kept.
pub fn redact_quoted(message: &str) -> String {
    const VALUE_PREFIXES: [&str; 4] = ["integer ", "floating point ", "character ", "boolean "];
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        let close = match c {
            '"' => '"',
            '`' if VALUE_PREFIXES.iter().any(|p| out.ends_with(p)) => '`',
            _ => {
                out.push(c);
                continue;
            }
        };
        let mut n = 0usize;
        let mut closed = false;
        while let Some(q) = chars.next() {
            if q == '\\' && close == '"' {
                chars.next();
                n += 1;
            } else if q == close {
                closed = true;
                break;
            } else {
                n += 1;
            }
        }
        out.push_str(&format!("<{n} characters>"));
        if !closed {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_quoted;

    #[test]
    fn quoted_values_are_replaced_by_their_length_and_names_kept() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "a\"b", expected i32"#),
            "invalid type: string <3 characters>, expected i32"
        );
        assert_eq!(
            redact_quoted("invalid type: integer `12345`, expected a sequence"),
            "invalid type: integer <5 characters>, expected a sequence"
        );
        assert_eq!(
            redact_quoted("unknown field `nmae`, expected one of `name`, `partitions`"),
            "unknown field `nmae`, expected one of `name`, `partitions`"
        );
    }
}
