//! Quoting what a user wrote in a message: escaped (no forged log lines) and bounded (a file that
//! is not a remotes file, such as `/proc/self/environ` behind a link, cannot be repeated whole
//! into a log or a reply).

use std::fmt;

/// The most bytes of an input a message repeats.
pub const MAX_QUOTED: usize = 64;

/// A remote (or any text a user wrote) as this crate's messages show it: Rust-escaped in double
/// quotes, and when longer than [`MAX_QUOTED`] bytes, its start followed by `… (N bytes)`. Use
/// it in your own messages about remotes, so that they read the same.
///
/// ```
/// use remote_policy::Quoted;
///
/// assert_eq!(Quoted("pfd:3\n").to_string(), r#""pfd:3\n""#);
/// let environ = "TOKEN=s3cret\0".repeat(100);
/// assert!(Quoted(&environ).to_string().ends_with("… (1300 bytes)"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s.len() <= MAX_QUOTED {
            return write!(f, "{s:?}");
        }
        let mut end = MAX_QUOTED;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        write!(f, "{:?}… ({} bytes)", &s[..end], s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Quoted;

    /// A file that is not a remotes file (`/proc/self/environ` behind a link) is never repeated
    /// whole, whichever error it makes.
    #[test]
    fn a_foreign_file_is_never_repeated_whole() {
        use crate::{Origin, Policy, Remote, RemoteSet};
        let secret = "planted-token-0123456789";
        // The secret lies past the start a message may show.
        let environ = format!(
            "HOME=/root\0PATH=/usr/local/bin:/usr/bin:/bin\0LANG=C.UTF-8\0TOKEN={secret}\0"
        )
        .repeat(30);
        let no_colon = environ.replace(':', "");
        for input in [&environ, &no_colon, &environ[..900]] {
            let err = input.parse::<Remote>().unwrap_err().to_string();
            assert!(err.len() < 300, "{} bytes: {err}", err.len());
            assert!(!err.contains(secret), "{err}");
            let mut set = RemoteSet::new(Policy::default());
            let refusal = set.add(Origin::Database, input).unwrap_err().to_string();
            assert!(!refusal.contains(secret), "{refusal}");
        }
    }

    #[test]
    fn short_inputs_are_quoted_whole_and_long_ones_are_cut_at_a_character() {
        assert_eq!(Quoted("pfd:3\n").to_string(), r#""pfd:3\n""#);
        let long = format!("{}é{}", "a".repeat(63), "b".repeat(1000));
        assert_eq!(
            Quoted(&long).to_string(),
            format!("\"{}\"… (1065 bytes)", "a".repeat(63))
        );
    }
}
