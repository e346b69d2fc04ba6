//! The VM harness: guest images (one per Debian suite), runner, suite, demo and interactive shell.
//!
//! - [`image`]: the Debian guest images (debootstrap + overlay, cached by suite and recipe hash).
//! - [`accel`]: KVM when it truly boots a kernel, TCG otherwise.
//! - [`cross`]: the arm64 cross build of the guest binaries (Rust target, cross linker,
//!   private sysroot with Debian's arm64 libseccomp).
//! - [`foreign`]: guests of another architecture (QEMU for aarch64, the image's first boot).
//! - [`runner`]: one boot (payload disk, QEMU, results port, time limits, logs).
//! - [`results`]: the guest runner's line protocol.
//! - [`matrix`]: the scenario x suite table of a multi-suite run.
//! - [`paths`]: where the cache and QEMU are on this machine.
//!
//! The scenarios themselves live in `vmtests/src/scenarios/` and run inside the guest
//! (`vmtests/src/bin/vm-guest.rs`); xtask only boots, feeds and collects.

mod accel;
mod cross;
mod foreign;
mod image;
mod matrix;
mod paths;
mod results;
mod runner;

use crate::util::{Outcome, seconds};
pub(crate) use cross::TARGET as ARM64_TARGET;
pub(crate) use image::Suite;
pub(crate) use image::take_suites;
pub(crate) use image::{GuestArch, location as image_location};
// The benchmark's peer root (`bench/peer_root.rs`) is cached and keyed the way the images are.
pub(crate) use image::fnv1a64;
pub(crate) use paths::cache_root;
use results::Event;
use runner::Mode;
#[cfg(test)]
pub(crate) use runner::conformance_build;
use std::time::Instant;

/// `cargo xtask image [--suite NAME]... [--rebuild]`.
pub(crate) fn image_command(args: &[String]) -> Result<(), String> {
    let (mut suites, rest) = image::take_suites(args)?;
    let mut rebuild = false;
    for a in &rest {
        match a.as_str() {
            "--rebuild" => rebuild = true,
            other => {
                return Err(format!(
                    "unknown option `{other}` for `image`; expected --suite NAME or --rebuild"
                ));
            }
        }
    }
    if suites.is_empty() {
        suites.push(Suite::host_default());
    }
    crate::deps::ensure_vm()?;
    for suite in suites {
        let was_built = image::location(suite)?.root.is_file();
        let img = image::ensure(suite, rebuild)?;
        if !rebuild && was_built {
            eprintln!(
                "xtask: the {} guest image is up to date (use --rebuild to build it again)",
                suite.name()
            );
        }
        println!("suite:  {}", suite.name());
        println!("image:  {}", img.root.display());
        println!("kernel: {}", img.kernel.display());
        println!("recipe: {}", img.dir.join("recipe.txt").display());
        if let Some(s) = img.build_seconds() {
            println!("cold build: {s:.1} s");
        }
        if let Some(b) = img.built() {
            let note = if suite.moving() {
                " (a moving suite: `--rebuild` refreshes it)"
            } else {
                ""
            };
            println!("built:  {b} UTC{note}");
        }
    }
    Ok(())
}

/// `cargo xtask payload [--arch x86_64|arm64]`: builds the guest binaries (cross-built for
/// arm64, installing the toolchain first) and checks that each is an ELF executable for that
/// machine.
pub(crate) fn payload_command(args: &[String]) -> Result<(), String> {
    let arm64 = match args {
        [] => false,
        [flag, arch] if flag == "--arch" => match arch.as_str() {
            "arm64" | "aarch64" => true,
            "x86_64" | "amd64" => false,
            other => return Err(format!("`--arch {other}`: expected x86_64 or arm64")),
        },
        _ => {
            return Err(format!(
                "unexpected `{}`; usage: cargo xtask payload [--arch x86_64|arm64]",
                args.join(" ")
            ));
        }
    };
    let start = Instant::now();
    let (bins, machine, name) = if arm64 {
        let tc = cross::Toolchain::ensure()?;
        let bins = runner::build_guest_binaries_for(Some(&tc))?;
        (bins, cross::EM_AARCH64, "aarch64")
    } else {
        crate::deps::ensure(crate::deps::BUILD)?;
        let bins = runner::build_guest_binaries_for(None)?;
        (bins, cross::EM_X86_64, "x86-64")
    };
    cross::check_machine(&bins, machine)?;
    for bin in &bins {
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
        println!(
            "{}: ELF 64-bit LSB, {name} (e_machine {machine}), {:.1} MB",
            bin.display(),
            size as f64 / 1e6
        );
    }
    eprintln!(
        "xtask: {} guest binaries for {name} in {:.1} s",
        bins.len(),
        seconds(start)
    );
    Ok(())
}

