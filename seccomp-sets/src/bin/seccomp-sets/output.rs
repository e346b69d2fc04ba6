//! `export`: the formats, what each cannot carry, and writing them out.

use std::io::Write;
use std::path::PathBuf;

use seccomp_sets::{Filter, Mode, Sandbox, Set};

use crate::cli::Format;

pub(crate) fn write_out(output: Option<&PathBuf>, bytes: &[u8]) -> std::io::Result<()> {
    match output {
        Some(path) if path.as_os_str() != "-" => std::fs::write(path, bytes),
        _ => std::io::stdout().lock().write_all(bytes),
    }
}

pub(crate) fn export(
    filter: &Filter,
    format: Format,
    systemd: u32,
) -> Result<Vec<u8>, seccomp_sets::Error> {
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
pub(crate) fn export_notes(filter: &Filter, format: Format) -> Vec<String> {
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

pub(crate) fn format_name(format: Format) -> &'static str {
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
pub(crate) fn denies_exec(sandbox: &Sandbox, mode: Mode) -> bool {
    sandbox.denied_sets().contains(Set::Spawn) && mode != Mode::Audit
}

pub(crate) fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}
