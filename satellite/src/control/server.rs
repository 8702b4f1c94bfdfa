//! The engine side of the control socket.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use super::{MAX_REQUEST_BYTES, Request, Response};
use crate::engine::{CommandError, EngineHandle};
use crate::state::table::parse_key;

/// Binds `socket` (replacing a stale one) and serves requests until `cancel`.
/// `config_path` is what `reload` re-reads.
pub fn spawn(
    engine: EngineHandle,
    socket: &Path,
    config_path: PathBuf,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    if socket.exists() {
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            anyhow::bail!(
                "{} is in use: another satellite is running with this state directory; stop it or use another --state-dir",
                socket.display()
            );
        }
        std::fs::remove_file(socket).with_context(|| format!("remove the stale socket {}", socket.display()))?;
    }
    let listener = UnixListener::bind(socket).with_context(|| format!("listen on {}", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restrict {} to its owner", socket.display()))?;
    let socket = socket.to_path_buf();
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                s = listener.accept() => match s {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        continue;
                    }
                },
                _ = cancel.cancelled() => break,
            };
            let engine = engine.clone();
            let config_path = config_path.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_one(stream, &engine, &config_path).await {
                    tracing::debug!(error = %format!("{e:#}"), "control connection ended early");
                }
            });
        }
        let _ = std::fs::remove_file(&socket);
    });
    Ok(())
}

async fn serve_one(stream: UnixStream, engine: &EngineHandle, config_path: &Path) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = BufReader::new(read).take(MAX_REQUEST_BYTES as u64);
    reader.read_until(b'\n', &mut line).await?;
    let response = match serde_json::from_slice::<Request>(&line) {
        Ok(req) => handle(req, engine, config_path).await,
        Err(e) => Response::err(format!("bad request: {e}; use the satellite CLI of the same version")),
    };
    let mut bytes = serde_json::to_vec(&response)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    Ok(())
}

use tokio::io::AsyncReadExt as _;

/// Runs one request against the engine. Every command is logged, with what it changed.
pub async fn handle(req: Request, engine: &EngineHandle, config_path: &Path) -> Response {
    tracing::info!(request = ?req, "operator command");
    let result: Result<String, CommandError> = match req {
        Request::Status { all } => {
            let report = engine.status_report(all);
            return Response { ok: true, message: String::new(), status: Some(report) };
        }
        Request::Reload => match engine.reload_from(config_path).await {
            Ok(c) => Ok(format!(
                "reloaded {}: {} added, {} changed, {} removed",
                config_path.display(),
                c.added,
                c.changed,
                c.removed
            )),
            Err(e) => Err(CommandError::Failed(e.context("the new config was not applied; the old one keeps running"))),
        },
        Request::Ack { object, author, comment, sticky } => engine
            .acknowledge(&parse_key(&object), &author, &comment, sticky)
            .await
            .map(|()| format!("acknowledged {object}")),
        Request::RemoveAck { object } => engine
            .remove_acknowledgement(&parse_key(&object))
            .await
            .map(|()| format!("acknowledgement of {object} removed")),
        Request::Downtime { object, author, comment, start, end, fixed, duration_s } => engine
            .schedule_downtime(&parse_key(&object), &author, &comment, start, end, fixed, duration_s)
            .await
            .map(|id| format!("downtime {id} scheduled for {object}")),
        Request::CancelDowntime { id } => engine.cancel_downtime(id).await.map(|()| format!("downtime {id} cancelled")),
        Request::Comment { object, author, text } => engine
            .add_comment(&parse_key(&object), &author, &text)
            .await
            .map(|id| format!("comment {id} added to {object}")),
        Request::RemoveComment { id } => engine.remove_comment(id).await.map(|()| format!("comment {id} removed")),
        Request::CheckNow { object, with_services } => engine
            .check_now(&parse_key(&object), with_services)
            .map(|n| format!("{n} check(s) of {object} scheduled now")),
        Request::Pause => engine
            .set_paused(true)
            .await
            .map(|changed| if changed { "checks paused" } else { "checks were already paused" }.to_string())
            .map_err(CommandError::Failed),
        Request::Resume => engine
            .set_paused(false)
            .await
            .map(|changed| if changed { "checks resumed" } else { "checks were not paused" }.to_string())
            .map_err(CommandError::Failed),
    };
    match result {
        Ok(msg) => Response::ok(msg),
        Err(e) => Response::err(e.to_string()),
    }
}
