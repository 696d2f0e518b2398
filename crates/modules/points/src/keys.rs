//! Every state key of the points module (prefixes 0x10..=0x1f).

use accord_exec::keys::with_symbol;
use accord_exec::StateKey;

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
