//! A fault-injecting TCP proxy for delivery tests: sits between a satellite and the NOC on 127.0.0.1
//! and, on command, passes traffic, refuses connections, stalls (bytes stop, nothing closes), unplugs (a pulled
//! cable: nothing moves in either direction, not even a close, and new connections hang), resets every
//! connection, trickles bytes slowly, or cuts each connection after some bytes (mid-request).
//!
//! Plain threads, no async: the harness is synchronous and a test has a handful of connections.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the proxy does to traffic right now. Changing it affects live connections too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Accept and immediately reset new connections (NOC port closed / host down); live ones keep going.
    Refuse,
    /// Forward nothing and close nothing: bytes wait until the fault changes. A close by either side still
    /// passes through (as a FIN); for a link that hides even that, use [`Fault::Unplug`].
    Stall,
    /// A pulled cable: nothing crosses in either direction, not data, not a close (FIN or RST), for live
    /// connections and new ones alike (a new connection is accepted and then hangs, as a SYN that is never
    /// answered would). When the fault changes, what was held flows on; a peer that gave up meanwhile then
    /// sees its close or reset arrive late, as after a real re-plug.
    Unplug,
    /// Reset every live connection now and every new one (RST).
    Reset,
    /// Forward at most `bytes` every `every`.
    Trickle { bytes: usize, every: Duration },
    /// Reset each connection once it has carried this many bytes towards the server (a cut mid-request).
    CutAfter(u64),
}

pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    target: SocketAddr,
    fault: Mutex<Fault>,
    /// Bumped on every `set`, so pumps notice a change even if the value is the same.
    generation: AtomicU64,
    stop: AtomicBool,
    forwarded: AtomicU64,
    connections: AtomicU64,
}

const TICK: Duration = Duration::from_millis(20);

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 (a free port) forwarding to `target`.
    pub fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy on 127.0.0.1");
        let addr = listener.local_addr().expect("proxy address");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let shared = Arc::new(Shared {
            target,
            fault: Mutex::new(Fault::Pass),
            generation: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            forwarded: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, s));
        FaultProxy { addr, shared }
    }

    /// Start on a fixed port (e.g. one a satellite config already names).
    pub fn start_on(port: u16, target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind proxy port");
        let addr = listener.local_addr().expect("proxy address");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let shared = Arc::new(Shared {
            target,
            fault: Mutex::new(Fault::Pass),
            generation: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            forwarded: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, s));
        FaultProxy { addr, shared }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Bytes forwarded in both directions so far.
    pub fn bytes_forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

impl Shared {
    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                if matches!(shared.fault(), Fault::Refuse | Fault::Reset) {
                    reset(&client);
                    continue;
                }
                let s = shared.clone();
                thread::spawn(move || connect(client, s));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Connects an accepted client to the target and starts the two pumps. While the cable is unplugged the
/// client just waits: the target must not see a connection the cable could not have carried.
fn connect(client: TcpStream, shared: Arc<Shared>) {
    while shared.fault() == Fault::Unplug && !shared.stop.load(Ordering::SeqCst) {
        thread::sleep(TICK);
    }
    let Ok(server) = TcpStream::connect(shared.target) else {
        reset(&client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let dead = Arc::new(AtomicBool::new(false));
    let pairs = [(client.try_clone(), server.try_clone(), true), (server.try_clone(), client.try_clone(), false)];
    for (from, to, upstream) in pairs {
        if let (Ok(from), Ok(to)) = (from, to) {
            let (s, d) = (shared.clone(), dead.clone());
            thread::spawn(move || pump(from, to, upstream, s, d));
        }
    }
}

/// Copies `from` → `to`, applying the current fault to every chunk.
/// `dead` is shared by the two pumps of a connection: once one resets, both drop their handles,
/// and the last close sends the RST.
fn pump(mut from: TcpStream, mut to: TcpStream, upstream: bool, shared: Arc<Shared>, dead: Arc<AtomicBool>) {
    let _ = from.set_read_timeout(Some(TICK));
    let mut buf = vec![0u8; 64 << 10];
    let mut carried = 0u64;
    let mut pending: Vec<u8> = Vec::new();
    let kill = |from: &TcpStream, to: &TcpStream| {
        reset(from);
        reset(to);
        dead.store(true, Ordering::SeqCst);
    };
    loop {
        let fault = shared.fault();
        if shared.stop.load(Ordering::SeqCst) || dead.load(Ordering::SeqCst) || fault == Fault::Reset {
            kill(&from, &to);
            return;
        }
        if fault == Fault::Unplug {
            // Not even a read: reading could notice (and pass on) a close the cable would have hidden.
            thread::sleep(TICK);
            continue;
        }
        if pending.is_empty() {
            match from.read(&mut buf) {
                Ok(0) => {
                    let _ = to.shutdown(Shutdown::Write);
                    if !upstream {
                        dead.store(true, Ordering::SeqCst);
                    }
                    return;
                }
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
                Err(_) => {
                    kill(&from, &to);
                    return;
                }
            }
        }
        let take = match fault {
            Fault::Stall => {
                thread::sleep(TICK);
                continue;
            }
            Fault::Trickle { bytes, every } => {
                thread::sleep(every);
                bytes.max(1).min(pending.len())
            }
            Fault::CutAfter(limit) if upstream => {
                let room = limit.saturating_sub(carried) as usize;
                if room == 0 {
                    kill(&from, &to);
                    return;
                }
                room.min(pending.len())
            }
            _ => pending.len(),
        };
        if to.write_all(&pending[..take]).is_err() {
            kill(&from, &to);
            return;
        }
        carried += take as u64;
        shared.forwarded.fetch_add(take as u64, Ordering::SeqCst);
        pending.drain(..take);
    }
}

/// Arms RST instead of FIN (SO_LINGER 0) for when the last handle closes, as a crashed middlebox does.
fn reset(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt on a valid, open fd with a correctly sized linger struct.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
