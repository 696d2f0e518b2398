//! The market: fixed-price sales and English auctions of asset amounts and income shares.
//!
//! Rules (SPEC §1, seed 000: "rules no single party can change, executed automatically"):
//! listing takes the item out of the seller's hands (an asset amount into escrow, a share
//! locked in its agreement, still earning for the seller) until the listing closes. Buying
//! pays the seller and delivers the item in one transaction. An auction takes bids from a
//! reserve up, each beating the highest by a minimum increment; the highest is held in
//! escrow and the bid it beats is refunded in the same transaction; a bid close to the end
//! can push the end back (anti-sniping). At the end the block itself pays the seller and
//! delivers the item to the winner, or returns the item when no one bid.

pub mod state;

use accord_exec::{BlockInfo, ExecError, Failure, Module, Overlay, StateKey};
use accord_types::limits::{
    AUCTION_DURATION_MAX_MS, AUCTION_EXTENSION_MAX_MS, SHARES_PPM_TOTAL, SYMBOL_BYTES_MAX, SYMBOL_BYTES_MIN,
};
use accord_types::tx::MODULE_MARKET;
use accord_types::{Action, Address, Event, Item, MarketAction, Reject};
pub use state::{Bid, Listing, Status, Terms};

/// The market module.
pub struct Market;

fn market(action: &Action) -> Option<&MarketAction> {
    match action {
        Action::Market(a) => Some(a),
        _ => None,
    }
}

fn check_symbol(symbol: &str) -> Result<(), Reject> {
    if symbol.len() < SYMBOL_BYTES_MIN || symbol.len() > SYMBOL_BYTES_MAX {
        return Err(Reject::InvalidSymbol);
    }
    Ok(())
}

fn check_item(item: &Item) -> Result<(), Reject> {
    match item {
        Item::Asset { symbol, amount } => {
            check_symbol(symbol)?;
            if *amount == 0 {
                return Err(Reject::InvalidListing);
            }
        }
        Item::Share { share_ppm, period_ms, .. } => {
            if *share_ppm == 0 || *share_ppm > SHARES_PPM_TOTAL || *period_ms == Some(0) {
                return Err(Reject::InvalidListing);
            }
        }
    }
    Ok(())
}

/// Keys that touching `item` reads.
fn item_keys(item: &Item, out: &mut Vec<StateKey>) {
    match item {
        Item::Asset { symbol, .. } => {
            out.push(accord_points::keys::asset(symbol));
            out.push(accord_exec::keys::supply(symbol));
        }
        Item::Share { agreement, .. } => out.push(accord_agreements::state::agreement_key(agreement)),
    }
}

/// Keys that closing `listing` (paying, delivering, returning, or recording what could not
/// be credited) reads.
fn closing_keys(listing: &Listing, out: &mut Vec<StateKey>) {
    let mut parties = vec![listing.seller];
    parties.extend(listing.top_bid.as_ref().map(|b| b.bidder));
    let mut symbols = vec![listing.price_symbol.as_str()];
    if let Item::Asset { symbol, .. } = &listing.item {
        symbols.push(symbol);
    }
    for who in &parties {
        out.push(accord_exec::keys::account(who));
        for symbol in &symbols {
            out.push(state::claim_key(who, symbol));
        }
    }
    out.push(accord_exec::keys::supply(&listing.price_symbol));
    item_keys(&listing.item, out);
}

fn decoded(get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, address: &Address) -> Option<Listing> {
    get(&state::listing_key(address)).and_then(|b| Listing::decode(&b).ok())
}

impl Module for Market {
    fn id(&self) -> u8 {
        MODULE_MARKET
    }

