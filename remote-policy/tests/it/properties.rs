//! Property tests: the parser never panics, accepted input round-trips, and
//! no spelling of a pfd: remote gets past parser + policy from a
//! non-command-line origin.

use proptest::prelude::*;
use remote_policy::{Origin, Policy, Remote, RemoteKind, RemoteSet};

fn check_round_trip(input: &str) -> Result<(), TestCaseError> {
    if let Ok(remote) = input.parse::<Remote>() {
        let canonical = remote.to_string();
        let again: Remote = canonical
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{input:?} -> {canonical:?}: {e}")))?;
        prop_assert_eq!(&again, &remote);
        prop_assert_eq!(again.to_string(), canonical);
    }
    Ok(())
}

/// Pieces that make the generator hit every branch of the grammar.
fn remote_like() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "unix:", "tcp:", "ssl:", "punix:", "ptcp:", "pssl:", "pfd:", "db:", "PFD:", " pfd:", "pfd",
        "",
    ]);
    let piece = prop::sample::select(vec![
        "[",
        "]",
        ":",
        "%",
        ",",
        ".",
        "::",
        "::1",
        "fe80::1",
        "127.0.0.1",
        "0",
        "6640",
        "65536",
        "eth0",
        "a",
        "-",
        "_",
        "0x",
        "+",
        " ",
        "\0",
        "Open_vSwitch",
        "example.com",
        "03",
        "\u{e9}",
        "\n",
    ]);
    (prefix, prop::collection::vec(piece, 0..8))
        .prop_map(|(prefix, pieces)| format!("{prefix}{}", pieces.concat()))
}

/// Valid remotes built from their parts (so round trip is tested on accepted
/// input, not only on whatever random strings happen to parse).
fn valid_remote() -> impl Strategy<Value = String> {
    let ipv4 = any::<[u8; 4]>().prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]));
    let ipv6 = any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s)));
    let scoped = (any::<[u16; 8]>(), "[a-z][a-z0-9]{0,6}|[0-9]{1,4}")
        .prop_map(|(s, scope)| format!("[{}%{scope}]", std::net::Ipv6Addr::from(s)));
    let name = "[a-zA-Z]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?(\\.[a-zA-Z]{1,5}){0,3}";
    let host = prop_oneof![
        ipv4.clone(),
        ipv6.clone(),
        scoped.clone(),
        name.prop_map(String::from)
    ];
    let ip = prop_oneof![ipv4, ipv6, scoped];
    let port = prop_oneof![Just(String::new()), (1u16..).prop_map(|p| format!(":{p}"))];
    let path = "[/a-zA-Z0-9._: -]{1,100}";
    let ident = "[a-zA-Z_][a-zA-Z0-9_]{0,10}";
    prop_oneof![
        (prop::sample::select(vec!["unix", "punix"]), path).prop_map(|(k, p)| format!("{k}:{p}")),
        (prop::sample::select(vec!["tcp", "ssl"]), host, port)
            .prop_map(|(k, h, p)| format!("{k}:{h}{p}")),
        (
            prop::sample::select(vec!["ptcp", "pssl"]),
            prop::option::of(any::<u16>()),
            prop::option::of(ip)
        )
            .prop_map(|(k, p, ip)| {
                let p = p.map(|p| p.to_string()).unwrap_or_default();
                match ip {
                    Some(ip) => format!("{k}:{p}:{ip}"),
                    None => format!("{k}:{p}"),
                }
            }),
        (3u32..100_000).prop_map(|n| format!("pfd:{n:05}")),
        "[a-z][a-z0-9_.-]{0,20}".prop_map(|n| format!("pfd:{n}")),
        (ident, ident, ident).prop_map(|(a, b, c)| format!("db:{a},{b},{c}")),
    ]
}

/// Ways to write, or almost write, a pfd: remote.
fn pfd_spelling() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "pfd:",
        "PFD:",
        "Pfd:",
        "pFd:",
        " pfd:",
        "pfd :",
        "pfd: ",
        "\tpfd:",
        "pfd::",
        "pfd:\n",
        "pfd",
        "pfd:/",
        "\u{feff}pfd:",
    ]);
    let body = prop_oneof![
        (0u64..1_000_000).prop_map(|n| n.to_string()),
        (0usize..6, 0u32..1000).prop_map(|(z, n)| format!("{}{n}", "0".repeat(z))),
        prop::sample::select(vec![
            "+3", "-3", " 3", "3 ", "0x3", "03", "3a", "1e3", "٣", "３"
        ])
        .prop_map(String::from),
        "[a-zA-Z][a-zA-Z0-9_.-]{0,12}",
        "\\PC{0,6}",
    ];
    let suffix = prop::sample::select(vec!["", " ", "\n", "\0", ":", ",x"]);
    (prefix, body, suffix).prop_map(|(p, b, s)| format!("{p}{b}{s}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic_and_round_trip(input in "\\PC{0,40}") {
        check_round_trip(&input)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        check_round_trip(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn remote_like_strings_round_trip(input in remote_like()) {
        check_round_trip(&input)?;
    }

    #[test]
    fn valid_remotes_parse_and_round_trip(input in valid_remote()) {
        let remote: Result<Remote, _> = input.parse();
        prop_assert!(remote.is_ok(), "{:?}: {}", input, remote.unwrap_err());
        check_round_trip(&input)?;
    }

    /// The union: every pfd-like spelling is either a parse error or a pfd:
    /// remote the policy rejects, from every origin but the command line, and
    /// RemoteSet never holds it afterwards.
    #[test]
    fn no_pfd_spelling_gets_in_from_elsewhere(input in pfd_spelling()) {
        let policy = Policy::default();
        match input.parse::<Remote>() {
            Err(_) => {}
            Ok(remote) => {
                prop_assert_eq!(remote.kind(), RemoteKind::Pfd, "{:?} parsed as {}", input, remote);
                for origin in [Origin::ControlSocket, Origin::Database, Origin::ConfigFile] {
                    prop_assert!(policy.check(&remote, origin).is_err());
                }
            }
        }
        let mut set = RemoteSet::new(policy);
        for origin in [Origin::ControlSocket, Origin::Database, Origin::ConfigFile] {
            prop_assert!(set.add(origin, &input).is_err());
            let r = set.reconcile(origin, [input.as_str()]);
            prop_assert!(r.added.is_empty());
        }
        prop_assert!(set.is_empty());
    }

    /// Anything accepted from a non-command-line origin is not a pfd: remote,
    /// whatever the string.
    #[test]
    fn nothing_accepted_elsewhere_is_pfd(input in prop_oneof![remote_like(), pfd_spelling(), "\\PC{0,20}".prop_map(String::from)]) {
        let mut set = RemoteSet::default();
        for origin in [Origin::ControlSocket, Origin::Database, Origin::ConfigFile] {
            if let Ok(added) = set.add(origin, &input) {
                prop_assert_ne!(added.remote().kind(), RemoteKind::Pfd);
            }
        }
        prop_assert!(set.iter().all(|(r, _)| r.kind() != RemoteKind::Pfd));
    }
}
