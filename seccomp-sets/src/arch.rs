//! The CPU architectures (syscall ABIs) the table is resolved for: [`Arch`].

use std::fmt;
use std::str::FromStr;

use libseccomp::ScmpArch;

use crate::Error;

/// A Linux syscall ABI known to libseccomp.
///
/// Only the ABIs we resolve and snapshot are listed; the filter itself is
/// always built for [`Arch::native`].
///
/// ```
/// use seccomp_sets::Arch;
///
/// assert_eq!("i386".parse::<Arch>().unwrap(), Arch::X86);
/// assert_eq!("amd64".parse::<Arch>().unwrap(), Arch::X86_64);
/// assert_eq!(Arch::Aarch64.to_string(), "aarch64");
/// assert!("vax".parse::<Arch>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(non_camel_case_types)]
pub enum Arch {
    /// x86-64 (`AUDIT_ARCH_X86_64`).
    X86_64,
    /// 64-bit ARM.
    Aarch64,
    /// 32-bit x86 (i386), also reachable from x86-64 through `int 0x80`.
    X86,
    /// The x32 ABI (x86-64 registers, 32-bit pointers; syscall numbers | 0x40000000).
    X32,
    /// 32-bit ARM (EABI).
    Arm,
    /// 64-bit RISC-V.
    Riscv64,
    /// 64-bit s390 (clone's flags are its second argument).
    S390x,
    /// 64-bit little-endian PowerPC.
    Ppc64le,
}

impl Arch {
    /// Every architecture, in display order.
    pub const ALL: [Arch; 8] = [
        Arch::X86_64,
        Arch::Aarch64,
        Arch::X86,
        Arch::X32,
        Arch::Arm,
        Arch::Riscv64,
        Arch::S390x,
        Arch::Ppc64le,
    ];

    /// The architecture this program was compiled for.
    ///
    /// ```
    /// # #[cfg(target_arch = "x86_64")]
    /// assert_eq!(seccomp_sets::Arch::native(), seccomp_sets::Arch::X86_64);
    /// ```
    pub const fn native() -> Arch {
        #[cfg(all(target_arch = "x86_64", target_pointer_width = "32"))]
        return Arch::X32;
        #[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
        return Arch::X86_64;
        #[cfg(target_arch = "aarch64")]
        return Arch::Aarch64;
        #[cfg(target_arch = "x86")]
        return Arch::X86;
        #[cfg(target_arch = "arm")]
        return Arch::Arm;
        #[cfg(target_arch = "riscv64")]
        return Arch::Riscv64;
        #[cfg(target_arch = "s390x")]
        return Arch::S390x;
        #[cfg(all(target_arch = "powerpc64", target_endian = "little"))]
        return Arch::Ppc64le;
    }

    /// The name used by this crate (and `uname -m`, except `i386`).
    ///
    /// ```
    /// assert_eq!(seccomp_sets::Arch::X86.name(), "i386");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::X86 => "i386",
            Arch::X32 => "x32",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::S390x => "s390x",
            Arch::Ppc64le => "ppc64le",
        }
    }

    /// The `AUDIT_ARCH_*` value the kernel reports in `seccomp_data.arch` and
    /// in `siginfo.si_arch` (x32 shares x86-64's value and sets bit 30 of the
    /// syscall number instead).
    ///
    /// ```
    /// assert_eq!(seccomp_sets::Arch::X86_64.audit_arch(), 0xc000_003e);
    /// ```
    pub const fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 | Arch::X32 => 0xc000_003e,
            Arch::Aarch64 => 0xc000_00b7,
            Arch::X86 => 0x4000_0003,
            Arch::Arm => 0x4000_0028,
            Arch::Riscv64 => 0xc000_00f3,
            Arch::S390x => 0x8000_0016,
            Arch::Ppc64le => 0xc000_0015,
        }
    }

    /// The OCI runtime-spec / libseccomp token (`SCMP_ARCH_*`).
    ///
    /// ```
    /// assert_eq!(seccomp_sets::Arch::Aarch64.scmp_name(), "SCMP_ARCH_AARCH64");
    /// ```
    pub const fn scmp_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
            Arch::X86 => "SCMP_ARCH_X86",
            Arch::X32 => "SCMP_ARCH_X32",
            Arch::Arm => "SCMP_ARCH_ARM",
            Arch::Riscv64 => "SCMP_ARCH_RISCV64",
            Arch::S390x => "SCMP_ARCH_S390X",
            Arch::Ppc64le => "SCMP_ARCH_PPC64LE",
        }
    }

    /// The name systemd's `SystemCallArchitectures=` uses.
    ///
    /// ```
    /// assert_eq!(seccomp_sets::Arch::X86_64.systemd_name(), "x86-64");
    /// ```
    pub const fn systemd_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "arm64",
            Arch::X86 => "x86",
            Arch::X32 => "x32",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::S390x => "s390x",
            Arch::Ppc64le => "ppc64-le",
        }
    }

    /// Index of the clone(2) `flags` argument: s390 swaps the first two
    /// arguments (see NOTES in clone(2)).
    ///
    /// ```
    /// use seccomp_sets::Arch;
    /// assert_eq!(Arch::S390x.clone_flags_arg(), 1);
    /// assert_eq!(Arch::X86_64.clone_flags_arg(), 0);
    /// ```
    pub const fn clone_flags_arg(self) -> u32 {
        match self {
            Arch::S390x => 1,
            _ => 0,
        }
    }

    pub(crate) const fn scmp(self) -> ScmpArch {
        match self {
            Arch::X86_64 => ScmpArch::X8664,
            Arch::Aarch64 => ScmpArch::Aarch64,
            Arch::X86 => ScmpArch::X86,
            Arch::X32 => ScmpArch::X32,
            Arch::Arm => ScmpArch::Arm,
            Arch::Riscv64 => ScmpArch::Riscv64,
            Arch::S390x => ScmpArch::S390X,
            Arch::Ppc64le => ScmpArch::Ppc64Le,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = Error;

    /// Accepts our names plus the common aliases (`x86-64`, `amd64`, `arm64`,
    /// `x86`, `i686`, `ppc64-le`, …) and `native`.
    fn from_str(s: &str) -> Result<Arch, Error> {
        let arch = match s {
            "native" => Arch::native(),
            "x86_64" | "x86-64" | "amd64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            "i386" | "i686" | "x86" => Arch::X86,
            "x32" => Arch::X32,
            "arm" | "armhf" | "armv7" => Arch::Arm,
            "riscv64" => Arch::Riscv64,
            "s390x" => Arch::S390x,
            "ppc64le" | "ppc64-le" | "ppc64el" => Arch::Ppc64le,
            _ => return Err(Error::UnknownArch(s.to_owned())),
        };
        Ok(arch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every accepted spelling and what it names: a table, snapshot-tested.
    #[test]
    fn spellings() {
        let spellings = [
            "x86_64", "x86-64", "amd64", "aarch64", "arm64", "i386", "i686", "x86", "x32", "arm",
            "armhf", "armv7", "riscv64", "s390x", "ppc64le", "ppc64-le", "ppc64el", "X86_64",
            "mips", "",
        ];
        let table: Vec<String> = spellings
            .iter()
            .map(|s| match s.parse::<Arch>() {
                Ok(a) => format!("{s:?} -> {a}"),
                Err(e) => format!("{s:?} -> error: {e}"),
            })
            .collect();
        insta::assert_snapshot!(table.join("\n"));
        assert_eq!("native".parse::<Arch>().unwrap(), Arch::native());
    }
}
