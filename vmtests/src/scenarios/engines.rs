//! The container engines' profile export (`seccomp-sets export --format docker`) under the real
//! engines Debian ships: Podman and Docker (dockerd with its own containerd) run a container
//! from a local image, imported from a tarball (`podman import`, `docker import`: no registry
//! is reachable) that holds Debian's static busybox and the probe (`vm-guest seccomp-probe`
//! with the libraries it links), under the profile of each of the 24 `on` configurations with
//! `--security-opt no-new-privileges`.
//!
//! Each container runs the probe of the systemd export scenario (one call per set, the EPERM
//! ones first, then the kill ones: the first denied kill set ends the container by SIGSYS, exit
//! status 159). The work runs (the probe starts: the profile is exec-tolerant where spawn is
//! denied, as the CLI requires) and each denied set's call gets the profile's action; unlike
//! systemd, the engines read the argument filters, so glibc's fork (clone without thread
//! flags) gets EPERM too. Before the profiles, busybox and the probe run with
//! `--security-opt seccomp=unconfined`, to show that they do what they should when nothing
//! filters them. What each engine does differently from runc is noted: its OCI runtime, a
//! profile that denies execve (not exec-tolerant), and a profile that denies the privileged set
//! without no-new-privileges.

use super::ctx::{Ctx, Ran, ensure, run, tail};
use super::sysexport::{configurations, expected_lines};
use super::{Need, Scenario};
use sandbox_opts::{Sandbox, Set};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The unit that runs dockerd for the Docker scenario (the package's own units are masked in
/// the image): no iptables or bridge (the containers have no network), the vfs storage driver
/// (no overlay module needed; the image is a few MB), its own socket and directories. dockerd
/// starts its own containerd.
const DOCKERD_UNIT: &str = "engine-dockerd.service";
const DOCKER_SOCKET: &str = "unix:///run/harden-docker.sock";

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "engine-podman",
        about: "Podman runs a container from an imported busybox rootfs under each of the 24 on \
                configurations' docker-format exports: the work runs, each denied set's probe \
                gets the profile's action (EPERM, or SIGSYS ending the container)",
        units: &[],
        timeout: Duration::from_secs(240),
        needs: &[
            Need::Program("/usr/bin/podman", "Podman (Debian package podman)"),
            Need::Program(
                "/usr/share/doc/busybox-static",
                "Debian's static busybox for the image (package busybox-static)",
            ),
        ],
        check: check_podman,
    },
    Scenario {
        name: "engine-docker",
        about: "Docker (dockerd and its containerd) runs a container from an imported busybox \
                rootfs under each of the 24 on configurations' docker-format exports: the work \
                runs, each denied set's probe gets the profile's action",
        units: &[(
            DOCKERD_UNIT,
            "[Unit]\nDescription=dockerd for the engine-docker scenario\n\n[Service]\n\
             Type=notify\nTimeoutStartSec=300\n\
             ExecStart=/usr/sbin/dockerd --host=unix:///run/harden-docker.sock \
             --data-root=/var/lib/harden-docker --exec-root=/run/harden-docker \
             --pidfile=/run/harden-docker/dockerd.pid --iptables=false --ip6tables=false \
             --bridge=none --storage-driver=vfs\n",
        )],
        timeout: Duration::from_secs(300),
        needs: &[
            Need::Program(
                "/usr/sbin/dockerd",
                "Docker's daemon (Debian package docker.io)",
            ),
            Need::Program(
                "/usr/bin/docker",
                "Docker's client (Debian package docker-cli; docker.io in bookworm)",
            ),
            Need::Program(
                "/usr/share/doc/busybox-static",
                "Debian's static busybox for the image (package busybox-static)",
            ),
        ],
        check: check_docker,
    },
];

/// Where the scenarios keep their rootfs, tarball and profiles.
const WORK: &str = "/var/tmp/harden-engines";

/// One engine's command line.
struct Engine {
    name: &'static str,
    cli: &'static str,
    /// Options before the command (storage, socket).
    global: &'static [&'static str],
    /// The imported image's name.
    image: &'static str,
    /// Options of every `run` besides the profile's.
    run_options: &'static [&'static str],
}

