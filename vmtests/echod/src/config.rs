//! The two files echod reads: `--config-file` (JSON, config-file origin) and `--remotes-file`
//! (one remote per line, database origin).

use remote_policy::{Origin, Policy, RemoteKind};
use sandbox_opts::Parsed;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use stream_pfd::info::FileKind;

/// Files larger than this are refused (both kinds).
pub(crate) const MAX_FILE_SIZE: u64 = 1 << 20;

/// `--config-file`: every member is optional; unknown members are an error.
///
/// ```json
/// {"remotes": ["ptcp:0:127.0.0.1"], "sandbox": "on,spawn=deny",
///  "policy": {...remote-policy JSON...}, "max_message_size": 65536, "max_connections": 2000}
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// Remotes (config-file origin), as strings so that each bad one is reported on its own.
    #[serde(default)]
    pub(crate) remotes: Vec<String>,
    /// The sandbox, string (`"on,spawn=deny"`) or map form, with what the string probably did
    /// not mean (`"off,spawn=deny"`, a repeated key ...) as `--sandbox` reports it;
    /// `--sandbox` overrides it.
    #[serde(default)]
    pub(crate) sandbox: Option<Parsed>,
    /// The remote policy (remote-policy's JSON format); default: `Policy::default()`.
    #[serde(default)]
    pub(crate) policy: Option<Policy>,
    /// `--max-message-size` when not given on the command line.
    #[serde(default)]
    pub(crate) max_message_size: Option<usize>,
    /// `--max-connections` when not given on the command line.
    #[serde(default)]
    pub(crate) max_connections: Option<usize>,
}

