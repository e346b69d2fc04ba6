//! Text helpers: escaping untrusted input for messages, reading strict decimal numbers and
//! naming them. A leaf module: it uses nothing else from the crate.

use std::fmt;

/// Longest piece of untrusted input echoed in a message.
const SHOWN_MAX: usize = 80;

/// Displays untrusted text escaped (control and non-ASCII characters) and truncated.
pub(crate) struct Shown<'a>(pub(crate) &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (count, ch) in self.0.chars().enumerate() {
            if count == SHOWN_MAX {
                return write!(f, "...({} bytes)", self.0.len());
            }
            if ch.is_ascii_graphic() || ch == ' ' {
                write!(f, "{ch}")?;
            } else {
                write!(f, "{}", ch.escape_default())?;
            }
        }
        Ok(())
    }
}

/// Whether `value` is a number written with a leading zero (`010`), which systemd's
/// `sd_listen_fds` parses as octal.
pub(crate) fn has_leading_zero(value: &str) -> bool {
    value.len() > 1 && value.starts_with('0') && value.bytes().all(|b| b.is_ascii_digit())
}

/// Strict decimal: ASCII digits only, at least one, and no leading zero (systemd's
/// `sd_listen_fds` reads `010` as octal 8, so such a value is ambiguous, never guessed).
pub(crate) fn parse_decimal(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) || has_leading_zero(value) {
        return None;
    }
    value.parse().ok()
}

/// What a `LISTEN_*` number must look like; names the octal trap for `010`.
pub(crate) struct Expected<'a> {
    /// The value as given.
    pub(crate) value: &'a str,
    /// What was expected ("a decimal number").
    pub(crate) what: &'static str,
}

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}", self.what)?;
        if has_leading_zero(self.value) {
            write!(
                f,
                " without leading zeros: systemd's sd_listen_fds reads {} as octal, so the \
                 value is ambiguous",
                Shown(self.value)
            )?;
        } else if !self.value.is_empty()
            && self.value.bytes().all(|b| b.is_ascii_digit())
            && self.value.parse::<u64>().is_err()
        {
            // Digits only, and no leading zero: it does not fit in 64 bits.
            f.write_str(" that fits in 64 bits; this one is too large")?;
        }
        Ok(())
    }
}

/// What fd 0, 1 or 2 is, for messages.
pub(crate) fn stdio_name(fd: i32) -> &'static str {
    match fd {
        0 => "standard input",
        1 => "standard output",
        2 => "standard error",
        _ => "not a valid fd number",
    }
}
