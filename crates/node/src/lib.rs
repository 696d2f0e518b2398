//! The node: wires state, executor, mempool, receipts and consensus; owns the data directory.
//!
//! Finalized blocks arrive from consensus in height order. For each, the executor reads the
//! declared keys, executes, appends the receipts (fsync), commits the state (fsync) and only
//! then acknowledges the block to marshal, which redelivers it after a crash otherwise.

pub mod config;
pub mod mempool;
pub mod receipts;

use accord_consensus::{Block, Chain, Finalized, Host};
use accord_exec::{BlockInfo, Executor, Snapshot};
use accord_state::State;
use accord_types::reject::RejectInfo;
use accord_types::{Reject, SignedTx, TxHash};
use commonware_cryptography::ed25519;
use commonware_runtime::{Clock, Spawner, Supervisor as _};
use config::{Genesis, Home, NodeConfig};
use futures::future::BoxFuture;
use futures::StreamExt;
use mempool::Mempool;
use receipts::{BlockRecord, Receipt, Receipts};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{watch, RwLock};

/// How many recent (height -> digest, root) pairs proposers and verifiers can look up.
const RECENT_HEIGHTS_MAX: usize = 1024;
/// State commits between two syncs of the state (flush, then prune history below its
/// inactivity floor). This bounds what opening the state after a crash must replay: a
/// validator restarted after 360,000 transfers spent about 3 s opening storage without it.
const STATE_SYNC_EVERY: u64 = 64;
/// How many admission rejections are remembered for status queries.
const REJECTED_MAX: usize = 100_000;

/// The last executed block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Executed {
    pub height: u64,
    pub digest: [u8; 32],
    pub root: [u8; 32],
}


impl Executed {
    fn encode(&self) -> Vec<u8> {
        let mut v = self.height.to_be_bytes().to_vec();
        v.extend_from_slice(&self.digest);
        v
    }
}

/// The committed state with the block it reflects; one lock so the two never disagree.
pub struct Ledger {
    pub state: State,
    pub executed: Executed,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Counters {
    pub txs_committed: AtomicU64,
    pub txs_rejected: AtomicU64,
    pub blocks_executed: AtomicU64,
    pub txs_submitted: AtomicU64,
    /// Gossiped batches dropped because they did not decode.
    pub gossip_undecodable: AtomicU64,
}

/// What the node needs from its runtime: timers, tasks, and what to do when it must stop.
/// The same node runs on tokio in production and on commonware's deterministic runtime in
/// simulation tests.
#[derive(Clone)]
pub struct Runtime {
    sleep: Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>,
    spawn: Arc<dyn Fn(&'static str, bool, BoxFuture<'static, ()>) + Send + Sync>,
    fatal: Arc<dyn Fn(String) + Send + Sync>,
}

impl Runtime {
    /// Tasks are spawned as children of `context`: stopping its task stops them all.
    /// `fatal` is called when the node cannot go on (execution failed): it must not return
    /// control to the node (exit the process, or panic in a test).
    pub fn new<E>(context: E, fatal: impl Fn(String) + Send + Sync + 'static) -> Self
    where
        E: Clock + Spawner + Send + Sync + 'static,
    {
        let clock = context.child("clock");
        Runtime {
            sleep: Arc::new(move |d| Box::pin(clock.sleep(d))),
            spawn: Arc::new(move |label, blocking, task| {
                context.child(label).shared(blocking).spawn(move |_| task);
            }),
            fatal: Arc::new(fatal),
        }
    }

    /// A production runtime: a fatal error logs and exits with code 70.
    pub fn exit_on_fatal<E>(context: E) -> Self
    where
        E: Clock + Spawner + Send + Sync + 'static,
    {
        Self::new(context, |message| {
            tracing::error!(error = %message, "stopping before anything else is committed");
            std::process::exit(70);
        })
    }

    pub fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        (self.sleep)(d)
    }

    pub fn spawn(&self, label: &'static str, task: impl std::future::Future<Output = ()> + Send + 'static) {
        (self.spawn)(label, false, Box::pin(task))
    }

    /// Run CPU-heavy work off the async executor. `None` if the task was stopped.
    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = futures::channel::oneshot::channel();
        (self.spawn)("blocking", true, Box::pin(async move {
            let _ = tx.send(f());
        }));
        rx.await.ok()
    }

    /// `future`'s output, or `None` if `after` passes first.
    async fn timeout<T>(&self, after: Duration, future: impl std::future::Future<Output = T>) -> Option<T> {
        let future = std::pin::pin!(future);
        match futures::future::select(future, self.sleep(after)).await {
            futures::future::Either::Left((out, _)) => Some(out),
            futures::future::Either::Right(_) => None,
        }
    }
}

