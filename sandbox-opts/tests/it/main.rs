//! sandbox-opts' integration tests, one test binary (each module was a binary of its own; on a
//! 2-core machine linking them was most of the build). The modules that need a feature are
//! compiled only with it, as their `required-features` did. Nothing here changes process-wide
//! state; `cli` runs the `sandbox-cli` example as a child process.

#[cfg(feature = "clap")]
mod clap_derive;
#[cfg(feature = "clap")]
mod cli;
mod help;
mod parse;
mod properties;
mod qemu;
#[cfg(feature = "serde")]
mod serde;
mod table;
