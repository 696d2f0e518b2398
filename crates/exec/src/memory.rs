//! An in-memory state and a full-scan auditor, for tests, simulations and audits.

use crate::bank::{Account, Supply};
use crate::keys::{self, StateKey};
use crate::{BlockInfo, BlockOutcome, ExecError, Executor, Snapshot};
use accord_types::{Amount, SignedTx};
use std::collections::BTreeMap;

/// All state in a sorted map. Applies blocks exactly as the node does, without a Merkle tree.
#[derive(Default, Clone)]
pub struct MemoryState {
    pub entries: BTreeMap<StateKey, Vec<u8>>,
}

impl MemoryState {
    pub fn snapshot(&self, keys: &[StateKey]) -> Snapshot {
        keys.iter().map(|k| (k.clone(), self.entries.get(k).cloned())).collect()
    }

    pub fn apply(&mut self, outcome: &BlockOutcome) {
        for (k, v) in &outcome.writes {
            match v {
                Some(v) => self.entries.insert(k.clone(), v.clone()),
                None => self.entries.remove(k),
            };
        }
    }

    /// Check signatures, execute and apply one block.
    pub fn execute(&mut self, exec: &Executor, info: BlockInfo, txs: &[SignedTx]) -> Result<BlockOutcome, ExecError> {
        let verdicts: Vec<bool> = txs.iter().map(SignedTx::verify_signature).collect();
        let mut snapshot = self.snapshot(&exec.read_keys(info, txs));
        let mut plan = crate::ReadPlan::default();
        for _ in 0..crate::READ_ROUNDS_MAX {
            let more = exec.dependent_keys(info, txs, &snapshot, &mut plan);
            if more.is_empty() {
                break;
            }
            snapshot.extend(self.snapshot(&more));
        }
        let outcome = exec.execute(&snapshot, info, txs, &verdicts)?;
        self.apply(&outcome);
        Ok(outcome)
    }

    /// Recount every balance and compare with every supply record.
    pub fn audit(&self) -> Result<(), String> {
        audit(self.entries.iter().map(|(k, v)| (k, v.as_slice())))
    }
}

/// The auditor: for every asset, issued - burned - expired == sum of all balances + escrowed,
/// `holders` equals the number of accounts with a non-zero balance, and every account's lots
/// of an asset add up to its balance of it.
pub fn audit<'a>(entries: impl Iterator<Item = (&'a StateKey, &'a [u8])>) -> Result<(), String> {
    let mut balances: BTreeMap<String, (Amount, u64)> = BTreeMap::new();
    let mut supplies: BTreeMap<String, Supply> = BTreeMap::new();
    for (key, value) in entries {
        match key.0.first() {
            Some(&keys::ACCOUNT) => {
                let account = Account::decode(value).map_err(|e| format!("account {key}: {e}"))?;
                for (symbol, holding) in &account.lots {
                    if holding.lots.is_empty() || holding.total() != account.balance(symbol) {
                        return Err(format!("account {key}: lots of {symbol} hold {}, the balance is {}",
                            holding.total(), account.balance(symbol)));
                    }
                }
                for (symbol, amount) in account.balances {
                    let entry = balances.entry(symbol).or_default();
                    entry.0 = entry.0.checked_add(amount).ok_or("balance sum overflows")?;
                    entry.1 += 1;
                }
            }
            Some(&keys::SUPPLY) => {
                let symbol = String::from_utf8_lossy(&key.0[2..]).to_string();
                supplies.insert(symbol, Supply::decode(value).map_err(|e| format!("supply {key}: {e}"))?);
            }
            _ => {}
        }
    }
    for (symbol, supply) in &supplies {
        let (sum, holders) = balances.remove(symbol).unwrap_or_default();
        let existing = supply.issued.checked_sub(supply.burned).and_then(|v| v.checked_sub(supply.expired));
        if existing != sum.checked_add(supply.escrowed) {
            return Err(format!(
                "{symbol}: issued {} - burned {} - expired {} != balances {sum} + escrowed {}",
                supply.issued, supply.burned, supply.expired, supply.escrowed
            ));
        }
        if supply.holders != holders {
            return Err(format!("{symbol}: holders {} != {holders} accounts", supply.holders));
        }
    }
    match balances.keys().next() {
        Some(symbol) => Err(format!("{symbol}: balances without a supply record")),
        None => Ok(()),
    }
}
