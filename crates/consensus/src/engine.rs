//! Wiring: p2p network, simplex, marshal, broadcast buffer and resolver.

use crate::app::{App, Host};
use crate::epochs::EpochSchemes;
use accord_types::Epochs;
use crate::orchestrator::{EpochChannels, Orchestrator};
use commonware_p2p::utils::mux;
use crate::block::Block;
use commonware_broadcast::buffered;
use commonware_consensus::marshal::core::{Actor as Marshal, Mailbox};
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::{Inline, Standard};
use commonware_consensus::marshal::{self, Update};
use commonware_consensus::simplex::config::{ForwardPolicy, SkipBudget, SkipPolicy};
use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::{self, Floor};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_consensus::Reporter;
use commonware_cryptography::certificate::Verifier as _;
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{ed25519, ChaCha20Poly1305, Digested, Sha256, Signer as _};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _, Blocker, Provider, Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{tokio as cw, Clock, Handle, Metrics, Quota, Spawner, Storage, Supervisor as _};
use rand::CryptoRng;
use commonware_storage::archive::immutable;
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::acknowledgement::Exact;
use commonware_utils::ordered::{Map, Set};
use commonware_utils::TryCollect as _;
use std::net::SocketAddr;
use std::num::{NonZeroU16, NonZeroU32, NonZeroU64, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

/// A validator of the genesis set: its consensus key and where its p2p listener is.
#[derive(Clone, Debug)]
pub struct Validator {
    pub public_key: ed25519::PublicKey,
    pub address: SocketAddr,
}

/// Everything consensus needs to start.
pub struct Config {
    /// This node's consensus key (a member of `validators`).
    pub key: ed25519::PrivateKey,
    pub validators: Vec<Validator>,
    /// Where this node's p2p listener binds.
    pub listen: SocketAddr,
    /// Domain of every consensus signature; derived from the chain id.
    pub namespace: Vec<u8>,
    /// How long a view waits for its leader's proposal.
    pub leader_timeout: Duration,
    /// The height-0 block all validators agree on.
    pub genesis: Block,
    /// Followers: non-voting nodes the validators let connect (they receive votes,
    /// certificates and blocks, and may pass transactions on). A follower's own list may be
    /// empty: it dials the validators.
    pub followers: Vec<Validator>,
    /// Prepended to every storage partition name (empty for a node with its own directory;
    /// distinct per node when several share one simulated storage).
    pub partition_prefix: String,
    /// Blocks per epoch (`None`: one epoch forever, the genesis set never changes).
    pub epoch_length: Option<u64>,
}

/// Tell p2p which peers to keep for set `id` (the epoch): validators (primary), then the
/// peers let in besides (secondary: followers, and validators of the epoch before).
pub type Track = Arc<dyn Fn(u64, Vec<Validator>, Vec<Validator>) + Send + Sync>;

/// A finalized block handed to the executor, with the acknowledgement to send once its
/// effects are durable (marshal redelivers unacknowledged blocks after a restart).
pub struct Finalized {
    pub block: Block,
    pub ack: Exact,
}

/// Forwards marshal's finalized blocks into a channel the executor reads; the last block of
/// each epoch goes to the orchestrator too, and counts as processed only once both
/// acknowledged it (the orchestrator does once the next epoch's engine runs).
#[derive(Clone)]
struct Forward {
    executor: futures::channel::mpsc::UnboundedSender<Finalized>,
    boundaries: futures::channel::mpsc::UnboundedSender<Boundary>,
    epoch_length: u64,
}

/// The end of an epoch, as the orchestrator learns it: first (usually) as the finalized tip,
/// as soon as the boundary block is finalized; then as the block itself, in height order,
/// which it acknowledges.
pub(crate) enum Boundary {
    Tip(u64, Digest),
    Block(Finalized),
}

impl Reporter for Forward {
    type Activity = Update<Block>;
    fn report(&mut self, activity: Self::Activity) -> commonware_actor::Feedback {
        match activity {
            // A node whose execution lags (under load) learns the end of the epoch here,
            // before the block reaches it in order: it switches at once instead of leaving
            // the next epoch's first views without its votes.
            Update::Tip(_, height, digest) => {
                if (height.get() + 1) % self.epoch_length == 0 && self.boundaries.unbounded_send(Boundary::Tip(height.get(), digest)).is_err() {
                    return commonware_actor::Feedback::Closed;
                }
            }
            Update::Block(block, ack) => {
                let block = block.inner().clone();
                if (block.header.height + 1) % self.epoch_length == 0 {
                    let boundary = Finalized { block: block.clone(), ack: ack.clone() };
                    if self.boundaries.unbounded_send(Boundary::Block(boundary)).is_err() {
                        return commonware_actor::Feedback::Closed;
                    }
                }
                if self.executor.unbounded_send(Finalized { block, ack }).is_err() {
                    return commonware_actor::Feedback::Closed;
                }
            }
        }
        commonware_actor::Feedback::Ok
    }
}

/// Transactions exchanged between validators, so that every proposer has them: each
/// message is an encoded [`accord_types::BlockBody`] (a counted list of signed transactions).
pub struct Gossip {
    /// Batches to send to every other validator.
    pub out: futures::channel::mpsc::UnboundedSender<Vec<u8>>,
    /// Batches other validators sent, with who sent them (best effort: dropped when the
    /// node falls behind).
    pub incoming: futures::channel::mpsc::Receiver<(ed25519::PublicKey, Vec<u8>)>,
    /// Disconnect a peer that sent something no honest node sends (a transaction with a
    /// forged signature) and refuse its connections for as long as p2p blocks peers (an hour).
    pub block: Arc<dyn Fn(ed25519::PublicKey) + Send + Sync>,
}

/// Most gossiped batches waiting for admission; more are dropped.
const GOSSIP_INBOX: usize = 64;

/// Read access to finalized blocks and certificates, for the API.
pub type Chain = Mailbox<Scheme, Standard<Block>>;

fn nz(v: usize) -> NonZeroUsize {
    NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN)
}

