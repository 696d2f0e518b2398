//! `accord bench transfers`: a real load generator over the public batch API.
//!
//! Funds N fresh accounts, pre-signs T transfers, submits them in batches (optionally paced
//! to a rate), watches finalized and executed blocks, and reports throughput and
//! submit -> finalized latency per transaction.

use crate::{print, Global};
use accord_client::Client;
use accord_types::{Action, Address, AgreementAction, AssetKind, Party, PointsAction, SignedTx, Transaction, TxHash};
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
        /// Spread the load over these nodes' APIs (comma-separated URLs); each account always
        /// submits to the same node, so its nonces arrive in order. Default: --node.
        #[arg(long, value_delimiter = ',')]
        nodes: Vec<String>,
    },
    /// Income payments to one agreement with many share holders, each split in its transaction.
    Income {
        #[arg(long, default_value_t = 100)]
        holders: usize,
        /// Accounts that pay.
        #[arg(long, default_value_t = 1_000)]
        payers: usize,
        #[arg(long, default_value_t = 20_000)]
        payments: usize,
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
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

/// What a scenario measured.
struct Stats {
    finalized: usize,
    rejected: u64,
    elapsed_s: f64,
    submit_s: f64,
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Everything a scenario needs to set itself up: the chain id, a funder and an asset.
struct Setup {
    client: Client,
    chain_id: String,
    seed: u64,
    symbol: String,
    funder: Arc<ed25519::PrivateKey>,
}

impl Setup {
    async fn new(global: &Global) -> Result<Self> {
        let client = global.client();
        let status = client.status().await?;
        let chain_id = status["chain_id"].as_str().ok_or_else(|| anyhow!("no chain id"))?.to_string();
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as u64;
        let symbol = format!("B{}", seed % 100_000_000_000);
        let funder = Arc::new(ed25519::PrivateKey::from_seed(seed));
        Ok(Self { client, chain_id, seed, symbol, funder })
    }

    fn keys(&self, offset: u64, count: usize) -> Vec<Arc<ed25519::PrivateKey>> {
        (0..count as u64).map(|i| Arc::new(ed25519::PrivateKey::from_seed(self.seed.wrapping_add(offset + i)))).collect()
    }

    fn tx(&self, signer: &ed25519::PrivateKey, nonce: u64, actions: Vec<Action>) -> Transaction {
        Transaction { chain_id: self.chain_id.clone(), signer: address(signer), nonce, actions, memo: String::new() }
    }

    /// Create the bench asset and give `amount` to each of `to`; wait until done.
    async fn fund(&self, to: &[Address], amount: u128, batch: usize) -> Result<()> {
        let create = vec![Action::Points(PointsAction::CreateAsset {
            symbol: self.symbol.clone(),
            name: "bench points".into(),
            decimals: 0,
            kind: AssetKind::Points,
            max_supply: None,
            mint_limit_per_day: None,
            transferable: true,
            lifetime_ms: None,
        })];
        let mut setup = vec![(self.tx(&self.funder, 0, create), self.funder.clone())];
        for (i, chunk) in to.chunks(accord_types::limits::ACTIONS_MAX).enumerate() {
            let mints = chunk
                .iter()
                .map(|to| {
                    Action::Points(PointsAction::Mint {
                        symbol: self.symbol.clone(),
                        to: *to,
                        amount,
                        reason: "bench".into(),
                        external_ref: None,
                    })
                })
                .collect();
            setup.push((self.tx(&self.funder, 1 + i as u64, mints), self.funder.clone()));
        }
        self.submit_and_wait(sign_all(setup), batch).await
    }

    async fn submit_and_wait(&self, txs: Vec<SignedTx>, batch: usize) -> Result<()> {
        submit_all(&self.client, &txs, batch).await?;
        match txs.last() {
            Some(last) => wait_all(&self.client, &[last.hash]).await,
            None => Ok(()),
        }
    }
}

/// Submit pre-signed `load` in batches (paced to `rate` if given) and time each
/// transaction from submission to its block being executed.
async fn measure(clients: &[Client], load: &[SignedTx], batch: usize, rate: Option<u64>) -> Result<Stats> {
    let client = clients.first().ok_or_else(|| anyhow!("no node to submit to"))?;
    let start_height = client.status().await?["height"].as_u64().unwrap_or(0);
    eprintln!("bench: submitting");
    let started = Instant::now();
    let mut submitted_at: HashMap<TxHash, Instant> = HashMap::with_capacity(load.len());
    let watcher = tokio::spawn(watch_blocks(client.clone(), start_height, load.len()));
    for (i, chunk) in load.chunks(batch).enumerate() {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64((i * batch) as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let now = Instant::now();
        // Each signer always goes to the same node.
        let mut parts: Vec<Vec<SignedTx>> = vec![Vec::new(); clients.len()];
        for tx in chunk {
            parts[tx.tx.signer.0[0] as usize % clients.len()].push(tx.clone());
        }
        let sends = clients.iter().zip(&parts).filter(|(_, p)| !p.is_empty()).map(|(c, p)| async move {
            (p, c.submit_batch(p).await)
        });
        for (part, results) in futures::future::join_all(sends).await {
            for (tx, r) in part.iter().zip(results?) {
                match r {
                    Ok(hash) => {
                        submitted_at.insert(hash, now);
                    }
                    Err(e) => return Err(anyhow!("transaction {} refused: {} ({})", tx.hash, e.name, e.message)),
                }
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
    let elapsed_s = last.saturating_duration_since(started).as_secs_f64();
    Ok(Stats {
        finalized: latencies.len(),
        rejected,
        elapsed_s,
        submit_s,
        per_s: latencies.len() as f64 / elapsed_s.max(1e-9),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
    })
}

fn report(global: &Global, what: &str, stats: &Stats, expected: usize, extra: Value) -> Result<()> {
    let mut result = json!({
        what: stats.finalized, "rejected": stats.rejected,
        "elapsed_s": (stats.elapsed_s * 1000.0).round() / 1000.0, "submit_s": (stats.submit_s * 1000.0).round() / 1000.0,
        format!("{what}_per_s"): stats.per_s.round(), "p50_ms": stats.p50_ms.round(), "p99_ms": stats.p99_ms.round(),
    });
    if let (Some(r), Some(e)) = (result.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    if global.json {
        print(global, &result);
    } else {
        let extra: Vec<String> = extra.as_object().into_iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{what}_per_s={}  p50_ms={}  p99_ms={}  {what}={} {} rejected={} elapsed_s={:.2}",
            result[format!("{what}_per_s")], result["p50_ms"], result["p99_ms"], stats.finalized, extra.join(" "),
            stats.rejected, stats.elapsed_s
        );
    }
    if stats.rejected > 0 || stats.finalized != expected {
        return Err(anyhow!("{} of {expected} {what} were finalized, {} rejected", stats.finalized, stats.rejected));
    }
    Ok(())
}

pub async fn run(global: &Global, command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Transfers { accounts, txs, batch, rate, nodes } => {
            transfers(global, accounts, txs, batch, rate, &nodes).await
        }
        BenchCommand::Income { holders, payers, payments, batch, rate } => {
            income(global, holders, payers, payments, batch, rate).await
        }
    }
}

async fn transfers(
    global: &Global,
    accounts: usize,
    txs: usize,
    batch: usize,
    rate: Option<u64>,
    nodes: &[String],
) -> Result<()> {
    if accounts < 2 || txs == 0 || batch == 0 {
        return Err(anyhow!("need at least 2 accounts, 1 transaction and a batch of 1"));
    }
    let setup = Setup::new(global).await?;
    let keys = setup.keys(1, accounts);
    let addresses: Vec<Address> = keys.iter().map(|k| address(k)).collect();
    eprintln!("bench: funding {accounts} accounts with {}", setup.symbol);
    setup.fund(&addresses, (txs / accounts + 1) as u128, batch).await?;

    // Transfers round-robin over the accounts, one nonce sequence each.
    eprintln!("bench: signing {txs} transfers");
    let mut nonces = vec![0u64; accounts];
    let work: Vec<(Transaction, Arc<ed25519::PrivateKey>)> = (0..txs)
        .map(|i| {
            let from = i % accounts;
            let to = (i * 7919 + 1) % accounts;
            let to = if to == from { (to + 1) % accounts } else { to };
            let action = PointsAction::Transfer { symbol: setup.symbol.clone(), to: addresses[to], amount: 1 };
            let t = setup.tx(&keys[from], nonces[from], vec![Action::Points(action)]);
            nonces[from] += 1;
            (t, keys[from].clone())
        })
        .collect();
    let load = sign_all(work);
    let clients: Vec<Client> = match nodes {
        [] => vec![setup.client.clone()],
        urls => urls.iter().map(|u| Client::new(u)).collect(),
    };
    let stats = measure(&clients, &load, batch, rate).await?;
    report(global, "transfers", &stats, txs, json!({ "accounts": accounts, "nodes": clients.len() }))
}

async fn income(
    global: &Global,
    holders: usize,
    payers: usize,
    payments: usize,
    batch: usize,
    rate: Option<u64>,
) -> Result<()> {
    let total = accord_types::limits::SHARES_PPM_TOTAL as usize;
    if holders == 0 || holders > accord_types::limits::AGREEMENT_HOLDERS_MAX || total % holders != 0 {
        return Err(anyhow!("holders must divide 1,000,000 and be at most 128"));
    }
    if payers == 0 || payments == 0 || batch == 0 {
        return Err(anyhow!("need at least 1 payer, 1 payment and a batch of 1"));
    }
    let setup = Setup::new(global).await?;
    let holder_keys = setup.keys(1, holders);
    let payer_keys = setup.keys(1 + holders as u64, payers);
    let payer_addresses: Vec<Address> = payer_keys.iter().map(|k| address(k)).collect();
    let amount: u128 = 1_000_007;
    eprintln!("bench: funding {payers} payers with {}", setup.symbol);
    setup.fund(&payer_addresses, amount * (payments / payers + 1) as u128, batch).await?;

    // One agreement, every holder a party with an equal share; every party signs.
    let parties: Vec<Party> = holder_keys
        .iter()
        .map(|k| Party { address: address(k), share_ppm: (total / holders) as u32 })
        .collect();
    let create = AgreementAction::AgreementCreate {
        income_symbol: setup.symbol.clone(),
        parties,
        legal_hash: [0; 32],
        expires_at_ms: None,
        amender: address(&setup.funder),
    };
    let first = holder_keys[0].clone();
    let created = sign_all(vec![(setup.tx(&first, 0, vec![Action::Agreement(create)]), first.clone())]);
    setup.submit_and_wait(created.clone(), batch).await?;
    let receipt = setup.client.wait(&created[0].hash, Duration::from_secs(60)).await?;
    let agreement: Address = serde_json::from_value(receipt["receipt"]["events"][0]["agreement"].clone())
        .map_err(|e| anyhow!("no agreement address in {receipt}: {e}"))?;
    let signs = holder_keys[1..]
        .iter()
        .map(|k| (setup.tx(k, 0, vec![Action::Agreement(AgreementAction::AgreementSign { agreement, legal_hash: [0; 32] })]), k.clone()))
        .collect();
    setup.submit_and_wait(sign_all(signs), batch).await?;

    eprintln!("bench: signing {payments} payments to an agreement with {holders} holders");
    let mut nonces = vec![0u64; payers];
    let work: Vec<(Transaction, Arc<ed25519::PrivateKey>)> = (0..payments)
        .map(|i| {
            let from = i % payers;
            let pay = AgreementAction::AgreementPay { agreement, amount };
            let t = setup.tx(&payer_keys[from], nonces[from], vec![Action::Agreement(pay)]);
            nonces[from] += 1;
            (t, payer_keys[from].clone())
        })
        .collect();
    let load = sign_all(work);
    let stats = measure(std::slice::from_ref(&setup.client), &load, batch, rate).await?;
    // The split is exact: the holders together received every unit paid.
    let mut received: u128 = 0;
    for k in &holder_keys {
        let account = setup.client.account(&address(k)).await?;
        received += account["balances"]["balances"][&setup.symbol].as_str().unwrap_or("0").parse::<u128>()?;
    }
    let paid = amount * stats.finalized as u128;
    if received != paid {
        return Err(anyhow!("holders received {received}, payers paid {paid}: the split is not exact"));
    }
    report(global, "payments", &stats, payments, json!({ "holders": holders, "split_exact": true }))
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
