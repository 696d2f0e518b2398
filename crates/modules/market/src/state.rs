//! Every state key and record of the market module (prefixes 0x40..=0x4f).
//!
//! Auctions wait for their end in one-second slots: `0x42 || second` lists the auctions
//! ending in that second, and `0x41` lists the seconds that have any, in order. A block at
//! time `t` settles the slots of every second before `t / 1000` (a bounded number per
//! block), so an auction is settled by the first block at least one second past its end
//! and no one has to send a transaction.

use accord_exec::{ExecError, Overlay, StateKey};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::{AUCTION_SLOTS_PER_BLOCK_MAX, SYMBOL_BYTES_MAX};
use accord_types::tx::amount_text;
use accord_types::{Address, Amount, Item};
use serde::Serialize;

/// Listings.
pub const LISTING: u8 = 0x40;
/// The seconds in which open auctions end.
pub const DUE_INDEX: u8 = 0x41;
/// The auctions ending in one second.
pub const DUE_SLOT: u8 = 0x42;
/// What the market owes an account in one asset (held in escrow until collected).
pub const CLAIM: u8 = 0x43;

/// Most listings one block settles; the rest of a due slot waits for the next block.
pub const SETTLEMENTS_PER_BLOCK_MAX: usize = 1024;

/// `0x43 || address || symbol`.
pub fn claim_key(owner: &Address, symbol: &str) -> StateKey {
    let mut k = vec![CLAIM];
    k.extend_from_slice(&owner.0);
    k.extend_from_slice(symbol.as_bytes());
    StateKey(k)
}

pub fn decode_amount(bytes: &[u8]) -> Result<Amount, DecodeError> {
    let mut r = Reader::new(bytes);
    let amount = r.u128("amount")?;
    r.finish()?;
    Ok(amount)
}

pub fn encode_amount(amount: Amount) -> Vec<u8> {
    let mut w = Writer::new();
    w.u128(amount);
    w.finish()
}

/// The listings a block at `now_ms` settles, in order, with the slot each is in: the due
/// slots' listings, oldest second first, at most [`SETTLEMENTS_PER_BLOCK_MAX`]. `slot`
/// answers a second's listings (`None`: not fetched yet, which ends the walk).
pub fn due_listings(index: &[u64], now_ms: u64, slot: impl Fn(u64) -> Option<Vec<Address>>) -> Vec<(u64, Address)> {
    let mut out = Vec::new();
    for second in due_slots(index, now_ms) {
        let Some(listings) = slot(*second) else { break };
        for address in listings {
            if out.len() == SETTLEMENTS_PER_BLOCK_MAX {
                return out;
            }
            out.push((*second, address));
        }
    }
    out
}

/// `0x40 || address`.
pub fn listing_key(address: &Address) -> StateKey {
    let mut k = vec![LISTING];
    k.extend_from_slice(&address.0);
    StateKey(k)
}

/// `0x41`.
pub fn due_index_key() -> StateKey {
    StateKey(vec![DUE_INDEX])
}

/// `0x42 || second (u64 big-endian)`.
pub fn slot_key(second: u64) -> StateKey {
    let mut k = vec![DUE_SLOT];
    k.extend_from_slice(&second.to_be_bytes());
    StateKey(k)
}

/// The slot an auction ending at `ends_at_ms` waits in.
pub fn slot_of(ends_at_ms: u64) -> u64 {
    ends_at_ms / 1000
}

/// The slots of `index` due in a block at `now_ms`: seconds wholly in the past, oldest
/// first, at most [`AUCTION_SLOTS_PER_BLOCK_MAX`].
pub fn due_slots(index: &[u64], now_ms: u64) -> &[u64] {
    let due = index.iter().take_while(|s| **s < now_ms / 1000).count();
    &index[..due.min(AUCTION_SLOTS_PER_BLOCK_MAX)]
}

/// How a listing sells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Terms {
    Sale {
        #[serde(with = "amount_text")]
        price: Amount,
    },
    Auction {
        #[serde(with = "amount_text")]
        reserve: Amount,
        #[serde(with = "amount_text")]
        min_increment: Amount,
        ends_at_ms: u64,
        extension_ms: u64,
    },
}

/// The highest bid of an auction, held in escrow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bid {
    pub bidder: Address,
    #[serde(with = "amount_text")]
    pub amount: Amount,
}

/// Where a listing stands. The item (and the highest bid) are held while it is `open` or
/// `unsettled`, and nowhere else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Open,
    /// A sale was bought.
    Sold { buyer: Address, at_ms: u64 },
    /// An auction ended with a winner (the highest bid) and was settled.
    Settled { at_ms: u64 },
    /// An auction ended without a bid; the item went back to the seller.
    Unsold { at_ms: u64 },
    /// The seller withdrew it.
    Cancelled { at_ms: u64 },
    /// An auction ended but could not be settled (`code` says why); it can be retried.
    Unsettled { code: u16 },
}

/// A sale or an auction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub seller: Address,
    pub item: Item,
    pub price_symbol: String,
    pub created_at_ms: u64,
    pub terms: Terms,
    pub top_bid: Option<Bid>,
    pub status: Status,
}

impl Listing {
    /// Whether the item and the highest bid are still held.
    pub fn holds_escrow(&self) -> bool {
        matches!(self.status, Status::Open | Status::Unsettled { .. })
    }

