//! Takes `pfd:` remotes from the command line and prints what it took.
//!
//! ```text
//! pfd-info [--no-pid-check] [--unset-env] [--leave-unclaimed] [--print-env] [--serve]
//!          [--tokio] [--connection | --unvalidated | --named | --all] SPEC...
//!          (`--serve` without a SPEC serves pfd:3, the first passed socket)
//! pfd-info --fallback=ADDR SPEC   (ListenFds::take_or_bind: prints `listening ADDR (ORIGIN)`)
//! pfd-info --features      (prints `features:` and the optional features of this build)
//! ```
//!
//! Try it with systemd's socket activator:
//!
//! ```text
//! systemd-socket-activate -l /tmp/pfd.sock -- target/debug/examples/pfd-info --serve
//! python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("/tmp/pfd.sock"); print(s.recv(100).decode(), end="")'
//! ```
//!
//! With `--fdname=web` the socket is also `pfd:web`; without it systemd names it `unknown`:
//!
//! ```text
//! systemd-socket-activate -l /tmp/pfd.sock --fdname=web -- target/debug/examples/pfd-info --serve pfd:web
//! ```
//!
//! Output, one line per event (the tests parse it):
//!
//! * `activated yes|no passed=N`
//! * `took SPEC fd=N name=NAME family=AF_... local=ADDR nonblock=yes|no cloexec=yes|no` (each
//!   listener of `--named SPEC` and `--all`, which takes every passed socket, too)
//! * `took-connection SPEC fd=N name=NAME family=AF_... local=ADDR peer=ADDR nonblock=...
//!   cloexec=...` (with `--connection`: `take_connection`; with `--serve`, writes `hello from
//!   pfd-info via SPEC` to the connection and prints `served SPEC peer=ADDR`)
//! * `took-unvalidated SPEC fd=N nonblock=... cloexec=...` (with `--unvalidated`; with
//!   `--serve`, reads the fd to its end and prints `read SPEC BYTES`)
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
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::ExitCode;

use stream_pfd::env::ENV_VARS;
use stream_pfd::{Connection, ListenFds, Listener, OnDrop, PfdSpec, TakeError};

/// Which take the specs go through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Take {
    Listener,
    Connection,
    Unvalidated,
    Named,
    All,
}

/// What was taken, to serve after `ListenFds` is dropped.
enum Taken {
    Listener(PfdSpec, Listener),
    Connection(Connection),
    Unvalidated(PfdSpec, OwnedFd),
}

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

fn print_listener(listener: &Listener) {
    let fd = listener.as_raw_fd();
    // The spec as the listener records it (the same as the one given).
    let taken_as = listener.spec().map_or("-".to_owned(), ToString::to_string);
    println!(
        "took {taken_as} fd={fd} name={} family={} local={} {}",
        listener.name().unwrap_or("-"),
        listener.info().family(),
        listener.local_addr(),
        fd_flags(fd)
    );
}

/// Takes `spec` (or, for `Take::All`, every passed socket) the way `how` says.
fn take(fds: &mut ListenFds, how: Take, spec: &PfdSpec) -> Result<Vec<Taken>, TakeError> {
    let listeners = |listeners: Vec<Listener>| {
        let listeners = listeners.into_iter().map(|l| {
            print_listener(&l);
            Taken::Listener(l.spec().expect("taken by spec").clone(), l)
        });
        listeners.collect()
    };
    Ok(match how {
        Take::Listener => listeners(vec![fds.take(spec)?]),
        Take::Named => listeners(fds.take_named(spec)?),
        Take::All => listeners(fds.take_all()?),
        Take::Connection => {
            let connection = fds.take_connection(spec)?;
            let fd = connection.as_raw_fd();
            println!(
                "took-connection {} fd={fd} name={} family={} local={} peer={} {}",
                spec,
                connection.name().unwrap_or("-"),
                connection.info().family(),
                connection.local_addr(),
                connection.peer_addr(),
                fd_flags(fd)
            );
            vec![Taken::Connection(connection)]
        }
        Take::Unvalidated => {
            let fd = fds.take_unvalidated(spec)?;
            let raw = fd.as_raw_fd();
            println!("took-unvalidated {spec} fd={raw} {}", fd_flags(raw));
            vec![Taken::Unvalidated(spec.clone(), fd)]
        }
    })
}

