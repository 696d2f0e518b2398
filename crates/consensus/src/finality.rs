//! Checking a finality certificate with nothing but the genesis validator set.

use commonware_codec::Decode as _;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::Finalization;
use commonware_cryptography::certificate::Verifier as _;
use commonware_cryptography::ed25519;
use commonware_cryptography::sha256::Digest;
use commonware_utils::ordered::Set;
use commonware_utils::TryCollect as _;

/// The namespace consensus signs under, for a chain id.
pub fn namespace(chain_id: &str) -> Vec<u8> {
    format!("accord/{chain_id}").into_bytes()
}

/// Whether `certificate` (an encoded finalization) proves that a quorum of `validators`
/// finalized the block whose digest is `block_digest`.
pub fn verify_finalization(
    chain_id: &str,
    validators: &[ed25519::PublicKey],
    certificate: &[u8],
    block_digest: [u8; 32],
) -> bool {
    verify_finalization_in(chain_id, validators, None, certificate, block_digest)
}

/// [`verify_finalization`], and (with `epoch`) that the certificate was made in that epoch:
/// the epoch is part of what every validator signs.
pub fn verify_finalization_in(
    chain_id: &str,
    validators: &[ed25519::PublicKey],
    epoch: Option<u64>,
    certificate: &[u8],
    block_digest: [u8; 32],
) -> bool {
    let Ok(set) = validators.iter().cloned().try_collect::<Set<_>>() else {
        return false;
    };
    let mut ns = namespace(chain_id);
    ns.extend_from_slice(b"/consensus");
    let verifier = Scheme::verifier(&ns, set);
    let cfg = verifier.certificate_codec_config();
    let Ok(finalization) = Finalization::<Scheme, Digest>::decode_cfg(commonware_codec::Copying(certificate), &cfg)
    else {
        return false;
    };
    let epoch_ok = epoch.is_none_or(|e| finalization.proposal.round.epoch().get() == e);
    epoch_ok
        && finalization.proposal.payload == Digest(block_digest)
        && finalization.verify(&mut rand::rng(), &verifier, &commonware_parallel::Sequential)
}
