//! A small chain in memory for module tests: real keys, real signatures, real executor.

use crate::memory::MemoryState;
use crate::{BlockInfo, Executor};
use accord_types::{Action, Address, Event, Reject, SignedTx, Transaction};
use commonware_codec::Encode;
use commonware_cryptography::{ed25519, Signer};
use std::collections::HashMap;

/// Users with keys, their nonces, and the state; one transaction per block.
pub struct TestChain {
    pub exec: Executor,
    pub state: MemoryState,
    pub keys: Vec<ed25519::PrivateKey>,
    nonces: HashMap<Address, u64>,
    pub height: u64,
    pub time_ms: u64,
    /// Events of every block's end-of-block hooks so far.
    pub block_events: Vec<Event>,
}

pub fn address_of(key: &ed25519::PrivateKey) -> Address {
    let mut raw = [0u8; 32];
    raw.copy_from_slice(key.public_key().encode().as_ref());
    Address(raw)
}

impl TestChain {
    pub fn new(exec: Executor, users: u64) -> Self {
        Self {
            exec,
            state: MemoryState::default(),
            keys: (0..users).map(ed25519::PrivateKey::from_seed).collect(),
            nonces: HashMap::new(),
            height: 0,
            time_ms: 1_700_000_000_000,
            block_events: Vec::new(),
        }
    }

    pub fn who(&self, user: usize) -> Address {
        address_of(&self.keys[user])
    }

    /// Sign `actions` as `user` with its next nonce.
    pub fn sign(&self, user: usize, actions: Vec<Action>) -> SignedTx {
        let signer = self.who(user);
        let nonce = self.nonces.get(&signer).copied().unwrap_or(0);
        Transaction { chain_id: self.exec.chain_id().to_string(), signer, nonce, actions, memo: String::new() }
            .sign(&self.keys[user])
    }

    /// Run one transaction in its own block. Panics on a fatal error or a failed audit, and
    /// checks that a rejected transaction changed nothing.
    pub fn run_signed(&mut self, tx: SignedTx) -> Result<Vec<Event>, Reject> {
        self.height += 1;
        let info = BlockInfo { height: self.height, timestamp_ms: self.time_ms };
        let before = self.state.entries.clone();
        let outcome = self.state.execute(&self.exec, info, std::slice::from_ref(&tx)).expect("no fatal error");
        self.state.audit().expect("supply audit holds");
        let result = outcome.receipts[0].result.clone();
        assert_ne!(result, Err(Reject::StateNotDeclared), "a module read a key it did not declare");
        self.block_events.extend(outcome.events);
        match &result {
            Ok(_) => *self.nonces.entry(tx.tx.signer).or_default() += 1,
            Err(_) => assert_eq!(before, self.state.entries, "a rejected transaction changed state"),
        }
        result
    }

    /// An empty block at the current time (end-of-block hooks run); returns its events.
    pub fn empty_block(&mut self) -> Vec<Event> {
        self.height += 1;
        let info = BlockInfo { height: self.height, timestamp_ms: self.time_ms };
        let outcome = self.state.execute(&self.exec, info, &[]).expect("no fatal error");
        self.state.audit().expect("supply audit holds");
        self.block_events.extend(outcome.events.clone());
        outcome.events
    }

    /// Run several signed transactions in one block; returns each one's result.
    pub fn run_block(&mut self, txs: Vec<SignedTx>) -> Vec<Result<Vec<Event>, Reject>> {
        self.height += 1;
        let info = BlockInfo { height: self.height, timestamp_ms: self.time_ms };
        let outcome = self.state.execute(&self.exec, info, &txs).expect("no fatal error");
        self.state.audit().expect("supply audit holds");
        self.block_events.extend(outcome.events);
        let results: Vec<_> = outcome.receipts.into_iter().map(|r| r.result).collect();
        for (tx, result) in txs.iter().zip(&results) {
            assert_ne!(*result, Err(Reject::StateNotDeclared), "a module read a key it did not declare");
            if result.is_ok() {
                *self.nonces.entry(tx.tx.signer).or_default() += 1;
            }
        }
        results
    }

    pub fn run(&mut self, user: usize, actions: Vec<Action>) -> Result<Vec<Event>, Reject> {
        let tx = self.sign(user, actions);
        self.run_signed(tx)
    }

    pub fn balance(&self, who: &Address, symbol: &str) -> u128 {
        self.state
            .entries
            .get(&crate::keys::account(who))
            .map(|b| crate::Account::decode(b).expect("decodes").balance(symbol))
            .unwrap_or(0)
    }
}