/// Why a file could not be used.
#[derive(Debug)]
pub(crate) enum FileError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not a regular file (a FIFO, a device such as `/dev/zero`, a directory ...): reading it
    /// could block or never end.
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: FileKind,
    },
    /// A symbolic link: echod does not follow one to its files (a link to `/proc/self/environ`
    /// or to a file of another user would be read as remotes, and its lines repeated in
    /// warnings).
    Symlink {
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_FILE_SIZE`].
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The config file is not valid (JSON syntax, unknown member, bad sandbox or policy ...).
    Invalid {
        /// The file.
        path: PathBuf,
        /// serde_json's message, with line and column.
        error: serde_json::Error,
    },
    /// A limit in the config file is out of range.
    BadLimit {
        /// The file.
        path: PathBuf,
        /// The member.
        member: &'static str,
        /// The value.
        value: usize,
        /// The accepted range.
        range: (usize, usize),
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Read { path, error } => {
                write!(f, "{}: cannot read: {error}", path.display())
            }
            FileError::NotRegular { path, what } => write!(
                f,
                "{}: not a regular file but {what}; echod reads its files whole, so it only \
                 reads regular files",
                path.display()
            ),
            FileError::Symlink { path } => write!(
                f,
                "{}: a symbolic link; echod does not follow links to its files (give the path of \
                 the file itself)",
                path.display()
            ),
            FileError::TooLarge { path, size } => write!(
                f,
                "{}: file is {size} bytes, larger than the {MAX_FILE_SIZE}-byte limit",
                path.display()
            ),
            FileError::Invalid { path, error } => write!(
                f,
                "{}: invalid config file: {error} (expected a JSON object with the optional \
                 members remotes, sandbox, policy, max_message_size, max_connections)",
                path.display()
            ),
            FileError::BadLimit {
                path,
                member,
                value,
                range,
            } => write!(
                f,
                "{}: {member} = {value} is out of range (expected {} to {})",
                path.display(),
                range.0,
                range.1
            ),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Read { error, .. } => Some(error),
            FileError::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<FileError> for std::io::Error {
    fn from(e: FileError) -> Self {
        let kind = match &e {
            FileError::Read { error, .. } => error.kind(),
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}

/// Reads a whole (small) regular file: opened without blocking (a FIFO would block an open
/// for reading until a writer comes) and without following a symbolic link (`O_NOFOLLOW`: a
/// link planted in the file's place could point at any file echod may read), refused unless it
/// is a regular file, and never read past [`MAX_FILE_SIZE`] + 1 bytes, whatever its metadata
/// says.
pub(crate) fn read_small(path: &Path) -> Result<String, FileError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read = |error| FileError::Read {
        path: path.to_owned(),
        error,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => FileError::Symlink {
                path: path.to_owned(),
            },
            _ => read(e),
        })?;
    let meta = file.metadata().map_err(read)?;
    if !meta.file_type().is_file() {
        use std::os::unix::fs::MetadataExt;
        return Err(FileError::NotRegular {
            path: path.to_owned(),
            what: FileKind::from_mode(meta.mode()),
        });
    }
    let too_large = |size| FileError::TooLarge {
        path: path.to_owned(),
        size,
    };
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        // It grew (or its metadata lied, as /proc files do): say what was read.
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes)
        .map_err(|e| read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

impl ConfigFile {
    /// The policy echod enforces: the file's (or the default), with the command line allowed
    /// for every kind, because the command line takes precedence over the config file (a
    /// policy change never drops a `--remote`, and so never closes an inherited `pfd:`
    /// socket, which could not be adopted again).
    pub(crate) fn effective_policy(&self) -> Policy {
        let mut policy = self.policy.unwrap_or_default();
        for kind in RemoteKind::ALL {
            let mut origins = policy.allowed_origins(kind);
            origins.insert(Origin::CommandLine);
            // Adding the command line never loosens pfd: (only other origins would).
            let _ = policy.set_allowed(kind, origins);
        }
        policy
    }
}

/// Accepted range of `max_message_size`.
pub(crate) const MESSAGE_SIZE_RANGE: (usize, usize) = (2, 1 << 30);
/// Accepted range of `max_connections`.
pub(crate) const CONNECTIONS_RANGE: (usize, usize) = (1, 1 << 24);

impl ConfigFile {
    /// Parses config-file text (`path` is only used in messages).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<ConfigFile, FileError> {
        let invalid = |error| FileError::Invalid {
            path: path.to_owned(),
            error,
        };
        // serde's derived struct impl also takes a JSON array (the members in order), so `[]`
        // would silently mean "no settings": insist on an object, with serde_json's position.
        if !text.trim_start().starts_with('{') {
            if let Err(error) =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
            {
                return Err(invalid(error));
            }
        }
        let c: ConfigFile = serde_json::from_str(text).map_err(invalid)?;
        for (member, value, range) in [
            ("max_message_size", c.max_message_size, MESSAGE_SIZE_RANGE),
            ("max_connections", c.max_connections, CONNECTIONS_RANGE),
        ] {
            if let Some(value) = value {
                if value < range.0 || value > range.1 {
                    return Err(FileError::BadLimit {
                        path: path.to_owned(),
                        member,
                        value,
                        range,
                    });
                }
            }
        }
        Ok(c)
    }

    /// Reads and parses the config file.
    pub(crate) fn load(path: &Path) -> Result<ConfigFile, FileError> {
        ConfigFile::parse(path, &read_small(path)?)
    }
}

/// The remote lines of a remotes file: trimmed, without blank lines and `#` comment lines.
pub(crate) fn remote_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_file_lines() {
        let text = "# echod remotes\n\n  ptcp:0:127.0.0.1  \n#punix:/x\npfd:3\r\n\t\n";
        assert_eq!(remote_lines(text), ["ptcp:0:127.0.0.1", "pfd:3"]);
    }

    #[test]
    fn config_file_members() {
        let p = Path::new("echod.json");
        let c = ConfigFile::parse(
            p,
            r#"{"remotes":["ptcp:0"],"sandbox":"on,spawn=deny","max_connections":5}"#,
        )
        .unwrap();
        assert_eq!(c.remotes, ["ptcp:0"]);
        assert_eq!(c.sandbox.unwrap().to_string(), "on,spawn=deny");
        assert_eq!(c.max_connections, Some(5));
        assert!(c.policy.is_none());
        assert!(ConfigFile::parse(p, "{}").unwrap().remotes.is_empty());
        assert!(c_warnings(r#"{"sandbox":"on,spawn=deny"}"#).is_empty());
        assert!(c_warnings(r#"{"sandbox":{"enable":"off","spawn":"deny"}}"#).is_empty());
    }

    fn c_warnings(text: &str) -> Vec<String> {
        let c = ConfigFile::parse(Path::new("echod.json"), text).unwrap();
        c.sandbox
            .map(|p| p.warnings.iter().map(|w| w.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn sandbox_string_warnings_are_kept() {
        assert_eq!(
            c_warnings(r#"{"sandbox":"off,spawn=deny"}"#),
            ["spawn=deny has no effect while the sandbox is off"]
        );
        let w = c_warnings(r#"{"remotes":[],"sandbox":"on,spawn=deny,spawn=allow"}"#);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("spawn"), "{w:?}");
    }

    #[test]
    fn config_file_errors_are_specific() {
        let p = Path::new("echod.json");
        let e = ConfigFile::parse(p, r#"{"remote":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `remote`") && e.contains("echod.json"),
            "{e}"
        );
        let e = ConfigFile::parse(p, r#"{"sandbox":"on,spawn=maybe"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid argument for spawn"), "{e}");
        let e = ConfigFile::parse(p, r#"{"max_connections":0}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_connections = 0 is out of range"), "{e}");
        // An array is not an object, even though serde would map it onto the members in order.
        for text in ["[]", " [[\"ptcp:0\"]]", "null", "\"x\""] {
            let e = ConfigFile::parse(p, text).unwrap_err().to_string();
            assert!(
                e.contains("invalid config file: invalid type") && e.contains("expected a map"),
                "{text}: {e}"
            );
        }
        let e = ConfigFile::parse(p, "[").unwrap_err();
        assert_eq!(
            std::io::Error::from(e).kind(),
            std::io::ErrorKind::InvalidData
        );
    }
}
