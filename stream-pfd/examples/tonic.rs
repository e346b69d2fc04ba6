//! gRPC with tonic, socket-activated or bound for development: the gRPC health service
//! (`grpc.health.v1.Health`), served with `serve_with_incoming` (feature `tonic`).
//!
//! ```text
//! cargo build -p stream-pfd --features tonic --example tonic
//! systemd-socket-activate -l 127.0.0.1:50051 -- target/debug/examples/tonic
//! printf '\0\0\0\0\0' | curl -s --http2-prior-knowledge -H 'content-type: application/grpc' --data-binary @- http://127.0.0.1:50051/grpc.health.v1.Health/Check | od -An -tx1
//! ```
//!
//! The answer, ` 00 00 00 00 02 08 01`, is one gRPC message of 2 bytes: status 1, `SERVING`.
#![forbid(unsafe_code)]

use stream_pfd::ListenFds;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // pfd:3 is the first socket systemd passed; `tonic pfd:grpc` takes the one named grpc.
    let spec = std::env::args().nth(1).unwrap_or("pfd:3".into()).parse()?;
    let mut fds = ListenFds::builder().unset_env(true).build()?;
    let (listener, source) = fds.take_or_bind(&spec, "127.0.0.1:50051")?;
    drop(fds);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let (_reporter, health) = tonic_health::server::health_reporter();
        println!("serving gRPC on {} ({source})", listener.local_addr());
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(listener.into_tokio()?.into_incoming())
            .await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
