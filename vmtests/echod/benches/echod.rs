//! echod benchmark: echo round trips per second, baseline and candidate in the same run
//! (interleaved repetitions, medians):
//!
//! * sandboxed (every QEMU set denied) / unsandboxed, both on `punix:` (goal >= 0.98);
//! * `pfd:` listener (via the real `systemd-socket-activate`) / `punix:` listener (goal >= 0.98);
//! * and first, the same daemon against itself (A/A), which shows this machine's noise floor.
//!
//! Each measurement runs CLIENTS threads, each doing blocking request/reply round trips on its own
//! connection for 0.4 s; every reply is read until it is one complete JSON value and compared
//! byte for byte with the expected one. Rounds alternate the order (AB, BA, ...) so that drift
//! on a noisy machine cancels out, and the figure reported is the median of the per-round
//! ratios. The client and the rounds are in `harness/`, shared with `benches/peer.rs` (echod
//! against the real ovsdb-server).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "harness/mod.rs"]
mod harness;

use common::{Proc, TempDir, echod_bin, wait_listening};
use harness::{Check, Comparison, Target, compare, start_echod};

const CLIENTS: usize = 4;

const ALL_DENIED: &str = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

fn start_pfd(dir: &TempDir, name: &str) -> Target {
    let sock = dir.join(&format!("{name}.sock"));
    let _ = std::fs::remove_file(&sock);
    let program = common::program("systemd-socket-activate");
    let mut ssa = Proc::spawn(
        dir,
        name,
        program.to_str().expect("a UTF-8 path"),
        &[
            "-l",
            sock.to_str().unwrap(),
            "--",
            echod_bin(),
            "--remote=pfd:3",
            "--log-level=warn",
        ],
    );
    wait_listening(&sock, &mut ssa);
    // The first connection makes systemd-socket-activate exec echod; wait until it answers.
    let mut first = common::connect_unix(&sock);
    first.echo(0, serde_json::json!([]));
    Target {
        procs: vec![ssa],
        sock,
        idle: None,
    }
}

fn main() {
    let dir = TempDir::new("bench");
    let line = |what, goal, names| Comparison {
        what,
        goal,
        names,
        clients: CLIENTS,
        check: Check::Exact,
    };
    // A/A: two identical daemons. How far this ratio strays from 1.000 is the noise floor of this
    // machine; read the two ratios below against it.
    compare(
        line(
            "echod/noise-floor (A/A)",
            "noise floor: ideally 1.000",
            ("unsandboxed", "unsandboxed"),
        ),
        &dir,
        |d, r| start_echod(d, &format!("a{r}"), &[]),
        |d, r| start_echod(d, &format!("b{r}"), &[]),
    );
    let sandbox = format!("--sandbox={ALL_DENIED}");
    compare(
        line("echod/echo", "goal >= 0.98", ("sandboxed", "unsandboxed")),
        &dir,
        |d, r| start_echod(d, &format!("boxed{r}"), &[&sandbox]),
        |d, r| start_echod(d, &format!("plain{r}"), &[]),
    );

    if test_support::find_program("systemd-socket-activate").is_none() {
        println!("echod/listener: skipped (systemd-socket-activate not found)");
        return;
    }
    compare(
        line("echod/listener", "goal >= 0.98", ("pfd", "punix")),
        &dir,
        |d, r| start_pfd(d, &format!("pfd{r}")),
        |d, r| start_echod(d, &format!("punix{r}"), &[]),
    );
}
