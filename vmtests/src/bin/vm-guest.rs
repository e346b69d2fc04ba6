//! `vm-guest`: the runner inside the test VM.
//!
//! ```text
//! vm-guest run PAYLOAD_DIR      started by harden-guest.service at boot: reads PAYLOAD_DIR/manifest,
//!                               runs the suite, the demo, a shell or one command, reports over
//!                               the virtio-serial port harden.results, exports the journal
//! vm-guest echo ADDR TEXT       one JSON-RPC echo to unix:PATH or tcp:HOST:PORT; prints the reply
//! vm-guest list                 the scenario names
//! vm-guest victim|proxy-attack|kernel-doors|side-door|caps-report ...
//!                               the probes of `scenarios::doors` (issues 30 to 32)
//! vm-guest pass-fd KIND PATH -- PROGRAM [ARG...]
//!                               exec PROGRAM socket-activated with an fd systemd never passes
//!                               (KIND: unlistened, file); see `vmtests::passfd`
//! ```
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vmtests::scenarios::ctx::{self, Ctx, Ran};
use vmtests::scenarios::protocol::{JOURNAL_PORT, OUTPUT_PORT, RESULTS_PORT, line};
use vmtests::scenarios::{self, Scenario, demo};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    match argv.as_slice() {
        ["seccomp-probe"] => vmtests::scenarios::sysexport::probe_main(),
        ["forge-fdstore"] => match vmtests::forge::forge() {
            Ok(sent) => {
                println!("{sent}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vm-guest forge-fdstore: {e}");
                ExitCode::FAILURE
            }
        },
        ["victim", name] => vmtests::scenarios::doors::victim_main(name),
        ["proxy-attack", name] => vmtests::scenarios::doors::attack_main(name),
        ["kernel-doors", sandbox] => vmtests::scenarios::doors::kernel_doors_main(sandbox),
        ["side-door", door, mode] => vmtests::scenarios::doors::side_door_main(door, mode),
        ["caps-report", mode] => vmtests::scenarios::doors::caps_report_main(mode),
        ["pass-fd", kind, path, "--", program, rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|a| (*a).to_string()).collect();
            eprintln!(
                "vm-guest pass-fd: {}",
                vmtests::passfd::exec_with_fd(kind, path, program, &rest)
            );
            ExitCode::from(127)
        }
        ["run", payload] => match run(Path::new(payload)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vm-guest: {e}");
                ExitCode::FAILURE
            }
        },
        ["echo", addr, text] => match ctx::echo_request(addr, text, Duration::from_secs(30)) {
            Ok(reply) => {
                println!("{reply}");
                match ctx::check_echo_reply(&reply, text) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("vm-guest echo: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Err(e) => {
                eprintln!("vm-guest echo: {e}");
                ExitCode::FAILURE
            }
        },
        ["list"] => {
            for s in scenarios::all() {
                println!("{}\t{}", s.name, s.about);
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: vm-guest run PAYLOAD_DIR | vm-guest echo unix:PATH|tcp:HOST:PORT TEXT | \
                 vm-guest list | vm-guest pass-fd unlistened|file PATH -- PROGRAM [ARG...] | \
                 vm-guest forge-fdstore"
            );
            ExitCode::from(2)
        }
    }
}

/// The host's results channel.
struct Channel {
    port: File,
}

impl Channel {
    fn send(&mut self, kind: &str, fields: &[&str]) {
        let mut l = line(kind, fields);
        l.push('\n');
        if let Err(e) = self.port.write_all(l.as_bytes()) {
            eprintln!("vm-guest: writing to {RESULTS_PORT}: {e}");
        }
        let _ = self.port.flush();
    }
}

