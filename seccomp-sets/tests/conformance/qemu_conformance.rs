//! Conformance with the real QEMU binary (Debian's `qemu-system-x86`, which
//! `cargo xtask test` installs on the host, and which each VM suite's image carries: the VM
//! scenario `qemu-conformance` runs this binary's QEMU tests in every guest, against that
//! release's own QEMU): the option grammar and the filters QEMU really installs.
//!
//! * **Grammar**: a generated corpus of several hundred `-sandbox` strings goes
//!   through `qemu-system-x86_64 -sandbox STR -machine none ...` and through
//!   `sandbox-opts`. Accept/reject must agree and QEMU's message must appear
//!   inside ours; every disagreement must be one that a row of
//!   [`sandbox_opts::qemu::DIFFERENCES`] declares for this QEMU release, and every row
//!   declared for it must show (else it is stale). `parse_like_qemu` must say exactly what
//!   QEMU says, and be stated for this release (`MODEL_RELEASES`).
//! * **Filters**: QEMU is started paused with every `on` configuration, the
//!   filter it installed is read with `PTRACE_SECCOMP_GET_FILTER` (root), and
//!   both programs are run by a BPF interpreter for every x86-64 syscall
//!   number and for the argument cases of the table (clone flags, scheduling
//!   policies). Every difference must be declared for this release by the rows that decide
//!   the call (`Rule::qemu_differs`: QEMU's verdict and the releases), and every declaration
//!   for this release must show in some verdict (else it is stale). no_new_privs must be on
//!   in both.
//!
//! Each test prints one summary line (agree / declared / undeclared / stale), which the VM
//! suite reports per release. Without QEMU (or, for the filters, without root) they skip
//! loudly; `HARDEN_TEST_STRICT=1` makes that a failure.
//! `HARDEN_QEMU=/path/to/qemu-system-x86_64` picks another binary (for example an unpacked
//! older release).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bpf::{self, Data, Verdict};
use crate::qemu::{Qemu, find_qemu, qemu_installed, spawn_qemu, wait_bounded};
use sandbox_opts::qemu::{Difference, MODEL_RELEASES};
use sandbox_opts::release::{QEMU_7_2, QEMU_10_0, QEMU_11_1, QemuRelease, QemuReleases};
use sandbox_opts::{Sandbox, Set, SetSelection};
use seccomp_sets::libseccomp::{ScmpArch, ScmpSyscall};
use seccomp_sets::table::{Arg, Calls, CmpOp, QemuDiffers, QemuGives, Rule, TABLE};
use seccomp_sets::{Arch, Filter};

// ------------------------------------------------------------------ QEMU's own ABI quirks

/// A way QEMU fails on one ABI for a reason outside both the grammar and the filter (a bug of
/// its own there). On that ABI the strings and configurations it covers are set aside by both
/// checks, and every one of them must show it: one that QEMU starts with makes the quirk stale,
/// and the test fails.
struct AbiQuirk {
    /// The ABI QEMU runs on.
    arch: Arch,
    /// Whether it covers a `-sandbox` value (as `parse_like_qemu` reads it).
    covers: fn(&Sandbox) -> bool,
    /// QEMU's message (after `-sandbox STR: `).
    qemu_says: &'static str,
    /// The QEMU releases it holds for.
    releases: QemuReleases,
    /// Why.
    why: &'static str,
}

/// Every quirk, one row each.
const ABI_QUIRKS: &[AbiQuirk] = &[AbiQuirk {
    arch: Arch::Aarch64,
    covers: |s| s.elevate_privileges == sandbox_opts::ElevatePrivileges::Children,
    qemu_says: "failed to set no_new_privs aborting",
    releases: QemuReleases::new(QEMU_7_2, QEMU_11_1),
    why: "for elevateprivileges=children qemu-seccomp.c calls prctl(PR_SET_NO_NEW_PRIVS, 1) \
          with two arguments; the kernel refuses it (EINVAL) unless arguments 3 to 5 are zero, \
          and on aarch64 those registers hold whatever was left in them (on x86-64 they \
          happen to be zero); first seen on Debian 13's QEMU 10.0 in the arm64 guest, where \
          seccomp-sets sets no_new_privs with every argument given",
}];

/// The quirk of QEMU `release` on `arch` that covers the `-sandbox` value `s`, if any.
fn quirk_for(arch: Arch, release: QemuRelease, s: &str) -> Option<&'static AbiQuirk> {
    let sandbox = sandbox_opts::qemu::parse_like_qemu(s).ok()?;
    ABI_QUIRKS
        .iter()
        .find(|q| q.arch == arch && q.releases.contains(release) && (q.covers)(&sandbox))
}

