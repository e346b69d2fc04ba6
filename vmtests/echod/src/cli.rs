//! echod's command line (clap derive). `echod --help` is the reference; it is snapshot-tested.

use clap::Parser;
use std::path::PathBuf;

/// Default for `--max-message-size`.
pub(crate) const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;
/// Default for `--max-connections`.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default for `--max-buffered-bytes`.
pub(crate) const DEFAULT_MAX_BUFFERED_BYTES: u64 = 256 << 20;

const REMOTES_HELP: &str = "\
REMOTES:
  punix:PATH          listen on a Unix socket that echod creates (and removes at exit)
  ptcp:[PORT][:IP]    listen on TCP (default port 6640, default IP 0.0.0.0; port 0 = any free port)
  pfd:FD | pfd:NAME   accept on a listening socket inherited from systemd (LISTEN_FDS, LISTEN_FDNAMES);
                      command line only; never unlinked or shut down by echod
  unix:PATH, tcp:HOST[:PORT]
                      connect out (reconnecting with backoff, 1 s doubling to 8 s) and serve that connection
  ssl:, pssl:, db:    not supported by echod (rejected with an error)
  Removing a listening remote stops accepting on it; sessions already open go on until they end.

ORIGINS AND POLICY:
  Remotes come from four origins: --remote (command line), echod/add-remote (control socket),
  --remotes-file (database) and --config-file (config file). Every remote passes through one
  remote-policy set; the policy (default: pfd: only from the command line) comes from the
  config file's \"policy\" member, except that the command line may always add any kind: it
  takes precedence, so a policy change never drops a --remote. Refusals from the files are
  logged as rate-limited warnings, once per refused line while it stays in the file.