    pub fn ends_at_ms(&self) -> Option<u64> {
        match self.terms {
            Terms::Auction { ends_at_ms, .. } => Some(ends_at_ms),
            Terms::Sale { .. } => None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&self.seller.0);
        self.item.encode(&mut w);
        w.bytes8(self.price_symbol.as_bytes());
        w.u64(self.created_at_ms);
        match &self.terms {
            Terms::Sale { price } => {
                w.u8(1);
                w.u128(*price);
            }
            Terms::Auction { reserve, min_increment, ends_at_ms, extension_ms } => {
                w.u8(2);
                w.u128(*reserve);
                w.u128(*min_increment);
                w.u64(*ends_at_ms);
                w.u64(*extension_ms);
            }
        }
        match &self.top_bid {
            None => w.u8(0),
            Some(b) => {
                w.u8(1);
                w.raw(&b.bidder.0);
                w.u128(b.amount);
            }
        }
        match &self.status {
            Status::Open => w.u8(0),
            Status::Sold { buyer, at_ms } => {
                w.u8(1);
                w.raw(&buyer.0);
                w.u64(*at_ms);
            }
            Status::Settled { at_ms } => {
                w.u8(2);
                w.u64(*at_ms);
            }
            Status::Unsold { at_ms } => {
                w.u8(3);
                w.u64(*at_ms);
            }
            Status::Cancelled { at_ms } => {
                w.u8(4);
                w.u64(*at_ms);
            }
            Status::Unsettled { code } => {
                w.u8(5);
                w.u16(*code);
            }
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let seller = Address(r.array("seller")?);
        let item = Item::decode(&mut r)?;
        let price_symbol = r.string8(SYMBOL_BYTES_MAX, "price symbol")?;
        let created_at_ms = r.u64("created")?;
        let terms = match r.u8("terms")? {
            1 => Terms::Sale { price: r.u128("price")? },
            2 => Terms::Auction {
                reserve: r.u128("reserve")?,
                min_increment: r.u128("min increment")?,
                ends_at_ms: r.u64("end")?,
                extension_ms: r.u64("extension")?,
            },
            _ => return Err(DecodeError::Invalid("terms")),
        };
        let top_bid = match r.u8("bid flag")? {
            0 => None,
            1 => Some(Bid { bidder: Address(r.array("bidder")?), amount: r.u128("bid")? }),
            _ => return Err(DecodeError::Invalid("bid flag")),
        };
        let status = match r.u8("status")? {
            0 => Status::Open,
            1 => Status::Sold { buyer: Address(r.array("buyer")?), at_ms: r.u64("at")? },
            2 => Status::Settled { at_ms: r.u64("at")? },
            3 => Status::Unsold { at_ms: r.u64("at")? },
            4 => Status::Cancelled { at_ms: r.u64("at")? },
            5 => Status::Unsettled { code: r.u16("code")? },
            _ => return Err(DecodeError::Invalid("status")),
        };
        r.finish()?;
        Ok(Self { seller, item, price_symbol, created_at_ms, terms, top_bid, status })
    }
}

/// A list of seconds (the due index).
pub fn encode_seconds(list: &[u64]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(list.len() as u32);
    list.iter().for_each(|s| w.u64(*s));
    w.finish()
}

pub fn decode_seconds(bytes: &[u8]) -> Result<Vec<u64>, DecodeError> {
    let mut r = Reader::new(bytes);
    let count = r.u32("count")? as usize;
    let mut list = Vec::with_capacity(count.min(r.remaining() / 8));
    for _ in 0..count {
        list.push(r.u64("second")?);
    }
    r.finish()?;
    Ok(list)
}

/// A list of listing addresses (one slot).
pub fn encode_slot(list: &[Address]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(list.len() as u32);
    list.iter().for_each(|a| w.raw(&a.0));
    w.finish()
}

pub fn decode_slot(bytes: &[u8]) -> Result<Vec<Address>, DecodeError> {
    let mut r = Reader::new(bytes);
    let count = r.u32("count")? as usize;
    let mut list = Vec::with_capacity(count.min(r.remaining() / 32));
    for _ in 0..count {
        list.push(Address(r.array("listing")?));
    }
    r.finish()?;
    Ok(list)
}

pub fn listing(ctx: &Overlay<'_>, address: &Address) -> Result<Option<Listing>, ExecError> {
    ctx.get_record(&listing_key(address), Listing::decode)
}

pub fn put_listing(ctx: &mut Overlay<'_>, address: &Address, listing: &Listing) {
    ctx.put(listing_key(address), listing.encode());
}

/// Put `listing` in the slot of `ends_at_ms`.
pub fn enqueue(ctx: &mut Overlay<'_>, listing: &Address, ends_at_ms: u64) -> Result<(), ExecError> {
    let second = slot_of(ends_at_ms);
    let mut slot = ctx.get_record(&slot_key(second), decode_slot)?.unwrap_or_default();
    if slot.is_empty() {
        let mut index = ctx.get_record(&due_index_key(), decode_seconds)?.unwrap_or_default();
        if let Err(at) = index.binary_search(&second) {
            index.insert(at, second);
        }
        ctx.put(due_index_key(), encode_seconds(&index));
    }
    slot.push(*listing);
    ctx.put(slot_key(second), encode_slot(&slot));
    Ok(())
}

/// Take `listing` out of the slot of `ends_at_ms` (and the slot out of the index once empty).
pub fn dequeue(ctx: &mut Overlay<'_>, listing: &Address, ends_at_ms: u64) -> Result<(), ExecError> {
    let second = slot_of(ends_at_ms);
    let mut slot = ctx.get_record(&slot_key(second), decode_slot)?.unwrap_or_default();
    slot.retain(|a| a != listing);
    if slot.is_empty() {
        ctx.delete(slot_key(second));
        let mut index = ctx.get_record(&due_index_key(), decode_seconds)?.unwrap_or_default();
        index.retain(|s| *s != second);
        if index.is_empty() {
            ctx.delete(due_index_key());
        } else {
            ctx.put(due_index_key(), encode_seconds(&index));
        }
    } else {
        ctx.put(slot_key(second), encode_slot(&slot));
    }
    Ok(())
}
