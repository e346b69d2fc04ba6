//! Conformance with the real QEMU binary (Debian's `qemu-system-x86`, which
//! `cargo xtask test` installs): the option grammar and the filters QEMU
//! really installs.
//!
//! * **Grammar**: a generated corpus of several hundred `-sandbox` strings goes
//!   through `qemu-system-x86_64 -sandbox STR -machine none ...` and through
//!   `sandbox-opts`. Accept/reject must agree and QEMU's message must appear
//!   inside ours; every disagreement must be one that
//!   [`sandbox_opts::qemu::DIFFERENCES`] declares.
//! * **Filters**: QEMU is started paused with every `on` configuration, the
//!   filter it installed is read with `PTRACE_SECCOMP_GET_FILTER` (root), and
//!   both programs are run by a BPF interpreter for every x86-64 syscall
//!   number and for the argument cases of the table (clone flags, scheduling
//!   policies). Every difference must be one the table declares: a row of that
//!   syscall that is not plain QEMU (`changed` or `added`, with its note).
//!   no_new_privs must be on in both.
//!
//! Each test prints one summary line. Without QEMU (or, for the filters,
//! without root) they skip loudly; `HARDEN_TEST_STRICT=1` makes that a
//! failure. `HARDEN_QEMU=/path/to/qemu-system-x86_64` picks another binary
//! (for example an unpacked older release).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bpf::{self, Data};
use crate::qemu::{Qemu, find_qemu, qemu_installed, spawn_qemu, wait_bounded};
use sandbox_opts::Sandbox;
use seccomp_sets::libseccomp::{ScmpArch, ScmpSyscall};
use seccomp_sets::table::{Arg, CmpOp, Provenance, TABLE};
use seccomp_sets::{Arch, Filter};

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

