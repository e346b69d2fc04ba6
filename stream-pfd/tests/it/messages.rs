//! Every error message of the crate, snapshot-tested (tests/it/snapshots/it__messages__*.snap).

use std::net::SocketAddr;

use stream_pfd::addr::{SocketAddress, UnixAddress};
use stream_pfd::info::{Family, FileKind, SockType};
use stream_pfd::{ConnectionError, EnvError, PfdSpec, TakeError, ValidateError};

fn spec(s: &str) -> PfdSpec {
    s.parse().unwrap()
}

#[test]
fn parse_error_messages() {
    let inputs = [
        "PFD:3",
        "pfd:",
        "pfd:+3",
        "pfd: 3",
        "pfd:0x3",
        "pfd:3a",
        "pfd:2147483648",
        "pfd:0",
        "pfd:1",
        "pfd:2",
        "pfd:a:b",
        "pfd:caf\u{e9}",
        "pfd:a\nb",
    ];
    let mut text = String::new();
    for input in inputs {
        text.push_str(&input.parse::<PfdSpec>().unwrap_err().to_string());
        text.push('\n');
    }
    text.push_str(
        &format!("pfd:{}", "n".repeat(256))
            .parse::<PfdSpec>()
            .unwrap_err()
            .to_string(),
    );
    insta::assert_snapshot!("parse_errors", text);
}

fn validate_errors() -> Vec<ValidateError> {
    let tcp: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let peer: SocketAddr = "127.0.0.1:51000".parse().unwrap();
    vec![
        ValidateError::NotOpen {
            fd: 7,
            open_limit: None,
        },
        ValidateError::NotOpen {
            fd: 5000,
            open_limit: Some(1024),
        },
        ValidateError::NotSocket {
            fd: 3,
            kind: FileKind::Regular,
        },
        ValidateError::NotSocket {
            fd: 3,
            kind: FileKind::CharDevice,
        },
        ValidateError::NotSocket {
            fd: 3,
            kind: FileKind::Fifo,
        },
        ValidateError::NotSocket {
            fd: 3,
            kind: FileKind::Directory,
        },
        ValidateError::NotSocket {
            fd: 3,
            kind: FileKind::AnonInode,
        },
        ValidateError::NotStream {
            fd: 3,
            sock_type: SockType::Datagram,
        },
        ValidateError::NotStream {
            fd: 3,
            sock_type: SockType::SeqPacket,
        },
        ValidateError::NotStream {
            fd: 3,
            sock_type: SockType::Raw,
        },
        ValidateError::Connected {
            fd: 3,
            local: Some(SocketAddress::Inet(tcp)),
            peer: SocketAddress::Inet(peer),
        },
        ValidateError::Connected {
            fd: 3,
            local: Some(SocketAddress::Unix(UnixAddress::Path(
                "/run/echod.sock".into(),
            ))),
            peer: SocketAddress::Unix(UnixAddress::Unnamed),
        },
        ValidateError::NotListening { fd: 3, local: None },
        ValidateError::PathOnly { fd: 3 },
        ValidateError::NotListening {
            fd: 3,
            local: Some(SocketAddress::Inet(tcp)),
        },
        ValidateError::NotListening {
            fd: 3,
            local: Some(SocketAddress::Unix(UnixAddress::Abstract(
                b"echod".to_vec(),
            ))),
        },
        ValidateError::UnsupportedFamily {
            fd: 3,
            family: libc::AF_VSOCK,
        },
        ValidateError::UnsupportedProtocol {
            fd: 3,
            family: Family::Inet6,
            protocol: libc::IPPROTO_SCTP,
        },
        ValidateError::Sys {
            fd: 3,
            call: "getsockopt(SO_TYPE)",
            source: std::io::Error::from_raw_os_error(libc::ENOTSOCK),
        },
    ]
}

#[test]
fn validate_error_messages() {
    let text: Vec<String> = validate_errors().iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!("validate_errors", text.join("\n"));
}

#[test]
fn take_error_messages() {
    let mut errors = vec![
        TakeError::NotPassed {
            spec: spec("pfd:9"),
            fd: 9,
            count: 2,
        },
        TakeError::NotPassed {
            spec: spec("pfd:9"),
            fd: 9,
            count: 1,
        },
        TakeError::NotPassed {
            spec: spec("pfd:9"),
            fd: 9,
            count: 0,
        },
        TakeError::NotInherited {
            spec: spec("pfd:12"),
            fd: 12,
        },
        TakeError::Replaced {
            spec: spec("pfd:web"),
            fd: 3,
        },
        TakeError::NotActivated {
            spec: spec("pfd:web"),
        },
        TakeError::NoFdNames {
            spec: spec("pfd:web"),
            fds: vec![3],
        },
        TakeError::NoFdNames {
            spec: spec("pfd:web"),
            fds: vec![3, 4, 5],
        },
        TakeError::NoSuchName {
            spec: spec("pfd:admin"),
            available: vec![(3, "web".into()), (4, "metrics".into())],
        },
        TakeError::NoSuchName {
            spec: spec("pfd:admin"),
            available: vec![],
        },
        TakeError::NoSuchName {
            spec: spec("pfd:admin"),
            available: (0..20).map(|i| (3 + i, format!("s{i}"))).collect(),
        },
        TakeError::AmbiguousName {
            spec: spec("pfd:web"),
            fds: vec![3, 4],
        },
        TakeError::AlreadyTaken {
            spec: spec("pfd:03"),
            fd: 3,
            taken_as: "pfd:web".into(),
        },
        TakeError::Setup {
            spec: spec("pfd:3"),
            fd: 3,
            source: std::io::Error::from_raw_os_error(libc::EPERM),
        },
    ];
    for source in validate_errors() {
        errors.push(TakeError::Invalid {
            spec: spec("pfd:3"),
            source,
        });
    }
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!("take_errors", text.join("\n"));
}

