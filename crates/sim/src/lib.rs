//! Deterministic simulation of an Accord network.
//!
//! Every honest validator is a real node: the QMDB state, the executor with every module,
//! the mempool, the receipts log and consensus (simplex, marshal, backfill, gossip). They run
//! on commonware's deterministic runtime and talk over its simulated network. One seed fixes
//! everything: the keys, each link's latency, jitter and loss, when a node crashes and
//! restarts, how the network splits and heals, which transactions are sent where, and what a
//! byzantine validator does. A seed that fails fails the same way every time.
//!
//! A follower (a non-voting node with a verify-only scheme, let in by the validators as a
//! secondary peer) runs alongside; it takes transactions and passes them on, is partitioned
//! and crashed like the others, and must end with the same blocks, roots and receipts.
//!
//! [`run`] drives one scenario to the end and panics, naming what broke, if a property does
//! not hold:
//! - **agreement**: no two honest nodes finalized different blocks at one height;
//! - **same state**: every honest node computed the state root each block states for its
//!   parent (a node stops on a mismatch), and the roots they recorded agree per height;
//! - **exactly once**: every transaction a node reported committed is in every honest
//!   node's receipts, once, and no transaction is committed twice;
//! - **conservation**: the asset's balances add up to what was minted;
//! - **liveness**: after the last fault heals, every pending transaction commits and every
//!   honest node finalizes new blocks.

mod byzantine;

use accord_consensus::engine::{max_message_size, quota};
use accord_consensus::{Channels, CHANNELS};
use accord_node::config::{Genesis, GenesisValidator, Home, NodeConfig};
use accord_node::{Node, Runtime, TxStatus};
use accord_types::{Action, Address, AssetKind, PointsAction, SignedTx, Transaction, TxHash};
use commonware_codec::Encode;
use commonware_cryptography::{ed25519, Signer};
use commonware_p2p::simulated::{self, Link, Oracle};
use commonware_runtime::{deterministic, Clock, Handle, Runner as _, Spawner, Supervisor as _};
use commonware_utils::Probability;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What to simulate.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub validators: usize,
    /// Validator 0 is byzantine: it signs conflicting votes, and sends garbage and
    /// transactions with bad signatures.
    pub byzantine: bool,
    /// Crashes, partitions and changing links; without, every link is good throughout.
    pub faults: bool,
    /// The validators replace their last member by the follower: the honest validators
    /// approve the new set at the start, it takes effect at an epoch boundary, and from
    /// then on the former follower votes and the removed validator only follows.
    pub reconfigure: bool,
}

/// Blocks per epoch in every simulation: about two epochs a second while blocks come
/// steadily, so every run crosses many boundaries, under faults too.
pub const EPOCH_LENGTH: u64 = 16;

/// What happened in a run.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Height every honest node had finalized and executed at the end.
    pub height: u64,
    /// Transactions some node reported committed.
    pub acknowledged: usize,
    pub crashes: usize,
    pub partitions: usize,
    /// The epoch every honest node had reached at the end.
    pub epoch: u64,
}

const CHAIN_ID: &str = "accord-sim";
const SYMBOL: &str = "SIM";
const USERS: usize = 8;
const MINT: u128 = 1_000_000;
/// Fault phase, in simulated time.
const FAULTS_FOR: Duration = Duration::from_secs(30);
/// After the heal: how long pending transactions and new blocks may take, at most.
const SETTLE_WITHIN: Duration = Duration::from_secs(120);
/// A client re-sends a transaction it has not seen committed after this long.
const RESEND_AFTER: Duration = Duration::from_secs(3);
const STEP: Duration = Duration::from_millis(100);

/// Run one scenario on a fresh deterministic runtime. Panics if a property does not hold.
pub fn run(scenario: Scenario) -> Outcome {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().to_path_buf();
    // Simulated time: a run that cannot finish (lost liveness) ends here with a panic.
    let config = deterministic::Config::new().with_seed(scenario.seed).with_timeout(Some(Duration::from_secs(1800)));
    deterministic::Runner::new(config).start(|context| async move {
        let mut sim = Sim::new(context, scenario, &root).await;
        sim.drive().await
    })
}

/// A validator's node while it runs.
struct Running {
    node: Arc<Node>,
    task: Handle<()>,
}

