//! The default decision matrix: snapshot, crate-docs copy, and the rules it
//! must show.

use remote_policy::{Origin, Policy, Reason, Remote, RemoteKind};

#[test]
fn default_matrix() {
    insta::assert_snapshot!("default_matrix", Policy::default().matrix());
}

#[test]
fn crate_docs_show_the_same_matrix() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/default-matrix.md");
    let docs = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        docs,
        Policy::default().matrix(),
        "docs/default-matrix.md is out of date: write Policy::default().matrix() to it"
    );
}

#[test]
fn default_rules_cell_by_cell() {
    let policy = Policy::default();
    for kind in RemoteKind::ALL {
        for origin in Origin::ALL {
            let got = policy.check_kind(kind, origin);
            let want = match (kind, origin) {
                (RemoteKind::Pfd, Origin::CommandLine) => Ok(()),
                (RemoteKind::Pfd, _) => Err(Reason::PfdCommandLineOnly),
                (RemoteKind::Db, Origin::Database) => Err(Reason::DbFromDatabase),
                _ => Ok(()),
            };
            assert_eq!(got, want, "{kind} from {origin}");
        }
    }
}

#[test]
fn check_uses_the_parsed_kind() {
    let policy = Policy::default();
    for (text, kind) in [
        ("pfd:3", RemoteKind::Pfd),
        ("pfd:ovsdb", RemoteKind::Pfd),
        ("punix:pfd:3", RemoteKind::Punix),
    ] {
        let remote: Remote = text.parse().unwrap();
        assert_eq!(remote.kind(), kind);
        assert_eq!(
            policy.check(&remote, Origin::Database).is_ok(),
            kind != RemoteKind::Pfd,
            "{text}"
        );
    }
}
