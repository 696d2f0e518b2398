//! Verify, don't trust: check a node's answer against the genesis validator set alone.
//!
//! A value is proven against the state root after block `H`; that root is in the header of
//! block `H + 1`; that header is linked by parent digests to a header whose digest a quorum
//! of the validators of its epoch signed (the finality certificate). Every link is checked
//! here.
//!
//! Which validators: the genesis set signs epoch 0. The set of each later epoch `e` is a
//! state value, frozen in the middle of epoch `e − 1`, so it is checked the same way, with
//! a certificate of epoch `e − 1`'s set: the client starts from the genesis set and follows
//! the chain of sets, one proof per epoch, up to the epoch it needs.

use crate::{Client, Error, Result};
use accord_types::{Address, Header};
use commonware_cryptography::ed25519;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// A balance the client checked itself.
#[derive(Debug, Serialize)]
pub struct VerifiedBalance {
    pub address: Address,
    pub symbol: String,
    pub balance: String,
    /// The value is the state after this block.
    pub height: u64,
    /// The block whose finality certificate anchors the check.
    pub certified_height: u64,
    pub state_root: String,
}

/// What the verifier trusts: the chain id, the genesis validators and the epoch length (all
/// from the genesis file).
pub struct Trust {
    pub chain_id: String,
    pub validators: Vec<ed25519::PublicKey>,
    pub epoch_length: Option<u64>,
}

