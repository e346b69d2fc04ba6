//! The line protocol from the guest runner to the host (virtio-serial port `harden.results`).
//!
//! One event per line, fields separated by tabs (field text never holds a tab or newline):
//!
//! ```text
//! READY   <guest uptime seconds>                  the runner started (boot-to-ready)
//! SYSTEM  <systemd number> <systemd line> <kernel> what the guest runs (`systemd 262 (262.1-1)`)
//! NA      <scenario> <reason>                     a scenario this guest cannot run (not a pass)
//! NOTE    <scenario> <text>                       a line for the host to print under the table
//! BEGIN   <scenario> <limit seconds>              a scenario starts, with its time limit
//! LOG     <scenario> <text>                       diagnostics, stored in <run>/<scenario>.log
//! RESULT  <scenario> <pass|fail> <seconds> <msg>  a scenario's verdict
//! SAY     <text>                                  demo narration, printed by the host
//! EXIT    <code>                                  `cargo xtask vm -- CMD`: the command's status
//! VERDICT <pass|fail> <passed> <failed>           last line: the whole run
//! ```
//!
//! `xtask` (which does not depend on this crate) parses the same format in
//! `xtask/src/vm/results.rs`.

/// The virtio-serial port name for results.
pub const RESULTS_PORT: &str = "harden.results";
/// The virtio-serial port name the guest journal is written to at the end.
pub const JOURNAL_PORT: &str = "harden.journal";
/// The virtio-serial port that carries `cargo xtask vm -- CMD`'s output.
pub const OUTPUT_PORT: &str = "harden.output";

/// Makes `text` fit in one field: tabs and newlines become ` | `-separated pieces.
///
/// ```
/// assert_eq!(vmtests::scenarios::protocol::field("a\tb\nc"), "a b | c");
/// ```
pub fn field(text: &str) -> String {
    text.trim_end()
        .replace('\t', " ")
        .replace("\r\n", "\n")
        .replace('\n', " | ")
}

/// Builds one protocol line (without the newline).
///
/// ```
/// let l = vmtests::scenarios::protocol::line("RESULT", &["unix", "pass", "1.25", "ok"]);
/// assert_eq!(l, "RESULT\tunix\tpass\t1.25\tok");
/// ```
pub fn line(kind: &str, fields: &[&str]) -> String {
    let mut s = kind.to_string();
    for f in fields {
        s.push('\t');
        s.push_str(&field(f));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_never_split_a_line() {
        let l = line("LOG", &["x", "a\nb\tc\r\nd\n"]);
        assert_eq!(l.lines().count(), 1);
        assert_eq!(l.split('\t').count(), 3);
        assert_eq!(l, "LOG\tx\ta | b c | d");
    }
}
