//! `qemu::parse_like_qemu` and `qemu::difference` against what the real QEMU answered.
//!
//! The table below was recorded from `qemu-system-x86_64 -sandbox STR -machine none` (QEMU
//! 7.2.22 and 10.0.2 answer identically); the host checks
//! (`seccomp-sets/tests/conformance/qemu_conformance.rs`) run the whole generated corpus through the real
//! binary. Kept here so that the model's corner cases (the `id` pre-pass, help, last-value-wins)
//! are checked without QEMU too.
#![cfg(feature = "qemu-model")]

use sandbox_opts::Sandbox;
use sandbox_opts::qemu::{DIFFERENCES, difference, parse_like_qemu};

/// `(input, QEMU's answer)`: `Ok(canonical form)` or `Err(first error line)`.
const OBSERVED: &[(&str, Result<&str, &str>)] = &[
    ("", Ok("off")),
    ("on", Ok("on")),
    ("on,id=x", Ok("on")),
    ("on,id=a.b-c_d", Ok("on")),
    ("on,id=9a", Err("Parameter 'id' expects an identifier")),
    ("on,id=", Err("Parameter 'id' expects an identifier")),
    ("on,id=é", Err("Parameter 'id' expects an identifier")),
    ("on,id=x,id=9a", Ok("on")),
    (
        "on,foo=1,id=9a",
        Err("Parameter 'id' expects an identifier"),
    ),
    ("on,id", Ok("on")),
    ("on,noid", Ok("on")),
    ("id=x,on", Err("Invalid parameter 'on'")),
    ("help", Err("Parameter 'enable' expects 'on' or 'off'")),
    ("?", Err("Parameter 'enable' expects 'on' or 'off'")),
    ("on,help", Err("sandbox options:")),
    ("on,nohelp", Err("Invalid parameter 'help'")),
    ("on,help=x", Err("Invalid parameter 'help'")),
    ("on,no?", Err("Invalid parameter '?'")),
    ("on,spawn=help", Err("invalid argument for spawn")),
    ("on,no", Err("Invalid parameter ''")),
    ("on,noSpawn", Err("Invalid parameter 'Spawn'")),
    ("on,nofoo", Err("Invalid parameter 'foo'")),
    ("on,,", Err("Parameter 'enable' expects 'on' or 'off'")),
    (",on", Err("Parameter 'enable' expects 'on' or 'off'")),
    ("on,=deny", Err("Invalid parameter ''")),
    ("on,spawn", Err("invalid argument for spawn")),
    ("off,spawn", Ok("off")),
    ("off,spawn=bogus", Ok("off")),
    ("enable=", Err("Parameter 'enable' expects 'on' or 'off'")),
    ("on,enable", Ok("on")),
    ("on,noenable", Ok("off")),
    ("on,nospawn,spawn=deny", Ok("on,spawn=deny")),
    ("on,spawn=bogus,spawn=deny", Ok("on,spawn=deny")),
    (
        "on,spawn=deny,spawn=bogus",
        Err("invalid argument for spawn"),
    ),
    (
        "enable=on,obsolete=false,elevateprivileges=allow,obsolete=allow,elevateprivileges=yes",
        Err("invalid argument for elevateprivileges"),
    ),
    ("on,foo=1", Err("Invalid parameter 'foo'")),
    (
        "yes,obsolete=allow,elevateprivileges=children,resourcecontrol=deny",
        Ok("on,obsolete=allow,elevateprivileges=children,resourcecontrol=deny"),
    ),
];

#[test]
fn the_model_answers_as_the_real_qemu_did() {
    for (input, want) in OBSERVED {
        let got = parse_like_qemu(input);
        match (want, &got) {
            (Ok(canonical), Ok(sandbox)) => {
                let want: Sandbox = canonical.parse().unwrap();
                assert_eq!(sandbox, &want, "{input:?}");
            }
            (Err(message), Err(e)) => assert_eq!(e.message(), *message, "{input:?}"),
            _ => panic!("{input:?}: QEMU answered {want:?}, the model {got:?}"),
        }
    }
}

#[test]
fn differences_are_named_and_agreement_is_none() {
    let cases: &[(&str, Option<&str>)] = &[
        ("", Some("empty")),
        ("on,id=x", Some("id")),
        ("on,noid", Some("id")),
        ("on,id=9a", Some("id")),
        ("on,help", Some("help")),
        ("on,spawn=maybe,spawn=deny", Some("unread-value")),
        ("on,nospawn,spawn=deny", Some("unread-value")),
        ("off,spawn=maybe", Some("unread-value")),
        ("off,spawn", Some("unread-value")),
        // Agreement: the same settings (off with kept values is still off), or QEMU's words
        // inside ours.
        ("on,spawn=deny", None),
        ("off,spawn=deny", None),
        ("on,elevateprivileges=children", None),
        ("on,spawn=maybe", None),
        ("on,foo=1", None),
        ("on,nohelp", None),
        ("help", None),
    ];
    for (input, want) in cases {
        assert_eq!(difference(input).map(|d| d.id), *want, "{input:?}");
    }
    assert_eq!(DIFFERENCES.len(), 4);
}

#[test]
fn error_type_is_an_error_with_qemus_words() {
    let e = parse_like_qemu("on,foo=1").unwrap_err();
    assert_eq!(e.to_string(), "Invalid parameter 'foo'");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert_eq!(boxed.to_string(), "Invalid parameter 'foo'");
}
