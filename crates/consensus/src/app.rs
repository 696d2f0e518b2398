//! The application consensus drives: build a block from the mempool, verify a peer's block.
//!
//! Execution is deferred by one block (see `accord_types::Header`): a proposal carries the
//! state root after its parent. The parent need not be final: the [`Host`] (the node)
//! executes not-yet-final ancestors speculatively, so a notarized parent that never gets its
//! own finalization cannot stall the chain. The host also provides the transactions and the
//! stateless checks.

use crate::block::Block;
use accord_types::{BlockBody, Header, SignedTx};
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::Context;
use commonware_consensus::Application;
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{ed25519, Digested};
use commonware_runtime::Clock;
use futures::future::BoxFuture;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far into the future a block's timestamp may be, compared to the verifier's clock.
pub const TIMESTAMP_DRIFT_MAX: Duration = Duration::from_secs(10);

/// What consensus needs from the node.
pub trait Host: Send + Sync + 'static {
    /// The height of the last block executed and final here.
    fn executed_height(&self) -> u64;
    /// Wait (a bounded while) until the final block at `height` is executed here.
    fn wait_executed(&self, height: u64) -> BoxFuture<'static, ()>;
    /// The state root after `chain[0]`, given its ancestors newest first down to one at or
    /// below the executed height; blocks not final yet are executed speculatively. `None`
    /// if the chain does not lead to the executed block (a losing fork) or cannot run.
    fn root_after(&self, chain: Vec<Block>) -> BoxFuture<'static, Option<[u8; 32]>>;
    /// Transactions for a block on top of `parent_height`. May wait a while for some to arrive;
    /// must be cancellation-safe (a dropped call loses nothing).
    fn take_txs(&self, parent_height: u64) -> BoxFuture<'static, Vec<SignedTx>>;
    /// Whether every transaction of a peer's block passes the stateless checks (signatures,
    /// chain id, bounds). Must be deterministic.
    fn check_txs(&self, txs: &[SignedTx]) -> bool;
    /// The validator set of `epoch` (≥ 1) once it is frozen in final state; waits until
    /// then. `None`: the node is stopping, or its state cannot say.
    fn validator_set(&self, epoch: u64) -> BoxFuture<'static, Option<Vec<crate::engine::Validator>>>;
}

/// `first` and its ancestors from `rest` (newest first) down to the executed height. Far
/// behind, gives finalization a bounded while to catch up to [`SPECULATION_DEPTH_MAX`]
/// first, then speculates anyway: a long run of notarized blocks none of which finalized
/// must not stop verification (that would stall the chain for good).
async fn chain_to_executed(host: &dyn Host, first: Block, rest: &mut (impl Ancestry<Block> + 'static)) -> Option<Vec<Block>> {
    let depth = first.header.height.saturating_sub(host.executed_height());
    if depth > SPECULATION_DEPTH_MAX {
        host.wait_executed(first.header.height - SPECULATION_DEPTH_MAX).await;
    }
    let executed = host.executed_height();
    let mut chain = vec![first];
    while chain.last()?.header.height > executed {
        chain.push(rest.next().await?.inner().clone());
    }
    Some(chain)
}

/// How many blocks past the executed one proposals and verifications execute speculatively.
pub const SPECULATION_DEPTH_MAX: u64 = 32;

/// The [`Application`] handed to marshal's `Inline` wrapper.
#[derive(Clone)]
pub struct App {
    host: Arc<dyn Host>,
}

impl App {
    pub fn new(host: Arc<dyn Host>) -> Self {
        Self { host }
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl<E: Clock + Send + 'static> Application<E> for App {
    type SigningScheme = Scheme;
    type Context = Context<Digest, ed25519::PublicKey>;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        context: (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        let parent = ancestry.next().await?.inner().clone();
        let chain = chain_to_executed(self.host.as_ref(), parent.clone(), &mut ancestry).await?;
        let root = self.host.root_after(chain).await?;
        let txs = self.host.take_txs(parent.header.height).await;
        let now = millis(context.0.current());
        let header = Header {
            height: parent.header.height + 1,
            parent: parent.digest32(),
            timestamp_ms: now.max(parent.header.timestamp_ms),
            state_root: root,
            txs_root: [0; 32],
            tx_count: 0,
        };
        let block = Block::new(header, BlockBody { txs });
        let digest = commonware_cryptography::Digestible::digest(&block);
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(&mut self, context: (E, Self::Context), mut ancestry: impl Ancestry<Self::Block>) -> bool {
        let (Some(block), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            return false;
        };
        let (block, parent) = (block.inner(), parent.inner());
        let now = millis(context.0.current());
        let h = &block.header;
        if h.timestamp_ms < parent.header.timestamp_ms
            || h.timestamp_ms > now + TIMESTAMP_DRIFT_MAX.as_millis() as u64
        {
            return false;
        }
        if !self.host.check_txs(&block.body.txs) {
            return false;
        }
        let Some(chain) = chain_to_executed(self.host.as_ref(), parent.clone(), &mut ancestry).await else {
            return false;
        };
        let mut with_block = vec![block.clone()];
        with_block.extend(chain.iter().cloned());
        match self.host.root_after(chain).await {
            // The block itself must run too: a block no node can execute must not be voted
            // for, or no child could ever follow it. (Memoized: it runs once either way.)
            Some(root) if root == h.state_root => self.host.root_after(with_block).await.is_some(),
            _ => false,
        }
    }
}
