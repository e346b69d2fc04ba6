//! Boots one guest: builds the per-run payload disk (guest binaries + manifest), starts QEMU
//! with a hard time limit, follows the results port, kills a hung guest (saying what it was
//! doing) and keeps everything under `target/vmtests/<run>/`.

use super::accel::{self, Accel};
use super::image::{self, GuestArch, Image, Suite};
use super::results::{self, Event};
use crate::util::{cargo, find_command, run, show, target_dir};
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the guest runner does in this boot.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// The scenarios (all, or only these).
    Suite { only: Vec<String> },
    /// The narrated walkthrough.
    Demo,
    /// An interactive shell on the terminal.
    Shell,
    /// One shell command; its output on stdout, its status returned.
    Command(String),
}

impl Mode {
    fn word(&self) -> &'static str {
        match self {
            Mode::Suite { .. } => "suite",
            Mode::Demo => "demo",
            Mode::Shell => "shell",
            Mode::Command(_) => "command",
        }
    }
}

/// What goes into every boot's payload disk besides the manifest: the guest binaries (built
/// once per xtask run) and the user's `--copy` files.
#[derive(Debug, Clone, Default)]
pub(crate) struct Payload {
    /// The guest binaries for the host's architecture (amd64 guests).
    bins: Vec<PathBuf>,
    /// The same, cross-built for arm64, when an arm64 guest is to boot.
    arm64_bins: Option<Vec<PathBuf>>,
    /// The host CLI's exports for each guest ABI (scenario export-equals-native).
    exports: Vec<(GuestArch, PathBuf)>,
    copies: Vec<CopyIn>,
}

/// One `--copy SRC[:DEST]`: a file or directory carried into the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyIn {
    pub(crate) src: PathBuf,
    /// The name it is carried under (SRC's own, `.` resolved).
    name: String,
    /// Absolute path in the guest.
    pub(crate) dest: String,
}

/// Unit file suffixes: a copied file with one of them goes to /etc/systemd/system/.
const UNIT_SUFFIXES: &[&str] = &[
    ".service", ".socket", ".timer", ".path", ".target", ".mount", ".slice",
];

impl CopyIn {
    /// Parses `SRC[:DEST]`. Without DEST: a unit file goes to `/etc/systemd/system/`, an
    /// executable file to `/usr/local/bin/`, anything else (directories too) to `/root/`. A
    /// DEST ending in `/` is a directory that receives SRC under its own name.
    pub(crate) fn parse(arg: &str) -> Result<CopyIn, String> {
        let (src, dest) = match arg.rsplit_once(':') {
            Some((s, d)) if d.starts_with('/') && !s.is_empty() => (s, Some(d)),
            _ => (arg, None),
        };
        let src = PathBuf::from(src);
        let meta = std::fs::metadata(&src).map_err(|e| {
            format!(
                "--copy {arg}: cannot read {}: {e} (expected an existing file or directory, \
                 optionally followed by :/GUEST/PATH)",
                src.display()
            )
        })?;
        // SRC's own name (a link keeps its name); `.` and `..` are named by what they are.
        let named = match src.file_name() {
            Some(_) => src.clone(),
            None => std::fs::canonicalize(&src).unwrap_or_else(|_| src.clone()),
        };
        let name = named
            .file_name()
            .ok_or_else(|| format!("--copy {arg}: {} has no file name", src.display()))?
            .to_str()
            .filter(|n| !n.contains(['\t', '\n']))
            .ok_or_else(|| {
                format!(
                    "--copy {arg}: the file name must be UTF-8 without tabs or newlines; \
                     give SRC:/GUEST/PATH"
                )
            })?
            .to_string();
        if !(meta.is_file() || meta.is_dir()) {
            return Err(format!(
                "--copy {arg}: {} is neither a regular file nor a directory",
                src.display()
            ));
        }
        let dest = match dest {
            Some(d) => {
                if d.contains('\t') || d.contains('\n') || d.split('/').any(|c| c == "..") {
                    return Err(format!(
                        "--copy {arg}: the guest path `{d}` must be absolute, without `..`, tabs \
                         or newlines"
                    ));
                }
                // A directory (`/opt/`) receives the file under its own name.
                if d.ends_with('/') {
                    format!("{d}{name}")
                } else {
                    d.to_string()
                }
            }
            None => {
                use std::os::unix::fs::PermissionsExt;
                if meta.is_file() && UNIT_SUFFIXES.iter().any(|x| name.ends_with(x)) {
                    format!("/etc/systemd/system/{name}")
                } else if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                    format!("/usr/local/bin/{name}")
                } else {
                    format!("/root/{name}")
                }
            }
        };
        Ok(CopyIn { src, name, dest })
    }
}

