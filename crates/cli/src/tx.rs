//! `accord tx …`: build actions, sign with the `--from` key, submit, wait for commit.

use crate::{passphrase, print, resolve_address, Global};
use accord_types::{Action, AgreementAction, AssetKind, Item, MarketAction, MultisigAction, PointsAction, Transaction};
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::time::Duration;

#[derive(Args, Clone)]
pub struct SendOptions {
    /// A note stored with the transaction: public, unless --memo-for is given.
    #[arg(long, default_value = "")]
    pub memo: String,
    /// Encrypt the memo so that only these accounts (addresses or key names, comma
    /// separated; the sender is added) can read it, with `accord query tx HASH --decrypt`.
    /// Amounts and parties stay public.
    #[arg(long, value_delimiter = ',')]
    pub memo_for: Vec<String>,
    /// Return once queued instead of waiting for the commit.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Subcommand)]
pub enum TxCommand {
    /// Asset actions.
    #[command(subcommand)]
    Asset(AssetCommand),
    /// Move units to another account.
    Transfer {
        /// Address or key name.
        #[arg(long)]
        to: String,
        #[arg(long)]
        symbol: String,
        /// In the asset's smallest unit.
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Multisig accounts.
    #[command(subcommand)]
    Multisig(MultisigCommand),
    /// Revenue-sharing agreements and income rights.
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// Fixed-price sales of an asset amount or an income share.
    #[command(subcommand)]
    Sale(SaleCommand),
    /// English auctions of an asset amount or an income share, settled by the chain at the end.
    #[command(subcommand)]
    Auction(AuctionCommand),
    /// Exchange routes between two issuers' assets.
    #[command(subcommand)]
    Route(RouteCommand),
    /// Convert units along an active route: FROM is burned, TO minted to you.
    Convert {
        /// The asset you give.
        from_asset: String,
        /// The asset you receive.
        to_asset: String,
        #[arg(long)]
        amount: u128,
        /// Refuse if it would pay out less than this (the terms changed meanwhile).
        #[arg(long)]
        min_received: Option<u128>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Clearing between issuers: settle what conversions made one owe the other.
    #[command(subcommand)]
    Clearing(ClearingCommand),
    /// Take units off the ledger into the issuer's own (legacy) system: they are burned
    /// here and the issuer credits LEGACY_ACCOUNT there (it reads `withdrawn` events).
    Withdraw {
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        amount: u128,
        /// Your account id in the issuer's system.
        #[arg(long)]
        legacy_account: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Submit any actions in their JSON form, e.g. '{"type":"burn","symbol":"PARK","amount":"5"}'.
    Send {
        #[arg(long = "action", required = true)]
        actions: Vec<String>,
        #[command(flatten)]
        options: SendOptions,
    },
}

#[derive(Subcommand)]
pub enum RouteCommand {
    /// Propose a route FROM → TO (or new terms for it); you issue one of the two assets.
    /// It runs once the other issuer accepts these exact terms.
    Propose {
        from_asset: String,
        to_asset: String,
        /// Units of TO per unit of FROM: `N/D` or `N` (e.g. 10, 1/10, 3/2).
        #[arg(long)]
        rate: String,
        /// Withheld from what is paid out, in ppm (10000 = 1 %).
        #[arg(long, default_value_t = 0)]
        fee_ppm: u32,
        /// Most units of FROM converted per day.
        #[arg(long)]
        daily_limit: Option<u128>,
        /// The currency asset the two issuers clear in.
        #[arg(long)]
        settle_in: String,
        /// Units of --settle-in the issuer of FROM owes the issuer of TO per unit of FROM
        /// converted: `N/D` or `N`.
        #[arg(long)]
        settle_price: String,
        /// How often obligations are netted (e.g. 1d, 12h).
        #[arg(long, default_value = "1d")]
        clearing_period: String,
        /// Block time (ms) from which conversions are possible (default: at once).
        #[arg(long, default_value_t = 0)]
        valid_from_ms: u64,
        /// How long the route runs from now (e.g. 365d); without it, until changed.
        #[arg(long)]
        valid_for: Option<String>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Accept the terms the other issuer proposed (fetched from the node and signed as they are).
    Accept {
        from_asset: String,
        to_asset: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Stop conversions; they resume once every issuer that suspended it resumed it.
    Suspend {
        from_asset: String,
        to_asset: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Lift your suspension.
    Resume {
        from_asset: String,
        to_asset: String,
        #[command(flatten)]
        options: SendOptions,
    },
}

#[derive(Subcommand)]
pub enum ClearingCommand {
    /// Pay the net you owe the other issuer for closed periods, on the ledger.
    Settle {
        /// The other issuer: address or key name.
        #[arg(long = "with")]
        counterparty: String,
        /// The settlement asset.
        #[arg(long)]
        symbol: String,
        /// The exact net (default: the net the node reports).
        #[arg(long)]
        amount: Option<u128>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Confirm the net was paid off the ledger under REFERENCE; settled once both confirm.
    Confirm {
        #[arg(long = "with")]
        counterparty: String,
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        reference: String,
        /// The exact net (default: the net the node reports).
        #[arg(long)]
        amount: Option<u128>,
        #[command(flatten)]
        options: SendOptions,
    },
}

/// `N/D` or `N` as a fraction of two positive 64-bit numbers.
pub fn fraction(text: &str) -> Result<(u64, u64)> {
    let bad = || anyhow!("`{text}` is not a fraction like 10, 1/10 or 3/2");
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let (n, d): (u64, u64) = (n.trim().parse().map_err(|_| bad())?, d.trim().parse().map_err(|_| bad())?);
    if n == 0 || d == 0 {
        return Err(anyhow!("`{text}`: both parts of a rate are above zero"));
    }
    Ok((n, d))
}

async fn build_exchange(global: &Global, command: TxCommand) -> Result<(Vec<Action>, SendOptions)> {
    let one = |a: PointsAction| vec![Action::Points(a)];
    Ok(match command {
        TxCommand::Route(RouteCommand::Propose {
            from_asset,
            to_asset,
            rate,
            fee_ppm,
            daily_limit,
            settle_in,
            settle_price,
            clearing_period,
            valid_from_ms,
            valid_for,
            options,
        }) => {
            let (rate_num, rate_den) = fraction(&rate)?;
            let (settle_num, settle_den) = fraction(&settle_price)?;
            let valid_until_ms = valid_for.as_deref().map(|d| Ok::<_, anyhow::Error>(now_ms()?.saturating_add(duration_ms(d)?))).transpose()?;
            let terms = accord_types::RouteTerms {
                rate_num,
                rate_den,
                fee_ppm,
                daily_limit,
                valid_from_ms,
                valid_until_ms,
                settlement_symbol: settle_in,
                settle_num,
                settle_den,
                clearing_period_ms: duration_ms(&clearing_period)?,
            };
            (one(PointsAction::RoutePropose { from: from_asset, to: to_asset, terms }), options)
        }
        TxCommand::Route(RouteCommand::Accept { from_asset, to_asset, options }) => {
            let record: serde_json::Value = global.client().get(&format!("/v1/routes/{from_asset}/{to_asset}")).await?;
            let proposed = &record["route"]["proposal"]["terms"];
            if proposed.is_null() {
                return Err(anyhow!("the route {from_asset} → {to_asset} has no terms awaiting acceptance"));
            }
            let terms = serde_json::from_value(proposed.clone()).map_err(|e| anyhow!("the node's terms do not parse: {e}"))?;
            (one(PointsAction::RouteAccept { from: from_asset, to: to_asset, terms }), options)
        }
        TxCommand::Route(RouteCommand::Suspend { from_asset, to_asset, options }) => {
            (one(PointsAction::RouteSuspend { from: from_asset, to: to_asset }), options)
        }
        TxCommand::Route(RouteCommand::Resume { from_asset, to_asset, options }) => {
            (one(PointsAction::RouteResume { from: from_asset, to: to_asset }), options)
        }
        TxCommand::Convert { from_asset, to_asset, amount, min_received, options } => {
            (one(PointsAction::Convert { from: from_asset, to: to_asset, amount, min_received }), options)
        }
        TxCommand::Clearing(ClearingCommand::Settle { counterparty, symbol, amount, options }) => {
            let counterparty = resolve_address(global, &counterparty)?;
            let amount = match amount {
                Some(a) => a,
                None => reported_net(global, &counterparty, &symbol).await?,
            };
            (one(PointsAction::ClearingSettle { counterparty, symbol, amount }), options)
        }
        TxCommand::Clearing(ClearingCommand::Confirm { counterparty, symbol, reference, amount, options }) => {
            let counterparty = resolve_address(global, &counterparty)?;
            let amount = match amount {
                Some(a) => a,
                None => reported_net(global, &counterparty, &symbol).await?,
            };
            (one(PointsAction::ClearingConfirm { counterparty, symbol, amount, reference }), options)
        }
        TxCommand::Withdraw { symbol, amount, legacy_account, options } => {
            (one(PointsAction::Withdraw { symbol, amount, legacy_account }), options)
        }
        _ => return Err(anyhow!("not an exchange command")),
    })
}

/// The net of closed clearing periods between the signer and `counterparty`, as the node says.
async fn reported_net(global: &Global, counterparty: &accord_types::Address, symbol: &str) -> Result<u128> {
    let from = global.from.clone().ok_or_else(|| anyhow!("--from KEYNAME is required to sign"))?;
    let me = global.keystore().show(&from).map_err(|e| anyhow!("{e}"))?.address;
    let record: serde_json::Value = global.client().get(&format!("/v1/clearings/{me}/{counterparty}/{symbol}")).await?;
    let amount = record["net"]["amount"].as_str().ok_or_else(|| anyhow!("nothing is owed between you and {counterparty} in {symbol} for closed periods"))?;
    amount.parse().map_err(|_| anyhow!("the node's net `{amount}` is not an amount"))
}

#[derive(Subcommand)]
pub enum AgreementCommand {
    /// Draft an agreement (its address is in the `agreement_created` event).
    Create {
        /// The asset its income is paid in.
        #[arg(long)]
        income_symbol: String,
        /// ADDRESS_OR_KEY=PPM; repeat for each party. Shares sum to 1000000.
        #[arg(long = "party", required = true)]
        parties: Vec<String>,
        /// Hex SHA-256 of the legal text.
        #[arg(long)]
        legal_hash: String,
        /// Who may amend it: an address or key name (e.g. a multisig).
        #[arg(long)]
        amender: String,
        #[arg(long)]
        expires_at_ms: Option<u64>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Sign as a party, naming the legal text's hash you agree to.
    Sign {
        #[arg(long)]
        agreement: String,
        /// Hex SHA-256 of the legal text you read.
        #[arg(long)]
        legal_hash: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Pay income: split among the current share holders in the same transaction.
    Pay {
        #[arg(long)]
        agreement: String,
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Give part of your share, for good or until a time.
    Give {
        #[arg(long)]
        agreement: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        share_ppm: u32,
        /// Block time (ms) at which the share returns to you.
        #[arg(long)]
        until_ms: Option<u64>,
        #[command(flatten)]
        options: SendOptions,
    },
}

/// What a listing offers: `--asset SYMBOL --amount N`, or `--agreement A --share-ppm P`
/// (with `--period` for an income right that reverts).
#[derive(Args)]
pub struct ItemArgs {
    /// Offer units of this asset (held in escrow until the listing closes).
    #[arg(long, requires = "amount", conflicts_with = "agreement")]
    pub asset: Option<String>,
    /// How many units of --asset, in its smallest unit.
    #[arg(long)]
    pub amount: Option<u128>,
    /// Offer part of your share of this agreement's income (locked until the listing closes).
    #[arg(long, requires = "share_ppm")]
    pub agreement: Option<String>,
    /// How much of your share, in ppm of the agreement's income.
    #[arg(long)]
    pub share_ppm: Option<u32>,
    /// Sell the share for this long after the sale (e.g. 365d, 12h, 90s), then it reverts to
    /// you; without it the share is sold for good.
    #[arg(long, requires = "agreement")]
    pub period: Option<String>,
}

impl ItemArgs {
    fn item(&self, global: &Global) -> Result<Item> {
        match (&self.asset, self.amount, &self.agreement, self.share_ppm) {
            (Some(symbol), Some(amount), None, _) => Ok(Item::Asset { symbol: symbol.clone(), amount }),
            (None, _, Some(agreement), Some(share_ppm)) => Ok(Item::Share {
                agreement: resolve_address(global, agreement)?,
                share_ppm,
                period_ms: self.period.as_deref().map(duration_ms).transpose()?,
            }),
            _ => Err(anyhow!("say what to sell: --asset SYMBOL --amount N, or --agreement ADDRESS --share-ppm PPM")),
        }
    }
}

/// `1500ms`, `90s`, `15m`, `12h`, `365d` in milliseconds.
pub fn duration_ms(text: &str) -> Result<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| anyhow!("`{text}` is not a duration like 90s, 15m, 12h or 365d"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(anyhow!("`{text}`: the unit is ms, s, m, h or d")),
    };
    n.checked_mul(unit_ms).ok_or_else(|| anyhow!("`{text}` is too long"))
}

#[derive(Subcommand)]
pub enum SaleCommand {
    /// List an item at a fixed price (the listing's address is in the `listing_created` event).
    Create {
        #[command(flatten)]
        item: ItemArgs,
        /// The asset the price is paid in.
        #[arg(long)]
        price_symbol: String,
        #[arg(long)]
        price: u128,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Buy a listed item at its price.
    Buy {
        #[arg(long)]
        listing: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Withdraw your sale; the item comes back.
    Cancel {
        #[arg(long)]
        listing: String,
        #[command(flatten)]
        options: SendOptions,
    },
}

#[derive(Subcommand)]
pub enum AuctionCommand {
    /// Start an English auction (its address is in the `listing_created` event).
    Create {
        #[command(flatten)]
        item: ItemArgs,
        /// The asset bids are made in.
        #[arg(long)]
        price_symbol: String,
        /// The lowest first bid.
        #[arg(long)]
        reserve: u128,
        /// How much each bid must beat the highest by.
        #[arg(long, default_value_t = 1)]
        min_increment: u128,
        /// How long from now it runs (e.g. 10m, 7d).
        #[arg(long)]
        ends_in: String,
        /// A bid closer than this to the end moves the end to this long after the bid (0: never).
        #[arg(long, default_value = "0s")]
        extension: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Bid; the amount is held until you are outbid (refunded at once) or the auction ends.
    Bid {
        #[arg(long)]
        listing: String,
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Withdraw your auction before its first bid.
    Cancel {
        #[arg(long)]
        listing: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Retry settling an ended auction whose automatic settlement failed.
    Settle {
        #[arg(long)]
        listing: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Collect a refund or payment the market owes you (it could not be credited when due).
    Claim {
        #[arg(long)]
        symbol: String,
        #[command(flatten)]
        options: SendOptions,
    },
}

fn now_ms() -> Result<u64> {
    Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64)
}

fn build_market(global: &Global, command: TxCommand) -> Result<(Vec<Action>, SendOptions)> {
    let one = |a: MarketAction| vec![Action::Market(a)];
    let listing = |text: &str| resolve_address(global, text);
    Ok(match command {
        TxCommand::Sale(SaleCommand::Create { item, price_symbol, price, options }) => {
            (one(MarketAction::SaleCreate { item: item.item(global)?, price_symbol, price }), options)
        }
        TxCommand::Sale(SaleCommand::Buy { listing: l, options }) => (one(MarketAction::SaleBuy { listing: listing(&l)? }), options),
        TxCommand::Sale(SaleCommand::Cancel { listing: l, options })
        | TxCommand::Auction(AuctionCommand::Cancel { listing: l, options }) => {
            (one(MarketAction::ListingCancel { listing: listing(&l)? }), options)
        }
        TxCommand::Auction(AuctionCommand::Create {
            item,
            price_symbol,
            reserve,
            min_increment,
            ends_in,
            extension,
            options,
        }) => (
            one(MarketAction::AuctionCreate {
                item: item.item(global)?,
                price_symbol,
                reserve,
                min_increment,
                ends_at_ms: now_ms()?.saturating_add(duration_ms(&ends_in)?),
                extension_ms: duration_ms(&extension)?,
            }),
            options,
        ),
        TxCommand::Auction(AuctionCommand::Bid { listing: l, amount, options }) => {
            (one(MarketAction::AuctionBid { listing: listing(&l)?, amount }), options)
        }
        TxCommand::Auction(AuctionCommand::Settle { listing: l, options }) => {
            (one(MarketAction::AuctionSettle { listing: listing(&l)? }), options)
        }
        TxCommand::Auction(AuctionCommand::Claim { symbol, options }) => {
            (one(MarketAction::ClaimWithdraw { symbol }), options)
        }
        _ => return Err(anyhow!("not a market command")),
    })
}

fn hash32(text: &str) -> Result<[u8; 32]> {
    let raw = hex::decode(text).map_err(|_| anyhow!("--legal-hash is 64 hex characters"))?;
    raw.try_into().map_err(|_| anyhow!("--legal-hash is 64 hex characters"))
}

fn party(global: &Global, text: &str) -> Result<accord_types::Party> {
    let (who, ppm) = text.split_once('=').ok_or_else(|| anyhow!("a party is ADDRESS_OR_KEY=PPM, got `{text}`"))?;
    let share_ppm = ppm.parse().map_err(|_| anyhow!("`{ppm}` is not a share in ppm"))?;
    Ok(accord_types::Party { address: resolve_address(global, who)?, share_ppm })
}

fn build_agreement(global: &Global, command: AgreementCommand) -> Result<(Vec<Action>, SendOptions)> {
    let one = |a: AgreementAction| vec![Action::Agreement(a)];
    Ok(match command {
        AgreementCommand::Create { income_symbol, parties, legal_hash, amender, expires_at_ms, options } => {
            let parties = parties.iter().map(|p| party(global, p)).collect::<Result<Vec<_>>>()?;
            let legal_hash = hash32(&legal_hash)?;
            let amender = resolve_address(global, &amender)?;
            (one(AgreementAction::AgreementCreate { income_symbol, parties, legal_hash, expires_at_ms, amender }), options)
        }
        AgreementCommand::Sign { agreement, legal_hash, options } => (
            one(AgreementAction::AgreementSign {
                agreement: resolve_address(global, &agreement)?,
                legal_hash: hash32(&legal_hash)?,
            }),
            options,
        ),
        AgreementCommand::Pay { agreement, amount, options } => {
            (one(AgreementAction::AgreementPay { agreement: resolve_address(global, &agreement)?, amount }), options)
        }
        AgreementCommand::Give { agreement, to, share_ppm, until_ms, options } => (
            one(AgreementAction::ShareTransfer {
                agreement: resolve_address(global, &agreement)?,
                to: resolve_address(global, &to)?,
                share_ppm,
                until_ms,
            }),
            options,
        ),
    })
}

#[derive(Subcommand)]
pub enum MultisigCommand {
    /// Create an M-of-N account (its address is in the `multisig_created` event).
    Create {
        /// Address or key name; repeat for each member.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        #[arg(long)]
        threshold: u8,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Propose actions (JSON, as for `tx send`) for the multisig to sign.
    Propose {
        #[arg(long)]
        multisig: String,
        #[arg(long = "action", required = true)]
        actions: Vec<String>,
        /// How long members have to approve.
        #[arg(long, default_value_t = 86_400)]
        expires_in_s: u64,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Approve a proposal (its actions are fetched from the node and signed as they are).
    Approve {
        #[arg(long)]
        multisig: String,
        #[arg(long)]
        proposal: u64,
        #[command(flatten)]
        options: SendOptions,
    },
}

#[derive(Subcommand)]
pub enum AssetCommand {
    /// Create an asset issued by the signer.
    Create {
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 0)]
        decimals: u8,
        /// points, currency, time_credits or shares.
        #[arg(long, default_value = "points")]
        kind: String,
        #[arg(long)]
        max_supply: Option<u128>,
        #[arg(long)]
        mint_limit_per_day: Option<u128>,
        /// Holders cannot transfer it (only to or from the issuer).
        #[arg(long)]
        non_transferable: bool,
        /// Units expire this long after a holder gets them from the issuer (e.g. 30d);
        /// holders spend their oldest first. Implies --non-transferable.
        #[arg(long)]
        lifetime: Option<String>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Issue units (issuer only).
    Mint {
        #[arg(long)]
        symbol: String,
        /// Address or key name.
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u128,
        #[arg(long)]
        reason: String,
        /// A reference that can be used once per asset (e.g. a legacy system's id).
        #[arg(long)]
        external_ref: Option<String>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Destroy units the signer holds.
    Burn {
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        options: SendOptions,
    },
}

fn kind(text: &str) -> Result<AssetKind> {
    serde_json::from_value(json!(text)).map_err(|_| anyhow!("kind is points, currency, time_credits or shares"))
}

fn parse_actions(actions: &[String]) -> Result<Vec<Action>> {
    actions
        .iter()
        .map(|a| serde_json::from_str(a).with_context(|| format!("action `{a}` is not valid JSON of an action")))
        .collect()
}

async fn build_multisig(global: &Global, command: MultisigCommand) -> Result<(Vec<Action>, SendOptions)> {
    Ok(match command {
        MultisigCommand::Create { members, threshold, options } => {
            let members = members.iter().map(|m| resolve_address(global, m)).collect::<Result<Vec<_>>>()?;
            (vec![Action::Multisig(MultisigAction::MultisigCreate { members, threshold })], options)
        }
        MultisigCommand::Propose { multisig, actions, expires_in_s, options } => {
            let multisig = resolve_address(global, &multisig)?;
            let expires_at_ms = now_ms()? + expires_in_s.saturating_mul(1000);
            let actions = parse_actions(&actions)?;
            (vec![Action::Multisig(MultisigAction::MultisigPropose { multisig, actions, expires_at_ms })], options)
        }
        MultisigCommand::Approve { multisig, proposal, options } => {
            let multisig = resolve_address(global, &multisig)?;
            let record: serde_json::Value =
                global.client().get(&format!("/v1/multisig/{multisig}/proposals/{proposal}")).await?;
            let actions: Vec<Action> = serde_json::from_value(record["proposal"]["actions"].clone())
                .map_err(|e| anyhow!("the node's proposal does not parse: {e}"))?;
            (vec![Action::Multisig(MultisigAction::MultisigApprove { multisig, proposal, actions })], options)
        }
    })
}

async fn build(global: &Global, command: TxCommand) -> Result<(Vec<Action>, SendOptions)> {
    Ok(match command {
        TxCommand::Multisig(c) => build_multisig(global, c).await?,
        TxCommand::Agreement(c) => build_agreement(global, c)?,
        c @ (TxCommand::Sale(_) | TxCommand::Auction(_)) => build_market(global, c)?,
        c @ (TxCommand::Route(_) | TxCommand::Convert { .. } | TxCommand::Clearing(_) | TxCommand::Withdraw { .. }) => {
            build_exchange(global, c).await?
        }
        TxCommand::Transfer { to, symbol, amount, options } => {
            let to = resolve_address(global, &to)?;
            (vec![Action::Points(PointsAction::Transfer { symbol, to, amount })], options)
        }
        TxCommand::Send { actions, options } => (parse_actions(&actions)?, options),
        TxCommand::Asset(AssetCommand::Create {
            symbol,
            name,
            decimals,
            kind: k,
            max_supply,
            mint_limit_per_day,
            non_transferable,
            lifetime,
            options,
        }) => {
            let lifetime_ms = lifetime.as_deref().map(duration_ms).transpose()?;
            (
                vec![Action::Points(PointsAction::CreateAsset {
                    symbol,
                    name,
                    decimals,
                    kind: kind(&k)?,
                    max_supply,
                    mint_limit_per_day,
                    transferable: !non_transferable && lifetime_ms.is_none(),
                    lifetime_ms,
                })],
                options,
            )
        }
        TxCommand::Asset(AssetCommand::Mint { symbol, to, amount, reason, external_ref, options }) => {
            let to = resolve_address(global, &to)?;
            (vec![Action::Points(PointsAction::Mint { symbol, to, amount, reason, external_ref })], options)
        }
        TxCommand::Asset(AssetCommand::Burn { symbol, amount, options }) => {
            (vec![Action::Points(PointsAction::Burn { symbol, amount })], options)
        }
    })
}

pub async fn run(global: &Global, command: TxCommand) -> Result<()> {
    let (actions, options) = build(global, command).await?;
    let from = global.from.clone().ok_or_else(|| anyhow!("--from KEYNAME is required to sign"))?;
    let store = global.keystore();
    let info = store.show(&from).map_err(|e| anyhow!("{e}"))?;
    let pass = if info.insecure { String::new() } else { passphrase()? };
    let key = store.unlock(&from, &pass).map_err(|e| anyhow!("{e}"))?;
    let client = global.client();
    let status = client.status().await?;
    let chain_id = status["chain_id"].as_str().ok_or_else(|| anyhow!("the node did not say its chain id"))?;
    let account = client.account(&info.address).await?;
    let nonce = account["next_nonce"].as_u64().ok_or_else(|| anyhow!("the node did not say the next nonce"))?;
    let memo = if options.memo_for.is_empty() {
        options.memo
    } else {
        if options.memo.is_empty() {
            return Err(anyhow!("--memo-for needs a --memo to encrypt"));
        }
        let mut readers = vec![info.address];
        for who in &options.memo_for {
            readers.push(resolve_address(global, who)?);
        }
        accord_client::memo::seal(&options.memo, &readers, accord_types::limits::MEMO_BYTES_MAX).map_err(|e| anyhow!("{e}"))?
    };
    let tx = Transaction { chain_id: chain_id.to_string(), signer: info.address, nonce, actions, memo }.sign(&key);
    submit(global, &client, &tx, options.no_wait).await
}

/// Submit `tx` and (unless `no_wait`) wait for its commit; print the outcome, and fail if
/// it was rejected.
pub async fn submit(global: &Global, client: &accord_client::Client, tx: &accord_types::SignedTx, no_wait: bool) -> Result<()> {
    let hash = client.submit(tx).await?;
    if no_wait {
        print(global, &json!({ "hash": hash.to_string(), "status": "pending" }));
        return Ok(());
    }
    let result = client.wait(&hash, Duration::from_secs(60)).await?;
    print(global, &result);
    if result["status"] != "committed" {
        return Err(anyhow!("transaction {hash} was rejected: {}", result["error"]));
    }
    Ok(())
}