/// A running node.
pub struct Node {
    runtime: Runtime,
    /// This node's key (a validator's, or a follower's p2p identity).
    pub key: ed25519::PublicKey,
    pub genesis: Genesis,
    pub validators: Vec<ed25519::PublicKey>,
    pub config: NodeConfig,
    pub exec: Executor,
    pub ledger: RwLock<Ledger>,
    pub mempool: Mempool,
    pub receipts: Receipts,
    pub counters: Counters,
    executed_tx: watch::Sender<Executed>,
    recent: Mutex<BTreeMap<u64, ([u8; 32], [u8; 32])>>,
    rejected: Mutex<(HashMap<TxHash, Reject>, std::collections::VecDeque<TxHash>)>,
    chain: OnceLock<Chain>,
    runtime_metrics: OnceLock<Box<dyn Fn() -> String + Send + Sync>>,
    executed_time_ms: AtomicU64,
    /// State commits since the state was last synced and pruned.
    commits_since_sync: AtomicU64,
    strategy: commonware_parallel::Rayon,
    /// Sends admitted transactions to the other validators.
    gossip: OnceLock<futures::channel::mpsc::UnboundedSender<Vec<u8>>>,
    /// `epoch → SetProof` files (`data/epochs/<epoch>.json`).
    epochs_dir: std::path::PathBuf,
    /// Validator sets by epoch: the genesis' for epoch 0, then those read from final state
    /// (they never change once frozen).
    sets: Mutex<BTreeMap<u64, Vec<accord_types::ValidatorEntry>>>,
    /// Blocks executed but not final yet (and the last ones made final), by digest.
    executions: Mutex<HashMap<[u8; 32], Arc<Execution>>>,
    /// One block executes at a time, speculative or final, so none executes twice.
    exec_lock: tokio::sync::Mutex<()>,
}

/// One block executed on its parent's state, before or after consensus finalized it.
struct Execution {
    height: u64,
    /// Its writes merkleized on the parent's state (`None`: it changed nothing).
    staged: Option<accord_state::Staged>,
    /// The state after it, for its children to read: its own staged writes, or the nearest
    /// staged ancestor's (`None`: the committed state).
    after: Option<accord_state::Staged>,
    root: [u8; 32],
    record: BlockRecord,
    committed: u64,
}


/// The evidence that the set of `epoch` was frozen: its value under its key, with the
/// Merkle proof against the state root after the freeze block (`height`, in epoch − 1). That
/// root is in the header of block `height + 1`, which a quorum of epoch − 1's set finalized.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SetProof {
    pub epoch: u64,
    pub height: u64,
    pub root: String,
    pub key: String,
    pub value: String,
    pub proof: String,
}

/// Where a transaction is.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    Pending,
    Committed { receipt: Receipt },
    Rejected { receipt: Option<Receipt>, error: RejectInfo },
    Unknown,
}

/// The executor of `genesis`'s chain, with every module.
pub fn executor(genesis: &Genesis) -> Executor {
    Executor::new(&genesis.chain_id, vec![
        Box::new(accord_points::Points),
        Box::new(accord_multisig::Multisig),
        Box::new(accord_agreements::Agreements),
        Box::new(accord_market::Market),
        Box::new(accord_validators::Validators::new(epochs(genesis), genesis_set(genesis))),
    ])
}

/// The epochs of `genesis`'s chain.
pub fn epochs(genesis: &Genesis) -> accord_types::Epochs {
    accord_types::Epochs { length: genesis.epoch_length }
}

/// The genesis validators as the validators module stores a set.
pub fn genesis_set(genesis: &Genesis) -> Vec<accord_types::ValidatorEntry> {
    genesis
        .validators
        .iter()
        .filter_map(|v| {
            let key = config::public_key_from_hex(&v.public_key).ok()?;
            let bytes: [u8; 32] = commonware_codec::Encode::encode(&key).as_ref().try_into().ok()?;
            Some(accord_types::ValidatorEntry { key: accord_types::Address(bytes), p2p: v.p2p_address.to_string() })
        })
        .collect()
}

/// A stored set as consensus uses it (entries that cannot be used are left out; the
/// module checks every entry before it stores a set, so there are none).
pub fn consensus_set(set: &[accord_types::ValidatorEntry]) -> Vec<accord_consensus::Validator> {
    set.iter()
        .filter_map(|v| {
            let public_key = commonware_codec::DecodeExt::decode(commonware_codec::Copying(v.key.0.as_slice())).ok()?;
            Some(accord_consensus::Validator { public_key, address: v.p2p.parse().ok()? })
        })
        .collect()
}

impl Node {
    pub fn chain(&self) -> Option<&Chain> {
        self.chain.get()
    }

    /// Install the source of the runtime's own metrics (consensus, p2p, storage).
    pub fn set_runtime_metrics(&self, source: Box<dyn Fn() -> String + Send + Sync>) {
        let _ = self.runtime_metrics.set(source);
    }

