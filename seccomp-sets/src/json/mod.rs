//! JSON exports (feature `serde`): our own schema ([`Filter::to_json`]),
//! the OCI runtime-spec `linux.seccomp` object ([`Filter::to_oci`]), and the container
//! engines' profile file ([`Filter::to_docker`]: `docker run --security-opt seccomp=FILE`,
//! `podman run --security-opt seccomp=FILE`).
//!
//! # Our schema (`"schema": "seccomp-sets/1"`)
//!
//! ```text
//! {
//!   "schema": "seccomp-sets/1",
//!   "sandbox": "on,spawn=deny",          // canonical -sandbox string (or "sets …")
//!   "sets": ["default", "obsolete", "spawn"],
//!   "mode": "enforce" | "audit" | "report",
//!   "arch": "x86_64",                     // the filter's (native) ABI
//!   "default_action": {"action": "allow"},
//!   "bad_arch_action": EFFECT,            // calls from foreign ABIs
//!   "no_new_privs": bool,                 // true: load() sets it whatever the caller's
//!                                         // capabilities (the default when the sandbox is on)
//!   "exec_tolerant": bool,                // true: execve and execveat left out of spawn
//!   "relaxed": [{"name": "io-uring", "removes": ["io_uring_setup", ...]}],
//!   "not_carried": [{                     // what seccomp_sets::apply does beyond this
//!     "step": "landlock", "set": "spawn", // filter, which a loader of this JSON does not:
//!     "closes": "..."                     // the doors it leaves open (empty: none)
//!   }],
//!   "rules": [{                           // in table order
//!     "syscall": "clone", "nr": 56, "set": "spawn",
//!     "via": "spawn",                     // the denied set that brought it in
//!     "also_in": ["privileged"],          // other sets that bring it in
//!     "action": "kill" | "EPERM" | "ENOSYS",   // the table's action
//!     "effect": EFFECT,                   // after mode and kernel support
//!     "args": [{"index": 0, "op": "masked_eq", "mask": 65536, "value": 0}
//!              | {"index": 1, "op": "ne", "value": 5}],   // all must hold
//!     "origin": "qemu" | "changed" | "added",
//!     "note": "why it differs from QEMU"
//!   }],
//!   "missing": [{                         // names that do not exist on arch
//!     "syscall": "umount", "set": "default",
//!     "covered_by": ["umount2"]           // or "nothing_to_block": "reason"
//!   }]
//! }
//! EFFECT = {"action": "kill_process" | "trap" | "log" | "allow"}
//!        | {"action": "errno", "errno": 1, "name": "EPERM"}
//! ```
//!
//! Rows of the same syscall are alternatives: a call gets the row's effect if
//! any of its rows matches.

use serde::Serialize;
use serde_json::Value;

use crate::table::{CmpOp, IfMissing};
use crate::{Effect, Filter};

/// A filter action in our JSON schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum JsonEffect {
    /// Allow.
    Allow,
    /// `SCMP_ACT_KILL_PROCESS`.
    KillProcess,
    /// `SCMP_ACT_TRAP`.
    Trap,
    /// `SCMP_ACT_LOG`.
    Log,
    /// `SCMP_ACT_ERRNO`.
    Errno {
        /// The errno number.
        errno: i32,
        /// Its symbolic name.
        name: String,
    },
}

impl From<Effect> for JsonEffect {
    fn from(e: Effect) -> JsonEffect {
        match e {
            Effect::KillProcess => JsonEffect::KillProcess,
            Effect::Trap => JsonEffect::Trap,
            Effect::Log => JsonEffect::Log,
            Effect::Errno(n) => JsonEffect::Errno {
                errno: n,
                name: std::format!("{:?}", nix::errno::Errno::from_raw(n)),
            },
        }
    }
}

/// One argument comparison in our JSON schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JsonArg {
    /// `arg != value`.
    Ne {
        /// Argument index on the filter's ABI.
        index: u32,
        /// Compared value.
        value: u64,
    },
    /// `arg & mask == value`.
    MaskedEq {
        /// Argument index on the filter's ABI.
        index: u32,
        /// Mask.
        mask: u64,
        /// Expected value.
        value: u64,
    },
}

/// One rule in our JSON schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonRule {
    /// Syscall name.
    pub syscall: &'static str,
    /// Its number on the filter's ABI.
    pub nr: i32,
    /// The set.
    pub set: &'static str,
    /// The denied set that brought the row in ([`crate::Planned::via`]).
    pub via: &'static str,
    /// Other sets that bring the row in ([`crate::table::Rule::also_in`]).
    pub also_in: Vec<&'static str>,
    /// The table's action.
    pub action: &'static str,
    /// What the filter does.
    pub effect: JsonEffect,
    /// Argument comparisons (all must hold).
    pub args: Vec<JsonArg>,
    /// `qemu`, `changed` or `added`.
    pub origin: &'static str,
    /// Why the row differs from QEMU.
    pub note: &'static str,
}

