//! seccomp-sets' own tests in the guest: its enforcement test (scenario enforce-native), the
//! export for the guest's ABI against what the guest's build loads (export-equals-native),
//! the OCI export under the guest's runc (oci-runc), and its QEMU conformance, against the
//! release's own QEMU: the host
//! builds the conformance test binary (`seccomp-sets/tests/conformance`, the one `cargo xtask
//! test` runs on the host) into the payload, and this scenario runs its QEMU tests here with
//! `HARDEN_TEST_STRICT=1`: the `-sandbox` grammar on the whole corpus (with `parse_like_qemu`
//! word for word) and the filter this `qemu-system-x86_64` installs for each of the 24 `on`
//! configurations, read with `PTRACE_SECCOMP_GET_FILTER`. Every difference must be declared for
//! this release and every declaration for it must show (nothing undeclared, nothing stale).
//!
//! The test's summary lines become the scenario's notes, which the host's VM table shows per
//! suite: the QEMU version, and agree / declared / undeclared / stale for the grammar and the
//! filters ([`summary_note`]).

use super::ctx::{Ctx, ensure, tail};
use super::{Need, Scenario};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where the guest runner installs the conformance test binary from the payload.
pub const CONFORMANCE_BIN: &str = "/usr/local/bin/seccomp-conformance";

/// Debian's QEMU in the guest for the guest's own ABI (package qemu-system-x86): the filter
/// QEMU installs is that ABI's, and so is the one the conformance test builds to compare.
#[cfg(not(target_arch = "aarch64"))]
const QEMU: &str = "/usr/bin/qemu-system-x86_64";
/// Debian's QEMU in the guest for the guest's own ABI (package qemu-system-arm).
#[cfg(target_arch = "aarch64")]
const QEMU: &str = "/usr/bin/qemu-system-aarch64";

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "qemu-conformance",
        about: "seccomp-sets' conformance test against this release's own QEMU for the guest's ABI: the \
            -sandbox grammar and the installed filter of every on configuration agree or \
            differ as declared for this release, with nothing undeclared and nothing stale",
        units: &[],
        timeout: Duration::from_secs(240),
        needs: &[
            Need::Program(
                QEMU,
                "the release's QEMU (Debian package qemu-system-x86, qemu-system-arm on arm64)",
            ),
            Need::Program(
                CONFORMANCE_BIN,
                "seccomp-sets' conformance test binary (cargo xtask builds it into the payload)",
            ),
        ],
        check,
    },
    Scenario {
        name: "export-equals-native",
        about: "the filter the host's seccomp-sets CLI exports for this guest's ABI (every on \
            configuration) is byte for byte the program this guest's own build makes and the \
            program its kernel holds once loaded (the arm64 guest: the x86-64 host's \
            export --arch aarch64 against the native arm64 build)",
        units: &[],
        timeout: Duration::from_secs(120),
        needs: &[Need::Program(
            CONFORMANCE_BIN,
            "seccomp-sets' conformance test binary (cargo xtask builds it into the payload)",
        )],
        check: check_native_export,
    },
    Scenario {
        name: "enforce-native",
        about: "seccomp-sets' enforcement test (every case a probe in a process of its own \
                under a real filter: the sets, the escape paths, the kill actions, the ABI \
                doors) passes on this guest's kernel and ABI, nothing skipped that strict mode \
                forbids",
        units: &[],
        timeout: Duration::from_secs(240),
        needs: &[Need::Program(
            ENFORCE_BIN,
            "seccomp-sets' enforcement test binary (cargo xtask builds it into the payload)",
        )],
        check: check_enforce,
    },
    Scenario {
        name: "oci-runc",
        about: "the OCI export (linux.seccomp) of every on configuration under this guest's \
                runc: a static busybox in a container per probe, each call into a set gets \
                the profile's verdict (allowed, EPERM, or SIGSYS), as on the host",
        units: &[],
        timeout: Duration::from_secs(480),
        needs: &[
            Need::Program(RUNC, "runc (Debian package runc, which docker.io brings)"),
            Need::Program(
                CONFORMANCE_BIN,
                "seccomp-sets' conformance test binary (cargo xtask builds it into the payload)",
            ),
        ],
        check: check_runc,
    },
];

