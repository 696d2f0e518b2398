//! End to end: the real `accord dev` binary, driven by the real CLI and raw HTTP.

mod common;

use accord_client::verify::{check, Trust};
use accord_types::{Action, Address, PointsAction, Transaction};
use commonware_codec::Encode;
use commonware_cryptography::{ed25519, Signer};
use common::{temp_home, Dev};
use serde_json::{json, Value};

fn get(dev: &Dev, path: &str) -> Value {
    reqwest::blocking::get(format!("{}{path}", dev.url())).expect("reachable").json().expect("json")
}

fn post(dev: &Dev, path: &str, body: String) -> (u16, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}{path}", dev.url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .expect("reachable");
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn address(key: &ed25519::PrivateKey) -> Address {
    Address(key.public_key().encode().as_ref().try_into().expect("32 bytes"))
}

#[test]
fn a_newcomer_issues_moves_and_verifies_points_without_trusting_the_node() {
    let dev = Dev::start(&temp_home("tour"));
    let alice = dev.ok(&["keys", "add", "alice"])["address"].as_str().expect("address").to_string();
    dev.ok(&["keys", "add", "bob", "--insecure-no-passphrase"]);
    dev.ok(&["--from", "alice", "tx", "asset", "create", "--symbol", "PARK", "--name", "Parking", "--max-supply", "1000000"]);
    let minted = dev.ok(&["--from", "alice", "tx", "asset", "mint", "--symbol", "PARK", "--to", "alice",
        "--amount", "1200", "--reason", "welcome", "--external-ref", "r1"]);
    assert_eq!(minted["status"], "committed");
    dev.ok(&["--from", "alice", "tx", "transfer", "--to", "bob", "--symbol", "PARK", "--amount", "200"]);
    let asset = dev.ok(&["query", "asset", "PARK", "--history"]);
    assert_eq!((asset["issued"].as_str(), asset["circulating"].as_str(), asset["holders"].as_u64()),
        (Some("1200"), Some("1200"), Some(2)));
    assert_eq!(asset["history"]["mints"][0]["reason"], "welcome");
    let verified = dev.ok(&["verify", "balance", "bob", "PARK"]);
    assert_eq!(verified["balance"], "200");
    let verified = dev.ok(&["verify", "balance", &alice, "PARK"]);
    assert_eq!(verified["balance"], "1000");

    // Typed rejects through the CLI, and nothing moves: not a balance, not the state root.
    let before = dev.ok(&["query", "account", "alice"])["balances"].clone();
    let root_before = dev.ok(&["query", "status"])["state_root"].clone();
    for (args, code) in [
        (vec!["--from", "alice", "tx", "asset", "create", "--symbol", "PARK", "--name", "x"], 211),
        (vec!["--from", "bob", "tx", "asset", "mint", "--symbol", "PARK", "--to", "bob", "--amount", "1", "--reason", "x"], 212),
        (vec!["--from", "alice", "tx", "asset", "mint", "--symbol", "PARK", "--to", "bob", "--amount", "999000", "--reason", "x"], 213),
        (vec!["--from", "alice", "tx", "asset", "mint", "--symbol", "PARK", "--to", "bob", "--amount", "1", "--reason", "x", "--external-ref", "r1"], 215),
        (vec!["--from", "alice", "tx", "transfer", "--to", "bob", "--symbol", "PARK", "--amount", "5000"], 216),
        (vec!["--from", "alice", "tx", "transfer", "--to", "bob", "--symbol", "NOPE", "--amount", "1"], 210),
        (vec!["--from", "alice", "tx", "transfer", "--to", "bob", "--symbol", "PARK", "--amount", "0"], 113),
    ] {
        let out = dev.fails(&args);
        assert!(out.contains(&format!("\"code\":{code}")), "{args:?} -> {out}");
    }
    assert_eq!(dev.ok(&["query", "account", "alice"])["balances"], before);
    let status = dev.ok(&["query", "status"]);
    assert_eq!(status["state_root"], root_before, "rejected transactions moved the state root");
    assert_eq!(dev.ok(&["verify", "balance", "bob", "PARK"])["balance"], "200");
}

