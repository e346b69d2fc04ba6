//! The `seccomp-sets` binary (feature `cli`).

use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(cli_binary())
        .args(args)
        .output()
        .expect("running seccomp-sets")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_per_arch_and_set() {
    let o = cli(&["list", "--arch", "i386", "--set", "privileged"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("setuid32") && out.contains("213"));
    assert!(!out.contains("reboot"));
    let bad = cli(&["list", "--arch", "vax"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("unknown architecture \"vax\""));
    let bad = cli(&["list", "--set", "network"]);
    assert!(stderr(&bad).contains("unknown set \"network\""));
}

#[test]
fn explain_names_effects_and_missing_names() {
    let o = cli(&["explain", "--sandbox", "on,spawn=deny"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("denied sets: default,obsolete,spawn"));
    assert!(out.contains("execveat") && out.contains("errno EPERM"));
    if cfg!(target_arch = "x86_64") {
        assert!(out.contains("umount             missing on x86_64: covered by umount2"));
    }
    let bad = cli(&["explain", "--sandbox", "on,spawn=maybe"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("invalid argument for spawn"));
}

/// `explain --arch` explains another ABI's filter: its numbers, and for each name missing
/// there, the rows that take the same capability away (the example: spawn on arm64).
#[test]
fn explain_for_another_abi_names_what_covers_each_missing_name() {
    let o = cli(&["explain", "--sandbox", "on,spawn=deny", "--arch", "aarch64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("-sandbox on,spawn=deny in enforce mode on aarch64"),
        "{out}"
    );
    assert!(
        out.contains(
            "fork               missing on aarch64: covered by clone (create a process here: \
             clone when arg0 & 0x10000 == 0x0, clone3)"
        ),
        "{out}"
    );
    assert!(
        out.contains("vfork              missing on aarch64"),
        "{out}"
    );
    // aarch64's numbers: execve is 221 there (59 on x86_64).
    assert!(out.contains("execve             221"), "{out}");
    // The coverage table is the library's.
    let o = cli(&["coverage", "--arch", "arm64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        seccomp_sets::Arch::Aarch64.coverage().to_string()
    );
}

#[test]
fn export_formats_match_the_library() {
    let sandbox: seccomp_sets::Sandbox = "on,resourcecontrol=deny".parse().unwrap();
    let f = seccomp_sets::Filter::new(&sandbox, seccomp_sets::Mode::Enforce).unwrap();
    let export = |format: &str| {
        cli(&[
            "export",
            "--sandbox",
            "on,resourcecontrol=deny",
            "--format",
            format,
        ])
    };
    let bpf = export("bpf");
    assert!(bpf.status.success());
    assert_eq!(bpf.stdout, f.export_bpf());
    let pfc = export("pfc");
    assert_eq!(stdout(&pfc), f.export_pfc().unwrap());
    let json = export("json");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v, f.to_json());
    let oci = export("oci");
    let v: serde_json::Value = serde_json::from_slice(&oci.stdout).unwrap();
    assert_eq!(v, f.to_oci());
    let docker = export("docker");
    let v: serde_json::Value = serde_json::from_slice(&docker.stdout).unwrap();
    assert_eq!(v, f.to_docker());
    let dir = test_support::TempDir::new("seccomp-sets-cli");
    let path = dir.join("filter.conf");
    let o = cli(&[
        "export",
        "--sandbox",
        "on,resourcecontrol=deny",
        "--format",
        "systemd",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), f.to_systemd());
    let o = cli(&[
        "export",
        "--sandbox",
        "on",
        "--format",
        "pfc",
        "-o",
        "/nonexistent/dir/x",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("writing to /nonexistent/dir/x"));
}

#[test]
fn run_applies_then_execs() {
    let o = cli(&[
        "run",
        "--sandbox",
        "on,elevateprivileges=children",
        "--",
        "/bin/sh",
        "-c",
        "grep NoNewPrivs /proc/self/status; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).contains("NoNewPrivs:\t1"));
}

#[test]
fn run_refuses_spawn_deny_with_an_explanation() {
    let o = cli(&["run", "--sandbox", "on,spawn=deny", "--", "/bin/true"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("spawn=deny denies execve"), "{err}");
}

#[test]
fn sandbox_warnings_are_printed_not_swallowed() {
    // `on` forgotten: the sandbox is off, and the user must be told before
    // the command runs unconfined.
    let o = cli(&[
        "run",
        "--sandbox",
        "elevateprivileges=deny",
        "--",
        "/bin/true",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("seccomp-sets: warning: the sandbox is off because enable is not given"),
        "{err}"
    );
    assert!(
        err.contains("elevateprivileges=deny has no effect while the sandbox is off"),
        "{err}"
    );
    let o = cli(&["explain", "--sandbox", "on,spawn=deny,spawn=allow"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("spawn is given more than once; the last value, spawn=allow, wins"),
        "{}",
        stderr(&o)
    );
    let o = cli(&["export", "--sandbox", "on", "--format", "pfc"]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn export_dash_means_stdout() {
    let dir = test_support::TempDir::new("seccomp-sets-cli-dash");
    let o = Command::new(cli_binary())
        .args([
            "export",
            "--sandbox",
            "on",
            "--format",
            "systemd",
            "-o",
            "-",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let created = dir.join("-").exists();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!created, "-o - created a file named '-'");
    assert!(stdout(&o).contains("[Service]"));
}

#[test]
fn run_exit_status_tells_cannot_start_from_command_failure() {
    let o = cli(&[
        "run",
        "--sandbox",
        "on",
        "--",
        "/nonexistent/seccomp-sets-cmd",
    ]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("executing \"/nonexistent/seccomp-sets-cmd\""));
    // A directory exists but cannot be executed.
    let o = cli(&["run", "--sandbox", "on", "--", "/"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(stderr(&o).contains("executing \"/\""));
    let o = cli(&["run", "--sandbox", "on", "--", "/bin/sh", "-c", "exit 1"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn run_blocked_call_dies_by_sigsys() {
    use std::os::unix::process::ExitStatusExt;
    // perl-base is Essential on Debian. setuid to the current uid changes
    // nothing even when allowed (tests run as root in CI).
    let setuid = [
        "perl",
        "-MPOSIX",
        "-e",
        "POSIX::setuid($<); print qq(alive\\n)",
    ];
    let mut args = vec!["run", "--sandbox", "on,elevateprivileges=deny", "--"];
    args.extend(setuid);
    let o = cli(&args);
    assert_eq!(o.status.signal(), Some(libc::SIGSYS), "{o:?}");
    assert!(!stdout(&o).contains("alive"));
    // The same command runs when the privileged set is allowed.
    let mut args = vec!["run", "--sandbox", "on", "--"];
    args.extend(setuid);
    let o = cli(&args);
    assert!(o.status.success() && stdout(&o).contains("alive"), "{o:?}");
}

/// The `seccomp-sets` binary cargo built for this test, claimed out of the shared target
/// directory (another cargo run may re-link it).
fn cli_binary() -> std::path::PathBuf {
    static CLAIMED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    CLAIMED
        .get_or_init(|| {
            test_support::bin::claim(std::path::Path::new(env!("CARGO_BIN_EXE_seccomp-sets")))
        })
        .clone()
}

/// `explain` is a table a reviewer reads: its whole text for every set denied, in enforce and
/// in report mode, and with elevateprivileges=children, is snapshot-tested (x86_64 numbers;
/// the kill action follows this kernel, so a kernel without KILL_PROCESS skips loudly).
#[cfg(target_arch = "x86_64")]
#[test]
fn explain_text_per_mode() {
    let kill_process = seccomp_sets::KillAction::detect() == seccomp_sets::KillAction::Process;
    test_support::require!(kill_process, "this kernel has no SECCOMP_RET_KILL_PROCESS");
    let all = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";
    for (name, args) in [
        ("explain_enforce_all", vec!["explain", "--sandbox", all]),
        (
            "explain_report_all",
            vec!["explain", "--sandbox", all, "--mode", "report"],
        ),
        (
            "explain_children",
            vec!["explain", "--sandbox", "on,elevateprivileges=children"],
        ),
    ] {
        let o = cli(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        // This kernel's Landlock ABI is the one machine-dependent line.
        let text: String = stdout(&o)
            .lines()
            .map(|l| {
                if l.starts_with("  this kernel: Landlock ") {
                    "  this kernel: Landlock [status]"
                } else {
                    l
                }
            })
            .map(|l| format!("{l}\n"))
            .collect();
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn run_refuses_report_mode_and_says_when_it_sets_no_new_privs() {
    let o = cli(&[
        "run",
        "--sandbox",
        "on",
        "--mode",
        "report",
        "--",
        "/bin/true",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("refusing --mode report") && stderr(&o).contains("--mode audit"),
        "{}",
        stderr(&o)
    );
    let status = |extra: &[&str]| {
        let mut args = vec!["run", "--sandbox", "on"];
        args.extend_from_slice(extra);
        args.extend(["--", "/bin/sh", "-c", "grep NoNewPrivs /proc/self/status"]);
        cli(&args)
    };
    let o = status(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("NoNewPrivs:\t1"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("no_new_privs is set: \"/bin/sh\" and its children cannot gain"),
        "{}",
        stderr(&o)
    );
    // The opt-out works only with CAP_SYS_ADMIN (the kernel requires one of the two).
    let o = status(&["--without-no-new-privs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let status_text = std::fs::read_to_string("/proc/self/status").unwrap();
    let cap_eff = status_text
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap();
    let root = cap_eff & (1 << 21) != 0; // CAP_SYS_ADMIN
    assert_eq!(
        stdout(&o).contains("NoNewPrivs:\t0"),
        root,
        "{}",
        stdout(&o)
    );
    assert_eq!(
        !stderr(&o).contains("no_new_privs is set"),
        root,
        "{}",
        stderr(&o)
    );
}

/// Exports for runtimes that execute the workload after loading the filter are refused for
/// spawn=deny, unless exec-tolerant; OCI exports say what the runtime config needs.
#[test]
fn exports_never_make_a_profile_the_workload_cannot_start_under() {
    for format in ["oci", "docker", "systemd"] {
        let o = cli(&["export", "--sandbox", "on,spawn=deny", "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{format}");
        assert!(stderr(&o).contains("--exec-tolerant"), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
        let o = cli(&[
            "export",
            "--sandbox",
            "on,spawn=deny",
            "--format",
            format,
            "--exec-tolerant",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let rules: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(rules.iter().all(|l| !l.contains("execve")), "{out}");
        assert!(rules.iter().any(|l| l.contains("fork")), "{out}");
        assert!(stderr(&o).contains("exec-tolerant"), "{}", stderr(&o));
    }
    // Formats for loaders inside the program are not refused.
    let o = cli(&["export", "--sandbox", "on,spawn=deny", "--format", "pfc"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // An OCI profile names the runtime setting it needs.
    let o = cli(&[
        "export",
        "--sandbox",
        "on,elevateprivileges=deny",
        "--format",
        "oci",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("noNewPrivileges"), "{}", stderr(&o));
    // A container engine profile names the engines' option.
    let o = cli(&[
        "export",
        "--sandbox",
        "on,elevateprivileges=deny",
        "--format",
        "docker",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--security-opt no-new-privileges"),
        "{}",
        stderr(&o)
    );
}

/// Binary BPF is not written to a terminal unless forced (bsdutils's `script` gives the
/// command a terminal).
#[test]
fn binary_output_is_not_written_to_a_terminal() {
    let script = test_support::require_program!("script", "bsdutils");
    let bin = cli_binary();
    let run = |extra: &str| {
        let line = format!(
            "{} export --sandbox on --format bpf {extra}; echo status=$?",
            bin.display()
        );
        let o = Command::new(&script)
            .args(["-qec", &line, "/dev/null"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let refused = run("");
    assert!(
        refused.contains("refusing to write binary BPF to a terminal")
            && refused.contains("status=1"),
        "{refused}"
    );
    let forced = run("--force");
    assert!(forced.contains("status=0"), "{forced}");
    // `-o -` is the terminal too; a file is not.
    let dash = run("-o -");
    assert!(dash.contains("status=1"), "{dash}");
    let dir = test_support::TempDir::new("seccomp-sets-tty");
    let file = dir.join("f.bpf");
    let to_file = run(&format!("-o {}", file.display()));
    assert!(to_file.contains("status=0"), "{to_file}");
    assert!(std::fs::metadata(&file).unwrap().len() % 8 == 0);
}

#[test]
fn export_for_another_abi() {
    let export = |format: &str, arch: &str| {
        cli(&[
            "export",
            "--sandbox",
            "on",
            "--format",
            format,
            "--arch",
            arch,
        ])
    };
    let o = export("oci", "aarch64");
    assert!(o.status.success(), "{}", stderr(&o));
    let oci: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        oci["architectures"],
        serde_json::json!(["SCMP_ARCH_AARCH64"])
    );
    let o = export("pfc", "s390x");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("# filter for arch s390x"),
        "{}",
        stdout(&o)
    );
    let o = export("pfc", "vax");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown architecture \"vax\""),
        "{}",
        stderr(&o)
    );
}

/// The loader's options and what each format says it cannot carry (issues 30 to 32).
#[test]
fn loader_options_and_export_notes() {
    let o = cli(&[
        "explain",
        "--sandbox",
        "on,spawn=deny",
        "--skip",
        "landlock",
        "--relax",
        "ptrace-traceme",
        "--strict",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("landlock        (spawn) SKIPPED by the caller; open: "),
        "{out}"
    );
    assert!(
        out.contains("relaxed by the caller: ptrace-traceme (allows ptrace)"),
        "{out}"
    );
    assert!(
        out.contains("strict: a step the kernel cannot do is an error"),
        "{out}"
    );
    let bad = cli(&["explain", "--sandbox", "on", "--skip", "seccomp"]);
    assert!(
        stderr(&bad).contains("unknown step \"seccomp\""),
        "{}",
        stderr(&bad)
    );
    let bad = cli(&["explain", "--sandbox", "on", "--relax", "mount"]);
    assert!(
        stderr(&bad).contains("unknown relaxation \"mount\""),
        "{}",
        stderr(&bad)
    );
    let o = cli(&["export", "--sandbox", "on,spawn=deny", "--format", "pfc"]);
    assert!(
        stderr(&o).contains("carries the seccomp filter only, not the loader's steps beyond it (landlock, cap-sys-admin, cap-sys-ptrace)"),
        "{}",
        stderr(&o)
    );
    for format in ["oci", "docker"] {
        let o = cli(&[
            "export",
            "--sandbox",
            "on,spawn=deny",
            "--format",
            format,
            "--exec-tolerant",
        ]);
        assert!(
            stderr(&o).contains("replaces the engine's default profile")
                && stderr(&o).contains(&format!(
                    "this {format} export carries the seccomp filter only"
                )),
            "{}",
            stderr(&o)
        );
    }
    let systemd = |version: &str| {
        let o = cli(&[
            "export",
            "--sandbox",
            "on,spawn=deny",
            "--format",
            "systemd",
            "--exec-tolerant",
            "--systemd-version",
            version,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert!(systemd("257").lines().any(|l| l == "PrivatePIDs=yes"));
    assert!(systemd("252").lines().any(|l| l == "#PrivatePIDs=yes"));
    // No note for a filter whose keys need no loader step.
    let o = cli(&["export", "--sandbox", "on", "--format", "json"]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}
