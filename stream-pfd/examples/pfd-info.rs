//! Takes `pfd:` remotes from the command line and prints what it took.
//!
//! ```text
//! pfd-info [--no-pid-check] [--unset-env] [--leave-unclaimed] [--print-env] [--serve]
//!          [--tokio] SPEC...
//! pfd-info --features      (prints `features:` and the optional features of this build)
//! ```
//!
//! Try it with systemd's socket activator:
//!
//! ```text
//! systemd-socket-activate -l /tmp/pfd.sock --fdname=web -- \
//!     target/debug/examples/pfd-info --serve pfd:web
//! socat - UNIX-CONNECT:/tmp/pfd.sock
//! ```
//!
//! Output, one line per event (the tests parse it):
//!
//! * `activated yes|no passed=N`
//! * `took SPEC fd=N name=NAME family=AF_... local=ADDR nonblock=yes|no cloexec=yes|no`
//! * `error: MESSAGE` (then `after-error fd=N nonblock=... cloexec=...` for numbers)
//! * `unclaimed: fd N (name NAME): WHAT`, then `unclaimed-fd N name=NAME usable=yes|no` (the
//!   same through the accessors)
//! * `after-drop fd=N nonblock=... cloexec=...` or `after-drop fd=N closed`, for each passed
//!   fd once `ListenFds` is dropped
//! * `env VAR=VALUE` or `env VAR unset` (with `--print-env`, after reading)
//! * `served SPEC peer=ADDR` (with `--serve`: accepts one connection per listener and writes
//!   `hello from pfd-info via SPEC` to it)
//!
//! Exit status: 0 when every spec was taken, 1 when one failed, 2 for bad `LISTEN_*`
//! variables or usage.

use std::io::Write;
use std::process::ExitCode;

use stream_pfd::env::ENV_VARS;
use stream_pfd::{ListenFds, Listener, OnDrop, PfdSpec};

/// `O_NONBLOCK` and `O_CLOEXEC` as `/proc/self/fdinfo` shows them (octal `flags:` line).
fn fd_flags(fd: i32) -> String {
    let Ok(text) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
        return "closed".to_owned();
    };
    let flags = text
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .unwrap_or(0);
    let yes_no = |bit: i32| if flags & bit as u32 != 0 { "yes" } else { "no" };
    format!(
        "nonblock={} cloexec={}",
        yes_no(libc::O_NONBLOCK),
        yes_no(libc::O_CLOEXEC)
    )
}

fn greeting(spec: &PfdSpec) -> String {
    format!("hello from pfd-info via {spec}\n")
}

fn serve_std(taken: Vec<(PfdSpec, Listener)>) -> std::io::Result<()> {
    for (spec, listener) in taken {
        let std_listener = listener.into_std();
        let (mut stream, peer): (Box<dyn Write>, String) = match std_listener {
            stream_pfd::StdListener::Unix(l) => {
                l.set_nonblocking(false)?;
                let (s, addr) = l.accept()?;
                (
                    Box::new(s),
                    stream_pfd::addr::SocketAddress::from(&addr).to_string(),
                )
            }
            stream_pfd::StdListener::Tcp(l) => {
                l.set_nonblocking(false)?;
                let (s, addr) = l.accept()?;
                (Box::new(s), addr.to_string())
            }
        };
        stream.write_all(greeting(&spec).as_bytes())?;
        println!("served {spec} peer={peer}");
    }
    Ok(())
}

#[cfg(feature = "tokio")]
fn serve_tokio(taken: Vec<(PfdSpec, Listener)>) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        for (spec, listener) in taken {
            let listener = listener.into_tokio()?;
            let (mut stream, peer) = listener.accept().await?;
            stream.write_all(greeting(&spec).as_bytes()).await?;
            stream.shutdown().await?;
            println!("served {spec} peer={peer} via=tokio");
        }
        Ok(())
    })
}

#[cfg(not(feature = "tokio"))]
fn serve_tokio(_taken: Vec<(PfdSpec, Listener)>) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "--tokio needs the example built with --features tokio",
    ))
}

fn main() -> ExitCode {
    let mut builder = ListenFds::builder();
    let (mut serve, mut tokio, mut print_env) = (false, false, false);
    let mut specs = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-pid-check" => builder = builder.require_pid_match(false),
            "--unset-env" => builder = builder.unset_env(true),
            "--leave-unclaimed" => builder = builder.on_drop(OnDrop::Leave),
            "--print-env" => print_env = true,
            "--serve" => serve = true,
            "--tokio" => tokio = true,
            "--features" => {
                // Which optional features this build has (the tests pick their build by it).
                let tokio = if cfg!(feature = "tokio") {
                    " tokio"
                } else {
                    ""
                };
                println!("features:{tokio}");
                return ExitCode::SUCCESS;
            }
            _ if arg.starts_with("--") => {
                eprintln!("pfd-info: unknown option {arg}");
                return ExitCode::from(2);
            }
            _ => specs.push(arg),
        }
    }

    let fds = builder.build();
    if print_env {
        for var in ENV_VARS {
            match std::env::var(var) {
                Ok(value) => println!("env {var}={value}"),
                Err(_) => println!("env {var} unset"),
            }
        }
    }
    let mut fds = match fds {
        Ok(fds) => fds,
        Err(err) => {
            println!("env-error: {err}");
            return ExitCode::from(2);
        }
    };
    println!(
        "activated {} passed={}",
        if fds.is_activated() { "yes" } else { "no" },
        fds.passed().len()
    );

    let mut failed = false;
    let mut taken = Vec::new();
    for arg in &specs {
        let spec: PfdSpec = match arg.parse() {
            Ok(spec) => spec,
            Err(err) => {
                println!("error: {err}");
                failed = true;
                continue;
            }
        };
        match fds.take(&spec) {
            Ok(listener) => {
                let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
                // The spec as the listener records it (the same as `spec`).
                let taken_as = listener.spec().map_or("-".to_owned(), ToString::to_string);
                println!(
                    "took {taken_as} fd={fd} name={} family={} local={} {}",
                    listener.name().unwrap_or("-"),
                    listener.info().family(),
                    listener.local_addr(),
                    fd_flags(fd)
                );
                taken.push((spec, listener));
            }
            Err(err) => {
                println!("error: {err}");
                if let Some(fd) = spec.number() {
                    println!("after-error fd={fd} {}", fd_flags(fd));
                }
                failed = true;
            }
        }
    }
    for unclaimed in fds.unclaimed() {
        println!("unclaimed: {unclaimed}");
        println!(
            "unclaimed-fd {} name={} usable={}",
            unclaimed.fd(),
            unclaimed.name(),
            if unclaimed.status().is_ok() {
                "yes"
            } else {
                "no"
            }
        );
    }
    let passed: Vec<i32> = fds.passed().iter().map(|p| p.fd()).collect();
    drop(fds);
    for fd in passed {
        println!("after-drop fd={fd} {}", fd_flags(fd));
    }

    if serve {
        let served = if tokio {
            serve_tokio(taken)
        } else {
            serve_std(taken)
        };
        if let Err(err) = served {
            println!("serve-error: {err}");
            failed = true;
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
