//! The READMEs as a newcomer uses them: each Rust block that shows an example file is that
//! file, and each shell block that starts a program under `systemd-socket-activate` is run line
//! by line with the real activator (free ports and a temporary directory in place of the fixed
//! ones, the claimed example in place of `target/debug/examples/NAME`), each client line's
//! output compared with what its `# prints` comment says. A block whose `cargo build` line
//! needs features this test was not built with is left to the build that has them.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;
use test_support::wait;

const STREAM_PFD_README: &str = include_str!("../../README.md");
const ROOT_README: &str = include_str!("../../../README.md");

/// The fenced code blocks of `markdown` whose info string starts with `lang`, in order.
fn blocks(markdown: &str, lang: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.starts_with("```") && line[3..].starts_with(lang) => {
                current = Some(String::new())
            }
            None => {}
            Some(_) if line == "```" => found.push(current.take().unwrap()),
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    found
}

/// An example's code as a README shows it: without the leading `//!` docs and `#![...]`
/// attributes (and the blank lines after them).
fn example_body(source: &str) -> String {
    let body: Vec<&str> = source
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.starts_with("#![") || l.is_empty())
        .collect();
    body.join("\n") + "\n"
}

fn assert_shows_example(readme: &str, example: &str, source: &str) {
    let body = example_body(source);
    assert!(
        blocks(readme, "rust").contains(&body),
        "the README shows no Rust block equal to examples/{example}.rs (without its //! docs); \
         keep the two the same:\n{body}"
    );
}

#[test]
fn the_readmes_show_the_examples_as_they_are() {
    assert_shows_example(
        STREAM_PFD_README,
        "greet",
        include_str!("../../examples/greet.rs"),
    );
    assert_shows_example(
        ROOT_README,
        "greet",
        include_str!("../../examples/greet.rs"),
    );
}

/// The axum example is the "at most 30 lines of glue" service: count them as its docs say
/// (between the markers, comments and blank lines not counted).
#[test]
fn axum_example_glue_is_at_most_30_lines() {
    let source = include_str!("../../examples/axum.rs");
    let start = source.find("// --- glue: start ---").expect("start marker");
    let end = source.find("// --- glue: end ---").expect("end marker");
    let lines = source[start..end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count();
    assert!(lines <= 30, "{lines} lines of glue");
    assert!(
        source.contains(&format!("{lines} lines as rustfmt writes them"))
            && STREAM_PFD_README.contains(&format!("in {lines} lines of glue")),
        "the docs say another count than {lines}"
    );
}

/// Whether this test binary was built with every feature the `cargo build` line names.
fn built_with(cargo_line: &str) -> bool {
    let features = cargo_line
        .split_once("--features ")
        .map_or("", |(_, rest)| rest.split(' ').next().unwrap_or(""));
    features
        .split(',')
        .filter(|f| !f.is_empty())
        .all(|f| match f {
            "tokio" => cfg!(feature = "tokio"),
            "notify" => cfg!(feature = "notify"),
            "axum" => cfg!(feature = "axum"),
            "hyper" => cfg!(feature = "hyper"),
            "tonic" => cfg!(feature = "tonic"),
            "log" => cfg!(feature = "log"),
            other => panic!("a README builds with an unknown feature {other}"),
        })
}

/// Replaces each whole-word occurrence of `from` (a port number) in `line` by `to`.
fn replace_number(line: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(from) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + from.len()..].chars().next();
        let whole = !before.is_some_and(|c| c.is_ascii_digit())
            && !after.is_some_and(|c| c.is_ascii_digit());
        out.push_str(&rest[..i]);
        out.push_str(if whole { to } else { from });
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether something listens on 127.0.0.1:`port` (from `/proc/net/tcp`, without connecting:
/// a connection would wake the activator).
fn tcp_listening(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).any(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
    })
}

/// A running `sh -c 'exec systemd-socket-activate ...'`, killed on drop.
struct Activated(Child);

