//! The grammar, checked case by case against QEMU 9.x behaviour, plus the
//! error message snapshot.

use std::fmt::Write as _;

use sandbox_opts::key::{BOOL_FALSE, BOOL_TRUE};
use sandbox_opts::{
    ElevatePrivileges, Key, ParseError, Permission, Sandbox, Warning, parse_with_warnings,
};

fn ok(s: &str) -> (Sandbox, Vec<Warning>) {
    parse_with_warnings(s).unwrap_or_else(|e| panic!("{s:?} rejected: {e}"))
}

fn err(s: &str) -> ParseError {
    match parse_with_warnings(s) {
        Ok(v) => panic!("{s:?} accepted as {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn implied_enable_and_every_boolean_spelling() {
    for t in BOOL_TRUE {
        assert_eq!(ok(t), (Sandbox::ON, vec![]), "{t}");
        assert_eq!(ok(&format!("enable={t}")), (Sandbox::ON, vec![]), "{t}");
    }
    for f in BOOL_FALSE {
        assert_eq!(ok(f), (Sandbox::OFF, vec![]), "{f}");
        assert_eq!(ok(&format!("enable={f}")), (Sandbox::OFF, vec![]), "{f}");
    }
    for bad in ["ON", "On", "1", "0", "enabled", "yess", "", " on", "on "] {
        let e = err(&format!("enable={bad}"));
        assert_eq!(
            e,
            ParseError::EnableExpectsOnOff {
                value: bad.to_owned(),
                input: format!("enable={bad}")
            }
        );
    }
    assert!(matches!(err("ON"), ParseError::EnableExpectsOnOff { value, .. } if value == "ON"));
}

#[test]
fn every_sub_option_value() {
    for p in Permission::ALL {
        let (s, _) = ok(&format!("on,obsolete={p},spawn={p},resourcecontrol={p}"));
        assert_eq!((s.obsolete, s.spawn, s.resource_control), (p, p, p));
    }
    for e in ElevatePrivileges::ALL {
        assert_eq!(
            ok(&format!("on,elevateprivileges={e}"))
                .0
                .elevate_privileges,
            e
        );
    }
    for key in Key::SUB_OPTIONS {
        for bad in ["", "Deny", "ALLOW", "yes", "on", "deny ", "deny,,"] {
            let input = format!("on,{key}={bad}");
            let e = err(&input);
            let value = bad.replace(",,", ",");
            assert_eq!(
                e,
                ParseError::InvalidArgument {
                    option: key,
                    value,
                    input
                }
            );
        }
    }
    // `children` only exists for elevateprivileges.
    assert!(matches!(
        err("on,spawn=children"),
        ParseError::InvalidArgument {
            option: Key::Spawn,
            ..
        }
    ));
}

#[test]
fn keys_are_case_sensitive_and_unknown_keys_are_rejected() {
    for (input, name) in [
        ("on,Spawn=deny", "Spawn"),
        ("on,foo=1", "foo"),
        ("on,id=x", "id"),
        ("on,=deny", ""),
        ("ENABLE=on", "ENABLE"),
        // The short form `noKEY`: QEMU names KEY (`Invalid parameter 'foo'`).
        ("on,nofoo", "foo"),
        ("on,no", ""),
        ("on,noSpawn", "Spawn"),
        ("on,spawn=deny,,,x", "x"),
        ("on,help=1", "help"),
    ] {
        assert_eq!(
            err(input),
            ParseError::InvalidParameter {
                name: name.to_owned(),
                input: input.to_owned()
            },
            "{input}"
        );
    }
}

#[test]
fn last_value_wins_with_a_warning() {
    assert_eq!(
        ok("on,enable=off"),
        (
            Sandbox::OFF,
            vec![Warning::Repeated {
                option: Key::Enable,
                value: "off"
            }]
        )
    );
    assert_eq!(
        ok("off,enable=on").0,
        Sandbox::ON,
        "enable given twice: last wins"
    );
    let (s, w) = ok("on,spawn=deny,spawn=allow,spawn=deny,obsolete=allow,obsolete=deny");
    assert_eq!(s, Sandbox::ON.with_spawn(Permission::Deny));
    assert_eq!(
        w,
        [
            Warning::Repeated {
                option: Key::Obsolete,
                value: "deny"
            },
            Warning::Repeated {
                option: Key::Spawn,
                value: "deny"
            }
        ]
    );
    // Stricter than QEMU: an overridden bad value is still an error.
    assert!(matches!(
        err("on,spawn=maybe,spawn=deny"),
        ParseError::InvalidArgument { option: Key::Spawn, value, .. } if value == "maybe"
    ));
}

#[test]
fn sub_options_while_off_are_accepted_with_warnings() {
    let (s, w) = ok("off,spawn=deny,elevateprivileges=children");
    assert!(!s.enabled);
    assert!(s.denied_sets().is_empty());
    assert!(!s.no_new_privileges());
    assert_eq!(s.to_string(), "off,elevateprivileges=children,spawn=deny");
    let text: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "elevateprivileges=children has no effect while the sandbox is off",
            "spawn=deny has no effect while the sandbox is off",
        ]
    );
    // QEMU: the first item has '=' so it is not the implied enable; the
    // sandbox stays off.
    let (s, w) = ok("spawn=deny");
    assert_eq!(s, Sandbox::OFF.with_spawn(Permission::Deny));
    assert_eq!(
        w,
        [
            Warning::EnableMissing,
            Warning::NoEffectWhileOff {
                option: Key::Spawn,
                value: "deny"
            }
        ]
    );
    // A default value given while off still has no effect: warn too.
    assert_eq!(ok("off,spawn=allow").1.len(), 1);
    // Stricter than QEMU: bad values are rejected even while off.
    assert!(matches!(
        err("off,spawn=maybe"),
        ParseError::InvalidArgument { .. }
    ));
}

