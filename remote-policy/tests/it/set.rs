//! RemoteSet: add, duplicates, remove, reconcile, warnings and their rate
//! limit (with a manual clock; nothing sleeps).

use std::time::Duration;

use remote_policy::ratelimit::{ManualClock, RateLimiter};
use remote_policy::set::{Added, Refusal, RemoveError, Removed};
use remote_policy::{Origin, OriginSet, Policy, Reason, Remote, RemoteKind, RemoteSet};

fn set_with_clock() -> (RemoteSet<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    let set = RemoteSet::with_limiter(
        Policy::default(),
        RateLimiter::ovs_default_with_clock(clock.clone()),
    );
    (set, clock)
}

fn r(s: &str) -> Remote {
    s.parse().unwrap()
}

#[test]
fn control_socket_pfd_rejection_is_exact() {
    let (mut set, _) = set_with_clock();
    let err = set.add(Origin::ControlSocket, "pfd:3").unwrap_err();
    assert_eq!(
        err.to_string(),
        "pfd: remotes can only be specified on the command line"
    );
    assert!(
        err.warning().is_none(),
        "control socket gets the error, not a log line"
    );
    match err {
        Refusal::Rejected(rej) => {
            assert_eq!(rej.reason, Reason::PfdCommandLineOnly);
            assert_eq!(rej.remote, r("pfd:3"));
            assert_eq!(rej.origin, Origin::ControlSocket);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(set.is_empty());
}

#[test]
fn database_and_config_file_warnings_are_exact() {
    let (mut set, _) = set_with_clock();
    let err = set.add(Origin::Database, "pfd:3").unwrap_err();
    assert_eq!(
        err.warning().unwrap().message,
        "pfd: remotes can only be specified on the command line; ignoring \"pfd:3\" from database"
    );
    let err = set.add(Origin::ConfigFile, "pfd:03").unwrap_err();
    // Shown as written, so the operator can find it.
    assert_eq!(
        err.warning().unwrap().to_string(),
        "pfd: remotes can only be specified on the command line; ignoring \"pfd:03\" from config file"
    );
    // Control characters are escaped: no forged log lines.
    let err = set.add(Origin::Database, "bogus\nWARN fake").unwrap_err();
    let msg = &err.warning().unwrap().message;
    assert!(!msg.contains('\n'), "{msg}");
    assert!(
        msg.ends_with("ignoring \"bogus\\nWARN fake\" from database"),
        "{msg}"
    );
}

#[test]
fn duplicates_on_canonical_form_and_origins() {
    let (mut set, _) = set_with_clock();
    assert_eq!(
        set.add(Origin::CommandLine, "pfd:3").unwrap(),
        Added::New(r("pfd:3"))
    );
    assert_eq!(
        set.add(Origin::CommandLine, "pfd:03").unwrap(),
        Added::Duplicate(r("pfd:3"))
    );
    assert_eq!(
        set.add(Origin::ControlSocket, "ptcp:").unwrap(),
        Added::New(r("ptcp:6640"))
    );
    assert_eq!(
        set.add(Origin::Database, "ptcp:6640:0.0.0.0").unwrap(),
        Added::NewOrigin(r("ptcp:"))
    );
    assert_eq!(set.len(), 2);
    assert_eq!(
        set.origins(&r("ptcp:")),
        [Origin::ControlSocket, Origin::Database]
            .into_iter()
            .collect::<OriginSet>()
    );
    assert!(set.contains(&r("pfd:0003")));
    assert!(!set.contains(&r("pfd:4")));
}

#[test]
fn remove_only_drops_that_origins_hold() {
    let (mut set, _) = set_with_clock();
    set.add(Origin::CommandLine, "ptcp:6641").unwrap();
    set.add(Origin::ControlSocket, "ptcp:6641:0.0.0.0").unwrap();
    assert_eq!(
        set.remove(Origin::ControlSocket, "ptcp:06641").unwrap(),
        Removed::StillHeld {
            remote: r("ptcp:6641"),
            by: OriginSet::only(Origin::CommandLine)
        }
    );
    let err = set.remove(Origin::ControlSocket, "ptcp:6641").unwrap_err();
    assert!(matches!(
        err,
        RemoveError::NotFound {
            origin: Origin::ControlSocket,
            ..
        }
    ));
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::NotFound
    );
    assert_eq!(
        set.remove(Origin::CommandLine, "ptcp:6641").unwrap(),
        Removed::Gone(r("ptcp:6641"))
    );
    assert!(set.is_empty());
    let err = set.remove(Origin::CommandLine, "ptcp:x").unwrap_err();
    assert!(matches!(err, RemoveError::Invalid { .. }));
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[test]
fn reconcile_adds_removes_rejects() {
    let (mut set, _) = set_with_clock();
    set.add(Origin::CommandLine, "pfd:3").unwrap();
    set.add(Origin::CommandLine, "ptcp:6640").unwrap();

    let first = set.reconcile(
        Origin::Database,
        [
            "ptcp:",
            "punix:/run/a.sock",
            "punix:/run/a.sock",
            "pfd:3",
            "db:a,b,c",
            "tcp:1.2.3.4:0",
        ],
    );
    assert_eq!(first.added, vec![r("punix:/run/a.sock")]);
    assert!(first.removed.is_empty());
    let reasons: Vec<_> = first
        .rejected
        .iter()
        .map(|x| (x.input.as_str(), x.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("pfd:3", Reason::PfdCommandLineOnly),
            ("db:a,b,c", Reason::DbFromDatabase)
        ]
    );
    assert_eq!(first.parse_errors.len(), 1);
    assert_eq!(first.parse_errors[0].input, "tcp:1.2.3.4:0");
    assert_eq!(first.warnings().count(), 3);
    assert!(first.changed());
    assert_eq!(set.origins(&r("ptcp:")).len(), 2);

    // The same list again changes nothing (rejections are still reported).
    let again = set.reconcile(
        Origin::Database,
        [
            "punix:/run/a.sock",
            "ptcp:6640",
            "pfd:3",
            "db:a,b,c",
            "tcp:1.2.3.4:0",
        ],
    );
    assert!(!again.changed());
    assert_eq!(again.rejected.len(), 2);

    // Rows disappear: only the database's holds go.
    let gone = set.reconcile(Origin::Database, ["tcp:192.0.2.9"]);
    assert_eq!(gone.added, vec![r("tcp:192.0.2.9:6640")]);
    assert_eq!(gone.removed, vec![r("punix:/run/a.sock")]);
    assert_eq!(
        set.origins(&r("ptcp:")),
        OriginSet::only(Origin::CommandLine)
    );
    assert!(set.contains(&r("pfd:3")));

    // Another origin's list does not touch the database's remotes.
    let cfg = set.reconcile(Origin::ConfigFile, Vec::<&str>::new());
    assert!(!cfg.changed());
    assert_eq!(set.len(), 3);
}

#[test]
fn warnings_are_rate_limited_and_count_suppressed() {
    let (mut set, clock) = set_with_clock();
    // A database that keeps a bad row, updated 100 times in a burst.
    let mut logged = 0;
    for _ in 0..100 {
        let rec = set.reconcile(Origin::Database, ["pfd:3"]);
        assert_eq!(
            rec.rejected.len(),
            1,
            "every reconcile reports the rejection"
        );
        logged += rec.warnings().count();
    }
    assert_eq!(logged, 5, "burst of 5");

    // 59 s later still nothing; at 60 s one warning with the suppressed count.
    clock.advance(Duration::from_secs(59));
    assert!(
        set.reconcile(Origin::Database, ["pfd:3"])
            .warnings()
            .next()
            .is_none()
    );
    clock.advance(Duration::from_secs(1));
    let rec = set.reconcile(Origin::Database, ["pfd:3"]);
    let w = rec.warnings().next().unwrap();
    assert_eq!(w.suppressed_before, 96);
    assert_eq!(
        w.dropped_line().unwrap(),
        "dropped 96 similar warnings due to excessive rate"
    );

    // After a quiet hour the full burst is back (capped at 5).
    clock.advance(Duration::from_secs(3600));
    let n: usize = (0..10)
        .map(|_| {
            set.reconcile(Origin::Database, ["pfd:3"])
                .warnings()
                .count()
        })
        .sum();
    assert_eq!(n, 5);
}

#[test]
fn command_line_and_control_socket_never_consume_warning_budget() {
    let (mut set, _) = set_with_clock();
    for _ in 0..50 {
        assert!(set.add(Origin::ControlSocket, "pfd:3").is_err());
        assert!(set.add(Origin::CommandLine, "nonsense").is_err());
    }
    assert!(
        set.add(Origin::ConfigFile, "pfd:3")
            .unwrap_err()
            .warning()
            .is_some()
    );
}

#[test]
fn tightened_pfd_policy_rejects_even_command_line() {
    let mut policy = Policy::default();
    policy
        .set_allowed(RemoteKind::Pfd, OriginSet::EMPTY)
        .unwrap();
    let mut set = RemoteSet::new(policy);
    let err = set.add(Origin::CommandLine, "pfd:3").unwrap_err();
    assert_eq!(
        err.to_string(),
        "pfd: remotes are not allowed from the command line by the remote policy"
    );
    // And from elsewhere the message is still the OVS one.
    let err = set.add(Origin::ControlSocket, "pfd:3").unwrap_err();
    assert_eq!(
        err.to_string(),
        "pfd: remotes can only be specified on the command line"
    );
}

#[test]
fn set_policy_revokes_holds() {
    let (mut set, _) = set_with_clock();
    set.add(Origin::CommandLine, "ptcp:6641").unwrap();
    set.add(Origin::Database, "ptcp:6641").unwrap();
    set.add(Origin::Database, "tcp:192.0.2.1").unwrap();
    let mut policy = Policy::default();
    policy
        .set_allowed(RemoteKind::Ptcp, OriginSet::only(Origin::CommandLine))
        .unwrap();
    policy
        .set_allowed(RemoteKind::Tcp, OriginSet::only(Origin::CommandLine))
        .unwrap();
    let rec = set.set_policy(policy);
    assert_eq!(rec.removed, vec![r("tcp:192.0.2.1")]);
    assert_eq!(rec.rejected.len(), 2);
    assert_eq!(
        set.origins(&r("ptcp:6641")),
        OriginSet::only(Origin::CommandLine)
    );
    assert_eq!(set.policy(), &policy);
}
