//! Start-up and shutdown: the order integrators copy. [`run`] and [`serve`] read as the list:
//!
//! 1. [`Settings::read`]: the command line, the config file and the remotes file; every remote
//!    through one `remote-policy` set; the limits and the sandbox (`RLIMIT_NOFILE` is raised
//!    first);
//! 2. [`take_inherited`]: take and validate every `pfd:` listener, and the sessions a previous
//!    instance left in the fd store (`stream-pfd`, while still single-threaded, so that the
//!    `LISTEN_*` variables can be unset);
//!    then [`prepare_sandbox`]: the sandbox's steps beyond seccomp (`seccomp_sets::prepare`:
//!    resource limits, capabilities, the Landlock domain), still single-threaded, because those
//!    belong to each thread and every thread the runtime starts must inherit them;
//! 3. [`open_remotes`]: bind every `punix:`/`ptcp:` listener, adopt each taken one as is;
//! 4. [`open_control`]: the control socket;
//! 5. [`load_sandbox`]: the prepared sandbox's filter, with TSYNC, so the runtime's threads
//!    get it too;
//! 6. [`resume_sessions`]: serve the sessions taken back (`--keep-sessions`);
//! 7. [`announce_ready`]: `READY=1` and `STATUS=` when `NOTIFY_SOCKET` is set, and the watchdog;
//! 8. [`serve_until_stopped`]: the supervisor and the control socket change the remotes;
//!    SIGHUP reloads; SIGTERM, SIGINT or `exit` stop;
//! 9. [`shut_down`]: stop accepting, finish in-flight replies (at most [`SHUTDOWN_GRACE`]) or
//!    hand sessions to the fd store, remove the Unix socket paths echod created.

use super::cli::{Cli, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_SIZE};
use super::config::{self, ConfigFile, FileError};
use super::control;
use super::endpoint::{self, OpenError};
use super::logging;
use super::plane::{DataPlane, Limits, Overrides, Timeouts};
use super::serve::{ConnectionSource, spawn_stream};
use super::sessions::{self, Resumed, SessionStore, TakenBack};
use super::shards::{self, Shards};
use super::supervise::{self, Files, Remotes, Supervisor};
use clap::Parser;
use remote_policy::set::Refusal;
use remote_policy::{Origin, Remote, RemoteSet};
use sandbox_opts::Sandbox;
use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use stream_pfd::notify::{self, Notifier, State};
use stream_pfd::socket_file::SocketFile;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinHandle;

