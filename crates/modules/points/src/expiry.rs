//! Expiry of points with a lifetime.
//!
//! Minting (or the issuer giving) units of an asset with a lifetime puts them in a lot that
//! expires `lifetime_ms` later (see [`accord_exec::Holding`]). Each holding with lots waits
//! in one **slot**: the minute its earliest lot expires. The end-of-block hook takes the
//! entries of due slots whose time has passed, removes the lots that are due from the
//! holder's balance and from circulation (`expired` in the asset's figures), and puts the
//! holding back in the slot of its next lot. So units leave circulation in the first block
//! whose time is at or after their expiry, without anyone's transaction.
//!
//! To find due slots without reading every minute, a day record lists the minutes of that
//! day that have a slot, and one key lists the days that have a day record. A slot holds
//! at most [`EXPIRY_SLOT_HOLDINGS_MAX`] holdings (a burst beyond that waits in the next
//! minute's slot); a block expires at most [`EXPIRIES_PER_BLOCK_MAX`] holdings and looks at
//! most at [`EXPIRY_SLOTS_PER_BLOCK_MAX`] slots (the rest wait for the next block).

use crate::keys;
use accord_exec::{ExecError, Failure, Holding, Overlay, StateKey};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::*;
use accord_types::{Address, Event};
use std::collections::{BTreeMap, BTreeSet};

/// One slot is this long.
pub const SLOT_MS: u64 = 60_000;
const MINUTES_PER_DAY: u64 = 1_440;

pub fn minute_of(ms: u64) -> u64 {
    ms / SLOT_MS
}

fn day_of(minute: u64) -> u64 {
    minute / MINUTES_PER_DAY
}

/// A holding waiting in a slot, with the expiry of the lot it waits for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub expires_at_ms: u64,
    pub symbol: String,
    pub holder: Address,
}

fn encode_entries(entries: &[Entry]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(entries.len() as u32);
    for e in entries {
        w.u64(e.expires_at_ms);
        w.bytes8(e.symbol.as_bytes());
        w.raw(&e.holder.0);
    }
    w.finish()
}

pub fn decode_entries(bytes: &[u8]) -> Result<Vec<Entry>, DecodeError> {
    let mut r = Reader::new(bytes);
    let count = r.u32("entry count")? as usize;
    // A slot may pass the cap when holdings come back to the slot they were taken from.
    let max = EXPIRY_SLOT_HOLDINGS_MAX + EXPIRIES_PER_BLOCK_MAX;
    if count > max {
        return Err(DecodeError::TooLong { what: "expiry slot", len: count, max });
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        entries.push(Entry {
            expires_at_ms: r.u64("expiry")?,
            symbol: r.string8(SYMBOL_BYTES_MAX, "symbol")?,
            holder: Address(r.array("holder")?),
        });
    }
    r.finish()?;
    Ok(entries)
}

fn encode_numbers(numbers: &BTreeSet<u64>) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(numbers.len() as u32);
    for n in numbers {
        w.u64(*n);
    }
    w.finish()
}

/// Most days the day list can hold. Pending days lie between the oldest slot not yet
/// drained (a few blocks behind at most) and now plus the longest lifetime (3,660 days)
/// plus the place window: far below this.
const DAYS_MAX: usize = 16_384;

pub fn decode_numbers(bytes: &[u8]) -> Result<BTreeSet<u64>, DecodeError> {
    let mut r = Reader::new(bytes);
    let count = r.u32("count")? as usize;
    // The days of the day list, or the minutes of one day.
    let max = DAYS_MAX.max(MINUTES_PER_DAY as usize);
    if count > max {
        return Err(DecodeError::TooLong { what: "expiry calendar", len: count, max });
    }
    let mut numbers = BTreeSet::new();
    for _ in 0..count {
        numbers.insert(r.u64("number")?);
    }
    r.finish()?;
    Ok(numbers)
}

