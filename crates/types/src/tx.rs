//! Transactions: what a signer asks the ledger to do, its canonical bytes and its signature.
//!
//! `body = encode(Transaction)`, `hash = sha256(body)`, and the signature is ed25519 over
//! `union_unique("accord/tx", hash)` (see `docs/encoding.md` for the exact bytes).

use crate::address::Address;
use crate::codec::{DecodeError, Reader, Writer};
use crate::limits::*;
use crate::{sha256, Amount, Hash32};
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{ed25519, BatchEntry, BatchVerifier, Signer, Verifier};
use serde::{Deserialize, Serialize};

/// The namespace every transaction signature is made under.
pub const TX_NAMESPACE: &[u8] = b"accord/tx";

/// A transaction's id: SHA-256 of its body.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxHash(pub Hash32);

impl std::fmt::Display for TxHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for TxHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::str::FromStr for TxHash {
    type Err = DecodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let raw = hex::decode(text).map_err(|_| DecodeError::Invalid("tx hash"))?;
        Ok(TxHash(raw.try_into().map_err(|_| DecodeError::Invalid("tx hash"))?))
    }
}

/// What an asset's units stand for. Informational: the rules are the same for every kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Points = 0,
    Currency = 1,
    TimeCredits = 2,
    Shares = 3,
}

impl AssetKind {
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => Self::Points,
            1 => Self::Currency,
            2 => Self::TimeCredits,
            3 => Self::Shares,
            _ => return Err(DecodeError::Invalid("asset kind")),
        })
    }
}

/// Amounts travel in JSON as decimal strings: u128 does not fit a JSON number.
pub mod amount_text {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(u64),
        }
        match Either::deserialize(d)? {
            Either::Text(t) => t.parse().map_err(serde::de::Error::custom),
            Either::Number(n) => Ok(u128::from(n)),
        }
    }
}

/// Optional amounts as decimal strings.
pub mod opt_amount_text {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| t.parse().map_err(serde::de::Error::custom)).transpose()
    }
}

/// Actions of the points module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PointsAction {
    /// Create an asset whose issuer is the signer.
    CreateAsset {
        symbol: String,
        name: String,
        decimals: u8,
        kind: AssetKind,
        #[serde(default, with = "opt_amount_text", skip_serializing_if = "Option::is_none")]
        max_supply: Option<Amount>,
        #[serde(default, with = "opt_amount_text", skip_serializing_if = "Option::is_none")]
        mint_limit_per_day: Option<Amount>,
        #[serde(default = "yes")]
        transferable: bool,
        /// Units expire this long after they are minted (or given by the issuer); holders
        /// spend their oldest first. An asset with a lifetime must be non-transferable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lifetime_ms: Option<u64>,
    },
    /// Issue new units to `to` (issuer only).
    Mint {
        symbol: String,
        to: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_ref: Option<String>,
    },
    /// Move units from the signer to `to`.
    Transfer {
        symbol: String,
        to: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// Destroy units the signer holds.
    Burn {
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// Propose a route from `from` to `to` on `terms` (or new terms for an existing route).
    /// The signer issues one of the two assets; the route runs on these terms once the
    /// other issuer accepts them.
    RoutePropose { from: String, to: String, terms: RouteTerms },
    /// Accept the terms the other issuer proposed; they must be exactly the proposed ones.
    RouteAccept { from: String, to: String, terms: RouteTerms },
    /// Stop conversions on a route (either issuer); it runs again once every issuer that
    /// suspended it has resumed it.
    RouteSuspend { from: String, to: String },
    /// Lift the signer's own suspension of a route.
    RouteResume { from: String, to: String },
    /// Convert `amount` of `from` held by the signer along the active route: `from` is
    /// burned, `to` is minted (within its caps), and the route's issuers owe each other
    /// for it at the next clearing.
    Convert {
        from: String,
        to: String,
        #[serde(with = "amount_text")]
        amount: Amount,
        /// Refuse the conversion if it would pay out less than this (terms changed meanwhile).
        #[serde(default, with = "opt_amount_text", skip_serializing_if = "Option::is_none")]
        min_received: Option<Amount>,
    },
    /// Pay the whole net the signer owes `counterparty` in `symbol` for closed clearing
    /// periods; `amount` must be exactly that net.
    ClearingSettle {
        counterparty: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// Confirm that the net in `symbol` between the signer and `counterparty` was paid off
    /// the ledger under `reference`. Settled once both issuers confirmed the same amount
    /// and reference.
    ClearingConfirm {
        counterparty: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
        reference: String,
    },
    /// Leave the ledger for the issuer's own (legacy) system: `amount` is burned and a
    /// `withdrawn` event tells the issuer to credit `legacy_account` there.
    Withdraw {
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
        legacy_account: String,
    },
}

/// The terms of an exchange route: how units of `from` become units of `to`, and what the
/// issuer of `from` owes the issuer of `to` for each conversion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTerms {
    /// Units of `to` per unit of `from`, as the exact fraction `rate_num / rate_den`.
    pub rate_num: u64,
    pub rate_den: u64,
    /// Part of the converted `to` units withheld by the issuer of `to`, in parts per million.
    #[serde(default)]
    pub fee_ppm: u32,
    /// Most units of `from` converted along the route per day of block time.
    #[serde(default, with = "opt_amount_text", skip_serializing_if = "Option::is_none")]
    pub daily_limit: Option<Amount>,
    /// Conversions are possible from this time on (block time, ms).
    #[serde(default)]
    pub valid_from_ms: u64,
    /// ... and until (not including) this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<u64>,
    /// The currency asset the issuers clear in.
    pub settlement_symbol: String,
    /// Units of `settlement_symbol` owed by the issuer of `from` to the issuer of `to`
    /// per unit of `from` converted: `settle_num / settle_den`.
    pub settle_num: u64,
    pub settle_den: u64,
    /// Obligations between the two issuers are netted at the end of every period of this
    /// length (block time; periods count from time zero).
    #[serde(default = "one_day")]
    pub clearing_period_ms: u64,
}

fn one_day() -> u64 {
    DAY_MS
}

impl RouteTerms {
    pub fn encode(&self, w: &mut Writer) {
        w.u64(self.rate_num);
        w.u64(self.rate_den);
        w.u32(self.fee_ppm);
        w.opt_u128(self.daily_limit);
        w.u64(self.valid_from_ms);
        w.opt_u64(self.valid_until_ms);
        w.bytes8(self.settlement_symbol.as_bytes());
        w.u64(self.settle_num);
        w.u64(self.settle_den);
        w.u64(self.clearing_period_ms);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            rate_num: r.u64("rate numerator")?,
            rate_den: r.u64("rate denominator")?,
            fee_ppm: r.u32("fee")?,
            daily_limit: r.opt_u128("daily limit")?,
            valid_from_ms: r.u64("valid from")?,
            valid_until_ms: r.opt_u64("valid until")?,
            settlement_symbol: r.string8(SYMBOL_BYTES_MAX, "settlement symbol")?,
            settle_num: r.u64("settlement numerator")?,
            settle_den: r.u64("settlement denominator")?,
            clearing_period_ms: r.u64("clearing period")?,
        })
    }
}

