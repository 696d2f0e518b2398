//! Accord's shared vocabulary: amounts, addresses, transactions, blocks and their canonical encoding.
//!
//! No IO and no async: everything here is plain data, its byte encoding (specified in
//! `docs/encoding.md`) and the signature scheme over it.

pub mod address;
pub mod block;
pub mod codec;
pub mod epochs;
pub mod event;
pub mod limits;
pub mod reject;
pub mod tx;

pub use address::Address;
pub use block::{BlockBody, Header};
pub use codec::{DecodeError, Reader, Writer};
pub use epochs::Epochs;
pub use event::Event;
pub use reject::Reject;
pub use tx::{
    Action, AgreementAction, AssetKind, Item, MarketAction, MultisigAction, Party, PointsAction, RouteTerms, SignedTx, Transaction,
    TxHash, ValidatorEntry, ValidatorsAction,
};

/// An amount of an asset in its smallest unit. Never a float.
pub type Amount = u128;

/// A 32-byte SHA-256 digest.
pub type Hash32 = [u8; 32];

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash32 {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
