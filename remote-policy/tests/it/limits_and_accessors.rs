//! Exact limits (one byte under, at and over each bound), every accessor, every `source()`
//! chain and every `Debug` form: the cases mutation testing showed no other test would notice.

use remote_policy::ratelimit::RateLimitedWarning;
use remote_policy::remote::Host;
use remote_policy::{Origin, OriginSet, Policy, Remote, RemoteKind, RemoteSet};

fn parse(s: &str) -> Result<Remote, String> {
    s.parse::<Remote>().map_err(|e| e.to_string())
}

/// A host name of exactly `len` bytes, in labels of at most 63.
fn host_name(len: usize) -> String {
    let mut name = String::new();
    while name.len() < len {
        if !name.is_empty() {
            name.push('.');
        }
        let label = (len - name.len()).min(63);
        name.push_str(&"a".repeat(label));
    }
    // A last label of one byte would end in '.' otherwise; the loop never leaves one empty.
    name
}

#[test]
fn host_name_length_bound_is_253_bytes() {
    let ok = host_name(253);
    assert_eq!(ok.len(), 253);
    let r = parse(&format!("tcp:{ok}")).unwrap();
    let Remote::Tcp(e) = &r else { panic!("{r:?}") };
    let Host::Name(n) = e.host() else {
        panic!("{r:?}")
    };
    assert_eq!(n.as_str(), ok);
    let long = host_name(254);
    assert_eq!(long.len(), 254);
    let err = parse(&format!("tcp:{long}")).unwrap_err();
    assert!(err.contains("at most 253 bytes, this one is 254"), "{err}");
}

#[test]
fn host_label_length_bound_is_63_bytes() {
    let ok = format!("{}.example", "b".repeat(63));
    assert!(parse(&format!("ssl:{ok}")).is_ok());
    let long = format!("{}.example", "b".repeat(64));
    let err = parse(&format!("ssl:{long}")).unwrap_err();
    assert!(
        err.contains("is 64 bytes long; labels can be at most 63"),
        "{err}"
    );
}

