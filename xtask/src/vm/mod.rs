//! The VM harness: guest image, runner, suite, demo and interactive shell.
//!
//! - [`image`]: the Debian guest image (debootstrap + overlay, cached by recipe hash).
//! - [`accel`]: KVM when it truly boots a kernel, TCG otherwise.
//! - [`runner`]: one boot (payload disk, QEMU, results port, time limits, logs).
//! - [`results`]: the guest runner's line protocol.
//! - [`paths`]: where the cache and QEMU are on this machine.
//!
//! The scenarios themselves live in `vmtests/src/scenarios/` and run inside the guest
//! (`vmtests/src/bin/vm-guest.rs`); xtask only boots, feeds and collects.

mod accel;
mod image;
mod paths;
mod results;
mod runner;

use crate::util::{Outcome, seconds};
use results::Event;
use runner::Mode;
use std::time::Instant;

/// `cargo xtask image [--rebuild]`.
pub(crate) fn image_command(args: &[String]) -> Result<(), String> {
    let mut rebuild = false;
    for a in args {
        match a.as_str() {
            "--rebuild" => rebuild = true,
            other => {
                return Err(format!(
                    "unknown option `{other}` for `image`; expected --rebuild"
                ));
            }
        }
    }
    crate::deps::ensure_vm()?;
    let existing = image::location()?;
    let img = image::ensure(rebuild)?;
    if !rebuild && existing.root.is_file() {
        eprintln!("xtask: the guest image is up to date (use --rebuild to build it again)");
    }
    println!("image:  {}", img.root.display());
    println!("kernel: {}", img.kernel.display());
    println!("recipe: {}", img.dir.join("recipe.txt").display());
    if let Some(s) = img.build_seconds() {
        println!("cold build: {s:.1} s");
    }
    Ok(())
}

/// `cargo xtask vm [-- CMD...]`.
pub(crate) fn vm_command(args: &[String]) -> Result<(), String> {
    let cmd: Vec<String> = match args.split_first() {
        None => Vec::new(),
        Some((first, rest)) if first == "--" => rest.to_vec(),
        Some((first, _)) => {
            return Err(format!(
                "unexpected `{first}`; usage: cargo xtask vm [-- CMD...]"
            ));
        }
    };
    crate::deps::ensure_vm()?;
    if cmd.is_empty() {
        if !runner::stdin_is_terminal() {
            return Err("an interactive shell needs a terminal on stdin; \
                        to run one command use `cargo xtask vm -- CMD`"
                .into());
        }
        eprintln!("xtask: starting a shell in the guest; `exit` powers it off");
        let report = runner::boot(&Mode::Shell, &mut |_| {})?;
        return match report.problem {
            Some(p) => Err(p),
            None => Ok(()),
        };
    }
    let line = command_line(&cmd);
    let report = runner::boot(&Mode::Command(line.clone()), &mut |_| {})?;
    if let Some(p) = report.problem {
        return Err(p);
    }
    let code = report
        .events
        .iter()
        .find_map(|e| match e {
            Event::Exit(c) => Some(*c),
            _ => None,
        })
        .ok_or("the guest did not report the command's exit status")?;
    if code != 0 {
        eprintln!("xtask: `{line}` exited with status {code} in the guest");
        std::process::exit(code.clamp(1, 255));
    }
    Ok(())
}

