//! The peer, side by side: Open vSwitch's `ovsdb-server` 4.0 (the release that introduced
//! `pfd:`) and echod, started by the same kind of systemd units and put through the same
//! checks, driven by the real `ovs-appctl` and `ovsdb-client`.
//!
//! [`CHECKS`] is the comparison table: what each check does and what each daemon is expected to
//! do. echod must behave on every row. ovsdb-server's column is its behaviour as measured
//! (4.0.0 in Debian unstable), so that a change in Open vSwitch shows up as a failed row naming
//! the change, never as a silent pass. The table is snapshot-tested on the host
//! (`expected_table`), and the scenario prints the observed one under the suite's results.

use super::ctx::{Ctx, check_echo_reply, echo_request, ensure, run, tail};
use super::{Need, Scenario};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

/// Where the peer's units put their sockets.
const DIR: &str = "/run/peer";

pub(super) const SCENARIOS: &[Scenario] = &[Scenario {
    name: "peer-ovsdb-side-by-side",
    about: "echod and Open vSwitch's ovsdb-server 4.0 under the same socket units and the same \
            checks (activation, names, run-time add-remote of every pfd: spelling, config file, \
            datagram, Accept=yes, unlistened, not a socket, not open, restart under load)",
    // Written at run time, one set per daemon and check.
    units: &[],
    timeout: Duration::from_secs(150),
    needs: &[Need::Check(
        "ovsdb-server 4.0 or later (pfd:)",
        ovsdb_has_pfd,
    )],
    check: side_by_side,
}];

/// What a daemon did on one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Did {
    /// What a strict daemon does (the row's "behaved" column).
    Behaved,
    /// Anything else.
    DidNot,
}

/// One row of the comparison.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Short name (the first column).
    pub id: &'static str,
    /// What "behaved" means on this row.
    pub behaved: &'static str,
    /// What echod must do (always [`Did::Behaved`]).
    pub echod: Did,
    /// What ovsdb-server 4.0 does, as measured; `None` where it depends on timing (the row
    /// is shown, not asserted, for the peer).
    pub ovsdb: Option<Did>,
    /// What ovsdb-server 4.0 was seen doing.
    pub ovsdb_seen: &'static str,
}

use Did::{Behaved, DidNot};

/// The spellings given to run-time `add-remote`, one row each.
pub const SPELLINGS: &[&str] = &[
    "pfd:3", "pfd:03", "pfd: 3", "pfd:+3", " pfd:3", "PFD:3", "pfd:peer",
];