/// `cargo xtask vm [--suite NAME] [--copy SRC[:DEST]]... [-- CMD...]`.
pub(crate) fn vm_command(args: &[String]) -> Result<(), String> {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (suites, rest) = image::take_suites(&args[..end])?;
    let suite = one_suite(&suites)?;
    suite.runs_host_binaries()?;
    let mut copies = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let value = if a == "--copy" {
            Some(
                it.next()
                    .ok_or("--copy needs a path: --copy SRC[:/GUEST/PATH]")?
                    .as_str(),
            )
        } else {
            a.strip_prefix("--copy=")
        };
        match value {
            Some(v) => copies.push(runner::CopyIn::parse(v)?),
            None => {
                return Err(format!(
                    "unexpected `{a}`; usage: cargo xtask vm [--suite NAME] \
                     [--copy SRC[:/GUEST/PATH]]... [-- CMD...]"
                ));
            }
        }
    }
    let cmd: Vec<String> = args.get(end + 1..).unwrap_or_default().to_vec();
    crate::deps::ensure_vm()?;
    for c in &copies {
        eprintln!(
            "xtask: copying {} to {} in the guest",
            c.src.display(),
            c.dest
        );
    }
    let payload = runner::prepare(copies, &[suite])?;
    if cmd.is_empty() {
        if !runner::stdin_is_terminal() {
            return Err("an interactive shell needs a terminal on stdin; \
                        to run one command use `cargo xtask vm -- CMD`"
                .into());
        }
        eprintln!("xtask: starting a shell in the guest; `exit` powers it off");
        let report = runner::boot(&payload, suite, &Mode::Shell, &mut |_| {})?;
        return match report.problem {
            Some(p) => Err(p),
            None => Ok(()),
        };
    }
    let line = command_line(&cmd);
    let report = runner::boot(&payload, suite, &Mode::Command(line.clone()), &mut |_| {})?;
    if let Some(p) = report.problem {
        return Err(p);
    }
    if let Some(text) = runner_log(&report).first() {
        return Err(format!("the guest runner failed: {text}"));
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

/// The one suite a `demo` or `vm` boots: the one named, else the host's own.
fn one_suite(suites: &[Suite]) -> Result<Suite, String> {
    match suites {
        [] => Ok(Suite::host_default()),
        [one] => Ok(*one),
        _ => Err("this command boots one guest; give --suite once".into()),
    }
}

/// The guest runner's own LOG lines (what went wrong outside any scenario).
fn runner_log(report: &runner::Report) -> Vec<&str> {
    report
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Log { name, text } if name == "runner" => Some(text.as_str()),
            _ => None,
        })
        .collect()
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

