//! Private memos: a transaction's memo encrypted so that only chosen accounts can read it.
//! Amounts and parties stay public (the ledger's totals stay checkable); the business note
//! does not.
//!
//! Each recipient is an account whose address is its ed25519 public key. Its X25519 key is
//! the same curve point in Montgomery form (the secret: the clamped first half of
//! SHA-512 of the ed25519 seed, as ed25519 itself derives its scalar). A sealed memo is
//! `enc1:` followed by unpadded URL-safe base64 of:
//!
//! ```text
//! version (1 = 0x01) ‖ ephemeral X25519 public key (32) ‖ recipients n (1, 1..=8)
//!   ‖ n × wrapped content key (32 + 16-byte tag) ‖ nonce (12) ‖ ciphertext (text + 16-byte tag)
//! ```
//!
//! The content key is random per memo; recipient i's copy is sealed with ChaCha20-Poly1305
//! under SHA-256("accord/memo/v1" ‖ X25519(ephemeral, recipient i) ‖ ephemeral public key ‖
//! recipient's X25519 key) with a zero nonce (each such key seals exactly one message). The
//! text is sealed under the content key with a random nonce and the header as associated
//! data, so a changed header or a swapped slot fails to open. A reader tries each slot.

use accord_types::Address;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use commonware_codec::Encode;
use commonware_cryptography::ed25519;
use sha2::{Digest as _, Sha256, Sha512};
use thiserror::Error;
use x25519_dalek::{PublicKey as XPublic, StaticSecret};

/// What a sealed memo starts with.
pub const PREFIX: &str = "enc1:";
/// Most recipients of one memo.
pub const RECIPIENTS_MAX: usize = 8;
const VERSION: u8 = 1;
const KDF_CONTEXT: &[u8] = b"accord/memo/v1";
const SLOT: usize = 32 + 16;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MemoError {
    #[error("a private memo needs 1 to {RECIPIENTS_MAX} recipients")]
    Recipients,
    #[error("{0} is not a key's address (a multisig or agreement cannot read memos)")]
    NotAKey(Address),
    #[error("the sealed memo would be {len} bytes; memos hold at most {max} (shorten the text or name fewer recipients)")]
    TooLong { len: usize, max: usize },
    #[error("the memo is not a well-formed sealed memo")]
    Garbled,
    #[error("this key is not among the memo's recipients")]
    NotARecipient,
}

fn x25519_public(address: &Address) -> Result<[u8; 32], MemoError> {
    let point = curve25519_dalek::edwards::CompressedEdwardsY(address.0).decompress().ok_or(MemoError::NotAKey(*address))?;
    if point.is_small_order() {
        return Err(MemoError::NotAKey(*address));
    }
    Ok(point.to_montgomery().to_bytes())
}

fn x25519_secret(key: &ed25519::PrivateKey) -> StaticSecret {
    let seed = key.encode();
    let hash = Sha512::digest(seed.as_ref());
    let mut scalar = [0u8; 32];
    scalar.copy_from_slice(&hash[..32]);
    StaticSecret::from(scalar)
}

fn wrap_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> Key {
    let mut h = Sha256::new();
    h.update(KDF_CONTEXT);
    h.update(shared);
    h.update(ephemeral);
    h.update(recipient);
    let out: [u8; 32] = h.finalize().into();
    Key::from(out)
}

/// Seal `text` for `recipients` (duplicates are read once). The sender should list itself
/// to read its own memo later. The result fits in `max_len` bytes or is refused.
pub fn seal(text: &str, recipients: &[Address], max_len: usize) -> Result<String, MemoError> {
    let mut unique: Vec<Address> = recipients.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.is_empty() || unique.len() > RECIPIENTS_MAX {
        return Err(MemoError::Recipients);
    }
    let keys: Vec<[u8; 32]> = unique.iter().map(x25519_public).collect::<Result<_, _>>()?;
    let raw_len = 1 + 32 + 1 + unique.len() * SLOT + 12 + text.len() + 16;
    let len = PREFIX.len() + (raw_len * 4).div_ceil(3);
    if len > max_len {
        return Err(MemoError::TooLong { len, max: max_len });
    }
    let ephemeral = StaticSecret::from(rand::random::<[u8; 32]>());
    let ephemeral_public = XPublic::from(&ephemeral).to_bytes();
    let content_key: [u8; 32] = rand::random();
    let mut out = vec![VERSION];
    out.extend_from_slice(&ephemeral_public);
    out.push(unique.len() as u8);
    for recipient in &keys {
        let shared = ephemeral.diffie_hellman(&XPublic::from(*recipient));
        let cipher = ChaCha20Poly1305::new(&wrap_key(shared.as_bytes(), &ephemeral_public, recipient));
        let wrapped = cipher.encrypt(&Nonce::default(), content_key.as_slice()).map_err(|_| MemoError::Garbled)?;
        out.extend_from_slice(&wrapped);
    }
    let header_len = out.len();
    let nonce: [u8; 12] = rand::random();
    let cipher = ChaCha20Poly1305::new(&Key::from(content_key));
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: text.as_bytes(), aad: &out[..header_len] })
        .map_err(|_| MemoError::Garbled)?;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
}

