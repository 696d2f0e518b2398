//! Points and assets: create, mint (issuer only, capped), transfer, burn; figures and history.
//!
//! Rules (SPEC §2): a symbol is unique; only the issuer mints; a mint never takes the
//! circulating supply over `max_supply`, nor one day's mints over `mint_limit_per_day`
//! (days are `timestamp_ms / DAY_MS` of block time); an `external_ref` mints at most once
//! per asset; non-transferable assets move only to or from their issuer.
//!
//! Exchange routes between issuers' assets and conversion along them are in [`exchange`];
//! the clearing of what issuers owe each other for conversions is in [`clearing`]. A
//! withdrawal burns units for the issuer's own (legacy) system, which learns of it from
//! the `withdrawn` event. Units of an asset with a lifetime expire by themselves: see
//! [`expiry`].

pub mod clearing;
pub mod exchange;
pub mod expiry;
pub mod keys;
pub mod state;

use accord_exec::{BlockInfo, ExecError, Failure, Module, Overlay, StateKey};
use accord_types::limits::*;
use accord_types::tx::MODULE_POINTS;
use accord_types::{Action, Address, Event, PointsAction, Reject};
pub use state::{AssetRecord, MintRecord};

/// The points module.
pub struct Points;

fn symbol_ok(symbol: &str) -> bool {
    let b = symbol.as_bytes();
    (SYMBOL_BYTES_MIN..=SYMBOL_BYTES_MAX).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn points(action: &Action) -> Option<&PointsAction> {
    match action {
        Action::Points(a) => Some(a),
        _ => None,
    }
}

impl Module for Points {
    fn id(&self) -> u8 {
        MODULE_POINTS
    }

    fn name(&self) -> &'static str {
        "points"
    }

    fn check_stateless(&self, action: &Action) -> Result<(), Reject> {
        match points(action).ok_or(Reject::Malformed)? {
            PointsAction::CreateAsset {
                symbol, name, decimals, max_supply, mint_limit_per_day, transferable, lifetime_ms, ..
            } => {
                if let Some(lifetime) = lifetime_ms {
                    if *transferable || !(LIFETIME_MIN_MS..=LIFETIME_MAX_MS).contains(lifetime) {
                        return Err(Reject::InvalidLifetime);
                    }
                }
                if !symbol_ok(symbol) {
                    return Err(Reject::InvalidSymbol);
                }
                if name.is_empty() || name.len() > ASSET_NAME_BYTES_MAX {
                    return Err(Reject::InvalidName);
                }
                if *decimals > DECIMALS_MAX {
                    return Err(Reject::DecimalsTooLarge);
                }
                if *max_supply == Some(0) || *mint_limit_per_day == Some(0) {
                    return Err(Reject::ZeroCap);
                }
            }
            PointsAction::Mint { symbol, amount, reason, external_ref, .. } => {
                if !symbol_ok(symbol) {
                    return Err(Reject::InvalidSymbol);
                }
                if *amount == 0 {
                    return Err(Reject::ZeroAmount);
                }
                if reason.is_empty() || reason.len() > REASON_BYTES_MAX {
                    return Err(Reject::InvalidReason);
                }
                if let Some(r) = external_ref {
                    if r.is_empty() || r.len() > EXTERNAL_REF_BYTES_MAX {
                        return Err(Reject::InvalidExternalRef);
                    }
                }
            }
            PointsAction::Transfer { symbol, amount, .. } | PointsAction::Burn { symbol, amount } => {
                if !symbol_ok(symbol) {
                    return Err(Reject::InvalidSymbol);
                }
                if *amount == 0 {
                    return Err(Reject::ZeroAmount);
                }
            }
            PointsAction::RoutePropose { from, to, terms } | PointsAction::RouteAccept { from, to, terms } => {
                if !symbol_ok(from) || !symbol_ok(to) || !symbol_ok(&terms.settlement_symbol) {
                    return Err(Reject::InvalidSymbol);
                }
                exchange::check_terms(from, to, terms)?;
            }
            PointsAction::RouteSuspend { from, to } | PointsAction::RouteResume { from, to } => {
                if !symbol_ok(from) || !symbol_ok(to) {
                    return Err(Reject::InvalidSymbol);
                }
            }
            PointsAction::Convert { from, to, amount, .. } => {
                if !symbol_ok(from) || !symbol_ok(to) {
                    return Err(Reject::InvalidSymbol);
                }
                if from == to {
                    return Err(Reject::SameAsset);
                }
                if *amount == 0 {
                    return Err(Reject::ZeroAmount);
                }
            }
            PointsAction::ClearingSettle { symbol, amount, .. } => {
                if !symbol_ok(symbol) {
                    return Err(Reject::InvalidSymbol);
                }
                if *amount == 0 {
                    return Err(Reject::ZeroAmount);
                }
            }
            PointsAction::ClearingConfirm { symbol, amount, reference, .. } => {
                if !symbol_ok(symbol) {
                    return Err(Reject::InvalidSymbol);
                }
                if *amount == 0 {
                    return Err(Reject::ZeroAmount);
                }
                if reference.is_empty() || reference.len() > SETTLEMENT_REF_BYTES_MAX {
                    return Err(Reject::InvalidSettlementRef);
                }
            }
            PointsAction::Withdraw { symbol, amount, legacy_account } => {
                if !symbol_ok(symbol) {
                    return Err(Reject::InvalidSymbol);
                }
                if *amount == 0 {
                    return Err(Reject::ZeroAmount);
                }
                if legacy_account.is_empty() || legacy_account.len() > LEGACY_ACCOUNT_BYTES_MAX {
                    return Err(Reject::InvalidLegacyAccount);
                }
            }
        }
        Ok(())
    }

    fn read_keys(&self, signer: &Address, action: &Action, out: &mut Vec<StateKey>) {
        let Some(action) = points(action) else { return };
        match action {
            PointsAction::CreateAsset { symbol, .. } => out.push(keys::asset(symbol)),
            PointsAction::Mint { symbol, to, external_ref, .. } => {
                out.push(keys::asset(symbol));
                out.push(accord_exec::keys::supply(symbol));
                out.push(accord_exec::keys::account(to));
                if let Some(r) = external_ref {
                    out.push(keys::external_ref(symbol, r));
                }
            }
            PointsAction::Transfer { symbol, to, .. } => {
                out.push(keys::asset(symbol));
                out.push(accord_exec::keys::supply(symbol));
                out.push(accord_exec::keys::account(to));
            }
            PointsAction::Burn { symbol, .. } | PointsAction::Withdraw { symbol, .. } => {
                out.push(keys::asset(symbol));
                out.push(accord_exec::keys::supply(symbol));
            }
            PointsAction::RoutePropose { from, to, terms } => exchange::propose_keys(from, to, terms, out),
            PointsAction::RouteAccept { from, to, .. } => {
                out.extend([keys::route(from, to), keys::asset(from), keys::asset(to)]);
            }
            PointsAction::RouteSuspend { from, to } | PointsAction::RouteResume { from, to } => out.push(keys::route(from, to)),
            PointsAction::Convert { from, to, .. } => exchange::convert_keys(signer, from, to, out),
            PointsAction::ClearingSettle { counterparty, symbol, .. } => {
                out.push(keys::asset(symbol));
                out.push(keys::clearing(signer, counterparty, symbol));
                out.push(keys::clearing_open());
                out.push(accord_exec::keys::account(counterparty));
                out.push(accord_exec::keys::supply(symbol));
            }
            PointsAction::ClearingConfirm { counterparty, symbol, .. } => {
                out.push(keys::clearing(signer, counterparty, symbol));
                out.push(keys::clearing_open());
            }
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
        // Units of an asset with a lifetime wait in the expiry slot of their lot.
        let lifetime_of = |symbol: &str| {
            get(&keys::asset(symbol)).and_then(|b| AssetRecord::decode(&b).ok()).and_then(|a| a.lifetime_ms)
        };
        let lot_keys = |symbol: &str, out: &mut Vec<StateKey>| {
            if let Some(lifetime) = lifetime_of(symbol) {
                expiry::register_keys(info.timestamp_ms.saturating_add(lifetime), out);
            }
        };
        match points(action) {
            Some(PointsAction::Mint { symbol, .. }) | Some(PointsAction::Transfer { symbol, .. }) => lot_keys(symbol, out),
            Some(PointsAction::Convert { to, .. }) => lot_keys(to, out),
            _ => {}
        }
        // A route's clearing is between the issuers of its two assets.
        let issuer_of = |symbol: &str| get(&keys::asset(symbol)).and_then(|b| AssetRecord::decode(&b).ok()).map(|a| a.issuer);
        let clearing_key = |from: &str, to: &str, settlement: &str, out: &mut Vec<StateKey>| {
            if let (Some(a), Some(b)) = (issuer_of(from), issuer_of(to)) {
                out.push(keys::clearing(&a, &b, settlement));
            }
        };
        match points(action) {
            Some(PointsAction::RouteAccept { from, to, terms }) => clearing_key(from, to, &terms.settlement_symbol, out),
            Some(PointsAction::Convert { from, to, .. }) => {
                if let Some(terms) = exchange::fetched_route(get, from, to).and_then(|r| r.terms) {
                    clearing_key(from, to, &terms.settlement_symbol, out);
                }
            }
            _ => {}
        }
    }

    fn block_keys(&self, info: BlockInfo, get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, out: &mut Vec<StateKey>) {
        clearing::block_keys(info.timestamp_ms, get, out);
        expiry::block_keys(info.timestamp_ms, get, out);
    }

    fn end_block(&self, ctx: &mut Overlay<'_>) -> Result<(), ExecError> {
        clearing::end_block(ctx)?;
        expiry::end_block(ctx)
    }

    fn apply(&self, ctx: &mut Overlay<'_>, signer: &Address, action: &Action) -> Result<(), Failure> {
        match points(action).ok_or(Reject::Malformed)? {
            PointsAction::CreateAsset {
                symbol,
                name,
                decimals,
                kind,
                max_supply,
                mint_limit_per_day,
                transferable,
                lifetime_ms,
            } => {
                if state::asset(ctx, symbol)?.is_some() {
                    return Err(Reject::DuplicateSymbol.into());
                }
                let record = AssetRecord {
                    symbol: symbol.clone(),
                    name: name.clone(),
                    decimals: *decimals,
                    kind: *kind,
                    issuer: *signer,
                    max_supply: *max_supply,
                    mint_limit_per_day: *mint_limit_per_day,
                    transferable: *transferable,
                    created_height: ctx.info().height,
                    mint_day: 0,
                    minted_today: 0,
                    mint_count: 0,
                    lifetime_ms: *lifetime_ms,
                };
                state::put_asset(ctx, &record);
                ctx.emit(Event::AssetCreated { symbol: symbol.clone(), issuer: *signer });
                Ok(())
            }
            PointsAction::Mint { symbol, to, amount, reason, external_ref } => {
                mint(ctx, signer, symbol, to, *amount, reason, external_ref.as_deref())
            }
            PointsAction::Transfer { symbol, to, amount } => {
                let asset = state::asset(ctx, symbol)?.ok_or(Reject::UnknownAsset)?;
                if !asset.transferable && *signer != asset.issuer && *to != asset.issuer {
                    return Err(Reject::NotTransferable.into());
                }
                match asset.lifetime_ms {
                    // Points with a lifetime: redeemed to the issuer (oldest lots first), or
                    // given by the issuer in a new lot.
                    Some(_) if *to == asset.issuer => ctx.redeem(signer, to, symbol, *amount)?,
                    Some(lifetime) => {
                        let expires_at = ctx.info().timestamp_ms.saturating_add(lifetime);
                        let holding = ctx.grant_lot(signer, to, symbol, *amount, expires_at)?;
                        expiry::register(ctx, to, symbol, &holding)?;
                    }
                    None => ctx.transfer(signer, to, symbol, *amount)?,
                }
                ctx.emit(Event::Transferred { symbol: symbol.clone(), from: *signer, to: *to, amount: *amount });
                Ok(())
            }
            PointsAction::Burn { symbol, amount } => {
                state::asset(ctx, symbol)?.ok_or(Reject::UnknownAsset)?;
                ctx.burn(signer, symbol, *amount)?;
                ctx.emit(Event::Burned { symbol: symbol.clone(), from: *signer, amount: *amount });
                Ok(())
            }
            PointsAction::RoutePropose { from, to, terms } => exchange::propose(ctx, signer, from, to, terms),
            PointsAction::RouteAccept { from, to, terms } => exchange::accept(ctx, signer, from, to, terms),
            PointsAction::RouteSuspend { from, to } => exchange::suspend(ctx, signer, from, to, true),
            PointsAction::RouteResume { from, to } => exchange::suspend(ctx, signer, from, to, false),
            PointsAction::Convert { from, to, amount, min_received } => {
                exchange::convert(ctx, signer, from, to, *amount, *min_received)
            }
            PointsAction::ClearingSettle { counterparty, symbol, amount } => {
                clearing::settle(ctx, signer, counterparty, symbol, *amount)
            }
            PointsAction::ClearingConfirm { counterparty, symbol, amount, reference } => {
                clearing::confirm(ctx, signer, counterparty, symbol, *amount, reference)
            }
            PointsAction::Withdraw { symbol, amount, legacy_account } => {
                state::asset(ctx, symbol)?.ok_or(Reject::UnknownAsset)?;
                ctx.burn(signer, symbol, *amount)?;
                ctx.emit(Event::Withdrawn {
                    symbol: symbol.clone(),
                    from: *signer,
                    amount: *amount,
                    legacy_account: legacy_account.clone(),
                });
                Ok(())
            }
        }
    }
}

fn mint(
    ctx: &mut Overlay<'_>,
    signer: &Address,
    symbol: &str,
    to: &Address,
    amount: u128,
    reason: &str,
    external_ref: Option<&str>,
) -> Result<(), Failure> {
    let mut asset = state::asset(ctx, symbol)?.ok_or(Reject::UnknownAsset)?;
    if *signer != asset.issuer {
        return Err(Reject::NotIssuer.into());
    }
    let supply = ctx.supply(symbol)?;
    if let Some(max) = asset.max_supply {
        let after = supply.circulating().checked_add(amount).ok_or(Reject::AmountOverflow)?;
        if after > max {
            return Err(Reject::OverMaxSupply.into());
        }
    }
    let info = ctx.info();
    let day = info.timestamp_ms / DAY_MS;
    if day != asset.mint_day {
        asset.mint_day = day;
        asset.minted_today = 0;
    }
    let minted_today = asset.minted_today.checked_add(amount).ok_or(Reject::AmountOverflow)?;
    if let Some(limit) = asset.mint_limit_per_day {
        if minted_today > limit {
            return Err(Reject::OverDailyMintLimit.into());
        }
    }
    asset.minted_today = minted_today;
    if let Some(r) = external_ref {
        let key = keys::external_ref(symbol, r);
        if ctx.get(&key)?.is_some() {
            return Err(Reject::ExternalRefUsed.into());
        }
        ctx.put(key, info.height.to_be_bytes().to_vec());
    }
    let record = MintRecord {
        height: info.height,
        timestamp_ms: info.timestamp_ms,
        to: *to,
        amount,
        reason: reason.to_string(),
        external_ref: external_ref.map(str::to_string),
    };
    ctx.put(keys::mint_record(symbol, asset.mint_count), record.encode());
    asset.mint_count += 1;
    state::put_asset(ctx, &asset);
    match asset.lifetime_ms {
        Some(lifetime) if *to != asset.issuer => {
            let holding = ctx.mint_lot(to, symbol, amount, info.timestamp_ms.saturating_add(lifetime))?;
            expiry::register(ctx, to, symbol, &holding)?;
        }
        _ => ctx.mint(to, symbol, amount)?,
    }
    ctx.emit(Event::Minted {
        symbol: symbol.to_string(),
        to: *to,
        amount,
        reason: reason.to_string(),
        external_ref: external_ref.map(str::to_string),
    });
    Ok(())
}

