//! Sending one message: one `sendmsg` for the whole message (and its fds), never blocking on a
//! unix socket (the caller retries within its budget), vsock's type fallback and connected
//! types as systemd's `sd_notify` does, each bounded by socket timeouts.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    self, AddressFamily, ControlMessage, MsgFlags, Shutdown, SockFlag, SockType, SockaddrLike,
    UnixAddr, VsockAddr,
};

/// A failed system call while sending.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) op: &'static str,
    pub(super) ty: SockType,
    pub(super) errno: Errno,
}

impl Failure {
    fn of(op: &'static str, ty: SockType) -> impl FnOnce(Errno) -> Failure {
        move |errno| Failure { op, ty, errno }
    }
}

pub(super) fn type_name(ty: SockType) -> &'static str {
    match ty {
        SockType::Datagram => "SOCK_DGRAM",
        SockType::SeqPacket => "SOCK_SEQPACKET",
        _ => "SOCK_STREAM",
    }
}

fn new_socket(family: AddressFamily, ty: SockType) -> Result<OwnedFd, Failure> {
    socket::socket(family, ty, SockFlag::SOCK_CLOEXEC, None).map_err(Failure::of("socket", ty))
}

/// The `AF_UNIX` datagram socket a [`Notifier`](super::Notifier) keeps for its life: sending
/// then needs no new fd, so notifications (the watchdog) still go out when the process has used
/// every fd its limit allows.
pub(super) fn unix_socket() -> Result<OwnedFd, Failure> {
    new_socket(AddressFamily::Unix, SockType::Datagram)
}

