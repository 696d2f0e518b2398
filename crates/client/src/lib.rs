//! The Rust SDK: keystore, HTTP client, and client-side verification of node answers.
//!
//! Used by the CLI and the tests; never depends on the node.

pub mod keystore;
pub mod memo;
pub mod verify;

use accord_types::reject::RejectInfo;
use accord_types::{SignedTx, TxHash};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::time::Duration;
use thiserror::Error;

/// What can go wrong talking to a node.
#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the node refused: {} ({}): {}", .0.name, .0.code, .0.message)]
    Api(RejectInfo),
    #[error("unexpected answer from the node: {0}")]
    Protocol(String),
    #[error("keystore: {0}")]
    Keystore(String),
    #[error("verification failed: {0}")]
    Verify(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// A connection to one node's API.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap_or_default();
        Self { base: base.trim_end_matches('/').to_string(), http }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn answer<T: DeserializeOwned>(&self, response: reqwest::Result<reqwest::Response>) -> Result<T> {
        let response =
            response.map_err(|e| Error::Unreachable { url: self.base.clone(), reason: e.to_string() })?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| Error::Protocol(e.to_string()))?;
        if !status.is_success() {
            return Err(match serde_json::from_value::<RejectInfo>(body.clone()) {
                Ok(info) => Error::Api(info),
                Err(_) => Error::Protocol(format!("{status}: {body}")),
            });
        }
        serde_json::from_value(body).map_err(|e| Error::Protocol(e.to_string()))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await;
        self.answer(response).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        let response = self.http.post(format!("{}{path}", self.base)).json(body).send().await;
        self.answer(response).await
    }

    /// Submit one signed transaction; returns its hash once queued.
    pub async fn submit(&self, tx: &SignedTx) -> Result<TxHash> {
        let v: Value = self.post("/v1/txs", &json!({ "tx": hex::encode(tx.encode()) })).await?;
        v["hash"].as_str().and_then(|h| h.parse().ok()).ok_or_else(|| Error::Protocol(v.to_string()))
    }

    /// Submit many; one result per transaction, in order.
    pub async fn submit_batch(&self, txs: &[SignedTx]) -> Result<Vec<std::result::Result<TxHash, RejectInfo>>> {
        let encoded: Vec<String> = txs.iter().map(|t| hex::encode(t.encode())).collect();
        let v: Value = self.post("/v1/txs/batch", &json!({ "txs": encoded })).await?;
        let results = v["results"].as_array().ok_or_else(|| Error::Protocol(v.to_string()))?;
        Ok(results
            .iter()
            .map(|r| match r["hash"].as_str().and_then(|h| h.parse().ok()) {
                Some(hash) => Ok(hash),
                None => Err(serde_json::from_value(r["error"].clone()).unwrap_or(RejectInfo {
                    code: 0,
                    name: "unknown".into(),
                    message: r.to_string(),
                })),
            })
            .collect())
    }

    pub async fn tx_status(&self, hash: &TxHash) -> Result<Value> {
        self.get(&format!("/v1/txs/{hash}")).await
    }

    /// The status and, once it is in a block, the signed transaction (`tx`) and its `memo`.
    pub async fn tx_with_body(&self, hash: &TxHash) -> Result<Value> {
        self.get(&format!("/v1/txs/{hash}?tx=true")).await
    }

    /// Poll until the transaction is committed or rejected, or `timeout` passes.
    pub async fn wait(&self, hash: &TxHash, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.tx_status(hash).await?;
            match status["status"].as_str() {
                Some("committed") | Some("rejected") => return Ok(status),
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(Error::Timeout(format!("transaction {hash} is still {}", status["status"])))
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn status(&self) -> Result<Value> {
        self.get("/v1/status").await
    }

    pub async fn account(&self, address: &accord_types::Address) -> Result<Value> {
        self.get(&format!("/v1/accounts/{address}")).await
    }
}
