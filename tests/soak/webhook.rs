//! The northbound peer: an HTTP receiver for the NOC's webhook sink that records every event id it is
//! handed, and can be taken "down" (answers 503) to make the sink fall behind and catch up.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Received {
    pub ids: Mutex<HashSet<i64>>,
    /// Events received including repeats (delivery is at least once).
    pub deliveries: AtomicU64,
    pub down: AtomicBool,
}

pub struct Receiver {
    pub port: u16,
    pub received: Arc<Received>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook receiver");
        let port = listener.local_addr().expect("receiver address").port();
        let received = Arc::new(Received::default());
        let r = received.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let r = r.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &r);
                });
            }
        });
        Receiver { port, received }
    }

    pub fn has(&self, id: i64) -> bool {
        self.received.ids.lock().unwrap_or_else(|p| p.into_inner()).contains(&id)
    }
}

/// Serves one keep-alive connection: each request's JSON body lists events; their ids are recorded.
fn serve(conn: TcpStream, r: &Received) -> std::io::Result<()> {
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        if r.down.load(Ordering::SeqCst) {
            out.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")?;
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let events = v["events"].as_array().cloned().unwrap_or_default();
        {
            let mut ids = r.ids.lock().unwrap_or_else(|p| p.into_inner());
            for e in &events {
                if let Some(id) = e["id"].as_i64() {
                    ids.insert(id);
                }
            }
        }
        r.deliveries.fetch_add(events.len() as u64, Ordering::SeqCst);
        out.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")?;
    }
}