/// Builds the guest binaries once for this xtask run, for each architecture among `suites`,
/// and records the `--copy` files.
pub(crate) fn prepare(copies: Vec<CopyIn>, suites: &[Suite]) -> Result<Payload, String> {
    let has = |arch| suites.iter().any(|s| s.arch() == arch);
    let bins = if has(GuestArch::Amd64) {
        build_guest_binaries()?
    } else {
        Vec::new()
    };
    let arm64_bins = if has(GuestArch::Arm64) {
        let tc = super::cross::Toolchain::ensure()?;
        let bins = build_guest_binaries_for(Some(&tc))?;
        super::cross::check_machine(&bins, super::cross::EM_AARCH64)?;
        Some(bins)
    } else {
        None
    };
    let mut exports = Vec::new();
    for arch in [GuestArch::Amd64, GuestArch::Arm64] {
        if has(arch) {
            exports.push((arch, host_exports(arch)?));
        }
    }
    Ok(Payload {
        bins,
        arm64_bins,
        exports,
        copies,
    })
}

/// The host CLI's `seccomp-sets export --format bpf --arch ABI` of every `on` configuration
/// for `arch`'s guests, with its index: the host's conformance test binary writes them
/// (`native_export::export_on_this_host`, which runs the CLI built beside it), into
/// `target/vmtests/exports/ABI/`.
fn host_exports(arch: GuestArch) -> Result<PathBuf, String> {
    let abi = match arch {
        GuestArch::Amd64 => "x86_64",
        GuestArch::Arm64 => "aarch64",
    };
    let dir = target_dir().join("vmtests").join("exports").join(abi);
    let _ = std::fs::remove_dir_all(&dir);
    let bin = conformance_binary(None)?;
    let mut cmd = Command::new(&bin);
    cmd.args([
        "--exact",
        "native_export::export_on_this_host",
        "--ignored",
        "--quiet",
    ])
    .env("HARDEN_EXPORT_TO", &dir)
    .env("HARDEN_EXPORT_ARCH", abi)
    .stdout(Stdio::null());
    run(&mut cmd)?;
    if !dir.join("index").is_file() {
        return Err(format!(
            "`{}` wrote no {}",
            show(&cmd),
            dir.join("index").display()
        ));
    }
    Ok(dir)
}

impl Payload {
    /// The guest binaries for `arch`.
    fn bins(&self, arch: GuestArch) -> Result<&[PathBuf], String> {
        match arch {
            GuestArch::Amd64 if !self.bins.is_empty() => Ok(&self.bins),
            GuestArch::Arm64 if self.arm64_bins.is_some() => {
                Ok(self.arm64_bins.as_deref().unwrap_or_default())
            }
            _ => Err(format!(
                "no guest binaries were built for {} (runner::prepare was not given such a suite)",
                arch.deb()
            )),
        }
    }
}

/// What one boot produced.
#[derive(Debug)]
pub(crate) struct Report {
    /// Which suite's image was booted.
    pub(crate) suite: Suite,
    /// `target/vmtests/<run>/`.
    pub(crate) dir: PathBuf,
    pub(crate) accel: Accel,
    /// Every event from the guest, in order.
    pub(crate) events: Vec<Event>,
    /// Seconds from starting QEMU to the guest runner's READY.
    pub(crate) boot_to_ready: Option<f64>,
    /// Seconds from starting QEMU to its exit.
    pub(crate) total: f64,
    /// Why the run is incomplete (hung and killed, crashed, no verdict), if it is.
    pub(crate) problem: Option<String>,
}

impl Report {
    /// The VERDICT event, if the guest got that far.
    pub(crate) fn verdict(&self) -> Option<(bool, usize, usize)> {
        self.events.iter().find_map(|e| match e {
            Event::Verdict {
                passed,
                npassed,
                nfailed,
            } => Some((*passed, *npassed, *nfailed)),
            _ => None,
        })
    }
}

