//! One simplex engine per epoch: start the next when the last block of an epoch is final,
//! then stop the old one.
//!
//! Votes, certificates and simplex's own fetches run on one sub-channel per epoch (a peer
//! still in the previous epoch must not be blocked for sending "wrong-epoch" messages).
//! Messages for an epoch this node has not reached yet mean it is behind: it asks the
//! sender for the finalization of its own epoch's last block, which marshal then fetches
//! and delivers, and the switch follows.

use crate::engine::{Boundary, Chain, Finalized, Track, Validator};
use crate::epochs::EpochSchemes;
use accord_types::Epochs;
use crate::Host;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::types::Height;
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{ed25519, Digestible as _};
use commonware_p2p::utils::mux::{self, Builder as _, SubReceiver, SubSender};
use commonware_p2p::{Receiver, Sender};
use commonware_runtime::{Handle, Spawner};
use commonware_utils::vec::NonEmptyVec;
use commonware_utils::Acknowledgement as _;
use futures::StreamExt as _;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Votes, certificates and simplex fetches of one epoch.
pub type EpochChannels<S> = (
    (SubSender<S>, SubReceiver<ed25519::PublicKey>),
    (SubSender<S>, SubReceiver<ed25519::PublicKey>),
    (SubSender<S>, SubReceiver<ed25519::PublicKey>),
);

pub(crate) struct Orchestrator {
    pub chain: Chain,
    pub host: Arc<dyn Host>,
    pub schemes: EpochSchemes,
    pub track: Track,
    pub epochs: Epochs,
    pub genesis: Vec<Validator>,
    pub genesis_digest: Digest,
    pub followers: Vec<Validator>,
}

/// What the orchestrator keeps per epoch while it runs.
struct State {
    sets: BTreeMap<u64, Vec<Validator>>,
    tracked: Option<u64>,
}

impl Orchestrator {
    /// The set of `epoch`: known here (the genesis' for 0), else from final state (waits
    /// until frozen).
    async fn set(&self, state: &mut State, epoch: u64) -> Result<Vec<Validator>, String> {
        if let Some(set) = state.sets.get(&epoch) {
            return Ok(set.clone());
        }
        let set = self.host.validator_set(epoch).await.ok_or_else(|| format!("the validator set of epoch {epoch} is not available"))?;
        self.learn(state, epoch, set.clone())?;
        Ok(set)
    }

    fn learn(&self, state: &mut State, epoch: u64, set: Vec<Validator>) -> Result<(), String> {
        let keys: Vec<ed25519::PublicKey> = set.iter().map(|v| v.public_key.clone()).collect();
        self.schemes.insert(epoch, &keys)?;
        state.sets.insert(epoch, set);
        Ok(())
    }

    /// Keep connections for `epoch`: its validators, the previous epoch's (they finish the
    /// old epoch and serve its blocks), and the followers. Ids only ever rise.
    fn track(&self, state: &mut State, epoch: u64) {
        if state.tracked.is_some_and(|t| t >= epoch) {
            return;
        }
        let Some(primary) = state.sets.get(&epoch).cloned() else { return };
        let mut secondary: Vec<Validator> = Vec::new();
        let previous = epoch.checked_sub(1).and_then(|p| state.sets.get(&p)).cloned().unwrap_or_default();
        for v in previous.into_iter().chain(self.followers.iter().cloned()) {
            let known = primary.iter().chain(&secondary).any(|p| p.public_key == v.public_key);
            if !known {
                secondary.push(v);
            }
        }
        (self.track)(epoch, primary, secondary);
        state.tracked = Some(epoch);
    }

