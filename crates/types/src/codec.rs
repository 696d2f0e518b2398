//! The canonical byte encoding: big-endian fixed-width integers, length-prefixed bytes.
//!
//! Every length is checked against a caller-given maximum before anything is allocated,
//! and a decoder must consume its whole input (`Reader::finish`).

use thiserror::Error;

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("input ended early while reading {0}")]
    Truncated(&'static str),
    #[error("{what} is {len} long, the maximum is {max}")]
    TooLong { what: &'static str, len: usize, max: usize },
    #[error("{0} has an invalid value")]
    Invalid(&'static str),
    #[error("{0} bytes left over after the end")]
    Trailing(usize),
}

/// Appends canonical encodings to a byte vector.
#[derive(Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u128(&mut self, v: u128) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    pub fn raw(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
    }
    /// Bytes with a 1-byte length prefix (at most 255 bytes; callers enforce smaller caps).
    pub fn bytes8(&mut self, v: &[u8]) {
        debug_assert!(v.len() <= u8::MAX as usize);
        self.u8(v.len() as u8);
        self.raw(v);
    }
    /// Bytes with a 4-byte length prefix.
    pub fn bytes32(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.raw(v);
    }
    pub fn opt_u128(&mut self, v: Option<u128>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u128(v);
            }
        }
    }
    /// A count byte, then each 32-byte address.
    pub fn addresses(&mut self, list: &[crate::Address]) {
        self.u8(list.len() as u8);
        for a in list {
            self.raw(&a.0);
        }
    }
    /// `0x00` for none, or `0x01` then `u64`.
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
        }
    }
    /// `0x00` for none, or `0x01` then `bytes8`.
    pub fn opt_bytes8(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.bytes8(v);
            }
        }
    }
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads canonical encodings from a byte slice.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated(what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    pub fn u128(&mut self, what: &'static str) -> Result<u128, DecodeError> {
        Ok(u128::from_be_bytes(self.array(what)?))
    }
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid(what)),
        }
    }
    /// Bytes with a 1-byte length prefix, at most `max` long.
    pub fn bytes8(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u8(what)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        self.take(len, what)
    }
    /// Bytes with a 4-byte length prefix, at most `max` long.
    pub fn bytes32(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(what)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        self.take(len, what)
    }
    /// UTF-8 text with a 1-byte length prefix.
    pub fn string8(&mut self, max: usize, what: &'static str) -> Result<String, DecodeError> {
        let raw = self.bytes8(max, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::Invalid(what))
    }
    pub fn opt_u128(&mut self, what: &'static str) -> Result<Option<u128>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.u128(what)?)),
            _ => Err(DecodeError::Invalid(what)),
        }
    }
    /// A count byte (at most `max`), then each 32-byte address.
    pub fn addresses(&mut self, max: usize, what: &'static str) -> Result<Vec<crate::Address>, DecodeError> {
        let count = self.u8(what)? as usize;
        if count > max {
            return Err(DecodeError::TooLong { what, len: count, max });
        }
        (0..count).map(|_| Ok(crate::Address(self.array(what)?))).collect()
    }
    pub fn opt_u64(&mut self, what: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.u64(what)?)),
            _ => Err(DecodeError::Invalid(what)),
        }
    }
    /// Optional UTF-8 text: `0x00`, or `0x01` then `string8`.
    pub fn opt_string8(&mut self, max: usize, what: &'static str) -> Result<Option<String>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.string8(max, what)?)),
            _ => Err(DecodeError::Invalid(what)),
        }
    }
    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(self.bytes.len()))
        }
    }
}