fn serve_std(taken: Vec<Taken>) -> std::io::Result<()> {
    for taken in taken {
        let (spec, listener) = match taken {
            Taken::Listener(spec, listener) => (spec, listener),
            Taken::Connection(connection) => {
                let (spec, peer) = (
                    connection.spec().expect("taken by spec").clone(),
                    connection.peer_addr().clone(),
                );
                let mut stream = connection.into_std();
                stream.set_nonblocking(false)?;
                stream.write_all(greeting(&spec).as_bytes())?;
                println!("served {spec} peer={peer}");
                continue;
            }
            Taken::Unvalidated(spec, fd) => {
                let mut bytes = String::new();
                std::fs::File::from(fd).read_to_string(&mut bytes)?;
                println!("read {spec} {bytes}");
                continue;
            }
        };
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
fn serve_tokio(taken: Vec<Taken>) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        for taken in taken {
            let (spec, mut stream, peer) = match taken {
                Taken::Listener(spec, listener) => {
                    let (stream, peer) = listener.into_tokio()?.accept().await?;
                    (spec, stream, peer)
                }
                Taken::Connection(connection) => {
                    let (spec, peer) = (
                        connection.spec().expect("taken by spec").clone(),
                        connection.peer_addr().clone(),
                    );
                    (spec, connection.into_tokio()?, peer)
                }
                Taken::Unvalidated(..) => {
                    return Err(std::io::Error::other("--tokio serves sockets only"));
                }
            };
            stream.write_all(greeting(&spec).as_bytes()).await?;
            stream.shutdown().await?;
            println!("served {spec} peer={peer} via=tokio");
        }
        Ok(())
    })
}

#[cfg(not(feature = "tokio"))]
fn serve_tokio(_taken: Vec<Taken>) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "--tokio needs the example built with --features tokio",
    ))
}

/// `--fallback=ADDR SPEC`: the development fallback (`ListenFds::take_or_bind`), from the
/// process environment.
fn take_or_bind(specs: &[String], fallback: &str) -> ExitCode {
    let [spec] = specs else {
        eprintln!("pfd-info: --fallback takes one spec");
        return ExitCode::from(2);
    };
    let result = spec
        .parse()
        .map_err(|e: stream_pfd::ParseError| e.to_string())
        .and_then(|spec| {
            let mut fds = ListenFds::from_env().map_err(|e| e.to_string())?;
            fds.take_or_bind(&spec, fallback).map_err(|e| e.to_string())
        });
    match result {
        Ok((listener, origin)) => {
            println!("listening {} ({origin})", listener.local_addr());
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("error: {err}");
            ExitCode::from(1)
        }
    }
}

/// `--stdio`: the inetd-style connection on stdin/stdout (`systemd-socket-activate --inetd
/// --accept`).
/// Reports on stderr: stdout was the client's socket, and is `/dev/null` once taken.
fn serve_stdio() -> ExitCode {
    let conn = match stream_pfd::Connection::take_stdio() {
        Ok(conn) => conn,
        Err(err) => {
            eprintln!("stdio-error: {err}");
            return ExitCode::from(2);
        }
    };
    let fd = conn.as_raw_fd();
    let peer = conn.peer_addr().clone();
    eprintln!(
        "took-stdio fd={fd} family={} local={} peer={peer} {}",
        conn.info().family(),
        conn.local_addr(),
        fd_flags(fd)
    );
    // Would have gone to the client before the take; now it goes to /dev/null.
    println!("a stray line on stdout");
    let mut stream = conn.into_std();
    let served = stream
        .set_nonblocking(false)
        .and_then(|()| stream.write_all(b"hello from pfd-info via stdin\n"));
    match served {
        Ok(()) => {
            eprintln!("served stdio peer={peer}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("stdio-error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let mut builder = ListenFds::builder();
    let (mut serve, mut tokio, mut print_env) = (false, false, false);
    let mut how = Take::Listener;
    let mut fallback = None;
    let mut specs = Vec::new();
    if std::env::args().nth(1).as_deref() == Some("--stdio") {
        return serve_stdio();
    }
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-pid-check" => builder = builder.require_pid_match(false),
            "--unset-env" => builder = builder.unset_env(true),
            "--leave-unclaimed" => builder = builder.on_drop(OnDrop::Leave),
            "--print-env" => print_env = true,
            "--serve" => serve = true,
            "--tokio" => tokio = true,
            "--connection" => how = Take::Connection,
            "--unvalidated" => how = Take::Unvalidated,
            "--named" => how = Take::Named,
            "--all" => how = Take::All,
            _ if arg.starts_with("--fallback=") => {
                fallback = Some(arg["--fallback=".len()..].to_owned())
            }
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

    if let Some(fallback) = fallback {
        return take_or_bind(&specs, &fallback);
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
    if how == Take::All || (serve && specs.is_empty()) {
        // `--all` takes no spec: one pass through the loop, whose spec goes unused. `--serve`
        // without a spec serves pfd:3, the first passed socket.
        specs.push("pfd:3".to_owned());
    }
    for arg in &specs {
        let spec: PfdSpec = match arg.parse() {
            Ok(spec) => spec,
            Err(err) => {
                println!("error: {err}");
                failed = true;
                continue;
            }
        };
        match take(&mut fds, how, &spec) {
            Ok(more) => taken.extend(more),
            Err(err) => {
                println!("error: {err}");
                // All or nothing: after a failed batch, every passed fd is as it was.
                let numbers: Vec<i32> = match (how, spec.number()) {
                    (Take::All | Take::Named, _) => fds.passed().iter().map(|p| p.fd()).collect(),
                    (_, Some(fd)) => vec![fd],
                    (_, None) => Vec::new(),
                };
                for fd in numbers {
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
