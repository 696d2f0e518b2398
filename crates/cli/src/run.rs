//! `accord dev` and `accord node`: run a validator with its HTTP API.

use crate::Global;
use accord_node::config::{Home, NodeConfig};
use anyhow::{anyhow, Result};
use clap::Args;
use commonware_runtime::{Runner as _, Spawner as _, Supervisor as _};
use std::net::SocketAddr;

#[derive(Args)]
pub struct DevArgs {
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub api: SocketAddr,
    /// Where p2p listens.
    #[arg(long, default_value = "127.0.0.1:26656")]
    pub p2p: SocketAddr,
    /// Chain id of a new dev chain.
    #[arg(long, default_value = "accord-dev")]
    pub chain_id: String,
    /// How long the proposer waits for a first transaction before an empty block, in ms.
    #[arg(long)]
    pub block_interval_ms: Option<u64>,
}

#[derive(Args)]
pub struct NodeArgs {}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACCORD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,accord=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub fn dev(global: &Global, args: DevArgs) -> Result<()> {
    let home = Home::new(global.home());
    if !home.genesis().exists() {
        home.init_dev(&args.chain_id, args.api, args.p2p, now_ms())?;
        eprintln!("created a single-validator chain `{}` in {}", args.chain_id, home.dir.display());
    }
    let mut config: NodeConfig = Home::read_json(&home.config())?;
    config.api_address = args.api;
    config.p2p_address = args.p2p;
    if let Some(ms) = args.block_interval_ms {
        config.block_interval_ms = ms;
    }
    Home::write_json(&home.config(), &config)?;
    serve(home, config)
}

pub fn node(global: &Global, _args: NodeArgs) -> Result<()> {
    let home = Home::new(global.home());
    let config: NodeConfig = Home::read_json(&home.config())?;
    serve(home, config)
}

fn serve(home: Home, config: NodeConfig) -> Result<()> {
    logs();
    if config.block_interval_ms * 2 >= config.leader_timeout_ms {
        return Err(anyhow!("block_interval_ms must be below half of leader_timeout_ms in {}", home.config().display()));
    }
    let listener = std::net::TcpListener::bind(config.api_address)
        .map_err(|e| anyhow!("cannot listen on {} for the API: {e}", config.api_address))?;
    listener.set_nonblocking(true)?;
    // Bind p2p once here too, so a taken port is a clear error rather than a failure deep
    // inside the network task.
    drop(std::net::TcpListener::bind(config.p2p_address).map_err(|e| {
        anyhow!("cannot listen on {} for p2p: {e} (change p2p_address in {})", config.p2p_address, home.config().display())
    })?);
    let runtime = commonware_runtime::tokio::Config::new()
        .with_storage_directory(home.data())
        .with_worker_threads(2);
    let result: Result<()> = commonware_runtime::tokio::Runner::new(runtime).start(|context| async move {
        let (node, consensus) = accord_node::start(context.child("node"), &home, config)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let metrics = context.child("metrics");
        node.set_runtime_metrics(Box::new(move || commonware_runtime::Metrics::encode(&metrics)));
        let router = accord_api::router(node.clone());
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let api = context.child("api").spawn(move |_| async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the API stopped");
            }
        });
        let role = if node.is_validator() { "validator" } else { "follower (does not vote)" };
        tracing::info!(chain_id = %node.genesis.chain_id, height = node.executed().height, role, "accord is running");
        eprintln!(
            "accord: chain {} at height {}, {role}, API on http://{}",
            node.genesis.chain_id,
            node.executed().height,
            node.config.api_address
        );
        let _ = futures::future::select(consensus, api).await;
        Err(anyhow!("the node stopped"))
    });
    result
}
