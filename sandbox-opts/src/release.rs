//! QEMU releases, for statements about what QEMU does: which releases a deliberate difference
//! (the `qemu` module's table, `seccomp-sets`' table rows) holds for, and which ones a model of
//! QEMU was checked against.
//!
//! A release is a `major.minor` series: the point releases of one series (`10.0.2`, `10.0.7`)
//! parse `-sandbox` and build their filter the same way. A statement names a range of them,
//! both ends included; the conformance tests read the version of the real
//! `qemu-system-x86_64` they run and hold every statement whose range contains it to what that
//! QEMU does (a statement about a release outside its range is not made, so a QEMU newer than
//! every range fails those tests until someone has checked it and extended the ranges).
//!
//! ```
//! use sandbox_opts::release::{QemuRelease, QemuReleases};
//!
//! let sid: QemuRelease = "11.1.3".parse()?;
//! assert_eq!(sid, QemuRelease::new(11, 1));
//! let before = QemuReleases::new(QemuRelease::new(7, 2), QemuRelease::new(10, 0));
//! assert!(before.contains("10.0.2".parse()?));
//! assert!(!before.contains(sid));
//! assert_eq!(before.to_string(), "7.2 to 10.0");
//! # Ok::<(), sandbox_opts::release::BadRelease>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// One QEMU release series, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QemuRelease {
    /// The major version (`10` in `10.0.2`).
    pub major: u16,
    /// The minor version (`0` in `10.0.2`).
    pub minor: u16,
}

impl QemuRelease {
    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> QemuRelease {
        QemuRelease { major, minor }
    }
}

impl fmt::Display for QemuRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A version string that names no QEMU release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRelease(String);

impl fmt::Display for BadRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is no QEMU version (expected MAJOR.MINOR or MAJOR.MINOR.PATCH, as \
             `qemu-system-x86_64 --version` prints it)",
            self.0
        )
    }
}

impl std::error::Error for BadRelease {}

impl FromStr for QemuRelease {
    type Err = BadRelease;

    /// `10.0`, `10.0.2`, or a Debian-style `10.0.2+ds-2` (what follows the minor version
    /// after a `.` is the point release, and is not read).
    fn from_str(s: &str) -> Result<QemuRelease, BadRelease> {
        let bad = || BadRelease(s.to_owned());
        let mut parts = s.splitn(3, '.');
        let number = |p: Option<&str>| -> Result<u16, BadRelease> {
            let p = p.ok_or_else(bad)?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        let major = number(parts.next())?;
        let minor = number(parts.next())?;
        Ok(QemuRelease { major, minor })
    }
}

/// The QEMU releases from `first` to `last`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QemuReleases {
    /// The oldest release the statement holds for.
    pub first: QemuRelease,
    /// The newest release the statement holds for.
    pub last: QemuRelease,
}

impl QemuReleases {
    /// From `first` to `last`, both included (`first` must not be newer than `last`; a const
    /// context fails to compile otherwise).
    pub const fn new(first: QemuRelease, last: QemuRelease) -> QemuReleases {
        assert!(
            first.major < last.major || (first.major == last.major && first.minor <= last.minor),
            "a range of QEMU releases starts at its oldest"
        );
        QemuReleases { first, last }
    }

    /// Whether `release` is in the range.
    pub fn contains(self, release: QemuRelease) -> bool {
        self.first <= release && release <= self.last
    }
}

impl fmt::Display for QemuReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{} to {}", self.first, self.last)
        }
    }
}

/// QEMU 7.2, Debian 12 (bookworm)'s: the oldest release the statements are checked against.
pub const QEMU_7_2: QemuRelease = QemuRelease::new(7, 2);
/// QEMU 9.2, the last release before 10.0 (not checked: the statements that end there end
/// where QEMU's source changed, and 10.0 is checked).
pub const QEMU_9_2: QemuRelease = QemuRelease::new(9, 2);
/// QEMU 10.0, Debian 13 (trixie)'s.
pub const QEMU_10_0: QemuRelease = QemuRelease::new(10, 0);
/// QEMU 11.1, Debian unstable's at the time of writing: the newest release checked.
pub const QEMU_11_1: QemuRelease = QemuRelease::new(11, 1);

/// Every release checked, oldest to newest: the range of a statement that holds throughout.
pub const CHECKED: QemuReleases = QemuReleases::new(QEMU_7_2, QEMU_11_1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_their_series() {
        for (s, want) in [
            ("7.2", (7, 2)),
            ("7.2.19", (7, 2)),
            ("10.0.2+ds-2", (10, 0)),
            ("11.1.3", (11, 1)),
        ] {
            assert_eq!(
                s.parse::<QemuRelease>(),
                Ok(QemuRelease::new(want.0, want.1)),
                "{s}"
            );
        }
        for s in [
            "",
            "10",
            "10.",
            ".1",
            "x.1",
            "10.x",
            "1 0.1",
            "+1.2",
            "99999999.1",
        ] {
            assert!(s.parse::<QemuRelease>().is_err(), "{s:?}");
        }
        assert!(
            "10".parse::<QemuRelease>()
                .unwrap_err()
                .to_string()
                .contains("MAJOR.MINOR")
        );
    }

    #[test]
    fn ranges_include_both_ends_and_order_by_number() {
        let r = QemuReleases::new(QemuRelease::new(9, 2), QemuRelease::new(10, 1));
        assert!(r.contains(QemuRelease::new(9, 2)) && r.contains(QemuRelease::new(10, 1)));
        assert!(r.contains(QemuRelease::new(10, 0)));
        assert!(!r.contains(QemuRelease::new(9, 1)) && !r.contains(QemuRelease::new(10, 2)));
        // 10.0 is newer than 9.10: numbers, not text.
        assert!(QemuRelease::new(9, 10) < QemuRelease::new(10, 0));
        assert_eq!(QemuReleases::new(QEMU_11_1, QEMU_11_1).to_string(), "11.1");
        assert_eq!(CHECKED.to_string(), "7.2 to 11.1");
    }
}
