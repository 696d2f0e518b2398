//! Exchange routes between assets of different issuers, and conversion along them.
//!
//! A route from X to Y runs on terms both issuers accepted: either proposes, the other
//! accepts exactly those terms (a rate change is a new proposal, so it needs both too).
//! Either may suspend it; it runs again once every issuer that suspended it resumed it.
//!
//! Converting `amount` of X along a route at `rate_num / rate_den` with fee `fee_ppm`:
//! - `gross = floor(amount × rate_num / rate_den)` units of Y,
//! - `fee = ceil(gross × fee_ppm / 1,000,000)`, withheld: never minted,
//! - `received = gross − fee`, minted to the holder within Y's supply cap and daily limit,
//! - `amount` of X is burned.
//!
//! Both roundings go against the holder by less than one unit of Y each, so a conversion
//! never creates value. The issuer of X owes the issuer of Y `amount × settle_num /
//! settle_den` units of the settlement asset for it, settled at clearing (see
//! [`crate::clearing`]): the whole units now, the fraction carried in the route to the next
//! conversion, so splitting a conversion owes exactly the same in total.

use crate::clearing;
use crate::keys;
use crate::state::asset;
use accord_exec::{ExecError, Failure, Overlay, StateKey};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::*;
use accord_types::tx::{amount_text, RouteTerms};
use accord_types::{Address, Amount, AssetKind, Event, Reject};
use serde::Serialize;

/// Fees are parts per million of the converted units.
const PPM: u128 = 1_000_000;

/// What an issuer proposed and the other has not accepted yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub by: Address,
    pub terms: RouteTerms,
}

/// A route from one asset to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteRecord {
    pub from: String,
    pub to: String,
    pub from_issuer: Address,
    pub to_issuer: Address,
    /// The terms both issuers accepted; none until the first acceptance.
    pub terms: Option<RouteTerms>,
    /// Terms awaiting the other issuer.
    pub proposal: Option<Proposal>,
    pub suspended_by_from_issuer: bool,
    pub suspended_by_to_issuer: bool,
    /// The day (`timestamp_ms / DAY_MS`) `converted_today` counts for.
    pub day: u64,
    #[serde(with = "amount_text")]
    pub converted_today: Amount,
    /// Units of `from` converted, ever.
    #[serde(with = "amount_text")]
    pub converted_total: Amount,
    /// Units of `to` paid out, ever.
    #[serde(with = "amount_text")]
    pub received_total: Amount,
    /// What conversions owed below one unit of the settlement asset, in `1/settle_den`
    /// units of it: carried to the next conversion, so splitting a conversion owes the
    /// same in total.
    pub settle_remainder: u64,
}

