//! Account addresses: an ed25519 public key, shown to humans as bech32m with prefix `acc`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// The human-readable prefix of every address.
pub const ADDRESS_PREFIX: &str = "acc";

/// An account: the 32 bytes of its ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 32]);

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    #[error("not a bech32m string: {0}")]
    Bech32(String),
    #[error("address prefix is `{0}`, expected `acc`")]
    Prefix(String),
    #[error("address holds {0} bytes, expected 32")]
    Length(usize),
}

impl Address {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32M_CONST: u32 = 0x2bc8_30a3;

fn polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

impl Address {
    /// BIP-350 bech32m of the 32 bytes with prefix `acc` (the same text the `bech32` crate
    /// produces; written out here because addresses are formatted on hot paths).
    fn bech32m(&self) -> String {
        let mut data = Vec::with_capacity(52);
        let (mut acc, mut bits) = (0u32, 0u32);
        for b in self.0 {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                data.push(((acc >> bits) & 31) as u8);
            }
        }
        if bits > 0 {
            data.push(((acc << (5 - bits)) & 31) as u8);
        }
        let hrp = ADDRESS_PREFIX.as_bytes();
        let expanded = hrp.iter().map(|c| c >> 5).chain([0]).chain(hrp.iter().map(|c| c & 31));
        let checksum = polymod(expanded.chain(data.iter().copied()).chain([0; 6])) ^ BECH32M_CONST;
        let mut out = String::with_capacity(hrp.len() + 1 + data.len() + 6);
        out.push_str(ADDRESS_PREFIX);
        out.push('1');
        for d in data.iter().copied().chain((0..6).map(|i| ((checksum >> (5 * (5 - i))) & 31) as u8)) {
            out.push(CHARSET[d as usize] as char);
        }
        out
    }
}

/// Most formatted addresses remembered per thread: receipts name the same accounts again
/// and again (an agreement's holders in every payment), and the checksum is the cost.
const FORMATTED_CACHE_MAX: usize = 4096;

thread_local! {
    static FORMATTED: std::cell::RefCell<std::collections::HashMap<[u8; 32], String>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FORMATTED.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(text) = cache.get(&self.0) {
                return f.write_str(text);
            }
            if cache.len() >= FORMATTED_CACHE_MAX {
                cache.clear();
            }
            let text = self.bech32m();
            let result = f.write_str(&text);
            cache.insert(self.0, text);
            result
        })
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (hrp, data) =
            bech32::decode(text).map_err(|e| AddressError::Bech32(e.to_string()))?;
        if hrp.as_str() != ADDRESS_PREFIX {
            return Err(AddressError::Prefix(hrp.to_string()));
        }
        // `decode` accepts bech32 too; insist on the bech32m checksum.
        let canonical = Address(data.as_slice().try_into().map_err(|_| AddressError::Length(data.len()))?);
        if canonical.to_string() != text.to_ascii_lowercase() {
            return Err(AddressError::Bech32("checksum is not bech32m".into()));
        }
        Ok(canonical)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_through_text() {
        let address = Address([7u8; 32]);
        let text = address.to_string();
        assert!(text.starts_with("acc1"));
        assert_eq!(text.parse::<Address>(), Ok(address));
    }

    #[test]
    fn the_fast_encoder_matches_the_bech32_crate() {
        for seed in 0u8..=255 {
            let address = Address([seed.wrapping_mul(37); 32].map(|b| b ^ seed));
            let hrp = bech32::Hrp::parse_unchecked(ADDRESS_PREFIX);
            let reference = bech32::encode::<bech32::Bech32m>(hrp, &address.0).expect("encodes");
            assert_eq!(address.to_string(), reference);
        }
    }

    #[test]
    fn a_mistyped_address_is_refused() {
        let mut text = Address([7u8; 32]).to_string();
        let last = text.pop().expect("non-empty");
        text.push(if last == 'q' { 'p' } else { 'q' });
        assert!(text.parse::<Address>().is_err());
    }
}
