//! remote-policy's integration tests, one test binary (each module was a binary of its own; on
//! a 2-core machine linking them was most of the build). Nothing here changes process-wide
//! state, so the modules share a process safely.

mod errors;
mod limits_and_accessors;
mod matrix;
mod parse;
#[cfg(feature = "serde")]
mod policy_file;
mod properties;
mod ratelimit;
mod set;
