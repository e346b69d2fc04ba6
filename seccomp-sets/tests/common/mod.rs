//! Test support: skipping (or failing under `HARDEN_TEST_STRICT=1`) when a
//! resource is missing.

#![allow(dead_code)]

#[allow(unused_imports)]
pub(crate) use test_support::skip;
