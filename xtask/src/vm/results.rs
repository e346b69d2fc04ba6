//! Parses the guest runner's line protocol (defined in `vmtests/src/scenarios/protocol.rs`).

/// One event from the guest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Ready {
        uptime: f64,
    },
    Begin {
        name: String,
        /// The guest's own time limit for it, in seconds.
        limit: Option<u64>,
    },
    Log {
        name: String,
        text: String,
    },
    Result {
        name: String,
        passed: bool,
        seconds: f64,
        message: String,
    },
    /// What the guest runs: systemd's version (its number, and the full string) and the
    /// kernel release.
    System {
        systemd: u32,
        systemd_full: String,
        kernel: String,
    },
    /// A scenario this guest cannot run (its systemd lacks a feature, a peer is missing): not
    /// a pass, not a failure.
    NotApplicable {
        name: String,
        reason: String,
    },
    /// The scenarios the guest is about to run or report, in order.
    Plan(Vec<String>),
    /// A line a scenario wants printed under the results table.
    Note {
        name: String,
        text: String,
    },
    Say(String),
    Exit(i32),
    Verdict {
        passed: bool,
        npassed: usize,
        nfailed: usize,
    },
    /// A line this parser does not understand (kept, shown, and never silently ignored).
    Unknown(String),
}

/// Parses one line.
pub(crate) fn parse(line: &str) -> Event {
    let f: Vec<&str> = line.split('\t').collect();
    let unknown = || Event::Unknown(line.to_string());
    match f.as_slice() {
        ["READY", up] => up
            .parse()
            .map(|uptime| Event::Ready { uptime })
            .unwrap_or_else(|_| unknown()),
        ["BEGIN", name] => Event::Begin {
            name: (*name).to_string(),
            limit: None,
        },
        ["BEGIN", name, limit] => match limit.parse() {
            Ok(l) => Event::Begin {
                name: (*name).to_string(),
                limit: Some(l),
            },
            Err(_) => unknown(),
        },
        ["LOG", name, rest @ ..] => Event::Log {
            name: (*name).to_string(),
            text: rest.join(" "),
        },
        ["RESULT", name, verdict, secs, rest @ ..] => {
            let passed = match *verdict {
                "pass" => true,
                "fail" => false,
                _ => return unknown(),
            };
            match secs.parse() {
                Ok(seconds) => Event::Result {
                    name: (*name).to_string(),
                    passed,
                    seconds,
                    message: rest.join(" "),
                },
                Err(_) => unknown(),
            }
        }
        ["SYSTEM", number, full, kernel] => match number.parse() {
            Ok(systemd) => Event::System {
                systemd,
                systemd_full: (*full).to_string(),
                kernel: (*kernel).to_string(),
            },
            Err(_) => unknown(),
        },
        ["NA", name, reason] => Event::NotApplicable {
            name: (*name).to_string(),
            reason: (*reason).to_string(),
        },
        ["NOTE", name, rest @ ..] => Event::Note {
            name: (*name).to_string(),
            text: rest.join(" "),
        },
        ["PLAN", names] => Event::Plan(
            names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        ["SAY"] => Event::Say(String::new()),
        ["SAY", rest @ ..] => Event::Say(rest.join(" ")),
        ["EXIT", code] => code.parse().map(Event::Exit).unwrap_or_else(|_| unknown()),
        ["VERDICT", v, p, n] => match (*v, p.parse(), n.parse()) {
            ("pass" | "fail", Ok(npassed), Ok(nfailed)) => Event::Verdict {
                passed: *v == "pass",
                npassed,
                nfailed,
            },
            _ => unknown(),
        },
        _ => unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses() {
        assert_eq!(parse("READY\t3.25"), Event::Ready { uptime: 3.25 });
        assert_eq!(
            parse("BEGIN\tx"),
            Event::Begin {
                name: "x".into(),
                limit: None
            }
        );
        assert_eq!(
            parse("BEGIN\tx\t120"),
            Event::Begin {
                name: "x".into(),
                limit: Some(120)
            }
        );
        assert_eq!(
            parse("LOG\tx\ta b"),
            Event::Log {
                name: "x".into(),
                text: "a b".into()
            }
        );
        assert_eq!(
            parse("RESULT\tx\tfail\t1.50\twhy | more"),
            Event::Result {
                name: "x".into(),
                passed: false,
                seconds: 1.5,
                message: "why | more".into()
            }
        );
        assert_eq!(parse("SAY\t  hi"), Event::Say("  hi".into()));
        assert_eq!(parse("SAY"), Event::Say(String::new()));
        assert_eq!(parse("EXIT\t3"), Event::Exit(3));
        assert_eq!(
            parse("SYSTEM\t262\tsystemd 262 (262.1-1)\t7.2.13-cloud-amd64"),
            Event::System {
                systemd: 262,
                systemd_full: "systemd 262 (262.1-1)".into(),
                kernel: "7.2.13-cloud-amd64".into()
            }
        );
        assert_eq!(
            parse("PLAN\ta,b"),
            Event::Plan(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse("NOTE\tx\tcheck | echod | ovsdb"),
            Event::Note {
                name: "x".into(),
                text: "check | echod | ovsdb".into()
            }
        );
        assert_eq!(
            parse("NA\tx\tneeds systemd 258"),
            Event::NotApplicable {
                name: "x".into(),
                reason: "needs systemd 258".into()
            }
        );
        assert_eq!(
            parse("VERDICT\tpass\t9\t0"),
            Event::Verdict {
                passed: true,
                npassed: 9,
                nfailed: 0
            }
        );
    }

    #[test]
    fn malformed_lines_are_unknown_not_dropped() {
        for l in [
            "",
            "READY\tsoon",
            "RESULT\tx\tmaybe\t1\tm",
            "RESULT\tx\tpass\tfast\tm",
            "VERDICT\tok\t1\t0",
            "EXIT\tnope",
            "BEGIN\tx\tsoon",
            "SYSTEM\tnew\tsystemd\t6.1",
            "NA\tx",
            "garbage",
        ] {
            assert_eq!(parse(l), Event::Unknown(l.to_string()), "{l:?}");
        }
    }
}
