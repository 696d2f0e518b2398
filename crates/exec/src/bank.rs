//! Balances and supplies: the only code that moves units, so the supply invariant holds.

use crate::keys;
use crate::overlay::Overlay;
use crate::{ExecError, Failure};
use accord_types::codec::{Reader, Writer};
use accord_types::limits::{ACCOUNT_ASSETS_MAX, SYMBOL_BYTES_MAX};
use accord_types::{Address, Amount, Reject};
use serde::Serialize;
use std::collections::BTreeMap;

/// One account: its next nonce and every non-zero balance, by symbol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    pub nonce: u64,
    #[serde(serialize_with = "balances_text")]
    pub balances: BTreeMap<String, Amount>,
}

fn balances_text<S: serde::Serializer>(b: &BTreeMap<String, Amount>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(b.iter().map(|(k, v)| (k, v.to_string())))
}

impl Account {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(self.nonce);
        w.u16(self.balances.len() as u16);
        for (symbol, amount) in &self.balances {
            w.bytes8(symbol.as_bytes());
            w.u128(*amount);
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, accord_types::DecodeError> {
        let mut r = Reader::new(bytes);
        let nonce = r.u64("nonce")?;
        let count = r.u16("balance count")? as usize;
        if count > ACCOUNT_ASSETS_MAX {
            return Err(accord_types::DecodeError::TooLong {
                what: "balances",
                len: count,
                max: ACCOUNT_ASSETS_MAX,
            });
        }
        let mut balances = BTreeMap::new();
        for _ in 0..count {
            let symbol = r.string8(SYMBOL_BYTES_MAX, "symbol")?;
            balances.insert(symbol, r.u128("balance")?);
        }
        r.finish()?;
        Ok(Self { nonce, balances })
    }

    pub fn balance(&self, symbol: &str) -> Amount {
        self.balances.get(symbol).copied().unwrap_or(0)
    }
}

/// The public figures of one asset's supply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Supply {
    #[serde(with = "accord_types::tx::amount_text")]
    pub issued: Amount,
    #[serde(with = "accord_types::tx::amount_text")]
    pub burned: Amount,
    /// Units held in escrow (bids, listed items): part of the supply, in no account.
    #[serde(with = "accord_types::tx::amount_text")]
    pub escrowed: Amount,
    pub holders: u64,
}

impl Supply {
    /// Units in existence: issued minus burned (in accounts plus in escrow).
    pub fn circulating(&self) -> Amount {
        self.issued.saturating_sub(self.burned)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u128(self.issued);
        w.u128(self.burned);
        w.u128(self.escrowed);
        w.u64(self.holders);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, accord_types::DecodeError> {
        let mut r = Reader::new(bytes);
        let supply = Self {
            issued: r.u128("issued")?,
            burned: r.u128("burned")?,
            escrowed: r.u128("escrowed")?,
            holders: r.u64("holders")?,
        };
        r.finish()?;
        Ok(supply)
    }
}

fn corrupt(key: &keys::StateKey, e: accord_types::DecodeError) -> ExecError {
    ExecError::CorruptValue { key: key.to_string(), reason: e.to_string() }
}

impl Overlay<'_> {
    /// Read and decode the record under `key` (`None` when absent). A value that does not
    /// decode is corruption: fatal.
    pub fn get_record<T>(
        &self,
        key: &keys::StateKey,
        decode: impl FnOnce(&[u8]) -> Result<T, accord_types::DecodeError>,
    ) -> Result<Option<T>, ExecError> {
        self.get(key)?.map(|bytes| decode(&bytes).map_err(|e| corrupt(key, e))).transpose()
    }

    pub fn account(&self, address: &Address) -> Result<Account, ExecError> {
        Ok(self.get_record(&keys::account(address), Account::decode)?.unwrap_or_default())
    }

    pub fn put_account(&mut self, address: &Address, account: &Account) {
        self.put(keys::account(address), account.encode());
    }

    pub fn supply(&self, symbol: &str) -> Result<Supply, ExecError> {
        Ok(self.get_record(&keys::supply(symbol), Supply::decode)?.unwrap_or_default())
    }

    fn put_supply(&mut self, symbol: &str, supply: &Supply) {
        self.put(keys::supply(symbol), supply.encode());
    }