#[test]
fn qemu_tokenisation_edge_cases() {
    // A single trailing comma is ignored, as by QemuOpts.
    assert_eq!(ok("on,"), (Sandbox::ON, vec![]));
    assert_eq!(
        ok("on,spawn=deny,").0,
        Sandbox::ON.with_spawn(Permission::Deny)
    );
    // `,,` is a literal comma inside a value.
    assert!(matches!(err("on,,"), ParseError::EnableExpectsOnOff { value, .. } if value == "on,"));
    assert!(
        matches!(err("on,,spawn=deny"), ParseError::EnableExpectsOnOff { value, .. } if value == "on,spawn=deny")
    );
    // A leading comma gives an empty implied value.
    assert!(matches!(err(",on"), ParseError::EnableExpectsOnOff { value, .. } if value.is_empty()));
    // '=' inside a value belongs to the value.
    assert!(
        matches!(err("on,spawn=deny=1"), ParseError::InvalidArgument { value, .. } if value == "deny=1")
    );
    // The empty string: QEMU means off; we reject it.
    assert_eq!(err(""), ParseError::Empty);
    // Only the first item can omit its key.
    assert!(matches!(
        err("on,off"),
        ParseError::InvalidParameter { name, .. } if name == "off"
    ));
}

#[test]
fn short_form_booleans() {
    assert_eq!(
        ok("off,enable"),
        (
            Sandbox::ON,
            vec![
                Warning::ShortFormBoolean {
                    item: "enable".into(),
                    replacement: "enable=on"
                },
                Warning::Repeated {
                    option: Key::Enable,
                    value: "on"
                }
            ]
        )
    );
    assert!(!ok("spawn=deny,noenable").0.enabled);
    assert!(matches!(
        err("on,spawn"),
        ParseError::MissingValue { option: Key::Spawn, item, .. } if item == "spawn"
    ));
    assert!(matches!(
        err("on,noresourcecontrol"),
        ParseError::MissingValue { option: Key::ResourceControl, item, .. } if item == "noresourcecontrol"
    ));
    assert!(matches!(err("on,help"), ParseError::HelpRequested { .. }));
    assert!(matches!(err("on,?"), ParseError::HelpRequested { .. }));
    // As the implied first item, "help" is just a bad boolean.
    assert!(matches!(err("help"), ParseError::EnableExpectsOnOff { .. }));
}

#[test]
fn errors_are_reported_in_qemu_order() {
    // QemuOpts rejects unknown keys before parse_sandbox looks at values.
    assert!(matches!(
        err("on,spawn=maybe,foo=1"),
        ParseError::InvalidParameter { .. }
    ));
    // parse_sandbox checks obsolete, elevateprivileges, spawn, resourcecontrol.
    assert!(matches!(
        err("on,resourcecontrol=x,spawn=y,obsolete=z"),
        ParseError::InvalidArgument {
            option: Key::Obsolete,
            ..
        }
    ));
}

#[test]
fn io_error_conversion() {
    let e: std::io::Error = err("on,foo").into();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().starts_with("Invalid parameter 'foo'"));
    let inner = e.get_ref().unwrap().downcast_ref::<ParseError>().unwrap();
    assert_eq!(inner.input(), "on,foo");
}

#[test]
fn error_message_snapshot() {
    let inputs = [
        "",
        "on,spawn=maybe",
        "on,spawn=DENY",
        "on,obsolete=",
        "on,elevateprivileges=child",
        "on,resourcecontrol=de,,ny",
        "on,spawn",
        "on,nospawn",
        "on,elevateprivileges",
        "on,foo=1",
        "on,Spawn=deny",
        "on,id=sandbox0",
        "on,=deny",
        "maybe",
        "On",
        "enable=1",
        "on,,",
        "on,help",
        "on,spawn=\"deny\"\n",
    ];
    let mut out = String::new();
    for input in inputs {
        let e = err(input);
        writeln!(out, "{input:?}\n    {e}").unwrap();
    }
    insta::assert_snapshot!("error_messages", out);
}

#[test]
fn warning_message_snapshot() {
    let inputs = [
        "off,spawn=deny",
        "spawn=deny,resourcecontrol=deny",
        "on,enable=off,obsolete=allow",
        "on,spawn=deny,spawn=allow",
        "off,noenable,enable",
    ];
    let mut out = String::new();
    for input in inputs {
        let (s, w) = ok(input);
        writeln!(out, "{input:?} -> {s}").unwrap();
        for w in w {
            writeln!(out, "    warning: {w}").unwrap();
        }
    }
    insta::assert_snapshot!("warning_messages", out);
}