#[test]
fn grammar_matches_real_qemu() {
    let qemu = match find_qemu() {
        Ok(q) => q,
        Err(e) => test_support::skip!("{e}"),
    };
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

    let mut agree = 0;
    let mut differences: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut model_wrong = Vec::new();
    let mut undeclared = Vec::new();
    let describe = |says: &QemuSays| match says {
        QemuSays::Accepted => "accepts".to_owned(),
        QemuSays::Rejected(m) => format!("rejects: {m}"),
    };
    for (s, says) in corpus.iter().zip(by_index) {
        let says = says.expect("every string was run");
        // The model of QEMU in sandbox-opts must say exactly what QEMU says.
        let model = sandbox_opts::qemu::parse_like_qemu(s);
        let model_same = match (&says, &model) {
            (QemuSays::Accepted, Ok(_)) => true,
            (QemuSays::Rejected(m), Err(e)) => e.message() == m,
            _ => false,
        };
        if !model_same {
            model_wrong.push(format!(
                "  {s:?}: QEMU {}; sandbox_opts::qemu::parse_like_qemu {model:?}",
                describe(&says)
            ));
        }
        // The crate's parser: same verdict and QEMU's words inside its
        // message, or a declared difference.
        let ours = sandbox_opts::parse_with_warnings(s).map(|(sandbox, _)| sandbox);
        let same = match (&says, &ours) {
            (QemuSays::Accepted, Ok(_)) => true,
            (QemuSays::Rejected(m), Err(e)) => e.to_string().contains(m.as_str()),
            _ => false,
        };
        if same {
            agree += 1;
        } else if let Some(d) = sandbox_opts::qemu::difference(s) {
            differences.entry(d.id).or_default().push(s.clone());
        } else {
            undeclared.push(format!(
                "  {s:?}: QEMU {}; sandbox-opts {}",
                describe(&says),
                match &ours {
                    Ok(sb) => format!("accepts as {sb}"),
                    Err(e) => format!("rejects: {e}"),
                }
            ));
        }
    }
    let declared_count: usize = differences.values().map(Vec::len).sum();
    eprintln!(
        "QEMU conformance (grammar, QEMU {}): {} strings: {agree} agree, {declared_count} \
         declared differences ({}), {} undeclared",
        qemu.version,
        corpus.len(),
        differences
            .iter()
            .map(|(id, v)| format!("{id}: {}", v.len()))
            .collect::<Vec<_>>()
            .join(", "),
        undeclared.len()
    );
    assert!(
        model_wrong.is_empty(),
        "sandbox_opts::qemu::parse_like_qemu is not what QEMU {} does:\n{}",
        qemu.version,
        model_wrong.join("\n")
    );
    for d in sandbox_opts::qemu::DIFFERENCES {
        assert!(
            differences.contains_key(d.id),
            "the corpus never shows the declared difference {:?}: the table is stale or the corpus \
             too small",
            d.id
        );
    }
    assert!(
        undeclared.is_empty(),
        "sandbox-opts and QEMU {} disagree where no difference is declared \
         (sandbox_opts::qemu::DIFFERENCES):\n{}",
        qemu.version,
        undeclared.join("\n")
    );
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

/// The x86-64 calls to evaluate: every number with zero arguments, plus the
/// argument cases of every argument-checked row and of QEMU's clone rows.
fn cases() -> Vec<Data> {
    let mut cases: Vec<Data> = (0..600).map(|nr| Data::x86_64(nr, [0; 6])).collect();
    let mut with_arg = |name: &str, index: u32, value: u64| {
        let nr = ScmpSyscall::from_name_by_arch(name, ScmpArch::X8664)
            .unwrap_or_else(|e| panic!("{name} on x86-64: {e}"));
        let mut args = [0; 6];
        args[index as usize] = value;
        cases.push(Data::x86_64(i32::from(nr), args));
    };
    for rule in TABLE.iter().filter(|r| !r.args.is_empty()) {
        for cmp in rule.args {
            let index = cmp.arg.index(Arch::X86_64);
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
        with_arg("clone", Arg::CloneFlags.index(Arch::X86_64), f);
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
        .get_name_by_arch(ScmpArch::X8664)
        .unwrap_or_else(|_| format!("#{nr}"))
}

/// Whether the table declares that we differ from QEMU on this call: a row of
/// the syscall that is `changed` or `added`.
fn table_declares(name: &str) -> bool {
    TABLE
        .iter()
        .any(|r| r.syscall == name && r.provenance != Provenance::Qemu)
}

fn configurations() -> Vec<String> {
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
    let cases = cases();
    let mut compared = 0usize;
    let mut differ: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut undeclared = Vec::new();
    let mut insns = (0usize, 0usize);
    for config in configurations() {
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
            compared += 1;
            let theirs = verdict(&installed.filters, data).verdict;
            let mine = verdict(&ours, data).verdict;
            if theirs == mine {
                continue;
            }
            let name = name_of(data.nr);
            let line = format!("{name}: QEMU {theirs}, ours {mine}");
            if table_declares(&name) {
                differ.entry(line).or_default().insert(config.clone());
            } else {
                undeclared.push(format!(
                    "  -sandbox {config}: {line} (args {:x?})",
                    data.args
                ));
            }
        }
    }
    eprintln!(
        "QEMU conformance (filters, QEMU {}): {} configurations x {} calls = {compared} verdicts; \
         {} kinds of difference, all declared by the table; no_new_privs on in both; \
         BPF instructions summed: QEMU {}, ours {}",
        qemu.version,
        configurations().len(),
        cases.len(),
        differ.len(),
        insns.0,
        insns.1,
    );
    for (line, configs) in &differ {
        eprintln!("  declared: {line} (in {} configurations)", configs.len());
    }
    undeclared.dedup();
    assert!(
        undeclared.is_empty(),
        "our filters differ from QEMU {}'s where the table declares nothing:\n{}",
        qemu.version,
        undeclared.join("\n")
    );
}
