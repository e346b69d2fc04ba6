//! The control socket with the real `ovs-appctl`, and remotes from all four origins.

use crate::common;

use common::*;
use nix::sys::signal::Signal;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

fn appctl_ok(ctl: &Path, args: &[&str]) -> String {
    let out = appctl(ctl, args);
    assert_eq!(out.code, 0, "ovs-appctl {args:?}: {out:?}");
    out.stdout
}

fn appctl_err(ctl: &Path, args: &[&str]) -> String {
    let out = appctl(ctl, args);
    assert_eq!(
        out.code, 2,
        "ovs-appctl {args:?} should fail with 2: {out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    out.stderr
}

/// The port of `REMOTE (...): listening on 127.0.0.1:PORT` in `echod/list-remotes`.
fn listed_port(list: &str, remote: &str) -> Option<u16> {
    let line = list
        .lines()
        .find(|l| l.starts_with(&format!("{remote} (")))?;
    let rest = line.split("listening on 127.0.0.1:").nth(1)?;
    rest.trim().parse().ok()
}

use test_support::wait::until_true as wait_until;

struct Daemon {
    dir: TempDir,
    proc: Proc,
    ctl: std::path::PathBuf,
}

fn start(tag: &str, extra: &[&str]) -> Daemon {
    let dir = TempDir::new(tag);
    let ctl = dir.join("echod.ctl");
    let ctl_arg = format!("--unixctl={}", ctl.display());
    let mut args = vec![ctl_arg.as_str()];
    args.extend_from_slice(extra);
    let mut proc = Proc::echod(&dir, &args);
    wait_listening(&ctl, &mut proc);
    proc.wait_log("serving ");
    Daemon { dir, proc, ctl }
}

#[test]
fn builtins_and_ovs_error_texts() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let d = start("ctl-builtins", &[]);
    let list = appctl_ok(&d.ctl, &["list-commands"]);
    assert!(list.starts_with("The available commands are:\n"), "{list}");
    for cmd in [
        "echod/add-remote",
        "echod/remove-remote",
        "echod/list-remotes",
        "echod/reload",
        "exit",
        "version",
    ] {
        assert!(
            list.contains(&format!("  {cmd} ")),
            "{cmd} missing from:\n{list}"
        );
    }
    assert!(
        !list.contains("echod/probe"),
        "probes must need --enable-probes:\n{list}"
    );
    assert_eq!(
        appctl_ok(&d.ctl, &["version"]),
        format!("echod (daemon-hardening) {}\n", env!("CARGO_PKG_VERSION"))
    );
    let e = appctl_err(&d.ctl, &["no/such"]);
    assert!(
        e.starts_with("\"no/such\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n"),
        "{e}"
    );
    let e = appctl_err(&d.ctl, &["echod/add-remote"]);
    assert!(
        e.starts_with("\"echod/add-remote\" command requires at least 1 arguments\n"),
        "{e}"
    );
    let e = appctl_err(&d.ctl, &["version", "extra"]);
    assert!(
        e.starts_with("\"version\" command takes at most 0 arguments\n"),
        "{e}"
    );
    let e = appctl_err(&d.ctl, &["echod/probe", "fork"]);
    assert!(e.contains("is not a valid command"), "{e}");
}

