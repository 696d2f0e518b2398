//! The keystore: ed25519 keys in files, encrypted with a passphrase (argon2id + ChaCha20-Poly1305).

use crate::{Error, Result};
use accord_types::Address;
use argon2::Argon2;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{ed25519, Signer};
use commonware_math::algebra::Random;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Longest key name.
pub const KEY_NAME_BYTES_MAX: usize = 64;

/// One key file, as stored on disk.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    name: String,
    address: Address,
    /// True when the key was stored with the empty passphrase (tests only).
    insecure: bool,
    salt: String,
    nonce: String,
    ciphertext: String,
}

/// A key's public facts.
#[derive(Clone, Debug, Serialize)]
pub struct KeyInfo {
    pub name: String,
    pub address: Address,
    pub insecure: bool,
}

/// The address of an ed25519 public key.
pub fn address_of(key: &ed25519::PrivateKey) -> Address {
    let raw = key.public_key().encode();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(raw.as_ref());
    Address(bytes)
}

/// Keys under `<home>/keys`, one JSON file each.
pub struct Keystore {
    dir: PathBuf,
}

fn cipher(passphrase: &str, salt: &[u8]) -> Result<ChaCha20Poly1305> {
    let mut key = [0u8; 32];
    Argon2::default()
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| Error::Keystore(format!("key derivation failed: {e}")))?;
    Ok(ChaCha20Poly1305::new(Key::from_slice(&key)))
}

impl Keystore {
    pub fn open(home: &Path) -> Self {
        Self { dir: home.join("keys") }
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        let ok = !name.is_empty()
            && name.len() <= KEY_NAME_BYTES_MAX
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(Error::Keystore(format!(
                "key name `{name}` must be 1-{KEY_NAME_BYTES_MAX} characters of a-z, A-Z, 0-9, - or _"
            )));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Store `key` under `name`. Refuses to overwrite. An empty passphrase needs `insecure`.
    pub fn add(&self, name: &str, key: &ed25519::PrivateKey, passphrase: &str, insecure: bool) -> Result<KeyInfo> {
        if passphrase.is_empty() && !insecure {
            return Err(Error::Keystore(
                "a passphrase is required (set ACCORD_PASSPHRASE, or pass --insecure-no-passphrase for tests)".into(),
            ));
        }
        let path = self.path(name)?;
        if path.exists() {
            return Err(Error::Keystore(format!("a key named `{name}` already exists")));
        }
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut salt);
        rand::rng().fill_bytes(&mut nonce);
        let secret = key.encode();
        let ciphertext = cipher(passphrase, &salt)?
            .encrypt(Nonce::from_slice(&nonce), secret.as_ref())
            .map_err(|_| Error::Keystore("encryption failed".into()))?;
        let file = KeyFile {
            name: name.to_string(),
            address: address_of(key),
            insecure: passphrase.is_empty(),
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        };
        std::fs::create_dir_all(&self.dir)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&file)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(KeyInfo { name: file.name, address: file.address, insecure: file.insecure })
    }

    /// Make a new random key and store it.
    pub fn generate(&self, name: &str, passphrase: &str, insecure: bool) -> Result<KeyInfo> {
        let key = ed25519::PrivateKey::random(&mut rand::rng());
        self.add(name, &key, passphrase, insecure)
    }

    fn read(&self, name: &str) -> Result<KeyFile> {
        let path = self.path(name)?;
        let bytes = std::fs::read(&path).map_err(|_| Error::Keystore(format!("no key named `{name}`")))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Keystore(format!("key file {}: {e}", path.display())))
    }

    pub fn show(&self, name: &str) -> Result<KeyInfo> {
        let f = self.read(name)?;
        Ok(KeyInfo { name: f.name, address: f.address, insecure: f.insecure })
    }

    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Ok(out) };
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                if let Some(name) = path.file_stem().and_then(|s| s.to_str()) {
                    out.push(self.show(name)?);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Decrypt the key called `name`.
    pub fn unlock(&self, name: &str, passphrase: &str) -> Result<ed25519::PrivateKey> {
        let f = self.read(name)?;
        let bad = |what: &str| Error::Keystore(format!("key file `{name}`: bad {what}"));
        let salt = hex::decode(&f.salt).map_err(|_| bad("salt"))?;
        let nonce = hex::decode(&f.nonce).map_err(|_| bad("nonce"))?;
        let ciphertext = hex::decode(&f.ciphertext).map_err(|_| bad("ciphertext"))?;
        if nonce.len() != 12 {
            return Err(bad("nonce"));
        }
        let secret = cipher(passphrase, &salt)?
            .decrypt(Nonce::from_slice(&nonce), ciphertext.as_ref())
            .map_err(|_| Error::Keystore(format!("wrong passphrase for key `{name}`")))?;
        let key = ed25519::PrivateKey::decode(commonware_codec::Copying(secret.as_slice())).map_err(|_| bad("secret key"))?;
        if address_of(&key) != f.address {
            return Err(bad("address"));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_unlocks_only_with_its_passphrase() {
        let dir = std::env::temp_dir().join(format!("accord-keystore-{}", std::process::id()));
        let store = Keystore::open(&dir);
        let info = store.generate("alice", "correct horse", false).expect("stored");
        assert_eq!(address_of(&store.unlock("alice", "correct horse").expect("unlocks")), info.address);
        assert!(store.unlock("alice", "wrong").is_err());
        assert!(store.generate("alice", "x", false).is_err(), "no overwrite");
        assert!(store.generate("bob", "", false).is_err(), "empty passphrase needs the flag");
        assert_eq!(store.list().expect("lists").len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
