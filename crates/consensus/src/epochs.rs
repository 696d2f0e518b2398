//! Validator sets per epoch: the verifier (or signer) consensus and marshal use for each.
//!
//! The chain is cut into epochs of a fixed number of blocks (`FixedEpocher`). Each epoch
//! runs its own simplex instance over its own validator set; the set of epoch `e + 1` is
//! frozen in the state at the middle of epoch `e`, so every node knows it (and can check
//! epoch `e + 1` certificates while catching up) well before the first block of `e + 1`.

use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::types::Epoch;
use commonware_cryptography::certificate::{Provider, Scoped};
use commonware_cryptography::{ed25519, Signer as _};
use commonware_utils::ordered::Set;
use commonware_utils::TryCollect as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The scheme of every epoch this node knows the set of: a signer where this node is in the
/// set, a verifier elsewhere. Marshal asks it for the epoch of each finalization it checks.
#[derive(Clone)]
pub struct EpochSchemes {
    namespace: Arc<Vec<u8>>,
    key: ed25519::PrivateKey,
    map: Arc<Mutex<BTreeMap<u64, (Arc<Scheme>, usize)>>>,
}

impl EpochSchemes {
    pub fn new(namespace: Vec<u8>, key: ed25519::PrivateKey) -> Self {
        Self { namespace: Arc::new(namespace), key, map: Arc::default() }
    }

    /// Record the set of `epoch` (idempotent: a set once known never changes).
    pub fn insert(&self, epoch: u64, keys: &[ed25519::PublicKey]) -> Result<(), String> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(&epoch) {
            return Ok(());
        }
        let set: Set<ed25519::PublicKey> =
            keys.iter().cloned().try_collect().map_err(|_| format!("the validator set of epoch {epoch} has duplicate keys"))?;
        if set.is_empty() {
            return Err(format!("the validator set of epoch {epoch} is empty"));
        }
        let member = set.position(&self.key.public_key()).is_some();
        let scheme = if member {
            Scheme::signer(&self.namespace, set, self.key.clone()).ok_or("signer of a set holding this key")?
        } else {
            Scheme::verifier(&self.namespace, set)
        };
        map.insert(epoch, (Arc::new(scheme), keys.len()));
        Ok(())
    }

    /// The scheme of `epoch` and its number of validators, if the set is known here.
    pub fn get(&self, epoch: u64) -> Option<(Arc<Scheme>, usize)> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&epoch).cloned()
    }

    /// Whether this node votes in `epoch`.
    pub fn is_member(&self, epoch: u64) -> bool {
        use commonware_cryptography::certificate::Scheme as _;
        self.get(epoch).is_some_and(|(s, _)| s.me().is_some())
    }
}

impl Provider for EpochSchemes {
    type Scope = Epoch;
    type Scheme = Scheme;

    // Always a full scope, even for a verify-only ed25519 scheme: marshal asks for
    // `scheme(epoch)` when fetching notarized blocks and ignores the answer otherwise.
    fn scoped(&self, epoch: Epoch) -> Option<Scoped<Scheme>> {
        self.get(epoch.get()).map(|(s, _)| Scoped::scheme(s))
    }
}

