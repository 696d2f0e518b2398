//! `GET /v1/events`: every event of every final block, in order, from a cursor; as a paged
//! JSON list or as Server-Sent Events.
//!
//! An event's position is `H-I`: the `I`th event (from 0) of block `H`, counting the events
//! of its committed transactions in order, then the block's own events. A cursor is the
//! position to read from; every event carries `next`, the cursor just after it. A consumer
//! that stores `next` together with what it did with the event (one atomic write) sees
//! every event exactly once across its own restarts.

use crate::ApiError;
use accord_node::Node;
use accord_types::Event;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::channel::mpsc;
use futures::SinkExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Most events one page holds.
pub const EVENTS_PAGE_MAX: usize = 1_000;
/// Most blocks one page reads; a page that stops here says so (`caught_up: false`).
pub const EVENTS_SCAN_BLOCKS_MAX: u64 = 2_000;
/// Longest a page request waits for a new event.
pub const EVENTS_WAIT_MS_MAX: u64 = 30_000;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Where to read from: `H-I` (a `next` from an earlier answer); default `0-0`, the start.
    pub cursor: Option<String>,
    /// Only events of this type, e.g. `withdrawn`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Only events about this asset (its `symbol`, `from`, `to` or `settlement_symbol`).
    pub symbol: Option<String>,
    /// Only events naming this account.
    pub account: Option<String>,
    /// Most events in the page (1 to 1,000; default 100).
    pub limit: Option<usize>,
    /// If no event is there yet, wait up to this long for one (at most 30,000).
    pub wait_ms: Option<u64>,
}

/// A position in the event stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    height: u64,
    index: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.height, self.index)
    }
}

fn parse_cursor(text: &str) -> Result<Position, ApiError> {
    let garbled = || ApiError::invalid_cursor(format!("a cursor is HEIGHT-INDEX, like 120-3, as given in `next`; got {text:?}"));
    let (height, index) = text.split_once('-').ok_or_else(garbled)?;
    let number = |s: &str| {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(garbled());
        }
        s.parse::<u64>().map_err(|_| garbled())
    };
    Ok(Position { height: number(height)?, index: number(index)? })
}

struct Filter {
    kind: Option<String>,
    symbol: Option<String>,
    account: Option<String>,
}

impl Filter {
    fn matches(&self, event: &Value) -> bool {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        if self.kind.as_deref().is_some_and(|k| field("type") != Some(k)) {
            return false;
        }
        if let Some(symbol) = &self.symbol {
            if !["symbol", "from", "to", "settlement_symbol"].iter().any(|f| field(f) == Some(symbol)) {
                return false;
            }
        }
        if let Some(account) = &self.account {
            let named = |v: &Value| v.as_object().is_some_and(|o| o.values().any(|x| x.as_str() == Some(account)));
            let in_parts = event.get("parts").and_then(Value::as_array).is_some_and(|parts| parts.iter().any(named));
            if !named(event) && !in_parts {
                return false;
            }
        }
        true
    }
}

struct Page {
    events: Vec<Value>,
    next: Position,
    caught_up: bool,
}

/// The events of block `height`, in stream order, with the transaction that caused each.
fn block_events(node: &Node, height: u64) -> Result<Vec<(Option<String>, Event)>, ApiError> {
    let record = node.receipts.record(height).map_err(ApiError::internal)?;
    let mut out = Vec::new();
    for receipt in record.receipts {
        for event in receipt.events {
            out.push((Some(receipt.hash.clone()), event));
        }
    }
    out.extend(record.events.into_iter().map(|e| (None, e)));
    Ok(out)
}

/// [`scan_blocking`] on a thread meant for blocking work: it reads the receipt log.
async fn scan(node: &Arc<Node>, from: Position, filter: &Arc<Filter>, limit: usize) -> Result<Page, ApiError> {
    let (node, filter) = (node.clone(), filter.clone());
    tokio::task::spawn_blocking(move || scan_blocking(&node, from, &filter, limit))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
}

