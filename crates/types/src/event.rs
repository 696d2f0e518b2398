//! Events: what a committed transaction did, as recorded in its receipt.

use crate::address::Address;
use crate::tx::amount_text;
use crate::Amount;
use serde::{Deserialize, Serialize};

/// One holder's part of a split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub to: Address,
    #[serde(with = "amount_text")]
    pub amount: Amount,
}

/// One thing that happened. Events are emitted in order of execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    AssetCreated { symbol: String, issuer: Address },
    Minted {
        symbol: String,
        to: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_ref: Option<String>,
    },
    Transferred {
        symbol: String,
        from: Address,
        to: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    Burned {
        symbol: String,
        from: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    MultisigCreated { multisig: Address, members: Vec<Address>, threshold: u8 },
    MultisigUpdated { multisig: Address, members: Vec<Address>, threshold: u8 },
    ProposalCreated { multisig: Address, proposal: u64, proposer: Address },
    ProposalApproved { multisig: Address, proposal: u64, member: Address },
    ProposalExecuted { multisig: Address, proposal: u64 },
    AgreementCreated { agreement: Address, creator: Address },
    AgreementSigned { agreement: Address, party: Address },
    AgreementActivated { agreement: Address },
    AgreementAmended {
        agreement: Address,
        #[serde(with = "crate::tx::hex32")]
        legal_hash: [u8; 32],
    },
    /// Income paid to an agreement and every part of its split, in one event.
    IncomePaid {
        agreement: Address,
        payer: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
        parts: Vec<Part>,
    },
    ShareGiven {
        agreement: Address,
        from: Address,
        to: Address,
        share_ppm: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<u64>,
    },
    /// A sale or an auction was listed; its item is held until it closes.
    ListingCreated { listing: Address, seller: Address, kind: String },
    /// A listed item was bought: paid and delivered.
    Sold {
        listing: Address,
        buyer: Address,
        seller: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        price: Amount,
    },
    /// A bid is now the highest; it is held in escrow.
    BidPlaced {
        listing: Address,
        bidder: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
        ends_at_ms: u64,
    },
    /// A bid that was beaten (or whose auction could not settle) went back to its bidder.
    BidRefunded {
        listing: Address,
        bidder: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// An auction ended with a winner: the seller was paid and the item delivered.
    AuctionSettled {
        listing: Address,
        winner: Address,
        seller: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        price: Amount,
    },
    /// An auction ended without a bid: the item stays with the seller.
    AuctionUnsold { listing: Address, seller: Address },
    /// The seller withdrew the listing; the item is released.
    ListingCancelled { listing: Address },
    /// A refund or payment could not be credited (the account was at its asset limit); it
    /// stays held for `owner`, who collects it with `claim_withdraw`.
    Owed {
        listing: Address,
        owner: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// What the market owed was collected.
    ClaimPaid {
        owner: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// An issuer proposed terms for a route (a new route or a change).
    RouteProposed { from: String, to: String, by: Address, terms: crate::RouteTerms },
    /// Both issuers agree: the route runs on the proposed terms.
    RouteAccepted { from: String, to: String, by: Address },
    RouteSuspended { from: String, to: String, by: Address },
    RouteResumed { from: String, to: String, by: Address },
    /// `amount` of `from` was burned and `received` of `to` minted to `holder`; `fee` of
    /// `to` was withheld. `debtor` owes `creditor` `owed` of `settlement_symbol` for it.
    Converted {
        holder: Address,
        from: String,
        to: String,
        #[serde(with = "amount_text")]
        amount: Amount,
        #[serde(with = "amount_text")]
        received: Amount,
        #[serde(with = "amount_text")]
        fee: Amount,
        debtor: Address,
        creditor: Address,
        settlement_symbol: String,
        #[serde(with = "amount_text")]
        owed: Amount,
    },
    /// A clearing period between two issuers closed: what each owed the other, netted.
    ClearingNetted {
        debtor: Address,
        creditor: Address,
        symbol: String,
        period: u64,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// One issuer confirmed an off-ledger payment of the net; the other has yet to.
    ClearingConfirmed {
        by: Address,
        counterparty: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
        reference: String,
    },
    /// The net of every closed clearing period between the two was paid: on the ledger, or
    /// off it under `reference` (confirmed by both).
    ClearingSettled {
        debtor: Address,
        creditor: Address,
        symbol: String,
        #[serde(with = "amount_text")]
        amount: Amount,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Units of `holder` reached the end of their lifetime and left circulation.
    Expired {
        symbol: String,
        holder: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
    },
    /// Units left the ledger for the issuer's own system: burned here, to be credited to
    /// `legacy_account` there.
    Withdrawn {
        symbol: String,
        from: Address,
        #[serde(with = "amount_text")]
        amount: Amount,
        legacy_account: String,
    },
    /// An ended auction could not be settled or unwound (`code` says why); anyone may
    /// retry with `auction_settle`.
    SettlementFailed { listing: Address, code: u16 },
    /// A validator approved a validator set (`set_hash`: hex of its hash); `needed` approvals
    /// of the current set make it the next one.
    ValidatorSetApproved { set_hash: String, validator: Address, approvals: u32, needed: u32 },
    /// A set reached its quorum of approvals: it takes effect at `epoch` (the next epoch whose
    /// set is not frozen yet).
    ValidatorSetScheduled { set_hash: String, epoch: u64 },
    /// The set of `epoch` is frozen, and differs from the current one (block event, at the
    /// middle of the epoch before).
    ValidatorSetChanged { epoch: u64, set_hash: String, validators: u32 },
}