#[test]
fn env_error_messages() {
    let errors = [
        EnvError::NotUnicode {
            var: "LISTEN_FDNAMES",
        },
        EnvError::WithoutListenFds { var: "LISTEN_PID" },
        EnvError::MissingPid,
        EnvError::BadPid { value: "-1".into() },
        EnvError::PidMismatch {
            listen_pid: 1234,
            our_pid: 5678,
        },
        EnvError::BadPidFdId {
            value: "0x10".into(),
        },
        EnvError::PidFdIdMismatch {
            listen_pidfdid: 4242,
            ours: 4343,
        },
        EnvError::BadFdCount {
            value: "two".into(),
        },
        EnvError::BadFdCount {
            value: "010".into(),
        },
        EnvError::TooManyFds {
            count: 4_000_000_000,
        },
        EnvError::NamesCountMismatch { names: 1, fds: 2 },
        EnvError::BadName {
            index: 1,
            name: "a\tb".into(),
        },
        EnvError::PassedFdNotOpen { fd: 5, count: 3 },
        EnvError::UnsetNeedsSingleThread { threads: Some(4) },
        EnvError::UnsetNeedsSingleThread { threads: None },
    ];
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!("env_errors", text.join("\n"));
}

#[test]
fn io_error_kinds() {
    use std::io::{Error, ErrorKind};
    let kinds = [
        (
            Error::from(EnvError::MissingPid).kind(),
            ErrorKind::InvalidData,
        ),
        (
            Error::from(EnvError::PidMismatch {
                listen_pid: 1,
                our_pid: 2,
            })
            .kind(),
            ErrorKind::PermissionDenied,
        ),
        (
            Error::from(TakeError::NotActivated {
                spec: spec("pfd:x"),
            })
            .kind(),
            ErrorKind::NotFound,
        ),
        (
            Error::from(TakeError::AlreadyTaken {
                spec: spec("pfd:3"),
                fd: 3,
                taken_as: "pfd:3".into(),
            })
            .kind(),
            ErrorKind::AlreadyExists,
        ),
        (
            Error::from(ValidateError::NotOpen {
                fd: 3,
                open_limit: None,
            })
            .kind(),
            ErrorKind::NotFound,
        ),
        (
            Error::from(TakeError::Invalid {
                spec: spec("pfd:3"),
                source: ValidateError::NotListening { fd: 3, local: None },
            })
            .kind(),
            ErrorKind::InvalidInput,
        ),
    ];
    for (got, want) in kinds {
        assert_eq!(got, want);
    }
}

/// Connection validation reuses `ValidateError`'s variants; `ConnectionError` tells them in
/// connection terms. The two new variants read the same either way.
#[test]
fn connection_error_messages() {
    let tcp: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let mut errors = validate_errors();
    errors.push(ValidateError::Listening {
        fd: 3,
        local: Some(SocketAddress::Inet(tcp)),
    });
    errors.push(ValidateError::Listening { fd: 3, local: None });
    errors.push(ValidateError::NotConnected { fd: 3, local: None });
    errors.push(ValidateError::NotConnected {
        fd: 3,
        local: Some(SocketAddress::Unix(UnixAddress::Path(
            "/run/echod.sock".into(),
        ))),
    });
    let mut text = Vec::new();
    for error in errors {
        let as_listener = error.to_string();
        let take = TakeError::InvalidConnection {
            spec: spec("pfd:connection"),
            source: ConnectionError::from(error),
        };
        text.push(take.to_string());
        if let TakeError::InvalidConnection { source, .. } = &take {
            if source.to_string() == as_listener {
                text.push("  (the same as a listener)".to_owned());
            }
        }
    }
    insta::assert_snapshot!("connection_errors", text.join("\n"));

    // A failed system call is the cause, for the chain and for the io::Error kind.
    let sys = ConnectionError::from(ValidateError::Sys {
        fd: 3,
        call: "getsockopt(SO_TYPE)",
        source: std::io::Error::from_raw_os_error(libc::EACCES),
    });
    let cause = std::error::Error::source(&sys).expect("the system error");
    assert!(cause.is::<std::io::Error>(), "{cause:?}");
    assert!(
        std::error::Error::source(&ConnectionError::from(ValidateError::PathOnly { fd: 3 }))
            .is_none()
    );
    assert_eq!(
        std::io::Error::from(sys).kind(),
        std::io::ErrorKind::PermissionDenied
    );
    // The io::Error kind is the cause's: NotFound for an fd that is not open.
    let not_open = TakeError::InvalidConnection {
        spec: spec("pfd:connection"),
        source: ConnectionError::from(ValidateError::NotOpen {
            fd: 3,
            open_limit: None,
        }),
    };
    assert_eq!(
        std::io::Error::from(not_open).kind(),
        std::io::ErrorKind::NotFound
    );
}
