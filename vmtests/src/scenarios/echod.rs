//! The echod scenarios: socket activation (`pfd:`), listener validation, remote policy,
//! sandboxing, restarts and readiness, each under real systemd.

use super::Scenario;
use super::ctx::{Ctx, echo_request, ensure, tail};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

pub(super) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "unix-socket-activation",
        about: "the first connection to a ListenStream= unix socket starts echod --remote=pfd:3",
        units: &[
            (
                "ha-unix.socket",
                "[Unit]\nDescription=echod unix socket\n\n[Socket]\nListenStream=/run/echod/ha-unix.sock\n",
            ),
            (
                "ha-unix.service",
                "[Unit]\nDescription=echod (socket-activated)\n\n[Service]\nType=notify\nExecStart=/usr/local/bin/echod --remote=pfd:3\n",
            ),
        ],
        timeout: Duration::from_secs(30),
        needs: &[],
        check: unix_activation,
    },
    Scenario {
        name: "tcp-named-fds",
        about: "two sockets (TCP 127.0.0.1 and unix) with FileDescriptorName= reach echod as pfd:NAME",
        units: &[
            (
                "ha-named-tcp.socket",
                "[Unit]\nDescription=echod TCP socket\n\n[Socket]\nListenStream=127.0.0.1:7301\nFileDescriptorName=tcp\nService=ha-named.service\n",
            ),
            (
                "ha-named-unix.socket",
                "[Unit]\nDescription=echod local socket\n\n[Socket]\nListenStream=/run/echod/ha-named.sock\nFileDescriptorName=local\nService=ha-named.service\n",
            ),
            (
                "ha-named.service",
                "[Unit]\nDescription=echod with named fds\n\n[Service]\nType=notify\nSockets=ha-named-tcp.socket ha-named-unix.socket\nExecStart=/usr/local/bin/echod --remote=pfd:tcp --remote=pfd:local\n",
            ),
        ],
        timeout: Duration::from_secs(30),
        needs: &[],
        check: named_fds,
    },
    Scenario {
        name: "datagram-rejected",
        about: "a ListenDatagram= socket makes echod fail with a stream-socket error in the journal",
        units: &[
            (
                "ha-dgram.socket",
                "[Unit]\nDescription=echod given a datagram socket\n\n[Socket]\nListenDatagram=/run/echod/ha-dgram.sock\n",
            ),
            (
                "ha-dgram.service",
                "[Unit]\nDescription=echod (datagram socket: must refuse)\n\n[Service]\nType=notify\nExecStart=/usr/local/bin/echod --remote=pfd:3\n",
            ),
        ],
        timeout: Duration::from_secs(30),
        needs: &[],
        check: datagram_rejected,
    },
    Scenario {
        name: "accept-yes-rejected",
        about: "Accept=yes hands echod a connection: one clear error per connection, no crash loop",
        units: &[
            (
                "ha-accept.socket",
                "[Unit]\nDescription=echod behind Accept=yes\n\n[Socket]\nListenStream=127.0.0.1:7304\nAccept=yes\n",
            ),
            (
                "ha-accept@.service",
                "[Unit]\nDescription=echod per connection (must refuse)\n\n[Service]\nType=notify\nExecStart=/usr/local/bin/echod --remote=pfd:3\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[],
        check: accept_yes_rejected,
    },
    Scenario {
        name: "runtime-pfd-refused",
        about: "ovs-appctl echod/add-remote pfd:3 is refused at run time; punix: is accepted",
        units: &[
            (
                "ha-policy.socket",
                "[Unit]\nDescription=echod socket (policy)\n\n[Socket]\nListenStream=/run/echod/ha-policy.sock\n",
            ),
            (
                "ha-policy.service",
                "[Unit]\nDescription=echod with a control socket\n\n[Service]\nType=notify\nExecStart=/usr/local/bin/echod --remote=pfd:3 --unixctl=/run/echod/ha-policy.ctl\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[],
        check: runtime_pfd_refused,
    },
    Scenario {
        name: "sandbox-spawn-deny",
        about: "with --sandbox on,spawn=deny a fork probe gets EPERM and echod keeps serving",
        units: &[
            (
                "ha-spawn.socket",
                "[Unit]\nDescription=echod socket (spawn=deny)\n\n[Socket]\nListenStream=/run/echod/ha-spawn.sock\n",
            ),
            (
                "ha-spawn.service",
                "[Unit]\nDescription=echod sandboxed (spawn=deny)\n\n[Service]\nType=notify\nExecStart=/usr/local/bin/echod --remote=pfd:3 --unixctl=/run/echod/ha-spawn.ctl --sandbox=on,spawn=deny --enable-probes\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[],
        check: sandbox_spawn_deny,
    },
    Scenario {
        name: "sandbox-setuid-sigsys",
        about: "elevateprivileges=deny: a setuid probe kills echod (status 31/SYS); the socket re-activates it",
        units: &[
            (
                "ha-setuid.socket",
                "[Unit]\nDescription=echod socket (elevateprivileges=deny)\n\n[Socket]\nListenStream=/run/echod/ha-setuid.sock\n",
            ),
            (
                "ha-setuid.service",
                "[Unit]\nDescription=echod sandboxed (elevateprivileges=deny)\n\n[Service]\nType=notify\nLimitCORE=0\nExecStart=/usr/local/bin/echod --remote=pfd:3 --unixctl=/run/echod/ha-setuid.ctl --sandbox=on,elevateprivileges=deny --enable-probes\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[],
        check: sandbox_setuid_sigsys,
    },
    Scenario {
        name: "restart-under-load",
        about: "clients keep connecting while echod is killed and restarted: every connection is answered",
        units: &[
            (
                "ha-load.socket",
                "[Unit]\nDescription=echod socket (load)\n\n[Socket]\nListenStream=/run/echod/ha-load.sock\nBacklog=1024\n",
            ),
            (
                "ha-load.service",
                "[Unit]\nDescription=echod under load\nStartLimitIntervalSec=0\n\n[Service]\nType=notify\nRestart=always\nRestartSec=100ms\nExecStart=/usr/local/bin/echod --remote=pfd:3\n",
            ),
        ],
        timeout: Duration::from_secs(60),
        needs: &[],
        check: restart_under_load,
    },
    Scenario {
        name: "notify-after-validation",
        about: "Type=notify: READY=1 only after the listeners are validated and the sandbox is loaded",
        units: &[
            (
                "ha-notify.socket",
                "[Unit]\nDescription=echod socket (notify)\n\n[Socket]\nListenStream=/run/echod/ha-notify.sock\n",
            ),
            (
                "ha-notify.service",
                "[Unit]\nDescription=echod Type=notify, checked right after READY=1\n\n[Service]\nType=notify\nExecStart=/usr/local/bin/echod --remote=pfd:3 --sandbox=on,spawn=deny\nExecStartPost=/bin/sh -c 'grep -q \"^Seccomp:[[:space:]]*2\" /proc/$MAINPID/status'\n",
            ),
            (
                "ha-notify-dgram.socket",
                "[Unit]\nDescription=echod datagram socket (notify)\n\n[Socket]\nListenDatagram=/run/echod/ha-notify-dgram.sock\nService=ha-notify-bad.service\n",
            ),
            (
                "ha-notify-bad.service",
                "[Unit]\nDescription=echod Type=notify given a datagram socket\n\n[Service]\nType=notify\nSockets=ha-notify-dgram.socket\nExecStart=/usr/local/bin/echod --remote=pfd:3 --sandbox=on,spawn=deny\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[],
        check: notify_after_validation,
    },
];

fn unix_activation(cx: &mut Ctx) -> Result<(), String> {
    cx.systemctl(&["start", "ha-unix.socket"])?;
    cx.expect_prop("ha-unix.socket", "SubState", "listening")?;
    cx.expect_prop("ha-unix.service", "ActiveState", "inactive")?;
    cx.echo("unix:/run/echod/ha-unix.sock", "hi")?;
    cx.expect_prop("ha-unix.service", "ActiveState", "active")?;
    cx.expect_prop("ha-unix.service", "TriggeredBy", "ha-unix.socket")?;
    cx.expect_prop("ha-unix.socket", "SubState", "running")?;
    let pid = cx.main_pid("ha-unix.service")?;
    let status =
        crate::scenarios::ctx::run("systemctl", &["status", "--no-pager", "ha-unix.service"])?;
    ensure(
        status.stdout.contains("TriggeredBy:") && status.stdout.contains("ha-unix.socket"),
        || {
            format!(
                "`systemctl status ha-unix.service` does not show the triggering socket:\n{}",
                status.stdout
            )
        },
    )?;
    // A second connection is served by the same process: Accept=no, one daemon, many clients.
    cx.echo("unix:/run/echod/ha-unix.sock", "again")?;
    let pid2 = cx.main_pid("ha-unix.service")?;
    ensure(pid == pid2, || {
        format!("MainPID changed from {pid} to {pid2} between two connections")
    })
}

fn named_fds(cx: &mut Ctx) -> Result<(), String> {
    cx.systemctl(&["start", "ha-named-tcp.socket", "ha-named-unix.socket"])?;
    cx.expect_prop("ha-named.service", "ActiveState", "inactive")?;
    cx.echo("tcp:127.0.0.1:7301", "over tcp")?;
    cx.expect_prop("ha-named.service", "ActiveState", "active")?;
    let pid = cx.main_pid("ha-named.service")?;
    cx.echo("unix:/run/echod/ha-named.sock", "over unix")?;
    let pid2 = cx.main_pid("ha-named.service")?;
    ensure(pid == pid2, || {
        format!("the second socket started another echod ({pid} then {pid2})")
    })?;
    // systemd passed both, named; echod's environment shows how.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).map_err(|e| e.to_string())?;
    let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
    ensure(environ.contains("LISTEN_FDS=2"), || {
        format!("echod did not get LISTEN_FDS=2:\n{environ}")
    })?;
    ensure(
        environ.contains("LISTEN_FDNAMES=tcp:local")
            || environ.contains("LISTEN_FDNAMES=local:tcp"),
        || format!("echod did not get LISTEN_FDNAMES with tcp and local:\n{environ}"),
    )
}

fn datagram_rejected(cx: &mut Ctx) -> Result<(), String> {
    cx.systemctl(&["start", "ha-dgram.socket"])?;
    let started = cx.systemctl(&["start", "ha-dgram.service"]);
    ensure(started.is_err(), || {
        "echod started successfully with a datagram socket as pfd:3".into()
    })?;
    cx.wait_prop("ha-dgram.service", "ActiveState", "failed", 10 * S)?;
    cx.expect_prop("ha-dgram.service", "Result", "exit-code")?;
    let status = cx.prop("ha-dgram.service", "ExecMainStatus")?;
    ensure(status != "0", || {
        "ExecMainStatus is 0 for a refused listener".into()
    })?;
    cx.wait_journal("ha-dgram.service", "not a stream socket")?;
    Ok(())
}

fn accept_yes_rejected(cx: &mut Ctx) -> Result<(), String> {
    cx.systemctl(&["start", "ha-accept.socket"])?;
    for round in 1..=2u32 {
        let reply = echo_request("tcp:127.0.0.1:7304", "hi", cx.timeout(10 * S));
        ensure(reply.is_err(), || {
            format!("an Accept=yes connection got an echo reply: {reply:?}")
        })?;
        let want = round.to_string();
        cx.wait_prop("ha-accept.socket", "NAccepted", &want, 10 * S)?;
        // Each connection: exactly one instance, failed, and the socket still listening.
        let mut failed = 0;
        cx.wait_until(
            &format!("{round} failed ha-accept@ instance(s)"),
            15 * S,
            || {
                let out = cx.systemctl(&[
                    "list-units",
                    "--all",
                    "--plain",
                    "--no-legend",
                    "ha-accept@*.service",
                ])?;
                failed = out.lines().filter(|l| l.contains(" failed ")).count();
                Ok(failed as u32 >= round)
            },
        )?;
        ensure(failed as u32 == round, || {
            format!("{failed} failed instances after {round} connections")
        })?;
        cx.expect_prop("ha-accept.socket", "ActiveState", "active")?;
    }
    let journal = cx.wait_journal("ha-accept@*.service", "Accept=yes")?;
    let mentions = journal.lines().filter(|l| l.contains("Accept=yes")).count();
    ensure((2..=6).contains(&mentions), || {
        format!(
            "expected one Accept=yes error per connection (2), found {mentions}:\n{}",
            tail(&journal, 20)
        )
    })
}

/// Starts `NAME.socket`, activates `NAME.service` with a first echo on `/run/echod/NAME.sock`,
/// waits for its control socket `/run/echod/NAME.ctl`; returns that path and echod's PID.
fn activate_with_control(cx: &Ctx, name: &str) -> Result<(String, u32), String> {
    let ctl = format!("/run/echod/{name}.ctl");
    cx.systemctl(&["start", &format!("{name}.socket")])?;
    cx.echo(&format!("unix:/run/echod/{name}.sock"), "before")?;
    cx.wait_listening(&ctl)?;
    let pid = cx.main_pid(&format!("{name}.service"))?;
    Ok((ctl, pid))
}

fn runtime_pfd_refused(cx: &mut Ctx) -> Result<(), String> {
    let (ctl, pid) = activate_with_control(cx, "ha-policy")?;
    let refused = cx.appctl(&ctl, &["echod/add-remote", "pfd:3"])?;
    ensure(refused.code == 2, || {
        format!(
            "add-remote pfd:3 exited {} (want 2): {}",
            refused.code,
            refused.both().trim()
        )
    })?;
    ensure(
        refused
            .both()
            .contains("pfd: remotes can only be specified on the command line"),
        || {
            format!(
                "add-remote pfd:3 did not explain the refusal: {}",
                refused.both().trim()
            )
        },
    )?;
    let list = cx.appctl(&ctl, &["echod/list-remotes"])?;
    ensure(list.code == 0, || {
        format!("list-remotes exited {}: {}", list.code, list.both())
    })?;
    ensure(list.stdout.matches("pfd:").count() == 1, || {
        format!(
            "list-remotes should show the one command-line pfd: remote:\n{}",
            list.stdout
        )
    })?;
    // A non-pfd remote is accepted at run time (the policy is specific, not a blanket refusal).
    let added = cx.appctl(
        &ctl,
        &["echod/add-remote", "punix:/run/echod/ha-policy-extra.sock"],
    )?;
    ensure(added.code == 0, || {
        format!("add-remote punix: exited {}: {}", added.code, added.both())
    })?;
    cx.wait_listening("/run/echod/ha-policy-extra.sock")?;
    cx.echo("unix:/run/echod/ha-policy-extra.sock", "runtime remote")?;
    cx.echo("unix:/run/echod/ha-policy.sock", "after")?;
    let pid2 = cx.main_pid("ha-policy.service")?;
    ensure(pid == pid2, || {
        format!("echod was restarted ({pid} then {pid2})")
    })
}

fn sandbox_spawn_deny(cx: &mut Ctx) -> Result<(), String> {
    let (ctl, pid) = activate_with_control(cx, "ha-spawn")?;
    let probe = cx.appctl(&ctl, &["echod/probe", "fork"])?;
    ensure(probe.both().contains("EPERM"), || {
        format!(
            "probe fork did not report EPERM (exit {}): {}",
            probe.code,
            probe.both().trim()
        )
    })?;
    cx.echo("unix:/run/echod/ha-spawn.sock", "after")?;
    cx.expect_prop("ha-spawn.service", "ActiveState", "active")?;
    cx.expect_prop("ha-spawn.service", "NRestarts", "0")?;
    let pid2 = cx.main_pid("ha-spawn.service")?;
    ensure(pid == pid2, || {
        format!("echod was replaced ({pid} then {pid2})")
    })
}

fn sandbox_setuid_sigsys(cx: &mut Ctx) -> Result<(), String> {
    let (ctl, pid) = activate_with_control(cx, "ha-setuid")?;
    let probe = cx.appctl(&ctl, &["echod/probe", "setuid"])?;
    ensure(probe.code != 0, || {
        format!(
            "probe setuid succeeded; echod should have been killed: {}",
            probe.both().trim()
        )
    })?;
    cx.wait_prop("ha-setuid.service", "ActiveState", "failed", 10 * S)?;
    cx.expect_prop("ha-setuid.service", "ExecMainStatus", "31")?;
    let result = cx.prop("ha-setuid.service", "Result")?;
    ensure(result == "signal" || result == "core-dump", || {
        format!("Result={result}, want signal (SIGSYS)")
    })?;
    cx.wait_journal("ha-setuid.service", "status=31/SYS")?;
    cx.expect_prop("ha-setuid.socket", "SubState", "listening")?;
    // The next connection re-activates echod through the socket.
    cx.echo("unix:/run/echod/ha-setuid.sock", "again")?;
    cx.expect_prop("ha-setuid.service", "ActiveState", "active")?;
    let pid2 = cx.main_pid("ha-setuid.service")?;
    ensure(pid2 != pid && pid2 != 0, || {
        format!("no new echod after the SIGSYS ({pid} then {pid2})")
    })
}

fn restart_under_load(cx: &mut Ctx) -> Result<(), String> {
    const CLIENTS: usize = 4;
    const KILLS: u32 = 3;
    cx.systemctl(&["start", "ha-load.socket"])?;
    cx.echo("unix:/run/echod/ha-load.sock", "warm-up")?;
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let timeout = cx.timeout(20 * S);
    let mut workers = Vec::new();
    for c in 0..CLIENTS {
        let stop = Arc::clone(&stop);
        let answered = Arc::clone(&answered);
        workers.push(std::thread::spawn(move || -> Result<usize, String> {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let text = format!("client {c} request {n}");
                let reply = echo_request("unix:/run/echod/ha-load.sock", &text, timeout)?;
                super::ctx::check_echo_reply(&reply, &text)
                    .map_err(|e| format!("client {c}, connection {n}: {e}"))?;
                n += 1;
                answered.fetch_add(1, Ordering::Relaxed);
            }
            Ok(n)
        }));
    }
    let mut last_pid = cx.main_pid("ha-load.service")?;
    for kill in 1..=KILLS {
        // Let some load through the current process first.
        let before = answered.load(Ordering::Relaxed);
        cx.wait_until("clients to get replies", 20 * S, || {
            Ok(answered.load(Ordering::Relaxed) >= before + 10)
        })?;
        cx.systemctl(&["kill", "--signal=SIGTERM", "ha-load.service"])?;
        let want = kill.to_string();
        cx.wait_prop("ha-load.service", "NRestarts", &want, 20 * S)?;
        cx.wait_prop("ha-load.service", "ActiveState", "active", 20 * S)?;
        let pid = cx.main_pid("ha-load.service")?;
        ensure(pid != last_pid, || {
            format!("restart {kill}: MainPID still {pid}")
        })?;
        last_pid = pid;
    }
    let before = answered.load(Ordering::Relaxed);
    cx.wait_until(
        "clients to get replies after the last restart",
        20 * S,
        || Ok(answered.load(Ordering::Relaxed) >= before + 10),
    )?;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    let mut errors = Vec::new();
    for w in workers {
        match w.join() {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    ensure(errors.is_empty(), || {
        format!(
            "{} client(s) lost a connection across restarts: {}",
            errors.len(),
            errors.join("; ")
        )
    })?;
    ensure(total >= 40, || {
        format!("only {total} connections were made")
    })
}

fn notify_after_validation(cx: &mut Ctx) -> Result<(), String> {
    cx.systemctl(&["start", "ha-notify.socket", "ha-notify-dgram.socket"])?;
    // Positive: `systemctl start` returns once READY=1 arrived; ExecStartPost= (run right after
    // READY=1) checked that the seccomp filter was already in place.
    cx.systemctl(&["start", "ha-notify.service"])?;
    cx.expect_prop("ha-notify.service", "ActiveState", "active")?;
    cx.expect_prop("ha-notify.service", "StatusErrno", "0")?;
    cx.echo("unix:/run/echod/ha-notify.sock", "ready")?;
    // Negative: an invalid listener means READY=1 is never sent: start fails and the unit never
    // entered the active state.
    let bad = cx.systemctl(&["start", "ha-notify-bad.service"]);
    ensure(bad.is_err(), || {
        "echod reported READY=1 with a datagram listener".into()
    })?;
    cx.wait_prop("ha-notify-bad.service", "ActiveState", "failed", 10 * S)?;
    cx.expect_prop(
        "ha-notify-bad.service",
        "ActiveEnterTimestampMonotonic",
        "0",
    )?;
    cx.wait_journal("ha-notify-bad.service", "not a stream socket")?;
    Ok(())
}