impl Trust {
    fn epoch(&self, height: u64) -> u64 {
        accord_types::Epochs { length: self.epoch_length }.epoch(height)
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str> {
    v[name].as_str().ok_or_else(|| Error::Protocol(format!("missing `{name}`")))
}

fn unhex(text: &str, what: &str) -> Result<Vec<u8>> {
    hex::decode(text).map_err(|_| Error::Verify(format!("{what} is not hex")))
}

/// Check a proof answer (`/v1/proofs/…`) and the certified headers above it, the
/// certificate against `validators`, the set of `epoch` (it must be the epoch of the
/// certified block). Returns the (verified) value and the heights involved.
pub fn check(
    trust: &Trust,
    validators: &[ed25519::PublicKey],
    epoch: u64,
    key: &[u8],
    proof: &Value,
    certified: &Value,
) -> Result<(Option<Vec<u8>>, u64, u64)> {
    let height = proof["height"].as_u64().ok_or_else(|| Error::Protocol("missing `height`".into()))?;
    let root: [u8; 32] = unhex(field(proof, "root")?, "root")?
        .try_into()
        .map_err(|_| Error::Verify("root is not 32 bytes".into()))?;
    let value = proof["value"].as_str().map(|v| unhex(v, "value")).transpose()?;
    let proof_bytes = unhex(field(proof, "proof")?, "proof")?;
    let key_digest = accord_types::sha256(key);
    if !accord_state::verify(&root, &key_digest, value.as_deref(), &proof_bytes) {
        return Err(Error::Verify("the Merkle proof does not match the root".into()));
    }
    let last = certified_header(certified, height, root)?;
    if trust.epoch(last.height) != epoch {
        return Err(Error::Verify(format!("the certified block {} is not in epoch {epoch}", last.height)));
    }
    let certificate = unhex(field(certified, "finalization")?, "finalization")?;
    if !accord_consensus::finality::verify_finalization_in(&trust.chain_id, validators, Some(epoch), &certificate, last.digest()) {
        return Err(Error::Verify(format!("the finality certificate is not signed by a quorum of the validators of epoch {epoch}")));
    }
    Ok((value, height, last.height))
}

/// The last header of a certified chain whose first header is block `height + 1` and states
/// `root`, each header linked to the one before.
fn certified_header(certified: &Value, height: u64, root: [u8; 32]) -> Result<Header> {
    let headers = certified["headers"].as_array().ok_or_else(|| Error::Protocol("missing `headers`".into()))?;
    let mut previous: Option<[u8; 32]> = None;
    let mut last: Option<Header> = None;
    for (i, h) in headers.iter().enumerate() {
        let header = Header::decode(&unhex(field(h, "bytes")?, "header")?)
            .map_err(|e| Error::Verify(format!("header does not decode: {e}")))?;
        if i == 0 {
            if Some(header.height) != height.checked_add(1) {
                return Err(Error::Verify(format!("expected the header of block {}", height + 1)));
            }
            if header.state_root != root {
                return Err(Error::Verify("the header's state root is not the proof's root".into()));
            }
        }
        if let Some(digest) = previous {
            if header.parent != digest {
                return Err(Error::Verify(format!("header {} does not link to its parent", header.height)));
            }
        }
        previous = Some(header.digest());
        last = Some(header);
    }
    last.ok_or_else(|| Error::Verify("no headers".into()))
}

/// The validator set of `epoch`, checked link by link from the genesis set: the set of each
/// epoch `k ≥ 1` must be proven against a root that a quorum of epoch `k − 1`'s set
/// finalized in epoch `k − 1`.
pub async fn validator_set(client: &Client, trust: &Trust, epoch: u64) -> Result<Vec<ed25519::PublicKey>> {
    let mut set = trust.validators.clone();
    for k in 1..=epoch {
        let answer: Value = client.get(&format!("/v1/epochs/{k}")).await?;
        let proof = &answer["proof"];
        let certified = &answer["certified"];
        let key = accord_validators::state::set_key(k);
        if field(proof, "key")? != key.to_string() {
            return Err(Error::Verify(format!("the proof of epoch {k}'s set is for another key")));
        }
        let (value, _, _) = check(trust, &set, k - 1, &key.0, proof, certified)?;
        let value = value.ok_or_else(|| Error::Verify(format!("the set of epoch {k} is proven absent")))?;
        let entries = accord_validators::state::decode_set(&value).map_err(|e| Error::Verify(format!("the set of epoch {k} does not decode: {e}")))?;
        set = entries
            .iter()
            .map(|v| {
                <ed25519::PublicKey as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(v.key.0.as_slice()))
                    .map_err(|_| Error::Verify(format!("a key of epoch {k}'s set is not ed25519")))
            })
            .collect::<Result<_>>()?;
    }
    Ok(set)
}

/// A state value proven against a root that a quorum of the trusted validators finalized.
#[derive(Clone, Debug)]
pub struct Proven {
    /// The value (`None`: proven absent).
    pub value: Option<Vec<u8>>,
    /// The state is as after this block.
    pub height: u64,
    /// The block whose finalization certificate vouches for it.
    pub certified_height: u64,
    pub state_root: String,
}

/// Fetch the value under `key` with its proof and the certified headers above it, and
/// check them all.
pub async fn state(client: &Client, trust: &Trust, key: &accord_exec::StateKey) -> Result<Proven> {
    let proof: Value = client.get(&format!("/v1/proofs/{key}")).await?;
    let height = proof["height"].as_u64().ok_or_else(|| Error::Protocol("missing `height`".into()))?;
    let next = height.checked_add(1).ok_or_else(|| Error::Verify("height out of range".into()))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let certified: Value = loop {
        match client.get::<Value>(&format!("/v1/blocks/{next}/certified")).await {
            Ok(v) => break v,
            Err(Error::Api(info)) if info.code == 904 && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => return Err(e),
        }
    };
    let last = certified["headers"].as_array().and_then(|h| h.last()).and_then(|h| h["height"].as_u64()).ok_or_else(|| Error::Protocol("missing `headers`".into()))?;
    let epoch = trust.epoch(last);
    let validators = validator_set(client, trust, epoch).await?;
    let (value, height, certified_height) = check(trust, &validators, epoch, &key.0, &proof, &certified)?;
    Ok(Proven { value, height, certified_height, state_root: field(&proof, "root")?.to_string() })
}

/// Fetch and check `address`'s balance of `symbol`.
pub async fn balance(client: &Client, trust: &Trust, address: &Address, symbol: &str) -> Result<VerifiedBalance> {
    let proven = state(client, trust, &accord_exec::keys::account(address)).await?;
    let account = proven
        .value
        .map(|v| accord_exec::Account::decode(&v))
        .transpose()
        .map_err(|e| Error::Verify(format!("account does not decode: {e}")))?
        .unwrap_or_default();
    Ok(VerifiedBalance {
        address: *address,
        symbol: symbol.to_string(),
        balance: account.balance(symbol).to_string(),
        height: proven.height,
        certified_height: proven.certified_height,
        state_root: proven.state_root,
    })
}
