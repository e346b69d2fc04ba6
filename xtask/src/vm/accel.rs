//! KVM when it truly works, TCG otherwise.
//!
//! `/dev/kvm` can exist on a machine whose KVM cannot boot a stock kernel (software-nested
//! virtualisation, e.g. PVM): we check that /dev/kvm opens, that the CPU has vmx/svm, that no
//! `kvm_pvm` module is loaded, and finally boot the guest kernel with KVM as a canary: no
//! "Linux version" on the serial console within 15 s means TCG. The canary's verdict is cached
//! per host boot (keyed by /proc/sys/kernel/random/boot_id). `HARDEN_VM_ACCEL=kvm|tcg` overrides.

use super::paths::{cache_root, qemu_binary};
use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The accelerator a guest runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accel {
    Kvm,
    Tcg,
    /// TCG running an arm64 guest (`qemu-system-aarch64 -M virt`): another architecture is
    /// always emulated, and costs more per instruction than x86-64 on x86-64.
    TcgArm64,
}

impl Accel {
    /// Multiplier for time limits (TCG emulates every instruction).
    pub(crate) fn scale(self) -> u32 {
        match self {
            Accel::Kvm => 1,
            Accel::Tcg => 4,
            Accel::TcgArm64 => 8,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG",
            Accel::TcgArm64 => "TCG (arm64)",
        }
    }

    /// QEMU arguments selecting it.
    pub(crate) fn qemu_args(self) -> &'static [&'static str] {
        match self {
            Accel::Kvm => &["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => &["-accel", "tcg,thread=multi", "-cpu", "max"],
            // `max` with QEMU's own pointer-authentication algorithm: the architected one
            // costs TCG dearly.
            Accel::TcgArm64 => &[
                "-M",
                "virt",
                "-accel",
                "tcg,thread=multi",
                "-cpu",
                "max,pauth-impdef=on",
            ],
        }
    }

    /// The kernel's console: the machine's first serial port.
    pub(crate) fn console(self) -> &'static str {
        match self {
            Accel::Kvm | Accel::Tcg => "ttyS0",
            Accel::TcgArm64 => "ttyAMA0",
        }
    }
}

/// Picks the accelerator (and says why). Guests booting at once (`HARDEN_VM_JOBS`) share one
/// answer: the first caller runs the canary, the others wait for it and reuse its result.
pub(crate) fn detect(kernel: &Path) -> (Accel, String) {
    static ANSWER: std::sync::Mutex<Option<(Accel, String)>> = std::sync::Mutex::new(None);
    let mut answer = ANSWER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = answer.as_ref() {
        return a.clone();
    }
    let a = detect_once(kernel);
    *answer = Some(a.clone());
    a
}

fn detect_once(kernel: &Path) -> (Accel, String) {
    match std::env::var("HARDEN_VM_ACCEL").as_deref() {
        Ok("kvm") => return (Accel::Kvm, "HARDEN_VM_ACCEL=kvm".into()),
        Ok("tcg") => return (Accel::Tcg, "HARDEN_VM_ACCEL=tcg".into()),
        _ => {}
    }
    if let Err(e) = OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        return (Accel::Tcg, format!("/dev/kvm cannot be opened ({e})"));
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let has_virt = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    if !has_virt {
        return (
            Accel::Tcg,
            "/dev/kvm exists but the CPU has no vmx/svm (software-nested KVM)".into(),
        );
    }
    if Path::new("/sys/module/kvm_pvm").exists() {
        return (
            Accel::Tcg,
            "/dev/kvm is PVM (kvm_pvm), which cannot boot a stock kernel".into(),
        );
    }
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap_or_default()
        .trim()
        .to_string();
    let cache = cache_root()
        .ok()
        .map(|d| d.join(format!("kvm-canary-{boot_id}")));
    if let Some(c) = &cache {
        match std::fs::read_to_string(c).as_deref() {
            Ok("ok") => {
                return (
                    Accel::Kvm,
                    "KVM canary passed earlier this host boot".into(),
                );
            }
            Ok("fail") => {
                return (
                    Accel::Tcg,
                    "KVM canary failed earlier this host boot (no kernel output)".into(),
                );
            }
            _ => {}
        }
    }
    let ok = canary(kernel);
    if let Some(c) = &cache {
        if let Some(d) = c.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let _ = std::fs::write(c, if ok { "ok" } else { "fail" });
    }
    if ok {
        (Accel::Kvm, "KVM canary booted the guest kernel".into())
    } else {
        (
            Accel::Tcg,
            "KVM canary: no \"Linux version\" on the console within 15 s".into(),
        )
    }
}

/// Boots the kernel alone under KVM and waits for its banner on the serial console.
fn canary(kernel: &Path) -> bool {
    let dir = std::env::temp_dir().join(format!("harden-kvm-canary-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let log = dir.join("console.log");
    eprintln!("xtask: checking that KVM really boots a kernel (up to 15 s)...");
    let child = Command::new(qemu_binary())
        .args(Accel::Kvm.qemu_args())
        .args(["-m", "256", "-nodefaults", "-no-reboot", "-display", "none"])
        .arg("-kernel")
        .arg(kernel)
        .args(["-append", "console=ttyS0 panic=-1"])
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) => return false,
    };
    let start = Instant::now();
    let mut ok = false;
    while start.elapsed() < Duration::from_secs(15) {
        if std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Linux version")) {
            ok = true;
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    ok
}
