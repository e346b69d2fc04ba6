//! The OCI runtime-spec `linux.seccomp` object ([`Filter::to_oci`]) and the container engines'
//! profile file ([`Filter::to_docker`]), which Docker and Podman read.

use serde::Serialize;
use serde_json::Value;

use crate::table::CmpOp;
use crate::{Effect, Filter};

/// One entry of OCI's `linux.seccomp.syscalls`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciSyscall {
    /// Syscall names.
    pub names: Vec<&'static str>,
    /// `SCMP_ACT_*`.
    pub action: &'static str,
    /// errno for `SCMP_ACT_ERRNO`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// Argument comparisons (all must hold).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<OciArg>,
}

/// One entry of an OCI syscall's `args`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciArg {
    /// Argument index.
    pub index: u32,
    /// libseccomp's `datum_a` (the mask for `SCMP_CMP_MASKED_EQ`).
    pub value: u64,
    /// libseccomp's `datum_b` (the expected value for `SCMP_CMP_MASKED_EQ`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_two: Option<u64>,
    /// `SCMP_CMP_*`.
    pub op: &'static str,
}

/// OCI's `linux.seccomp` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciSeccomp {
    /// Always `SCMP_ACT_ALLOW`.
    pub default_action: &'static str,
    /// The native ABI only (other ABIs are the runtime's bad-arch case).
    pub architectures: Vec<&'static str>,
    /// The rules.
    pub syscalls: Vec<OciSyscall>,
}

/// One architecture of a container engine profile's `archMap`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerArch {
    /// `SCMP_ARCH_*`: the filter's ABI.
    pub architecture: &'static str,
    /// The ABIs the engine adds to the filter beside it: none, so that calls from foreign
    /// ABIs (i386 `int 0x80`, x32) meet the runtime's bad-arch action instead of a filter
    /// that resolved its names for another ABI.
    pub sub_architectures: Vec<&'static str>,
}

/// One entry of a container engine profile's `syscalls`: an OCI entry with a comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerSyscall {
    /// The OCI entry (names, action, errnoRet, args).
    #[serde(flatten)]
    pub entry: OciSyscall,
    /// The sets that brought the names in and, for an argument-checked row, its note.
    pub comment: String,
}

/// The profile file Docker and Podman read (`--security-opt seccomp=FILE`): Docker's
/// `profiles/seccomp` format, which Podman reads through containers/common unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerProfile {
    /// Always `SCMP_ACT_ALLOW`: the profile lists what the sandbox denies.
    pub default_action: &'static str,
    /// The filter's ABI, without sub-architectures.
    pub arch_map: Vec<DockerArch>,
    /// The rules, unconditional ones grouped by set and action.
    pub syscalls: Vec<DockerSyscall>,
}

fn oci_args(p: &crate::Planned, arch: crate::Arch) -> Vec<OciArg> {
    p.rule
        .args
        .iter()
        .map(|c| match c.op {
            CmpOp::Ne(v) => OciArg {
                index: c.arg.index(arch),
                value: v,
                value_two: None,
                op: "SCMP_CMP_NE",
            },
            CmpOp::MaskedEq { mask, value } => OciArg {
                index: c.arg.index(arch),
                value: mask,
                value_two: Some(value),
                op: "SCMP_CMP_MASKED_EQ",
            },
        })
        .collect()
}

fn errno_ret(e: Effect) -> Option<u32> {
    match e {
        Effect::Errno(n) => u32::try_from(n).ok(),
        _ => None,
    }
}

