//! What a socket-activated daemon needs from systemd beyond the sockets: reload with
//! `RELOADING=1`/`READY=1`, `STATUS=`, the watchdog, and a restart that keeps established
//! sessions through the fd store.

use super::ctx::{Client, Ctx, ensure, tail};
use super::{Need, Scenario};
use serde_json::json;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);
const CTL_WD: &str = "/run/ha-wd/echod.ctl";

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "axum-example",
        about: "stream-pfd's axum example as a socket-activated Type=notify unit: READY=1 after \
                the sandbox, HTTP over the passed unix socket named web, and its watchdog pings \
                keep it alive past WatchdogSec=1",
        units: &[
            (
                "ha-axum.socket",
                "[Unit]\nDescription=axum example socket\n\n[Socket]\nListenStream=/run/echod/ha-axum.sock\n\
                 FileDescriptorName=web\n",
            ),
            (
                "ha-axum.service",
                "[Unit]\nDescription=stream-pfd axum example\n\n[Service]\nType=notify\n\
                 WatchdogSec=1\nExecStart=/usr/local/bin/axum --listen pfd:web\n",
            ),
        ],
        timeout: Duration::from_secs(30),
        needs: &[],
        check: axum_example,
    },
    Scenario {
        name: "notify-reload",
        about: "Type=notify-reload: systemctl reload sends SIGHUP and returns after echod's \
                RELOADING=1 with MONOTONIC_USEC, then READY=1 and a new STATUS=",
        units: &[
            (
                "ha-reload.socket",
                "[Unit]\nDescription=echod socket (reload)\n\n[Socket]\nListenStream=/run/echod/ha-reload.sock\n",
            ),
            (
                "ha-reload.service",
                "[Unit]\nDescription=echod (notify-reload)\n\n[Service]\nType=notify-reload\n\
                 RuntimeDirectory=ha-reload\nExecStart=/usr/local/bin/echod --remote=pfd:3\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[Need::Systemd(253, "Type=notify-reload")],
        check: notify_reload,
    },
    Scenario {
        name: "reload-sighup",
        about: "Type=notify with ExecReload= (what systemd before 253 offers): SIGHUP reloads \
                the same process, which reports RELOADING=1, READY=1 and a new STATUS=",
        units: &[
            (
                "ha-hup.socket",
                "[Unit]\nDescription=echod socket (SIGHUP reload)\n\n[Socket]\nListenStream=/run/echod/ha-hup.sock\n",
            ),
            (
                "ha-hup.service",
                "[Unit]\nDescription=echod (ExecReload=)\n\n[Service]\nType=notify\n\
                 ExecReload=/bin/kill -HUP $MAINPID\nRuntimeDirectory=ha-hup\n\
                 ExecStart=/usr/local/bin/echod --remote=pfd:3\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[],
        check: reload_sighup,
    },
    Scenario {
        name: "watchdog",
        about: "WatchdogSec=: echod's pings keep it alive; when they stop, systemd kills it \
                (watchdog timeout in the journal) and restarts it",
        units: &[
            (
                "ha-wd.socket",
                "[Unit]\nDescription=echod socket (watchdog)\n\n[Socket]\nListenStream=/run/echod/ha-wd.sock\n",
            ),
            (
                "ha-wd.service",
                "[Unit]\nDescription=echod with a watchdog\nStartLimitIntervalSec=0\n\n[Service]\n\
                 Type=notify\nWatchdogSec=2\nRestart=on-failure\nRestartSec=100ms\n\
                 RuntimeDirectory=ha-wd\n\
                 ExecStart=/usr/local/bin/echod --remote=pfd:3 --enable-probes\n",
            ),
        ],
        timeout: Duration::from_secs(60),
        needs: &[],
        check: watchdog,
    },
    Scenario {
        name: "fdstore-restart",
        about: "FileDescriptorStoreMax= and --keep-sessions: clients in the middle of a \
                conversation (one with half a request sent) keep their connection across \
                systemctl restart; no request lost or answered twice",
        units: &[
            (
                "ha-keep.socket",
                "[Unit]\nDescription=echod socket (keep sessions)\n\n[Socket]\nListenStream=/run/echod/ha-keep.sock\n",
            ),
            (
                "ha-keep.service",
                "[Unit]\nDescription=echod keeping sessions across restarts\n\n[Service]\n\
                 Type=notify\nFileDescriptorStoreMax=64\n\
                 ExecStart=/usr/local/bin/echod --remote=pfd:3 --keep-sessions --inactivity-probe=0\n",
            ),
        ],
        timeout: Duration::from_secs(60),
        needs: &[],
        check: fdstore_restart,
    },
    Scenario {
        name: "fdstore-forged",
        about: "systemd's real fd store holds entries no echod wrote (a 64 GiB memfd, a pipe, an \
                empty memfd as pending bytes, put there by a process of the unit): echod starts, \
                closes each forged session with a warning, and resumes the real ones",
        units: &[
            (
                "ha-forge.socket",
                "[Unit]\nDescription=echod socket (forged fd store)\n\n[Socket]\nListenStream=/run/echod/ha-forge.sock\n",
            ),
            // ExecReload runs the forger inside the unit, where NotifyAccess=all lets it store.
            (
                "ha-forge.service",
                "[Unit]\nDescription=echod with a forged fd store\n\n[Service]\n\
                 Type=notify\nNotifyAccess=all\nFileDescriptorStoreMax=64\n\
                 ExecStart=/usr/local/bin/echod --remote=pfd:3 --keep-sessions --inactivity-probe=0\n\
                 ExecReload=/usr/local/bin/vm-guest forge-fdstore\n",
            ),
        ],
        timeout: Duration::from_secs(60),
        needs: &[],
        check: fdstore_forged,
    },
    Scenario {
        name: "listen-pidfdid",
        about: "LISTEN_PIDFDID from the real systemd: taken when it names this process's pidfd; \
                a wrapper that changes it is refused with its own error (names both ids)",
        units: &[
            (
                "ha-pidfd.socket",
                "[Unit]\nDescription=echod socket (LISTEN_PIDFDID)\n\n[Socket]\nListenStream=/run/echod/ha-pidfd.sock\n",
            ),
            // sh execs echod (same pid, same pidfd), after logging what systemd set.
            (
                "ha-pidfd.service",
                "[Unit]\nDescription=echod (LISTEN_PIDFDID as systemd set it)\n\n[Service]\nType=notify\n\
                 ExecStart=/bin/sh -c 'echo \"pidfdid=$${LISTEN_PIDFDID:-unset} pid=$${LISTEN_PID:-unset}\"; \
                 exec /usr/local/bin/echod --remote=pfd:3'\n",
            ),
            (
                "ha-pidfd-bad.socket",
                "[Unit]\nDescription=echod socket (LISTEN_PIDFDID changed)\n\n[Socket]\nListenStream=/run/echod/ha-pidfd-bad.sock\n",
            ),
            // A wrapper that passes on LISTEN_PID but changes LISTEN_PIDFDID: what a process
            // that inherited stale variables, or a buggy wrapper, looks like.
            (
                "ha-pidfd-bad.service",
                "[Unit]\nDescription=echod (LISTEN_PIDFDID changed by a wrapper)\n\n[Service]\nType=notify\n\
                 ExecStart=/bin/sh -c 'echo \"pidfdid=$${LISTEN_PIDFDID:-unset}\"; \
                 LISTEN_PIDFDID=$$(($${LISTEN_PIDFDID:-0} + 1)) exec /usr/local/bin/echod --remote=pfd:3'\n",
            ),
        ],
        timeout: Duration::from_secs(40),
        needs: &[Need::Systemd(258, "LISTEN_PIDFDID")],
        check: listen_pidfdid,
    },
];

fn http_get_unix(path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| format!("connect {path}: {e}"))?;
    s.set_read_timeout(Some(10 * S))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write to {path}: {e}"))?;
    let mut out = String::new();
    s.read_to_string(&mut out)
        .map_err(|e| format!("read from {path}: {e}"))?;
    Ok(out)
}

fn axum_example(cx: &mut Ctx) -> Result<(), String> {
    cx.systemctl(&["start", "ha-axum.socket", "ha-axum.service"])?;
    // `start` returned: READY=1 arrived, sent only after the filter was loaded.
    cx.expect_prop("ha-axum.service", "StatusText", "serving")?;
    let pid = cx.main_pid("ha-axum.service")?;
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    ensure(status.lines().any(|l| l == "Seccomp:\t2"), || {
        format!("the axum example serves without its seccomp filter:\n{status}")
    })?;
    for _ in 0..2 {
        let response = http_get_unix("/run/echod/ha-axum.sock")?;
        ensure(
            response.starts_with("HTTP/1.1 200 OK\r\n")
                && response.ends_with("hello from stream-pfd\n"),
            || format!("unexpected response: {response:?}"),
        )?;
    }
    cx.wait_journal(
        "ha-axum.service",
        "serving on /run/echod/ha-axum.sock (socket-activated)",
    )?;
    // WatchdogSec=1: without pings systemd would have killed it by now.
    std::thread::sleep(3 * S);
    cx.expect_prop("ha-axum.service", "ActiveState", "active")?;
    let still = cx.main_pid("ha-axum.service")?;
    ensure(still == pid, || {
        format!("the axum example was restarted ({pid} -> {still}): its watchdog did not ping")
    })?;
    Ok(())
}

fn notify_reload(cx: &mut Ctx) -> Result<(), String> {
    reload(cx, "ha-reload", true)
}

fn reload_sighup(cx: &mut Ctx) -> Result<(), String> {
    reload(cx, "ha-hup", false)
}

/// Starts `<name>.socket` and `.service`, reloads, and checks that the same process reloaded
/// and reported it; with `native` (Type=notify-reload) also that systemd saw the reload end.
fn reload(cx: &mut Ctx, name: &str, native: bool) -> Result<(), String> {
    let (socket, service) = (format!("{name}.socket"), format!("{name}.service"));
    cx.systemctl(&["start", &socket, &service])?;
    cx.expect_prop(&service, "StatusText", "serving 1 remote(s)")?;
    let pid = cx.main_pid(&service)?;
    // With Type=notify-reload, `systemctl reload` returns only after RELOADING=1 and READY=1.
    cx.systemctl(&["reload", &service])?;
    cx.wait_prop(&service, "StatusText", "serving (reloaded)", 10 * S)?;
    cx.expect_prop(&service, "ActiveState", "active")?;
    ensure(cx.main_pid(&service)? == pid, || {
        "reload restarted echod".into()
    })?;
    cx.wait_journal(&service, "SIGHUP: reloading")?;
    if native {
        // systemd logs the reload job's end only after READY=1 (RELOADING=1 arrived first).
        cx.wait_journal(&service, "Reloaded")?;
    }
    cx.echo(&format!("unix:/run/echod/{name}.sock"), "after reload")
}

fn watchdog(cx: &mut Ctx) -> Result<(), String> {
    cx.systemctl(&["start", "ha-wd.socket", "ha-wd.service"])?;
    let first = cx.main_pid("ha-wd.service")?;
    // Three watchdog intervals with pings: still the same process.
    std::thread::sleep(6 * S);
    cx.expect_prop("ha-wd.service", "NRestarts", "0")?;
    ensure(cx.main_pid("ha-wd.service")? == first, || {
        "echod was restarted although it pinged the watchdog".into()
    })?;
    cx.wait_listening(CTL_WD)?;
    let ran = cx.appctl(CTL_WD, &["echod/stall-watchdog"])?;
    ensure(ran.code == 0, || format!("stall-watchdog: {}", ran.both()))?;
    cx.wait_journal("ha-wd.service", "Watchdog timeout")?;
    cx.wait_prop("ha-wd.service", "NRestarts", "1", 20 * S)?;
    cx.wait_prop("ha-wd.service", "ActiveState", "active", 20 * S)?;
    let second = cx.main_pid("ha-wd.service")?;
    ensure(second != first, || "MainPID did not change".into())?;
    cx.echo("unix:/run/echod/ha-wd.sock", "after the watchdog restart")
}

fn request(id: u64, text: &str) -> serde_json::Value {
    json!({"id": id, "method": "echo", "params": [text]})
}

/// Sends one echo request and checks its reply.
fn round_trip(client: &mut Client, id: u64, text: &str, who: &str) -> Result<(), String> {
    client
        .send(&request(id, text))
        .map_err(|e| format!("{who}: send {id}: {e}"))?;
    expect_reply(client, id, text, who)
}

fn expect_reply(client: &mut Client, id: u64, text: &str, who: &str) -> Result<(), String> {
    let reply = client
        .recv()
        .map_err(|e| format!("{who}: waiting for the reply to {id}: {e:?}"))?
        .ok_or_else(|| format!("{who}: connection closed before the reply to {id}"))?;
    ensure(
        reply["id"] == json!(id) && reply["result"] == json!([text]),
        || format!("{who}: reply to {id} is {reply}"),
    )
}

fn fdstore_restart(cx: &mut Ctx) -> Result<(), String> {
    const CLIENTS: u64 = 8;
    const ADDR: &str = "unix:/run/echod/ha-keep.sock";
    cx.systemctl(&["start", "ha-keep.socket", "ha-keep.service"])?;
    let first = cx.main_pid("ha-keep.service")?;
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let mut client = Client::connect(ADDR, cx.timeout(10 * S))?;
        for i in 0..3 {
            round_trip(
                &mut client,
                c * 100 + i,
                &format!("client {c} before {i}"),
                "before",
            )?;
        }
        clients.push(client);
    }
    // Client 0 sends half a request: its first bytes must survive the restart.
    let half =
        serde_json::to_vec(&request(50, "split across the restart")).map_err(|e| e.to_string())?;
    let (head, tail) = half.split_at(half.len() / 2);
    clients[0]
        .send_raw(head)
        .map_err(|e| format!("client 0: send half: {e}"))?;
    // Let echod read it before the restart (it is then pending in its decoder).
    std::thread::sleep(cx.timeout(S / 2));

    cx.systemctl(&["restart", "ha-keep.service"])?;
    cx.wait_prop("ha-keep.service", "ActiveState", "active", 20 * S)?;
    let second = cx.main_pid("ha-keep.service")?;
    ensure(second != first, || "restart kept the same MainPID".into())?;
    cx.wait_journal(
        "ha-keep.service",
        &format!("{CLIENTS} session(s) handed to the fd store"),
    )?;
    // The new instance logs one line per session it resumes (journald may lag: poll).
    let mut journal = String::new();
    cx.wait_until("every session resumed", 10 * S, || {
        journal = cx.journal("ha-keep.service")?;
        Ok(journal.matches("resuming session").count() >= CLIENTS as usize)
    })
    .map_err(|e| format!("{e}:\n{journal}"))?;
    // And client 0's half request went through the store beside its socket.
    ensure(journal.contains("bytes of a message pending"), || {
        format!("client 0's half request was not pending at the restart:\n{journal}")
    })?;

    clients[0]
        .send_raw(tail)
        .map_err(|e| format!("client 0: send the second half: {e}"))?;
    expect_reply(
        &mut clients[0],
        50,
        "split across the restart",
        "client 0 (split)",
    )?;
    for (c, client) in clients.iter_mut().enumerate() {
        let c = c as u64;
        for i in 0..3 {
            round_trip(
                client,
                c * 100 + 10 + i,
                &format!("client {c} after {i}"),
                "after",
            )
            .map_err(|e| format!("client {c} after the restart: {e}"))?;
        }
    }
    // A second restart: sessions resumed once are handed over again.
    cx.systemctl(&["restart", "ha-keep.service"])?;
    cx.wait_prop("ha-keep.service", "ActiveState", "active", 20 * S)?;
    for (c, client) in clients.iter_mut().enumerate() {
        let c = c as u64;
        round_trip(
            client,
            c * 100 + 20,
            &format!("client {c} after two"),
            "after two",
        )
        .map_err(|e| format!("client {c} after the second restart: {e}"))?;
    }
    cx.expect_prop(
        "ha-keep.service",
        "StatusText",
        &format!("serving 1 remote(s); {CLIENTS} session(s) resumed from the fd store"),
    )?;
    eprintln!(
        "fdstore-restart: {CLIENTS} sessions kept across two restarts, one with half a request \
         in flight"
    );
    Ok(())
}

fn fdstore_forged(cx: &mut Ctx) -> Result<(), String> {
    const ADDR: &str = "unix:/run/echod/ha-forge.sock";
    cx.systemctl(&["start", "ha-forge.socket", "ha-forge.service"])?;
    let first = cx.main_pid("ha-forge.service")?;
    let mut clients = Vec::new();
    for c in 0..2 {
        let mut client = Client::connect(ADDR, cx.timeout(10 * S))?;
        round_trip(&mut client, c, &format!("real session {c}"), "before")?;
        clients.push(client);
    }
    // The forger stores its sessions beside the real ones, which echod hands over at stop.
    cx.systemctl(&["reload", "ha-forge.service"])?;
    cx.systemctl(&["restart", "ha-forge.service"])?;
    cx.wait_prop("ha-forge.service", "ActiveState", "active", 20 * S)?;
    let second = cx.main_pid("ha-forge.service")?;
    ensure(second != first, || "restart kept the same MainPID".into())?;
    let pid = crate::forge::FORGED_PID;
    let refusals = [
        format!("echod-b{pid}-0: 68719476736 bytes, more than --max-message-size"),
        format!("echod-b{pid}-1: not a memfd but a pipe or FIFO"),
        format!("echod-b{pid}-2: an empty memfd"),
    ];
    let mut journal = String::new();
    cx.wait_until("each forged session refused", 10 * S, || {
        journal = cx.journal("ha-forge.service")?;
        Ok(refusals.iter().all(|r| journal.contains(r.as_str()))
            && journal.matches("resuming session").count() >= 2)
    })
    .map_err(|e| format!("{e}:\n{}", tail(&journal, 40)))?;
    ensure(
        !journal.contains(&format!("resuming session echod-p{pid}")),
        || format!("a forged session was resumed:\n{}", tail(&journal, 40)),
    )?;
    for (c, client) in clients.iter_mut().enumerate() {
        round_trip(
            client,
            10 + c as u64,
            &format!("real session {c} after"),
            "after",
        )
        .map_err(|e| format!("real session {c} after the restart: {e}"))?;
    }
    cx.expect_prop("ha-forge.service", "NRestarts", "0")?;
    eprintln!(
        "fdstore-forged: 3 forged sessions refused (64 GiB memfd, pipe, empty memfd), 2 real \
         ones resumed"
    );
    Ok(())
}

/// The number after `key=` in `text` (the last occurrence).
fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.rfind(key)? + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn listen_pidfdid(cx: &mut Ctx) -> Result<(), String> {
    // Taken when it matches: systemd really set it, and echod started and serves.
    cx.systemctl(&["start", "ha-pidfd.socket", "ha-pidfd.service"])?;
    let journal = cx.wait_journal("ha-pidfd.service", "pidfdid=")?;
    let id = number_after(&journal, "pidfdid=").ok_or_else(|| {
        format!(
            "systemd did not set LISTEN_PIDFDID to a number: {}",
            tail(&journal, 5)
        )
    })?;
    let pid = number_after(&journal, " pid=").ok_or("systemd did not set LISTEN_PID")?;
    ensure(u64::from(cx.main_pid("ha-pidfd.service")?) == pid, || {
        format!("LISTEN_PID={pid} is not the service's MainPID")
    })?;
    cx.echo("unix:/run/echod/ha-pidfd.sock", "pidfd-checked")?;
    cx.expect_prop("ha-pidfd.service", "ActiveState", "active")?;

    // Refused when a wrapper changed it: the check really runs on this kernel, and the id
    // echod computes for itself is exactly the one systemd had set.
    cx.systemctl(&["start", "ha-pidfd-bad.socket"])?;
    let started = cx.systemctl(&["start", "ha-pidfd-bad.service"]);
    ensure(started.is_err(), || {
        "echod started with a LISTEN_PIDFDID that is not its own".into()
    })?;
    let journal = cx.wait_journal(
        "ha-pidfd-bad.service",
        "but this process's pidfd inode id is",
    )?;
    let systemd_set = number_after(&journal, "pidfdid=").ok_or("no pidfdid= line")?;
    let want = format!(
        "LISTEN_PIDFDID={} but this process's pidfd inode id is {systemd_set}",
        systemd_set + 1
    );
    ensure(journal.contains(&want), || {
        format!("want `{want}` in the journal, got: {}", tail(&journal, 6))
    })?;
    ensure(id != 0 && systemd_set != 0 && id != systemd_set, || {
        format!("two processes got the same pidfd id {id}")
    })?;
    cx.expect_prop("ha-pidfd-bad.service", "Result", "exit-code")
}
