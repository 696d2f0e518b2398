//! A legacy points system bridged to Accord: the two-layer integration of `docs/bridge.md`.
//!
//! The issuer keeps its own points database (here one JSON file) and Accord side by side:
//!
//! - **Deposit** (legacy → ledger): the issuer mints on Accord with the legacy record's id
//!   as `external_ref`. The ledger accepts each reference once per asset, so a deposit
//!   retried after a crash or a timeout can never mint twice.
//! - **Withdrawal** (ledger → legacy): a holder burns units with `withdraw`, naming their
//!   legacy account. This program reads the `withdrawn` events of its asset from
//!   `GET /v1/events` and credits the legacy account. It writes the credit and the
//!   event's `next` cursor in **one atomic file replace**, so however often it is killed and
//!   restarted, every withdrawal is credited exactly once.
//!
//! ```text
//! cargo run --release --example legacy_points -- --node http://127.0.0.1:8080 --db legacy.json \
//!     follow --symbol PARK
//! cargo run --release --example legacy_points -- --node http://127.0.0.1:8080 --db legacy.json \
//!     deposit --home ~/.accord --key park --symbol PARK --to acc1… --amount 1200 --reference r1
//! ```

use accord_client::keystore::Keystore;
use accord_client::Client;
use accord_types::{Action, Address, PointsAction, Transaction};
use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser)]
struct Cli {
    /// The Accord node's API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    node: String,
    /// The legacy system's database (created if missing).
    #[arg(long)]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Credit every withdrawal of SYMBOL to its legacy account, exactly once, forever.
    Follow {
        #[arg(long)]
        symbol: String,
        /// Stop once every withdrawal so far is credited (instead of waiting for more).
        #[arg(long)]
        exit_when_caught_up: bool,
        /// Pause this long after each credit (to watch it work, or to be killed mid-stream).
        #[arg(long, default_value_t = 0)]
        slow_ms: u64,
    },
    /// Move points from the legacy system onto the ledger: mint with the record's reference.
    Deposit {
        /// The keystore of the issuer's key (`accord --home`); its passphrase is in ACCORD_PASSPHRASE.
        #[arg(long)]
        home: PathBuf,
        /// The issuer's key name.
        #[arg(long)]
        key: String,
        #[arg(long)]
        symbol: String,
        /// The holder's ledger address.
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u128,
        /// The legacy record's id; the ledger refuses it a second time.
        #[arg(long)]
        reference: String,
    },
}

/// The legacy database: balances by legacy account, what was credited, and where the
/// event stream was read up to. Always written whole, by an atomic replace.
#[derive(Default, Serialize, Deserialize)]
struct Db {
    /// Where to read the event stream from next.
    cursor: Option<String>,
    /// Balance of each legacy account.
    accounts: BTreeMap<String, String>,
    /// The event id of every withdrawal credited, in order.
    credited: Vec<String>,
}

impl Db {
    fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Db::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Write to a temporary file, flush it to disk, then rename it over the database: a
    /// crash leaves either the old or the new file, never half of one.
    fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(self)?;
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    fn credit(&mut self, account: &str, amount: u128, id: &str) -> Result<()> {
        let balance: u128 = self.accounts.get(account).map(|b| b.parse()).transpose()?.unwrap_or(0);
        let after = balance.checked_add(amount).ok_or_else(|| anyhow!("balance of {account} overflows"))?;
        self.accounts.insert(account.to_string(), after.to_string());
        self.credited.push(id.to_string());
        Ok(())
    }
}

async fn follow(client: &Client, db_path: &Path, symbol: &str, exit_when_caught_up: bool, slow_ms: u64) -> Result<()> {
    let mut db = Db::load(db_path)?;
    loop {
        let cursor = db.cursor.clone().unwrap_or_else(|| "0-0".into());
        let page: Value = client
            .get(&format!("/v1/events?type=withdrawn&symbol={symbol}&cursor={cursor}&limit=100&wait_ms=1000"))
            .await?;
        let events = page["events"].as_array().ok_or_else(|| anyhow!("unexpected page: {page}"))?;
        for item in events {
            let event = &item["event"];
            let account = event["legacy_account"].as_str().ok_or_else(|| anyhow!("no legacy account in {item}"))?;
            let amount: u128 = event["amount"].as_str().ok_or_else(|| anyhow!("no amount in {item}"))?.parse()?;
            let id = item["id"].as_str().ok_or_else(|| anyhow!("no id in {item}"))?;
            db.credit(account, amount, id)?;
            db.cursor = item["next"].as_str().map(str::to_string);
            db.save(db_path)?;
            println!("credited {amount} {symbol} to {account} (event {id})");
            if slow_ms > 0 {
                tokio::time::sleep(Duration::from_millis(slow_ms)).await;
            }
        }
        let next = page["next"].as_str().map(str::to_string);
        if next != db.cursor {
            db.cursor = next;
            db.save(db_path)?;
        }
        if exit_when_caught_up && events.is_empty() && page["caught_up"] == true {
            println!("caught up at {}", db.cursor.as_deref().unwrap_or("0-0"));
            return Ok(());
        }
    }
}

async fn deposit(client: &Client, home: &Path, key: &str, symbol: String, to: &str, amount: u128, reference: String) -> Result<()> {
    let store = Keystore::open(home);
    let info = store.show(key).map_err(|e| anyhow!("{e}"))?;
    let passphrase = if info.insecure { String::new() } else { std::env::var("ACCORD_PASSPHRASE").unwrap_or_default() };
    let signing_key = store.unlock(key, &passphrase).map_err(|e| anyhow!("{e}"))?;
    let to: Address = to.parse().map_err(|e| anyhow!("--to: {e}"))?;
    let status = client.status().await?;
    let chain_id = status["chain_id"].as_str().ok_or_else(|| anyhow!("the node did not say its chain id"))?;
    let nonce = client.account(&info.address).await?["next_nonce"]
        .as_u64()
        .ok_or_else(|| anyhow!("the node did not say the next nonce"))?;
    let mint = PointsAction::Mint { symbol, to, amount, reason: "deposit from the legacy system".into(), external_ref: Some(reference) };
    let tx = Transaction { chain_id: chain_id.into(), signer: info.address, nonce, actions: vec![Action::Points(mint)], memo: String::new() }
        .sign(&signing_key);
    let hash = client.submit(&tx).await?;
    let result = client.wait(&hash, Duration::from_secs(60)).await?;
    println!("{result}");
    if result["status"] != "committed" {
        return Err(anyhow!("deposit refused: {}", result["error"]));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let client = Client::new(&cli.node);
    match cli.command {
        Command::Follow { symbol, exit_when_caught_up, slow_ms } => {
            follow(&client, &cli.db, &symbol, exit_when_caught_up, slow_ms).await
        }
        Command::Deposit { home, key, symbol, to, amount, reference } => {
            deposit(&client, &home, &key, symbol, &to, amount, reference).await
        }
    }
}