impl Filter {
    /// The OCI runtime-spec `linux.seccomp` object for this filter.
    ///
    /// Unconditional rows with the same action share one entry; each
    /// argument-checked row is its own entry (entries are alternatives, the
    /// `args` of one entry must all hold). Not expressible in OCI: the
    /// bad-arch action (the runtime chooses), no_new_privs (that is
    /// `process.noNewPrivileges`), and the loader's steps beyond seccomp (Landlock,
    /// capabilities, rlimits: the runtime's capability set and PID namespace stand in; the CLI
    /// says so on stderr). The profile replaces the engine's default profile.
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on,spawn=deny".parse()?, seccomp_sets::Mode::Enforce)?;
    /// let oci = f.to_oci_struct();
    /// assert_eq!(oci.default_action, "SCMP_ACT_ALLOW");
    /// assert!(oci.syscalls.iter().any(|s| s.names == ["clone"] && !s.args.is_empty()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_oci_struct(&self) -> OciSeccomp {
        let arch = self.arch();
        let mut syscalls: Vec<OciSyscall> = Vec::new();
        for p in self.planned() {
            let action = p.effect.scmp_name();
            let errno = errno_ret(p.effect);
            if p.rule.args.is_empty() {
                if let Some(entry) = syscalls
                    .iter_mut()
                    .find(|s| s.args.is_empty() && s.action == action && s.errno_ret == errno)
                {
                    if !entry.names.contains(&p.rule.syscall) {
                        entry.names.push(p.rule.syscall);
                    }
                    continue;
                }
            }
            syscalls.push(OciSyscall {
                names: vec![p.rule.syscall],
                action,
                errno_ret: errno,
                args: oci_args(p, arch),
            });
        }
        OciSeccomp {
            default_action: "SCMP_ACT_ALLOW",
            architectures: vec![arch.scmp_name()],
            syscalls,
        }
    }

    /// The profile file of the container engines: `docker run --security-opt seccomp=FILE`
    /// and `podman run --security-opt seccomp=FILE` read the same format (Docker's
    /// `profiles/seccomp`, which Podman reads through containers/common).
    ///
    /// It is the [OCI object](Filter::to_oci_struct) in the engines' terms: `defaultAction`
    /// allow; `archMap` with the filter's ABI alone (no sub-architectures: foreign ABIs meet
    /// the runtime's bad-arch action, as they meet this crate's); `syscalls` entries with
    /// `names`, `action`, `errnoRet` and the argument comparisons (`args`, all of which must
    /// hold; `clone`'s flags, `sched_setscheduler`'s policy, the namespace and rlimit rows),
    /// each with a `comment` naming its sets (and, for an argument-checked row, its note).
    /// Unconditional rows share an entry per set and action. No entry has `includes` or
    /// `excludes`: a rule conditional on the container's capabilities (`caps`) would let
    /// `--cap-add` remove it, and the sets refuse their calls whatever the capabilities, as
    /// QEMU's filter does; the kill action is this kernel's (no `minKernel` needed).
    ///
    /// Not expressible, as for OCI: the bad-arch action, no_new_privs (`--security-opt
    /// no-new-privileges`, which the profile is meant for: without it runc and crun load the
    /// filter before they change user, and a profile that denies the privileged set kills the
    /// container at start), and the loader's steps beyond seccomp (Landlock, capabilities,
    /// rlimits: the engine's capability set and PID namespace stand in; the CLI says so on
    /// stderr). The profile replaces the engine's default profile.
    ///
    /// ```
    /// let f = seccomp_sets::Filter::builder(&"on,spawn=deny".parse()?)
    ///     .exec_tolerant(true)
    ///     .build()?;
    /// let p = f.to_docker_struct();
    /// assert_eq!(p.default_action, "SCMP_ACT_ALLOW");
    /// assert_eq!(p.arch_map[0].architecture, f.arch().scmp_name());
    /// assert!(p.arch_map[0].sub_architectures.is_empty());
    /// let clone = p.syscalls.iter().find(|s| s.entry.names == ["clone"]).unwrap();
    /// assert!(!clone.entry.args.is_empty() && clone.comment.starts_with("spawn"));
    /// assert!(!p.syscalls.iter().any(|s| s.entry.names.contains(&"execve")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_docker_struct(&self) -> DockerProfile {
        let arch = self.arch();
        let mut syscalls: Vec<DockerSyscall> = Vec::new();
        for p in self.planned() {
            let action = p.effect.scmp_name();
            let errno = errno_ret(p.effect);
            let set = p.via.name();
            if p.rule.args.is_empty() {
                let comment = std::format!("{set}: every call");
                if let Some(entry) = syscalls.iter_mut().find(|s| {
                    s.entry.args.is_empty()
                        && s.entry.action == action
                        && s.entry.errno_ret == errno
                        && s.comment == comment
                }) {
                    if !entry.entry.names.contains(&p.rule.syscall) {
                        entry.entry.names.push(p.rule.syscall);
                    }
                    continue;
                }
                syscalls.push(DockerSyscall {
                    entry: OciSyscall {
                        names: vec![p.rule.syscall],
                        action,
                        errno_ret: errno,
                        args: Vec::new(),
                    },
                    comment,
                });
                continue;
            }
            syscalls.push(DockerSyscall {
                entry: OciSyscall {
                    names: vec![p.rule.syscall],
                    action,
                    errno_ret: errno,
                    args: oci_args(p, arch),
                },
                comment: std::format!(
                    "{set}: only when {}: {}",
                    crate::resolve::describe_args(p.rule, arch),
                    p.rule.note
                ),
            });
        }
        DockerProfile {
            default_action: "SCMP_ACT_ALLOW",
            arch_map: vec![DockerArch {
                architecture: arch.scmp_name(),
                sub_architectures: Vec::new(),
            }],
            syscalls,
        }
    }

    /// [`Filter::to_docker_struct`] as a [`serde_json::Value`].
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// assert_eq!(f.to_docker()["archMap"][0]["subArchitectures"], serde_json::json!([]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_docker(&self) -> Value {
        serde_json::to_value(self.to_docker_struct()).unwrap_or(Value::Null)
    }

    /// [`Filter::to_oci_struct`] as a [`serde_json::Value`].
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// assert_eq!(f.to_oci()["defaultAction"], "SCMP_ACT_ALLOW");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_oci(&self) -> Value {
        serde_json::to_value(self.to_oci_struct()).unwrap_or(Value::Null)
    }
}
