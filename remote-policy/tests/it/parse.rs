//! Grammar tests: canonical forms, defaults, equality of spellings.

use std::fmt::Write as _;

use remote_policy::remote::{DEFAULT_PORT, Host};
use remote_policy::{ParseError, PfdSpec, Remote, RemoteKind};

fn parse(s: &str) -> Remote {
    match s.parse::<Remote>() {
        Ok(r) => r,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

/// Accepted spellings and their canonical forms, as one reviewed table.
const ACCEPTED: &[&str] = &[
    "unix:/run/openvswitch/db.sock",
    "unix:db.sock",
    "unix:./rel/path with space:and:colons",
    "punix:/run/echod.sock",
    "tcp:192.0.2.1:6640",
    "tcp:192.0.2.1",
    "tcp:192.0.2.1:",
    "tcp:192.0.2.1:00080",
    "tcp:[::1]",
    "tcp:[::1]:6641",
    "tcp:[0:0:0:0:0:0:0:1]:6641",
    "tcp:[fe80::1%eth0]:6640",
    "tcp:[fe80::1%0007]:6640",
    "tcp:[192.0.2.1]:6640",
    "tcp:Example.COM",
    "tcp:ovsdb-1.example.net:1",
    "tcp:localhost:65535",
    "ssl:[2001:db8::1]:6640",
    "ssl:controller",
    "ptcp:",
    "ptcp:6640",
    "ptcp:6640:0.0.0.0",
    "ptcp::127.0.0.1",
    "ptcp:0",
    "ptcp:0:[::]",
    "ptcp:6641:[::1]",
    "ptcp:6641:[fe80::1%2]",
    "ptcp:65535:[127.0.0.1]",
    "pssl:",
    "pssl:6640:10.0.0.1",
    "pfd:3",
    "pfd:03",
    "pfd:ovsdb",
    "db:Open_vSwitch,Open_vSwitch,manager_options",
    "db:_db,T1,c_2",
];

#[test]
fn canonical_forms() {
    let mut table = String::new();
    for input in ACCEPTED {
        let remote = parse(input);
        let canonical = remote.to_string();
        assert_eq!(parse(&canonical), remote, "round trip of {input:?}");
        assert_eq!(parse(&canonical).to_string(), canonical, "idempotent");
        writeln!(table, "{input:<50} -> {canonical}").unwrap();
    }
    insta::assert_snapshot!("canonical_forms", table);
}

#[test]
fn same_remote_different_spellings() {
    let groups: &[&[&str]] = &[
        &[
            "ptcp:",
            "ptcp:6640",
            "ptcp::0.0.0.0",
            "ptcp:6640:0.0.0.0",
            "ptcp:06640:[0.0.0.0]",
        ],
        &[
            "tcp:[::1]",
            "tcp:[::1]:6640",
            "tcp:[0::1]:",
            "tcp:[0:0:0:0:0:0:0:1]:06640",
        ],
        &["tcp:example.com", "tcp:EXAMPLE.com:6640"],
        &["pfd:3", "pfd:03", "pfd:0003"],
        &["tcp:[fe80::1%5]", "tcp:[fe80::1%05]:6640"],
    ];
    for group in groups {
        let first = parse(group[0]);
        for other in &group[1..] {
            assert_eq!(parse(other), first, "{other:?} vs {:?}", group[0]);
            assert_eq!(parse(other).to_string(), first.to_string());
        }
    }
}

#[test]
fn different_remotes_stay_different() {
    let distinct = [
        "ptcp:6640:0.0.0.0",
        "ptcp:6640:[::]",
        "ptcp:6641",
        "pssl:6640",
        "tcp:127.0.0.1",
        "ssl:127.0.0.1",
        "unix:db.sock",
        "unix:/run/openvswitch/db.sock",
        "punix:db.sock",
        "tcp:[fe80::1%eth0]",
        "tcp:[fe80::1%eth1]",
        "tcp:[fe80::1]",
        "pfd:3",
        "pfd:4",
        "pfd:web",
    ];
    for (i, a) in distinct.iter().enumerate() {
        for b in &distinct[i + 1..] {
            assert_ne!(parse(a), parse(b), "{a:?} vs {b:?}");
            assert_ne!(parse(a).to_string(), parse(b).to_string());
        }
    }
}

#[test]
fn typed_parts() {
    match parse("tcp:[fe80::1%eth0]") {
        Remote::Tcp(e) => {
            assert_eq!(e.port(), DEFAULT_PORT);
            match e.host() {
                Host::Ipv6(addr, Some(scope)) => {
                    assert_eq!(*addr, "fe80::1".parse::<std::net::Ipv6Addr>().unwrap());
                    assert_eq!(scope.interface(), Some("eth0"));
                }
                other => panic!("unexpected host {other:?}"),
            }
        }
        other => panic!("unexpected {other:?}"),
    }
    match parse("ptcp:0") {
        Remote::Ptcp(l) => {
            assert_eq!(l.port(), 0);
            assert_eq!(l.ip(), std::net::Ipv4Addr::UNSPECIFIED);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        parse("pfd:03"),
        Remote::Pfd(PfdSpec::from_number(3).unwrap())
    );
    assert_eq!(
        parse("pfd:ovsdb"),
        Remote::Pfd(PfdSpec::from_name("ovsdb").unwrap())
    );
    match parse("unix:relative.sock") {
        Remote::Unix(p) => assert_eq!(p.as_path(), std::path::Path::new("relative.sock")),
        other => panic!("unexpected {other:?}"),
    }
    for kind in RemoteKind::ALL {
        assert_eq!(kind.name().parse::<RemoteKind>().unwrap(), kind);
    }
}

#[test]
fn unix_path_length_limit() {
    let ok = format!("punix:/{}", "a".repeat(106));
    assert!(matches!(parse(&ok), Remote::Punix(p) if p.as_str().len() == 107));
    let too_long = format!("punix:/{}", "a".repeat(107));
    assert_eq!(
        too_long.parse::<Remote>().unwrap_err(),
        ParseError::PathTooLong {
            kind: RemoteKind::Punix,
            len: 108
        }
    );
}

#[test]
fn pfd_goes_through_stream_pfd() {
    // The error is stream-pfd's own, so the two crates cannot disagree.
    for bad in ["pfd:+3", "pfd: 3", "pfd:0x3", "pfd:", "pfd:1", "pfd:a:b"] {
        let ours = bad.parse::<Remote>().unwrap_err();
        let theirs = bad.parse::<PfdSpec>().unwrap_err();
        assert_eq!(ours, ParseError::Pfd(theirs), "{bad:?}");
    }
}

#[test]
fn io_error_conversion() {
    let err: std::io::Error = "nope".parse::<Remote>().unwrap_err().into();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
