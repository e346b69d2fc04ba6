//! Who may drive echod, and what it may remove: the control socket's mode whatever the umask,
//! its SO_PEERCRED check, and the stale-socket rules (never another user's socket, never block
//! on a live one).

use crate::common;

use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The unprivileged user the tests act as.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// echod under `umask 000`, with a control socket in `dir`.
fn start_umask_000(dir: &TempDir, extra: &[&str]) -> (Proc, std::path::PathBuf) {
    let ctl = dir.join("echod.ctl");
    let ctl_arg = format!("--unixctl={}", ctl.display());
    let mut args = vec![
        "-c",
        "umask 000; exec \"$0\" \"$@\"",
        echod_bin(),
        ctl_arg.as_str(),
    ];
    args.extend_from_slice(extra);
    let mut proc = Proc::spawn(dir, "echod", "/bin/sh", &args);
    wait_listening(&ctl, &mut proc);
    proc.wait_log("serving ");
    (proc, ctl)
}

#[test]
fn the_control_socket_is_0700_whatever_the_umask() {
    let dir = TempDir::new("sec-mode");
    let (_proc, ctl) = start_umask_000(&dir, &[]);
    let mode = std::fs::metadata(&ctl).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "control socket mode {mode:o} under umask 000");
}

#[test]
fn another_user_is_refused_even_when_the_mode_lets_them_connect() {
    test_support::require!(is_root(), "needs root to act as uid {NOBODY}");
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("sec-peercred");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (mut proc, ctl) = start_umask_000(&dir, &[]);
    // Open the socket file to everyone: the peer check must still refuse.
    std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = Command::new(program("ovs-appctl"))
        .args(["--timeout=10", "-t"])
        .arg(&ctl)
        .arg("version")
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .expect("run ovs-appctl as nobody");
    assert!(
        !out.status.success(),
        "uid {NOBODY} got an answer: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let log = proc.wait_log("refusing a connection");
    assert!(
        log.contains(&format!("peer uid {NOBODY} is neither echod's user")),
        "{log}"
    );
    // echod's own user still gets in.
    let ours = appctl(&ctl, &["version"]);
    assert_eq!(ours.code, 0, "{ours:?}");
}

#[test]
fn a_stale_socket_of_another_user_is_not_removed() {
    test_support::require!(is_root(), "needs root to chown a socket to uid {NOBODY}");
    let dir = TempDir::new("sec-stale");
    let sock = dir.join("s.sock");
    // A socket file nobody listens on (stale), owned by another user.
    test_support::stale_unix_socket(&sock);
    nix::unistd::chown(&sock, Some(NOBODY.into()), Some(NOBODY.into())).unwrap();
    let remote = format!("--remote=punix:{}", sock.display());
    let log = start_failure(&dir, &[&remote, "--unixctl=none"]);
    assert!(
        log.contains(&format!(
            "a socket file nobody listens on, but owned by uid {NOBODY}"
        )),
        "{log}"
    );
    assert_eq!(
        std::fs::symlink_metadata(&sock).map(|m| m.uid()).ok(),
        Some(NOBODY),
        "the other user's socket was removed"
    );
}

/// A live socket whose backlog is full: a blocking probe would hang echod at start-up.
#[test]
fn a_live_socket_with_a_full_backlog_is_in_use_not_a_hang() {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, connect, listen, socket,
    };
    use std::os::fd::AsRawFd;
    let dir = TempDir::new("sec-backlog");
    let sock = dir.join("s.sock");
    let listener = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    bind(listener.as_raw_fd(), &UnixAddr::new(&sock).unwrap()).unwrap();
    listen(&listener, Backlog::new(0).unwrap()).unwrap();
    // Fill the backlog: non-blocking connects until the kernel says EAGAIN.
    let mut queued = Vec::new();
    loop {
        let c = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .unwrap();
        match connect(c.as_raw_fd(), &UnixAddr::new(&sock).unwrap()) {
            Ok(()) => queued.push(c),
            Err(nix::errno::Errno::EAGAIN) => break,
            Err(e) => panic!("filling the backlog: {e}"),
        }
        assert!(queued.len() < 1000, "the backlog never filled");
    }
    let remote = format!("--remote=punix:{}", sock.display());
    let log = start_failure(&dir, &[&remote, "--unixctl=none"]);
    assert!(log.contains("another process listens on it"), "{log}");
    assert!(Path::new(&sock).exists(), "the live socket was removed");
}

