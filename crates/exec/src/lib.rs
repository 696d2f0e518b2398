//! The block executor: stateless checks, then stateful checks and apply, module by module.
//!
//! Execution is a pure function of (state read through a [`Snapshot`], block): it returns
//! the writes to commit and one receipt per transaction. It never touches disk, so the node,
//! the simulator and the tests all run the same code.

pub mod bank;
pub mod keys;
pub mod memory;
pub mod overlay;
pub mod testkit;

use accord_types::{Action, Address, Event, Reject, SignedTx, TxHash};
pub use bank::{Account, Holding, Lot, Supply};
pub use keys::StateKey;
pub use overlay::{Overlay, Snapshot};
use std::collections::BTreeMap;
use thiserror::Error;

/// A failure that is the program's fault, not the transaction's: the node must stop
/// before it commits anything.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExecError {
    #[error("state key {0} was read but not declared in the read set")]
    UndeclaredRead(String),
    #[error("stored value under {key} does not decode: {reason}")]
    CorruptValue { key: String, reason: String },
    #[error("invariant broken for asset {symbol}: supply changed by {supply_delta}, balances by {balance_delta}")]
    SupplyInvariant { symbol: String, supply_delta: i128, balance_delta: i128 },
}

/// What failed inside a transaction: a rule (rejected, nothing applied) or the program.
#[derive(Debug)]
pub enum Failure {
    Reject(Reject),
    Fatal(ExecError),
}

impl From<Reject> for Failure {
    fn from(r: Reject) -> Self {
        Failure::Reject(r)
    }
}

impl From<ExecError> for Failure {
    fn from(e: ExecError) -> Self {
        Failure::Fatal(e)
    }
}

/// Block context every module sees.
#[derive(Clone, Copy, Debug)]
pub struct BlockInfo {
    pub height: u64,
    pub timestamp_ms: u64,
}

/// The shape every economic module has.
///
/// `check_stateless` must not read state; `read_keys` must name every key `apply` may read
/// (the executor fetches exactly those before the block runs); `apply` either succeeds or
/// returns a reject, and in the latter case the executor discards everything the
/// transaction wrote.
pub trait Module: Send + Sync {
    /// The module number used in action tags.
    fn id(&self) -> u8;
    /// A short lowercase name.
    fn name(&self) -> &'static str;
    /// Checks that need no state.
    fn check_stateless(&self, action: &Action) -> Result<(), Reject>;
    /// Every state key `apply` may read for this action.
    fn read_keys(&self, signer: &Address, action: &Action, out: &mut Vec<StateKey>);
    /// Stateful checks, then the change.
    fn apply(&self, ctx: &mut Overlay<'_>, signer: &Address, action: &Action) -> Result<(), Failure>;
    /// Keys `apply` may read that depend on stored values (e.g. the accounts of an
    /// agreement's share holders). Called again after each round of reads until no module
    /// names a new key; `get` answers for keys fetched already (`None` = absent or not
    /// fetched yet). The answer must depend only on what `get` returns: once every `get`
    /// of a call found its key fetched, the call is not repeated.
    fn dependent_keys(
        &self,
        _signer: &Address,
        _action: &Action,
        _info: BlockInfo,
        _get: &dyn Fn(&StateKey) -> Option<Vec<u8>>,
        _out: &mut Vec<StateKey>,
    ) {
    }
    /// Keys `end_block` may read (e.g. what is due at this block's time), found the same
    /// way as [`Module::dependent_keys`]: called with what was fetched so far, round
    /// after round. Values are as before the block; the hook must only read keys these
    /// rounds named.
    fn block_keys(&self, _info: BlockInfo, _get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, _out: &mut Vec<StateKey>) {}
    /// Actions this action makes another account sign (a multisig proposal), with that
    /// account. The executor checks them and declares their reads too.
    fn nested<'a>(&self, _action: &'a Action) -> Option<(Address, &'a [Action])> {
        None
    }
    /// Called before the first transaction of every block.
    fn begin_block(&self, _ctx: &mut Overlay<'_>) -> Result<(), ExecError> {
        Ok(())
    }
    /// Called after the last transaction of every block. Its events are the block's own
    /// (no transaction caused them); use [`Overlay::step`] for work that must apply whole.
    fn end_block(&self, _ctx: &mut Overlay<'_>) -> Result<(), ExecError> {
        Ok(())
    }
}

