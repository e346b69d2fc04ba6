//! `cargo xtask`: the project's automation; its one dependency, serde_json, reads `cargo metadata`.
//!
//! ```text
//! cargo xtask test [--host-only | --vm-only] [--suite NAME]...
//!                                              every test (installs what a fresh machine lacks);
//!                                              the VM suite on bookworm, trixie, sid
//!                                              and trixie-arm64
//! cargo xtask test --repeat N [--load] [FILTER] the host tests N times, listing every failure
//! cargo xtask demo [--suite NAME]              boot a systemd VM and narrate echod's walkthrough
//! cargo xtask bench [-p CRATE]...              benchmarks, reported as ratios against a baseline
//! cargo xtask mutants [CRATE...]               mutation testing of the library crates
//! cargo xtask image [--suite NAME]... [--rebuild]  build (or rebuild) cached guest images
//! cargo xtask vm [--suite NAME] [--copy SRC[:DEST]]... [-- CMD...]
//!                                              a shell in the guest, or one command and its status
//! cargo xtask payload [--arch x86_64|arm64]     build the guest binaries (arm64: cross-built)
//! cargo xtask deps                             only install the prerequisites
//! ```
//!
//! Every command installs missing Debian packages with apt-get when run as root, saying which
//! and why first, and never removing or downgrading an installed package (see `deps`).
//! `--no-install` (any command) or `HARDEN_NO_INSTALL=1` turns installing off.
#![forbid(unsafe_code)]

mod apt;
mod bench;
mod deps;
mod disk;
mod host;
mod mirror;
mod mutants;
mod repeat;
// The house rules, as tests that `cargo test --workspace` runs.
#[cfg(test)]
mod tidy;
mod util;
mod vm;
mod workspace;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  test [--host-only | --vm-only] [--suite NAME]...
                                  run every test: host checks (fmt, clippy, tests, docs, packaging)
                                  then the VM suite under real systemd on Debian bookworm, trixie
                                  and sid, and trixie on arm64 (cross-built payload,
                                  qemu-system-aarch64 under TCG): one boot each, --suite narrows
                                  it (repeatable), and one scenario x suite table (HARDEN_VM_JOBS
                                  guests at once, one per CPU by default); installs missing
                                  packages
  test --repeat N [--load] [FILTER]
                                  run the host tests (or those matching FILTER) N times and list
                                  every test that failed at least once; --load keeps the machine
                                  busy with parallel builds during the first half of the runs
  demo [--suite NAME]             boot a systemd VM (the host's suite unless --suite names one of
                                  bookworm, trixie, sid, trixie-arm64) and walk through socket
                                  activation and sandboxing
  bench [-p CRATE]...             run the benchmarks (ratios against a baseline in the same run):
                                  every crate's and the VM figures, or only the crates named;
                                  echod's peer is the newest ovsdb-server (Debian sid's, from a
                                  chroot cached beside the guest images and built when missing)
  mutants [CRATE...]              mutation testing (cargo-mutants, installed on demand under
                                  target/tools) of the library crates or those named: a table of
                                  caught and missed mutants; fails if any is missed that is not
                                  on the allowlist (.cargo/mutants.toml). `test` runs only the
                                  mutants in what differs from origin/main or main
                                  (HARDEN_MUTANTS_BASE names another base)
  image [--suite NAME]... [--rebuild]
                                  build guest images (the host's suite by default), cached under
                                  the user's cache directory; sid's records its build date and
                                  --rebuild refreshes it; trixie-arm64's is finished by its first
                                  boot (debootstrap's second stage, under TCG, ~8 minutes)
  vm [--suite NAME] [--copy SRC[:DEST]]... [-- CMD...]
                                  interactive shell in the guest, or run CMD and return its status
                                  (one argument is a shell line, several are a program and its
                                  args). --copy carries a file or directory in: to DEST, or by
                                  default a unit file to /etc/systemd/system/ (then daemon-reload),
                                  an executable to /usr/local/bin/, anything else to /root/.
                                  The guest has D-Bus: systemctl start --wait and
                                  systemd-run --wait --pipe work
  payload [--arch x86_64|arm64]   build the guest binaries and check each is an ELF executable
                                  for that machine; for arm64 they are cross-built: the rustup
                                  target, Debian's cross linker and arm64 libseccomp (Debian's
                                  arm64 packages unpacked into a private sysroot under target/,
                                  never an architecture added to dpkg) are installed first
  deps                            install the prerequisites only (apt-get, when root)

options for every command:
  --no-install                    never run apt-get (also HARDEN_NO_INSTALL=1): a missing
                                  package is an error that names the install command instead
";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `--no-install` goes with every command; anything after `--` belongs to the guest.
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    if args[..end].iter().any(|a| a == "--no-install") {
        deps::forbid_install();
        let tail = args.split_off(end);
        args.retain(|a| a != "--no-install");
        args.extend(tail);
    }
    let (cmd, rest) = match args.split_first() {
        Some((cmd, rest)) => (cmd.as_str(), rest),
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd {
        "test" => host::test_command(rest),
        "demo" => vm::demo_command(rest),
        "bench" => bench::bench_command(rest),
        "mutants" => mutants::mutants_command(rest),
        "image" => vm::image_command(rest),
        "vm" => vm::vm_command(rest),
        "payload" => vm::payload_command(rest),
        "deps" => deps::deps_command(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            // A usage error, like no command at all: exit 2.
            eprint!("xtask: error: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