fn yes() -> bool {
    true
}

/// Actions of the multisig module: accounts controlled by M of N members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MultisigAction {
    /// Create a multisig account; its address is derived from this transaction.
    MultisigCreate { members: Vec<Address>, threshold: u8 },
    /// Propose that the multisig signs `actions`. The proposer's approval counts if it is a member.
    MultisigPropose { multisig: Address, actions: Vec<Action>, expires_at_ms: u64 },
    /// Approve a proposal. `actions` must be exactly the proposed ones: members sign what runs.
    MultisigApprove { multisig: Address, proposal: u64, actions: Vec<Action> },
    /// Change members and threshold. Only the multisig itself may (through a proposal).
    MultisigUpdate { members: Vec<Address>, threshold: u8 },
}

/// One party of an agreement and its share of the income, in parts per million.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub address: Address,
    pub share_ppm: u32,
}

/// Actions of the agreements module: revenue sharing and income rights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgreementAction {
    /// Draft an agreement; its address is derived from this transaction.
    AgreementCreate {
        income_symbol: String,
        parties: Vec<Party>,
        /// Hex of the SHA-256 of the legal text.
        #[serde(with = "hex32")]
        legal_hash: [u8; 32],
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at_ms: Option<u64>,
        /// Who may amend it (e.g. a multisig of the parties).
        amender: Address,
    },
    /// A party signs the terms with this legal text's hash; the agreement is active once
    /// every party has. A signature for another hash (the text was amended) is refused.
    AgreementSign {
        agreement: Address,
        #[serde(with = "hex32")]
        legal_hash: [u8; 32],
    },
    /// Pay income: split among the current share holders in this transaction.
    AgreementPay {
        agreement: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// Replace the legal text's hash (the amender only).
    AgreementAmend {
        agreement: Address,
        #[serde(with = "hex32")]
        legal_hash: [u8; 32],
    },
    /// Give part of the signer's share to `to` for good, or until `until_ms` (then it reverts).
    ShareTransfer {
        agreement: Address,
        to: Address,
        share_ppm: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<u64>,
    },
}

/// What a sale or an auction offers. It is held from the moment it is listed until the
/// listing closes: an asset amount in escrow, a share locked in its agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// An amount of a transferable asset.
    Asset {
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// Part of the seller's own share of an agreement's income: for good (`period_ms`
    /// none), or for `period_ms` from the sale, after which it reverts to the seller.
    Share {
        agreement: Address,
        share_ppm: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period_ms: Option<u64>,
    },
}

/// One validator of a proposed set: its consensus key (the same 32 bytes as its account
/// address) and its p2p listener, `host:port`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValidatorEntry {
    pub key: Address,
    pub p2p: String,
}

