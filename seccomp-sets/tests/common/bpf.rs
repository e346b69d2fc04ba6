//! A classic-BPF interpreter for seccomp programs, for tests and benches that
//! compare filters by their verdicts (ours, and the one a real QEMU installed)
//! and count the instructions a call executes.
//!
//! It runs a program over `struct seccomp_data` exactly as the kernel's
//! `seccomp_run_filters` does for one filter, and refuses what the kernel's
//! `seccomp_check_filter` would refuse (loads outside `seccomp_data`,
//! out-of-range jumps, missing return) with an error instead of a guess.

#![allow(dead_code)]

use std::fmt;

/// `AUDIT_ARCH_X86_64`.
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_AARCH64`.
pub(crate) const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// The `AUDIT_ARCH_` of the ABI these tests run on (the filters under test are its own).
#[cfg(target_arch = "aarch64")]
pub(crate) const AUDIT_ARCH_NATIVE: u32 = AUDIT_ARCH_AARCH64;
/// The `AUDIT_ARCH_` of the ABI these tests run on (the filters under test are its own).
#[cfg(not(target_arch = "aarch64"))]
pub(crate) const AUDIT_ARCH_NATIVE: u32 = AUDIT_ARCH_X86_64;

/// The input of one seccomp evaluation (`struct seccomp_data`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Data {
    pub nr: i32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    /// A native x86-64 call with these arguments.
    pub(crate) fn x86_64(nr: i32, args: [u64; 6]) -> Data {
        Data {
            nr,
            arch: AUDIT_ARCH_X86_64,
            ip: 0,
            args,
        }
    }

    /// A call of the ABI these tests run on (x86-64 or aarch64) with these arguments.
    pub(crate) fn native(nr: i32, args: [u64; 6]) -> Data {
        Data {
            nr,
            arch: AUDIT_ARCH_NATIVE,
            ip: 0,
            args,
        }
    }

    /// The 32-bit word at byte offset `off` of `struct seccomp_data`.
    fn word(&self, off: u32) -> Option<u32> {
        let mut bytes = [0u8; 64];
        bytes[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        bytes[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        bytes[8..16].copy_from_slice(&self.ip.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let off = usize::try_from(off).ok()?;
        if off % 4 != 0 || off + 4 > bytes.len() {
            return None;
        }
        Some(u32::from_ne_bytes(bytes[off..off + 4].try_into().ok()?))
    }
}

/// What the filter decided, by class (the kernel's `SECCOMP_RET_ACTION_FULL`
/// plus the errno for `ERRNO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Verdict {
    KillProcess,
    KillThread,
    Trap,
    Errno(u16),
    UserNotif,
    Trace,
    Log,
    Allow,
}

impl Verdict {
    /// Decodes a seccomp return value.
    pub(crate) fn from_ret(ret: u32) -> Verdict {
        match ret & 0xffff_0000 {
            0x8000_0000 => Verdict::KillProcess,
            0x0003_0000 => Verdict::Trap,
            0x0005_0000 => Verdict::Errno((ret & 0xffff) as u16),
            0x7fc0_0000 => Verdict::UserNotif,
            0x7ff0_0000 => Verdict::Trace,
            0x7ffc_0000 => Verdict::Log,
            0x7fff_0000 => Verdict::Allow,
            // SECCOMP_RET_KILL_THREAD is 0; the kernel treats every unknown
            // action as KILL_PROCESS, but none of our filters produce one.
            _ if ret & 0xffff_0000 == 0 => Verdict::KillThread,
            _ => Verdict::KillProcess,
        }
    }

    /// Whether the call is refused with the process (or thread) gone.
    pub(crate) fn kills(self) -> bool {
        matches!(
            self,
            Verdict::KillProcess | Verdict::KillThread | Verdict::Trap
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::KillProcess => f.write_str("KILL_PROCESS"),
            Verdict::KillThread => f.write_str("KILL_THREAD"),
            Verdict::Trap => f.write_str("TRAP"),
            Verdict::Errno(e) => write!(f, "ERRNO({})", errno_name(*e)),
            Verdict::UserNotif => f.write_str("USER_NOTIF"),
            Verdict::Trace => f.write_str("TRACE"),
            Verdict::Log => f.write_str("LOG"),
            Verdict::Allow => f.write_str("ALLOW"),
        }
    }
}

fn errno_name(e: u16) -> String {
    match i32::from(e) {
        libc::EPERM => "EPERM".to_owned(),
        libc::ENOSYS => "ENOSYS".to_owned(),
        libc::EACCES => "EACCES".to_owned(),
        other => other.to_string(),
    }
}

/// A program the interpreter refuses, with the instruction index.
#[derive(Debug)]
pub(crate) struct BadProgram(pub String);

/// The result of one run: the verdict and how many instructions ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub verdict: Verdict,
    pub executed: usize,
}