/// The comparison table (one place; snapshot-tested).
pub const CHECKS: &[Check] = &[
    Check {
        id: "activation pfd:3",
        behaved: "socket-activated by the first client; echo and ovsdb-client list-dbs answered",
        echod: Behaved,
        ovsdb: Some(Behaved),
        ovsdb_seen: "serves on the passed fd",
    },
    Check {
        id: "activation pfd:NAME",
        behaved: "FileDescriptorName=peer, --remote=pfd:peer: served",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "\"bad file descriptor\": names are not in its pfd: grammar",
    },
    Check {
        id: "add-remote \"pfd:3\"",
        behaved: "refused at run time (non-zero exit), remote list unchanged",
        echod: Behaved,
        ovsdb: Some(Behaved),
        ovsdb_seen: "refused: only on the command line",
    },
    Check {
        id: "add-remote \"pfd:03\"",
        behaved: "refused at run time (non-zero exit), remote list unchanged",
        echod: Behaved,
        ovsdb: Some(Behaved),
        ovsdb_seen: "refused: only on the command line",
    },
    Check {
        id: "add-remote \"pfd: 3\"",
        behaved: "refused at run time (non-zero exit), remote list unchanged",
        echod: Behaved,
        ovsdb: Some(Behaved),
        ovsdb_seen: "refused: only on the command line",
    },
    Check {
        id: "add-remote \"pfd:+3\"",
        behaved: "refused at run time (non-zero exit), remote list unchanged",
        echod: Behaved,
        ovsdb: Some(Behaved),
        ovsdb_seen: "refused: only on the command line",
    },
    Check {
        id: "add-remote \" pfd:3\"",
        behaved: "refused at run time (non-zero exit), remote list unchanged",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "accepted into its remotes; then fails to open for ever",
    },
    Check {
        id: "add-remote \"PFD:3\"",
        behaved: "refused at run time (non-zero exit), remote list unchanged",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "accepted into its remotes; then fails to open for ever",
    },
    Check {
        id: "add-remote \"pfd:peer\"",
        behaved: "refused at run time (non-zero exit), remote list unchanged",
        echod: Behaved,
        ovsdb: Some(Behaved),
        ovsdb_seen: "refused: only on the command line",
    },
    Check {
        id: "config file pfd:3",
        behaved: "pfd:3 in the daemon's config file is not served (command line only)",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "serves on the fd named in --config-file",
    },
    Check {
        id: "datagram socket",
        behaved: "ListenDatagram= given as pfd:3: exits with an error, the unit fails",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "logs the error and keeps running without serving",
    },
    Check {
        id: "Accept=yes connection",
        behaved: "a connected socket given as pfd:3: exits with an error, the unit fails",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "logs the error and keeps running without serving",
    },
    Check {
        id: "socket not listening",
        behaved: "a bound stream socket without listen() as pfd:3: exits with an error",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "logs the error and keeps running without serving",
    },
    Check {
        id: "not a socket",
        behaved: "a regular file as pfd:3: exits with an error, the unit fails",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "logs the error and keeps running without serving",
    },
    Check {
        id: "fd not open",
        behaved: "--remote=pfd:4 with one fd passed: exits with an error, the unit fails",
        echod: Behaved,
        ovsdb: Some(DidNot),
        ovsdb_seen: "takes its own fd 4 (a file): \"not a socket\", keeps running",
    },
    Check {
        id: "restart under load",
        behaved: "4 clients, one connection per request, 2 systemctl restarts: every request answered",
        echod: Behaved,
        ovsdb: None,
        ovsdb_seen: "exits at SIGTERM with accepted requests unanswered (2 of 443 lost once)",
    },
];

/// The expected table as text (what the host snapshot-tests and the docs show).
pub fn expected_table() -> String {
    let word = |d: Option<Did>| match d {
        Some(Behaved) => "behaved",
        Some(DidNot) => "did not",
        None => "timing",
    };
    let mut s = format!(
        "{:<24} {:<8} {:<8} {}\n",
        "check", "echod", "ovsdb", "ovsdb-server 4.0 seen doing"
    );
    for c in CHECKS {
        s.push_str(&format!(
            "{:<24} {:<8} {:<8} {}\n",
            c.id,
            word(Some(c.echod)),
            word(c.ovsdb),
            c.ovsdb_seen
        ));
    }
    s
}

/// The first line of `ovsdb-server --version` (`ovsdb-server (Open vSwitch) 4.0.0`).
fn ovsdb_version() -> Result<String, String> {
    let ran = run("ovsdb-server", &["--version"])?;
    Ok(ran.stdout.lines().next().unwrap_or("").to_string())
}

/// `ovsdb-server --version` says 4.0 or later (the first release with `pfd:`).
fn ovsdb_has_pfd() -> Result<(), String> {
    let first = ovsdb_version()?;
    match parse_ovs_version(&first) {
        Some(v) if v >= (4, 0) => Ok(()),
        Some((a, b)) => Err(format!("this guest has ovsdb-server {a}.{b}, without pfd:")),
        None => Err(format!("cannot read the version from {first:?}")),
    }
}

/// `ovsdb-server (Open vSwitch) 4.0.0` -> (4, 0).
pub fn parse_ovs_version(line: &str) -> Option<(u32, u32)> {
    let v = line.rsplit(' ').next()?;
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The two daemons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Echod,
    Ovsdb,
}

impl Daemon {
    const BOTH: [Daemon; 2] = [Daemon::Echod, Daemon::Ovsdb];