/// Actions of the validators module: changing who keeps the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ValidatorsAction {
    /// Approve `validators` (in ascending key order) as the set of a coming epoch. Only a
    /// validator of the current set may; once a quorum of it approves the same set, the set
    /// takes effect at the next epoch whose set is not frozen yet.
    ApproveValidatorSet { validators: Vec<ValidatorEntry> },
}

/// Actions of the market module: fixed-price sales and English auctions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketAction {
    /// Offer `item` for `price` units of `price_symbol`; the listing's address is derived
    /// from this transaction.
    SaleCreate {
        item: Item,
        price_symbol: String,
        #[serde(with = "amount_text")]
        price: Amount,
    },
    /// Buy a listed item at its price: payment and delivery in this transaction.
    SaleBuy { listing: Address },
    /// Auction `item`: bids in `price_symbol` of at least `reserve`, each beating the
    /// highest by `min_increment`, until `ends_at_ms`. A bid less than `extension_ms`
    /// before the end moves the end to `extension_ms` after the bid (0: never).
    AuctionCreate {
        item: Item,
        price_symbol: String,
        #[serde(with = "amount_text")]
        reserve: Amount,
        #[serde(with = "amount_text")]
        min_increment: Amount,
        ends_at_ms: u64,
        #[serde(default)]
        extension_ms: u64,
    },
    /// Bid `amount`: held in escrow; the bid it beats is refunded in this transaction.
    AuctionBid {
        listing: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// Withdraw a sale, or an auction before its first bid (the seller only).
    ListingCancel { listing: Address },
    /// Retry an ended auction whose automatic settlement could not complete.
    AuctionSettle { listing: Address },
    /// Collect what the market owes the signer in `symbol`: a refund or payment that could
    /// not be credited when it was due (the account was at its asset limit).
    ClaimWithdraw { symbol: String },
}

/// 32 bytes as 64 hex characters in JSON.
pub mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let raw = hex::decode(&text).map_err(serde::de::Error::custom)?;
        raw.try_into().map_err(|_| serde::de::Error::custom("expected 32 bytes of hex"))
    }
}

/// Any action of any module. The wire tag is `module << 8 | action`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Action {
    Points(PointsAction),
    Multisig(MultisigAction),
    Agreement(AgreementAction),
    Market(MarketAction),
    Validators(ValidatorsAction),
}

/// Module number of the points module in action tags.
pub const MODULE_POINTS: u8 = 1;
/// Module number of the multisig module in action tags.
pub const MODULE_MULTISIG: u8 = 2;
/// Module number of the agreements module in action tags.
pub const MODULE_AGREEMENTS: u8 = 3;
/// Module number of the market module in action tags.
pub const MODULE_MARKET: u8 = 4;
/// Module number of the validators module in action tags.
pub const MODULE_VALIDATORS: u8 = 5;

impl Action {
    pub fn module(&self) -> u8 {
        match self {
            Action::Points(_) => MODULE_POINTS,
            Action::Multisig(_) => MODULE_MULTISIG,
            Action::Agreement(_) => MODULE_AGREEMENTS,
            Action::Market(_) => MODULE_MARKET,
            Action::Validators(_) => MODULE_VALIDATORS,
        }
    }

    /// Canonical bytes of a list of actions (a count byte, then each action).
    pub fn encode_list(actions: &[Action]) -> Vec<u8> {
        let mut w = Writer::new();
        encode_actions(actions, &mut w);
        w.finish()
    }

    /// Decode what [`Action::encode_list`] wrote (a proposal's actions: no nested proposals).
    pub fn decode_list(bytes: &[u8]) -> Result<Vec<Action>, DecodeError> {
        let mut r = Reader::new(bytes);
        let actions = decode_actions(&mut r, true)?;
        r.finish()?;
        Ok(actions)
    }

    fn encode(&self, w: &mut Writer) {
        match self {
            Action::Points(a) => encode_points(a, w),
            Action::Multisig(a) => encode_multisig(a, w),
            Action::Agreement(a) => encode_agreement(a, w),
            Action::Market(a) => encode_market(a, w),
            Action::Validators(a) => encode_validators(a, w),
        }
    }

    fn decode(r: &mut Reader<'_>, nested: bool) -> Result<Self, DecodeError> {
        let tag = r.u16("action tag")?;
        let (module, action) = ((tag >> 8) as u8, (tag & 0xff) as u8);
        match module {
            MODULE_POINTS => Ok(Action::Points(decode_points(action, r)?)),
            MODULE_MULTISIG => Ok(Action::Multisig(decode_multisig(action, r, nested)?)),
            MODULE_AGREEMENTS => Ok(Action::Agreement(decode_agreement(action, r)?)),
            MODULE_MARKET => Ok(Action::Market(decode_market(action, r)?)),
            MODULE_VALIDATORS => Ok(Action::Validators(decode_validators(action, r)?)),
            _ => Err(DecodeError::Invalid("action tag")),
        }
    }
}

