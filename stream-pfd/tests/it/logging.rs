//! Feature `log`: what the crate returns as data also reaches the application's logger. A
//! capturing logger is installed once for this test binary (the only process-wide state these
//! tests set; other tests' records are captured too and ignored).

use std::sync::{Mutex, Once};
use std::time::Duration;

use common::TempDir;

use crate::common;

static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = record.args().to_string();
        LINES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((record.level(), line));
    }

    fn flush(&self) {}
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The captured lines at `level` that contain `needle`.
fn logged(level: log::Level, needle: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(l, line)| *l == level && line.contains(needle))
        .map(|(_, line)| line.clone())
        .collect()
}

#[test]
fn a_stale_socket_file_removed_is_logged() {
    install();
    let dir = TempDir::new("stream-pfd-log-stale");
    let path = dir.join("app.sock");
    test_support::stale_unix_socket(&path);
    let bound = stream_pfd::bind_socket_file(&path, None).unwrap();
    assert!(bound.removed_stale);
    assert_eq!(
        logged(log::Level::Info, &path.display().to_string()),
        [format!(
            "removed the stale socket file {} (no process listened on it) before binding",
            path.display()
        )]
    );
}

/// A watchdog whose pings fail says so once (not at every ping), at warning level.
#[cfg(all(feature = "notify", feature = "tokio"))]
#[test]
fn failing_watchdog_pings_are_logged_once() {
    install();
    let name = common::abstract_name("log-watchdog");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let notifier = stream_pfd::notify::Notifier::new(&format!("@{name}")).unwrap();
        // Nobody listens at the name: every ping fails; 20 ms pings for 200 ms.
        let pings = notifier.spawn_watchdog(Duration::from_millis(40));
        tokio::time::sleep(Duration::from_millis(200)).await;
        pings.abort();
    });
    let failures = logged(log::Level::Warn, &name);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(
        failures[0].starts_with("watchdog ping failed: sending to \"@stream-pfd-test-log-watchdog"),
        "{failures:#?}"
    );
}
