//! One function per endpoint.

use crate::{ApiError, BATCH_TXS_MAX, LIST_ITEMS_MAX};
use accord_exec::{Account, Supply};
use accord_node::Node;
use accord_points::{AssetRecord, MintRecord};
use accord_types::{Address, SignedTx, TxHash};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use commonware_codec::Encode;
use commonware_consensus::types::Height;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

type Node_ = State<Arc<Node>>;
type Answer = Result<Json<Value>, ApiError>;

/// A signed transaction, hex of its canonical bytes.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TxBody {
    pub tx: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BatchBody {
    pub txs: Vec<String>,
}

fn decode_tx(text: &str) -> Result<SignedTx, accord_types::Reject> {
    let bytes = hex::decode(text).map_err(|_| accord_types::Reject::Malformed)?;
    SignedTx::decode(&bytes).map_err(|_| accord_types::Reject::Malformed)
}

fn internal(e: impl ToString) -> ApiError {
    ApiError::internal(e.to_string())
}

#[utoipa::path(post, path = "/v1/txs", responses((status = 200, description = "queued: {hash}"), (status = 422, description = "rejected: {code, name, message}")))]
pub async fn submit_tx(State(node): Node_, body: Result<Json<TxBody>, axum::extract::rejection::JsonRejection>) -> Answer {
    let Json(body) = body?;
    let tx = decode_tx(&body.tx).map_err(ApiError::reject)?;
    match node.submit(vec![tx]).await.pop() {
        Some(Ok(hash)) => Ok(Json(json!({ "hash": hash.to_string() }))),
        Some(Err(r)) => Err(ApiError::reject(r)),
        None => Err(ApiError::internal("no result")),
    }
}

#[utoipa::path(post, path = "/v1/txs/batch", responses((status = 200, description = "one result per transaction, in order: {hash} or {error}")))]
pub async fn submit_batch(
    State(node): Node_,
    body: Result<Json<BatchBody>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let Json(body) = body?;
    if body.txs.len() > BATCH_TXS_MAX {
        return Err(ApiError::batch_too_large(body.txs.len()));
    }
    let mut results: Vec<Option<Value>> = vec![None; body.txs.len()];
    let mut decoded = Vec::new();
    let mut positions = Vec::new();
    for (i, text) in body.txs.iter().enumerate() {
        match decode_tx(text) {
            Ok(tx) => {
                decoded.push(tx);
                positions.push(i);
            }
            Err(r) => results[i] = Some(json!({ "error": accord_types::reject::RejectInfo::from(r) })),
        }
    }
    for (i, result) in positions.into_iter().zip(node.submit(decoded).await) {
        results[i] = Some(match result {
            Ok(hash) => json!({ "hash": hash.to_string() }),
            Err(r) => json!({ "error": accord_types::reject::RejectInfo::from(r) }),
        });
    }
    Ok(Json(json!({ "results": results })))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TxQuery {
    /// Also return the transaction itself once it is in a block (reads the block).
    #[serde(default)]
    pub tx: bool,
}

#[utoipa::path(get, path = "/v1/txs/{hash}", params(("hash" = String, Path, description = "hex"), TxQuery), responses((status = 200, description = "pending, committed (height, events) or rejected (code); with `?tx=true`, once in a block, also `memo` and `tx`, the signed transaction in hex (body ‖ signature; the body's SHA-256 is the hash)")))]
pub async fn tx_status(
    State(node): Node_,
    Path(hash): Path<String>,
    query: Result<Query<TxQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let Query(query) = query.map_err(|e| ApiError::invalid_parameter(e.body_text()))?;
    let hash: TxHash = hash.parse().map_err(|_| ApiError::invalid_parameter("a tx hash is 64 hex characters"))?;
    let status = node.status(&hash).map_err(internal)?;
    let at = match &status {
        accord_node::TxStatus::Committed { receipt } | accord_node::TxStatus::Rejected { receipt: Some(receipt), .. } => {
            Some((receipt.height, receipt.index as usize))
        }
        _ => None,
    };
    let mut value = serde_json::to_value(status).map_err(internal)?;
    let at = at.filter(|_| query.tx);
    if let (Some((height, index)), Some(chain)) = (at, node.chain()) {
        if let Some(block) = chain.get_block(Height::new(height)).await {
            if let Some(tx) = block.inner().body.txs.get(index).filter(|t| t.hash == hash) {
                value["memo"] = json!(tx.tx.memo);
                value["tx"] = json!(hex::encode(tx.encode()));
            }
        }
    }
    Ok(Json(value))
}

async fn read(node: &Node, key: &accord_exec::StateKey) -> Result<(u64, Option<Vec<u8>>), ApiError> {
    let ledger = node.ledger.read().await;
    let value = ledger.state.get(&key.digest()).await.map_err(internal)?;
    Ok((ledger.executed.height, value))
}

#[utoipa::path(get, path = "/v1/accounts/{address}", params(("address" = String, Path)), responses((status = 200, description = "nonce and balances")))]
pub async fn account(State(node): Node_, Path(address): Path<String>) -> Answer {
    let address: Address = address.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    let (height, value) = read(&node, &accord_exec::keys::account(&address)).await?;
    let account = value.map(|b| Account::decode(&b)).transpose().map_err(internal)?.unwrap_or_default();
    let next_nonce = node.mempool.next_nonce(&address, account.nonce);
    Ok(Json(json!({ "address": address, "height": height, "nonce": account.nonce,
        "next_nonce": next_nonce, "balances": account })))
}

fn symbol_param(symbol: &str) -> Result<(), ApiError> {
    let ok = (2..=12).contains(&symbol.len()) && symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter("a symbol is 2 to 12 characters A-Z or 0-9"))
    }
}

