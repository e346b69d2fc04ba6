//! echod against its peer, the real ovsdb-server (Debian's, package openvswitch-common): echo
//! round trips per second at 1, 4 and 16 client connections, one line each (goal: echod /
//! ovsdb-server >= 1.00 at every count):
//!
//! `echod/peer-ovsdb (N clients): echod X round trips/s, ovsdb-server Y round trips/s, median
//! per-round ratio R (goal >= 1.00)` (`1 client` for N = 1)
//!
//! Both listen on `punix:` and are driven by the same client (`harness/`): N threads, each doing
//! blocking request/reply round trips on its own connection for 0.4 s, reading every reply until
//! it is one complete JSON value and checking that value (as JSON, not as bytes: ovsdb-server
//! re-serializes what it echoes, echod returns the params as received; for these requests both
//! happen to send the same bytes, `{"id":T,"result":["bench",T],"error":null}`). Every round
//! starts both daemons afresh (ovsdb-server on a new database made by `ovsdb-tool create` from a
//! one-table schema written here: Debian ships `vswitch.ovsschema` in openvswitch-switch, which
//! the host need not have), waits until each answers an echo, and measures them in alternating
//! order (AB, BA, ...); the ratio is the median of the per-round ratios. Read it against the A/A
//! noise floor printed by `benches/echod.rs`.
//!
//! ovsdb-server runs in the foreground (no `--detach`, killed with its `Proc` guard) and writes
//! only into the temporary directory: its control socket is `--unixctl=DIR/...`, no pidfile or
//! log file is asked for, console logging (stderr, into `DIR`) is at `warn`, syslog is off with
//! the `null` method (not even a connect to `/dev/log`), and `OVS_RUNDIR`/`OVS_LOGDIR`/
//! `OVS_DBDIR` point at `DIR` in case a default path is used after all (checked with strace:
//! besides `DIR` it only reads, and opens one unnamed `O_TMPFILE` in /tmp). Without
//! ovsdb-server or ovsdb-tool the line says `skipped (...)`; under `HARDEN_TEST_STRICT=1` that
//! is a failure.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "harness/mod.rs"]
mod harness;

use common::{Proc, TempDir, wait_listening};
use harness::{Check, Comparison, Target, compare, start_echod};
use std::path::{Path, PathBuf};
use std::process::Command;

const CLIENT_COUNTS: [usize; 3] = [1, 4, 16];

/// The smallest schema ovsdb-server accepts: one table, one column. Echo never touches it.
const SCHEMA: &str =
    r#"{"name":"Bench","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"integer"}}}}}"#;

/// The real ovsdb-server.
#[derive(Debug)]
struct Ovsdb {
    server: PathBuf,
    tool: PathBuf,
    schema: PathBuf,
}

impl Ovsdb {
    /// A fresh database `DIR/NAME.db` and ovsdb-server serving it on `punix:DIR/NAME.sock`, once
    /// it answers an echo.
    fn start(&self, dir: &TempDir, name: &str) -> Target {
        let db = dir.join(&format!("{name}.db"));
        let sock = dir.join(&format!("{name}.sock"));
        let ctl = dir.join(&format!("{name}.ctl"));
        for stale in [&db, &sock, &ctl] {
            let _ = std::fs::remove_file(stale);
        }
        let out = Command::new(&self.tool)
            .arg("create")
            .arg(&db)
            .arg(&self.schema)
            .output()
            .expect("run ovsdb-tool");
        assert!(out.status.success(), "ovsdb-tool create: {out:?}");
        let remote = format!("--remote=punix:{}", sock.display());
        let unixctl = format!("--unixctl={}", ctl.display());
        let dir_str = dir.path().to_str().expect("a UTF-8 temporary directory");
        let mut p = Proc::spawn_env(
            dir,
            name,
            self.server.to_str().expect("a UTF-8 path to ovsdb-server"),
            &[
                "--no-chdir",
                &unixctl,
                &remote,
                "-vconsole:warn",
                "-vsyslog:off",
                "-vfile:off",
                "--syslog-method=null",
                db.to_str().expect("a UTF-8 database path"),
            ],
            &[
                ("OVS_RUNDIR", dir_str),
                ("OVS_LOGDIR", dir_str),
                ("OVS_DBDIR", dir_str),
            ],
        );
        wait_listening(&sock, &mut p);
        ready(&sock);
        Target {
            procs: vec![p],
            sock,
        }
    }
}

/// Waits until the server at `sock` answers an echo (checked as JSON).
fn ready(sock: &Path) {
    common::connect_unix(sock).echo(0, serde_json::json!(["ready"]));
}

/// Both programs, or the name of the first one missing.
fn find_ovsdb(dir: &TempDir) -> Result<Ovsdb, &'static str> {
    // Debian puts ovsdb-server in /usr/sbin, which find_program searches after PATH.
    let server = test_support::find_program("ovsdb-server").ok_or("ovsdb-server")?;
    let tool = test_support::find_program("ovsdb-tool").ok_or("ovsdb-tool")?;
    let schema = dir.join("bench.ovsschema");
    std::fs::write(&schema, SCHEMA).expect("write the schema");
    Ok(Ovsdb {
        server,
        tool,
        schema,
    })
}

fn main() {
    let dir = TempDir::new("peer");
    let ovsdb = match find_ovsdb(&dir) {
        Ok(o) => o,
        Err(missing) => {
            let reason = format!("{missing} not found; install openvswitch-common");
            // Panics under HARDEN_TEST_STRICT=1.
            test_support::skip("echod/peer-ovsdb", &reason);
            println!("echod/peer-ovsdb: skipped ({reason})");
            return;
        }
    };
    for clients in CLIENT_COUNTS {
        let plural = if clients == 1 { "" } else { "s" };
        let what = format!("echod/peer-ovsdb ({clients} client{plural})");
        compare(
            Comparison {
                what: &what,
                goal: "goal >= 1.00",
                names: ("echod", "ovsdb-server"),
                clients,
                // ovsdb-server's bytes need not be echod's: the same JSON check for both.
                check: Check::Json,
            },
            &dir,
            |d, r| {
                let t = start_echod(d, &format!("echod-c{clients}-r{r}"), &[]);
                ready(&t.sock);
                t
            },
            |d, r| ovsdb.start(d, &format!("ovsdb-c{clients}-r{r}")),
        );
    }
}
