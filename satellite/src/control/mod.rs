//! The local operator API: a Unix socket in the state directory (`control.sock`, mode 0600) that
//! `satellite status`, `ack`, `downtime`, `comment`, `check-now`, `pause`, `resume` and `reload` talk to.
//!
//! Protocol: one request per connection, one line of JSON each way ([`Request`] then [`Response`]).
//! The socket is local only: no network listener is opened for operator commands.

pub mod client;
pub mod server;
pub mod status;

use serde::{Deserialize, Serialize};

pub const SOCKET_NAME: &str = "control.sock";
/// Longest request line accepted.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status { all: bool },
    Reload,
    Ack { object: String, author: String, comment: String, sticky: bool },
    RemoveAck { object: String },
    Downtime { object: String, author: String, comment: String, start: i64, end: i64, fixed: bool, duration_s: u32 },
    CancelDowntime { id: u64 },
    Comment { object: String, author: String, text: String },
    RemoveComment { id: u64 },
    CheckNow { object: String, with_services: bool },
    Pause,
    Resume,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    /// For people: what happened, or what went wrong and what to do.
    pub message: String,
    /// For `status`: the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<status::StatusReport>,
}

impl Response {
    pub fn ok(message: impl Into<String>) -> Response {
        Response { ok: true, message: message.into(), status: None }
    }
    pub fn err(message: impl Into<String>) -> Response {
        Response { ok: false, message: message.into(), status: None }
    }
}