    fn tag(self) -> &'static str {
        match self {
            Daemon::Echod => "e",
            Daemon::Ovsdb => "o",
        }
    }

    /// The prefix of its unixctl commands.
    fn ctl_prefix(self) -> &'static str {
        match self {
            Daemon::Echod => "echod",
            Daemon::Ovsdb => "ovsdb-server",
        }
    }

    /// A `[Service]` section for `unit` (runtime directory /run/UNIT, control socket
    /// /run/UNIT/ctl) running the daemon with `args`, behind `wrapper` (empty, or a program
    /// that execs the rest). Both run as Type=exec, so systemd treats them alike.
    fn service(self, unit: &str, wrapper: &str, args: &str) -> String {
        let dir = format!("/run/{unit}");
        match self {
            Daemon::Echod => format!(
                "[Unit]\nDescription=peer comparison: echod\n\n[Service]\nType=exec\n\
                 RuntimeDirectory={unit}\n\
                 ExecStart={wrapper}/usr/local/bin/echod --unixctl={dir}/ctl {args}\n"
            ),
            Daemon::Ovsdb => {
                let db = if args.contains("--config-file") {
                    String::new()
                } else {
                    format!("{dir}/db ")
                };
                format!(
                    "[Unit]\nDescription=peer comparison: ovsdb-server\n\n[Service]\nType=exec\n\
                     RuntimeDirectory={unit}\n\
                     ExecStartPre=/usr/bin/ovsdb-tool create {dir}/db \
                     /usr/share/openvswitch/vswitch.ovsschema\n\
                     ExecStart={wrapper}/usr/sbin/ovsdb-server {db}--unixctl={dir}/ctl \
                     --no-chdir -vconsole:info -vsyslog:off {args}\n"
                )
            }
        }
    }
}

/// A `[Socket]` unit with `listen` lines.
fn socket_unit(listen: &str) -> String {
    format!("[Unit]\nDescription=peer comparison socket\n\n[Socket]\n{listen}\n")
}

/// What one daemon did on one check, and what was seen.
#[derive(Debug, Clone)]
struct Seen {
    did: Did,
    what: String,
}

fn seen(did: Did, what: impl Into<String>) -> Seen {
    Seen {
        did,
        what: what.into(),
    }
}

/// One daemon's side of the comparison: its units and its row of observations.
struct Side {
    daemon: Daemon,
    seen: Vec<Seen>,
}

fn side_by_side(cx: &mut Ctx) -> Result<(), String> {
    std::fs::create_dir_all(DIR).map_err(|e| format!("mkdir {DIR}: {e}"))?;
    let version = ovsdb_version()?;
    let mut units: Vec<(String, String)> = Vec::new();
    for d in Daemon::BOTH {
        units.extend(units_for(d));
    }
    let refs: Vec<(&str, &str)> = units
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    super::ctx::install_units(&refs)?;
    cx.units.extend(units.iter().map(|(n, _)| n.clone()));

    // The failure checks first, all at once: each daemon settles (fails, or logs and keeps
    // running) while the others are checked.
    let mut failing: Vec<String> = Vec::new();
    for d in Daemon::BOTH {
        let t = d.tag();
        for case in FAILURE_CASES {
            if case.has_socket() {
                failing.push(format!("hp{t}-{}.socket", case.key));
            }
            // An Accept=yes socket starts an instance per connection (see `settle_all`).
            if !case.per_connection() {
                failing.push(format!("hp{t}-{}.service", case.key));
            }
        }
    }
    let mut start = vec!["start", "--no-block"];
    start.extend(failing.iter().map(String::as_str));
    cx.systemctl(&start)?;

    let mut settled = settle_all(cx)?.into_iter();
    let mut errors: Vec<String> = Vec::new();
    let mut sides: Vec<Side> = Vec::new();
    for d in Daemon::BOTH {
        let failures = settled.next().ok_or("no failure rows")?;
        // A check that could not be carried out is a row that did not behave (and a failure
        // of the scenario), so the table is printed whatever happens.
        let mut row = Vec::new();
        let mut push = |r: Result<Seen, String>| {
            row.push(r.unwrap_or_else(|e| {
                errors.push(format!("{}: {e}", d.ctl_prefix()));
                seen(DidNot, format!("could not check: {e}"))
            }))
        };
        push(activation(cx, d, "act", "pfd:3"));
        push(activation(cx, d, "name", "pfd:peer"));
        for spelling in SPELLINGS {
            push(add_remote(cx, d, spelling));
        }
        push(config_file(cx, d));
        for f in failures {
            push(Ok(f));
        }
        push(restart_under_load(cx, d));
        sides.push(Side {
            daemon: d,
            seen: row,
        });
    }

    // The table, then the verdict: echod's row in full, ovsdb-server's against CHECKS.
    cx.note(format!(
        "peer: {version}; check x daemon (behaved / did not)"
    ));
    cx.note(format!(
        "{:<24} {:<9} {:<9} what was seen (echod | ovsdb-server)",
        "check", "echod", "ovsdb"
    ));
    let mut problems = Vec::new();
    for (i, c) in CHECKS.iter().enumerate() {
        let (e, o) = (&sides[0].seen[i], &sides[1].seen[i]);
        let word = |d: Did| if d == Behaved { "behaved" } else { "did not" };
        cx.note(format!(
            "{:<24} {:<9} {:<9} {} | {}",
            c.id,
            word(e.did),
            word(o.did),
            e.what,
            o.what
        ));
        for (side, want) in [(&sides[0], Some(c.echod)), (&sides[1], c.ovsdb)] {
            let got = &side.seen[i];
            let Some(want) = want else { continue };
            if got.did != want {
                problems.push(format!(
                    "{} `{}`: expected {}, got {} ({})",
                    side.daemon.ctl_prefix(),
                    c.id,
                    word(want),
                    word(got.did),
                    got.what
                ));
            }
        }
    }
    ensure(errors.is_empty(), || {
        format!(
            "some checks could not be carried out: {}",
            errors.join("; ")
        )
    })?;
    ensure(problems.is_empty(), || {
        format!(
            "the comparison differs from the expected table (vmtests::scenarios::peer::CHECKS): {}",
            problems.join("; ")
        )
    })
}