#[test]
fn bad_requests_get_typed_errors_and_tampered_answers_fail_verification() {
    let dev = Dev::start(&temp_home("bad"));
    let status = get(&dev, "/v1/status");
    let chain_id = status["chain_id"].as_str().expect("chain id").to_string();
    let key = ed25519::PrivateKey::from_seed(7);
    let tx = |chain: &str, nonce: u64| Transaction {
        chain_id: chain.to_string(),
        signer: address(&key),
        nonce,
        actions: vec![Action::Points(PointsAction::CreateAsset {
            symbol: format!("T{nonce}"),
            name: "t".into(),
            decimals: 0,
            kind: accord_types::AssetKind::Points,
            max_supply: None,
            mint_limit_per_day: None,
            transferable: true,
            lifetime_ms: None,
        })],
        memo: String::new(),
    };
    let submit = |signed: &accord_types::SignedTx| {
        post(&dev, "/v1/txs", json!({ "tx": hex::encode(signed.encode()) }).to_string())
    };
    assert_eq!(submit(&tx("other-chain", 0).sign(&key)).1["code"], 102);
    let mut forged = tx(&chain_id, 0).sign(&key);
    forged.signature[5] ^= 1;
    assert_eq!(submit(&forged).1["code"], 101);
    assert_eq!(submit(&tx(&chain_id, 3).sign(&key)).1["code"], 201);
    let (code, ok) = submit(&tx(&chain_id, 0).sign(&key));
    assert_eq!(code, 200, "{ok}");
    assert_eq!(submit(&tx(&chain_id, 0).sign(&key)).1["code"], 301);
    assert_eq!(post(&dev, "/v1/txs", "{not json".into()).1["code"], 900);
    assert_eq!(post(&dev, "/v1/txs", json!({ "tx": "zz" }).to_string()).1["code"], 100);
    let many: Vec<String> = vec!["00".into(); accord_api_batch_max() + 1];
    assert_eq!(post(&dev, "/v1/txs/batch", json!({ "txs": many }).to_string()).1["code"], 902);
    let huge = "a".repeat(17 * 1024 * 1024);
    let (code, body) = post(&dev, "/v1/txs", json!({ "tx": huge }).to_string());
    assert_eq!((code, body["code"].as_u64()), (413, Some(901)));
    assert_eq!(get(&dev, "/v1/assets/NOPE")["code"], 904);
    assert_eq!(get(&dev, "/v1/assets/NOPE/history?limit=5000")["code"], 903);
    assert!(get(&dev, "/openapi.json")["paths"]["/v1/txs/batch"].is_object());
    let metrics = reqwest::blocking::get(format!("{}/metrics", dev.url())).expect("up").text().expect("text");
    assert!(metrics.contains("accord_height"));
    // Wait for the good transaction, then the proof of a stale nonce.
    let hash = ok["hash"].as_str().expect("hash").to_string();
    for _ in 0..100 {
        if get(&dev, &format!("/v1/txs/{hash}"))["status"] == "committed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(get(&dev, &format!("/v1/txs/{hash}"))["status"], "committed");
    assert_eq!(submit(&tx(&chain_id, 0).sign(&key)).1["code"], 301);
    let mut reused = tx(&chain_id, 0);
    reused.memo = "same nonce, other transaction".into();
    assert_eq!(submit(&reused.sign(&key)).1["code"], 200);

    // A genuine answer verifies; a tampered proof, header or certificate does not.
    let genesis: Value = serde_json::from_slice(&std::fs::read(dev.home.join("genesis.json")).expect("genesis"))
        .expect("json");
    let validators = genesis["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .map(|v| {
            let raw = hex::decode(v["public_key"].as_str().expect("hex")).expect("hex");
            commonware_codec::DecodeExt::decode(commonware_codec::Copying(raw.as_slice())).expect("key")
        })
        .collect();
    let trust = Trust { chain_id: chain_id.clone(), validators, epoch_length: genesis["epoch_length"].as_u64() };
    let key_bytes = accord_exec::keys::account(&address(&key)).0;
    let proof = get(&dev, &format!("/v1/proofs/{}", hex::encode(&key_bytes)));
    let height = proof["height"].as_u64().expect("height");
    let mut certified = Value::Null;
    for _ in 0..100 {
        certified = get(&dev, &format!("/v1/blocks/{}/certified", height + 1));
        if certified["finalization"].is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (value, _, _) = check(&trust, &trust.validators, 0, &key_bytes, &proof, &certified).expect("a genuine answer verifies");
    assert!(value.is_some());
    let flip = |text: &str, at: usize| {
        let mut raw = hex::decode(text).expect("hex");
        let i = at.min(raw.len() - 1);
        raw[i] ^= 1;
        hex::encode(raw)
    };
    let mut bad = proof.clone();
    bad["value"] = json!(flip(proof["value"].as_str().expect("value"), 0));
    assert!(check(&trust, &trust.validators, 0, &key_bytes, &bad, &certified).is_err(), "tampered value");
    let mut bad = proof.clone();
    bad["proof"] = json!(flip(proof["proof"].as_str().expect("proof"), 40));
    assert!(check(&trust, &trust.validators, 0, &key_bytes, &bad, &certified).is_err(), "tampered proof");
    let mut bad = certified.clone();
    bad["headers"][0]["bytes"] = json!(flip(certified["headers"][0]["bytes"].as_str().expect("bytes"), 20));
    assert!(check(&trust, &trust.validators, 0, &key_bytes, &proof, &bad).is_err(), "tampered header");
    let mut bad = certified.clone();
    let cert = certified["finalization"].as_str().expect("cert");
    bad["finalization"] = json!(flip(cert, cert.len() / 2 - 5));
    assert!(check(&trust, &trust.validators, 0, &key_bytes, &proof, &bad).is_err(), "tampered certificate");
    let other = Trust { chain_id, validators: vec![ed25519::PrivateKey::from_seed(99).public_key()], epoch_length: trust.epoch_length };
    assert!(check(&other, &other.validators, 0, &key_bytes, &proof, &certified).is_err(), "certificate from another validator set");
    assert!(check(&trust, &trust.validators, 1, &key_bytes, &proof, &certified).is_err(), "a certificate checked as another epoch's");
}

fn accord_api_batch_max() -> usize {
    10_000
}

#[test]
fn a_two_of_three_multisig_issues_points_that_no_single_member_controls() {
    let dev = Dev::start(&temp_home("multisig"));
    for name in ["alice", "bob", "carol"] {
        dev.ok(&["keys", "add", name, "--insecure-no-passphrase"]);
    }
    let created = dev.ok(&["--from", "alice", "tx", "multisig", "create", "--member", "alice", "--member", "bob",
        "--member", "carol", "--threshold", "2"]);
    let wallet = created["receipt"]["events"][0]["multisig"].as_str().expect("address").to_string();
    let create_asset = r#"{"type":"create_asset","symbol":"ALLY","name":"Alliance points","decimals":0,"kind":"points"}"#;
    dev.ok(&["--from", "alice", "tx", "multisig", "propose", "--multisig", &wallet, "--action", create_asset]);
    let asset = reqwest::blocking::get(format!("{}/v1/assets/ALLY", dev.url())).expect("up");
    assert_eq!(asset.status().as_u16(), 404, "one signature alone creates nothing");
    let proposal = dev.ok(&["query", "multisig", &wallet, "--proposal", "0"]);
    assert_eq!(proposal["proposal"]["actions"][0]["symbol"], "ALLY");
    let out = dev.fails(&["--from", "alice", "tx", "multisig", "approve", "--multisig", &wallet, "--proposal", "0"]);
    assert!(out.contains("\"code\":234"), "{out}");
    dev.ok(&["--from", "bob", "tx", "multisig", "approve", "--multisig", &wallet, "--proposal", "0"]);
    let asset = dev.ok(&["query", "asset", "ALLY"]);
    assert_eq!(asset["asset"]["issuer"], wallet.as_str());
    // Alice alone is not the issuer; the multisig is.
    let out = dev.fails(&["--from", "alice", "tx", "asset", "mint", "--symbol", "ALLY", "--to", "alice",
        "--amount", "5", "--reason", "self-dealing"]);
    assert!(out.contains("\"code\":212"), "{out}");
    let mint = format!(r#"{{"type":"mint","symbol":"ALLY","to":"{}","amount":"5","reason":"agreed"}}"#,
        dev.ok(&["keys", "show", "carol"])["address"].as_str().expect("address"));
    dev.ok(&["--from", "carol", "tx", "multisig", "propose", "--multisig", &wallet, "--action", &mint]);
    dev.ok(&["--from", "alice", "tx", "multisig", "approve", "--multisig", &wallet, "--proposal", "1"]);
    assert_eq!(dev.ok(&["verify", "balance", "carol", "ALLY"])["balance"], "5");
}

fn cny(dev: &Dev, who: &str) -> u128 {
    dev.ok(&["query", "account", who])["balances"]["balances"]["CNY"].as_str().unwrap_or("0").parse().expect("amount")
}

#[test]
fn a_track_agreement_splits_income_and_an_auctioned_right_reverts_by_itself() {
    let dev = Dev::start(&temp_home("agreement"));
    for name in ["creator", "platform", "bidder1", "bidder2", "bidder3", "bank", "listener", "lawyer"] {
        dev.ok(&["keys", "add", name, "--insecure-no-passphrase"]);
    }
    dev.ok(&["--from", "bank", "tx", "asset", "create", "--symbol", "CNY", "--name", "yuan", "--decimals", "2", "--kind", "currency"]);
    for who in ["listener", "bidder1", "bidder2", "bidder3"] {
        dev.ok(&["--from", "bank", "tx", "asset", "mint", "--symbol", "CNY", "--to", who, "--amount", "1000000000000", "--reason", "float"]);
    }
    let ms = dev.ok(&["--from", "creator", "tx", "multisig", "create", "--member", "creator", "--member", "platform",
        "--member", "lawyer", "--threshold", "2"]);
    let amender = ms["receipt"]["events"][0]["multisig"].as_str().expect("multisig").to_string();
    let legal = "11".repeat(32);
    let created = dev.ok(&["--from", "creator", "tx", "agreement", "create", "--income-symbol", "CNY",
        "--party", "creator=900000", "--party", "platform=100000", "--legal-hash", &legal, "--amender", &amender]);
    let track = created["receipt"]["events"][0]["agreement"].as_str().expect("agreement").to_string();
    let out = dev.fails(&["--from", "listener", "tx", "agreement", "pay", "--agreement", &track, "--amount", "100"]);
    assert!(out.contains("\"code\":243"), "a draft takes no income: {out}");
    let out = dev.fails(&["--from", "platform", "tx", "agreement", "sign", "--agreement", &track, "--legal-hash", &"33".repeat(32)]);
    assert!(out.contains("\"code\":248"), "signing other terms: {out}");
    dev.ok(&["--from", "platform", "tx", "agreement", "sign", "--agreement", &track, "--legal-hash", &legal]);

    // The creator auctions a 700,000-ppm income right for a short period (365d in production).
    let listed = dev.ok(&["--from", "creator", "tx", "auction", "create", "--agreement", &track, "--share-ppm", "700000",
        "--period", "6s", "--price-symbol", "CNY", "--reserve", "100000", "--min-increment", "10000", "--ends-in", "20s"]);
    let auction = listed["receipt"]["events"][0]["listing"].as_str().expect("listing").to_string();
    let bid = |who: &str, amount: &str| dev.cli(&["--from", who, "tx", "auction", "bid", "--listing", &auction, "--amount", amount]);
    let out = String::from_utf8_lossy(&bid("bidder1", "99999").stdout).to_string();
    assert!(out.contains("\"code\":253"), "below the reserve: {out}");
    let start = cny(&dev, "bidder1");
    assert!(bid("bidder1", "100000").status.success());
    assert!(bid("bidder2", "150000").status.success());
    assert_eq!(cny(&dev, "bidder1"), start, "the outbid bidder is refunded in the same transaction");
    assert!(bid("bidder3", "200000").status.success());
    assert_eq!(cny(&dev, "bidder2"), start);
    assert_eq!(cny(&dev, "bidder3"), start - 200_000, "the highest bid is held");

    // At the end the chain settles it: nobody sends a transaction.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let settled = loop {
        let l = dev.ok(&["query", "auction", &auction]);
        if l["listing"]["status"]["state"] == "settled" {
            break l;
        }
        assert!(std::time::Instant::now() < deadline, "not settled: {l}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(settled["listing"]["top_bid"]["bidder"], dev.ok(&["keys", "show", "bidder3"])["address"]);
    assert_eq!(cny(&dev, "creator"), 200_000, "the seller is paid");
    let proven = dev.ok(&["verify", "listing", &auction]);
    assert_eq!(proven["listing"]["status"]["state"], "settled", "{proven}");
    let out = String::from_utf8_lossy(&bid("bidder1", "900000").stdout).to_string();
    assert!(out.contains("\"code\":251"), "closed: {out}");

    let who = ["creator", "platform", "bidder3"];
    let before: Vec<u128> = who.iter().map(|w| cny(&dev, w)).collect();
    dev.ok(&["--from", "listener", "tx", "agreement", "pay", "--agreement", &track, "--amount", "100000"]);
    let after: Vec<u128> = who.iter().map(|w| cny(&dev, w)).collect();
    assert_eq!((after[0] - before[0], after[1] - before[1], after[2] - before[2]), (20_000, 10_000, 70_000));

    // After the period, with nobody sending anything, the right is the creator's again.
    let settled_at = settled["listing"]["status"]["at_ms"].as_u64().expect("settled at");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
    std::thread::sleep(std::time::Duration::from_millis((settled_at + 6_500).saturating_sub(now)));
    let proven = dev.ok(&["verify", "agreement", &track]);
    assert!(proven["agreement"]["locked"].as_array().expect("locks").is_empty(), "{proven}");
    let shares = dev.ok(&["query", "agreement", &track]);
    assert_eq!(shares["current_shares"].as_array().expect("shares").len(), 2, "{shares}");
    dev.ok(&["--from", "listener", "tx", "agreement", "pay", "--agreement", &track, "--amount", "100000"]);
    let later: Vec<u128> = who.iter().map(|w| cny(&dev, w)).collect();
    assert_eq!((later[0] - after[0], later[1] - after[1], later[2] - after[2]), (90_000, 10_000, 0));

    // 0.01 and 1,000,000,000.07 split exactly.
    for amount in ["1", "100000000007"] {
        let before: u128 = who.iter().map(|w| cny(&dev, w)).sum();
        dev.ok(&["--from", "listener", "tx", "agreement", "pay", "--agreement", &track, "--amount", amount]);
        let after: u128 = who.iter().map(|w| cny(&dev, w)).sum();
        assert_eq!(after - before, amount.parse::<u128>().expect("amount"));
    }

    // The 2-of-3 multisig amends the legal text's hash; one signature alone does not.
    let new_legal = "22".repeat(32);
    let amend = format!(r#"{{"type":"agreement_amend","agreement":"{track}","legal_hash":"{new_legal}"}}"#);
    dev.ok(&["--from", "creator", "tx", "multisig", "propose", "--multisig", &amender, "--action", &amend]);
    assert_eq!(dev.ok(&["query", "agreement", &track])["agreement"]["legal_hash"], legal.as_str());
    let direct = dev.fails(&["--from", "creator", "tx", "send", "--action", &amend]);
    assert!(direct.contains("\"code\":245"), "{direct}");
    dev.ok(&["--from", "lawyer", "tx", "multisig", "approve", "--multisig", &amender, "--proposal", "0"]);
    assert_eq!(dev.ok(&["query", "agreement", &track])["agreement"]["legal_hash"], new_legal.as_str());
}

/// A memo encrypted to chosen accounts: the sender and the named recipient read it with
/// `query tx --decrypt`; anyone else sees only ciphertext (and the public amount and
/// parties); a public memo says so.
#[test]
fn a_private_memo_is_read_only_by_its_recipients() {
    let dev = Dev::start(&temp_home("memo"));
    for who in ["alice", "bob", "carol"] {
        dev.ok(&["keys", "add", who, "--insecure-no-passphrase"]);
    }
    dev.ok(&["--from", "alice", "tx", "asset", "create", "--symbol", "MALL", "--name", "Mall"]);
    dev.ok(&["--from", "alice", "tx", "asset", "mint", "--symbol", "MALL", "--to", "alice", "--amount", "100", "--reason", "x"]);
    let sent = dev.ok(&["--from", "alice", "tx", "transfer", "--to", "bob", "--symbol", "MALL", "--amount", "7",
        "--memo", "invoice 7, net 30", "--memo-for", "bob"]);
    let hash = sent["receipt"]["hash"].as_str().expect("hash").to_string();
    let public = dev.ok(&["query", "tx", &hash]);
    let memo = public["memo"].as_str().expect("memo");
    assert!(memo.starts_with("enc1:") && !memo.contains("invoice"), "{memo}");
    assert!(public["receipt"]["events"].to_string().contains('7'), "amounts stay public: {public}");
    for reader in ["bob", "alice"] {
        let read = dev.ok(&["--from", reader, "query", "tx", &hash, "--decrypt"]);
        assert_eq!(read["memo_text"], "invoice 7, net 30", "{reader}");
    }
    let refused = dev.fails(&["--from", "carol", "query", "tx", &hash, "--decrypt"]);
    assert!(refused.contains("not among the memo's recipients"), "{refused}");
    let plain = dev.ok(&["--from", "alice", "tx", "transfer", "--to", "bob", "--symbol", "MALL", "--amount", "1", "--memo", "hello"]);
    let plain_hash = plain["receipt"]["hash"].as_str().expect("hash").to_string();
    let refused = dev.fails(&["--from", "bob", "query", "tx", &plain_hash, "--decrypt"]);
    assert!(refused.contains("not private"), "{refused}");
    let refused = dev.fails(&["--from", "alice", "tx", "transfer", "--to", "bob", "--symbol", "MALL", "--amount", "1", "--memo-for", "bob"]);
    assert!(refused.contains("needs a --memo"), "{refused}");
}
