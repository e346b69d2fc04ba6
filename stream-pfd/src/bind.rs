//! The addresses a development fallback binds ([`BindAddress`]) and their syntax, with its
//! [`BindAddressError`].

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use crate::text::Shown;

/// The longest unix socket path or abstract name (`sun_path` is 108 bytes: a path needs its
/// terminating NUL, an abstract name its leading one).
const UNIX_MAX: usize = 107;

/// An address to bind a listening stream socket to, when the process was not
/// socket-activated (see [`ListenFds::take_or_bind`](crate::ListenFds::take_or_bind)).
///
/// The syntax, tried in this order:
///
/// * `@NAME`: a name in Linux's abstract unix namespace (no file; gone with the socket).
/// * anything containing a `/`: a unix socket path (`/run/app.sock`, `./app.sock`).
/// * `IPv4:PORT` or `[IPv6]:PORT`: TCP (`127.0.0.1:8080`, `[::1]:8080`, port 0 for any free
///   port). Host names are not resolved: a development fallback should not depend on DNS.
///
/// `Display` gives the text back.
///
/// ```
/// use stream_pfd::BindAddress;
///
/// let tcp: BindAddress = "[::1]:8080".parse()?;
/// assert!(matches!(tcp, BindAddress::Tcp(addr) if addr.port() == 8080));
/// assert!(matches!("./app.sock".parse()?, BindAddress::Path(_)));
/// assert_eq!("@app".parse::<BindAddress>()?.to_string(), "@app");
/// let err = "localhost:8080".parse::<BindAddress>().unwrap_err();
/// assert!(err.to_string().contains("host names are not resolved"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BindAddress {
    /// A unix socket path.
    Path(PathBuf),
    /// A name in the abstract unix namespace (without the `@`).
    Abstract(String),
    /// A TCP address.
    Tcp(SocketAddr),
}

impl FromStr for BindAddress {
    type Err = BindAddressError;

    fn from_str(input: &str) -> Result<BindAddress, BindAddressError> {
        let error = |problem| BindAddressError {
            input: input.to_owned(),
            problem,
        };
        if input.is_empty() {
            return Err(error(Problem::Empty));
        }
        if let Some(name) = input.strip_prefix('@') {
            if name.is_empty() {
                return Err(error(Problem::EmptyAbstract));
            }
            if name.len() > UNIX_MAX {
                return Err(error(Problem::TooLong { len: name.len() }));
            }
            return Ok(BindAddress::Abstract(name.to_owned()));
        }
        if input.contains('/') {
            if input.len() > UNIX_MAX {
                return Err(error(Problem::TooLong { len: input.len() }));
            }
            if input.contains('\0') {
                return Err(error(Problem::Nul));
            }
            return Ok(BindAddress::Path(input.into()));
        }
        input
            .parse()
            .map(BindAddress::Tcp)
            .map_err(|_| error(Problem::NotAnAddress))
    }
}

impl fmt::Display for BindAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindAddress::Path(path) => write!(f, "{}", path.display()),
            BindAddress::Abstract(name) => write!(f, "@{name}"),
            BindAddress::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

/// Why a [`BindAddress`] did not parse. Converts into [`io::Error`] (`InvalidInput`).
///
/// ```
/// let err = "8080".parse::<stream_pfd::BindAddress>().unwrap_err();
/// assert_eq!(err.input(), "8080");
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindAddressError {
    input: String,
    problem: Problem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Problem {
    Empty,
    EmptyAbstract,
    TooLong { len: usize },
    Nul,
    NotAnAddress,
}

impl BindAddressError {
    /// The text that did not parse.
    ///
    /// ```
    /// let err = "@".parse::<stream_pfd::BindAddress>().unwrap_err();
    /// assert_eq!(err.input(), "@");
    /// ```
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for BindAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid listen address \"{}\": ", Shown(&self.input))?;
        match self.problem {
            Problem::Empty => f.write_str("it is empty"),
            Problem::EmptyAbstract => f.write_str("an abstract socket name after @ is needed"),
            Problem::TooLong { len } => write!(
                f,
                "it is {len} bytes long; a unix socket path or abstract name holds at most \
                 {UNIX_MAX}"
            ),
            Problem::Nul => f.write_str("a unix socket path cannot hold a NUL byte"),
            Problem::NotAnAddress => f.write_str(
                "expected a unix socket path (with a /, such as ./app.sock), @abstract-name, \
                 IPv4:port or [IPv6]:port (host names are not resolved)",
            ),
        }
    }
}

impl std::error::Error for BindAddressError {}

impl From<BindAddressError> for io::Error {
    fn from(err: BindAddressError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}
