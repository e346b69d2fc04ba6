//! Help texts for the option, in the style of QEMU's `qemu-options.hx`.

/// The one-line grammar of the option.
///
/// ```
/// assert!(sandbox_opts::help::GRAMMAR.starts_with("on|off[,obsolete=allow|deny]"));
/// ```
pub const GRAMMAR: &str = "on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|children][,spawn=allow|deny][,resourcecontrol=allow|deny]";

/// A short, one-line description for `--help` (clap's `help`).
///
/// ```
/// assert!(sandbox_opts::help::SHORT_HELP.contains("Seccomp sandbox"));
/// ```
pub const SHORT_HELP: &str = "Seccomp sandbox, QEMU -sandbox syntax: on|off[,obsolete=..][,elevateprivileges=..][,spawn=..][,resourcecontrol=..]";

/// The full help text: grammar, then one paragraph per key (clap's `long_help`).
///
/// ```
/// assert!(sandbox_opts::help::HELP.contains("elevateprivileges=allow|deny|children"));
/// ```
pub const HELP: &str = "\
on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|children]
      [,spawn=allow|deny][,resourcecontrol=allow|deny]
    Turn the seccomp system call filter on or off (default: off).
    The first item may omit its key: 'on' means 'enable=on'. enable also
    accepts yes/true/y and no/false/n. A repeated key takes its last value.
    obsolete=allow
        allow obsolete system calls that modern C libraries no longer use
        (default: deny)
    elevateprivileges=deny|children
        deny set*uid/set*gid and similar calls; 'children' also sets
        no_new_privs so that executed programs cannot gain privileges
        (default: allow)
    spawn=deny
        deny creating processes (fork, clone) and running programs (execve)
        (default: allow)
    resourcecontrol=deny
        deny changing scheduling priority and CPU affinity (default: allow)";
