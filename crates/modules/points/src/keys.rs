//! Every state key of the points module (prefixes 0x10..=0x1f).

use accord_exec::keys::with_symbol;
use accord_exec::StateKey;
use accord_types::Address;

/// Asset definitions and mint counters.
pub const ASSET: u8 = 0x10;
/// Used external references.
pub const EXTERNAL_REF: u8 = 0x11;
/// The issuance history, one record per mint.
pub const MINT_RECORD: u8 = 0x12;

/// `0x10 || len || symbol`.
pub fn asset(symbol: &str) -> StateKey {
    with_symbol(ASSET, symbol)
}

/// `0x11 || len || symbol || reference`.
pub fn external_ref(symbol: &str, reference: &str) -> StateKey {
    let mut key = with_symbol(EXTERNAL_REF, symbol);
    key.0.extend_from_slice(reference.as_bytes());
    key
}

/// `0x12 || len || symbol || index (u64 big-endian)`.
pub fn mint_record(symbol: &str, index: u64) -> StateKey {
    let mut key = with_symbol(MINT_RECORD, symbol);
    key.0.extend_from_slice(&index.to_be_bytes());
    key
}

/// Exchange routes, one per ordered pair of assets.
pub const ROUTE: u8 = 0x13;
/// Clearing between two issuers in one settlement asset.
pub const CLEARING: u8 = 0x14;
/// The clearings whose open period has obligations, by when it closes (one key).
pub const CLEARING_OPEN: u8 = 0x15;

/// `0x13 || len || from || len || to`.
pub fn route(from: &str, to: &str) -> StateKey {
    let mut key = with_symbol(ROUTE, from);
    key.0.push(to.len() as u8);
    key.0.extend_from_slice(to.as_bytes());
    key
}

/// `0x14 || lower address || higher address || len || symbol`: the same key whichever
/// of the two issuers asks.
pub fn clearing(a: &Address, b: &Address, symbol: &str) -> StateKey {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut key = vec![CLEARING];
    key.extend_from_slice(&lo.0);
    key.extend_from_slice(&hi.0);
    key.push(symbol.len() as u8);
    key.extend_from_slice(symbol.as_bytes());
    StateKey(key)
}

/// `0x15`.
pub fn clearing_open() -> StateKey {
    StateKey(vec![CLEARING_OPEN])
}

/// The days that have expiry slots waiting (one key).
pub const EXPIRY_DAYS: u8 = 0x16;
/// The minutes of one day that have an expiry slot waiting.
pub const EXPIRY_DAY: u8 = 0x17;
/// The holdings whose earliest lot expires in one minute.
pub const EXPIRY_SLOT: u8 = 0x18;

/// `0x16`.
pub fn expiry_days() -> StateKey {
    StateKey(vec![EXPIRY_DAYS])
}

/// `0x17 || day (u64 big-endian)`.
pub fn expiry_day(day: u64) -> StateKey {
    let mut key = vec![EXPIRY_DAY];
    key.extend_from_slice(&day.to_be_bytes());
    StateKey(key)
}

/// `0x18 || minute (u64 big-endian)`.
pub fn expiry_slot(minute: u64) -> StateKey {
    let mut key = vec![EXPIRY_SLOT];
    key.extend_from_slice(&minute.to_be_bytes());
    StateKey(key)
}
