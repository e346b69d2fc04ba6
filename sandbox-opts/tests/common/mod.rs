//! Test support shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

#[allow(unused_imports)]
pub use test_support::skip;
