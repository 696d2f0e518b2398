//! Crash safety: `kill -9` the node under load; after a restart every transaction the API
//! reported committed is still there, exactly once, and balances add up.

mod common;

use accord_client::Client;
use accord_types::{Action, Address, AssetKind, PointsAction, Transaction, TxHash};
use commonware_codec::Encode;
use commonware_cryptography::{ed25519, Signer};
use common::{temp_home, Dev};
use std::collections::HashSet;
use std::time::Duration;

fn address(key: &ed25519::PrivateKey) -> Address {
    Address(key.public_key().encode().as_ref().try_into().expect("32 bytes"))
}

#[test]
fn committed_transactions_survive_kill_9_exactly_once() {
    let mut dev = Dev::start(&temp_home("crash"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let issuer = ed25519::PrivateKey::from_seed(1);
    let users: Vec<ed25519::PrivateKey> = (10..30).map(ed25519::PrivateKey::from_seed).collect();
    let chain_id = rt.block_on(Client::new(&dev.url()).status()).expect("status")["chain_id"]
        .as_str()
        .expect("chain id")
        .to_string();
    let tx = |key: &ed25519::PrivateKey, nonce: u64, action: PointsAction| {
        Transaction { chain_id: chain_id.clone(), signer: address(key), nonce, actions: vec![Action::Points(action)], memo: String::new() }
            .sign(key)
    };
    let mut setup = vec![tx(&issuer, 0, PointsAction::CreateAsset {
        symbol: "CRASH".into(), name: "crash".into(), decimals: 0, kind: AssetKind::Points,
        max_supply: None, mint_limit_per_day: None, transferable: true, lifetime_ms: None,
    })];
    for (i, u) in users.iter().enumerate() {
        setup.push(tx(&issuer, 1 + i as u64, PointsAction::Mint {
            symbol: "CRASH".into(), to: address(u), amount: 1_000_000, reason: "seed".into(), external_ref: None,
        }));
    }
    let client = Client::new(&dev.url());
    rt.block_on(async {
        client.submit_batch(&setup).await.expect("submitted");
        client.wait(&setup[setup.len() - 1].hash, Duration::from_secs(60)).await.expect("funded")
    });

    // Three rounds: load, observe commits, kill -9 mid-stream, restart.
    let mut committed: HashSet<TxHash> = HashSet::new();
    let mut nonce = vec![0u64; users.len()];
    for round in 0..3 {
        let client = Client::new(&dev.url());
        let mut sent = Vec::new();
        for step in 0..40 {
            let batch: Vec<_> = users
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    let to = address(&users[(i + 1 + step) % users.len()]);
                    let t = tx(u, nonce[i], PointsAction::Transfer { symbol: "CRASH".into(), to, amount: 1 });
                    t
                })
                .collect();
            let results = rt.block_on(client.submit_batch(&batch)).expect("submitted");
            for (t, r) in batch.iter().zip(results) {
                if r.is_ok() {
                    sent.push(t.hash);
                    nonce[users.iter().position(|u| address(u) == t.tx.signer).expect("user")] += 1;
                }
            }
            for hash in sent.iter().rev().take(40) {
                if let Ok(s) = rt.block_on(client.tx_status(hash)) {
                    if s["status"] == "committed" {
                        committed.insert(*hash);
                    }
                }
            }
        }
        dev.kill();
        dev.spawn();
        // After the restart, transactions in flight were either committed or lost; resync nonces.
        let client = Client::new(&dev.url());
        for (i, u) in users.iter().enumerate() {
            let account = rt.block_on(client.account(&address(u))).expect("account");
            nonce[i] = account["next_nonce"].as_u64().expect("nonce");
        }
        assert!(!committed.is_empty(), "round {round} committed nothing");
    }

    // Every acknowledged commit is still committed, at one height, exactly once.
    let client = Client::new(&dev.url());
    let mut heights = std::collections::HashMap::new();
    for hash in &committed {
        let s = rt.block_on(client.tx_status(hash)).expect("status");
        assert_eq!(s["status"], "committed", "{hash} lost after kill -9");
        heights.insert(*hash, s["receipt"]["height"].as_u64().expect("height"));
    }
    let mut seen = HashSet::new();
    let top = rt.block_on(client.status()).expect("status")["height"].as_u64().expect("height");
    for h in 1..=top {
        let block: serde_json::Value = rt.block_on(client.get(&format!("/v1/blocks/{h}"))).expect("block");
        for t in block["txs"].as_array().expect("txs") {
            let hash: TxHash = t.as_str().expect("hash").parse().expect("hash");
            assert!(seen.insert(hash), "{hash} appears twice in the chain");
        }
    }
    for hash in &committed {
        assert!(seen.contains(hash), "{hash} is not in any block");
    }
    // Supply still equals the sum of balances.
    let mut total: u128 = 0;
    for u in &users {
        let account = rt.block_on(client.account(&address(u))).expect("account");
        total += account["balances"]["balances"]["CRASH"].as_str().unwrap_or("0").parse::<u128>().expect("amount");
    }
    assert_eq!(total, 20 * 1_000_000);
}
