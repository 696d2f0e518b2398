//! Why a transaction was refused: typed codes with stable numbers, in order of precedence.
//!
//! Codes below 200 are found without state (decoding, signature, bounds); 2xx need state.
//! A number, once published, never changes meaning.

use serde::Serialize;

macro_rules! rejects {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $msg:literal; )*) => {
        /// A rule a transaction broke.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Reject { $( $(#[$doc])* $name = $code, )* }

        impl Reject {
            /// Every reject, in order of code.
            pub const ALL: &'static [Reject] = &[$(Reject::$name),*];
            /// The stable number.
            pub fn code(self) -> u16 { self as u16 }
            /// The stable name, as written in the code (`CamelCase`).
            pub fn name(self) -> &'static str {
                match self { $(Reject::$name => stringify!($name),)* }
            }
            /// What it means, for people.
            pub fn message(self) -> &'static str {
                match self { $(Reject::$name => $msg,)* }
            }
            pub fn from_code(code: u16) -> Option<Reject> {
                Self::ALL.iter().copied().find(|r| r.code() == code)
            }
        }
    };
}

rejects! {
    /// The bytes are not a well-formed transaction.
    Malformed = 100, "the transaction bytes do not decode";
    /// The signature does not verify for the signer.
    BadSignature = 101, "the signature does not match the signer and the transaction";
    /// Signed for another chain.
    WrongChainId = 102, "the transaction is for another chain id";
    /// No actions.
    NoActions = 103, "a transaction needs at least one action";
    /// Symbol not 2..=12 of A-Z, 0-9 starting with a letter.
    InvalidSymbol = 110, "a symbol is 2 to 12 characters A-Z or 0-9, starting with a letter";
    /// Asset name empty or too long.
    InvalidName = 111, "an asset name is 1 to 64 bytes";
    /// More than 18 decimals.
    DecimalsTooLarge = 112, "an asset has at most 18 decimals";
    /// An amount of zero.
    ZeroAmount = 113, "amounts must be greater than zero";
    /// Mint reason missing or too long.
    InvalidReason = 114, "a mint needs a public reason of 1 to 200 bytes";
    /// External reference empty or too long.
    InvalidExternalRef = 115, "an external reference is 1 to 128 bytes";
    /// A cap of zero.
    ZeroCap = 116, "a supply cap or daily mint limit must be greater than zero";
    /// Multisig members empty, repeated or too many.
    InvalidMembers = 120, "a multisig has 1 to 32 distinct members";
    /// Threshold zero or above the member count.
    InvalidThreshold = 121, "a multisig threshold is 1 to the number of members";
    /// A proposal must carry 1 to 16 actions.
    InvalidProposal = 122, "a proposal carries 1 to 16 actions and expires after now";
    /// Parties repeated, too many, a zero share, or shares not adding up to 1,000,000 ppm.
    InvalidShares = 130, "parties are 1 to 128 distinct accounts whose shares sum to 1,000,000 ppm";
    /// A share amount of zero or above 1,000,000 ppm.
    InvalidShareAmount = 131, "a share is 1 to 1,000,000 ppm";
    /// An item of zero, a price or reserve of zero, a bad symbol or an empty share period.
    InvalidListing = 140, "a listing offers a non-zero item for a non-zero price; a share period is above zero";
    /// The nonce was already used.
    InvalidLifetime = 117, "a lifetime is 1 second to 10 years, and an asset with one is non-transferable";
    InvalidRate = 150, "a rate or settlement price is a fraction whose numerator and denominator are above zero";
    InvalidFee = 151, "a route's fee is below 1,000,000 ppm";
    InvalidValidity = 152, "a route's validity window ends after it starts";
    InvalidClearingPeriod = 153, "a clearing period is 1 second to 366 days";
    SameAsset = 154, "a route joins two different assets";
    InvalidLegacyAccount = 155, "a legacy account id is 1 to 128 bytes";
    InvalidSettlementRef = 156, "an off-ledger payment reference is 1 to 128 bytes";
    NonceTooLow = 200, "the nonce was already used by this account";
    /// The nonce skips ahead of the next expected one.
    NonceTooHigh = 201, "the nonce is ahead of the next expected nonce";
    /// No asset has this symbol.
    UnknownAsset = 210, "no asset has this symbol";
    /// The symbol is taken.
    DuplicateSymbol = 211, "an asset with this symbol already exists";
    /// Only the issuer may mint.
    NotIssuer = 212, "only the asset's issuer may do this";
    /// Minting would pass the asset's hard cap.
    OverMaxSupply = 213, "the mint would exceed the asset's maximum supply";
    /// Minting would pass today's mint limit.
    OverDailyMintLimit = 214, "the mint would exceed the asset's mint limit for today";
    /// The external reference was used before for this asset.
    ExternalRefUsed = 215, "this external reference was already used for this asset";
    /// Not enough units.
    InsufficientBalance = 216, "the balance is lower than the amount";
    /// The asset cannot be transferred.
    NotTransferable = 217, "this asset is not transferable";
    /// A sum would not fit in 128 bits.
    AmountOverflow = 218, "the amount would overflow";
    /// The account holds too many distinct assets.
    TooManyAssetsHeld = 219, "the recipient already holds the maximum number of assets";
    /// No multisig account at this address.
    ExpiringUnits = 220, "points with a lifetime move only to or from their issuer, or are burned, withdrawn or converted";
    UnknownMultisig = 230, "no multisig account has this address";
    /// The signer is not a member of the multisig.
    NotMember = 231, "only a member of the multisig may do this";
    /// No such proposal.
    UnknownProposal = 232, "the multisig has no such proposal";
    /// The proposal's expiry passed.
    ProposalExpired = 233, "the proposal has expired";
    /// This member already approved.
    AlreadyApproved = 234, "this member already approved the proposal";
    /// The proposal already ran.
    ProposalExecuted = 235, "the proposal was already executed";
    /// The approval names other actions than the proposal.
    ActionsMismatch = 236, "the approved actions are not the proposed ones";
    /// Only the multisig itself may change its members.
    NotMultisig = 237, "only the multisig itself may change its members and threshold";
    /// No agreement at this address.
    UnknownAgreement = 240, "no agreement has this address";
    /// The signer is not a party.
    NotParty = 241, "only a party of the agreement may sign it";
    /// This party already signed.
    AlreadySigned = 242, "this party already signed the agreement";
    /// The agreement is a draft (not every party signed).
    AgreementNotActive = 243, "the agreement is not active until every party signed";
    /// The agreement's expiry passed.
    AgreementExpired = 244, "the agreement has expired";
    /// Only the named amender may amend.
    NotAmender = 245, "only the agreement's amender may amend it";
    /// The signer holds less share than it gives.
    InsufficientShare = 246, "the signer holds less of this agreement's income than it gives";
    /// The signature is for other terms than the agreement's current legal text.
    TermsChanged = 248, "the agreement's legal text hash is not the one signed";
    /// Too many share holders.
    TooManyHolders = 247, "the agreement already has the maximum number of share holders";
    /// No listing at this address.
    UnknownListing = 250, "no sale or auction has this address";
    /// The listing was sold, settled or withdrawn.
    ListingClosed = 251, "the listing is closed: sold, settled or withdrawn";
    /// The auction's end has passed.
    AuctionEnded = 252, "the auction has ended; it takes no more bids and cannot be withdrawn";
    /// A bid under the reserve, or not beating the highest bid by the minimum increment.
    BidTooLow = 253, "a bid must reach the reserve and beat the highest bid by the minimum increment";
    /// Only the seller may withdraw a listing.
    NotSeller = 254, "only the seller may withdraw the listing";
    /// An auction with a bid cannot be withdrawn.
    HasBids = 255, "an auction that has a bid cannot be withdrawn";
    /// The end is not after now, or too far ahead.
    InvalidAuctionEnd = 256, "an auction ends after the current block time and within 366 days; an extension is at most one day";
    /// The action does not fit this listing (buying an auction, bidding on a sale).
    WrongListingKind = 257, "this action does not apply to this kind of listing";
    /// The seller cannot buy or bid on its own listing.
    OwnListing = 258, "a seller cannot buy or bid on its own listing";
    /// Only an ended auction whose settlement failed can be settled by a transaction.
    NothingToSettle = 259, "only an ended auction whose automatic settlement failed can be settled by a transaction";
    /// The market owes the signer nothing in this asset.
    NothingOwed = 260, "the market owes this account nothing in this asset";
    /// The transaction reads state its actions could not name before the block ran.
    UnknownRoute = 270, "no route joins these assets in this direction";
    NotRouteIssuer = 271, "only the issuer of either asset of the route may do this";
    NothingToAccept = 272, "the route has no proposed terms awaiting the signer's acceptance";
    ProposedTermsDiffer = 273, "the accepted terms are not the proposed ones";
    RouteNotActive = 274, "the route is not accepted yet, or an issuer suspended it";
    RouteOutsideValidity = 275, "the route's validity window does not include this block's time";
    OverRouteDailyLimit = 276, "the conversion would exceed the route's limit for today";
    ConversionTooSmall = 277, "the conversion would pay out nothing after rate and fee";
    BelowMinReceived = 278, "the conversion would pay out less than the minimum asked for";
    AlreadySuspended = 279, "the signer already suspended this route";
    NotSuspended = 280, "the signer has not suspended this route";
    NotClearingParty = 281, "the signer and the counterparty have nothing to clear in this asset";
    NotDebtor = 282, "only the issuer that owes the net may settle it";
    WrongSettlementAmount = 283, "the amount is not the net owed for the closed clearing periods";
    ClearingPeriodMismatch = 284, "these issuers already clear in this asset over another period";
    TooManyOpenClearings = 285, "too many issuer pairs have obligations in an open clearing period";
    NotCurrency = 286, "clearing is settled in an asset of kind currency";
    /// Validator set empty, too large, keys not ascending or not ed25519, or an address that is not `ip:port`.
    InvalidValidatorSet = 132, "a validator set has 1 to 64 validators in ascending key order, each a valid ed25519 key with an ip:port p2p address";
    StateNotDeclared = 290, "the transaction uses state created earlier in the same block in a way that must be declared ahead; send it again";
    NotAValidator = 291, "only a validator of the current set may approve a validator set";
    AlreadyApprovedSet = 292, "the signer already approves this validator set";
    TooManyCandidateSets = 293, "too many different validator sets await approval in this epoch";
    EpochsDisabled = 294, "this chain's genesis has no epochs, so its validator set cannot change";
    ValidatorSetChanging = 295, "another validator set takes over at the next epoch; approve once it has, as its validator";
    /// The node's queue is full; try again later.
    MempoolFull = 300, "the node's transaction queue is full, retry later";
    /// The same transaction is already queued or committed.
    DuplicateTransaction = 301, "this transaction is already known";
}

impl Reject {
    /// `snake_case` form of the name, for JSON.
    pub fn snake_name(self) -> String {
        let mut out = String::new();
        for (i, c) in self.name().chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.snake_name(), self.code(), self.message())
    }
}

impl std::error::Error for Reject {}

/// The JSON form of a reject: `{code, name, message}`.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RejectInfo {
    pub code: u16,
    pub name: String,
    pub message: String,
}

impl From<Reject> for RejectInfo {
    fn from(r: Reject) -> Self {
        Self { code: r.code(), name: r.snake_name(), message: r.message().to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for r in Reject::ALL {
            assert!(seen.insert(r.code()), "duplicate code {}", r.code());
            assert_eq!(Reject::from_code(r.code()), Some(*r));
        }
        assert_eq!(Reject::InsufficientBalance.snake_name(), "insufficient_balance");
    }
}
