//! Per-syscall cost of the filter, and its size, against two baselines built
//! in the same run: a filter that allows everything (the floor) and QEMU's own
//! `denylist[]` rebuilt with libseccomp the way `seccomp_start` builds it.
//!
//! A filter cannot be removed, so every measurement runs in a child process
//! (this binary re-executed as `filter child <variant>`); the parent
//! interleaves the variants over several rounds and prints medians.
//!
//! QEMU's filter is the one a real `qemu-system-x86_64` installs for the same
//! option string, read from the running QEMU with `PTRACE_SECCOMP_GET_FILTER`
//! (root); without root or QEMU the bench says so and falls back to QEMU's
//! table rebuilt from its source.
//!
//! Figures:
//! * `getppid`: a constant-allow call (the kernel's seccomp action cache
//!   skips the BPF program); goal ratio ours/floor <= 1.01.
//! * `sched_setscheduler(-1, SCHED_IDLE)`: allowed only after the argument
//!   check (the kernel then fails it with EINVAL, nothing changes); goal:
//!   ours no slower than QEMU's table.
//! * BPF instruction count with every set denied, ours versus QEMU's, and
//!   the instructions each probe executes (BPF interpreter): `getppid`,
//!   `sched_setscheduler(SCHED_IDLE)`, and `clone` with glibc's and Go's
//!   thread flags (no timing for clone: a real thread costs microseconds and
//!   every cheap failing flag combination is one QEMU kills).

#[path = "../tests/common/bpf.rs"]
mod bpf;
#[path = "../tests/common/qemu.rs"]
mod qemu;

use std::process::Command;
use std::time::Instant;

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use seccomp_sets::{Filter, Mode, Sandbox};

const ALL_SETS: &str = "on,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";
const ITERS: u32 = 200_000;
const ROUNDS: usize = 7;
const VARIANTS: [&str; 3] = ["floor", "qemu", "ours"];

/// QEMU's table as `seccomp_start` builds it (all sets), kill actions as
/// `qemu_seccomp_update_action` makes them.
fn qemu_context() -> ScmpFilterContext {
    const CLONE_FLAGS_ARG: u32 = 0;
    let trap = ScmpAction::KillProcess; // TRAP upgraded when the kernel has it
    let eperm = ScmpAction::Errno(libc::EPERM);
    let unset = ScmpAction::KillThread; // C's 0 for rows without an action
    let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).unwrap();
    ctx.set_ctl_tsync(true).unwrap();
    let plain: &[(&str, ScmpAction)] = &[
        ("reboot", trap),
        ("swapon", trap),
        ("swapoff", trap),
        ("syslog", trap),
        ("mount", trap),
        ("umount", trap),
        ("kexec_load", trap),
        ("afs_syscall", trap),
        ("break", trap),
        ("ftime", trap),
        ("getpmsg", trap),
        ("gtty", trap),
        ("lock", trap),
        ("mpx", trap),
        ("prof", trap),
        ("profil", trap),
        ("putpmsg", trap),
        ("security", trap),
        ("stty", trap),
        ("tuxcall", trap),
        ("ulimit", trap),
        ("vserver", trap),
        ("readdir", trap),
        ("_sysctl", trap),
        ("bdflush", trap),
        ("create_module", trap),
        ("get_kernel_syms", trap),
        ("query_module", trap),
        ("sgetmask", trap),
        ("ssetmask", trap),
        ("sysfs", trap),
        ("uselib", trap),
        ("ustat", trap),
        ("setuid", trap),
        ("setgid", trap),
        ("setpgid", trap),
        ("setsid", trap),
        ("setreuid", trap),
        ("setregid", trap),
        ("setresuid", trap),
        ("setresgid", trap),
        ("setfsuid", trap),
        ("setfsgid", trap),
        ("fork", trap),
        ("vfork", trap),
        ("execve", trap),
    ];
    let add = |ctx: &mut ScmpFilterContext, name: &str, action, cmps: &[ScmpArgCompare]| {
        let sys = ScmpSyscall::from_name(name).unwrap();
        // Names this ABI lacks resolve to negative pseudo numbers, which
        // libseccomp drops, as in QEMU.
        let _ = if cmps.is_empty() {
            ctx.add_rule(action, sys)
        } else {
            ctx.add_rule_conditional(action, sys, cmps)
        };
    };
    for (name, action) in plain {
        add(&mut ctx, name, *action, &[]);
    }
    let masked = |mask: u64, value: u64| {
        [ScmpArgCompare::new(
            CLONE_FLAGS_ARG,
            ScmpCompareOp::MaskedEqual(mask),
            value,
        )]
    };
    add(&mut ctx, "clone", trap, &masked(!0xff, 0)); // no flags but CSIGNAL
    for required in [
        0x100, 0x200, 0x400, 0x800, 0x10000, 0x40000, 0x80000, 0x100000, 0x200000,
    ] {
        add(&mut ctx, "clone", trap, &masked(required, 0));
    }
    for forbidden in [
        0x1000u64, 0x2000, 0x4000, 0x8000, 0x20000, 0x800000, 0x2000000, 0x4000000, 0x8000000,
        0x10000000, 0x20000000, 0x40000000, 0x80000000,
    ] {
        add(&mut ctx, "clone", trap, &masked(forbidden, forbidden));
    }
    add(&mut ctx, "clone3", ScmpAction::Errno(libc::ENOSYS), &[]);
    add(&mut ctx, "execveat", unset, &[]);
    add(&mut ctx, "setns", unset, &[]);
    add(&mut ctx, "unshare", unset, &[]);
    add(&mut ctx, "setpriority", eperm, &[]);
    add(&mut ctx, "sched_setparam", eperm, &[]);
    add(
        &mut ctx,
        "sched_setscheduler",
        eperm,
        &[ScmpArgCompare::new(
            1,
            ScmpCompareOp::NotEqual,
            libc::SCHED_IDLE as u64,
        )],
    );
    add(&mut ctx, "sched_setaffinity", eperm, &[]);
    ctx
}

