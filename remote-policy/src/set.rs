//! [`RemoteSet`]: the remotes a daemon serves, with their origins, guarded by
//! a [`Policy`]; what its operations return is in `outcome.rs`.

mod outcome;

pub use outcome::{Added, InvalidRemote, Reconciliation, Refusal, Rejection, RemoveError, Removed};

use std::collections::BTreeMap;
use std::fmt;

use crate::origin::{Origin, OriginSet};
use crate::policy::{Policy, Reason};
use crate::ratelimit::{Clock, RateLimitedWarning, RateLimiter, SharedRateLimiter, SystemClock};
use crate::remote::Remote;

#[derive(Debug, Clone)]
struct Entry {
    remote: Remote,
    origins: OriginSet,
}

/// The remotes a daemon serves, keyed by canonical form, each remembering
/// every origin that holds it.
///
/// - Duplicates are detected on the canonical form: `pfd:3` and `pfd:03`,
///   `ptcp:` and `ptcp:6640:0.0.0.0`, `tcp:Example.COM` and
///   `tcp:example.com:6640` are one remote each.
/// - A remote held by several origins is one entry; it is removed only when
///   the last origin lets go, so a database row that disappears does not close
///   a listener that is also on the command line.
/// - Refusals from the database and the config file come with a warning,
///   rate-limited by one [`SharedRateLimiter`] (by default a burst of 5, then
///   one per minute, like Open vSwitch's `VLOG_RATE_LIMIT_INIT(1, 5)`), so a
///   database that keeps a bad row does not flood the log. The refusal itself
///   is always reported in the returned value.
///
/// ```
/// use remote_policy::{Origin, Policy, RemoteSet};
/// use remote_policy::set::Added;
///
/// let mut set = RemoteSet::new(Policy::default());
/// assert!(matches!(set.add(Origin::CommandLine, "pfd:3"), Ok(Added::New(_))));
/// assert!(matches!(set.add(Origin::CommandLine, "pfd:03"), Ok(Added::Duplicate(_))));
///
/// let r = set.reconcile(Origin::Database, ["ptcp:6641", "pfd:4"]);
/// assert_eq!(r.added.len(), 1);
/// assert_eq!(
///     r.rejected[0].warning.as_ref().unwrap().message,
///     "pfd: remotes can only be specified on the command line; ignoring \"pfd:4\" from database",
/// );
/// assert_eq!(set.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct RemoteSet<C = SystemClock> {
    policy: Policy,
    entries: BTreeMap<String, Entry>,
    limiter: SharedRateLimiter<C>,
}

impl RemoteSet<SystemClock> {
    /// An empty set with `policy` and the default warning rate limit.
    pub fn new(policy: Policy) -> Self {
        RemoteSet::with_limiter(policy, RateLimiter::ovs_default())
    }
}

impl Default for RemoteSet<SystemClock> {
    fn default() -> Self {
        RemoteSet::new(Policy::default())
    }
}

impl<C: Clock> RemoteSet<C> {
    /// An empty set with `policy` and the given warning rate limiter (use a
    /// [`ManualClock`](crate::ratelimit::ManualClock) in tests), or a
    /// [`SharedRateLimiter`] whose budget the caller's own warnings share.
    ///
    /// ```
    /// use remote_policy::ratelimit::{ManualClock, RateLimiter};
    /// use remote_policy::{Policy, RemoteSet};
    /// let set = RemoteSet::with_limiter(
    ///     Policy::default(),
    ///     RateLimiter::ovs_default_with_clock(ManualClock::new()),
    /// );
    /// assert!(set.is_empty());
    /// ```
    pub fn with_limiter(policy: Policy, limiter: impl Into<SharedRateLimiter<C>>) -> Self {
        RemoteSet {
            policy,
            entries: BTreeMap::new(),
            limiter: limiter.into(),
        }
    }

    /// The warning rate limiter; a clone shares its budget, so that a daemon's other warnings
    /// and this set's refusal warnings are limited together.
    pub fn limiter(&self) -> &SharedRateLimiter<C> {
        &self.limiter
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Number of distinct remotes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The remotes with the origins holding each, in canonical-string order.
    ///
    /// ```
    /// use remote_policy::{Origin, RemoteSet};
    /// let mut set = RemoteSet::default();
    /// set.add(Origin::CommandLine, "punix:/run/a.sock").unwrap();
    /// set.add(Origin::ConfigFile, "punix:/run/a.sock").unwrap();
    /// let (remote, origins) = set.iter().next().unwrap();
    /// assert_eq!(remote.to_string(), "punix:/run/a.sock");
    /// assert_eq!(origins.len(), 2);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&Remote, OriginSet)> {
        self.entries.values().map(|e| (&e.remote, e.origins))
    }

