//! Blocks: a header that commits to its parent, its transactions and the state root, and a body.

use crate::codec::{DecodeError, Reader, Writer};
use crate::limits::{BLOCK_BYTES_MAX, BLOCK_TXS_MAX, TX_BYTES_MAX};
use crate::tx::SignedTx;
use crate::{sha256, Hash32};

/// A block header. Its digest (`sha256(encode(header))`) is what consensus certifies.
///
/// Execution is deferred by one block: `state_root` is the root of the state after every
/// block up to and including `height - 1` was applied. A value proven against `state_root`
/// is therefore certified by the finality certificate of block `height`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub height: u64,
    pub parent: Hash32,
    pub timestamp_ms: u64,
    /// Root of the state after block `height - 1`.
    pub state_root: Hash32,
    /// `sha256` over the concatenated `sha256(signed tx bytes)` of the body's transactions:
    /// it covers the signatures too, so two bodies differing only there differ in digest.
    pub txs_root: Hash32,
    pub tx_count: u32,
}

impl Header {
    pub const ENCODED_LEN: usize = 8 + 32 + 8 + 32 + 32 + 4;

    pub fn encode_into(&self, w: &mut Writer) {
        w.u64(self.height);
        w.raw(&self.parent);
        w.u64(self.timestamp_ms);
        w.raw(&self.state_root);
        w.raw(&self.txs_root);
        w.u32(self.tx_count);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_into(&mut w);
        w.finish()
    }

    pub fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            height: r.u64("height")?,
            parent: r.array("parent")?,
            timestamp_ms: r.u64("timestamp")?,
            state_root: r.array("state root")?,
            txs_root: r.array("txs root")?,
            tx_count: r.u32("tx count")?,
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let header = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(header)
    }

    /// The block's identity.
    pub fn digest(&self) -> Hash32 {
        sha256(&self.encode())
    }
}

/// The transactions of a block, in execution order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BlockBody {
    pub txs: Vec<SignedTx>,
}

impl BlockBody {
    /// The commitment a header carries in `txs_root`.
    pub fn txs_root(&self) -> Hash32 {
        let mut all = Vec::with_capacity(self.txs.len() * 32);
        for tx in &self.txs {
            all.extend_from_slice(&sha256(&tx.encode()));
        }
        sha256(&all)
    }

    /// The bytes one transaction takes in an encoded body.
    pub fn encoded_len(tx: &SignedTx) -> usize {
        4 + tx.encode().len()
    }

    pub fn encode_into(&self, w: &mut Writer) {
        w.u32(self.txs.len() as u32);
        for tx in &self.txs {
            w.bytes32(&tx.encode());
        }
    }

    pub fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.remaining() > BLOCK_BYTES_MAX {
            return Err(DecodeError::TooLong { what: "block", len: r.remaining(), max: BLOCK_BYTES_MAX });
        }
        let count = r.u32("tx count")? as usize;
        if count > BLOCK_TXS_MAX {
            return Err(DecodeError::TooLong { what: "block txs", len: count, max: BLOCK_TXS_MAX });
        }
        let mut txs = Vec::with_capacity(count);
        for _ in 0..count {
            txs.push(SignedTx::decode(r.bytes32(TX_BYTES_MAX, "tx")?)?);
        }
        Ok(Self { txs })
    }
}
