//! The scenarios that check the harness itself (systemd is PID 1, unit files load, exit
//! statuses are recorded; the system bus works), so a broken image fails here first, with a
//! clear message, not in every echod scenario.

use super::Scenario;
use super::ctx::{Ctx, ensure};
use std::time::Duration;

pub(super) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "harness-systemd",
        about: "systemd is PID 1, loads run-time units and records a service's exit status",
        units: &[(
            "ha-smoke.service",
            "[Unit]\nDescription=harness smoke test: exits 3\n\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo smoke-marker; exit 3'\n",
        )],
        timeout: Duration::from_secs(20),
        needs: &[],
        check: smoke,
    },
    Scenario {
        name: "dbus-wait",
        about: "the system bus is up: systemctl start --wait and systemd-run --wait --pipe work, \
            as integrators use them to try their own units",
        units: &[(
            "ha-wait.service",
            "[Unit]\nDescription=harness: a oneshot to wait for\n\n[Service]\nType=oneshot\n\
         ExecStart=/bin/sh -c 'sleep 0.2; echo wait-marker'\n",
        )],
        timeout: Duration::from_secs(20),
        needs: &[],
        check: dbus_wait,
    },
];

fn smoke(cx: &mut Ctx) -> Result<(), String> {
    let comm = std::fs::read_to_string("/proc/1/comm").map_err(|e| e.to_string())?;
    ensure(comm.trim() == "systemd", || {
        format!("PID 1 is `{}`, not systemd", comm.trim())
    })?;
    cx.expect_prop("ha-smoke.service", "LoadState", "loaded")?;
    let started = cx.systemctl(&["start", "ha-smoke.service"]);
    ensure(started.is_err(), || {
        "a oneshot that exits 3 was reported as started successfully".into()
    })?;
    cx.expect_prop("ha-smoke.service", "ExecMainStatus", "3")?;
    cx.expect_prop("ha-smoke.service", "Result", "exit-code")?;
    cx.wait_journal("ha-smoke.service", "smoke-marker")?;
    Ok(())
}

fn dbus_wait(cx: &mut Ctx) -> Result<(), String> {
    // `--wait` needs the bus: without D-Bus both commands fail at once.
    cx.systemctl(&["start", "--wait", "ha-wait.service"])?;
    cx.expect_prop("ha-wait.service", "Result", "success")?;
    let out = super::ctx::run_ok(
        "systemd-run",
        &["--wait", "--pipe", "--quiet", "/bin/echo", "run-marker"],
    )?;
    ensure(out.trim() == "run-marker", || {
        format!("systemd-run --wait --pipe printed {out:?}")
    })
}
