//! The gateway's connection, which a streamed answer may quieten while it
//! leaves the stream unread (`Pace`, in [`super::exchange`]).
//!
//! Leaving a socket unread does not stop the kernel from waking the
//! bridge's event loop for every piece that arrives: the loop wakes, finds
//! nobody waiting for it, and sleeps again, at a cost per token close to
//! reading it. On Linux (4.18 and later), a socket's `SO_RCVLOWAT` keeps
//! those wakes back until that many bytes are waiting; setting it back to 1
//! signals at once whatever is there. So a pause sets it high and the end
//! of the pause sets it back: one wake for all the tokens of a pause.
//! Elsewhere (or when the kernel refuses) [`Quiet::set`] does nothing and
//! the loop just wakes for nothing while paused.

use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};

/// The low mark while quiet: far more than a model's tokens in one pause
/// (more only wakes the bridge early), and small enough that Linux does
/// not grow the socket's receive buffer for it (about twice the mark
/// against a default buffer of 128 KiB), which would also clamp the
/// connection's receive window to it.
const QUIET_BYTES: libc::c_int = 16 << 10;

/// A connection to the gateway, and the handle its answers carry (as an
/// extension of the response: [`Quiet::of`]).
pub(super) struct Tracked<S> {
    inner: S,
    quiet: Quiet,
}

impl<S> Tracked<S> {
    /// `inner`, whose socket is `fd` (`None`: nothing to quieten).
    pub(super) fn new(inner: S, fd: Option<RawFd>) -> Tracked<S> {
        Tracked {
            inner,
            quiet: Quiet(Arc::new(Mutex::new(fd.filter(|_| supported())))),
        }
    }
}

impl<S> Drop for Tracked<S> {
    fn drop(&mut self) {
        // Before `inner` closes the socket: its number may be reused.
        *self.quiet.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The socket of one connection to the gateway, while it is open.
#[derive(Clone, Debug)]
pub(super) struct Quiet(Arc<Mutex<Option<RawFd>>>);

impl Quiet {
    /// The handle of the connection `response` came on, if it has one.
    pub(super) fn of<B>(response: &hyper::Response<B>) -> Option<Quiet> {
        response.extensions().get::<Quiet>().cloned()
    }

    /// Quieten the socket (`true`: no wakes until [`QUIET_BYTES`] wait) or
    /// end it (`false`: a wake now if anything waits). Does nothing once
    /// the connection is closed, or where it is not supported.
    pub(super) fn set(&self, quiet: bool) {
        let fd = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(fd) = *fd else {
            return;
        };
        let mark: libc::c_int = if quiet { QUIET_BYTES } else { 1 };
        // SAFETY: `fd` is the connection's open socket: `Tracked` clears it
        // under this lock before the socket is closed, and the lock is held
        // until setsockopt returns. The option's value is a c_int.
        let _ = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                (&raw const mark).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
}

/// Whether lowering `SO_RCVLOWAT` signals what is waiting (Linux 4.18,
/// `tcp_set_rcvlowat`): before, the end of a pause could leave the tokens
/// that came during it unread until the next one arrives.
fn supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        cfg!(target_os = "linux") && {
            let uname = rustix::system::uname();
            signals_on_lowering(&uname.release().to_string_lossy())
        }
    })
}

/// Whether a Linux release (`uname -r`) is 4.18 or later.
fn signals_on_lowering(release: &str) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (4, 18),
        _ => false,
    }
}

impl<S: Connection> Connection for Tracked<S> {
    fn connected(&self) -> Connected {
        self.inner.connected().extra(self.quiet.clone())
    }
}

impl<S: Read + Unpin> Read for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: Write + Unpin> Write for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    /// Whether `socket` reads as readable now (`poll(2)`, no wait).
    fn readable(socket: &TcpStream) -> bool {
        let mut fds = [libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd, a zero timeout.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
        n == 1 && fds[0].revents & libc::POLLIN != 0
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_quiet_socket_reads_as_idle_until_it_is_let_be() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut gateway = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (bridge, _) = listener.accept().unwrap();
        let conn = Tracked::new((), Some(bridge.as_raw_fd()));
        let quiet = conn.quiet.clone();
        if !supported() {
            // Before 4.18 a lowered mark does not signal: never quietened.
            assert!(quiet.0.lock().unwrap().is_none());
            return;
        }

        quiet.set(true);
        gateway.write_all(b"data: a token\n\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!readable(&bridge), "a few bytes wake a quiet socket");
        quiet.set(false);
        assert!(
            readable(&bridge),
            "the bytes that came while quiet are not signalled"
        );

        // Closed: the handle does nothing (the number may be another's).
        drop(conn);
        assert!(quiet.0.lock().unwrap().is_none());
        quiet.set(true);
        assert!(readable(&bridge));
    }

    #[test]
    fn linux_releases_from_4_18_signal_a_lowered_mark() {
        for (release, yes) in [
            ("6.18.44-fc-v857", true),
            ("4.18.0-553.el8_10.x86_64", true),
            ("5.4.0", true),
            ("4.17.19", false),
            ("3.10.0-1160.el7.x86_64", false),
            ("", false),
            ("weird", false),
        ] {
            assert_eq!(signals_on_lowering(release), yes, "{release}");
        }
    }
}
