//! Receipts of executed blocks: an append-only, fsynced log plus an in-memory index by hash.
//!
//! Record: `height (u64 BE) || block digest (32) || changed state (u8) || length (u32 BE) ||
//! JSON {receipts, events}` (the block's own events: settlements by end-of-block hooks; a
//! bare JSON array of receipts is read as a block without events). A record cut short by a crash is dropped at open. A block that
//! changed nothing is not committed to the state at all (its root stays, and an idle chain
//! does not grow the store), so its record is what says it was executed. A record above
//! the state's height that did change state is dropped with everything after it: the
//! state commit it preceded never happened, and marshal delivers that block again.

use accord_types::reject::RejectInfo;
use accord_types::{Address, Event, TxHash};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;

/// What happened to one transaction of a block.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    pub hash: String,
    pub signer: Address,
    pub nonce: u64,
    pub height: u64,
    pub index: u32,
    /// `committed` or `rejected`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RejectInfo>,
}

/// What one block's record holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockRecord {
    pub receipts: Vec<Receipt>,
    /// What the block itself did after its transactions (settlements).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
}

/// Parse a record: an object, or (as first written) a bare array of receipts. Looking at the
/// first byte instead of an untagged enum keeps parsing single-pass (status queries parse
/// whole records).
fn parse(bytes: &[u8]) -> Result<BlockRecord, serde_json::Error> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Ok(BlockRecord { receipts: serde_json::from_slice(bytes)?, events: Vec::new() }),
        _ => serde_json::from_slice(bytes),
    }
}

/// The last block the log says was executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastBlock {
    pub height: u64,
    pub digest: [u8; 32],
}

const RECORD_HEADER_BYTES: usize = 8 + 32 + 1 + 4;

struct Inner {
    file: File,
    end: u64,
    /// Per block: where its record is, how many of its transactions were rejected, and
    /// whether it has block events.
    blocks: BTreeMap<u64, (u64, u32, u32, bool)>,
    index: HashMap<TxHash, (u64, u32, bool)>,
}

/// Index `r`, unless the hash already points at a committed receipt: a transaction
/// included again (by a faulty proposer) is rejected the second time, and that must not
/// hide that it was committed.
fn index_receipt(index: &mut HashMap<TxHash, (u64, u32, bool)>, height: u64, r: &Receipt) {
    let Ok(hash) = r.hash.parse::<TxHash>() else { return };
    let committed = r.error.is_none();
    match index.get(&hash) {
        Some((_, _, true)) => {}
        _ => {
            index.insert(hash, (height, r.index, committed));
        }
    }
}

/// The receipt log.
pub struct Receipts {
    inner: Mutex<Inner>,
}

fn io(e: std::io::Error) -> String {
    format!("receipt log: {e}")
}