/// An account sending transactions one at a time, as a client would: the next only after
/// the last one is in a block; re-sent (to another node) when no node reports it for a while.
struct Client {
    key: ed25519::PrivateKey,
    address: Address,
    nonce: u64,
    pending: Option<(SignedTx, SystemTime)>,
}

struct Sim {
    context: deterministic::Context,
    scenario: Scenario,
    rng: StdRng,
    /// Validators' keys, then the follower's.
    keys: Vec<ed25519::PrivateKey>,
    homes: Vec<PathBuf>,
    oracle: Oracle<ed25519::PublicKey, deterministic::Context>,
    /// Honest validators' nodes and the follower's (`None`: crashed; always `None` for the
    /// byzantine one).
    nodes: Vec<Option<Running>>,
    /// Directed links that are up.
    links: HashSet<(usize, usize)>,
    issuer: Client,
    users: Vec<Client>,
    /// Honest validators approving the new set (empty unless the scenario reconfigures).
    approvers: Vec<Client>,
    /// Transactions a node reported committed, with the height it reported.
    acknowledged: HashMap<TxHash, u64>,
    /// Faults to undo, and when.
    repairs: Vec<(SystemTime, Repair)>,
    outcome: Outcome,
}

/// Which client.
#[derive(Clone, Copy)]
enum Who {
    Issuer,
    Approver(usize),
    User(usize),
}

/// How a fault is undone.
enum Repair {
    Restart(usize),
    Heal,
}

fn address(key: &ed25519::PrivateKey) -> Address {
    let raw = key.public_key().encode();
    let mut a = [0u8; 32];
    a.copy_from_slice(raw.as_ref());
    Address(a)
}

fn client(key: ed25519::PrivateKey) -> Client {
    Client { address: address(&key), key, nonce: 0, pending: None }
}

/// Homes of `validators` validators and, last, one follower.
/// Node `i`'s p2p address in its genesis and sets: never dialed, the simulated network
/// routes by key.
fn dummy_address(i: usize) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 20_000 + i as u16))
}

fn write_homes(root: &Path, keys: &[ed25519::PrivateKey], validators: usize) -> Vec<PathBuf> {
    let dummy = dummy_address;
    let genesis = Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: 0,
        validators: keys[..validators]
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator {
                public_key: accord_node::config::public_key_hex(&k.public_key()),
                // Not used: the simulated network routes by key.
                p2p_address: dummy(i),
            })
            .collect(),
        epoch_length: Some(EPOCH_LENGTH),
    };
    // The follower, and the last validator: it is the one a reconfiguring run removes, and
    // a removed validator stays connected only as a follower the others let in.
    let followers: Vec<accord_node::config::Follower> = [validators, validators - 1]
        .into_iter()
        .map(|i| accord_node::config::Follower {
            public_key: accord_node::config::public_key_hex(&keys[i].public_key()),
            p2p_address: dummy(i),
        })
        .collect();
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            let dir = root.join(format!("node{i}"));
            let home = Home::new(&dir);
            std::fs::create_dir_all(&dir).expect("home directory");
            home.write_validator_key(key).expect("key");
            Home::write_json(&home.genesis(), &genesis).expect("genesis");
            let config = NodeConfig {
                block_interval_ms: 200,
                leader_timeout_ms: 1000,
                // The same list everywhere (but for a node's own key): the simulated network
                // keeps one peer set per epoch for all, made by whichever node tracks it first.
                followers: followers.iter().filter(|f| f.public_key != accord_node::config::public_key_hex(&key.public_key())).cloned().collect(),
                role: if i < validators { accord_node::config::Role::Validator } else { accord_node::config::Role::Follower },
                ..NodeConfig::default()
            };
            Home::write_json(&home.config(), &config).expect("config");
            dir
        })
        .collect()
}