/// How long shutdown waits for in-flight replies.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
pub fn main() -> ExitCode {
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

/// Runs echod until it is told to stop: steps 1 and 2 while single-threaded, the rest on the
/// tokio runtime.
pub(crate) fn run(cli: Cli) -> Result<(), StartError> {
    raise_nofile();
    let settings = Settings::read(&cli)?;
    let inherited = take_inherited(&settings.remotes.set, settings.limits.max_message_size)?;
    let sandbox = prepare_sandbox(&settings.remotes.sandbox)?;
    // The connections' threads; the runtime below runs the rest (accepting, the control socket,
    // the supervisor, outgoing connections).
    let shards = Shards::start(settings.threads, settings.min_in_use)
        .map_err(|e| StartError::Io("cannot start the data-plane threads", e))?;
    log::info!("serving connections on {} thread(s)", shards.len());
    let shards = Arc::new(shards);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("echod-worker")
        .build()
        .map_err(|e| StartError::Io("cannot start the tokio runtime", e))?;
    let result = runtime.block_on(serve(cli, settings, inherited, sandbox, shards.clone()));
    runtime.shutdown_timeout(Duration::from_millis(500));
    shards.stop();
    result
}

/// Steps 3 to 9, on the runtime.
async fn serve(
    cli: Cli,
    settings: Settings,
    inherited: Inherited,
    sandbox: seccomp_sets::Prepared,
    shards: Arc<Shards>,
) -> Result<(), StartError> {
    let Settings {
        mut remotes,
        limits,
        threads: _,
        min_in_use: _,
    } = settings;
    let failed = open_remotes(&mut remotes, inherited.remotes)?;
    let control = open_control(&cli)?;
    let signals = Signals::install()?;
    load_sandbox(&remotes.sandbox, sandbox)?;

    let plane = DataPlane::new(
        limits,
        remotes.set.limiter().clone(),
        timeouts(&cli),
        shards,
    );
    let manager = ServiceManager::from_env();
    let files = Files {
        config: cli.config_file.clone(),
        remotes: cli.remotes_file.clone(),
    };
    let sup = Supervisor::new(plane.clone(), files, remotes);
    let resumed = resume_sessions(&plane, &manager, inherited.sessions, cli.keep_sessions).await;
    let watchdog = announce_ready(&sup, &manager, resumed, failed).await;

    let control = control.map(|(listener, file)| {
        tokio::spawn(control::control_loop(
            listener,
            sup.clone(),
            cli.enable_probes,
        ));
        file
    });
    tokio::spawn(supervise::supervise(sup.clone()));
    serve_until_stopped(&sup, &manager, signals).await;
    shut_down(&sup, &manager, control, watchdog).await;
    Ok(())
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

/// The soft `RLIMIT_NOFILE` (after [`raise_nofile`]).
fn nofile_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(u64::MAX, |(soft, _)| soft)
}

/// How many fds are open now (the passed listeners and sessions among them).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// What start-up decided before anything is opened.
#[derive(Debug)]
struct Settings {
    /// Every remote of every origin, the sandbox, what the command line fixed.
    remotes: Remotes,
    limits: Limits,
    /// How many data-plane threads to start ([`shards::choose`]).
    threads: usize,
    /// How many of them take connections however few there are ([`shards::min_in_use`]).
    min_in_use: usize,
}

impl Settings {
    /// Step 1: the command line, then the config file, then the remotes file. A `--remote`
    /// that is refused stops start-up; refusals from the files are logged.
    fn read(cli: &Cli) -> Result<Settings, StartError> {
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
        let sandbox = match (&cli.sandbox, &cli.config_file, &cfg.sandbox) {
            (Some(parsed), _, _) => {
                for w in &parsed.warnings {
                    log::warn!("--sandbox: {w}");
                }
                parsed.sandbox
            }
            (None, Some(path), Some(parsed)) => {
                for w in &parsed.warnings {
                    log::warn!("{}: sandbox: {w}", path.display());
                }
                parsed.sandbox
            }
            _ => Sandbox::OFF,
        };
        let mut limits = Limits {
            max_message_size: cli
                .max_message_size
                .map(|v| v as usize)
                .or(cfg.max_message_size)
                .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE),
            max_connections: cli
                .max_connections
                .map(|v| v as usize)
                .or(cfg.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS),
            max_buffered_bytes: usize::try_from(cli.max_buffered_bytes).unwrap_or(usize::MAX),
            fd_connection_cap: usize::MAX,
        };
        let (nofile, open) = (nofile_limit(), open_fds());
        let free = usize::try_from(nofile)
            .unwrap_or(usize::MAX)
            .saturating_sub(open);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = shards::choose(cli.threads.map(|n| n as usize), cpus, free)
            .map_err(|e| StartError::Io("--threads", std::io::Error::other(e)))?;
        // The data-plane threads' fds (opened later) count as open.
        limits.fit_to_fd_limit(nofile, open + shards::fds(threads));
        let overrides = Overrides {
            max_message_size: cli.max_message_size.is_some(),
            max_connections: cli.max_connections.is_some(),
            sandbox: cli.sandbox.is_some(),
        };
        Ok(Settings {
            remotes: Remotes::new(set, &cfg, remotes_file_text, overrides, sandbox),
            limits,
            threads,
            min_in_use: shards::min_in_use(cpus),
        })
    }
}

