//! Layered view of state during a block: prefetched snapshot <- block writes <- tx writes.
//!
//! A transaction's writes, events and supply deltas live in their own layer until it
//! succeeds (`commit_tx`) or fails (`abort_tx`), so all of its actions apply or none does.
//! A module can run a smaller all-or-nothing step inside it the same way ([`Overlay::step`]).

use crate::keys::StateKey;
use crate::{BlockInfo, ExecError, Failure};
use accord_types::{Action, Address, Amount, Event, Reject};
use std::collections::{BTreeMap, HashMap};

/// Every key a block may read, with its value before the block (`None` = absent).
pub type Snapshot = HashMap<StateKey, Option<Vec<u8>>>;

/// Per asset: units added and removed, kept modulo 2^128 so no sum can overflow.
#[derive(Clone, Copy, Default, Debug)]
struct Delta {
    plus: Amount,
    minus: Amount,
}

impl Delta {
    fn add(&mut self, plus: Amount, minus: Amount) {
        self.plus = self.plus.wrapping_add(plus);
        self.minus = self.minus.wrapping_add(minus);
    }
    fn net(&self) -> Amount {
        self.plus.wrapping_sub(self.minus)
    }
}

#[derive(Default)]
struct Layer {
    writes: HashMap<StateKey, Option<Vec<u8>>>,
    events: Vec<Event>,
    supply: HashMap<String, Delta>,
    balances: HashMap<String, Delta>,
    escrow: HashMap<String, Delta>,
}

impl Layer {
    /// Fold `inner` (a step that succeeded) into this layer.
    fn absorb(&mut self, inner: Layer) {
        self.writes.extend(inner.writes);
        self.events.extend(inner.events);
        for (mine, theirs) in [(&mut self.supply, inner.supply), (&mut self.balances, inner.balances), (&mut self.escrow, inner.escrow)] {
            for (symbol, d) in theirs {
                mine.entry(symbol).or_default().add(d.plus, d.minus);
            }
        }
    }
}

/// The state a module sees while it applies an action.
///
/// Layers stack: the block's writes at the bottom, then the current transaction's, then
/// any step inside it ([`Overlay::step`]). Reads look from the top down.
pub struct Overlay<'a> {
    base: &'a Snapshot,
    info: BlockInfo,
    layers: Vec<Layer>,
    tx_hash: [u8; 32],
    derived: u32,
    calls: Vec<(Address, Vec<Action>)>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a Snapshot, info: BlockInfo) -> Self {
        Self { base, info, layers: vec![Layer::default()], tx_hash: [0; 32], derived: 0, calls: Vec::new() }
    }

    /// A fresh address no key controls, unique to this transaction and call:
    /// `sha256(domain || tx hash || counter)`.
    pub fn derive_address(&mut self, domain: &[u8]) -> Address {
        let mut bytes = domain.to_vec();
        bytes.extend_from_slice(&self.tx_hash);
        bytes.extend_from_slice(&self.derived.to_be_bytes());
        self.derived += 1;
        Address(accord_types::sha256(&bytes))
    }

    /// Ask the executor to run `actions` as `signer` right after the current action, in
    /// the same transaction (a multisig's approved proposal).
    pub fn call(&mut self, signer: Address, actions: Vec<Action>) {
        self.calls.push((signer, actions));
    }

    pub(crate) fn take_calls(&mut self) -> Vec<(Address, Vec<Action>)> {
        std::mem::take(&mut self.calls)
    }

    pub fn info(&self) -> BlockInfo {
        self.info
    }

    fn top(&mut self) -> &mut Layer {
        // The block layer is never popped, so there is always a top.
        let last = self.layers.len() - 1;
        &mut self.layers[last]
    }

    /// Read `key` as the current transaction sees it.
    pub fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, ExecError> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.writes.get(key) {
                return Ok(v.clone());
            }
        }
        match self.base.get(key) {
            Some(v) => Ok(v.clone()),
            None => Err(ExecError::UndeclaredRead(key.to_string())),
        }
    }

    pub fn put(&mut self, key: StateKey, value: Vec<u8>) {
        self.top().writes.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: StateKey) {
        self.top().writes.insert(key, None);
    }

    pub fn emit(&mut self, event: Event) {
        self.top().events.push(event);
    }

    pub(crate) fn note_supply_delta(&mut self, symbol: &str, plus: Amount, minus: Amount) {
        self.top().supply.entry(symbol.to_string()).or_default().add(plus, minus);
    }

    pub(crate) fn note_balance_delta(&mut self, symbol: &str, plus: Amount, minus: Amount) {
        self.top().balances.entry(symbol.to_string()).or_default().add(plus, minus);
    }

    pub(crate) fn note_escrow_delta(&mut self, symbol: &str, plus: Amount, minus: Amount) {
        self.top().escrow.entry(symbol.to_string()).or_default().add(plus, minus);
    }

    /// Run `f` all or nothing: if it is rejected, everything it wrote, emitted or asked to
    /// run ([`Overlay::call`]) is dropped and the reject is returned; a fatal error stops
    /// the block.
    pub fn step<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<Result<T, Reject>, ExecError> {
        self.layers.push(Layer::default());
        let calls = self.calls.len();
        let result = f(self);
        let layer = self.layers.pop().unwrap_or_default();
        match result {
            Ok(v) => {
                self.top().absorb(layer);
                Ok(Ok(v))
            }
            Err(Failure::Reject(r)) => {
                self.calls.truncate(calls);
                Ok(Err(r))
            }
            Err(Failure::Fatal(e)) => Err(e),
        }
    }

    pub(crate) fn begin_tx(&mut self, hash: [u8; 32]) {
        debug_assert_eq!(self.layers.len(), 1);
        self.layers.push(Layer::default());
        self.tx_hash = hash;
        self.derived = 0;
        self.calls.clear();
    }

    /// Keep the transaction's writes; return its events.
    pub(crate) fn commit_tx(&mut self) -> Vec<Event> {
        let mut tx = self.layers.pop().unwrap_or_default();
        let events = std::mem::take(&mut tx.events);
        self.top().absorb(tx);
        events
    }

    /// Drop everything the transaction did.
    pub(crate) fn abort_tx(&mut self) {
        self.layers.truncate(1);
    }

    /// For every asset the block touched: the change in supply equals the change in
    /// balances plus the change in escrow.
    pub(crate) fn check_supply_invariant(&self) -> Result<(), ExecError> {
        let block = &self.layers[0];
        let symbols = block.supply.keys().chain(block.balances.keys()).chain(block.escrow.keys());
        for symbol in symbols {
            let supply = block.supply.get(symbol).copied().unwrap_or_default();
            let balances = block.balances.get(symbol).copied().unwrap_or_default();
            let escrow = block.escrow.get(symbol).copied().unwrap_or_default();
            if supply.net() != balances.net().wrapping_add(escrow.net()) {
                return Err(ExecError::SupplyInvariant {
                    symbol: symbol.clone(),
                    supply_delta: supply.net() as i128,
                    balance_delta: balances.net().wrapping_add(escrow.net()) as i128,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn into_writes(mut self) -> BTreeMap<StateKey, Option<Vec<u8>>> {
        debug_assert_eq!(self.layers.len(), 1);
        std::mem::take(&mut self.layers[0].writes).into_iter().collect()
    }
}