impl Sim {
    async fn new(context: deterministic::Context, scenario: Scenario, root: &Path) -> Self {
        let n = scenario.validators;
        let mut rng = StdRng::seed_from_u64(scenario.seed);
        let keys: Vec<ed25519::PrivateKey> =
            (0..=n).map(|_| ed25519::PrivateKey::from_seed(rng.random())).collect();
        let homes = write_homes(root, &keys, n);
        let (network, oracle) = simulated::Network::new_with_split_peers(
            context.child("network"),
            simulated::Config {
                max_size: max_message_size(),
                max_peers_per_set: NonZeroUsize::new(2 * n + 2).unwrap_or(NonZeroUsize::MIN),
                disconnect_on_block: true,
                tracked_peer_sets: NonZeroUsize::new(4).unwrap_or(NonZeroUsize::MIN),
            },
            keys[..n].iter().map(|k| k.public_key()),
            [keys[n].public_key()],
        )
        .await;
        network.start();
        let issuer = client(ed25519::PrivateKey::from_seed(rng.random()));
        let users = (0..USERS).map(|_| client(ed25519::PrivateKey::from_seed(rng.random()))).collect();
        let mut sim = Sim {
            context,
            scenario,
            rng,
            keys,
            homes,
            oracle,
            nodes: (0..=n).map(|_| None).collect(),
            links: HashSet::new(),
            issuer,
            users,
            approvers: Vec::new(),
            acknowledged: HashMap::new(),
            repairs: Vec::new(),
            outcome: Outcome::default(),
        };
        for a in 0..=n {
            for b in 0..=n {
                if a != b {
                    let link = if scenario.faults { sim.random_link() } else { Self::good_link() };
                    sim.link(a, b, link).await;
                }
            }
        }
        if scenario.reconfigure {
            // Exactly a quorum approves: every approval is needed, so each one commits
            // before the set is scheduled (a later one, e.g. by the validator being removed,
            // could land after the change and be refused).
            let quorum = n - (n - 1) / 3;
            sim.approvers = sim.honest().take(quorum).map(|i| client(sim.keys[i].clone())).collect();
        }
        if scenario.byzantine {
            let home = Home::new(&sim.homes[0]);
            byzantine::start(&sim.context, &sim.oracle, &home, scenario.seed).await;
        }
        for i in sim.members() {
            sim.start(i).await;
        }
        sim
    }

    /// Honest validators.
    fn honest(&self) -> std::ops::Range<usize> {
        usize::from(self.scenario.byzantine)..self.scenario.validators
    }

    /// Honest validators and the follower.
    fn members(&self) -> std::ops::RangeInclusive<usize> {
        usize::from(self.scenario.byzantine)..=self.scenario.validators
    }

    fn follower(&self) -> usize {
        self.scenario.validators
    }

    fn live(&self) -> Vec<usize> {
        self.members().filter(|i| self.nodes[*i].is_some()).collect()
    }

    fn now(&self) -> SystemTime {
        self.context.current()
    }

    /// A lossy, slow, jittery link, different per seed and per pair.
    fn random_link(&mut self) -> Link {
        Link {
            latency: Duration::from_millis(self.rng.random_range(5..80)),
            jitter: Duration::from_millis(self.rng.random_range(0..20)),
            success_rate: Probability::new(self.rng.random_range(85..=100), 100).unwrap_or(Probability::new(1, 1).expect("one")),
        }
    }

    fn good_link() -> Link {
        Link { latency: Duration::from_millis(10), jitter: Duration::from_millis(2), success_rate: Probability::new(1, 1).expect("one") }
    }

    async fn link(&mut self, a: usize, b: usize, link: Link) {
        let (pa, pb) = (self.keys[a].public_key(), self.keys[b].public_key());
        if self.links.remove(&(a, b)) {
            self.oracle.remove_link(pa.clone(), pb.clone()).await.expect("removes a link");
        }
        self.oracle.add_link(pa, pb, link).await.expect("adds a link");
        self.links.insert((a, b));
    }

    async fn unlink(&mut self, a: usize, b: usize) {
        if self.links.remove(&(a, b)) {
            let (pa, pb) = (self.keys[a].public_key(), self.keys[b].public_key());
            self.oracle.remove_link(pa, pb).await.expect("removes a link");
        }
    }