/// Runs one of seccomp-sets' test binaries from the payload under `HARDEN_TEST_STRICT=1`
/// (a missing resource fails, never skips): whether it passed, and its stdout and stderr.
fn run_strict(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(bool, String), String> {
    let out = Command::new(bin)
        .args(args)
        .env("HARDEN_TEST_STRICT", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start {bin}: {e}"))?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// The first line of `text` that holds `marker`, from the marker on (libtest may print its
/// `test NAME ... ` on the same line, before the test's own output).
fn line_from<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.find(marker).map(|at| &l[at..]))
}

/// Where the guest runner installs seccomp-sets' enforcement test binary from the payload.
pub const ENFORCE_BIN: &str = "/usr/local/bin/seccomp-enforce";

fn check_enforce(cx: &mut Ctx) -> Result<(), String> {
    let (passed, text) = run_strict(ENFORCE_BIN, &[], &[("HARDEN_QEMU", QEMU)])?;
    let result = text.lines().find(|l| l.starts_with("test result: "));
    if let Some(line) = result {
        cx.note(format!(
            "enforce ({}): {}",
            std::env::consts::ARCH,
            line.trim_start_matches("test result: ")
        ));
    }
    ensure(
        passed && result.is_some_and(|l| l.starts_with("test result: ok.")),
        || {
            let failed: Vec<&str> = text
                .lines()
                .filter(|l| l.ends_with("... FAILED") || l.starts_with("    "))
                .collect();
            format!(
                "seccomp-sets' enforcement test failed on this kernel and ABI:\n{}\n{}",
                failed.join("\n"),
                tail(&text, 10)
            )
        },
    )
}

/// Debian's runc in the guest (package runc, which Docker brings).
const RUNC: &str = "/usr/sbin/runc";

fn check_runc(cx: &mut Ctx) -> Result<(), String> {
    // The exec-tolerance case also runs the host's CLI (a path of the host's build, not in the
    // guest); the host step runs it, and its runc half is every configuration's here.
    let args = [
        "runc::",
        "--nocapture",
        "--test-threads=1",
        "--skip",
        "runc::spawn_deny_needs_the_exec_tolerant_profile",
    ];
    let (passed, text) = run_strict(CONFORMANCE_BIN, &args, &[])?;
    let summary = line_from(&text, "runc consumer: ");
    if let Some(line) = summary {
        cx.note(format!("{} ({})", line, std::env::consts::ARCH));
    }
    ensure(passed && summary.is_some(), || {
        format!(
            "the OCI export under this guest's runc did not behave as the export says:\n{}",
            tail(&text, 40)
        )
    })
}

/// Where the payload carries the host's exports for the guest's ABI (`index` and the files),
/// written by the host's `seccomp-sets export --arch ABI --format bpf`.
pub const HOST_EXPORTS: &str = "/run/payload/exports";

fn check_native_export(cx: &mut Ctx) -> Result<(), String> {
    ensure(
        std::path::Path::new(HOST_EXPORTS).join("index").is_file(),
        || format!("the payload carries no host exports ({HOST_EXPORTS}/index)"),
    )?;
    let args = [
        "--exact",
        "native_export::the_exported_program_is_what_this_build_loads",
        "--nocapture",
        "--test-threads=1",
    ];
    let env = [("HARDEN_HOST_EXPORTS", HOST_EXPORTS)];
    let (passed, text) = run_strict(CONFORMANCE_BIN, &args, &env)?;
    let summary = line_from(&text, "native export (");
    if let Some(line) = summary {
        cx.note(line.to_string());
    }
    ensure(passed && summary.is_some(), || {
        format!(
            "the host's export and this build's loaded program were not shown equal:\n{}",
            tail(&text, 40)
        )
    })
}

/// The counts of one summary line of the conformance test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Strings or verdicts where ours and QEMU's agree.
    pub agree: usize,
    /// Differences a declaration for this release explains.
    pub declared: usize,
    /// Differences nothing declares for this release.
    pub undeclared: usize,
    /// Declarations for this release that never showed.
    pub stale: usize,
}

/// One summary line of the conformance test:
/// `QEMU conformance (KIND, QEMU VERSION): ... N agree, N declared (...), N undeclared, N stale...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `grammar` or `filters`.
    pub kind: String,
    /// QEMU's version as `--version` prints it (`11.1.3`).
    pub version: String,
    /// The counts.
    pub counts: Counts,
    /// What follows the `): ` of the line.
    pub text: String,
}

