//! Remote supervision: one `remote-policy` set, and one [`RemoteEntry`] endpoint per remote in it,
//! keyed by the typed [`Remote`]. Changes to the set (a file re-read, a control command, a policy
//! change) are applied here: removed remotes are closed, added ones opened (`endpoint`) and
//! started. This is where the data plane's tasks (`serve`) are spawned.

use super::cli::{DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_SIZE};
use super::config::{self, ConfigFile};
use super::endpoint::{self, Endpoint, ListenerOwner, OpenError};
use super::plane::{DataPlane, Overrides, log_warning};
use super::serve;
use remote_policy::set::Reconciliation;
use remote_policy::{Origin, Quoted, Remote, RemoteSet};
use sandbox_opts::Sandbox;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How often the remotes file is checked for changes.
const REMOTES_FILE_POLL: Duration = Duration::from_millis(200);

/// How long changed remotes-file contents must stay the same before they are applied: a file
/// rewritten in place (truncated, then written) is not applied half-way, even when the writer
/// is slowed down (a loaded machine, an editor that writes in pieces) for several checks.
const REMOTES_FILE_SETTLE: Duration = Duration::from_secs(1);

/// The supervisor: the data plane and the remote state, for the tasks that change the
/// remotes (the remotes-file watcher, the control socket).
#[derive(Debug)]
pub(crate) struct Supervisor {
    /// What every task shares.
    pub(crate) plane: Arc<DataPlane>,
    /// `--config-file` and `--remotes-file`: fixed for the process, so read without the lock.
    files: Files,
    remotes: Mutex<Remotes>,
}

/// The files a reload reads.
#[derive(Debug)]
pub(crate) struct Files {
    /// `--config-file`.
    pub(crate) config: Option<PathBuf>,
    /// `--remotes-file`.
    pub(crate) remotes: Option<PathBuf>,
}

