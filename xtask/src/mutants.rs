//! `cargo xtask mutants [CRATE...]`: mutation testing of the library crates with cargo-mutants,
//! a table of caught and missed mutants per crate, and every missed one. Fails if any mutant is
//! missed: a truly equivalent mutant goes on the reviewed allowlist instead
//! (`.cargo/mutants.toml`, one `exclude_re` entry each, with its reason).
//!
//! cargo-mutants is pinned and installed on demand with `cargo install --locked` under the
//! target directory (`target/tools/`), so a cargo-mutants the user installed is never replaced.
//!
//! `cargo xtask test` runs [`in_diff_step`]: only the mutants in what changed against the main
//! branch (`--in-diff`), so a new function whose bugs no test notices fails the host checks in
//! minutes; the full run stays this separate command (tens of minutes on 2 cores).

use crate::util::{cargo, output, project_root, run, target_dir};
use crate::workspace::library_crates;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo-mutants release used (its rust-version, 1.88, is below the toolchain's).
const VERSION: &str = "27.1.0";

/// `cargo xtask mutants [CRATE...]`.
pub(crate) fn mutants_command(args: &[String]) -> Result<(), String> {
    let crates = crates_from(args)?;
    let bin = ensure_installed()?;
    let mut rows = Vec::new();
    for krate in &crates {
        rows.push(run_crate(&bin, krate, None)?);
    }
    report(&rows)
}

/// The mutants in what differs from the main branch (committed or not, new files included).
/// `HARDEN_MUTANTS_BASE` names another base; with no difference in a library crate's sources
/// there is nothing to mutate and cargo-mutants is not even installed.
pub(crate) fn in_diff_step() -> Result<(), String> {
    let base = base_ref()?;
    let root = project_root();
    let mut rows = Vec::new();
    let mut bin = None;
    for krate in library_crates()? {
        let diff = crate_diff(&root, &base, &krate)?;
        if diff.trim().is_empty() {
            continue;
        }
        let dir = target_dir().join("mutants").join(&krate);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let patch = dir.join("in-diff.patch");
        std::fs::write(&patch, diff).map_err(|e| format!("{}: {e}", patch.display()))?;
        let bin = match &bin {
            Some(b) => b,
            None => bin.insert(ensure_installed()?),
        };
        rows.push(run_crate(bin, &krate, Some(&patch))?);
    }
    if rows.is_empty() {
        eprintln!("mutants: no library crate's sources differ from {base}: nothing to mutate");
        return Ok(());
    }
    report(&rows)
}

fn crates_from(args: &[String]) -> Result<Vec<String>, String> {
    let libraries = library_crates()?;
    if args.is_empty() {
        return Ok(libraries);
    }
    for a in args {
        if !libraries.contains(a) {
            return Err(format!(
                "`{a}` is not a library crate; mutants runs on {}",
                libraries.join(", ")
            ));
        }
    }
    Ok(args.to_vec())
}

/// The pinned cargo-mutants, installed under `target/tools/` if it is not there yet.
fn ensure_installed() -> Result<PathBuf, String> {
    let root = target_dir()
        .join("tools")
        .join(format!("cargo-mutants-{VERSION}"));
    let bin = root.join("bin").join("cargo-mutants");
    if !bin.is_file() {
        eprintln!(
            "mutants: installing cargo-mutants {VERSION} under {}",
            root.display()
        );
        run(cargo()
            .args(["install", "--locked", "--quiet", "--root"])
            .arg(&root)
            .arg(format!("cargo-mutants@{VERSION}")))?;
    }
    Ok(bin)
}

/// Caught, missed, timed out and unviable mutants of one crate.
struct Row {
    krate: String,
    caught: usize,
    missed: Vec<String>,
    timeout: usize,
    unviable: usize,
}

fn run_crate(bin: &Path, krate: &str, in_diff: Option<&Path>) -> Result<Row, String> {
    let out = target_dir().join("mutants").join(krate);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    // A run that finds nothing to mutate writes no results: never read an earlier run's.
    let dir = out.join("mutants.out");
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("removing {}: {e}", dir.display()));
        }
        _ => {}
    }
    let mut cmd = Command::new(bin);
    cmd.current_dir(project_root())
        .args([
            "mutants",
            "--package",
            krate,
            "--all-features",
            "--no-shuffle",
            // cargo-mutants' jobserver pipe would be inherited by the programs the tests start
            // (stream-pfd's count the fds they are passed), and fail the unmutated baseline.
            "--jobserver",
            "false",
        ])
        .arg("--output")
        .arg(&out)
        .env("CARGO_TERM_COLOR", "never");
    if let Some(patch) = in_diff {
        cmd.arg("--in-diff").arg(patch);
    }
    // cargo-mutants exits 2 when mutants are missed and 3 on timeouts: the files say which.
    let shown = crate::util::show(&cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let lines = |name: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    if !matches!(status.code(), Some(0 | 2 | 3)) {
        return Err(format!(
            "`{shown}` failed ({status}); see {}",
            dir.join("debug.log").display()
        ));
    }
    Ok(Row {
        krate: krate.to_owned(),
        caught: lines("caught.txt").len(),
        missed: lines("missed.txt"),
        timeout: lines("timeout.txt").len(),
        unviable: lines("unviable.txt").len(),
    })
}

