//! Who keeps the ledger: validator sets per epoch, changed by the validators themselves.
//!
//! Rules (issue 3, item 5):
//! - The chain is cut into epochs of `epoch_length` blocks: epoch `e` is heights
//!   `e·E ..= (e+1)·E − 1` (epoch 0 holds the genesis block too).
//! - Only a validator of the current epoch's set may approve a set. Each validator backs at
//!   most one set at a time (approving another moves its approval). A set approved by a
//!   quorum of the current set (`n − ⌊(n−1)/3⌋`, the same count that finalizes a block) is
//!   scheduled.
//! - At the middle of epoch `e` (height `e·E + ⌊E/2⌋`, after its transactions) the set of
//!   epoch `e + 1` is frozen: the scheduled set if there is one, else the current set. It is
//!   written under its own key, so every later state root proves it, and consensus reads it
//!   from final state half an epoch before it is needed.
//! - Approvals last across epochs, but only those of validators in the current set count.
//! - Between the freeze and the end of an epoch whose successor has another set, approvals
//!   are refused: a set approved then would follow the new set without its approval.

pub mod state;

use accord_exec::{BlockInfo, ExecError, Failure, Module, Overlay, StateKey};
use accord_types::limits::{P2P_ADDRESS_BYTES_MAX, VALIDATORS_MAX};
use accord_types::tx::MODULE_VALIDATORS;
pub use accord_types::Epochs;
use accord_types::{Action, Address, Event, Reject, ValidatorEntry, ValidatorsAction};
pub use state::{set_hash, Ballot, Candidate};

/// Most different sets awaiting approval in one epoch.
pub const CANDIDATES_MAX: usize = 8;

/// The votes needed among `n` validators: the size of a finalization quorum.
pub fn quorum(n: usize) -> usize {
    n - n.saturating_sub(1) / 3
}

/// Whether `set` is one a chain can run on: 1 to [`VALIDATORS_MAX`] validators in strictly
/// ascending key order (so no key twice), each key a valid ed25519 point, each address an
/// `ip:port`.
pub fn check_set(set: &[ValidatorEntry]) -> Result<(), Reject> {
    if set.is_empty() || set.len() > VALIDATORS_MAX || set.windows(2).any(|w| w[0].key >= w[1].key) {
        return Err(Reject::InvalidValidatorSet);
    }
    for v in set {
        if v.p2p.len() > P2P_ADDRESS_BYTES_MAX || v.p2p.parse::<std::net::SocketAddr>().is_err() {
            return Err(Reject::InvalidValidatorSet);
        }
        let key = <commonware_cryptography::ed25519::PublicKey as commonware_codec::DecodeExt<()>>::decode(
            commonware_codec::Copying(v.key.0.as_slice()),
        );
        if key.is_err() {
            return Err(Reject::InvalidValidatorSet);
        }
    }
    Ok(())
}

/// The validators module. `genesis` is the genesis set in ascending key order.
pub struct Validators {
    pub epochs: Epochs,
    pub genesis: Vec<ValidatorEntry>,
}

impl Validators {
    pub fn new(epochs: Epochs, mut genesis: Vec<ValidatorEntry>) -> Self {
        genesis.sort();
        Self { epochs, genesis }
    }

    /// The set of `epoch` as stored (`None` for epoch 0, whose set is the genesis').
    fn set_of(&self, get: impl Fn(&StateKey) -> Result<Option<Vec<u8>>, ExecError>, epoch: u64) -> Result<Vec<ValidatorEntry>, ExecError> {
        if epoch == 0 {
            return Ok(self.genesis.clone());
        }
        let key = state::set_key(epoch);
        match get(&key)? {
            Some(bytes) => state::decode_set(&bytes).map_err(|e| ExecError::CorruptValue { key: key.to_string(), reason: e.to_string() }),
            // Frozen half an epoch ahead on every chain with epochs; absent only if epochs
            // were off, in which case the genesis set never changes.
            None => Ok(self.genesis.clone()),
        }
    }
}

fn validators(action: &Action) -> Option<&ValidatorsAction> {
    match action {
        Action::Validators(a) => Some(a),
        _ => None,
    }
}

impl Module for Validators {
    fn id(&self) -> u8 {
        MODULE_VALIDATORS
    }

