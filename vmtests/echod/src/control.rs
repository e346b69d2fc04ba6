//! The control socket: an OVS-compatible unixctl server (driven by the real `ovs-appctl`), whose
//! `echod/*` commands change the remotes through the supervisor.

use super::jsonrpc::{Decoder, Json, Message, encode_error, encode_reply};
use super::supervise::Supervisor;
use super::{probes, unixctl};
use remote_policy::Origin;
use remote_policy::set::{Added, Refusal, Removed};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Most concurrent control connections.
const MAX_CONTROL_CONNECTIONS: usize = 64;

/// What the control connections share: the supervisor and the registered commands.
#[derive(Debug)]
struct Control {
    sup: Arc<Supervisor>,
    commands: Vec<&'static unixctl::Command>,
}

/// Accepts control connections until shutdown (`enable_probes`: register `echod/probe`).
pub(crate) async fn control_loop(
    listener: tokio::net::UnixListener,
    sup: Arc<Supervisor>,
    enable_probes: bool,
) {
    let ctl = Arc::new(Control {
        sup,
        commands: unixctl::registered(enable_probes),
    });
    let plane = &ctl.sup.plane;
    loop {
        let r = tokio::select! {
            biased;
            _ = plane.stopped() => return,
            r = listener.accept() => r,
        };
        match r {
            Ok((s, _)) => {
                if let Err(why) = peer_allowed(&s) {
                    plane.warn_limited(format!("control socket: refusing a connection: {why}"));
                    continue;
                }
                let Some(slot) = plane.try_reserve_control(MAX_CONTROL_CONNECTIONS) else {
                    plane.warn_limited(format!(
                        "control socket: closing a new connection: {MAX_CONTROL_CONNECTIONS} already"
                    ));
                    continue;
                };
                let ctl = ctl.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    serve_control(s, &ctl).await;
                });
            }
            Err(e) => {
                plane.warn_limited(format!("control socket: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Only this process's user and root may use the control socket (SO_PEERCRED), whatever the
/// socket file's mode ended up being.
fn peer_allowed(s: &tokio::net::UnixStream) -> Result<(), String> {
    let ours = nix::unistd::geteuid().as_raw();
    match s.peer_cred() {
        Ok(cred) if cred.uid() == ours || cred.uid() == 0 => Ok(()),
        Ok(cred) => Err(format!(
            "peer uid {} is neither echod's user (uid {ours}) nor root",
            cred.uid()
        )),
        Err(e) => Err(format!("cannot read the peer's credentials: {e}")),
    }
}

async fn serve_control(mut s: tokio::net::UnixStream, ctl: &Control) {
    let plane = &ctl.sup.plane;
    let mut dec = Decoder::new(plane.max_message_size.load(Ordering::Relaxed));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let idle = plane.timeouts.control_idle;
        let n = tokio::select! {
            biased;
            r = tokio::time::timeout(idle, s.read(&mut buf)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => n,
                Err(_) => {
                    plane.warn_limited(format!(
                        "control socket: closing a connection silent for {} ms (--control-timeout)",
                        idle.as_millis()
                    ));
                    return;
                }
            },
            // An idle control connection does not hold up shutdown.
            _ = plane.stopped() => return,
        };
        dec.feed(&buf[..n]);
        loop {
            let msg = match dec.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    plane.warn_limited(format!("control socket: closing connection: {e}"));
                    let _ = s.write_all(&e.to_reply()).await;
                    return;
                }
            };
            let Message::Request { method, params, id } = msg else {
                let kind = match msg {
                    Message::Notify { .. } => "notification",
                    Message::Reply { .. } => "reply",
                    _ => "error",
                };
                plane.warn_limited(format!(
                    "control socket: received unexpected {kind} message"
                ));
                return;
            };
            let result = control_command(ctl, &method, &params);
            let mut out = Vec::new();
            match &result {
                Ok(text) => encode_reply(&mut out, &unixctl::body(text), &id),
                Err(text) => encode_error(&mut out, &unixctl::body(text), &id),
            }
            let written = s.write_all(&out).await;
            if method == "exit" && result.is_ok() {
                let _ = s.shutdown().await;
                log::info!("exit requested on the control socket");
                plane.begin_shutdown();
                return;
            }
            if written.is_err() {
                return;
            }
        }
    }
}

/// Runs one control command (OVS's checks first), returning the reply text or the error text.
fn control_command(ctl: &Control, method: &str, params: &Json) -> Result<String, String> {
    let params: Vec<Value> = params
        .parse()
        .map_err(|e| format!("\"{method}\" command has an argument that cannot be decoded: {e}"))?;
    let (cmd, args) = unixctl::check(&ctl.commands, method, &params)?;
    match cmd.name {
        "list-commands" => Ok(unixctl::list_commands(&ctl.commands)),
        "version" => Ok(unixctl::version()),
        "exit" => Ok(String::new()),
        "echod/add-remote" => add_remote(&ctl.sup, &args[0]),
        "echod/remove-remote" => remove_remote(&ctl.sup, &args[0]),
        "echod/list-remotes" => Ok(ctl.sup.remotes().list()),
        "echod/reload" => ctl.sup.reload(),
        "echod/probe" => {
            let r = probes::run(&args[0]);
            match &r {
                Ok(out) => log::info!("probe {}: {out}", args[0]),
                Err(e) => log::info!("probe: {e}"),
            }
            r
        }
        "echod/stall-watchdog" => {
            ctl.sup
                .plane
                .watchdog_stalled
                .store(true, std::sync::atomic::Ordering::Release);
            log::warn!("watchdog pings stopped (echod/stall-watchdog)");
            Ok(String::new())
        }
        other => Err(format!("\"{other}\" is not implemented")),
    }
}

fn add_remote(sup: &Supervisor, input: &str) -> Result<String, String> {
    let mut st = sup.remotes();
    match st.set.add(Origin::ControlSocket, input) {
        Ok(Added::New(remote)) => match st.open(&remote, &sup.plane) {
            Ok(()) => {
                log::info!("{remote}: added from the control socket");
                Ok(String::new())
            }
            Err(e) => {
                st.entries.remove(&remote);
                let _ = st.set.remove(Origin::ControlSocket, &remote.to_string());
                Err(e.to_string())
            }
        },
        Ok(Added::NewOrigin(_)) | Ok(Added::Duplicate(_)) => Ok(String::new()),
        Err(Refusal::Invalid(e)) => {
            let msg = e.to_string();
            if msg.contains(input) {
                Err(msg)
            } else {
                Err(format!("\"{input}\": {msg}"))
            }
        }
        Err(refusal) => Err(refusal.to_string()),
    }
}

fn remove_remote(sup: &Supervisor, input: &str) -> Result<String, String> {
    let mut st = sup.remotes();
    match st.set.remove(Origin::ControlSocket, input) {
        Ok(Removed::Gone(remote)) => {
            st.entries.remove(&remote);
            log::info!("{remote}: removed from the control socket");
            Ok(String::new())
        }
        Ok(Removed::StillHeld { remote, by }) => {
            let by: Vec<&str> = by.iter().map(|o| o.words()).collect();
            Ok(format!(
                "{remote} stays open: also configured by the {}",
                by.join(", ")
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}
