//! Every bound in the protocol, in one place. Changing one is a protocol change.

/// Most actions in one transaction.
pub const ACTIONS_MAX: usize = 16;
/// Longest chain id, in bytes.
pub const CHAIN_ID_BYTES_MAX: usize = 64;
/// Longest memo, in bytes.
pub const MEMO_BYTES_MAX: usize = 512;
/// Shortest and longest asset symbol (ASCII `A-Z`, `0-9`, first a letter).
pub const SYMBOL_BYTES_MIN: usize = 2;
/// Longest asset symbol.
pub const SYMBOL_BYTES_MAX: usize = 12;
/// Longest asset name, in bytes of UTF-8.
pub const ASSET_NAME_BYTES_MAX: usize = 64;
/// Most decimals an asset may declare.
pub const DECIMALS_MAX: u8 = 18;
/// Longest public mint reason, in bytes of UTF-8.
pub const REASON_BYTES_MAX: usize = 200;
/// Longest external reference of a mint, in bytes.
pub const EXTERNAL_REF_BYTES_MAX: usize = 128;
/// Largest encoded signed transaction, in bytes.
pub const TX_BYTES_MAX: usize = 8 * 1024;
/// Most transactions in one block.
pub const BLOCK_TXS_MAX: usize = 20_000;
/// Largest encoded block, in bytes.
pub const BLOCK_BYTES_MAX: usize = 24 * 1024 * 1024;
/// Most distinct assets one account may hold at once.
pub const ACCOUNT_ASSETS_MAX: usize = 256;
/// Length of a "day" for per-day mint limits, in milliseconds of block time.
pub const DAY_MS: u64 = 86_400_000;
/// Most members of one multisig account.
pub const MULTISIG_MEMBERS_MAX: usize = 32;
/// Most share holders (and parties) of one agreement.
pub const AGREEMENT_HOLDERS_MAX: usize = 128;
/// All shares of an agreement add up to this many parts per million.
pub const SHARES_PPM_TOTAL: u32 = 1_000_000;
/// Longest an auction may run, from the block that creates it.
pub const AUCTION_DURATION_MAX_MS: u64 = 366 * DAY_MS;
/// Longest anti-sniping extension of an auction.
pub const AUCTION_EXTENSION_MAX_MS: u64 = DAY_MS;
/// Auctions end in one-second slots; a block settles at most this many slots that are due.
pub const AUCTION_SLOTS_PER_BLOCK_MAX: usize = 64;
/// Longest account id in an issuer's own system, named by a withdrawal.
pub const LEGACY_ACCOUNT_BYTES_MAX: usize = 128;
/// Longest reference of an off-ledger clearing payment.
pub const SETTLEMENT_REF_BYTES_MAX: usize = 128;
/// Shortest clearing period.
pub const CLEARING_PERIOD_MIN_MS: u64 = 1_000;
/// Longest clearing period.
pub const CLEARING_PERIOD_MAX_MS: u64 = 366 * DAY_MS;
/// Most closed, unsettled clearing periods kept apart between two issuers; older ones are
/// folded into one.
pub const CLEARING_POSITIONS_MAX: usize = 366;
/// Most issuer pairs with obligations in an open clearing period at once.
pub const CLEARING_OPEN_PAIRS_MAX: usize = 4_096;
/// Longest lifetime of an asset's units (ten years).
pub const LIFETIME_MAX_MS: u64 = 3_660 * DAY_MS;
/// Shortest lifetime of an asset's units.
pub const LIFETIME_MIN_MS: u64 = 1_000;
/// Most holdings one block expires; the rest expire in the blocks after.
pub const EXPIRIES_PER_BLOCK_MAX: usize = 256;
/// Most holdings waiting in one expiry slot (one minute); more wait in the next free one.
pub const EXPIRY_SLOT_HOLDINGS_MAX: usize = 1_024;
/// Most expiry slots one block looks at.
pub const EXPIRY_SLOTS_PER_BLOCK_MAX: usize = 8;
/// Most validators in one set. p2p buffers and message bounds are sized from it, so every
/// node must agree on it.
pub const VALIDATORS_MAX: usize = 64;
/// Longest p2p address (`host:port`) of a validator, in bytes.
pub const P2P_ADDRESS_BYTES_MAX: usize = 64;
