//! The scenario x suite table of a multi-suite VM run, and the outcomes it gives the summary.
//!
//! A cell is a pass, a failure, or "not applicable" (the guest's systemd lacks what the
//! scenario needs, or the peer is not in that suite's image). A scenario that one guest never
//! reported (it hung, or failed to boot) is a failure of that suite, never a blank.

use super::image::Suite;
use super::results::Event;
use super::runner::Report;
use crate::util::Outcome;

/// One scenario's result in one suite.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Pass(f64),
    Fail(f64, String),
    NotApplicable(String),
}

/// What one suite's boot gave.
#[derive(Debug)]
pub(crate) struct Run {
    suite: Suite,
    /// (systemd number, systemd full version, kernel release), from the guest.
    system: Option<(u32, String, String)>,
    accel: Option<&'static str>,
    boot_to_ready: Option<f64>,
    total: f64,
    cells: Vec<(String, Cell)>,
    /// The scenarios the guest said it would run or report (`PLAN`).
    plan: Vec<String>,
    /// Why this run is incomplete or inconsistent, if it is.
    problems: Vec<String>,
    /// The scenarios' notes, in order: (scenario, line).
    notes: Vec<(String, String)>,
    /// When the suite's image was built (`YYYYmmdd-HHMMSS`), shown for the moving suite.
    pub(crate) built: Option<String>,
    logs: String,
}

impl Run {
    pub(crate) fn from_report(report: Report) -> Run {
        let logs = report.dir.display().to_string();
        let mut run = Run {
            suite: report.suite,
            system: None,
            accel: Some(report.accel.name()),
            boot_to_ready: report.boot_to_ready,
            total: report.total,
            cells: Vec::new(),
            plan: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            built: None,
            logs: logs.clone(),
        };
        let mut runner_log = Vec::new();
        for e in &report.events {
            match e {
                Event::System {
                    systemd,
                    systemd_full,
                    kernel,
                } => run.system = Some((*systemd, systemd_full.clone(), kernel.clone())),
                Event::Result {
                    name,
                    passed,
                    seconds,
                    message,
                } => {
                    let cell = if *passed {
                        Cell::Pass(*seconds)
                    } else {
                        Cell::Fail(
                            *seconds,
                            format!("{message} (logs: {logs}/{name}.log, {logs}/journal.txt)"),
                        )
                    };
                    run.cells.push((name.clone(), cell));
                }
                Event::NotApplicable { name, reason } => {
                    run.cells
                        .push((name.clone(), Cell::NotApplicable(reason.clone())));
                }
                Event::Log { name, text } if name == "runner" => runner_log.push(text.clone()),
                Event::Note { name, text } => run.notes.push((name.clone(), text.clone())),
                Event::Plan(names) => run.plan = names.clone(),
                Event::Unknown(l) => run
                    .problems
                    .push(format!("unexpected line from the guest: {l:?}")),
                _ => {}
            }
        }
        let results = run
            .cells
            .iter()
            .filter(|(_, c)| !matches!(c, Cell::NotApplicable(_)))
            .count();
        match report.verdict() {
            Some((passed, npassed, nfailed))
                if (!passed && nfailed == 0)
                    || npassed + nfailed != results
                    || !runner_log.is_empty() =>
            {
                run.problems.push(format!(
                    "verdict {npassed} passed/{nfailed} failed for {results} results: {} \
                     (logs: {logs})",
                    runner_log.join("; ")
                ));
            }
            Some(_) => {}
            None if report.problem.is_none() => run
                .problems
                .push(format!("the guest gave no verdict (logs: {logs})")),
            None => {}
        }
        if let Some(p) = report.problem {
            run.problems.push(p);
        }
        run
    }

    pub(crate) fn failed_to_boot(suite: Suite, why: String, seconds: f64) -> Run {
        Run {
            suite,
            system: None,
            accel: None,
            boot_to_ready: None,
            total: seconds,
            cells: Vec::new(),
            plan: Vec::new(),
            problems: vec![why],
            notes: Vec::new(),
            built: None,
            logs: String::new(),
        }
    }

