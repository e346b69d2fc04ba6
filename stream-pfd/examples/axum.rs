//! An HTTP hello service as a daemon ships it: socket-activated by systemd, or bound for
//! development; sandboxed; telling systemd when it is ready, and pinging its watchdog.
//!
//! ```text
//! axum [--listen pfd:3] [--fallback 127.0.0.1:8080] [--sandbox on,spawn=deny,...]
//! ```
//!
//! Under systemd (or `systemd-socket-activate`) it serves the passed socket: `pfd:3`, the
//! first one, unless `--listen pfd:NAME` names another (`--fdname=NAME`,
//! `FileDescriptorName=NAME`). Started from a shell it binds the fallback (a unix path, an
//! `@abstract` name or `IP:port`). Then it loads the seccomp filter chosen by `--sandbox`
//! (QEMU's `-sandbox` syntax; a warning is printed by the option's parser), sends `READY=1`,
//! starts the watchdog pings when `WatchdogSec=` asks for them, and prints `serving on ADDRESS
//! (SOURCE)`. On failure it prints the error's message and exits 1.
//!
//! ```text
//! cargo build -p stream-pfd --features axum,notify --example axum
//! systemd-socket-activate -l 127.0.0.1:8080 -- target/debug/examples/axum
//! curl http://127.0.0.1:8080/
//! ```
//!
//! The glue is everything between the `glue` markers: 29 lines as rustfmt writes them,
//! comments and blank lines not counted (the `axum_example_glue_is_at_most_30_lines` test
//! counts them). The app (`app`, `hello`), `main`'s error printing and the imports are not
//! glue: a service has them with or without these crates.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use axum::{Router, routing::get};
use clap::Parser;
use seccomp_sets::Mode;
use stream_pfd::notify::{self, State};
use stream_pfd::{ListenFds, PfdSpec};

async fn hello() -> &'static str {
    "hello from stream-pfd\n"
}

fn app() -> Router {
    Router::new().route("/", get(hello))
}

fn main() -> ExitCode {
    if let Err(err) = run() {
        eprintln!("axum: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

// --- glue: start ---
/// An HTTP hello service.
#[derive(Parser)]
struct Cli {
    /// The passed socket to serve: pfd:3 is the first, pfd:NAME the one named NAME.
    #[arg(long, default_value = "pfd:3")]
    listen: PfdSpec,
    /// Where to listen when not socket-activated: a unix path, @abstract or IP:port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    fallback: String,
    /// QEMU's -sandbox syntax: on|off[,obsolete=][,elevateprivileges=][,spawn=][,...].
    #[arg(long, default_value = "on,elevateprivileges=deny,spawn=deny")]
    sandbox: sandbox_opts::Sandbox,
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse(); // a --sandbox warning is printed here
    // Single-threaded still: take the socket (or bind), and the sandbox's per-thread steps.
    let mut fds = ListenFds::builder().unset_env(true).build()?;
    let (listener, source) = fds.take_or_bind(&cli.listen, &cli.fallback)?;
    drop(fds); // closes any passed fd nobody took
    let prepared = seccomp_sets::prepare(&cli.sandbox, Mode::Enforce)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let server = axum::serve(listener.into_tokio()?, app());
        for warning in prepared.load()?.warnings() {
            eprintln!("axum: sandbox: {warning}");
        }
        notify::notify(&[State::Ready, State::Status("serving")])?;
        if let Some(watchdog_timeout) = notify::watchdog()? {
            notify::spawn_watchdog(watchdog_timeout)?;
        }
        println!("serving on {} ({source})", server.local_addr()?);
        Ok(server.await?)
    })
}
// --- glue: end ---