    fn name(&self) -> &'static str {
        "market"
    }

    fn check_stateless(&self, action: &Action) -> Result<(), Reject> {
        match market(action).ok_or(Reject::Malformed)? {
            MarketAction::SaleCreate { item, price_symbol, price } => {
                check_item(item)?;
                check_symbol(price_symbol)?;
                if *price == 0 {
                    return Err(Reject::InvalidListing);
                }
                Ok(())
            }
            MarketAction::AuctionCreate { item, price_symbol, reserve, min_increment, extension_ms, .. } => {
                check_item(item)?;
                check_symbol(price_symbol)?;
                if *reserve == 0 || *min_increment == 0 {
                    return Err(Reject::InvalidListing);
                }
                if *extension_ms > AUCTION_EXTENSION_MAX_MS {
                    return Err(Reject::InvalidAuctionEnd);
                }
                Ok(())
            }
            MarketAction::AuctionBid { amount, .. } if *amount == 0 => Err(Reject::ZeroAmount),
            _ => Ok(()),
        }
    }

    fn read_keys(&self, signer: &Address, action: &Action, out: &mut Vec<StateKey>) {
        match market(action) {
            Some(MarketAction::SaleCreate { item, price_symbol, .. }) => {
                item_keys(item, out);
                out.push(accord_points::keys::asset(price_symbol));
                out.push(accord_exec::keys::supply(price_symbol));
            }
            Some(MarketAction::AuctionCreate { item, price_symbol, ends_at_ms, .. }) => {
                item_keys(item, out);
                out.push(accord_points::keys::asset(price_symbol));
                out.push(accord_exec::keys::supply(price_symbol));
                out.push(state::due_index_key());
                out.push(state::slot_key(state::slot_of(*ends_at_ms)));
            }
            Some(MarketAction::SaleBuy { listing } | MarketAction::AuctionSettle { listing }) => {
                out.push(state::listing_key(listing));
            }
            Some(MarketAction::AuctionBid { listing, .. } | MarketAction::ListingCancel { listing }) => {
                out.push(state::listing_key(listing));
                out.push(state::due_index_key());
            }
            Some(MarketAction::ClaimWithdraw { symbol }) => {
                out.push(state::claim_key(signer, symbol));
                out.push(accord_exec::keys::supply(symbol));
            }
            None => {}
        }
    }

    fn dependent_keys(
        &self,
        _signer: &Address,
        action: &Action,
        info: BlockInfo,
        get: &dyn Fn(&StateKey) -> Option<Vec<u8>>,
        out: &mut Vec<StateKey>,
    ) {
        let Some(action) = market(action) else { return };
        // A bid in the same block may extend a new auction into the slot of now + extension.
        if let MarketAction::AuctionCreate { extension_ms, .. } = action {
            out.push(state::slot_key(state::slot_of(info.timestamp_ms.saturating_add(*extension_ms))));
            return;
        }
        let address = match action {
            MarketAction::SaleBuy { listing }
            | MarketAction::AuctionSettle { listing }
            | MarketAction::AuctionBid { listing, .. }
            | MarketAction::ListingCancel { listing } => listing,
            _ => return,
        };
        let Some(listing) = decoded(get, address) else { return };
        closing_keys(&listing, out);
        if let Terms::Auction { ends_at_ms, extension_ms, .. } = listing.terms {
            out.push(state::slot_key(state::slot_of(ends_at_ms)));
            out.push(state::slot_key(state::slot_of(info.timestamp_ms.saturating_add(extension_ms))));
        }
    }

    fn block_keys(&self, info: BlockInfo, get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, out: &mut Vec<StateKey>) {
        out.push(state::due_index_key());
        let Some(index) = get(&state::due_index_key()).and_then(|b| state::decode_seconds(&b).ok()) else { return };
        out.extend(state::due_slots(&index, info.timestamp_ms).iter().map(|s| state::slot_key(*s)));
        let slot = |second| get(&state::slot_key(second)).and_then(|b| state::decode_slot(&b).ok());
        for (_, address) in state::due_listings(&index, info.timestamp_ms, slot) {
            out.push(state::listing_key(&address));
            if let Some(listing) = decoded(get, &address) {
                closing_keys(&listing, out);
            }
        }
    }

    fn apply(&self, ctx: &mut Overlay<'_>, signer: &Address, action: &Action) -> Result<(), Failure> {
        match market(action).ok_or(Reject::Malformed)? {
            MarketAction::SaleCreate { item, price_symbol, price } => {
                list(ctx, signer, item, price_symbol, Terms::Sale { price: *price })
            }
            MarketAction::AuctionCreate { item, price_symbol, reserve, min_increment, ends_at_ms, extension_ms } => {
                let now = ctx.info().timestamp_ms;
                if *ends_at_ms <= now || *ends_at_ms - now > AUCTION_DURATION_MAX_MS {
                    return Err(Reject::InvalidAuctionEnd.into());
                }
                let terms = Terms::Auction {
                    reserve: *reserve,
                    min_increment: *min_increment,
                    ends_at_ms: *ends_at_ms,
                    extension_ms: *extension_ms,
                };
                list(ctx, signer, item, price_symbol, terms)
            }
            MarketAction::SaleBuy { listing } => buy(ctx, signer, listing),
            MarketAction::AuctionBid { listing, amount } => bid(ctx, signer, listing, *amount),
            MarketAction::ListingCancel { listing } => cancel(ctx, signer, listing),
            MarketAction::AuctionSettle { listing } => {
                let record = state::listing(ctx, listing)?.ok_or(Reject::UnknownListing)?;
                if !matches!(record.status, Status::Unsettled { .. }) {
                    return Err(Reject::NothingToSettle.into());
                }
                close_auction(ctx, listing, record)
            }
            MarketAction::ClaimWithdraw { symbol } => {
                let key = state::claim_key(signer, symbol);
                let amount = ctx.get_record(&key, state::decode_amount)?.ok_or(Reject::NothingOwed)?;
                ctx.delete(key);
                ctx.release(signer, symbol, amount)?;
                ctx.emit(Event::ClaimPaid { owner: *signer, symbol: symbol.clone(), amount });
                Ok(())
            }
        }
    }

    fn end_block(&self, ctx: &mut Overlay<'_>) -> Result<(), ExecError> {
        let now = ctx.info().timestamp_ms;
        let Some(index) = ctx.get_record(&state::due_index_key(), state::decode_seconds)? else { return Ok(()) };
        let seconds = state::due_slots(&index, now).to_vec();
        if seconds.is_empty() {
            return Ok(());
        }
        let mut slots = std::collections::BTreeMap::new();
        for second in &seconds {
            slots.insert(*second, ctx.get_record(&state::slot_key(*second), state::decode_slot)?.unwrap_or_default());
        }
        let due = state::due_listings(&index, now, |s| slots.get(&s).cloned());
        for (_, address) in &due {
            let Some(listing) = state::listing(ctx, address)? else { continue };
            if listing.status != Status::Open {
                continue;
            }
            // Settle whole or not at all. Payments cannot fail (what cannot be credited is
            // owed) and a share's buyer has a reserved slot, so this is a safety net: the
            // listing stays held and anyone can retry with `auction_settle`.
            if let Err(reject) = ctx.step(|ctx| close_auction(ctx, address, listing.clone()))? {
                let mut listing = listing;
                listing.status = Status::Unsettled { code: reject.code() };
                state::put_listing(ctx, address, &listing);
                ctx.emit(Event::SettlementFailed { listing: *address, code: reject.code() });
            }
        }
        // Drop what was settled from the slots; a slot cut short keeps the rest for the next block.
        let mut emptied = 0;
        for second in &seconds {
            let slot = slots.remove(second).unwrap_or_default();
            let taken = due.iter().filter(|(s, _)| s == second).count();
            if taken < slot.len() {
                if taken > 0 {
                    ctx.put(state::slot_key(*second), state::encode_slot(&slot[taken..]));
                }
                break;
            }
            ctx.delete(state::slot_key(*second));
            emptied += 1;
        }
        let rest = &index[emptied..];
        if rest.is_empty() {
            ctx.delete(state::due_index_key());
        } else {
            ctx.put(state::due_index_key(), state::encode_seconds(rest));
        }
        Ok(())
    }
}