fn nz64(v: u64) -> NonZeroU64 {
    NonZeroU64::new(v).unwrap_or(NonZeroU64::MIN)
}

/// Raised well above upstream examples' 10/s, which cap a network at a few views per second.
/// The burst is bounded apart from the rate: p2p sizes every channel's inbox for one burst
/// from every peer it may keep (`max_peers_per_set × tracked_peer_sets`), and with room for
/// two full validator sets per epoch a 10,000-message burst made that tens of GB.
pub fn quota() -> Quota {
    Quota::per_second(NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(QUOTA_BURST).unwrap_or(NonZeroU32::MIN))
}

/// Messages a peer may send on one channel at once, above the steady rate.
pub const QUOTA_BURST: u32 = 32;

fn archive_config<C: Clone>(prefix: &str, cache: &CacheRef, codec_config: C) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-metadata"),
        freezer_table_partition: format!("{prefix}-freezer-table"),
        freezer_table_initial_size: 1024,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 1 << 12,
        freezer_key_partition: format!("{prefix}-freezer-key"),
        freezer_key_page_cache: cache.clone(),
        freezer_value_partition: format!("{prefix}-freezer-value"),
        freezer_value_target_size: 1 << 28,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-ordinal"),
        items_per_section: nz64(4096),
        codec_config,
        replay_buffer: nz(1 << 20),
        freezer_key_write_buffer: nz(1 << 20),
        freezer_value_write_buffer: nz(1 << 20),
        ordinal_write_buffer: nz(1 << 20),
    }
}

/// The p2p channels consensus runs on, one (sender, receiver) pair each.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub broadcast: (S, R),
    pub backfill: (S, R),
    pub gossip: (S, R),
}

/// Channel numbers, in the order of [`Channels`].
pub const CHANNELS: [u64; 6] = [0, 1, 2, 3, 4, 5];

/// What [`start`] and [`run`] give back: read access to finalized blocks, the finalized
/// blocks in height order, the transaction gossip, and a handle that ends only when
/// consensus stops.
pub type Started = (Chain, futures::channel::mpsc::UnboundedReceiver<Finalized>, Gossip, Handle<()>);

fn participants(config: &Config) -> Result<Set<ed25519::PublicKey>, String> {
    let participants: Set<ed25519::PublicKey> = config
        .validators
        .iter()
        .map(|v| v.public_key.clone())
        .try_collect()
        .map_err(|_| "the validator set has duplicate keys".to_string())?;
    Ok(participants)
}