    /// The runtime's metrics in Prometheus text format (empty before they are installed).
    pub fn runtime_metrics(&self) -> String {
        self.runtime_metrics.get().map(|f| f()).unwrap_or_default()
    }

    /// The block time of the last executed block (0 before the first since start).
    pub fn executed_time_ms(&self) -> u64 {
        self.executed_time_ms.load(Ordering::Relaxed)
    }

    /// The state root after the final block at `height`, if it is among the recent ones
    /// executed since this node started.
    pub fn root_at(&self, height: u64) -> Option<[u8; 32]> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner()).get(&height).map(|(_, root)| *root)
    }

    /// Whether this node votes (its key is a genesis validator's) or only follows: a
    /// follower receives, checks and executes every final block and serves the API, and
    /// passes transactions on to the validators.
    pub fn is_validator(&self) -> bool {
        let me = commonware_codec::Encode::encode(&self.key);
        self.current_validators().iter().any(|k| k.0.as_slice() == me.as_ref())
    }

    /// The keys of the current epoch's validators (as far as this node has read them).
    pub fn current_validators(&self) -> Vec<accord_types::Address> {
        let epoch = self.epoch();
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.range(..=epoch).next_back().map(|(_, set)| set.iter().map(|v| v.key).collect()).unwrap_or_default()
    }

    pub fn executed(&self) -> Executed {
        *self.executed_tx.borrow()
    }

    /// The set of `epoch` once it is frozen in final state (the genesis set for epoch 0);
    /// waits until then. `None` if this chain has no such epoch or the state cannot say.
    pub async fn validator_set(&self, epoch: u64) -> Option<Vec<accord_types::ValidatorEntry>> {
        if let Some(set) = self.sets.lock().unwrap_or_else(|p| p.into_inner()).get(&epoch) {
            return Some(set.clone());
        }
        let freeze = epochs(&self.genesis).freeze(epoch - 1)?;
        while !self.wait_executed(freeze, Duration::from_secs(5)).await {}
        let key = accord_validators::state::set_key(epoch).digest();
        // A read that fails is tried again: consensus cannot go on without the set.
        let bytes = loop {
            match self.ledger.read().await.state.get(&key).await {
                Ok(bytes) => break bytes?,
                Err(e) => {
                    tracing::warn!(epoch, error = %e, "reading the validator set failed; retrying");
                    self.runtime.sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let set = accord_validators::state::decode_set(&bytes).ok()?;
        self.sets.lock().unwrap_or_else(|p| p.into_inner()).insert(epoch, set.clone());
        Some(set)
    }

    /// The epoch of the last executed block.
    pub fn epoch(&self) -> u64 {
        epochs(&self.genesis).epoch(self.executed().height)
    }

    /// Wait until block `height` is executed (or `timeout` passes).
    pub async fn wait_executed(&self, height: u64, timeout: Duration) -> bool {
        let mut rx = self.executed_tx.subscribe();
        self.runtime.timeout(timeout, rx.wait_for(|e| e.height >= height)).await.is_some_and(|r| r.is_ok())
    }

    fn remember_rejected(&self, hash: TxHash, reject: Reject) {
        let mut guard = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        if map.insert(hash, reject).is_none() {
            order.push_back(hash);
        }
        while order.len() > REJECTED_MAX {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    pub fn status(&self, hash: &TxHash) -> Result<TxStatus, String> {
        // First the queue: a transaction rejected once (e.g. for a balance too low) may be
        // sent again, byte for byte, and is pending again, not still rejected.
        if self.mempool.contains(hash) {
            return Ok(TxStatus::Pending);
        }
        if let Some(receipt) = self.receipts.get(hash)? {
            if let Some(error) = receipt.error.clone() {
                return Ok(TxStatus::Rejected { receipt: Some(receipt), error });
            }
            return Ok(TxStatus::Committed { receipt });
        }
        let rejected = self.rejected.lock().unwrap_or_else(|p| p.into_inner()).0.get(hash).copied();
        Ok(match rejected {
            Some(r) => TxStatus::Rejected { receipt: None, error: r.into() },
            None => TxStatus::Unknown,
        })
    }

    /// Admit transactions: stateless checks, batched signature check, nonce order, queue;
    /// then pass the admitted ones to the other validators, so whoever proposes next has them.
    pub async fn submit(self: &Arc<Self>, txs: Vec<SignedTx>) -> Vec<Result<TxHash, Reject>> {
        let results = self.admit(txs.clone(), true).await;
        if let Some(gossip) = self.gossip.get() {
            let admitted: Vec<SignedTx> =
                txs.into_iter().zip(&results).filter(|(_, r)| r.is_ok()).map(|(t, _)| t).collect();
            // A lone validator proposes everything itself; a follower never proposes.
            if !admitted.is_empty() && (self.current_validators().len() > 1 || !self.is_validator()) {
                let mut w = accord_types::Writer::new();
                accord_types::BlockBody { txs: admitted }.encode_into(&mut w);
                let _ = gossip.unbounded_send(w.finish());
            }
        }
        results
    }

    /// Admit a batch another validator passed on (not passed on again). What this node
    /// refuses is not recorded as rejected: the entry node has it (e.g. a later nonce that
    /// overtook an earlier one) and it may well commit. `false`: a transaction that decoded
    /// carries a bad signature, which no honest peer passes on (they pass on only what they
    /// admitted), so the sender should be blocked. A batch that does not decode is dropped,
    /// not blocked: during a rolling upgrade an honest peer may pass on a format this
    /// release does not know.
    async fn admit_gossiped(self: &Arc<Self>, bytes: &[u8]) -> bool {
        let mut r = accord_types::Reader::new(bytes);
        match accord_types::BlockBody::decode_from(&mut r) {
            Ok(body) if r.remaining() == 0 => {
                let results = self.admit(body.txs, false).await;
                !results.contains(&Err(Reject::BadSignature))
            }
            _ => {
                self.counters.gossip_undecodable.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(bytes = bytes.len(), "a peer passed on transactions this node cannot decode; dropped");
                true
            }
        }
    }

    async fn admit(self: &Arc<Self>, txs: Vec<SignedTx>, remember: bool) -> Vec<Result<TxHash, Reject>> {
        let node = self.clone();
        let checked = self.runtime.blocking(move || {
            let verdicts = accord_types::tx::verify_signatures(&txs, &node.strategy);
            let results: Vec<Result<(), Reject>> = txs
                .iter()
                .zip(verdicts)
                .map(|(tx, ok)| if ok { node.exec.check_stateless(tx) } else { Err(Reject::BadSignature) })
                .collect();
            (txs, results)
        })
        .await;
        let Some((txs, results)) = checked else {
            return vec![Err(Reject::MempoolFull)];
        };
        let Ok(nonces) = self.committed_nonces(&txs).await else {
            return txs.iter().map(|_| Err(Reject::MempoolFull)).collect();
        };
        let mut out = Vec::with_capacity(txs.len());
        for (tx, result) in txs.into_iter().zip(results) {
            let hash = tx.hash;
            let result = result.and_then(|()| {
                if self.receipts.is_committed(&hash) {
                    return Err(Reject::DuplicateTransaction);
                }
                let committed = nonces.get(&tx.tx.signer).copied().unwrap_or(0);
                self.mempool.insert(tx, committed)
            });
            match result {
                Ok(()) => {
                    self.counters.txs_submitted.fetch_add(1, Ordering::Relaxed);
                    out.push(Ok(hash));
                }
                Err(r) => {
                    if remember && r != Reject::DuplicateTransaction {
                        self.remember_rejected(hash, r);
                    }
                    out.push(Err(r));
                }
            }
        }
        out
    }

    async fn committed_nonces(&self, txs: &[SignedTx]) -> Result<HashMap<accord_types::Address, u64>, String> {
        let mut signers: Vec<_> = txs.iter().map(|t| t.tx.signer).collect();
        signers.sort_unstable();
        signers.dedup();
        let keys: Vec<[u8; 32]> = signers.iter().map(|s| accord_exec::keys::account(s).digest()).collect();
        let ledger = self.ledger.read().await;
        let values = ledger.state.get_many(&keys).await.map_err(|e| e.to_string())?;
        Ok(signers
            .into_iter()
            .zip(values)
            .map(|(s, v)| {
                let nonce = v.and_then(|b| accord_exec::Account::decode(&b).ok()).map_or(0, |a| a.nonce);
                (s, nonce)
            })
            .collect())
    }

    /// Execute `block` on its parent's state: the committed state if the parent is the
    /// executed block, else the parent's own (speculative) execution. Memoized by digest.
    /// `Ok(None)`: the parent is neither (unknown here, or on a losing fork). The caller
    /// holds `exec_lock`.
    async fn execute_block(&self, block: &Block) -> Result<Option<Arc<Execution>>, String> {
        let digest = block.digest32();
        if let Some(e) = self.executions.lock().unwrap_or_else(|p| p.into_inner()).get(&digest) {
            return Ok(Some(e.clone()));
        }
        let header = &block.header;
        let ledger = self.ledger.read().await;
        let (base, base_root) = if header.parent == ledger.executed.digest && header.height == ledger.executed.height + 1 {
            (None, ledger.executed.root)
        } else {
            let parent = self.executions.lock().unwrap_or_else(|p| p.into_inner()).get(&header.parent).cloned();
            match parent {
                Some(p) if p.height + 1 == header.height => (p.after.clone(), p.root),
                _ => return Ok(None),
            }
        };
        let txs = &block.body.txs;
        let hashes: Vec<TxHash> = txs.iter().map(|t| t.hash).collect();
        self.mempool.mark_in_flight(header.height, &hashes);
        let info = BlockInfo { height: header.height, timestamp_ms: header.timestamp_ms };
        let keys = self.exec.read_keys(info, txs);
        let digests: Vec<[u8; 32]> = keys.iter().map(|k| k.digest()).collect();
        let values = ledger.state.get_many_at(base.as_ref(), &digests).await.map_err(|e| e.to_string())?;
        let mut snapshot: Snapshot = keys.into_iter().zip(values).collect();
        let mut rounds = 0;
        let mut plan = accord_exec::ReadPlan::default();
        loop {
            let more = self.exec.dependent_keys(info, txs, &snapshot, &mut plan);
            if more.is_empty() {
                break;
            }
            rounds += 1;
            if rounds > accord_exec::READ_ROUNDS_MAX {
                return Err(format!("block {}: reads did not settle after {rounds} rounds", header.height));
            }
            let digests: Vec<[u8; 32]> = more.iter().map(|k| k.digest()).collect();
            let values = ledger.state.get_many_at(base.as_ref(), &digests).await.map_err(|e| e.to_string())?;
            snapshot.extend(more.into_iter().zip(values));
        }
        // Signatures were checked before the block could be finalized (admission or verify).
        let signatures_ok = vec![true; txs.len()];
        let outcome = self.exec.execute(&snapshot, info, txs, &signatures_ok).map_err(|e| e.to_string())?;
        let receipts: Vec<Receipt> = outcome
            .receipts
            .iter()
            .enumerate()
            .map(|(i, r)| Receipt {
                hash: r.hash.to_string(),
                signer: r.signer,
                nonce: r.nonce,
                height: header.height,
                index: i as u32,
                status: if r.result.is_ok() { "committed".into() } else { "rejected".into() },
                events: r.result.clone().unwrap_or_default(),
                error: r.result.as_ref().err().map(|e| RejectInfo::from(*e)),
            })
            .collect();
        let committed = outcome.receipts.iter().filter(|r| r.result.is_ok()).count() as u64;
        let staged = if outcome.writes.is_empty() {
            // Nothing changed: the root stays, and an idle chain does not grow the store.
            None
        } else {
            let writes: Vec<([u8; 32], Option<Vec<u8>>)> =
                outcome.writes.into_iter().map(|(k, v)| (k.digest(), v)).collect();
            let metadata = Executed { height: header.height, digest, root: [0; 32] }.encode();
            Some(ledger.state.stage(base.as_ref(), writes, metadata).await.map_err(|e| e.to_string())?)
        };
        drop(ledger);
        let root = staged.as_ref().map_or(base_root, |s| s.root());
        let after = staged.clone().or(base);
        let record = BlockRecord { receipts, events: outcome.events };
        let execution = Arc::new(Execution { height: header.height, staged, after, root, record, committed });
        self.executions.lock().unwrap_or_else(|p| p.into_inner()).insert(digest, execution.clone());
        Ok(Some(execution))
    }

    /// Make one finalized block's effects durable (executing it first unless it was already,
    /// speculatively). Errors are fatal.
    async fn apply_finalized(&self, block: &Block) -> Result<(), String> {
        let _one_at_a_time = self.exec_lock.lock().await;
        let header = &block.header;
        let executed = self.executed();
        if header.height <= executed.height {
            return Ok(());
        }
        if header.height != executed.height + 1 {
            return Err(format!("block {} arrived after {}", header.height, executed.height));
        }
        // The block states the root after its parent; this node computed that root itself.
        // (Votes check it too; a node catching up checks it here.)
        if header.state_root != executed.root {
            return Err(format!(
                "block {} states root {} after its parent, but executing the chain here gave {}",
                header.height,
                hex::encode(header.state_root),
                hex::encode(executed.root)
            ));
        }
        let execution = self
            .execute_block(block)
            .await?
            .ok_or_else(|| format!("finalized block {} does not extend the executed block", header.height))?;
        let changed = execution.staged.is_some();
        self.receipts.append(header.height, block.digest32(), changed, &execution.record)?;
        let mut ledger = self.ledger.write().await;
        let root = match &execution.staged {
            Some(staged) => ledger.state.commit_staged(staged.clone()).await.map_err(|e| e.to_string())?,
            None => ledger.executed.root,
        };
        if root != execution.root {
            return Err(format!("block {}: committed root differs from the executed one", header.height));
        }
        let executed = Executed { height: header.height, digest: block.digest32(), root };
        if let Some(epoch) = epochs(&self.genesis).frozen_by(header.height) {
            write_set_proof(&ledger.state, &self.epochs_dir, epoch, header.height).await?;
        }
        ledger.executed = executed;
        if changed && self.commits_since_sync.fetch_add(1, Ordering::Relaxed) + 1 >= STATE_SYNC_EVERY {
            ledger.state.sync_and_prune().await.map_err(|e| format!("syncing the state: {e}"))?;
            self.commits_since_sync.store(0, Ordering::Relaxed);
        }
        drop(ledger);
        {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            recent.insert(executed.height, (executed.digest, root));
            while recent.len() > RECENT_HEIGHTS_MAX {
                recent.pop_first();
            }
        }
        // What is final now, or lost to a fork, is not needed any more.
        self.executions.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, e| e.height > executed.height);
        let total = execution.record.receipts.len() as u64;
        self.counters.txs_committed.fetch_add(execution.committed, Ordering::Relaxed);
        self.counters.txs_rejected.fetch_add(total - execution.committed, Ordering::Relaxed);
        self.counters.blocks_executed.fetch_add(1, Ordering::Relaxed);
        let hashes: Vec<TxHash> = block.body.txs.iter().map(|t| t.hash).collect();
        self.mempool.finalized(header.height, &hashes);
        self.executed_time_ms.store(header.timestamp_ms, Ordering::Relaxed);
        self.executed_tx.send_replace(executed);
        Ok(())
    }
}

/// Prove the set of `epoch` against the state as it is now (just after block `height`,
/// which froze it) and keep the proof for `/v1/epochs/{epoch}`.
async fn write_set_proof(state: &State, dir: &std::path::Path, epoch: u64, height: u64) -> Result<(), String> {
    let key = accord_validators::state::set_key(epoch);
    let proof = state.prove(&key.digest()).await.map_err(|e| format!("proving the set of epoch {epoch}: {e}"))?;
    let value = proof.value.ok_or_else(|| format!("the set of epoch {epoch} is not in the state after block {height}"))?;
    let record = SetProof {
        epoch,
        height,
        root: hex::encode(proof.root),
        key: key.to_string(),
        value: hex::encode(value),
        proof: hex::encode(proof.bytes),
    };
    let path = dir.join(format!("{epoch}.json"));
    let tmp = dir.join(format!("{epoch}.json.tmp"));
    let bytes = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
    // Durable before the freeze block is acknowledged: it cannot be made again once the
    // state moves on.
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| format!("{}: {e}", path.display()))
}

impl Node {
    /// The proof that the set of `epoch` (≥ 1) was frozen, if this node executed its freeze.
    pub fn set_proof(&self, epoch: u64) -> Option<SetProof> {
        let bytes = std::fs::read(self.epochs_dir.join(format!("{epoch}.json"))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The node as consensus sees it.
struct NodeHost(Arc<Node>);

impl Host for NodeHost {
    fn executed_height(&self) -> u64 {
        self.0.executed().height
    }

    fn wait_executed(&self, height: u64) -> BoxFuture<'static, ()> {
        let node = self.0.clone();
        Box::pin(async move {
            node.wait_executed(height, Duration::from_secs(2)).await;
        })
    }

    fn root_after(&self, chain: Vec<Block>) -> BoxFuture<'static, Option<[u8; 32]>> {
        let node = self.0.clone();
        Box::pin(async move {
            let _one_at_a_time = node.exec_lock.lock().await;
            let target = chain.first()?;
            let executed = node.executed();
            if target.header.height <= executed.height {
                let recent = node.recent.lock().unwrap_or_else(|p| p.into_inner());
                return match recent.get(&target.header.height) {
                    Some((d, root)) if *d == target.digest32() => Some(*root),
                    _ => None,
                };
            }
            // Execute, oldest first, whatever is not final yet: a notarized parent that never
            // gets its own finalization must not stop the next proposal.
            for block in chain.iter().rev().filter(|b| b.header.height > executed.height) {
                match node.execute_block(block).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::warn!(height = block.header.height, error = %e, "speculative execution failed");
                        return None;
                    }
                }
            }
            node.executions.lock().unwrap_or_else(|p| p.into_inner()).get(&target.digest32()).map(|e| e.root)
        })
    }

    fn take_txs(&self, parent_height: u64) -> BoxFuture<'static, Vec<SignedTx>> {
        let node = self.0.clone();
        Box::pin(async move {
            node.mempool.wait_for_any(node.runtime.sleep(Duration::from_millis(node.config.block_interval_ms))).await;
            let max_txs = node.config.block_txs_max.min(accord_types::limits::BLOCK_TXS_MAX);
            let max_bytes = accord_types::limits::BLOCK_BYTES_MAX - accord_types::Header::ENCODED_LEN - 8;
            node.mempool.take(max_txs, max_bytes, parent_height + 1)
        })
    }

    fn check_txs(&self, txs: &[SignedTx]) -> bool {
        if txs.len() > accord_types::limits::BLOCK_TXS_MAX {
            return false;
        }
        let mut hashes: Vec<TxHash> = txs.iter().map(|t| t.hash).collect();
        hashes.sort_unstable();
        if hashes.windows(2).any(|w| w[0] == w[1]) {
            return false;
        }
        txs.iter().all(|t| self.0.exec.check_stateless(t).is_ok())
            && accord_types::tx::verify_signatures(txs, &self.0.strategy).into_iter().all(|ok| ok)
    }

    fn validator_set(&self, epoch: u64) -> BoxFuture<'static, Option<Vec<accord_consensus::Validator>>> {
        let node = self.0.clone();
        Box::pin(async move {
            let set = node.validator_set(epoch).await?;
            Some(consensus_set(&set))
        })
    }
}

