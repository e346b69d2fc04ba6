//! The `sandbox-cli` example (clap derive), run as a real process.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `target/<profile>/examples/sandbox-cli`, next to this test's `deps/` dir.
/// `cargo test --features clap` builds examples before running tests.
fn example() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir
        .join("examples")
        .join(format!("sandbox-cli{}", std::env::consts::EXE_SUFFIX));
    // Claimed out of the shared target directory, which another cargo run may re-link.
    path.is_file().then(|| test_support::bin::claim(&path))
}

fn run(test: &str, args: &[&str]) -> Option<Output> {
    let Some(bin) = example() else {
        test_support::skip(
            test,
            "examples/sandbox-cli not built (run `cargo test -p sandbox-opts --features clap`)",
        );
        return None;
    };
    Some(
        Command::new(bin)
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run sandbox-cli"),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_shows_the_grammar() {
    let Some(out) = run("help_shows_the_grammar", &["--help"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(sandbox_opts::help::GRAMMAR.split(',').next().unwrap()));
    insta::assert_snapshot!("cli_help", stdout);
    let Some(out) = run("help_shows_the_grammar", &["-h"]) else {
        return;
    };
    insta::assert_snapshot!("cli_short_help", text(&out.stdout));
}

#[test]
fn valid_value_prints_sets() {
    let Some(out) = run(
        "valid_value_prints_sets",
        &[
            "--sandbox",
            "enable=yes,elevateprivileges=children,spawn=deny",
        ],
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "sandbox: on,elevateprivileges=children,spawn=deny\n\
         explicit: enable=on,obsolete=deny,elevateprivileges=children,spawn=deny,resourcecontrol=allow\n\
         denied sets: default,obsolete,privileged,spawn\n\
         no-new-privileges: true\n"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn absent_option_is_qemus_default() {
    let Some(out) = run("absent_option_is_qemus_default", &[]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("sandbox: off\n"));
    assert!(text(&out.stdout).contains("denied sets: none\n"));
}

#[test]
fn warnings_go_to_stderr() {
    let Some(out) = run("warnings_go_to_stderr", &["--sandbox", "off,spawn=deny"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        "warning: spawn=deny has no effect while the sandbox is off\n"
    );
    assert!(text(&out.stdout).starts_with("sandbox: off,spawn=deny\n"));
}

#[test]
fn bad_value_exits_2_with_the_message() {
    let Some(out) = run(
        "bad_value_exits_2_with_the_message",
        &["--sandbox", "on,spawn=maybe"],
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            r#"invalid argument for spawn: "maybe" (in "on,spawn=maybe"); expected allow or deny"#
        ),
        "{stderr}"
    );
    insta::assert_snapshot!("cli_bad_value", stderr);

    let Some(out) = run(
        "bad_value_exits_2_with_the_message",
        &["--sandbox", "on,Spawn=deny"],
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Invalid parameter 'Spawn'"));
}