    /// Add `amount` to `to`'s balance.
    fn credit(&mut self, to: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        let mut account = self.account(to)?;
        let before = account.balance(symbol);
        let after = before.checked_add(amount).ok_or(Reject::AmountOverflow)?;
        if before == 0 {
            if account.balances.len() >= ACCOUNT_ASSETS_MAX {
                return Err(Reject::TooManyAssetsHeld.into());
            }
            let mut supply = self.supply(symbol)?;
            supply.holders += 1;
            self.put_supply(symbol, &supply);
        }
        account.balances.insert(symbol.to_string(), after);
        self.put_account(to, &account);
        self.note_balance_delta(symbol, amount, 0);
        Ok(())
    }

    /// Take `amount` from `from`'s balance.
    fn debit(&mut self, from: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        let mut account = self.account(from)?;
        let before = account.balance(symbol);
        let after = before.checked_sub(amount).ok_or(Reject::InsufficientBalance)?;
        if after == 0 {
            account.balances.remove(symbol);
            let mut supply = self.supply(symbol)?;
            supply.holders = supply.holders.saturating_sub(1);
            self.put_supply(symbol, &supply);
        } else {
            account.balances.insert(symbol.to_string(), after);
        }
        self.put_account(from, &account);
        self.note_balance_delta(symbol, 0, amount);
        Ok(())
    }

    /// Create `amount` new units of `symbol` in `to`'s balance.
    pub fn mint(&mut self, to: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        let mut supply = self.supply(symbol)?;
        supply.issued = supply.issued.checked_add(amount).ok_or(Reject::AmountOverflow)?;
        self.put_supply(symbol, &supply);
        self.note_supply_delta(symbol, amount, 0);
        self.credit(to, symbol, amount)
    }

    /// Destroy `amount` units of `symbol` from `from`'s balance.
    pub fn burn(&mut self, from: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        self.debit(from, symbol, amount)?;
        let mut supply = self.supply(symbol)?;
        supply.burned = supply.burned.checked_add(amount).ok_or(Reject::AmountOverflow)?;
        self.put_supply(symbol, &supply);
        self.note_supply_delta(symbol, 0, amount);
        Ok(())
    }

    /// Take `amount` units of `symbol` from `from` into escrow. The caller records whose
    /// they are (a listing, a bid) and must [`Overlay::release`] exactly that much later.
    pub fn escrow(&mut self, from: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        self.debit(from, symbol, amount)?;
        let mut supply = self.supply(symbol)?;
        supply.escrowed = supply.escrowed.checked_add(amount).ok_or(Reject::AmountOverflow)?;
        self.put_supply(symbol, &supply);
        self.note_escrow_delta(symbol, amount, 0);
        Ok(())
    }

    /// Pay `amount` units of `symbol` out of escrow to `to`.
    pub fn release(&mut self, to: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        let mut supply = self.supply(symbol)?;
        supply.escrowed = supply.escrowed.checked_sub(amount).ok_or_else(|| ExecError::CorruptValue {
            key: keys::supply(symbol).to_string(),
            reason: format!("release of {amount} exceeds the {} in escrow", supply.escrowed),
        })?;
        self.put_supply(symbol, &supply);
        self.note_escrow_delta(symbol, 0, amount);
        self.credit(to, symbol, amount)
    }

    /// Move units of `symbol` from `from` to each `(to, amount)`: one debit of the total,
    /// then one credit each (zero parts are skipped).
    pub fn transfer_many(&mut self, from: &Address, symbol: &str, parts: &[(Address, Amount)]) -> Result<(), Failure> {
        let mut total: Amount = 0;
        for (_, amount) in parts {
            total = total.checked_add(*amount).ok_or(Reject::AmountOverflow)?;
        }
        self.debit(from, symbol, total)?;
        for (to, amount) in parts.iter().filter(|(_, a)| *a > 0) {
            self.credit(to, symbol, *amount)?;
        }
        Ok(())
    }

    /// Move `amount` units of `symbol` from `from` to `to`.
    pub fn transfer(&mut self, from: &Address, to: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        self.debit(from, symbol, amount)?;
        self.credit(to, symbol, amount)
    }
}
