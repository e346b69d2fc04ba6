//! `cargo xtask test`: host checks first, then the VM suite, then one results table.

use crate::deps;
use crate::util::{Outcome, cargo, print_summary, run, step};
use crate::workspace::library_crates;
use std::process::Command;

/// `cargo xtask test [--host-only | --vm-only] [--suite NAME]...`, or `cargo xtask test --repeat N [--load]
/// [FILTER]`.
pub(crate) fn test_command(args: &[String]) -> Result<(), String> {
    let (suites, args) = crate::vm::take_suites(args)?;
    let args = &args[..];
    let mut host = true;
    let mut vm = true;
    let mut runs: Option<u32> = None;
    let mut load = false;
    let mut filter = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--host-only" => vm = false,
            "--vm-only" => host = false,
            "--load" => load = true,
            "--repeat" => {
                let n = it
                    .next()
                    .ok_or("--repeat needs a number of runs, e.g. --repeat 20")?;
                runs =
                    Some(n.parse::<u32>().ok().filter(|r| *r >= 1).ok_or_else(|| {
                        format!("--repeat takes a number of runs >= 1, got `{n}`")
                    })?);
            }
            other if !other.starts_with('-') && filter.is_none() => {
                filter = Some(other.to_string())
            }
            other => {
                return Err(format!(
                    "unknown option `{other}` for `test`; expected --host-only, --vm-only, \
                     --suite NAME, or --repeat N [--load] [FILTER]"
                ));
            }
        }
    }
    if !host && !vm {
        return Err("--host-only and --vm-only exclude each other".into());
    }
    if !vm && !suites.is_empty() {
        return Err("--suite chooses the VM suites; it does not go with --host-only".into());
    }
    if let Some(runs) = runs {
        if !vm || !host || !suites.is_empty() {
            return Err(
                "--repeat runs the host tests only; drop --host-only/--vm-only/--suite".into(),
            );
        }
        deps::ensure_host()?;
        return crate::repeat::repeat(&crate::repeat::Repeat { runs, load, filter });
    }
    if load || filter.is_some() {
        return Err("--load and a test filter go with --repeat N".into());
    }
    let mut needs: Vec<deps::Need> = [deps::BUILD, deps::HOST].concat();
    if vm {
        needs.extend_from_slice(deps::VM);
    }
    deps::ensure(&needs)?;

    let mut outcomes: Vec<Outcome> = Vec::new();
    if host {
        host_steps(&mut outcomes);
    }
    if vm {
        crate::vm::suite(&mut outcomes, &suites);
    }
    if print_summary(&outcomes) {
        Ok(())
    } else {
        Err("some steps failed; see the table above (VM logs are under target/vmtests/)".into())
    }
}

fn host_steps(outcomes: &mut Vec<Outcome>) {
    step(outcomes, "host: cargo fmt --check", || {
        run(cargo().args(["fmt", "--all", "--", "--check"]))
    });
    step(
        outcomes,
        "host: guest files (shellcheck, systemd-analyze verify)",
        check_guest_files,
    );
    step(outcomes, "host: cargo clippy -D warnings", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))
    });
    step(outcomes, "host: cargo test (all features)", || {
        run(cargo()
            .args(["test", "--workspace", "--all-features"])
            .env("HARDEN_TEST_STRICT", "1"))
    });
    step(
        outcomes,
        "host: echod fault injection (every hostile client at once)",
        || {
            // Already part of the run above; its own line in the table makes a regression in
            // echod's robustness visible at a glance. Every wait in it is bounded.
            run(cargo()
                .args(["test", "--package", "echod", "--test", "echod_faults"])
                .env("HARDEN_TEST_STRICT", "1"))
        },
    );
    step(
        outcomes,
        "host: conformance with the real peers (QEMU grammar and filters, runc)",
        || {
            // Also part of the run above; here with their summary lines (how many strings,
            // verdicts and containers agreed, and every declared difference).
            run(cargo()
                .args(["test", "--package", "seccomp-sets", "--all-features"])
                .args(["--test", "qemu_conformance", "--test", "runc"])
                .args(["--", "--nocapture", "--test-threads=1"])
                .env("HARDEN_TEST_STRICT", "1"))
        },
    );
    step(
        outcomes,
        "host: mutants in what differs from the main branch",
        crate::mutants::in_diff_step,
    );
    step(
        outcomes,
        "host: each library crate alone, no features",
        || {
            for krate in library_crates()? {
                run(cargo()
                    .args(["test", "--package", &krate, "--no-default-features"])
                    .env("HARDEN_TEST_STRICT", "1"))?;
            }
            Ok(())
        },
    );
    step(
        outcomes,
        "host: cargo doc -D warnings (default and all features)",
        || {
            // Intra-doc links can break in either: an item behind a feature, or one that a
            // feature adds.
            run(cargo()
                .args(["doc", "--workspace", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"))?;
            run(cargo()
                .args(["doc", "--workspace", "--no-deps", "--all-features"])
                .env("RUSTDOCFLAGS", "-D warnings"))
        },
    );
    step(outcomes, "host: cargo package (library crates)", || {
        let mut cmd = cargo();
        cmd.args(["package", "--allow-dirty"]);
        for krate in library_crates()? {
            cmd.args(["--package", &krate]);
        }
        run(&mut cmd)
    });
}

/// The guest's own files (`xtask/guest/`): the script passes shellcheck and the unit passes
/// `systemd-analyze verify` with nothing to say. The unit's `ExecStart=` names the script's
/// place in the guest, so it is verified with that path pointing at the file here.
fn check_guest_files() -> Result<(), String> {
    let guest = crate::util::project_root().join("xtask/guest");
    let script = guest.join("harden-guest");
    quiet(Command::new("shellcheck").arg(&script))?;
    let unit = std::fs::read_to_string(guest.join("harden-guest.service"))
        .map_err(|e| format!("reading harden-guest.service: {e}"))?;
    let in_guest = "ExecStart=/usr/local/sbin/harden-guest";
    if !unit.contains(in_guest) {
        return Err(format!("harden-guest.service no longer has `{in_guest}`"));
    }
    let dir = crate::util::target_dir().join("guest-verify");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let copy = dir.join("harden-guest.service");
    let here = format!("ExecStart={}", script.display());
    std::fs::write(&copy, unit.replace(in_guest, &here))
        .map_err(|e| format!("writing {}: {e}", copy.display()))?;
    quiet(Command::new("systemd-analyze").arg("verify").arg(&copy))
}

/// Runs `cmd` and fails if it exits non-zero or prints anything (warnings count).
fn quiet(cmd: &mut Command) -> Result<(), String> {
    let shown = crate::util::show(cmd);
    eprintln!("$ {shown}");
    let out = cmd
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let said = crate::util::both_outputs(&out);
    if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("`{shown}` ({}):\n{}", out.status, said.trim()))
    }
}