/// The unit files of one daemon's checks.
fn units_for(d: Daemon) -> Vec<(String, String)> {
    let t = d.tag();
    let mut v = Vec::new();
    let sock = |key: &str| format!("{DIR}/hp{t}-{key}.sock");
    // Activation by number and by name.
    v.push((
        format!("hp{t}-act.socket"),
        socket_unit(&format!("ListenStream={}", sock("act"))),
    ));
    v.push((
        format!("hp{t}-act.service"),
        d.service(&format!("hp{t}-act"), "", "--remote=pfd:3"),
    ));
    v.push((
        format!("hp{t}-name.socket"),
        socket_unit(&format!(
            "ListenStream={}\nFileDescriptorName=peer",
            sock("name")
        )),
    ));
    v.push((
        format!("hp{t}-name.service"),
        d.service(&format!("hp{t}-name"), "", "--remote=pfd:peer"),
    ));
    // The config file names pfd:3 (written by `config_file` before the start).
    v.push((
        format!("hp{t}-cfg.socket"),
        socket_unit(&format!("ListenStream={}", sock("cfg"))),
    ));
    v.push((
        format!("hp{t}-cfg.service"),
        d.service(
            &format!("hp{t}-cfg"),
            "",
            &format!("--config-file={DIR}/hp{t}-cfg.json"),
        ),
    ));
    for case in FAILURE_CASES {
        let unit = format!("hp{t}-{}", case.key);
        if case.has_socket() {
            let listen = case.listen.replace("SOCK", &sock(case.key));
            v.push((format!("{unit}.socket"), socket_unit(&listen)));
        }
        let wrapper = case.wrapper.replace("SOCK", &sock(case.key));
        let (name, svc_unit) = if case.per_connection() {
            (format!("{unit}@.service"), format!("{unit}-%i"))
        } else {
            (format!("{unit}.service"), unit.clone())
        };
        v.push((name, d.service(&svc_unit, &wrapper, case.args)));
    }
    v.push((
        format!("hp{t}-load.socket"),
        socket_unit(&format!("ListenStream={}", sock("load"))),
    ));
    v.push((
        format!("hp{t}-load.service"),
        d.service(&format!("hp{t}-load"), "", "--remote=pfd:3"),
    ));
    v
}

