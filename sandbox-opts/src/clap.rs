//! clap integration (feature `clap`): value parsers and help texts.
//!
//! The recommended field is a [`Parsed`]: the value and the parser's warnings, for you to
//! print or log (`off,spawn=deny` is accepted, as QEMU accepts it, but does not sandbox
//! anything). A plain [`Sandbox`] field works too, and prints its warnings to standard error
//! itself ([`SandboxValueParser`]), so none is ever dropped silently.
//!
//! ```
//! use clap::Parser;
//! use sandbox_opts::Parsed;
//!
//! #[derive(Debug, Parser)]
//! struct Cli {
//!     /// No attribute needed: `Parsed` (like `Sandbox`) brings its value parser.
//!     #[arg(long, value_name = "OPTS",
//!           help = sandbox_opts::help::SHORT_HELP, long_help = sandbox_opts::help::HELP)]
//!     sandbox: Option<Parsed>,
//! }
//!
//! let cli = Cli::try_parse_from(["daemon", "--sandbox", "off,spawn=deny"])?;
//! let Parsed { sandbox, warnings } = cli.sandbox.unwrap_or_default();
//! for warning in &warnings {
//!     eprintln!("daemon: warning: --sandbox: {warning}");
//! }
//! assert!(!sandbox.enabled);
//! assert_eq!(warnings[0].to_string(), "spawn=deny has no effect while the sandbox is off");
//!
//! let err = Cli::try_parse_from(["daemon", "--sandbox", "on,spawn=maybe"]).unwrap_err();
//! assert!(err.to_string().contains("invalid argument for spawn"));
//! # Ok::<(), clap::Error>(())
//! ```

use std::ffi::OsStr;

use ::clap::builder::{TypedValueParser, ValueParserFactory};
use ::clap::{Arg, Command};

use crate::help::{HELP, SHORT_HELP};
use crate::parse::Parsed;
use crate::sandbox::Sandbox;
use crate::warning::Warning;

/// A [`TypedValueParser`] yielding [`Sandbox`]; errors carry this crate's
/// messages (`invalid value 'on,spawn=maybe' for '--sandbox <OPTS>': invalid
/// argument for spawn: ...`).
///
/// A [`Sandbox`] has no room for the parser's [`Warning`]s, so this parser
/// prints each one to standard error, one line each, and never drops one silently:
///
/// ```text
/// daemon: warning: --sandbox off,spawn=deny: spawn=deny has no effect while the sandbox is off
/// ```
///
/// To log them your own way (or to refuse them), use a [`Parsed`] field instead
/// ([`ParsedValueParser`]): it carries the warnings and prints nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct SandboxValueParser;

/// A [`TypedValueParser`] yielding [`Parsed`] (the value and its warnings).
#[derive(Clone, Copy, Debug, Default)]
pub struct ParsedValueParser;

// Both parsers delegate to clap's own `Fn(&str) -> Result` parser, so that
// non-UTF-8 input and errors are reported in clap's standard format with our
// message as source.

impl TypedValueParser for SandboxValueParser {
    type Value = Sandbox;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<Sandbox, ::clap::Error> {
        let parsed = str::parse::<Parsed>.parse_ref(cmd, arg, value)?;
        for warning in &parsed.warnings {
            eprintln!(
                "{}",
                warning_line(cmd, arg, &value.to_string_lossy(), warning)
            );
        }
        Ok(parsed.sandbox)
    }
}

impl TypedValueParser for ParsedValueParser {
    type Value = Parsed;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<Parsed, ::clap::Error> {
        str::parse::<Parsed>.parse_ref(cmd, arg, value)
    }
}

/// The line [`SandboxValueParser`] prints for `warning`: `PROGRAM: warning: --ARG VALUE:
/// WARNING`.
fn warning_line(cmd: &Command, arg: Option<&Arg>, value: &str, warning: &Warning) -> String {
    let program = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let option = match arg {
        Some(arg) => match arg.get_long() {
            Some(long) => format!("--{long}"),
            None => arg.get_id().to_string(),
        },
        None => "sandbox".to_owned(),
    };
    format!("{program}: warning: {option} {value}: {warning}")
}

/// The value parser for `#[arg(long, value_parser = sandbox_opts::clap::value_parser())]`.
///
/// ```
/// let cmd = clap::Command::new("d").arg(
///     clap::Arg::new("sandbox").long("sandbox").value_parser(sandbox_opts::clap::value_parser()),
/// );
/// let m = cmd.try_get_matches_from(["d", "--sandbox", "on"]).unwrap();
/// assert_eq!(m.get_one::<sandbox_opts::Sandbox>("sandbox"), Some(&sandbox_opts::Sandbox::ON));
/// ```
pub fn value_parser() -> SandboxValueParser {
    SandboxValueParser
}

/// A value parser that keeps the [`Warning`]s, for a field of
/// type [`Parsed`] (or `Option<Parsed>`).
///
/// ```
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[arg(long, value_parser = sandbox_opts::clap::parsed_value_parser())]
///     sandbox: sandbox_opts::Parsed,
/// }
///
/// let cli = Cli::try_parse_from(["d", "--sandbox", "off,spawn=deny"]).unwrap();
/// assert_eq!(cli.sandbox.warnings[0].to_string(), "spawn=deny has no effect while the sandbox is off");
/// ```
pub fn parsed_value_parser() -> ParsedValueParser {
    ParsedValueParser
}

/// Lets `#[arg(long)] sandbox: Sandbox` use [`SandboxValueParser`] without
/// naming it.
impl ValueParserFactory for Sandbox {
    type Parser = SandboxValueParser;
    fn value_parser() -> SandboxValueParser {
        SandboxValueParser
    }
}

/// Lets `#[arg(long)] sandbox: Parsed` use [`ParsedValueParser`].
impl ValueParserFactory for Parsed {
    type Parser = ParsedValueParser;
    fn value_parser() -> ParsedValueParser {
        ParsedValueParser
    }
}

/// A ready `--sandbox <OPTS>` argument (builder API) with [`SandboxValueParser`] (which
/// prints the warnings), [`SHORT_HELP`] and [`HELP`].
///
/// ```
/// let cmd = clap::Command::new("d").arg(sandbox_opts::clap::arg());
/// let m = cmd.try_get_matches_from(["d", "--sandbox", "on,obsolete=allow"]).unwrap();
/// let s = m.get_one::<sandbox_opts::Sandbox>("sandbox").unwrap();
/// assert_eq!(s.to_string(), "on,obsolete=allow");
/// ```
pub fn arg() -> Arg {
    Arg::new("sandbox")
        .long("sandbox")
        .value_name("OPTS")
        .value_parser(SandboxValueParser)
        .help(SHORT_HELP)
        .long_help(HELP)
}
