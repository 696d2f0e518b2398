//! Every state key and record of the validators module (prefixes 0x50..=0x5f).

use accord_exec::{ExecError, Overlay, StateKey};
use accord_types::codec::{DecodeError, Reader, Writer};
use accord_types::limits::{P2P_ADDRESS_BYTES_MAX, VALIDATORS_MAX};
use accord_types::{Address, ValidatorEntry};
use serde::Serialize;

/// The set of one epoch, written when it is frozen.
pub const SET: u8 = 0x50;
/// Approvals in progress, and the set scheduled for the next freeze.
pub const BALLOT: u8 = 0x51;

/// `0x50 || epoch (u64 BE)`.
pub fn set_key(epoch: u64) -> StateKey {
    let mut k = vec![SET];
    k.extend_from_slice(&epoch.to_be_bytes());
    StateKey(k)
}

/// `0x51`.
pub fn ballot_key() -> StateKey {
    StateKey(vec![BALLOT])
}

/// `sha256` of the set's encoding: what approvals and events name a set by.
pub fn set_hash(set: &[ValidatorEntry]) -> [u8; 32] {
    accord_types::sha256(&encode_set(set))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A set: count byte, then each key (32 bytes) and address (length byte, UTF-8).
pub fn encode_set(set: &[ValidatorEntry]) -> Vec<u8> {
    let mut w = Writer::new();
    write_set(&mut w, set);
    w.finish()
}

fn write_set(w: &mut Writer, set: &[ValidatorEntry]) {
    w.u8(set.len() as u8);
    for v in set {
        w.raw(&v.key.0);
        w.bytes8(v.p2p.as_bytes());
    }
}

fn read_set(r: &mut Reader<'_>) -> Result<Vec<ValidatorEntry>, DecodeError> {
    let count = r.u8("validator count")? as usize;
    if count > VALIDATORS_MAX {
        return Err(DecodeError::TooLong { what: "validators", len: count, max: VALIDATORS_MAX });
    }
    (0..count)
        .map(|_| Ok(ValidatorEntry { key: Address(r.array("validator key")?), p2p: r.string8(P2P_ADDRESS_BYTES_MAX, "p2p address")? }))
        .collect()
}

pub fn decode_set(bytes: &[u8]) -> Result<Vec<ValidatorEntry>, DecodeError> {
    let mut r = Reader::new(bytes);
    let set = read_set(&mut r)?;
    r.finish()?;
    Ok(set)
}

/// A set some validators approve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub set: Vec<ValidatorEntry>,
    pub approvers: Vec<Address>,
}

impl Candidate {
    pub fn hash(&self) -> [u8; 32] {
        set_hash(&self.set)
    }
}

/// Sets awaiting approval, and the set that reached its quorum (until it is frozen).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ballot {
    pub candidates: Vec<Candidate>,
    pub scheduled: Option<Vec<ValidatorEntry>>,
}

impl Ballot {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(self.candidates.len() as u8);
        for c in &self.candidates {
            write_set(&mut w, &c.set);
            w.addresses(&c.approvers);
        }
        match &self.scheduled {
            None => w.u8(0),
            Some(set) => {
                w.u8(1);
                write_set(&mut w, set);
            }
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let count = r.u8("candidates")? as usize;
        let mut candidates = Vec::with_capacity(count);
        for _ in 0..count {
            let set = read_set(&mut r)?;
            let approvers = r.addresses(VALIDATORS_MAX, "approvers")?;
            candidates.push(Candidate { set, approvers });
        }
        let scheduled = match r.u8("scheduled")? {
            0 => None,
            1 => Some(read_set(&mut r)?),
            _ => return Err(DecodeError::Invalid("scheduled")),
        };
        r.finish()?;
        Ok(Self { candidates, scheduled })
    }
}

pub fn ballot(ctx: &Overlay<'_>) -> Result<Ballot, ExecError> {
    let key = ballot_key();
    match ctx.get(&key)? {
        None => Ok(Ballot::default()),
        Some(bytes) => Ballot::decode(&bytes).map_err(|e| ExecError::CorruptValue { key: key.to_string(), reason: e.to_string() }),
    }
}

pub fn put_ballot(ctx: &mut Overlay<'_>, ballot: &Ballot) {
    ctx.put(ballot_key(), ballot.encode());
}