/// One `sendmsg` of all of `msg`, with `fds` as `SCM_RIGHTS` if there are any.
fn send_message<S: SockaddrLike>(
    sock: &OwnedFd,
    ty: SockType,
    to: Option<&S>,
    msg: &[u8],
    fds: &[RawFd],
    flags: MsgFlags,
) -> Result<(), Failure> {
    let iov = [IoSlice::new(msg)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    let sent = socket::sendmsg(
        sock.as_raw_fd(),
        &iov,
        cmsgs,
        MsgFlags::MSG_NOSIGNAL | flags,
        to,
    )
    .map_err(Failure::of("sendmsg", ty))?;
    // Datagrams and sequenced packets go whole or not at all, and a blocking stream send
    // returns once all of it is queued; anything else is an error, never half a message.
    if sent != msg.len() {
        return Err(Failure::of("sendmsg", ty)(Errno::EIO));
    }
    Ok(())
}

/// One attempt to send `msg` on `sock` to `addr` without blocking: `EAGAIN` when the receiver's
/// queue is full (a busy or wedged service manager), for the caller to retry within its budget.
pub(super) fn unix_send(
    sock: &OwnedFd,
    addr: &UnixAddr,
    msg: &[u8],
    fds: &[RawFd],
) -> Result<(), Failure> {
    send_message(
        sock,
        SockType::Datagram,
        Some(addr),
        msg,
        fds,
        MsgFlags::MSG_DONTWAIT,
    )
}

/// Sends `msg` over vsock on a new socket whose sends and receives give up after `timeout`
/// (`EAGAIN`), so that a receiver that stops reading cannot block the caller for longer.
pub(super) fn vsock_send(
    addr: &VsockAddr,
    ty: Option<SockType>,
    msg: &[u8],
    fds: &[RawFd],
    timeout: Duration,
) -> Result<(), Failure> {
    let (sock, ty) = vsock_socket(ty)?;
    let tv = nix::sys::time::TimeVal::new(
        timeout.as_secs().try_into().unwrap_or(i64::MAX),
        timeout.subsec_micros().into(),
    );
    socket::setsockopt(&sock, socket::sockopt::SendTimeout, &tv)
        .and_then(|()| socket::setsockopt(&sock, socket::sockopt::ReceiveTimeout, &tv))
        .map_err(Failure::of("setsockopt", ty))?;
    bind_privileged_port(&sock, ty)?;
    if ty == SockType::Datagram {
        return send_message(&sock, ty, Some(addr), msg, fds, MsgFlags::empty());
    }
    socket::connect(sock.as_raw_fd(), addr).map_err(Failure::of("connect", ty))?;
    send_connected(&sock, ty, msg, fds)
}

/// An `AF_VSOCK` socket of type `ty`, or, when the address names none, systemd's order:
/// datagram, then sequenced packets, then stream, as long as the kernel does not support the
/// type tried.
fn vsock_socket(ty: Option<SockType>) -> Result<(OwnedFd, SockType), Failure> {
    let mut tried = ty.unwrap_or(SockType::Datagram);
    loop {
        match new_socket(AddressFamily::Vsock, tried) {
            Ok(sock) => return Ok((sock, tried)),
            Err(failure) => match vsock_fallback(tried, failure.errno, ty.is_some()) {
                Some(next) => tried = next,
                None => return Err(failure),
            },
        }
    }
}

/// The type to try after `socket(AF_VSOCK, tried)` failed with `errno`, as systemd's
/// `sd_notify` decides (never when the address named the type).
fn vsock_fallback(tried: SockType, errno: Errno, named: bool) -> Option<SockType> {
    // systemd's ERRNO_IS_NOT_SUPPORTED.
    let unsupported = matches!(
        errno,
        Errno::EOPNOTSUPP
            | Errno::ENOTTY
            | Errno::ENOSYS
            | Errno::EAFNOSUPPORT
            | Errno::EPFNOSUPPORT
            | Errno::EPROTONOSUPPORT
            | Errno::ESOCKTNOSUPPORT
            | Errno::ENOPROTOOPT
    );
    match tried {
        _ if named => None,
        // QEMU's vsock has no datagrams and says ENODEV.
        SockType::Datagram if unsupported || errno == Errno::ENODEV => Some(SockType::SeqPacket),
        SockType::SeqPacket if unsupported => Some(SockType::Stream),
        _ => None,
    }
}

/// Binds `sock` to the highest free privileged port (1023 down to 1), as `sd_notify` does, so
/// that the receiver can tell a privileged sender; without the privilege it stays unbound.
fn bind_privileged_port(sock: &OwnedFd, ty: SockType) -> Result<(), Failure> {
    for port in (1..=1023).rev() {
        match socket::bind(
            sock.as_raw_fd(),
            &VsockAddr::new(libc::VMADDR_CID_ANY, port),
        ) {
            Ok(()) | Err(Errno::EPERM | Errno::EACCES) => return Ok(()),
            Err(Errno::EADDRINUSE) => {}
            Err(errno) => return Err(Failure::of("bind", ty)(errno)),
        }
    }
    Err(Failure::of("bind", ty)(Errno::EADDRINUSE))
}

/// Sends `msg` on connected `sock`, then marks its end (shutdown of the sending side) and waits
/// for the receiver to close without answering.
fn send_connected(sock: &OwnedFd, ty: SockType, msg: &[u8], fds: &[RawFd]) -> Result<(), Failure> {
    send_message::<()>(sock, ty, None, msg, fds, MsgFlags::empty())?;
    socket::shutdown(sock.as_raw_fd(), Shutdown::Write).map_err(Failure::of("shutdown", ty))?;
    let mut byte = [0u8; 1];
    let read = socket::recv(sock.as_raw_fd(), &mut byte, MsgFlags::MSG_NOSIGNAL)
        .map_err(Failure::of("recv", ty))?;
    if read > 0 {
        return Err(Failure::of("recv", ty)(Errno::EPROTO));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn vsock_falls_back_like_sd_notify() {
        use SockType::{Datagram, SeqPacket, Stream};
        // Datagrams: not supported (any of systemd's errnos) or ENODEV (QEMU) -> packets.
        for errno in [
            Errno::ENODEV,
            Errno::ESOCKTNOSUPPORT,
            Errno::EOPNOTSUPP,
            Errno::ENOSYS,
        ] {
            assert_eq!(
                vsock_fallback(Datagram, errno, false),
                Some(SeqPacket),
                "{errno}"
            );
        }
        // Packets: only "not supported" -> stream; ENODEV is an answer.
        for errno in [
            Errno::EAFNOSUPPORT,
            Errno::EPFNOSUPPORT,
            Errno::EPROTONOSUPPORT,
            Errno::ENOTTY,
            Errno::ENOPROTOOPT,
        ] {
            assert_eq!(
                vsock_fallback(SeqPacket, errno, false),
                Some(Stream),
                "{errno}"
            );
        }
        assert_eq!(vsock_fallback(SeqPacket, Errno::ENODEV, false), None);
        // Other errors, the last type, and a type the address named end the search.
        assert_eq!(vsock_fallback(Datagram, Errno::EACCES, false), None);
        assert_eq!(vsock_fallback(Datagram, Errno::EMFILE, false), None);
        assert_eq!(vsock_fallback(Stream, Errno::ESOCKTNOSUPPORT, false), None);
        assert_eq!(vsock_fallback(Datagram, Errno::ENODEV, true), None);
        assert_eq!(vsock_fallback(SeqPacket, Errno::EOPNOTSUPP, true), None);
    }

    #[test]
    fn vsock_socket_tries_the_types_in_order() {
        let named = vsock_socket(Some(SockType::Datagram));
        match &named {
            Ok((_, ty)) => assert_eq!(*ty, SockType::Datagram),
            Err(failure) => {
                assert_eq!((failure.op, failure.ty), ("socket", SockType::Datagram));
            }
        }
        match (named, vsock_socket(None)) {
            // No AF_VSOCK at all (EAFNOSUPPORT is "not supported"): every type was tried.
            (Err(_), Err(failure)) => assert_eq!(failure.op, "socket"),
            (Ok(_), Ok((_, ty))) => assert_eq!(ty, SockType::Datagram),
            (Err(failure), Ok((sock, ty))) => {
                assert!(vsock_fallback(SockType::Datagram, failure.errno, false).is_some());
                assert_ne!(ty, SockType::Datagram);
                let kind = crate::sys::getsockopt_int(
                    std::os::fd::AsFd::as_fd(&sock),
                    libc::SOL_SOCKET,
                    libc::SO_TYPE,
                )
                .unwrap();
                assert_eq!(kind, ty as i32);
            }
            (Ok(_), Err(failure)) => panic!("datagrams work, but not without a type: {failure:?}"),
        }
    }

    #[test]
    fn bind_privileged_port_takes_the_highest_free_port() {
        let Ok((first, ty)) = vsock_socket(None) else {
            test_support::skip_kernel!("no AF_VSOCK sockets");
        };
        let (second, _) = vsock_socket(None).unwrap();
        bind_privileged_port(&first, ty).unwrap();
        bind_privileged_port(&second, ty).unwrap();
        let port = |sock: &OwnedFd| {
            socket::getsockname::<VsockAddr>(sock.as_raw_fd())
                .unwrap()
                .port()
        };
        // Binding a vsock port below 1024 takes CAP_NET_BIND_SERVICE (bit 10 of CapEff).
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let caps = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap();
        const CAP_NET_BIND_SERVICE: u32 = 10;
        if caps & (1 << CAP_NET_BIND_SERVICE) != 0 {
            // Privileged: the second found the first's port taken and went down.
            assert!((1..=1023).contains(&port(&first)), "{}", port(&first));
            assert!(
                port(&second) < port(&first),
                "{} {}",
                port(&second),
                port(&first)
            );
        } else {
            // Without the privilege both stay unbound.
            assert_eq!(port(&first), port(&second));
        }
    }

    /// A connected pair of `ty` sockets; the first is the sender's.
    fn pair(ty: SockType) -> (OwnedFd, OwnedFd) {
        socket::socketpair(AddressFamily::Unix, ty, None, SockFlag::SOCK_CLOEXEC).unwrap()
    }

    #[test]
    fn send_connected_ends_the_message_and_waits_for_the_receiver_to_close() {
        for ty in [SockType::SeqPacket, SockType::Stream] {
            let (ours, theirs) = pair(ty);
            let receiver = std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                let n = socket::recv(theirs.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
                let end = socket::recv(theirs.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
                (buf[..n].to_vec(), end)
            });
            send_connected(&ours, ty, b"READY=1", &[]).unwrap();
            drop(ours);
            let (got, end) = receiver.join().unwrap();
            assert_eq!(got, b"READY=1");
            assert_eq!(end, 0, "the sending side was shut down");
        }
    }

    #[test]
    fn send_connected_refuses_an_answer() {
        let (ours, theirs) = pair(SockType::Stream);
        let theirs = UnixStream::from(theirs);
        let receiver = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut theirs = theirs;
            let mut got = Vec::new();
            theirs.read_to_end(&mut got).unwrap();
            theirs.write_all(b"?").unwrap();
            got
        });
        let failure = send_connected(&ours, SockType::Stream, b"READY=1", &[]);
        drop(ours);
        assert_eq!(receiver.join().unwrap(), b"READY=1");
        let failure = failure.unwrap_err();
        assert_eq!((failure.op, failure.errno), ("recv", Errno::EPROTO));
    }

    #[test]
    fn send_connected_reports_the_failing_call() {
        let (ours, theirs) = pair(SockType::SeqPacket);
        drop(theirs);
        let failure = send_connected(&ours, SockType::SeqPacket, b"READY=1", &[]).unwrap_err();
        assert_eq!((failure.op, failure.errno), ("sendmsg", Errno::EPIPE));
    }
}