#[test]
fn host_names_are_lowercased_and_readable() {
    let r = parse("tcp:OVSDB.Example.NET:6641").unwrap();
    let Remote::Tcp(e) = &r else { panic!("{r:?}") };
    assert_eq!(e.port(), 6641);
    match e.host() {
        Host::Name(n) => assert_eq!(n.as_str(), "ovsdb.example.net"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn scope_name_bound_is_15_bytes_and_index_bound_is_u32() {
    let name15 = "e".repeat(15);
    let r = parse(&format!("ptcp:6640:[fe80::1%{name15}]")).unwrap();
    let Remote::Ptcp(l) = &r else { panic!("{r:?}") };
    assert_eq!(l.port(), 6640);
    let scope = l.scope().expect("a scope");
    assert_eq!(scope.interface(), Some(name15.as_str()));
    assert_eq!(scope.index(), None);
    let err = parse(&format!("ptcp:6640:[fe80::1%{}]", "e".repeat(16))).unwrap_err();
    assert!(err.contains("scope"), "{err}");

    let r = parse("ptcp:1:[fe80::1%4294967295]").unwrap();
    let Remote::Ptcp(l) = &r else { panic!("{r:?}") };
    assert_eq!(l.port(), 1);
    assert_eq!(l.scope().and_then(|s| s.index()), Some(u32::MAX));
    assert_eq!(l.scope().and_then(|s| s.interface()), None);
    assert!(parse("ptcp:1:[fe80::1%4294967296]").is_err());
    for bad in [
        "", ".", "..", "a/b", "a:b", "a b", "a\u{a0}b", "a\u{1}b", "a%b", "a[b",
    ] {
        assert!(
            parse(&format!("ptcp:1:[fe80::1%{bad}]")).is_err(),
            "scope {bad:?} accepted"
        );
    }
    // A passive remote without a scope has none.
    let r = parse("ptcp:7:[::1]").unwrap();
    let Remote::Ptcp(l) = &r else { panic!("{r:?}") };
    assert!(l.scope().is_none());
}

#[test]
fn unbracketed_ipv6_gets_each_suggestion_that_parses() {
    // Active: ADDR:PORT, or the whole text as one address.
    let err = parse("tcp:fe80::1:6640").unwrap_err();
    assert!(
        err.contains("write tcp:[fe80::1]:6640 or tcp:[fe80::1:6640]:6640;"),
        "{err}"
    );
    // Port 0 is not a port for an active remote: only the whole-address suggestion.
    let err = parse("tcp:fe80::1:0").unwrap_err();
    assert!(err.contains("write tcp:[fe80::1:0]:6640;"), "{err}");
    // Passive: the address is last, so only the whole text is one.
    // (A port of 5 digits, so that PORT:ADDR is not itself an IPv6 address.)
    let err = parse("ptcp:10000:fe80::1").unwrap_err();
    assert!(err.contains("write ptcp:10000:[fe80::1];"), "{err}");
    // Neither: the specific error for each kind.
    let err = parse("ptcp:10000:1:2:x").unwrap_err();
    assert!(err.contains("1:2:x"), "{err}");
    assert!(!err.contains("did you mean"), "{err}");
    let err = parse("tcp:a:b:c").unwrap_err();
    assert!(err.contains("too many ':'"), "{err}");
}

#[test]
fn unknown_kind_suggests_only_a_real_kind_in_other_case() {
    let err = parse("TCP:1.2.3.4").unwrap_err();
    assert!(err.contains("did you mean \"tcp\"?"), "{err}");
    for no_hint in ["FOO:1.2.3.4", "foo:1.2.3.4", "TCPX:1.2.3.4"] {
        let err = parse(no_hint).unwrap_err();
        assert!(err.contains("unknown remote kind"), "{err}");
        assert!(!err.contains("did you mean"), "{no_hint}: {err}");
    }
}

#[test]
fn remote_set_is_empty_until_a_remote_is_added() {
    let mut set = RemoteSet::default();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    set.add(Origin::CommandLine, "ptcp:6640").unwrap();
    assert!(!set.is_empty());
    assert_eq!(set.len(), 1);
}

#[test]
fn dropped_line_appears_from_one_suppressed_warning() {
    let w = |n| RateLimitedWarning {
        message: "m".into(),
        suppressed_before: n,
    };
    assert_eq!(w(0).dropped_line(), None);
    assert_eq!(
        w(1).dropped_line().as_deref(),
        Some("dropped 1 similar warning due to excessive rate")
    );
    assert_eq!(
        w(2).dropped_line().as_deref(),
        Some("dropped 2 similar warnings due to excessive rate")
    );
}

#[test]
fn debug_forms_show_the_contents() {
    let set: OriginSet = [Origin::CommandLine, Origin::Database]
        .into_iter()
        .collect();
    assert_eq!(format!("{set:?}"), "{CommandLine, Database}");
    let debug = format!("{:?}", Policy::default());
    assert!(debug.starts_with('{'), "{debug}");
    assert!(debug.contains("Pfd: {CommandLine}"), "{debug}");
    assert_eq!(
        debug.matches(": {").count(),
        RemoteKind::ALL.len(),
        "{debug}"
    );
}

#[cfg(feature = "serde")]
#[test]
fn policy_errors_keep_their_cause() {
    use remote_policy::PolicyError;
    use std::error::Error as _;
    let err = Policy::from_json_str("{").unwrap_err();
    assert!(matches!(err, PolicyError::Json(_)), "{err:?}");
    let cause = err.source().expect("the JSON error as the source");
    assert!(cause.is::<serde_json::Error>(), "{cause:?}");

    let err = Policy::from_json_file("/nonexistent/policy.json").unwrap_err();
    let cause = err.source().expect("the I/O error as the source");
    let io = cause
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);

    let err = Policy::from_json_str(r#"{"allow": {"pfd": ["database"]}}"#).unwrap_err();
    assert!(err.source().is_none(), "{err:?}");
}

#[cfg(feature = "serde")]
#[test]
fn a_policy_that_is_not_an_object_says_what_was_expected() {
    let err = Policy::from_json_str(r#"{"allow": 5}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected an object mapping remote kinds to lists of origins"),
        "{err}"
    );
}

#[test]
fn parse_errors_keep_their_cause() {
    use std::error::Error as _;
    let err = "TCP:1.2.3.4".parse::<Remote>().unwrap_err();
    let cause = err.source().expect("the unknown kind as the source");
    let kind = cause
        .downcast_ref::<remote_policy::UnknownKind>()
        .expect("an UnknownKind");
    assert_eq!(kind.name(), "TCP");

    let err = "pfd:-1".parse::<Remote>().unwrap_err();
    let cause = err.source().expect("stream-pfd's error as the source");
    assert!(cause.is::<stream_pfd::ParseError>(), "{cause:?}");

    let err = "tcp:a..b".parse::<Remote>().unwrap_err();
    assert!(err.source().is_none(), "{err:?}");
}

#[test]
fn refusals_show_and_chain_their_cause() {
    use remote_policy::set::Refusal;
    use std::error::Error as _;
    let mut set = RemoteSet::default();
    let rec = set.reconcile(Origin::Database, ["tcp:a..b", "pfd:3"]);
    let invalid = &rec.parse_errors[0];
    assert_eq!(invalid.to_string(), invalid.error.to_string());
    assert!(invalid.to_string().contains("empty label"), "{invalid}");
    let cause = invalid.source().expect("the parse error as the source");
    assert_eq!(cause.to_string(), invalid.error.to_string());
    let rejected = &rec.rejected[0];
    assert_eq!(
        rejected.to_string(),
        "pfd: remotes can only be specified on the command line"
    );
    assert!(rejected.source().is_some());
    for (input, want) in [("tcp:a..b", "empty label"), ("pfd:3", "command line")] {
        let err = set.add(Origin::ControlSocket, input).unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
        let cause = err.source().expect("a source");
        assert!(cause.to_string().contains(want), "{cause}");
        assert!(matches!(
            (input, &err),
            ("tcp:a..b", Refusal::Invalid(_)) | ("pfd:3", Refusal::Rejected(_))
        ));
    }
}

#[test]
fn remove_errors_chain_the_parse_error() {
    use remote_policy::set::RemoveError;
    use std::error::Error as _;
    let mut set = RemoteSet::default();
    let err = set.remove(Origin::ControlSocket, "tcp:a..b").unwrap_err();
    assert!(matches!(err, RemoveError::Invalid { .. }), "{err:?}");
    let cause = err.source().expect("the parse error");
    assert!(cause.is::<remote_policy::ParseError>(), "{cause:?}");
    let err = set.remove(Origin::ControlSocket, "ptcp:6640").unwrap_err();
    assert!(matches!(err, RemoveError::NotFound { .. }), "{err:?}");
    assert!(err.source().is_none());
}