const PODMAN: Engine = Engine {
    name: "podman",
    cli: "/usr/bin/podman",
    // Its own storage, vfs (no overlay module), cgroups without the system bus.
    global: &[
        "--root",
        "/var/lib/harden-podman",
        "--runroot",
        "/run/harden-podman",
        "--storage-driver",
        "vfs",
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "none",
    ],
    image: "localhost/harden-probe:latest",
    run_options: &[],
};

const DOCKER: Engine = Engine {
    name: "docker",
    cli: "/usr/bin/docker",
    global: &["--host", DOCKER_SOCKET],
    image: "harden-probe:latest",
    // Docker 20.10 (bookworm) refuses every container where the kernel has AppArmor and
    // apparmor_parser is missing ("the docker-default profile could not be loaded"); the
    // profile under test is seccomp's, so AppArmor stays out of every suite's runs.
    run_options: &["--security-opt", "apparmor=unconfined"],
};

impl Engine {
    fn run(&self, args: &[&str]) -> Result<Ran, String> {
        let all: Vec<&str> = self
            .global
            .iter()
            .copied()
            .chain(args.iter().copied())
            .collect();
        run(self.cli, &all)
    }

    fn run_ok(&self, args: &[&str]) -> Result<String, String> {
        let ran = self.run(args)?;
        if ran.code == 0 {
            Ok(ran.stdout)
        } else {
            Err(format!(
                "`{} {}` exited {}: {}",
                self.name,
                args.join(" "),
                ran.code,
                tail(ran.both().trim(), 10)
            ))
        }
    }

    /// `run --rm --network=none [--security-opt seccomp=PROFILE] [no-new-privileges] IMAGE
    /// CMD...`.
    fn container(
        &self,
        profile: Option<&Path>,
        no_new_privs: bool,
        cmd: &[&str],
    ) -> Result<Ran, String> {
        let seccomp = match profile {
            Some(p) => format!("seccomp={}", p.display()),
            None => "seccomp=unconfined".to_owned(),
        };
        let mut args = vec!["run", "--rm", "--network=none", "--security-opt", &seccomp];
        args.extend(self.run_options);
        if no_new_privs {
            args.extend(["--security-opt", "no-new-privileges"]);
        }
        args.push(self.image);
        args.extend(cmd);
        self.run(&args)
    }
}

/// The probe inside the image.
const PROBE: &[&str] = &["/probe", "seccomp-probe"];

/// Builds the image's tarball once: Debian's static busybox (with `sh`), the probe
/// (`/usr/local/bin/vm-guest` as `/probe`) and the libraries `ldd` says it loads, a passwd and
/// group file.
fn rootfs_tarball() -> Result<PathBuf, String> {
    let tar = Path::new(WORK).join("rootfs.tar");
    if tar.is_file() {
        return Ok(tar);
    }
    let root = Path::new(WORK).join("rootfs");
    let _ = std::fs::remove_dir_all(&root);
    let mkdir =
        |d: &Path| std::fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()));
    let copy = |from: &Path, to: &Path| -> Result<(), String> {
        if let Some(parent) = to.parent() {
            mkdir(parent)?;
        }
        std::fs::copy(from, to)
            .map(drop)
            .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
    };
    copy(Path::new("/bin/busybox"), &root.join("bin/busybox"))?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sh"))
        .map_err(|e| format!("linking bin/sh: {e}"))?;
    let probe = "/usr/local/bin/vm-guest";
    copy(Path::new(probe), &root.join("probe"))?;
    let ldd = run("ldd", &[probe])?;
    ensure(ldd.code == 0, || format!("ldd {probe}: {}", ldd.both()))?;
    for lib in ldd.stdout.split_whitespace().filter(|w| w.starts_with('/')) {
        copy(Path::new(lib), &root.join(&lib[1..]))?;
    }
    mkdir(&root.join("etc"))?;
    mkdir(&root.join("tmp"))?;
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
    )
    .map_err(|e| format!("writing etc/passwd: {e}"))?;
    std::fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")
        .map_err(|e| format!("writing etc/group: {e}"))?;
    let made = run(
        "tar",
        &[
            "-C",
            &root.to_string_lossy(),
            "-cf",
            &tar.to_string_lossy(),
            ".",
        ],
    )?;
    ensure(made.code == 0, || format!("tar: {}", made.both()))?;
    Ok(tar)
}

