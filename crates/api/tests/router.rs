//! The router without sockets (`oneshot`), over a real node on a temporary home.

use accord_node::config::{Home, NodeConfig};
use accord_types::{Action, PointsAction, Transaction};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use commonware_runtime::{tokio as cw, Runner as _, Supervisor as _};
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt as _;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

async fn call(router: &axum::Router, method: &str, path: &str, body: Option<String>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[test]
fn every_request_error_is_typed_json_and_a_good_transaction_commits() {
    let dir = std::env::temp_dir().join(format!("accord-router-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let home = Home::new(&dir);
    let p2p = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let api = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    home.init_dev("router-test", api, p2p, 1).expect("home");
    let mut config: NodeConfig = Home::read_json(&home.config()).expect("config");
    config.block_interval_ms = 100;
    let runtime = cw::Config::new().with_storage_directory(home.data()).with_worker_threads(2);
    cw::Runner::new(runtime).start(|context| async move {
        let (node, _consensus) = accord_node::start(context.child("node"), &home, config).await.expect("starts");
        let router = accord_api::router(node.clone());

        assert_eq!(call(&router, "GET", "/health", None).await.0, StatusCode::OK);
        let cases = [
            ("POST", "/v1/txs", Some("{oops".to_string()), StatusCode::BAD_REQUEST, 900),
            ("POST", "/v1/txs", Some(json!({ "tx": "a".repeat(17 << 20) }).to_string()), StatusCode::PAYLOAD_TOO_LARGE, 901),
            ("POST", "/v1/txs/batch", Some(json!({ "txs": vec!["00"; 10_001] }).to_string()), StatusCode::PAYLOAD_TOO_LARGE, 902),
            ("POST", "/v1/txs", Some(json!({ "tx": "00" }).to_string()), StatusCode::UNPROCESSABLE_ENTITY, 100),
            ("GET", "/v1/txs/xyz", None, StatusCode::BAD_REQUEST, 903),
            ("GET", "/v1/accounts/acc1notanaddress", None, StatusCode::BAD_REQUEST, 903),
            ("GET", "/v1/assets/lower", None, StatusCode::BAD_REQUEST, 903),
            ("GET", "/v1/assets/NONE", None, StatusCode::NOT_FOUND, 904),
            ("GET", "/v1/proofs/zz", None, StatusCode::BAD_REQUEST, 903),
            ("GET", "/v1/blocks/999999", None, StatusCode::NOT_FOUND, 904),
            ("GET", "/no/such/thing", None, StatusCode::NOT_FOUND, 904),
        ];
        for (method, path, body, status, code) in cases {
            let (got, json) = call(&router, method, path, body).await;
            assert_eq!((got, json["code"].as_u64()), (status, Some(code)), "{method} {path}: {json}");
            assert!(json["name"].is_string() && json["message"].is_string(), "{json}");
        }
        let (_, doc) = call(&router, "GET", "/openapi.json", None).await;
        assert!(doc["paths"]["/v1/proofs/{key}"].is_object());

        let key = home.read_validator_key().expect("key");
        let signer = accord_client::keystore::address_of(&key);
        let tx = Transaction {
            chain_id: "router-test".into(),
            signer,
            nonce: 0,
            actions: vec![Action::Points(PointsAction::CreateAsset {
                symbol: "ROUTE".into(), name: "route".into(), decimals: 0,
                kind: accord_types::AssetKind::Points, max_supply: None, mint_limit_per_day: None, transferable: true, lifetime_ms: None,
            })],
            memo: String::new(),
        }
        .sign(&key);
        let (status, answer) =
            call(&router, "POST", "/v1/txs", Some(json!({ "tx": hex::encode(tx.encode()) }).to_string())).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let target = node.executed().height + 3;
        assert!(node.wait_executed(target, Duration::from_secs(30)).await, "blocks keep coming");
        let (_, status) = call(&router, "GET", &format!("/v1/txs/{}", tx.hash), None).await;
        assert_eq!(status["status"], "committed", "{status}");
        assert!(status["tx"].is_null(), "the transaction itself only on request: {status}");
        let (_, full) = call(&router, "GET", &format!("/v1/txs/{}?tx=true", tx.hash), None).await;
        assert_eq!(full["tx"], json!(hex::encode(tx.encode())), "{full}");
        let (code, bad) = call(&router, "GET", &format!("/v1/txs/{}?tx=maybe", tx.hash), None).await;
        assert_eq!((code, bad["code"].as_u64()), (StatusCode::BAD_REQUEST, Some(903)));
        // The alliance's endpoints are in the OpenAPI document, and the event stream
        // refuses cursors it cannot use.
        for path in ["/v1/routes/{from}/{to}", "/v1/clearings/{a}/{b}/{symbol}", "/v1/events"] {
            assert!(doc["paths"][path].is_object(), "{path} is documented");
        }
        let (code, bad) = call(&router, "GET", "/v1/events?cursor=1-x", None).await;
        assert_eq!((code, bad["code"].as_u64()), (StatusCode::BAD_REQUEST, Some(907)), "{bad}");
        let (_, page) = call(&router, "GET", "/v1/events?type=asset_created", None).await;
        assert_eq!(page["events"][0]["event"]["symbol"], "ROUTE", "{page}");
        let (_, asset) = call(&router, "GET", "/v1/assets/ROUTE", None).await;
        assert_eq!(asset["asset"]["issuer"], json!(signer));
    });
    let _ = std::fs::remove_dir_all(&dir);
}
