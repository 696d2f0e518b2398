//! The points alliance end to end: the real `accord dev` binary, the real CLI, and the
//! legacy-system example (`examples/legacy_points.rs`) as a separate process that is
//! killed mid-stream.

mod common;

use common::{temp_home, Dev};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The example binary `cargo test` builds next to the test binaries.
fn legacy_points() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target directory");
    let path = dir.join("examples").join(format!("legacy_points{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing: build it with `cargo build --release --examples`", path.display());
    path
}

fn legacy(dev: &Dev, db: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(legacy_points());
    command.args(["--node", &dev.url(), "--db", db.to_str().expect("utf-8 path")]).args(args);
    command.env("ACCORD_PASSPHRASE", "test passphrase");
    command
}

fn get(dev: &Dev, path: &str) -> (u16, Value) {
    let r = reqwest::blocking::get(format!("{}{path}", dev.url())).expect("reachable");
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn balance(dev: &Dev, who: &str, symbol: &str) -> u128 {
    let account = dev.ok(&["query", "account", who]);
    account["balances"]["balances"][symbol].as_str().map_or(0, |b| b.parse().expect("amount"))
}

fn fails_with(dev: &Dev, args: &[&str], code: u16) {
    let out = dev.fails(args);
    assert!(out.contains(&format!("\"code\":{code}")), "{args:?} -> {out}");
}

/// Poll `check` until it returns something, for up to `secs` seconds.
fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn parking_and_mall_points_convert_clear_and_bridge_to_a_legacy_system() {
    let dev = Dev::start(&temp_home("alliance"));
    let key = |name: &str| dev.ok(&["keys", "add", name])["address"].as_str().expect("address").to_string();
    let (park, mall, driver) = (key("park"), key("mall"), key("driver"));
    key("bank");
    key("shopper");
    dev.ok(&["--from", "bank", "tx", "asset", "create", "--symbol", "CNY", "--name", "Yuan", "--decimals", "2", "--kind", "currency"]);
    dev.ok(&["--from", "park", "tx", "asset", "create", "--symbol", "PARK", "--name", "Parking points", "--max-supply", "1000000"]);
    dev.ok(&["--from", "mall", "tx", "asset", "create", "--symbol", "MALL", "--name", "Mall points", "--max-supply", "10000000"]);

    // The parking lot's legacy system deposits the driver's 1,200 PARK: r1 and r2 once each.
    let db = dev.home.join("legacy.json");
    let deposit = |amount: &str, reference: &str| {
        legacy(&dev, &db, &["deposit", "--home", dev.home.to_str().expect("utf-8"), "--key", "park", "--symbol", "PARK",
            "--to", &driver, "--amount", amount, "--reference", reference])
        .output()
        .expect("runs")
    };
    assert!(deposit("1000", "r1").status.success());
    assert!(deposit("200", "r2").status.success());
    let again = deposit("1000", "r1");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("external_ref_used"), "{again:?}");
    assert_eq!(balance(&dev, "driver", "PARK"), 1_200);

    // PARK → MALL at 1:10, 1 % fee, 50,000 PARK a day; P owes M 1 fen per PARK converted,
    // netted every 2 seconds.
    let route = ["--rate", "10", "--fee-ppm", "10000", "--daily-limit", "50000", "--settle-in", "CNY",
        "--settle-price", "1", "--clearing-period", "2s"];
    fails_with(&dev, &["--from", "driver", "tx", "route", "propose", "PARK", "MALL", route[0], route[1], "--settle-in", "CNY", "--settle-price", "1"], 271);
    dev.ok(&[&["--from", "park", "tx", "route", "propose", "PARK", "MALL"][..], &route[..]].concat());
    fails_with(&dev, &["--from", "driver", "tx", "convert", "PARK", "MALL", "--amount", "10"], 274);
    fails_with(&dev, &["--from", "park", "tx", "route", "accept", "PARK", "MALL"], 272);
    dev.ok(&["--from", "mall", "tx", "route", "accept", "PARK", "MALL"]);
    let converted = dev.ok(&["--from", "driver", "tx", "convert", "PARK", "MALL", "--amount", "1000"]);
    assert_eq!((balance(&dev, "driver", "PARK"), balance(&dev, "driver", "MALL")), (200, 9_900), "{converted}");
    let event = converted["receipt"]["events"].as_array().expect("events").iter().find(|e| e["type"] == "converted").expect("converted").clone();
    assert_eq!((event["debtor"].as_str(), event["creditor"].as_str(), event["owed"].as_str()), (Some(&*park), Some(&*mall), Some("1000")));
    let route_now = dev.ok(&["query", "route", "PARK", "MALL"]);
    assert_eq!((route_now["active"].as_bool(), route_now["route"]["converted_total"].as_str()), (Some(true), Some("1000")));

    // Over the day's limit: refused, nothing moves.
    dev.ok(&["--from", "park", "tx", "asset", "mint", "--symbol", "PARK", "--to", "driver", "--amount", "60000", "--reason", "season pass"]);
    fails_with(&dev, &["--from", "driver", "tx", "convert", "PARK", "MALL", "--amount", "49001"], 276);
    assert_eq!(balance(&dev, "driver", "PARK"), 60_200);
    // Suspended by either issuer: refused until resumed.
    dev.ok(&["--from", "mall", "tx", "route", "suspend", "PARK", "MALL"]);
    fails_with(&dev, &["--from", "driver", "tx", "convert", "PARK", "MALL", "--amount", "1"], 274);
    fails_with(&dev, &["--from", "park", "tx", "route", "resume", "PARK", "MALL"], 280);
    dev.ok(&["--from", "mall", "tx", "route", "resume", "PARK", "MALL"]);

    // The other way: MALL → PARK at 10:1, no fee, M owes P 1 fen per 10 MALL.
    dev.ok(&["--from", "mall", "tx", "route", "propose", "MALL", "PARK", "--rate", "1/10", "--settle-in", "CNY",
        "--settle-price", "1/10", "--clearing-period", "2s"]);
    dev.ok(&["--from", "park", "tx", "route", "accept", "MALL", "PARK"]);
    dev.ok(&["--from", "mall", "tx", "asset", "mint", "--symbol", "MALL", "--to", "shopper", "--amount", "4000", "--reason", "purchase"]);
    dev.ok(&["--from", "shopper", "tx", "convert", "MALL", "PARK", "--amount", "4000"]);
    assert_eq!(balance(&dev, "shopper", "PARK"), 400);

    // Clearing nets both directions once their periods close: P owes M 1,000 − 400 = 600.
    let clearing = format!("/v1/clearings/{park}/{mall}/CNY");
    let net = eventually(30, "the periods to close", || {
        let (_, c) = get(&dev, &clearing);
        let open_done = c["open"]["owed"].as_array().is_some_and(|o| o.iter().all(|x| x["amount"] == "0"));
        (open_done && !c["net"].is_null()).then(|| c["net"].clone())
    });
    assert_eq!((net["debtor"].as_str(), net["creditor"].as_str(), net["amount"].as_str()), (Some(&*park), Some(&*mall), Some("600")));
    fails_with(&dev, &["--from", "mall", "tx", "clearing", "settle", "--with", "park", "--symbol", "CNY", "--amount", "600"], 282);
    fails_with(&dev, &["--from", "park", "tx", "clearing", "settle", "--with", "mall", "--symbol", "CNY", "--amount", "599"], 283);
    fails_with(&dev, &["--from", "park", "tx", "clearing", "settle", "--with", "mall", "--symbol", "CNY"], 216);
    dev.ok(&["--from", "bank", "tx", "asset", "mint", "--symbol", "CNY", "--to", "park", "--amount", "1000", "--reason", "float"]);
    dev.ok(&["--from", "park", "tx", "clearing", "settle", "--with", "mall", "--symbol", "CNY"]);
    assert_eq!((balance(&dev, "park", "CNY"), balance(&dev, "mall", "CNY")), (400, 600));
    let settled = dev.ok(&["query", "clearing", "park", "mall", "CNY"]);
    assert!(settled["net"].is_null() && settled["positions"].as_array().is_some_and(Vec::is_empty), "{settled}");
    assert_eq!(settled["clearing"]["settled_total"], "600");

    // Withdrawals to the legacy system, read from the event stream by a process that is
    // killed mid-stream and restarted: each is credited exactly once.
    let mut expected: u128 = 0;
    for i in 0..12u128 {
        let (who, account) = if i % 3 == 2 { ("shopper", "card-9") } else { ("driver", "card-7") };
        let amount = 10 + i;
        dev.ok(&["--from", who, "tx", "withdraw", "--symbol", "PARK", "--amount", &amount.to_string(), "--legacy-account", account]);
        expected += amount;
    }
    let mut follower = legacy(&dev, &db, &["follow", "--symbol", "PARK", "--slow-ms", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(follower.stdout.take().expect("stdout")).lines();
    for _ in 0..4 {
        let line = lines.next().expect("a line").expect("text");
        assert!(line.starts_with("credited"), "{line}");
    }
    follower.kill().expect("killed");
    follower.wait().expect("reaped");
    let finished = legacy(&dev, &db, &["follow", "--symbol", "PARK", "--exit-when-caught-up"]).output().expect("runs");
    assert!(finished.status.success(), "{finished:?}");
    let ledger: Value = serde_json::from_slice(&std::fs::read(&db).expect("db")).expect("json");
    let credited: Vec<&str> = ledger["credited"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    let mut unique = credited.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!((credited.len(), unique.len()), (12, 12), "every withdrawal once: {credited:?}");
    let amount = |account: &str| ledger["accounts"][account].as_str().map_or(0, |a| a.parse::<u128>().expect("amount"));
    assert_eq!(amount("card-7") + amount("card-9"), expected);
    assert_eq!(amount("card-9"), 12 + 15 + 18 + 21);

    // The same stream as Server-Sent Events: `id:` is the cursor after each event.
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/v1/events?type=withdrawn&symbol=PARK", dev.url()))
        .header("accept", "text/event-stream")
        .send()
        .expect("reachable");
    let mut seen = Vec::new();
    for line in BufReader::new(response).lines() {
        let line = line.expect("text");
        if let Some(id) = line.strip_prefix("id: ") {
            seen.push(id.to_string());
            if seen.len() == 3 {
                break;
            }
        }
    }
    let (_, page) = get(&dev, "/v1/events?type=withdrawn&symbol=PARK&limit=3");
    let nexts: Vec<&str> = page["events"].as_array().expect("events").iter().filter_map(|e| e["next"].as_str()).collect();
    assert_eq!(seen, nexts);

    // Points with a lifetime expire by themselves, oldest lot first. (A 30-day lifetime is
    // the module tests' business; here 4 seconds, on the real clock.)
    dev.ok(&["--from", "mall", "tx", "asset", "create", "--symbol", "STAMP", "--name", "Stamps", "--lifetime", "4s"]);
    let mint_stamps = |amount: &str| dev.ok(&["--from", "mall", "tx", "asset", "mint", "--symbol", "STAMP", "--to", "shopper", "--amount", amount, "--reason", "visit"]);
    mint_stamps("5");
    std::thread::sleep(Duration::from_millis(1_500));
    mint_stamps("7");
    let lots = dev.ok(&["query", "account", "shopper"])["balances"]["lots"]["STAMP"]["lots"].clone();
    assert_eq!(lots.as_array().map(Vec::len), Some(2), "{lots}");
    fails_with(&dev, &["--from", "shopper", "tx", "transfer", "--to", "driver", "--symbol", "STAMP", "--amount", "1"], 217);
    eventually(15, "the first lot to expire", || (balance(&dev, "shopper", "STAMP") == 7).then_some(()));
    let asset = dev.ok(&["query", "asset", "STAMP"]);
    assert_eq!((asset["expired"].as_str(), asset["circulating"].as_str()), (Some("5"), Some("7")));
    eventually(15, "the second lot to expire", || (balance(&dev, "shopper", "STAMP") == 0).then_some(()));
    let (_, page) = get(&dev, "/v1/events?type=expired&symbol=STAMP");
    let amounts: Vec<&str> = page["events"].as_array().expect("events").iter().filter_map(|e| e["event"]["amount"].as_str()).collect();
    assert_eq!(amounts, ["5", "7"], "in order, each in a block of its own: {page}");

    // Bad cursors are typed errors.
    for (cursor, code) in [("garbage", 907), ("12", 907), ("-1-0", 907), ("99999999-0", 908)] {
        let (status, body) = get(&dev, &format!("/v1/events?cursor={cursor}"));
        assert_eq!((status, body["code"].as_u64()), (400, Some(code)), "{cursor}: {body}");
    }
}