/// The parts of the expiry calendar one call reads and changes, written back by `flush`.
struct Calendar {
    days: BTreeSet<u64>,
    day_records: BTreeMap<u64, BTreeSet<u64>>,
    slots: BTreeMap<u64, Vec<Entry>>,
    dirty: BTreeSet<u64>,
}

impl Calendar {
    fn load(ctx: &Overlay<'_>) -> Result<Self, ExecError> {
        let days = ctx.get_record(&keys::expiry_days(), decode_numbers)?.unwrap_or_default();
        Ok(Self { days, day_records: BTreeMap::new(), slots: BTreeMap::new(), dirty: BTreeSet::new() })
    }

    /// Read slot `minute` and its day record (an undeclared read is an error).
    fn open(&mut self, ctx: &Overlay<'_>, minute: u64) -> Result<(), ExecError> {
        let day = day_of(minute);
        if !self.day_records.contains_key(&day) {
            let record = ctx.get_record(&keys::expiry_day(day), decode_numbers)?.unwrap_or_default();
            self.day_records.insert(day, record);
        }
        if !self.slots.contains_key(&minute) {
            let slot = ctx.get_record(&keys::expiry_slot(minute), decode_entries)?.unwrap_or_default();
            self.slots.insert(minute, slot);
        }
        Ok(())
    }

    /// The slot a holding whose earliest lot expires at `expires_at_ms` waits in: that
    /// minute's, or the next one with room. If one of them was not declared, `fallback`
    /// (a slot already open), or the read's error.
    fn place(&mut self, ctx: &Overlay<'_>, expires_at_ms: u64, fallback: Option<u64>) -> Result<u64, ExecError> {
        let first = minute_of(expires_at_ms);
        for minute in first..first.saturating_add(PLACE_WINDOW_MINUTES) {
            match self.open(ctx, minute) {
                Ok(()) if self.slots.get(&minute).map_or(0, Vec::len) < EXPIRY_SLOT_HOLDINGS_MAX => return Ok(minute),
                Ok(()) => {}
                Err(ExecError::UndeclaredRead(key)) => return fallback.ok_or(ExecError::UndeclaredRead(key)),
                Err(e) => return Err(e),
            }
        }
        // Every slot of the window is full.
        fallback.ok_or_else(|| ExecError::UndeclaredRead(keys::expiry_slot(first + PLACE_WINDOW_MINUTES).to_string()))
    }

    fn insert(&mut self, minute: u64, entry: Entry) {
        let slot = self.slots.entry(minute).or_default();
        if let Err(at) = slot.binary_search(&entry) {
            slot.insert(at, entry);
        }
        self.dirty.insert(minute);
    }

    /// Take the entries of slot `minute` due at `now_ms`, at most `max`.
    fn take_due(&mut self, minute: u64, now_ms: u64, max: usize) -> Vec<Entry> {
        let Some(slot) = self.slots.get_mut(&minute) else { return Vec::new() };
        let due = slot.iter().take_while(|e| e.expires_at_ms <= now_ms).count().min(max);
        if due > 0 {
            self.dirty.insert(minute);
        }
        slot.drain(..due).collect()
    }

    /// Write every changed slot, and the day records and day list that follow from them.
    fn flush(mut self, ctx: &mut Overlay<'_>) {
        let mut changed_days = BTreeSet::new();
        for minute in std::mem::take(&mut self.dirty) {
            let slot = self.slots.remove(&minute).unwrap_or_default();
            let day = day_of(minute);
            let record = self.day_records.entry(day).or_default();
            if slot.is_empty() {
                ctx.delete(keys::expiry_slot(minute));
                if record.remove(&minute) {
                    changed_days.insert(day);
                }
            } else {
                ctx.put(keys::expiry_slot(minute), encode_entries(&slot));
                if record.insert(minute) {
                    changed_days.insert(day);
                }
            }
        }
        let mut days_changed = false;
        for day in changed_days {
            let record = self.day_records.remove(&day).unwrap_or_default();
            if record.is_empty() {
                ctx.delete(keys::expiry_day(day));
                days_changed |= self.days.remove(&day);
            } else {
                ctx.put(keys::expiry_day(day), encode_numbers(&record));
                days_changed |= self.days.insert(day);
            }
        }
        if days_changed {
            if self.days.is_empty() {
                ctx.delete(keys::expiry_days());
            } else {
                ctx.put(keys::expiry_days(), encode_numbers(&self.days));
            }
        }
    }
}