impl Drop for Activated {
    fn drop(&mut self) {
        // Only the process we started, by its handle.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `line` with `sh -c` and returns its standard output, within the usual timeout.
fn client(line: &str) -> String {
    let mut child = Command::new("sh")
        .args(["-c", line])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run sh");
    let deadline = Instant::now() + wait::TIMEOUT;
    while child.try_wait().expect("wait for the client").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the client did not finish: {line}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("the client's output");
    assert!(out.status.success(), "{line}: {}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs one shell block (see the module docs). Returns how many client lines it checked.
fn run_block(test: &str, block: &str) -> usize {
    let dir = TempDir::new("stream-pfd-readme");
    let mut ports: Vec<(String, u16)> = Vec::new();
    let mut examples: Vec<(String, PathBuf)> = Vec::new();
    let mut activated: Option<Activated> = None;
    let mut checked = 0;
    for line in block.lines() {
        if let Some(rest) = line.strip_prefix("cargo build") {
            if !built_with(rest) {
                eprintln!("{test}: left to a build with its features: {line}");
                return checked;
            }
            let name = rest
                .split_once("--example ")
                .and_then(|(_, r)| r.split(' ').next())
                .expect("a cargo build line names its example");
            let Some(path) = common::example_binary(test, name) else {
                return checked;
            };
            examples.push((format!("target/debug/examples/{name}"), path));
            continue;
        }
        // Substitute: ports, /tmp paths, example paths.
        let mut line = line.to_owned();
        for word in line
            .clone()
            .split(|c: char| !c.is_ascii_digit() && c != '.' && c != ':')
        {
            if let Some(port) = word.strip_prefix("127.0.0.1:") {
                if !ports.iter().any(|(p, _)| p == port) {
                    let free = std::net::TcpListener::bind("127.0.0.1:0")
                        .unwrap()
                        .local_addr()
                        .unwrap()
                        .port();
                    ports.push((port.to_owned(), free));
                }
            }
        }
        for (from, to) in &ports {
            line = replace_number(&line, from, &to.to_string());
        }
        line = line.replace("/tmp/", &format!("{}/", dir.path().display()));
        for (from, to) in &examples {
            line = line.replace(from, &to.display().to_string());
        }
        if line.starts_with("systemd-socket-activate") {
            let Some(_) = test_support::require_program(test, "systemd-socket-activate", "systemd")
            else {
                return checked;
            };
            drop(activated.take());
            let child = Command::new("sh")
                .args(["-c", &format!("exec {line}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("run systemd-socket-activate");
            activated = Some(Activated(child));
            // Wait until it listens (without connecting, which would start the program).
            let listen = line
                .split_whitespace()
                .nth(2)
                .expect("-l ADDRESS")
                .to_owned();
            wait::until_true(
                &format!("systemd-socket-activate to listen on {listen}"),
                || match listen.rsplit_once(':') {
                    Some((_, port)) if !listen.starts_with('/') => {
                        tcp_listening(port.parse().unwrap())
                    }
                    _ => wait::unix_listening(Path::new(&listen)) == Some(true),
                },
            );
            continue;
        }
        let (command, expected) = line
            .split_once("  # prints ")
            .unwrap_or_else(|| panic!("a client line says what it prints: {line}"));
        for program in command
            .split('|')
            .filter_map(|c| c.split_whitespace().next())
        {
            let package = match program {
                "curl" => "curl",
                "python3" => "python3",
                _ => "coreutils",
            };
            let Some(_) = test_support::require_program(test, program, package) else {
                return checked;
            };
        }
        let got = client(command);
        let normalized: Vec<&str> = got.split_whitespace().collect();
        assert_eq!(
            normalized.join(" "),
            expected.trim(),
            "{command}\nprinted {got:?}"
        );
        checked += 1;
    }
    checked
}

fn run_readme(test: &str, readme: &str) -> usize {
    blocks(readme, "sh")
        .iter()
        .filter(|b| b.contains("systemd-socket-activate"))
        .map(|b| run_block(test, b))
        .sum()
}

#[test]
fn the_stream_pfd_readme_runs_as_pasted() {
    let checked = run_readme("the_stream_pfd_readme_runs_as_pasted", STREAM_PFD_README);
    // greet over TCP and a named unix socket, always; the framework blocks with their features.
    assert!(
        checked >= 2 || !test_support::strict(),
        "{checked} client lines checked"
    );
}

#[test]
fn the_root_readme_runs_as_pasted() {
    let checked = run_readme("the_root_readme_runs_as_pasted", ROOT_README);
    assert!(
        checked >= 2 || !test_support::strict(),
        "{checked} client lines checked"
    );
}