/// Where the parent leaves the filter read from QEMU for the children.
const QEMU_BPF_ENV: &str = "SECCOMP_SETS_BENCH_QEMU_BPF";

fn export(ctx: &ScmpFilterContext) -> Vec<u8> {
    let dir = test_support::TempDir::new("seccomp-sets-bench");
    let path = dir.join("filter.bpf");
    let file = std::fs::File::create(&path).unwrap();
    ctx.export_bpf(&file).unwrap();
    drop(file);
    std::fs::read(&path).unwrap()
}

fn encode(prog: &[libc::sock_filter]) -> Vec<u8> {
    prog.iter()
        .flat_map(|i| {
            let mut b = Vec::with_capacity(8);
            b.extend_from_slice(&i.code.to_ne_bytes());
            b.extend_from_slice(&[i.jt, i.jf]);
            b.extend_from_slice(&i.k.to_ne_bytes());
            b
        })
        .collect()
}

/// QEMU's program for [`ALL_SETS`]: read from a running QEMU when possible.
fn qemu_program() -> (Vec<u8>, String) {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    match qemu::find_qemu() {
        Ok(q) if root => {
            let installed = qemu::qemu_installed(&q, ALL_SETS);
            assert_eq!(installed.filters.len(), 1, "QEMU installed one filter");
            (
                encode(&installed.filters[0]),
                format!("QEMU {} (its installed filter)", q.version),
            )
        }
        found => {
            let why = match found {
                Ok(_) => "not root".to_owned(),
                Err(e) => e,
            };
            eprintln!(
                "seccomp-sets bench: cannot read the filter a real QEMU installs ({why}); \
                 using QEMU's table rebuilt from its 9.x source"
            );
            (
                export(&qemu_context()),
                "QEMU 9.x (table rebuilt from source)".to_owned(),
            )
        }
    }
}

fn ns_per_call(mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..ITERS {
            f();
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(ITERS));
    }
    best
}