/// A transferable asset, or a reject saying why not.
fn transferable(ctx: &Overlay<'_>, symbol: &str) -> Result<(), Failure> {
    let asset = accord_points::state::asset(ctx, symbol)?.ok_or(Reject::UnknownAsset)?;
    if !asset.transferable {
        return Err(Reject::NotTransferable.into());
    }
    Ok(())
}

fn list(ctx: &mut Overlay<'_>, seller: &Address, item: &Item, price_symbol: &str, terms: Terms) -> Result<(), Failure> {
    transferable(ctx, price_symbol)?;
    match item {
        Item::Asset { symbol, amount } => {
            transferable(ctx, symbol)?;
            ctx.escrow(seller, symbol, *amount)?;
        }
        Item::Share { agreement, share_ppm, .. } => {
            accord_agreements::lock_share(ctx, agreement, seller, *share_ppm)?;
        }
    }
    let address = ctx.derive_address(b"accord/listing");
    let kind = match terms {
        Terms::Sale { .. } => "sale",
        Terms::Auction { ends_at_ms, .. } => {
            state::enqueue(ctx, &address, ends_at_ms)?;
            "auction"
        }
    };
    let listing = Listing {
        seller: *seller,
        item: item.clone(),
        price_symbol: price_symbol.to_string(),
        created_at_ms: ctx.info().timestamp_ms,
        terms,
        top_bid: None,
        status: Status::Open,
    };
    state::put_listing(ctx, &address, &listing);
    ctx.emit(Event::ListingCreated { listing: address, seller: *seller, kind: kind.into() });
    Ok(())
}

