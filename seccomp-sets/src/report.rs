//! [`crate::Mode::Report`]: a SIGSYS handler that names the blocked call.
//!
//! Blocked calls TRAP; the handler writes one line such as
//!
//! ```text
//! seccomp-sets: blocked system call reboot (169) on x86_64 [report mode]; dying with SIGSYS
//! ```
//!
//! to stderr, restores the default SIGSYS disposition and re-raises SIGSYS, so
//! the process still dies the way [`crate::Mode::Enforce`] kills it.
//!
//! The handler is async-signal-safe: the syscall name tables are built
//! *before* it is installed (through libseccomp, for the native ABI and the
//! foreign ABIs the kernel also accepts, whose calls the bad-arch action
//! traps), and the handler only reads them, formats into a stack buffer and
//! calls `write(2)`, `sigaction(2)`, `sigprocmask(2)` and `raise(3)`.
#![allow(unsafe_code)]

use std::sync::OnceLock;

use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};

use crate::{Arch, Error};

/// Highest syscall number (without the x32 bit) we keep names for.
const MAX_NR: i32 = 1024;
/// x32 syscall numbers carry this bit.
const X32_BIT: i32 = 0x4000_0000;
/// `si_code` for SIGSYS raised by seccomp.
const SYS_SECCOMP: libc::c_int = 1;

struct ArchNames {
    arch: Arch,
    names: Vec<String>,
}

static NAMES: OnceLock<Vec<ArchNames>> = OnceLock::new();

/// ABIs whose calls can reach a filter on `native`.
pub(crate) fn reachable_arches(native: Arch) -> &'static [Arch] {
    match native {
        Arch::X86_64 => &[Arch::X86_64, Arch::X86, Arch::X32],
        Arch::Aarch64 => &[Arch::Aarch64, Arch::Arm],
        Arch::X86 => &[Arch::X86],
        Arch::X32 => &[Arch::X32, Arch::X86_64, Arch::X86],
        Arch::Arm => &[Arch::Arm],
        Arch::Riscv64 => &[Arch::Riscv64],
        Arch::S390x => &[Arch::S390x],
        Arch::Ppc64le => &[Arch::Ppc64le],
    }
}

fn build_names() -> Vec<ArchNames> {
    reachable_arches(Arch::native())
        .iter()
        .map(|&arch| {
            let bit = if arch == Arch::X32 { X32_BIT } else { 0 };
            let names = (0..MAX_NR)
                .map(|nr| {
                    libseccomp::ScmpSyscall::from_raw_syscall(nr | bit)
                        .get_name_by_arch(arch.scmp())
                        .unwrap_or_default()
                })
                .collect();
            ArchNames { arch, names }
        })
        .collect()
}

/// The name of syscall `nr` as reported in `si_syscall`/`si_arch`.
fn lookup(names: &[ArchNames], audit_arch: u32, nr: i32) -> Option<(&'static str, &str)> {
    let x32 = audit_arch == Arch::X86_64.audit_arch() && nr & X32_BIT != 0;
    let entry = names
        .iter()
        .find(|a| a.arch.audit_arch() == audit_arch && (a.arch == Arch::X32) == x32)?;
    let idx = usize::try_from(nr & !X32_BIT).ok()?;
    let name = entry.names.get(idx).filter(|n| !n.is_empty())?;
    Some((entry.arch.name(), name.as_str()))
}

/// A fixed-size, allocation-free message buffer.
struct Msg {
    buf: [u8; 256],
    len: usize,
}