/// The docker-format profile of every `on` configuration, written once; exec-tolerant where
/// spawn is denied (the CLI refuses the other for a container engine).
fn profiles() -> Result<Vec<(Sandbox, PathBuf)>, String> {
    let dir = Path::new(WORK).join("profiles");
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let mut v = Vec::new();
    for (i, sandbox) in configurations().into_iter().enumerate() {
        let filter = seccomp_sets::Filter::builder(&sandbox)
            .exec_tolerant(sandbox.denied_sets().contains(Set::Spawn))
            .build()
            .map_err(|e| format!("-sandbox {sandbox}: {e}"))?;
        let path = dir.join(format!("on-{i}.json"));
        let text = serde_json::to_string_pretty(&filter.to_docker())
            .map_err(|e| format!("serialising the profile: {e}"))?;
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        v.push((sandbox, path));
    }
    Ok(v)
}

/// A profile that is not exec-tolerant under spawn=deny, and one that denies the privileged set,
/// each alone in a file (what the engine does with them is noted, and compared with runc).
fn special_profile(name: &str, sandbox: &str, exec_tolerant: bool) -> Result<PathBuf, String> {
    let sandbox: Sandbox = sandbox.parse().map_err(|e| format!("{e}"))?;
    let filter = seccomp_sets::Filter::builder(&sandbox)
        .exec_tolerant(exec_tolerant)
        .build()
        .map_err(|e| format!("-sandbox {sandbox}: {e}"))?;
    let path = Path::new(WORK).join(format!("{name}.json"));
    std::fs::write(&path, filter.to_docker().to_string())
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

/// The line of a refused start that says why (for the notes): the first that names an error
/// or a refusal, else the first line.
fn first_line(ran: &Ran) -> String {
    let both = ran.both();
    let lines: Vec<&str> = both
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let why = lines.iter().find(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("not permitted") || l.contains("error")
    });
    let line = why.or(lines.first()).copied().unwrap_or("");
    line.chars().take(240).collect()
}

