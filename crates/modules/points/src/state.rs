//! The points module's records and their encodings.

use crate::keys;
use accord_exec::{ExecError, Overlay};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::*;
use accord_types::tx::{amount_text, opt_amount_text};
use accord_types::{Address, Amount, AssetKind};
use serde::Serialize;

/// An asset's definition and mint counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssetRecord {
    pub symbol: String,
    pub name: String,
    pub decimals: u8,
    pub kind: AssetKind,
    pub issuer: Address,
    #[serde(with = "opt_amount_text")]
    pub max_supply: Option<Amount>,
    #[serde(with = "opt_amount_text")]
    pub mint_limit_per_day: Option<Amount>,
    pub transferable: bool,
    pub created_height: u64,
    /// The day (`timestamp_ms / DAY_MS`) `minted_today` counts for.
    pub mint_day: u64,
    #[serde(with = "amount_text")]
    pub minted_today: Amount,
    /// How many mints the history holds.
    pub mint_count: u64,
    /// Units expire this long after they reach a holder from the issuer.
    pub lifetime_ms: Option<u64>,
}

impl AssetRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes8(self.symbol.as_bytes());
        w.bytes8(self.name.as_bytes());
        w.u8(self.decimals);
        w.u8(self.kind as u8);
        w.raw(&self.issuer.0);
        w.opt_u128(self.max_supply);
        w.opt_u128(self.mint_limit_per_day);
        w.bool(self.transferable);
        w.u64(self.created_height);
        w.u64(self.mint_day);
        w.u128(self.minted_today);
        w.u64(self.mint_count);
        // Assets without a lifetime keep the encoding they always had.
        if let Some(lifetime) = self.lifetime_ms {
            w.u64(lifetime);
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let record = Self {
            symbol: r.string8(SYMBOL_BYTES_MAX, "symbol")?,
            name: r.string8(ASSET_NAME_BYTES_MAX, "name")?,
            decimals: r.u8("decimals")?,
            kind: AssetKind::from_u8(r.u8("kind")?)?,
            issuer: Address(r.array("issuer")?),
            max_supply: r.opt_u128("max supply")?,
            mint_limit_per_day: r.opt_u128("mint limit")?,
            transferable: r.bool("transferable")?,
            created_height: r.u64("created height")?,
            mint_day: r.u64("mint day")?,
            minted_today: r.u128("minted today")?,
            mint_count: r.u64("mint count")?,
            lifetime_ms: None,
        };
        let mut record = record;
        if r.remaining() > 0 {
            record.lifetime_ms = Some(r.u64("lifetime")?);
        }
        r.finish()?;
        Ok(record)
    }
}

/// One entry of an asset's public issuance history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MintRecord {
    pub height: u64,
    pub timestamp_ms: u64,
    pub to: Address,
    #[serde(with = "amount_text")]
    pub amount: Amount,
    pub reason: String,
    pub external_ref: Option<String>,
}

impl MintRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(self.height);
        w.u64(self.timestamp_ms);
        w.raw(&self.to.0);
        w.u128(self.amount);
        w.bytes8(self.reason.as_bytes());
        w.opt_bytes8(self.external_ref.as_deref().map(str::as_bytes));
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let record = Self {
            height: r.u64("height")?,
            timestamp_ms: r.u64("timestamp")?,
            to: Address(r.array("to")?),
            amount: r.u128("amount")?,
            reason: r.string8(REASON_BYTES_MAX, "reason")?,
            external_ref: r.opt_string8(EXTERNAL_REF_BYTES_MAX, "external ref")?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// The asset called `symbol`, if any.
pub fn asset(ctx: &Overlay<'_>, symbol: &str) -> Result<Option<AssetRecord>, ExecError> {
    ctx.get_record(&keys::asset(symbol), AssetRecord::decode)
}

pub fn put_asset(ctx: &mut Overlay<'_>, record: &AssetRecord) {
    ctx.put(keys::asset(&record.symbol), record.encode());
}
