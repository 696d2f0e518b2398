//! A byzantine validator: it holds a real validator key but runs no honest node. It acts in
//! one of two ways, by seed, so that each defence is what stops it:
//!
//! - **Equivocator** (even seeds): for every notarize or finalize vote it hears it signs two
//!   conflicting ones (the proposal it saw, and a made-up one) and sends both to everyone;
//!   for every nullify vote it hears it proposes two different made-up blocks at that view,
//!   one to each half of the validators; now and then it sends bytes that decode as
//!   nothing, on every channel. Consensus (simplex) blocks it, usually within its first
//!   view, after which it hears nothing more.
//! - **Forger** (odd seeds): it never votes; while it hears votes it passes on transaction
//!   batches whose signatures are forged. Only the nodes' gossip check can block it.
//!
//! Either way honest validators must block it and go on.

use accord_consensus::engine::{quota, signing_scheme};
use accord_consensus::CHANNELS;
use accord_node::config::Home;
use accord_types::{Action, Address, BlockBody, PointsAction, SignedTx, Transaction, TxHash};
use commonware_codec::{DecodeExt, Encode};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Finalize, Notarize, Proposal, Vote};
use commonware_cryptography::sha256::Digest;
use commonware_p2p::simulated::Oracle;
use commonware_p2p::utils::mux::{self, Builder as _};
use commonware_p2p::{Recipients, Sender as _};
use commonware_cryptography::Signer as _;
use std::collections::HashSet;
use commonware_runtime::{deterministic, Spawner as _, Supervisor as _};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

/// Start the byzantine validator of `home` on `oracle`'s network.
pub async fn start(
    context: &deterministic::Context,
    oracle: &Oracle<commonware_cryptography::ed25519::PublicKey, deterministic::Context>,
    home: &Home,
    seed: u64,
) {
    let key = home.read_validator_key().expect("key");
    let genesis: accord_node::config::Genesis = Home::read_json(&home.genesis()).expect("genesis");
    let validators = genesis.validate().expect("genesis");
    let node_config: accord_node::config::NodeConfig = Home::read_json(&home.config()).expect("config");
    let config = accord_node::consensus_config_for(home, &genesis, &validators, &node_config, "").expect("consensus config");
    let scheme = signing_scheme(&config).expect("the byzantine key is a validator's");
    let control = oracle.control(key.public_key());
    // Consensus messages travel on one sub-channel per epoch: it listens to all of them
    // (nothing is registered, so everything arrives on the backup queue) and answers on
    // the epoch it heard.
    let (vote_sender, vote_receiver) = control.register(CHANNELS[0], quota()).await.expect("registers");
    let (vote_mux, vote_handle, mut vote_inbox, mut votes) =
        mux::Muxer::builder(context.child("byzantine_votes"), vote_sender, vote_receiver).with_backup().with_global_sender().build();
    let (cert_sender, cert_receiver) = control.register(CHANNELS[1], quota()).await.expect("registers");
    let (cert_mux, cert_handle, _, mut certificates) =
        mux::Muxer::builder(context.child("byzantine_certificates"), cert_sender, cert_receiver).with_backup().with_global_sender().build();
    let (mut gossip, _) = control.register(CHANNELS[5], quota()).await.expect("registers");
    let chain_id = genesis.chain_id.clone();
    let others: Vec<_> = config.validators.iter().map(|v| v.public_key.clone()).filter(|k| *k != config.key.public_key()).collect();
    let (left, right) = others.split_at(others.len() / 2);
    let (left, right) = (left.to_vec(), right.to_vec());
    context.child("byzantine").spawn(move |_| async move {
        // A muxer stops once its handle is gone: keep them.
        let _muxes = (vote_mux.start(), cert_mux.start(), vote_handle, cert_handle);
        let mut rng = StdRng::seed_from_u64(seed ^ 0xb42);
        let mut proposed = HashSet::new();
        let forger = seed % 2 == 1;
        while let Some((epoch, (_, message))) = vote_inbox.recv().await {
            if forger {
                if rng.random_bool(0.1) {
                    let _ = gossip.send(Recipients::All, forged_batch(&chain_id, &mut rng), false);
                }
                continue;
            }
            let conflicting = match Vote::<Scheme, Digest>::decode(message) {
                Ok(Vote::Nullify(seen)) => {
                    let round = seen.round;
                    if let (true, Some(parent)) = (proposed.insert(round), round.view().previous()) {
                        for half in [&left, &right] {
                            let made_up = Proposal::new(round, parent, Digest(rng.random()));
                            if let Some(vote) = Notarize::sign(&scheme, made_up) {
                                let _ = votes.send(epoch, Recipients::Some(half.clone()), Vote::<Scheme, Digest>::Notarize(vote).encode(), true);
                            }
                        }
                    }
                    Vec::new()
                }
                Ok(Vote::Notarize(seen)) => {
                    let other = Proposal::new(seen.proposal.round, seen.proposal.parent, Digest(rng.random()));
                    [Notarize::sign(&scheme, seen.proposal), Notarize::sign(&scheme, other)]
                        .into_iter()
                        .flatten()
                        .map(|v| Vote::<Scheme, Digest>::Notarize(v).encode())
                        .collect::<Vec<_>>()
                }
                Ok(Vote::Finalize(seen)) => {
                    let other = Proposal::new(seen.proposal.round, seen.proposal.parent, Digest(rng.random()));
                    [Finalize::sign(&scheme, seen.proposal), Finalize::sign(&scheme, other)]
                        .into_iter()
                        .flatten()
                        .map(|v| Vote::<Scheme, Digest>::Finalize(v).encode())
                        .collect::<Vec<_>>()
                }
                _ => Vec::new(),
            };
            for vote in conflicting {
                let _ = votes.send(epoch, Recipients::All, vote, true);
            }
            if rng.random_bool(0.05) {
                let garbage: Vec<u8> = (0..rng.random_range(1..512)).map(|_| rng.random()).collect();
                let _ = votes.send(epoch, Recipients::All, garbage.clone(), false);
                let _ = certificates.send(epoch, Recipients::All, garbage.clone(), false);
                let _ = gossip.send(Recipients::All, garbage, false);
            }
        }
    });
}

/// A well-formed batch whose one transaction carries a signature its signer never made.
fn forged_batch(chain_id: &str, rng: &mut StdRng) -> Vec<u8> {
    let tx = Transaction {
        chain_id: chain_id.into(),
        signer: Address(rng.random()),
        nonce: 0,
        actions: vec![Action::Points(PointsAction::Transfer { symbol: "SIM".into(), to: Address(rng.random()), amount: 1 })],
        memo: String::new(),
    };
    let hash: TxHash = tx.hash();
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&rng.random::<[u8; 32]>());
    signature[32..].copy_from_slice(&rng.random::<[u8; 32]>());
    let mut w = accord_types::Writer::new();
    BlockBody { txs: vec![SignedTx { tx, hash, signature }] }.encode_into(&mut w);
    w.finish()
}