    /// Start (or restart) honest validator `i` on whatever its storage holds.
    async fn start(&mut self, i: usize) {
        let home = Home::new(&self.homes[i]);
        let oracle = self.oracle.clone();
        let public_key = self.keys[i].public_key();
        let (sender, started) = futures::channel::oneshot::channel();
        let task = self.context.child("validator").with_attribute("index", i).spawn(move |context| async move {
            let runtime = Runtime::new(context.child("node"), move |message| panic!("validator {i} stopped: {message}"));
            let prefix = format!("v{i}-");
            let config: NodeConfig = Home::read_json(&home.config()).expect("config");
            let node = accord_node::open(runtime, context.child("state"), &home, config, &prefix).await.expect("node opens");
            let consensus = accord_node::consensus_config(&node, &home, &prefix).expect("consensus config");
            let control = oracle.control(public_key);
            let mut registered = Vec::new();
            for channel in CHANNELS {
                registered.push(control.register(channel, quota()).await.expect("channel registers"));
            }
            let mut it = registered.into_iter();
            let mut next = || it.next().expect("six channels");
            let channels = Channels {
                votes: next(),
                certificates: next(),
                resolver: next(),
                broadcast: next(),
                backfill: next(),
                gossip: next(),
            };
            // The simulated network keeps one registry of peer sets for everyone: the first
            // node to reach an epoch registers its set (all nodes derive the same one).
            let manager = std::sync::Mutex::new(oracle.manager());
            let track: accord_consensus::Track = Arc::new(move |id, primary, secondary| {
                let keys = |set: Vec<accord_consensus::Validator>| commonware_utils::ordered::Set::from_iter_dedup(set.into_iter().map(|v| v.public_key));
                let peers = commonware_p2p::TrackedPeers::new(keys(primary), keys(secondary));
                let _ = commonware_p2p::Manager::track(&mut *manager.lock().unwrap_or_else(|p| p.into_inner()), id, peers);
            });
            let (chain, finalized, gossip, handle) = accord_consensus::run(
                context.child("consensus"),
                consensus,
                accord_node::host(&node),
                channels,
                oracle.manager(),
                control,
                track,
            )
            .await
            .expect("consensus starts");
            accord_node::attach(&node, chain, finalized, gossip);
            let _ = sender.send(node);
            let _ = handle.await;
        });
        let node = started.await.expect("the validator started");
        self.nodes[i] = Some(Running { node, task });
    }