/// Read from `from` up to `limit` matching events, or to the last executed block.
fn scan_blocking(node: &Node, from: Position, filter: &Filter, limit: usize) -> Result<Page, ApiError> {
    let executed = node.executed().height;
    if from.height > executed.saturating_add(1) || (from.height == executed.saturating_add(1) && from.index > 0) {
        return Err(ApiError::cursor_ahead(format!("cursor {from} is after the last executed block, {executed}")));
    }
    let mut events = Vec::new();
    let mut at = from;
    let last = executed.min(from.height.saturating_add(EVENTS_SCAN_BLOCKS_MAX - 1));
    while at.height <= last {
        let items = block_events(node, at.height)?;
        if at.index > items.len() as u64 {
            return Err(ApiError::invalid_cursor(format!(
                "block {} has {} events; cursor {at} points past them",
                at.height,
                items.len()
            )));
        }
        for (index, (tx, event)) in items.into_iter().enumerate().skip(at.index as usize) {
            let value = serde_json::to_value(&event).map_err(|e| ApiError::internal(e.to_string()))?;
            if !filter.matches(&value) {
                continue;
            }
            let here = Position { height: at.height, index: index as u64 };
            let next = Position { height: at.height, index: index as u64 + 1 };
            events.push(json!({ "id": here.to_string(), "next": next.to_string(), "height": at.height,
                "tx": tx, "event": value }));
            if events.len() == limit {
                return Ok(Page { events, next, caught_up: false });
            }
        }
        at = Position { height: at.height + 1, index: 0 };
    }
    Ok(Page { events, next: at, caught_up: at.height > executed })
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

#[utoipa::path(get, path = "/v1/events", params(EventsQuery), responses(
    (status = 200, description = "JSON: {events: [{id, next, height, tx, event}], next, caught_up, height}. With `Accept: text/event-stream`: Server-Sent Events, one per event (`id:` is its `next`, so `Last-Event-ID` resumes after it), forever; the cursor may also come as the `Last-Event-ID` header"),
    (status = 400, description = "invalid_cursor (garbled, or past a block's events) or cursor_ahead (after the last executed block)")))]
pub async fn events(
    State(node): State<Arc<Node>>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_parameter(e.body_text()))?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > EVENTS_PAGE_MAX {
        return Err(ApiError::invalid_parameter(format!("limit is 1 to {EVENTS_PAGE_MAX}")));
    }
    let wait_ms = query.wait_ms.unwrap_or(0);
    if wait_ms > EVENTS_WAIT_MS_MAX {
        return Err(ApiError::invalid_parameter(format!("wait_ms is at most {EVENTS_WAIT_MS_MAX}")));
    }
    if let Some(account) = &query.account {
        account.parse::<accord_types::Address>().map_err(|e| ApiError::invalid_parameter(format!("account: {e}")))?;
    }
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let from = match query.cursor.as_deref().or(last_event_id) {
        Some(text) => parse_cursor(text)?,
        None => Position { height: 0, index: 0 },
    };
    let filter = Arc::new(Filter { kind: query.kind, symbol: query.symbol, account: query.account });
    // Check the cursor before answering either way.
    let first = scan(&node, from, &filter, limit).await?;
    if wants_stream(&headers) {
        return Ok(stream(node, first, filter).into_response());
    }
    let mut page = first;
    if page.events.is_empty() && page.caught_up && wait_ms > 0 {
        let deadline = std::time::Instant::now() + Duration::from_millis(wait_ms);
        while page.events.is_empty() && page.caught_up {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || !node.wait_executed(page.next.height, left).await {
                break;
            }
            page = scan(&node, page.next, &filter, limit).await?;
        }
    }
    Ok(Json(json!({ "events": page.events, "next": page.next.to_string(), "caught_up": page.caught_up,
        "height": node.executed().height }))
    .into_response())
}

/// Server-Sent Events from `first` on, following new blocks until the client leaves.
fn stream(node: Arc<Node>, first: Page, filter: Arc<Filter>) -> impl IntoResponse {
    let (mut tx, rx) = mpsc::channel::<Result<sse::Event, std::convert::Infallible>>(EVENTS_PAGE_MAX);
    tokio::spawn(async move {
        let mut page = first;
        loop {
            // A client that left is noticed here even if no event matches for a long time.
            if tx.is_closed() {
                return;
            }
            for item in &page.events {
                let event = sse::Event::default()
                    .id(item["next"].as_str().unwrap_or_default())
                    .event(item["event"]["type"].as_str().unwrap_or("event"))
                    .data(item.to_string());
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            if page.caught_up {
                // Wake up now and then even without blocks, to notice a client that left.
                while !node.wait_executed(page.next.height, Duration::from_secs(15)).await {
                    if tx.is_closed() {
                        return;
                    }
                }
            }
            page = match scan(&node, page.next, &filter, EVENTS_PAGE_MAX).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Ok(sse::Event::default().event("error").data(e.message))).await;
                    return;
                }
            };
        }
    });
    Sse::new(rx).keep_alive(KeepAlive::default())
}
