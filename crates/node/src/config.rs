//! A node's home directory: genesis, node settings and the validator key, checked at start.

use accord_types::limits::CHAIN_ID_BYTES_MAX;
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{ed25519, Signer};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One validator of the genesis set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GenesisValidator {
    /// Hex of the 32-byte ed25519 public key.
    pub public_key: String,
    /// Its p2p listener.
    pub p2p_address: SocketAddr,
}

/// What every node of a chain agrees on before the first block.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Genesis {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub validators: Vec<GenesisValidator>,
    /// Blocks per epoch: the validators may change their set, which takes effect at an
    /// epoch's first block. Absent: one epoch forever, the genesis set never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_length: Option<u64>,
}

/// Blocks per epoch of a new chain: long enough that a set frozen half an epoch ahead is
/// final well before it is needed, short enough that a change takes minutes, not hours,
/// on an idle chain (one block a second).
pub const EPOCH_LENGTH_DEFAULT: u64 = 256;
/// Fewest blocks per epoch: the set of the next epoch is frozen in the middle of one, and
/// must be final before marshal checks certificates of the next epoch.
pub const EPOCH_LENGTH_MIN: u64 = 16;

/// A follower: a non-voting node validators let connect.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Follower {
    /// Hex of its 32-byte ed25519 node key.
    pub public_key: String,
    /// Its p2p listener.
    pub p2p_address: SocketAddr,
}

/// Whether a node votes.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Its key must be one of the genesis validators'.
    #[default]
    Validator,
    /// Receives, checks and executes every final block; never votes. Its key must not be
    /// a validator's.
    Follower,
}

/// Settings of one node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeConfig {
    /// `validator` (the default) or `follower`; checked against the key at start, so a
    /// validator with a wrong key does not quietly stop voting.
    #[serde(default)]
    pub role: Role,
    /// Where the HTTP API listens.
    pub api_address: SocketAddr,
    /// Where p2p listens.
    pub p2p_address: SocketAddr,
    /// How long a proposer waits for the first transaction before it proposes an empty block.
    pub block_interval_ms: u64,
    /// Most transactions in one block.
    pub block_txs_max: usize,
    /// Most transactions waiting in the mempool.
    pub mempool_txs_max: usize,
    /// How long a view waits for its leader.
    pub leader_timeout_ms: u64,
    /// Followers this validator lets connect (a follower needs no list: it dials the
    /// validators of the genesis).
    #[serde(default)]
    pub followers: Vec<Follower>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            api_address: SocketAddr::from(([127, 0, 0, 1], 8080)),
            p2p_address: SocketAddr::from(([127, 0, 0, 1], 26656)),
            block_interval_ms: 1000,
            block_txs_max: 10_000,
            mempool_txs_max: 200_000,
            leader_timeout_ms: 3000,
            followers: Vec::new(),
            role: Role::Validator,
        }
    }
}

/// A config or genesis that cannot work, with what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

fn file_error(path: &Path, reason: impl ToString) -> ConfigError {
    ConfigError::File { path: path.to_path_buf(), reason: reason.to_string() }
}

pub fn public_key_from_hex(text: &str) -> Result<ed25519::PublicKey, ConfigError> {
    let raw = hex::decode(text).map_err(|_| ConfigError::Invalid(format!("public key `{text}` is not hex")))?;
    ed25519::PublicKey::decode(commonware_codec::Copying(raw.as_slice()))
        .map_err(|_| ConfigError::Invalid(format!("`{text}` is not an ed25519 public key")))
}

pub fn public_key_hex(key: &ed25519::PublicKey) -> String {
    hex::encode(key.encode())
}

