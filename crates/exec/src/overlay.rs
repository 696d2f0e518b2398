//! Layered view of state during a block: prefetched snapshot <- block writes <- tx writes.
//!
//! A transaction's writes, events and supply deltas live in their own layer until it
//! succeeds (`commit_tx`) or fails (`abort_tx`), so all of its actions apply or none does.

use crate::keys::StateKey;
use crate::{BlockInfo, ExecError};
use accord_types::{Action, Address, Amount, Event};
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
}

/// The state a module sees while it applies an action.
pub struct Overlay<'a> {
    base: &'a Snapshot,
    info: BlockInfo,
    block: Layer,
    tx: Layer,
    tx_hash: [u8; 32],
    derived: u32,
    calls: Vec<(Address, Vec<Action>)>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a Snapshot, info: BlockInfo) -> Self {
        Self {
            base,
            info,
            block: Layer::default(),
            tx: Layer::default(),
            tx_hash: [0; 32],
            derived: 0,
            calls: Vec::new(),
        }
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

    /// Read `key` as the current transaction sees it.
    pub fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, ExecError> {
        if let Some(v) = self.tx.writes.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.block.writes.get(key) {
            return Ok(v.clone());
        }
        match self.base.get(key) {
            Some(v) => Ok(v.clone()),
            None => Err(ExecError::UndeclaredRead(key.to_string())),
        }
    }

    pub fn put(&mut self, key: StateKey, value: Vec<u8>) {
        self.tx.writes.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: StateKey) {
        self.tx.writes.insert(key, None);
    }

    pub fn emit(&mut self, event: Event) {
        self.tx.events.push(event);
    }

    pub(crate) fn note_supply_delta(&mut self, symbol: &str, plus: Amount, minus: Amount) {
        self.tx.supply.entry(symbol.to_string()).or_default().add(plus, minus);
    }

    pub(crate) fn note_balance_delta(&mut self, symbol: &str, plus: Amount, minus: Amount) {
        self.tx.balances.entry(symbol.to_string()).or_default().add(plus, minus);
    }

    pub(crate) fn begin_tx(&mut self, hash: [u8; 32]) {
        debug_assert!(self.tx.writes.is_empty() && self.tx.events.is_empty());
        self.tx_hash = hash;
        self.derived = 0;
        self.calls.clear();
    }

    /// Keep the transaction's writes; return its events.
    pub(crate) fn commit_tx(&mut self) -> Vec<Event> {
        let tx = std::mem::take(&mut self.tx);
        self.block.writes.extend(tx.writes);
        for (symbol, d) in tx.supply {
            self.block.supply.entry(symbol).or_default().add(d.plus, d.minus);
        }
        for (symbol, d) in tx.balances {
            self.block.balances.entry(symbol).or_default().add(d.plus, d.minus);
        }
        tx.events
    }

    /// Drop everything the transaction did.
    pub(crate) fn abort_tx(&mut self) {
        self.tx = Layer::default();
    }

    /// For every asset the block touched: the change in supply equals the change in balances.
    pub(crate) fn check_supply_invariant(&self) -> Result<(), ExecError> {
        let symbols = self.block.supply.keys().chain(self.block.balances.keys());
        for symbol in symbols {
            let supply = self.block.supply.get(symbol).copied().unwrap_or_default();
            let balances = self.block.balances.get(symbol).copied().unwrap_or_default();
            if supply.net() != balances.net() {
                return Err(ExecError::SupplyInvariant {
                    symbol: symbol.clone(),
                    supply_delta: supply.net() as i128,
                    balance_delta: balances.net() as i128,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn into_writes(self) -> BTreeMap<StateKey, Option<Vec<u8>>> {
        debug_assert!(self.tx.writes.is_empty());
        self.block.writes.into_iter().collect()
    }
}
