//! Feeds remotes from each origin through the default policy and prints what
//! a daemon would do with them.
//!
//! ```text
//! cargo run -p remote-policy --example remotes -- [ORIGIN=REMOTE ...]
//! cargo run -p remote-policy --example remotes -- command-line=pfd:3 control-socket=pfd:03 database=ptcp:0
//! ```
//!
//! ORIGIN is one of command-line, control-socket, database, config-file.
//! Without arguments a small built-in sample is used. Exits 1 when any remote
//! was refused or ignored, 2 on a malformed argument.
#![forbid(unsafe_code)]

use remote_policy::{Origin, Policy, RemoteSet};

const SAMPLE: &[&str] = &[
    "command-line=pfd:3",
    "command-line=punix:/run/echod/db.sock",
    "control-socket=pfd:03",
    "control-socket=ptcp:0:127.0.0.1",
    "database=pfd:web",
    "database=db:Open_vSwitch,Open_vSwitch,manager_options",
    "config-file=tcp:[::1]",
    "config-file=ptcp:70000",
];

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        args = SAMPLE.iter().map(|s| s.to_string()).collect();
    }
    let mut set = RemoteSet::new(Policy::default());
    let mut refused = false;
    for arg in &args {
        let Some((origin, remote)) = arg.split_once('=') else {
            eprintln!("{arg:?}: expected ORIGIN=REMOTE");
            std::process::exit(2);
        };
        let origin: Origin = match origin.parse() {
            Ok(origin) => origin,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let label = origin.to_string();
        match set.add(origin, remote) {
            Ok(added) => println!("{label:>14}: {remote:<45} accepted ({added:?})"),
            Err(refusal) => {
                refused = true;
                match refusal.warning() {
                    Some(w) => println!("{label:>14}: {remote:<45} ignored: {w}"),
                    None => println!("{label:>14}: {remote:<45} refused: {refusal}"),
                }
            }
        }
    }
    println!("\nremotes in effect:");
    for (remote, origins) in set.iter() {
        println!("  {:<45} from {origins:?}", remote.to_string());
    }
    if refused {
        std::process::exit(1);
    }
}