/// Whether this node votes (its key is a validator's) or only follows.
pub fn is_validator(config: &Config) -> bool {
    let me = config.key.public_key();
    config.validators.iter().any(|v| v.public_key == me)
}

/// The scheme a validator signs votes with and checks others' votes and certificates with;
/// for a follower, one that only checks.
pub fn signing_scheme(config: &Config) -> Result<Scheme, String> {
    let participants = participants(config)?;
    let mut namespace = config.namespace.clone();
    namespace.extend_from_slice(b"/consensus");
    if is_validator(config) {
        Scheme::signer(&namespace, participants, config.key.clone()).ok_or_else(|| "this node's key is not in the validator set".into())
    } else {
        Ok(Scheme::verifier(&namespace, participants))
    }
}

fn addresses(peers: &[Validator]) -> Result<Map<ed25519::PublicKey, Address>, String> {
    peers
        .iter()
        .map(|v| (v.public_key.clone(), Address::from(v.address)))
        .try_collect()
        .map_err(|_| "a key is listed twice among the validators or followers".to_string())
}

/// Largest p2p message: a block, or a consensus message of the largest validator set the
/// chain allows (with its epoch prefix), whichever is larger.
pub fn max_message_size() -> u32 {
    let n = accord_types::limits::VALIDATORS_MAX as u32;
    commonware_p2p::max_message_size(&[
        mux::prefixed(simplex::max_payload_size::<Scheme, Digest>(n)),
        accord_types::limits::BLOCK_BYTES_MAX + 64 * 1024,
    ])
}

/// Most peers of one tracked set, this node included: two validator sets (an epoch's and
/// the one before) and the followers.
pub fn max_peers_per_set(followers: usize) -> NonZeroUsize {
    nz(2 * accord_types::limits::VALIDATORS_MAX + followers + 1)
}

/// Start consensus over authenticated, encrypted TCP connections between the validators.
/// Finalized blocks arrive, in height order, on the returned receiver.
pub async fn start(context: cw::Context, config: Config, host: Arc<dyn Host>) -> Result<Started, String> {
    participants(&config)?;
    addresses(&config.validators)?;
    addresses(&config.followers)?;
    if config.followers.iter().any(|f| f.public_key == config.key.public_key()) {
        return Err("this node's own key is listed as a follower".into());
    }
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: config.key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let mut p2p_namespace = config.namespace.clone();
    p2p_namespace.extend_from_slice(b"/p2p");
    let mut p2p = lookup::Config::local(
        handshake,
        &p2p_namespace,
        config.listen,
        max_peers_per_set(config.followers.len()),
        max_message_size(),
        nz(1024),
    );
    // A restarted validator dials its peers one at a time: at the default pace (one dial per
    // 500 ms, a second try of the same peer after 1 s) reconnecting to 3 peers took 1.5–2.5 s
    // of a measured 3.9–6 s catch-up. Dials are made only to peers not connected, so a
    // faster pace costs nothing once the network is up.
    p2p.dial_frequency = Duration::from_millis(100);
    p2p.peer_connection_cooldown = Duration::from_millis(250);
    let (mut network, oracle) = lookup::Network::new(context.child("network"), p2p);
    // Validators dial each other; followers are let in, and dial the validators. The
    // orchestrator tracks one set per epoch.
    let tracker = std::sync::Mutex::new(oracle.clone());
    let track: Track = Arc::new(move |id, primary, secondary| {
        let (primary, secondary) = match (addresses(&primary), addresses(&secondary)) {
            (Ok(p), Ok(s)) => (p, s),
            _ => {
                tracing::error!(id, "a peer set lists a key twice; not tracked");
                return;
            }
        };
        let mut oracle = tracker.lock().unwrap_or_else(|p| p.into_inner());
        let _ = oracle.track(id, commonware_p2p::AddressableTrackedPeers::new(primary, secondary));
    });
    let [votes, certificates, resolver, broadcast, backfill, gossip] = CHANNELS.map(|c| network.register(c, quota()));
    let channels = Channels { votes, certificates, resolver, broadcast, backfill, gossip };
    let network_handle = network.start();
    let supervisor = context.child("consensus");
    // The same context as before `run` existed, so metric names stay as they were.
    let (chain, finalized, gossip, engine) = run(context, config, host, channels, oracle.clone(), oracle, track).await?;
    let all = supervisor.spawn(move |_| async move {
        let _ = futures::future::select(network_handle, engine).await;
    });
    Ok((chain, finalized, gossip, all))
}

