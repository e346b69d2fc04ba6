//! Free disk space, checked before a long command starts. A run that fills the disk fails
//! minutes in, with `No space left on device` from whichever step happened to write next (a
//! test copying a binary, rustc writing an object); this check fails at once and says how much
//! room is missing where.

use crate::util::output;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory a command fills, and how large it grows on a fresh machine.
#[derive(Debug)]
pub(crate) struct Room {
    /// What it holds, for messages.
    pub(crate) what: &'static str,
    pub(crate) path: PathBuf,
    /// Its size at the end of a run that started without it.
    pub(crate) grows_to: u64,
}

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// What `cargo xtask test` fills: the cargo target directory and, with the VM suite, the guest
/// images. Measured on a fresh clone on 2026-12-07 (du at the end of the run): `target/` 4.0 GiB,
/// the image cache 3.5 GiB with all four suites; each figure here leaves a quarter more.
pub(crate) fn test_rooms(vm: bool) -> Result<Vec<Room>, String> {
    let mut rooms = vec![Room {
        what: "the cargo target directory",
        path: crate::util::target_dir(),
        grows_to: 5 * GIB,
    }];
    if vm {
        rooms.push(Room {
            what: "the guest images",
            path: crate::vm::cache_root()?,
            grows_to: 9 * GIB / 2,
        });
    }
    Ok(rooms)
}

/// Fails when a filesystem has less room than the directories on it still need to grow by:
/// what each grows to, less what it holds already (a warm cache needs little), plus a margin.
pub(crate) fn ensure(rooms: &[Room]) -> Result<(), String> {
    if std::env::var_os("HARDEN_SKIP_DISK_CHECK").is_some_and(|v| v == "1") {
        eprintln!("xtask: HARDEN_SKIP_DISK_CHECK=1: not checking free disk space");
        return Ok(());
    }
    check(rooms)
}

/// [`ensure`]'s work, whatever the environment says.
fn check(rooms: &[Room]) -> Result<(), String> {
    // Per filesystem (by mount point): its free bytes and the rooms on it, with what each holds.
    type OnFs<'a> = (u64, Vec<(&'a Room, u64)>);
    let mut by_fs: BTreeMap<String, OnFs<'_>> = BTreeMap::new();
    for room in rooms {
        let held = held_bytes(&room.path)?;
        let (avail, mount) = free_bytes(&room.path)?;
        by_fs
            .entry(mount)
            .or_insert((avail, Vec::new()))
            .1
            .push((room, held));
    }
    let mut short = Vec::new();
    for (mount, (avail, rooms)) in &by_fs {
        let needed = rooms
            .iter()
            .map(|(r, held)| r.grows_to.saturating_sub(*held))
            .fold(MARGIN, u64::saturating_add);
        if *avail < needed {
            let mut lines = format!(
                "{mount} has {} free; this command needs about {} more there ({} margin \
                 included):",
                size(*avail),
                size(needed),
                size(MARGIN)
            );
            for (r, held) in rooms {
                lines.push_str(&format!(
                    "\n    {} ({}): grows to about {}, holds {} now",
                    r.what,
                    r.path.display(),
                    size(r.grows_to),
                    size(*held)
                ));
            }
            short.push(lines);
        }
    }
    if short.is_empty() {
        return Ok(());
    }
    Err(format!(
        "not enough free disk space to start:\n  {}\nfree some space (or point CARGO_TARGET_DIR \
         or XDG_CACHE_HOME at a larger disk) and run this command again; \
         HARDEN_SKIP_DISK_CHECK=1 starts anyway",
        short.join("\n  ")
    ))
}

/// Room left for what no [`Room`] counts: apt's downloads, temporary files, logs.
const MARGIN: u64 = GIB;

/// Bytes already under `path` (0 when it does not exist yet), by `du`.
fn held_bytes(path: &Path) -> Result<u64, String> {
    if !path.exists() {
        return Ok(0);
    }
    let out = output(Command::new("du").args(["-s", "-B1", "-x"]).arg(path))?;
    out.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("cannot read `du -s -B1 {}`: {out:?}", path.display()))
}

/// The bytes free (`df`'s "Avail": what is left to users other than root, a little less than
/// root may use) and the mount point of the filesystem that holds `path`, or would hold it once
/// created (that of its nearest existing ancestor).
fn free_bytes(path: &Path) -> Result<(u64, String), String> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let out = output(
        Command::new("df")
            .args(["-B1", "--output=avail,target"])
            .arg(existing),
    )?;
    parse_df(&out).ok_or_else(|| {
        format!(
            "cannot read `df --output=avail,target {}`: {out:?}",
            existing.display()
        )
    })
}

/// `df --output=avail,target`'s second line: bytes available and the mount point.
fn parse_df(out: &str) -> Option<(u64, String)> {
    let line = out.lines().nth(1)?.trim_start();
    let (avail, mount) = line.split_once(char::is_whitespace)?;
    Some((avail.parse().ok()?, mount.trim().to_string()))
}

/// A size as people read it: `1.5 GiB`, `300 MiB`.
fn size(bytes: u64) -> String {
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else {
        format!("{} MiB", bytes.div_ceil(MIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_output_is_read_with_spaces_in_the_mount_point() {
        let out = "   Avail Mounted on\n12345678 /mnt/my disk\n";
        assert_eq!(parse_df(out), Some((12_345_678, "/mnt/my disk".into())));
        assert_eq!(parse_df("Avail Mounted on\n"), None);
        assert_eq!(parse_df("Avail Mounted on\nlots /\n"), None);
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size(3 * GIB / 2), "1.5 GiB");
        assert_eq!(size(300 * MIB), "300 MiB");
        assert_eq!(size(1), "1 MiB");
    }

    #[test]
    fn a_room_larger_than_any_disk_is_refused_with_what_is_missing() {
        let dir = test_support::TempDir::new("xtask-disk");
        let huge = Room {
            what: "a test's room",
            path: dir.path().join("not-yet"),
            grows_to: u64::MAX / 4,
        };
        let err = check(&[huge]).unwrap_err();
        assert!(err.contains("not enough free disk space"), "{err}");
        assert!(err.contains("a test's room"), "{err}");
        assert!(err.contains("holds 0 MiB now"), "{err}");
        let small = Room {
            what: "a small room",
            path: dir.path().to_path_buf(),
            grows_to: 0,
        };
        // Needs only the margin: any machine that builds this workspace has 1 GiB free.
        check(&[small]).unwrap();
    }
}
