//! One-line log records on stderr, for the journal.
//!
//! Each record is `echod: LEVEL: message` on one line: every control character a message
//! carries (a newline, a carriage return, an ESC from a path or a remote a user wrote) is
//! escaped, so no user string can forge or rewrite a log line. When stderr
//! is connected to the systemd journal (`$JOURNAL_STREAM` names stderr's device and inode), each
//! line is prefixed with its syslog priority (`<3>` for errors ...), which journald turns into
//! the record's priority.

use std::io::Write;

use super::text::escape_controls;
use std::os::fd::AsFd;

struct StderrLogger {
    journal: bool,
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let (prio, name) = match record.level() {
            log::Level::Error => (3, "error"),
            log::Level::Warn => (4, "warning"),
            log::Level::Info => (6, "info"),
            log::Level::Debug => (7, "debug"),
            log::Level::Trace => (7, "trace"),
        };
        let text = escape_controls(&record.args().to_string(), false);
        let line = if self.journal {
            format!("<{prio}>echod: {name}: {text}\n")
        } else {
            format!("echod: {name}: {text}\n")
        };
        // One write per record so that lines from different threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

fn stderr_is_journal() -> bool {
    let Ok(v) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.split_once(':') else {
        return false;
    };
    let Ok(st) = nix::sys::stat::fstat(std::io::stderr().as_fd()) else {
        return false;
    };
    dev.parse::<u64>().ok() == Some(st.st_dev) && ino.parse::<u64>().ok() == Some(st.st_ino)
}

/// Installs the stderr logger with `level` (idempotent: later calls only change the level).
pub(crate) fn init(level: log::LevelFilter) {
    let logger = Box::new(StderrLogger {
        journal: stderr_is_journal(),
    });
    let _ = log::set_logger(Box::leak(logger));
    log::set_max_level(level);
}
