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

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = bech32::Hrp::parse_unchecked(ADDRESS_PREFIX);
        match bech32::encode::<bech32::Bech32m>(hrp, &self.0) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
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
    fn a_mistyped_address_is_refused() {
        let mut text = Address([7u8; 32]).to_string();
        let last = text.pop().expect("non-empty");
        text.push(if last == 'q' { 'p' } else { 'q' });
        assert!(text.parse::<Address>().is_err());
    }
}
