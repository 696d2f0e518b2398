//! Multisig accounts: M of N members control one address; proposals run at the threshold.
//!
//! Rules (SPEC §1): a multisig's address is derived from the transaction that created it
//! and never changes, not even when its members or threshold do; anyone may propose, only
//! members approve, each once; the proposal's actions run as the multisig in the same
//! transaction as the approval that reaches the threshold (all of them or none, and if
//! they fail the approval fails and the proposal stays open); an expired proposal can no
//! longer be approved; only the multisig itself (through a proposal) changes its members.

pub mod state;

use accord_exec::{Failure, Module, Overlay, StateKey};
use accord_types::limits::{ACTIONS_MAX, MULTISIG_MEMBERS_MAX};
use accord_types::tx::MODULE_MULTISIG;
use accord_types::{Action, Address, Event, MultisigAction, Reject};
pub use state::{MultisigRecord, ProposalRecord};

/// The multisig module.
pub struct Multisig;

fn multisig(action: &Action) -> Option<&MultisigAction> {
    match action {
        Action::Multisig(a) => Some(a),
        _ => None,
    }
}

fn check_members(members: &[Address], threshold: u8) -> Result<(), Reject> {
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if members.is_empty() || members.len() > MULTISIG_MEMBERS_MAX || sorted.len() != members.len() {
        return Err(Reject::InvalidMembers);
    }
    if threshold == 0 || threshold as usize > members.len() {
        return Err(Reject::InvalidThreshold);
    }
    Ok(())
}

impl Module for Multisig {
    fn id(&self) -> u8 {
        MODULE_MULTISIG
    }

    fn name(&self) -> &'static str {
        "multisig"
    }

    fn check_stateless(&self, action: &Action) -> Result<(), Reject> {
        match multisig(action).ok_or(Reject::Malformed)? {
            MultisigAction::MultisigCreate { members, threshold }
            | MultisigAction::MultisigUpdate { members, threshold } => check_members(members, *threshold),
            MultisigAction::MultisigPropose { actions, .. } | MultisigAction::MultisigApprove { actions, .. } => {
                if actions.is_empty() || actions.len() > ACTIONS_MAX {
                    return Err(Reject::InvalidProposal);
                }
                Ok(())
            }
        }
    }

    fn read_keys(&self, signer: &Address, action: &Action, out: &mut Vec<StateKey>) {
        match multisig(action) {
            Some(MultisigAction::MultisigPropose { multisig, .. }) => out.push(state::multisig_key(multisig)),
            Some(MultisigAction::MultisigApprove { multisig, proposal, .. }) => {
                out.push(state::multisig_key(multisig));
                out.push(state::proposal_key(multisig, *proposal));
            }
            // Runs as the multisig itself: `signer` is the multisig.
            Some(MultisigAction::MultisigUpdate { .. }) => out.push(state::multisig_key(signer)),
            Some(MultisigAction::MultisigCreate { .. }) | None => {}
        }
    }

    fn nested<'a>(&self, action: &'a Action) -> Option<(Address, &'a [Action])> {
        match multisig(action)? {
            MultisigAction::MultisigPropose { multisig, actions, .. }
            | MultisigAction::MultisigApprove { multisig, actions, .. } => Some((*multisig, actions.as_slice())),
            _ => None,
        }
    }

    fn apply(&self, ctx: &mut Overlay<'_>, signer: &Address, action: &Action) -> Result<(), Failure> {
        match multisig(action).ok_or(Reject::Malformed)? {
            MultisigAction::MultisigCreate { members, threshold } => {
                let address = ctx.derive_address(b"accord/multisig");
                let record = MultisigRecord { members: members.clone(), threshold: *threshold, next_proposal: 0 };
                state::put_multisig(ctx, &address, &record);
                ctx.emit(Event::MultisigCreated { multisig: address, members: members.clone(), threshold: *threshold });
                Ok(())
            }
            MultisigAction::MultisigUpdate { members, threshold } => {
                let mut record = state::multisig(ctx, signer)?.ok_or(Reject::NotMultisig)?;
                record.members = members.clone();
                record.threshold = *threshold;
                state::put_multisig(ctx, signer, &record);
                ctx.emit(Event::MultisigUpdated { multisig: *signer, members: members.clone(), threshold: *threshold });
                Ok(())
            }
            MultisigAction::MultisigPropose { multisig, actions, expires_at_ms } => {
                propose(ctx, signer, multisig, actions, *expires_at_ms)
            }
            MultisigAction::MultisigApprove { multisig, proposal, actions } => {
                approve(ctx, signer, multisig, *proposal, actions)
            }
        }
    }
}

