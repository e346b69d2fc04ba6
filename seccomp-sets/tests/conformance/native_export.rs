//! The export for another ABI is the program that ABI's build loads: `seccomp-sets export
//! --format bpf --arch aarch64`, run on the x86-64 host, must write byte for byte the program
//! the arm64 build of the library builds and the arm64 kernel holds once it is loaded.
//!
//! `cargo xtask` runs [`export_on_this_host`] on the host to put the CLI's exports (for the
//! guest's ABI, every `on` configuration) into each VM payload; the guest's scenario
//! `export-equals-native` runs [`the_exported_program_is_what_this_build_loads`] with
//! `HARDEN_HOST_EXPORTS` naming them. Without that variable (the host's own run) the test
//! exports for the native ABI itself, with this build's CLI, and holds it to the same check.
//!
//! The loaded program is read back from a child that loaded it (this test binary, started
//! again as [`load_and_wait`]) with `PTRACE_SECCOMP_GET_FILTER` (root).

use crate::qemu::installed_filters;
use sandbox_opts::Sandbox;
use seccomp_sets::{Arch, Filter, KillAction, Mode};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

/// Every `on` configuration (the QEMU conformance's 24).
fn configurations() -> Vec<String> {
    crate::qemu_conformance::configurations()
}

/// The file that lists the exports: one `FILE\tARCH\tSANDBOX` line each.
const INDEX: &str = "index";

/// Writes `seccomp-sets export --format bpf --kill process --arch ARCH` of every
/// configuration into `dir`, with the CLI built beside this test, and the index.
fn export_with_cli(dir: &Path, arch: Arch) -> Result<usize, String> {
    let cli = option_env!("CARGO_BIN_EXE_seccomp-sets")
        .ok_or("this test binary was built without the seccomp-sets CLI (build --all-features)")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut index = String::new();
    for (n, sandbox) in configurations().iter().enumerate() {
        let file = format!("{n:02}.bpf");
        let out = Command::new(cli)
            .args([
                "export",
                "--format",
                "bpf",
                "--kill",
                "process",
                "--sandbox",
            ])
            .arg(sandbox)
            .arg("--arch")
            .arg(arch.to_string())
            .arg("-o")
            .arg(dir.join(&file))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{cli}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "seccomp-sets export --sandbox {sandbox} --arch {arch}: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        index.push_str(&format!("{file}\t{arch}\t{sandbox}\n"));
    }
    std::fs::write(dir.join(INDEX), index).map_err(|e| format!("writing the index: {e}"))?;
    Ok(configurations().len())
}

/// What this build makes of `sandbox` for its own ABI, as the CLI's export does.
fn built_here(sandbox: &str) -> Vec<u8> {
    let parsed: Sandbox = sandbox
        .parse()
        .unwrap_or_else(|e| panic!("-sandbox {sandbox}: {e}"));
    Filter::builder(&parsed)
        .mode(Mode::Enforce)
        .arch(Arch::native())
        .kill_action(KillAction::Process)
        .build()
        .unwrap_or_else(|e| panic!("-sandbox {sandbox}: {e}"))
        .export_bpf()
}

/// The program `sandbox` leaves in the kernel once this build loads it (read from a child).
fn loaded_here(sandbox: &str) -> Result<Vec<u8>, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(me)
        .args([
            "--exact",
            "native_export::load_and_wait",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads=1", "-q"])
        .env("HARDEN_NATIVE_LOAD", sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut tid = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(t) = line.strip_prefix("loaded in thread ") {
            tid = t.trim().parse::<libc::pid_t>().ok();
            break;
        }
    }
    let read = match tid {
        Some(tid) => installed_filters(tid),
        None => Err("the loader child never said it had loaded the filter".to_string()),
    };
    let _ = child.kill();
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let filters =
        read.map_err(|e| format!("{e}; child said: {}", String::from_utf8_lossy(&out.stderr)))?;
    let [program] = filters.as_slice() else {
        return Err(format!("the child holds {} filters, not 1", filters.len()));
    };
    Ok(crate::bpf::encode(program))
}

/// Where two programs first differ, in instructions.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    format!(
        "{} and {} instructions, first different at instruction {}",
        a.len() / 8,
        b.len() / 8,
        at / 8
    )
}