/// What step 2 took from the service manager.
#[derive(Debug)]
struct Inherited {
    /// Every remote of the set, in its order, each `pfd:` one with its listener.
    remotes: Vec<Opening>,
    /// The sessions a previous instance left in the fd store.
    sessions: TakenBack,
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

/// Step 2: walks the set once, taking and validating the listener of every `pfd:` remote, and
/// takes back the sessions in the fd store. Unused passed fds are closed (and named in a
/// warning); an inconsistent `LISTEN_*` environment is an error only when a `pfd:` remote
/// needs it.
fn take_inherited(set: &RemoteSet, max_message_size: usize) -> Result<Inherited, StartError> {
    let mut fds = stream_pfd::ListenFds::builder().unset_env(true).build();
    let sessions = match &mut fds {
        Ok(fds) => sessions::take_back(fds, max_message_size),
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
        Err(e) => log::warn!("ignoring the socket-activation environment: {e}"),
    }
    Ok(Inherited { remotes, sessions })
}

/// Step 3: opens every remote, not serving it yet. A command-line remote that cannot be
/// opened stops start-up; one from the files is logged, listed as failed by
/// `echod/list-remotes`, and tried again by the supervisor. Returns how many failed.
fn open_remotes(remotes: &mut Remotes, openings: Vec<Opening>) -> Result<usize, StartError> {
    let mut failed = 0;
    for opening in openings {
        match remotes.open_at_start(&opening.remote, opening.inherited) {
            // The bound address: the only way to learn ptcp:0's port without a control socket.
            Ok(()) => log::info!("{}: {}", opening.remote, remotes.status(&opening.remote)),
            Err(e) if opening.from_cli => return Err(StartError::Open(e)),
            Err(e) => {
                log::warn!("{e}");
                failed += 1;
            }
        }
    }
    Ok(failed)
}

/// Step 4: the control socket (0700 whatever the umask: only this process's user and root may
/// connect), when `--unixctl` or `RUNTIME_DIRECTORY` names one.
fn open_control(cli: &Cli) -> Result<Option<(tokio::net::UnixListener, SocketFile)>, StartError> {
    let Some(path) = cli.unixctl_path() else {
        if cli.unixctl.as_deref() == Some("none") {
            log::info!("no control socket (--unixctl none)");
        } else {
            log::info!("no control socket (--unixctl not given and RUNTIME_DIRECTORY not set)");
        }
        return Ok(None);
    };
    let bound = endpoint::bind_unix(&path, &path.display().to_string(), Some(CONTROL_MODE))
        .map_err(StartError::Control)?;
    log::info!("control socket: {}", path.display());
    Ok(Some(bound))
}

/// The signals echod handles, installed before the sandbox is loaded.
#[derive(Debug)]
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> Result<Signals, StartError> {
        let install = |kind, what| signal(kind).map_err(|e| StartError::Io(what, e));
        Ok(Signals {
            term: install(SignalKind::terminate(), "cannot handle SIGTERM")?,
            int: install(SignalKind::interrupt(), "cannot handle SIGINT")?,
            hup: install(SignalKind::hangup(), "cannot handle SIGHUP")?,
        })
    }
}

/// Step 2, second half: the sandbox's steps beyond seccomp while the process has one thread
/// (`seccomp_sets::prepare`), each logged; a step this kernel cannot do (no Landlock) is
/// warned about once, here.
fn prepare_sandbox(sandbox: &Sandbox) -> Result<seccomp_sets::Prepared, StartError> {
    let prepared =
        seccomp_sets::prepare(sandbox, seccomp_sets::Mode::Enforce).map_err(StartError::Sandbox)?;
    for step in prepared.steps() {
        if step.is_unavailable() {
            log::warn!("sandbox: {step}");
        } else {
            log::info!("sandbox: {step}");
        }
    }
    Ok(prepared)
}