/// Finds the device of the virtio-serial port called `name` (via sysfs, so udev is not needed).
fn find_port(name: &str, wait: Duration) -> Result<PathBuf, String> {
    let start = Instant::now();
    loop {
        if let Ok(dir) = std::fs::read_dir("/sys/class/virtio-ports") {
            for e in dir.flatten() {
                let n = std::fs::read_to_string(e.path().join("name")).unwrap_or_default();
                if n.trim() == name {
                    let dev = Path::new("/dev").join(e.file_name());
                    if dev.exists() {
                        return Ok(dev);
                    }
                }
            }
        }
        if start.elapsed() > wait {
            return Err(format!("no virtio-serial port named {name} after {wait:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn open_port(name: &str) -> Result<File, String> {
    let dev = find_port(name, Duration::from_secs(20))?;
    OpenOptions::new()
        .write(true)
        .open(&dev)
        .map_err(|e| format!("opening {}: {e}", dev.display()))
}

fn read_manifest(payload: &Path) -> Result<BTreeMap<String, String>, String> {
    let path = payload.join("manifest");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect())
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "0".into())
}

fn install(payload: &Path) -> Result<(), String> {
    std::fs::create_dir_all("/usr/local/bin").map_err(|e| e.to_string())?;
    // The payload names seccomp-sets' conformance and enforcement test binaries
    // `seccomp-conformance` and `seccomp-enforce`.
    for bin in [
        "echod",
        "vm-guest",
        "axum",
        "seccomp-conformance",
        "seccomp-enforce",
    ] {
        let from = payload.join(bin);
        if from.exists() {
            let to = Path::new("/usr/local/bin").join(bin);
            std::fs::copy(&from, &to)
                .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))?;
        }
    }
    install_copies(payload)
}

/// `cargo xtask vm --copy SRC[:DEST]`: `payload/copies` lists `<n>/<name>\t<guest path>`; each
/// is copied (a directory with its tree) to its guest path, and systemd reloads when a unit
/// file was among them.
fn install_copies(payload: &Path) -> Result<(), String> {
    let list = match std::fs::read_to_string(payload.join("copies")) {
        Ok(l) => l,
        Err(_) => return Ok(()),
    };
    let mut units = false;
    for l in list.lines().filter(|l| !l.is_empty()) {
        let (rel, dest) = l
            .split_once('\t')
            .ok_or_else(|| format!("malformed copy line {l:?}"))?;
        let from = payload.join("copy").join(rel);
        let to = Path::new(dest);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        // Modes, times and links kept; owned by root (the payload keeps the host user's ids).
        let ran = ctx::run(
            "cp",
            &[
                "-R",
                "--preserve=mode,timestamps,links",
                "--no-preserve=ownership",
                "-T",
                &from.to_string_lossy(),
                dest,
            ],
        )?;
        if ran.code != 0 {
            return Err(format!("copying {rel} to {dest}: {}", ran.both().trim()));
        }
        units |= [
            "/etc/systemd/",
            "/run/systemd/",
            "/usr/lib/systemd/",
            "/lib/systemd/",
        ]
        .iter()
        .any(|d| dest.starts_with(d));
        eprintln!("vm-guest: copied {rel} to {dest}");
    }
    if units {
        ctx::run_ok("systemctl", &["daemon-reload"])?;
    }
    Ok(())
}

/// The SYSTEM line: systemd's version and the kernel release.
fn send_system(ch: &mut Channel) -> Result<u32, String> {
    let (number, full) = ctx::systemd_version()?;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    ch.send("SYSTEM", &[&number.to_string(), &full, &kernel]);
    Ok(number)
}

fn run(payload: &Path) -> Result<(), String> {
    let manifest = read_manifest(payload)?;
    let mut ch = Channel {
        port: open_port(RESULTS_PORT)?,
    };
    ch.send("READY", &[&uptime()]);
    // Set-up errors are reported on the channel, so the host names them (not "no verdict").
    let systemd = match send_system(&mut ch).and_then(|n| install(payload).map(|()| n)) {
        Ok(n) => n,
        Err(e) => {
            ch.send("LOG", &["runner", &format!("setting up the guest: {e}")]);
            export_journal();
            ch.send("VERDICT", &["fail", "0", "1"]);
            return Ok(());
        }
    };
    let scale: u32 = manifest
        .get("scale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mode = manifest.get("mode").map(String::as_str).unwrap_or("suite");
    let verdict = match mode {
        "suite" => {
            let only: Vec<&str> = manifest
                .get("scenarios")
                .map(|s| s.split(',').filter(|x| !x.is_empty()).collect())
                .unwrap_or_default();
            suite(&mut ch, scale, systemd, &only)
        }
        "demo" => demo_mode(&mut ch, scale),
        "shell" => shell(&manifest),
        "command" => command(&mut ch, payload, &manifest),
        other => Err(format!("unknown mode `{other}` in the manifest")),
    };
    export_journal();
    match verdict {
        Ok((passed, failed)) => {
            let word = if failed == 0 { "pass" } else { "fail" };
            ch.send("VERDICT", &[word, &passed.to_string(), &failed.to_string()]);
        }
        Err(e) => {
            ch.send("LOG", &["runner", &e]);
            ch.send("VERDICT", &["fail", "0", "1"]);
        }
    }
    Ok(())
}

fn export_journal() {
    let port = match open_port(JOURNAL_PORT) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vm-guest: {e}");
            return;
        }
    };
    let status = Command::new("journalctl")
        .args(["-b", "-o", "short-monotonic", "--no-pager"])
        .stdin(Stdio::null())
        .stdout(port)
        .status();
    if let Err(e) = status {
        eprintln!("vm-guest: journalctl: {e}");
    }
}

