//! Test support: skipping, fd placement in child processes, temp dirs, sockets.
#![allow(dead_code, unreachable_pub)]

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, UnixAddr, bind, listen, socket,
};

#[allow(unused_imports)]
pub use test_support::{TempDir, skip, skip_kernel_feature};

/// The `pfd-info` example binary that `cargo test` built with this test's features, claimed
/// out of the shared target directory (see [`test_support::bin`]): another cargo run that
/// re-links `examples/pfd-info`, or builds it with other features, cannot change it mid-test.
pub fn pfd_info(test: &str) -> Option<PathBuf> {
    example(test, "pfd-info", built_with_our_features)
}

/// The `axum` example (feature `axum`), claimed like [`pfd_info`].
pub fn axum_example(test: &str) -> Option<PathBuf> {
    example(test, "axum", |_| true)
}

/// Any other example (built when this test's features include its `required-features`),
/// claimed like [`pfd_info`].
pub fn example_binary(test: &str, name: &str) -> Option<PathBuf> {
    example(test, name, |_| true)
}

/// The example `name` that `cargo test` built, claimed once per test binary: the shared name
/// first, then cargo's per-build names (one per feature set), the first that `fits`.
fn example(test: &str, name: &str, fits: fn(&Path) -> bool) -> Option<PathBuf> {
    static CLAIMED: std::sync::Mutex<Vec<(String, Option<PathBuf>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
    let found = match claimed.iter().find(|(n, _)| n == name) {
        Some((_, found)) => found.clone(),
        None => {
            let found = find_example(name, fits);
            claimed.push((name.to_owned(), found.clone()));
            found
        }
    };
    if found.is_none() {
        skip(
            test,
            &format!(
                "the {name} example is not built with this test's features (run `cargo test -p \
                 stream-pfd` with the same features, which builds examples)"
            ),
        );
    }
    found
}

fn find_example(name: &str, fits: fn(&Path) -> bool) -> Option<PathBuf> {
    let examples = std::env::current_exe()
        .ok()?
        .parent()?
        .parent()?
        .join("examples");
    let hashed_prefix = format!("{}-", name.replace('-', "_"));
    let mut candidates = vec![examples.join(name)];
    let mut hashed: Vec<PathBuf> = std::fs::read_dir(&examples)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&hashed_prefix) && !n.contains('.'))
        })
        .collect();
    hashed.sort();
    candidates.extend(hashed);
    candidates
        .into_iter()
        .filter(|c| c.exists())
        .map(|c| test_support::bin::claim(&c))
        .find(|claimed| fits(claimed))
}

/// Whether `pfd-info --features` lists the features this test was built with.
fn built_with_our_features(program: &Path) -> bool {
    let Ok(out) = Command::new(program).arg("--features").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let has_tokio = text.trim() == "features: tokio";
    has_tokio == cfg!(feature = "tokio")
}

/// A command that runs `program args` with `fds` placed at 3, 4, ... (in the child only, see
/// [`test_support::fds`]), the `LISTEN_*` variables of this process removed and `env` set. With
/// `listen_pid_self`, `LISTEN_PID` is set to the child's own pid by an `sh` wrapper that
/// `exec`s the program (same pid).
pub fn command_with_fds(
    program: &Path,
    args: &[&str],
    fds: &[BorrowedFd<'_>],
    env: &[(&str, &str)],
    listen_pid_self: bool,
) -> Command {
    let mut cmd = if listen_pid_self {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c")
            .arg("LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"")
            .arg(program);
        sh
    } else {
        Command::new(program)
    };
    cmd.args(args);
    for var in stream_pfd::env::ENV_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    test_support::fds::place_from_3(&mut cmd, fds);
    cmd
}

/// Runs `pfd-info` with `fds` at 3.. and returns (exit code, stdout).
pub fn run_pfd_info(
    program: &Path,
    args: &[&str],
    fds: &[BorrowedFd<'_>],
    env: &[(&str, &str)],
    listen_pid_self: bool,
) -> (i32, String) {
    let output: Output = command_with_fds(program, args, fds, env, listen_pid_self)
        .stdin(Stdio::null())
        .output()
        .expect("run pfd-info");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("pfd-info {args:?} stdout:\n{stdout}stderr:\n{stderr}");
    (output.status.code().unwrap_or(-1), stdout)
}

/// The line of `stdout` starting with `prefix`, or a panic showing the output.
pub fn line<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{stdout}"))
}

/// Every line of `stdout` starting with `prefix`, in order.
pub fn lines<'a>(stdout: &'a str, prefix: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// A unique abstract socket name.
pub fn abstract_name(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "stream-pfd-test-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A listening socket in the abstract namespace.
pub fn abstract_listener(name: &str) -> OwnedFd {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    bind(
        fd.as_raw_fd(),
        &UnixAddr::new_abstract(name.as_bytes()).unwrap(),
    )
    .expect("bind");
    listen(&fd, Backlog::new(16).unwrap()).expect("listen");
    fd
}

/// A socket of `family`/`ty`, unbound, close-on-exec.
pub fn raw_socket(family: AddressFamily, ty: SockType) -> OwnedFd {
    socket(family, ty, SockFlag::SOCK_CLOEXEC, None).expect("socket")
}

/// A TCP socket bound to 127.0.0.1 (ephemeral port) without listen().
pub fn bound_not_listening_tcp() -> OwnedFd {
    let fd = raw_socket(AddressFamily::Inet, SockType::Stream);
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("bind");
    fd
}

/// Reads `O_NONBLOCK` and `FD_CLOEXEC` of `fd`.
pub fn flags(fd: BorrowedFd<'_>) -> (bool, bool) {
    use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
    let status = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).unwrap());
    let fd_flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
    (
        status.contains(OFlag::O_NONBLOCK),
        fd_flags.contains(FdFlag::FD_CLOEXEC),
    )
}

/// Sets or clears `O_NONBLOCK` of `fd`. (Tests never clear `FD_CLOEXEC` in this process:
/// the fd would leak into children spawned concurrently by other tests.)
pub fn set_nonblock(fd: BorrowedFd<'_>, nonblock: bool) {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let mut status = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).unwrap());
    status.set(OFlag::O_NONBLOCK, nonblock);
    fcntl(fd, FcntlArg::F_SETFL(status)).unwrap();
}
