//! `cargo xtask bench`: every crate's benchmarks (each measures its own baseline in the same run).

use crate::util::{cargo, run};

/// `cargo xtask bench`.
pub(crate) fn bench_command(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("`bench` takes no arguments, got `{a}`"));
    }
    crate::deps::ensure_host()?;
    run(cargo().args(["bench", "--workspace", "--all-features"]))?;
    crate::vm::bench()
}