impl Msg {
    const fn new() -> Msg {
        Msg {
            buf: [0; 256],
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.buf.len() - self.len;
        let n = bytes.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn push_num(&mut self, mut v: u64, radix: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b"0123456789abcdef"[(v % radix) as usize];
            v /= radix;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// Formats the report line for a trapped call (pure, so it is unit-tested).
fn format(names: &[ArchNames], code: libc::c_int, nr: i32, audit_arch: u32) -> Msg {
    let mut m = Msg::new();
    if code != SYS_SECCOMP {
        m.push(b"seccomp-sets: SIGSYS that seccomp did not raise; dying with SIGSYS\n");
        return m;
    }
    m.push(b"seccomp-sets: blocked system call ");
    match lookup(names, audit_arch, nr) {
        Some((arch, name)) => {
            m.push(name.as_bytes());
            m.push(b" (");
            m.push_num(u64::from(nr as u32), 10);
            m.push(b") on ");
            m.push(arch.as_bytes());
        }
        None => {
            m.push(b"number ");
            m.push_num(u64::from(nr as u32), 10);
            m.push(b" on audit arch 0x");
            m.push_num(u64::from(audit_arch), 16);
        }
    }
    m.push(b" [report mode]; dying with SIGSYS\n");
    m
}

/// The SIGSYS part of `siginfo_t` (kernel `struct __sifields._sigsys`).
#[repr(C)]
struct SigsysInfo {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    // The union that follows is pointer-aligned, which repr(C) reproduces.
    call_addr: *mut libc::c_void,
    syscall: libc::c_int,
    arch: libc::c_uint,
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers;
    // SigsysInfo mirrors its layout for SIGSYS (signo, errno, code, then the
    // pointer-aligned _sigsys member) and is smaller than siginfo_t.
    let (code, nr, arch) = unsafe {
        let s = &*info.cast::<SigsysInfo>();
        (s.code, s.syscall, s.arch)
    };
    let names = NAMES.get().map(Vec::as_slice).unwrap_or(&[]);
    let msg = format(names, code, nr, arch);
    // SAFETY: write(2) on fd 2 with a pointer/length pair into a live stack
    // buffer; the result is ignored because there is nothing left to do.
    unsafe {
        libc::write(2, msg.buf.as_ptr().cast(), msg.len);
    }
    die_by_sigsys();
}

/// Restores SIGSYS's default action and raises it: the process dies by SIGSYS
/// as it would under `SECCOMP_RET_KILL_PROCESS`.
fn die_by_sigsys() {
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_DFL runs no user code.
    let _ = unsafe { signal::sigaction(Signal::SIGSYS, &dfl) };
    let mut set = SigSet::empty();
    set.add(Signal::SIGSYS);
    let _ = signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
    let _ = signal::raise(Signal::SIGSYS);
    // Not reached: the default action of SIGSYS terminates the process.
    std::process::abort();
}

/// Builds the name tables and installs the SIGSYS handler (process-wide).
pub(crate) fn install() -> Result<(), Error> {
    NAMES.get_or_init(build_names);
    let action = SigAction::new(
        SigHandler::SigAction(on_sigsys),
        SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // SAFETY: on_sigsys only reads data initialised above and makes
    // async-signal-safe calls.
    unsafe { signal::sigaction(Signal::SIGSYS, &action) }
        .map(drop)
        .map_err(Error::SignalHandler)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &Msg) -> String {
        String::from_utf8(m.buf[..m.len].to_vec()).unwrap()
    }

    #[test]
    fn formats_native_foreign_x32_and_unknown() {
        let names = build_names();
        let native = Arch::native();
        let reboot = libseccomp::ScmpSyscall::from_name("reboot").unwrap();
        let nr = reboot.as_raw_syscall();
        assert_eq!(
            text(&format(&names, SYS_SECCOMP, nr, native.audit_arch())),
            std::format!(
                "seccomp-sets: blocked system call reboot ({nr}) on {native} [report mode]; \
                 dying with SIGSYS\n"
            )
        );
        if native == Arch::X86_64 {
            // i386 getppid is 64; x32 getppid is 0x40000000 | 110.
            assert!(
                text(&format(&names, SYS_SECCOMP, 64, Arch::X86.audit_arch()))
                    .contains("getppid (64) on i386")
            );
            let x32 = format(
                &names,
                SYS_SECCOMP,
                X32_BIT | 110,
                Arch::X86_64.audit_arch(),
            );
            assert!(text(&x32).contains("getppid (1073741934) on x32"));
        }
        let unknown = format(&names, SYS_SECCOMP, 999, 0x1234);
        assert!(text(&unknown).contains("number 999 on audit arch 0x1234"));
        assert!(text(&format(&names, 0, 1, 2)).contains("did not raise"));
    }

    #[test]
    fn message_is_truncated_not_overflowed() {
        let mut m = Msg::new();
        for _ in 0..100 {
            m.push(b"0123456789");
        }
        assert_eq!(m.len, 256);
        m.push_num(u64::MAX, 10);
        assert_eq!(m.len, 256);
    }
}
