//! An HTTP hello service: socket-activated by systemd, or bound for development.
//!
//! ```text
//! axum [--listen pfd:web] [--fallback 127.0.0.1:8080]
//! ```
//!
//! Under systemd (or `systemd-socket-activate -l /tmp/web.sock --fdname=web -- axum`) it serves
//! the passed socket named `web`; started from a shell it binds the fallback (a unix path, an
//! `@abstract` name or `IP:port`). It prints `serving on ADDRESS (ORIGIN)` once it is ready, and
//! on failure the error's message, exiting 1.
//!
//! ```text
//! cargo run -p stream-pfd --features axum --example axum
//! curl http://127.0.0.1:8080/
//! ```

use std::process::ExitCode;

use axum::{Router, routing::get};
use stream_pfd::PfdSpec;

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
    let value = args
        .iter()
        .position(|arg| arg == name)
        .and_then(|i| args.get(i + 1));
    value.map_or(default, String::as_str).to_owned()
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let spec: PfdSpec = option("--listen", "pfd:web").parse()?;
    let fallback = option("--fallback", "127.0.0.1:8080");
    let (listener, origin) = stream_pfd::listen_or_bind(&spec, &fallback)?;
    // Here, before serving: drop privileges, load the sandbox, then tell systemd READY=1.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = Router::new().route("/", get(hello));
        let server = axum::serve(listener.into_tokio()?, app);
        println!("serving on {} ({origin})", server.local_addr()?);
        server.await
    })?;
    Ok(())
}