/// Seconds the host waits for the guest to power off after its verdict.
const POWEROFF_GRACE: Duration = Duration::from_secs(30);

/// Boots `suite`'s guest in `mode`, calling `on_event` for each event as it arrives.
pub(crate) fn boot(
    payload: &Payload,
    suite: Suite,
    mode: &Mode,
    on_event: &mut dyn FnMut(&Event),
) -> Result<Report, String> {
    let image = image::ensure(suite, false)?;
    let (accel, why) = match suite.arch() {
        GuestArch::Amd64 => accel::detect(&image.kernel),
        GuestArch::Arm64 => (
            Accel::TcgArm64,
            "another architecture than the host's".to_string(),
        ),
    };
    let qemu = super::foreign::qemu_for(suite.arch())?;
    let dir = run_dir(&format!("{}-{}", mode.word(), suite.name()))?;
    // The payload is rebuilt for every run (tens of MB); the logs are what is worth keeping.
    let remove_payload = || {
        let _ = std::fs::remove_file(dir.join("payload.img"));
        let _ = std::fs::remove_dir_all(dir.join("payload"));
    };
    let exports = payload
        .exports
        .iter()
        .find(|(a, _)| *a == suite.arch())
        .map(|(_, d)| d.as_path());
    let disk = make_payload(
        &dir,
        mode,
        accel,
        payload.bins(suite.arch())?,
        exports,
        &payload.copies,
    )
    .inspect_err(|_| remove_payload())?;
    eprintln!(
        "xtask: booting the {} guest under {} ({why}); logs in {}",
        suite.name(),
        accel.name(),
        dir.display()
    );
    let mut cmd = qemu_command(&qemu, &image, &disk, &dir, mode, accel);
    let start = Instant::now();
    let child = std::fs::write(dir.join("qemu-command.txt"), format!("{}\n", show(&cmd)))
        .map_err(|e| format!("writing qemu-command.txt: {e}"))
        .and_then(|()| {
            cmd.spawn()
                .map_err(|e| format!("could not start {}: {e}", show(&cmd)))
        })
        .inspect_err(|_| remove_payload())?;
    let mut report = Report {
        suite,
        dir: dir.clone(),
        accel,
        events: Vec::new(),
        boot_to_ready: None,
        total: 0.0,
        problem: None,
    };
    let followed = follow(child, mode, accel, start, &mut report, on_event);
    report.total = start.elapsed().as_secs_f64();
    save_logs(&report);
    remove_payload();
    followed.map(|()| report)
}

/// `cargo build -p vmtests -p echod --bins` and stream-pfd's axum example (debug: it shares the
/// host tests' build, and the guest work is dominated by systemd and process start-up, not by
/// echod's code).
fn build_guest_binaries() -> Result<Vec<PathBuf>, String> {
    build_guest_binaries_for(None)
}

/// The guest binaries for the host's architecture (`None`) or, with the cross toolchain, for
/// arm64: the same packages, features and examples either way.
pub(crate) fn build_guest_binaries_for(
    cross: Option<&super::cross::Toolchain>,
) -> Result<Vec<PathBuf>, String> {
    let for_what = if cross.is_some() { " for arm64" } else { "" };
    eprintln!(
        "xtask: building the guest binaries{for_what} (vm-guest, echod, stream-pfd's axum example)"
    );
    let cargo_for = |subcommand: &str| match cross {
        Some(tc) => tc.cargo(subcommand),
        None => {
            let mut cmd = cargo();
            cmd.arg(subcommand);
            cmd
        }
    };
    run(cargo_for("build").args([
        "--quiet",
        "--package",
        "vmtests",
        "--package",
        "echod",
        "--bins",
    ]))?;
    run(cargo_for("build").args([
        "--quiet",
        "--package",
        "stream-pfd",
        "--features",
        "axum,notify",
        "--example",
        "axum",
    ]))?;
    let debug = match cross {
        Some(_) => super::cross::Toolchain::debug_dir(),
        None => target_dir().join("debug"),
    };
    let runner = debug.join("vm-guest");
    if !runner.is_file() {
        return Err(format!("{} was not built", runner.display()));
    }
    let mut bins = vec![runner];
    let echod = debug.join("echod");
    if echod.is_file() {
        bins.push(echod);
    } else {
        eprintln!(
            "xtask: warning: {} does not exist; echod scenarios will fail",
            echod.display()
        );
    }
    // Copied into the payload under its file name: `axum` (installed as /usr/local/bin/axum).
    let axum = debug.join("examples").join("axum");
    if axum.is_file() {
        bins.push(axum);
    }
    bins.push(conformance_binary(cross)?);
    bins.push(test_binary(
        cross,
        enforce_build(),
        "enforce",
        "seccomp-enforce",
    )?);
    Ok(bins)
}