/// A check where the strict answer is to exit with an error.
struct FailureCase {
    key: &'static str,
    /// What echod's error must say (its row is asserted in full: failing for another reason,
    /// a wrapper that could not exec, say, is not "behaved").
    echod_says: &'static str,
    /// The `.socket` unit's listen lines (SOCK = its path); empty: no socket unit.
    listen: &'static str,
    /// A program before the daemon (SOCK = the socket path).
    wrapper: &'static str,
    args: &'static str,
}

impl FailureCase {
    /// Whether it has a `.socket` unit.
    fn has_socket(&self) -> bool {
        !self.listen.is_empty()
    }

    /// `Accept=yes`: systemd starts one instance of a template per connection.
    fn per_connection(&self) -> bool {
        self.listen.contains("Accept=yes")
    }
}

/// In the order of their rows in [`CHECKS`].
const FAILURE_CASES: &[FailureCase] = &[
    FailureCase {
        key: "dgram",
        echod_says: "not a stream socket",
        listen: "ListenDatagram=SOCK",
        wrapper: "",
        args: "--remote=pfd:3",
    },
    FailureCase {
        key: "accept",
        echod_says: "not a listening socket: fd 3 is a connected stream socket",
        listen: "ListenStream=SOCK\nAccept=yes",
        wrapper: "",
        args: "--remote=pfd:3",
    },
    FailureCase {
        key: "unlistened",
        echod_says: "not a listening socket: fd 3 is a stream socket bound to",
        listen: "",
        wrapper: "/usr/local/bin/vm-guest pass-fd unlistened SOCK -- ",
        args: "--remote=pfd:3",
    },
    FailureCase {
        key: "file",
        echod_says: "not a socket: fd 3 is a regular file",
        listen: "",
        wrapper: "/usr/local/bin/vm-guest pass-fd file /etc/hostname -- ",
        args: "--remote=pfd:3",
    },
    FailureCase {
        key: "closed",
        echod_says: "fd 4 was not passed by systemd",
        listen: "ListenStream=SOCK",
        wrapper: "",
        args: "--remote=pfd:4",
    },
];

/// The daemon's first error or warning about a `pfd:` remote (echod: `echod: error:` or
/// `echod: warning:`; ovsdb-server: `|ERR|` or `|WARN|`), shortened for the table. A line
/// that only reports a listener in use is not one.
fn pfd_line(journal: &str) -> Option<String> {
    journal
        .lines()
        .find(|l| {
            l.contains("pfd:")
                && ["error", "warning", "|ERR|", "|WARN|", "|EMER|"]
                    .iter()
                    .any(|w| l.contains(w))
        })
        .map(|l| l.trim().chars().take(110).collect())
}

fn activation(cx: &mut Ctx, d: Daemon, key: &str, remote: &str) -> Result<Seen, String> {
    let t = d.tag();
    let unit = format!("hp{t}-{key}");
    cx.systemctl(&["start", &format!("{unit}.socket")])?;
    let addr = format!("unix:{DIR}/{unit}.sock");
    let echo = echo_or_error(cx, &addr, &unit, "side by side");
    if let Err(e) = echo {
        return Ok(seen(DidNot, format!("{remote}: {e}")));
    }
    let list = run(
        "ovsdb-client",
        &[&format!("--timeout={}", 5 * cx.scale), "list-dbs", &addr],
    )?;
    Ok(if list.code == 0 {
        let dbs: Vec<&str> = list.stdout.split_whitespace().collect();
        seen(
            Behaved,
            format!("{remote}: echo ok, list-dbs [{}]", dbs.join(",")),
        )
    } else {
        seen(
            DidNot,
            format!(
                "{remote}: echo ok but ovsdb-client list-dbs exited {}",
                list.code
            ),
        )
    })
}