impl RouteRecord {
    /// Accepted, and not suspended by either issuer.
    pub fn active_terms(&self) -> Option<&RouteTerms> {
        if self.suspended_by_from_issuer || self.suspended_by_to_issuer {
            return None;
        }
        self.terms.as_ref()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes8(self.from.as_bytes());
        w.bytes8(self.to.as_bytes());
        w.raw(&self.from_issuer.0);
        w.raw(&self.to_issuer.0);
        match &self.terms {
            Some(t) => {
                w.bool(true);
                t.encode(&mut w);
            }
            None => w.bool(false),
        }
        match &self.proposal {
            Some(p) => {
                w.bool(true);
                w.raw(&p.by.0);
                p.terms.encode(&mut w);
            }
            None => w.bool(false),
        }
        w.bool(self.suspended_by_from_issuer);
        w.bool(self.suspended_by_to_issuer);
        w.u64(self.day);
        w.u128(self.converted_today);
        w.u128(self.converted_total);
        w.u128(self.received_total);
        w.u64(self.settle_remainder);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let from = r.string8(SYMBOL_BYTES_MAX, "from")?;
        let to = r.string8(SYMBOL_BYTES_MAX, "to")?;
        let from_issuer = Address(r.array("from issuer")?);
        let to_issuer = Address(r.array("to issuer")?);
        let terms = if r.bool("has terms")? { Some(RouteTerms::decode(&mut r)?) } else { None };
        let proposal = if r.bool("has proposal")? {
            Some(Proposal { by: Address(r.array("proposer")?), terms: RouteTerms::decode(&mut r)? })
        } else {
            None
        };
        let record = Self {
            from,
            to,
            from_issuer,
            to_issuer,
            terms,
            proposal,
            suspended_by_from_issuer: r.bool("suspended by from issuer")?,
            suspended_by_to_issuer: r.bool("suspended by to issuer")?,
            day: r.u64("day")?,
            converted_today: r.u128("converted today")?,
            converted_total: r.u128("converted total")?,
            received_total: r.u128("received total")?,
            settle_remainder: r.u64("settlement remainder")?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// The route from `from` to `to`, if any.
pub fn route(ctx: &Overlay<'_>, from: &str, to: &str) -> Result<Option<RouteRecord>, ExecError> {
    ctx.get_record(&keys::route(from, to), RouteRecord::decode)
}

fn put_route(ctx: &mut Overlay<'_>, record: &RouteRecord) {
    ctx.put(keys::route(&record.from, &record.to), record.encode());
}

/// The route stored under `from → to` in already fetched values, for dependent reads.
pub fn fetched_route(get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, from: &str, to: &str) -> Option<RouteRecord> {
    get(&keys::route(from, to)).and_then(|b| RouteRecord::decode(&b).ok())
}

/// Issuers clear in a transferable currency: one whose units never expire and move freely.
pub fn settlement_asset_ok(asset: &crate::AssetRecord) -> Result<(), Reject> {
    if asset.kind != AssetKind::Currency || !asset.transferable || asset.lifetime_ms.is_some() {
        return Err(Reject::NotCurrency);
    }
    Ok(())
}

/// Checks of terms that need no state.
pub fn check_terms(from: &str, to: &str, terms: &RouteTerms) -> Result<(), Reject> {
    if from == to {
        return Err(Reject::SameAsset);
    }
    if terms.rate_num == 0 || terms.rate_den == 0 || terms.settle_num == 0 || terms.settle_den == 0 {
        return Err(Reject::InvalidRate);
    }
    if u128::from(terms.fee_ppm) >= PPM {
        return Err(Reject::InvalidFee);
    }
    if terms.daily_limit == Some(0) {
        return Err(Reject::ZeroCap);
    }
    if terms.valid_until_ms.is_some_and(|until| until <= terms.valid_from_ms) {
        return Err(Reject::InvalidValidity);
    }
    if !(CLEARING_PERIOD_MIN_MS..=CLEARING_PERIOD_MAX_MS).contains(&terms.clearing_period_ms) {
        return Err(Reject::InvalidClearingPeriod);
    }
    Ok(())
}

/// Propose terms for the route `from → to` (creating it, or changing it once accepted).
pub fn propose(ctx: &mut Overlay<'_>, signer: &Address, from: &str, to: &str, terms: &RouteTerms) -> Result<(), Failure> {
    let from_asset = asset(ctx, from)?.ok_or(Reject::UnknownAsset)?;
    let to_asset = asset(ctx, to)?.ok_or(Reject::UnknownAsset)?;
    let settlement = asset(ctx, &terms.settlement_symbol)?.ok_or(Reject::UnknownAsset)?;
    settlement_asset_ok(&settlement)?;
    if *signer != from_asset.issuer && *signer != to_asset.issuer {
        return Err(Reject::NotRouteIssuer.into());
    }
    let mut record = route(ctx, from, to)?.unwrap_or(RouteRecord {
        from: from.to_string(),
        to: to.to_string(),
        from_issuer: from_asset.issuer,
        to_issuer: to_asset.issuer,
        terms: None,
        proposal: None,
        suspended_by_from_issuer: false,
        suspended_by_to_issuer: false,
        day: 0,
        converted_today: 0,
        converted_total: 0,
        received_total: 0,
        settle_remainder: 0,
    });
    record.proposal = Some(Proposal { by: *signer, terms: terms.clone() });
    put_route(ctx, &record);
    ctx.emit(Event::RouteProposed { from: from.to_string(), to: to.to_string(), by: *signer, terms: terms.clone() });
    Ok(())
}

/// Accept the proposed terms: the other issuer (or the one issuer of both assets).
pub fn accept(ctx: &mut Overlay<'_>, signer: &Address, from: &str, to: &str, terms: &RouteTerms) -> Result<(), Failure> {
    let mut record = route(ctx, from, to)?.ok_or(Reject::UnknownRoute)?;
    if *signer != record.from_issuer && *signer != record.to_issuer {
        return Err(Reject::NotRouteIssuer.into());
    }
    let proposal = record.proposal.take().ok_or(Reject::NothingToAccept)?;
    if proposal.by == *signer && record.from_issuer != record.to_issuer {
        return Err(Reject::NothingToAccept.into());
    }
    if proposal.terms != *terms {
        return Err(Reject::ProposedTermsDiffer.into());
    }
    let key = keys::clearing(&record.from_issuer, &record.to_issuer, &terms.settlement_symbol);
    if let Some(existing) = ctx.get_record(&key, clearing::ClearingRecord::decode)? {
        if existing.period_ms != terms.clearing_period_ms {
            return Err(Reject::ClearingPeriodMismatch.into());
        }
    }
    // A remainder counted in the old price's units means nothing in the new one.
    if record.terms.as_ref().is_some_and(|t| (t.settle_den, &t.settlement_symbol) != (proposal.terms.settle_den, &proposal.terms.settlement_symbol)) {
        record.settle_remainder = 0;
    }
    record.terms = Some(proposal.terms);
    put_route(ctx, &record);
    ctx.emit(Event::RouteAccepted { from: from.to_string(), to: to.to_string(), by: *signer });
    Ok(())
}

/// Set (`suspend`) or lift the signer's suspension of a route.
pub fn suspend(ctx: &mut Overlay<'_>, signer: &Address, from: &str, to: &str, suspend: bool) -> Result<(), Failure> {
    let mut record = route(ctx, from, to)?.ok_or(Reject::UnknownRoute)?;
    let mut flags = Vec::new();
    if *signer == record.from_issuer {
        flags.push(&mut record.suspended_by_from_issuer);
    }
    if *signer == record.to_issuer {
        flags.push(&mut record.suspended_by_to_issuer);
    }
    if flags.is_empty() {
        return Err(Reject::NotRouteIssuer.into());
    }
    if flags.iter().all(|f| **f == suspend) {
        return Err(if suspend { Reject::AlreadySuspended } else { Reject::NotSuspended }.into());
    }
    for flag in flags {
        *flag = suspend;
    }
    put_route(ctx, &record);
    let (from, to, by) = (from.to_string(), to.to_string(), *signer);
    ctx.emit(if suspend { Event::RouteSuspended { from, to, by } } else { Event::RouteResumed { from, to, by } });
    Ok(())
}

/// What converting `amount` along `terms` pays, with `remainder` carried from earlier
/// conversions: `(received, fee, owed to the issuer of to, remainder to carry)`.
pub fn quote(terms: &RouteTerms, amount: Amount, remainder: u64) -> Result<(Amount, Amount, Amount, u64), Reject> {
    let gross = amount.checked_mul(u128::from(terms.rate_num)).ok_or(Reject::AmountOverflow)? / u128::from(terms.rate_den);
    let fee_parts = gross.checked_mul(u128::from(terms.fee_ppm)).ok_or(Reject::AmountOverflow)?;
    let fee = fee_parts.div_ceil(PPM);
    let den = u128::from(terms.settle_den);
    let owed_parts = amount
        .checked_mul(u128::from(terms.settle_num))
        .and_then(|p| p.checked_add(u128::from(remainder) % den))
        .ok_or(Reject::AmountOverflow)?;
    // The remainder is below `settle_den`, a u64.
    let carried = u64::try_from(owed_parts % den).map_err(|_| Reject::AmountOverflow)?;
    Ok((gross - fee, fee, owed_parts / den, carried))
}

/// Convert `amount` of `from` held by the signer along the route to `to`.
pub fn convert(
    ctx: &mut Overlay<'_>,
    signer: &Address,
    from: &str,
    to: &str,
    amount: Amount,
    min_received: Option<Amount>,
) -> Result<(), Failure> {
    let mut record = route(ctx, from, to)?.ok_or(Reject::UnknownRoute)?;
    let terms = record.active_terms().ok_or(Reject::RouteNotActive)?.clone();
    let now = ctx.info().timestamp_ms;
    if now < terms.valid_from_ms || terms.valid_until_ms.is_some_and(|until| now >= until) {
        return Err(Reject::RouteOutsideValidity.into());
    }
    let day = now / DAY_MS;
    if day != record.day {
        record.day = day;
        record.converted_today = 0;
    }
    let today = record.converted_today.checked_add(amount).ok_or(Reject::AmountOverflow)?;
    if terms.daily_limit.is_some_and(|limit| today > limit) {
        return Err(Reject::OverRouteDailyLimit.into());
    }
    let (received, fee, owed, carried) = quote(&terms, amount, record.settle_remainder)?;
    if received == 0 {
        return Err(Reject::ConversionTooSmall.into());
    }
    if min_received.is_some_and(|min| received < min) {
        return Err(Reject::BelowMinReceived.into());
    }
    ctx.burn(signer, from, amount)?;
    let reason = format!("conversion from {from}");
    crate::mint(ctx, &record.to_issuer, to, signer, received, &reason, None)?;
    record.converted_today = today;
    record.converted_total = record.converted_total.checked_add(amount).ok_or(Reject::AmountOverflow)?;
    record.received_total = record.received_total.checked_add(received).ok_or(Reject::AmountOverflow)?;
    record.settle_remainder = carried;
    put_route(ctx, &record);
    if record.from_issuer != record.to_issuer && owed > 0 {
        clearing::record(ctx, &record.from_issuer, &record.to_issuer, &terms, owed)?;
    }
    ctx.emit(Event::Converted {
        holder: *signer,
        from: from.to_string(),
        to: to.to_string(),
        amount,
        received,
        fee,
        debtor: record.from_issuer,
        creditor: record.to_issuer,
        settlement_symbol: terms.settlement_symbol,
        owed,
    });
    Ok(())
}

/// Keys [`propose`] reads.
pub fn propose_keys(from: &str, to: &str, terms: &RouteTerms, out: &mut Vec<StateKey>) {
    out.extend([keys::asset(from), keys::asset(to), keys::asset(&terms.settlement_symbol), keys::route(from, to)]);
}

/// Keys [`convert`] reads that follow from the action alone.
pub fn convert_keys(signer: &Address, from: &str, to: &str, out: &mut Vec<StateKey>) {
    out.extend([
        keys::route(from, to),
        keys::asset(from),
        keys::asset(to),
        accord_exec::keys::supply(from),
        accord_exec::keys::supply(to),
        accord_exec::keys::account(signer),
        keys::clearing_open(),
    ]);
}
