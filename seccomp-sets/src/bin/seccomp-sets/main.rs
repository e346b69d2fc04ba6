//! `seccomp-sets`: list, explain, export and apply QEMU's `-sandbox` syscall
//! sets.
#![forbid(unsafe_code)]

mod cli;
mod explain;
mod output;

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use clap::Parser;
use sandbox_opts::Parsed;
use seccomp_sets::{Filter, KillAction, Mode, Sandbox};

use cli::{Cli, Cmd, Format, Kill};
use explain::{explain, list};
use output::{denies_exec, export, export_notes, write_out};

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("seccomp-sets: {msg}");
    ExitCode::FAILURE
}

/// Prints what the parser accepted but probably not as meant (e.g. a
/// sandbox that is off because `on` is missing), then returns the settings.
fn sandbox_of(parsed: Parsed) -> Sandbox {
    for warning in &parsed.warnings {
        eprintln!("seccomp-sets: warning: {warning}");
    }
    parsed.sandbox
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
