//! `cargo xtask test --repeat N [--load] [FILTER]`: the host tests N times, and every test that
//! failed at least once (a flaky test is a defect: a red CI run must always mean a real one).

use crate::util::{cargo, run, target_dir};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// Options of a repeated run.
#[derive(Debug)]
pub(crate) struct Repeat {
    pub(crate) runs: u32,
    /// Loads the machine during the first half of the runs: a release build of the workspace
    /// in its own target directory, and rebuilds with other features of the binaries the tests
    /// spawn in the shared one.
    pub(crate) load: bool,
    /// A libtest name filter, passed to every test binary.
    pub(crate) filter: Option<String>,
}

/// Runs the host tests `runs` times and fails if any test failed in any run.
pub(crate) fn repeat(opts: &Repeat) -> Result<(), String> {
    run(cargo().args([
        "test",
        "--workspace",
        "--all-features",
        "--no-run",
        "--quiet",
    ]))?;
    let mut failures: BTreeMap<String, u32> = BTreeMap::new();
    let mut failed_runs = 0;
    let mut load: Option<Load> = None;
    let start = Instant::now();
    for i in 1..=opts.runs {
        if opts.load && i == 1 {
            load = Some(Load::start()?);
        }
        if i > opts.runs / 2 {
            load = None;
        }
        let mut cmd = cargo();
        cmd.args([
            "test",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
            "--",
        ])
        .env("HARDEN_TEST_STRICT", "1");
        if let Some(f) = &opts.filter {
            cmd.arg(f);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not start cargo test: {e}"))?;
        let text = crate::util::both_outputs(&out);
        let mut failed = failed_tests(&text);
        let loaded = if load.is_some() { ", loaded" } else { "" };
        if failed.is_empty() && out.status.success() {
            eprintln!(
                "run {i}/{}{loaded}: {} tests ok",
                opts.runs,
                passed_count(&text)
            );
            continue;
        }
        failed_runs += 1;
        // Keep the log of every failing run.
        let log = target_dir().join(format!("repeat-run-{i}.log"));
        let _ = std::fs::write(&log, &text);
        if failed.is_empty() {
            // A failure that named no test (a build error, a crashed harness).
            failed.push(format!(
                "(run failed without naming a test; see {})",
                log.display()
            ));
        }
        eprintln!(
            "run {i}/{}{loaded}: FAILED ({}): {} (log {})",
            opts.runs,
            out.status,
            failed.join(", "),
            log.display()
        );
        for f in failed {
            *failures.entry(f).or_default() += 1;
        }
    }
    drop(load);
    println!(
        "\n{} runs of the host tests in {:.0} s{}",
        opts.runs,
        start.elapsed().as_secs_f64(),
        if opts.load {
            " (the first half with the machine loaded)"
        } else {
            ""
        }
    );
    if failures.is_empty() {
        println!("no test failed in any run: 0 flaky tests");
        return Ok(());
    }
    println!("tests that failed at least once:");
    for (name, n) in &failures {
        println!("  {name}: failed {n} of {} runs", opts.runs);
    }
    Err(format!(
        "{} test(s) failed in {failed_runs} of {} runs",
        failures.len(),
        opts.runs
    ))
}

/// The failed tests in `cargo test` output, each as `BINARY::TEST` where cargo named the
/// binary (`Running tests/x.rs (...)`, `Doc-tests crate`).
fn failed_tests(text: &str) -> Vec<String> {
    let mut binary = String::new();
    let mut failed = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Running ") {
            binary = rest.split_whitespace().next().unwrap_or(rest).to_string();
        } else if let Some(rest) = line.strip_prefix("Doc-tests ") {
            binary = format!("doc-tests {rest}");
        } else if let Some(rest) = line.strip_prefix("test ") {
            if let Some(name) = rest.strip_suffix(" ... FAILED") {
                failed.push(format!("{binary}: {name}"));
            }
        }
    }
    failed
}

/// The sum of `N passed` over the `test result:` lines.
fn passed_count(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("test result: "))
        .filter_map(|l| {
            l.split(';')
                .find_map(|part| part.trim().strip_suffix(" passed"))
                .and_then(|n| n.split_whitespace().last())
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum()
}

/// Background load, killed on drop.
struct Load {
    child: Child,
}

impl Load {
    fn start() -> Result<Load, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let own = target_dir().join("repeat-load");
        // CPU and I/O: a release build from scratch in a target directory of its own, again and
        // again. Races: the binaries the tests spawn, rebuilt and re-linked in the shared target
        // directory with other features (pfd-info without tokio, echod).
        let script = format!(
            "while :; do \
               '{cargo}' build -q -p stream-pfd --examples; \
               '{cargo}' build -q -p echod --bins; \
               '{cargo}' build -q -p sandbox-opts --examples --features clap; \
               '{cargo}' clean -q --target-dir '{own}'; \
               '{cargo}' build -q --workspace --release --target-dir '{own}'; \
             done",
            own = own.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .current_dir(crate::util::project_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("could not start the load: {e}"))?;
        Ok(Load { child })
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        // The whole process group: the shell and the cargo it runs.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_tests_are_named_with_their_binary() {
        let out = "\
     Running tests/socket_activate.rs (target/debug/deps/socket_activate-0123)
test unix_socket_from_systemd_socket_activate ... FAILED
test tcp_socket_from_systemd_socket_activate ... ok
test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out
     Running unittests src/main.rs (target/debug/deps/xtask-44)
test apt::tests::a_removal_is_found ... ok
test result: ok. 17 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
   Doc-tests stream_pfd
test stream-pfd/src/lib.rs - (line 10) ... FAILED
";
        assert_eq!(
            failed_tests(out),
            vec![
                "tests/socket_activate.rs: unix_socket_from_systemd_socket_activate".to_string(),
                "doc-tests stream_pfd: stream-pfd/src/lib.rs - (line 10)".to_string(),
            ]
        );
        assert_eq!(passed_count(out), 18);
    }
}
