//! Test support: skipping (or failing under `HARDEN_TEST_STRICT=1`) when a
//! resource is missing.

#![allow(dead_code)]

/// Reports a missing resource: prints `SKIP: <test>: <reason>` to stderr, or
/// panics when `HARDEN_TEST_STRICT=1` (CI) so the gap cannot go unnoticed.
pub(crate) fn skip(test: &str, reason: &str) {
    if std::env::var("HARDEN_TEST_STRICT").as_deref() == Ok("1") {
        panic!("{test}: required resource missing (HARDEN_TEST_STRICT=1): {reason}");
    }
    eprintln!("SKIP: {test}: {reason}");
}