/// Sets aside what a quirk covers: each must show the quirk's message (else it is stale).
/// Returns the observations left, and a summary line when anything was set aside.
fn set_aside_quirks(
    arch: Arch,
    release: QemuRelease,
    version: &str,
    observed: Vec<(String, QemuSays)>,
) -> (Vec<(String, QemuSays)>, Option<String>) {
    let mut kept = Vec::new();
    let mut aside = 0;
    let mut stale = Vec::new();
    let mut why = "";
    for (s, says) in observed {
        let Some(q) = quirk_for(arch, release, &s) else {
            kept.push((s, says));
            continue;
        };
        match &says {
            QemuSays::Rejected(m) if m == q.qemu_says => {
                aside += 1;
                why = q.why;
            }
            other => stale.push(format!("  {s:?}: QEMU {other:?}, not {:?}", q.qemu_says)),
        }
    }
    assert!(
        stale.is_empty(),
        "stale ABI quirks for QEMU {version} on {arch} (ABI_QUIRKS):\n{}",
        stale.join("\n")
    );
    let line = (aside > 0).then(|| {
        format!(
            "QEMU ABI quirk (QEMU {version} on {arch}): {aside} set aside, each refused as \
             declared: {why}"
        )
    });
    (kept, line)
}

// ------------------------------------------------------------------ grammar

/// What QEMU made of an option string.
#[derive(Debug, Clone)]
enum QemuSays {
    Accepted,
    /// Its message, without the `qemu-system-x86_64: -sandbox STR: ` prefix.
    Rejected(String),
}

fn qemu_parse(qemu: &Qemu, s: &str) -> QemuSays {
    let mut child = spawn_qemu(qemu, s);
    // An accepted option reaches the monitor, which quits; a rejected one
    // exits before reading anything (the write may then fail: ignored).
    let _ = child.stdin.take().unwrap().write_all(b"quit\n");
    let mut stderr = String::new();
    let mut stdout = String::new();
    let (mut e, mut o) = (child.stderr.take().unwrap(), child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || {
        let _ = o.read_to_string(&mut stdout);
        stdout
    });
    let _ = e.read_to_string(&mut stderr);
    let status = wait_bounded(&mut child, &format!("-sandbox {s:?}"));
    let stdout = reader.join().unwrap();
    if status.success() {
        assert!(
            stdout.contains("(qemu)"),
            "QEMU exited 0 for -sandbox {s:?} without reaching its monitor: {stdout}{stderr}"
        );
        return QemuSays::Accepted;
    }
    let prefix = format!("-sandbox {s}: ");
    let message = stderr
        .match_indices(&prefix)
        .map(|(i, _)| &stderr[i + prefix.len()..])
        .filter(|rest| !rest.starts_with("warning:"))
        .last()
        .map(|rest| rest.lines().next().unwrap_or("").to_owned())
        // A help request prints the key list on stdout.
        .or_else(|| {
            stdout
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| stderr.trim().to_owned());
    QemuSays::Rejected(message)
}

/// A deterministic xorshift generator for the random part of the corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[usize::try_from(self.next() % from.len() as u64).unwrap()]
    }
}

const FIRSTS: &[&str] = &[
    "on",
    "off",
    "yes",
    "no",
    "true",
    "false",
    "y",
    "n",
    "On",
    "ON",
    "OFF",
    "1",
    "0",
    "",
    "enable=on",
    "enable=off",
    "enable=yes",
    "enable=n",
    "enable=Y",
    "enable=",
    " on",
    "on ",
    "disable",
    "enabled",
];
const KEYS: &[&str] = &[
    "enable",
    "obsolete",
    "elevateprivileges",
    "spawn",
    "resourcecontrol",
    "Spawn",
    "SPAWN",
    "elevatePrivileges",
    "foo",
    "id",
    "",
    " spawn",
];
const VALUES: &[&str] = &[
    "allow", "deny", "children", "on", "off", "yes", "no", "true", "false", "y", "n", "", "Deny",
    "DENY", " deny", "deny ", "de,,ny", "1", "0", "sandbox0", "x-y", "9a",
];
const FLAGS: &[&str] = &[
    "spawn",
    "nospawn",
    "enable",
    "noenable",
    "foo",
    "nofoo",
    "no",
    "noSpawn",
    "help",
    "?",
    "obsolete",
    "noelevateprivileges",
    "id",
    "noid",
];