/// The outcome of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub hash: TxHash,
    pub signer: Address,
    pub nonce: u64,
    pub result: Result<Vec<Event>, Reject>,
}

/// What a block changed.
#[derive(Debug, Default)]
pub struct BlockOutcome {
    /// Every written key with its new value (`None` = deleted), in key order.
    pub writes: BTreeMap<StateKey, Option<Vec<u8>>>,
    pub receipts: Vec<Receipt>,
    /// What the block's end-of-block hooks did (settlements), in order.
    pub events: Vec<Event>,
}

/// Which transactions' dependent reads are complete, across the rounds of one block.
#[derive(Default)]
pub struct ReadPlan {
    done: Vec<bool>,
    hooks_done: bool,
}

/// Most rounds of dependent reads a block may need (each round's keys follow from values
/// the round before fetched). More is a module bug: the block fails.
pub const READ_ROUNDS_MAX: usize = 8;

/// Runs blocks through the registered modules.
pub struct Executor {
    chain_id: String,
    modules: Vec<Box<dyn Module>>,
}

impl Executor {
    pub fn new(chain_id: impl Into<String>, modules: Vec<Box<dyn Module>>) -> Self {
        Self { chain_id: chain_id.into(), modules }
    }

    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    fn module(&self, action: &Action) -> Option<&dyn Module> {
        self.modules.iter().find(|m| m.id() == action.module()).map(|m| m.as_ref())
    }

    /// Checks that need no state and no signature: chain id, bounds, every action's shape.
    pub fn check_stateless(&self, tx: &SignedTx) -> Result<(), Reject> {
        if tx.tx.chain_id != self.chain_id {
            return Err(Reject::WrongChainId);
        }
        if tx.tx.actions.is_empty() {
            return Err(Reject::NoActions);
        }
        for action in &tx.tx.actions {
            let module = self.module(action).ok_or(Reject::Malformed)?;
            module.check_stateless(action)?;
            if let Some((_, nested)) = module.nested(action) {
                for inner in nested {
                    let inner_module = self.module(inner).ok_or(Reject::Malformed)?;
                    if inner_module.nested(inner).is_some() {
                        return Err(Reject::InvalidProposal);
                    }
                    inner_module.check_stateless(inner)?;
                }
            }
        }
        Ok(())
    }