#[test]
fn runtime_pfd_is_refused_and_ptcp_is_added_with_its_port() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let d = start("ctl-add", &[]);
    let e = appctl_err(&d.ctl, &["echod/add-remote", "pfd:3"]);
    assert!(
        e.starts_with("pfd: remotes can only be specified on the command line\n"),
        "{e}"
    );

    assert_eq!(
        appctl_ok(&d.ctl, &["echod/add-remote", "ptcp:0:127.0.0.1"]),
        ""
    );
    let list = appctl_ok(&d.ctl, &["echod/list-remotes"]);
    assert!(!list.contains("pfd:"), "{list}");
    let port =
        listed_port(&list, "ptcp:0:127.0.0.1").unwrap_or_else(|| panic!("no port in:\n{list}"));
    assert_ne!(port, 0);
    assert!(
        list.contains("ptcp:0:127.0.0.1 (control socket): listening on 127.0.0.1:"),
        "{list}"
    );
    let mut c = connect_tcp(&format!("127.0.0.1:{port}"));
    c.echo(1, json!(["runtime remote"]));

    // Unsupported and malformed remotes get clear errors.
    let e = appctl_err(&d.ctl, &["echod/add-remote", "ssl:127.0.0.1:6640"]);
    assert!(e.contains("not supported by echod"), "{e}");
    let e = appctl_err(&d.ctl, &["echod/add-remote", "pssl:0"]);
    assert!(e.contains("not supported by echod"), "{e}");
    let e = appctl_err(&d.ctl, &["echod/add-remote", "bogus"]);
    assert!(e.contains("bogus"), "{e}");
    let list2 = appctl_ok(&d.ctl, &["echod/list-remotes"]);
    assert_eq!(list2, list, "failed adds must leave no trace");

    // Removing stops the listener; the established session keeps being served.
    assert_eq!(
        appctl_ok(&d.ctl, &["echod/remove-remote", "ptcp:0:127.0.0.1"]),
        ""
    );
    assert_eq!(appctl_ok(&d.ctl, &["echod/list-remotes"]), "");
    wait_until("the ptcp listener to close", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    c.echo(2, json!(["still served"]));
    let e = appctl_err(&d.ctl, &["echod/remove-remote", "ptcp:0:127.0.0.1"]);
    assert!(!e.is_empty());
}

#[test]
fn exit_and_sigterm_remove_created_paths_and_exit_zero() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    for how in ["exit", "SIGTERM"] {
        let dir = TempDir::new("ctl-exit");
        let sock = dir.join("s.sock");
        let extra = dir.join("extra.sock");
        let mut d = start("ctl-exit", &[&format!("--remote=punix:{}", sock.display())]);
        assert_eq!(
            appctl_ok(
                &d.ctl,
                &["echod/add-remote", &format!("punix:{}", extra.display())]
            ),
            ""
        );
        let mut c = connect_unix(&sock);
        c.echo(1, json!([how]));
        if how == "exit" {
            assert_eq!(appctl_ok(&d.ctl, &["exit"]), "");
        } else {
            d.proc.signal(Signal::SIGTERM);
        }
        let status = d.proc.wait_exit();
        assert!(
            status.success(),
            "{how}: {status:?}\n{}",
            d.proc.stderr_text()
        );
        assert!(c.closed(), "{how}: the idle connection was not closed");
        for p in [&sock, &extra, &d.ctl] {
            assert!(!p.exists(), "{how}: {} was not removed", p.display());
        }
        drop(d.dir);
    }
}

#[test]
fn remotes_file_is_followed_and_pfd_lines_warn_once() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("ctl-rfile");
    let file = dir.join("remotes");
    let a = dir.join("a.sock");
    std::fs::write(
        &file,
        format!("# remotes for echod\n\npfd:3\npunix:{}\n", a.display()),
    )
    .unwrap();
    let mut d = start("ctl-rfile-d", &["--remotes-file", file.to_str().unwrap()]);
    wait_listening(&a, &mut d.proc);
    connect_unix(&a).echo(1, json!(["from the remotes file"]));
    let warning =
        "pfd: remotes can only be specified on the command line; ignoring \"pfd:3\" from database";

    // Add a line: echod reconciles on its own.
    std::fs::write(
        &file,
        format!("pfd:3\npunix:{}\nptcp:0:127.0.0.1\n", a.display()),
    )
    .unwrap();
    let mut list = String::new();
    wait_until("ptcp from the remotes file", || {
        list = appctl_ok(&d.ctl, &["echod/list-remotes"]);
        list.contains("ptcp:0:127.0.0.1 (database): listening on 127.0.0.1:")
    });
    let port = listed_port(&list, "ptcp:0:127.0.0.1").unwrap();
    connect_tcp(&format!("127.0.0.1:{port}")).echo(2, json!([]));
    assert!(!list.contains("pfd:"), "{list}");

    // Remove the punix line: the path goes away.
    std::fs::write(&file, "pfd:3\nptcp:0:127.0.0.1\n").unwrap();
    wait_until("the punix path to be removed", || !a.exists());
    std::thread::sleep(Duration::from_millis(600));
    let log = d.proc.stderr_text();
    assert_eq!(
        log.matches(warning).count(),
        1,
        "expected one rate-limited warning:\n{log}"
    );
}