fn encode_actions(actions: &[Action], w: &mut Writer) {
    w.u8(actions.len() as u8);
    for action in actions {
        action.encode(w);
    }
}

/// Decode a counted list of actions. Inside a proposal (`nested`), a multisig proposal or
/// approval may not appear again: decoding never recurses more than one level.
fn decode_actions(r: &mut Reader<'_>, nested: bool) -> Result<Vec<Action>, DecodeError> {
    let count = r.u8("action count")? as usize;
    if count > ACTIONS_MAX {
        return Err(DecodeError::TooLong { what: "actions", len: count, max: ACTIONS_MAX });
    }
    let mut actions = Vec::with_capacity(count);
    for _ in 0..count {
        actions.push(Action::decode(r, nested)?);
    }
    Ok(actions)
}

fn encode_agreement(a: &AgreementAction, w: &mut Writer) {
    match a {
        AgreementAction::AgreementCreate { income_symbol, parties, legal_hash, expires_at_ms, amender } => {
            w.u16(tag(MODULE_AGREEMENTS, 1));
            w.bytes8(income_symbol.as_bytes());
            w.u8(parties.len() as u8);
            for p in parties {
                w.raw(&p.address.0);
                w.u32(p.share_ppm);
            }
            w.raw(legal_hash);
            w.opt_u64(*expires_at_ms);
            w.raw(&amender.0);
        }
        AgreementAction::AgreementSign { agreement, legal_hash } => {
            w.u16(tag(MODULE_AGREEMENTS, 2));
            w.raw(&agreement.0);
            w.raw(legal_hash);
        }
        AgreementAction::AgreementPay { agreement, amount } => {
            w.u16(tag(MODULE_AGREEMENTS, 3));
            w.raw(&agreement.0);
            w.u128(*amount);
        }
        AgreementAction::AgreementAmend { agreement, legal_hash } => {
            w.u16(tag(MODULE_AGREEMENTS, 4));
            w.raw(&agreement.0);
            w.raw(legal_hash);
        }
        AgreementAction::ShareTransfer { agreement, to, share_ppm, until_ms } => {
            w.u16(tag(MODULE_AGREEMENTS, 5));
            w.raw(&agreement.0);
            w.raw(&to.0);
            w.u32(*share_ppm);
            w.opt_u64(*until_ms);
        }
    }
}

fn decode_agreement(action: u8, r: &mut Reader<'_>) -> Result<AgreementAction, DecodeError> {
    let address = |r: &mut Reader<'_>, what| Ok::<_, DecodeError>(Address(r.array(what)?));
    Ok(match action {
        1 => {
            let income_symbol = r.string8(SYMBOL_BYTES_MAX, "symbol")?;
            let count = r.u8("party count")? as usize;
            if count > AGREEMENT_HOLDERS_MAX {
                return Err(DecodeError::TooLong { what: "parties", len: count, max: AGREEMENT_HOLDERS_MAX });
            }
            let mut parties = Vec::with_capacity(count);
            for _ in 0..count {
                parties.push(Party { address: address(r, "party")?, share_ppm: r.u32("share")? });
            }
            AgreementAction::AgreementCreate {
                income_symbol,
                parties,
                legal_hash: r.array("legal hash")?,
                expires_at_ms: r.opt_u64("expiry")?,
                amender: address(r, "amender")?,
            }
        }
        2 => AgreementAction::AgreementSign { agreement: address(r, "agreement")?, legal_hash: r.array("legal hash")? },
        3 => AgreementAction::AgreementPay { agreement: address(r, "agreement")?, amount: r.u128("amount")? },
        4 => AgreementAction::AgreementAmend { agreement: address(r, "agreement")?, legal_hash: r.array("legal hash")? },
        5 => AgreementAction::ShareTransfer {
            agreement: address(r, "agreement")?,
            to: address(r, "to")?,
            share_ppm: r.u32("share")?,
            until_ms: r.opt_u64("until")?,
        },
        _ => return Err(DecodeError::Invalid("action tag")),
    })
}

impl Item {
    pub fn encode(&self, w: &mut Writer) {
        match self {
            Item::Asset { symbol, amount } => {
                w.u8(1);
                w.bytes8(symbol.as_bytes());
                w.u128(*amount);
            }
            Item::Share { agreement, share_ppm, period_ms } => {
                w.u8(2);
                w.raw(&agreement.0);
                w.u32(*share_ppm);
                w.opt_u64(*period_ms);
            }
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("item kind")? {
            1 => Item::Asset { symbol: r.string8(SYMBOL_BYTES_MAX, "symbol")?, amount: r.u128("amount")? },
            2 => Item::Share {
                agreement: Address(r.array("agreement")?),
                share_ppm: r.u32("share")?,
                period_ms: r.opt_u64("period")?,
            },
            _ => return Err(DecodeError::Invalid("item kind")),
        })
    }
}

