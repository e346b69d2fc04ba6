//! Free disk space, checked before a long command starts. A run that fills the disk fails
//! minutes in, with `No space left on device` from whichever step happened to write next (a
//! test copying a binary, rustc writing an object); this check fails at once and says how much
//! room is missing where. It is an estimate from sizes measured on a fresh clone, meant to
//! catch a disk that is clearly too small, not to predict the last megabyte.

use crate::util::{is_root, show};
use crate::vm::{GuestArch, Suite, image_location};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A directory a command is about to fill, and how many bytes it still writes there.
#[derive(Debug)]
pub(crate) struct Room {
    /// What it holds, for messages.
    pub(crate) what: String,
    pub(crate) path: PathBuf,
    pub(crate) needs: u64,
}

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// What `cargo xtask test` leaves in the cargo target directory, from an empty one: 4.0 GiB
/// measured on a fresh clone on 2026-12-07, with room above it.
const TARGET_GROWS_TO: u64 = 9 * GIB / 2;

/// One guest image as stored (sparse): 0.8 GiB for an amd64 suite and 1.0 GiB for arm64
/// measured on 2026-12-07, with room above each.
fn image_bytes(suite: Suite) -> u64 {
    match suite.arch() {
        GuestArch::Amd64 => GIB,
        GuestArch::Arm64 => 3 * GIB / 2,
    }
}

/// Room left for what no [`Room`] counts: apt's downloads, the guests' tools, temporary files
/// and logs.
const MARGIN: u64 = GIB;

/// What `cargo xtask test` fills: the cargo target directory and, with the VM suite, the image
/// of every suite it boots (`suites`, or all that run this host's binaries) that is not built.
pub(crate) fn test_rooms(vm: bool, suites: &[Suite]) -> Result<Vec<Room>, String> {
    let target = absolute(&crate::util::target_dir());
    let mut rooms = vec![Room {
        what: "the cargo target directory".into(),
        needs: TARGET_GROWS_TO.saturating_sub(held_bytes(&target)),
        path: target,
    }];
    if vm {
        let chosen: Vec<Suite> = if suites.is_empty() {
            Suite::ALL
                .into_iter()
                .filter(|s| s.runs_host_binaries().is_ok())
                .collect()
        } else {
            suites.to_vec()
        };
        for suite in chosen {
            let at = image_location(suite)?;
            if !at.complete() {
                rooms.push(Room {
                    what: format!("the {} guest image", suite.name()),
                    needs: image_bytes(suite),
                    path: absolute(&at.dir),
                });
            }
        }
    }
    Ok(rooms)
}

/// Fails when a filesystem has less room than the directories on it still need, plus
/// [`MARGIN`].
pub(crate) fn ensure(rooms: &[Room]) -> Result<(), String> {
    if std::env::var_os("HARDEN_SKIP_DISK_CHECK").is_some_and(|v| v == "1") {
        eprintln!("xtask: HARDEN_SKIP_DISK_CHECK=1: not checking free disk space");
        return Ok(());
    }
    check(rooms)
}

/// [`ensure`]'s work, whatever the environment says.
fn check(rooms: &[Room]) -> Result<(), String> {
    let mut filesystems: Vec<Filesystem<'_>> = Vec::new();
    for room in rooms {
        let (dev, mount, free) = filesystem_of(&room.path)?;
        match filesystems.iter_mut().find(|f| f.dev == dev) {
            Some(f) => f.rooms.push(room),
            None => filesystems.push(Filesystem {
                dev,
                mount,
                free,
                rooms: vec![room],
            }),
        }
    }
    let short: Vec<String> = filesystems
        .iter()
        .filter_map(Filesystem::shortfall)
        .collect();
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

/// One filesystem and the rooms on it.
#[derive(Debug)]
struct Filesystem<'a> {
    /// Its device number: two mount points of one filesystem share its space.
    dev: u64,
    mount: String,
    /// Bytes we may write there.
    free: u64,
    rooms: Vec<&'a Room>,
}

impl Filesystem<'_> {
    /// What is missing here, or `None` when the rooms and the margin fit.
    fn shortfall(&self) -> Option<String> {
        let needed = self
            .rooms
            .iter()
            .map(|r| r.needs)
            .fold(MARGIN, u64::saturating_add);
        if self.free >= needed {
            return None;
        }
        let mut text = format!(
            "{}: {} short ({} free, {} needed, {} of margin included):",
            self.mount,
            size(needed - self.free),
            size(self.free),
            size(needed),
            size(MARGIN)
        );
        for r in &self.rooms {
            text.push_str(&format!(
                "\n    {} ({}): {}",
                r.what,
                r.path.display(),
                size(r.needs)
            ));
        }
        Some(text)
    }
}