/// The number right before `word` (` N word`) in `text`, where `word` is a whole word.
fn count_before(text: &str, word: &str) -> Option<usize> {
    text.match_indices(word).find_map(|(at, _)| {
        let after = text[at + word.len()..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let before = text[..at].strip_suffix(' ')?;
        let digits = before
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .filter(|d| !d.is_empty())?;
        digits.parse().ok()
    })
}

/// Parses one summary line; `None` for any other line.
pub fn parse_summary(line: &str) -> Option<Summary> {
    let rest = line.trim().strip_prefix("QEMU conformance (")?;
    let (kind, rest) = rest.split_once(", QEMU ")?;
    let (version, text) = rest.split_once("): ")?;
    let counts = Counts {
        agree: count_before(text, "agree")?,
        declared: count_before(text, "declared")?,
        undeclared: count_before(text, "undeclared")?,
        stale: count_before(text, "stale")?,
    };
    Some(Summary {
        kind: kind.to_owned(),
        version: version.to_owned(),
        counts,
        text: text.to_owned(),
    })
}

/// The note the host's table reads: `KIND, QEMU VERSION: A agree, D declared, U undeclared,
/// S stale; the test's line`.
pub fn summary_note(s: &Summary) -> String {
    let c = s.counts;
    format!(
        "{}, QEMU {}: {} agree, {} declared, {} undeclared, {} stale ({})",
        s.kind, s.version, c.agree, c.declared, c.undeclared, c.stale, s.text
    )
}

fn check(cx: &mut Ctx) -> Result<(), String> {
    let version = Command::new(QEMU)
        .arg("--version")
        .output()
        .map_err(|e| format!("{QEMU} --version: {e}"))?;
    let version = String::from_utf8_lossy(&version.stdout);
    let first = version.lines().next().unwrap_or("").trim();
    // "QEMU emulator version 11.1.3 (Debian 1:11.1.3+ds-1)"
    cx.note(format!(
        "{} {}",
        QEMU.rsplit('/').next().unwrap_or(QEMU),
        first
            .strip_prefix("QEMU emulator version ")
            .unwrap_or(first)
    ));
    let (passed, text) = run_strict(
        CONFORMANCE_BIN,
        &["qemu_conformance::", "--nocapture", "--test-threads=1"],
        &[("HARDEN_QEMU", QEMU)],
    )?;
    let summaries: Vec<Summary> = text.lines().filter_map(parse_summary).collect();
    for s in &summaries {
        cx.note(summary_note(s));
    }
    // What QEMU's own bug on this ABI set aside (the test's ABI_QUIRKS), said as the test says it.
    for line in text.lines().filter(|l| l.starts_with("QEMU ABI quirk (")) {
        cx.note(line.to_string());
    }
    ensure(passed, || {
        format!(
            "the conformance test failed against QEMU {}:\n{}",
            first,
            tail(&text, 40)
        )
    })?;
    for kind in ["grammar", "filters"] {
        ensure(summaries.iter().any(|s| s.kind == kind), || {
            format!(
                "the conformance test passed without its {kind} summary (did it skip?):\n{}",
                tail(&text, 20)
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_parse_with_their_counts() {
        let g = parse_summary(
            "QEMU conformance (grammar, QEMU 11.1.3): 795 strings: 788 agree, 7 declared \
             (empty: 1, help: 2, id: 3, unread-value: 1), 0 undeclared, 0 stale; \
             parse_like_qemu matched QEMU word for word on 795 of them",
        )
        .unwrap();
        assert_eq!((g.kind.as_str(), g.version.as_str()), ("grammar", "11.1.3"));
        assert_eq!(
            g.counts,
            Counts {
                agree: 788,
                declared: 7,
                undeclared: 0,
                stale: 0
            }
        );
        let f = parse_summary(
            "QEMU conformance (filters, QEMU 7.2.19): 24 configurations x 700 calls = 16800 \
             verdicts: 16000 agree, 790 declared (30 kinds), 10 undeclared, 2 stale; \
             no_new_privs on in both",
        )
        .unwrap();
        assert_eq!(
            (
                f.counts.agree,
                f.counts.declared,
                f.counts.undeclared,
                f.counts.stale
            ),
            (16000, 790, 10, 2)
        );
        let note = summary_note(&f);
        assert!(
            note.starts_with(
                "filters, QEMU 7.2.19: 16000 agree, 790 declared, 10 undeclared, 2 stale ("
            ),
            "{note}"
        );
        for other in [
            "  declared: clone: QEMU KILL_PROCESS, ours ERRNO(EPERM) (in 12 configurations)",
            "QEMU conformance (grammar, QEMU 7.2): 3 agree",
            "test qemu_conformance::grammar_matches_real_qemu ... ok",
        ] {
            assert_eq!(parse_summary(other), None, "{other}");
        }
    }
}