#[utoipa::path(get, path = "/v1/assets/{symbol}", params(("symbol" = String, Path)), responses((status = 200, description = "definition and figures: issued, burned, expired, circulating, holders"), (status = 404)))]
pub async fn asset(State(node): Node_, Path(symbol): Path<String>) -> Answer {
    symbol_param(&symbol)?;
    let (height, record) = read(&node, &accord_points::keys::asset(&symbol)).await?;
    let record = record.ok_or_else(|| ApiError::not_found(format!("no asset {symbol}")))?;
    let record = AssetRecord::decode(&record).map_err(internal)?;
    let (_, supply) = read(&node, &accord_exec::keys::supply(&symbol)).await?;
    let supply = supply.map(|b| Supply::decode(&b)).transpose().map_err(internal)?.unwrap_or_default();
    Ok(Json(json!({ "height": height, "asset": record, "issued": supply.issued.to_string(),
        "burned": supply.burned.to_string(), "expired": supply.expired.to_string(),
        "circulating": supply.circulating().to_string(),
        "holders": supply.holders })))
}

#[utoipa::path(get, path = "/v1/routes/{from}/{to}", params(("from" = String, Path), ("to" = String, Path)), responses((status = 200, description = "the route's issuers, accepted terms, terms awaiting acceptance, suspensions, today's and all-time conversions, and whether it is active now"), (status = 404)))]
pub async fn route(State(node): Node_, Path((from, to)): Path<(String, String)>) -> Answer {
    symbol_param(&from)?;
    symbol_param(&to)?;
    let key = accord_points::keys::route(&from, &to);
    let (height, value) = read(&node, &key).await?;
    let value = value.ok_or_else(|| ApiError::not_found(format!("no route from {from} to {to}")))?;
    let record = accord_points::exchange::RouteRecord::decode(&value).map_err(internal)?;
    let now = node.executed_time_ms();
    let active = record.active_terms().is_some_and(|t| {
        now >= t.valid_from_ms && t.valid_until_ms.is_none_or(|until| now < until)
    });
    Ok(Json(json!({ "height": height, "key": key.to_string(), "active": active, "route": record })))
}