    /// What the guest's QEMU conformance scenario reported: QEMU's version, and the grammar's
    /// and the filters' agree/declared/undeclared/stale (from its notes).
    fn conformance(&self) -> Conformance {
        let mut c = Conformance::default();
        for (scenario, line) in &self.notes {
            if scenario != CONFORMANCE {
                continue;
            }
            if let Some(v) = ["qemu-system-x86_64 ", "qemu-system-aarch64 "]
                .iter()
                .find_map(|p| line.strip_prefix(p))
            {
                c.qemu = v.split_whitespace().next().map(str::to_string);
            } else if let Some(counts) = counts_of(line, "grammar") {
                c.grammar = Some(counts);
            } else if let Some(counts) = counts_of(line, "filters") {
                c.filters = Some(counts);
            }
        }
        c
    }

    fn cell(&self, scenario: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|(n, _)| n == scenario)
            .map(|(_, c)| c)
    }
}

/// The scenario whose notes carry the QEMU conformance summaries (vmtests'
/// `scenarios::conformance`).
const CONFORMANCE: &str = "qemu-conformance";

/// One suite's QEMU conformance, as its header rows show it.
#[derive(Debug, Default, PartialEq)]
struct Conformance {
    qemu: Option<String>,
    grammar: Option<[usize; 4]>,
    filters: Option<[usize; 4]>,
}

/// `KIND, QEMU VERSION: A agree, D declared, U undeclared, S stale (...)` -> [A, D, U, S].
fn counts_of(line: &str, kind: &str) -> Option<[usize; 4]> {
    let rest = line.strip_prefix(kind)?.strip_prefix(", QEMU ")?;
    let (_, rest) = rest.split_once(": ")?;
    let mut counts = [0; 4];
    let mut parts = rest.splitn(4, ", ");
    for (slot, word) in counts
        .iter_mut()
        .zip(["agree", "declared", "undeclared", "stale"])
    {
        let part = parts.next()?;
        let (n, w) = part.split_once(' ')?;
        if !w.starts_with(word) {
            return None;
        }
        *slot = n.parse().ok()?;
    }
    Some(counts)
}

/// `a/d/u/s`, or `?` when the guest did not report it.
fn show_counts(label: &str, counts: Option<[usize; 4]>) -> String {
    match counts {
        Some([a, d, u, s]) => format!("{label} {a}/{d}/{u}/{s}"),
        None => format!("{label} ?"),
    }
}

/// Every suite's run, and the union of their scenarios in the order first seen.
#[derive(Debug)]
pub(crate) struct Matrix {
    runs: Vec<Run>,
    scenarios: Vec<String>,
}

impl Matrix {
    pub(crate) fn new(runs: Vec<Run>) -> Matrix {
        let mut scenarios: Vec<String> = Vec::new();
        for r in &runs {
            for n in r.plan.iter().chain(r.cells.iter().map(|(n, _)| n)) {
                if !scenarios.contains(n) {
                    scenarios.push(n.clone());
                }
            }
        }
        Matrix { runs, scenarios }
    }