impl Receipts {
    /// Open the log. Keeps whole records up to `state_height`, and after it only records of
    /// blocks that changed nothing; returns the last block those records cover.
    pub fn open(path: &Path, state_height: u64) -> Result<(Self, Option<LastBlock>), String> {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut blocks = BTreeMap::new();
        let mut index = HashMap::new();
        let mut at = 0usize;
        let mut last = None;
        while at + RECORD_HEADER_BYTES <= bytes.len() {
            let field = |from: usize, to: usize| bytes[at + from..at + to].to_vec();
            let height = u64::from_be_bytes(field(0, 8).try_into().map_err(|_| "receipt log: header")?);
            let digest: [u8; 32] = field(8, 40).try_into().map_err(|_| "receipt log: header")?;
            let changed = bytes[at + 40] != 0;
            let len = u32::from_be_bytes(field(41, 45).try_into().map_err(|_| "receipt log: header")?);
            let start = at + RECORD_HEADER_BYTES;
            let end = start + len as usize;
            if end > bytes.len() || (height > state_height && changed) {
                break;
            }
            // A whole record that does not parse is damage, not a torn tail: refuse to start
            // rather than silently dropping committed receipts.
            let record = parse(&bytes[start..end])
                .map_err(|e| format!("receipt log {}: record of block {height} is damaged: {e}", path.display()))?;
            let (receipts, has_events) = (record.receipts, !record.events.is_empty());
            for r in &receipts {
                index_receipt(&mut index, height, r);
            }
            let rejected = receipts.iter().filter(|r| r.error.is_some()).count() as u32;
            blocks.insert(height, (start as u64, len, rejected, has_events));
            last = Some(LastBlock { height, digest });
            at = end;
        }
        file.set_len(at as u64).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok((Self { inner: Mutex::new(Inner { file, end: at as u64, blocks, index }) }, last))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append the record of block `height` durably; `changed` says whether it wrote state.
    pub fn append(&self, height: u64, digest: [u8; 32], changed: bool, record: &BlockRecord) -> Result<(), String> {
        let json = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        let receipts = &record.receipts;
        let has_events = !record.events.is_empty();
        let mut inner = self.lock();
        if inner.blocks.contains_key(&height) {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(RECORD_HEADER_BYTES + json.len());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&digest);
        bytes.push(u8::from(changed));
        bytes.extend_from_slice(&(json.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&json);
        let end = inner.end;
        inner.file.seek(SeekFrom::Start(end)).map_err(io)?;
        inner.file.write_all(&bytes).map_err(io)?;
        inner.file.sync_data().map_err(io)?;
        let rejected = receipts.iter().filter(|r| r.error.is_some()).count() as u32;
        inner.blocks.insert(height, (end + RECORD_HEADER_BYTES as u64, json.len() as u32, rejected, has_events));
        inner.end = end + bytes.len() as u64;
        for r in receipts {
            index_receipt(&mut inner.index, height, r);
        }
        Ok(())
    }

    /// Every receipt and event of block `height` (empty for a block not executed here).
    pub fn record(&self, height: u64) -> Result<BlockRecord, String> {
        let mut inner = self.lock();
        let Some((offset, len, _, _)) = inner.blocks.get(&height).copied() else { return Ok(BlockRecord::default()) };
        let mut buf = vec![0u8; len as usize];
        inner.file.seek(SeekFrom::Start(offset)).map_err(io)?;
        inner.file.read_exact(&mut buf).map_err(io)?;
        parse(&buf).map_err(|e| e.to_string())
    }

    /// Every receipt of block `height`.
    pub fn block(&self, height: u64) -> Result<Vec<Receipt>, String> {
        Ok(self.record(height)?.receipts)
    }

    /// The block's own events (settlements); reads the record only if it has any.
    pub fn block_events(&self, height: u64) -> Result<Vec<Event>, String> {
        if !self.lock().blocks.get(&height).is_some_and(|b| b.3) {
            return Ok(Vec::new());
        }
        Ok(self.record(height)?.events)
    }

    /// The receipt of transaction `hash`, if it was executed.
    pub fn get(&self, hash: &TxHash) -> Result<Option<Receipt>, String> {
        let Some((height, index, _)) = self.lock().index.get(hash).copied() else { return Ok(None) };
        Ok(self.block(height)?.into_iter().nth(index as usize))
    }

    /// How many transactions of block `height` were rejected (0 for an unknown block).
    pub fn rejected_in(&self, height: u64) -> u32 {
        self.lock().blocks.get(&height).map_or(0, |b| b.2)
    }

    pub fn contains(&self, hash: &TxHash) -> bool {
        self.lock().index.contains_key(hash)
    }

    /// Whether `hash` was committed (a rejected one may be submitted again).
    pub fn is_committed(&self, hash: &TxHash) -> bool {
        self.lock().index.get(hash).is_some_and(|(_, _, committed)| *committed)
    }

    pub fn count(&self) -> usize {
        self.lock().index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(height: u64) -> Receipt {
        Receipt {
            hash: accord_types::TxHash([height as u8; 32]).to_string(),
            signer: Address([1; 32]),
            nonce: height,
            height,
            index: 0,
            status: "committed".into(),
            events: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn reopening_keeps_what_the_state_covers_and_drops_the_rest() {
        let path = std::env::temp_dir().join(format!("accord-receipts-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let (log, last) = Receipts::open(&path, 0).expect("opens");
            assert_eq!(last, None);
            let record = |receipts: Vec<Receipt>| BlockRecord { receipts, events: Vec::new() };
            log.append(1, [1; 32], true, &record(vec![receipt(1)])).expect("appends");
            log.append(2, [2; 32], false, &record(vec![])).expect("appends");
            log.append(3, [3; 32], true, &record(vec![receipt(3)])).expect("appends");
            log.append(4, [4; 32], false, &record(vec![])).expect("appends");
        }
        // The state committed block 1 only: block 2 changed nothing (kept), block 3's state
        // commit never happened (dropped, and block 4 after it).
        let (log, last) = Receipts::open(&path, 1).expect("reopens");
        assert_eq!(last, Some(LastBlock { height: 2, digest: [2; 32] }));
        assert!(log.get(&accord_types::TxHash([1; 32])).expect("reads").is_some());
        assert!(!log.contains(&accord_types::TxHash([3; 32])));
        drop(log);
        // A record cut short by a crash is dropped.
        let len = std::fs::metadata(&path).expect("exists").len();
        let file = OpenOptions::new().append(true).open(&path).expect("opens");
        file.set_len(len + 7).expect("grows");
        let (_, last) = Receipts::open(&path, 1).expect("reopens");
        assert_eq!(last, Some(LastBlock { height: 2, digest: [2; 32] }));
        assert_eq!(std::fs::metadata(&path).expect("exists").len(), len);
        let _ = std::fs::remove_file(&path);
    }
}