#[test]
fn config_file_remotes_policy_and_reload() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("ctl-cfg");
    let cfg = dir.join("echod.json");
    let a = dir.join("a.sock");
    std::fs::write(
        &cfg,
        json!({"remotes": ["pfd:3", format!("punix:{}", a.display())]}).to_string(),
    )
    .unwrap();
    let mut d = start("ctl-cfg-d", &["--config-file", cfg.to_str().unwrap()]);
    wait_listening(&a, &mut d.proc);
    connect_unix(&a).echo(1, json!(["from the config file"]));
    let log = d.proc.stderr_text();
    let warning = "pfd: remotes can only be specified on the command line; ignoring \"pfd:3\" from config file";
    assert_eq!(log.matches(warning).count(), 1, "{log}");

    std::fs::write(
        &cfg,
        json!({"remotes": ["ptcp:0:127.0.0.1"], "max_connections": 10}).to_string(),
    )
    .unwrap();
    let out = appctl_ok(&d.ctl, &["echod/reload"]);
    assert!(out.contains("added ptcp:0:127.0.0.1"), "{out}");
    assert!(
        out.contains(&format!("removed punix:{}", a.display())),
        "{out}"
    );
    let list = appctl_ok(&d.ctl, &["echod/list-remotes"]);
    let port = listed_port(&list, "ptcp:0:127.0.0.1").unwrap_or_else(|| panic!("{list}"));
    assert!(list.contains("(config file)"), "{list}");
    connect_tcp(&format!("127.0.0.1:{port}")).echo(2, json!([]));
    assert!(
        !a.exists(),
        "the punix path dropped from the config file was not removed"
    );

    // A broken config file is refused as a whole and changes nothing.
    std::fs::write(
        &cfg,
        r#"{"remotes": ["ptcp:0:127.0.0.1"], "colour": "blue"}"#,
    )
    .unwrap();
    let e = appctl_err(&d.ctl, &["echod/reload"]);
    assert!(e.contains("unknown field `colour`"), "{e}");
    assert_eq!(appctl_ok(&d.ctl, &["echod/list-remotes"]), list);

    // A sandbox change is reported, not silently ignored.
    std::fs::write(
        &cfg,
        json!({"remotes": ["ptcp:0:127.0.0.1"], "sandbox": "on"}).to_string(),
    )
    .unwrap();
    let out = appctl_ok(&d.ctl, &["echod/reload"]);
    assert!(out.contains("takes effect at the next start"), "{out}");
}

#[test]
fn start_up_errors_exit_one_with_one_clear_line() {
    let dir = TempDir::new("ctl-starterr");
    let cases: [(&[&str], &str); 5] = [
        (
            &["--remote=ssl:127.0.0.1:6640"],
            "ssl:127.0.0.1:6640: not supported by echod",
        ),
        (
            &["--remote=db:Open_vSwitch,Open_vSwitch,manager_options"],
            "not supported by echod",
        ),
        (&["--remote=nonsense"], "--remote=nonsense: "),
        (
            &["--config-file=/nonexistent/echod.json"],
            "/nonexistent/echod.json: cannot read",
        ),
        (&["--remote=pfd:3"], "pfd:3"),
    ];
    for (args, want) in cases {
        let mut p = Proc::echod(&dir, args);
        let status = p.wait_exit();
        let log = p.stderr_text();
        assert_eq!(status.code(), Some(1), "{args:?}: {log}");
        let line = log
            .lines()
            .find(|l| l.starts_with("echod: error: "))
            .unwrap_or_else(|| panic!("{args:?}: {log}"));
        assert!(line.contains(want), "{args:?}: {line}");
    }
    let mut p = Proc::echod(&dir, &["--sandbox=on,spawn=maybe"]);
    assert_eq!(p.wait_exit().code(), Some(2), "usage errors exit 2");
    assert!(p.stderr_text().contains("invalid argument for spawn"));
}