/// `cargo test --no-run` of seccomp-sets' conformance test binary, as the host step builds it
/// (the same packages and features, so that the two share one build; a host test of
/// `host.rs` holds the two command lines together).
pub(crate) fn conformance_build() -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--all-features"])
        .args(["--package", "echod", "--package", "seccomp-sets"])
        .args(["--test", "conformance"]);
    cmd
}

/// seccomp-sets' enforcement test (scenario enforce-native runs it in each guest), built as
/// the host's workspace step builds it.
fn enforce_build() -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--all-features", "--package", "seccomp-sets"])
        .args(["--test", "enforce"]);
    cmd
}

/// Builds seccomp-sets' conformance test binary (the VM scenario qemu-conformance runs its
/// QEMU tests in each guest) and copies it to `target/vmtests/seccomp-conformance`
/// (`target/vmtests/arm64/` for arm64), the name the guest runner installs it under.
fn conformance_binary(cross: Option<&super::cross::Toolchain>) -> Result<PathBuf, String> {
    test_binary(
        cross,
        conformance_build(),
        "conformance",
        "seccomp-conformance",
    )
}

/// Builds the integration test `test` with `build` (`cargo test ...`, for arm64 with the cross
/// toolchain) and copies its executable to `target/vmtests/[arm64/]NAME`.
fn test_binary(
    cross: Option<&super::cross::Toolchain>,
    build: Command,
    test: &str,
    name: &str,
) -> Result<PathBuf, String> {
    let mut cmd = match cross {
        Some(tc) => {
            let mut cmd = tc.cargo("test");
            cmd.args(build.get_args().skip(1));
            cmd
        }
        None => build,
    };
    cmd.args(["--no-run", "--message-format=json-render-diagnostics"]);
    let shown = show(&cmd);
    eprintln!("$ {shown}");
    let out = crate::util::output(&mut cmd)?;
    let exe = test_executable(&out, test)
        .ok_or_else(|| format!("`{shown}` named no executable for the {test} test"))?;
    let mut dir = target_dir().join("vmtests");
    if cross.is_some() {
        dir.push("arm64");
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let to = dir.join(name);
    std::fs::copy(&exe, &to)
        .map_err(|e| format!("copying {} to {}: {e}", exe.display(), to.display()))?;
    Ok(to)
}

/// The `executable` of the integration test target `test` in cargo's JSON messages.
fn test_executable(messages: &str, test: &str) -> Option<PathBuf> {
    messages.lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let target = v.get("target")?;
        let is_test = target.get("kind")?.as_array()?.iter().any(|k| k == "test");
        if v.get("reason")? != "compiler-artifact" || target.get("name")? != test || !is_test {
            return None;
        }
        Some(PathBuf::from(v.get("executable")?.as_str()?))
    })
}