/// Pay `amount` of `symbol` out of escrow to `to`, and never fail for the recipient: what
/// cannot be credited (an account at its asset limit) stays in escrow, owed to `to`.
fn pay_out(ctx: &mut Overlay<'_>, listing: &Address, to: &Address, symbol: &str, amount: u128) -> Result<(), Failure> {
    if ctx.step(|ctx| ctx.release(to, symbol, amount))?.is_ok() {
        return Ok(());
    }
    let key = state::claim_key(to, symbol);
    let owed = ctx.get_record(&key, state::decode_amount)?.unwrap_or(0);
    ctx.put(key, state::encode_amount(owed.checked_add(amount).ok_or(Reject::AmountOverflow)?));
    ctx.emit(Event::Owed { listing: *listing, owner: *to, symbol: symbol.to_string(), amount });
    Ok(())
}

/// Hand the item to `to` (a buyer or winner).
fn deliver(ctx: &mut Overlay<'_>, listing: &Listing, to: &Address) -> Result<(), Failure> {
    match &listing.item {
        Item::Asset { symbol, amount } => ctx.release(to, symbol, *amount),
        Item::Share { agreement, share_ppm, period_ms } => {
            let until = period_ms.map(|p| ctx.info().timestamp_ms.saturating_add(p));
            accord_agreements::deliver_locked_share(ctx, agreement, &listing.seller, to, *share_ppm, until)
        }
    }
}

/// Give the item back to the seller.
fn give_back(ctx: &mut Overlay<'_>, listing: &Listing) -> Result<(), Failure> {
    match &listing.item {
        Item::Asset { symbol, amount } => ctx.release(&listing.seller, symbol, *amount),
        Item::Share { agreement, share_ppm, .. } => {
            accord_agreements::unlock_share(ctx, agreement, &listing.seller, *share_ppm)
        }
    }
}

fn open_listing(ctx: &Overlay<'_>, address: &Address) -> Result<Listing, Failure> {
    let listing = state::listing(ctx, address)?.ok_or(Reject::UnknownListing)?;
    if listing.status != Status::Open {
        return Err(Reject::ListingClosed.into());
    }
    Ok(listing)
}

/// A share of an agreement that expired or is no longer active is not for sale.
fn item_alive(ctx: &Overlay<'_>, item: &Item) -> Result<(), Failure> {
    match item {
        Item::Share { agreement, .. } => accord_agreements::check_live(ctx, agreement),
        Item::Asset { .. } => Ok(()),
    }
}

fn buy(ctx: &mut Overlay<'_>, buyer: &Address, address: &Address) -> Result<(), Failure> {
    let mut listing = open_listing(ctx, address)?;
    item_alive(ctx, &listing.item)?;
    let Terms::Sale { price } = listing.terms else { return Err(Reject::WrongListingKind.into()) };
    if *buyer == listing.seller {
        return Err(Reject::OwnListing.into());
    }
    ctx.transfer(buyer, &listing.seller, &listing.price_symbol, price)?;
    deliver(ctx, &listing, buyer)?;
    listing.status = Status::Sold { buyer: *buyer, at_ms: ctx.info().timestamp_ms };
    state::put_listing(ctx, address, &listing);
    ctx.emit(Event::Sold {
        listing: *address,
        buyer: *buyer,
        seller: listing.seller,
        symbol: listing.price_symbol,
        price,
    });
    Ok(())
}