/// Step 5: the prepared sandbox's filter, on every thread (TSYNC), with no_new_privs as the
/// sandbox decides.
fn load_sandbox(sandbox: &Sandbox, prepared: seccomp_sets::Prepared) -> Result<(), StartError> {
    match prepared.load().map_err(StartError::Sandbox)? {
        seccomp_sets::Applied::Off => log::info!("sandbox: off"),
        seccomp_sets::Applied::Loaded(l) => log::info!(
            "sandbox: {sandbox} loaded on all threads ({} BPF instructions, no_new_privs={}{})",
            l.instructions,
            l.no_new_privs,
            l.landlock_abi
                .map(|abi| format!(", Landlock ABI {abi}"))
                .unwrap_or_default()
        ),
    }
    Ok(())
}

/// The connection timeouts of the command line.
fn timeouts(cli: &Cli) -> Timeouts {
    let ms = Duration::from_millis;
    Timeouts {
        inactivity_probe: (cli.inactivity_probe > 0).then(|| ms(cli.inactivity_probe)),
        message: ms(cli.message_timeout),
        control_idle: ms(cli.control_timeout),
    }
}

/// The service manager echod reports to (`NOTIFY_SOCKET`), if any; a failure to tell it
/// something is logged, never fatal.
#[derive(Debug)]
struct ServiceManager(Option<Notifier>);

impl ServiceManager {
    fn from_env() -> ServiceManager {
        match Notifier::from_env() {
            Ok(n) => ServiceManager(n),
            Err(e) => {
                log::warn!("{e}");
                ServiceManager(None)
            }
        }
    }