fn suite(
    ch: &mut Channel,
    scale: u32,
    systemd: u32,
    only: &[&str],
) -> Result<(usize, usize), String> {
    let mut list: Vec<Scenario> = scenarios::all();
    if !only.is_empty() {
        for name in only {
            if !list.iter().any(|s| s.name == *name) {
                return Err(format!("no scenario named `{name}`"));
            }
        }
        list.retain(|s| only.contains(&s.name));
    }
    // What this guest cannot run is reported as such, in its turn (and its units are never
    // installed).
    let na: Vec<Option<String>> = list
        .iter()
        .map(|s| scenarios::not_applicable(s, systemd))
        .collect();
    let units: Vec<(&str, &str)> = list
        .iter()
        .zip(&na)
        .filter(|(_, na)| na.is_none())
        .flat_map(|(s, _)| s.units.iter().copied())
        .collect();
    let names: Vec<&str> = list.iter().map(|s| s.name).collect();
    ch.send("PLAN", &[&names.join(",")]);
    ctx::install_units(&units)?;
    let (mut passed, mut failed) = (0, 0);
    for (s, na) in list.into_iter().zip(na) {
        if let Some(reason) = na {
            ch.send("NA", &[s.name, &reason]);
            continue;
        }
        let limit = (s.timeout * scale).as_secs().to_string();
        ch.send("BEGIN", &[s.name, &limit]);
        let start = Instant::now();
        let (result, notes, units) = run_one(&s, scale);
        let secs = format!("{:.2}", start.elapsed().as_secs_f64());
        for n in notes {
            ch.send("NOTE", &[s.name, &n]);
        }
        match result {
            Ok(()) => {
                passed += 1;
                ch.send("RESULT", &[s.name, "pass", &secs, s.about]);
            }
            Err(e) => {
                failed += 1;
                ch.send("LOG", &[s.name, &format!("FAILED: {e}")]);
                diagnose(ch, s.name, &units);
                ch.send("RESULT", &[s.name, "fail", &secs, &e]);
            }
        }
        let mut cx = Ctx::new(scale);
        cx.units = units;
        cx.cleanup();
    }
    Ok((passed, failed))
}

/// Runs the scenario's check in a thread, with the scaled time limit; returns its verdict,
/// its notes and every unit it used (its static units and those it wrote at run time).
fn run_one(s: &Scenario, scale: u32) -> (Result<(), String>, Vec<String>, Vec<String>) {
    let (tx, rx) = mpsc::channel();
    let check = s.check;
    let units = s.units;
    std::thread::spawn(move || {
        let mut cx = Ctx::for_units(scale, units);
        let verdict = check(&mut cx);
        let _ = tx.send((verdict, cx.notes, cx.units));
    });
    let limit = s.timeout * scale;
    let static_units = || s.units.iter().map(|(n, _)| (*n).to_string()).collect();
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => (
            Err(format!("timed out after {limit:?}")),
            Vec::new(),
            static_units(),
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            (Err("the check panicked".into()), Vec::new(), static_units())
        }
    }
}

/// Sends what a failed scenario's units looked like (status and journal) as LOG lines.
fn diagnose(ch: &mut Channel, name: &str, units: &[String]) {
    for unit in units {
        let pattern = ctx::unit_pattern(unit);
        for (what, args) in [
            (
                "status",
                vec!["systemctl", "status", "--no-pager", "-l", &pattern],
            ),
            (
                "journal",
                vec![
                    "journalctl",
                    "--no-pager",
                    "-o",
                    "short-monotonic",
                    "-u",
                    &pattern,
                ],
            ),
        ] {
            if let Ok(ran) = ctx::run(args[0], &args[1..]) {
                ch.send("LOG", &[name, &format!("--- {what} of {pattern}")]);
                for l in ran.both().lines() {
                    ch.send("LOG", &[name, l]);
                }
            }
        }
    }
}

