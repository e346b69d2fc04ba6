//! clap integration (feature `clap`): a value parser and help texts.
//!
//! ```
//! use clap::Parser;
//! use sandbox_opts::Sandbox;
//!
//! #[derive(Debug, Parser)]
//! struct Cli {
//!     /// Either spelling works; the attribute is optional for `Sandbox`.
//!     #[arg(long, value_parser = sandbox_opts::clap::value_parser(),
//!           help = sandbox_opts::help::SHORT_HELP, long_help = sandbox_opts::help::HELP)]
//!     sandbox: Option<Sandbox>,
//! }
//!
//! let cli = Cli::try_parse_from(["daemon", "--sandbox", "on,spawn=deny"])?;
//! assert_eq!(cli.sandbox.unwrap().to_string(), "on,spawn=deny");
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

/// A [`TypedValueParser`] yielding [`Sandbox`]; errors carry this crate's
/// messages (`invalid value 'on,spawn=maybe' for '--sandbox <OPTS>': invalid
/// argument for spawn: ...`). Warnings are dropped; use
/// [`ParsedValueParser`] to keep them.
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
        str::parse::<Sandbox>.parse_ref(cmd, arg, value)
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

/// A value parser that keeps the [`Warning`](crate::Warning)s, for a field of
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

/// A ready `--sandbox <OPTS>` argument (builder API) with the value parser,
/// [`SHORT_HELP`] and [`HELP`].
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
