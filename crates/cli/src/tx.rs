//! `accord tx …`: build actions, sign with the `--from` key, submit, wait for commit.

use crate::{passphrase, print, resolve_address, Global};
use accord_types::{Action, AgreementAction, AssetKind, MultisigAction, PointsAction, Transaction};
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::time::Duration;

#[derive(Args, Clone)]
pub struct SendOptions {
    /// A public note stored with the transaction.
    #[arg(long, default_value = "")]
    pub memo: String,
    /// Return once queued instead of waiting for the commit.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Subcommand)]
pub enum TxCommand {
    /// Asset actions.
    #[command(subcommand)]
    Asset(AssetCommand),
    /// Move units to another account.
    Transfer {
        /// Address or key name.
        #[arg(long)]
        to: String,
        #[arg(long)]
        symbol: String,
        /// In the asset's smallest unit.
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Multisig accounts.
    #[command(subcommand)]
    Multisig(MultisigCommand),
    /// Revenue-sharing agreements and income rights.
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// Submit any actions in their JSON form, e.g. '{"type":"burn","symbol":"PARK","amount":"5"}'.
    Send {
        #[arg(long = "action", required = true)]
        actions: Vec<String>,
        #[command(flatten)]
        options: SendOptions,
    },
}

#[derive(Subcommand)]
pub enum AgreementCommand {
    /// Draft an agreement (its address is in the `agreement_created` event).
    Create {
        /// The asset its income is paid in.
        #[arg(long)]
        income_symbol: String,
        /// ADDRESS_OR_KEY=PPM; repeat for each party. Shares sum to 1000000.
        #[arg(long = "party", required = true)]
        parties: Vec<String>,
        /// Hex SHA-256 of the legal text.
        #[arg(long)]
        legal_hash: String,
        /// Who may amend it: an address or key name (e.g. a multisig).
        #[arg(long)]
        amender: String,
        #[arg(long)]
        expires_at_ms: Option<u64>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Sign as a party, naming the legal text's hash you agree to.
    Sign {
        #[arg(long)]
        agreement: String,
        /// Hex SHA-256 of the legal text you read.
        #[arg(long)]
        legal_hash: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Pay income: split among the current share holders in the same transaction.
    Pay {
        #[arg(long)]
        agreement: String,
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Give part of your share, for good or until a time.
    Give {
        #[arg(long)]
        agreement: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        share_ppm: u32,
        /// Block time (ms) at which the share returns to you.
        #[arg(long)]
        until_ms: Option<u64>,
        #[command(flatten)]
        options: SendOptions,
    },
}

fn hash32(text: &str) -> Result<[u8; 32]> {
    let raw = hex::decode(text).map_err(|_| anyhow!("--legal-hash is 64 hex characters"))?;
    raw.try_into().map_err(|_| anyhow!("--legal-hash is 64 hex characters"))
}

fn party(global: &Global, text: &str) -> Result<accord_types::Party> {
    let (who, ppm) = text.split_once('=').ok_or_else(|| anyhow!("a party is ADDRESS_OR_KEY=PPM, got `{text}`"))?;
    let share_ppm = ppm.parse().map_err(|_| anyhow!("`{ppm}` is not a share in ppm"))?;
    Ok(accord_types::Party { address: resolve_address(global, who)?, share_ppm })
}

fn build_agreement(global: &Global, command: AgreementCommand) -> Result<(Vec<Action>, SendOptions)> {
    let one = |a: AgreementAction| vec![Action::Agreement(a)];
    Ok(match command {
        AgreementCommand::Create { income_symbol, parties, legal_hash, amender, expires_at_ms, options } => {
            let parties = parties.iter().map(|p| party(global, p)).collect::<Result<Vec<_>>>()?;
            let legal_hash = hash32(&legal_hash)?;
            let amender = resolve_address(global, &amender)?;
            (one(AgreementAction::AgreementCreate { income_symbol, parties, legal_hash, expires_at_ms, amender }), options)
        }
        AgreementCommand::Sign { agreement, legal_hash, options } => (
            one(AgreementAction::AgreementSign {
                agreement: resolve_address(global, &agreement)?,
                legal_hash: hash32(&legal_hash)?,
            }),
            options,
        ),
        AgreementCommand::Pay { agreement, amount, options } => {
            (one(AgreementAction::AgreementPay { agreement: resolve_address(global, &agreement)?, amount }), options)
        }
        AgreementCommand::Give { agreement, to, share_ppm, until_ms, options } => (
            one(AgreementAction::ShareTransfer {
                agreement: resolve_address(global, &agreement)?,
                to: resolve_address(global, &to)?,
                share_ppm,
                until_ms,
            }),
            options,
        ),
    })
}

#[derive(Subcommand)]
pub enum MultisigCommand {
    /// Create an M-of-N account (its address is in the `multisig_created` event).
    Create {
        /// Address or key name; repeat for each member.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        #[arg(long)]
        threshold: u8,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Propose actions (JSON, as for `tx send`) for the multisig to sign.
    Propose {
        #[arg(long)]
        multisig: String,
        #[arg(long = "action", required = true)]
        actions: Vec<String>,
        /// How long members have to approve.
        #[arg(long, default_value_t = 86_400)]
        expires_in_s: u64,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Approve a proposal (its actions are fetched from the node and signed as they are).
    Approve {
        #[arg(long)]
        multisig: String,
        #[arg(long)]
        proposal: u64,
        #[command(flatten)]
        options: SendOptions,
    },
}

#[derive(Subcommand)]
pub enum AssetCommand {
    /// Create an asset issued by the signer.
    Create {
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 0)]
        decimals: u8,
        /// points, currency, time_credits or shares.
        #[arg(long, default_value = "points")]
        kind: String,
        #[arg(long)]
        max_supply: Option<u128>,
        #[arg(long)]
        mint_limit_per_day: Option<u128>,
        /// Holders cannot transfer it (only to or from the issuer).
        #[arg(long)]
        non_transferable: bool,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Issue units (issuer only).
    Mint {
        #[arg(long)]
        symbol: String,
        /// Address or key name.
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u128,
        #[arg(long)]
        reason: String,
        /// A reference that can be used once per asset (e.g. a legacy system's id).
        #[arg(long)]
        external_ref: Option<String>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Destroy units the signer holds.
    Burn {
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        options: SendOptions,
    },
}

fn kind(text: &str) -> Result<AssetKind> {
    serde_json::from_value(json!(text)).map_err(|_| anyhow!("kind is points, currency, time_credits or shares"))
}

fn parse_actions(actions: &[String]) -> Result<Vec<Action>> {
    actions
        .iter()
        .map(|a| serde_json::from_str(a).with_context(|| format!("action `{a}` is not valid JSON of an action")))
        .collect()
}

async fn build_multisig(global: &Global, command: MultisigCommand) -> Result<(Vec<Action>, SendOptions)> {
    Ok(match command {
        MultisigCommand::Create { members, threshold, options } => {
            let members = members.iter().map(|m| resolve_address(global, m)).collect::<Result<Vec<_>>>()?;
            (vec![Action::Multisig(MultisigAction::MultisigCreate { members, threshold })], options)
        }
        MultisigCommand::Propose { multisig, actions, expires_in_s, options } => {
            let multisig = resolve_address(global, &multisig)?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
            let expires_at_ms = now + expires_in_s.saturating_mul(1000);
            let actions = parse_actions(&actions)?;
            (vec![Action::Multisig(MultisigAction::MultisigPropose { multisig, actions, expires_at_ms })], options)
        }
        MultisigCommand::Approve { multisig, proposal, options } => {
            let multisig = resolve_address(global, &multisig)?;
            let record: serde_json::Value =
                global.client().get(&format!("/v1/multisig/{multisig}/proposals/{proposal}")).await?;
            let actions: Vec<Action> = serde_json::from_value(record["proposal"]["actions"].clone())
                .map_err(|e| anyhow!("the node's proposal does not parse: {e}"))?;
            (vec![Action::Multisig(MultisigAction::MultisigApprove { multisig, proposal, actions })], options)
        }
    })
}

async fn build(global: &Global, command: TxCommand) -> Result<(Vec<Action>, SendOptions)> {
    Ok(match command {
        TxCommand::Multisig(c) => build_multisig(global, c).await?,
        TxCommand::Agreement(c) => build_agreement(global, c)?,
        TxCommand::Transfer { to, symbol, amount, options } => {
            let to = resolve_address(global, &to)?;
            (vec![Action::Points(PointsAction::Transfer { symbol, to, amount })], options)
        }
        TxCommand::Send { actions, options } => (parse_actions(&actions)?, options),
        TxCommand::Asset(AssetCommand::Create {
            symbol,
            name,
            decimals,
            kind: k,
            max_supply,
            mint_limit_per_day,
            non_transferable,
            options,
        }) => (
            vec![Action::Points(PointsAction::CreateAsset {
                symbol,
                name,
                decimals,
                kind: kind(&k)?,
                max_supply,
                mint_limit_per_day,
                transferable: !non_transferable,
            })],
            options,
        ),
        TxCommand::Asset(AssetCommand::Mint { symbol, to, amount, reason, external_ref, options }) => {
            let to = resolve_address(global, &to)?;
            (vec![Action::Points(PointsAction::Mint { symbol, to, amount, reason, external_ref })], options)
        }
        TxCommand::Asset(AssetCommand::Burn { symbol, amount, options }) => {
            (vec![Action::Points(PointsAction::Burn { symbol, amount })], options)
        }
    })
}

pub async fn run(global: &Global, command: TxCommand) -> Result<()> {
    let (actions, options) = build(global, command).await?;
    let from = global.from.clone().ok_or_else(|| anyhow!("--from KEYNAME is required to sign"))?;
    let store = global.keystore();
    let info = store.show(&from).map_err(|e| anyhow!("{e}"))?;
    let pass = if info.insecure { String::new() } else { passphrase()? };
    let key = store.unlock(&from, &pass).map_err(|e| anyhow!("{e}"))?;
    let client = global.client();
    let status = client.status().await?;
    let chain_id = status["chain_id"].as_str().ok_or_else(|| anyhow!("the node did not say its chain id"))?;
    let account = client.account(&info.address).await?;
    let nonce = account["next_nonce"].as_u64().ok_or_else(|| anyhow!("the node did not say the next nonce"))?;
    let tx = Transaction { chain_id: chain_id.to_string(), signer: info.address, nonce, actions, memo: options.memo }
        .sign(&key);
    let hash = client.submit(&tx).await?;
    if options.no_wait {
        print(global, &json!({ "hash": hash.to_string(), "status": "pending" }));
        return Ok(());
    }
    let result = client.wait(&hash, Duration::from_secs(60)).await?;
    print(global, &result);
    if result["status"] != "committed" {
        return Err(anyhow!("transaction {hash} was rejected: {}", result["error"]));
    }
    Ok(())
}
