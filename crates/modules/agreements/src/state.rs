//! Every state key and record of the agreements module (prefixes 0x30..=0x3f).

use accord_exec::{ExecError, Overlay, StateKey};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::{AGREEMENT_HOLDERS_MAX, SYMBOL_BYTES_MAX};
use accord_types::{Address, Party};
use serde::Serialize;

/// Agreements.
pub const AGREEMENT: u8 = 0x30;

/// `0x30 || address`.
pub fn agreement_key(address: &Address) -> StateKey {
    let mut k = vec![AGREEMENT];
    k.extend_from_slice(&address.0);
    StateKey(k)
}

/// A share of the income: held for good (`grantor` none) or granted until `until_ms`,
/// after which it counts for the grantor again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub holder: Address,
    pub share_ppm: u32,
    pub grantor: Option<Address>,
    pub until_ms: Option<u64>,
}

/// Part of a holder's own share set aside for one sale or auction: it still earns for the
/// holder, but cannot be given away until the listing closes. Each lock also reserves a
/// holder slot for its buyer, so delivery never finds the agreement full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lock {
    pub holder: Address,
    pub share_ppm: u32,
}

/// An agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgreementRecord {
    pub income_symbol: String,
    #[serde(with = "accord_types::tx::hex32")]
    pub legal_hash: [u8; 32],
    pub expires_at_ms: Option<u64>,
    pub amender: Address,
    pub parties: Vec<Party>,
    pub signed: Vec<Address>,
    pub holdings: Vec<Holding>,
    /// Locked parts of holders' own shares, one entry per listing, by holder.
    pub locked: Vec<Lock>,
}

impl AgreementRecord {
    pub fn active(&self) -> bool {
        self.signed.len() == self.parties.len()
    }

    /// Fold grants that ended by `now_ms` back into their grantors' holdings; merge
    /// holdings of the same kind; keep them in a canonical order.
    pub fn normalize(&mut self, now_ms: u64) {
        let mut merged: Vec<Holding> = Vec::with_capacity(self.holdings.len());
        for mut h in std::mem::take(&mut self.holdings) {
            if let (Some(grantor), Some(until)) = (h.grantor, h.until_ms) {
                if until <= now_ms {
                    h = Holding { holder: grantor, share_ppm: h.share_ppm, grantor: None, until_ms: None };
                }
            }
            match merged.iter_mut().find(|m| m.holder == h.holder && m.grantor == h.grantor && m.until_ms == h.until_ms) {
                Some(m) => m.share_ppm += h.share_ppm,
                None => merged.push(h),
            }
        }
        merged.retain(|h| h.share_ppm > 0);
        merged.sort_by(|a, b| (a.holder, a.grantor, a.until_ms).cmp(&(b.holder, b.grantor, b.until_ms)));
        self.holdings = merged;
    }

    /// What `holder` holds for good and has not locked.
    pub fn free_share(&self, holder: &Address) -> u32 {
        let own: u32 = self.holdings.iter().filter(|h| h.holder == *holder && h.grantor.is_none()).map(|h| h.share_ppm).sum();
        own.saturating_sub(self.locked_share(holder))
    }

    /// What `holder` has locked.
    pub fn locked_share(&self, holder: &Address) -> u32 {
        self.locked.iter().filter(|l| l.holder == *holder).map(|l| l.share_ppm).sum()
    }

    /// Who receives income now, by address, with their total share.
    pub fn current_shares(&self) -> Vec<(Address, u32)> {
        let mut shares: Vec<(Address, u32)> = Vec::new();
        for h in &self.holdings {
            match shares.iter_mut().find(|(a, _)| *a == h.holder) {
                Some((_, s)) => *s += h.share_ppm,
                None => shares.push((h.holder, h.share_ppm)),
            }
        }
        shares.sort_by_key(|(a, _)| *a);
        shares
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes8(self.income_symbol.as_bytes());
        w.raw(&self.legal_hash);
        w.opt_u64(self.expires_at_ms);
        w.raw(&self.amender.0);
        w.u8(self.parties.len() as u8);
        for p in &self.parties {
            w.raw(&p.address.0);
            w.u32(p.share_ppm);
        }
        w.u8(self.signed.len() as u8);
        for s in &self.signed {
            w.raw(&s.0);
        }
        w.u16(self.holdings.len() as u16);
        for h in &self.holdings {
            w.raw(&h.holder.0);
            w.u32(h.share_ppm);
            match h.grantor {
                None => w.u8(0),
                Some(g) => {
                    w.u8(1);
                    w.raw(&g.0);
                }
            }
            w.opt_u64(h.until_ms);
        }
        w.u16(self.locked.len() as u16);
        for l in &self.locked {
            w.raw(&l.holder.0);
            w.u32(l.share_ppm);
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let income_symbol = r.string8(SYMBOL_BYTES_MAX, "symbol")?;
        let legal_hash = r.array("legal hash")?;
        let expires_at_ms = r.opt_u64("expiry")?;
        let amender = Address(r.array("amender")?);
        let parties = bounded(&mut r, |r| Ok(Party { address: Address(r.array("party")?), share_ppm: r.u32("share")? }))?;
        let signed = bounded(&mut r, |r| Ok(Address(r.array("signed")?)))?;
        let count = r.u16("holdings")? as usize;
        if count > 2 * AGREEMENT_HOLDERS_MAX {
            return Err(DecodeError::TooLong { what: "holdings", len: count, max: 2 * AGREEMENT_HOLDERS_MAX });
        }
        let mut holdings = Vec::with_capacity(count);
        for _ in 0..count {
            let holder = Address(r.array("holder")?);
            let share_ppm = r.u32("share")?;
            let grantor = match r.u8("grantor flag")? {
                0 => None,
                1 => Some(Address(r.array("grantor")?)),
                _ => return Err(DecodeError::Invalid("grantor flag")),
            };
            holdings.push(Holding { holder, share_ppm, grantor, until_ms: r.opt_u64("until")? });
        }
        let count = r.u16("locks")? as usize;
        if count > 2 * AGREEMENT_HOLDERS_MAX {
            return Err(DecodeError::TooLong { what: "locks", len: count, max: 2 * AGREEMENT_HOLDERS_MAX });
        }
        let mut locked = Vec::with_capacity(count);
        for _ in 0..count {
            locked.push(Lock { holder: Address(r.array("lock holder")?), share_ppm: r.u32("locked share")? });
        }
        r.finish()?;
        Ok(Self { income_symbol, legal_hash, expires_at_ms, amender, parties, signed, holdings, locked })
    }
}

fn bounded<T>(r: &mut Reader<'_>, mut item: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>) -> Result<Vec<T>, DecodeError> {
    let count = r.u8("count")? as usize;
    if count > AGREEMENT_HOLDERS_MAX {
        return Err(DecodeError::TooLong { what: "list", len: count, max: AGREEMENT_HOLDERS_MAX });
    }
    (0..count).map(|_| item(r)).collect()
}

pub fn agreement(ctx: &Overlay<'_>, address: &Address) -> Result<Option<AgreementRecord>, ExecError> {
    ctx.get_record(&agreement_key(address), AgreementRecord::decode)
}

pub fn put_agreement(ctx: &mut Overlay<'_>, address: &Address, record: &AgreementRecord) {
    ctx.put(agreement_key(address), record.encode());
}