    /// Stop validator `i` at once, as `kill -9` would: every task of it ends wherever it is.
    async fn crash(&mut self, i: usize) {
        let Some(running) = self.nodes[i].take() else { return };
        running.task.abort();
        let _ = running.task.await;
        // Its tasks are dropped with it; its storage must not be opened twice.
        for _ in 0..100 {
            if Arc::strong_count(&running.node) == 1 {
                break;
            }
            self.context.sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(Arc::strong_count(&running.node), 1, "validator {i} still runs after its crash");
        self.outcome.crashes += 1;
    }

    fn transfer(&mut self, from: usize) -> SignedTx {
        let mut to = self.rng.random_range(0..USERS);
        if to == from {
            to = (to + 1) % USERS;
        }
        let user = &self.users[from];
        let action = PointsAction::Transfer { symbol: SYMBOL.into(), to: self.users[to].address, amount: self.rng.random_range(1..100) };
        Transaction { chain_id: CHAIN_ID.into(), signer: user.address, nonce: user.nonce, actions: vec![Action::Points(action)], memo: String::new() }
            .sign(&user.key)
    }

    fn issuer_tx(&self) -> Option<SignedTx> {
        let action = match self.issuer.nonce {
            0 => vec![Action::Points(PointsAction::CreateAsset {
                symbol: SYMBOL.into(),
                name: "simulation points".into(),
                decimals: 0,
                kind: AssetKind::Points,
                max_supply: None,
                mint_limit_per_day: None,
                transferable: true,
                lifetime_ms: None,
            })],
            1 => self
                .users
                .iter()
                .map(|u| {
                    Action::Points(PointsAction::Mint { symbol: SYMBOL.into(), to: u.address, amount: MINT, reason: "sim".into(), external_ref: None })
                })
                .collect(),
            _ => return None,
        };
        let tx = Transaction { chain_id: CHAIN_ID.into(), signer: self.issuer.address, nonce: self.issuer.nonce, actions: action, memo: String::new() };
        Some(tx.sign(&self.issuer.key))
    }

    /// The set the validators move to: the last validator out, the follower in.
    fn new_set(&self) -> Vec<accord_types::ValidatorEntry> {
        let n = self.scenario.validators;
        let mut set: Vec<accord_types::ValidatorEntry> = (0..n - 1)
            .chain([n])
            .map(|i| accord_types::ValidatorEntry { key: address(&self.keys[i]), p2p: dummy_address(i).to_string() })
            .collect();
        set.sort();
        set
    }

    fn approval(&self, approver: usize) -> SignedTx {
        let client = &self.approvers[approver];
        let action = accord_types::ValidatorsAction::ApproveValidatorSet { validators: self.new_set() };
        Transaction { chain_id: CHAIN_ID.into(), signer: client.address, nonce: client.nonce, actions: vec![Action::Validators(action)], memo: String::new() }
            .sign(&client.key)
    }

    fn random_live(&mut self) -> Option<Arc<Node>> {
        let live = self.live();
        if live.is_empty() {
            return None;
        }
        let i = live[self.rng.random_range(0..live.len())];
        self.nodes[i].as_ref().map(|r| r.node.clone())
    }

    /// Where `tx` stands according to a random live node: `Some(height)` once it is in a
    /// block there (committed or refused by execution, which both use the nonce).
    async fn check(&mut self, tx: &SignedTx) -> Option<u64> {
        let node = self.random_live()?;
        match node.status(&tx.hash).expect("status") {
            TxStatus::Committed { receipt } => {
                self.acknowledged.insert(tx.hash, receipt.height);
                Some(receipt.height)
            }
            TxStatus::Rejected { receipt: Some(receipt), error } => {
                panic!("transaction {} refused in block {}: {:?}", tx.hash, receipt.height, error)
            }
            _ => None,
        }
    }

    async fn send(&mut self, tx: &SignedTx) {
        if let Some(node) = self.random_live() {
            // Refusals (a duplicate, a full mempool, a nonce this node has not caught up
            // to) are fine: the client re-sends.
            let _ = node.submit(vec![tx.clone()]).await;
        }
    }

    /// One client step: settle or re-send pending transactions, send new ones.
    async fn clients(&mut self, new: bool) {
        let now = self.now();
        self.follow_up(Who::Issuer, now).await;
        if self.issuer.pending.is_none() {
            if let Some(tx) = self.issuer_tx() {
                self.send_new(Who::Issuer, tx, now).await;
            }
        }
        for a in 0..self.approvers.len() {
            if !self.follow_up(Who::Approver(a), now).await && self.approvers[a].nonce == 0 {
                let tx = self.approval(a);
                self.send_new(Who::Approver(a), tx, now).await;
            }
        }
        let funded = self.issuer.nonce >= 2;
        for u in 0..USERS {
            if !self.follow_up(Who::User(u), now).await && new && funded && self.rng.random_bool(0.5) {
                let tx = self.transfer(u);
                self.send_new(Who::User(u), tx, now).await;
            }
        }
    }

    fn client_mut(&mut self, who: Who) -> &mut Client {
        match who {
            Who::Issuer => &mut self.issuer,
            Who::Approver(a) => &mut self.approvers[a],
            Who::User(u) => &mut self.users[u],
        }
    }

    /// Settle `who`'s pending transaction once a node reports it in a block, or re-send it
    /// after a while. `false`: nothing was pending.
    async fn follow_up(&mut self, who: Who, now: SystemTime) -> bool {
        let Some((tx, sent)) = self.client_mut(who).pending.clone() else { return false };
        if self.check(&tx).await.is_some() {
            let client = self.client_mut(who);
            client.nonce += 1;
            client.pending = None;
        } else if now.duration_since(sent).unwrap_or_default() >= RESEND_AFTER {
            self.send(&tx).await;
            self.client_mut(who).pending = Some((tx, now));
        }
        true
    }

    async fn send_new(&mut self, who: Who, tx: SignedTx, now: SystemTime) {
        self.send(&tx).await;
        self.client_mut(who).pending = Some((tx, now));
    }

    /// One random fault; most undo themselves a random while later (see [`Repair`]).
    async fn fault(&mut self) {
        let n = self.scenario.validators;
        let crashed = self.honest().filter(|i| self.nodes[*i].is_none()).count();
        // At most f + 1 validators down at once (the byzantine one counts): finality may
        // pause, and must resume. The follower does not count.
        let f = (n - 1) / 3;
        let down = crashed + usize::from(self.scenario.byzantine);
        let repair_at = self.now() + Duration::from_millis(self.rng.random_range(300..5000));
        let live = self.live();
        let victim = live[self.rng.random_range(0..live.len())];
        match self.rng.random_range(0..4) {
            0 | 1 if down <= f || victim == self.follower() => {
                self.crash(victim).await;
                self.repairs.push((repair_at, Repair::Restart(victim)));
            }
            0..=2 => {
                // Split the nodes in two at random; nothing crosses until the heal.
                let side: Vec<bool> = (0..=n).map(|_| self.rng.random_bool(0.5)).collect();
                for a in 0..=n {
                    for b in 0..=n {
                        if a != b && side[a] != side[b] {
                            self.unlink(a, b).await;
                        }
                    }
                }
                self.outcome.partitions += 1;
                self.repairs.push((repair_at, Repair::Heal));
            }
            _ => {
                // A link changes: latency, jitter and loss (a link cut by a partition
                // stays cut until the heal).
                let a = self.rng.random_range(0..=n);
                let b = (a + self.rng.random_range(1..=n)) % (n + 1);
                if self.links.contains(&(a, b)) {
                    let link = self.random_link();
                    self.link(a, b, link).await;
                }
            }
        }
    }

    /// Undo the faults whose time has come.
    async fn repair(&mut self) {
        let now = self.now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.repairs).into_iter().partition(|(at, _)| *at <= now);
        self.repairs = later;
        for (_, repair) in due {
            match repair {
                Repair::Restart(i) if self.nodes[i].is_none() => self.start(i).await,
                Repair::Restart(_) => {}
                Repair::Heal => self.heal(false).await,
            }
        }
    }

