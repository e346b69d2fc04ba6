//! Text for messages: escaping what users wrote before it reaches a log line or a control
//! reply.

/// `text` with every control character escaped (`\r`, `\t`, `\u{1b}` ...; `\n` too unless
/// `keep_newlines`), the rest, non-ASCII letters included, unchanged: no user string can forge
/// a log line or rewrite a terminal.
pub(crate) fn escape_controls(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !(keep_newlines && c == '\n') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_cannot_forge_a_line() {
        let hostile = "punix:/tmp/a\r\x1b[2Kb\nechod: info: forged";
        for (keep_newlines, newline) in [(false, "\\n"), (true, "\n")] {
            assert_eq!(
                escape_controls(hostile, keep_newlines),
                format!("punix:/tmp/a\\r\\u{{1b}}[2Kb{newline}echod: info: forged")
            );
        }
        assert_eq!(
            escape_controls("ptcp:6640 — ok é", false),
            "ptcp:6640 — ok é"
        );
    }
}
