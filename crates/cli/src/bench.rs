//! `accord bench transfers`: a real load generator over the public batch API.
//!
//! Funds N fresh accounts, pre-signs T transfers, submits them in batches (optionally paced
//! to a rate), watches finalized and executed blocks, and reports throughput and
//! submit -> finalized latency per transaction.

use crate::{print, Global};
use accord_client::Client;
use accord_types::{Action, Address, AssetKind, PointsAction, SignedTx, Transaction, TxHash};
use anyhow::{anyhow, Result};
use clap::Subcommand;
use commonware_codec::Encode;
use commonware_cryptography::{ed25519, Signer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Signed transfers between many accounts.
    Transfers {
        #[arg(long, default_value_t = 10_000)]
        accounts: usize,
        #[arg(long, default_value_t = 100_000)]
        txs: usize,
        /// Transactions per HTTP batch.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// Pace submissions to this many per second (default: as fast as accepted).
        #[arg(long)]
        rate: Option<u64>,
    },
}

fn address(key: &ed25519::PrivateKey) -> Address {
    let mut raw = [0u8; 32];
    raw.copy_from_slice(key.public_key().encode().as_ref());
    Address(raw)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Sign in parallel on every core.
fn sign_all(txs: Vec<(Transaction, Arc<ed25519::PrivateKey>)>) -> Vec<SignedTx> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = txs.len().div_ceil(threads).max(1);
    let mut parts: Vec<Vec<(Transaction, Arc<ed25519::PrivateKey>)>> = Vec::new();
    let mut rest = txs;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        parts.push(rest);
        rest = tail;
    }
    std::thread::scope(|s| {
        let handles: Vec<_> =
            parts.into_iter().map(|part| s.spawn(move || part.into_iter().map(|(t, k)| t.sign(&k)).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

async fn submit_all(client: &Client, txs: &[SignedTx], batch: usize) -> Result<()> {
    for chunk in txs.chunks(batch) {
        for (i, r) in client.submit_batch(chunk).await?.into_iter().enumerate() {
            if let Err(e) = r {
                return Err(anyhow!("setup transaction {} refused: {} ({})", chunk[i].hash, e.name, e.message));
            }
        }
    }
    Ok(())
}

async fn wait_all(client: &Client, hashes: &[TxHash]) -> Result<()> {
    for hash in hashes {
        let status = client.wait(hash, Duration::from_secs(120)).await?;
        if status["status"] != "committed" {
            return Err(anyhow!("setup transaction {hash} failed: {status}"));
        }
    }
    Ok(())
}

pub async fn run(global: &Global, command: BenchCommand) -> Result<()> {
    let BenchCommand::Transfers { accounts, txs, batch, rate } = command;
    if accounts < 2 || txs == 0 || batch == 0 {
        return Err(anyhow!("need at least 2 accounts, 1 transaction and a batch of 1"));
    }
    let client = global.client();
    let status = client.status().await?;
    let chain_id = status["chain_id"].as_str().ok_or_else(|| anyhow!("no chain id"))?.to_string();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as u64;
    let symbol = format!("B{}", seed % 100_000_000_000);
    let funder = Arc::new(ed25519::PrivateKey::from_seed(seed));
    let keys: Vec<Arc<ed25519::PrivateKey>> =
        (0..accounts as u64).map(|i| Arc::new(ed25519::PrivateKey::from_seed(seed.wrapping_add(1 + i)))).collect();
    let addresses: Vec<Address> = keys.iter().map(|k| address(k)).collect();
    let per_account = (txs / accounts + 1) as u128;

    // Setup: one asset, then every account funded (16 mints per transaction).
    eprintln!("bench: funding {accounts} accounts with {symbol}");
    let tx = |nonce: u64, actions: Vec<Action>| Transaction {
        chain_id: chain_id.clone(),
        signer: address(&funder),
        nonce,
        actions,
        memo: String::new(),
    };
    let create = vec![Action::Points(PointsAction::CreateAsset {
        symbol: symbol.clone(),
        name: "bench points".into(),
        decimals: 0,
        kind: AssetKind::Points,
        max_supply: None,
        mint_limit_per_day: None,
        transferable: true,
    })];
    let mut setup = vec![(tx(0, create), funder.clone())];
    for (i, chunk) in addresses.chunks(accord_types::limits::ACTIONS_MAX).enumerate() {
        let mints = chunk
            .iter()
            .map(|to| {
                Action::Points(PointsAction::Mint {
                    symbol: symbol.clone(),
                    to: *to,
                    amount: per_account,
                    reason: "bench".into(),
                    external_ref: None,
                })
            })
            .collect();
        setup.push((tx(1 + i as u64, mints), funder.clone()));
    }
    let setup = sign_all(setup);
    submit_all(&client, &setup, batch).await?;
    wait_all(&client, &[setup[setup.len() - 1].hash]).await?;

    // Load: transfers round-robin over the accounts, one nonce sequence each.
    eprintln!("bench: signing {txs} transfers");
    let mut nonces = vec![0u64; accounts];
    let work: Vec<(Transaction, Arc<ed25519::PrivateKey>)> = (0..txs)
        .map(|i| {
            let from = i % accounts;
            let to = (i * 7919 + 1) % accounts;
            let to = if to == from { (to + 1) % accounts } else { to };
            let t = Transaction {
                chain_id: chain_id.clone(),
                signer: addresses[from],
                nonce: nonces[from],
                actions: vec![Action::Points(PointsAction::Transfer {
                    symbol: symbol.clone(),
                    to: addresses[to],
                    amount: 1,
                })],
                memo: String::new(),
            };
            nonces[from] += 1;
            (t, keys[from].clone())
        })
        .collect();
    let load = sign_all(work);
    let start_height = client.status().await?["height"].as_u64().unwrap_or(0);

    eprintln!("bench: submitting");
    let started = Instant::now();
    let mut submitted_at: HashMap<TxHash, Instant> = HashMap::with_capacity(txs);
    let watcher = tokio::spawn(watch_blocks(client.clone(), start_height, txs));
    for (i, chunk) in load.chunks(batch).enumerate() {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64((i * batch) as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let now = Instant::now();
        for (j, r) in client.submit_batch(chunk).await?.into_iter().enumerate() {
            match r {
                Ok(hash) => {
                    submitted_at.insert(hash, now);
                }
                Err(e) => return Err(anyhow!("transfer {} refused: {} ({})", chunk[j].hash, e.name, e.message)),
            }
        }
    }
    let submit_s = started.elapsed().as_secs_f64();
    let (finalized, rejected) = watcher.await.map_err(|e| anyhow!("{e}"))??;
    let last = finalized.values().max().copied().unwrap_or(started);
    let mut latencies: Vec<f64> = finalized
        .iter()
        .filter_map(|(h, t)| submitted_at.get(h).map(|s| t.saturating_duration_since(*s).as_secs_f64() * 1000.0))
        .collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let elapsed = last.saturating_duration_since(started).as_secs_f64();
    let tps = latencies.len() as f64 / elapsed.max(1e-9);
    let result = json!({
        "transfers": latencies.len(), "accounts": accounts, "rejected": rejected,
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0, "submit_s": (submit_s * 1000.0).round() / 1000.0,
        "transfers_per_s": tps.round(), "p50_ms": percentile(&latencies, 0.5).round(),
        "p99_ms": percentile(&latencies, 0.99).round(),
    });
    if global.json {
        print(global, &result);
    } else {
        println!(
            "transfers_per_s={}  p50_ms={}  p99_ms={}  transfers={} accounts={} rejected={} elapsed_s={:.2}",
            result["transfers_per_s"], result["p50_ms"], result["p99_ms"], result["transfers"], accounts, rejected, elapsed
        );
    }
    if rejected > 0 || latencies.len() != txs {
        return Err(anyhow!("{} of {txs} transfers were finalized, {rejected} rejected", latencies.len()));
    }
    Ok(())
}

/// Follow executed blocks from `from_height` until `expected` transactions were seen.
async fn watch_blocks(client: Client, from_height: u64, expected: usize) -> Result<(HashMap<TxHash, Instant>, u64)> {
    let mut seen: HashMap<TxHash, Instant> = HashMap::with_capacity(expected);
    let mut rejected = 0u64;
    let mut next = from_height + 1;
    let mut idle_since = Instant::now();
    while seen.len() < expected {
        let height = client.status().await?["height"].as_u64().unwrap_or(0);
        if height < next {
            if idle_since.elapsed() > Duration::from_secs(60) {
                return Err(anyhow!("no block for 60 s; saw {} of {expected} transfers", seen.len()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let now = Instant::now();
        idle_since = now;
        while next <= height {
            let block: Value = client.get(&format!("/v1/blocks/{next}")).await?;
            rejected += block["rejected_txs"].as_u64().unwrap_or(0);
            for h in block["txs"].as_array().into_iter().flatten() {
                if let Some(hash) = h.as_str().and_then(|s| s.parse().ok()) {
                    seen.insert(hash, now);
                }
            }
            next += 1;
        }
    }
    Ok((seen, rejected))
}