/// `target/vmtests/<UTC date-time>-<mode>/`, plus a `latest` symlink to it.
fn run_dir(mode: &str) -> Result<PathBuf, String> {
    let base = target_dir().join("vmtests");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stamp = crate::util::utc_stamp(now)?;
    let mut dir = base.join(format!("{stamp}-{mode}"));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = base.join(format!("{stamp}-{mode}-{n}"));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    // `latest` is replaced atomically (guests booting at once each point it at their run).
    if let Some(name) = dir.file_name() {
        let tmp = base.join(format!(".latest-{}-{mode}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        if std::os::unix::fs::symlink(name, &tmp).is_ok() {
            let _ = std::fs::rename(&tmp, base.join("latest"));
        }
    }
    Ok(dir)
}

/// The second disk: guest binaries, the manifest and (command mode) the command.
fn make_payload(
    dir: &Path,
    mode: &Mode,
    accel: Accel,
    bins: &[PathBuf],
    exports: Option<&Path>,
    copies: &[CopyIn],
) -> Result<PathBuf, String> {
    let root = dir.join("payload");
    std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let mut bytes: u64 = 0;
    for b in bins {
        let name = b.file_name().ok_or("binary without a name")?;
        let to = root.join(name);
        bytes += std::fs::copy(b, &to).map_err(|e| format!("copying {}: {e}", b.display()))?;
    }
    if let Some(exports) = exports {
        bytes += copy_tree(exports, &root.join("exports"), true)?;
    }
    // `--copy`: payload/copy/<n>/<name>, and one `<n>/<name>\t<guest path>` line per copy.
    let mut list = String::new();
    for (n, c) in copies.iter().enumerate() {
        let to = root.join("copy").join(n.to_string()).join(&c.name);
        bytes += copy_tree(&c.src, &to, true)?;
        list.push_str(&format!("{n}/{}\t{}\n", c.name, c.dest));
    }
    if !list.is_empty() {
        std::fs::write(root.join("copies"), list)
            .map_err(|e| format!("writing the copy list: {e}"))?;
    }
    let mut manifest = format!("mode={}\nscale={}\n", mode.word(), accel.scale());
    if let Mode::Suite { only } = mode {
        manifest.push_str(&format!("scenarios={}\n", only.join(",")));
    }
    if let Ok(term) = std::env::var("TERM") {
        manifest.push_str(&format!("term={term}\n"));
    }
    if let Mode::Shell = mode {
        if let Some((rows, cols)) = terminal_size() {
            manifest.push_str(&format!("rows={rows}\ncols={cols}\n"));
        }
    }
    if let Mode::Command(c) = mode {
        std::fs::write(root.join("command"), c).map_err(|e| format!("writing the command: {e}"))?;
    }
    std::fs::write(root.join("manifest"), manifest)
        .map_err(|e| format!("writing the manifest: {e}"))?;
    let img = dir.join("payload.img");
    let mb = bytes / (1 << 20) * 5 / 4 + 16;
    let mkfs = find_command("mkfs.ext4")
        .ok_or("mkfs.ext4 is not installed; run `cargo xtask deps` as root")?;
    let out = Command::new(mkfs)
        .args([
            "-q",
            "-F",
            "-t",
            "ext4",
            "-O",
            "^has_journal",
            "-E",
            "root_owner=0:0",
            "-d",
        ])
        .arg(&root)
        .arg(&img)
        .arg(format!("{mb}M"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run mkfs.ext4: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mkfs.ext4 for the payload failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(img)
}

/// Copies a file or a directory tree (modes kept; symlinks inside a tree copied as links, the
/// top one followed); returns the bytes. Sockets, FIFOs and devices are refused (reading a
/// FIFO would block).
fn copy_tree(from: &Path, to: &Path, top: bool) -> Result<u64, String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    let meta = if top {
        std::fs::metadata(from)
    } else {
        std::fs::symlink_metadata(from)
    }
    .map_err(|e| format!("reading {}: {e}", from.display()))?;
    if !(meta.is_file() || meta.is_dir() || meta.file_type().is_symlink()) {
        return Err(format!(
            "--copy: {} is not a regular file, directory or symlink",
            from.display()
        ));
    }
    if meta.file_type().is_symlink() {
        let target =
            std::fs::read_link(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
        std::os::unix::fs::symlink(&target, to)
            .map_err(|e| format!("copying the link {}: {e}", from.display()))?;
        return Ok(0);
    }
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
        let mut bytes = 0;
        let entries =
            std::fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("reading {}: {e}", from.display()))?;
            bytes += copy_tree(&e.path(), &to.join(e.file_name()), false)?;
        }
        return Ok(bytes);
    }
    std::fs::copy(from, to).map_err(|e| format!("copying {}: {e}", from.display()))
}

fn terminal_size() -> Option<(u32, u32)> {
    let out = Command::new("stty")
        .arg("size")
        .stdin(Stdio::inherit())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace().map(|w| w.parse().ok());
    Some((it.next()??, it.next()??))
}

