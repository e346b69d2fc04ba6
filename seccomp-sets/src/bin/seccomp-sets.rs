//! `seccomp-sets`: list, explain, export and apply QEMU's `-sandbox` syscall
//! sets.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use sandbox_opts::Parsed;
use seccomp_sets::table::{IfMissing, Relaxation};
use seccomp_sets::{Arch, Builder, Effect, Filter, KillAction, Mode, Sandbox, Set, Step};

#[derive(Debug, Parser)]
#[command(
    name = "seccomp-sets",
    version,
    about = "QEMU's -sandbox syscall sets as seccomp filters"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// The loader's options, shared by explain, export and run.
#[derive(Debug, clap::Args)]
struct Loader {
    /// Allow the rows of a named relaxation, visibly (repeatable): ptrace-traceme, io-uring,
    /// aio, userfaultfd, bpf, perf.
    #[arg(long = "relax", value_name = "NAME", value_parser = parse_relaxation)]
    relax: Vec<&'static Relaxation>,
    /// Leave one of the loader's steps beyond seccomp out, by name (repeatable): rlimits,
    /// landlock, permitted-caps, cap-sys-nice, cap-sys-admin, cap-sys-ptrace.
    #[arg(long = "skip", value_name = "STEP", value_parser = parse_step)]
    skip: Vec<Step>,
    /// Fail when a loader step is unavailable (a kernel without Landlock) instead of warning.
    #[arg(long)]
    strict: bool,
}

impl Loader {
    fn apply(&self, mut b: Builder) -> Builder {
        for r in &self.relax {
            b = b.relax(r);
        }
        for s in &self.skip {
            b = b.skip(*s);
        }
        b.strict(self.strict)
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Print the table resolved for an ABI (numbers, actions, arguments,
    /// names missing there and what covers them).
    List {
        /// ABI: x86_64, aarch64, i386, x32, arm, riscv64, s390x, ppc64le or native.
        #[arg(long, default_value = "native", value_parser = parse_arch)]
        arch: Arch,
        /// Only this set: default, obsolete, privileged, spawn, resourcecontrol.
        #[arg(long, value_parser = parse_set)]
        set: Option<Set>,
    },
    /// Print, per set, what it takes away that an ABI lacks a name for, and which rows take
    /// the same capability away there.
    Coverage {
        /// ABI: x86_64, aarch64, i386, x32, arm, riscv64, s390x, ppc64le or native.
        #[arg(long, default_value = "native", value_parser = parse_arch)]
        arch: Arch,
    },
    /// Explain what a sandbox blocks on this machine (or another ABI), how, and which names
    /// do not exist there and what covers them.
    Explain {
        #[arg(long, value_parser = sandbox_opts::clap::parsed_value_parser(),
              help = sandbox_opts::help::SHORT_HELP, long_help = sandbox_opts::help::HELP)]
        sandbox: Parsed,
        /// enforce, audit or report.
        #[arg(long, default_value = "enforce")]
        mode: Mode,
        /// ABI: x86_64, aarch64, i386, x32, arm, riscv64, s390x, ppc64le or native.
        #[arg(long, default_value = "native", value_parser = parse_arch)]
        arch: Arch,
        #[command(flatten)]
        loader: Loader,
    },
    /// Write the filter in one of several formats.
    Export {
        #[arg(long, value_parser = sandbox_opts::clap::parsed_value_parser(),
              help = sandbox_opts::help::SHORT_HELP, long_help = sandbox_opts::help::HELP)]
        sandbox: Parsed,
        /// Output format.
        #[arg(long, value_enum)]
        format: Format,
        /// enforce, audit or report.
        #[arg(long, default_value = "enforce")]
        mode: Mode,
        /// How kill rows kill: detect (ask this kernel), process or trap.
        #[arg(long, value_enum, default_value = "detect")]
        kill: Kill,
        /// The ABI the filter is for: x86_64, aarch64, i386, x32, arm, riscv64, s390x, ppc64le
        /// or native (another ABI's filter is for a loader there; `list --arch` shows how its
        /// names resolve).
        #[arg(long, default_value = "native", value_parser = parse_arch)]
        arch: Arch,
        /// Write here instead of stdout (`-` is stdout).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Leave execve and execveat allowed, so that a runtime that loads the filter and then
        /// executes the workload (runc, systemd) can start it under spawn=deny; process
        /// creation (fork, vfork, clone without thread flags, clone3) stays denied. Without
        /// it, oci, docker and systemd exports of spawn=deny are refused.
        #[arg(long)]
        exec_tolerant: bool,
        /// Write the binary bpf format to a terminal anyway.
        #[arg(long)]
        force: bool,
        /// The systemd version the systemd format is for: newer settings are written
        /// commented out (default: 252, Debian bookworm's).
        #[arg(long, value_name = "N", default_value_t = seccomp_sets::DEFAULT_SYSTEMD_VERSION)]
        systemd_version: u32,
        #[command(flatten)]
        loader: Loader,
    },
    /// Load the filter, then exec CMD under it.
    ///
    /// CMD replaces seccomp-sets, so the exit status is CMD's own; a call the
    /// sandbox kills ends CMD by SIGSYS (shells report "Bad system call" and
    /// status 159). If CMD cannot be executed, seccomp-sets exits with 127
    /// (not found) or 126 (found but not executable), as env(1) does.
    ///
    /// no_new_privs is set whenever the sandbox is on (as QEMU does), and said on stderr:
    /// CMD and its children cannot gain privileges through set-user-ID programs or file
    /// capabilities.
    Run {
        #[arg(long, value_parser = sandbox_opts::clap::parsed_value_parser(),
              help = sandbox_opts::help::SHORT_HELP, long_help = sandbox_opts::help::HELP)]
        sandbox: Parsed,
        /// enforce or audit (report mode cannot cross execve, and is refused).
        #[arg(long, default_value = "enforce")]
        mode: Mode,
        /// Do not set no_new_privs (takes effect only with CAP_SYS_ADMIN; without it the
        /// kernel requires no_new_privs): set-user-ID programs run by CMD can then gain
        /// privileges under the sandbox.
        #[arg(long)]
        without_no_new_privs: bool,
        #[command(flatten)]
        loader: Loader,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Raw BPF as libseccomp's seccomp_export_bpf writes it (native ABI).
    Bpf,
    /// libseccomp pseudo filter code.
    Pfc,
    /// seccomp-sets JSON (schema seccomp-sets/1).
    Json,
    /// OCI runtime-spec linux.seccomp object.
    Oci,
    /// Container engine profile file: docker run / podman run --security-opt seccomp=FILE.
    Docker,
    /// systemd [Service] lines.
    Systemd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kill {
    Detect,
    Process,
    Trap,
}

