//! Test support shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

/// Reports a missing resource: prints `SKIP: <test>: <reason>` and returns, or
/// panics when `HARDEN_TEST_STRICT=1` (CI) so that nothing passes silently.
pub fn skip(test: &str, reason: &str) {
    if std::env::var("HARDEN_TEST_STRICT").as_deref() == Ok("1") {
        panic!("{test}: required resource missing (HARDEN_TEST_STRICT=1): {reason}");
    }
    eprintln!("SKIP: {test}: {reason}");
}