/// Put a holding that just got its first lot in the slot of that lot.
pub fn register(ctx: &mut Overlay<'_>, holder: &Address, symbol: &str, holding: &Holding) -> Result<(), Failure> {
    if holding.registered.is_some() {
        return Ok(());
    }
    let Some(first) = holding.lots.first() else { return Ok(()) };
    let mut calendar = Calendar::load(ctx)?;
    let minute = calendar.place(ctx, first.expires_at_ms, None)?;
    calendar.insert(minute, Entry { expires_at_ms: first.expires_at_ms, symbol: symbol.to_string(), holder: *holder });
    calendar.flush(ctx);
    ctx.set_registered(holder, symbol, Some(minute))?;
    Ok(())
}

/// How many minutes from its own a holding may wait in when slots are full: the window
/// [`register_keys`] declares in one round.
pub const PLACE_WINDOW_MINUTES: u64 = 4;

/// Keys [`register`] reads for a lot expiring at `expires_at_ms`: the minute's slot and the
/// next few (a full slot sends a holding to the next one), with their day records. A
/// holding that finds them all full is not placed (a transaction is refused, to be sent
/// again; the end-of-block hook keeps it where it was).
pub fn register_keys(expires_at_ms: u64, out: &mut Vec<StateKey>) {
    out.push(keys::expiry_days());
    let first = minute_of(expires_at_ms);
    for minute in first..first.saturating_add(PLACE_WINDOW_MINUTES) {
        out.push(keys::expiry_day(day_of(minute)));
        out.push(keys::expiry_slot(minute));
    }
}

/// The due slots and entries at `now_ms`, within the per-block bounds, read through `read`
/// (absent = empty). [`block_keys`] and [`end_block`] both walk the calendar with this, so
/// the hook reads exactly the keys declared for it.
fn due(
    now_ms: u64,
    read: &mut dyn FnMut(&StateKey) -> Result<Option<Vec<u8>>, ExecError>,
) -> Result<Vec<(u64, Entry)>, ExecError> {
    let mut found = Vec::new();
    let days = read_decoded(read, keys::expiry_days(), decode_numbers)?;
    let now_minute = minute_of(now_ms);
    let mut slots = 0;
    for day in days.into_iter().take_while(|d| *d <= day_of(now_minute)) {
        if slots == EXPIRY_SLOTS_PER_BLOCK_MAX || found.len() == EXPIRIES_PER_BLOCK_MAX {
            break;
        }
        let minutes = read_decoded(read, keys::expiry_day(day), decode_numbers)?;
        for minute in minutes.into_iter().take_while(|m| *m <= now_minute) {
            if slots == EXPIRY_SLOTS_PER_BLOCK_MAX || found.len() == EXPIRIES_PER_BLOCK_MAX {
                return Ok(found);
            }
            slots += 1;
            let entries = read_decoded(read, keys::expiry_slot(minute), decode_entries)?;
            let left = EXPIRIES_PER_BLOCK_MAX - found.len();
            found.extend(entries.into_iter().take_while(|e| e.expires_at_ms <= now_ms).take(left).map(|e| (minute, e)));
        }
    }
    Ok(found)
}