fn parse_arch(s: &str) -> Result<Arch, String> {
    s.parse().map_err(|e: seccomp_sets::Error| e.to_string())
}

fn parse_set(s: &str) -> Result<Set, String> {
    Set::from_name(s).ok_or_else(|| {
        let [rest @ .., last] = Set::ALL.map(Set::name);
        format!("unknown set {s:?}: expected {} or {last}", rest.join(", "))
    })
}

fn parse_relaxation(s: &str) -> Result<&'static Relaxation, String> {
    Relaxation::find(s).ok_or_else(|| {
        format!(
            "unknown relaxation {s:?}: expected one of {}",
            Relaxation::names()
        )
    })
}

fn parse_step(s: &str) -> Result<Step, String> {
    Step::from_name(s)
        .ok_or_else(|| format!("unknown step {s:?}: expected one of {}", Step::names()))
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("seccomp-sets: {msg}");
    ExitCode::FAILURE
}

fn list(arch: Arch, set: Option<Set>) -> String {
    let report = arch.resolve();
    match set {
        None => report.to_string(),
        Some(set) => {
            let only = seccomp_sets::resolve::ResolvedTable {
                arch,
                rows: report
                    .rows
                    .into_iter()
                    .filter(|r| r.rule.set == set)
                    .collect(),
            };
            only.to_string()
        }
    }
}

