//! Clearing between issuers: obligations from conversions, netted per period, settled.
//!
//! Every conversion along a route makes the issuer of `from` owe the issuer of `to` an
//! amount of the route's settlement asset. Between two issuers, per settlement asset, the
//! obligations of one period (block time, `clearing_period_ms` long, counted from time
//! zero) are netted in the block whose time passes the period's end: the net becomes a
//! public **position** (who owes whom how much, since when). Positions stay until the
//! debtor pays the net of all of them on the ledger (`clearing_settle`), or both issuers
//! confirm the same off-ledger payment (`clearing_confirm`). A pair's period is the one
//! of the route that first made an obligation between them; routes accepted later must
//! use it.

use crate::keys;
use accord_exec::{ExecError, Failure, Overlay, StateKey};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::*;
use accord_types::tx::{amount_text, RouteTerms};
use accord_types::{Address, Amount, Event, Reject};
use serde::Serialize;

/// Most clearing periods one block closes; the rest close in the blocks after.
pub const CLOSES_PER_BLOCK_MAX: usize = 256;

/// The net of one closed period: `debtor` owes the other issuer `amount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    pub period: u64,
    pub closed_at_ms: u64,
    pub debtor: Address,
    #[serde(with = "amount_text")]
    pub amount: Amount,
}

/// One issuer's word that the net was paid off the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    pub by: Address,
    #[serde(with = "amount_text")]
    pub amount: Amount,
    pub reference: String,
}

/// Clearing between issuers `a < b` in `symbol`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClearingRecord {
    pub a: Address,
    pub b: Address,
    pub symbol: String,
    pub period_ms: u64,
    /// The period obligations are being recorded in (`timestamp_ms / period_ms`).
    pub open_period: u64,
    /// What `a` owes `b`, and `b` owes `a`, in the open period (gross, not netted yet).
    #[serde(with = "amount_text")]
    pub a_owes: Amount,
    #[serde(with = "amount_text")]
    pub b_owes: Amount,
    /// Closed periods whose net is not settled, oldest first.
    pub positions: Vec<Position>,
    pub confirmation: Option<Confirmation>,
    /// Everything settled between the two, ever.
    #[serde(with = "amount_text")]
    pub settled_total: Amount,
}

impl ClearingRecord {
    /// The net of every position: `(debtor, creditor, amount)`, none when it is zero.
    pub fn net(&self) -> Option<(Address, Address, Amount)> {
        let owed_by = |who: Address| -> Amount {
            self.positions.iter().filter(|p| p.debtor == who).fold(0u128, |sum, p| sum.saturating_add(p.amount))
        };
        let (a, b) = (owed_by(self.a), owed_by(self.b));
        match a.cmp(&b) {
            std::cmp::Ordering::Greater => Some((self.a, self.b, a - b)),
            std::cmp::Ordering::Less => Some((self.b, self.a, b - a)),
            std::cmp::Ordering::Equal => None,
        }
    }

    fn close_at_ms(&self) -> u64 {
        self.open_period.saturating_add(1).saturating_mul(self.period_ms)
    }

    fn has_open_obligations(&self) -> bool {
        self.a_owes != 0 || self.b_owes != 0
    }

    fn other(&self, who: &Address) -> Address {
        if *who == self.a {
            self.b
        } else {
            self.a
        }
    }

    /// Close the open period if `now_ms` is past it: net it into a position.
    fn roll(&mut self, now_ms: u64) -> Option<Event> {
        let period = now_ms / self.period_ms;
        if period <= self.open_period {
            return None;
        }
        let had = self.has_open_obligations();
        let closed = self.open_period;
        let (debtor, creditor, amount) = if self.a_owes >= self.b_owes {
            (self.a, self.b, self.a_owes - self.b_owes)
        } else {
            (self.b, self.a, self.b_owes - self.a_owes)
        };
        let closed_at_ms = self.close_at_ms();
        self.open_period = period;
        self.a_owes = 0;
        self.b_owes = 0;
        if !had {
            return None;
        }
        if amount > 0 {
            self.positions.push(Position { period: closed, closed_at_ms, debtor, amount });
            self.fold_oldest();
        }
        Some(Event::ClearingNetted { debtor, creditor, symbol: self.symbol.clone(), period: closed, amount })
    }

