//! The HTTP API: `fn router(node) -> Router`. Handlers parse, call the node, and format.
//!
//! Every error is JSON `{code, name, message}` with a stable code: transaction rejects use
//! their reject code (1xx-3xx), request errors use 9xx.

mod error;
mod events;
mod handlers;

pub use error::ApiError;

use accord_node::Node;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use utoipa::OpenApi;

/// Largest request body, in bytes.
pub const BODY_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Most transactions in one batch.
pub const BATCH_TXS_MAX: usize = 10_000;
/// Most items any list returns.
pub const LIST_ITEMS_MAX: u64 = 1_000;

#[derive(OpenApi)]
#[openapi(
    info(title = "Accord API", description = "A ledger several organizations keep together."),
    paths(
        handlers::submit_tx,
        handlers::submit_batch,
        handlers::tx_status,
        handlers::account,
        handlers::asset,
        handlers::asset_history,
        handlers::multisig,
        handlers::agreement,
        handlers::listing,
        handlers::claim,
        handlers::route,
        handlers::clearing,
        events::events,
        handlers::proposal,
        handlers::block_latest,
        handlers::block,
        handlers::block_certified,
        handlers::epoch,
        handlers::proof,
        handlers::status,
        handlers::health,
        handlers::metrics,
    )
)]
pub struct ApiDoc;

/// The whole API.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/txs", post(handlers::submit_tx))
        .route("/v1/txs/batch", post(handlers::submit_batch))
        .route("/v1/txs/{hash}", get(handlers::tx_status))
        .route("/v1/accounts/{address}", get(handlers::account))
        .route("/v1/assets/{symbol}", get(handlers::asset))
        .route("/v1/assets/{symbol}/history", get(handlers::asset_history))
        .route("/v1/agreements/{address}", get(handlers::agreement))
        .route("/v1/listings/{address}", get(handlers::listing))
        .route("/v1/claims/{address}/{symbol}", get(handlers::claim))
        .route("/v1/routes/{from}/{to}", get(handlers::route))
        .route("/v1/clearings/{a}/{b}/{symbol}", get(handlers::clearing))
        .route("/v1/events", get(events::events))
        .route("/v1/multisig/{address}", get(handlers::multisig))
        .route("/v1/multisig/{address}/proposals/{id}", get(handlers::proposal))
        .route("/v1/blocks/latest", get(handlers::block_latest))
        .route("/v1/blocks/{height}", get(handlers::block))
        .route("/v1/blocks/{height}/certified", get(handlers::block_certified))
        .route("/v1/epochs/{epoch}", get(handlers::epoch))
        .route("/v1/proofs/{key}", get(handlers::proof))
        .route("/v1/status", get(handlers::status))
        .route("/health", get(handlers::health))
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(|| async { axum::Json(ApiDoc::openapi()) }))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(node)
}