/// The genesis block every validator of `genesis` agrees on.
pub fn genesis_block(genesis: &Genesis) -> Block {
    let header = accord_types::Header {
        height: 0,
        parent: genesis.digest(),
        timestamp_ms: genesis.genesis_time_ms,
        state_root: [0; 32],
        txs_root: [0; 32],
        tx_count: 0,
    };
    Block::new(header, accord_types::BlockBody::default())
}

/// Open the node's storage (state and receipts) in `home` and the store of `storage`,
/// with every partition name starting with `partition_prefix`. Consensus is attached next
/// ([`attach`]); [`start`] does both for a production node.
pub async fn open(
    runtime: Runtime,
    storage: impl Into<accord_state::Runtime>,
    home: &Home,
    config: NodeConfig,
    partition_prefix: &str,
) -> Result<Arc<Node>, String> {
    let genesis: Genesis = Home::read_json(&home.genesis()).map_err(|e| e.to_string())?;
    let validators = genesis.validate().map_err(|e| e.to_string())?;
    let key = commonware_cryptography::Signer::public_key(&home.read_validator_key().map_err(|e| e.to_string())?);
    match (config.role, validators.contains(&key)) {
        (config::Role::Validator, false) => {
            return Err(format!(
                "{} is not the key of any validator in {}; use the right key or genesis, or set \"role\": \"follower\" in {} to run a node that does not vote",
                home.validator_key().display(),
                home.genesis().display(),
                home.config().display()
            ))
        }
        (config::Role::Follower, true) => {
            return Err(format!(
                "{} is a validator's key but {} says \"role\": \"follower\"; a follower needs a key of its own",
                home.validator_key().display(),
                home.config().display()
            ))
        }
        _ => {}
    }
    std::fs::create_dir_all(home.data()).map_err(|e| e.to_string())?;
    let mut state =
        State::open(storage, &format!("{partition_prefix}state")).await.map_err(|e| e.to_string())?;
    let executed = match state.metadata().await.map_err(|e| e.to_string())? {
        Some(meta) if meta.len() == 40 => Executed {
            height: u64::from_be_bytes(meta[..8].try_into().map_err(|_| "metadata")?),
            digest: meta[8..].try_into().map_err(|_| "metadata")?,
            root: state.root().map_err(|e| e.to_string())?,
        },
        Some(_) => return Err("state metadata is corrupt".into()),
        None => {
            let genesis_block = genesis_block(&genesis);
            let executed = Executed { height: 0, digest: genesis_block.digest32(), root: [0; 32] };
            let root = state.apply(Vec::new(), executed.encode()).await.map_err(|e| e.to_string())?;
            Executed { root, ..executed }
        }
    };
    // The state was last committed at a freeze block: the proof of the set it froze is made
    // now if a crash came between that commit and writing the proof.
    let epochs_dir = home.data().join("epochs");
    std::fs::create_dir_all(&epochs_dir).map_err(|e| format!("{}: {e}", epochs_dir.display()))?;
    if let Some(epoch) = epochs(&genesis).frozen_by(executed.height) {
        if !epochs_dir.join(format!("{epoch}.json")).exists() {
            write_set_proof(&state, &epochs_dir, epoch, executed.height).await?;
        }
    }
    let (receipts, last) = Receipts::open(&home.data().join("receipts.log"), executed.height)?;
    // Blocks after the state's last commit that changed nothing are executed already.
    let executed = match last {
        Some(last) if last.height > executed.height => Executed { height: last.height, digest: last.digest, ..executed },
        _ => executed,
    };
    let strategy = commonware_parallel::Rayon::new(std::num::NonZeroUsize::new(2).unwrap_or(std::num::NonZeroUsize::MIN))
        .map_err(|e| e.to_string())?;
    let (executed_tx, _) = watch::channel(executed);
    Ok(Arc::new(Node {
        runtime,
        key,
        exec: executor(&genesis),
        validators,
        mempool: Mempool::new(config.mempool_txs_max),
        ledger: RwLock::new(Ledger { state, executed }),
        receipts,
        counters: Counters::default(),
        executed_tx,
        recent: Mutex::new(BTreeMap::from([(executed.height, (executed.digest, executed.root))])),
        rejected: Mutex::new(Default::default()),
        chain: OnceLock::new(),
        runtime_metrics: OnceLock::new(),
        executed_time_ms: AtomicU64::new(0),
        commits_since_sync: AtomicU64::new(0),
        strategy,
        gossip: OnceLock::new(),
        executions: Mutex::new(HashMap::new()),
        sets: Mutex::new(BTreeMap::from([(0, genesis_set(&genesis))])),
        epochs_dir,
        exec_lock: tokio::sync::Mutex::new(()),
        config,
        genesis,
    }))
}