/// Runs everything against `engine` (imported image ready).
fn exercise(cx: &mut Ctx, engine: &Engine) -> Result<(), String> {
    // Nothing filtered: busybox runs, and the probe makes every call and ends normally.
    let plain = engine.container(None, true, &["/bin/busybox", "echo", "ok"])?;
    ensure(plain.code == 0 && plain.stdout == "ok\n", || {
        format!(
            "{} cannot run busybox without a profile: {plain:?}",
            engine.name
        )
    })?;
    let probe = engine.container(None, true, PROBE)?;
    ensure(
        probe.code == 0 && probe.stdout.lines().last() == Some("probe done"),
        || format!("{}: the probe without a profile: {probe:?}", engine.name),
    )?;
    let configs = profiles()?;
    ensure(configs.len() == 24, || {
        format!("{} on configurations, not 24", configs.len())
    })?;
    let (mut killed, mut eperm) = (0, 0);
    for (sandbox, profile) in &configs {
        let ran = engine.container(Some(profile), true, PROBE)?;
        let (want, dies) = expected_lines(sandbox, true);
        // An allowed call's own errno (`allowed (errno 22)`) is the kernel's, not the profile's.
        let got: Vec<&str> = ran
            .stdout
            .lines()
            .filter(|l| l.starts_with("probe "))
            .map(|l| l.split(" (errno").next().unwrap_or(l))
            .collect();
        let want_code = if dies { 128 + libc::SIGSYS } else { 0 };
        ensure(got == want && ran.code == want_code, || {
            format!(
                "-sandbox {sandbox} under {} (profile {}): the probe printed\n  {}\nand exited \
                 {}, but the profile should give\n  {}\nand exit {want_code}; stderr: {}",
                engine.name,
                profile.display(),
                got.join("\n  "),
                ran.code,
                want.join("\n  "),
                tail(&ran.stderr, 10)
            )
        })?;
        killed += usize::from(dies);
        eperm += want.iter().filter(|l| l.ends_with(": EPERM")).count();
    }
    cx.note(format!(
        "{}: 24 configurations, one container each: the work ran in all, {eperm} calls got \
         EPERM and {killed} containers ended by SIGSYS (exit 159) at their first kill set, all \
         as the profiles say",
        engine.name
    ));
    // What differs from runc: a profile that denies execve (not exec-tolerant) stops the
    // runtime before the workload; one that denies the privileged set, without
    // no-new-privileges, meets the runtime's own set*id calls.
    let strict = special_profile("spawn-deny-strict", "on,spawn=deny", false)?;
    let ran = engine.container(Some(&strict), true, &["/bin/busybox", "echo", "ok"])?;
    ensure(ran.code != 0 && !ran.stdout.contains("ok"), || {
        format!(
            "{}: a profile that denies execve started the workload: {ran:?}",
            engine.name
        )
    })?;
    cx.note(format!(
        "{}: spawn=deny without --exec-tolerant: the workload never starts (exit {}): {}",
        engine.name,
        ran.code,
        first_line(&ran)
    ));
    let privileged = special_profile("privileged-deny", "on,elevateprivileges=deny", false)?;
    let ran = engine.container(Some(&privileged), false, &["/bin/busybox", "echo", "ok"])?;
    cx.note(format!(
        "{}: elevateprivileges=deny without no-new-privileges: {}",
        engine.name,
        if ran.code == 0 && ran.stdout == "ok\n" {
            "the workload runs (the runtime changes user before it loads the filter)".to_owned()
        } else {
            format!(
                "the workload never runs (exit {}): {}",
                ran.code,
                first_line(&ran)
            )
        }
    ));
    Ok(())
}

fn import(engine: &Engine, tar: &Path) -> Result<(), String> {
    // A leftover image of an earlier run in the same boot is replaced.
    let _ = engine.run(&["rmi", "-f", engine.image]);
    engine
        .run_ok(&["import", &tar.to_string_lossy(), engine.image])
        .map(drop)
}

fn check_podman(cx: &mut Ctx) -> Result<(), String> {
    let tar = rootfs_tarball()?;
    let version = PODMAN.run_ok(&["--version"])?;
    let runtime = PODMAN.run_ok(&[
        "info",
        "--format",
        "{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}}",
    ])?;
    cx.note(format!(
        "{}, OCI runtime {}",
        version.trim(),
        runtime.lines().next().unwrap_or("").trim()
    ));
    import(&PODMAN, &tar)?;
    exercise(cx, &PODMAN)
}

fn check_docker(cx: &mut Ctx) -> Result<(), String> {
    let tar = rootfs_tarball()?;
    cx.systemctl(&["start", DOCKERD_UNIT])?;
    let server = DOCKER.run_ok(&[
        "version",
        "--format",
        "Docker {{.Server.Version}}, containerd {{range .Server.Components}}{{if eq .Name \
         \"containerd\"}}{{.Version}}{{end}}{{end}}, OCI runtime {{range .Server.Components}}\
         {{if eq .Name \"runc\"}}runc {{.Version}}{{end}}{{end}}",
    ])?;
    cx.note(server.trim().to_owned());
    import(&DOCKER, &tar)?;
    exercise(cx, &DOCKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_expectations_refuse_glibc_fork_where_systemd_cannot() {
        let spawn: Sandbox = "on,obsolete=allow,spawn=deny".parse().unwrap();
        let (lines, dies) = expected_lines(&spawn, true);
        assert!(dies, "the default set is denied");
        assert!(
            lines.contains(&"probe spawn-clone: EPERM".to_owned()),
            "{lines:?}"
        );
        let (lines, _) = expected_lines(&spawn, false);
        assert!(
            lines.contains(&"probe spawn-clone: allowed".to_owned()),
            "{lines:?}"
        );
    }
}