    /// The origins holding `remote` (empty if it is not in the set).
    pub fn origins(&self, remote: &Remote) -> OriginSet {
        self.entries
            .get(&remote.to_string())
            .map_or(OriginSet::EMPTY, |e| e.origins)
    }

    /// Whether `remote` is in the set.
    pub fn contains(&self, remote: &Remote) -> bool {
        self.entries.contains_key(&remote.to_string())
    }

    /// Parses `input`, checks it against the policy for `origin` and adds it.
    ///
    /// ```
    /// use remote_policy::{Origin, RemoteSet};
    /// use remote_policy::set::Added;
    /// let mut set = RemoteSet::default();
    /// assert!(matches!(set.add(Origin::ControlSocket, "ptcp:"), Ok(Added::New(_))));
    /// assert!(matches!(set.add(Origin::CommandLine, "ptcp:6640"), Ok(Added::NewOrigin(_))));
    /// assert!(set.add(Origin::ControlSocket, "ptcp:70000").is_err());
    /// ```
    pub fn add(&mut self, origin: Origin, input: &str) -> Result<Added, Refusal> {
        let remote = self.admit(origin, input)?;
        Ok(self.insert(origin, remote.to_string(), remote))
    }

    /// Lets `origin` drop its hold on the remote `input`; the remote leaves the
    /// set when no origin holds it.
    ///
    /// OVS's `ovsdb-server/remove-remote` also removes remotes given with
    /// `--remote=`; a daemon that wants that calls this with
    /// [`Origin::CommandLine`] when the control-socket hold is not found.
    ///
    /// ```
    /// use remote_policy::{Origin, RemoteSet};
    /// use remote_policy::set::Removed;
    /// let mut set = RemoteSet::default();
    /// set.add(Origin::ControlSocket, "tcp:192.0.2.1").unwrap();
    /// assert!(matches!(set.remove(Origin::ControlSocket, "tcp:192.0.2.1:6640"), Ok(Removed::Gone(_))));
    /// assert!(set.is_empty());
    /// ```
    pub fn remove(&mut self, origin: Origin, input: &str) -> Result<Removed, RemoveError> {
        let remote: Remote = input.parse().map_err(|error| RemoveError::Invalid {
            input: input.to_owned(),
            error,
        })?;
        let key = remote.to_string();
        if !self
            .entries
            .get(&key)
            .is_some_and(|e| e.origins.contains(origin))
        {
            return Err(RemoveError::NotFound { remote, origin });
        }
        if let Some(gone) = self.release(&key, origin) {
            return Ok(Removed::Gone(gone));
        }
        let entry = &self.entries[&key];
        Ok(Removed::StillHeld {
            remote: entry.remote.clone(),
            by: entry.origins,
        })
    }