fn bid(ctx: &mut Overlay<'_>, bidder: &Address, address: &Address, amount: u128) -> Result<(), Failure> {
    let mut listing = open_listing(ctx, address)?;
    let Terms::Auction { reserve, min_increment, ends_at_ms, extension_ms } = listing.terms else {
        return Err(Reject::WrongListingKind.into());
    };
    if *bidder == listing.seller {
        return Err(Reject::OwnListing.into());
    }
    let now = ctx.info().timestamp_ms;
    if now >= ends_at_ms {
        return Err(Reject::AuctionEnded.into());
    }
    item_alive(ctx, &listing.item)?;
    let floor = match &listing.top_bid {
        None => reserve,
        Some(top) => top.amount.checked_add(min_increment).ok_or(Reject::BidTooLow)?,
    };
    if amount < floor {
        return Err(Reject::BidTooLow.into());
    }
    // Refund first, so a bidder raising its own bid needs only the difference.
    let symbol = listing.price_symbol.clone();
    if let Some(top) = listing.top_bid.take() {
        pay_out(ctx, address, &top.bidder, &symbol, top.amount)?;
        ctx.emit(Event::BidRefunded { listing: *address, bidder: top.bidder, symbol: symbol.clone(), amount: top.amount });
    }
    ctx.escrow(bidder, &symbol, amount)?;
    listing.top_bid = Some(Bid { bidder: *bidder, amount });
    let mut ends = ends_at_ms;
    if extension_ms > 0 && ends_at_ms - now < extension_ms {
        ends = now + extension_ms;
        state::dequeue(ctx, address, ends_at_ms)?;
        state::enqueue(ctx, address, ends)?;
        listing.terms = Terms::Auction { reserve, min_increment, ends_at_ms: ends, extension_ms };
    }
    state::put_listing(ctx, address, &listing);
    ctx.emit(Event::BidPlaced { listing: *address, bidder: *bidder, amount, ends_at_ms: ends });
    Ok(())
}

fn cancel(ctx: &mut Overlay<'_>, signer: &Address, address: &Address) -> Result<(), Failure> {
    let mut listing = open_listing(ctx, address)?;
    if *signer != listing.seller {
        return Err(Reject::NotSeller.into());
    }
    if let Terms::Auction { ends_at_ms, .. } = listing.terms {
        if ctx.info().timestamp_ms >= ends_at_ms {
            return Err(Reject::AuctionEnded.into());
        }
        if listing.top_bid.is_some() {
            return Err(Reject::HasBids.into());
        }
        state::dequeue(ctx, address, ends_at_ms)?;
    }
    give_back(ctx, &listing)?;
    listing.status = Status::Cancelled { at_ms: ctx.info().timestamp_ms };
    state::put_listing(ctx, address, &listing);
    ctx.emit(Event::ListingCancelled { listing: *address });
    Ok(())
}

/// Settle an ended auction: pay the seller and deliver to the highest bidder, or give the
/// item back when no one bid. A share of an agreement that expired meanwhile is not
/// delivered: the bid is refunded and the share unlocked.
fn close_auction(ctx: &mut Overlay<'_>, address: &Address, mut listing: Listing) -> Result<(), Failure> {
    let now = ctx.info().timestamp_ms;
    let alive = ctx.step(|ctx| item_alive(ctx, &listing.item))?.is_ok();
    match listing.top_bid.clone() {
        Some(top) if alive => {
            pay_out(ctx, address, &listing.seller, &listing.price_symbol, top.amount)?;
            match &listing.item {
                Item::Asset { symbol, amount } => pay_out(ctx, address, &top.bidder, symbol, *amount)?,
                Item::Share { .. } => deliver(ctx, &listing, &top.bidder)?,
            }
            listing.status = Status::Settled { at_ms: now };
            ctx.emit(Event::AuctionSettled {
                listing: *address,
                winner: top.bidder,
                seller: listing.seller,
                symbol: listing.price_symbol.clone(),
                price: top.amount,
            });
        }
        unsold => {
            if let Some(top) = unsold {
                pay_out(ctx, address, &top.bidder, &listing.price_symbol, top.amount)?;
                ctx.emit(Event::BidRefunded {
                    listing: *address,
                    bidder: top.bidder,
                    symbol: listing.price_symbol.clone(),
                    amount: top.amount,
                });
            }
            match &listing.item {
                Item::Asset { symbol, amount } => pay_out(ctx, address, &listing.seller, symbol, *amount)?,
                Item::Share { .. } => give_back(ctx, &listing)?,
            }
            listing.status = Status::Unsold { at_ms: now };
            ctx.emit(Event::AuctionUnsold { listing: *address, seller: listing.seller });
        }
    }
    state::put_listing(ctx, address, &listing);
    Ok(())
}