fn encode_market(a: &MarketAction, w: &mut Writer) {
    match a {
        MarketAction::SaleCreate { item, price_symbol, price } => {
            w.u16(tag(MODULE_MARKET, 1));
            item.encode(w);
            w.bytes8(price_symbol.as_bytes());
            w.u128(*price);
        }
        MarketAction::SaleBuy { listing } => {
            w.u16(tag(MODULE_MARKET, 2));
            w.raw(&listing.0);
        }
        MarketAction::AuctionCreate { item, price_symbol, reserve, min_increment, ends_at_ms, extension_ms } => {
            w.u16(tag(MODULE_MARKET, 3));
            item.encode(w);
            w.bytes8(price_symbol.as_bytes());
            w.u128(*reserve);
            w.u128(*min_increment);
            w.u64(*ends_at_ms);
            w.u64(*extension_ms);
        }
        MarketAction::AuctionBid { listing, amount } => {
            w.u16(tag(MODULE_MARKET, 4));
            w.raw(&listing.0);
            w.u128(*amount);
        }
        MarketAction::ListingCancel { listing } => {
            w.u16(tag(MODULE_MARKET, 5));
            w.raw(&listing.0);
        }
        MarketAction::AuctionSettle { listing } => {
            w.u16(tag(MODULE_MARKET, 6));
            w.raw(&listing.0);
        }
        MarketAction::ClaimWithdraw { symbol } => {
            w.u16(tag(MODULE_MARKET, 7));
            w.bytes8(symbol.as_bytes());
        }
    }
}

fn decode_market(action: u8, r: &mut Reader<'_>) -> Result<MarketAction, DecodeError> {
    let listing = |r: &mut Reader<'_>| Ok::<_, DecodeError>(Address(r.array("listing")?));
    Ok(match action {
        1 => MarketAction::SaleCreate {
            item: Item::decode(r)?,
            price_symbol: r.string8(SYMBOL_BYTES_MAX, "price symbol")?,
            price: r.u128("price")?,
        },
        2 => MarketAction::SaleBuy { listing: listing(r)? },
        3 => MarketAction::AuctionCreate {
            item: Item::decode(r)?,
            price_symbol: r.string8(SYMBOL_BYTES_MAX, "price symbol")?,
            reserve: r.u128("reserve")?,
            min_increment: r.u128("min increment")?,
            ends_at_ms: r.u64("end")?,
            extension_ms: r.u64("extension")?,
        },
        4 => MarketAction::AuctionBid { listing: listing(r)?, amount: r.u128("amount")? },
        5 => MarketAction::ListingCancel { listing: listing(r)? },
        6 => MarketAction::AuctionSettle { listing: listing(r)? },
        7 => MarketAction::ClaimWithdraw { symbol: r.string8(SYMBOL_BYTES_MAX, "symbol")? },
        _ => return Err(DecodeError::Invalid("action tag")),
    })
}

fn encode_multisig(a: &MultisigAction, w: &mut Writer) {
    match a {
        MultisigAction::MultisigCreate { members, threshold } => {
            w.u16(tag(MODULE_MULTISIG, 1));
            w.addresses(members);
            w.u8(*threshold);
        }
        MultisigAction::MultisigPropose { multisig, actions, expires_at_ms } => {
            w.u16(tag(MODULE_MULTISIG, 2));
            w.raw(&multisig.0);
            encode_actions(actions, w);
            w.u64(*expires_at_ms);
        }
        MultisigAction::MultisigApprove { multisig, proposal, actions } => {
            w.u16(tag(MODULE_MULTISIG, 3));
            w.raw(&multisig.0);
            w.u64(*proposal);
            encode_actions(actions, w);
        }
        MultisigAction::MultisigUpdate { members, threshold } => {
            w.u16(tag(MODULE_MULTISIG, 4));
            w.addresses(members);
            w.u8(*threshold);
        }
    }
}

fn decode_multisig(action: u8, r: &mut Reader<'_>, nested: bool) -> Result<MultisigAction, DecodeError> {
    if nested && (action == 2 || action == 3) {
        return Err(DecodeError::Invalid("a proposal inside a proposal"));
    }
    Ok(match action {
        1 => MultisigAction::MultisigCreate { members: r.addresses(MULTISIG_MEMBERS_MAX, "members")?, threshold: r.u8("threshold")? },
        2 => MultisigAction::MultisigPropose {
            multisig: Address(r.array("multisig")?),
            actions: decode_actions(r, true)?,
            expires_at_ms: r.u64("expiry")?,
        },
        3 => MultisigAction::MultisigApprove {
            multisig: Address(r.array("multisig")?),
            proposal: r.u64("proposal")?,
            actions: decode_actions(r, true)?,
        },
        4 => MultisigAction::MultisigUpdate { members: r.addresses(MULTISIG_MEMBERS_MAX, "members")?, threshold: r.u8("threshold")? },
        _ => return Err(DecodeError::Invalid("action tag")),
    })
}

