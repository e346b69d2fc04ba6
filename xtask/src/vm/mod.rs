//! The VM harness: guest image, runner, suite, demo and interactive shell.
//!
//! (Being built for the VM issue; until then each command says so.)

use crate::util::Outcome;

const NOT_YET: &str =
    "the VM harness is not built yet (see the VM issue); run `cargo xtask test --host-only`";

/// `cargo xtask demo`.
pub(crate) fn demo_command(_args: &[String]) -> Result<(), String> {
    Err(NOT_YET.into())
}

/// `cargo xtask image [--rebuild]`.
pub(crate) fn image_command(_args: &[String]) -> Result<(), String> {
    Err(NOT_YET.into())
}

/// `cargo xtask vm [-- CMD...]`.
pub(crate) fn vm_command(_args: &[String]) -> Result<(), String> {
    Err(NOT_YET.into())
}

/// The VM suite, one outcome per scenario.
pub(crate) fn suite(outcomes: &mut Vec<Outcome>) {
    crate::util::step(outcomes, "vm: suite", || Err(NOT_YET.into()));
}

/// VM figures for `cargo xtask bench`.
pub(crate) fn bench() -> Result<(), String> {
    Ok(())
}
