//! Agreements: revenue sharing among parties, transferable and grantable income rights.
//!
//! Rules (SPEC §3, seed 000): an agreement has its own address, an income asset, parties
//! whose shares sum to 1,000,000 ppm, the hash of its legal text, an optional expiry and an
//! amender; it is active once every party has signed. Income paid to an active agreement
//! is split among the current share holders in the same transaction (see [`split`] for the
//! rounding rule). A holder may give part of its share for good or until a time, after
//! which it counts for the giver again without anyone's transaction.

pub mod split;
pub mod state;

use accord_exec::{BlockInfo, Failure, Module, Overlay, StateKey};
use accord_types::limits::{AGREEMENT_HOLDERS_MAX, SHARES_PPM_TOTAL, SYMBOL_BYTES_MAX};
use accord_types::tx::MODULE_AGREEMENTS;
use accord_types::{Action, Address, AgreementAction, Event, Reject};
pub use state::{AgreementRecord, Holding, Lock};

/// The agreements module.
pub struct Agreements;

fn agreement(action: &Action) -> Option<&AgreementAction> {
    match action {
        Action::Agreement(a) => Some(a),
        _ => None,
    }
}

fn check_parties(parties: &[accord_types::Party]) -> Result<(), Reject> {
    let mut addresses: Vec<Address> = parties.iter().map(|p| p.address).collect();
    addresses.sort_unstable();
    addresses.dedup();
    let sum: u64 = parties.iter().map(|p| u64::from(p.share_ppm)).sum();
    if parties.is_empty()
        || parties.len() > AGREEMENT_HOLDERS_MAX
        || addresses.len() != parties.len()
        || parties.iter().any(|p| p.share_ppm == 0)
        || sum != u64::from(SHARES_PPM_TOTAL)
    {
        return Err(Reject::InvalidShares);
    }
    Ok(())
}

impl Module for Agreements {
    fn id(&self) -> u8 {
        MODULE_AGREEMENTS
    }

    fn name(&self) -> &'static str {
        "agreements"
    }

    fn check_stateless(&self, action: &Action) -> Result<(), Reject> {
        match agreement(action).ok_or(Reject::Malformed)? {
            AgreementAction::AgreementCreate { income_symbol, parties, .. } => {
                if income_symbol.len() < 2 || income_symbol.len() > SYMBOL_BYTES_MAX {
                    return Err(Reject::InvalidSymbol);
                }
                check_parties(parties)
            }
            AgreementAction::AgreementPay { amount, .. } if *amount == 0 => Err(Reject::ZeroAmount),
            AgreementAction::ShareTransfer { share_ppm, .. } if *share_ppm == 0 || *share_ppm > SHARES_PPM_TOTAL => {
                Err(Reject::InvalidShareAmount)
            }
            _ => Ok(()),
        }
    }

    fn read_keys(&self, _signer: &Address, action: &Action, out: &mut Vec<StateKey>) {
        // Every future holder is declared by the action that makes it one (a party here,
        // a recipient in a share transfer), so a payment later in the same block finds
        // its account fetched.
        match agreement(action) {
            Some(AgreementAction::AgreementCreate { income_symbol, parties, .. }) => {
                out.push(accord_points::keys::asset(income_symbol));
                out.push(accord_exec::keys::supply(income_symbol));
                out.extend(parties.iter().map(|p| accord_exec::keys::account(&p.address)));
            }
            Some(AgreementAction::ShareTransfer { agreement, to, .. }) => {
                out.push(state::agreement_key(agreement));
                out.push(accord_exec::keys::account(to));
            }
            Some(
                AgreementAction::AgreementSign { agreement, .. }
                | AgreementAction::AgreementPay { agreement, .. }
                | AgreementAction::AgreementAmend { agreement, .. },
            ) => out.push(state::agreement_key(agreement)),
            None => {}
        }
    }

    fn dependent_keys(
        &self,
        _signer: &Address,
        action: &Action,
        _info: BlockInfo,
        get: &dyn Fn(&StateKey) -> Option<Vec<u8>>,
        out: &mut Vec<StateKey>,
    ) {
        // Paying reads every holder's and grantor's account, and the income asset's records.
        let Some(AgreementAction::AgreementPay { agreement, .. }) = agreement(action) else { return };
        let Some(record) = get(&state::agreement_key(agreement)).and_then(|b| AgreementRecord::decode(&b).ok()) else {
            return;
        };
        out.push(accord_exec::keys::supply(&record.income_symbol));
        out.push(accord_points::keys::asset(&record.income_symbol));
        for h in &record.holdings {
            out.push(accord_exec::keys::account(&h.holder));
            if let Some(g) = h.grantor {
                out.push(accord_exec::keys::account(&g));
            }
        }
    }

    fn apply(&self, ctx: &mut Overlay<'_>, signer: &Address, action: &Action) -> Result<(), Failure> {
        match agreement(action).ok_or(Reject::Malformed)? {
            AgreementAction::AgreementCreate { income_symbol, parties, legal_hash, expires_at_ms, amender } => {
                accord_points::state::asset(ctx, income_symbol)?.ok_or(Reject::UnknownAsset)?;
                let address = ctx.derive_address(b"accord/agreement");
                let holdings = parties
                    .iter()
                    .map(|p| Holding { holder: p.address, share_ppm: p.share_ppm, grantor: None, until_ms: None })
                    .collect();
                let mut record = AgreementRecord {
                    income_symbol: income_symbol.clone(),
                    legal_hash: *legal_hash,
                    expires_at_ms: *expires_at_ms,
                    amender: *amender,
                    parties: parties.clone(),
                    signed: Vec::new(),
                    holdings,
                    locked: Vec::new(),
                };
                if parties.iter().any(|p| p.address == *signer) {
                    record.signed.push(*signer);
                }
                record.normalize(ctx.info().timestamp_ms);
                state::put_agreement(ctx, &address, &record);
                ctx.emit(Event::AgreementCreated { agreement: address, creator: *signer });
                if record.active() {
                    ctx.emit(Event::AgreementActivated { agreement: address });
                }
                Ok(())
            }
            AgreementAction::AgreementSign { agreement, legal_hash } => sign(ctx, signer, agreement, legal_hash),
            AgreementAction::AgreementPay { agreement, amount } => pay(ctx, signer, agreement, *amount),
            AgreementAction::AgreementAmend { agreement, legal_hash } => {
                let mut record = state::agreement(ctx, agreement)?.ok_or(Reject::UnknownAgreement)?;
                if *signer != record.amender {
                    return Err(Reject::NotAmender.into());
                }
                record.legal_hash = *legal_hash;
                state::put_agreement(ctx, agreement, &record);
                ctx.emit(Event::AgreementAmended { agreement: *agreement, legal_hash: *legal_hash });
                Ok(())
            }
            AgreementAction::ShareTransfer { agreement, to, share_ppm, until_ms } => {
                give(ctx, signer, agreement, to, *share_ppm, *until_ms)
            }
        }
    }
}

