//! `accord validators …`: read the validator set of an epoch; approve a new one with this
//! home's validator key.

use crate::{print, Global};
use accord_types::{Action, Address, Transaction, ValidatorEntry, ValidatorsAction};
use anyhow::{anyhow, Result};
use clap::Subcommand;
use serde_json::Value;

#[derive(Subcommand)]
pub enum ValidatorsCommand {
    /// The validator set of an epoch (default: the current one), its heights and the
    /// proof that the previous epoch's validators froze it.
    Show {
        #[arg(long)]
        epoch: Option<u64>,
    },
    /// Approve a new set, signed with this home's validator key: the latest set (the next
    /// epoch's if it is frozen already, else the current one) with the changes given. It
    /// takes effect once a quorum of the current validators approved the same set.
    Approve {
        /// Add a validator: HEX_PUBLIC_KEY=IP:PORT (its p2p listener). Repeatable.
        #[arg(long)]
        add: Vec<String>,
        /// Remove a validator: HEX_PUBLIC_KEY. Repeatable.
        #[arg(long)]
        remove: Vec<String>,
        /// Return once queued instead of waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
}

fn key_address(hex_key: &str) -> Result<Address> {
    let key = accord_node::config::public_key_from_hex(hex_key.trim())?;
    let bytes: [u8; 32] =
        commonware_codec::Encode::encode(&key).as_ref().try_into().map_err(|_| anyhow!("a public key is 32 bytes"))?;
    Ok(Address(bytes))
}

fn entries(answer: &Value) -> Result<Vec<ValidatorEntry>> {
    answer["validators"]
        .as_array()
        .ok_or_else(|| anyhow!("the node did not list the validators"))?
        .iter()
        .map(|v| {
            let key = key_address(v["public_key"].as_str().unwrap_or_default())?;
            let p2p = v["p2p_address"].as_str().ok_or_else(|| anyhow!("a validator without an address"))?.to_string();
            Ok(ValidatorEntry { key, p2p })
        })
        .collect()
}

pub async fn run(global: &Global, command: ValidatorsCommand) -> Result<()> {
    let client = global.client();
    let status = client.status().await?;
    let current = status["epoch"].as_u64().ok_or_else(|| anyhow!("the node did not say its epoch"))?;
    match command {
        ValidatorsCommand::Show { epoch } => {
            let answer: Value = client.get(&format!("/v1/epochs/{}", epoch.unwrap_or(current))).await?;
            print(global, &answer);
            Ok(())
        }
        ValidatorsCommand::Approve { add, remove, no_wait } => {
            let latest = match client.get::<Value>(&format!("/v1/epochs/{}", current + 1)).await {
                Ok(next) => next,
                Err(_) => client.get(&format!("/v1/epochs/{current}")).await?,
            };
            let mut set = entries(&latest)?;
            for r in &remove {
                let key = key_address(r)?;
                let before = set.len();
                set.retain(|v| v.key != key);
                if set.len() == before {
                    return Err(anyhow!("{r} is not in the latest set"));
                }
            }
            for a in &add {
                let (key, p2p) = a.split_once('=').ok_or_else(|| anyhow!("--add takes HEX_PUBLIC_KEY=IP:PORT, got `{a}`"))?;
                let key = key_address(key)?;
                p2p.parse::<std::net::SocketAddr>().map_err(|_| anyhow!("`{p2p}` is not an IP:PORT address"))?;
                set.retain(|v| v.key != key);
                set.push(ValidatorEntry { key, p2p: p2p.to_string() });
            }
            set.sort();
            accord_validators::check_set(&set).map_err(|r| anyhow!("{}", r.message()))?;
            let home = accord_node::config::Home::new(global.home());
            let key = home.read_validator_key()?;
            let signer = accord_client::keystore::address_of(&key);
            let chain_id = status["chain_id"].as_str().ok_or_else(|| anyhow!("the node did not say its chain id"))?;
            let account = client.account(&signer).await?;
            let nonce = account["next_nonce"].as_u64().ok_or_else(|| anyhow!("the node did not say the next nonce"))?;
            let action = Action::Validators(ValidatorsAction::ApproveValidatorSet { validators: set });
            let tx = Transaction { chain_id: chain_id.to_string(), signer, nonce, actions: vec![action], memo: String::new() }.sign(&key);
            crate::tx::submit(global, &client, &tx, no_wait).await
        }
    }
}
