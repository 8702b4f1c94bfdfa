//! `GET /api/v1/events/stream`: Server-Sent Events. One `event` message per committed event (JSON as in
//! `/api/v1/events`, SSE `id` = event id) and an `objects` message `{"locations": [...]}` when objects change.
//! Resumes after `?after_id=` or the `Last-Event-ID` header; otherwise starts with events committed from now on.
//! A subscriber that lags behind the broadcast simply re-reads from the store, so no event is skipped.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::store::{Change, Store};

const PAGE: usize = 500;

#[derive(Debug, Deserialize, Default)]
pub struct StreamQuery {
    pub after_id: Option<i64>,
}

struct Cursor {
    store: Store,
    rx: broadcast::Receiver<Change>,
    last_id: i64,
    queue: VecDeque<Event>,
    /// A full page was read: read again before waiting for a notification.
    more: bool,
    cancel: CancellationToken,
}

pub async fn stream(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<StreamQuery>) -> Response {
    let rx = s.store.subscribe();
    let resume = q
        .after_id
        .or_else(|| headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok()));
    let last_id = match resume {
        Some(id) => id,
        None => {
            let store = s.store.clone();
            tokio::task::spawn_blocking(move || store.last_event_id()).await.ok().and_then(Result::ok).unwrap_or(0)
        }
    };
    let cursor = Cursor {
        store: s.store.clone(),
        rx,
        last_id,
        queue: VecDeque::new(),
        more: resume.is_some(),
        cancel: s.cancel.clone(),
    };
    Sse::new(events(cursor)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

fn events(cursor: Cursor) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(ev) = c.queue.pop_front() {
                return Some((Ok(ev), c));
            }
            if c.more {
                c.more = false;
                fetch(&mut c).await;
                continue;
            }
            tokio::select! {
                _ = c.cancel.cancelled() => return None,
                msg = c.rx.recv() => match msg {
                    Ok(Change::Events { .. }) | Err(RecvError::Lagged(_)) => fetch(&mut c).await,
                    Ok(Change::Objects { locations }) => {
                        let data = serde_json::json!({ "locations": locations }).to_string();
                        c.queue.push_back(Event::default().event("objects").data(data));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    })
}

async fn fetch(c: &mut Cursor) {
    let store = c.store.clone();
    let after = c.last_id;
    let rows = match tokio::task::spawn_blocking(move || store.events_after(after, PAGE)).await {
        Ok(Ok(rows)) => rows,
        _ => {
            tracing::warn!("event stream: reading the event log failed");
            return;
        }
    };
    c.more = rows.len() == PAGE;
    for e in rows {
        c.last_id = e.id;
        let data = super::event_json(&e).to_string();
        c.queue.push_back(Event::default().event("event").id(e.id.to_string()).data(data));
    }
}
