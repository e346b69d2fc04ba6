//! Reloads and remote changes under the conditions that used to lose a remote: SIGHUP
//! (`Type=notify-reload`), a narrowed `ptcp:` whose old listener closes a moment too late,
//! pipelined remove/add over the control socket, and a remotes file rewritten in place.

use crate::common;

use common::*;
use nix::sys::signal::Signal;
use serde_json::json;
use std::path::Path;
use test_support::wait::until_true as wait_until;

/// `REMOTE (...): STATE` for `remote` in `echod/list-remotes`.
fn state_of(ctl: &Path, remote: &str) -> Option<String> {
    let out = appctl(ctl, &["echod/list-remotes"]);
    out.stdout
        .lines()
        .find(|l| l.starts_with(&format!("{remote} (")))
        .and_then(|l| l.split_once("): "))
        .map(|(_, state)| state.to_string())
}

#[test]
fn sighup_reloads_with_reloading_and_ready() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("reload-hup");
    let (notify, notify_path) = notify_socket(&dir);
    let file = dir.join("remotes");
    std::fs::write(&file, "").unwrap();
    let ctl = dir.join("echod.ctl");
    let mut p = Proc::echod_notifying(
        &dir,
        &[
            &format!("--unixctl={}", ctl.display()),
            &format!("--remotes-file={}", file.display()),
        ],
        &notify_path,
    );
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1");
    assert_eq!(&buf[..n], b"READY=1");
    let n = notify.recv(&mut buf).expect("STATUS=");
    assert_eq!(&buf[..n], b"STATUS=serving 0 remote(s)");
    // Change the file and reload at once, before the poll would see it.
    let sock = dir.join("added.sock");
    std::fs::write(&file, format!("punix:{}\n", sock.display())).unwrap();
    p.signal(Signal::SIGHUP);
    let n = notify.recv(&mut buf).expect("RELOADING=1");
    let reloading = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading:?}"
    );
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(usec > 0, "{reloading:?}");
    assert!(
        reloading.ends_with("\nSTATUS=reloading the config and remotes files"),
        "{reloading:?}"
    );
    let n = notify.recv(&mut buf).expect("READY=1 after the reload");
    assert_eq!(&buf[..n], b"READY=1");
    let n = notify.recv(&mut buf).expect("STATUS= after the reload");
    assert_eq!(&buf[..n], b"STATUS=serving (reloaded)");
    p.wait_log("SIGHUP: reloading");
    assert!(p.is_running(), "SIGHUP must not stop echod");
    connect_unix(&sock).echo(1, json!(["after SIGHUP"]));
}

#[test]
fn a_narrowed_ptcp_listens_again_on_the_same_port() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("reload-narrow");
    let file = dir.join("remotes");
    let port = free_port();
    std::fs::write(&file, format!("ptcp:{port}\n")).unwrap();
    let (_p, ctl) = echod_with_control(&dir, &[&format!("--remotes-file={}", file.display())]);
    connect_tcp(&format!("127.0.0.1:{port}")).echo(1, json!([]));
    // Narrow it: the new bind may come before the old listener has closed.
    let narrowed = format!("ptcp:{port}:127.0.0.1");
    std::fs::write(&file, format!("{narrowed}\n")).unwrap();
    wait_until("the narrowed remote to listen", || {
        state_of(&ctl, &narrowed).is_some_and(|s| s.starts_with("listening on 127.0.0.1:"))
    });
    connect_tcp(&format!("127.0.0.1:{port}")).echo(2, json!(["narrowed"]));
}

#[test]
fn pipelined_remove_and_add_never_leave_a_remote_closed() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("reload-pipe");
    let port = free_port();
    let remote = format!("ptcp:{port}:127.0.0.1");
    let (_p, ctl) = echod_with_control(&dir, &[]);
    assert_eq!(appctl(&ctl, &["echod/add-remote", &remote]).code, 0);
    for round in 0..20 {
        // Remove and add in one write (pipelined): the new bind comes right after the removal,
        // possibly before the old listener has closed.
        let mut c = connect_unix(&ctl);
        c.send_raw(
            json!({"method": "echod/remove-remote", "params": [remote], "id": 1})
                .to_string()
                .as_bytes()
                .iter()
                .chain(
                    json!({"method": "echod/add-remote", "params": [remote], "id": 2})
                        .to_string()
                        .as_bytes(),
                )
                .copied()
                .collect::<Vec<u8>>()
                .as_slice(),
        );
        assert!(c.recv().is_some() && c.recv().is_some(), "two replies");
        wait_until("the remote to listen after remove/add", || {
            state_of(&ctl, &remote).is_some_and(|s| s.starts_with("listening on "))
        });
        connect_tcp(&format!("127.0.0.1:{port}")).echo(round, json!([]));
    }
}

