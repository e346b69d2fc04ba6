//! `cargo xtask demo`: the walkthrough, as data. Each step is narration, a shell command a reader
//! can re-run in `cargo xtask vm` (the same units are installed there), and a check that the
//! command behaved as narrated.

use super::ctx::Ran;

/// The demo's units, installed (not started) in every interactive guest too.
pub const UNITS: &[(&str, &str)] = &[
    (
        "echod-demo.socket",
        "[Unit]\nDescription=echod demo socket\n\n[Socket]\nListenStream=/run/echod/demo.sock\n",
    ),
    (
        "echod-demo.service",
        "[Unit]\nDescription=echod demo (socket-activated, sandboxed)\n\n[Service]\nType=notify\nRestart=on-failure\nRestartSec=200ms\nLimitCORE=0\nExecStart=/usr/local/bin/echod --remote=pfd:3 --unixctl=/run/echod/demo.ctl --sandbox=on,spawn=deny,elevateprivileges=deny --enable-probes\n",
    ),
];

/// One step of the walkthrough.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Headline.
    pub title: &'static str,
    /// What the reader should understand before the command runs.
    pub narration: &'static str,
    /// A shell command (bash), re-runnable in `cargo xtask vm`.
    pub command: &'static str,
    /// What the command's result must look like for the narration to be true.
    pub check: fn(&Ran) -> Result<(), String>,
}

fn has(ran: &Ran, needles: &[&str]) -> Result<(), String> {
    let all = ran.both();
    for n in needles {
        if !all.contains(n) {
            return Err(format!("the output lacks `{n}`"));
        }
    }
    Ok(())
}

fn ok_and(ran: &Ran, needles: &[&str]) -> Result<(), String> {
    if ran.code != 0 {
        return Err(format!("the command exited {}", ran.code));
    }
    has(ran, needles)
}

/// The walkthrough.
pub const STEPS: &[Step] = &[
    Step {
        title: "systemd listens; echod is not running yet",
        narration: "echod-demo.socket owns /run/echod/demo.sock. No echod process exists until a client connects.",
        command: "systemctl start echod-demo.socket && systemctl show -p SubState echod-demo.socket && systemctl show -p ActiveState echod-demo.service",
        check: |r| ok_and(r, &["SubState=listening", "ActiveState=inactive"]),
    },
    Step {
        title: "the first connection starts echod (--remote=pfd:3) and gets its echo",
        narration: "systemd starts echod-demo.service with the listening socket as fd 3. echod checks it is a listening stream socket, loads its seccomp sandbox, sends READY=1, then accepts the queued connection.",
        command: "vm-guest echo unix:/run/echod/demo.sock 'hello from the demo' && systemctl show -p ActiveState -p TriggeredBy echod-demo.service",
        check: |r| {
            ok_and(
                r,
                &[
                    "\"result\":[\"hello from the demo\"]",
                    "ActiveState=active",
                    "TriggeredBy=echod-demo.socket",
                ],
            )
        },
    },
    Step {
        title: "a pfd: remote is refused at run time",
        narration: "Pre-opened fds may only come from the command line (systemd). The control socket refuses `pfd:` with exit status 2, like ovsdb-server.",
        command: "ovs-appctl -t /run/echod/demo.ctl echod/add-remote pfd:3; echo \"exit status: $?\"",
        check: |r| {
            has(
                r,
                &[
                    "pfd: remotes can only be specified on the command line",
                    "exit status: 2",
                ],
            )
        },
    },
    Step {
        title: "the sandbox blocks a fork; echod keeps serving",
        narration: "With --sandbox on,spawn=deny, fork/clone/execve fail with EPERM inside echod. The probe reports it and echod carries on.",
        command: "ovs-appctl -t /run/echod/demo.ctl echod/probe fork; vm-guest echo unix:/run/echod/demo.sock 'still here'",
        check: |r| has(r, &["EPERM", "\"result\":[\"still here\"]"]),
    },
    Step {
        title: "a setuid attempt is fatal: SIGSYS, systemd records status 31 and restarts echod",
        narration: "elevateprivileges=deny kills the process on setuid(). systemd logs status=31/SYS and, with Restart=on-failure, starts a fresh echod on the same socket.",
        command: "ovs-appctl -t /run/echod/demo.ctl echod/probe setuid; until systemctl show -p NRestarts echod-demo.service | grep -qx NRestarts=1; do sleep 0.2; done; journalctl -o cat -u echod-demo.service | grep -m1 'status=31/SYS'; vm-guest echo unix:/run/echod/demo.sock 'after the restart' && systemctl show -p NRestarts -p ActiveState echod-demo.service",
        check: |r| {
            has(
                r,
                &[
                    "NRestarts=1",
                    "ActiveState=active",
                    "status=31/SYS",
                    "\"result\":[\"after the restart\"]",
                ],
            )
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_reject_a_failed_or_silent_command() {
        let silent = Ran {
            code: 1,
            stdout: String::new(),
            stderr: String::new(),
        };
        for s in STEPS {
            assert!(
                (s.check)(&silent).is_err(),
                "step `{}` accepts no output",
                s.title
            );
        }
    }

    #[test]
    fn demo_units_use_the_names_the_steps_use() {
        for s in STEPS {
            if s.command.contains("echod-demo") {
                assert!(UNITS.iter().any(|(n, _)| {
                    s.command
                        .contains(n.trim_end_matches(".socket").trim_end_matches(".service"))
                }));
            }
        }
    }
}