    pub(crate) fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The table: a header per suite (systemd, kernel, boot-to-ready, accelerator), one row
    /// per scenario, then every not-applicable reason and every failure, each naming its suite.
    pub(crate) fn render(&self) -> String {
        let width = self
            .scenarios
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        let col = 22;
        let mut out = String::new();
        let mut header = |label: &str, f: &dyn Fn(&Run) -> String| {
            out.push_str(&format!("{label:<width$}"));
            for r in &self.runs {
                out.push_str(&format!("  {:<col$}", f(r)));
            }
            out.push('\n');
        };
        header("VM suite", &|r| match (&r.built, r.suite.moving()) {
            (Some(b), true) => format!("{} ({})", r.suite.name(), &b[..b.len().min(8)]),
            _ => r.suite.name().to_string(),
        });
        header("", &|r| match &r.system {
            Some((n, _, _)) => format!("systemd {n}"),
            None => "systemd ?".into(),
        });
        header("", &|r| match &r.system {
            Some((_, _, k)) => format!("kernel {}", short_kernel(k)),
            None => "kernel ?".into(),
        });
        header("", &|r| match (r.boot_to_ready, r.accel) {
            (Some(b), Some(a)) => format!("ready {b:.1} s {a}"),
            _ => "did not boot".into(),
        });
        if self
            .runs
            .iter()
            .any(|r| r.conformance() != Conformance::default())
        {
            header("", &|r| match r.conformance().qemu {
                Some(v) => format!("qemu {v}"),
                None => "qemu ?".into(),
            });
            header("", &|r| show_counts("grammar", r.conformance().grammar));
            header("", &|r| show_counts("filters", r.conformance().filters));
        }
        out.push_str(&"-".repeat(width + self.runs.len() * (col + 2)));
        out.push('\n');
        for s in &self.scenarios {
            out.push_str(&format!("{s:<width$}"));
            for r in &self.runs {
                let text = match r.cell(s) {
                    Some(Cell::Pass(t)) => format!("ok {t:.1} s"),
                    Some(Cell::Fail(t, _)) => format!("FAILED {t:.1} s"),
                    Some(Cell::NotApplicable(_)) => "n/a".into(),
                    None => "MISSING".into(),
                };
                out.push_str(&format!("  {text:<col$}"));
            }
            out.push('\n');
        }
        if self
            .runs
            .iter()
            .any(|r| r.conformance() != Conformance::default())
        {
            out.push_str(
                "grammar, filters: agree/declared/undeclared/stale against the guest's own \
                 QEMU for its ABI (scenario qemu-conformance)\n",
            );
        }
        for r in &self.runs {
            if let Some((_, full, kernel)) = &r.system {
                out.push_str(&format!(
                    "{}: {full}, kernel {kernel}, guest run {:.1} s\n",
                    r.suite.name(),
                    r.total
                ));
            }
        }
        for r in &self.runs {
            let mut last = "";
            for (scenario, line) in &r.notes {
                if scenario != last {
                    out.push_str(&format!("\n{scenario} on {}:\n", r.suite.name()));
                    last = scenario;
                }
                out.push_str(&format!("  {line}\n"));
            }
        }
        if self.runs.iter().any(|r| !r.notes.is_empty()) {
            out.push('\n');
        }
        for s in &self.scenarios {
            for r in &self.runs {
                if let Some(Cell::NotApplicable(why)) = r.cell(s) {
                    out.push_str(&format!("n/a {s} on {}: {why}\n", r.suite.name()));
                }
            }
        }
        out
    }

    /// One outcome per scenario (passed when no suite failed it or left it out; the suites
    /// where it was not applicable are named in the row) and one per broken run.
    pub(crate) fn outcomes(&self) -> Vec<Outcome> {
        let mut v = Vec::new();
        for s in &self.scenarios {
            let mut seconds = 0.0;
            let (mut failures, mut na, mut passes) = (Vec::new(), Vec::new(), 0);
            for r in &self.runs {
                match r.cell(s) {
                    Some(Cell::Pass(t)) => {
                        seconds += t;
                        passes += 1;
                    }
                    Some(Cell::Fail(t, why)) => {
                        seconds += t;
                        failures.push(format!("on {}: {why}", r.suite.name()));
                    }
                    Some(Cell::NotApplicable(why)) if r.suite.must_run().contains(&s.as_str()) => {
                        failures.push(format!(
                            "on {}: not applicable ({why}), but {} must run it",
                            r.suite.name(),
                            r.suite.name()
                        ))
                    }
                    Some(Cell::NotApplicable(_)) => na.push(r.suite.name()),
                    None => failures.push(format!(
                        "on {}: no result (the guest stopped before it; logs: {})",
                        r.suite.name(),
                        r.logs
                    )),
                }
            }
            let name = if na.is_empty() {
                format!("vm: {s}")
            } else {
                format!("vm: {s} (n/a on {})", na.join(", "))
            };
            v.push(Outcome {
                name,
                passed: failures.is_empty(),
                seconds,
                detail: failures.join("; "),
                not_run: passes == 0,
            });
        }
        for r in &self.runs {
            if !r.problems.is_empty() {
                v.push(Outcome {
                    name: format!("vm: {} guest", r.suite.name()),
                    passed: false,
                    seconds: r.total,
                    detail: r.problems.join("; "),
                    not_run: false,
                });
            }
        }
        v
    }
}

