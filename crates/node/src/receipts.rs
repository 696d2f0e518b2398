//! Receipts of executed blocks: an append-only, fsynced log plus an in-memory index by hash.
//!
//! Record: `height (u64 BE) || length (u32 BE) || JSON array of receipts`. A record cut
//! short by a crash is dropped at open; records above the state's height are dropped too
//! (their block is executed again and writes them again).

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

struct Inner {
    file: File,
    end: u64,
    blocks: BTreeMap<u64, (u64, u32)>,
    index: HashMap<TxHash, (u64, u32)>,
}

/// The receipt log.
pub struct Receipts {
    inner: Mutex<Inner>,
}

fn io(e: std::io::Error) -> String {
    format!("receipt log: {e}")
}

impl Receipts {
    /// Open the log, keeping only whole records of heights `<= executed_height`.
    pub fn open(path: &Path, executed_height: u64) -> Result<Self, String> {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut blocks = BTreeMap::new();
        let mut index = HashMap::new();
        let mut at = 0usize;
        while at + 12 <= bytes.len() {
            let height = u64::from_be_bytes(bytes[at..at + 8].try_into().map_err(|_| "receipt log: header")?);
            let len = u32::from_be_bytes(bytes[at + 8..at + 12].try_into().map_err(|_| "receipt log: header")?);
            let start = at + 12;
            let end = start + len as usize;
            if end > bytes.len() || height > executed_height {
                break;
            }
            let Ok(receipts) = serde_json::from_slice::<Vec<Receipt>>(&bytes[start..end]) else { break };
            for r in &receipts {
                if let Ok(hash) = r.hash.parse::<TxHash>() {
                    index.insert(hash, (height, r.index));
                }
            }
            blocks.insert(height, (start as u64, len));
            at = end;
        }
        file.set_len(at as u64).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { inner: Mutex::new(Inner { file, end: at as u64, blocks, index }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append the receipts of block `height` durably.
    pub fn append(&self, height: u64, receipts: &[Receipt]) -> Result<(), String> {
        let json = serde_json::to_vec(receipts).map_err(|e| e.to_string())?;
        let mut inner = self.lock();
        if inner.blocks.contains_key(&height) {
            return Ok(());
        }
        let mut record = Vec::with_capacity(12 + json.len());
        record.extend_from_slice(&height.to_be_bytes());
        record.extend_from_slice(&(json.len() as u32).to_be_bytes());
        record.extend_from_slice(&json);
        let end = inner.end;
        inner.file.seek(SeekFrom::Start(end)).map_err(io)?;
        inner.file.write_all(&record).map_err(io)?;
        inner.file.sync_data().map_err(io)?;
        inner.blocks.insert(height, (end + 12, json.len() as u32));
        inner.end = end + record.len() as u64;
        for r in receipts {
            if let Ok(hash) = r.hash.parse::<TxHash>() {
                inner.index.insert(hash, (height, r.index));
            }
        }
        Ok(())
    }

    /// Every receipt of block `height`.
    pub fn block(&self, height: u64) -> Result<Vec<Receipt>, String> {
        let mut inner = self.lock();
        let Some((offset, len)) = inner.blocks.get(&height).copied() else { return Ok(Vec::new()) };
        let mut buf = vec![0u8; len as usize];
        inner.file.seek(SeekFrom::Start(offset)).map_err(io)?;
        inner.file.read_exact(&mut buf).map_err(io)?;
        serde_json::from_slice(&buf).map_err(|e| e.to_string())
    }

    /// The receipt of transaction `hash`, if it was executed.
    pub fn get(&self, hash: &TxHash) -> Result<Option<Receipt>, String> {
        let Some((height, index)) = self.lock().index.get(hash).copied() else { return Ok(None) };
        Ok(self.block(height)?.into_iter().nth(index as usize))
    }

    pub fn contains(&self, hash: &TxHash) -> bool {
        self.lock().index.contains_key(hash)
    }

    pub fn count(&self) -> usize {
        self.lock().index.len()
    }
}