    pub async fn run<E, S, R, F>(
        self,
        context: E,
        new_engine: F,
        votes: (S, R),
        certificates: (S, R),
        resolver: (S, R),
        mut boundaries: futures::channel::mpsc::UnboundedReceiver<Boundary>,
    ) -> Result<(), String>
    where
        E: Spawner + commonware_runtime::Metrics,
        S: Sender<PublicKey = ed25519::PublicKey>,
        R: Receiver<PublicKey = ed25519::PublicKey>,
        F: Fn(E, u64, Digest, Scheme, usize, EpochChannels<S>) -> Handle<()>,
    {
        let (vote_mux, mut votes, mut vote_backup) = mux::Muxer::builder(context.child("vote_mux"), votes.0, votes.1).with_backup().build();
        let (cert_mux, mut certificates, mut cert_backup) =
            mux::Muxer::builder(context.child("cert_mux"), certificates.0, certificates.1).with_backup().build();
        let (resolver_mux, mut resolver) = mux::Muxer::new(context.child("resolver_mux"), resolver.0, resolver.1);
        let _muxes = (vote_mux.start(), cert_mux.start(), resolver_mux.start());

        let mut state = State { sets: BTreeMap::new(), tracked: None };
        state.sets.insert(0, self.genesis.clone());
        // Start in the epoch of the next block to process, from the last block of the
        // epoch before (its "genesis").
        let processed = self.chain.get_processed().await.map_or(0, |p| p.height().get());
        let mut epoch = self.epochs.epoch(processed + 1);
        let floor = match epoch.checked_sub(1) {
            None => self.genesis_digest,
            Some(previous) => {
                let height = self.epochs.last(previous);
                let block = self.chain.get_block(Height::new(height)).await.ok_or_else(|| format!("the last block of epoch {previous} (height {height}) is not stored"))?;
                block.digest()
            }
        };
        if let Some(previous) = epoch.checked_sub(1) {
            self.set(&mut state, previous).await?;
        }
        let (frozen_tx, mut frozen) = futures::channel::mpsc::unbounded::<(u64, Option<Vec<Validator>>)>();
        let mut active = self.enter(&context, &new_engine, &mut state, epoch, floor, &mut votes, &mut certificates, &mut resolver).await?;
        let mut waiter = self.wait_for_next(&context, epoch, frozen_tx.clone());
        loop {
            commonware_macros::select! {
                message = vote_backup.recv() => {
                    let Some((subchannel, (from, _))) = message else { break };
                    self.hint(epoch, subchannel, from);
                },
                message = cert_backup.recv() => {
                    let Some((subchannel, (from, _))) = message else { break };
                    self.hint(epoch, subchannel, from);
                },
                next = frozen.next() => {
                    let Some((next, set)) = next else { break };
                    let set = set.ok_or_else(|| format!("the validator set of epoch {next} is not available"))?;
                    self.learn(&mut state, next, set)?;
                    self.track(&mut state, next);
                },
                boundary = boundaries.next() => {
                    let Some(boundary) = boundary else { break };
                    let (height, digest, ack) = match boundary {
                        Boundary::Tip(height, digest) => (height, digest, None),
                        Boundary::Block(Finalized { block, ack }) => (block.header.height, block.digest(), Some(ack)),
                    };
                    let ended = self.epochs.epoch(height);
                    if self.epochs.last(ended) != height || ended < epoch {
                        // Switched already (at the tip, or before a restart).
                        if let Some(ack) = ack {
                            ack.acknowledge();
                        }
                        continue;
                    }
                    let next = ended + 1;
                    if ack.is_none() && self.schemes.get(next).is_none() {
                        // A node catching up can learn a boundary from the tip long before its
                        // execution reaches the freeze of the next set; switching would wait
                        // for that here, with hints unanswered. The block path switches then.
                        continue;
                    }
                    let engine = self.enter(&context, &new_engine, &mut state, next, digest, &mut votes, &mut certificates, &mut resolver).await?;
                    // The new engine runs first; then the old one stops (it would re-propose
                    // the boundary block forever).
                    std::mem::replace(&mut active, engine).abort();
                    waiter.abort();
                    waiter = self.wait_for_next(&context, next, frozen_tx.clone());
                    tracing::info!(epoch = next, height, validators = state.sets.get(&next).map_or(0, Vec::len), voting = self.schemes.is_member(next), "entered epoch");
                    epoch = next;
                    // Marshal counts the boundary processed only once the next engine runs.
                    if let Some(ack) = ack {
                        ack.acknowledge();
                    }
                },
            }
        }
        active.abort();
        waiter.abort();
        Ok(())
    }

    /// Learn the set of `epoch + 1` as soon as it is frozen (half an epoch ahead).
    fn wait_for_next<E: Spawner>(&self, context: &E, epoch: u64, out: futures::channel::mpsc::UnboundedSender<(u64, Option<Vec<Validator>>)>) -> Handle<()> {
        let host = self.host.clone();
        let schemes = self.schemes.clone();
        let next = epoch + 1;
        let enabled = self.epochs.length.is_some();
        context.child("next_set").spawn(move |_| async move {
            if !enabled {
                return;
            }
            let set = host.validator_set(next).await;
            // Marshal may check certificates of the next epoch before the switch (a node
            // catching up): the scheme goes in at once.
            if let Some(set) = &set {
                let keys: Vec<ed25519::PublicKey> = set.iter().map(|v| v.public_key.clone()).collect();
                if let Err(e) = schemes.insert(next, &keys) {
                    tracing::error!(error = %e, "the next validator set cannot be used");
                }
            }
            let _ = out.unbounded_send((next, set));
        })
    }

    fn hint(&self, ours: u64, theirs: u64, from: ed25519::PublicKey) {
        if theirs > ours {
            self.chain.hint_finalized(Height::new(self.epochs.last(ours)), NonEmptyVec::new(from));
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn enter<E, S, F>(
        &self,
        context: &E,
        new_engine: &F,
        state: &mut State,
        epoch: u64,
        floor: Digest,
        votes: &mut mux::MuxHandle<S>,
        certificates: &mut mux::MuxHandle<S>,
        resolver: &mut mux::MuxHandle<S>,
    ) -> Result<Handle<()>, String>
    where
        E: Spawner + commonware_runtime::Metrics,
        S: Sender<PublicKey = ed25519::PublicKey>,
        F: Fn(E, u64, Digest, Scheme, usize, EpochChannels<S>) -> Handle<()>,
    {
        let set = self.set(state, epoch).await?;
        if let Some(previous) = epoch.checked_sub(1) {
            self.track(state, previous);
        }
        self.track(state, epoch);
        let (scheme, n) = self.schemes.get(epoch).ok_or_else(|| format!("no scheme for epoch {epoch}"))?;
        let subchannel = |e: mux::Error| format!("epoch {epoch} sub-channel: {e}");
        let channels = (
            votes.register(epoch).await.map_err(subchannel)?,
            certificates.register(epoch).await.map_err(subchannel)?,
            resolver.register(epoch).await.map_err(subchannel)?,
        );
        debug_assert_eq!(n, set.len());
        let context = context.child("engine").with_attribute("epoch", epoch);
        Ok(new_engine(context, epoch, floor, scheme.as_ref().clone(), n, channels))
    }
}