/// `path` made absolute against the current directory (a relative `CARGO_TARGET_DIR`).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Bytes already under `path` (0 when it does not exist yet), by `du`. A tree that changes
/// while `du` walks it makes `du` complain and exit 1 with its total still printed: that total
/// is used; with none, 0 (the check then asks for more room, never less).
fn held_bytes(path: &Path) -> u64 {
    if !path.exists() {
        return 0;
    }
    let mut du = Command::new("du");
    du.args(["-s", "-x", "-D", "-B1"]).arg(path);
    let total = du
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
        });
    total.unwrap_or_else(|| {
        eprintln!(
            "xtask: `{}` gave no total; counting 0 bytes there",
            show(&du)
        );
        0
    })
}

/// The device number, mount point and bytes we may write (as root, every free block, the
/// ones reserved for root included) of the filesystem that holds `path`, or will hold it once
/// created: that of its nearest existing ancestor.
fn filesystem_of(path: &Path) -> Result<(u64, String, u64), String> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let dev = std::fs::metadata(existing)
        .map_err(|e| format!("cannot stat {}: {e}", existing.display()))?
        .dev();
    let out = crate::util::output(
        Command::new("df")
            .args(["-B1", "--output=size,used,avail,target"])
            .arg(existing),
    )?;
    let df = parse_df(&out).ok_or_else(|| {
        format!(
            "cannot read `df --output=size,used,avail,target {}`: {out:?}",
            existing.display()
        )
    })?;
    let free = if is_root() {
        df.size.saturating_sub(df.used)
    } else {
        df.avail
    };
    Ok((dev, df.mount, free))
}

/// A line of `df --output=size,used,avail,target`.
#[derive(Debug, PartialEq, Eq)]
struct Df {
    size: u64,
    used: u64,
    avail: u64,
    mount: String,
}

/// The second line of `df -B1 --output=size,used,avail,target` (the first is its heading).
fn parse_df(out: &str) -> Option<Df> {
    let mut rest = out.lines().nth(1)?;
    let mut number = || -> Option<u64> {
        let (n, after) = rest.trim_start().split_once(char::is_whitespace)?;
        rest = after;
        n.parse().ok()
    };
    let (size, used, avail) = (number()?, number()?, number()?);
    let mount = rest.trim().to_string();
    (!mount.is_empty()).then_some(Df {
        size,
        used,
        avail,
        mount,
    })
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
        let out = "  1B-blocks    Used   Avail Mounted on\n 9000 4000 4500 /mnt/my disk\n";
        assert_eq!(
            parse_df(out),
            Some(Df {
                size: 9000,
                used: 4000,
                avail: 4500,
                mount: "/mnt/my disk".into()
            })
        );
        assert_eq!(parse_df("1B-blocks Used Avail Mounted on\n"), None);
        assert_eq!(parse_df("heading\n9000 4000 lots /\n"), None);
        assert_eq!(parse_df("heading\n9000 4000 4500\n"), None);
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size(3 * GIB / 2), "1.5 GiB");
        assert_eq!(size(300 * MIB), "300 MiB");
        assert_eq!(size(1), "1 MiB");
    }

    fn room(what: &str, needs: u64) -> Room {
        Room {
            what: what.into(),
            path: PathBuf::from("/x").join(what),
            needs,
        }
    }

    #[test]
    fn a_filesystem_short_of_room_says_by_how_much_and_for_what() {
        let (a, b) = (room("target", 3 * GIB), room("images", GIB));
        let fs = Filesystem {
            dev: 1,
            mount: "/data".into(),
            free: 4 * GIB,
            rooms: vec![&a, &b],
        };
        // 3 + 1 + the margin's 1 GiB: 1 GiB short.
        let text = fs.shortfall().expect("short");
        assert!(
            text.starts_with("/data: 1.0 GiB short (4.0 GiB free"),
            "{text}"
        );
        assert!(text.contains("target (/x/target): 3.0 GiB"), "{text}");
        assert!(text.contains("images (/x/images): 1.0 GiB"), "{text}");
        let fits = Filesystem {
            free: 5 * GIB,
            ..fs
        };
        assert_eq!(fits.shortfall(), None);
    }

    #[test]
    fn a_room_larger_than_any_disk_is_refused_with_what_is_missing() {
        let dir = test_support::TempDir::new("xtask-disk");
        let huge = Room {
            what: "a test's room".into(),
            path: dir.path().join("not-yet"),
            needs: u64::MAX / 4,
        };
        let err = check(&[huge]).unwrap_err();
        assert!(err.contains("not enough free disk space"), "{err}");
        assert!(err.contains("a test's room"), "{err}");
    }

    #[test]
    fn a_tree_is_measured_by_what_it_holds() {
        let dir = test_support::TempDir::new("xtask-du");
        std::fs::write(dir.path().join("f"), vec![1u8; 256 * 1024]).unwrap();
        let held = held_bytes(dir.path());
        assert!((256 * 1024..4 * MIB).contains(&held), "{held}");
        assert_eq!(held_bytes(&dir.path().join("missing")), 0);
    }
}
