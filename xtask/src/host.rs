//! `cargo xtask test`: host checks first, then the VM suite, then one results table.

use crate::deps;
use crate::util::{Outcome, cargo, print_summary, run, step};
use crate::workspace::{Package, library_crates, packages};
use std::process::Command;

/// The test targets with a line of their own in the results table, as (package, target): the
/// workspace step leaves them out, so that each runs once.
const OWN_LINES: [(&str, &str); 2] = [("echod", "echod_faults"), ("seccomp-sets", "conformance")];

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
    // Before apt-get, which needs room too.
    crate::disk::ensure(&crate::disk::test_rooms(vm, &suites)?)?;
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
        for args in workspace_runs(&packages()?)? {
            run(cargo().args(args).env("HARDEN_TEST_STRICT", "1"))?;
        }
        Ok(())
    });
    step(
        outcomes,
        "host: echod fault injection (every hostile client at once)",
        || {
            // A line of its own makes a regression in echod's robustness visible at a glance.
            // Every wait in it is bounded.
            run(own_line_run("echod").env("HARDEN_TEST_STRICT", "1"))
        },
    );
    step(
        outcomes,
        "host: conformance with the real peers (QEMU grammar and filters, runc)",
        || {
            // With their summary lines (how many strings, verdicts and containers agreed, and
            // every declared difference).
            run(own_line_run("seccomp-sets")
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
    step(
        outcomes,
        "host: remote-policy and sandbox-opts build for macOS and Windows",
        portable_grammar_crates,
    );
    step(
        outcomes,
        "host: the workspace builds for arm64 (clippy -D warnings)",
        workspace_for_arm64,
    );
    step(outcomes, "host: cargo package (library crates)", || {
        let crates = library_crates()?;
        forget_packaged_sources(&crates)?;
        let mut cmd = cargo();
        cmd.args(["package", "--allow-dirty"]);
        for krate in &crates {
            cmd.args(["--package", krate]);
        }
        run(&mut cmd)
    });
}

/// Removes the sources cargo extracted from an earlier `cargo package` of `crates`.
///
/// Verifying a crate that depends on another one packaged in the same run, cargo reads the
/// other from a registry of its own under `target/package/`, extracted to
/// `$CARGO_HOME/registry/src/-HASH/NAME-VERSION/`, and it never extracts a version again: a
/// module added since the last run (with the version unchanged, as it is until publishing) is
/// then missing, and the verification fails with an unresolved import. Only those directories
/// (a registry without a host name, our crates' names) are removed; crates.io's are not
/// touched.
fn forget_packaged_sources(crates: &[String]) -> Result<(), String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(src) = cargo_home.map(|h| h.join("registry").join("src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&src) else {
        return Ok(()); // nothing extracted yet
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = crates.iter().any(|k| {
                name.strip_prefix(k.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                std::fs::remove_dir_all(entry.path())
                    .map_err(|e| format!("removing {}: {e}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

/// The targets the grammar crates must build for besides Linux (only stream-pfd's `pfd:`
/// grammar comes with them: its socket code is Linux's).
const FOREIGN_TARGETS: [&str; 2] = ["x86_64-apple-darwin", "x86_64-pc-windows-gnu"];

/// `cargo check` of remote-policy and sandbox-opts (all features, warnings denied) for each of
/// [`FOREIGN_TARGETS`], after adding their standard libraries with rustup when missing.
fn portable_grammar_crates() -> Result<(), String> {
    add_rust_targets(&FOREIGN_TARGETS)?;
    for target in FOREIGN_TARGETS {
        run(cargo()
            .args(["check", "--target", target, "--all-features"])
            .args(["--package", "remote-policy", "--package", "sandbox-opts"])
            .env("RUSTFLAGS", "-D warnings"))?;
    }
    Ok(())
}

/// Adds the standard libraries of `targets` with rustup, those that are missing.
fn add_rust_targets(targets: &[&str]) -> Result<(), String> {
    let installed =
        crate::util::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        run(Command::new("rustup")
            .args(["target", "add"])
            .args(&missing))?;
    }
    Ok(())
}

/// Every crate, test, bench and example of the workspace type-checks and lints clean for
/// aarch64 (issue 29: names differ per ABI, and raw calls by a name aarch64 lacks broke the
/// arm64 build twice before this step existed). No linking, so neither the cross linker nor
/// the arm64 libseccomp is needed here.
fn workspace_for_arm64() -> Result<(), String> {
    add_rust_targets(&[crate::vm::ARM64_TARGET])?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--target",
        crate::vm::ARM64_TARGET,
        "--",
        "-D",
        "warnings",
    ]))
}

/// The packages of [`OWN_LINES`], as `--package` options: every run that builds their tests
/// selects the same packages, so that cargo compiles them once, with one set of features.
fn own_line_packages() -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    for (package, _) in OWN_LINES {
        if !args.iter().any(|a| a == package) {
            args.extend(["--package".into(), package.into()]);
        }
    }
    args
}

/// `cargo test` of `package`'s targets in [`OWN_LINES`].
fn own_line_run(package: &str) -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--all-features"])
        .args(own_line_packages());
    for (_, target) in OWN_LINES.iter().filter(|(p, _)| *p == package) {
        cmd.args(["--test", target]);
    }
    cmd
}

/// The `cargo test` runs (arguments) of the workspace step: every test but those of
/// [`OWN_LINES`], each once. cargo cannot leave out one test target of a package, so the
/// packages of [`OWN_LINES`] are excluded from the workspace run and their other targets named
/// one by one (their doc tests apart: cargo does not mix them with other targets). Their
/// examples are left to the clippy step, which compiles every target; no test of theirs runs one.
fn workspace_runs(packages: &[Package]) -> Result<Vec<Vec<String>>, String> {
    let owners: Vec<&Package> = packages
        .iter()
        .filter(|p| OWN_LINES.iter().any(|(o, _)| *o == p.name))
        .collect();
    for (package, target) in OWN_LINES {
        let listed = owners.iter().any(|p| {
            p.name == package
                && p.targets
                    .iter()
                    .any(|t| t.kind == "test" && t.name == target)
        });
        if !listed {
            return Err(format!(
                "cargo metadata lists no test target `{target}` in package `{package}`, which \
                 has a line of its own in the results table (OWN_LINES in xtask/src/host.rs)"
            ));
        }
    }
    let strings = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let mut everything_else = strings(&["test", "--workspace", "--all-features"]);
    for p in &owners {
        everything_else.extend(strings(&["--exclude", &p.name]));
    }
    let mut rest = strings(&["test", "--all-features"]);
    rest.extend(own_line_packages());
    let has_lib = owners.iter().any(|p| p.has("lib"));
    if has_lib {
        rest.push("--lib".into());
    }
    rest.push("--bins".into());
    for p in &owners {
        for t in p.targets.iter().filter(|t| t.kind == "test") {
            if !OWN_LINES.contains(&(p.name.as_str(), t.name.as_str())) {
                rest.extend(strings(&["--test", &t.name]));
            }
        }
    }
    let mut runs = vec![everything_else, rest];
    if has_lib {
        let mut doc = strings(&["test", "--all-features"]);
        doc.extend(own_line_packages());
        doc.push("--doc".into());
        runs.push(doc);
    }
    Ok(runs)
}

/// The guest's own files (`xtask/guest/`): the scripts pass shellcheck and the unit passes
/// `systemd-analyze verify` with nothing to say. The unit's `ExecStart=` names the script's
/// place in the guest, so it is verified with that path pointing at the file here.
fn check_guest_files() -> Result<(), String> {
    let guest = crate::util::project_root().join("xtask/guest");
    let script = guest.join("harden-guest");
    quiet(Command::new("shellcheck").arg(&script))?;
    quiet(Command::new("shellcheck").arg(guest.join("second-stage")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Target;

    fn package(name: &str, targets: &[(&str, &str)]) -> Package {
        Package {
            name: name.into(),
            dir: format!("/w/{name}").into(),
            published: true,
            rust_version: None,
            targets: targets
                .iter()
                .map(|(kind, target)| Target {
                    name: (*target).into(),
                    kind: (*kind).into(),
                    src: format!("/w/{name}/{target}.rs").into(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_workspace_step_leaves_out_the_targets_with_a_line_of_their_own() {
        let packages = [
            package("a", &[("lib", "a"), ("test", "runc")]),
            package(
                "echod",
                &[
                    ("bin", "echod"),
                    ("test", "echod_faults"),
                    ("test", "echod_control"),
                ],
            ),
            package(
                "seccomp-sets",
                &[
                    ("lib", "seccomp_sets"),
                    ("test", "conformance"),
                    ("test", "cli"),
                    ("bench", "filter"),
                ],
            ),
        ];
        let runs: Vec<String> = workspace_runs(&packages)
            .unwrap()
            .iter()
            .map(|r| r.join(" "))
            .collect();
        assert_eq!(
            runs,
            [
                "test --workspace --all-features --exclude echod --exclude seccomp-sets",
                "test --all-features --package echod --package seccomp-sets --lib --bins \
                 --test echod_control --test cli",
                "test --all-features --package echod --package seccomp-sets --doc",
            ]
        );
        let own: Vec<String> = ["echod", "seccomp-sets"]
            .iter()
            .map(|p| crate::util::show(&own_line_run(p)))
            .collect();
        assert!(
            own[0].ends_with(
                " test --all-features --package echod --package seccomp-sets --test echod_faults"
            ),
            "{own:?}"
        );
        assert!(own[1].ends_with(" --test conformance"), "{own:?}");
        // The VM suite builds the conformance binary for the guests with the host step's
        // command line, so that the two share one build.
        assert_eq!(
            crate::util::show(&crate::vm::conformance_build()),
            own[1],
            "the VM payload's conformance build and the host step's"
        );
        // A renamed target is an error, not a test that silently never runs.
        let renamed = [package("echod", &[("test", "faults")]), packages[2].clone()];
        let err = workspace_runs(&renamed).unwrap_err();
        assert!(
            err.contains("no test target `echod_faults` in package `echod`"),
            "{err}"
        );
    }

    /// On this workspace: every test target is run by exactly one of the runs (the workspace
    /// runs or a line of its own).
    #[test]
    fn every_test_target_of_the_workspace_runs_once() {
        let packages = packages().unwrap();
        let runs = workspace_runs(&packages).unwrap();
        let excluded: Vec<&str> = runs[0]
            .windows(2)
            .filter(|w| w[0] == "--exclude")
            .map(|w| w[1].as_str())
            .collect();
        let named: Vec<&str> = runs[1]
            .windows(2)
            .filter(|w| w[0] == "--test")
            .map(|w| w[1].as_str())
            .collect();
        for p in &packages {
            for t in p.targets.iter().filter(|t| t.kind == "test") {
                let runs = [
                    !excluded.contains(&p.name.as_str()),
                    excluded.contains(&p.name.as_str()) && named.contains(&t.name.as_str()),
                    OWN_LINES.contains(&(p.name.as_str(), t.name.as_str())),
                ];
                assert_eq!(
                    runs.iter().filter(|r| **r).count(),
                    1,
                    "{}:{} {runs:?}",
                    p.name,
                    t.name
                );
            }
        }
    }
}
