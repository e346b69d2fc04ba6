//! serde: the string form, the map form, and errors with this crate's messages.

use sandbox_opts::{ElevatePrivileges, Permission, Sandbox};

fn from_json(s: &str) -> Result<Sandbox, String> {
    serde_json::from_str::<Sandbox>(s).map_err(|e| e.to_string())
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct AsMap {
    #[serde(with = "sandbox_opts::serde::as_map")]
    sandbox: Sandbox,
}

#[test]
fn all_48_round_trip_as_string_and_as_map() {
    for s in Sandbox::all() {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(from_json(&json).unwrap(), s);

        let wrapped = AsMap { sandbox: s };
        let json = serde_json::to_string(&wrapped).unwrap();
        assert!(json.contains("\"enable\":"), "{json}");
        assert_eq!(serde_json::from_str::<AsMap>(&json).unwrap(), wrapped);
        // The plain Deserialize accepts the map form too.
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            serde_json::from_value::<Sandbox>(v["sandbox"].clone()).unwrap(),
            s
        );
    }
}

#[test]
fn map_form() {
    let s = from_json(
        r#"{"enable":"yes","obsolete":"allow","elevateprivileges":"children","spawn":"deny","resourcecontrol":"deny"}"#,
    )
    .unwrap();
    assert_eq!(
        s,
        Sandbox::ON
            .with_obsolete(Permission::Allow)
            .with_elevate_privileges(ElevatePrivileges::Children)
            .with_spawn(Permission::Deny)
            .with_resource_control(Permission::Deny)
    );
    assert_eq!(from_json(r#"{"enable":false}"#).unwrap(), Sandbox::OFF);
    assert_eq!(
        from_json(r#"{"enable":"off","spawn":"deny"}"#).unwrap(),
        Sandbox::OFF.with_spawn(Permission::Deny)
    );
}

#[test]
fn errors_carry_the_parser_messages() {
    let cases = [
        (
            r#""on,spawn=maybe""#,
            r#"invalid argument for spawn: "maybe" (in "on,spawn=maybe"); expected allow or deny"#,
        ),
        (r#""""#, "empty sandbox option; expected "),
        (
            r#"{"enable":true,"spawn":"maybe"}"#,
            r#"invalid argument for spawn: "maybe" (in "spawn=maybe"); expected allow or deny"#,
        ),
        (
            r#"{"enable":"maybe"}"#,
            r#"Parameter 'enable' expects 'on' or 'off': "maybe" (in "enable=maybe")"#,
        ),
        (r#"{"enable":true,"foo":1}"#, "Invalid parameter 'foo'"),
        (r#"{"enable":true,"Spawn":"deny"}"#, "did you mean spawn?"),
        (r#"{"spawn":"deny"}"#, "missing field `enable`"),
        (
            r#"{"enable":true,"spawn":"deny","spawn":"allow"}"#,
            "duplicate field `spawn`",
        ),
        (
            r#"{"enable":1}"#,
            "invalid type: integer `1`, expected a boolean or one of on, yes",
        ),
        (
            r#"{"enable":true,"spawn":true}"#,
            "invalid type: boolean `true`, expected a string",
        ),
        (
            "42",
            "expected a sandbox option string such as \"on,spawn=deny\" or a map",
        ),
    ];
    for (json, want) in cases {
        let got = from_json(json).unwrap_err();
        assert!(got.starts_with(want) || got.contains(want), "{json}: {got}");
    }
}

/// `Parsed` (the string form with its warnings) says what it expects as `Sandbox` does.
#[test]
fn parsed_names_what_it_expects() {
    let err = serde_json::from_str::<sandbox_opts::Parsed>("5")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "invalid type: integer `5`, expected a sandbox option string such as \"on,spawn=deny\" or a map with the keys "
        ),
        "{err}"
    );
    let sandbox_err = serde_json::from_str::<Sandbox>("5")
        .unwrap_err()
        .to_string();
    assert_eq!(err, sandbox_err);
}