/// `6.1.0-41-cloud-amd64` -> `6.1.0-41`: the flavour is the same in every suite (the cloud
/// kernel; the architecture is in the accelerator's line, `TCG (arm64)`).
fn short_kernel(release: &str) -> &str {
    ["-cloud-amd64", "-cloud-arm64"]
        .iter()
        .find_map(|f| release.strip_suffix(f))
        .unwrap_or(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(suite: Suite, cells: Vec<(&str, Cell)>) -> Run {
        Run {
            suite,
            system: Some((
                252,
                "systemd 252 (252.39-1~deb12u1)".into(),
                "6.1.0-41-cloud-amd64".into(),
            )),
            accel: Some("TCG"),
            boot_to_ready: Some(5.0),
            total: 40.0,
            cells: cells.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
            plan: Vec::new(),
            problems: Vec::new(),
            notes: vec![("pidfd".into(), "a | b".into())],
            built: Some("20261130-010203".into()),
            logs: "/logs".into(),
        }
    }

    #[test]
    fn not_applicable_is_never_a_pass_and_failures_name_their_suite() {
        let m = Matrix::new(vec![
            run(
                Suite::Bookworm,
                vec![
                    ("a", Cell::Pass(1.0)),
                    ("pidfd", Cell::NotApplicable("needs systemd 258".into())),
                ],
            ),
            run(
                Suite::Sid,
                vec![
                    ("a", Cell::Fail(2.0, "boom".into())),
                    ("pidfd", Cell::Pass(1.0)),
                ],
            ),
        ]);
        let o = m.outcomes();
        assert_eq!(o[0].name, "vm: a");
        assert!(!o[0].passed);
        assert!(o[0].detail.starts_with("on sid: boom"), "{}", o[0].detail);
        assert_eq!(o[1].name, "vm: pidfd (n/a on bookworm)");
        assert!(o[1].passed && !o[1].not_run);
        let table = m.render();
        assert!(
            table.contains("n/a pidfd on bookworm: needs systemd 258"),
            "{table}"
        );
        assert!(table.contains("kernel 6.1.0-41"), "{table}");
        assert_eq!(short_kernel("6.12.117+deb13-cloud-arm64"), "6.12.117+deb13");
        assert_eq!(short_kernel("6.12.117+deb13-arm64"), "6.12.117+deb13-arm64");
        assert!(table.contains("pidfd on sid:\n  a | b\n"), "{table}");
        assert!(table.contains("sid (20261130)"), "{table}");
        let row = table.lines().find(|l| l.starts_with("pidfd")).unwrap();
        assert!(row.contains("n/a") && row.contains("ok 1.0 s"), "{row}");
    }

    #[test]
    fn the_qemu_conformance_summaries_head_each_suite() {
        let mut with = run(Suite::Sid, vec![(CONFORMANCE, Cell::Pass(90.0))]);
        with.notes = vec![
            (
                CONFORMANCE.into(),
                "qemu-system-x86_64 11.1.3 (Debian 1:11.1.3+ds-1)".into(),
            ),
            (
                CONFORMANCE.into(),
                "grammar, QEMU 11.1.3: 788 agree, 7 declared, 0 undeclared, 0 stale (795 \
                 strings: ...)"
                    .into(),
            ),
            (
                CONFORMANCE.into(),
                "filters, QEMU 11.1.3: 16000 agree, 800 declared, 1 undeclared, 2 stale (...)"
                    .into(),
            ),
        ];
        let without = run(Suite::Bookworm, vec![(CONFORMANCE, Cell::Pass(1.0))]);
        let table = Matrix::new(vec![without, with]).render();
        let line = |start: &str| {
            table
                .lines()
                .find(|l| l.contains(start))
                .unwrap_or_else(|| panic!("no {start} in\n{table}"))
                .to_string()
        };
        assert!(line("qemu 11.1.3").contains("qemu ?"), "{table}");
        assert!(line("grammar 788/7/0/0").contains("grammar ?"), "{table}");
        assert!(
            line("filters 16000/800/1/2").contains("filters ?"),
            "{table}"
        );
        assert!(table.contains("agree/declared/undeclared/stale"), "{table}");
        // No conformance scenario anywhere: no such rows.
        let plain = Matrix::new(vec![run(Suite::Sid, vec![("a", Cell::Pass(1.0))])]).render();
        assert!(
            !plain.contains("qemu ") && !plain.contains("grammar"),
            "{plain}"
        );
        assert_eq!(
            counts_of("grammar, QEMU 7.2: 1 agree, 2 declared", "grammar"),
            None
        );
        assert_eq!(
            counts_of(
                "filters, QEMU 7.2.19: 1 agree, 2 declared, 3 undeclared, 4 stale",
                "filters"
            ),
            Some([1, 2, 3, 4])
        );
    }

    #[test]
    fn n_a_everywhere_is_not_run_and_n_a_where_required_fails() {
        let na = || Cell::NotApplicable("needs systemd 258".into());
        let m = Matrix::new(vec![
            run(Suite::Bookworm, vec![("listen-pidfdid", na()), ("x", na())]),
            run(Suite::Trixie, vec![("listen-pidfdid", na()), ("x", na())]),
        ]);
        let o = m.outcomes();
        assert!(o.iter().all(|x| x.passed && x.not_run), "{o:?}");
        let m = Matrix::new(vec![run(Suite::Sid, vec![("listen-pidfdid", na())])]);
        let o = m.outcomes();
        assert!(!o[0].passed, "sid must run listen-pidfdid");
        assert!(
            o[0].detail.contains("but sid must run it"),
            "{}",
            o[0].detail
        );
    }

    #[test]
    fn a_planned_scenario_the_only_guest_never_reported_fails() {
        let mut crashed = run(Suite::Bookworm, vec![("a", Cell::Pass(1.0))]);
        crashed.plan = vec!["a".into(), "b".into()];
        crashed.problems.push("the guest hung".into());
        let o = Matrix::new(vec![crashed]).outcomes();
        let b = o.iter().find(|x| x.name == "vm: b").unwrap();
        assert!(!b.passed && b.detail.contains("no result"), "{b:?}");
    }

    #[test]
    fn a_scenario_a_guest_never_reported_fails_that_suite() {
        let mut hung = run(Suite::Trixie, vec![("a", Cell::Pass(1.0))]);
        hung.problems.push("the guest hung".into());
        let m = Matrix::new(vec![
            run(
                Suite::Bookworm,
                vec![("a", Cell::Pass(1.0)), ("b", Cell::Pass(1.0))],
            ),
            hung,
            Run::failed_to_boot(Suite::Sid, "no image".into(), 0.5),
        ]);
        let o = m.outcomes();
        let b = o.iter().find(|x| x.name == "vm: b").unwrap();
        assert!(!b.passed);
        assert!(b.detail.contains("on trixie: no result"), "{}", b.detail);
        assert!(b.detail.contains("on sid: no result"), "{}", b.detail);
        assert!(o.iter().any(|x| x.name == "vm: trixie guest" && !x.passed));
        assert!(
            o.iter()
                .any(|x| x.name == "vm: sid guest" && x.detail == "no image")
        );
        assert!(m.render().contains("MISSING"));
    }
}