    fn name(&self) -> &'static str {
        "validators"
    }

    fn check_stateless(&self, action: &Action) -> Result<(), Reject> {
        match validators(action).ok_or(Reject::Malformed)? {
            ValidatorsAction::ApproveValidatorSet { validators } => check_set(validators),
        }
    }

    fn read_keys(&self, _signer: &Address, action: &Action, out: &mut Vec<StateKey>) {
        if validators(action).is_some() {
            out.push(state::ballot_key());
        }
    }

    fn dependent_keys(
        &self,
        _signer: &Address,
        action: &Action,
        info: BlockInfo,
        _get: &dyn Fn(&StateKey) -> Option<Vec<u8>>,
        out: &mut Vec<StateKey>,
    ) {
        let epoch = self.epochs.epoch(info.height);
        if validators(action).is_some() {
            if epoch > 0 {
                out.push(state::set_key(epoch));
            }
            // After the freeze: is the next epoch's set another one?
            if self.epochs.freeze(epoch).is_some_and(|f| info.height > f) {
                out.push(state::set_key(epoch + 1));
            }
        }
    }

    fn block_keys(&self, info: BlockInfo, _get: &dyn Fn(&StateKey) -> Option<Vec<u8>>, out: &mut Vec<StateKey>) {
        if let Some(next) = self.epochs.frozen_by(info.height) {
            let epoch = next - 1;
            out.push(state::ballot_key());
            if epoch > 0 {
                out.push(state::set_key(epoch));
            }
        }
    }

    fn apply(&self, ctx: &mut Overlay<'_>, signer: &Address, action: &Action) -> Result<(), Failure> {
        let ValidatorsAction::ApproveValidatorSet { validators: set } = validators(action).ok_or(Reject::Malformed)?;
        if self.epochs.length.is_none() {
            return Err(Reject::EpochsDisabled.into());
        }
        let height = ctx.info().height;
        let epoch = self.epochs.epoch(height);
        let current = self.set_of(|k| ctx.get(k), epoch)?;
        if !current.iter().any(|v| v.key == *signer) {
            return Err(Reject::NotAValidator.into());
        }
        // Once another set is frozen for the next epoch, a set approved now would take effect
        // after it without its approval: the outgoing validators must not pick the set that
        // follows their successors. They approve again in the next epoch, as that set.
        if self.epochs.freeze(epoch).is_some_and(|f| height > f) {
            let key = state::set_key(epoch + 1);
            let next = ctx.get(&key)?.map(|b| state::decode_set(&b)).transpose().map_err(|e| ExecError::CorruptValue { key: key.to_string(), reason: e.to_string() })?;
            if next.is_some_and(|next| next != current) {
                return Err(Reject::ValidatorSetChanging.into());
            }
        }
        let mut ballot = state::ballot(ctx)?;
        // Approvals of validators no longer in the set do not count (the set changes only
        // at an epoch's first block).
        for c in &mut ballot.candidates {
            c.approvers.retain(|a| current.iter().any(|v| v.key == *a));
        }
        let hash = set_hash(set);
        if ballot.candidates.iter().any(|c| c.hash() == hash && c.approvers.contains(signer)) {
            return Err(Reject::AlreadyApprovedSet.into());
        }
        for c in &mut ballot.candidates {
            c.approvers.retain(|a| a != signer);
        }
        ballot.candidates.retain(|c| !c.approvers.is_empty());
        let index = match ballot.candidates.iter().position(|c| c.hash() == hash) {
            Some(i) => i,
            None => {
                if ballot.candidates.len() >= CANDIDATES_MAX {
                    return Err(Reject::TooManyCandidateSets.into());
                }
                ballot.candidates.push(Candidate { set: set.clone(), approvers: Vec::new() });
                ballot.candidates.len() - 1
            }
        };
        ballot.candidates[index].approvers.push(*signer);
        let approvals = ballot.candidates[index].approvers.len();
        let needed = quorum(current.len());
        let hex = state::hex(&hash);
        ctx.emit(Event::ValidatorSetApproved { set_hash: hex.clone(), validator: *signer, approvals: approvals as u32, needed: needed as u32 });
        if approvals >= needed {
            // The set of epoch + 1 is frozen at the end of the freeze block: an approval in
            // that block or earlier makes it; a later one waits for the next epoch's freeze.
            let frozen = self.epochs.freeze(epoch).is_some_and(|f| height > f);
            let takes_effect = epoch + if frozen { 2 } else { 1 };
            ballot.scheduled = Some(set.clone());
            ballot.candidates.clear();
            ctx.emit(Event::ValidatorSetScheduled { set_hash: hex, epoch: takes_effect });
        }
        state::put_ballot(ctx, &ballot);
        Ok(())
    }

    fn end_block(&self, ctx: &mut Overlay<'_>) -> Result<(), ExecError> {
        let Some(next_epoch) = self.epochs.frozen_by(ctx.info().height) else {
            return Ok(());
        };
        let epoch = next_epoch - 1;
        let current = self.set_of(|k| ctx.get(k), epoch)?;
        let mut ballot = state::ballot(ctx)?;
        let next = match ballot.scheduled.take() {
            Some(set) => {
                state::put_ballot(ctx, &ballot);
                set
            }
            None => current.clone(),
        };
        if next != current {
            ctx.emit(Event::ValidatorSetChanged { epoch: epoch + 1, set_hash: state::hex(&set_hash(&next)), validators: next.len() as u32 });
        }
        ctx.put(state::set_key(epoch + 1), state::encode_set(&next));
        Ok(())
    }
}
