//! Loads `-sandbox on,spawn=deny` into this process and shows that threads still
//! work while creating a process is refused with EPERM.
//!
//! ```text
//! cargo run -p seccomp-sets --example deny-spawn
//! ```
//!
//! The filter stays for the rest of the process's life (a seccomp filter cannot
//! be removed), so the example does nothing else afterwards.
#![forbid(unsafe_code)]

use seccomp_sets::{Applied, Mode, Sandbox, apply};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox: Sandbox = "on,spawn=deny".parse()?;
    match apply(&sandbox, Mode::Enforce)? {
        Applied::Off => println!("sandbox is off: nothing loaded"),
        Applied::Loaded(loaded) => println!("loaded: {loaded:?}"),
    }

    let answer = std::thread::spawn(|| 6 * 7)
        .join()
        .expect("thread panicked");
    println!("a thread still runs: {answer}");

    match std::process::Command::new("/bin/true").status() {
        Ok(status) => {
            println!("unexpected: the child ran ({status})");
            std::process::exit(1);
        }
        Err(e) => println!("spawning /bin/true is refused: {e}"),
    }
    Ok(())
}