/// The shell line the guest runs for `cargo xtask vm -- CMD...`: one argument is a shell line
/// as typed (`'a && b | c'`); several are a program and its arguments, each quoted so that
/// `sh -c 'exit 7'` reaches the guest as three words, not as `sh -c exit 7`.
pub(crate) fn command_line(args: &[String]) -> String {
    if let [line] = args {
        return line.clone();
    }
    let quote = |a: &String| {
        let plain = !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
        if plain {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// The VM suite, one outcome per scenario. `HARDEN_VM_SCENARIOS=a,b` runs only those.
pub(crate) fn suite(outcomes: &mut Vec<Outcome>) {
    eprintln!("\n==> vm: suite");
    let only: Vec<String> = std::env::var("HARDEN_VM_SCENARIOS")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let start = Instant::now();
    let report = match runner::boot(&Mode::Suite { only }, &mut print_progress) {
        Ok(r) => r,
        Err(e) => {
            outcomes.push(Outcome {
                name: "vm: boot".into(),
                passed: false,
                seconds: seconds(start),
                detail: e,
            });
            return;
        }
    };
    let logs = report.dir.display().to_string();
    for e in &report.events {
        if let Event::Result {
            name,
            passed,
            seconds,
            message,
        } = e
        {
            outcomes.push(Outcome {
                name: format!("vm: {name}"),
                passed: *passed,
                seconds: *seconds,
                detail: if *passed {
                    String::new()
                } else {
                    format!("{message} (logs: {logs}/{name}.log, {logs}/journal.txt)")
                },
            });
        }
    }
    let results = report
        .events
        .iter()
        .filter(|e| matches!(e, Event::Result { .. }))
        .count();
    if let Some((passed, npassed, nfailed)) = report.verdict() {
        let runner_log: Vec<&str> = report
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Log { name, text } if name == "runner" => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if (!passed && nfailed == 0) || npassed + nfailed != results || !runner_log.is_empty() {
            outcomes.push(Outcome {
                name: "vm: guest runner".into(),
                passed: false,
                seconds: report.total,
                detail: format!(
                    "verdict {npassed} passed/{nfailed} failed for {results} results: {} (logs: {logs})",
                    runner_log.join("; ")
                ),
            });
        }
    }
    if let Some(p) = &report.problem {
        outcomes.push(Outcome {
            name: "vm: guest".into(),
            passed: false,
            seconds: report.total,
            detail: p.clone(),
        });
    }
    print_figures(&report, seconds(start));
}

fn print_progress(e: &Event) {
    match e {
        Event::Ready { uptime } => {
            eprintln!("xtask: guest runner ready (guest uptime {uptime:.1} s)")
        }
        Event::Result {
            name,
            passed,
            seconds,
            message,
        } => {
            if *passed {
                eprintln!("  ok      {name} ({seconds:.1} s)");
            } else {
                eprintln!("  FAILED  {name} ({seconds:.1} s): {message}");
            }
        }
        Event::Unknown(l) => eprintln!("xtask: unexpected line from the guest: {l:?}"),
        _ => {}
    }
}

fn print_figures(report: &runner::Report, wall: f64) {
    let ready = report
        .boot_to_ready
        .map(|b| format!("{b:.1} s"))
        .unwrap_or_else(|| "n/a".into());
    let cold = image::location()
        .ok()
        .and_then(|i| i.build_seconds())
        .map(|s| format!("{s:.1} s"))
        .unwrap_or_else(|| "n/a".into());
    eprintln!(
        "xtask: vm figures ({}): cold image build {cold} (when it was built), boot-to-ready \
         {ready}, guest run {:.1} s, whole VM step {wall:.1} s; logs in {}",
        report.accel.name(),
        report.total,
        report.dir.display()
    );
}

/// `cargo xtask demo`.
pub(crate) fn demo_command(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("`demo` takes no arguments, got `{a}`"));
    }
    crate::deps::ensure_vm()?;
    println!("daemon-hardening demo: echod under real systemd, in a throw-away Debian VM.");
    println!("Each step shows the command run in the guest; re-run any of them with");
    println!("    cargo xtask vm -- 'COMMAND'      (or `cargo xtask vm` for a shell)");
    let report = runner::boot(&Mode::Demo, &mut |e| match e {
        Event::Say(text) => println!("{text}"),
        Event::Ready { uptime } => {
            println!("(guest booted; systemd ready after {uptime:.1} s of guest time)")
        }
        Event::Unknown(l) => eprintln!("xtask: unexpected line from the guest: {l:?}"),
        _ => {}
    })?;
    println!();
    if let Some(p) = report.problem {
        return Err(p);
    }
    match report.verdict() {
        Some((true, n, 0)) => {
            println!(
                "All {n} steps behaved as described. Logs: {}",
                report.dir.display()
            );
            Ok(())
        }
        Some((_, n, f)) => Err(format!(
            "{f} of {} demo steps did not behave as described; logs in {}",
            n + f,
            report.dir.display()
        )),
        None => Err(format!(
            "the demo did not finish; logs in {}",
            report.dir.display()
        )),
    }
}

/// VM figures for `cargo xtask bench`: cold image build, warm boot-to-ready, whole suite.
pub(crate) fn bench() -> Result<(), String> {
    crate::deps::ensure_vm()?;
    let img = image::location()?;
    let cold = if img.build_seconds().is_some() && img.root.is_file() {
        img.build_seconds()
    } else {
        image::ensure(false)?.build_seconds()
    };
    let start = Instant::now();
    let report = runner::boot(&Mode::Suite { only: Vec::new() }, &mut print_progress)?;
    let wall = seconds(start);
    let accel = report.accel;
    let (boot_goal, suite_goal) = match accel {
        accel::Accel::Kvm => (3.0, 60.0),
        accel::Accel::Tcg => (8.0, 60.0),
    };
    let cold = cold
        .map(|c| format!("{c:.1} s (measured when the cached image was built; `cargo xtask image --rebuild` re-measures)"))
        .unwrap_or_else(|| "n/a".into());
    println!("vm/image: cold build {cold}");
    match report.boot_to_ready {
        Some(b) => println!(
            "vm/boot: warm boot-to-ready {b:.1} s under {} (goal <= {boot_goal} s)",
            accel.name()
        ),
        None => println!(
            "vm/boot: the guest never became ready (see {})",
            report.dir.display()
        ),
    }
    let verdict = match report.verdict() {
        Some((true, n, _)) => format!("{n} scenarios passed"),
        Some((false, n, f)) => format!("{n} passed, {f} FAILED"),
        None => "no verdict".into(),
    };
    println!(
        "vm/suite: whole VM suite {:.1} s in the guest, {wall:.1} s with payload build, under {} (goal <= {suite_goal} s), {verdict}",
        report.total,
        accel.name()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::command_line;

    fn line(args: &[&str]) -> String {
        command_line(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn one_argument_is_a_shell_line_several_are_words() {
        assert_eq!(line(&["echo a && exit 3"]), "echo a && exit 3");
        assert_eq!(line(&["sh", "-c", "exit 7"]), "sh -c 'exit 7'");
        assert_eq!(
            line(&["systemctl", "is-system-running"]),
            "systemctl is-system-running"
        );
        assert_eq!(
            line(&["printf", "%s\\n", "it's", ""]),
            r"printf '%s\n' 'it'\''s' ''"
        );
        assert_eq!(line(&["ls", "/run/*"]), "ls '/run/*'");
    }

    /// What bash makes of the quoted line is the original argument vector.
    #[test]
    fn quoted_words_survive_the_shell() {
        let args = ["printf", "[%s]", "exit 7", "it's", "", "$HOME", "a\"b", "*"];
        let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let out = std::process::Command::new("sh")
            .args(["-c", &command_line(&owned)])
            .output()
            .expect("sh runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "[exit 7][it's][][$HOME][a\"b][*]"
        );
    }
}
