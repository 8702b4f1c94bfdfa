//! What one client can hold of the NOC: a connection slot, and time to send its request.
//!
//! - The connection cap (`[connections] max`): the listener takes a slot *before* it accepts, so at the cap
//!   the NOC stops accepting and new connections wait in the kernel's listen backlog; they are served as soon
//!   as a slot frees (a client closes, or is closed by the timeouts below). Nothing is refused at the cap, and
//!   the NOC's own file descriptors stay bounded by the cap.
//! - The per-address cap (`[connections] max_per_address`): one source IP may hold at most this many of those
//!   slots, so a single misbehaving client (or a NATed site's reconnect storm) cannot lock every other satellite
//!   out. The address is only known after accept, so a connection over it is accepted and closed at once
//!   ([`PerAddress`]); its global slot goes straight to the next connection in the backlog.
//! - Idle clients: a connection with no byte in either direction for `idle_timeout` is closed ([`CappedStream`]),
//!   whatever it is waiting for (TLS, the first request, the next keep-alive request, an idle HTTP/2 connection, or a
//!   client that stopped reading its response).
//! - Slow clients (slowloris): the TLS handshake and each HTTP/1 request head, including the idle wait between
//!   keep-alive requests, must complete within `header_read_timeout` (hyper's timer and axum-server's handshake
//!   timeout; the connection is closed). A request body must arrive in full within `body_read_timeout` of its
//!   head ([`body_deadline`]; 408, connection closed, the handler sees a failed body so nothing is applied).
//!
//! Metrics: `outpost_noc_connections_open` (gauge) and `outpost_noc_connections_at_limit_total` (accepts that
//! had to wait for a slot), `outpost_noc_connections_refused_total{reason="per_address"}` (closed at once),
//! `outpost_noc_connections_idle_closed_total`, `outpost_noc_body_timeouts_total`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

/// At most one per-address warning per this many seconds (with the count of refusals since the last one).
const PER_ADDRESS_WARN_SECS: u64 = 10;

/// The listen address with the connection caps: axum-server builds [`CappedListener`] from it.
/// Peers are reported with the same type (the caps are then unused).
#[derive(Debug, Clone, Copy)]
pub struct CappedAddr {
    pub addr: SocketAddr,
    pub max: u32,
    pub max_per_address: u32,
    pub idle: Duration,
}

impl axum_server::Address for CappedAddr {
    type Stream = CappedStream;
    type Listener = CappedListener;
}

pub struct CappedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    per_address: Arc<PerAddress>,
    addr: CappedAddr,
    /// Unix seconds of the last "at the limit" warning, so an attack logs once per minute, not per connection.
    last_warned: AtomicU64,
}