    /// Makes the remotes held by `origin` exactly the accepted ones among
    /// `inputs` (the full list from the database or the config file).
    ///
    /// Only `origin`'s holds change: a remote it no longer lists is removed
    /// only if no other origin holds it. `added`/`removed` list changes to the
    /// set as a whole (what to open and close), not to `origin`'s holds.
    /// Entries listed twice (same canonical form) count once.
    ///
    /// ```
    /// use remote_policy::{Origin, RemoteSet};
    /// let mut set = RemoteSet::default();
    /// set.add(Origin::CommandLine, "ptcp:6640").unwrap();
    /// let r = set.reconcile(Origin::ConfigFile, ["ptcp:", "punix:/run/x.sock", "bogus"]);
    /// assert_eq!(r.added.len(), 1); // punix:; ptcp: was already open
    /// assert_eq!(r.parse_errors.len(), 1);
    /// let r = set.reconcile(Origin::ConfigFile, Vec::<String>::new());
    /// assert_eq!(r.removed.len(), 1); // punix: closes, ptcp: stays (command line)
    /// assert_eq!(set.len(), 1);
    /// ```
    pub fn reconcile<I, S>(&mut self, origin: Origin, inputs: I) -> Reconciliation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Reconciliation::default();
        let mut wanted: BTreeMap<String, Remote> = BTreeMap::new();
        for input in inputs {
            match self.admit(origin, input.as_ref()) {
                Ok(remote) => {
                    wanted.entry(remote.to_string()).or_insert(remote);
                }
                Err(Refusal::Invalid(e)) => out.parse_errors.push(*e),
                Err(Refusal::Rejected(r)) => out.rejected.push(*r),
            }
        }
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|(key, e)| e.origins.contains(origin) && !wanted.contains_key(*key))
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(gone) = self.release(&key, origin) {
                out.removed.push(gone);
            }
        }
        for (key, remote) in wanted {
            if let Added::New(remote) = self.insert(origin, key, remote) {
                out.added.push(remote);
            }
        }
        out
    }

    /// Replaces the policy and drops every hold the new policy rejects.
    /// `rejected` lists the dropped holds (with the canonical form as
    /// `input`), `removed` the remotes that no origin holds any more.
    ///
    /// ```
    /// use remote_policy::{Origin, OriginSet, Policy, RemoteKind, RemoteSet};
    /// let mut set = RemoteSet::default();
    /// set.add(Origin::Database, "ptcp:6641").unwrap();
    /// let mut strict = Policy::default();
    /// strict.set_allowed(RemoteKind::Ptcp, OriginSet::only(Origin::CommandLine)).unwrap();
    /// let r = set.set_policy(strict);
    /// assert_eq!(r.removed.len(), 1);
    /// assert!(set.is_empty());
    /// ```
    pub fn set_policy(&mut self, policy: Policy) -> Reconciliation {
        self.policy = policy;
        let mut out = Reconciliation::default();
        let mut revoked: Vec<(String, Origin, Remote, Reason)> = Vec::new();
        for (key, entry) in &self.entries {
            for origin in entry.origins.iter() {
                if let Err(reason) = self.policy.check(&entry.remote, origin) {
                    revoked.push((key.clone(), origin, entry.remote.clone(), reason));
                }
            }
        }
        for (key, origin, remote, reason) in revoked {
            let warning = self.warning_for(origin, &reason, &key);
            if let Some(gone) = self.release(&key, origin) {
                out.removed.push(gone);
            }
            out.rejected.push(Rejection {
                input: key,
                origin,
                remote,
                reason,
                warning,
            });
        }
        out
    }

    /// Parses and checks `input` without changing the set.
    fn admit(&mut self, origin: Origin, input: &str) -> Result<Remote, Refusal> {
        let remote: Remote = match input.parse() {
            Ok(remote) => remote,
            Err(error) => {
                let warning = self.warning_for(origin, &error, input);
                return Err(Refusal::Invalid(Box::new(InvalidRemote {
                    input: input.to_owned(),
                    origin,
                    error,
                    warning,
                })));
            }
        };
        if let Err(reason) = self.policy.check(&remote, origin) {
            let warning = self.warning_for(origin, &reason, input);
            return Err(Refusal::Rejected(Box::new(Rejection {
                input: input.to_owned(),
                origin,
                remote,
                reason,
                warning,
            })));
        }
        Ok(remote)
    }

    /// The rate-limited warning for an unattended origin:
    /// `<why>; ignoring "<input as given>" from <origin>`. The input is shown
    /// as the user wrote it (so it can be found in the database or file),
    /// quoted and escaped so that it cannot forge log lines, and only its start
    /// when it is long (a whole foreign file is never repeated).
    fn warning_for(
        &self,
        origin: Origin,
        why: &dyn fmt::Display,
        input: &str,
    ) -> Option<RateLimitedWarning> {
        if !origin.is_unattended() {
            return None;
        }
        self.limiter.warn(format!(
            "{why}; ignoring {} from {origin}",
            crate::quote::Quoted(input)
        ))
    }

    /// Adds `origin`'s hold on `remote`, whose canonical form is `key`.
    fn insert(&mut self, origin: Origin, key: String, remote: Remote) -> Added {
        match self.entries.entry(key) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Entry {
                    remote: remote.clone(),
                    origins: OriginSet::only(origin),
                });
                Added::New(remote)
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                if o.get_mut().origins.insert(origin) {
                    Added::NewOrigin(remote)
                } else {
                    Added::Duplicate(remote)
                }
            }
        }
    }

    /// Drops `origin`'s hold on `key`; returns the remote if it left the set.
    fn release(&mut self, key: &str, origin: Origin) -> Option<Remote> {
        let entry = self.entries.get_mut(key)?;
        entry.origins.remove(origin);
        if entry.origins.is_empty() {
            self.entries.remove(key).map(|e| e.remote)
        } else {
            None
        }
    }
}
