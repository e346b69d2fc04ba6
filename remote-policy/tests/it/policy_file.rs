//! Policy files (feature `serde`): loading, validation errors, the pfd: rule.

use std::fmt::Write as _;

use remote_policy::{Origin, OriginSet, Policy, PolicyError, Reason, RemoteKind};

#[test]
fn default_policy_json() {
    let json = Policy::default().to_json_string();
    insta::assert_snapshot!("default_policy_json", json);
    assert_eq!(Policy::from_json_str(&json).unwrap(), Policy::default());
}

#[test]
fn partial_file_keeps_defaults() {
    let p = Policy::from_json_str(
        r#"{"allow": {"ptcp": ["command-line", "config-file"], "db": ["command-line"], "pfd": []}}"#,
    )
    .unwrap();
    assert_eq!(
        p.allowed_origins(RemoteKind::Ptcp),
        [Origin::CommandLine, Origin::ConfigFile]
            .into_iter()
            .collect::<OriginSet>()
    );
    assert_eq!(
        p.check_kind(RemoteKind::Db, Origin::ControlSocket),
        Err(Reason::NotAllowed {
            kind: RemoteKind::Db,
            origin: Origin::ControlSocket
        })
    );
    assert_eq!(p.allowed_origins(RemoteKind::Pfd), OriginSet::EMPTY);
    // Untouched kinds keep the default rule.
    assert_eq!(p.allowed_origins(RemoteKind::Tcp), OriginSet::ALL);
    assert_eq!(Policy::from_json_str("{}").unwrap(), Policy::default());
}

#[test]
fn policy_file_errors() {
    let cases = [
        r#"{"allow": {"tcp6": []}}"#,
        r#"{"allow": {"PFD": ["command-line"]}}"#,
        r#"{"allow": {"tcp": ["cli"]}}"#,
        r#"{"allow": {"tcp": ["database", "database"]}}"#,
        r#"{"allow": {"tcp": [], "tcp": ["database"]}}"#,
        r#"{"allow": {"pfd": ["command-line", "database"]}}"#,
        r#"{"allow": {"pfd": ["control-socket"]}}"#,
        r#"{"allow": {"pfd": ["config-file"]}}"#,
        r#"{"allow": {"tcp": "database"}}"#,
        r#"{"allw": {}}"#,
        r#"{"allow": {"tcp": []}"#,
        r#"[]"#,
    ];
    let mut table = String::new();
    for json in cases {
        let err = Policy::from_json_str(json).unwrap_err();
        writeln!(table, "{json}\n    {err}").unwrap();
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
    }
    insta::assert_snapshot!("policy_file_errors", table);
}

#[test]
fn pfd_can_never_be_loosened() {
    for origin in [Origin::ControlSocket, Origin::Database, Origin::ConfigFile] {
        let json = format!(r#"{{"allow": {{"pfd": ["{}"]}}}}"#, origin.name());
        match Policy::from_json_str(&json) {
            Err(PolicyError::PfdLoosened { origin: o }) => assert_eq!(o, origin),
            other => panic!("{json}: {other:?}"),
        }
        // The serde Deserialize impl validates too.
        assert!(serde_json::from_str::<Policy>(&json).is_err());
    }
}

#[test]
fn deserialize_impl_reports_the_same_message() {
    let err = serde_json::from_str::<Policy>(r#"{"allow": {"tcp": ["cli"]}}"#).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "unknown origin \"cli\" for \"tcp\" in policy: valid origins are command-line, \
             control-socket, database, config-file"
        ),
        "{err}"
    );
}

#[test]
fn from_json_file() {
    let dir = test_support::TempDir::new("remote-policy-test");
    let path = dir.join("policy.json");
    std::fs::write(&path, r#"{"allow": {"punix": ["command-line"]}}"#).unwrap();
    let p = Policy::from_json_file(&path).unwrap();
    assert!(p.check_kind(RemoteKind::Punix, Origin::Database).is_err());

    std::fs::write(&path, r#"{"allow": {"pfd": ["database"]}}"#).unwrap();
    assert!(matches!(
        Policy::from_json_file(&path),
        Err(PolicyError::PfdLoosened {
            origin: Origin::Database
        })
    ));

    let missing = dir.join("missing.json");
    match Policy::from_json_file(&missing) {
        Err(err @ PolicyError::Io { .. }) => {
            assert_eq!(
                std::io::Error::from(err).kind(),
                std::io::ErrorKind::NotFound
            )
        }
        other => panic!("{other:?}"),
    }
}