/// Whether `memo` is a sealed one (else it is public text).
pub fn is_sealed(memo: &str) -> bool {
    memo.starts_with(PREFIX)
}

/// Open a sealed memo with `key`.
pub fn open(memo: &str, key: &ed25519::PrivateKey) -> Result<String, MemoError> {
    let body = memo.strip_prefix(PREFIX).ok_or(MemoError::Garbled)?;
    let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| MemoError::Garbled)?;
    if raw.len() < 34 || raw[0] != VERSION {
        return Err(MemoError::Garbled);
    }
    let mut ephemeral = [0u8; 32];
    ephemeral.copy_from_slice(&raw[1..33]);
    let n = raw[33] as usize;
    let header_len = 34 + n * SLOT;
    if n == 0 || n > RECIPIENTS_MAX || raw.len() < header_len + 12 + 16 {
        return Err(MemoError::Garbled);
    }
    let secret = x25519_secret(key);
    let me = XPublic::from(&secret).to_bytes();
    let shared = secret.diffie_hellman(&XPublic::from(ephemeral));
    if !shared.was_contributory() {
        return Err(MemoError::Garbled);
    }
    let unwrap = ChaCha20Poly1305::new(&wrap_key(shared.as_bytes(), &ephemeral, &me));
    let content_key = raw[34..header_len]
        .chunks(SLOT)
        .find_map(|slot| unwrap.decrypt(&Nonce::default(), slot).ok())
        .ok_or(MemoError::NotARecipient)?;
    let content_key: [u8; 32] = content_key.try_into().map_err(|_| MemoError::Garbled)?;
    let nonce: [u8; 12] = raw[header_len..header_len + 12].try_into().map_err(|_| MemoError::Garbled)?;
    let text = ChaCha20Poly1305::new(&Key::from(content_key))
        .decrypt(&Nonce::from(nonce), Payload { msg: &raw[header_len + 12..], aad: &raw[..header_len] })
        .map_err(|_| MemoError::Garbled)?;
    String::from_utf8(text).map_err(|_| MemoError::Garbled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::address_of;
    use commonware_cryptography::Signer as _;

    fn key(seed: u64) -> ed25519::PrivateKey {
        ed25519::PrivateKey::from_seed(seed)
    }

    #[test]
    fn recipients_read_it_and_nobody_else() {
        let (alice, bob, eve) = (key(1), key(2), key(3));
        let sealed = seal("net 30, invoice 7", &[address_of(&alice), address_of(&bob)], 512).expect("seals");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("invoice"));
        assert!(sealed.len() <= 512);
        assert_eq!(open(&sealed, &alice).expect("alice reads"), "net 30, invoice 7");
        assert_eq!(open(&sealed, &bob).expect("bob reads"), "net 30, invoice 7");
        assert_eq!(open(&sealed, &eve), Err(MemoError::NotARecipient));
        // Sealing twice gives different bytes (fresh ephemeral key, content key and nonce).
        assert_ne!(sealed, seal("net 30, invoice 7", &[address_of(&alice), address_of(&bob)], 512).expect("seals"));
    }

    #[test]
    fn tampering_is_detected_and_bad_inputs_are_refused() {
        let alice = key(1);
        let sealed = seal("hello", &[address_of(&alice)], 512).expect("seals");
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed[PREFIX.len()..]).expect("base64");
        for i in [1, 40, raw.len() - 1] {
            raw[i] ^= 1;
            let forged = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&raw));
            assert!(open(&forged, &alice).is_err(), "byte {i} changed and it still opened");
            raw[i] ^= 1;
        }
        assert_eq!(open("enc1:!!", &alice), Err(MemoError::Garbled));
        assert_eq!(open("plain text", &alice), Err(MemoError::Garbled));
        assert_eq!(seal("x", &[], 512), Err(MemoError::Recipients));
        let nine: Vec<Address> = (10..19).map(|s| address_of(&key(s))).collect();
        assert_eq!(seal("x", &nine, 4096), Err(MemoError::Recipients));
        let long = "x".repeat(400);
        assert!(matches!(seal(&long, &[address_of(&alice)], 512), Err(MemoError::TooLong { .. })));
        // A hash-derived address (a multisig's, an agreement's) is usually no curve point;
        // the identity point never is a reader.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(seal("x", &[Address(identity)], 512), Err(MemoError::NotAKey(Address(identity))));
    }

    #[test]
    fn the_length_estimate_is_exact() {
        let alice = key(1);
        for len in 0..40 {
            let text = "y".repeat(len);
            let sealed = seal(&text, &[address_of(&alice)], 4096).expect("seals");
            assert!(matches!(seal(&text, &[address_of(&alice)], sealed.len() - 1), Err(MemoError::TooLong { .. })));
            assert!(seal(&text, &[address_of(&alice)], sealed.len()).is_ok());
        }
    }
}