/// The corpus: every first item; every key with every value after `on` and
/// `off`; every short form; duplicates and punctuation; and random
/// combinations of all of them.
fn corpus() -> Vec<String> {
    let mut c: Vec<String> = FIRSTS.iter().map(|s| (*s).to_owned()).collect();
    for first in ["on", "off"] {
        for key in KEYS {
            for value in VALUES {
                c.push(format!("{first},{key}={value}"));
            }
        }
        for flag in FLAGS {
            c.push(format!("{first},{flag}"));
        }
    }
    c.extend(
        [
            "on,spawn=deny,spawn=allow",
            "on,spawn=allow,spawn=deny",
            "on,spawn=bogus,spawn=deny",
            "on,spawn=deny,spawn=bogus",
            "off,spawn=bogus",
            "enable=on,enable=off",
            "on,enable=off",
            "off,enable=on,spawn=deny",
            "on,obsolete=deny,obsolete=allow,obsolete=deny",
            "on,",
            "on,,",
            "on,,,",
            ",on",
            ",",
            ",,",
            "on,,spawn=deny",
            "on,spawn=deny,",
            "on,spawn=deny,,",
            "on,,,spawn=deny",
            "on, spawn=deny",
            "on,spawn =deny",
            "on,spawn= deny",
            "=on",
            "on,=deny",
            "on,spawn==deny",
            "on,spawn=deny=x",
            "on,spawn=deny,,allow",
            "on\t",
            "on,elevateprivileges=children,spawn=deny,resourcecontrol=deny,obsolete=allow",
            "enable=on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            "on,id=sandbox0",
            "on,id=sandbox0,id=other",
            "id=x,on",
            "help",
            "?",
            "on,help",
            "on,spawn=help",
            "on,spawn=?",
        ]
        .map(str::to_owned),
    );
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let pieces: Vec<String> = KEYS
        .iter()
        .take(5)
        .flat_map(|k| VALUES.iter().take(12).map(move |v| format!("{k}={v}")))
        .chain(FLAGS.iter().take(8).map(|f| (*f).to_owned()))
        .collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    for _ in 0..200 {
        let n = 1 + rng.next() % 4;
        let mut s = rng
            .pick(&["on", "off", "yes", "n", "enable=on", "enable=off"])
            .to_owned();
        for _ in 0..n {
            s.push(',');
            s.push_str(rng.pick(&pieces));
        }
        if rng.next() % 8 == 0 {
            s.push(',');
        }
        c.push(s);
    }
    let mut seen = BTreeSet::new();
    c.retain(|s| seen.insert(s.clone()));
    c
}

/// What the grammar check found on one QEMU release: every string of the corpus is one of
/// agree (the crate's parser says what QEMU says), declared (a row of the differences
/// explains it and holds for this release) or undeclared; a row that holds for this release
/// and never shows is stale.
#[derive(Debug, Default)]
struct GrammarCheck {
    strings: usize,
    agree: usize,
    declared: BTreeMap<&'static str, usize>,
    undeclared: Vec<String>,
    stale: Vec<String>,
    /// Strings where `parse_like_qemu` does not say what QEMU says.
    model_wrong: Vec<String>,
    /// Why the model's statement does not cover this release, if it does not.
    model_unstated: Option<String>,
}

impl GrammarCheck {
    /// Classifies what QEMU `release` said about each string against the declared `rows`.
    fn new(
        release: QemuRelease,
        rows: &[Difference],
        observed: &[(String, QemuSays)],
    ) -> GrammarCheck {
        let mut c = GrammarCheck {
            strings: observed.len(),
            ..GrammarCheck::default()
        };
        let describe = |says: &QemuSays| match says {
            QemuSays::Accepted => "accepts".to_owned(),
            QemuSays::Rejected(m) => format!("rejects: {m}"),
        };
        if !MODEL_RELEASES.contains(release) {
            c.model_unstated = Some(format!(
                "sandbox_opts::qemu::parse_like_qemu is stated for QEMU {MODEL_RELEASES} \
                 (MODEL_RELEASES), not {release}: check it against this release and extend \
                 the statement"
            ));
        }
        for (s, says) in observed {
            // The model of QEMU in sandbox-opts must say exactly what QEMU says.
            let model = sandbox_opts::qemu::parse_like_qemu(s);
            let model_same = match (says, &model) {
                (QemuSays::Accepted, Ok(_)) => true,
                (QemuSays::Rejected(m), Err(e)) => e.message() == m,
                _ => false,
            };
            if !model_same {
                c.model_wrong.push(format!(
                    "  {s:?}: QEMU {}; sandbox_opts::qemu::parse_like_qemu {model:?}",
                    describe(says)
                ));
            }
            // The crate's parser: same verdict and QEMU's words inside its message, or a
            // difference declared for this release.
            let ours = sandbox_opts::parse_with_warnings(s).map(|(sandbox, _)| sandbox);
            let same = match (says, &ours) {
                (QemuSays::Accepted, Ok(_)) => true,
                (QemuSays::Rejected(m), Err(e)) => e.to_string().contains(m.as_str()),
                _ => false,
            };
            if same {
                c.agree += 1;
                continue;
            }
            let row =
                sandbox_opts::qemu::difference(s).and_then(|d| rows.iter().find(|r| r.id == d.id));
            match row {
                Some(r) if r.releases.contains(release) => {
                    *c.declared.entry(r.id).or_default() += 1;
                }
                _ => c.undeclared.push(format!(
                    "  {s:?}: QEMU {}; sandbox-opts {}{}",
                    describe(says),
                    match &ours {
                        Ok(sb) => format!("accepts as {sb}"),
                        Err(e) => format!("rejects: {e}"),
                    },
                    match row {
                        Some(r) => format!(
                            " (row {} is declared for QEMU {}, not {release})",
                            r.id, r.releases
                        ),
                        None => String::new(),
                    }
                )),
            }
        }
        for r in rows {
            if r.releases.contains(release) && !c.declared.contains_key(r.id) {
                c.stale.push(format!(
                    "  {}: declared for QEMU {}, but QEMU {release} never showed it on the \
                     corpus (is the row stale, or the corpus too small?)",
                    r.id, r.releases
                ));
            }
        }
        c
    }

