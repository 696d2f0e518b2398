//! Points and assets: create, mint (issuer only, capped), transfer, burn; figures and history.
//!
//! Rules (SPEC §2): a symbol is unique; only the issuer mints; a mint never takes the
//! circulating supply over `max_supply`, nor one day's mints over `mint_limit_per_day`
//! (days are `timestamp_ms / DAY_MS` of block time); an `external_ref` mints at most once
//! per asset; non-transferable assets move only to or from their issuer.

pub mod keys;
pub mod state;

use accord_exec::{Failure, Module, Overlay, StateKey};
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
            PointsAction::CreateAsset { symbol, name, decimals, max_supply, mint_limit_per_day, .. } => {
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
        }
        Ok(())
    }

    fn read_keys(&self, _signer: &Address, action: &Action, out: &mut Vec<StateKey>) {
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
            PointsAction::Burn { symbol, .. } => {
                out.push(keys::asset(symbol));
                out.push(accord_exec::keys::supply(symbol));
            }
        }
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
                ctx.transfer(signer, to, symbol, *amount)?;
                ctx.emit(Event::Transferred { symbol: symbol.clone(), from: *signer, to: *to, amount: *amount });
                Ok(())
            }
            PointsAction::Burn { symbol, amount } => {
                state::asset(ctx, symbol)?.ok_or(Reject::UnknownAsset)?;
                ctx.burn(signer, symbol, *amount)?;
                ctx.emit(Event::Burned { symbol: symbol.clone(), from: *signer, amount: *amount });
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
    ctx.mint(to, symbol, amount)?;
    ctx.emit(Event::Minted {
        symbol: symbol.to_string(),
        to: *to,
        amount,
        reason: reason.to_string(),
        external_ref: external_ref.map(str::to_string),
    });
    Ok(())
}

