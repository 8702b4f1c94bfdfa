//! What one client can hold of the NOC: a connection slot, and time to send its request.
//!
//! - The connection cap (`[connections] max`): the listener takes a slot *before* it accepts, so at the cap
//!   the NOC stops accepting and new connections wait in the kernel's listen backlog; they are served as soon
//!   as a slot frees (a client closes, or is closed by the timeouts below). Nothing is refused at the cap, and
//!   the NOC's own file descriptors stay bounded by the cap.
//! - Idle clients: a connection with no byte in either direction for `idle_timeout` is closed ([`CappedStream`]),
//!   whatever it is waiting for (TLS, the first request, the next keep-alive request, an idle HTTP/2 connection, or a
//!   client that stopped reading its response).
//! - Slow clients (slowloris): the TLS handshake and each HTTP/1 request head, including the idle wait between
//!   keep-alive requests, must complete within `header_read_timeout` (hyper's timer and axum-server's handshake
//!   timeout; the connection is closed). A request body must arrive in full within `body_read_timeout` of its
//!   head ([`body_deadline`]; 408, connection closed, the handler sees a failed body so nothing is applied).
//!
//! Metrics: `outpost_noc_connections_open` (gauge) and `outpost_noc_connections_at_limit_total` (accepts that
//! had to wait for a slot), `outpost_noc_connections_idle_closed_total`, `outpost_noc_body_timeouts_total`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The listen address with the connection cap: axum-server builds [`CappedListener`] from it.
/// Peers are reported with the same type (`max` is then unused).
#[derive(Debug, Clone, Copy)]
pub struct CappedAddr {
    pub addr: SocketAddr,
    pub max: u32,
    pub idle: Duration,
}

impl axum_server::Address for CappedAddr {
    type Stream = CappedStream;
    type Listener = CappedListener;
}

pub struct CappedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    max: u32,
    idle: Duration,
    /// Unix seconds of the last "at the limit" warning, so an attack logs once per minute, not per connection.
    last_warned: AtomicU64,
}

impl axum_server::AddrListener<CappedStream, CappedAddr> for CappedListener {
    async fn bind_to(addr: CappedAddr) -> io::Result<Self> {
        Ok(CappedListener {
            inner: TcpListener::bind(addr.addr).await?,
            slots: Arc::new(Semaphore::new(addr.max as usize)),
            max: addr.max,
            idle: addr.idle,
            last_warned: AtomicU64::new(0),
        })
    }

    async fn accept_stream(&self) -> io::Result<(CappedStream, CappedAddr)> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                metrics::counter!("outpost_noc_connections_at_limit_total").increment(1);
                self.warn_at_limit();
                self.slots.clone().acquire_owned().await.map_err(io::Error::other)?
            }
        };
        let (stream, peer) = self.inner.accept().await?;
        metrics::gauge!("outpost_noc_connections_open").increment(1.0);
        Ok((CappedStream::new(stream, permit, self.idle), CappedAddr { addr: peer, max: self.max, idle: self.idle }))
    }

    fn get_local_addr(&self) -> io::Result<CappedAddr> {
        Ok(CappedAddr { addr: self.inner.local_addr()?, max: self.max, idle: self.idle })
    }
}

impl CappedListener {
    fn warn_at_limit(&self) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let last = self.last_warned.load(Ordering::Relaxed);
        if now >= last + 60
            && self.last_warned.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(
                max = self.max,
                "connection limit reached: new connections wait until one closes; raise [connections] max \
                 if these are legitimate clients (see outpost_noc_connections_at_limit_total)"
            );
        }
    }
}

/// A TCP connection holding one slot of the cap until it is dropped, and closed (its reads and writes fail)
/// after `idle` without a byte in either direction.
///
/// Why at this level: hyper's auto (HTTP/1 or HTTP/2) server first waits for bytes to tell the versions apart,
/// with no timeout, and neither an idle TLS session nor an idle HTTP/2 connection has any timeout in hyper; so a
/// client that connects and says nothing would hold its slot forever. One timer per connection is enough
/// because hyper drives a connection's reads and writes from one task (one waker).
pub struct CappedStream {
    inner: TcpStream,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    idle_deadline: Pin<Box<tokio::time::Sleep>>,
}

impl CappedStream {
    fn new(inner: TcpStream, slot: OwnedSemaphorePermit, idle: Duration) -> CappedStream {
        CappedStream { inner, _slot: slot, idle, idle_deadline: Box::pin(tokio::time::sleep(idle)) }
    }

    fn active(&mut self) {
        let next = tokio::time::Instant::now() + self.idle;
        self.idle_deadline.as_mut().reset(next);
    }

    /// For a pending read or write: `Ready(Err)` once the connection has been idle too long.
    fn idle_expired<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.idle_deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                metrics::counter!("outpost_noc_connections_idle_closed_total").increment(1);
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle: closed by the NOC")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for CappedStream {
    fn drop(&mut self) {
        metrics::gauge!("outpost_noc_connections_open").decrement(1.0);
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => self.idle_expired(cx),
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(r)
            }
        }
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.idle_expired(cx),
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.active();
                }
                Poll::Ready(r)
            }
        }
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Middleware: the request body must arrive in full within `timeout` of the request head.
/// hyper has no body timeout, and a per-read idle timeout would not stop a client trickling a byte at a time.
/// On expiry the handler's body read fails (so it applies nothing) and the answer becomes 408 with the
/// connection closed.
pub async fn body_deadline(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let body = DeadlineBody { inner: body, deadline: Box::pin(tokio::time::sleep(timeout)), expired: expired.clone() };
    let response = next.run(Request::from_parts(parts, Body::new(body))).await;
    if !expired.load(Ordering::Relaxed) {
        return response;
    }
    metrics::counter!("outpost_noc_body_timeouts_total").increment(1);
    tracing::warn!(secs = timeout.as_secs(), "request body too slow: answered 408, connection closed");
    let mut r = (
        StatusCode::REQUEST_TIMEOUT,
        format!("request body not received within {} s; nothing applied", timeout.as_secs()),
    )
        .into_response();
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A request body that fails once its deadline passes. It keeps the inner body's size hint, so a declared
/// `Content-Length` over a route's limit is still refused (413) before any of it is read.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body deadline passed")
    }
}

impl std::error::Error for BodyTimedOut {}