fn explain(filter: &Filter) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-sandbox {} in {} mode on {}",
        filter.label(),
        filter.mode(),
        filter.arch()
    );
    if filter.is_empty() {
        let _ = writeln!(
            out,
            "nothing is blocked: the sandbox is off or denies no set"
        );
        return out;
    }
    let _ = writeln!(out, "denied sets: {}", filter.sets());
    let _ = writeln!(out, "default action: allow");
    let _ = writeln!(
        out,
        "foreign ABIs (i386 int 0x80, x32, arm32 on arm64): {}",
        filter.bad_arch_effect()
    );
    let _ = writeln!(
        out,
        "no_new_privs: {}",
        if filter.requires_no_new_privs() {
            "set whenever the sandbox is on, as QEMU does"
        } else {
            "set only if the caller lacks CAP_SYS_ADMIN (the kernel requires one of the two)"
        }
    );
    if filter.planned().iter().any(|p| p.effect == Effect::Trap) && filter.mode() == Mode::Enforce {
        let _ = writeln!(
            out,
            "note: this kernel has no SECCOMP_RET_KILL_PROCESS; kill rows TRAP (SIGSYS)"
        );
    }
    for r in filter.relaxations_in_effect() {
        let _ = writeln!(
            out,
            "relaxed by the caller: {} (allows {}): {}",
            r.name,
            r.removes.join(", "),
            r.why
        );
    }
    for set in filter.sets() {
        let _ = writeln!(out, "\n[{set}]");
        for p in filter.planned().iter().filter(|p| p.via == set) {
            let args = seccomp_sets::resolve::describe_args(p.rule, filter.arch());
            let args = if args.is_empty() {
                "always".to_owned()
            } else {
                args
            };
            let _ = write!(
                out,
                "  {:<18} {:<4} {:<16} when {args}",
                p.rule.syscall,
                p.nr,
                p.effect.to_string()
            );
            if p.via != p.rule.set {
                let _ = write!(out, " (a {} row, also under {set})", p.rule.set);
            }
            if !p.rule.note.is_empty() {
                let _ = write!(
                    out,
                    "\n      ({}: {})",
                    p.rule.provenance.name(),
                    p.rule.note
                );
            }
            let _ = writeln!(out);
        }
        for r in filter
            .missing()
            .iter()
            .filter(|r| r.via(filter.sets()) == Some(set))
        {
            let how = match r.if_missing {
                IfMissing::Everywhere => "NOT COVERED".to_owned(),
                IfMissing::Nothing(why) => format!("nothing to block: {why}"),
                IfMissing::CoveredBy(s) => format!(
                    "covered by {} ({})",
                    s.join(", "),
                    seccomp_sets::capability::covered_in(filter, r, set)
                ),
            };
            let _ = writeln!(
                out,
                "  {:<18} missing on {}: {how}",
                r.syscall,
                filter.arch()
            );
        }
    }
    let steps = filter.steps();
    let skipped = filter.skipped();
    if !steps.is_empty() || !skipped.is_empty() {
        let _ = writeln!(
            out,
            "\n[beyond seccomp: the loader's steps, before the filter, while single-threaded]"
        );
        for s in &steps {
            let _ = writeln!(
                out,
                "  {:<15} ({}) {}\n      closes: {}\n      skip with --skip {}",
                s.name(),
                s.set(),
                s.does(),
                s.closes(),
                s.name()
            );
        }
        for s in &skipped {
            let _ = writeln!(
                out,
                "  {:<15} ({}) SKIPPED by the caller; open: {}",
                s.name(),
                s.set(),
                s.closes()
            );
        }
        if steps.contains(&Step::Landlock) {
            let _ = writeln!(
                out,
                "  this kernel: Landlock {}",
                seccomp_sets::landlock_status()
            );
        }
        if filter.is_strict() {
            let _ = writeln!(out, "  strict: a step the kernel cannot do is an error");
        }
    }
    out
}

fn write_out(output: Option<&PathBuf>, bytes: &[u8]) -> std::io::Result<()> {
    match output {
        Some(path) if path.as_os_str() != "-" => std::fs::write(path, bytes),
        _ => std::io::stdout().lock().write_all(bytes),
    }
}

/// Prints what the parser accepted but probably not as meant (e.g. a
/// sandbox that is off because `on` is missing), then returns the settings.
fn sandbox_of(parsed: Parsed) -> Sandbox {
    for warning in &parsed.warnings {
        eprintln!("seccomp-sets: warning: {warning}");
    }
    parsed.sandbox
}