/// An active, unexpired agreement, with grants that ended folded back.
fn live(ctx: &Overlay<'_>, address: &Address) -> Result<AgreementRecord, Failure> {
    let mut record = state::agreement(ctx, address)?.ok_or(Reject::UnknownAgreement)?;
    if !record.active() {
        return Err(Reject::AgreementNotActive.into());
    }
    let now = ctx.info().timestamp_ms;
    if record.expires_at_ms.is_some_and(|e| now >= e) {
        return Err(Reject::AgreementExpired.into());
    }
    record.normalize(now);
    Ok(record)
}

fn sign(ctx: &mut Overlay<'_>, signer: &Address, address: &Address, legal_hash: &[u8; 32]) -> Result<(), Failure> {
    let mut record = state::agreement(ctx, address)?.ok_or(Reject::UnknownAgreement)?;
    if !record.parties.iter().any(|p| p.address == *signer) {
        return Err(Reject::NotParty.into());
    }
    if record.legal_hash != *legal_hash {
        return Err(Reject::TermsChanged.into());
    }
    if record.signed.contains(signer) {
        return Err(Reject::AlreadySigned.into());
    }
    record.signed.push(*signer);
    state::put_agreement(ctx, address, &record);
    ctx.emit(Event::AgreementSigned { agreement: *address, party: *signer });
    if record.active() {
        ctx.emit(Event::AgreementActivated { agreement: *address });
    }
    Ok(())
}

fn pay(ctx: &mut Overlay<'_>, payer: &Address, address: &Address, amount: u128) -> Result<(), Failure> {
    let record = live(ctx, address)?;
    let asset = accord_points::state::asset(ctx, &record.income_symbol)?.ok_or(Reject::UnknownAsset)?;
    if !asset.transferable {
        return Err(Reject::NotTransferable.into());
    }
    let parts = split::split(amount, &record.current_shares());
    let symbol = record.income_symbol;
    ctx.transfer_many(payer, &symbol, &parts)?;
    let parts = parts.into_iter().filter(|(_, p)| *p > 0).map(|(to, amount)| accord_types::event::Part { to, amount });
    ctx.emit(Event::IncomePaid { agreement: *address, payer: *payer, symbol, amount, parts: parts.collect() });
    Ok(())
}