FILES:
  --remotes-file: one remote per line; blank lines and lines starting with # are ignored. echod
  checks the file every 200 ms and reconciles its remotes when the contents change and then
  stay the same for 1 s (a file rewritten in place is not applied half-way). A remote that
  failed to open is tried again at every check.
  --config-file: a JSON object, all members optional, unknown members rejected:
    {\"remotes\": [\"ptcp:0:127.0.0.1\"], \"sandbox\": \"on,spawn=deny\", \"policy\": {...},
     \"max_message_size\": 1048576, \"max_connections\": 1024}
  Command-line options take precedence over the config file. echod/reload re-reads both files;
  a changed sandbox only takes effect at the next start (seccomp filters cannot be relaxed).
";

const EXIT_HELP: &str = "\
START-UP AND EXIT:
  echod raises its RLIMIT_NOFILE soft limit to the hard limit, parses all options and files, takes
  and validates all listeners, opens the control socket, loads the sandbox (on all threads), sends
  READY=1 to $NOTIFY_SOCKET if set, then serves. SIGHUP reloads like echod/reload (with
  RELOADING=1 and READY=1 for Type=notify-reload), and STATUS= tells systemctl status what echod
  does. With WatchdogSec= in the unit, echod pings the watchdog every half interval. SIGTERM,
  SIGINT and `exit` stop accepting, send STOPPING=1, finish in-flight replies (up to 5 s) and exit
  0; with --keep-sessions, open sessions go to the fd store instead of being closed, and the next
  instance resumes them (names echod-s<pid>-<n>, with a half-received message in echod-b<pid>-<n>).
  Start-up errors exit 1; usage errors exit 2.
  Logs go to stderr, one line per record.";

/// The text after the options in `--help`: the fixed sections plus the control commands,
/// probes and methods, generated from their tables.
pub(crate) fn after_long_help() -> String {
    let mut s = String::from(REMOTES_HELP);
    s.push_str("\nCONTROL SOCKET (ovs-appctl -t PATH COMMAND [ARG]):\n");
    for c in super::unixctl::COMMANDS {
        let synopsis = format!("{} {}", c.name, c.usage);
        s.push_str(&format!("  {:<30} {}\n", synopsis.trim_end(), c.help));
    }
    s.push_str("  Probes (ACTION):\n");
    for p in super::probes::PROBES {
        s.push_str(&format!("    {:<13} {}\n", p.name, p.what));
    }
    s.push_str(
        "\nPROTOCOL (JSON-RPC 1.0 framed as OVSDB does: concatenated JSON objects, on every remote):\n",
    );
    for (name, what) in super::protocol::METHODS {
        s.push_str(&format!("  {name:<13} {what}\n"));
    }
    s.push_str(&format!(
        "  Other requests get the error \"{}\". A malformed or oversized message gets an error\n  \
         reply and its connection is closed; notifications are not answered.\n\n",
        super::protocol::UNKNOWN_METHOD
    ));
    s.push_str(EXIT_HELP);
    s
}

/// echod: the reference JSON-RPC echo daemon (socket activation, remote policy, seccomp sandbox).
#[derive(Debug, Clone, Parser)]
#[command(name = "echod", version, after_long_help = after_long_help())]
pub(crate) struct Cli {
    /// Remotes from the command line (origin: command line).
    #[arg(
        long = "remote",
        value_name = "REMOTE",
        help = "Serve REMOTE (repeatable): punix:PATH, ptcp:[PORT][:IP], pfd:FD, pfd:NAME, unix:PATH \
                or tcp:HOST[:PORT]"
    )]
    pub(crate) remotes: Vec<String>,

    /// Read remotes from FILE (one per line, # comments) and follow its changes (database origin).
    #[arg(long, value_name = "FILE")]
    pub(crate) remotes_file: Option<PathBuf>,

    /// Read remotes, sandbox, policy and limits from the JSON FILE; re-read on echod/reload.
    #[arg(long, value_name = "FILE")]
    pub(crate) config_file: Option<PathBuf>,

    /// Control socket for ovs-appctl -t PATH; "none" disables it. Default:
    /// $RUNTIME_DIRECTORY/echod.ctl when systemd sets RUNTIME_DIRECTORY, otherwise none. It is
    /// created with mode 0700 whatever the umask, and only echod's user and root may use it
    /// (checked with SO_PEERCRED on every connection).
    #[arg(long, value_name = "PATH", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub(crate) unixctl: Option<String>,

    /// The sandbox from the command line (with the parser's warnings).
    #[arg(
        long,
        value_name = "OPTS",
        value_parser = sandbox_opts::clap::parsed_value_parser(),
        help = "Seccomp sandbox in QEMU's -sandbox syntax: on|off[,obsolete=allow|deny]\
                [,elevateprivileges=allow|deny|children][,spawn=allow|deny][,resourcecontrol=allow|deny]. \
                Overrides the config file's \"sandbox\". Default: off"
    )]
    pub(crate) sandbox: Option<sandbox_opts::Parsed>,

    /// Register the echod/probe ACTION and echod/stall-watchdog control commands (to show the
    /// sandbox and the watchdog working).
    #[arg(long)]
    pub(crate) enable_probes: bool,

    /// At SIGTERM, hand every open client session to systemd's fd store (the unit needs
    /// FileDescriptorStoreMax=) instead of closing it; the next instance takes the sessions back
    /// and serves on, so a restart is invisible to clients.
    #[arg(long)]
    pub(crate) keep_sessions: bool,

    /// Log level on stderr: off, error, warn, info, debug or trace.
    #[arg(long, value_name = "LEVEL", default_value = "info", value_parser = parse_level)]
    pub(crate) log_level: log::LevelFilter,

    /// Largest JSON-RPC message accepted, in bytes (default 1048576; config file: max_message_size).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(2..=(1u64 << 30)))]
    pub(crate) max_message_size: Option<u64>,

    /// Most concurrent client connections; more wait in the listen queue until one closes (with
    /// a rate-limited warning), so that no request is lost (default 1024; config file:
    /// max_connections). Lowered at start-up, with a warning, to what the fd limit
    /// (RLIMIT_NOFILE) leaves room for.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=(1u64 << 24)))]
    pub(crate) max_connections: Option<u64>,

    /// Threads that serve the client connections, each with its own event loop; a connection
    /// stays on the one that had the fewest when it came, among the first 2 per CPU and, once
    /// those hold 4 connections each, one more for every 4 more (default: 4 per CPU echod may
    /// run on, as its CPU affinity and cgroup CPU quota allow, at most 64, and fewer when they
    /// would hold over a quarter of the fds RLIMIT_NOFILE leaves; each holds 4). Start-up fails
    /// when N threads would hold over half of them.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) threads: Option<u64>,

    /// Most bytes of half-received messages held by all connections together (256 MiB by
    /// default); past it, a connection whose half message grows beyond 64 KiB gets a "server
    /// busy" error and is closed, while small messages always fit.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUFFERED_BYTES, value_parser = clap::value_parser!(u64).range(1..=(1u64 << 40)))]
    pub(crate) max_buffered_bytes: u64,

    /// After MS milliseconds without a byte from a client, send it an echo request (as
    /// ovsdb-server does); after as long again without a byte, close the connection. 0 never
    /// probes.
    #[arg(long, value_name = "MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=(1u64 << 31)))]
    pub(crate) inactivity_probe: u64,

    /// A message must be complete MS milliseconds after its first byte; a client that is
    /// slower is disconnected (so a trickle cannot hold a buffer for ever).
    #[arg(long, value_name = "MS", default_value_t = 10000, value_parser = clap::value_parser!(u64).range(1..=(1u64 << 31)))]
    pub(crate) message_timeout: u64,

    /// A control connection is closed after MS milliseconds without a byte.
    #[arg(long, value_name = "MS", default_value_t = 10000, value_parser = clap::value_parser!(u64).range(1..=(1u64 << 31)))]
    pub(crate) control_timeout: u64,
}

fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    s.parse().map_err(|_| {
        format!("unknown log level \"{s}\" (expected off, error, warn, info, debug or trace)")
    })
}

impl Cli {
    /// The control socket path to open, after applying the default.
    pub(crate) fn unixctl_path(&self) -> Option<PathBuf> {
        match self.unixctl.as_deref() {
            Some("none") => None,
            Some(p) => Some(PathBuf::from(p)),
            None => std::env::var_os("RUNTIME_DIRECTORY").and_then(|dirs| {
                // systemd separates several RuntimeDirectory= entries with ':'.
                let dirs = dirs.to_string_lossy().into_owned();
                dirs.split(':')
                    .find(|d| !d.is_empty())
                    .map(|d| PathBuf::from(d).join("echod.ctl"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_snapshot() {
        let help = Cli::command()
            .term_width(100)
            .render_long_help()
            .to_string();
        insta::assert_snapshot!("long_help", help);
    }

    #[test]
    fn sandbox_help_is_the_grammar_of_sandbox_opts() {
        // The --sandbox help spells the grammar out (clap needs a literal); it must be the
        // library's, so that the two never drift apart.
        let arg = Cli::command()
            .get_arguments()
            .find(|a| a.get_id() == "sandbox")
            .and_then(|a| a.get_help().map(|h| h.to_string()))
            .expect("--sandbox has help");
        assert!(
            arg.contains(sandbox_opts::help::GRAMMAR),
            "--sandbox help {arg:?} does not contain {:?}",
            sandbox_opts::help::GRAMMAR
        );
    }

    #[test]
    fn parses_everything() {
        let cli = Cli::try_parse_from([
            "echod",
            "--remote=pfd:3",
            "--remote",
            "ptcp:0:127.0.0.1",
            "--sandbox=on,spawn=deny",
            "--enable-probes",
            "--log-level=debug",
            "--max-connections=2000",
            "--unixctl=none",
        ])
        .unwrap();
        assert_eq!(cli.remotes, ["pfd:3", "ptcp:0:127.0.0.1"]);
        assert_eq!(cli.sandbox.as_ref().unwrap().to_string(), "on,spawn=deny");
        assert!(cli.enable_probes);
        assert_eq!(cli.log_level, log::LevelFilter::Debug);
        assert_eq!(cli.max_connections, Some(2000));
        assert_eq!(cli.unixctl_path(), None);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["echod", "--sandbox=on,spawn=maybe"][..],
            &["echod", "--log-level=loud"],
            &["echod", "--max-connections=0"],
            &["echod", "--bogus"],
            &["echod", "--unixctl="],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
    }
}
