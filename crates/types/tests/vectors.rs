//! The test vectors of `docs/encoding.md`: a third party can check these bytes by hand.

use accord_types::{Action, Address, PointsAction, SignedTx, Transaction};
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{ed25519, Signer};

/// The private key of the vectors: 32 bytes 0x01, 0x02, ..., 0x20.
fn key() -> ed25519::PrivateKey {
    let raw: Vec<u8> = (1..=32).collect();
    ed25519::PrivateKey::decode(commonware_codec::Copying(raw.as_slice())).expect("a private key")
}

fn vector() -> Transaction {
    let key = key();
    Transaction {
        chain_id: "accord-dev".into(),
        signer: Address(key.public_key().encode().as_ref().try_into().expect("32 bytes")),
        nonce: 7,
        actions: vec![Action::Points(PointsAction::Transfer { symbol: "PARK".into(), to: Address([0xab; 32]), amount: 1_000 })],
        memo: "hi".into(),
    }
}

fn doc_value(name: &str) -> String {
    let doc = include_str!("../../../docs/encoding.md");
    let line = doc.lines().find(|l| l.starts_with(&format!("{name}: "))).unwrap_or_else(|| panic!("{name} in the doc"));
    line[name.len() + 2..].trim().trim_matches('`').to_string()
}

#[test]
fn the_documented_vectors_are_what_the_code_produces() {
    let tx = vector();
    let signed = tx.clone().sign(&key());
    assert_eq!(hex::encode(tx.encode()), doc_value("body"));
    assert_eq!(signed.hash.to_string(), doc_value("hash"));
    assert_eq!(hex::encode(signed.signature), doc_value("signature"));
    assert_eq!(tx.signer.to_string(), doc_value("signer"));
    let decoded = SignedTx::decode(&hex::decode(doc_value("signed")).expect("hex")).expect("decodes");
    assert_eq!(decoded, signed);
    assert!(decoded.verify_signature());
}

#[test]
#[ignore = "prints the vectors for the doc"]
fn print_vectors() {
    let tx = vector();
    let signed = tx.clone().sign(&key());
    println!("body: {}\nhash: {}\nsignature: {}\nsigner: {}\nsigned: {}",
        hex::encode(tx.encode()), signed.hash, hex::encode(signed.signature), tx.signer, hex::encode(signed.encode()));
}
