//! Parses `--sandbox <OPTS>` (QEMU's `-sandbox` syntax) with clap derive and
//! prints the canonical value, the denied syscall sets and any warnings.
//!
//! ```text
//! cargo run -p sandbox-opts --features clap --example sandbox-cli -- --sandbox on,spawn=deny
//! ```
#![forbid(unsafe_code)]

use clap::Parser;
use sandbox_opts::Parsed;
use sandbox_opts::help::{HELP, SHORT_HELP};

/// Show what a QEMU-style -sandbox option denies.
#[derive(Debug, Parser)]
#[command(name = "sandbox-cli")]
struct Cli {
    #[arg(
        long,
        value_name = "OPTS",
        value_parser = sandbox_opts::clap::parsed_value_parser(),
        help = SHORT_HELP,
        long_help = HELP
    )]
    sandbox: Option<Parsed>,
}

fn main() {
    let cli = Cli::parse();
    let Parsed { sandbox, warnings } = cli.sandbox.unwrap_or_default();
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    println!("sandbox: {sandbox}");
    println!("explicit: {sandbox:#}");
    println!("denied sets: {}", sandbox.denied_sets());
    println!("no-new-privileges: {}", sandbox.no_new_privileges());
}