fn export(filter: &Filter, format: Format, systemd: u32) -> Result<Vec<u8>, seccomp_sets::Error> {
    Ok(match format {
        Format::Bpf => filter.export_bpf(),
        Format::Pfc => filter.export_pfc()?.into_bytes(),
        Format::Json => pretty(&filter.to_json()),
        Format::Oci => pretty(&filter.to_oci()),
        Format::Docker => pretty(&filter.to_docker()),
        Format::Systemd => filter.to_systemd_for(systemd).into_bytes(),
    })
}

/// What a format cannot carry, said on stderr: the loader's steps beyond seccomp (the
/// systemd export writes unit settings in their place), the relaxations in force, and for
/// OCI what the container runtime already isolates and that the profile replaces the
/// engine's default.
fn export_notes(filter: &Filter, format: Format) -> Vec<String> {
    let mut notes = Vec::new();
    let steps = filter.steps();
    if !steps.is_empty() && !matches!(format, Format::Systemd) {
        let names: Vec<&str> = steps.iter().map(|s| s.name()).collect();
        let doors: Vec<String> = steps
            .iter()
            .map(|s| format!("{} ({})", s.closes(), s.name()))
            .collect();
        notes.push(format!(
            "note: this {} export carries the seccomp filter only, not the loader's steps \
             beyond it ({}): a loader of it alone leaves open {}",
            format_name(format),
            names.join(", "),
            doors.join("; ")
        ));
    }
    for r in filter.relaxations_in_effect() {
        notes.push(format!(
            "note: relaxed by name: {} (allows {})",
            r.name,
            r.removes.join(", ")
        ));
    }
    if matches!(format, Format::Oci | Format::Docker) {
        notes.push(
            "note: the profile replaces the engine's default profile: Docker's and Podman's \
             defaults are allow-lists that also refuse keyctl, add_key, io_uring, \
             unshare/setns/clone namespace flags without CAP_SYS_ADMIN and more that this \
             default-allow profile allows. What the runtime isolates on its own: a PID \
             namespace of its own (host processes cannot be named, so ptrace access only \
             reaches the container's processes), a default capability set without \
             CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_MODULE and CAP_SYS_NICE, read-only \
             /proc/sys, /proc/sysrq-trigger and /sys/fs/cgroup; what it does not: other \
             processes of the same user inside the container"
                .to_owned(),
        );
    }
    notes
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Bpf => "bpf",
        Format::Pfc => "pfc",
        Format::Json => "json",
        Format::Oci => "oci",
        Format::Docker => "docker",
        Format::Systemd => "systemd",
    }
}

