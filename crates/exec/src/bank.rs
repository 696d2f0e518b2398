//! Balances and supplies: the only code that moves units, so the supply invariant holds.
//!
//! Units of an asset with a lifetime are held in **lots**: each has the time it expires.
//! An account's lots of an asset add up to its balance of it. Spending takes the oldest
//! lots first; [`Overlay::expire_due`] removes what is due. Such units only move through
//! the lot-aware calls here ([`Overlay::mint_lot`], [`Overlay::grant_lot`],
//! [`Overlay::redeem`], [`Overlay::burn`]): the generic ones refuse them, so no other path
//! can strip units of their expiry.

use crate::keys;
use crate::overlay::Overlay;
use crate::{ExecError, Failure};
use accord_types::codec::{Reader, Writer};
use accord_types::limits::{ACCOUNT_ASSETS_MAX, SYMBOL_BYTES_MAX};
use accord_types::{Address, Amount, Reject};
use serde::Serialize;
use std::collections::BTreeMap;

/// Units that expire together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lot {
    pub expires_at_ms: u64,
    #[serde(with = "accord_types::tx::amount_text")]
    pub amount: Amount,
}

/// An account's lots of one asset with a lifetime, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Holding {
    /// The expiry slot (a second of block time) the holding waits in, kept by the module
    /// that expires lots; none when it waits in none.
    pub registered: Option<u64>,
    pub lots: Vec<Lot>,
}

impl Holding {
    /// Add units expiring at `expires_at_ms`: into the newest lot if it expires then, else
    /// as a new lot; past [`LOTS_MAX`] lots, into the newest lot (which expires no later,
    /// so the holder never gains time).
    fn add(&mut self, amount: Amount, expires_at_ms: u64) -> Result<(), Reject> {
        let full = self.lots.len() >= LOTS_MAX;
        match self.lots.last_mut() {
            Some(last) if last.expires_at_ms == expires_at_ms || full => {
                last.amount = last.amount.checked_add(amount).ok_or(Reject::AmountOverflow)?;
            }
            _ => self.lots.push(Lot { expires_at_ms, amount }),
        }
        Ok(())
    }

    /// Take `amount` from the oldest lots first. `false` if the lots hold less.
    fn take(&mut self, mut amount: Amount) -> bool {
        while amount > 0 {
            let Some(first) = self.lots.first_mut() else { return false };
            let taken = first.amount.min(amount);
            first.amount -= taken;
            amount -= taken;
            if first.amount == 0 {
                self.lots.remove(0);
            }
        }
        true
    }

    pub fn total(&self) -> Amount {
        self.lots.iter().fold(0u128, |sum, l| sum.saturating_add(l.amount))
    }
}

/// Most lots one account holds of one asset.
pub const LOTS_MAX: usize = 64;

/// One account: its next nonce, every non-zero balance by symbol, and the lots of the
/// balances that expire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    pub nonce: u64,
    #[serde(serialize_with = "balances_text")]
    pub balances: BTreeMap<String, Amount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub lots: BTreeMap<String, Holding>,
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
        // Accounts without lots keep the encoding they always had.
        if !self.lots.is_empty() {
            w.u16(self.lots.len() as u16);
            for (symbol, holding) in &self.lots {
                w.bytes8(symbol.as_bytes());
                w.opt_u64(holding.registered);
                w.u8(holding.lots.len() as u8);
                for lot in &holding.lots {
                    w.u64(lot.expires_at_ms);
                    w.u128(lot.amount);
                }
            }
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
        let mut lots = BTreeMap::new();
        if r.remaining() > 0 {
            let holdings = r.u16("holding count")? as usize;
            if holdings > ACCOUNT_ASSETS_MAX {
                return Err(accord_types::DecodeError::TooLong { what: "holdings", len: holdings, max: ACCOUNT_ASSETS_MAX });
            }
            for _ in 0..holdings {
                let symbol = r.string8(SYMBOL_BYTES_MAX, "symbol")?;
                let registered = r.opt_u64("registered slot")?;
                let count = r.u8("lot count")? as usize;
                if count > LOTS_MAX {
                    return Err(accord_types::DecodeError::TooLong { what: "lots", len: count, max: LOTS_MAX });
                }
                let mut holding = Holding { registered, lots: Vec::with_capacity(count) };
                for _ in 0..count {
                    holding.lots.push(Lot { expires_at_ms: r.u64("lot expiry")?, amount: r.u128("lot amount")? });
                }
                lots.insert(symbol, holding);
            }
        }
        r.finish()?;
        Ok(Self { nonce, balances, lots })
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
    /// Units whose lifetime ended: out of circulation, like burned ones.
    #[serde(with = "accord_types::tx::amount_text")]
    pub expired: Amount,
}