    /// Sends `states`, if there is a service manager, never blocking a runtime thread: a
    /// manager that does not read gets at most the send timeout, then a warning.
    async fn tell(&self, states: &[State<'_>]) {
        if let Some(n) = &self.0 {
            match n.send_async(states).await {
                Ok(()) => log::debug!("notified the service manager"),
                Err(e) => log::warn!("cannot notify the service manager: {e}"),
            }
        }
    }

    /// `STATUS=` with `text` on one line of at most 200 characters (systemd shows it in
    /// `systemctl status`; a newline would be refused).
    async fn tell_status(&self, text: &str) {
        let line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(200)
            .collect();
        self.tell(&[State::Status(&line)]).await;
    }
}

/// Step 6: serves every session taken back from the fd store, and, with `--keep-sessions`,
/// tells the data plane where sessions go at exit. Returns how many were resumed.
async fn resume_sessions(
    plane: &Arc<DataPlane>,
    manager: &ServiceManager,
    taken_back: TakenBack,
    keep_sessions: bool,
) -> usize {
    match (&manager.0, keep_sessions) {
        (Some(n), true) => {
            let size = sessions::store_size();
            let _ = plane.sessions.set(SessionStore::new(n.clone(), size));
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
    let unremoved = match &manager.0 {
        Some(n) => sessions::forget(n, &taken_back.names).await,
        None => Vec::new(),
    };
    let mut resumed = 0;
    for session in taken_back.sessions {
        if unremoved.contains(&session.name) {
            // Still in the store under its old name: handing it over again would not rename it.
            log::warn!(
                "closing session {}: it could not be removed from the fd store",
                session.name
            );
            continue;
        }
        resumed += 1;
        log::info!("resuming session {session}");
        let Resumed {
            conn,
            pending,
            name,
        } = session;
        let label = format!("session {name}");
        match conn.into_tokio() {
            Ok(stream) => spawn_stream(
                plane,
                stream,
                &label,
                ConnectionSource::Resumed(pending),
                plane.count_resumed(),
            ),
            Err(e) => log::warn!("{label}: cannot serve it: {e}"),
        }
    }
    resumed
}

/// Step 7: starts serving every opened remote, sends `READY=1` and the status line, and starts
/// the watchdog when systemd asks for one (`WatchdogSec=`; `echod/stall-watchdog` holds its
/// pings back on purpose). `failed` remotes from the files could not be opened.
async fn announce_ready(
    sup: &Arc<Supervisor>,
    manager: &ServiceManager,
    resumed: usize,
    failed: usize,
) -> Option<JoinHandle<()>> {
    let n = sup.remotes().start_all(&sup.plane);
    manager.tell(&[State::Ready]).await;
    manager
        .tell_status(&if resumed > 0 {
            format!("serving {n} remote(s); {resumed} session(s) resumed from the fd store")
        } else {
            format!("serving {n} remote(s)")
        })
        .await;
    if failed == 0 {
        log::info!("serving {n} remote(s)");
    } else {
        log::info!(
            "serving {} remote(s); {failed} from the files could not be opened (see above)",
            n - failed
        );
    }
    let timeout = match notify::watchdog() {
        Ok(Some(timeout)) => timeout,
        Ok(None) => return None,
        Err(e) => {
            log::warn!("watchdog: {e}");
            return None;
        }
    };
    let notifier = manager.0.clone()?;
    log::info!("watchdog: pinging every {} ms", (timeout / 2).as_millis());
    let alive = sup.plane.clone();
    let warn = sup.plane.clone();
    Some(notifier.spawn_watchdog_with(
        timeout,
        move || !alive.watchdog_stalled.load(Ordering::Acquire),
        move |e| warn.warn_limited(format!("watchdog ping failed: {e}")),
    ))
}

/// Step 8: serves until SIGTERM, SIGINT or `exit`; SIGHUP reloads like `echod/reload`, framed
/// for `Type=notify-reload` (`RELOADING=1` with the monotonic time, then `READY=1` whether or
/// not the reload worked: echod goes on serving either way).
async fn serve_until_stopped(sup: &Supervisor, manager: &ServiceManager, mut signals: Signals) {
    loop {
        tokio::select! {
            _ = signals.term.recv() => {
                log::info!("SIGTERM: shutting down");
                return;
            }
            _ = signals.int.recv() => {
                log::info!("SIGINT: shutting down");
                return;
            }
            _ = signals.hup.recv() => {
                log::info!("SIGHUP: reloading");
                manager.tell(&[
                    State::Reloading,
                    State::Status("reloading the config and remotes files"),
                ]).await;
                // A failure is logged by reload().
                let status = match sup.reload() {
                    Ok(_) => "serving (reloaded)".to_owned(),
                    Err(e) => format!("serving (reload failed: {e})"),
                };
                // READY=1 alone: a status that cannot be sent must never hold back the end of
                // the reload.
                manager.tell(&[State::Ready]).await;
                manager.tell_status(&status).await;
            }
            _ = sup.plane.stopped() => return,
        }
    }
}

/// Step 9: stops accepting, lets connections finish their replies (or go to the fd store), then
/// closes every remote: listeners close, inherited ones are never shut down or unlinked,
/// `punix:` paths and the control socket path are removed.
async fn shut_down(
    sup: &Supervisor,
    manager: &ServiceManager,
    control: Option<SocketFile>,
    watchdog: Option<JoinHandle<()>>,
) {
    let plane = &sup.plane;
    manager
        .tell(&[
            State::Stopping,
            State::Status(if plane.sessions.get().is_some() {
                "stopping: handing open sessions to the fd store"
            } else {
                "stopping: finishing in-flight replies"
            }),
        ])
        .await;
    plane.begin_shutdown();
    if !plane.drain(SHUTDOWN_GRACE).await {
        log::warn!(
            "{} connection(s) still busy after {} s; closing them",
            plane.active_connections(),
            SHUTDOWN_GRACE.as_secs()
        );
    }
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    drop(std::mem::take(&mut sup.remotes().entries));
    drop(control);
    if let Some(store) = plane.sessions.get() {
        log::info!("{} session(s) handed to the fd store", store.handed());
    }
    log::info!("exiting");
}