/// Whether a filter of `sandbox` in `mode` stops `execve` (spawn=deny, unless audit mode only
/// logs): a program cannot be started under it.
fn denies_exec(sandbox: &Sandbox, mode: Mode) -> bool {
    sandbox.denied_sets().contains(Set::Spawn) && mode != Mode::Audit
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::List { arch, set } => {
            print!("{}", list(arch, set));
            ExitCode::SUCCESS
        }
        Cmd::Coverage { arch } => {
            print!("{}", arch.coverage());
            ExitCode::SUCCESS
        }
        Cmd::Explain {
            sandbox,
            mode,
            arch,
            loader,
        } => match loader
            .apply(Filter::builder(&sandbox_of(sandbox)).mode(mode).arch(arch))
            .build()
        {
            Ok(f) => {
                print!("{}", explain(&f));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Cmd::Export {
            sandbox,
            format,
            mode,
            kill,
            arch,
            output,
            exec_tolerant,
            force,
            systemd_version,
            loader,
        } => {
            let sandbox = sandbox_of(sandbox);
            let to_stdout = output.as_ref().is_none_or(|p| p.as_os_str() == "-");
            if matches!(format, Format::Bpf)
                && to_stdout
                && !force
                && std::io::stdout().is_terminal()
            {
                return fail(
                    "refusing to write binary BPF to a terminal: use -o FILE, a pipe, or --force",
                );
            }
            let runtime = match format {
                Format::Oci => Some("an OCI runtime (runc: \"operation not permitted\")"),
                Format::Docker => Some(
                    "a container engine (docker run, podman run: the runtime's \"operation not \
                     permitted\")",
                ),
                Format::Systemd => Some("systemd (status=203/EXEC)"),
                _ => None,
            };
            if let (Some(runtime), true, false) =
                (runtime, denies_exec(&sandbox, mode), exec_tolerant)
            {
                return fail(format!(
                    "refusing to export -sandbox {sandbox} for {runtime}: spawn=deny denies execve \
                     and execveat, and the runtime loads the filter before it executes the \
                     workload, so the workload could not start. Use --exec-tolerant for a \
                     profile that allows execve and execveat (process creation stays denied), \
                     or apply the sandbox inside the program (seccomp_sets::apply)."
                ));
            }
            let mut b = loader.apply(
                Filter::builder(&sandbox)
                    .mode(mode)
                    .arch(arch)
                    .exec_tolerant(exec_tolerant),
            );
            b = match kill {
                Kill::Detect => b,
                Kill::Process => b.kill_action(KillAction::Process),
                Kill::Trap => b.kill_action(KillAction::Trap),
            };
            let filter = match b.build() {
                Ok(f) => f,
                Err(e) => return fail(e),
            };
            if filter.is_exec_tolerant() {
                eprintln!(
                    "seccomp-sets: note: exec-tolerant: execve and execveat are left out of \
                     this profile; fork, vfork, clone3 and clone without thread flags stay denied"
                );
            }
            if matches!(format, Format::Oci) && filter.requires_no_new_privs() {
                eprintln!(
                    "seccomp-sets: note: set \"process\": {{\"noNewPrivileges\": true}} in the \
                     runtime config: this profile is meant to run with no_new_privs, and without \
                     it runc loads the filter before it changes user, so a profile that denies \
                     the privileged set kills the container at start"
                );
            }
            if matches!(format, Format::Docker) && filter.requires_no_new_privs() {
                eprintln!(
                    "seccomp-sets: note: run the container with --security-opt \
                     no-new-privileges (docker run, podman run): this profile is meant to run \
                     with no_new_privs, and without it the runtime loads the filter before it \
                     changes user, so a profile that denies the privileged set kills the \
                     container at start"
                );
            }
            for note in export_notes(&filter, format) {
                eprintln!("seccomp-sets: {note}");
            }
            let bytes = match export(&filter, format, systemd_version) {
                Ok(bytes) => bytes,
                Err(e) => return fail(e),
            };
            match write_out(output.as_ref(), &bytes) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format!(
                    "writing to {}: {e}",
                    output.map_or_else(|| "stdout".into(), |p| p.display().to_string())
                )),
            }
        }
        Cmd::Run {
            sandbox,
            mode,
            without_no_new_privs,
            loader,
            cmd,
        } => {
            let sandbox = sandbox_of(sandbox);
            if mode == Mode::Report {
                return fail(format!(
                    "refusing --mode report for {:?}: report mode names blocked calls from a \
                     SIGSYS handler inside the process, and executing the command replaces the \
                     process and its handler, so it would act as enforce. Use --mode enforce, \
                     --mode audit (the kernel logs the calls), or load report mode inside the \
                     program (seccomp_sets::apply).",
                    cmd[0]
                ));
            }
            if denies_exec(&sandbox, mode) {
                return fail(format!(
                    "refusing to run {:?} under -sandbox {sandbox}: spawn=deny denies execve and \
                     execveat, so the command could not even start. Apply the sandbox inside the \
                     program instead (seccomp_sets::apply after start-up), or use spawn=allow \
                     (or --mode audit to only log).",
                    cmd[0]
                ));
            }
            if sandbox.enabled {
                let loaded = loader
                    .apply(
                        Filter::builder(&sandbox)
                            .mode(mode)
                            .no_new_privs(!without_no_new_privs),
                    )
                    .build()
                    .and_then(|f| f.load());
                match loaded {
                    Ok(l) => {
                        // Once per step the kernel could not do (e.g. no Landlock).
                        for w in l.warnings() {
                            eprintln!("seccomp-sets: warning: {w}");
                        }
                        if l.no_new_privs {
                            eprintln!(
                                "seccomp-sets: no_new_privs is set: {:?} and its children \
                                 cannot gain privileges through set-user-ID programs or file \
                                 capabilities",
                                cmd[0]
                            );
                        }
                    }
                    Err(e) => return fail(e),
                }
            }
            let err = std::process::Command::new(&cmd[0]).args(&cmd[1..]).exec();
            eprintln!("seccomp-sets: executing {:?}: {err}", cmd[0]);
            // The shell's and env(1)'s convention, so that a caller can tell
            // "could not start" from the command's own failure.
            ExitCode::from(if err.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            })
        }
    }
}