#[utoipa::path(get, path = "/v1/clearings/{a}/{b}/{symbol}", params(("a" = String, Path, description = "one issuer"), ("b" = String, Path, description = "the other issuer"), ("symbol" = String, Path, description = "the settlement asset")), responses((status = 200, description = "what the two issuers owe each other: the open period's obligations, the closed periods' net positions with their age, their net, a pending off-ledger confirmation"), (status = 404)))]
pub async fn clearing(State(node): Node_, Path((a, b, symbol)): Path<(String, String, String)>) -> Answer {
    let a: Address = a.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    let b: Address = b.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    symbol_param(&symbol)?;
    let key = accord_points::keys::clearing(&a, &b, &symbol);
    let (height, value) = read(&node, &key).await?;
    let value = value.ok_or_else(|| ApiError::not_found(format!("nothing to clear between {a} and {b} in {symbol}")))?;
    let record = accord_points::clearing::ClearingRecord::decode(&value).map_err(internal)?;
    let now = node.executed_time_ms();
    let net = record.net().map(|(debtor, creditor, amount)| {
        json!({ "debtor": debtor, "creditor": creditor, "amount": amount.to_string() })
    });
    let positions: Vec<Value> = record
        .positions
        .iter()
        .map(|p| json!({ "period": p.period, "closed_at_ms": p.closed_at_ms, "age_ms": now.saturating_sub(p.closed_at_ms),
            "debtor": p.debtor, "amount": p.amount.to_string() }))
        .collect();
    let closes_at_ms = record.open_period.saturating_add(1).saturating_mul(record.period_ms);
    Ok(Json(json!({ "height": height, "key": key.to_string(), "as_of_ms": now, "net": net, "positions": positions,
        "open": { "period": record.open_period, "closes_at_ms": closes_at_ms,
            "owed": [ { "debtor": record.a, "amount": record.a_owes.to_string() },
                      { "debtor": record.b, "amount": record.b_owes.to_string() } ] },
        "clearing": record })))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct Page {
    #[serde(default)]
    pub from: u64,
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/v1/assets/{symbol}/history", params(("symbol" = String, Path), ("from" = Option<u64>, Query), ("limit" = Option<u64>, Query)), responses((status = 200, description = "mints, oldest first")))]
pub async fn asset_history(State(node): Node_, Path(symbol): Path<String>, Query(page): Query<Page>) -> Answer {
    symbol_param(&symbol)?;
    let limit = page.limit.unwrap_or(100);
    if limit == 0 || limit > LIST_ITEMS_MAX {
        return Err(ApiError::invalid_parameter(format!("limit is 1 to {LIST_ITEMS_MAX}")));
    }
    let (_, record) = read(&node, &accord_points::keys::asset(&symbol)).await?;
    let record = record.ok_or_else(|| ApiError::not_found(format!("no asset {symbol}")))?;
    let record = AssetRecord::decode(&record).map_err(internal)?;
    let end = record.mint_count.min(page.from.saturating_add(limit));
    let mut mints: Vec<MintRecord> = Vec::new();
    for i in page.from..end {
        if let (_, Some(b)) = read(&node, &accord_points::keys::mint_record(&symbol, i)).await? {
            mints.push(MintRecord::decode(&b).map_err(internal)?);
        }
    }
    Ok(Json(json!({ "symbol": symbol, "total": record.mint_count, "from": page.from, "mints": mints })))
}

#[utoipa::path(get, path = "/v1/multisig/{address}", params(("address" = String, Path)), responses((status = 200, description = "members, threshold, number of proposals"), (status = 404)))]
pub async fn multisig(State(node): Node_, Path(address): Path<String>) -> Answer {
    let address: Address = address.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    let (height, value) = read(&node, &accord_multisig::state::multisig_key(&address)).await?;
    let value = value.ok_or_else(|| ApiError::not_found(format!("no multisig {address}")))?;
    let record = accord_multisig::MultisigRecord::decode(&value).map_err(internal)?;
    Ok(Json(json!({ "height": height, "address": address, "multisig": record })))
}

#[utoipa::path(get, path = "/v1/multisig/{address}/proposals/{id}", params(("address" = String, Path), ("id" = u64, Path)), responses((status = 200, description = "the proposal: actions, approvals, expiry, executed"), (status = 404)))]
pub async fn proposal(State(node): Node_, Path((address, id)): Path<(String, u64)>) -> Answer {
    let address: Address = address.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    let (height, value) = read(&node, &accord_multisig::state::proposal_key(&address, id)).await?;
    let value = value.ok_or_else(|| ApiError::not_found(format!("no proposal {id} of {address}")))?;
    let record = accord_multisig::ProposalRecord::decode(&value).map_err(internal)?;
    Ok(Json(json!({ "height": height, "multisig": address, "id": id, "proposal": record })))
}

#[utoipa::path(get, path = "/v1/agreements/{address}", params(("address" = String, Path)), responses((status = 200, description = "parties, signatures, legal hash, current share holders (grants that ended already folded back)"), (status = 404)))]
pub async fn agreement(State(node): Node_, Path(address): Path<String>) -> Answer {
    let address: Address = address.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    let (height, value) = read(&node, &accord_agreements::state::agreement_key(&address)).await?;
    let key = accord_agreements::state::agreement_key(&address);
    let value = value.ok_or_else(|| ApiError::not_found(format!("no agreement {address}")))?;
    let mut record = accord_agreements::AgreementRecord::decode(&value).map_err(internal)?;
    let stored = record.clone();
    // Shares as of the last block's time (the node's clock before the first block).
    let now = match node.executed_time_ms() {
        0 => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        t => t,
    };
    record.normalize(now);
    let shares: Vec<Value> = record
        .current_shares()
        .into_iter()
        .map(|(holder, ppm)| json!({ "holder": holder, "share_ppm": ppm }))
        .collect();
    Ok(Json(json!({ "height": height, "address": address, "key": key.to_string(), "active": stored.active(),
        "agreement": stored, "current_shares": shares, "as_of_ms": now })))
}

#[utoipa::path(get, path = "/v1/listings/{address}", params(("address" = String, Path)), responses((status = 200, description = "a sale or an auction: seller, item, terms, highest bid, status (open, sold, settled, unsold, cancelled, unsettled)"), (status = 404)))]
pub async fn listing(State(node): Node_, Path(address): Path<String>) -> Answer {
    let address: Address = address.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    let key = accord_market::state::listing_key(&address);
    let (height, value) = read(&node, &key).await?;
    let value = value.ok_or_else(|| ApiError::not_found(format!("no listing {address}")))?;
    let record = accord_market::Listing::decode(&value).map_err(internal)?;
    Ok(Json(json!({ "height": height, "address": address, "key": key.to_string(), "listing": record })))
}

#[utoipa::path(get, path = "/v1/claims/{address}/{symbol}", params(("address" = String, Path), ("symbol" = String, Path)), responses((status = 200, description = "what the market owes the account in this asset (refunds or payments that could not be credited when due; 0 if nothing)")))]
pub async fn claim(State(node): Node_, Path((address, symbol)): Path<(String, String)>) -> Answer {
    let address: Address = address.parse().map_err(|e| ApiError::invalid_parameter(format!("{e}")))?;
    if symbol.is_empty() || symbol.len() > accord_types::limits::SYMBOL_BYTES_MAX {
        return Err(ApiError::invalid_parameter("a symbol is 2 to 12 characters"));
    }
    let key = accord_market::state::claim_key(&address, &symbol);
    let (height, value) = read(&node, &key).await?;
    let owed = value.map(|v| accord_market::state::decode_amount(&v)).transpose().map_err(internal)?.unwrap_or(0);
    Ok(Json(json!({ "height": height, "address": address, "symbol": symbol, "owed": owed.to_string(), "key": key.to_string() })))
}

/// A header in JSON.
#[derive(Serialize)]
struct HeaderJson {
    height: u64,
    digest: String,
    parent: String,
    timestamp_ms: u64,
    state_root: String,
    txs_root: String,
    tx_count: u32,
    /// Hex of the canonical header bytes (what the digest is the sha256 of).
    bytes: String,
}

fn header_json(block: &accord_consensus::Block) -> HeaderJson {
    let h = &block.header;
    HeaderJson {
        height: h.height,
        digest: hex::encode(block.digest32()),
        parent: hex::encode(h.parent),
        timestamp_ms: h.timestamp_ms,
        state_root: hex::encode(h.state_root),
        txs_root: hex::encode(h.txs_root),
        tx_count: h.tx_count,
        bytes: hex::encode(h.encode()),
    }
}

async fn block_at(node: &Node, height: u64) -> Result<Value, ApiError> {
    let chain = node.chain().ok_or_else(|| ApiError::unavailable("consensus is starting"))?;
    let block = chain
        .get_block(Height::new(height))
        .await
        .ok_or_else(|| ApiError::not_found(format!("no finalized block at height {height}")))?;
    let block = block.inner();
    let finalization = chain.get_finalization(Height::new(height)).await.map(|f| hex::encode(f.encode()));
    let txs: Vec<String> = block.body.txs.iter().map(|t| t.hash.to_string()).collect();
    let rejected = node.receipts.rejected_in(height);
    let events = node.receipts.block_events(height).map_err(internal)?;
    Ok(json!({ "header": header_json(block), "finalization": finalization, "txs": txs,
        "executed": height <= node.executed().height, "rejected_txs": rejected, "events": events }))
}

#[utoipa::path(get, path = "/v1/blocks/latest", responses((status = 200, description = "the latest executed block with its finality certificate")))]
pub async fn block_latest(State(node): Node_) -> Answer {
    let height = node.executed().height;
    Ok(Json(block_at(&node, height).await?))
}

#[utoipa::path(get, path = "/v1/blocks/{height}", params(("height" = u64, Path)), responses((status = 200, description = "header, tx hashes, the block's own events (auction settlements), finality certificate if stored for this height"), (status = 404)))]
pub async fn block(State(node): Node_, Path(height): Path<u64>) -> Answer {
    Ok(Json(block_at(&node, height).await?))
}

/// Most headers a certified chain may hold.
const CERTIFIED_CHAIN_MAX: u64 = 64;

#[utoipa::path(get, path = "/v1/blocks/{height}/certified", params(("height" = u64, Path)), responses((status = 200, description = "headers from `height` up to the first height with a finalization certificate, and that certificate"), (status = 404)))]
pub async fn block_certified(State(node): Node_, Path(height): Path<u64>) -> Answer {
    Ok(Json(certified_chain(&node, height, height.saturating_add(CERTIFIED_CHAIN_MAX - 1)).await?))
}

/// Headers from `height` up to the first one (at most `last`) with a stored finalization,
/// and that finalization.
async fn certified_chain(node: &Node, height: u64, last: u64) -> Result<Value, ApiError> {
    let chain = node.chain().ok_or_else(|| ApiError::unavailable("consensus is starting"))?;
    let mut headers = Vec::new();
    for h in height..=last {
        let Some(block) = chain.get_block(Height::new(h)).await else { break };
        headers.push(header_json(block.inner()));
        if let Some(f) = chain.get_finalization(Height::new(h)).await {
            return Ok(json!({ "headers": headers, "finalization": hex::encode(f.encode()) }));
        }
    }
    Err(ApiError::not_found(format!("no finalization certificate yet at or above height {height}")))
}

fn set_json(set: &[accord_types::ValidatorEntry]) -> Vec<Value> {
    set.iter().map(|v| json!({ "public_key": hex::encode(v.key.0), "p2p_address": v.p2p })).collect()
}

#[utoipa::path(get, path = "/v1/epochs/{epoch}", params(("epoch" = u64, Path)), responses((status = 200, description = "the epoch's heights and validator set; from epoch 1 on, the proof that the previous epoch's validators froze it: the set under its state key with a Merkle proof against the root after the freeze block, and the certified headers above that block"), (status = 404)))]
pub async fn epoch(State(node): Node_, Path(epoch): Path<u64>) -> Answer {
    let epochs = accord_node::epochs(&node.genesis);
    let Some(length) = epochs.length else {
        if epoch > 0 {
            return Err(ApiError::not_found("this chain has one epoch: its genesis sets no epoch_length"));
        }
        return Ok(Json(json!({ "epoch": 0, "first_height": 0, "last_height": null, "epoch_length": null,
            "validators": set_json(&accord_node::genesis_set(&node.genesis)) })));
    };
    let span = json!({ "epoch": epoch, "first_height": epochs.first(epoch), "last_height": epochs.last(epoch), "epoch_length": length });
    if epoch == 0 {
        let mut answer = span;
        answer["validators"] = json!(set_json(&accord_node::genesis_set(&node.genesis)));
        return Ok(Json(answer));
    }
    if epoch > u64::MAX / length - 1 {
        return Err(ApiError::not_found("epoch out of range"));
    }
    let freeze = epochs.freeze(epoch - 1).ok_or_else(|| ApiError::not_found("epoch out of range"))?;
    let Some(proof) = node.set_proof(epoch) else {
        if node.executed().height < freeze {
            return Err(ApiError::not_found(format!("the set of epoch {epoch} is frozen after block {freeze}; this node has executed {}", node.executed().height)));
        }
        return Err(ApiError::not_found(format!("this node holds no proof of the set of epoch {epoch}; ask another node")));
    };
    let bytes = hex::decode(&proof.value).map_err(internal)?;
    let set = accord_validators::state::decode_set(&bytes).map_err(internal)?;
    // The certificate must be of epoch − 1: search its blocks after the freeze only.
    let certified = certified_chain(&node, proof.height + 1, epochs.last(epoch - 1)).await?;
    let mut answer = span;
    answer["validators"] = json!(set_json(&set));
    answer["proof"] = json!({ "height": proof.height, "root": proof.root, "key": proof.key, "value": proof.value, "proof": proof.proof });
    answer["certified"] = certified;
    Ok(Json(answer))
}

#[utoipa::path(get, path = "/v1/proofs/{key}", params(("key" = String, Path, description = "hex of the logical state key")), responses((status = 200, description = "value (or absence) with its proof against the root after block `height`; that root is in the header of block `height + 1`")))]
pub async fn proof(State(node): Node_, Path(key): Path<String>) -> Answer {
    let key = hex::decode(&key).map_err(|_| ApiError::invalid_parameter("the key is hex"))?;
    if key.is_empty() || key.len() > 256 {
        return Err(ApiError::invalid_parameter("a key is 1 to 256 bytes"));
    }
    let key = accord_exec::StateKey(key);
    let ledger = node.ledger.read().await;
    let proof = ledger.state.prove(&key.digest()).await.map_err(internal)?;
    Ok(Json(json!({ "height": ledger.executed.height, "root": hex::encode(proof.root),
        "key": key.to_string(), "value": proof.value.map(hex::encode), "proof": hex::encode(proof.bytes) })))
}

#[utoipa::path(get, path = "/v1/status", responses((status = 200, description = "chain id, heights, mempool")))]
pub async fn status(State(node): Node_) -> Answer {
    let executed = node.executed();
    let validators: Vec<String> = node.current_validators().iter().map(|k| hex::encode(k.0)).collect();
    Ok(Json(json!({ "chain_id": node.genesis.chain_id, "height": executed.height, "epoch": node.epoch(),
        "block_digest": hex::encode(executed.digest), "state_root": hex::encode(executed.root),
        "mempool_txs": node.mempool.len(), "validators": validators,
        "role": if node.is_validator() { "validator" } else { "follower" },
        "genesis_time_ms": node.genesis.genesis_time_ms })))
}

#[utoipa::path(get, path = "/health", responses((status = 200, description = "the node is up")))]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(node): Node_) -> impl IntoResponse {
    let c = &node.counters;
    let executed = node.executed();
    let text = format!(
        "# TYPE accord_height gauge\naccord_height {}\n\
         # TYPE accord_blocks_executed_total counter\naccord_blocks_executed_total {}\n\
         # TYPE accord_txs_committed_total counter\naccord_txs_committed_total {}\n\
         # TYPE accord_txs_rejected_total counter\naccord_txs_rejected_total {}\n\
         # TYPE accord_txs_submitted_total counter\naccord_txs_submitted_total {}\n\
         # TYPE accord_mempool_txs gauge\naccord_mempool_txs {}\n\
         # TYPE accord_gossip_undecodable_total counter\naccord_gossip_undecodable_total {}\n",
        executed.height,
        c.blocks_executed.load(Ordering::Relaxed),
        c.txs_committed.load(Ordering::Relaxed),
        c.txs_rejected.load(Ordering::Relaxed),
        c.txs_submitted.load(Ordering::Relaxed),
        node.mempool.len(),
        c.gossip_undecodable.load(Ordering::Relaxed),
    ) + &node.runtime_metrics();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
