//! Every state key and record of the multisig module (prefixes 0x20..=0x2f).

use accord_exec::{ExecError, Overlay, StateKey};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::MULTISIG_MEMBERS_MAX;
use accord_types::Address;
use serde::Serialize;

/// Multisig accounts.
pub const MULTISIG: u8 = 0x20;
/// Proposals of a multisig.
pub const PROPOSAL: u8 = 0x21;

/// `0x20 || address`.
pub fn multisig_key(address: &Address) -> StateKey {
    let mut k = vec![MULTISIG];
    k.extend_from_slice(&address.0);
    StateKey(k)
}

/// `0x21 || address || id (u64 BE)`.
pub fn proposal_key(address: &Address, id: u64) -> StateKey {
    let mut k = vec![PROPOSAL];
    k.extend_from_slice(&address.0);
    k.extend_from_slice(&id.to_be_bytes());
    StateKey(k)
}

/// A multisig account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MultisigRecord {
    pub members: Vec<Address>,
    pub threshold: u8,
    pub next_proposal: u64,
}

/// A proposal: what it runs (by hash), who approved, until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProposalRecord {
    pub proposer: Address,
    #[serde(serialize_with = "hex32")]
    pub actions_hash: [u8; 32],
    /// The proposed actions, so members can read what they approve.
    pub actions: Vec<accord_types::Action>,
    pub approvals: Vec<Address>,
    pub expires_at_ms: u64,
    pub executed: bool,
}

fn hex32<S: serde::Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl MultisigRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.addresses(&self.members);
        w.u8(self.threshold);
        w.u64(self.next_proposal);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let record = Self { members: r.addresses(MULTISIG_MEMBERS_MAX, "addresses")?, threshold: r.u8("threshold")?, next_proposal: r.u64("next")? };
        r.finish()?;
        Ok(record)
    }
}

impl ProposalRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&self.proposer.0);
        w.raw(&self.actions_hash);
        w.bytes32(&accord_types::Action::encode_list(&self.actions));
        w.addresses(&self.approvals);
        w.u64(self.expires_at_ms);
        w.bool(self.executed);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let record = Self {
            proposer: Address(r.array("proposer")?),
            actions_hash: r.array("actions hash")?,
            actions: accord_types::Action::decode_list(r.bytes32(accord_types::limits::TX_BYTES_MAX, "actions")?)?,
            approvals: r.addresses(MULTISIG_MEMBERS_MAX, "addresses")?,
            expires_at_ms: r.u64("expiry")?,
            executed: r.bool("executed")?,
        };
        r.finish()?;
        Ok(record)
    }
}

pub fn multisig(ctx: &Overlay<'_>, address: &Address) -> Result<Option<MultisigRecord>, ExecError> {
    ctx.get_record(&multisig_key(address), MultisigRecord::decode)
}

pub fn put_multisig(ctx: &mut Overlay<'_>, address: &Address, record: &MultisigRecord) {
    ctx.put(multisig_key(address), record.encode());
}

pub fn proposal(ctx: &Overlay<'_>, address: &Address, id: u64) -> Result<Option<ProposalRecord>, ExecError> {
    ctx.get_record(&proposal_key(address, id), ProposalRecord::decode)
}

pub fn put_proposal(ctx: &mut Overlay<'_>, address: &Address, id: u64, record: &ProposalRecord) {
    ctx.put(proposal_key(address, id), record.encode());
}
