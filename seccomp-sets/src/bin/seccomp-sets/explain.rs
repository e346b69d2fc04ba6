//! `list` and `explain`: the table and a filter, as text.

use seccomp_sets::table::IfMissing;
use seccomp_sets::{Arch, Effect, Filter, Mode, Set, Step};

pub(crate) fn list(arch: Arch, set: Option<Set>) -> String {
    let report = arch.resolve();
    match set {
        None => report.to_string(),
        Some(set) => {
            let only = seccomp_sets::resolve::ResolvedTable {
                arch,
                rows: report
                    .rows
                    .into_iter()
                    .filter(|r| r.rule.set == set)
                    .collect(),
            };
            only.to_string()
        }
    }
}

pub(crate) fn explain(filter: &Filter) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-sandbox {} in {} mode on {}",
        filter.label(),
        filter.mode(),
        filter.arch()
    );
    if filter.is_empty() {
        let _ = writeln!(
            out,
            "nothing is blocked: the sandbox is off or denies no set"
        );
        return out;
    }
    let _ = writeln!(out, "denied sets: {}", filter.sets());
    let _ = writeln!(out, "default action: allow");
    let _ = writeln!(
        out,
        "foreign ABIs (i386 int 0x80, x32, arm32 on arm64): {}",
        filter.bad_arch_effect()
    );
    let _ = writeln!(
        out,
        "no_new_privs: {}",
        if filter.requires_no_new_privs() {
            "set whenever the sandbox is on, as QEMU does"
        } else {
            "set only if the caller lacks CAP_SYS_ADMIN (the kernel requires one of the two)"
        }
    );
    if filter.planned().iter().any(|p| p.effect == Effect::Trap) && filter.mode() == Mode::Enforce {
        let _ = writeln!(
            out,
            "note: this kernel has no SECCOMP_RET_KILL_PROCESS; kill rows TRAP (SIGSYS)"
        );
    }
    for r in filter.relaxations_in_effect() {
        let _ = writeln!(
            out,
            "relaxed by the caller: {} (allows {}): {}",
            r.name,
            r.removes.join(", "),
            r.why
        );
    }
    for set in filter.sets() {
        let _ = writeln!(out, "\n[{set}]");
        for p in filter.planned().iter().filter(|p| p.via == set) {
            let args = seccomp_sets::resolve::describe_args(p.rule, filter.arch());
            let args = if args.is_empty() {
                "always".to_owned()
            } else {
                args
            };
            let _ = write!(
                out,
                "  {:<18} {:<4} {:<16} when {args}",
                p.rule.syscall,
                p.nr,
                p.effect.to_string()
            );
            if p.via != p.rule.set {
                let _ = write!(out, " (a {} row, also under {set})", p.rule.set);
            }
            if !p.rule.note.is_empty() {
                let _ = write!(
                    out,
                    "\n      ({}: {})",
                    p.rule.provenance.name(),
                    p.rule.note
                );
            }
            let _ = writeln!(out);
        }
        for r in filter
            .missing()
            .iter()
            .filter(|r| r.via(filter.sets()) == Some(set))
        {
            let how = match r.if_missing {
                IfMissing::Everywhere => "NOT COVERED".to_owned(),
                IfMissing::Nothing(why) => format!("nothing to block: {why}"),
                IfMissing::CoveredBy(s) => format!(
                    "covered by {} ({})",
                    s.join(", "),
                    seccomp_sets::capability::covered_in(filter, r, set)
                ),
            };
            let _ = writeln!(
                out,
                "  {:<18} missing on {}: {how}",
                r.syscall,
                filter.arch()
            );
        }
    }
    let steps = filter.steps();
    let skipped = filter.skipped();
    if !steps.is_empty() || !skipped.is_empty() {
        let _ = writeln!(
            out,
            "\n[beyond seccomp: the loader's steps, before the filter, while single-threaded]"
        );
        for s in &steps {
            let _ = writeln!(
                out,
                "  {:<15} ({}) {}\n      closes: {}\n      skip with --skip {}",
                s.name(),
                s.set(),
                s.does(),
                s.closes(),
                s.name()
            );
        }
        for s in &skipped {
            let _ = writeln!(
                out,
                "  {:<15} ({}) SKIPPED by the caller; open: {}",
                s.name(),
                s.set(),
                s.closes()
            );
        }
        if steps.contains(&Step::Landlock) {
            let _ = writeln!(
                out,
                "  this kernel: Landlock {}",
                seccomp_sets::landlock_status()
            );
        }
        if filter.is_strict() {
            let _ = writeln!(out, "  strict: a step the kernel cannot do is an error");
        }
    }
    out
}
