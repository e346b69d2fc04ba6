//! `cargo xtask bench`: every crate's benchmarks (each measures its own baseline in the same run).
//!
//! echod's peer benchmark runs against the newest ovsdb-server: sid's, from a cached chroot
//! ([`peer_root`]), built here when missing; without it (not root, no network) it falls back to
//! the host's ovsdb-server and says so loudly.

mod peer_root;

use crate::util::{cargo, run};

/// `cargo xtask bench [-p CRATE]...`.
pub(crate) fn bench_command(args: &[String]) -> Result<(), String> {
    let packages = packages(args)?;
    crate::deps::ensure_host()?;
    let mut bench = cargo();
    bench.arg("bench");
    if packages.is_empty() {
        bench.arg("--workspace");
    }
    for p in &packages {
        bench.args(["--package", p]);
    }
    bench.arg("--all-features");
    match peer_root::ensure() {
        Ok(peer) => {
            eprintln!("xtask: echod's peer: {}", peer.describe());
            bench.env("HARDEN_OVSDB_ROOT", peer.root());
        }
        Err(why) => {
            let note = format!(
                "NOTE: echod's peer benchmark runs against the HOST's ovsdb-server, not the \
                 newest one (Debian sid's): {why}"
            );
            eprintln!("xtask: {note}");
            bench.env("HARDEN_OVSDB_FALLBACK", note);
        }
    }
    run(&mut bench)?;
    if packages.is_empty() {
        crate::vm::bench()
    } else {
        Ok(())
    }
}

/// The crates `-p NAME` / `--package NAME` name (repeatable; none: every crate and the VM
/// figures).
fn packages(args: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-p" | "--package" => out.push(
                it.next()
                    .ok_or_else(|| format!("`{a}` needs a crate name"))?
                    .clone(),
            ),
            other => match other.strip_prefix("--package=") {
                Some(p) => out.push(p.to_string()),
                None => return Err(format!("`bench` takes only -p CRATE, got `{other}`")),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_package_options_are_taken() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(packages(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(
            packages(&args(&["-p", "echod", "--package=stream-pfd"])).unwrap(),
            ["echod", "stream-pfd"]
        );
        assert!(
            packages(&args(&["-p"]))
                .unwrap_err()
                .contains("needs a crate name")
        );
        assert!(
            packages(&args(&["--all"]))
                .unwrap_err()
                .contains("only -p CRATE")
        );
    }
}