#[test]
fn a_remotes_file_rewritten_in_place_with_the_same_text_changes_nothing() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("reload-same");
    let file = dir.join("remotes");
    let text = "ptcp:0:127.0.0.1\n";
    std::fs::write(&file, text).unwrap();
    let (p, ctl) = echod_with_control(&dir, &[&format!("--remotes-file={}", file.display())]);
    let before = state_of(&ctl, "ptcp:0:127.0.0.1").unwrap();
    for _ in 0..5 {
        // Not atomic: truncate, then (well within the 1 s a change must stay the same before
        // echod applies it) the same text again; then leave it alone for a few checks.
        std::fs::write(&file, "").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(120));
        std::fs::write(&file, text).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(
        state_of(&ctl, "ptcp:0:127.0.0.1").unwrap(),
        before,
        "the listener was closed and reopened: {}",
        p.stderr_text()
    );
    assert!(!p.stderr_text().contains("removed"), "{}", p.stderr_text());
}

/// A config-file policy that leaves the command line out, loaded by a reload, does not drop a
/// --remote; restoring the policy changes nothing either.
#[test]
fn a_policy_change_never_drops_a_command_line_remote() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("reload-policy");
    let cfg = dir.join("echod.json");
    std::fs::write(&cfg, "{}").unwrap();
    let port = free_port();
    let remote = format!("ptcp:{port}:127.0.0.1");
    let (p, ctl) = echod_with_control(
        &dir,
        &[
            &format!("--config-file={}", cfg.display()),
            &format!("--remote={remote}"),
        ],
    );
    for policy in [
        json!({"policy": {"allow": {"ptcp": ["config-file"]}}}),
        json!({}),
    ] {
        std::fs::write(&cfg, policy.to_string()).unwrap();
        let out = appctl(&ctl, &["echod/reload"]);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(!out.stdout.contains("removed"), "{policy}: {out:?}");
        connect_tcp(&format!("127.0.0.1:{port}")).echo(1, json!([policy.to_string()]));
    }
    assert!(
        state_of(&ctl, &remote).is_some_and(|s| s.starts_with("listening on ")),
        "{}",
        p.stderr_text()
    );
}

/// A reload is all or nothing: a valid config file is not applied when the remotes file cannot be
/// read (here a FIFO, which must not block the daemon either), and the failure is logged.
#[test]
fn a_reload_that_fails_applies_nothing_and_is_logged() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let dir = TempDir::new("reload-atomic");
    let cfg = dir.join("echod.json");
    std::fs::write(&cfg, "{}").unwrap();
    let file = dir.join("remotes");
    std::fs::write(&file, "").unwrap();
    let (mut p, ctl) = echod_with_control(
        &dir,
        &[
            &format!("--config-file={}", cfg.display()),
            &format!("--remotes-file={}", file.display()),
        ],
    );
    let before = appctl(&ctl, &["echod/list-remotes"]).stdout;
    // A valid config file that adds a remote, and a remotes file that is no longer readable.
    let added = dir.join("added.sock");
    std::fs::write(
        &cfg,
        json!({"remotes": [format!("punix:{}", added.display())], "max_connections": 3})
            .to_string(),
    )
    .unwrap();
    std::fs::remove_file(&file).unwrap();
    nix::unistd::mkfifo(&file, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let out = appctl(&ctl, &["echod/reload"]);
    assert_ne!(out.code, 0, "the reload must fail: {out:?}");
    assert!(out.stderr.contains("not a regular file"), "{out:?}");
    assert_eq!(appctl(&ctl, &["echod/list-remotes"]).stdout, before);
    assert!(!added.exists(), "half of the reload was applied");
    p.wait_log("reload failed: ");
    // Once both files are readable the same reload applies both.
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, "").unwrap();
    let out = appctl(&ctl, &["echod/reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    connect_unix(&added).echo(1, json!(["after the reload"]));
}