    /// Restore every missing link (lossy ones as they were, or `perfect`: all good).
    async fn heal(&mut self, perfect: bool) {
        let n = self.scenario.validators;
        for a in 0..=n {
            for b in 0..=n {
                if a != b && (perfect || !self.links.contains(&(a, b))) {
                    let link = if perfect { Self::good_link() } else { self.random_link() };
                    self.link(a, b, link).await;
                }
            }
        }
    }

    async fn drive(&mut self) -> Outcome {
        // Faults under load.
        let start = self.now();
        let mut next_fault = start + Duration::from_secs(2);
        while self.now().duration_since(start).unwrap_or_default() < FAULTS_FOR {
            self.clients(true).await;
            self.repair().await;
            if self.scenario.faults && self.now() >= next_fault {
                self.fault().await;
                next_fault = self.now() + Duration::from_millis(self.rng.random_range(500..3000));
            }
            self.context.sleep(STEP).await;
        }
        // Heal everything; every pending transaction must commit, and blocks must go on.
        for i in self.members().collect::<Vec<_>>() {
            if self.nodes[i].is_none() {
                self.start(i).await;
            }
        }
        self.heal(true).await;
        let healed = self.now();
        let within = |sim: &Self| sim.now().duration_since(healed).unwrap_or_default() < SETTLE_WITHIN;
        while self.issuer.pending.is_some() || self.users.iter().chain(&self.approvers).any(|u| u.pending.is_some()) {
            assert!(within(self), "transactions still pending {SETTLE_WITHIN:?} after the heal");
            self.clients(false).await;
            self.context.sleep(STEP).await;
        }
        if self.scenario.reconfigure {
            // The new set must take effect (at most two epochs after the approvals), and
            // the chain must go on under it.
            let new_set = self.new_set();
            loop {
                assert!(within(self), "the approved validator set never took effect: heights {:?}", self.heights());
                let epochs: Vec<u64> = self.live().iter().filter_map(|i| self.nodes[*i].as_ref().map(|r| r.node.epoch())).collect();
                let epoch = epochs.iter().copied().min().unwrap_or(0);
                let node = self.random_live().expect("a live node");
                if epoch > 0 && node.validator_set(epoch).await.as_ref() == Some(&new_set) {
                    break;
                }
                self.context.sleep(STEP).await;
            }
            let follower = self.nodes[self.follower()].as_ref().expect("the follower runs").node.clone();
            assert!(follower.is_validator(), "the follower is in the new set but does not count itself a validator");
            let removed = self.nodes[self.scenario.validators - 1].as_ref().expect("every node runs").node.clone();
            assert!(!removed.is_validator(), "the removed validator still counts itself one");
        }
        let top = self.heights().into_iter().max().unwrap_or(0);
        while self.heights().into_iter().min().unwrap_or(0) < top + 3 {
            assert!(within(self), "honest nodes stopped finalizing after the heal: {:?}", self.heights());
            self.context.sleep(STEP).await;
        }
        assert!(self.issuer.nonce >= 2, "the asset was never funded");
        self.check_properties().await;
        self.outcome.acknowledged = self.acknowledged.len();
        self.outcome.epoch = self.live().iter().filter_map(|i| self.nodes[*i].as_ref().map(|r| r.node.epoch())).min().unwrap_or(0);
        self.outcome.clone()
    }

    fn heights(&self) -> Vec<u64> {
        self.members().filter_map(|i| self.nodes[i].as_ref().map(|r| r.node.executed().height)).collect()
    }