/// Decodes `struct sock_filter[]` in native byte order.
pub(crate) fn decode(bpf: &[u8]) -> Vec<libc::sock_filter> {
    bpf.chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// The inverse of [`decode`]: a program as raw BPF (`struct sock_filter[]`, native byte
/// order), the form `seccomp_export_bpf` writes.
pub(crate) fn encode(program: &[libc::sock_filter]) -> Vec<u8> {
    program
        .iter()
        .flat_map(|i| {
            let mut b = Vec::with_capacity(8);
            b.extend_from_slice(&i.code.to_ne_bytes());
            b.push(i.jt);
            b.push(i.jf);
            b.extend_from_slice(&i.k.to_ne_bytes());
            b
        })
        .collect()
}

/// Loads raw BPF (`struct sock_filter[]`, native byte order) with plain
/// `prctl(PR_SET_NO_NEW_PRIVS)` and `prctl(PR_SET_SECCOMP)`, bypassing libseccomp and our
/// loader: what any consumer of a BPF export does. Panics on failure (test and bench children
/// only).
pub(crate) fn load(bpf: &[u8]) {
    let mut insns = decode(bpf);
    let prog = libc::sock_fprog {
        len: u16::try_from(insns.len()).expect("at most 65535 instructions"),
        filter: insns.as_mut_ptr(),
    };
    // SAFETY: integer-only prctl.
    let nnp = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(
        nnp,
        0,
        "PR_SET_NO_NEW_PRIVS: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `prog` points to `len` valid instructions alive for the call.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
            0,
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "prctl(PR_SET_SECCOMP): {}",
        std::io::Error::last_os_error()
    );
}

// Classic BPF opcode fields (linux/bpf_common.h).
const CLASS: u16 = 0x07;
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const MODE: u16 = 0xe0;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const SRC_X: u16 = 0x08;
const SIZE: u16 = 0x18;
const W: u16 = 0x00;

/// Runs `prog` over `data`.
pub(crate) fn run(prog: &[libc::sock_filter], data: &Data) -> Result<Run, BadProgram> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let mut executed = 0usize;
    let bad = |pc: usize, what: &str| BadProgram(format!("instruction {pc}: {what}"));
    loop {
        let Some(insn) = prog.get(pc) else {
            return Err(bad(pc, "ran past the end without a return"));
        };
        executed += 1;
        let code = insn.code;
        let k = insn.k;
        let slot = |k: u32| usize::try_from(k).ok().filter(|&i| i < 16);
        match code & CLASS {
            LD => {
                a = match code & MODE {
                    ABS if code & SIZE == W => data
                        .word(k)
                        .ok_or_else(|| bad(pc, "load outside seccomp_data"))?,
                    IMM => k,
                    MEM => mem[slot(k).ok_or_else(|| bad(pc, "bad scratch slot"))?],
                    LEN => 64,
                    _ => return Err(bad(pc, "unsupported load")),
                };
            }
            LDX => {
                x = match code & MODE {
                    IMM => k,
                    MEM => mem[slot(k).ok_or_else(|| bad(pc, "bad scratch slot"))?],
                    LEN => 64,
                    _ => return Err(bad(pc, "unsupported load into X")),
                };
            }
            ST => mem[slot(k).ok_or_else(|| bad(pc, "bad scratch slot"))?] = a,
            STX => mem[slot(k).ok_or_else(|| bad(pc, "bad scratch slot"))?] = x,
            ALU => {
                let operand = if code & SRC_X != 0 { x } else { k };
                a = match code & 0xf0 {
                    0x00 => a.wrapping_add(operand),
                    0x10 => a.wrapping_sub(operand),
                    0x20 => a.wrapping_mul(operand),
                    0x30 => a
                        .checked_div(operand)
                        .ok_or_else(|| bad(pc, "division by zero"))?,
                    0x40 => a | operand,
                    0x50 => a & operand,
                    0x60 => a.checked_shl(operand).unwrap_or(0),
                    0x70 => a.checked_shr(operand).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a
                        .checked_rem(operand)
                        .ok_or_else(|| bad(pc, "division by zero"))?,
                    0xa0 => a ^ operand,
                    _ => return Err(bad(pc, "unsupported ALU operation")),
                };
            }
            JMP => {
                let operand = if code & SRC_X != 0 { x } else { k };
                let next = pc + 1;
                pc = match code & 0xf0 {
                    0x00 => next + k as usize,
                    op => {
                        let taken = match op {
                            0x10 => a == operand,
                            0x20 => a > operand,
                            0x30 => a >= operand,
                            0x40 => a & operand != 0,
                            _ => return Err(bad(pc, "unsupported jump")),
                        };
                        next + usize::from(if taken { insn.jt } else { insn.jf })
                    }
                };
                continue;
            }
            RET => {
                let ret = match code & 0x18 {
                    0x00 => k,
                    0x10 => a,
                    _ => return Err(bad(pc, "unsupported return")),
                };
                return Ok(Run {
                    verdict: Verdict::from_ret(ret),
                    executed,
                });
            }
            MISC => {
                if code & 0xf8 == 0 {
                    x = a; // TAX
                } else {
                    a = x; // TXA
                }
            }
            _ => unreachable!("CLASS has 3 bits"),
        }
        pc += 1;
    }
}
