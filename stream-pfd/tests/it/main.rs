//! stream-pfd's integration tests, one test binary (each module was a binary of its own; on a
//! 2-core machine linking them was most of the build). `notify` needs the feature of that name,
//! as its `required-features` did.
//!
//! The modules share one process, which is safe because none changes process-wide state (but
//! for the capturing logger `logging` installs, which nothing else reads): the
//! environment is never set (`LISTEN_*`, `NOTIFY_SOCKET` and `WATCHDOG_*` are read in child
//! processes: the `pfd-info` example, or this binary re-run by `notify` for one test), no test
//! closes or `dup2`s over an fd it did not create (fds are placed in children, see
//! `test_support::fds`), and the in-process takes claim only fds their test created.

mod common;

mod batch;
mod connection;
mod fallback;
#[cfg(feature = "log")]
mod logging;
mod messages;
#[cfg(feature = "notify")]
mod notify;
mod parse;
mod protocol;
mod readme;
mod socket_activate;
mod validate_kinds;
