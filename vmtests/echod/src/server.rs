//! The running daemon: the remote supervisor (one `remote-policy` set, one task per open remote),
//! client connections, the control socket and graceful shutdown.

use super::config::{self, ConfigFile};
use super::endpoint::{self, OpenError, Running};
use super::jsonrpc::{Decoder, Message, encode_error, encode_reply};
use super::{probes, protocol, unixctl};
use remote_policy::ratelimit::{RateLimitedWarning, SharedRateLimiter};
use remote_policy::set::{Added, Reconciliation, Refusal, Removed};
use remote_policy::{Origin, Remote, RemoteSet};
use sandbox_opts::Sandbox;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use stream_pfd::{TokioListener, TokioStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

/// How often the remotes file is checked for changes.
pub(crate) const REMOTES_FILE_POLL: Duration = Duration::from_millis(200);
/// How long shutdown waits for in-flight replies.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Reconnection backoff for `unix:`/`tcp:` remotes: first and largest delay.
pub(crate) const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(8));
/// Most concurrent control connections.
pub(crate) const MAX_CONTROL_CONNECTIONS: usize = 64;
const READ_CHUNK: usize = 64 * 1024;

/// Which settings came from the command line (and so ignore the config file).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overrides {
    /// `--max-message-size` was given.
    pub(crate) max_message_size: bool,
    /// `--max-connections` was given.
    pub(crate) max_connections: bool,
    /// `--sandbox` was given.
    pub(crate) sandbox: bool,
}

/// Mutable daemon state, behind one mutex (operations on it are short and synchronous).
#[derive(Debug)]
pub(crate) struct State {
    /// Every remote with its origins, guarded by the policy.
    pub(crate) set: RemoteSet,
    /// The open remotes, by canonical form.
    pub(crate) running: BTreeMap<String, Running>,
    /// Listeners taken from systemd at start-up and not yet opened, by canonical `pfd:` form.
    pub(crate) inherited: BTreeMap<String, stream_pfd::Listener>,
    /// `--config-file`.
    pub(crate) config_file: Option<PathBuf>,
    /// `--remotes-file`.
    pub(crate) remotes_file: Option<PathBuf>,
    /// The remotes-file contents last reconciled.
    pub(crate) remotes_file_text: Option<String>,
    /// Settings given on the command line.
    pub(crate) overrides: Overrides,
    /// The sandbox loaded at start-up.
    pub(crate) sandbox: Sandbox,
    /// Entries refused so far, by origin: a refused line that stays in a file is warned about
    /// once, not at every re-read (the library's rate limiter bounds the rest).
    pub(crate) refused: BTreeSet<(Origin, String)>,
}

/// State shared by every task.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Current `--max-message-size`.
    pub(crate) max_message_size: AtomicUsize,
    /// Current `--max-connections`.
    pub(crate) max_connections: AtomicUsize,
    active: AtomicUsize,
    control_active: AtomicUsize,
    /// Accept loops still running. A loop may have accepted a connection that it has not yet
    /// counted in `active`: [`Shared::drain`] waits for every loop to stop first, so that such a
    /// connection is served instead of dropped with its request unread (a reset for the client).
    accepting: AtomicUsize,
    shutdown: watch::Sender<bool>,
    /// The remote set's warning rate limiter: one budget for every warning echod logs.
    warn_limit: SharedRateLimiter,
    commands: Vec<&'static unixctl::Command>,
    state: Mutex<State>,
}

/// Logs a warning the rate limiter let through, after the count of those it suppressed.
fn log_warning(w: &RateLimitedWarning) {
    if let Some(d) = w.dropped_line() {
        log::warn!("{d}");
    }
    log::warn!("{}", w.message);
}