fn qemu_command(
    qemu: &Path,
    image: &Image,
    payload: &Path,
    dir: &Path,
    mode: &Mode,
    accel: Accel,
) -> Command {
    let mut c = Command::new(qemu);
    c.args(accel.qemu_args());
    c.args(["-m", "1024", "-smp", "2"]);
    c.args([
        "-nodefaults",
        "-no-user-config",
        "-no-reboot",
        "-display",
        "none",
    ]);
    c.arg("-kernel").arg(&image.kernel);
    // No initrd: the cloud kernel has NVMe built in (virtio-blk is a module), which saves the
    // whole initramfs stage (seconds under TCG). One NVMe controller with two namespaces: the
    // root (a snapshot, found by its partition's id: newer kernels scan namespaces in
    // parallel, so names are not stable) and the per-run payload (a disk without partitions,
    // which is how harden-guest finds it). The console's terminal type and size are given, so
    // systemd >= 257 does not query the serial console and wait for an answer that never
    // comes (about 1 s of sid's boot under TCG).
    c.arg("-append").arg(format!(
        "root=PARTUUID={} rootwait rw rootfstype=ext4 console={} quiet loglevel=3 panic=-1 \
         mitigations=off systemd.show_status=false harden.payload systemd.tty.term.console=vt220 systemd.tty.columns.console=80 systemd.tty.rows.console=24",
        image::ROOT_PARTUUID,
        accel.console()
    ));
    c.arg("-drive").arg(format!(
        "file={},format=raw,if=none,id=root,snapshot=on,cache=unsafe",
        image.root.display()
    ));
    c.arg("-drive").arg(format!(
        "file={},format=raw,if=none,id=payload,readonly=on",
        payload.display()
    ));
    c.args(["-device", "nvme,id=nvme0,serial=harden"]);
    c.args(["-device", "nvme-ns,drive=root,bus=nvme0,nsid=1"]);
    c.args(["-device", "nvme-ns,drive=payload,bus=nvme0,nsid=2"]);
    c.args(["-device", "virtio-serial-pci"]);
    for (id, file, port) in [
        ("results", "results.txt", "harden.results"),
        ("journal", "journal.txt", "harden.journal"),
    ] {
        c.arg("-chardev")
            .arg(format!("file,id={id},path={}", dir.join(file).display()));
        c.arg("-device")
            .arg(format!("virtserialport,chardev={id},name={port}"));
    }
    c.arg("-chardev").arg(format!(
        "file,id=console,path={}",
        dir.join("console.log").display()
    ));
    c.args(["-serial", "chardev:console"]);
    match mode {
        Mode::Shell => {
            c.args(["-chardev", "stdio,id=term,signal=off"]);
            c.args(["-device", "virtconsole,chardev=term"]);
            c.stdin(Stdio::inherit()).stdout(Stdio::inherit());
        }
        Mode::Command(_) => {
            // A file, copied to our stdout as it grows: a stdio chardev whose stdin is at EOF
            // counts as disconnected, and the guest's writes to the port would block.
            c.arg("-chardev").arg(format!(
                "file,id=output,path={}",
                dir.join("output.txt").display()
            ));
            c.args([
                "-device",
                "virtserialport,chardev=output,name=harden.output",
            ]);
            c.stdin(Stdio::null()).stdout(Stdio::null());
        }
        Mode::Suite { .. } | Mode::Demo => {
            c.stdin(Stdio::null());
            c.stdout(Stdio::null());
        }
    }
    match File::create(dir.join("qemu.log")) {
        Ok(f) => {
            c.stderr(f);
        }
        Err(_) => {
            c.stderr(Stdio::inherit());
        }
    }
    c
}