fn add_remote(cx: &mut Ctx, d: Daemon, spelling: &str) -> Result<Seen, String> {
    let ctl = format!("/run/hp{}-act/ctl", d.tag());
    cx.wait_listening(&ctl)?;
    let list_cmd = format!("{}/list-remotes", d.ctl_prefix());
    let before = cx.appctl(&ctl, &[&list_cmd])?;
    let ran = cx.appctl(&ctl, &[&format!("{}/add-remote", d.ctl_prefix()), spelling])?;
    let after = cx.appctl(&ctl, &[&list_cmd])?;
    ensure(before.code == 0 && after.code == 0, || {
        format!("{list_cmd} failed: {}{}", before.both(), after.both())
    })?;
    let unchanged = before.stdout == after.stdout;
    let first = ran.both().lines().next().unwrap_or("").trim().to_string();
    Ok(match (ran.code != 0, unchanged) {
        (true, true) => seen(Behaved, format!("exit {}: {first}", ran.code)),
        (false, _) => seen(
            DidNot,
            format!(
                "exit 0; remotes now {}",
                after
                    .stdout
                    .lines()
                    .map(|l| format!("{l:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        (true, false) => seen(
            DidNot,
            format!("exit {} but the remote list changed", ran.code),
        ),
    })
}

fn config_file(cx: &mut Ctx, d: Daemon) -> Result<Seen, String> {
    let t = d.tag();
    let unit = format!("hp{t}-cfg");
    let path = format!("{DIR}/{unit}.json");
    let text = match d {
        Daemon::Echod => r#"{"remotes": ["pfd:3"]}"#.to_string(),
        Daemon::Ovsdb => {
            format!(r#"{{"remotes": {{"pfd:3": {{}}}}, "databases": {{"/run/{unit}/db": {{}}}}}}"#)
        }
    };
    std::fs::write(&path, text).map_err(|e| format!("writing {path}: {e}"))?;
    cx.systemctl(&[
        "start",
        &format!("{unit}.socket"),
        &format!("{unit}.service"),
    ])?;
    cx.wait_listening(&format!("/run/{unit}/ctl"))?;
    let addr = format!("unix:{DIR}/{unit}.sock");
    // Not served: no reply (systemd keeps the listening socket, so a client would wait).
    let echo = echo_or_error(cx, &addr, &unit, "from the config file");
    let j = cx.journal(&format!("{unit}.service"))?;
    // Not served, and refused in the daemon's own words (echod names the origin).
    let refused = match d {
        Daemon::Echod => pfd_line(&j).filter(|l| l.contains("ignoring \"pfd:3\" from config file")),
        Daemon::Ovsdb => Some(pfd_line(&j).unwrap_or_else(|| "not served".to_string())),
    };
    Ok(match (echo, refused) {
        (Ok(()), _) => seen(DidNot, "pfd:3 from the config file served"),
        (Err(_), Some(line)) => seen(Behaved, line),
        (Err(e), None) => seen(DidNot, format!("not served, but not refused either: {e}")),
    })
}

/// Waits until each failure case's unit either fails with its daemon's own error (behaved),
/// or is still running a moment after the daemon logged an error about its `pfd:` remote, or
/// at the deadline (did not). A unit that stopped for another reason (the wrapper could not
/// exec, a crash, exit 0, echod's error not the one this case is about) did not behave. All
/// units are watched together, since they were started together. Returns, per daemon, one
/// row per case.
fn settle_all(cx: &mut Ctx) -> Result<Vec<Vec<Seen>>, String> {
    struct Pending {
        daemon: Daemon,
        case: &'static FailureCase,
        pattern: String,
        logged_at: Option<Instant>,
        seen: Option<Seen>,
    }
    let mut pending: Vec<Pending> = Vec::new();
    for d in Daemon::BOTH {
        for case in FAILURE_CASES {
            let unit = format!("hp{}-{}", d.tag(), case.key);
            let pattern = if case.per_connection() {
                // One client makes systemd start an instance with the connection as fd 3;
                // it retries until the socket unit listens.
                let addr = format!("unix:{DIR}/{unit}.sock");
                let limit = cx.timeout(10 * S);
                std::thread::spawn(move || {
                    let start = Instant::now();
                    while start.elapsed() < limit {
                        match echo_request(&addr, "accepted", limit) {
                            Err(e) if e.contains("connect") => {
                                std::thread::sleep(Duration::from_millis(50))
                            }
                            _ => break,
                        }
                    }
                });
                format!("{unit}@*.service")
            } else {
                format!("{unit}.service")
            };
            pending.push(Pending {
                daemon: d,
                case,
                pattern,
                logged_at: None,
                seen: None,
            });
        }
    }
    let grace = cx.timeout(S);
    let settled = cx.wait_until("every failure case to settle", 30 * S, || {
        for p in pending.iter_mut().filter(|p| p.seen.is_none()) {
            let (name, state) = unit_state(&p.pattern)?;
            let j = cx.journal(&p.pattern)?;
            let line = pfd_line(&j);
            if state == "failed" || (state == "inactive" && line.is_some()) {
                let result = cx.prop(&name, "Result")?;
                let status = cx.prop(&name, "ExecMainStatus")?;
                let why = line.clone().unwrap_or_else(|| tail(&j, 1));
                let own_error = match p.daemon {
                    Daemon::Echod => j.contains(p.case.echod_says),
                    Daemon::Ovsdb => line.is_some(),
                };
                let exited = result == "exit-code" && status != "127" && status != "203";
                p.seen = Some(if exited && own_error {
                    seen(Behaved, format!("unit failed (exit {status}): {why}"))
                } else {
                    seen(
                        DidNot,
                        format!(
                            "unit {state} (Result={result}, status {status}), not for this: {why}"
                        ),
                    )
                });
            } else if let (Some(line), "active") = (line, state.as_str()) {
                // Give it a moment to exit after its message; if it does not, it stays.
                let at = *p.logged_at.get_or_insert_with(Instant::now);
                if at.elapsed() > grace {
                    p.seen = Some(seen(DidNot, format!("still running: {line}")));
                }
            }
        }
        Ok(pending.iter().all(|p| p.seen.is_some()))
    });
    if settled.is_err() {
        // Whatever has not settled by now is a daemon that keeps running without saying why
        // (or a unit that never started): a row, not an error, so the table still shows.
        for p in pending.iter_mut().filter(|p| p.seen.is_none()) {
            let (name, state) = unit_state(&p.pattern)?;
            p.seen = Some(seen(
                DidNot,
                format!("{name} {state} at the deadline; no error about its pfd: remote"),
            ));
        }
    }
    let mut rows: Vec<Seen> = pending.into_iter().filter_map(|p| p.seen).collect();
    let second = rows.split_off(FAILURE_CASES.len());
    Ok(vec![rows, second])
}

/// Sends one echo to `addr` and waits for the reply, or until the daemon of `unit` has logged
/// an error about its `pfd:` remote and a second has passed without a reply (so a daemon that
/// will never answer costs a second, not a client timeout).
fn echo_or_error(cx: &Ctx, addr: &str, unit: &str, text: &str) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (a, t, limit) = (addr.to_string(), text.to_string(), cx.timeout(10 * S));
    std::thread::spawn(move || {
        let _ = tx.send(echo_request(&a, &t, limit).and_then(|r| check_echo_reply(&r, &t)));
    });
    let mut logged_at: Option<Instant> = None;
    let start = Instant::now();
    loop {
        if let Ok(r) = rx.recv_timeout(Duration::from_millis(100)) {
            return r;
        }
        let j = cx.journal(&format!("{unit}.service"))?;
        if let Some(line) = pfd_line(&j) {
            if logged_at.get_or_insert_with(Instant::now).elapsed() > cx.timeout(S) {
                return Err(format!("no reply; the daemon said: {line}"));
            }
        }
        if start.elapsed() > limit {
            return Err(format!("no reply within {limit:?}"));
        }
    }
}

/// The first unit matching `pattern` (the first instance of a template) and its
/// ActiveState, or `(PATTERN, "none")` while there is none.
fn unit_state(pattern: &str) -> Result<(String, String), String> {
    let ran = run(
        "systemctl",
        &["list-units", "--all", "--no-legend", "--plain", pattern],
    )?;
    // UNIT LOAD ACTIVE SUB DESCRIPTION
    Ok(ran
        .stdout
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            Some((name.to_string(), w.nth(1)?.to_string()))
        })
        .unwrap_or_else(|| (pattern.to_string(), "none".into())))
}

fn restart_under_load(cx: &mut Ctx, d: Daemon) -> Result<Seen, String> {
    const CLIENTS: usize = 4;
    const RESTARTS: u32 = 2;
    let unit = format!("hp{}-load", d.tag());
    let service = format!("{unit}.service");
    let addr = format!("unix:{DIR}/{unit}.sock");
    cx.systemctl(&["start", &format!("{unit}.socket")])?;
    cx.echo(&addr, "warm-up")?;
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let timeout = cx.timeout(20 * S);
    let mut workers = Vec::new();
    for c in 0..CLIENTS {
        let (stop, answered, addr) = (Arc::clone(&stop), Arc::clone(&answered), addr.clone());
        workers.push(std::thread::spawn(move || -> Vec<String> {
            let mut errors = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) && errors.len() < 5 {
                let text = format!("client {c} request {n}");
                match echo_request(&addr, &text, timeout).and_then(|r| check_echo_reply(&r, &text))
                {
                    Ok(()) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(e),
                }
                n += 1;
            }
            errors
        }));
    }
    // A daemon that stops answering is a row that did not behave; a restart systemd refuses
    // is an error of the check.
    let (mut stalled, mut restart) = (None, Ok(()));
    for _ in 0..RESTARTS {
        let before = answered.load(Ordering::Relaxed);
        if let Err(e) = cx.wait_until("clients to get replies", 20 * S, || {
            Ok(answered.load(Ordering::Relaxed) >= before + 10)
        }) {
            stalled = Some(e);
            break;
        }
        if let Err(e) = cx.systemctl(&["restart", &service]) {
            restart = Err(e);
            break;
        }
    }
    if stalled.is_none() && restart.is_ok() {
        let before = answered.load(Ordering::Relaxed);
        stalled = cx
            .wait_until("clients to get replies after the restarts", 20 * S, || {
                Ok(answered.load(Ordering::Relaxed) >= before + 10)
            })
            .err();
    }
    stop.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    for w in workers {
        errors.extend(
            w.join()
                .unwrap_or_else(|_| vec!["a client panicked".into()]),
        );
    }
    restart?;
    let total = answered.load(Ordering::Relaxed);
    Ok(match (stalled, errors.first()) {
        (None, None) => seen(Behaved, format!("{total} requests, all answered")),
        (Some(e), _) => seen(DidNot, format!("stopped answering: {e}")),
        (None, Some(first)) => seen(
            DidNot,
            format!(
                "{} of {} requests failed, e.g. {}",
                errors.len(),
                total + errors.len(),
                first.chars().take(80).collect::<String>()
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_table() {
        insta::assert_snapshot!(expected_table());
    }

    #[test]
    fn echod_must_behave_on_every_row_and_rows_match_the_cases() {
        assert!(CHECKS.iter().all(|c| c.echod == Behaved));
        assert_eq!(
            CHECKS.len(),
            2 + SPELLINGS.len() + 1 + FAILURE_CASES.len() + 1
        );
        for (i, s) in SPELLINGS.iter().enumerate() {
            assert_eq!(CHECKS[2 + i].id, format!("add-remote {s:?}"));
        }
    }

    #[test]
    fn ovs_versions_parse() {
        assert_eq!(
            parse_ovs_version("ovsdb-server (Open vSwitch) 4.0.0"),
            Some((4, 0))
        );
        assert_eq!(
            parse_ovs_version("ovsdb-server (Open vSwitch) 3.1.0"),
            Some((3, 1))
        );
        assert_eq!(
            parse_ovs_version("ovsdb-server (Open vSwitch) 10.2.1"),
            Some((10, 2))
        );
        assert_eq!(parse_ovs_version("garbage"), None);
    }

    #[test]
    fn every_unit_is_well_formed_and_named_for_its_daemon() {
        for d in Daemon::BOTH {
            for (name, text) in units_for(d) {
                assert!(name.starts_with(&format!("hp{}-", d.tag())), "{name}");
                assert!(text.starts_with("[Unit]"), "{name}");
                if name.ends_with(".service") {
                    assert!(text.contains("ExecStart="), "{name}");
                }
            }
        }
    }
}