/// The VM suite on `suites` (every suite when empty), one boot each with the same payload;
/// one outcome per scenario (a failure names its suite), the scenario x suite table, and the
/// figures. `HARDEN_VM_SCENARIOS=a,b` runs only those scenarios.
pub(crate) fn suite(outcomes: &mut Vec<Outcome>, suites: &[Suite]) {
    eprintln!("\n==> vm: suite");
    // Every suite this host's binaries run in; an older one is skipped, loudly (and is a
    // failure when asked for by name).
    let asked = !suites.is_empty();
    let suites: Vec<Suite> = if asked {
        suites.to_vec()
    } else {
        Suite::ALL.to_vec()
    }
    .into_iter()
    .filter(|s| match s.runs_host_binaries() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("xtask: SKIPPED the {} guest: {why}", s.name());
            outcomes.push(Outcome {
                name: format!("vm: {} guest (skipped: older than the host)", s.name()),
                passed: !asked,
                seconds: 0.0,
                detail: why,
                not_run: true,
            });
            false
        }
    })
    .collect();
    let only: Vec<String> = std::env::var("HARDEN_VM_SCENARIOS")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let start = Instant::now();
    let payload = match runner::prepare(Vec::new(), &suites) {
        Ok(p) => p,
        Err(e) => {
            outcomes.push(Outcome {
                name: "vm: guest binaries".into(),
                passed: false,
                seconds: seconds(start),
                detail: e,
                not_run: false,
            });
            return;
        }
    };
    let jobs = vm_jobs(suites.len());
    eprintln!(
        "xtask: {} guest(s), {jobs} at a time (HARDEN_VM_JOBS sets how many)",
        suites.len()
    );
    // Newest first: sid runs the most scenarios (the peer), so it starts while the others
    // share the second CPU; the table keeps the suites' order.
    let mut order: Vec<(usize, Suite)> = suites.iter().copied().enumerate().collect();
    order.reverse();
    let queue = std::sync::Mutex::new(order.into_iter());
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some((i, suite)) = next else { break };
                    let boot_start = Instant::now();
                    let mode = Mode::Suite { only: only.clone() };
                    let mut progress = |e: &Event| print_progress(suite, e);
                    let run = match runner::boot(&payload, suite, &mode, &mut progress) {
                        Ok(report) => {
                            print_figures(&report);
                            let mut run = matrix::Run::from_report(report);
                            run.built = image::location(suite).ok().and_then(|i| i.built());
                            run
                        }
                        Err(e) => matrix::Run::failed_to_boot(suite, e, seconds(boot_start)),
                    };
                    if let Ok(mut d) = done.lock() {
                        d.push((i, run));
                    }
                }
            });
        }
    });
    let mut runs: Vec<(usize, matrix::Run)> = done.into_inner().unwrap_or_default();
    runs.sort_by_key(|(i, _)| *i);
    let runs: Vec<matrix::Run> = runs.into_iter().map(|(_, r)| r).collect();
    let table = matrix::Matrix::new(runs);
    println!("{}", table.render());
    if jobs > 1 {
        println!(
            "(boot-to-ready above: {jobs} guests booting at once on {} CPUs; `cargo xtask bench` \
             boots each alone)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    outcomes.extend(table.outcomes());
    eprintln!(
        "xtask: whole VM step {:.1} s for {} suite(s) (goal <= 180 s warm under TCG)",
        seconds(start),
        table.runs().len()
    );
}

/// How many guests boot at once: `HARDEN_VM_JOBS`, else one per CPU (each guest's TCG keeps
/// about one CPU busy), at most one per suite.
fn vm_jobs(suites: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::env::var("HARDEN_VM_JOBS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(cpus)
        .clamp(1, suites.max(1))
}

fn print_progress(suite: Suite, e: &Event) {
    let s = suite.name();
    match e {
        Event::Ready { uptime } => {
            eprintln!("xtask: [{s}] guest runner ready (guest uptime {uptime:.1} s)")
        }
        Event::System {
            systemd_full,
            kernel,
            ..
        } => eprintln!("xtask: [{s}] {systemd_full}, kernel {kernel}"),
        Event::Result {
            name,
            passed,
            seconds,
            message,
        } => {
            if *passed {
                eprintln!("  ok      [{s}] {name} ({seconds:.1} s)");
            } else {
                eprintln!("  FAILED  [{s}] {name} ({seconds:.1} s): {message}");
            }
        }
        Event::NotApplicable { name, reason } => {
            eprintln!("  n/a     [{s}] {name}: {reason}")
        }
        Event::Unknown(l) => eprintln!("xtask: [{s}] unexpected line from the guest: {l:?}"),
        _ => {}
    }
}

fn print_figures(report: &runner::Report) {
    let ready = report
        .boot_to_ready
        .map(|b| format!("{b:.1} s"))
        .unwrap_or_else(|| "n/a".into());
    let cold = image::location(report.suite)
        .ok()
        .and_then(|i| i.build_seconds())
        .map(|s| format!("{s:.1} s"))
        .unwrap_or_else(|| "n/a".into());
    eprintln!(
        "xtask: [{}] vm figures ({}): cold image build {cold} (when it was built), \
         boot-to-ready {ready}, guest run {:.1} s; logs in {}",
        report.suite.name(),
        report.accel.name(),
        report.total,
        report.dir.display()
    );
}

/// `cargo xtask demo [--suite NAME]`.
pub(crate) fn demo_command(args: &[String]) -> Result<(), String> {
    let (suites, rest) = image::take_suites(args)?;
    if let Some(a) = rest.first() {
        return Err(format!(
            "`demo` takes only --suite NAME (bookworm, trixie, sid or trixie-arm64), got `{a}`"
        ));
    }
    let suite = one_suite(&suites)?;
    suite.runs_host_binaries()?;
    crate::deps::ensure_vm()?;
    let payload = runner::prepare(Vec::new(), &[suite])?;
    println!("daemon-hardening demo: echod under real systemd, in a throw-away Debian VM.");
    println!("Each step shows the command run in the guest; re-run any of them with");
    println!("    cargo xtask vm -- 'COMMAND'      (or `cargo xtask vm` for a shell)");
    let report = runner::boot(&payload, suite, &Mode::Demo, &mut |e| match e {
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

/// VM figures for `cargo xtask bench`: per suite, the cold image build and the warm
/// boot-to-ready (each guest booted alone, so that the figure is not the other guests' load);
/// then the whole step over every suite, as `cargo xtask test` runs it.
pub(crate) fn bench() -> Result<(), String> {
    crate::deps::ensure_vm()?;
    let suites: Vec<Suite> = Suite::ALL
        .into_iter()
        .filter(|s| match s.runs_host_binaries() {
            Ok(()) => true,
            Err(why) => {
                println!("vm/{}: skipped: {why}", s.name());
                false
            }
        })
        .collect();
    let mut colds = Vec::new();
    for &suite in &suites {
        let img = image::location(suite)?;
        let cold = if img.root.is_file() {
            img.build_seconds()
        } else {
            image::ensure(suite, false)?.build_seconds()
        };
        colds.push((suite, cold));
    }
    let payload = runner::prepare(Vec::new(), &suites)?;
    let mut boots = Vec::new();
    for &suite in &suites {
        let report = runner::boot(&payload, suite, &Mode::Command("true".into()), &mut |_| {})?;
        if let Some(p) = &report.problem {
            return Err(format!("booting the {} guest alone: {p}", suite.name()));
        }
        boots.push((suite, report.accel, report.boot_to_ready));
    }
    let start = Instant::now();
    let mut outcomes = Vec::new();
    suite(&mut outcomes, &suites);
    let wall = seconds(start);
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let total: f64 = colds
        .iter()
        .filter(|(s, _)| s.arch() == image::GuestArch::Amd64)
        .filter_map(|(_, c)| *c)
        .sum();
    for (suite, cold) in &colds {
        // The arm64 image is finished by its first boot under TCG (goal: 15 minutes).
        let goal = match suite.arch() {
            image::GuestArch::Amd64 => String::new(),
            image::GuestArch::Arm64 => " (goal <= 900 s)".to_string(),
        };
        match cold {
            Some(c) => println!(
                "vm/image/{}: cold build {c:.1} s{goal} (measured when the cached image was \
                 built; `cargo xtask image --suite {} --rebuild` re-measures)",
                suite.name(),
                suite.name()
            ),
            None => println!("vm/image/{}: cold build not recorded", suite.name()),
        }
    }
    println!("vm/image: the three x86-64 cold builds {total:.1} s in all (goal <= 480 s)");
    for (suite, accel, ready) in &boots {
        let goal = match accel {
            accel::Accel::Kvm => 3.0,
            accel::Accel::Tcg => 8.0,
            accel::Accel::TcgArm64 => 30.0,
        };
        match ready {
            Some(b) => println!(
                "vm/boot/{}: warm boot-to-ready {b:.1} s under {}, booted alone (goal <= {goal} s)",
                suite.name(),
                accel.name()
            ),
            None => println!("vm/boot/{}: the guest never became ready", suite.name()),
        }
    }
    println!(
        "vm/suite: whole {}-suite VM step {wall:.1} s, payload builds included (the arm64 \
         guest's run is in the table above: goal <= 360 s), {} scenario rows, {failed} failed",
        suites.len(),
        outcomes.len()
    );
    if failed > 0 {
        return Err(format!(
            "{failed} VM scenario row(s) failed during the benchmark; see the table above"
        ));
    }
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
