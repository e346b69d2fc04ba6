//! Test helpers shared by every crate of the workspace (a dev-dependency only; never published).
//!
//! - [`skip!`] and [`require!`]: a test that needs a missing resource says so loudly
//!   (`SKIP: test: reason` on stderr) and returns; under `HARDEN_TEST_STRICT=1` (which
//!   `cargo xtask test` sets) it fails instead, so nothing passes silently in CI.
//! - [`wait`]: every "wait until the peer is ready" waits for the real condition (a connect that
//!   succeeds, a line that was printed) with a bounded deadline and a message naming what it
//!   waited for.
//! - [`TempDir`]: a fresh directory, removed on drop, with short paths (Unix socket paths are
//!   limited to 107 bytes).
//! - [`bin`]: the binaries a test spawns are claimed out of cargo's shared target directory into
//!   a copy of their own, so another cargo run that rebuilds or re-links them cannot change or
//!   remove them mid-test.
//! - [`fds`]: a child process gets given fds at given numbers (3, 4, ... as systemd passes them).
//! - [`find_program`] and [`require_program!`]: the Debian programs the tests run as real peers.
//! - [`stale_unix_socket`]: a socket file nobody listens on, which no other test keeps alive.
// Unsafe code only in `fds` (the hook that runs between fork and exec).
#![deny(unsafe_code)]

pub mod bin;
pub mod fds;
mod program;
mod socket;
mod tempdir;
pub mod wait;

pub use program::{find_program, require_program};
pub use socket::stale_unix_socket;
pub use tempdir::TempDir;

/// Whether missing resources fail tests (`HARDEN_TEST_STRICT=1`).
pub fn strict() -> bool {
    std::env::var_os("HARDEN_TEST_STRICT").is_some_and(|v| v == "1")
}

/// The running test's name, as libtest names the thread it runs on (`module::test`), or
/// `"test"` when the harness runs tests on the main thread.
pub fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "test".to_owned(),
    }
}

/// Reports a missing resource: `SKIP: test: reason` on stderr, or a panic under
/// `HARDEN_TEST_STRICT=1`. The caller then returns; [`skip!`] does both.
pub fn skip(test: &str, reason: &str) {
    if strict() {
        panic!("{test}: required resource missing (HARDEN_TEST_STRICT=1): {reason}");
    }
    eprintln!("SKIP: {test}: {reason}");
}

/// Reports a kernel feature this kernel lacks (a protocol or address family such as SCTP or
/// AF_VSOCK, which `cargo xtask test` cannot install): always `SKIP: ...` on stderr, also under
/// `HARDEN_TEST_STRICT=1`, because it depends on the kernel build, not on the machine's setup.
pub fn skip_kernel_feature(test: &str, reason: &str) {
    eprintln!("SKIP: {test}: kernel feature missing: {reason}");
}

/// Skips the current test: prints `SKIP: <test>: <reason>` and returns from the enclosing
/// function (or, with `HARDEN_TEST_STRICT=1`, fails the test).
///
/// ```
/// fn needs_something() {
///     if std::env::var_os("SOMETHING_THAT_IS_NOT_SET_9f3a").is_none() {
///         test_support::skip!("SOMETHING_THAT_IS_NOT_SET_9f3a is not set");
///     }
///     unreachable!("skip! returned from the function");
/// }
/// // Under HARDEN_TEST_STRICT=1 the skip is a failure instead.
/// if test_support::strict() {
///     assert!(std::panic::catch_unwind(needs_something).is_err());
/// } else {
///     needs_something();
/// }
/// ```
#[macro_export]
macro_rules! skip {
    ($($reason:tt)+) => {{
        $crate::skip(&$crate::current_test(), &format!($($reason)+));
        return;
    }};
}

/// Skips the current test (see [`skip!`]) unless `cond` holds.
///
/// ```
/// fn needs_sh() {
///     test_support::require!(std::path::Path::new("/bin/sh").exists(), "/bin/sh is missing");
///     assert!(std::path::Path::new("/bin/sh").exists());
/// }
/// needs_sh();
/// ```
#[macro_export]
macro_rules! require {
    ($cond:expr, $($reason:tt)+) => {
        if !$cond {
            $crate::skip!($($reason)+);
        }
    };
}

/// Skips the current test because the kernel lacks a feature (see [`skip_kernel_feature`]):
/// prints `SKIP: <test>: kernel feature missing: <reason>` and returns, also under
/// `HARDEN_TEST_STRICT=1`.
#[macro_export]
macro_rules! skip_kernel {
    ($($reason:tt)+) => {{
        $crate::skip_kernel_feature(&$crate::current_test(), &format!($($reason)+));
        return;
    }};
}

/// The path of `program` (see [`find_program`]), or else skips the current test (see
/// [`skip!`]) with a reason that names the Debian package that provides it. Spawn the program by
/// the path it returns: a program found in `/usr/sbin` need not be on `PATH`.
///
/// ```
/// fn needs_sh() {
///     let sh = test_support::require_program!("sh", "dash");
///     assert!(std::process::Command::new(sh).arg("-c").arg("true").status().unwrap().success());
/// }
/// needs_sh();
/// ```
#[macro_export]
macro_rules! require_program {
    ($program:expr, $package:expr) => {
        // A call, not a bare `match`: the macro is also used as a statement, its value unused.
        ::std::convert::identity(
            match $crate::require_program(&$crate::current_test(), $program, $package) {
                Some(path) => path,
                None => return,
            },
        )
    };
}
