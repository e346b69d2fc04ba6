//! Small helpers shared by the xtask commands: paths, running commands, timing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The workspace root (the parent of this crate's directory).
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo that runs us (so `cargo +toolchain xtask` keeps its toolchain).
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root());
    cmd
}

/// Whether we run as root (apt-get, KVM, debootstrap need it).
pub(crate) fn is_root() -> bool {
    // /proc/self/status "Uid:\treal\teffective..." avoids a libc dependency.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// The cargo target directory (`CARGO_TARGET_DIR`, or the workspace's `target/`).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

/// A program on PATH or in the sbin directories (mkfs.ext4 and debootstrap live there).
pub(crate) fn find_command(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Whether `name` is an executable on PATH (or an absolute path that exists).
pub(crate) fn have_command(name: &str) -> bool {
    if name.contains('/') {
        return Path::new(name).exists();
    }
    find_command(name).is_some()
}

/// Prints the command line, runs it with inherited stdio, and fails with a message naming it.
pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = show(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a command quietly and returns its stdout when it succeeds.
pub(crate) fn output(cmd: &mut Command) -> Result<String, String> {
    let shown = show(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A finished command's stdout and then stderr, as text (each on lines of its own).
pub(crate) fn both_outputs(out: &std::process::Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// A printable form of a command line.
pub(crate) fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Seconds since `start`.
pub(crate) fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// One line of the final results table.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) passed: bool,
    pub(crate) seconds: f64,
    /// Where to look when it failed (a log path, an error).
    pub(crate) detail: String,
    /// Not run at all (not applicable anywhere, or skipped): shown as `n/a`, counted apart,
    /// never as passed. Only meaningful when `passed`.
    pub(crate) not_run: bool,
}

/// Runs `f`, timing it, and records its outcome.
pub(crate) fn step(
    outcomes: &mut Vec<Outcome>,
    name: &str,
    f: impl FnOnce() -> Result<(), String>,
) -> bool {
    eprintln!("\n==> {name}");
    let start = Instant::now();
    let result = f();
    let seconds = start.elapsed().as_secs_f64();
    let passed = result.is_ok();
    let detail = result.err().unwrap_or_default();
    if !passed {
        eprintln!("==> {name}: FAILED: {detail}");
    }
    outcomes.push(Outcome {
        name: name.to_string(),
        passed,
        seconds,
        detail,
        not_run: false,
    });
    passed
}

/// Prints the table (name, result, seconds) and the closing `N passed, N failed` line.
pub(crate) fn print_summary(outcomes: &[Outcome]) -> bool {
    let width = outcomes
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!();
    println!("{:<width$}  {:<6}  {:>8}", "step", "result", "seconds");
    println!("{}", "-".repeat(width + 18));
    for o in outcomes {
        let result = match (o.passed, o.not_run) {
            (false, _) => "FAILED",
            (true, true) => "n/a",
            (true, false) => "ok",
        };
        println!("{:<width$}  {:<6}  {:>8.1}", o.name, result, o.seconds);
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed).collect();
    for o in &failed {
        println!("FAILED {}: {}", o.name, o.detail);
    }
    let not_run = outcomes.iter().filter(|o| o.passed && o.not_run).count();
    let passed = outcomes.len() - failed.len() - not_run;
    if not_run > 0 {
        println!(
            "{passed} passed, {not_run} not run (n/a), {} failed",
            failed.len()
        );
    } else {
        println!("{passed} passed, {} failed", failed.len());
    }
    failed.is_empty()
}

/// `YYYYmmdd-HHMMSS` (UTC) from Unix seconds, by `date`.
pub(crate) fn utc_stamp(secs: u64) -> Result<String, String> {
    let stamp =
        output(Command::new("date").args(["--utc", &format!("--date=@{secs}"), "+%Y%m%d-%H%M%S"]))?;
    Ok(stamp.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::utc_stamp;

    #[test]
    fn utc_stamps_are_right() {
        assert_eq!(utc_stamp(0).as_deref(), Ok("19700101-000000"));
        assert_eq!(utc_stamp(951_782_400).as_deref(), Ok("20000229-000000"));
        assert_eq!(
            utc_stamp(1_732_190_400 + 3_723).as_deref(),
            Ok("20241121-130203")
        );
    }
}
