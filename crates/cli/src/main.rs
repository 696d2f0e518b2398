//! `accord`: run a node, manage keys, send transactions, query, verify and benchmark.

mod bench;
mod run;
mod tx;
mod validators;

use accord_client::keystore::Keystore;
use accord_client::Client;
use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "accord", version, about = "A ledger several organizations keep together")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes.
#[derive(Args, Clone)]
pub struct Global {
    /// Home directory: node data, genesis and keys.
    #[arg(long, global = true, env = "ACCORD_HOME")]
    pub home: Option<PathBuf>,
    /// The node's API (default: the home's configured API address, else http://127.0.0.1:8080).
    #[arg(long, global = true, env = "ACCORD_NODE")]
    pub node: Option<String>,
    /// The key that signs.
    #[arg(long, global = true)]
    pub from: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Global {
    pub fn home(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(|| {
            let base = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
            base.join(".accord").join("dev")
        })
    }

    pub fn client(&self) -> Client {
        if let Some(url) = &self.node {
            return Client::new(url);
        }
        let home = accord_node::config::Home::new(self.home());
        match accord_node::config::Home::read_json::<accord_node::config::NodeConfig>(&home.config()) {
            Ok(c) => Client::new(&format!("http://{}", c.api_address)),
            Err(_) => Client::new("http://127.0.0.1:8080"),
        }
    }

    pub fn keystore(&self) -> Keystore {
        Keystore::open(&self.home())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the embedded single-validator chain (creates the home on first run).
    Dev(run::DevArgs),
    /// Run a node from an existing home.
    Node(run::NodeArgs),
    /// Set up a network of validators on this machine.
    #[command(subcommand)]
    Testnet(TestnetCommand),
    /// Set up a follower: a node that receives, checks and executes every final block and
    /// serves the API, without voting.
    #[command(subcommand)]
    Follower(FollowerCommand),
    /// Manage keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Build, sign and submit a transaction.
    #[command(subcommand)]
    Tx(tx::TxCommand),
    /// Read from the node.
    #[command(subcommand)]
    Query(QueryCommand),
    /// Check an answer without trusting the node.
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// The validator set per epoch; approve a new one (as a validator).
    #[command(subcommand)]
    Validators(validators::ValidatorsCommand),
    /// Measure the node.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Subcommand)]
enum TestnetCommand {
    /// Write keys, one genesis and one config per validator into DIR/node0, DIR/node1, …
    /// (and per follower into DIR/follower0, …); then run each with
    /// `accord --home DIR/nodeK node` (a follower: `accord --home DIR/followerK node`).
    Init {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Non-voting nodes that receive, check and execute every final block and serve the
        /// API (what an auditor or a Web2 system runs next to its own software).
        #[arg(long, default_value_t = 0)]
        followers: usize,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "accord-testnet")]
        chain_id: String,
        /// Ports from here up: node K gets API base+2K and p2p base+2K+1 (default: free
        /// ports picked now).
        #[arg(long)]
        base_port: Option<u16>,
        /// Blocks per epoch: a validator set the validators approve takes effect at the
        /// first block of an epoch (at least 16).
        #[arg(long, default_value_t = accord_node::config::EPOCH_LENGTH_DEFAULT)]
        epoch_length: u64,
    },
}

#[derive(Subcommand)]
enum FollowerCommand {
    /// Create the follower's home (at --home) for the chain of GENESIS; prints the entry to
    /// add to `followers` in every validator's node.json (then restart them one at a time).
    Init {
        /// The chain's genesis.json.
        genesis: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        api: std::net::SocketAddr,
        #[arg(long, default_value = "127.0.0.1:26656")]
        p2p: std::net::SocketAddr,
    },
}

fn follower(global: &Global, command: FollowerCommand) -> Result<()> {
    let FollowerCommand::Init { genesis, api, p2p } = command;
    let genesis: accord_node::config::Genesis = accord_node::config::Home::read_json(&genesis)?;
    let home = accord_node::config::Home::new(global.home());
    let entry = home.init_follower(&genesis, api, p2p)?;
    print(global, &json!({ "home": global.home(), "chain_id": genesis.chain_id, "follower": entry }));
    Ok(())
}

fn testnet(global: &Global, command: TestnetCommand) -> Result<()> {
    let TestnetCommand::Init { validators, followers, out, chain_id, base_port, epoch_length } = command;
    if validators == 0 {
        return Err(anyhow!("--validators must be at least 1"));
    }
    let all = validators + followers;
    let ports: Vec<(u16, u16)> = match base_port {
        Some(base) => (0..all)
            .map(|k| {
                let api = u16::try_from(usize::from(base) + 2 * k).map_err(|_| anyhow!("--base-port too high for {all} nodes"))?;
                Ok((api, api.checked_add(1).ok_or_else(|| anyhow!("--base-port too high"))?))
            })
            .collect::<Result<_>>()?,
        None => {
            // Hold every listener until all are picked, so no port is handed out twice.
            let listeners = (0..2 * all)
                .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
                .collect::<std::io::Result<Vec<_>>>()?;
            let picked: Vec<u16> = listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect::<std::io::Result<_>>()?;
            picked.chunks(2).map(|c| (c[0], c[1])).collect()
        }
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
    let homes = accord_node::config::Home::init_testnet(&out, &chain_id, &ports, validators, now, epoch_length)?;
    let mut nodes: Vec<Value> = homes
        .iter()
        .zip(&ports)
        .map(|(h, (api, p2p))| json!({ "home": h, "api": format!("http://127.0.0.1:{api}"), "p2p": format!("127.0.0.1:{p2p}") }))
        .collect();
    let followers: Vec<Value> = nodes.split_off(validators);
    print(global, &json!({ "chain_id": chain_id, "validators": validators, "nodes": nodes, "followers": followers }));
    Ok(())
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a new key, encrypted with ACCORD_PASSPHRASE (or prompted).
    Add {
        name: String,
        /// Store with an empty passphrase. For tests only.
        #[arg(long)]
        insecure_no_passphrase: bool,
    },
    List,
    Show { name: String },
}

#[derive(Subcommand)]
enum QueryCommand {
    /// Nonce and balances of an address (or key name).
    Account { who: String },
    /// An asset's definition and figures.
    Asset {
        symbol: String,
        /// Also list the issuance history.
        #[arg(long)]
        history: bool,
    },
    /// A transaction's status (and, once in a block, its memo).
    Tx {
        hash: String,
        /// Open the private memo with the --from key (it must be one of its recipients).
        #[arg(long)]
        decrypt: bool,
    },
    /// An agreement: parties, signatures, current share holders.
    Agreement { address: String },
    /// A sale or an auction: item, terms, highest bid, status.
    #[command(visible_alias = "auction", visible_alias = "sale")]
    Listing { address: String },
    /// A multisig account, or one of its proposals.
    Multisig {
        who: String,
        #[arg(long)]
        proposal: Option<u64>,
    },
    /// An exchange route: issuers, terms (accepted and proposed), suspensions, totals.
    Route { from_asset: String, to_asset: String },
    /// What two issuers owe each other in a settlement asset: open period, net positions.
    Clearing {
        /// One issuer (address or key name).
        a: String,
        /// The other issuer.
        b: String,
        /// The settlement asset.
        symbol: String,
    },
    /// One page of events of final blocks, from a cursor (see `GET /v1/events`).
    Events {
        /// Where to read from: a `next` of an earlier page (default: the first block).
        #[arg(long)]
        cursor: Option<String>,
        /// Only events of this type, e.g. withdrawn.
        #[arg(long = "type")]
        kind: Option<String>,
        /// Only events about this asset.
        #[arg(long)]
        symbol: Option<String>,
        /// Only events naming this account (address or key name).
        #[arg(long)]
        account: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Wait up to this long (ms) for an event if there is none yet.
        #[arg(long, default_value_t = 0)]
        wait_ms: u64,
    },
    /// A block (default: the latest).
    Block { height: Option<u64> },
    /// The node's status.
    Status,
}

#[derive(Subcommand)]
enum VerifyCommand {
    /// Verify a balance with a Merkle proof and a finality certificate.
    Balance {
        who: String,
        symbol: String,
        /// The genesis file to trust (default: the home's genesis.json).
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Verify an agreement's stored record (parties, shares, locks) the same way.
    Agreement {
        address: String,
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Verify a sale's or an auction's stored record the same way.
    #[command(visible_alias = "auction")]
    Listing {
        address: String,
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Verify the validator set of an epoch (default: the node's current one) by following
    /// the chain of sets from the genesis: each set proven in state and finalized by the
    /// set before it.
    Validators {
        #[arg(long)]
        epoch: Option<u64>,
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
}

/// Print `value` as JSON or as readable lines.
pub fn print(global: &Global, value: &Value) {
    if global.json {
        println!("{value}");
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => println!("{k}: {s}"),
                    other => println!("{k}: {other}"),
                }
            }
        }
        other => println!("{other}"),
    }
}

pub fn passphrase() -> Result<String> {
    match std::env::var("ACCORD_PASSPHRASE") {
        Ok(p) => Ok(p),
        Err(_) => {
            eprint!("passphrase: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            Ok(line.trim_end_matches(['\r', '\n']).to_string())
        }
    }
}

/// An address, or the name of a key in the keystore.
/// The private memo of a transaction in a block, opened with the --from key. The memo is
/// taken from the signed transaction the node returned, after checking that it hashes to
/// `hash` (a node cannot substitute another memo).
fn decrypt_memo(global: &Global, hash: &accord_types::TxHash, status: &Value) -> Result<String> {
    let raw = status["tx"].as_str().ok_or_else(|| anyhow!("transaction {hash} is not in a block yet ({})", status["status"]))?;
    let bytes = hex::decode(raw).map_err(|_| anyhow!("the node returned a transaction that is not hex"))?;
    let tx = accord_types::SignedTx::decode(&bytes).map_err(|e| anyhow!("the node returned a transaction that does not decode: {e}"))?;
    if tx.hash != *hash {
        return Err(anyhow!("the node returned another transaction than {hash}"));
    }
    if !accord_client::memo::is_sealed(&tx.tx.memo) {
        return Err(anyhow!("the memo of {hash} is not private (it is public text: {:?})", tx.tx.memo));
    }
    let from = global.from.clone().ok_or_else(|| anyhow!("--from KEYNAME names the key to decrypt with"))?;
    let store = global.keystore();
    let info = store.show(&from).map_err(|e| anyhow!("{e}"))?;
    let pass = if info.insecure { String::new() } else { passphrase()? };
    let key = store.unlock(&from, &pass).map_err(|e| anyhow!("{e}"))?;
    accord_client::memo::open(&tx.tx.memo, &key).map_err(|e| anyhow!("{e}"))
}

/// Percent-encode a query parameter value.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn resolve_address(global: &Global, who: &str) -> Result<accord_types::Address> {
    if who.starts_with("acc1") {
        return who.parse().map_err(|e| anyhow!("{who}: {e}"));
    }
    Ok(global.keystore().show(who).map_err(|e| anyhow!("{e}"))?.address)
}

fn keys(global: &Global, command: KeysCommand) -> Result<()> {
    let store = global.keystore();
    let value = match command {
        KeysCommand::Add { name, insecure_no_passphrase } => {
            let pass = if insecure_no_passphrase { String::new() } else { passphrase()? };
            json!(store.generate(&name, &pass, insecure_no_passphrase).map_err(|e| anyhow!("{e}"))?)
        }
        KeysCommand::List => json!({ "keys": store.list().map_err(|e| anyhow!("{e}"))? }),
        KeysCommand::Show { name } => json!(store.show(&name).map_err(|e| anyhow!("{e}"))?),
    };
    print(global, &value);
    Ok(())
}

async fn query(global: &Global, command: QueryCommand) -> Result<()> {
    let client = global.client();
    let value: Value = match command {
        QueryCommand::Account { who } => client.account(&resolve_address(global, &who)?).await?,
        QueryCommand::Asset { symbol, history } => {
            let mut v: Value = client.get(&format!("/v1/assets/{symbol}")).await?;
            if history {
                v["history"] = client.get(&format!("/v1/assets/{symbol}/history?limit=1000")).await?;
            }
            v
        }
        QueryCommand::Tx { hash, decrypt } => {
            let hash: accord_types::TxHash = hash.parse().map_err(|_| anyhow!("a tx hash is 64 hex characters"))?;
            let mut status = client.tx_with_body(&hash).await?;
            if decrypt {
                status["memo_text"] = json!(decrypt_memo(global, &hash, &status)?);
            }
            status
        }
        QueryCommand::Agreement { address } => {
            client.get(&format!("/v1/agreements/{}", resolve_address(global, &address)?)).await?
        }
        QueryCommand::Listing { address } => {
            client.get(&format!("/v1/listings/{}", resolve_address(global, &address)?)).await?
        }
        QueryCommand::Multisig { who, proposal } => {
            let address = resolve_address(global, &who)?;
            match proposal {
                Some(id) => client.get(&format!("/v1/multisig/{address}/proposals/{id}")).await?,
                None => client.get(&format!("/v1/multisig/{address}")).await?,
            }
        }
        QueryCommand::Route { from_asset, to_asset } => client.get(&format!("/v1/routes/{from_asset}/{to_asset}")).await?,
        QueryCommand::Clearing { a, b, symbol } => {
            let (a, b) = (resolve_address(global, &a)?, resolve_address(global, &b)?);
            client.get(&format!("/v1/clearings/{a}/{b}/{symbol}")).await?
        }
        QueryCommand::Events { cursor, kind, symbol, account, limit, wait_ms } => {
            let mut path = format!("/v1/events?limit={limit}&wait_ms={wait_ms}");
            let account = account.map(|a| resolve_address(global, &a)).transpose()?.map(|a| a.to_string());
            for (name, value) in [("cursor", cursor), ("type", kind), ("symbol", symbol), ("account", account)] {
                if let Some(v) = value {
                    path.push_str(&format!("&{name}={}", url_encode(&v)));
                }
            }
            client.get(&path).await?
        }
        QueryCommand::Block { height } => match height {
            Some(h) => client.get(&format!("/v1/blocks/{h}")).await?,
            None => client.get("/v1/blocks/latest").await?,
        },
        QueryCommand::Status => client.status().await?,
    };
    print(global, &value);
    Ok(())
}

/// A proven record as JSON under `name`, with the height and root that vouch for it.
fn proven_record<T: serde::Serialize>(
    address: accord_types::Address,
    name: &str,
    proven: accord_client::verify::Proven,
    decode: impl Fn(&[u8]) -> Result<T, accord_types::DecodeError>,
) -> Result<Value> {
    let record = proven.value.as_deref().map(decode).transpose().map_err(|e| anyhow!("the proven {name} does not decode: {e}"))?;
    Ok(json!({ "address": address, name: record, "height": proven.height,
        "certified_height": proven.certified_height, "state_root": proven.state_root }))
}

async fn verify(global: &Global, command: VerifyCommand) -> Result<()> {
    let trust = |genesis: Option<PathBuf>| -> Result<accord_client::verify::Trust> {
        let path = genesis.unwrap_or_else(|| accord_node::config::Home::new(global.home()).genesis());
        let genesis: accord_node::config::Genesis =
            accord_node::config::Home::read_json(&path).context("reading the trusted genesis")?;
        let validators = genesis.validate()?;
        Ok(accord_client::verify::Trust { chain_id: genesis.chain_id, validators, epoch_length: genesis.epoch_length })
    };
    let client = global.client();
    let value = match command {
        VerifyCommand::Balance { who, symbol, genesis } => {
            let address = resolve_address(global, &who)?;
            json!(accord_client::verify::balance(&client, &trust(genesis)?, &address, &symbol).await?)
        }
        VerifyCommand::Agreement { address, genesis } => {
            let address = resolve_address(global, &address)?;
            let key = accord_agreements::state::agreement_key(&address);
            let proven = accord_client::verify::state(&client, &trust(genesis)?, &key).await?;
            proven_record(address, "agreement", proven, accord_agreements::AgreementRecord::decode)?
        }
        VerifyCommand::Listing { address, genesis } => {
            let address = resolve_address(global, &address)?;
            let key = accord_market::state::listing_key(&address);
            let proven = accord_client::verify::state(&client, &trust(genesis)?, &key).await?;
            proven_record(address, "listing", proven, accord_market::Listing::decode)?
        }
        VerifyCommand::Validators { epoch, genesis } => {
            let epoch = match epoch {
                Some(e) => e,
                None => client.status().await?["epoch"].as_u64().ok_or_else(|| anyhow!("the node did not say its epoch"))?,
            };
            let set = accord_client::verify::validator_set(&client, &trust(genesis)?, epoch).await?;
            let keys: Vec<String> = set.iter().map(accord_node::config::public_key_hex).collect();
            json!({ "epoch": epoch, "validators": keys, "verified": true })
        }
    };
    print(global, &value);
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let global = cli.global.clone();
    let result = match cli.command {
        Command::Dev(args) => run::dev(&global, args),
        Command::Node(args) => run::node(&global, args),
        Command::Keys(c) => keys(&global, c),
        Command::Testnet(c) => testnet(&global, c),
        Command::Follower(c) => follower(&global, c),
        command => tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(anyhow::Error::from).and_then(
            |rt| {
                rt.block_on(async {
                    match command {
                        Command::Tx(c) => tx::run(&global, c).await,
                        Command::Query(c) => query(&global, c).await,
                        Command::Verify(c) => verify(&global, c).await,
                        Command::Validators(c) => validators::run(&global, c).await,
                        Command::Bench(c) => bench::run(&global, c).await,
                        _ => Ok(()),
                    }
                })
            },
        ),
    };
    if let Err(e) = result {
        if global.json {
            match e.downcast_ref::<accord_client::Error>() {
                Some(accord_client::Error::Api(info)) => println!("{}", json!({ "error": info })),
                _ => println!("{}", json!({ "error": { "message": format!("{e:#}") } })),
            }
        } else {
            eprintln!("error: {e:#}");
        }
        std::process::exit(1);
    }
}