impl Genesis {
    /// Check everything that can be checked without the network.
    pub fn validate(&self) -> Result<Vec<ed25519::PublicKey>, ConfigError> {
        let id_ok = !self.chain_id.is_empty()
            && self.chain_id.len() <= CHAIN_ID_BYTES_MAX
            && self.chain_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(ConfigError::Invalid(format!(
                "chain id `{}` must be 1-{CHAIN_ID_BYTES_MAX} characters of a-z, A-Z, 0-9, - or _",
                self.chain_id
            )));
        }
        if self.validators.is_empty() {
            return Err(ConfigError::Invalid("genesis needs at least one validator".into()));
        }
        if self.validators.len() > accord_types::limits::VALIDATORS_MAX {
            return Err(ConfigError::Invalid(format!("genesis has {} validators; at most {} are allowed", self.validators.len(), accord_types::limits::VALIDATORS_MAX)));
        }
        if let Some(l) = self.epoch_length {
            if l < EPOCH_LENGTH_MIN {
                return Err(ConfigError::Invalid(format!("epoch_length {l} is too short: at least {EPOCH_LENGTH_MIN} blocks")));
            }
        }
        let mut keys = Vec::new();
        for v in &self.validators {
            let key = public_key_from_hex(&v.public_key)?;
            if keys.contains(&key) {
                return Err(ConfigError::Invalid(format!("validator {} appears twice", v.public_key)));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// `sha256` of the canonical JSON: what the genesis block commits to.
    pub fn digest(&self) -> [u8; 32] {
        accord_types::sha256(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// Paths inside a node's home.
pub struct Home {
    pub dir: PathBuf,
}

impl Home {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
    pub fn genesis(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("node.json")
    }
    pub fn validator_key(&self) -> PathBuf {
        self.dir.join("validator.key")
    }
    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| file_error(path, e))
    }

    pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ConfigError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| file_error(path, e))?;
        std::fs::write(path, bytes).map_err(|e| file_error(path, e))
    }

    pub fn read_validator_key(&self) -> Result<ed25519::PrivateKey, ConfigError> {
        let path = self.validator_key();
        let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
        let raw = hex::decode(text.trim()).map_err(|_| file_error(&path, "not hex"))?;
        ed25519::PrivateKey::decode(commonware_codec::Copying(raw.as_slice()))
            .map_err(|_| file_error(&path, "not an ed25519 private key"))
    }

    /// Write a new validator key readable only by its owner.
    pub fn write_validator_key(&self, key: &ed25519::PrivateKey) -> Result<(), ConfigError> {
        let path = self.validator_key();
        std::fs::write(&path, hex::encode(key.encode())).map_err(|e| file_error(&path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| file_error(&path, e))?;
        }
        Ok(())
    }

    /// Create a single-validator home (what `accord dev` does the first time).
    pub fn init_dev(&self, chain_id: &str, api: SocketAddr, p2p: SocketAddr, now_ms: u64) -> Result<(), ConfigError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| file_error(&self.dir, e))?;
        let key = ed25519::PrivateKey::random(&mut rand::rng());
        self.write_validator_key(&key)?;
        let genesis = Genesis {
            chain_id: chain_id.to_string(),
            genesis_time_ms: now_ms,
            validators: vec![GenesisValidator { public_key: public_key_hex(&key.public_key()), p2p_address: p2p }],
            epoch_length: Some(EPOCH_LENGTH_DEFAULT),
        };
        Self::write_json(&self.genesis(), &genesis)?;
        let config = NodeConfig { api_address: api, p2p_address: p2p, ..NodeConfig::default() };
        Self::write_json(&self.config(), &config)
    }

    /// Create a follower's home for the chain of `genesis`: the same genesis, a fresh node
    /// key, a config. Returns the entry each validator adds to its `followers`.
    pub fn init_follower(&self, genesis: &Genesis, api: SocketAddr, p2p: SocketAddr) -> Result<Follower, ConfigError> {
        genesis.validate()?;
        for existing in [self.genesis(), self.validator_key(), self.config()] {
            if existing.exists() {
                return Err(file_error(&existing, "exists already; choose another home"));
            }
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| file_error(&self.dir, e))?;
        let key = ed25519::PrivateKey::random(&mut rand::rng());
        self.write_validator_key(&key)?;
        Self::write_json(&self.genesis(), genesis)?;
        let config = NodeConfig { api_address: api, p2p_address: p2p, role: Role::Follower, ..NodeConfig::default() };
        Self::write_json(&self.config(), &config)?;
        Ok(Follower { public_key: public_key_hex(&key.public_key()), p2p_address: p2p })
    }

    /// Write the homes of a network on this machine: `validators` validators in
    /// `out/node0..` and the rest of `ports` as followers in `out/follower0..`. One key each,
    /// one shared genesis (the validators), one config each with the given ports
    /// (`ports[k] = (api, p2p)`); every validator lets every follower connect. A follower can
    /// become a validator later: the validators approve a set that includes it.
    pub fn init_testnet(
        out: &Path,
        chain_id: &str,
        ports: &[(u16, u16)],
        validators: usize,
        now_ms: u64,
        epoch_length: u64,
    ) -> Result<Vec<PathBuf>, ConfigError> {
        if validators == 0 {
            return Err(ConfigError::Invalid("a network needs at least one validator".into()));
        }
        if ports.len() < validators {
            return Err(ConfigError::Invalid("fewer ports than validators".into()));
        }
        if out.join("node0").exists() {
            return Err(file_error(&out.join("node0"), "exists already; choose another --out or remove it"));
        }
        let keys: Vec<ed25519::PrivateKey> = ports.iter().map(|_| ed25519::PrivateKey::random(&mut rand::rng())).collect();
        let localhost = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let genesis = Genesis {
            chain_id: chain_id.to_string(),
            genesis_time_ms: now_ms,
            validators: keys[..validators]
                .iter()
                .zip(ports)
                .map(|(k, (_, p2p))| GenesisValidator { public_key: public_key_hex(&k.public_key()), p2p_address: localhost(*p2p) })
                .collect(),
            epoch_length: Some(epoch_length),
        };
        genesis.validate()?;
        let followers: Vec<Follower> = keys[validators..]
            .iter()
            .zip(&ports[validators..])
            .map(|(k, (_, p2p))| Follower { public_key: public_key_hex(&k.public_key()), p2p_address: localhost(*p2p) })
            .collect();
        let mut homes = Vec::new();
        for (i, (key, (api, p2p))) in keys.iter().zip(ports).enumerate() {
            let (name, followers, role) = if i < validators {
                (format!("node{i}"), followers.clone(), Role::Validator)
            } else {
                (format!("follower{}", i - validators), Vec::new(), Role::Follower)
            };
            let home = Home::new(out.join(name));
            std::fs::create_dir_all(&home.dir).map_err(|e| file_error(&home.dir, e))?;
            home.write_validator_key(key)?;
            Self::write_json(&home.genesis(), &genesis)?;
            let config = NodeConfig {
                api_address: localhost(*api),
                p2p_address: localhost(*p2p),
                followers,
                role,
                ..NodeConfig::default()
            };
            Self::write_json(&home.config(), &config)?;
            homes.push(home.dir);
        }
        Ok(homes)
    }
}

use commonware_math::algebra::Random as _;
