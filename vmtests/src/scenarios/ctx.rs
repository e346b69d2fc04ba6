//! What a scenario's assertions use inside the guest: systemctl, journalctl, ovs-appctl and an
//! echo client, each with a timeout and an error message that says what was expected.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the guest runner installs `echod` (unit files name it).
pub const ECHOD: &str = "/usr/local/bin/echod";

/// The guest's run-time unit directory (gone at the next boot, no enabling needed).
pub const UNIT_DIR: &str = "/run/systemd/system";

/// Writes unit files into [`UNIT_DIR`] and reloads systemd once (a reload costs seconds under
/// TCG, so the runner installs every scenario's units together).
pub fn install_units(units: &[(&str, &str)]) -> Result<(), String> {
    std::fs::create_dir_all(UNIT_DIR).map_err(|e| format!("mkdir {UNIT_DIR}: {e}"))?;
    for (name, text) in units {
        let path = format!("{UNIT_DIR}/{name}");
        std::fs::write(&path, text).map_err(|e| format!("writing {path}: {e}"))?;
    }
    run_ok("systemctl", &["daemon-reload"]).map(|_| ())
}

/// The pattern that matches `unit`, or every instance of it when it is a template
/// (`ha-accept@.service` -> `ha-accept@*.service`), for `systemctl` and `journalctl -u`.
pub fn unit_pattern(unit: &str) -> String {
    match unit.strip_suffix("@.service") {
        Some(prefix) => format!("{prefix}@*.service"),
        None => unit.to_string(),
    }
}

/// The guest's systemd version: its number and the whole first line of `systemctl --version`
/// (`systemd 252 (252.39-1~deb12u1)`).
pub fn systemd_version() -> Result<(u32, String), String> {
    let out = run_ok("systemctl", &["--version"])?;
    let first = out.lines().next().unwrap_or("").trim().to_string();
    parse_systemd_version(&first)
        .map(|n| (n, first.clone()))
        .ok_or_else(|| format!("cannot read the systemd version from {first:?}"))
}