fn give(
    ctx: &mut Overlay<'_>,
    signer: &Address,
    address: &Address,
    to: &Address,
    share_ppm: u32,
    until_ms: Option<u64>,
) -> Result<(), Failure> {
    let mut record = live(ctx, address)?;
    if until_ms.is_some_and(|u| u <= ctx.info().timestamp_ms) {
        return Err(Reject::InvalidShareAmount.into());
    }
    // Only what the signer holds for good and has not locked can be given; granted shares
    // cannot be passed on.
    if record.free_share(signer) < share_ppm {
        return Err(Reject::InsufficientShare.into());
    }
    hand_over(ctx, &mut record, address, signer, to, share_ppm, until_ms)
}

/// Move `share_ppm` of `from`'s own share to `to` (for good, or until `until_ms`), store
/// the record and say so. The caller checked that `from` holds it.
fn hand_over(
    ctx: &mut Overlay<'_>,
    record: &mut AgreementRecord,
    address: &Address,
    from: &Address,
    to: &Address,
    share_ppm: u32,
    until_ms: Option<u64>,
) -> Result<(), Failure> {
    let own = record.holdings.iter_mut().find(|h| h.holder == *from && h.grantor.is_none());
    let own = own.ok_or(Reject::InsufficientShare)?;
    own.share_ppm = own.share_ppm.checked_sub(share_ppm).ok_or(Reject::InsufficientShare)?;
    let grantor = until_ms.map(|_| *from);
    record.holdings.push(Holding { holder: *to, share_ppm, grantor, until_ms });
    record.normalize(ctx.info().timestamp_ms);
    // Holder slots reserved by locks count: a listed share's buyer must always fit.
    if record.holdings.len() + record.locked.len() > AGREEMENT_HOLDERS_MAX {
        return Err(Reject::TooManyHolders.into());
    }
    state::put_agreement(ctx, address, record);
    ctx.emit(Event::ShareGiven { agreement: *address, from: *from, to: *to, share_ppm, until_ms });
    Ok(())
}

/// Whether the agreement at `address` is active and unexpired now (a reject says why not).
pub fn check_live(ctx: &Overlay<'_>, address: &Address) -> Result<(), Failure> {
    live(ctx, address).map(|_| ())
}

/// Set aside `share_ppm` of `holder`'s own share of a live agreement for a listing.
pub fn lock_share(ctx: &mut Overlay<'_>, address: &Address, holder: &Address, share_ppm: u32) -> Result<(), Failure> {
    let mut record = live(ctx, address)?;
    if record.free_share(holder) < share_ppm {
        return Err(Reject::InsufficientShare.into());
    }
    if record.holdings.len() + record.locked.len() + 1 > AGREEMENT_HOLDERS_MAX {
        return Err(Reject::TooManyHolders.into());
    }
    record.locked.push(Lock { holder: *holder, share_ppm });
    record.locked.sort_by_key(|l| (l.holder, l.share_ppm));
    state::put_agreement(ctx, address, &record);
    Ok(())
}

/// Remove one lock of exactly `share_ppm` held by `holder`. Its absence is corruption: a
/// listing holds it.
fn take_lock(record: &mut AgreementRecord, address: &Address, holder: &Address, share_ppm: u32) -> Result<(), Failure> {
    let Some(at) = record.locked.iter().position(|l| l.holder == *holder && l.share_ppm == share_ppm) else {
        return Err(Failure::Fatal(accord_exec::ExecError::CorruptValue {
            key: state::agreement_key(address).to_string(),
            reason: format!("no lock of {share_ppm} ppm held by {holder}"),
        }));
    };
    record.locked.remove(at);
    Ok(())
}

/// Release a lock (the listing closed without a sale). Works on any agreement state.
pub fn unlock_share(ctx: &mut Overlay<'_>, address: &Address, holder: &Address, share_ppm: u32) -> Result<(), Failure> {
    let mut record = state::agreement(ctx, address)?.ok_or(Reject::UnknownAgreement)?;
    take_lock(&mut record, address, holder, share_ppm)?;
    record.normalize(ctx.info().timestamp_ms);
    state::put_agreement(ctx, address, &record);
    Ok(())
}

/// Deliver a locked share to a buyer: for good, or until `until_ms` (then it reverts to
/// `holder`). The lock reserved the buyer's holder slot, so this does not fail for room.
pub fn deliver_locked_share(
    ctx: &mut Overlay<'_>,
    address: &Address,
    holder: &Address,
    to: &Address,
    share_ppm: u32,
    until_ms: Option<u64>,
) -> Result<(), Failure> {
    let mut record = state::agreement(ctx, address)?.ok_or(Reject::UnknownAgreement)?;
    take_lock(&mut record, address, holder, share_ppm)?;
    record.normalize(ctx.info().timestamp_ms);
    hand_over(ctx, &mut record, address, holder, to, share_ppm, until_ms)
}