fn propose(
    ctx: &mut Overlay<'_>,
    signer: &Address,
    multisig: &Address,
    actions: &[Action],
    expires_at_ms: u64,
) -> Result<(), Failure> {
    let mut record = state::multisig(ctx, multisig)?.ok_or(Reject::UnknownMultisig)?;
    if expires_at_ms <= ctx.info().timestamp_ms {
        return Err(Reject::InvalidProposal.into());
    }
    let id = record.next_proposal;
    record.next_proposal += 1;
    state::put_multisig(ctx, multisig, &record);
    let mut proposal = ProposalRecord {
        proposer: *signer,
        actions_hash: accord_types::sha256(&Action::encode_list(actions)),
        actions: actions.to_vec(),
        approvals: Vec::new(),
        expires_at_ms,
        executed: false,
    };
    ctx.emit(Event::ProposalCreated { multisig: *multisig, proposal: id, proposer: *signer });
    if record.members.contains(signer) {
        proposal.approvals.push(*signer);
        ctx.emit(Event::ProposalApproved { multisig: *multisig, proposal: id, member: *signer });
    }
    run_if_ready(ctx, multisig, id, &record, &mut proposal, actions);
    state::put_proposal(ctx, multisig, id, &proposal);
    Ok(())
}

fn approve(
    ctx: &mut Overlay<'_>,
    signer: &Address,
    multisig: &Address,
    id: u64,
    actions: &[Action],
) -> Result<(), Failure> {
    let record = state::multisig(ctx, multisig)?.ok_or(Reject::UnknownMultisig)?;
    if !record.members.contains(signer) {
        return Err(Reject::NotMember.into());
    }
    let mut proposal = state::proposal(ctx, multisig, id)?.ok_or(Reject::UnknownProposal)?;
    if proposal.executed {
        return Err(Reject::ProposalExecuted.into());
    }
    if ctx.info().timestamp_ms >= proposal.expires_at_ms {
        return Err(Reject::ProposalExpired.into());
    }
    if accord_types::sha256(&Action::encode_list(actions)) != proposal.actions_hash {
        return Err(Reject::ActionsMismatch.into());
    }
    // Approvals of former members no longer count (and the list stays within the
    // member bound); a member removed and added again must approve again.
    proposal.approvals.retain(|a| record.members.contains(a));
    if proposal.approvals.contains(signer) {
        // A repeated approval only helps when a membership change already made the
        // existing approvals enough; otherwise it is refused.
        if proposal.approvals.len() < record.threshold as usize {
            return Err(Reject::AlreadyApproved.into());
        }
    } else {
        proposal.approvals.push(*signer);
        ctx.emit(Event::ProposalApproved { multisig: *multisig, proposal: id, member: *signer });
    }
    run_if_ready(ctx, multisig, id, &record, &mut proposal, actions);
    state::put_proposal(ctx, multisig, id, &proposal);
    Ok(())
}

/// At the threshold (counting only current members), queue the actions to run as the multisig.
fn run_if_ready(
    ctx: &mut Overlay<'_>,
    multisig: &Address,
    id: u64,
    record: &MultisigRecord,
    proposal: &mut ProposalRecord,
    actions: &[Action],
) {
    let count = proposal.approvals.iter().filter(|a| record.members.contains(a)).count();
    if count >= record.threshold as usize {
        proposal.executed = true;
        ctx.emit(Event::ProposalExecuted { multisig: *multisig, proposal: id });
        ctx.call(*multisig, actions.to_vec());
    }
}