/// A path with a carriage return and an ESC, added over the control socket: neither the log
/// nor the reply carries them raw.
#[test]
fn control_characters_from_users_are_escaped_in_logs_and_replies() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("sec-escape");
    let (mut proc, ctl) = start_umask_000(&dir, &[]);
    let hostile = format!("punix:{}/a\r\x1b[2Kb.sock", dir.path().display());
    let added = appctl(&ctl, &["echod/add-remote", &hostile]);
    assert_eq!(added.code, 0, "{added:?}");
    let listed = appctl(&ctl, &["echod/list-remotes"]);
    assert!(
        !listed.stdout.contains('\r') && !listed.stdout.contains('\x1b'),
        "raw control characters in the reply: {:?}",
        listed.stdout
    );
    assert!(listed.stdout.contains("a\\r\\u{1b}[2Kb.sock"), "{listed:?}");
    let log = proc.wait_log("a\\r\\u{1b}[2Kb.sock");
    assert!(
        !log.contains('\r') && !log.contains('\x1b'),
        "raw control characters in the log: {log:?}"
    );
}

/// A remotes file that is a FIFO or a device is refused at once: no hang on the open, no
/// reading without end.
#[test]
fn special_files_are_refused_without_hanging_or_reading_forever() {
    let dir = TempDir::new("sec-files");
    let fifo = dir.join("remotes.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let zero = std::path::PathBuf::from("/dev/zero");
    for (file, what) in [(&fifo, "a pipe or FIFO"), (&zero, "a character device")] {
        let arg = format!("--remotes-file={}", file.display());
        let log = start_failure(&dir, &[&arg, "--unixctl=none"]);
        assert!(
            log.contains(&format!("not a regular file but {what}")),
            "{log}"
        );
    }
}

/// A remotes file replaced by a link (to `/proc/self/environ`, to a file of another user) is
/// never followed, and a foreign file read as remotes (a copy of an environment) is never
/// repeated whole: each refused line shows at most its start and its length.
#[test]
fn a_link_in_place_of_a_file_is_not_followed_and_a_foreign_file_is_not_repeated() {
    let dir = TempDir::new("sec-link");
    let secret = "planted-secret-token-5f3a9";
    let environ =
        format!("HOME=/root\0PATH=/usr/local/bin:/usr/bin:/bin\0LANG=C.UTF-8\0TOKEN={secret}\0");
    let link = dir.join("remotes.link");
    std::os::unix::fs::symlink("/proc/self/environ", &link).unwrap();
    let arg = format!("--remotes-file={}", link.display());
    let log = start_failure(&dir, &[&arg, "--unixctl=none"]);
    assert!(
        log.contains("a symbolic link; echod does not follow links to its files"),
        "{log}"
    );
    // The same bytes in a regular file: every line refused, none repeated past its start.
    let copy = dir.join("remotes.copy");
    std::fs::write(&copy, environ.repeat(20)).unwrap();
    let ctl = dir.join("ctl");
    let mut p = Proc::echod(
        &dir,
        &[
            &format!("--remotes-file={}", copy.display()),
            &format!("--unixctl={}", ctl.display()),
        ],
    );
    p.wait_log("ignoring");
    let reload = appctl(&ctl, &["echod/reload"]);
    p.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(p.wait_exit().success());
    let log = p.stderr_text();
    assert!(!log.contains(secret), "{log}");
    assert!(!reload.stdout.contains(secret), "{reload:?}");
    assert!(log.lines().all(|l| l.len() < 600), "{log}");
}