/// `systemd 252 (252.39-1~deb12u1)` -> 252; `systemd 258~rc1 (...)` -> 258.
pub fn parse_systemd_version(line: &str) -> Option<u32> {
    let word = line.strip_prefix("systemd ")?.split_whitespace().next()?;
    let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The result of running a program: exit code (`-1` when killed by a signal) and its output.
#[derive(Debug, Clone)]
pub struct Ran {
    /// Exit code, or -1 when the program was killed by a signal.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Ran {
    /// Standard output and standard error, one after the other.
    pub fn both(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `program args...` to completion (stdin is /dev/null) and returns what it did.
pub fn run(program: &str, args: &[&str]) -> Result<Ran, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start `{program}`: {e}"))?;
    Ok(Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs `program args...` and fails unless it exits 0; returns its standard output.
pub fn run_ok(program: &str, args: &[&str]) -> Result<String, String> {
    let ran = run(program, args)?;
    if ran.code == 0 {
        Ok(ran.stdout)
    } else {
        Err(format!(
            "`{program} {}` exited {}: {}",
            args.join(" "),
            ran.code,
            ran.both().trim()
        ))
    }
}

/// The context a scenario runs in: its timeout scale and the units it installed.
#[derive(Debug)]
pub struct Ctx {
    /// Multiplier for every timeout (4 under TCG, 1 with KVM).
    pub scale: u32,
    /// Units this scenario installed (stopped and removed afterwards).
    pub units: Vec<String>,
    /// Lines the host prints under the results table (a comparison table, say), sent as
    /// `NOTE` lines when the scenario ends, whatever its verdict.
    pub notes: Vec<String>,
}

impl Ctx {
    /// A context whose timeouts are multiplied by `scale`.
    pub fn new(scale: u32) -> Self {
        Ctx {
            scale: scale.max(1),
            units: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// `base` scaled for the accelerator in use.
    pub fn timeout(&self, base: Duration) -> Duration {
        base * self.scale
    }

    /// A context for a scenario whose units (already installed) are `units`.
    pub fn for_units(scale: u32, units: &[(&str, &str)]) -> Self {
        let mut cx = Ctx::new(scale);
        cx.units = units.iter().map(|(n, _)| (*n).to_string()).collect();
        cx
    }

    /// Stops and resets every unit of this scenario (and every instance of its templates).
    /// Errors are ignored: unit names are unique per scenario, so leftovers cannot satisfy
    /// another scenario's assertions, and the guest is thrown away.
    pub fn cleanup(&mut self) {
        let names: Vec<String> = self.units.iter().map(|u| unit_pattern(u)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        for verb in ["stop", "reset-failed"] {
            let mut args = vec![verb];
            args.extend(&refs);
            let _ = run("systemctl", &args);
        }
    }

    /// Adds a line to this scenario's notes (see [`Ctx::notes`]).
    pub fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// `systemctl ARGS...`, which must succeed.
    pub fn systemctl(&self, args: &[&str]) -> Result<String, String> {
        run_ok("systemctl", args)
    }

    /// One property of a unit (`systemctl show -p PROP --value UNIT`).
    pub fn prop(&self, unit: &str, prop: &str) -> Result<String, String> {
        let out = run_ok("systemctl", &["show", "-p", prop, "--value", unit])?;
        Ok(out.trim().to_string())
    }

    /// Fails unless `unit`'s property `prop` equals `want`.
    pub fn expect_prop(&self, unit: &str, prop: &str, want: &str) -> Result<(), String> {
        let got = self.prop(unit, prop)?;
        if got == want {
            Ok(())
        } else {
            Err(format!("{unit}: expected {prop}={want}, got {prop}={got}"))
        }
    }

    /// Waits (scaled `base`) until `unit`'s property `prop` equals `want`.
    pub fn wait_prop(
        &self,
        unit: &str,
        prop: &str,
        want: &str,
        base: Duration,
    ) -> Result<(), String> {
        let mut last = String::new();
        self.wait_until(&format!("{unit} {prop}={want}"), base, || {
            last = self.prop(unit, prop)?;
            Ok(last == want)
        })
        .map_err(|e| format!("{e} (last {prop}={last})"))
    }

    /// Polls `check` every 50 ms until it returns true, for at most the scaled `base`.
    pub fn wait_until(
        &self,
        what: &str,
        base: Duration,
        mut check: impl FnMut() -> Result<bool, String>,
    ) -> Result<(), String> {
        let limit = self.timeout(base);
        let start = Instant::now();
        loop {
            if check()? {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(format!("timed out after {limit:?} waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The journal of the units matching `pattern` (`journalctl -u PATTERN -o cat`).
    pub fn journal(&self, pattern: &str) -> Result<String, String> {
        run_ok(
            "journalctl",
            &["--no-pager", "-q", "-o", "cat", "-u", pattern],
        )
    }

    /// Waits until the journal of `pattern` contains `needle`; returns that journal.
    pub fn wait_journal(&self, pattern: &str, needle: &str) -> Result<String, String> {
        let mut text = String::new();
        self.wait_until(
            &format!("`{needle}` in the journal of {pattern}"),
            Duration::from_secs(10),
            || {
                text = self.journal(pattern)?;
                Ok(text.contains(needle))
            },
        )
        .map_err(|e| format!("{e}; journal was:\n{}", tail(&text, 15)))?;
        Ok(text)
    }

    /// The main PID of a service (0 when it is not running).
    pub fn main_pid(&self, unit: &str) -> Result<u32, String> {
        let s = self.prop(unit, "MainPID")?;
        s.parse()
            .map_err(|_| format!("{unit}: MainPID `{s}` is not a number"))
    }

    /// `ovs-appctl -t TARGET ARGS...` (with its own timeout), whatever its exit code.
    pub fn appctl(&self, target: &str, args: &[&str]) -> Result<Ran, String> {
        let t = format!("--timeout={}", 10 * self.scale);
        let mut all = vec![t.as_str(), "-t", target];
        all.extend(args);
        run("ovs-appctl", &all)
    }

    /// Sends one JSON-RPC `echo` request to `addr` and returns the `result` it got back; fails
    /// unless the reply echoes `text` with a null error and the same id.
    pub fn echo(&self, addr: &str, text: &str) -> Result<(), String> {
        let reply = echo_request(addr, text, self.timeout(Duration::from_secs(10)))?;
        check_echo_reply(&reply, text).map_err(|e| format!("{addr}: {e}"))
    }

    /// Waits until the unix stream socket `path` accepts connections (a daemon's control
    /// socket, say): a connect that succeeds, not the file, which appears at `bind()` before
    /// `listen()`. The probe connection is closed at once.
    pub fn wait_listening(&self, path: &str) -> Result<(), String> {
        let mut last = String::from("not tried");
        self.wait_until(
            &format!("a listener on {path}"),
            Duration::from_secs(10),
            || match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => Ok(true),
                Err(e) => {
                    last = e.to_string();
                    Ok(false)
                }
            },
        )
        .map_err(|e| format!("{e} (last error: {last})"))
    }
}

/// Connects to `addr` (`unix:PATH` or `tcp:HOST:PORT`), sends `{"method":"echo","params":[text],
/// "id":1}` and returns the first complete JSON value it reads back.
pub fn echo_request(addr: &str, text: &str, timeout: Duration) -> Result<Value, String> {
    let request = serde_json::json!({"method": "echo", "params": [text], "id": 1});
    let mut client = Client::connect(addr, timeout)?;
    client
        .send(&request)
        .map_err(|e| format!("{addr}: sending the request: {e}"))?;
    let lossy = |client: &Client| String::from_utf8_lossy(client.buffered()).into_owned();
    match client.recv() {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(format!(
            "{addr}: connection closed before a complete reply (got {:?})",
            lossy(&client)
        )),
        Err(RecvError::Read(e)) => Err(format!("{addr}: reading the reply: {e}")),
        Err(RecvError::NotJson(e)) => Err(format!(
            "{addr}: reply is not JSON ({e}): {:?}",
            lossy(&client)
        )),
    }
}

/// Checks an echo reply: `{"result":[text],"error":null,"id":1}`.
pub fn check_echo_reply(reply: &Value, text: &str) -> Result<(), String> {
    let want = serde_json::json!({"result": [text], "error": null, "id": 1});
    if *reply == want {
        Ok(())
    } else {
        Err(format!("expected reply {want}, got {reply}"))
    }
}

/// A connected stream of either family.
pub trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A blocking JSON-RPC client: writes JSON values and reads back one complete value at a time
/// (OVSDB framing: concatenated values, no delimiter). It parses with serde_json's stream
/// parser, not echod's decoder, so it checks echod independently. The scenarios, `vm-guest
/// echo`, the host tests and the benchmark all use it.
pub struct Client {
    stream: Box<dyn ReadWrite>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// Why [`Client::recv`] got no value.
#[derive(Debug)]
pub enum RecvError {
    /// Reading from the stream failed.
    Read(std::io::Error),
    /// The bytes received are not JSON.
    NotJson(serde_json::Error),
}

impl Client {
    /// Wraps an already connected stream (e.g. one echod connected to).
    pub fn new(stream: impl Read + Write + 'static) -> Client {
        Client {
            stream: Box::new(stream),
            buf: Vec::new(),
        }
    }

    /// Connects to `unix:PATH` or `tcp:HOST:PORT` with read and write timeouts set.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client, String> {
        let connect_err = |e| format!("connecting to {addr}: {e}");
        // Both stream types have the same timeout setters, but no trait for them.
        macro_rules! with_timeouts {
            ($s:expr) => {{
                let s = $s;
                s.set_read_timeout(Some(timeout))
                    .and_then(|()| s.set_write_timeout(Some(timeout)))
                    .map_err(|e| format!("{addr}: setting timeouts: {e}"))?;
                Ok(Client::new(s))
            }};
        }
        if let Some(path) = addr.strip_prefix("unix:") {
            with_timeouts!(UnixStream::connect(path).map_err(connect_err)?)
        } else if let Some(hp) = addr.strip_prefix("tcp:") {
            with_timeouts!(TcpStream::connect(hp).map_err(connect_err)?)
        } else {
            Err(format!(
                "address `{addr}` is neither unix:PATH nor tcp:HOST:PORT"
            ))
        }
    }

    /// Writes `bytes` as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Writes `value` as compact JSON.
    pub fn send(&mut self, value: &Value) -> std::io::Result<()> {
        self.send_raw(value.to_string().as_bytes())
    }

    /// The next complete JSON value, or `Ok(None)` when the peer closed the connection first
    /// (what it sent of an incomplete value stays in [`Client::buffered`]).
    pub fn recv(&mut self) -> Result<Option<Value>, RecvError> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(v) = take_value(&mut self.buf).map_err(RecvError::NotJson)? {
                return Ok(Some(v));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(RecvError::Read(e)),
            }
        }
    }

    /// Bytes received and not yet returned by [`Client::recv`].
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }
}

/// Takes the first complete JSON value off the front of `buf`; `Ok(None)` while it is still
/// incomplete (nothing is consumed then).
///
/// ```
/// let mut buf = br#"{"id":1} {"id""#.to_vec();
/// let v = vmtests::scenarios::ctx::take_value(&mut buf).unwrap();
/// assert_eq!(v, Some(serde_json::json!({"id": 1})));
/// assert_eq!(vmtests::scenarios::ctx::take_value(&mut buf).unwrap(), None);
/// assert_eq!(buf, br#" {"id""#);
/// ```
pub fn take_value(buf: &mut Vec<u8>) -> Result<Option<Value>, serde_json::Error> {
    let mut it = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
    match it.next() {
        Some(Ok(v)) => {
            let used = it.byte_offset();
            buf.drain(..used);
            Ok(Some(v))
        }
        Some(Err(e)) if !e.is_eof() => Err(e),
        _ => Ok(None),
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Fails with `msg` unless `cond` holds.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

#[cfg(test)]
mod tests {
    use super::parse_systemd_version;

    #[test]
    fn systemd_versions_parse_as_every_release_prints_them() {
        assert_eq!(
            parse_systemd_version("systemd 252 (252.39-1~deb12u1)"),
            Some(252)
        );
        assert_eq!(
            parse_systemd_version("systemd 257 (257.9-1~deb13u1)"),
            Some(257)
        );
        assert_eq!(
            parse_systemd_version("systemd 258~rc1 (258~rc1-1)"),
            Some(258)
        );
        assert_eq!(parse_systemd_version("systemd 262 (262.1-1)"), Some(262));
        assert_eq!(parse_systemd_version("udev 252"), None);
        assert_eq!(parse_systemd_version("systemd x"), None);
    }
}