    async fn check_properties(&mut self) {
        let nodes: Vec<(usize, Arc<Node>)> =
            self.members().filter_map(|i| self.nodes[i].as_ref().map(|r| (i, r.node.clone()))).collect();
        assert_eq!(nodes.len(), self.members().count(), "every honest node and the follower run at the end");
        let follower = self.follower();
        // Who votes at the end: every validator but the follower, or after the change the
        // follower too, and not the validator it replaced.
        let removed = if self.scenario.reconfigure { self.scenario.validators - 1 } else { follower };
        assert!(!nodes.iter().any(|(i, n)| n.is_validator() == (*i == removed)), "roles: the node out of the set votes, or one in it does not");
        let height = nodes.iter().map(|(_, n)| n.executed().height).min().unwrap_or(0);
        self.outcome.height = height;
        // Agreement: one block per height on every honest node.
        let mut digests: BTreeMap<u64, [u8; 32]> = BTreeMap::new();
        for (i, node) in &nodes {
            let chain = node.chain().expect("consensus runs");
            for h in 1..=height {
                let block = chain
                    .get_block(commonware_consensus::types::Height::new(h))
                    .await
                    .unwrap_or_else(|| panic!("validator {i} lacks final block {h}"));
                let digest = block.inner().digest32();
                let first = *digests.entry(h).or_insert(digest);
                assert_eq!(first, digest, "validator {i} finalized another block at height {h}");
            }
        }
        // Same state: roots recorded since each node's last start agree per height.
        let mut roots: BTreeMap<u64, [u8; 32]> = BTreeMap::new();
        for (i, node) in &nodes {
            for h in height.saturating_sub(64)..=height {
                if let Some(root) = node.root_at(h) {
                    let first = *roots.entry(h).or_insert(root);
                    assert_eq!(first, root, "validator {i} has another state root after block {h}");
                }
            }
        }
        assert!(!roots.is_empty(), "no state roots to compare");
        // Exactly once: clients send only valid transactions, so every receipt is a commit,
        // and no transaction is in two blocks (not even refused the second time).
        for (i, node) in &nodes {
            let mut seen: HashMap<String, u64> = HashMap::new();
            for h in 1..=height {
                for receipt in node.receipts.block(h).expect("receipts") {
                    assert!(receipt.error.is_none(), "validator {i}: {} refused in block {h}: {:?}", receipt.hash, receipt.error);
                    if let Some(before) = seen.insert(receipt.hash.clone(), h) {
                        panic!("validator {i}: transaction {} in blocks {before} and {h}", receipt.hash);
                    }
                }
            }
            for (hash, acked) in &self.acknowledged {
                let at = seen.get(&hash.to_string());
                assert_eq!(at, Some(acked), "validator {i}: transaction {hash} reported committed at {acked}, found at {at:?}");
            }
        }
        // Blocking: honest validators never block each other; all of them block a byzantine one.
        let blocked = self.oracle.blocked().await.expect("the blocked list");
        let index = |key: &ed25519::PublicKey| self.keys.iter().position(|k| k.public_key() == *key);
        for (by, whom) in &blocked {
            let (by, whom) = (index(by), index(whom));
            let honest = |i: Option<usize>| i.is_some_and(|i| self.members().contains(&i));
            assert!(!(honest(by) && honest(whom)), "honest validator {by:?} blocked honest validator {whom:?}");
        }
        if self.scenario.byzantine {
            for (i, _) in nodes.iter().filter(|(i, _)| *i != follower) {
                let me = self.keys[*i].public_key();
                let liar = self.keys[0].public_key();
                assert!(
                    blocked.iter().any(|(by, whom)| *by == me && *whom == liar),
                    "validator {i} never blocked the byzantine validator"
                );
            }
        }
        // Conservation.
        for (i, node) in &nodes {
            let ledger = node.ledger.read().await;
            let mut total = 0u128;
            for user in &self.users {
                let key = accord_exec::keys::account(&user.address).digest();
                if let Some(bytes) = ledger.state.get(&key).await.expect("reads") {
                    let account = accord_exec::Account::decode(&bytes).expect("an account");
                    total += account.balances.get(SYMBOL).copied().unwrap_or(0);
                }
            }
            assert_eq!(total, MINT * USERS as u128, "validator {i}: balances do not add up");
        }
    }
}