/// Prints the table and the missed mutants; fails if any was missed.
fn report(rows: &[Row]) -> Result<(), String> {
    println!();
    println!(
        "{:<14} {:>7} {:>7} {:>8} {:>9} {:>7}",
        "crate", "caught", "missed", "timeout", "unviable", "score"
    );
    println!("{}", "-".repeat(58));
    for r in rows {
        // A timeout is a mutant the tests did not let pass: it counts as caught.
        let caught = r.caught + r.timeout;
        let total = caught + r.missed.len();
        let score = if total == 0 {
            "-".to_owned()
        } else {
            format!("{:.1} %", 100.0 * caught as f64 / total as f64)
        };
        println!(
            "{:<14} {:>7} {:>7} {:>8} {:>9} {:>7}",
            r.krate,
            r.caught,
            r.missed.len(),
            r.timeout,
            r.unviable,
            score
        );
    }
    let missed: Vec<&String> = rows.iter().flat_map(|r| &r.missed).collect();
    if missed.is_empty() {
        println!("no mutant missed");
        return Ok(());
    }
    println!(
        "\nmissed mutants (add a test that notices each, or, if it is truly equivalent, an entry with its reason in .cargo/mutants.toml):"
    );
    for m in &missed {
        println!("  {m}");
    }
    Err(format!("{} mutant(s) missed", missed.len()))
}

/// The ref to diff against: `HARDEN_MUTANTS_BASE`, else `origin/main`, else `main`.
fn base_ref() -> Result<String, String> {
    if let Some(b) = std::env::var_os("HARDEN_MUTANTS_BASE") {
        return b
            .into_string()
            .map_err(|_| "HARDEN_MUTANTS_BASE is not UTF-8".to_owned());
    }
    for candidate in ["origin/main", "main"] {
        let ok = Command::new("git")
            .current_dir(project_root())
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{candidate}^{{commit}}"))
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Ok(candidate.to_owned());
        }
    }
    Err("no `origin/main` or `main` to diff against; set HARDEN_MUTANTS_BASE".into())
}

/// The unified diff of `krate/src` against `base`, working tree included, with files not yet
/// known to git shown as new.
fn crate_diff(root: &Path, base: &str, krate: &str) -> Result<String, String> {
    let src = format!("{krate}/src");
    let mut diff = output(
        Command::new("git")
            .current_dir(root)
            .args(["diff", "--no-color", "--no-ext-diff", base, "--"])
            .arg(&src),
    )?;
    let untracked = output(
        Command::new("git")
            .current_dir(root)
            .args(["ls-files", "--others", "--exclude-standard", "--"])
            .arg(&src),
    )?;
    for file in untracked.lines().filter(|f| f.ends_with(".rs")) {
        // `git diff --no-index` exits 1 when the files differ, which they always do here.
        let out = Command::new("git")
            .current_dir(root)
            .args(["diff", "--no-color", "--no-index", "--", "/dev/null", file])
            .output()
            .map_err(|e| format!("git diff --no-index {file}: {e}"))?;
        diff.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    Ok(diff)
}
