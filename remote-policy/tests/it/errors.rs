//! Every parse error message, as one reviewed snapshot table.

use std::fmt::Write as _;

use remote_policy::{ParseError, Remote};

const BAD: &[&str] = &[
    "",
    "pfd",
    "ptcp6640",
    "bogus:1",
    "PFD:3",
    " pfd:3",
    "Tcp:1.2.3.4",
    // unix / punix
    "unix:",
    "punix:",
    "unix:/tmp/a\0b",
    // active
    "tcp:",
    "ssl:",
    "tcp::6640",
    "tcp:1.2.3.4:0",
    "tcp:1.2.3.4:65536",
    "tcp:1.2.3.4:+80",
    "tcp:1.2.3.4: 80",
    "tcp:1.2.3.4:http",
    "tcp:::1",
    "tcp:::1:6640",
    "tcp:fe80::1%eth0",
    "tcp:fe80::1%eth0:6640",
    "tcp:a:b:c",
    "tcp:[::1",
    "tcp:[]:6640",
    "tcp:[::g]:6640",
    "tcp:[example.com]:6640",
    "tcp:[::1]6640",
    "tcp:[fe80::1%]:6640",
    "tcp:[fe80::1%a/b]",
    "tcp:[fe80::1%averyveryverylongname]",
    "tcp:[fe80::1%99999999999]",
    "tcp:[1.2.3.4%eth0]",
    "tcp:10.0.0.256",
    "tcp:1.2.3",
    "tcp:host_name",
    "tcp:-host",
    "tcp:host-",
    "tcp:a..b",
    "tcp:example.com.",
    "tcp:exa mple",
    // passive
    "ptcp:70000",
    "ptcp:-1",
    "ptcp:x",
    "ptcp:6640:",
    "ptcp:6640:localhost",
    "ptcp:6640:::1",
    "ptcp:6640:10.0.0.256",
    "ptcp:[::1]",
    "ptcp:::1",
    "ptcp:127.0.0.1",
    "pssl:6640:[::1]x",
    "pssl:6640:[::1",
    "ptcp:6640:[fe80::1%eth0]:6641",
    // pfd (stream-pfd's messages)
    "pfd:",
    "pfd:+3",
    "pfd:-1",
    "pfd: 3",
    "pfd:3 ",
    "pfd:0x3",
    "pfd:2",
    "pfd:99999999999",
    "pfd:a:b",
    "pfd:3a",
    // db
    "db:",
    "db:a,b",
    "db:a,b,c,d",
    "db:,b,c",
    "db:a,,c",
    "db:a,b,",
    "db:1a,b,c",
    "db:a,b-c,d",
    "db:a,b,c d",
];

#[test]
fn parse_errors() {
    let mut table = String::new();
    for input in BAD {
        match input.parse::<Remote>() {
            Ok(r) => panic!("{input:?} should be rejected, parsed as {r}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty());
                writeln!(table, "{input:?}\n    {msg}").unwrap();
            }
        }
    }
    insta::assert_snapshot!("parse_errors", table);
}

#[test]
fn kind_specific_errors_show_accepted_form() {
    for input in BAD {
        let err = input.parse::<Remote>().unwrap_err();
        if let (Some(kind), false) = (err.remote_kind(), input.starts_with("pfd")) {
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("expected {}", kind.syntax())),
                "{input:?}: {msg}"
            );
        }
    }
}

/// What an `UnbracketedIpv6` error tells the user to write must itself be accepted.
fn check_suggestions(input: &str) -> Result<(), String> {
    if let Err(ParseError::UnbracketedIpv6 { suggestion, .. }) = input.parse::<Remote>() {
        for alternative in suggestion.split(" or ") {
            if let Err(e) = alternative.parse::<Remote>() {
                return Err(format!(
                    "{input:?} suggests {alternative:?}, which fails: {e}"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn suggested_spellings_are_accepted() {
    for input in BAD {
        check_suggestions(input).unwrap();
    }
}

proptest::proptest! {
    #[test]
    fn suggested_spellings_of_unbracketed_ipv6_are_accepted(
        kind in proptest::sample::select(vec!["tcp", "ssl", "ptcp", "pssl"]),
        addr in proptest::prelude::any::<[u16; 8]>(),
        scope in "(%[a-z0-9:]{0,6})?",
        port in "(:[0-9]{0,6})?",
    ) {
        let addr = std::net::Ipv6Addr::from(addr);
        let input = if kind.starts_with('p') {
            format!("{kind}:6640:{addr}{scope}{port}")
        } else {
            format!("{kind}:{addr}{scope}{port}")
        };
        check_suggestions(&input).map_err(proptest::test_runner::TestCaseError::fail)?;
    }
}