impl Supervisor {
    /// The supervisor of `state`, whose endpoints are served with `plane`, reloading `files`.
    pub(crate) fn new(plane: Arc<DataPlane>, files: Files, remotes: Remotes) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            plane,
            files,
            remotes: Mutex::new(remotes),
        })
    }

    /// Locks the state (a panic in another thread does not make it unusable).
    pub(crate) fn remotes(&self) -> MutexGuard<'_, Remotes> {
        self.remotes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the config file and the remotes file and applies them (`echod/reload`,
    /// SIGHUP). A failure is logged and returned; nothing of a file that failed is applied.
    pub(crate) fn reload(&self) -> Result<String, String> {
        let result = self.reload_files();
        if let Err(e) = &result {
            log::warn!("reload failed: {e}");
        }
        result
    }

    /// All or nothing: both files are read and checked before anything changes, so a reload
    /// that fails (a file unreadable, not a regular file, too large, or invalid) leaves every
    /// setting and remote as it was. A remote that is valid but fails to open (its address in
    /// use, its directory missing) is not a reload failure: it stays in the set, is listed as
    /// failed by `echod/list-remotes`, and is opened again every [`REMOTES_FILE_POLL`].
    fn reload_files(&self) -> Result<String, String> {
        let plane = &self.plane;
        // The files are read without the lock.
        let cfg = match &self.files.config {
            Some(path) => Some(ConfigFile::load(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let remotes_text = match &self.files.remotes {
            Some(path) => Some(config::read_small(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let mut st = self.remotes();
        let mut lines = Vec::new();
        if let Some(cfg) = cfg {
            if !st.overrides.max_message_size {
                let v = cfg.max_message_size.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE);
                plane.max_message_size.store(v, Ordering::Relaxed);
            }
            if !st.overrides.max_connections {
                plane.set_max_connections(cfg.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS));
            }
            if !st.overrides.sandbox {
                let want = cfg.sandbox.as_ref().map_or(Sandbox::OFF, |p| p.sandbox);
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
            lines.extend(st.apply_config(&cfg, plane));
        }
        if let Some(text) = remotes_text {
            st.remotes_file_pending = None;
            lines.extend(st.apply_remotes_text(text, plane));
        }
        log::info!("reloaded ({} change(s))", lines.len());
        if lines.is_empty() {
            Ok("reloaded: no changes".into())
        } else {
            Ok(format!("reloaded:\n{}", lines.join("\n")))
        }
    }
}

/// The remote set and what is open for each of its remotes, behind the supervisor's one mutex
/// (operations on it are short and synchronous).
#[derive(Debug)]
pub(crate) struct Remotes {
    /// Every remote with its origins, guarded by the policy.
    pub(crate) set: RemoteSet,
    /// The open remotes (and those that failed to open).
    pub(crate) entries: BTreeMap<Remote, RemoteEntry>,
    /// The remotes-file contents last reconciled.
    remotes_file_text: Option<String>,
    /// Different contents seen at a check, and when they were first seen: applied once they
    /// have stayed the same for [`REMOTES_FILE_SETTLE`].
    remotes_file_pending: Option<(String, Instant)>,
    /// Settings given on the command line.
    overrides: Overrides,
    /// The sandbox loaded at start-up.
    pub(crate) sandbox: Sandbox,
    /// Entries refused so far, by origin: a refused line that stays in a file is warned about
    /// once, not at every re-read (the library's rate limiter bounds the rest).
    refused: BTreeSet<(Origin, String)>,
}

/// What the supervisor keeps for each remote.
#[derive(Debug)]
pub(crate) struct RemoteEntry {
    /// One-line state for `echod/list-remotes`.
    status: Arc<Mutex<String>>,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    /// The remote could not be opened.
    Failed,
    /// Opened, not served yet (start-up, until `READY=1`).
    Opened(Endpoint),
    /// Served by `task`. `_owner` holds a `punix:` path until the remote is closed.
    Serving {
        task: JoinHandle<()>,
        _owner: Option<ListenerOwner>,
    },
}

impl RemoteEntry {
    /// A remote that could not be opened (shown in `echod/list-remotes`).
    fn failed(error: &OpenError) -> RemoteEntry {
        RemoteEntry {
            status: Arc::new(Mutex::new(format!("failed: {error}"))),
            stage: Stage::Failed,
        }
    }

    /// An opened remote; [`RemoteEntry::start`] serves it.
    fn new(endpoint: Endpoint) -> RemoteEntry {
        RemoteEntry {
            status: Arc::new(Mutex::new(endpoint.status())),
            stage: Stage::Opened(endpoint),
        }
    }

    /// Starts accepting or connecting (no-op if already started or failed).
    fn start(&mut self, plane: &Arc<DataPlane>, remote: &Remote) {
        let (task, owner) = match std::mem::replace(&mut self.stage, Stage::Failed) {
            Stage::Opened(Endpoint::Listen { listener, owner }) => {
                let drain_queue = matches!(owner, ListenerOwner::Echod { .. });
                let accept =
                    serve::accept_loop(listener, plane.clone(), remote.to_string(), drain_queue);
                (tokio::spawn(accept), Some(owner))
            }
            Stage::Opened(Endpoint::Connect(target)) => {
                let connect = serve::connect_loop(target, plane.clone(), self.status.clone());
                (tokio::spawn(connect), None)
            }
            other => {
                self.stage = other;
                return;
            }
        };
        self.stage = Stage::Serving {
            task,
            _owner: owner,
        };
    }

    /// The state line.
    fn status(&self) -> String {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// How long closing a remote waits for its task to drop the listener.
const CLOSE_WAIT: Duration = Duration::from_millis(100);

impl Drop for RemoteEntry {
    /// Stops accepting/connecting; the listener is closed (an inherited one is only closed,
    /// never shut down), and a `punix:` path is removed by its guard. Waits (at most
    /// [`CLOSE_WAIT`]) until the aborted task has dropped its listener, so that the same
    /// address can be bound again right away (a narrowed `ptcp:`, a pipelined remove and add);
    /// what is still not closed by then is retried by [`Remotes::retry_failed`].
    fn drop(&mut self) {
        if let Stage::Serving { task, .. } = &self.stage {
            task.abort();
            let wait = || {
                let deadline = std::time::Instant::now() + CLOSE_WAIT;
                while !task.is_finished() && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
            };
            // On a worker thread, the aborted task may sit in this worker's own queue: hand
            // the worker's other tasks to another thread while waiting (block_in_place), or
            // the task could not run until the wait ends.
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
                Ok(_) => {}
                Err(_) => wait(),
            }
        }
    }
}

impl Remotes {
    /// The remotes at start-up: `set` holds the command line's; the config file's (`cfg`) and
    /// the remotes file's (`remotes_file_text`) are reconciled into it here, their refusals
    /// logged. Nothing is opened yet.
    pub(crate) fn new(
        set: RemoteSet,
        cfg: &ConfigFile,
        remotes_file_text: Option<String>,
        overrides: Overrides,
        sandbox: Sandbox,
    ) -> Remotes {
        let mut remotes = Remotes {
            set,
            entries: BTreeMap::new(),
            remotes_file_text: None,
            remotes_file_pending: None,
            overrides,
            sandbox,
            refused: BTreeSet::new(),
        };
        let rec = remotes.set.reconcile(Origin::ConfigFile, &cfg.remotes);
        remotes.note_refusals(&rec, Some(Origin::ConfigFile));
        if let Some(text) = &remotes_file_text {
            let rec = remotes
                .set
                .reconcile(Origin::Database, config::remote_lines(text));
            remotes.note_refusals(&rec, Some(Origin::Database));
        }
        remotes.remotes_file_text = remotes_file_text;
        remotes
    }

    /// Opens a remote at start-up without serving it yet: binds it, or adopts `inherited`, the
    /// listener taken for it when it is a `pfd:` remote. Failures are recorded (shown by
    /// `echod/list-remotes`) and returned.
    pub(crate) fn open_at_start(
        &mut self,
        remote: &Remote,
        inherited: Option<stream_pfd::Listener>,
    ) -> Result<(), OpenError> {
        let opened = match inherited {
            Some(listener) => endpoint::adopt(remote, listener),
            None => endpoint::open(remote),
        };
        self.record(remote, opened, None)
    }

    /// Opens a remote added while serving and starts serving it (a `pfd:` remote cannot be
    /// opened any more); failures are recorded and returned.
    pub(crate) fn open(
        &mut self,
        remote: &Remote,
        plane: &Arc<DataPlane>,
    ) -> Result<(), OpenError> {
        self.record(remote, endpoint::open(remote), Some(plane))
    }

    /// Records the outcome of opening `remote`, started at once when `plane` is given.
    fn record(
        &mut self,
        remote: &Remote,
        opened: Result<Endpoint, OpenError>,
        plane: Option<&Arc<DataPlane>>,
    ) -> Result<(), OpenError> {
        match opened {
            Ok(endpoint) => {
                let mut running = RemoteEntry::new(endpoint);
                if let Some(plane) = plane {
                    running.start(plane, remote);
                }
                self.entries.insert(remote.clone(), running);
                Ok(())
            }
            Err(e) => {
                self.entries.insert(remote.clone(), RemoteEntry::failed(&e));
                Err(e)
            }
        }
    }

    /// Starts every opened remote; returns how many remotes there are (failed ones included).
    pub(crate) fn start_all(&mut self, plane: &Arc<DataPlane>) -> usize {
        for (remote, r) in &mut self.entries {
            r.start(plane, remote);
        }
        self.entries.len()
    }

    /// The state line of `remote` (`not open` when it has no endpoint).
    pub(crate) fn status(&self, remote: &Remote) -> String {
        self.entries
            .get(remote)
            .map(|r| r.status())
            .unwrap_or_else(|| "not open".into())
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

    /// Applies a reconciliation of `origin` (see [`Remotes::note_refusals`]): closes removed
    /// remotes, opens and starts added ones, logs new refusals. Returns one line per change.
    pub(crate) fn apply(
        &mut self,
        rec: &Reconciliation,
        origin: Option<Origin>,
        plane: &Arc<DataPlane>,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        self.note_refusals(rec, origin);
        for r in &rec.removed {
            self.entries.remove(r);
            log::info!("{r}: removed");
            lines.push(format!("removed {r}"));
        }
        for r in &rec.added {
            match self.open(r, plane) {
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
                "ignored {} from the {}: {}",
                Quoted(&r.input),
                r.origin,
                r.reason
            ));
        }
        for e in &rec.parse_errors {
            lines.push(format!(
                "ignored {} from the {}: {}",
                Quoted(&e.input),
                e.origin,
                e.error
            ));
        }
        lines
    }

    /// Takes the remotes file's `text` as read at `now`: reconciles the database origin if the
    /// text changed and then stayed the same for [`REMOTES_FILE_SETTLE`].
    pub(crate) fn remotes_file_read(&mut self, text: String, now: Instant, plane: &Arc<DataPlane>) {
        if self.remotes_file_text.as_deref() == Some(text.as_str()) {
            self.remotes_file_pending = None;
            return;
        }
        match &self.remotes_file_pending {
            Some((pending, since))
                if *pending == text
                    && now.saturating_duration_since(*since) >= REMOTES_FILE_SETTLE => {}
            Some((pending, _)) if *pending == text => return, // not settled yet
            _ => {
                // Changed since the last check: wait until it stays the same long enough.
                self.remotes_file_pending = Some((text, now));
                return;
            }
        }
        self.remotes_file_pending = None;
        self.apply_remotes_text(text, plane);
    }

    /// Reconciles the database origin with the remotes file's `text`.
    fn apply_remotes_text(&mut self, text: String, plane: &Arc<DataPlane>) -> Vec<String> {
        let rec = self
            .set
            .reconcile(Origin::Database, config::remote_lines(&text));
        self.remotes_file_text = Some(text);
        self.apply(&rec, Some(Origin::Database), plane)
    }

    /// Applies a config file: policy, then its remotes. Limits are left to the caller.
    pub(crate) fn apply_config(&mut self, cfg: &ConfigFile, plane: &Arc<DataPlane>) -> Vec<String> {
        let policy = cfg.effective_policy();
        let mut lines = Vec::new();
        if policy != *self.set.policy() {
            let rec = self.set.set_policy(policy);
            lines.push("policy changed".to_string());
            lines.extend(self.apply(&rec, None, plane));
        }
        let rec = self.set.reconcile(Origin::ConfigFile, &cfg.remotes);
        lines.extend(self.apply(&rec, Some(Origin::ConfigFile), plane));
        lines
    }

    /// Opens again every remote of the set whose opening failed (a `pfd:` remote cannot be
    /// reopened): a listener that a removal closed a moment too late, or a directory created
    /// since, no longer leaves the remote closed for good.
    pub(crate) fn retry_failed(&mut self, plane: &Arc<DataPlane>) {
        let failed: Vec<Remote> = self
            .entries
            .iter()
            .filter(|(r, run)| matches!(run.stage, Stage::Failed) && !matches!(r, Remote::Pfd(_)))
            .map(|(r, _)| r.clone())
            .collect();
        for remote in failed {
            if let Ok(endpoint) = endpoint::open(&remote) {
                let mut running = RemoteEntry::new(endpoint);
                running.start(plane, &remote);
                self.entries.insert(remote.clone(), running);
                log::info!("{remote}: opened (retried after a failure)");
            }
        }
    }

    /// `echod/list-remotes`: `REMOTE (ORIGINS): STATE`, one line per remote.
    pub(crate) fn list(&self) -> String {
        let mut s = String::new();
        for (remote, origins) in self.set.iter() {
            let origins: Vec<&str> = origins.iter().map(|o| o.words()).collect();
            let state = self.status(remote);
            s.push_str(&format!("{remote} ({}): {state}\n", origins.join(", ")));
        }
        s
    }
}

/// Every [`REMOTES_FILE_POLL`]: reconciles the remotes file when it changed (and stayed the
/// same for [`REMOTES_FILE_SETTLE`]), and opens again the remotes that failed to open.
pub(crate) async fn supervise(sup: Arc<Supervisor>) {
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = sup.plane.stopped() => return,
            _ = tokio::time::sleep(REMOTES_FILE_POLL) => {}
        }
        // Read without the lock; only the comparison and the change take it.
        let read = sup.files.remotes.as_deref().map(config::read_small);
        let mut st = sup.remotes();
        match read {
            None => {}
            Some(Ok(text)) => {
                last_error = None;
                st.remotes_file_read(text, Instant::now(), &sup.plane);
            }
            Some(Err(e)) => {
                // Logged once per distinct error, not at every check.
                let e = e.to_string();
                if last_error.as_deref() != Some(e.as_str()) {
                    log::warn!("{e}; keeping the current remotes from it");
                    last_error = Some(e);
                }
            }
        }
        st.retry_failed(&sup.plane);
    }
}