fn encode_validators(a: &ValidatorsAction, w: &mut Writer) {
    match a {
        ValidatorsAction::ApproveValidatorSet { validators } => {
            w.u16(tag(MODULE_VALIDATORS, 1));
            w.u8(validators.len().min(u8::MAX as usize) as u8);
            for v in validators {
                w.raw(&v.key.0);
                w.bytes8(v.p2p.as_bytes());
            }
        }
    }
}

fn decode_validators(action: u8, r: &mut Reader<'_>) -> Result<ValidatorsAction, DecodeError> {
    use crate::limits::{P2P_ADDRESS_BYTES_MAX, VALIDATORS_MAX};
    Ok(match action {
        1 => {
            let count = r.u8("validator count")? as usize;
            if count > VALIDATORS_MAX {
                return Err(DecodeError::TooLong { what: "validators", len: count, max: VALIDATORS_MAX });
            }
            let mut validators = Vec::with_capacity(count);
            for _ in 0..count {
                let key = Address(r.array("validator key")?);
                let p2p = r.string8(P2P_ADDRESS_BYTES_MAX, "p2p address")?;
                validators.push(ValidatorEntry { key, p2p });
            }
            ValidatorsAction::ApproveValidatorSet { validators }
        }
        _ => return Err(DecodeError::Invalid("action tag")),
    })
}

fn tag(module: u8, action: u8) -> u16 {
    (u16::from(module) << 8) | u16::from(action)
}

fn encode_points(a: &PointsAction, w: &mut Writer) {
    match a {
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
            w.u16(tag(MODULE_POINTS, 1));
            w.bytes8(symbol.as_bytes());
            w.bytes8(name.as_bytes());
            w.u8(*decimals);
            w.u8(*kind as u8);
            w.opt_u128(*max_supply);
            w.opt_u128(*mint_limit_per_day);
            w.bool(*transferable);
            w.opt_u64(*lifetime_ms);
        }
        PointsAction::Mint { symbol, to, amount, reason, external_ref } => {
            w.u16(tag(MODULE_POINTS, 2));
            w.bytes8(symbol.as_bytes());
            w.raw(&to.0);
            w.u128(*amount);
            w.bytes8(reason.as_bytes());
            w.opt_bytes8(external_ref.as_deref().map(str::as_bytes));
        }
        PointsAction::Transfer { symbol, to, amount } => {
            w.u16(tag(MODULE_POINTS, 3));
            w.bytes8(symbol.as_bytes());
            w.raw(&to.0);
            w.u128(*amount);
        }
        PointsAction::Burn { symbol, amount } => {
            w.u16(tag(MODULE_POINTS, 4));
            w.bytes8(symbol.as_bytes());
            w.u128(*amount);
        }
        PointsAction::RoutePropose { from, to, terms } | PointsAction::RouteAccept { from, to, terms } => {
            let action = if matches!(a, PointsAction::RoutePropose { .. }) { 5 } else { 6 };
            w.u16(tag(MODULE_POINTS, action));
            w.bytes8(from.as_bytes());
            w.bytes8(to.as_bytes());
            terms.encode(w);
        }
        PointsAction::RouteSuspend { from, to } | PointsAction::RouteResume { from, to } => {
            let action = if matches!(a, PointsAction::RouteSuspend { .. }) { 7 } else { 8 };
            w.u16(tag(MODULE_POINTS, action));
            w.bytes8(from.as_bytes());
            w.bytes8(to.as_bytes());
        }
        PointsAction::Convert { from, to, amount, min_received } => {
            w.u16(tag(MODULE_POINTS, 9));
            w.bytes8(from.as_bytes());
            w.bytes8(to.as_bytes());
            w.u128(*amount);
            w.opt_u128(*min_received);
        }
        PointsAction::ClearingSettle { counterparty, symbol, amount } => {
            w.u16(tag(MODULE_POINTS, 10));
            w.raw(&counterparty.0);
            w.bytes8(symbol.as_bytes());
            w.u128(*amount);
        }
        PointsAction::ClearingConfirm { counterparty, symbol, amount, reference } => {
            w.u16(tag(MODULE_POINTS, 11));
            w.raw(&counterparty.0);
            w.bytes8(symbol.as_bytes());
            w.u128(*amount);
            w.bytes8(reference.as_bytes());
        }
        PointsAction::Withdraw { symbol, amount, legacy_account } => {
            w.u16(tag(MODULE_POINTS, 12));
            w.bytes8(symbol.as_bytes());
            w.u128(*amount);
            w.bytes8(legacy_account.as_bytes());
        }
    }
}