impl Supply {
    /// Units in existence: issued minus burned minus expired (in accounts plus in escrow).
    pub fn circulating(&self) -> Amount {
        self.issued.saturating_sub(self.burned).saturating_sub(self.expired)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u128(self.issued);
        w.u128(self.burned);
        w.u128(self.escrowed);
        w.u64(self.holders);
        // Assets that never expired keep the encoding they always had.
        if self.expired > 0 {
            w.u128(self.expired);
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, accord_types::DecodeError> {
        let mut r = Reader::new(bytes);
        let mut supply = Self {
            issued: r.u128("issued")?,
            burned: r.u128("burned")?,
            escrowed: r.u128("escrowed")?,
            holders: r.u64("holders")?,
            expired: 0,
        };
        if r.remaining() > 0 {
            supply.expired = r.u128("expired")?;
        }
        r.finish()?;
        Ok(supply)
    }
}

/// Whether a debit may take units held in lots.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lots {
    Take,
    Refuse,
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
        self.credit_with(to, symbol, amount, Lots::Refuse)
    }

    /// Add `amount` to `to`'s balance; into an account holding lots of `symbol` only if the
    /// caller adds the lot (`Lots::Take`), so lots keep adding up to the balance.
    fn credit_with(&mut self, to: &Address, symbol: &str, amount: Amount, lots: Lots) -> Result<(), Failure> {
        let mut account = self.account(to)?;
        // Units with and without lots never mix in one balance: lots always add up to it.
        let has_lots = account.lots.contains_key(symbol);
        if (lots == Lots::Refuse && has_lots) || (lots == Lots::Take && !has_lots && account.balance(symbol) > 0) {
            return Err(Reject::ExpiringUnits.into());
        }
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

    /// Take `amount` from `from`'s balance. Units in lots are taken oldest first, and only
    /// if `lots` allows (the generic paths refuse them).
    fn debit_with(&mut self, from: &Address, symbol: &str, amount: Amount, lots: Lots) -> Result<(), Failure> {
        let mut account = self.account(from)?;
        let before = account.balance(symbol);
        let after = before.checked_sub(amount).ok_or(Reject::InsufficientBalance)?;
        if let Some(holding) = account.lots.get_mut(symbol) {
            if lots == Lots::Refuse {
                return Err(Reject::ExpiringUnits.into());
            }
            if !holding.take(amount) {
                return Err(ExecError::CorruptValue {
                    key: keys::account(from).to_string(),
                    reason: format!("the lots of {symbol} hold less than the balance"),
                }
                .into());
            }
            if holding.lots.is_empty() {
                account.lots.remove(symbol);
            }
        }
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

    /// Take `amount` from `from`'s balance; refused for units in lots.
    fn debit(&mut self, from: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        self.debit_with(from, symbol, amount, Lots::Refuse)
    }

    /// Add `amount` expiring at `expires_at_ms` to `to`'s lots of `symbol` (after crediting
    /// the balance). Returns the account's holding as it is now.
    fn add_lot(&mut self, to: &Address, symbol: &str, amount: Amount, expires_at_ms: u64) -> Result<Holding, Failure> {
        let mut account = self.account(to)?;
        let holding = account.lots.entry(symbol.to_string()).or_default();
        holding.add(amount, expires_at_ms)?;
        let holding = holding.clone();
        self.put_account(to, &account);
        Ok(holding)
    }

    /// Create `amount` new units of `symbol` for `to` in a lot expiring at `expires_at_ms`.
    /// Returns `to`'s holding of `symbol` as it is now.
    pub fn mint_lot(&mut self, to: &Address, symbol: &str, amount: Amount, expires_at_ms: u64) -> Result<Holding, Failure> {
        self.issue(to, symbol, amount, Lots::Take)?;
        self.add_lot(to, symbol, amount, expires_at_ms)
    }

    /// Move `amount` units `from` holds without a lifetime (the issuer's) to `to`, in a lot
    /// expiring at `expires_at_ms`. Returns `to`'s holding of `symbol` as it is now.
    pub fn grant_lot(
        &mut self,
        from: &Address,
        to: &Address,
        symbol: &str,
        amount: Amount,
        expires_at_ms: u64,
    ) -> Result<Holding, Failure> {
        self.debit(from, symbol, amount)?;
        self.credit_with(to, symbol, amount, Lots::Take)?;
        self.add_lot(to, symbol, amount, expires_at_ms)
    }

    /// Move `amount` units of `symbol` from `from` (oldest lots first) to `to`, where they
    /// no longer expire: points redeemed to their issuer.
    pub fn redeem(&mut self, from: &Address, to: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        self.debit_with(from, symbol, amount, Lots::Take)?;
        self.credit(to, symbol, amount)
    }

    /// Remove `account`'s lots of `symbol` that expire at or before `now_ms` from its
    /// balance and from circulation. Returns how much expired.
    pub fn expire_due(&mut self, account: &Address, symbol: &str, now_ms: u64) -> Result<Amount, Failure> {
        let record = self.account(account)?;
        let Some(holding) = record.lots.get(symbol) else { return Ok(0) };
        let due = holding.lots.iter().take_while(|l| l.expires_at_ms <= now_ms).fold(0u128, |s, l| s.saturating_add(l.amount));
        if due == 0 {
            return Ok(0);
        }
        self.debit_with(account, symbol, due, Lots::Take)?;
        let mut supply = self.supply(symbol)?;
        supply.expired = supply.expired.checked_add(due).ok_or(Reject::AmountOverflow)?;
        self.put_supply(symbol, &supply);
        self.note_supply_delta(symbol, 0, due);
        Ok(due)
    }

    /// Set the expiry slot `account`'s holding of `symbol` waits in (no-op without lots).
    pub fn set_registered(&mut self, account: &Address, symbol: &str, slot: Option<u64>) -> Result<(), ExecError> {
        let mut record = self.account(account)?;
        if let Some(holding) = record.lots.get_mut(symbol) {
            if holding.registered != slot {
                holding.registered = slot;
                self.put_account(account, &record);
            }
        }
        Ok(())
    }

    /// Create `amount` new units of `symbol` in `to`'s balance.
    pub fn mint(&mut self, to: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        self.issue(to, symbol, amount, Lots::Refuse)
    }

    fn issue(&mut self, to: &Address, symbol: &str, amount: Amount, lots: Lots) -> Result<(), Failure> {
        let mut supply = self.supply(symbol)?;
        supply.issued = supply.issued.checked_add(amount).ok_or(Reject::AmountOverflow)?;
        self.put_supply(symbol, &supply);
        self.note_supply_delta(symbol, amount, 0);
        self.credit_with(to, symbol, amount, lots)
    }

    /// Destroy `amount` units of `symbol` from `from`'s balance (oldest lots first).
    pub fn burn(&mut self, from: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
        self.debit_with(from, symbol, amount, Lots::Take)?;
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
