//! The benchmark's peer: the newest ovsdb-server, from Debian unstable, in a chroot.
//!
//! echod's peer benchmark (`vmtests/echod/benches/peer.rs`) measures echod against the real
//! ovsdb-server. The host's is whatever its suite ships (3.1 on bookworm); the newest is in sid
//! (4.0 when this was written). So `cargo xtask bench` keeps a sid root with Open vSwitch in it,
//! built with debootstrap the way the guest images are (same mirror logic, `crate::mirror`),
//! cached under the same cache directory (`peers/`), keyed by a hash of its recipe, built in a
//! temporary directory and renamed into place so that an interrupted build never looks valid.
//! The benchmark runs `chroot ROOT /usr/sbin/ovsdb-server ...` on a Unix socket in a directory
//! of the root, which the host sees too (`HARDEN_OVSDB_ROOT` tells it where the root is).
//!
//! Building it needs root (debootstrap, chroot) and the network; when either is missing the
//! benchmark falls back to the host's ovsdb-server and says so loudly.

use crate::util::{find_command, is_root, output, run, seconds};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Everything that determines the root's content: change anything and the key changes.
#[derive(Debug)]
pub(crate) struct Recipe {
    /// The Debian suite.
    pub(crate) suite: &'static str,
    /// The debootstrap variant.
    pub(crate) variant: &'static str,
    /// Packages on top of the variant.
    pub(crate) packages: &'static [&'static str],
}

/// The peer root's recipe: sid's Open vSwitch (ovsdb-server, ovsdb-tool) on a minimal base.
pub(crate) const RECIPE: Recipe = Recipe {
    suite: "sid",
    variant: "minbase",
    packages: &["openvswitch-switch", "openvswitch-common"],
};

impl Recipe {
    /// A canonical text form (what the key hashes; stored beside the root).
    pub(crate) fn describe(&self) -> String {
        let mut s = format!(
            "peer-root format 1\nsuite {}\nvariant {}\n",
            self.suite, self.variant
        );
        for p in self.packages {
            s.push_str(&format!("package {p}\n"));
        }
        s
    }

    /// The cache key: `ovsdb-SUITE-` and FNV-1a 64 of [`Recipe::describe`].
    pub(crate) fn key(&self) -> String {
        format!(
            "ovsdb-{}-{:016x}",
            self.suite,
            crate::vm::fnv1a64(self.describe().as_bytes())
        )
    }
}

/// A built peer root.
#[derive(Debug, Clone)]
pub(crate) struct PeerRoot {
    /// The cache entry: `root/`, `recipe.txt`, `built`, `version`.
    pub(crate) dir: PathBuf,
}

impl PeerRoot {
    /// The directory to chroot into.
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn complete(&self) -> bool {
        self.root().join("usr/sbin/ovsdb-server").is_file()
            && self.root().join("usr/bin/ovsdb-tool").is_file()
            && self.dir.join("recipe.txt").is_file()
    }

    /// `ovsdb-server (Open vSwitch) 4.0.0` and the build date, as recorded when it was built.
    pub(crate) fn describe(&self) -> String {
        let read = |name: &str| {
            std::fs::read_to_string(self.dir.join(name))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        };
        format!(
            "{} from Debian {} (chroot {}, built {})",
            read("version"),
            RECIPE.suite,
            self.root().display(),
            read("built")
        )
    }
}

/// Where the current recipe's root lives (built or not).
pub(crate) fn location() -> Result<PeerRoot, String> {
    Ok(PeerRoot {
        dir: crate::vm::cache_root()?.join("peers").join(RECIPE.key()),
    })
}

/// The cached peer root, built first when missing. `Err` says why there is none (the
/// benchmark then falls back to the host's ovsdb-server).
pub(crate) fn ensure() -> Result<PeerRoot, String> {
    let peer = location()?;
    if peer.complete() {
        return Ok(peer);
    }
    if !is_root() {
        return Err(format!(
            "building the peer root {} needs root (debootstrap), and so does running \
             ovsdb-server in it (chroot)",
            peer.dir.display()
        ));
    }
    crate::deps::ensure(&[crate::deps::Need {
        why: "building the benchmark's peer root (sid's ovsdb-server)",
        probe: "debootstrap",
        package: "debootstrap",
    }])?;
    build(&peer)?;
    Ok(peer)
}

fn build(peer: &PeerRoot) -> Result<(), String> {
    let mirror = crate::mirror::for_suite(RECIPE.suite)?;
    let parent = peer
        .dir
        .parent()
        .ok_or("the peer root's directory has no parent")?
        .to_path_buf();
    std::fs::create_dir_all(&parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    remove_stale_temporaries(&parent);
    let tmp = parent.join(format!(".{}.tmp-{}", RECIPE.key(), std::process::id()));
    let root = tmp.join("root");
    std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let start = Instant::now();
    eprintln!(
        "xtask: building the benchmark's peer root (Debian {} with {}) from {} into {}",
        RECIPE.suite,
        RECIPE.packages.join(", "),
        mirror.uri,
        tmp.display()
    );
    let built = build_into(&tmp, &root, &mirror.uri);
    if let Err(e) = built {
        if let Err(why) = remove_root_dir(&tmp) {
            eprintln!("xtask: cannot remove the failed build: {why}");
        }
        return Err(format!("building the peer root failed: {e}"));
    }
    if peer.dir.exists() {
        remove_root_dir(&peer.dir).map_err(|e| format!("removing the old peer root: {e}"))?;
    }
    std::fs::rename(&tmp, &peer.dir)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), peer.dir.display()))?;
    remove_outdated(&parent, &peer.dir);
    eprintln!(
        "xtask: peer root ready in {} ({:.1} s): {}",
        peer.dir.display(),
        seconds(start),
        peer.describe()
    );
    Ok(())
}