    /// The summary line (the VM suite's guests report it per release).
    fn summary(&self, version: &str) -> String {
        let declared: usize = self.declared.values().sum();
        format!(
            "QEMU conformance (grammar, QEMU {version}): {} strings: {} agree, {declared} \
             declared ({}), {} undeclared, {} stale; parse_like_qemu {} on {} of them",
            self.strings,
            self.agree,
            self.declared
                .iter()
                .map(|(id, n)| format!("{id}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.undeclared.len(),
            self.stale.len(),
            if self.model_unstated.is_some() {
                "is not stated for this release; it matched QEMU"
            } else {
                "matched QEMU word for word"
            },
            self.strings - self.model_wrong.len(),
        )
    }

    /// Everything that fails the check, as one message per kind.
    fn problems(&self, version: &str) -> Vec<String> {
        let mut p = Vec::new();
        if !self.model_wrong.is_empty() {
            p.push(format!(
                "sandbox_opts::qemu::parse_like_qemu is not what QEMU {version} does:\n{}",
                self.model_wrong.join("\n")
            ));
        }
        p.extend(self.model_unstated.clone());
        if !self.undeclared.is_empty() {
            p.push(format!(
                "sandbox-opts and QEMU {version} disagree where no difference is declared for \
                 this release (sandbox_opts::qemu::DIFFERENCES):\n{}",
                self.undeclared.join("\n")
            ));
        }
        if !self.stale.is_empty() {
            p.push(format!(
                "stale declarations for QEMU {version} (sandbox_opts::qemu::DIFFERENCES):\n{}",
                self.stale.join("\n")
            ));
        }
        p
    }
}

/// The release a QEMU version string names, or a failure that says why it cannot be checked.
fn release_of(qemu: &Qemu) -> QemuRelease {
    qemu.version
        .parse()
        .unwrap_or_else(|e| panic!("{}: cannot tell the QEMU release: {e}", qemu.path.display()))
}

#[test]
fn grammar_matches_real_qemu() {
    let qemu = match find_qemu() {
        Ok(q) => q,
        Err(e) => test_support::skip!("{e}"),
    };
    let release = release_of(&qemu);
    let corpus = corpus();
    let next = AtomicUsize::new(0);
    let results: Vec<(usize, QemuSays)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(s) = corpus.get(i) else { break out };
                        out.push((i, qemu_parse(&qemu, s)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut by_index: Vec<Option<QemuSays>> = vec![None; corpus.len()];
    for (i, says) in results {
        by_index[i] = Some(says);
    }
    let observed: Vec<(String, QemuSays)> = corpus
        .iter()
        .cloned()
        .zip(
            by_index
                .into_iter()
                .map(|s| s.expect("every string was run")),
        )
        .collect();
    let (observed, quirk) = set_aside_quirks(Arch::native(), release, &qemu.version, observed);
    let check = GrammarCheck::new(release, sandbox_opts::qemu::DIFFERENCES, &observed);
    eprintln!("{}", check.summary(&qemu.version));
    if let Some(line) = quirk {
        eprintln!("{line} (grammar strings)");
    }
    let problems = check.problems(&qemu.version);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(corpus.len() >= 300, "the corpus shrank to {}", corpus.len());
}

// ------------------------------------------------------------------ filters

/// The verdict of a stack of filters: the most severe action wins, as in the
/// kernel's `seccomp_run_filters` (the enum is ordered by that precedence).
fn verdict(filters: &[Vec<libc::sock_filter>], data: &Data) -> bpf::Run {
    filters
        .iter()
        .map(|f| bpf::run(f, data).unwrap_or_else(|e| panic!("bad program: {}", e.0)))
        .min_by_key(|r| r.verdict)
        .expect("at least one filter")
}

/// The native ABI's calls to evaluate (x86-64, or aarch64 in the arm64 guest): every number
/// with zero arguments, plus the
/// argument cases of every argument-checked row and of QEMU's clone rows.
fn cases() -> Vec<Data> {
    let mut cases: Vec<Data> = (0..600).map(|nr| Data::native(nr, [0; 6])).collect();
    // One call per argument-checked row that all its comparisons let through (prlimit64
    // compares two arguments at once); the loop below adds each comparison's edges alone.
    for rule in TABLE.iter().filter(|r| !r.args.is_empty() && on_native(r)) {
        let mut all = [0u64; 6];
        for cmp in rule.args {
            all[cmp.arg.index(Arch::native()) as usize] = match cmp.op {
                CmpOp::Ne(v) => v ^ 1,
                CmpOp::MaskedEq { value, .. } => value,
            };
        }
        let nr = ScmpSyscall::from_name_by_arch(rule.syscall, ScmpArch::native())
            .unwrap_or_else(|e| panic!("{} on {}: {e}", rule.syscall, Arch::native()));
        cases.push(Data::native(i32::from(nr), all));
    }
    let mut with_arg = |name: &str, index: u32, value: u64| {
        let nr = ScmpSyscall::from_name_by_arch(name, ScmpArch::native())
            .unwrap_or_else(|e| panic!("{name} on {}: {e}", Arch::native()));
        let mut args = [0; 6];
        args[index as usize] = value;
        cases.push(Data::native(i32::from(nr), args));
    };
    for rule in TABLE.iter().filter(|r| !r.args.is_empty() && on_native(r)) {
        for cmp in rule.args {
            let index = cmp.arg.index(Arch::native());
            let values = match cmp.op {
                CmpOp::Ne(v) => vec![v, v ^ 1, u64::MAX],
                CmpOp::MaskedEq { mask, value } => vec![value, value ^ mask, !value, u64::MAX],
            };
            for v in values {
                with_arg(rule.syscall, index, v);
            }
        }
    }
    // A clone flag as the 64-bit argument (through u32: CLONE_IO is negative as an i32).
    let cf = |flag: libc::c_int| u64::from(flag as u32);
    let sigchld = libc::SIGCHLD as u64;
    let glibc_thread = cf(libc::CLONE_VM)
        | 0x200
        | 0x400
        | cf(libc::CLONE_SIGHAND)
        | 0x40000
        | cf(libc::CLONE_THREAD)
        | 0x80000
        | 0x100000
        | 0x200000;
    let go_thread = cf(libc::CLONE_VM)
        | 0x200
        | 0x400
        | cf(libc::CLONE_SIGHAND)
        | 0x40000
        | cf(libc::CLONE_THREAD);
    let flags = [
        0,
        sigchld,
        0x0120_0000 | sigchld,                                // glibc fork
        cf(libc::CLONE_VM) | cf(libc::CLONE_VFORK) | sigchld, // vfork, posix_spawn
        glibc_thread,
        go_thread,
        glibc_thread | cf(libc::CLONE_NEWUSER),
        glibc_thread | cf(libc::CLONE_NEWNS),
        glibc_thread | cf(libc::CLONE_PTRACE),
        glibc_thread | cf(libc::CLONE_VFORK),
        glibc_thread | cf(libc::CLONE_PIDFD),
        cf(libc::CLONE_NEWUSER) | sigchld,
        cf(libc::CLONE_NEWNET) | cf(libc::CLONE_NEWPID) | sigchld,
        cf(libc::CLONE_THREAD),
    ];
    for f in flags {
        with_arg("clone", Arg::CloneFlags.index(Arch::native()), f);
    }
    for policy in 0..8 {
        with_arg("sched_setscheduler", 1, policy);
    }
    with_arg(
        "sched_setscheduler",
        1,
        libc::SCHED_IDLE as u64 | 0x4000_0000,
    ); // SCHED_RESET_ON_FORK
    cases
}

fn name_of(nr: i32) -> String {
    ScmpSyscall::from(nr)
        .get_name_by_arch(ScmpArch::native())
        .unwrap_or_else(|_| format!("#{nr}"))
}

/// What QEMU's verdict is, in the terms of a declaration (`None`: none can declare it).
fn qemu_gives(v: Verdict) -> Option<QemuGives> {
    match v {
        Verdict::Allow => Some(QemuGives::Allow),
        Verdict::KillThread => Some(QemuGives::KillThread),
        Verdict::KillProcess | Verdict::Trap => Some(QemuGives::Kill),
        Verdict::Errno(e) => Some(QemuGives::Errno(i32::from(e))),
        _ => None,
    }
}

/// Whether `rule` has a number on the ABI this test runs on (rows of other ABIs' names cannot
/// show a difference here, so their declarations are not held to this QEMU).
fn on_native(rule: &Rule) -> bool {
    ScmpSyscall::from_name_by_arch(rule.syscall, ScmpArch::native())
        .is_ok_and(|nr| i32::from(nr) >= 0)
}

/// What the filter check found on one QEMU release. Every verdict pair (QEMU's, ours) of every
/// configuration and call is one of: agree; declared (the rows that decide the call declare
/// that QEMU gives this verdict on this release: [`Rule::qemu_differs`]); undeclared. A
/// declaration for this release that no verdict showed is stale.
struct FilterCheck<'r> {
    release: QemuRelease,
    rows: &'r [Rule],
    verdicts: usize,
    agree: usize,
    declared: usize,
    /// Each kind of declared difference, with the configurations it showed in.
    kinds: BTreeMap<String, BTreeSet<String>>,
    undeclared: Vec<String>,
    /// The declarations (row, entry) that a verdict showed.
    shown: BTreeSet<(usize, usize)>,
}

impl<'r> FilterCheck<'r> {
    fn new(release: QemuRelease, rows: &'r [Rule]) -> FilterCheck<'r> {
        FilterCheck {
            release,
            rows,
            verdicts: 0,
            agree: 0,
            declared: 0,
            kinds: BTreeMap::new(),
            undeclared: Vec::new(),
            shown: BTreeSet::new(),
        }
    }

    /// One call (`name`, `data`) under `-sandbox config` (which denies `sets`): QEMU's
    /// verdict and ours.
    fn observe(
        &mut self,
        config: &str,
        sets: SetSelection,
        name: &str,
        data: &Data,
        theirs: Verdict,
        mine: Verdict,
    ) {
        self.verdicts += 1;
        if theirs == mine {
            self.agree += 1;
            return;
        }
        let release = self.release;
        let rows_of_call = || {
            self.rows
                .iter()
                .enumerate()
                .filter(move |(_, r)| r.syscall == name && r.denied_by(sets))
        };
        let matched: Vec<usize> = rows_of_call()
            .filter(|(_, r)| {
                r.args
                    .iter()
                    .all(|c| c.matches(data.args[c.arg.index(Arch::native()) as usize]))
            })
            .map(|(i, _)| i)
            .collect();
        // The rows that decide the call: those that match it; when none does (ours allows
        // what QEMU refuses), those that declare letting such calls through.
        let (deciders, calls): (Vec<usize>, Calls) = if matched.is_empty() {
            (rows_of_call().map(|(i, _)| i).collect(), Calls::LetThrough)
        } else {
            (matched, Calls::Matched)
        };
        let gives = qemu_gives(theirs);
        let mut covering = Vec::new();
        for &i in &deciders {
            for (j, d) in self.rows[i].qemu_differs.iter().enumerate() {
                if d.calls == calls && Some(d.qemu) == gives && d.releases.contains(release) {
                    covering.push((i, j));
                }
            }
        }
        let line = format!("{name}: QEMU {theirs}, ours {mine}");
        if covering.is_empty() {
            let elsewhere: Vec<String> = deciders
                .iter()
                .flat_map(|&i| self.rows[i].qemu_differs)
                .filter(|d| d.calls == calls && Some(d.qemu) == gives)
                .map(|d| d.releases.to_string())
                .collect();
            self.undeclared.push(format!(
                "  -sandbox {config}: {line} (args {:x?}){}",
                data.args,
                if elsewhere.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; declared for QEMU {} only, not {release}",
                        elsewhere.join(", ")
                    )
                }
            ));
        } else {
            self.declared += 1;
            self.shown.extend(covering);
            self.kinds
                .entry(line)
                .or_default()
                .insert(config.to_owned());
        }
    }

    /// The declarations for this release that no verdict showed.
    fn stale(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            if !on_native(r) {
                continue;
            }
            for (j, d) in r.qemu_differs.iter().enumerate() {
                if d.releases.contains(self.release) && !self.shown.contains(&(i, j)) {
                    v.push(format!(
                        "  {} row ({}, {}): declares that QEMU {} gives {} to {} calls, but QEMU \
                         {} never did",
                        r.syscall,
                        r.set,
                        r.provenance.name(),
                        d.releases,
                        d.qemu.name(),
                        match d.calls {
                            Calls::Matched => "its",
                            Calls::LetThrough => "the unmatched",
                        },
                        self.release
                    ));
                }
            }
        }
        v
    }

    fn problems(&self, version: &str) -> Vec<String> {
        let mut p = Vec::new();
        if !self.undeclared.is_empty() {
            let mut u = self.undeclared.clone();
            u.dedup();
            p.push(format!(
                "our filters differ from QEMU {version}'s where the table declares nothing for \
                 this release:\n{}",
                u.join("\n")
            ));
        }
        let stale = self.stale();
        if !stale.is_empty() {
            p.push(format!(
                "stale declarations for QEMU {version} (table rows' qemu_differs):\n{}",
                stale.join("\n")
            ));
        }
        p
    }
}

/// Every `on` configuration: the 24 combinations of the four sets' values.
pub(crate) fn configurations() -> Vec<String> {
    let mut v = Vec::new();
    for o in ["allow", "deny"] {
        for e in ["allow", "deny", "children"] {
            for s in ["allow", "deny"] {
                for r in ["allow", "deny"] {
                    v.push(format!(
                        "on,obsolete={o},elevateprivileges={e},spawn={s},resourcecontrol={r}"
                    ));
                }
            }
        }
    }
    v
}

#[test]
fn installed_filters_match_real_qemu() {
    let qemu = match find_qemu() {
        Ok(q) => q,
        Err(e) => test_support::skip!("{e}"),
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        test_support::skip!("reading QEMU's filter with PTRACE_SECCOMP_GET_FILTER needs root");
    }
    let release = release_of(&qemu);
    let cases = cases();
    let mut check = FilterCheck::new(release, TABLE);
    let mut insns = (0usize, 0usize);
    let mut quirky = Vec::new();
    for config in configurations() {
        if quirk_for(Arch::native(), release, &config).is_some() {
            quirky.push((config.clone(), qemu_parse(&qemu, &config)));
            continue;
        }
        let installed = qemu_installed(&qemu, &config);
        let sandbox: Sandbox = config.parse().unwrap();
        let ours = Filter::new(&sandbox, seccomp_sets::Mode::Enforce).unwrap();
        let ours = vec![bpf::decode(&ours.export_bpf())];
        assert!(
            installed.no_new_privs,
            "QEMU -sandbox {config} runs without no_new_privs"
        );
        assert_eq!(
            installed.filters.len(),
            1,
            "QEMU -sandbox {config}: filters"
        );
        insns.0 += installed.filters[0].len();
        insns.1 += ours[0].len();
        for data in &cases {
            let theirs = verdict(&installed.filters, data).verdict;
            let mine = verdict(&ours, data).verdict;
            check.observe(
                &config,
                sandbox.denied_sets(),
                &name_of(data.nr),
                data,
                theirs,
                mine,
            );
        }
    }
    eprintln!(
        "QEMU conformance (filters, QEMU {}): {} configurations x {} calls = {} verdicts: {} \
         agree, {} declared ({} kinds), {} undeclared, {} stale; no_new_privs on in both; BPF \
         instructions summed: QEMU {}, ours {}",
        qemu.version,
        configurations().len() - quirky.len(),
        cases.len(),
        check.verdicts,
        check.agree,
        check.declared,
        check.kinds.len(),
        check.undeclared.len(),
        check.stale().len(),
        insns.0,
        insns.1,
    );
    for (line, configs) in &check.kinds {
        eprintln!("  declared: {line} (in {} configurations)", configs.len());
    }
    let (_, quirk) = set_aside_quirks(Arch::native(), release, &qemu.version, quirky);
    if let Some(line) = quirk {
        eprintln!("{line} (filter configurations)");
    }
    let problems = check.problems(&qemu.version);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A quirk sets aside only what it covers on its own ABI, and only when QEMU shows it there;
/// a covered string QEMU accepts makes the quirk stale.
#[test]
fn an_abi_quirk_sets_aside_only_what_shows_it() {
    let children = "on,elevateprivileges=children".to_owned();
    let refused = QemuSays::Rejected("failed to set no_new_privs aborting".into());
    let observed = vec![
        (children.clone(), refused),
        ("on,elevateprivileges=deny".to_owned(), QemuSays::Accepted),
    ];
    let (kept, line) = set_aside_quirks(Arch::Aarch64, QEMU_10_0, "10.0.13", observed.clone());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(line.is_some_and(|l| l.contains("1 set aside")));
    let (kept, line) = set_aside_quirks(Arch::X86_64, QEMU_10_0, "10.0.13", observed);
    assert_eq!((kept.len(), line), (2, None));
    let stale = std::panic::catch_unwind(|| {
        set_aside_quirks(
            Arch::Aarch64,
            QEMU_10_0,
            "10.0.13",
            vec![(children, QemuSays::Accepted)],
        )
    });
    assert!(
        stale.is_err(),
        "an accepted covered string is a stale quirk"
    );
}

/// A fabricated stale declaration fails the check, in both halves: a difference row of the
/// grammar declared for a release whose QEMU never shows it, and a table row that claims QEMU
/// 11.1 still kills the thread on execveat where it returns EPERM as we do. The real
/// declarations pass the same observations.
#[test]
fn a_stale_declaration_fails_the_check() {
    use sandbox_opts::qemu::DIFFERENCES;
    // Grammar: a QEMU 11.1 that agrees with this crate on two strings shows none of the
    // rows, which all claim to hold for 11.1: each is stale.
    let observed = vec![
        ("on".to_owned(), QemuSays::Accepted),
        (
            "on,spawn=maybe".to_owned(),
            QemuSays::Rejected("invalid argument for spawn".into()),
        ),
    ];
    let check = GrammarCheck::new(QEMU_11_1, DIFFERENCES, &observed);
    assert_eq!((check.agree, check.undeclared.len()), (2, 0), "{check:?}");
    let problems = check.problems("11.1.3").join("\n");
    assert!(
        problems.contains("stale declarations for QEMU 11.1.3")
            && problems.contains("empty: declared for QEMU 7.2 to 11.1"),
        "{problems}"
    );
    // A row declared for releases that do not include the one checked is not held to it.
    let only_old: Vec<Difference> = DIFFERENCES
        .iter()
        .map(|d| Difference {
            releases: QemuReleases::new(QEMU_7_2, QEMU_7_2),
            ..*d
        })
        .collect();
    let check = GrammarCheck::new(QEMU_11_1, &only_old, &observed);
    assert!(check.problems("11.1.3").is_empty(), "{check:?}");
    // ...and a disagreement its row declares for other releases only is undeclared here.
    let observed = vec![("on,id=sb0".to_owned(), QemuSays::Accepted)];
    let check = GrammarCheck::new(QEMU_11_1, &only_old, &observed);
    assert!(
        check.undeclared[0].contains("row id is declared for QEMU 7.2, not 11.1"),
        "{check:?}"
    );

    // Filters: execveat under spawn=deny, where QEMU 11.1 and we both return EPERM.
    let nr = ScmpSyscall::from_name_by_arch("execveat", ScmpArch::native()).unwrap();
    let data = Data::native(i32::from(nr), [0; 6]);
    let spawn = SetSelection::EMPTY.with(Set::Default).with(Set::Spawn);
    let eperm = Verdict::Errno(libc::EPERM as u16);
    let execveat = |rows: &[Rule]| {
        rows.iter()
            .position(|r| r.syscall == "execveat")
            .expect("execveat is a row")
    };
    const STILL_KILLS_THREAD: &[QemuDiffers] = &[QemuDiffers {
        releases: QemuReleases::new(QEMU_7_2, QEMU_11_1),
        calls: Calls::Matched,
        qemu: QemuGives::KillThread,
    }];
    let mut fabricated: Vec<Rule> = TABLE.to_vec();
    let i = execveat(&fabricated);
    fabricated[i].qemu_differs = STILL_KILLS_THREAD;
    let mut check = FilterCheck::new(QEMU_11_1, &fabricated);
    check.observe("on,spawn=deny", spawn, "execveat", &data, eperm, eperm);
    let stale = check.stale();
    assert!(
        stale.iter().any(|l| l.contains(
            "execveat row (spawn, qemu): declares that QEMU 7.2 to 11.1 gives kill-thread to \
             its calls, but QEMU 11.1 never did"
        )),
        "{stale:#?}"
    );
    assert!(check.problems("11.1.3").iter().any(|p| p.contains("stale")));
    // The real row makes no claim about 11.1...
    let mut check = FilterCheck::new(QEMU_11_1, TABLE);
    check.observe("on,spawn=deny", spawn, "execveat", &data, eperm, eperm);
    assert!(!check.stale().iter().any(|l| l.contains("execveat")));
    // ...so QEMU 11.1 killing the thread would be undeclared there, and declared on 10.0.
    check.observe(
        "on,spawn=deny",
        spawn,
        "execveat",
        &data,
        Verdict::KillThread,
        eperm,
    );
    assert_eq!(check.undeclared.len(), 1, "{:?}", check.undeclared);
    assert!(check.undeclared[0].contains("declared for QEMU 7.2 to 10.0 only, not 11.1"));
    let mut check = FilterCheck::new(QEMU_10_0, TABLE);
    check.observe(
        "on,spawn=deny",
        spawn,
        "execveat",
        &data,
        Verdict::KillThread,
        eperm,
    );
    assert_eq!((check.declared, check.undeclared.len()), (1, 0));
    assert!(!check.stale().iter().any(|l| l.contains("execveat")));
}
