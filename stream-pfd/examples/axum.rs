//! An HTTP hello service: socket-activated by systemd, or bound for development; sandboxed; and
//! telling systemd when it is ready.
//!
//! ```text
//! axum [--listen pfd:web] [--fallback 127.0.0.1:8080] [--sandbox on,spawn=deny,...]
//! ```
//!
//! Under systemd (or `systemd-socket-activate -l /tmp/web.sock --fdname=web -- axum`) it serves
//! the passed socket named `web`; started from a shell it binds the fallback (a unix path, an
//! `@abstract` name or `IP:port`). Then it loads the seccomp filter chosen by `--sandbox`
//! (QEMU's `-sandbox` syntax), sends `READY=1` (when `NOTIFY_SOCKET` is set) and prints
//! `serving on ADDRESS (ORIGIN)`. On failure it prints the error's message and exits 1.
//!
//! ```text
//! cargo run -p stream-pfd --features axum,notify --example axum
//! curl http://127.0.0.1:8080/
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;

use axum::{Router, routing::get};
use stream_pfd::PfdSpec;
use stream_pfd::notify::{self, State};

async fn hello() -> &'static str {
    "hello from stream-pfd\n"
}

fn main() -> ExitCode {
    if let Err(err) = run() {
        eprintln!("axum: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The value after `name` on the command line, or `default`.
fn option(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|arg| arg == name);
    i.and_then(|i| args.get(i + 1))
        .map_or(default, String::as_str)
        .to_owned()
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let spec: PfdSpec = option("--listen", "pfd:web").parse()?;
    let sandbox: sandbox_opts::Sandbox = option(
        "--sandbox",
        "on,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    )
    .parse()?;
    let (listener, origin) =
        stream_pfd::listen_or_bind(&spec, &option("--fallback", "127.0.0.1:8080"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = Router::new().route("/", get(hello));
        let server = axum::serve(listener.into_tokio()?, app);
        seccomp_sets::apply(&sandbox, seccomp_sets::Mode::Enforce)?;
        notify::notify(&[State::Ready, State::Status("serving")])?;
        println!(
            "serving on {} ({origin}, sandbox {sandbox})",
            server.local_addr()?
        );
        Ok::<_, Box<dyn std::error::Error>>(server.await?)
    })?;
    Ok(())
}