    /// Every key the block may read that follows from the block alone. The caller fetches
    /// them into a [`Snapshot`], then asks [`Executor::dependent_keys`] for more.
    pub fn read_keys(&self, info: BlockInfo, txs: &[SignedTx]) -> Vec<StateKey> {
        let mut keys = Vec::with_capacity(txs.len() * 4);
        for tx in txs {
            keys.push(keys::account(&tx.tx.signer));
            for action in &tx.tx.actions {
                if let Some(module) = self.module(action) {
                    module.read_keys(&tx.tx.signer, action, &mut keys);
                    if let Some((signer, nested)) = module.nested(action) {
                        keys.push(keys::account(&signer));
                        for inner in nested {
                            if let Some(m) = self.module(inner) {
                                m.read_keys(&signer, inner, &mut keys);
                            }
                        }
                    }
                }
            }
        }
        for module in &self.modules {
            module.block_keys(info, &|_| None, &mut keys);
        }
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Keys the block may read that depend on values in `snapshot` (the reads so far).
    /// Returns only keys not in `snapshot` yet; the caller fetches them into it and calls
    /// again until this is empty (at most [`READ_ROUNDS_MAX`] rounds), with the same `plan`.
    pub fn dependent_keys(
        &self,
        info: BlockInfo,
        txs: &[SignedTx],
        snapshot: &Snapshot,
        plan: &mut ReadPlan,
    ) -> Vec<StateKey> {
        // A call whose every read found its key fetched has named all it ever will (values
        // do not change between rounds), so it is not asked again.
        let missed = std::cell::Cell::new(false);
        let get = |k: &StateKey| match snapshot.get(k) {
            Some(v) => v.clone(),
            None => {
                missed.set(true);
                None
            }
        };
        plan.done.resize(txs.len(), false);
        let mut keys = Vec::new();
        for (tx, done) in txs.iter().zip(plan.done.iter_mut()) {
            if *done {
                continue;
            }
            missed.set(false);
            for action in &tx.tx.actions {
                let Some(module) = self.module(action) else { continue };
                module.dependent_keys(&tx.tx.signer, action, info, &get, &mut keys);
                if let Some((signer, nested)) = module.nested(action) {
                    for inner in nested {
                        if let Some(m) = self.module(inner) {
                            m.dependent_keys(&signer, inner, info, &get, &mut keys);
                        }
                    }
                }
            }
            *done = !missed.get();
        }
        if !plan.hooks_done {
            missed.set(false);
            for module in &self.modules {
                module.block_keys(info, &get, &mut keys);
            }
            plan.hooks_done = !missed.get();
        }
        keys.retain(|k| !snapshot.contains_key(k));
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Execute `txs` (whose signatures were already checked: `signature_ok[i]`) on `snapshot`.
    pub fn execute(
        &self,
        snapshot: &Snapshot,
        info: BlockInfo,
        txs: &[SignedTx],
        signature_ok: &[bool],
    ) -> Result<BlockOutcome, ExecError> {
        let mut ctx = Overlay::new(snapshot, info);
        for module in &self.modules {
            module.begin_block(&mut ctx)?;
        }
        let mut receipts = Vec::with_capacity(txs.len());
        for (tx, sig_ok) in txs.iter().zip(signature_ok.iter().copied()) {
            let result = self.execute_tx(&mut ctx, tx, sig_ok)?;
            receipts.push(Receipt {
                hash: tx.hash,
                signer: tx.tx.signer,
                nonce: tx.tx.nonce,
                result,
            });
        }
        let mut end_hash = b"accord/end_block".to_vec();
        end_hash.extend_from_slice(&info.height.to_be_bytes());
        ctx.begin_tx(accord_types::sha256(&end_hash));
        for module in &self.modules {
            module.end_block(&mut ctx)?;
        }
        let events = ctx.commit_tx();
        ctx.check_supply_invariant()?;
        Ok(BlockOutcome { writes: ctx.into_writes(), receipts, events })
    }

    fn execute_tx(
        &self,
        ctx: &mut Overlay<'_>,
        tx: &SignedTx,
        signature_ok: bool,
    ) -> Result<Result<Vec<Event>, Reject>, ExecError> {
        if !signature_ok {
            return Ok(Err(Reject::BadSignature));
        }
        if let Err(reject) = self.check_stateless(tx) {
            return Ok(Err(reject));
        }
        ctx.begin_tx(tx.hash.0);
        match self.apply_tx(ctx, tx) {
            Ok(()) => Ok(Ok(ctx.commit_tx())),
            Err(Failure::Reject(reject)) => {
                ctx.abort_tx();
                Ok(Err(reject))
            }
            // Every node fetched the same keys, so every node fails this read alike: refusing
            // the transaction keeps the chain going where stopping would halt it for good.
            Err(Failure::Fatal(ExecError::UndeclaredRead(key))) => {
                tracing::warn!(tx = %tx.hash, %key, "transaction read an undeclared key; rejected");
                ctx.abort_tx();
                Ok(Err(Reject::StateNotDeclared))
            }
            Err(Failure::Fatal(e)) => Err(e),
        }
    }

    fn apply_tx(&self, ctx: &mut Overlay<'_>, tx: &SignedTx) -> Result<(), Failure> {
        let signer = tx.tx.signer;
        let mut account = ctx.account(&signer)?;
        if tx.tx.nonce < account.nonce {
            return Err(Reject::NonceTooLow.into());
        }
        if tx.tx.nonce > account.nonce {
            return Err(Reject::NonceTooHigh.into());
        }
        account.nonce += 1;
        ctx.put_account(&signer, &account);
        for action in &tx.tx.actions {
            let module = self.module(action).ok_or(Reject::Malformed)?;
            module.apply(ctx, &signer, action)?;
            // Actions a module asked to run as another account (an approved proposal).
            for (as_signer, actions) in ctx.take_calls() {
                for inner in &actions {
                    let m = self.module(inner).ok_or(Reject::Malformed)?;
                    m.apply(ctx, &as_signer, inner)?;
                    if !ctx.take_calls().is_empty() {
                        return Err(Reject::InvalidProposal.into());
                    }
                }
            }
        }
        Ok(())
    }
}
