//! The block as consensus and marshal see it: an Accord header and body with a cached digest.

use accord_types::codec::{Reader, Writer};
use accord_types::limits::BLOCK_BYTES_MAX;
use accord_types::{BlockBody, Header};
use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::types::Height;
use commonware_consensus::Heightable;
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::Digestible;
use std::sync::Arc;

/// A block. Its digest is `sha256(header)`: the header commits to the body by `txs_root`.
#[derive(Clone, Debug)]
pub struct Block {
    pub header: Header,
    pub body: Arc<BlockBody>,
    digest: Digest,
    encoded: Bytes,
}

impl PartialEq for Block {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.encoded == other.encoded
    }
}

impl Eq for Block {}

impl Block {
    /// Build a block; fills `txs_root` and `tx_count` from the body.
    pub fn new(mut header: Header, body: BlockBody) -> Self {
        header.txs_root = body.txs_root();
        header.tx_count = body.txs.len() as u32;
        let mut w = Writer::new();
        header.encode_into(&mut w);
        body.encode_into(&mut w);
        let digest = Digest(header.digest());
        Self { header, body: Arc::new(body), digest, encoded: Bytes::from(w.finish()) }
    }

    /// Decode `header || body` and check the header's commitment to the body.
    pub fn decode(bytes: Bytes) -> Result<Self, String> {
        let mut r = Reader::new(&bytes);
        let header = Header::decode_from(&mut r).map_err(|e| e.to_string())?;
        let body = BlockBody::decode_from(&mut r).map_err(|e| e.to_string())?;
        r.finish().map_err(|e| e.to_string())?;
        if header.txs_root != body.txs_root() || header.tx_count as usize != body.txs.len() {
            return Err("the header does not commit to this body".into());
        }
        let digest = Digest(header.digest());
        Ok(Self { header, body: Arc::new(body), digest, encoded: bytes })
    }

    /// `header || body`, the canonical bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.encoded
    }

    pub fn digest32(&self) -> [u8; 32] {
        self.digest.0
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u32(self.encoded.len() as u32);
        buf.put_slice(&self.encoded);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        4 + self.encoded.len()
    }
}

impl Read for Block {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        if buf.remaining() < 4 {
            return Err(CodecError::EndOfBuffer);
        }
        let len = buf.get_u32() as usize;
        if len > BLOCK_BYTES_MAX {
            return Err(CodecError::Invalid("block", "too large"));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let bytes = buf.copy_to_bytes(len);
        Block::decode(bytes).map_err(|_| CodecError::Invalid("block", "malformed"))
    }
}

impl Digestible for Block {
    type Digest = Digest;
    fn digest(&self) -> Digest {
        self.digest
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.header.height)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> Digest {
        Digest(self.header.parent)
    }
}
