//! Start-up and shutdown, in the order the issue fixes:
//!
//! 1. parse everything (command line, config file, remotes file; every remote through the
//!    `remote-policy` set), raise `RLIMIT_NOFILE`;
//! 2. walk the set once: take and validate every `pfd:` listener (`stream-pfd`, while still
//!    single-threaded, so the `LISTEN_*` variables can be unset); then open every remote
//!    (`endpoint`: bind every `punix:`/`ptcp:` listener, adopt each taken listener as is);
//! 3. open the control socket;
//! 4. load the sandbox (`seccomp-sets`, TSYNC: the tokio threads that already exist get it too;
//!    no_new_privs is always set with a sandbox, as in QEMU);
//! 5. send `READY=1` when `NOTIFY_SOCKET` is set;
//! 6. serve (`supervise` starts the `serve` tasks; `control` and the remotes-file watcher change
//!    the remotes). SIGTERM, SIGINT or `exit` stop accepting, finish in-flight replies (at most
//!    [`SHUTDOWN_GRACE`]), remove the Unix socket paths echod created, and return success.

use super::cli::{Cli, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_SIZE};
use super::config::{self, ConfigFile, FileError};
use super::control;
use super::endpoint::{self, OpenError};
use super::logging;
use super::serve::{Kind, spawn_stream};
use super::sessions::{self, SessionStore, TakenBack};
use super::state::{Overrides, Shared, Timeouts};
use super::supervise::{self, Files, State, Supervisor};
use clap::Parser;
use remote_policy::set::Refusal;
use remote_policy::{Origin, Remote, RemoteSet};
use sandbox_opts::Sandbox;
use std::collections::BTreeMap;
use std::fmt;
use std::process::ExitCode;
use std::time::Duration;
use stream_pfd::notify::{self, Notifier, Sent, State as Notify};

/// How long shutdown waits for in-flight replies.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// SIGHUP: `echod/reload`, framed for `Type=notify-reload` (`RELOADING=1` with the monotonic
/// time, then `READY=1` whether or not the reload worked: echod goes on serving either way).
fn reload_on_sighup(sup: &Supervisor) {
    log::info!("SIGHUP: reloading");
    tell(&[
        Notify::Reloading,
        Notify::Status("reloading the config and remotes files"),
    ]);
    // A failure is logged by reload().
    let status = match sup.reload() {
        Ok(_) => "serving (reloaded)".to_owned(),
        Err(e) => format!("serving (reload failed: {e})"),
    };
    // READY=1 alone: a status that cannot be sent must never hold back the end of the reload.
    tell(&[Notify::Ready]);
    tell_status(&status);
}

/// `STATUS=` with `text` on one line of at most 200 characters (systemd shows it in
/// `systemctl status`; a newline would be refused).
fn tell_status(text: &str) {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    tell(&[Notify::Status(&line)]);
}

