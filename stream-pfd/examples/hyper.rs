//! HTTP with a plain hyper service, socket-activated or bound for development:
//! `stream_pfd::hyper::serve` is the accept loop (feature `hyper`).
//!
//! ```text
//! cargo build -p stream-pfd --features hyper --example hyper
//! systemd-socket-activate -l 127.0.0.1:8080 -- target/debug/examples/hyper
//! curl http://127.0.0.1:8080/
//! ```
#![forbid(unsafe_code)]

use std::convert::Infallible;

use hyper::{Request, Response, body::Incoming, service::service_fn};
use stream_pfd::ListenFds;

async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("hello from hyper\n".to_owned()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // pfd:3 is the first socket systemd passed; `hyper pfd:web` takes the one named web.
    let spec = std::env::args().nth(1).unwrap_or("pfd:3".into()).parse()?;
    let mut fds = ListenFds::builder().unset_env(true).build()?;
    let (listener, source) = fds.take_or_bind(&spec, "127.0.0.1:8080")?;
    drop(fds);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        println!("serving on {} ({source})", listener.local_addr());
        stream_pfd::hyper::serve(listener.into_tokio()?, service_fn(hello)).await
    })?;
    Ok(())
}