/// The value under `key` through `read`, decoded (absent = empty); one that does not
/// decode is corruption.
fn read_decoded<T: Default>(
    read: &mut dyn FnMut(&StateKey) -> Result<Option<Vec<u8>>, ExecError>,
    key: StateKey,
    decode: fn(&[u8]) -> Result<T, DecodeError>,
) -> Result<T, ExecError> {
    match read(&key)? {
        Some(bytes) => decode(&bytes).map_err(|e| ExecError::CorruptValue { key: key.to_string(), reason: e.to_string() }),
        None => Ok(T::default()),
    }
}

/// Keys the end-of-block expiry reads, from what was fetched so far.
pub fn block_keys(now_ms: u64, get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, out: &mut Vec<StateKey>) {
    let mut read = |key: &StateKey| {
        out.push(key.clone());
        Ok(get(key))
    };
    // A damaged calendar value stops the walk here; the hook meets it and stops the block.
    let due = due(now_ms, &mut read).unwrap_or_default();
    for (_, entry) in due {
        let account = accord_exec::keys::account(&entry.holder);
        out.push(account.clone());
        out.push(accord_exec::keys::supply(&entry.symbol));
        out.push(keys::asset(&entry.symbol));
        // Where the holding goes next: its next lot as it stands, or a lot minted in this block.
        let next = get(&account)
            .and_then(|b| accord_exec::Account::decode(&b).ok())
            .and_then(|a| a.lots.get(&entry.symbol).and_then(|h| h.lots.iter().find(|l| l.expires_at_ms > now_ms).cloned()));
        if let Some(lot) = next {
            register_keys(lot.expires_at_ms, out);
        }
        let lifetime = get(&keys::asset(&entry.symbol))
            .and_then(|b| crate::AssetRecord::decode(&b).ok())
            .and_then(|a| a.lifetime_ms);
        if let Some(lifetime) = lifetime {
            register_keys(now_ms.saturating_add(lifetime), out);
        }
    }
}

/// Expire every due lot (within the per-block bounds) and move each holding to the slot
/// of its next lot.
pub fn end_block(ctx: &mut Overlay<'_>) -> Result<(), ExecError> {
    let now = ctx.info().timestamp_ms;
    let mut calendar = Calendar::load(ctx)?;
    if calendar.days.is_empty() {
        return Ok(());
    }
    let due = due(now, &mut |key| ctx.get(key))?;
    // The due entries of a slot are its first ones (slots are sorted by expiry).
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for (minute, _) in &due {
        *counts.entry(*minute).or_default() += 1;
    }
    for (minute, count) in counts {
        calendar.open(ctx, minute)?;
        calendar.take_due(minute, now, count);
    }
    for (minute, entry) in due {
        let account = ctx.account(&entry.holder)?;
        let Some(holding) = account.lots.get(&entry.symbol) else { continue };
        if holding.registered != Some(minute) {
            continue; // The holding waits elsewhere now: this entry is stale.
        }
        let (holder, symbol) = (entry.holder, entry.symbol);
        match ctx.step(|c| c.expire_due(&holder, &symbol, now))? {
            Ok(0) | Err(_) => {}
            Ok(amount) => ctx.emit(Event::Expired { symbol: symbol.clone(), holder, amount }),
        }
        let next = ctx.account(&holder)?.lots.get(&symbol).and_then(|h| h.lots.first().map(|l| l.expires_at_ms));
        if let Some(expires_at_ms) = next {
            // A slot not read ahead (the lots changed in this block), or a full window,
            // falls back to this slot, which is due, with the entry due now: the next block
            // takes it again and places it with the reads it declared.
            let target = calendar.place(ctx, expires_at_ms, Some(minute))?;
            let look_at = if target == minute { now } else { expires_at_ms };
            calendar.insert(target, Entry { expires_at_ms: look_at, symbol: symbol.clone(), holder });
            ctx.set_registered(&holder, &symbol, Some(target))?;
        }
    }
    calendar.flush(ctx);
    Ok(())
}
