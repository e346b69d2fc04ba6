//! The smallest socket-activated service, with std alone (no feature): greets each client.
//! The root README and stream-pfd's show this file (a test keeps them the same) and run it
//! under `systemd-socket-activate`.
//!
//! ```text
//! cargo build -p stream-pfd --example greet
//! systemd-socket-activate -l 127.0.0.1:8080 -- target/debug/examples/greet
//! python3 -c 'import socket; print(socket.create_connection(("127.0.0.1", 8080)).recv(64).decode(), end="")'
//! ```
#![forbid(unsafe_code)]

use std::io::Write;
use stream_pfd::ListenFds;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // pfd:3 is the first socket systemd passed; `greet pfd:NAME` takes the one named NAME.
    let spec = std::env::args().nth(1).unwrap_or("pfd:3".into()).parse()?;
    let mut fds = ListenFds::builder().unset_env(true).build()?;
    // Not socket-activated (started from a shell): bind 127.0.0.1:8080 instead.
    let (listener, source) = fds.take_or_bind(&spec, "127.0.0.1:8080")?;
    drop(fds); // closes any passed fd nobody took
    eprintln!("serving on {} ({source})", listener.local_addr());
    let listener = listener.into_std();
    listener.set_nonblocking(false)?; // taken sockets are non-blocking, for async runtimes
    loop {
        let (mut client, peer) = listener.accept()?;
        if let Err(err) = client.write_all(b"hello\n") {
            eprintln!("{peer}: {err}"); // one client's problem: serve the next
        }
    }
}