/// Run consensus on the given channels (of a real or a simulated network). `peers` names
/// the peers to fetch from and send to; `blocker` drops a peer that misbehaves.
pub async fn run<E, S, R, P, B>(
    context: E,
    config: Config,
    host: Arc<dyn Host>,
    channels: Channels<S, R>,
    peers: P,
    blocker: B,
    track: Track,
) -> Result<Started, String>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    P: Provider<PublicKey = ed25519::PublicKey> + Clone,
    B: Blocker<PublicKey = ed25519::PublicKey> + Clone,
{
    let me = config.key.public_key();
    let participants = participants(&config)?;
    let prefix = config.partition_prefix.clone();
    let Channels { votes, certificates, resolver: resolver_net, broadcast: broadcast_net, backfill: backfill_net, gossip } =
        channels;
    let (mut gossip_sender, mut gossip_receiver) = gossip;
    let (gossip_out, mut gossip_out_rx) = futures::channel::mpsc::unbounded::<Vec<u8>>();
    let (mut gossip_in_tx, gossip_in) = futures::channel::mpsc::channel::<(ed25519::PublicKey, Vec<u8>)>(GOSSIP_INBOX);
    let gossip_blocker = std::sync::Mutex::new(blocker.clone());
    let gossip_block: Arc<dyn Fn(ed25519::PublicKey) + Send + Sync> = Arc::new(move |peer| {
        tracing::warn!(?peer, "blocking a peer that passed on a forged transaction");
        let _ = gossip_blocker.lock().unwrap_or_else(|p| p.into_inner()).block(peer);
    });
    let gossip_send = context.child("gossip_send").spawn(move |_| async move {
        while let Some(batch) = futures::StreamExt::next(&mut gossip_out_rx).await {
            let _ = gossip_sender.send(Recipients::All, commonware_runtime::IoBuf::from(batch), false);
        }
    });
    let gossip_recv = context.child("gossip_recv").spawn(move |_| async move {
        while let Ok((peer, message)) = gossip_receiver.recv().await {
            match gossip_in_tx.try_send((peer, message.as_ref().to_vec())) {
                Ok(()) => {}
                // Full: the node is behind; the entry node still has these transactions.
                Err(e) if e.is_full() => tracing::debug!("gossip inbox full; a batch was dropped"),
                Err(_) => break,
            }
        }
    });

    let page_cache = CacheRef::new(NonZeroU16::new(16_384).unwrap_or(NonZeroU16::MIN), nz(512));
    let epoch_length = match config.epoch_length {
        Some(l) if l < 2 => return Err("an epoch is at least 2 blocks".into()),
        Some(l) => l,
        None => u64::MAX,
    };
    let epocher = FixedEpocher::new(nz64(epoch_length));
    let genesis_digest = commonware_cryptography::Digestible::digest(&config.genesis);
    let mut namespace = config.namespace.clone();
    namespace.extend_from_slice(b"/consensus");
    let schemes = EpochSchemes::new(namespace, config.key.clone());
    schemes.insert(0, &participants.iter().cloned().collect::<Vec<_>>())?;

    // Marshal: finalized blocks and certificates, in order, stored and backfilled.
    let finalizations = immutable::Archive::init(
        context.child("finalizations"),
        archive_config(&format!("{prefix}marshal-finalizations"), &page_cache, Scheme::certificate_codec_config_unbounded()),
    )
    .await
    .map_err(|e| format!("opening the finalization archive: {e:?}"))?;
    let blocks = immutable::Archive::init(context.child("blocks"), archive_config(&format!("{prefix}marshal-blocks"), &page_cache, ()))
        .await
        .map_err(|e| format!("opening the block archive: {e:?}"))?;
    let marshal_config = marshal::Config {
        provider: schemes.clone(),
        epocher: epocher.clone(),
        start: marshal::Start::Genesis(Digested::precomputed(config.genesis.clone(), genesis_digest)),
        partition_prefix: format!("{prefix}marshal"),
        mailbox_size: nz(4096),
        view_retention: ViewDelta::new(64),
        prunable_items_per_section: nz64(4096),
        page_cache: page_cache.clone(),
        replay_buffer: nz(1 << 20),
        key_write_buffer: nz(1 << 20),
        value_write_buffer: nz(1 << 20),
        block_codec_config: (),
        max_repair: nz(16),
        max_pending_acks: nz(4),
        strategy: Sequential,
    };
    let (resolver_rx, resolver) = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: me.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: nz(1024),
            fetch_timeout: commonware_utils::NonZeroDuration::new(Duration::from_secs(2))
                .ok_or("fetch timeout")?,
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        backfill_net,
    );
    let (broadcast, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: nz(1024),
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: peers,
            strategy: Sequential,
        },
    );
    let broadcast_handle = broadcast.start(broadcast_net);
    let (actor, chain, _floor): (_, Chain, _) =
        Marshal::init(context.child("marshal"), finalizations, blocks, marshal_config).await;
    let (sender, receiver) = futures::channel::mpsc::unbounded();
    let (boundary_tx, boundaries) = futures::channel::mpsc::unbounded();
    let forward = Forward { executor: sender, boundaries: boundary_tx, epoch_length };
    let marshal_handle = actor.start(forward, buffer, (resolver_rx, resolver));

    // Simplex, one engine per epoch, driving our application through marshal's inline wrapper.
    let app = Inline::new(context.child("application"), App::new(host.clone()), chain.clone(), epocher);
    let leader_timeout = config.leader_timeout;
    let fetch_timeout = commonware_utils::NonZeroDuration::new(Duration::from_secs(1)).ok_or("fetch timeout")?;
    // The orchestrator holds the constructor across awaits: it must be shareable.
    let blocker = std::sync::Mutex::new(blocker);
    let new_engine = move |context: E, epoch: u64, floor: Digest, scheme: Scheme, n: usize, channels: EpochChannels<S>| {
        let (votes, certificates, resolver) = channels;
        simplex::Engine::new(
            context,
            simplex::Config {
                scheme,
                elector: RoundRobin::<Sha256>::default(),
                blocker: blocker.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                automaton: app.clone(),
                relay: app.clone(),
                reporter: app.clone(),
                track_historical_votes: false,
                strategy: Sequential,
                partition: format!("{prefix}simplex-e{epoch}"),
                mailbox_size: nz(1024),
                epoch: Epoch::new(epoch),
                floor: Floor::Genesis(floor),
                replay_buffer: nz(1 << 20),
                write_buffer: nz(1 << 20),
                page_cache: page_cache.clone(),
                leader_timeout,
                certification_timeout: leader_timeout * 2,
                timeout_retry: leader_timeout,
                view_retention: ViewDelta::new(64),
                skip: if n > 1 {
                    SkipPolicy::Enabled { timeout: leader_timeout * 5, budget: SkipBudget::Participants }
                } else {
                    SkipPolicy::Disabled
                },
                fetch_timeout,
                fetch_retry_delay: Duration::from_millis(100),
                forward: ForwardPolicy::Disabled,
            },
        )
        .start(votes, certificates, resolver)
    };
    let orchestrator = Orchestrator {
        chain: chain.clone(),
        host,
        schemes,
        track,
        epochs: Epochs { length: config.epoch_length },
        genesis: config.validators.clone(),
        genesis_digest,
        followers: config.followers.clone(),
    };
    let engines = context.child("orchestrator").spawn(move |context| async move {
        if let Err(e) = orchestrator.run(context, new_engine, votes, certificates, resolver_net, boundaries).await {
            tracing::error!(error = %e, "consensus stopped");
        }
    });
    let all = context.child("consensus").spawn(move |_| async move {
        let _ = futures::future::select_all([broadcast_handle, marshal_handle, engines]).await;
        gossip_send.abort();
        gossip_recv.abort();
    });
    Ok((chain, receiver, Gossip { out: gossip_out, incoming: gossip_in, block: gossip_block }, all))
}
