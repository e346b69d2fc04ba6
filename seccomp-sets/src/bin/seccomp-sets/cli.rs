//! The command line: commands, options and their value parsers.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use sandbox_opts::Parsed;
use seccomp_sets::table::Relaxation;
use seccomp_sets::{Arch, Builder, Mode, Set, Step};

#[derive(Debug, Parser)]
#[command(
    name = "seccomp-sets",
    version,
    about = "QEMU's -sandbox syscall sets as seccomp filters"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

/// The loader's options, shared by explain, export and run.
#[derive(Debug, clap::Args)]
pub(crate) struct Loader {
    /// Allow the rows of a named relaxation, visibly (repeatable): ptrace-traceme, io-uring,
    /// aio, userfaultfd, bpf, perf.
    #[arg(long = "relax", value_name = "NAME", value_parser = parse_relaxation)]
    pub(crate) relax: Vec<&'static Relaxation>,
    /// Leave one of the loader's steps beyond seccomp out, by name (repeatable): rlimits,
    /// landlock, permitted-caps, cap-sys-nice, cap-sys-admin, cap-sys-ptrace.
    #[arg(long = "skip", value_name = "STEP", value_parser = parse_step)]
    pub(crate) skip: Vec<Step>,
    /// Fail when a loader step is unavailable (a kernel without Landlock) instead of warning.
    #[arg(long)]
    pub(crate) strict: bool,
}

impl Loader {
    pub(crate) fn apply(&self, mut b: Builder) -> Builder {
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
pub(crate) enum Cmd {
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
pub(crate) enum Format {
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
pub(crate) enum Kill {
    Detect,
    Process,
    Trap,
}

pub(crate) fn parse_arch(s: &str) -> Result<Arch, String> {
    s.parse().map_err(|e: seccomp_sets::Error| e.to_string())
}

pub(crate) fn parse_set(s: &str) -> Result<Set, String> {
    Set::from_name(s).ok_or_else(|| {
        let [rest @ .., last] = Set::ALL.map(Set::name);
        format!("unknown set {s:?}: expected {} or {last}", rest.join(", "))
    })
}

pub(crate) fn parse_relaxation(s: &str) -> Result<&'static Relaxation, String> {
    Relaxation::find(s).ok_or_else(|| {
        format!(
            "unknown relaxation {s:?}: expected one of {}",
            Relaxation::names()
        )
    })
}

pub(crate) fn parse_step(s: &str) -> Result<Step, String> {
    Step::from_name(s)
        .ok_or_else(|| format!("unknown step {s:?}: expected one of {}", Step::names()))
}