/// Follows the results file until QEMU exits, enforcing the time limits.
fn follow(
    mut child: Child,
    mode: &Mode,
    accel: Accel,
    start: Instant,
    report: &mut Report,
    on_event: &mut dyn FnMut(&Event),
) -> Result<(), String> {
    let scale = accel.scale();
    let boot_limit = Duration::from_secs(30) * scale;
    let interactive = matches!(mode, Mode::Shell);
    let results_path = report.dir.join("results.txt");
    let mut file: Option<File> = None;
    let mut pending = String::new();
    // (what the guest is doing, until when it may do it)
    let mut doing = ("booting".to_string(), start + boot_limit);
    let mut verdict_at: Option<Instant> = None;
    let mut output: Option<File> = None;
    loop {
        let exited = match child.try_wait() {
            Ok(e) => e,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("waiting for QEMU: {e}"));
            }
        };
        if let Mode::Command(_) = mode {
            if output.is_none() {
                output = File::open(report.dir.join("output.txt")).ok();
            }
            if let Some(f) = output.as_mut() {
                let mut buf = Vec::new();
                if f.read_to_end(&mut buf).is_ok() && !buf.is_empty() {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buf);
                    let _ = out.flush();
                }
            }
        }
        if file.is_none() {
            file = File::open(&results_path).ok();
        }
        if let Some(f) = file.as_mut() {
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            pending.push_str(&String::from_utf8_lossy(&buf));
            while let Some(nl) = pending.find('\n') {
                let line: String = pending.drain(..=nl).collect();
                let ev = results::parse(line.trim_end_matches('\n'));
                match &ev {
                    Event::Ready { .. } => {
                        report.boot_to_ready = Some(start.elapsed().as_secs_f64());
                        doing = (
                            "starting the first scenario".into(),
                            Instant::now() + boot_limit,
                        );
                    }
                    Event::Begin { name, limit } => {
                        let secs = limit.unwrap_or(60 * u64::from(scale)) + 30 * u64::from(scale);
                        doing = (
                            format!("running `{name}`"),
                            Instant::now() + Duration::from_secs(secs),
                        );
                    }
                    Event::Result { .. } => {
                        doing = ("between scenarios".into(), Instant::now() + boot_limit);
                    }
                    Event::Verdict { .. } | Event::Exit(_) => {
                        verdict_at = Some(Instant::now());
                        doing = ("powering off".into(), Instant::now() + POWEROFF_GRACE);
                    }
                    _ => {}
                }
                on_event(&ev);
                report.events.push(ev);
            }
        }
        if let Some(status) = exited {
            if report.verdict().is_none() && !matches!(mode, Mode::Command(_)) {
                report.problem = Some(format!(
                    "the guest stopped ({status}) without a verdict while {}; see {}",
                    doing.0,
                    report.dir.join("console.log").display()
                ));
            }
            if matches!(mode, Mode::Command(_))
                && !report.events.iter().any(|e| matches!(e, Event::Exit(_)))
            {
                report.problem = Some(format!(
                    "the guest stopped ({status}) before the command finished; see {}",
                    report.dir.join("console.log").display()
                ));
            }
            return Ok(());
        }
        let now = Instant::now();
        let hung = now > doing.1 && watched(mode, report.boot_to_ready.is_some(), verdict_at);
        if hung && !interactive {
            let _ = child.kill();
            let _ = child.wait();
            if verdict_at.is_none() {
                report.problem = Some(format!(
                    "the guest hung while {} and was killed after {:.0} s; see {} and {}",
                    doing.0,
                    start.elapsed().as_secs_f64(),
                    report.dir.join("console.log").display(),
                    report.dir.join("journal.txt").display()
                ));
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the time limits apply now: always in the suite and the demo, never in a shell; for
/// one command while the guest boots and once the command has exited (the guest must then
/// power off within [`POWEROFF_GRACE`]), but not while the command runs, however long.
fn watched(mode: &Mode, ready: bool, verdict_at: Option<Instant>) -> bool {
    match mode {
        Mode::Shell => false,
        Mode::Command(_) => !ready || verdict_at.is_some(),
        Mode::Suite { .. } | Mode::Demo => true,
    }
}

/// LOG lines go to `<run>/<scenario>.log`; a summary goes to `<run>/summary.txt`.
fn save_logs(report: &Report) {
    let mut files: Vec<(String, File)> = Vec::new();
    for e in &report.events {
        if let Event::Log { name, text } = e {
            let idx = match files.iter().position(|(n, _)| n == name) {
                Some(i) => i,
                None => match File::create(report.dir.join(format!("{name}.log"))) {
                    Ok(f) => {
                        files.push((name.clone(), f));
                        files.len() - 1
                    }
                    Err(_) => continue,
                },
            };
            let _ = writeln!(files[idx].1, "{text}");
        }
    }
    let mut s = format!(
        "accelerator {}\nboot-to-ready {}\ntotal {:.1}\n",
        report.accel.name(),
        report
            .boot_to_ready
            .map(|b| format!("{b:.1}"))
            .unwrap_or_else(|| "-".into()),
        report.total
    );
    if let Some(p) = &report.problem {
        s.push_str(&format!("problem {p}\n"));
    }
    let _ = std::fs::write(report.dir.join("summary.txt"), s);
}

/// Whether stdin is a terminal (an interactive shell needs one).
pub(crate) fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_conformance_executable_is_read_from_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"conformance"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["test"],"name":"it"},"executable":"/t/it-1"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["test"],"name":"conformance"},"executable":"/t/conformance-2"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            test_executable(messages, "conformance"),
            Some(PathBuf::from("/t/conformance-2"))
        );
        assert_eq!(
            test_executable(messages, "it"),
            Some(PathBuf::from("/t/it-1"))
        );
        assert_eq!(test_executable(messages, "enforce"), None);
        assert_eq!(test_executable("not json\n", "conformance"), None);
    }

    use super::*;

    #[test]
    fn a_command_is_timed_while_booting_and_powering_off_not_while_it_runs() {
        let cmd = Mode::Command("sleep 600".into());
        assert!(watched(&cmd, false, None), "booting");
        assert!(!watched(&cmd, true, None), "running the command");
        assert!(watched(&cmd, true, Some(Instant::now())), "powering off");
        assert!(!watched(&Mode::Shell, true, Some(Instant::now())));
        assert!(watched(&Mode::Suite { only: vec![] }, true, None));
        assert!(watched(&Mode::Demo, false, None));
    }

    #[test]
    fn copies_go_where_an_integrator_expects() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("xtask-copy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let unit = dir.join("my.service");
        let bin = dir.join("mydaemon");
        let data = dir.join("data.txt");
        for f in [&unit, &bin, &data] {
            std::fs::write(f, "x").unwrap();
        }
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dest = |a: &Path| CopyIn::parse(a.to_str().unwrap()).unwrap().dest;
        assert_eq!(dest(&unit), "/etc/systemd/system/my.service");
        assert_eq!(dest(&bin), "/usr/local/bin/mydaemon");
        assert_eq!(dest(&data), "/root/data.txt");
        assert_eq!(
            dest(&dir),
            format!("/root/{}", dir.file_name().unwrap().to_string_lossy())
        );
        let explicit = CopyIn::parse(&format!("{}:/opt/x/d.txt", data.display())).unwrap();
        assert_eq!(
            (explicit.src, explicit.dest.as_str()),
            (data.clone(), "/opt/x/d.txt")
        );
        let missing = CopyIn::parse("/no/such/file").unwrap_err();
        assert!(missing.contains("cannot read /no/such/file"), "{missing}");
        let dots = CopyIn::parse(&format!("{}:/etc/../x", data.display())).unwrap_err();
        assert!(dots.contains("without `..`"), "{dots}");
        let copied = dir.join("out");
        assert_eq!(copy_tree(&bin, &copied.join("b"), true).unwrap(), 1);
        // A link given as SRC is followed; one inside a tree stays a link.
        let link = dir.join("link");
        std::os::unix::fs::symlink(&bin, &link).unwrap();
        assert_eq!(
            CopyIn::parse(link.to_str().unwrap()).unwrap().dest,
            "/usr/local/bin/link"
        );
        copy_tree(&link, &copied.join("l"), true).unwrap();
        assert!(
            std::fs::symlink_metadata(copied.join("l"))
                .unwrap()
                .is_file()
        );
        let dot = CopyIn::parse(&format!("{}/.", dir.display())).unwrap();
        assert_eq!(dot.name, dir.file_name().unwrap().to_str().unwrap());
        let tab = dir.join("a\tb");
        std::fs::write(&tab, "x").unwrap();
        assert!(
            CopyIn::parse(tab.to_str().unwrap())
                .unwrap_err()
                .contains("without tabs")
        );
        let mode = std::fs::metadata(copied.join("b"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