impl axum_server::AddrListener<CappedStream, CappedAddr> for CappedListener {
    async fn bind_to(addr: CappedAddr) -> io::Result<Self> {
        Ok(CappedListener {
            inner: TcpListener::bind(addr.addr).await?,
            slots: Arc::new(Semaphore::new(addr.max as usize)),
            per_address: Arc::new(PerAddress::new(addr.max_per_address)),
            addr,
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
        // The global slot is kept across refusals: it goes to the next connection in the backlog.
        loop {
            let (stream, peer) = self.inner.accept().await?;
            // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; count and log it as a.b.c.d.
            let ip = peer.ip().to_canonical();
            let Some(address_slot) = self.per_address.take(ip) else {
                self.per_address.refused(ip);
                drop(stream);
                continue;
            };
            metrics::gauge!("outpost_noc_connections_open").increment(1.0);
            let slot = Slot { _address: address_slot, _global: permit };
            return Ok((CappedStream::new(stream, slot, self.addr.idle), CappedAddr { addr: peer, ..self.addr }));
        }
    }

    fn get_local_addr(&self) -> io::Result<CappedAddr> {
        Ok(CappedAddr { addr: self.inner.local_addr()?, ..self.addr })
    }
}

/// True at most once per `secs` across all callers sharing `last` (Unix seconds of the last `true`).
fn once_per(last: &AtomicU64, secs: u64) -> bool {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let prev = last.load(Ordering::Relaxed);
    now >= prev + secs && last.compare_exchange(prev, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

impl CappedListener {
    fn warn_at_limit(&self) {
        if once_per(&self.last_warned, 60) {
            tracing::warn!(
                max = self.addr.max,
                "connection limit reached: new connections wait until one closes; raise [connections] max \
                 if these are legitimate clients (see outpost_noc_connections_at_limit_total)"
            );
        }
    }
}

/// Connections open per source address, bounded by `max`. Only addresses with an open connection have an entry,
/// so the table holds at most `[connections] max` entries.
struct PerAddress {
    max: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
    /// Refusals not yet mentioned in a warning, and when the last warning was logged (see [`once_per`]).
    unlogged: AtomicU64,
    last_warned: AtomicU64,
}

impl PerAddress {
    fn new(max: u32) -> PerAddress {
        PerAddress { max, open: Mutex::default(), unlogged: AtomicU64::new(0), last_warned: AtomicU64::new(0) }
    }

    /// One slot for `ip`, or `None` if it holds `max` already.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        // A poisoned lock only means another thread panicked between two plain integer updates: the map is sound.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressSlot { table: self.clone(), ip })
    }

    /// Counts a refused connection; warns at most once per [`PER_ADDRESS_WARN_SECS`], naming the address that
    /// triggered the warning and how many were refused (from any address) since the previous one.
    fn refused(&self, ip: IpAddr) {
        metrics::counter!("outpost_noc_connections_refused_total", "reason" => "per_address").increment(1);
        self.unlogged.fetch_add(1, Ordering::Relaxed);
        if once_per(&self.last_warned, PER_ADDRESS_WARN_SECS) {
            tracing::warn!(
                peer = %ip,
                max_per_address = self.max,
                refused = self.unlogged.swap(0, Ordering::Relaxed),
                "connection closed at once: this address already holds max_per_address connections (refused counts \
                 every address since the last such warning). If it is a NAT or proxy in front of many legitimate \
                 clients, raise [connections] max_per_address; otherwise block it \
                 (see outpost_noc_connections_refused_total)"
            );
        }
    }
}

/// One connection's place in [`PerAddress`], given back when the connection is dropped, however it ends.
struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Both slots a connection holds: one of `max`, and one of its address's `max_per_address`.
/// Fields drop in declaration order, and the order matters: the address slot must be back before the global one
/// is, or the listener, waiting on another thread for a global slot, can accept the next connection of the same
/// address while it still counts as full and close that connection at once (seen as the idle-eviction e2e test
/// failing two runs in three: its fifth connection from 127.0.0.1 was refused instead of served).
struct Slot {
    _address: AddressSlot,
    _global: OwnedSemaphorePermit,
}

/// A TCP connection holding its [`Slot`] until it is dropped, and closed (its reads and writes fail)
/// after `idle` without a byte in either direction.
///
/// Why at this level: hyper's auto (HTTP/1 or HTTP/2) server first waits for bytes to tell the versions apart,
/// with no timeout, and neither an idle TLS session nor an idle HTTP/2 connection has any timeout in hyper; so a
/// client that connects and says nothing would hold its slot forever. One timer per connection is enough
/// because hyper drives a connection's reads and writes from one task (one waker).
pub struct CappedStream {
    inner: TcpStream,
    _slot: Slot,
    idle: Duration,
    idle_deadline: Pin<Box<tokio::time::Sleep>>,
}

impl CappedStream {
    fn new(inner: TcpStream, slot: Slot, idle: Duration) -> CappedStream {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_gets_each_slot_back_when_a_connection_ends() {
        let table = Arc::new(PerAddress::new(2));
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().expect("ip"), "127.0.0.3".parse().expect("ip"));
        let first = table.take(a).expect("first slot");
        let second = table.take(a).expect("second slot");
        assert!(table.take(a).is_none(), "a third connection from the same address is refused");
        let other = table.take(b).expect("another address is not affected");
        drop(first);
        let third = table.take(a).expect("a slot freed by a closed connection is reused");
        drop((second, third, other));
        assert!(table.open.lock().expect("lock").is_empty(), "no entry is left for addresses without connections");
    }

    /// The listener, parked on another thread waiting for a global slot: when it is woken it at once asks for an
    /// address slot for the next connection in the backlog, here one from the same address.
    struct WaitingListener {
        table: Arc<PerAddress>,
        ip: IpAddr,
        got_address_slot: AtomicBool,
    }

    impl std::task::Wake for WaitingListener {
        fn wake(self: Arc<Self>) {
            let got = self.table.take(self.ip).is_some();
            self.got_address_slot.store(got, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_closed_connection_frees_its_address_slot_before_the_listener_can_take_its_global_slot() {
        let global = Arc::new(Semaphore::new(1));
        let table = Arc::new(PerAddress::new(1));
        let ip: IpAddr = "127.0.0.2".parse().expect("ip");
        let slot = Slot {
            _address: table.take(ip).expect("address slot"),
            _global: global.clone().try_acquire_owned().expect("global slot"),
        };
        let listener = Arc::new(WaitingListener { table: table.clone(), ip, got_address_slot: AtomicBool::new(false) });
        let waker = std::task::Waker::from(listener.clone());
        let mut wait = Box::pin(global.clone().acquire_owned());
        assert!(wait.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(), "every global slot is taken");
        // The semaphore wakes the waiting listener inside this drop, when the global slot comes back.
        drop(slot);
        assert!(
            listener.got_address_slot.load(Ordering::SeqCst),
            "woken for the global slot, the listener found the address still full and would refuse the connection"
        );
    }

    #[test]
    fn refusal_warnings_are_rate_limited() {
        let last = AtomicU64::new(0);
        assert!(once_per(&last, PER_ADDRESS_WARN_SECS), "the first refusal is logged");
        assert!(!once_per(&last, PER_ADDRESS_WARN_SECS), "the next ones within the window are not");
        last.store(last.load(Ordering::Relaxed) - PER_ADDRESS_WARN_SECS, Ordering::Relaxed);
        assert!(once_per(&last, PER_ADDRESS_WARN_SECS), "once the window has passed, one more is");
    }
}