fn decode_points(action: u8, r: &mut Reader<'_>) -> Result<PointsAction, DecodeError> {
    let symbol = |r: &mut Reader<'_>| r.string8(SYMBOL_BYTES_MAX, "symbol");
    Ok(match action {
        1 => PointsAction::CreateAsset {
            symbol: symbol(r)?,
            name: r.string8(ASSET_NAME_BYTES_MAX, "asset name")?,
            decimals: r.u8("decimals")?,
            kind: AssetKind::from_u8(r.u8("asset kind")?)?,
            max_supply: r.opt_u128("max supply")?,
            mint_limit_per_day: r.opt_u128("mint limit per day")?,
            transferable: r.bool("transferable")?,
            lifetime_ms: r.opt_u64("lifetime")?,
        },
        2 => PointsAction::Mint {
            symbol: symbol(r)?,
            to: Address(r.array("recipient")?),
            amount: r.u128("amount")?,
            reason: r.string8(REASON_BYTES_MAX, "reason")?,
            external_ref: r.opt_string8(EXTERNAL_REF_BYTES_MAX, "external ref")?,
        },
        3 => PointsAction::Transfer {
            symbol: symbol(r)?,
            to: Address(r.array("recipient")?),
            amount: r.u128("amount")?,
        },
        4 => PointsAction::Burn { symbol: symbol(r)?, amount: r.u128("amount")? },
        5 => PointsAction::RoutePropose { from: symbol(r)?, to: symbol(r)?, terms: RouteTerms::decode(r)? },
        6 => PointsAction::RouteAccept { from: symbol(r)?, to: symbol(r)?, terms: RouteTerms::decode(r)? },
        7 => PointsAction::RouteSuspend { from: symbol(r)?, to: symbol(r)? },
        8 => PointsAction::RouteResume { from: symbol(r)?, to: symbol(r)? },
        9 => PointsAction::Convert {
            from: symbol(r)?,
            to: symbol(r)?,
            amount: r.u128("amount")?,
            min_received: r.opt_u128("minimum received")?,
        },
        10 => PointsAction::ClearingSettle {
            counterparty: Address(r.array("counterparty")?),
            symbol: symbol(r)?,
            amount: r.u128("amount")?,
        },
        11 => PointsAction::ClearingConfirm {
            counterparty: Address(r.array("counterparty")?),
            symbol: symbol(r)?,
            amount: r.u128("amount")?,
            reference: r.string8(SETTLEMENT_REF_BYTES_MAX, "reference")?,
        },
        12 => PointsAction::Withdraw {
            symbol: symbol(r)?,
            amount: r.u128("amount")?,
            legacy_account: r.string8(LEGACY_ACCOUNT_BYTES_MAX, "legacy account")?,
        },
        _ => return Err(DecodeError::Invalid("action tag")),
    })
}

/// What a signer asks for: all of `actions` apply, in order, or none does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub chain_id: String,
    pub signer: Address,
    pub nonce: u64,
    pub actions: Vec<Action>,
    #[serde(default)]
    pub memo: String,
}

impl Transaction {
    /// The canonical body bytes (what is hashed and signed).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1); // format version
        w.bytes8(self.chain_id.as_bytes());
        w.raw(&self.signer.0);
        w.u64(self.nonce);
        encode_actions(&self.actions, &mut w);
        w.bytes32(self.memo.as_bytes());
        w.finish()
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.u8("format version")? != 1 {
            return Err(DecodeError::Invalid("format version"));
        }
        let chain_id = r.string8(CHAIN_ID_BYTES_MAX, "chain id")?;
        let signer = Address(r.array("signer")?);
        let nonce = r.u64("nonce")?;
        let actions = decode_actions(r, false)?;
        let memo_raw = r.bytes32(MEMO_BYTES_MAX, "memo")?;
        let memo = String::from_utf8(memo_raw.to_vec()).map_err(|_| DecodeError::Invalid("memo"))?;
        Ok(Self { chain_id, signer, nonce, actions, memo })
    }

    pub fn hash(&self) -> TxHash {
        TxHash(sha256(&self.encode()))
    }

    /// Sign with `key`; the signer field must be `key`'s address.
    pub fn sign(self, key: &ed25519::PrivateKey) -> SignedTx {
        let body = self.encode();
        let hash = TxHash(sha256(&body));
        let signature: [u8; 64] = key
            .sign(TX_NAMESPACE, &hash.0)
            .encode()
            .as_ref()
            .try_into()
            .unwrap_or([0u8; 64]);
        SignedTx { tx: self, hash, signature }
    }
}

/// A transaction with its signature. `hash` is derived, never trusted from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    pub tx: Transaction,
    pub hash: TxHash,
    pub signature: [u8; 64],
}

