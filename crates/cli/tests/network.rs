//! Four validators as four `accord node` processes on 127.0.0.1: transactions submitted to
//! any of them commit; `kill -9` of a random validator, again and again under load, and the
//! loss of quorum (2 of 4 down) never make them diverge; afterwards every transaction an API
//! reported committed is on every node, exactly once, and all nodes agree on the state root.
//! A follower (a fifth, non-voting process) takes transactions too, ends on the same state,
//! and serves a balance that a client verifies against the validators' signatures.

mod common;

use accord_client::Client;
use accord_types::{Action, Address, AssetKind, PointsAction, SignedTx, Transaction, TxHash};
use commonware_codec::Encode;
use commonware_cryptography::{ed25519, Signer};
use common::temp_home;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A local network of validators, killed and removed on drop.
struct Net {
    dir: PathBuf,
    /// Validators' APIs, then followers'.
    urls: Vec<String>,
    homes: Vec<PathBuf>,
    children: Vec<Option<Child>>,
}

impl Net {
    fn init(validators: usize, followers: usize) -> Self {
        Self::init_with(validators, followers, &[])
    }

    fn init_with(validators: usize, followers: usize, extra: &[&str]) -> Self {
        let dir = temp_home("net");
        let out = Command::new(env!("CARGO_BIN_EXE_accord"))
            .args(["--json", "testnet", "init", "--validators", &validators.to_string()])
            .args(extra)
            .args(["--followers", &followers.to_string(), "--out"])
            .arg(&dir)
            .output()
            .expect("accord runs");
        assert!(out.status.success(), "testnet init: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        let all: Vec<Value> = ["nodes", "followers"].iter().flat_map(|k| v[*k].as_array().expect("nodes").clone()).collect();
        let urls = all.iter().map(|n| n["api"].as_str().expect("api").to_string()).collect();
        let homes = all.iter().map(|n| PathBuf::from(n["home"].as_str().expect("home"))).collect();
        let mut net = Net { dir, urls, homes, children: all.iter().map(|_| None).collect() };
        for k in 0..all.len() {
            net.start(k);
        }
        net
    }

    fn start(&mut self, k: usize) {
        let child = Command::new(env!("CARGO_BIN_EXE_accord"))
            .arg("--home")
            .arg(&self.homes[k])
            .arg("node")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("accord node starts");
        self.children[k] = Some(child);
    }

    fn kill(&mut self, k: usize) {
        if let Some(mut c) = self.children[k].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn status(&self, k: usize, rt: &tokio::runtime::Runtime) -> Option<Value> {
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(2), Client::new(&self.urls[k]).status()).await.ok()?.ok() })
    }

    fn height(&self, k: usize, rt: &tokio::runtime::Runtime) -> u64 {
        self.status(k, rt).and_then(|s| s["height"].as_u64()).unwrap_or(0)
    }

    /// Wait until node `k` answers and is at `height` or above.
    fn wait_height(&self, k: usize, height: u64, rt: &tokio::runtime::Runtime) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.height(k, rt) < height {
            assert!(Instant::now() < deadline, "node {k} did not reach height {height}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for k in 0..self.children.len() {
            self.kill(k);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn address(key: &ed25519::PrivateKey) -> Address {
    Address(key.public_key().encode().as_ref().try_into().expect("32 bytes"))
}

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn four_validators_survive_repeated_kill_9_and_a_lost_quorum_without_diverging() {
    let seed = std::env::var("ACCORD_NET_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64)
    });
    println!("seed {seed} (replay with ACCORD_NET_SEED={seed})");
    let mut rng = Lcg(seed);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut net = Net::init(4, 1);
    const FOLLOWER: usize = 4;
    for k in 0..5 {
        net.wait_height(k, 2, &rt);
    }
    let role = |k: usize| net.status(k, &rt).expect("status")["role"].clone();
    assert_eq!((role(0), role(FOLLOWER)), (Value::from("validator"), Value::from("follower")));
    let chain_id = net.status(0, &rt).expect("status")["chain_id"].as_str().expect("chain id").to_string();
    let issuer = ed25519::PrivateKey::from_seed(1);
    let users: Vec<ed25519::PrivateKey> = (10..30).map(ed25519::PrivateKey::from_seed).collect();
    let tx = |key: &ed25519::PrivateKey, nonce: u64, action: PointsAction| -> SignedTx {
        Transaction { chain_id: chain_id.clone(), signer: address(key), nonce, actions: vec![Action::Points(action)], memo: String::new() }
            .sign(key)
    };
    let mut setup = vec![tx(&issuer, 0, PointsAction::CreateAsset {
        symbol: "NET".into(), name: "net".into(), decimals: 0, kind: AssetKind::Points,
        max_supply: None, mint_limit_per_day: None, transferable: true, lifetime_ms: None,
    })];
    for (i, u) in users.iter().enumerate() {
        setup.push(tx(&issuer, 1 + i as u64, PointsAction::Mint {
            symbol: "NET".into(), to: address(u), amount: 1_000_000, reason: "seed".into(), external_ref: None,
        }));
    }
    // Submitted to node 1, committed by whoever proposes: the transactions travel.
    let client = Client::new(&net.urls[1]);
    rt.block_on(async {
        client.submit_batch(&setup).await.expect("submitted");
        client.wait(&setup[setup.len() - 1].hash, Duration::from_secs(60)).await.expect("funded")
    });

    // 20 rounds: load through one node while another is killed with SIGKILL and restarted.
    let mut committed: HashSet<TxHash> = HashSet::new();
    let mut nonce = vec![0u64; users.len()];
    for round in 0..20 {
        // The entry node is any other node, the follower included (it passes transactions on).
        let victim = rng.next(4) as usize;
        let entry = (victim + 1 + rng.next(4) as usize) % 5;
        let client = Client::new(&net.urls[entry]);
        let mut sent = Vec::new();
        for step in 0..3 {
            let batch: Vec<SignedTx> = users
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    let to = address(&users[(i + 1 + step) % users.len()]);
                    tx(u, nonce[i], PointsAction::Transfer { symbol: "NET".into(), to, amount: 1 })
                })
                .collect();
            let Ok(results) = rt.block_on(client.submit_batch(&batch)) else { continue };
            for (t, r) in batch.iter().zip(results) {
                if r.is_ok() {
                    sent.push(t.hash);
                    nonce[users.iter().position(|u| address(u) == t.tx.signer).expect("user")] += 1;
                }
            }
            if step == 1 {
                net.kill(victim);
            }
        }
        std::thread::sleep(Duration::from_millis(rng.next(800)));
        net.start(victim);
        // Whatever this round's entry node reports committed must stay committed.
        let deadline = Instant::now() + Duration::from_secs(30);
        for hash in &sent {
            loop {
                match rt.block_on(client.tx_status(hash)).ok().map(|s| s["status"].clone()) {
                    Some(s) if s == "committed" => {
                        committed.insert(*hash);
                        break;
                    }
                    Some(s) if s == "rejected" => break,
                    _ if Instant::now() > deadline => break,
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        // Resync nonces from the entry node: a transaction in flight may have been lost.
        for (i, u) in users.iter().enumerate() {
            if let Ok(account) = rt.block_on(client.account(&address(u))) {
                nonce[i] = account["next_nonce"].as_u64().expect("nonce");
            }
        }
        assert!(round < 5 || !committed.is_empty(), "nothing committed after {round} rounds");
    }

    // Two of four down: finality pauses (nothing beyond what was already certified).
    let top = (0..4).map(|k| net.height(k, &rt)).max().unwrap_or(0);
    net.kill(2);
    net.kill(3);
    // A live node may still be catching up to blocks finalized before the kill (say, the
    // last round's victim); the highest live height must stand still, and nothing may pass
    // what was certified before the kill.
    let highest = |net: &Net| [0, 1, FOLLOWER].iter().map(|k| net.height(*k, &rt)).max().unwrap_or(0);
    std::thread::sleep(Duration::from_secs(4));
    let paused = highest(&net);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(highest(&net), paused, "a minority finalized blocks");
    assert!(paused <= top + 2, "{paused} vs {top}");
    net.start(2);
    net.start(3);
    for k in 0..5 {
        net.wait_height(k, paused + 3, &rt);
    }

    // Every node: the same root at the same height, and every acknowledged commit, once.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s: Vec<Option<Value>> = (0..5).map(|k| net.status(k, &rt)).collect();
        let pairs: HashSet<(u64, String)> = s
            .iter()
            .flatten()
            .map(|v| (v["height"].as_u64().unwrap_or(0), v["state_root"].as_str().unwrap_or("").to_string()))
            .collect();
        let heights: HashSet<u64> = pairs.iter().map(|p| p.0).collect();
        if s.iter().all(Option::is_some) && heights.len() == 1 {
            assert_eq!(pairs.len(), 1, "same height, different roots: {pairs:?}");
            break;
        }
        assert!(Instant::now() < deadline, "nodes never met at one height: {pairs:?}");
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(committed.len() > 100, "only {} committed", committed.len());
    for k in 0..5 {
        let client = Client::new(&net.urls[k]);
        let mut at: HashMap<TxHash, u64> = HashMap::new();
        for hash in &committed {
            let s = rt.block_on(client.tx_status(hash)).expect("status");
            assert_eq!(s["status"], "committed", "node {k} lost {hash}");
            at.insert(*hash, s["receipt"]["height"].as_u64().expect("height"));
        }
        let top = net.height(k, &rt);
        let mut seen = HashSet::new();
        for h in 1..=top {
            let block: Value = rt.block_on(client.get(&format!("/v1/blocks/{h}"))).expect("block");
            for t in block["txs"].as_array().expect("txs") {
                let hash: TxHash = t.as_str().expect("hash").parse().expect("hash");
                if seen.contains(&hash) {
                    assert!(!committed.contains(&hash) || at[&hash] <= h, "{hash} committed twice on node {k}");
                }
                seen.insert(hash);
            }
        }
        let total: u128 = users
            .iter()
            .map(|u| {
                let a = rt.block_on(client.account(&address(u))).expect("account");
                a["balances"]["balances"]["NET"].as_str().unwrap_or("0").parse::<u128>().expect("amount")
            })
            .sum();
        assert_eq!(total, 20 * 1_000_000, "node {k}: the supply does not add up");
    }

    // A client trusting only the genesis file verifies a balance through the follower: the
    // proof, the headers, and a quorum (3 of 4) of the genesis validators' signatures.
    let who = address(&users[0]).to_string();
    let expected = rt.block_on(Client::new(&net.urls[FOLLOWER]).account(&address(&users[0]))).expect("account")["balances"]
        ["balances"]["NET"]
        .clone();
    let out = Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("--home")
        .arg(&net.homes[FOLLOWER])
        .args(["--node", &net.urls[FOLLOWER], "--json", "verify", "balance", &who, "NET"])
        .output()
        .expect("accord runs");
    assert!(out.status.success(), "verify failed: {}", String::from_utf8_lossy(&out.stdout));
    let verified: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(verified["balance"], expected, "{verified}");
}

/// `accord follower init` writes a follower's home for an existing chain and prints the
/// entry validators add; a second init into the same home, and a validator listing its own
/// key as a follower, are refused with messages that say what to fix.
#[test]
fn a_follower_is_set_up_for_an_existing_chain_and_bad_follower_lists_are_refused() {
    let dir = temp_home("follower");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_accord")).args(args).output().expect("accord runs");
    let d = dir.to_str().expect("utf-8 path");
    let out = run(&["--json", "testnet", "init", "--validators", "1", "--out", d]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let genesis = dir.join("node0/genesis.json");
    let follower_home = dir.join("auditor");
    let f = follower_home.to_str().expect("utf-8 path");
    let g = genesis.to_str().expect("utf-8 path");
    let init = ["--home", f, "--json", "follower", "init", g, "--api", "127.0.0.1:0", "--p2p", "127.0.0.1:0"];
    let out = run(&init);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let key = v["follower"]["public_key"].as_str().expect("key").to_string();
    assert_eq!(key.len(), 64);
    assert_eq!(std::fs::read(&genesis).expect("genesis"), std::fs::read(follower_home.join("genesis.json")).expect("copy"));
    let again = run(&init);
    assert!(!again.status.success());
    let said = format!("{}{}", String::from_utf8_lossy(&again.stdout), String::from_utf8_lossy(&again.stderr));
    assert!(said.contains("exists already"), "{said}");

    // A node whose key is no validator's does not start as a validator (a wrong key must not
    // quietly turn a validator into a follower): it must say "role": "follower".
    let follower_config = follower_home.join("node.json");
    let mut fc: Value = serde_json::from_slice(&std::fs::read(&follower_config).expect("config")).expect("json");
    assert_eq!(fc["role"], "follower");
    fc.as_object_mut().expect("object").remove("role");
    std::fs::write(&follower_config, serde_json::to_vec(&fc).expect("json")).expect("write");
    let out = run(&["--home", f, "node"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not the key of any validator") && err.contains("\"role\": \"follower\""), "{err}");

    // A validator that lists its own key as a follower does not start.
    let config_path = dir.join("node0/node.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_path).expect("config")).expect("json");
    let genesis_json: Value = serde_json::from_slice(&std::fs::read(&genesis).expect("genesis")).expect("json");
    let own = genesis_json["validators"][0]["public_key"].clone();
    config["followers"] = serde_json::json!([{ "public_key": own, "p2p_address": "127.0.0.1:1" }]);
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("json")).expect("write");
    let out = run(&["--home", dir.join("node0").to_str().expect("utf-8"), "node"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is this node's own key"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The validators change their set on a live 4-process network: three of the four approve
/// a set without node 3 and with the follower; it takes effect at an epoch boundary, on
/// every node at once. Then the removed validator and one more are stopped: the remaining
/// two and the former follower are a quorum of the new set, so blocks go on only because
/// the former follower votes. A client that trusts only the genesis file follows the chain
/// of sets to the new one and verifies a balance certified by the new set.
#[test]
fn validators_replace_one_of_them_by_a_follower_at_an_epoch_boundary() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut net = Net::init_with(4, 1, &["--epoch-length", "16"]);
    const FOLLOWER: usize = 4;
    for k in 0..5 {
        net.wait_height(k, 2, &rt);
    }
    let json = |path: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json") };
    let genesis = json(net.homes[0].join("genesis.json"));
    let removed = genesis["validators"][3]["public_key"].as_str().expect("key").to_string();
    let config = json(net.homes[0].join("node.json"));
    let joiner = config["followers"][0]["public_key"].as_str().expect("key").to_string();
    let joiner_p2p = config["followers"][0]["p2p_address"].as_str().expect("address").to_string();
    let (homes, urls) = (net.homes.clone(), net.urls.clone());
    let accord = |k: usize, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_accord"))
            .arg("--home")
            .arg(&homes[k])
            .args(["--node", &urls[k], "--json"])
            .args(args)
            .output()
            .expect("accord runs")
    };
    let add = format!("{joiner}={joiner_p2p}");
    let mut scheduled = None;
    for k in 0..3 {
        let out = accord(k, &["validators", "approve", "--add", &add, "--remove", &removed]);
        assert!(out.status.success(), "approval by node {k}: {}", String::from_utf8_lossy(&out.stdout));
        let result: Value = serde_json::from_slice(&out.stdout).expect("json");
        for e in result["receipt"]["events"].as_array().expect("events") {
            if e["type"] == "validator_set_scheduled" {
                scheduled = e["epoch"].as_u64();
            }
        }
        assert_eq!(scheduled.is_some(), k == 2, "the third approval of four makes the quorum: {result}");
    }
    let epoch = scheduled.expect("scheduled");
    let deadline = Instant::now() + Duration::from_secs(120);
    let expected: HashSet<String> = [0, 1, 2].iter().map(|i| genesis["validators"][*i]["public_key"].as_str().expect("key").to_string()).chain([joiner.clone()]).collect();
    for k in 0..5 {
        loop {
            let status = net.status(k, &rt);
            let at = status.as_ref().and_then(|s| s["epoch"].as_u64()).unwrap_or(0);
            if at >= epoch {
                let status = status.expect("status");
                let set: HashSet<String> = status["validators"].as_array().expect("validators").iter().map(|v| v.as_str().expect("hex").to_string()).collect();
                assert_eq!(set, expected, "node {k} in epoch {at}");
                break;
            }
            assert!(Instant::now() < deadline, "node {k} did not reach epoch {epoch}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let role = |k: usize| net.status(k, &rt).expect("status")["role"].clone();
    assert_eq!((role(FOLLOWER), role(3)), (Value::from("validator"), Value::from("follower")));

    // Without node 3 and node 0, the new set still has a quorum (3 of 4) only if the
    // former follower votes.
    net.kill(3);
    net.kill(0);
    let height = net.height(1, &rt);
    net.wait_height(1, height + 5, &rt);
    net.wait_height(FOLLOWER, height + 5, &rt);

    // A client trusting the genesis alone follows the sets and verifies the new one.
    let out = accord(FOLLOWER, &["verify", "validators"]);
    assert!(out.status.success(), "verify validators: {}", String::from_utf8_lossy(&out.stdout));
    let verified: Value = serde_json::from_slice(&out.stdout).expect("json");
    let set: HashSet<String> = verified["validators"].as_array().expect("validators").iter().map(|v| v.as_str().expect("hex").to_string()).collect();
    assert_eq!(set, expected, "{verified}");
    assert!(verified["epoch"].as_u64().expect("epoch") >= epoch);
    // A balance (here: none, proven absent) certified by the new set.
    let nobody = address(&ed25519::PrivateKey::from_seed(77)).to_string();
    let out = accord(FOLLOWER, &["verify", "balance", &nobody, "NET"]);
    assert!(out.status.success(), "verify balance: {}", String::from_utf8_lossy(&out.stdout));
    let verified: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(verified["balance"], "0", "{verified}");
    assert!(verified["certified_height"].as_u64().expect("height") >= epoch * 16, "{verified}");
    // The set of a later epoch that is not frozen yet is refused with a clear message.
    let out = accord(FOLLOWER, &["validators", "show", "--epoch", "100000"]);
    assert!(!out.status.success());
}
