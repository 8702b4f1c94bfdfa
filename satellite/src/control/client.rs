//! The CLI side of the control socket: send one request, read one response.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::{Request, Response};

/// Sends `request` to the engine listening at `socket`.
pub fn request(socket: &Path, request: &Request) -> anyhow::Result<Response> {
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "connect to {} : is `satellite run` running with this state directory? (pass --state-dir or --config)",
            socket.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream.write_all(&line).context("send the request")?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).context("read the reply")?;
    serde_json::from_str(&reply).context("the satellite sent a reply this CLI does not understand (version mismatch?)")
}