impl SignedTx {
    /// `body || signature`.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.tx.encode();
        bytes.extend_from_slice(&self.signature);
        bytes
    }

    /// Decode `body || signature`, checking every bound. Does not check the signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > TX_BYTES_MAX {
            return Err(DecodeError::TooLong { what: "transaction", len: bytes.len(), max: TX_BYTES_MAX });
        }
        let mut r = Reader::new(bytes);
        let tx = Transaction::decode_from(&mut r)?;
        let body_len = bytes.len() - r.remaining();
        let signature = r.array::<64>("signature")?;
        r.finish()?;
        let hash = TxHash(sha256(&bytes[..body_len]));
        Ok(Self { tx, hash, signature })
    }

    fn public_key(&self) -> Option<ed25519::PublicKey> {
        ed25519::PublicKey::decode(commonware_codec::Copying(&self.tx.signer.0[..])).ok()
    }

    fn signature(&self) -> Option<ed25519::Signature> {
        ed25519::Signature::decode(commonware_codec::Copying(&self.signature[..])).ok()
    }

    /// Check the signature alone.
    pub fn verify_signature(&self) -> bool {
        match (self.public_key(), self.signature()) {
            (Some(key), Some(sig)) => key.verify(TX_NAMESPACE, &self.hash.0, &sig),
            _ => false,
        }
    }
}

/// Verify many signatures at once. Returns one verdict per transaction, in order.
///
/// Tries a randomized batch first (the common, all-valid case) and falls back to one by one
/// to find the bad ones.
pub fn verify_signatures(txs: &[SignedTx], strategy: &impl commonware_parallel::Strategy) -> Vec<bool> {
    let parsed: Vec<Option<(ed25519::PublicKey, ed25519::Signature)>> =
        txs.iter().map(|t| Some((t.public_key()?, t.signature()?))).collect();
    if parsed.iter().all(Option::is_some) && !txs.is_empty() {
        let items: Vec<(&SignedTx, ed25519::PublicKey, ed25519::Signature)> = txs
            .iter()
            .zip(parsed.iter())
            .filter_map(|(t, p)| p.as_ref().map(|(k, s)| (t, k.clone(), s.clone())))
            .collect();
        let ok = ed25519::PublicKey::verify_batch(
            &mut rand::rng(),
            &items,
            |_, (tx, key, sig)| BatchEntry {
                namespace: TX_NAMESPACE,
                message: &tx.hash.0,
                public_key: key,
                signature: sig,
            },
            strategy,
        );
        if ok {
            return vec![true; txs.len()];
        }
    }
    txs.iter().map(SignedTx::verify_signature).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_math::algebra::Random;

    fn key(seed: u64) -> ed25519::PrivateKey {
        ed25519::PrivateKey::from_seed(seed)
    }

    fn address(key: &ed25519::PrivateKey) -> Address {
        let raw = key.public_key().encode();
        Address(raw.as_ref().try_into().expect("32 bytes"))
    }

    fn transfer(signer: &ed25519::PrivateKey, nonce: u64) -> Transaction {
        Transaction {
            chain_id: "accord-test".into(),
            signer: address(signer),
            nonce,
            actions: vec![Action::Points(PointsAction::Transfer {
                symbol: "PARK".into(),
                to: Address([9; 32]),
                amount: 1_000,
            })],
            memo: "hello".into(),
        }
    }

    #[test]
    fn signed_transaction_round_trips_and_verifies() {
        let k = key(1);
        let signed = transfer(&k, 0).sign(&k);
        let decoded = SignedTx::decode(&signed.encode()).expect("decodes");
        assert_eq!(decoded, signed);
        assert!(decoded.verify_signature());
    }

    #[test]
    fn a_changed_chain_id_breaks_the_signature() {
        let k = key(1);
        let mut signed = transfer(&k, 0).sign(&k);
        signed.tx.chain_id = "other-chain".into();
        let replayed = SignedTx::decode(&signed.encode()).expect("decodes");
        assert!(!replayed.verify_signature());
    }

    #[test]
    fn batch_verification_finds_the_one_bad_signature() {
        let mut txs: Vec<SignedTx> =
            (0..20).map(|i| { let k = key(i); transfer(&k, i).sign(&k) }).collect();
        txs[7].signature[3] ^= 1;
        let verdicts = verify_signatures(&txs, &commonware_parallel::Sequential);
        assert_eq!(verdicts.iter().filter(|v| !**v).count(), 1);
        assert!(!verdicts[7]);
    }

    #[test]
    fn trailing_and_truncated_bytes_are_refused() {
        let k = key(2);
        let bytes = transfer(&k, 3).sign(&k).encode();
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(SignedTx::decode(&longer), Err(DecodeError::Trailing(1)));
        assert!(matches!(SignedTx::decode(&bytes[..bytes.len() - 1]), Err(DecodeError::Truncated(_))));
    }

    #[test]
    fn random_keys_give_distinct_addresses() {
        let a = ed25519::PrivateKey::random(&mut rand::rng());
        let b = ed25519::PrivateKey::random(&mut rand::rng());
        assert_ne!(address(&a), address(&b));
    }

    #[test]
    fn actions_have_a_stable_json_form() {
        let json = r#"{"type":"transfer","symbol":"PARK","to":"ADDR","amount":"5"}"#
            .replace("ADDR", &Address([9; 32]).to_string());
        let action: Action = serde_json::from_str(&json).expect("parses");
        assert_eq!(
            action,
            Action::Points(PointsAction::Transfer { symbol: "PARK".into(), to: Address([9; 32]), amount: 5 })
        );
    }
}