    /// Past [`CLEARING_POSITIONS_MAX`] positions, the two oldest become one (their net,
    /// dated by the older).
    fn fold_oldest(&mut self) {
        if self.positions.len() <= CLEARING_POSITIONS_MAX {
            return;
        }
        let second = self.positions.remove(1);
        let first = &mut self.positions[0];
        if first.debtor == second.debtor {
            first.amount = first.amount.saturating_add(second.amount);
        } else if first.amount >= second.amount {
            first.amount -= second.amount;
        } else {
            first.amount = second.amount - first.amount;
            first.debtor = second.debtor;
        }
        if first.amount == 0 {
            self.positions.remove(0);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&self.a.0);
        w.raw(&self.b.0);
        w.bytes8(self.symbol.as_bytes());
        w.u64(self.period_ms);
        w.u64(self.open_period);
        w.u128(self.a_owes);
        w.u128(self.b_owes);
        w.u16(self.positions.len() as u16);
        for p in &self.positions {
            w.u64(p.period);
            w.u64(p.closed_at_ms);
            w.raw(&p.debtor.0);
            w.u128(p.amount);
        }
        match &self.confirmation {
            Some(c) => {
                w.bool(true);
                w.raw(&c.by.0);
                w.u128(c.amount);
                w.bytes8(c.reference.as_bytes());
            }
            None => w.bool(false),
        }
        w.u128(self.settled_total);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let a = Address(r.array("a")?);
        let b = Address(r.array("b")?);
        let symbol = r.string8(SYMBOL_BYTES_MAX, "symbol")?;
        let period_ms = r.u64("period")?;
        if period_ms == 0 {
            return Err(DecodeError::Invalid("clearing period"));
        }
        let open_period = r.u64("open period")?;
        let a_owes = r.u128("a owes")?;
        let b_owes = r.u128("b owes")?;
        let count = r.u16("position count")? as usize;
        if count > CLEARING_POSITIONS_MAX {
            return Err(DecodeError::TooLong { what: "positions", len: count, max: CLEARING_POSITIONS_MAX });
        }
        let mut positions = Vec::with_capacity(count);
        for _ in 0..count {
            positions.push(Position {
                period: r.u64("period")?,
                closed_at_ms: r.u64("closed at")?,
                debtor: Address(r.array("debtor")?),
                amount: r.u128("amount")?,
            });
        }
        let confirmation = if r.bool("has confirmation")? {
            Some(Confirmation {
                by: Address(r.array("confirmed by")?),
                amount: r.u128("amount")?,
                reference: r.string8(SETTLEMENT_REF_BYTES_MAX, "reference")?,
            })
        } else {
            None
        };
        let record = Self {
            a,
            b,
            symbol,
            period_ms,
            open_period,
            a_owes,
            b_owes,
            positions,
            confirmation,
            settled_total: r.u128("settled total")?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// A clearing whose open period has obligations: when it closes, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct OpenEntry {
    close_at_ms: u64,
    a: Address,
    b: Address,
    symbol: String,
}

impl OpenEntry {
    fn of(record: &ClearingRecord) -> Self {
        Self { close_at_ms: record.close_at_ms(), a: record.a, b: record.b, symbol: record.symbol.clone() }
    }

    fn key(&self) -> StateKey {
        keys::clearing(&self.a, &self.b, &self.symbol)
    }
}

fn encode_open(entries: &[OpenEntry]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(entries.len() as u32);
    for e in entries {
        w.u64(e.close_at_ms);
        w.raw(&e.a.0);
        w.raw(&e.b.0);
        w.bytes8(e.symbol.as_bytes());
    }
    w.finish()
}

fn decode_open(bytes: &[u8]) -> Result<Vec<OpenEntry>, DecodeError> {
    let mut r = Reader::new(bytes);
    let count = r.u32("open clearing count")? as usize;
    if count > CLEARING_OPEN_PAIRS_MAX {
        return Err(DecodeError::TooLong { what: "open clearings", len: count, max: CLEARING_OPEN_PAIRS_MAX });
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        entries.push(OpenEntry {
            close_at_ms: r.u64("close at")?,
            a: Address(r.array("a")?),
            b: Address(r.array("b")?),
            symbol: r.string8(SYMBOL_BYTES_MAX, "symbol")?,
        });
    }
    r.finish()?;
    Ok(entries)
}

/// The entries of `index` due at `now_ms`, at most [`CLOSES_PER_BLOCK_MAX`].
fn due(index: &[OpenEntry], now_ms: u64) -> &[OpenEntry] {
    let count = index.iter().take_while(|e| e.close_at_ms <= now_ms).count();
    &index[..count.min(CLOSES_PER_BLOCK_MAX)]
}

struct Index(Vec<OpenEntry>);

impl Index {
    fn read(ctx: &Overlay<'_>) -> Result<Self, ExecError> {
        Ok(Self(ctx.get_record(&keys::clearing_open(), decode_open)?.unwrap_or_default()))
    }

    fn write(&self, ctx: &mut Overlay<'_>) {
        if self.0.is_empty() {
            ctx.delete(keys::clearing_open());
        } else {
            ctx.put(keys::clearing_open(), encode_open(&self.0));
        }
    }

    fn remove(&mut self, entry: &OpenEntry) {
        if let Ok(at) = self.0.binary_search(entry) {
            self.0.remove(at);
        }
    }

    fn insert(&mut self, entry: OpenEntry) -> Result<(), Reject> {
        if let Err(at) = self.0.binary_search(&entry) {
            if self.0.len() >= CLEARING_OPEN_PAIRS_MAX {
                return Err(Reject::TooManyOpenClearings);
            }
            self.0.insert(at, entry);
        }
        Ok(())
    }
}

/// Net the record's open period if it is over (dropping it from the index).
fn close_if_due(ctx: &mut Overlay<'_>, record: &mut ClearingRecord, index: &mut Index) {
    let entry = OpenEntry::of(record);
    if let Some(event) = record.roll(ctx.info().timestamp_ms) {
        index.remove(&entry);
        ctx.emit(event);
    }
}

fn put(ctx: &mut Overlay<'_>, record: &ClearingRecord) {
    ctx.put(keys::clearing(&record.a, &record.b, &record.symbol), record.encode());
}

/// The clearing between `a` and `b` in `symbol`, if any.
pub fn get(ctx: &Overlay<'_>, a: &Address, b: &Address, symbol: &str) -> Result<Option<ClearingRecord>, ExecError> {
    ctx.get_record(&keys::clearing(a, b, symbol), ClearingRecord::decode)
}

/// `debtor` owes `creditor` `owed` of the settlement asset of `terms`, in the open period.
pub fn record(
    ctx: &mut Overlay<'_>,
    debtor: &Address,
    creditor: &Address,
    terms: &RouteTerms,
    owed: Amount,
) -> Result<(), Failure> {
    let now = ctx.info().timestamp_ms;
    let (a, b) = if debtor < creditor { (*debtor, *creditor) } else { (*creditor, *debtor) };
    let mut record = get(ctx, debtor, creditor, &terms.settlement_symbol)?.unwrap_or(ClearingRecord {
        a,
        b,
        symbol: terms.settlement_symbol.clone(),
        period_ms: terms.clearing_period_ms,
        open_period: now / terms.clearing_period_ms,
        a_owes: 0,
        b_owes: 0,
        positions: Vec::new(),
        confirmation: None,
        settled_total: 0,
    });
    let mut index = Index::read(ctx)?;
    close_if_due(ctx, &mut record, &mut index);
    if !record.has_open_obligations() {
        record.open_period = now / record.period_ms;
        index.insert(OpenEntry::of(&record))?;
    }
    let side = if *debtor == record.a { &mut record.a_owes } else { &mut record.b_owes };
    *side = side.checked_add(owed).ok_or(Reject::AmountOverflow)?;
    put(ctx, &record);
    index.write(ctx);
    Ok(())
}

/// The clearing of the signer with `counterparty`, its open period closed if it is over.
fn open(
    ctx: &mut Overlay<'_>,
    signer: &Address,
    counterparty: &Address,
    symbol: &str,
) -> Result<(ClearingRecord, Index), Failure> {
    let mut record = get(ctx, signer, counterparty, symbol)?.ok_or(Reject::NotClearingParty)?;
    let mut index = Index::read(ctx)?;
    close_if_due(ctx, &mut record, &mut index);
    Ok((record, index))
}

fn settled(ctx: &mut Overlay<'_>, mut record: ClearingRecord, index: Index, debtor: Address, amount: Amount, reference: Option<String>) {
    record.positions.clear();
    record.confirmation = None;
    record.settled_total = record.settled_total.saturating_add(amount);
    let creditor = record.other(&debtor);
    let symbol = record.symbol.clone();
    put(ctx, &record);
    index.write(ctx);
    ctx.emit(Event::ClearingSettled { debtor, creditor, symbol, amount, reference });
}

/// Pay the net of every closed period on the ledger (the debtor, the exact net).
pub fn settle(ctx: &mut Overlay<'_>, signer: &Address, counterparty: &Address, symbol: &str, amount: Amount) -> Result<(), Failure> {
    let asset = crate::state::asset(ctx, symbol)?.ok_or(accord_types::Reject::UnknownAsset)?;
    crate::exchange::settlement_asset_ok(&asset)?;
    let (record, index) = open(ctx, signer, counterparty, symbol)?;
    let (debtor, creditor, net) = record.net().ok_or(Reject::WrongSettlementAmount)?;
    if debtor != *signer {
        return Err(Reject::NotDebtor.into());
    }
    if amount != net {
        return Err(Reject::WrongSettlementAmount.into());
    }
    ctx.transfer(signer, &creditor, symbol, amount)?;
    settled(ctx, record, index, debtor, amount, None);
    Ok(())
}

/// Confirm an off-ledger payment of the net; the second matching confirmation settles.
pub fn confirm(
    ctx: &mut Overlay<'_>,
    signer: &Address,
    counterparty: &Address,
    symbol: &str,
    amount: Amount,
    reference: &str,
) -> Result<(), Failure> {
    let (mut record, index) = open(ctx, signer, counterparty, symbol)?;
    let (debtor, _, net) = record.net().ok_or(Reject::WrongSettlementAmount)?;
    if amount != net {
        return Err(Reject::WrongSettlementAmount.into());
    }
    let matches = record
        .confirmation
        .as_ref()
        .is_some_and(|c| c.by == *counterparty && c.amount == amount && c.reference == reference);
    if matches {
        settled(ctx, record, index, debtor, amount, Some(reference.to_string()));
        return Ok(());
    }
    record.confirmation = Some(Confirmation { by: *signer, amount, reference: reference.to_string() });
    put(ctx, &record);
    index.write(ctx);
    ctx.emit(Event::ClearingConfirmed {
        by: *signer,
        counterparty: *counterparty,
        symbol: symbol.to_string(),
        amount,
        reference: reference.to_string(),
    });
    Ok(())
}

/// Keys the end-of-block netting reads, from what was fetched so far.
pub fn block_keys(now_ms: u64, get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, out: &mut Vec<StateKey>) {
    out.push(keys::clearing_open());
    let Some(index) = get(&keys::clearing_open()).and_then(|b| decode_open(&b).ok()) else { return };
    out.extend(due(&index, now_ms).iter().map(OpenEntry::key));
}

/// Net every open period that is over at this block's time.
pub fn end_block(ctx: &mut Overlay<'_>) -> Result<(), ExecError> {
    let now = ctx.info().timestamp_ms;
    let mut index = Index::read(ctx)?;
    let due: Vec<OpenEntry> = due(&index.0, now).to_vec();
    if due.is_empty() {
        return Ok(());
    }
    for entry in &due {
        // The due list is the index after this block's transactions, which may have closed
        // some pairs themselves; a pair further down was then not read ahead: it waits for
        // the next block rather than being read undeclared.
        let record = match ctx.get_record(&entry.key(), ClearingRecord::decode) {
            Ok(record) => record,
            Err(ExecError::UndeclaredRead(_)) => continue,
            Err(e) => return Err(e),
        };
        index.remove(entry);
        let Some(mut record) = record else { continue };
        if let Some(event) = record.roll(now) {
            ctx.emit(event);
        }
        put(ctx, &record);
    }
    index.write(ctx);
    Ok(())
}