/// Counts one connection while it lives.
struct ConnGuard<'a>(&'a AtomicUsize);

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Shared {
    /// The shared state for a daemon with `state`.
    pub(crate) fn new(state: State, limits: (usize, usize), enable_probes: bool) -> Arc<Shared> {
        Arc::new(Shared {
            max_message_size: AtomicUsize::new(limits.0),
            max_connections: AtomicUsize::new(limits.1),
            active: AtomicUsize::new(0),
            control_active: AtomicUsize::new(0),
            accepting: AtomicUsize::new(0),
            shutdown: watch::channel(false).0,
            warn_limit: state.set.limiter().clone(),
            commands: unixctl::registered(enable_probes),
            state: Mutex::new(state),
        })
    }

    /// Locks the state (a panic in another thread does not make it unusable).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the graceful shutdown (idempotent).
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves when shutdown begins.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Number of client connections being served.
    pub(crate) fn active_connections(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Logs a rate-limited warning (burst 5, then one per minute, shared with the remote
    /// set's refusal warnings).
    pub(crate) fn warn_rl(&self, message: String) {
        if let Some(w) = self.warn_limit.warn(message) {
            log_warning(&w);
        }
    }

    /// Reserves a connection slot; the caller releases it with a [`ConnGuard`].
    fn try_reserve(&self) -> bool {
        let max = self.max_connections.load(Ordering::Relaxed);
        let prev = self.active.fetch_add(1, Ordering::AcqRel);
        if prev >= max {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Waits until every accept loop has stopped and every connection has finished its
    /// in-flight replies, at most `grace`.
    pub(crate) async fn drain(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        // `accepting` first: a loop counts what it accepted in `active` before it stops.
        while self.accepting.load(Ordering::Acquire) > 0
            || self.active.load(Ordering::Acquire) > 0
            || self.control_active.load(Ordering::Acquire) > 0
        {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Serving remotes.

/// Accepts connections on `listener` until shutdown or until the remote is removed (the task is
/// aborted).
pub(crate) async fn accept_loop(listener: TokioListener, shared: Arc<Shared>, label: String) {
    shared.accepting.fetch_add(1, Ordering::AcqRel);
    let _accepting = ConnGuard(&shared.accepting);
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shared.stopped() => return,
            r = listener.accept() => r,
        };
        // Each family is served by its own instance of `serve_client` (no per-read dispatch).
        match accepted {
            Ok((TokioStream::Unix(s), _)) => spawn_client(&shared, s, &label),
            Ok((TokioStream::Tcp(s), _)) => {
                let _ = s.set_nodelay(true);
                spawn_client(&shared, s, &label)
            }
            Err(e) => {
                let raw = e.raw_os_error();
                if raw == Some(libc::ECONNABORTED) || raw == Some(libc::EINTR) {
                    continue;
                }
                shared.warn_rl(format!("{label}: accept failed: {e}"));
                // EMFILE/ENFILE/ENOBUFS: back off briefly instead of spinning.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn spawn_client<S>(shared: &Arc<Shared>, stream: S, label: &str)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if !shared.try_reserve() {
        shared.warn_rl(format!(
            "{label}: closing a new connection: {} connections already (--max-connections)",
            shared.max_connections.load(Ordering::Relaxed)
        ));
        return;
    }
    // The slot reserved above is released by the task's guard.
    let shared = shared.clone();
    let label = label.to_owned();
    tokio::spawn(async move {
        let _guard = ConnGuard(&shared.active);
        serve_client(stream, &shared, &label).await;
    });
}

/// How long a connection that has not yet had an answer (or holds half a message) may still
/// send its request once shutdown begins: a client that connected just before SIGTERM still
/// gets its reply instead of a closed connection.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(1);

/// Serves JSON-RPC on one connection until the peer closes, a bad message arrives, or shutdown
/// begins while the connection is idle (requests already read are always answered; a connection
/// that has not been answered yet, or holds half a message, gets [`STOP_GRACE`] to finish).
pub(crate) async fn serve_client<S>(mut stream: S, shared: &Shared, label: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut dec = Decoder::new(shared.max_message_size.load(Ordering::Relaxed));
    let mut buf = vec![0u8; READ_CHUNK];
    let mut out = Vec::new();
    let mut answered_any = false;
    let mut drain_until: Option<tokio::time::Instant> = None;
    loop {
        let n = match drain_until {
            Some(deadline) => {
                match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                    Ok(r) => r,
                    Err(_) => break,
                }
            }
            None => tokio::select! {
                biased;
                r = stream.read(&mut buf) => r,
                _ = shared.stopped() => {
                    if answered_any && !dec.has_partial() {
                        break;
                    }
                    drain_until = Some(tokio::time::Instant::now() + STOP_GRACE);
                    continue;
                }
            },
        };
        match n {
            Ok(0) => {
                if dec.has_partial() {
                    log::debug!("{label}: peer closed the connection in the middle of a message");
                }
                break;
            }
            Ok(n) => dec.feed(&buf[..n]),
            Err(e) => {
                log::debug!("{label}: read failed: {e}");
                break;
            }
        }
        loop {
            match dec.next_message() {
                Ok(Some(m)) => protocol::answer(m, &mut out),
                Ok(None) => break,
                Err(e) => {
                    shared.warn_rl(format!("{label}: closing connection: {e}"));
                    out.extend_from_slice(&e.to_reply());
                    let _ = stream.write_all(&out).await;
                    let _ = stream.shutdown().await;
                    return;
                }
            }
        }
        if !out.is_empty() {
            if let Err(e) = stream.write_all(&out).await {
                log::debug!("{label}: write failed: {e}");
                break;
            }
            out.clear();
            answered_any = true;
        }
        if drain_until.is_some() && answered_any && !dec.has_partial() {
            break;
        }
    }
}

/// Connects to a `unix:`/`tcp:` remote and serves that connection; reconnects with backoff.
pub(crate) async fn connect_loop(remote: Remote, shared: Arc<Shared>, status: Arc<Mutex<String>>) {
    let label = remote.to_string();
    let set_status = |s: String| {
        if let Ok(mut g) = status.lock() {
            *g = s;
        }
    };
    let mut backoff = BACKOFF.0;
    loop {
        set_status("connecting".into());
        let connected = tokio::select! {
            biased;
            _ = shared.stopped() => return,
            r = tokio::time::timeout(Duration::from_secs(10), connect(&remote)) => match r {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out")),
            },
        };
        match connected {
            Ok((stream, peer)) => {
                log::info!("{label}: connected to {peer}");
                set_status(format!("connected to {peer}"));
                backoff = BACKOFF.0;
                shared.active.fetch_add(1, Ordering::AcqRel);
                let _guard = ConnGuard(&shared.active);
                match stream {
                    TokioStream::Unix(s) => serve_client(s, &shared, &label).await,
                    TokioStream::Tcp(s) => serve_client(s, &shared, &label).await,
                }
                log::info!("{label}: connection closed");
            }
            Err(e) => {
                shared.warn_rl(format!("{label}: connection failed: {e}"));
                set_status(format!(
                    "connection failed ({e}); retrying in {} s",
                    backoff.as_secs()
                ));
            }
        }
        tokio::select! {
            _ = shared.stopped() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

async fn connect(remote: &Remote) -> std::io::Result<(TokioStream, String)> {
    match remote {
        Remote::Unix(path) => {
            let s = tokio::net::UnixStream::connect(path.as_path()).await?;
            Ok((TokioStream::Unix(s), path.to_string()))
        }
        Remote::Tcp(ep) => {
            let s = match ep.host().ip() {
                Some(ip) => tokio::net::TcpStream::connect((ip, ep.port())).await?,
                None => tokio::net::TcpStream::connect((ep.host().to_string(), ep.port())).await?,
            };
            s.set_nodelay(true)?;
            let peer = s
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| ep.to_string());
            Ok((TokioStream::Tcp(s), peer))
        }
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("{other} is not an outgoing remote"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Remote set changes.

impl State {
    /// Opens (prepares) a new remote and, when `shared` is given, starts serving it; failures
    /// are recorded (shown by `echod/list-remotes`) and returned.
    pub(crate) fn open(
        &mut self,
        remote: &Remote,
        shared: Option<&Arc<Shared>>,
    ) -> Result<(), OpenError> {
        let key = remote.to_string();
        match endpoint::prepare(remote, &mut self.inherited) {
            Ok(p) => {
                let mut running = Running::new(p);
                if let Some(shared) = shared {
                    running.start(shared, key.clone());
                }
                self.running.insert(key, running);
                Ok(())
            }
            Err(e) => {
                self.running.insert(key, Running::failed(&e));
                Err(e)
            }
        }
    }

    /// Starts every prepared remote.
    pub(crate) fn start_all(&mut self, shared: &Arc<Shared>) {
        for (label, r) in &mut self.running {
            r.start(shared, label.clone());
        }
    }

    /// Logs the rate-limited warning of each refused entry that was not already refused from
    /// the same origin; `origin` is the origin whose full list `rec` reconciled (its old
    /// refusals are forgotten), `None` for a policy change.
    pub(crate) fn note_refusals(&mut self, rec: &Reconciliation, origin: Option<Origin>) {
        let items = rec
            .rejected
            .iter()
            .map(|r| (r.origin, &r.input, r.warning.as_ref()))
            .chain(
                rec.parse_errors
                    .iter()
                    .map(|e| (e.origin, &e.input, e.warning.as_ref())),
            );
        let mut now = BTreeSet::new();
        for (o, input, warning) in items {
            let key = (o, input.clone());
            if !self.refused.contains(&key) {
                if let Some(w) = warning {
                    log_warning(w);
                }
            }
            now.insert(key);
        }
        if let Some(o) = origin {
            self.refused.retain(|(x, _)| *x != o);
        }
        self.refused.extend(now);
    }

    /// Applies a reconciliation of `origin` (see [`State::note_refusals`]): closes removed
    /// remotes, opens added ones (started at once when `shared` is given), logs new refusals.
    /// Returns one line per change.
    pub(crate) fn apply(
        &mut self,
        rec: &Reconciliation,
        origin: Option<Origin>,
        shared: Option<&Arc<Shared>>,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        self.note_refusals(rec, origin);
        for r in &rec.removed {
            self.running.remove(&r.to_string());
            log::info!("{r}: removed");
            lines.push(format!("removed {r}"));
        }
        for r in &rec.added {
            match self.open(r, shared) {
                Ok(()) => {
                    log::info!("{r}: added");
                    lines.push(format!("added {r}"));
                }
                Err(e) => {
                    log::warn!("{e}");
                    lines.push(format!("failed {r}: {e}"));
                }
            }
        }
        for r in &rec.rejected {
            lines.push(format!(
                "ignored \"{}\" from the {}: {}",
                r.input, r.origin, r.reason
            ));
        }
        for e in &rec.parse_errors {
            lines.push(format!(
                "ignored \"{}\" from the {}: {}",
                e.input, e.origin, e.error
            ));
        }
        lines
    }

    /// Reads the remotes file and reconciles the database origin if its text changed
    /// (`force`: even if unchanged). A read error keeps the current remotes.
    pub(crate) fn sync_remotes_file(
        &mut self,
        shared: Option<&Arc<Shared>>,
        force: bool,
    ) -> Result<Vec<String>, config::FileError> {
        let Some(path) = &self.remotes_file else {
            return Ok(Vec::new());
        };
        let text = config::read_small(path)?;
        if !force && self.remotes_file_text.as_deref() == Some(text.as_str()) {
            return Ok(Vec::new());
        }
        let rec = self
            .set
            .reconcile(Origin::Database, config::remote_lines(&text));
        self.remotes_file_text = Some(text);
        Ok(self.apply(&rec, Some(Origin::Database), shared))
    }

    /// Applies a config file: policy, then its remotes. Limits are returned for the caller.
    pub(crate) fn apply_config(
        &mut self,
        cfg: &ConfigFile,
        shared: Option<&Arc<Shared>>,
    ) -> Vec<String> {
        let policy = cfg.policy.unwrap_or_default();
        let mut lines = Vec::new();
        if policy != *self.set.policy() {
            let rec = self.set.set_policy(policy);
            lines.push("policy changed".to_string());
            lines.extend(self.apply(&rec, None, shared));
        }
        let rec = self.set.reconcile(Origin::ConfigFile, &cfg.remotes);
        lines.extend(self.apply(&rec, Some(Origin::ConfigFile), shared));
        lines
    }

    /// `echod/list-remotes`: `REMOTE (ORIGINS): STATE`, one line per remote.
    pub(crate) fn list(&self) -> String {
        let mut s = String::new();
        for (remote, origins) in self.set.iter() {
            let key = remote.to_string();
            let origins: Vec<&str> = origins.iter().map(|o| o.words()).collect();
            let state = self
                .running
                .get(&key)
                .map(|r| r.status())
                .unwrap_or_else(|| "not open".into());
            s.push_str(&format!("{key} ({}): {state}\n", origins.join(", ")));
        }
        s
    }
}

/// Watches the remotes file and reconciles on every change.
pub(crate) async fn watch_remotes_file(shared: Arc<Shared>) {
    let mut missing_reported = false;
    loop {
        tokio::select! {
            _ = shared.stopped() => return,
            _ = tokio::time::sleep(REMOTES_FILE_POLL) => {}
        }
        let mut st = shared.state();
        match st.sync_remotes_file(Some(&shared), false) {
            Ok(_) => missing_reported = false,
            Err(e) => {
                if !missing_reported {
                    log::warn!("{e}; keeping the current remotes from it");
                    missing_reported = true;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Control socket.

/// Accepts control connections until shutdown.
pub(crate) async fn control_loop(listener: tokio::net::UnixListener, shared: Arc<Shared>) {
    loop {
        let r = tokio::select! {
            biased;
            _ = shared.stopped() => return,
            r = listener.accept() => r,
        };
        match r {
            Ok((s, _)) => {
                let prev = shared.control_active.fetch_add(1, Ordering::AcqRel);
                if prev >= MAX_CONTROL_CONNECTIONS {
                    shared.control_active.fetch_sub(1, Ordering::AcqRel);
                    shared.warn_rl(format!(
                        "control socket: closing a new connection: {MAX_CONTROL_CONNECTIONS} already"
                    ));
                    continue;
                }
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _g = ConnGuard(&shared.control_active);
                    serve_control(s, &shared).await;
                });
            }
            Err(e) => {
                shared.warn_rl(format!("control socket: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_control(mut s: tokio::net::UnixStream, shared: &Arc<Shared>) {
    let mut dec = Decoder::new(shared.max_message_size.load(Ordering::Relaxed));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            biased;
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            // An idle control connection does not hold up shutdown.
            _ = shared.stopped() => return,
        };
        dec.feed(&buf[..n]);
        loop {
            let msg = match dec.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    shared.warn_rl(format!("control socket: closing connection: {e}"));
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
                shared.warn_rl(format!(
                    "control socket: received unexpected {kind} message"
                ));
                return;
            };
            let result = control_command(shared, &method, &params);
            let mut out = Vec::new();
            match &result {
                Ok(text) => encode_reply(&mut out, &unixctl::body(text), &id),
                Err(text) => encode_error(&mut out, &unixctl::body(text), &id),
            }
            let written = s.write_all(&out).await;
            if method == "exit" && result.is_ok() {
                let _ = s.shutdown().await;
                log::info!("exit requested on the control socket");
                shared.begin_shutdown();
                return;
            }
            if written.is_err() {
                return;
            }
        }
    }
}

/// Runs one control command (OVS's checks first), returning the reply text or the error text.
pub(crate) fn control_command(
    shared: &Arc<Shared>,
    method: &str,
    params: &[Value],
) -> Result<String, String> {
    let (cmd, args) = unixctl::check(&shared.commands, method, params)?;
    match cmd.name {
        "list-commands" => Ok(unixctl::list_commands(&shared.commands)),
        "version" => Ok(unixctl::version()),
        "exit" => Ok(String::new()),
        "echod/add-remote" => add_remote(shared, &args[0]),
        "echod/remove-remote" => remove_remote(shared, &args[0]),
        "echod/list-remotes" => Ok(shared.state().list()),
        "echod/reload" => reload(shared),
        "echod/probe" => {
            let r = probes::run(&args[0]);
            match &r {
                Ok(out) => log::info!("probe {}: {out}", args[0]),
                Err(e) => log::info!("probe: {e}"),
            }
            r
        }
        other => Err(format!("\"{other}\" is not implemented")),
    }
}

fn add_remote(shared: &Arc<Shared>, input: &str) -> Result<String, String> {
    let mut st = shared.state();
    match st.set.add(Origin::ControlSocket, input) {
        Ok(Added::New(remote)) => {
            let key = remote.to_string();
            match st.open(&remote, Some(shared)) {
                Ok(()) => {
                    log::info!("{key}: added from the control socket");
                    Ok(String::new())
                }
                Err(e) => {
                    st.running.remove(&key);
                    let _ = st.set.remove(Origin::ControlSocket, &key);
                    Err(e.to_string())
                }
            }
        }
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

fn remove_remote(shared: &Arc<Shared>, input: &str) -> Result<String, String> {
    let mut st = shared.state();
    match st.set.remove(Origin::ControlSocket, input) {
        Ok(Removed::Gone(remote)) => {
            st.running.remove(&remote.to_string());
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

fn reload(shared: &Arc<Shared>) -> Result<String, String> {
    let mut st = shared.state();
    let mut lines = Vec::new();
    if let Some(path) = st.config_file.clone() {
        let cfg = ConfigFile::load(&path).map_err(|e| e.to_string())?;
        if !st.overrides.max_message_size {
            let v = cfg
                .max_message_size
                .unwrap_or(super::cli::DEFAULT_MAX_MESSAGE_SIZE);
            shared.max_message_size.store(v, Ordering::Relaxed);
        }
        if !st.overrides.max_connections {
            let v = cfg
                .max_connections
                .unwrap_or(super::cli::DEFAULT_MAX_CONNECTIONS);
            shared.max_connections.store(v, Ordering::Relaxed);
        }
        if !st.overrides.sandbox {
            let want = cfg.sandbox.unwrap_or(Sandbox::OFF);
            if want != st.sandbox {
                let line = format!(
                    "the config file asks for sandbox \"{want}\" but \"{}\" is loaded; a sandbox \
                     change takes effect at the next start",
                    st.sandbox
                );
                log::warn!("{line}");
                lines.push(line);
            }
        }
        lines.extend(st.apply_config(&cfg, Some(shared)));
    }
    lines.extend(
        st.sync_remotes_file(Some(shared), true)
            .map_err(|e| e.to_string())?,
    );
    log::info!("reloaded ({} change(s))", lines.len());
    if lines.is_empty() {
        Ok("reloaded: no changes".into())
    } else {
        Ok(format!("reloaded:\n{}", lines.join("\n")))
    }
}