fn demo_mode(ch: &mut Channel, scale: u32) -> Result<(usize, usize), String> {
    ctx::install_units(demo::UNITS)?;
    let (mut passed, mut failed) = (0, 0);
    for (i, step) in demo::STEPS.iter().enumerate() {
        let name = format!("demo-step-{}", i + 1);
        let limit = (Duration::from_secs(30) * scale).as_secs().to_string();
        ch.send("BEGIN", &[&name, &limit]);
        ch.send("SAY", &[""]);
        ch.send("SAY", &[&format!("Step {}: {}", i + 1, step.title)]);
        ch.send("SAY", &[&format!("  {}", step.narration)]);
        ch.send("SAY", &[&format!("  guest# {}", step.command)]);
        let start = Instant::now();
        let ran = run_shell_with_timeout(step.command, Duration::from_secs(30) * scale);
        let secs = format!("{:.2}", start.elapsed().as_secs_f64());
        let verdict = ran.and_then(|r| {
            for l in r.both().lines() {
                ch.send("SAY", &[&format!("    {l}")]);
            }
            (step.check)(&r)
        });
        match verdict {
            Ok(()) => {
                passed += 1;
                ch.send("SAY", &["  -> as described"]);
                ch.send("RESULT", &[&name, "pass", &secs, step.title]);
            }
            Err(e) => {
                failed += 1;
                ch.send("SAY", &[&format!("  -> NOT as described: {e}")]);
                ch.send("RESULT", &[&name, "fail", &secs, &e]);
            }
        }
    }
    Ok((passed, failed))
}

fn run_shell_with_timeout(cmd: &str, limit: Duration) -> Result<Ran, String> {
    let (tx, rx) = mpsc::channel();
    let cmd = cmd.to_string();
    std::thread::spawn(move || {
        // One stream, in the order the reader would see it in a terminal.
        let _ = tx.send(ctx::run("bash", &["-c", &format!("exec 2>&1\n{cmd}")]));
    });
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => Err(format!("the command did not finish within {limit:?}")),
    }
}

const BANNER: &str = "\
daemon-hardening test guest (Debian, systemd as PID 1; `systemctl --version`, `uname -r`)
  echod:       /usr/local/bin/echod      client: vm-guest echo unix:/run/echod/demo.sock hi
  demo units:  echod-demo.socket, echod-demo.service (installed, not started)
  `exit` (or Ctrl-D) powers the guest off.
";

fn shell(manifest: &BTreeMap<String, String>) -> Result<(usize, usize), String> {
    ctx::install_units(demo::UNITS)?;
    let tty = "/dev/hvc0";
    if let (Some(r), Some(c)) = (manifest.get("rows"), manifest.get("cols")) {
        let _ = ctx::run("stty", &["-F", tty, "rows", r, "cols", c]);
    }
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(tty)
            .map_err(|e| format!("opening {tty}: {e}"))
    };
    let mut out = open()?;
    let _ = out.write_all(BANNER.replace('\n', "\r\n").as_bytes());
    let term = manifest
        .get("term")
        .cloned()
        .unwrap_or_else(|| "vt100".into());
    let status = Command::new("setsid")
        .args(["-w", "-c", "bash", "-l"])
        .env("TERM", term)
        .env("HOME", "/root")
        .current_dir("/root")
        .stdin(open()?)
        .stdout(open()?)
        .stderr(open()?)
        .status()
        .map_err(|e| format!("starting bash on {tty}: {e}"))?;
    eprintln!("vm-guest: shell exited ({status})");
    Ok((1, 0))
}

fn command(
    ch: &mut Channel,
    payload: &Path,
    manifest: &BTreeMap<String, String>,
) -> Result<(usize, usize), String> {
    ctx::install_units(demo::UNITS)?;
    let path = payload.join("command");
    let cmd =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let out = open_port(OUTPUT_PORT)?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let term = manifest
        .get("term")
        .cloned()
        .unwrap_or_else(|| "dumb".into());
    let status = Command::new("bash")
        .args(["-c", &cmd])
        .env("TERM", term)
        .env("HOME", "/root")
        .current_dir("/root")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("starting bash: {e}"))?;
    // Killed by a signal: 128 + its number, as a shell reports it.
    let code = status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    });
    ch.send("EXIT", &[&code.to_string()]);
    Ok((1, 0))
}