/// What consensus needs to start for the node of `home` (its key, the genesis validators,
/// the followers it lets connect).
pub fn consensus_config(node: &Node, home: &Home, partition_prefix: &str) -> Result<accord_consensus::Config, String> {
    consensus_config_for(home, &node.genesis, &node.validators, &node.config, partition_prefix)
}

/// [`consensus_config`] from the parts of a home, before (or without) a node: `validators`
/// are `genesis`'s keys, as [`Genesis::validate`] gives them.
pub fn consensus_config_for(
    home: &Home,
    genesis: &Genesis,
    validators: &[ed25519::PublicKey],
    config: &NodeConfig,
    partition_prefix: &str,
) -> Result<accord_consensus::Config, String> {
    let key = home.read_validator_key().map_err(|e| e.to_string())?;
    let mut followers = Vec::new();
    for f in &config.followers {
        let public_key = config::public_key_from_hex(&f.public_key)
            .map_err(|e| format!("{}: follower {}: {e}", home.config().display(), f.public_key))?;
        // A validator may be listed (it stays connected as a follower once the validators
        // remove it from their set), but not this node itself.
        if public_key == commonware_cryptography::Signer::public_key(&key) {
            return Err(format!("{}: follower {} is this node's own key", home.config().display(), f.public_key));
        }
        followers.push(accord_consensus::Validator { public_key, address: f.p2p_address });
    }
    Ok(accord_consensus::Config {
        followers,
        key,
        validators: genesis
            .validators
            .iter()
            .zip(validators)
            .map(|(v, k)| accord_consensus::Validator { public_key: k.clone(), address: v.p2p_address })
            .collect(),
        listen: config.p2p_address,
        namespace: accord_consensus::finality::namespace(&genesis.chain_id),
        leader_timeout: Duration::from_millis(config.leader_timeout_ms),
        genesis: genesis_block(genesis),
        partition_prefix: partition_prefix.to_string(),
        epoch_length: genesis.epoch_length,
    })
}