#[test]
fn the_exported_program_is_what_this_build_loads() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    test_support::require!(
        root,
        "reading the loaded program with PTRACE_SECCOMP_GET_FILTER needs root"
    );
    let own = test_support::TempDir::new("native-export");
    let (dir, whose) = match std::env::var_os("HARDEN_HOST_EXPORTS") {
        Some(d) => (std::path::PathBuf::from(d), "the host's"),
        None => {
            export_with_cli(own.path(), Arch::native()).unwrap_or_else(|e| panic!("{e}"));
            (own.path().to_path_buf(), "this build's")
        }
    };
    let index = std::fs::read_to_string(dir.join(INDEX))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(INDEX).display()));
    let mut problems = Vec::new();
    let (mut same, mut instructions) = (0, 0);
    for line in index.lines() {
        let [file, arch, sandbox] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("bad index line {line:?}: expected FILE<TAB>ARCH<TAB>SANDBOX");
        };
        assert_eq!(
            arch,
            Arch::native().to_string(),
            "{file} was exported for {arch}: this build's ABI is {}",
            Arch::native()
        );
        let exported = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let built = built_here(sandbox);
        if exported != built {
            problems.push(format!(
                "-sandbox {sandbox}: {whose} export and this build's program differ ({})",
                first_difference(&exported, &built)
            ));
            continue;
        }
        match loaded_here(sandbox) {
            Ok(loaded) if loaded == exported => {
                same += 1;
                instructions += exported.len() / 8;
            }
            Ok(loaded) => problems.push(format!(
                "-sandbox {sandbox}: the kernel holds another program than the export ({})",
                first_difference(&exported, &loaded)
            )),
            Err(e) => problems.push(format!("-sandbox {sandbox}: {e}")),
        }
    }
    let n = index.lines().count();
    assert!(
        n >= configurations().len(),
        "{n} exports listed in {}",
        dir.display()
    );
    println!(
        "native export ({}): {n} configurations exported by {whose} `seccomp-sets export \
         --arch {}`; {same} byte-identical to the program this build loads ({instructions} \
         instructions in all), {} different",
        Arch::native(),
        Arch::native(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Not a test on its own: `cargo xtask` runs it on the host, with `HARDEN_EXPORT_TO=DIR` and
/// `HARDEN_EXPORT_ARCH=ABI`, to write the CLI's exports for a guest of that ABI.
#[test]
#[ignore = "run by cargo xtask (HARDEN_EXPORT_TO, HARDEN_EXPORT_ARCH) to fill a VM payload"]
fn export_on_this_host() {
    let dir = std::env::var_os("HARDEN_EXPORT_TO").expect("HARDEN_EXPORT_TO=DIR");
    let arch: Arch = std::env::var("HARDEN_EXPORT_ARCH")
        .expect("HARDEN_EXPORT_ARCH=ABI")
        .parse()
        .unwrap_or_else(|e| panic!("HARDEN_EXPORT_ARCH: {e}"));
    let n = export_with_cli(Path::new(&dir), arch).unwrap_or_else(|e| panic!("{e}"));
    println!("exported {n} configurations for {arch}");
}

/// Not a test on its own: the child of [`the_exported_program_is_what_this_build_loads`],
/// which loads `HARDEN_NATIVE_LOAD`'s filter, says so and waits to be read and killed.
#[test]
#[ignore = "the loader child of the_exported_program_is_what_this_build_loads"]
fn load_and_wait() {
    let sandbox = std::env::var("HARDEN_NATIVE_LOAD").expect("HARDEN_NATIVE_LOAD=SANDBOX");
    let parsed: Sandbox = sandbox.parse().expect("a valid -sandbox string");
    let filter = Filter::builder(&parsed)
        .mode(Mode::Enforce)
        .arch(Arch::native())
        .kill_action(KillAction::Process)
        .build()
        .expect("the filter builds");
    filter
        .context()
        .expect("the context builds")
        .load()
        .expect("the filter loads");
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    println!("loaded in thread {tid}");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