fn child(variant: &str) {
    let sandbox: Sandbox = ALL_SETS.parse().unwrap();
    match variant {
        "floor" => {
            let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).unwrap();
            // A rule is needed for a non-trivial program; pick an
            // unimplemented call nobody makes.
            ctx.add_rule(
                ScmpAction::Errno(libc::ENOSYS),
                ScmpSyscall::from_name("vserver").unwrap(),
            )
            .unwrap();
            ctx.load().unwrap();
        }
        "qemu" => match std::env::var_os(QEMU_BPF_ENV) {
            Some(path) => bpf::load(&std::fs::read(path).unwrap()),
            None => qemu_context().load().unwrap(),
        },
        "ours" => {
            Filter::new(&sandbox, Mode::Enforce)
                .unwrap()
                .load()
                .unwrap();
        }
        other => panic!("unknown variant {other}"),
    }
    let getppid = ns_per_call(|| {
        // SAFETY: getppid takes no arguments.
        unsafe { libc::syscall(libc::SYS_getppid) };
    });
    let param = libc::sched_param { sched_priority: 0 };
    let sched = ns_per_call(|| {
        // SAFETY: pid -1 is invalid, so the kernel returns EINVAL after the
        // filter allowed the SCHED_IDLE argument; nothing is changed.
        unsafe { libc::syscall(libc::SYS_sched_setscheduler, -1, libc::SCHED_IDLE, &param) };
    });
    println!("{getppid} {sched}");
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(&args[2]);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let (qemu_bpf, qemu_label) = qemu_program();
    let dir = test_support::TempDir::new("seccomp-sets-qemu");
    let qemu_path = dir.join("qemu.bpf");
    std::fs::write(&qemu_path, &qemu_bpf).unwrap();
    let mut getppid = [Vec::new(), Vec::new(), Vec::new()];
    let mut sched = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (i, v) in VARIANTS.iter().enumerate() {
            let out = Command::new(&exe)
                .args(["child", v])
                .env(QEMU_BPF_ENV, &qemu_path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{v}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let mut it = text.split_whitespace().map(|x| x.parse::<f64>().unwrap());
            getppid[i].push(it.next().unwrap());
            sched[i].push(it.next().unwrap());
        }
    }
    // Ratios per round (variants ran back to back), then the median: robust
    // against load that drifts between rounds.
    let ratio = |a: &[f64], b: &[f64]| {
        let mut r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        median(&mut r)
    };
    let g_ratio = ratio(&getppid[2], &getppid[0]);
    let s_ratio = ratio(&sched[2], &sched[1]);
    let g: Vec<f64> = getppid.iter_mut().map(|v| median(v)).collect();
    let s: Vec<f64> = sched.iter_mut().map(|v| median(v)).collect();
    println!(
        "seccomp-sets/getppid (cached constant allow): floor {:.1} ns/call, qemu {:.1} ns/call, \
         ours {:.1} ns/call, median per-round ratio ours/floor {:.3} (goal <= 1.01)",
        g[0], g[1], g[2], g_ratio
    );
    println!(
        "seccomp-sets/sched_setscheduler(SCHED_IDLE) (argument-checked): floor {:.1} ns/call, \
         qemu {:.1} ns/call, ours {:.1} ns/call, median per-round ratio ours/qemu {:.3} (goal <= 1.00)",
        s[0], s[1], s[2], s_ratio
    );
    println!("seccomp-sets/qemu: {qemu_label}");
    let sandbox: Sandbox = ALL_SETS.parse().unwrap();
    let ours = bpf::decode(&Filter::new(&sandbox, Mode::Enforce).unwrap().export_bpf());
    let qemu = bpf::decode(&qemu_bpf);
    println!(
        "seccomp-sets/bpf-instructions (all sets): ours {}, qemu {}, ratio {:.3}",
        ours.len(),
        qemu.len(),
        ours.len() as f64 / qemu.len() as f64
    );
    let nr = |name: &str| i32::from(ScmpSyscall::from_name(name).unwrap());
    let glibc_thread = 0x003d_0f00;
    let go_thread = 0x0005_0f00;
    let probes = [
        ("getppid", nr("getppid"), [0; 6]),
        (
            "sched_setscheduler(SCHED_IDLE)",
            nr("sched_setscheduler"),
            [u64::MAX, libc::SCHED_IDLE as u64, 0, 0, 0, 0],
        ),
        (
            "clone(glibc thread)",
            nr("clone"),
            [glibc_thread, 0, 0, 0, 0, 0],
        ),
        ("clone(Go thread)", nr("clone"), [go_thread, 0, 0, 0, 0, 0]),
    ];
    for (what, nr, args) in probes {
        let data = bpf::Data::x86_64(nr, args);
        let mine = bpf::run(&ours, &data).unwrap();
        let theirs = bpf::run(&qemu, &data).unwrap();
        println!(
            "seccomp-sets/executed-instructions {what}: ours {} ({}), qemu {} ({})",
            mine.executed, mine.verdict, theirs.executed, theirs.verdict
        );
    }
}