/// The node as consensus' application sees it.
pub fn host(node: &Arc<Node>) -> Arc<dyn Host> {
    Arc::new(NodeHost(node.clone()))
}

/// Feed consensus' finalized blocks to the executor, and its gossip to the mempool.
pub fn attach(
    node: &Arc<Node>,
    chain: Chain,
    mut finalized: futures::channel::mpsc::UnboundedReceiver<Finalized>,
    gossip: accord_consensus::Gossip,
) {
    let _ = node.chain.set(chain);
    let _ = node.gossip.set(gossip.out);
    let gossip_node = node.clone();
    let mut incoming = gossip.incoming;
    let block = gossip.block;
    node.runtime.spawn("gossip_admit", async move {
        while let Some((peer, bytes)) = incoming.next().await {
            if !gossip_node.admit_gossiped(&bytes).await {
                tracing::warn!(bytes = bytes.len(), "a peer passed on a transaction with a forged signature");
                block(peer);
            }
        }
    });
    // A panic here stops the runtime, and with it the node: a node that no longer executes
    // must not keep answering with a frozen height.
    let executor_node = node.clone();
    node.runtime.spawn("executor", async move {
        while let Some(Finalized { block, ack }) = finalized.next().await {
            if let Err(e) = executor_node.apply_finalized(&block).await {
                (executor_node.runtime.fatal)(format!("block {}: execution failed: {e}", block.header.height));
                return;
            }
            commonware_utils::Acknowledgement::acknowledge(ack);
        }
    });
}

/// Open the node's storage and start consensus (over TCP) and the executor. Returns the
/// node once it is running; the consensus handle ends only on a fatal error.
pub async fn start(
    context: commonware_runtime::tokio::Context,
    home: &Home,
    config: NodeConfig,
) -> Result<(Arc<Node>, commonware_runtime::Handle<()>), String> {
    let runtime = Runtime::exit_on_fatal(context.child("node"));
    let node = open(runtime, context.child("state"), home, config, "").await?;
    let consensus = consensus_config(&node, home, "")?;
    let (chain, finalized, gossip, handle) = accord_consensus::start(context, consensus, host(&node)).await?;
    attach(&node, chain, finalized, gossip);
    Ok((node, handle))
}
