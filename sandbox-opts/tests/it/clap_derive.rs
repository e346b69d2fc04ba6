//! The clap value parser with clap's derive API: `Sandbox`, `Option<Sandbox>`,
//! `Parsed`, with and without an explicit `value_parser`.

use clap::Parser;
use clap::error::ErrorKind;
use sandbox_opts::help::{HELP, SHORT_HELP};
use sandbox_opts::{Parsed, Permission, Sandbox};

#[derive(Debug, Parser)]
#[command(name = "daemon")]
struct Explicit {
    #[arg(long, value_name = "OPTS", value_parser = sandbox_opts::clap::value_parser(),
          help = SHORT_HELP, long_help = HELP)]
    sandbox: Option<Sandbox>,
}

#[derive(Debug, Parser)]
#[command(name = "daemon")]
struct Required {
    /// Uses `ValueParserFactory for Sandbox` (no value_parser attribute).
    #[arg(long)]
    sandbox: Sandbox,
}

#[derive(Debug, Parser)]
#[command(name = "daemon")]
struct WithWarnings {
    #[arg(long)]
    sandbox: Option<Parsed>,
}

#[test]
fn option_sandbox() {
    let cli = Explicit::try_parse_from(["daemon"]).unwrap();
    assert_eq!(cli.sandbox, None);
    let cli = Explicit::try_parse_from(["daemon", "--sandbox", "on,spawn=deny"]).unwrap();
    assert_eq!(cli.sandbox, Some(Sandbox::ON.with_spawn(Permission::Deny)));
    let cli = Explicit::try_parse_from(["daemon", "--sandbox=enable=y,,"]);
    // "y," is not a boolean: `,,` is an escaped comma.
    let err = cli.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn required_sandbox_uses_the_factory() {
    let cli = Required::try_parse_from(["daemon", "--sandbox", "on"]).unwrap();
    assert_eq!(cli.sandbox, Sandbox::ON);
    let err = Required::try_parse_from(["daemon"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
    let err = Required::try_parse_from(["daemon", "--sandbox", "on,foo=1"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
    assert!(err.to_string().contains("Invalid parameter 'foo'"), "{err}");
}

#[test]
fn parsed_keeps_warnings() {
    let cli = WithWarnings::try_parse_from(["daemon", "--sandbox", "spawn=deny"]).unwrap();
    let parsed = cli.sandbox.unwrap();
    assert!(!parsed.sandbox.enabled);
    assert_eq!(parsed.warnings.len(), 2);
}

#[test]
fn error_rendering_snapshot() {
    let err = Explicit::try_parse_from(["daemon", "--sandbox", "on,spawn=maybe"]).unwrap_err();
    insta::assert_snapshot!("clap_error", err.to_string());
}

#[cfg(unix)]
#[test]
fn non_utf8_is_rejected_by_clap() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let bad = OsString::from_vec(b"on,spawn=\xff".to_vec());
    let err =
        Explicit::try_parse_from([OsString::from("daemon"), "--sandbox".into(), bad]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
}

#[test]
fn builder_arg_helper() {
    let cmd = clap::Command::new("daemon").arg(sandbox_opts::clap::arg());
    let m = cmd
        .clone()
        .try_get_matches_from(["daemon", "--sandbox", "on,resourcecontrol=deny"])
        .unwrap();
    assert_eq!(
        m.get_one::<Sandbox>("sandbox"),
        Some(&Sandbox::ON.with_resource_control(Permission::Deny))
    );
    let help = cmd.clone().render_long_help().to_string();
    assert!(
        help.contains("elevateprivileges=allow|deny|children"),
        "{help}"
    );
    let short = cmd.clone().render_help().to_string();
    assert!(short.contains(SHORT_HELP), "{short}");
}

/// The variable that makes [`plain_field_child`] parse its arguments.
const CHILD_ARGS: &str = "SANDBOX_OPTS_CLAP_CHILD_ARGS";

/// In a child process started by [`run_plain_field`], parses the arguments in `CHILD_ARGS`
/// with a plain `Sandbox` field and prints the value; in the test run itself, does nothing.
#[test]
fn plain_field_child() {
    let Ok(args) = std::env::var(CHILD_ARGS) else {
        return;
    };
    let cli = Required::parse_from(std::iter::once("daemon").chain(args.split(' ')));
    println!("CHILD sandbox={}", cli.sandbox);
}

/// This test binary re-run for [`plain_field_child`] with `args`: (stdout, stderr).
fn run_plain_field(args: &str) -> (String, String) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "clap_derive::plain_field_child", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_ARGS, args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A plain `Sandbox` field cannot drop a warning: the value parser prints it, naming the
/// program, the option and the value.
#[test]
fn a_plain_sandbox_field_prints_its_warnings() {
    let (stdout, stderr) = run_plain_field("--sandbox off,spawn=deny");
    assert!(stdout.contains("CHILD sandbox=off"), "{stdout}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        [
            "daemon: warning: --sandbox off,spawn=deny: spawn=deny has no effect while the sandbox \
          is off"
        ],
        "{stderr}"
    );
    // Two warnings, two lines.
    let (_, stderr) = run_plain_field("--sandbox on,spawn=deny,spawn=allow,obsolete=deny");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        [
            "daemon: warning: --sandbox on,spawn=deny,spawn=allow,obsolete=deny: spawn is given \
          more than once; the last value, spawn=allow, wins"
        ],
        "{stderr}"
    );
    // Nothing to warn about: nothing printed.
    let (stdout, stderr) = run_plain_field("--sandbox on,spawn=deny");
    assert!(stdout.contains("CHILD sandbox=on,spawn=deny"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// The recommended `Parsed` field carries the same warning and prints nothing itself.
#[test]
fn a_parsed_field_carries_the_warning_of_off_spawn_deny() {
    let cli = WithWarnings::try_parse_from(["daemon", "--sandbox", "off,spawn=deny"]).unwrap();
    let parsed = cli.sandbox.unwrap();
    assert!(!parsed.sandbox.enabled);
    assert_eq!(
        parsed
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["spawn=deny has no effect while the sandbox is off"]
    );
}
