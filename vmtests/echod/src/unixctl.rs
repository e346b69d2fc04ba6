//! The control-socket protocol of OVS's `lib/unixctl.c`, so that the real `ovs-appctl -t PATH`
//! drives echod.
//!
//! A request is `{"method":CMD,"params":[ARG...],"id":N}` with string arguments; the reply is
//! `{"result":TEXT,"error":null,"id":N}` or `{"result":null,"error":TEXT,"id":N}`, where a
//! non-empty TEXT always ends in a newline. `ovs-appctl` prints `result` to stdout, or `error` to
//! stderr and exits 2. A connection handles one request at a time; anything but a request closes it.

use serde_json::Value;

use super::text::escape_controls;

/// One control command: its name, usage string (shown by `list-commands`), argument count bounds
/// and a one-line description (shown by `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Command {
    /// The command name (`ovs-appctl -t PATH NAME ...`).
    pub(crate) name: &'static str,
    /// Argument synopsis, as in OVS's `list-commands` output.
    pub(crate) usage: &'static str,
    /// Minimum number of arguments.
    pub(crate) min_args: usize,
    /// Maximum number of arguments.
    pub(crate) max_args: usize,
    /// What the command does.
    pub(crate) help: &'static str,
}

/// Every control command echod knows (one table). `echod/probe` is registered only with
/// `--enable-probes`.
pub(crate) const COMMANDS: &[Command] = &[
    Command {
        name: "list-commands",
        usage: "",
        min_args: 0,
        max_args: 0,
        help: "list the available commands",
    },
    Command {
        name: "version",
        usage: "",
        min_args: 0,
        max_args: 0,
        help: "print echod's version",
    },
    Command {
        name: "exit",
        usage: "",
        min_args: 0,
        max_args: 0,
        help: "stop accepting, finish in-flight replies and exit 0",
    },
    Command {
        name: "echod/add-remote",
        usage: "REMOTE",
        min_args: 1,
        max_args: 1,
        help: "serve REMOTE (origin: control socket; pfd: is always refused)",
    },
    Command {
        name: "echod/remove-remote",
        usage: "REMOTE",
        min_args: 1,
        max_args: 1,
        help: "drop the control socket's hold on REMOTE (closed if no other origin has it)",
    },
    Command {
        name: "echod/list-remotes",
        usage: "",
        min_args: 0,
        max_args: 0,
        help: "list every remote with its origin and bound address or connection state",
    },
    Command {
        name: "echod/reload",
        usage: "",
        min_args: 0,
        max_args: 0,
        help: "re-read --config-file and --remotes-file and reconcile the remotes",
    },
    Command {
        name: "echod/probe",
        usage: "ACTION",
        min_args: 1,
        max_args: 1,
        help: "attempt one sandboxed action and report what happened (--enable-probes only)",
    },
    Command {
        name: "echod/stall-watchdog",
        usage: "",
        min_args: 0,
        max_args: 0,
        help: "stop the watchdog pings, so that systemd's WatchdogSec= fires (--enable-probes only)",
    },
];

/// Commands that exist only with `--enable-probes` (test hooks).
const PROBE_COMMANDS: &[&str] = &["echod/probe", "echod/stall-watchdog"];

/// The commands registered for this run.
pub(crate) fn registered(enable_probes: bool) -> Vec<&'static Command> {
    COMMANDS
        .iter()
        .filter(|c| enable_probes || !PROBE_COMMANDS.contains(&c.name))
        .collect()
}

/// Validates a request against the registered commands, with OVS's error texts.
/// Returns the command and its string arguments.
pub(crate) fn check<'c>(
    commands: &[&'c Command],
    method: &str,
    params: &[Value],
) -> Result<(&'c Command, Vec<String>), String> {
    let Some(cmd) = commands.iter().find(|c| c.name == method) else {
        return Err(format!(
            "\"{method}\" is not a valid command (use \"list-commands\" to see a list of valid \
             commands)"
        ));
    };
    if params.len() < cmd.min_args {
        return Err(format!(
            "\"{method}\" command requires at least {} arguments",
            cmd.min_args
        ));
    }
    if params.len() > cmd.max_args {
        return Err(format!(
            "\"{method}\" command takes at most {} arguments",
            cmd.max_args
        ));
    }
    let mut args = Vec::with_capacity(params.len());
    for p in params {
        match p {
            Value::String(s) => args.push(s.clone()),
            _ => return Err(format!("\"{method}\" command has non-string argument")),
        }
    }
    Ok((cmd, args))
}

/// `list-commands` output, formatted like OVS (sorted, name padded to 23 columns).
pub(crate) fn list_commands(commands: &[&Command]) -> String {
    let mut sorted: Vec<_> = commands.to_vec();
    sorted.sort_by_key(|c| c.name);
    let mut s = String::from("The available commands are:\n");
    for c in sorted {
        s.push_str(&format!("  {:<23} {}\n", c.name, c.usage));
    }
    s
}

/// A reply body as OVS sends it: non-empty text always ends with a newline. Control
/// characters other than newlines (from a path or a remote a user wrote) are escaped, since
/// `ovs-appctl` prints the body to a terminal.
pub(crate) fn body(text: &str) -> Value {
    let text = escape_controls(text, true);
    if text.is_empty() || text.ends_with('\n') {
        Value::String(text)
    } else {
        Value::String(format!("{text}\n"))
    }
}

/// The `version` reply.
pub(crate) fn version() -> String {
    format!("echod (daemon-hardening) {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ovs_error_texts() {
        let cmds = registered(false);
        assert_eq!(
            check(&cmds, "nope", &[]).unwrap_err(),
            "\"nope\" is not a valid command (use \"list-commands\" to see a list of valid commands)"
        );
        assert_eq!(
            check(&cmds, "echod/add-remote", &[]).unwrap_err(),
            "\"echod/add-remote\" command requires at least 1 arguments"
        );
        assert_eq!(
            check(&cmds, "version", &[json!("x")]).unwrap_err(),
            "\"version\" command takes at most 0 arguments"
        );
        assert_eq!(
            check(&cmds, "echod/add-remote", &[json!(1)]).unwrap_err(),
            "\"echod/add-remote\" command has non-string argument"
        );
        assert!(check(&cmds, "echod/probe", &[json!("fork")]).is_err());
        let (c, args) = check(&registered(true), "echod/probe", &[json!("fork")]).unwrap();
        assert_eq!((c.name, args), ("echod/probe", vec!["fork".to_string()]));
    }

    #[test]
    fn bodies_end_in_newline() {
        assert_eq!(body(""), json!(""));
        assert_eq!(body("a"), json!("a\n"));
        assert_eq!(body("a\n"), json!("a\n"));
    }

    #[test]
    fn command_table_snapshot() {
        insta::assert_snapshot!(
            "list_commands_with_probes",
            list_commands(&registered(true))
        );
        insta::assert_debug_snapshot!("command_table", COMMANDS);
    }
}