/// A name of the denied sets that does not exist on the filter's ABI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonMissing {
    /// Syscall name.
    pub syscall: &'static str,
    /// The set.
    pub set: &'static str,
    /// Substitute rows that block the same effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered_by: Option<&'static [&'static str]>,
    /// Why nothing needs blocking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nothing_to_block: Option<&'static str>,
}

/// A relaxation in force, in our JSON schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonRelaxation {
    /// Its name.
    pub name: &'static str,
    /// The calls whose rows it removed.
    pub removes: &'static [&'static str],
}

/// A loader step the JSON cannot carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonStep {
    /// The step's name.
    pub step: &'static str,
    /// The key it enforces.
    pub set: &'static str,
    /// The door it closes, open under a loader of this JSON alone.
    pub closes: &'static str,
}

/// The whole filter in our JSON schema (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonFilter {
    /// Always `seccomp-sets/1`.
    pub schema: &'static str,
    /// Canonical sandbox string.
    pub sandbox: String,
    /// Denied sets.
    pub sets: Vec<&'static str>,
    /// `enforce`, `audit` or `report`.
    pub mode: &'static str,
    /// The filter's ABI.
    pub arch: &'static str,
    /// Always allow.
    pub default_action: JsonEffect,
    /// What calls from foreign ABIs get.
    pub bad_arch_action: JsonEffect,
    /// Whether loading sets no_new_privs regardless of capabilities.
    pub no_new_privs: bool,
    /// Whether `execve` and `execveat` were left out of the spawn set
    /// ([`Builder::exec_tolerant`](crate::Builder::exec_tolerant)).
    pub exec_tolerant: bool,
    /// The relaxations in force.
    pub relaxed: Vec<JsonRelaxation>,
    /// The loader's steps beyond the filter, which this export does not carry.
    pub not_carried: Vec<JsonStep>,
    /// The rules.
    pub rules: Vec<JsonRule>,
    /// Names missing on the ABI.
    pub missing: Vec<JsonMissing>,
}

mod oci;
pub use oci::{DockerArch, DockerProfile, DockerSyscall, OciArg, OciSeccomp, OciSyscall};

impl Filter {
    /// The filter in our JSON schema (see [the module docs](crate::json)).
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Audit)?;
    /// let j = f.to_json_struct();
    /// assert_eq!(j.schema, "seccomp-sets/1");
    /// assert!(j.rules.iter().all(|r| r.effect == seccomp_sets::json::JsonEffect::Log));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json_struct(&self) -> JsonFilter {
        let arch = self.arch();
        JsonFilter {
            schema: "seccomp-sets/1",
            sandbox: self.label().to_owned(),
            sets: self.sets().iter().map(|s| s.name()).collect(),
            mode: self.mode().name(),
            arch: arch.name(),
            default_action: JsonEffect::Allow,
            bad_arch_action: self.bad_arch_effect().into(),
            no_new_privs: self.requires_no_new_privs(),
            exec_tolerant: self.is_exec_tolerant(),
            relaxed: self
                .relaxations_in_effect()
                .iter()
                .map(|r| JsonRelaxation {
                    name: r.name,
                    removes: r.removes,
                })
                .collect(),
            not_carried: self
                .steps()
                .iter()
                .map(|s| JsonStep {
                    step: s.name(),
                    set: s.set().name(),
                    closes: s.closes(),
                })
                .collect(),
            rules: self
                .planned()
                .iter()
                .map(|p| JsonRule {
                    syscall: p.rule.syscall,
                    nr: p.nr,
                    set: p.rule.set.name(),
                    via: p.via.name(),
                    also_in: p.rule.also_in.iter().map(|s| s.name()).collect(),
                    action: p.rule.action.name(),
                    effect: p.effect.into(),
                    args: p
                        .rule
                        .args
                        .iter()
                        .map(|c| match c.op {
                            CmpOp::Ne(value) => JsonArg::Ne {
                                index: c.arg.index(arch),
                                value,
                            },
                            CmpOp::MaskedEq { mask, value } => JsonArg::MaskedEq {
                                index: c.arg.index(arch),
                                mask,
                                value,
                            },
                        })
                        .collect(),
                    origin: p.rule.provenance.name(),
                    note: p.rule.note,
                })
                .collect(),
            missing: self
                .missing()
                .iter()
                .map(|r| JsonMissing {
                    syscall: r.syscall,
                    set: r.set.name(),
                    covered_by: match r.if_missing {
                        IfMissing::CoveredBy(s) => Some(s),
                        _ => None,
                    },
                    nothing_to_block: match r.if_missing {
                        IfMissing::Nothing(why) => Some(why),
                        _ => None,
                    },
                })
                .collect(),
        }
    }

    /// The filter in our JSON schema, as a [`serde_json::Value`].
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// assert_eq!(f.to_json()["default_action"]["action"], "allow");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.to_json_struct()).unwrap_or(Value::Null)
    }
}
