//! Every state key the executor itself owns (accounts and asset supplies), in one place.
//!
//! A key is a prefix byte followed by its fields. Modules own the other prefixes:
//! `0x01..=0x0f` are the executor's, each module gets a range of its own (points: `0x10..`).

use accord_types::Address;

/// A logical state key. The authenticated store indexes `sha256(key)`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey(pub Vec<u8>);

impl StateKey {
    pub fn digest(&self) -> [u8; 32] {
        accord_types::sha256(&self.0)
    }
}

impl std::fmt::Display for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateKey({self})")
    }
}

/// Prefix of account records: nonce and every balance of one account.
pub const ACCOUNT: u8 = 0x01;
/// Prefix of supply records: issued, burned and holders of one asset.
pub const SUPPLY: u8 = 0x02;

/// `0x01 || address`.
pub fn account(address: &Address) -> StateKey {
    let mut k = Vec::with_capacity(33);
    k.push(ACCOUNT);
    k.extend_from_slice(&address.0);
    StateKey(k)
}

/// `0x02 || symbol`.
pub fn supply(symbol: &str) -> StateKey {
    with_symbol(SUPPLY, symbol)
}

/// `prefix || len(symbol) || symbol` — the form every per-asset key starts with.
pub fn with_symbol(prefix: u8, symbol: &str) -> StateKey {
    let mut k = Vec::with_capacity(2 + symbol.len());
    k.push(prefix);
    k.push(symbol.len() as u8);
    k.extend_from_slice(symbol.as_bytes());
    StateKey(k)
}