/// Sends `states` to the service manager, if there is one; a failure is logged, never fatal.
fn tell(states: &[Notify<'_>]) {
    match notify::notify(states) {
        Ok(Sent::Delivered) => log::debug!("notified the service manager"),
        Ok(Sent::NoSocket) => {}
        Err(e) => log::warn!("cannot notify the service manager: {e}"),
    }
}

/// Pings the watchdog every half interval while the runtime runs (a stalled runtime stops the
/// pings, and systemd kills and restarts echod); `echod/stall-watchdog` stops them on purpose.
async fn watchdog(interval: Duration, shared: std::sync::Arc<super::state::Shared>) {
    let mut tick = tokio::time::interval(interval / 2);
    loop {
        tick.tick().await;
        if shared
            .watchdog_stalled
            .load(std::sync::atomic::Ordering::Acquire)
        {
            continue;
        }
        if let Err(e) = notify::notify(&[Notify::Watchdog]) {
            log::warn!("watchdog ping failed: {e}");
        }
    }
}

/// The control socket's mode: its owner only (connecting needs write permission).
const CONTROL_MODE: u32 = 0o700;

/// Why echod could not start (each is logged as one line, then echod exits 1).
#[derive(Debug)]
pub(crate) enum StartError {
    /// `--config-file` or `--remotes-file` could not be used.
    File(FileError),
    /// A `--remote` was refused by the parser or the policy.
    Remote {
        /// The argument as given.
        input: String,
        /// Why.
        refusal: Refusal,
    },
    /// The `LISTEN_*` environment is inconsistent.
    Env(stream_pfd::EnvError),
    /// A `pfd:` listener could not be taken (not passed, not a listening stream socket ...).
    Take(stream_pfd::TakeError),
    /// A command-line remote could not be opened.
    Open(OpenError),
    /// The control socket could not be opened.
    Control(OpenError),
    /// The sandbox could not be loaded.
    Sandbox(seccomp_sets::Error),
    /// The runtime or signal handlers could not be set up.
    Io(&'static str, std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::File(e) => write!(f, "{e}"),
            StartError::Remote { input, refusal } => write!(f, "--remote={input}: {refusal}"),
            StartError::Env(e) => write!(f, "socket activation: {e}"),
            StartError::Take(e) => write!(f, "{e}"),
            StartError::Open(e) => write!(f, "{e}"),
            StartError::Control(e) => write!(f, "control socket: {e}"),
            StartError::Sandbox(e) => write!(f, "cannot load the sandbox: {e}"),
            StartError::Io(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<StartError> for std::io::Error {
    fn from(e: StartError) -> Self {
        std::io::Error::other(e)
    }
}

/// `main` of the `echod` binary.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_level);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (each connection is one fd).
fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => log::debug!("RLIMIT_NOFILE raised from {soft} to {hard}"),
            Err(e) => log::warn!("cannot raise RLIMIT_NOFILE from {soft} to {hard}: {e}"),
        },
        Ok(_) => {}
        Err(e) => log::warn!("cannot read RLIMIT_NOFILE: {e}"),
    }
}

/// Runs echod until it is told to stop.
pub(crate) fn run(cli: Cli) -> Result<(), StartError> {
    // 1. Parse everything.
    raise_nofile();
    let cfg = match &cli.config_file {
        Some(p) => ConfigFile::load(p).map_err(StartError::File)?,
        None => ConfigFile::default(),
    };
    let mut set = RemoteSet::new(cfg.effective_policy());
    for input in &cli.remotes {
        if let Err(refusal) = set.add(Origin::CommandLine, input) {
            return Err(StartError::Remote {
                input: input.clone(),
                refusal,
            });
        }
    }
    let remotes_file_text = match &cli.remotes_file {
        Some(p) => Some(config::read_small(p).map_err(StartError::File)?),
        None => None,
    };
    let sandbox = match &cli.sandbox {
        Some(parsed) => {
            for w in &parsed.warnings {
                log::warn!("--sandbox: {w}");
            }
            parsed.sandbox
        }
        None => match (&cli.config_file, &cfg.sandbox) {
            (Some(p), Some(parsed)) => {
                for w in &parsed.warnings {
                    log::warn!("{}: sandbox: {w}", p.display());
                }
                parsed.sandbox
            }
            _ => Sandbox::OFF,
        },
    };
    let limits = (
        cli.max_message_size
            .map(|v| v as usize)
            .or(cfg.max_message_size)
            .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE),
        cli.max_connections
            .map(|v| v as usize)
            .or(cfg.max_connections)
            .unwrap_or(DEFAULT_MAX_CONNECTIONS),
    );

    let mut state = State {
        set,
        running: BTreeMap::new(),
        remotes_file_text,
        remotes_file_pending: None,
        overrides: Overrides {
            max_message_size: cli.max_message_size.is_some(),
            max_connections: cli.max_connections.is_some(),
            sandbox: cli.sandbox.is_some(),
        },
        sandbox,
        refused: Default::default(),
    };
    let rec = state.set.reconcile(Origin::ConfigFile, &cfg.remotes);
    state.note_refusals(&rec, Some(Origin::ConfigFile));
    if let Some(text) = &state.remotes_file_text {
        let rec = state
            .set
            .reconcile(Origin::Database, config::remote_lines(text));
        state.note_refusals(&rec, Some(Origin::Database));
    }

    // 2a. Take and validate the inherited listeners (single-threaded: LISTEN_* are unset), and
    // the sessions a previous instance left in the fd store.
    let (remotes, taken_back) = take_inherited(&state.set)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("echod-worker")
        .build()
        .map_err(|e| StartError::Io("cannot start the tokio runtime", e))?;
    let result = rt.block_on(serve(cli, state, remotes, taken_back, limits));
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

/// A remote to open at start-up.
#[derive(Debug)]
struct Opening {
    remote: Remote,
    /// The command line holds it: if it cannot be opened, echod does not start.
    from_cli: bool,
    /// The listener taken for it (`pfd:` remotes).
    inherited: Option<stream_pfd::Listener>,
}

/// Walks the set once: takes and validates the listener of every `pfd:` remote, and returns
/// every remote to open, in the set's order, each `pfd:` one with its listener.
fn take_inherited(set: &RemoteSet) -> Result<(Vec<Opening>, TakenBack), StartError> {
    let mut fds = stream_pfd::ListenFds::builder().unset_env(true).build();
    let taken_back = match &mut fds {
        Ok(fds) => sessions::take_back(fds),
        Err(_) => TakenBack::default(),
    };
    let mut remotes = Vec::with_capacity(set.len());
    let mut needs_env = false;
    for (remote, origins) in set.iter() {
        let inherited = match (remote, &mut fds) {
            (Remote::Pfd(spec), Ok(fds)) => {
                let listener = fds.take(spec).map_err(StartError::Take)?;
                log::info!("{spec}: {}", listener.info());
                Some(listener)
            }
            // The environment is inconsistent: an error, since this remote needs it.
            (Remote::Pfd(_), Err(_)) => {
                needs_env = true;
                None
            }
            _ => None,
        };
        remotes.push(Opening {
            remote: remote.clone(),
            from_cli: origins.contains(Origin::CommandLine),
            inherited,
        });
    }
    match fds {
        Ok(fds) => {
            for unused in fds.unclaimed() {
                log::warn!(
                    "socket-activation fd not used by any pfd: remote (closing it): {unused}"
                );
            }
        }
        Err(e) if needs_env => return Err(StartError::Env(e)),
        // No `pfd:` remote needs it: ignored.
        Err(e) => log::warn!("ignoring the socket-activation environment: {e}"),
    }
    Ok((remotes, taken_back))
}

/// Loads the sandbox on every thread (TSYNC). Unlike a bare `seccomp_sets::apply`, echod always
/// sets no_new_privs with a sandbox, as QEMU does (libseccomp's default): echod never executes
/// anything, so no_new_privs costs nothing and closes setuid-binary escapes for good.
fn load_sandbox(sandbox: &Sandbox) -> Result<Option<seccomp_sets::Loaded>, seccomp_sets::Error> {
    if !sandbox.enabled || sandbox.denied_sets().is_empty() {
        return Ok(None);
    }
    seccomp_sets::Filter::builder(sandbox)
        .mode(seccomp_sets::Mode::Enforce)
        .no_new_privs(true)
        .build()?
        .load()
        .map(Some)
}

async fn serve(
    cli: Cli,
    mut state: State,
    remotes: Vec<Opening>,
    taken_back: TakenBack,
    limits: (usize, usize),
) -> Result<(), StartError> {
    use tokio::signal::unix::{SignalKind, signal};

    // 2b. Bind every listener, adopt the taken ones. A command-line remote that cannot be opened
    // stops start-up; one from the files is reported and shown as failed by echod/list-remotes.
    let mut failed = 0;
    for Opening {
        remote,
        from_cli,
        inherited,
    } in remotes
    {
        match state.open_at_start(&remote, inherited) {
            Ok(()) => {
                // The bound address: the only way to learn ptcp:0's port without a control socket.
                log::info!("{remote}: {}", state.status(&remote));
            }
            Err(e) if from_cli => return Err(StartError::Open(e)),
            Err(e) => {
                log::warn!("{e}");
                failed += 1;
            }
        }
    }

    // 3. The control socket.
    let control = match cli.unixctl_path() {
        Some(path) => {
            // 0700 whatever the umask: only this process's user (and root) may connect.
            let (l, guard) =
                endpoint::bind_unix(&path, &path.display().to_string(), Some(CONTROL_MODE))
                    .map_err(StartError::Control)?;
            log::info!("control socket: {}", path.display());
            Some((l, guard))
        }
        None => {
            if cli.unixctl.as_deref() == Some("none") {
                log::info!("no control socket (--unixctl none)");
            } else {
                log::info!("no control socket (--unixctl not given and RUNTIME_DIRECTORY not set)");
            }
            None
        }
    };

    let mut sigterm =
        signal(SignalKind::terminate()).map_err(|e| StartError::Io("cannot handle SIGTERM", e))?;
    let mut sigint =
        signal(SignalKind::interrupt()).map_err(|e| StartError::Io("cannot handle SIGINT", e))?;
    let mut sighup =
        signal(SignalKind::hangup()).map_err(|e| StartError::Io("cannot handle SIGHUP", e))?;

    // 4. The sandbox, on every thread (TSYNC).
    let sandbox = state.sandbox;
    match load_sandbox(&sandbox).map_err(StartError::Sandbox)? {
        None => log::info!("sandbox: off"),
        Some(l) => log::info!(
            "sandbox: {sandbox} loaded on all threads ({} BPF instructions, no_new_privs={})",
            l.instructions,
            l.no_new_privs
        ),
    }

    let ms = std::time::Duration::from_millis;
    let timeouts = Timeouts {
        inactivity_probe: (cli.inactivity_probe > 0).then(|| ms(cli.inactivity_probe)),
        message: ms(cli.message_timeout),
        control_idle: ms(cli.control_timeout),
    };
    let shared = Shared::new(limits, state.set.limiter().clone(), timeouts);
    let files = Files {
        config: cli.config_file.clone(),
        remotes: cli.remotes_file.clone(),
    };
    let sup = Supervisor::new(shared.clone(), files, state);

    // Sessions: where they go at exit (--keep-sessions), and those a previous instance left.
    let notifier = match Notifier::from_env() {
        Ok(n) => n,
        Err(e) => {
            log::warn!("{e}");
            None
        }
    };
    match (&notifier, cli.keep_sessions) {
        (Some(n), true) => {
            let size = sessions::store_size();
            let _ = shared.sessions.set(SessionStore::new(n.clone(), size));
            match size {
                Some(size) => log::info!(
                    "--keep-sessions: open sessions go to the service manager's fd store at \
                     exit (room for {size} fds)"
                ),
                None => log::info!(
                    "--keep-sessions: open sessions go to the service manager's fd store at \
                     exit (systemd does not say its size: FileDescriptorStoreMax= should be at \
                     least twice the sessions expected)"
                ),
            }
        }
        (None, true) => log::warn!(
            "--keep-sessions: NOTIFY_SOCKET is not set (no service manager): sessions are \
             closed at exit"
        ),
        _ => {}
    }
    for p in &taken_back.problems {
        log::warn!("fd store: {p}");
    }
    let unremoved = match &notifier {
        Some(n) => sessions::forget(n, &taken_back.names),
        None => Vec::new(),
    };
    let mut resumed = 0;
    for session in taken_back.sessions {
        if unremoved.contains(&session.name) {
            // Still in the store under its old name: handing it over again would not rename it.
            log::warn!("closing session {session}: it could not be removed from the fd store");
            continue;
        }
        resumed += 1;
        log::info!("resuming session {session}");
        let label = format!("session {}", session.name);
        match session.conn.into_tokio() {
            Ok(stream) => spawn_stream(&shared, stream, &label, Kind::Resumed(session.pending)),
            Err(e) => log::warn!("{label}: cannot serve it: {e}"),
        }
    }

    // 5. READY=1.
    let n = sup.state().start_all(&shared);
    let status = if resumed > 0 {
        format!("serving {n} remote(s); {resumed} session(s) resumed from the fd store")
    } else {
        format!("serving {n} remote(s)")
    };
    tell(&[Notify::Ready]);
    tell_status(&status);
    match notify::watchdog() {
        Ok(Some(interval)) => {
            log::info!("watchdog: pinging every {} ms", (interval / 2).as_millis());
            tokio::spawn(watchdog(interval, shared.clone()));
        }
        Ok(None) => {}
        Err(e) => log::warn!("watchdog: {e}"),
    }

    // 6. Serve.
    let control_guard = control.map(|(l, guard)| {
        tokio::spawn(control::control_loop(l, sup.clone(), cli.enable_probes));
        guard
    });
    tokio::spawn(supervise::supervise(sup.clone()));
    if failed == 0 {
        log::info!("serving {n} remote(s)");
    } else {
        log::info!(
            "serving {} remote(s); {failed} from the files could not be opened (see above)",
            n - failed
        );
    }

    loop {
        tokio::select! {
            _ = sigterm.recv() => {
                log::info!("SIGTERM: shutting down");
                break;
            }
            _ = sigint.recv() => {
                log::info!("SIGINT: shutting down");
                break;
            }
            _ = sighup.recv() => reload_on_sighup(&sup),
            _ = shared.stopped() => break,
        }
    }
    tell(&[
        Notify::Stopping,
        Notify::Status(if shared.sessions.get().is_some() {
            "stopping: handing open sessions to the fd store"
        } else {
            "stopping: finishing in-flight replies"
        }),
    ]);
    shared.begin_shutdown();
    if !shared.drain(SHUTDOWN_GRACE).await {
        log::warn!(
            "{} connection(s) still busy after {} s; closing them",
            shared.active_connections(),
            SHUTDOWN_GRACE.as_secs()
        );
    }
    // Close every remote: listeners close, inherited ones are never shut down or unlinked,
    // punix: paths and the control socket path are removed.
    let running = std::mem::take(&mut sup.state().running);
    drop(running);
    drop(control_guard);
    if let Some(store) = shared.sessions.get() {
        log::info!("{} session(s) handed to the fd store", store.handed());
    }
    log::info!("exiting");
    Ok(())
}