fn build_into(tmp: &Path, root: &Path, mirror: &str) -> Result<(), String> {
    let debootstrap = find_command("debootstrap").ok_or("debootstrap is not installed")?;
    run(Command::new(debootstrap)
        .arg(format!("--variant={}", RECIPE.variant))
        .arg(format!("--include={}", RECIPE.packages.join(",")))
        .arg(RECIPE.suite)
        .arg(root)
        .arg(mirror))?;
    // Open vSwitch's own services never run here: the benchmark starts ovsdb-server itself.
    let _ = std::fs::remove_dir_all(root.join("var/cache/apt/archives"));
    let _ = std::fs::remove_dir_all(root.join("var/lib/apt/lists"));
    let chroot = find_command("chroot").ok_or("chroot is not installed")?;
    let version = output(
        Command::new(chroot)
            .arg(root)
            .args(["/usr/sbin/ovsdb-server", "--version"]),
    )?;
    let first = version.lines().next().unwrap_or("").trim().to_string();
    std::fs::write(tmp.join("version"), format!("{first}\n"))
        .map_err(|e| format!("writing the version: {e}"))?;
    std::fs::write(tmp.join("recipe.txt"), RECIPE.describe())
        .map_err(|e| format!("writing recipe.txt: {e}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    std::fs::write(
        tmp.join("built"),
        format!("{}\n", crate::util::utc_stamp(now)?),
    )
    .map_err(|e| format!("writing built: {e}"))?;
    Ok(())
}

/// Removes a peer root directory (or an interrupted build's), first unmounting whatever is
/// still mounted under it: debootstrap mounts `/proc` (and may mount `/sys`) in the root and
/// leaves it there when it is killed, and a recursive removal would then walk into the host's
/// proc. A mount that cannot be unmounted keeps the directory.
fn remove_root_dir(dir: &Path) -> Result<(), String> {
    let mut mounted = mounts_under(dir);
    // The deepest first.
    mounted.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for m in &mounted {
        let umount = find_command("umount").ok_or("umount is not installed")?;
        run(Command::new(umount).arg(m))
            .map_err(|e| format!("{} is still mounted: {e}", m.display()))?;
    }
    if let Some(m) = mounts_under(dir).first() {
        return Err(format!("{} is still mounted", m.display()));
    }
    std::fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))
}

/// The mount points at or under `dir`, from /proc/self/mountinfo.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mount_points(&info)
        .into_iter()
        .filter(|m| m.starts_with(dir))
        .collect()
}

/// The mount points (field 5, octal escapes undone) of a mountinfo text.
fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|escaped| {
            let b = escaped.as_bytes();
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                let octal = b
                    .get(i + 1..i + 4)
                    .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
                match (b[i], octal) {
                    (b'\\', Some(d)) => {
                        out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                        i += 4;
                    }
                    (c, _) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
        })
        .collect()
}

/// Roots of older recipes are removed once the current one is built.
fn remove_outdated(parent: &Path, current: &Path) {
    if let Ok(dir) = std::fs::read_dir(parent) {
        for e in dir.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p != current && name.starts_with("ovsdb-") && p.join("recipe.txt").is_file() {
                eprintln!("xtask: removing an outdated peer root: {}", p.display());
                if let Err(why) = remove_root_dir(&p) {
                    eprintln!("xtask: cannot remove it: {why}");
                }
            }
        }
    }
}

/// Leftovers of interrupted builds whose process is gone.
fn remove_stale_temporaries(parent: &Path) {
    if let Ok(dir) = std::fs::read_dir(parent) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name
                .strip_prefix('.')
                .and_then(|n| n.rsplit_once(".tmp-"))
                .map(|(_, pid)| pid)
            {
                if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
                    eprintln!(
                        "xtask: removing an interrupted build: {}",
                        e.path().display()
                    );
                    if let Err(why) = remove_root_dir(&e.path()) {
                        eprintln!("xtask: cannot remove it: {why}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_names_the_suite_and_changes_with_the_recipe() {
        let k = RECIPE.key();
        assert!(k.starts_with("ovsdb-sid-"), "{k}");
        assert_eq!(k, RECIPE.key());
        let other = Recipe {
            packages: &["openvswitch-common"],
            ..RECIPE
        };
        assert_ne!(k, other.key());
        assert!(RECIPE.describe().contains("package openvswitch-switch\n"));
    }

    #[test]
    fn mount_points_are_read_with_their_escapes() {
        let info = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                    90 30 0:21 / /c/peers/.x.tmp-1/root/proc rw - proc proc rw\n\
                    91 30 0:22 / /c/a\\040b rw - tmpfs tmpfs rw\n";
        let points = mount_points(info);
        assert_eq!(
            points,
            [
                PathBuf::from("/proc"),
                PathBuf::from("/c/peers/.x.tmp-1/root/proc"),
                PathBuf::from("/c/a b"),
            ]
        );
    }

    #[test]
    fn interrupted_builds_and_outdated_roots_are_removed_but_not_live_ones() {
        let dir = test_support::TempDir::new("xtask-peers");
        let live = format!(".{}.tmp-{}", RECIPE.key(), std::process::id());
        for name in [
            "ovsdb-sid-1",
            "ovsdb-sid-2",
            ".ovsdb-sid-3.tmp-999999999",
            live.as_str(),
            "other",
        ] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("recipe.txt"), "x").unwrap();
        }
        remove_stale_temporaries(dir.path());
        remove_outdated(dir.path(), &dir.join("ovsdb-sid-2"));
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want = vec![live, "other".to_string(), "ovsdb-sid-2".to_string()];
        want.sort();
        assert_eq!(left, want);
    }
}
