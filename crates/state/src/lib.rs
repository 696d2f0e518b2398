//! The authenticated state: one QMDB behind a plain API (apply block -> root, get, prove, verify).
//!
//! Keys are 32-byte digests, values byte strings of at most [`VALUE_BYTES_MAX`]. All of
//! QMDB's generic machinery is instantiated here, once, with concrete types, so no other
//! crate compiles it. [`verify`] needs no database and no runtime: light clients call it.

use bytes::Bytes;
use commonware_codec::{Decode, Encode, RangeCfg};
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::Sha256;
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::{page_size, CacheRef};
use commonware_runtime::{deterministic, tokio as cw, BLOB_PAGE_SIZE};
use commonware_storage::journal::contiguous::variable::Config as JournalConfig;
use commonware_storage::merkle::full::Config as MerkleConfig;
use commonware_storage::merkle::{mmr, MAX_PROOF_DIGESTS_PER_ELEMENT};
use commonware_storage::qmdb::any::value::VariableEncoding;
use commonware_storage::qmdb::current::ordered::proof::constant::{ExclusionProof, KeyValueProof};
use commonware_storage::qmdb::current::ordered::variable::Db;
use commonware_storage::qmdb::current::VariableConfig;
use commonware_storage::qmdb::floor::Proportional;
use commonware_storage::translator::EightCap;
use std::num::{NonZeroU64, NonZeroUsize};
use thiserror::Error;

/// Largest value the store accepts, in bytes. Checked before every write: QMDB would
/// accept a longer one and then fail to read it back.
pub const VALUE_BYTES_MAX: usize = 64 * 1024;
/// Largest encoded proof a verifier accepts, in bytes.
pub const PROOF_BYTES_MAX: usize = VALUE_BYTES_MAX + 8 * 1024;
/// Bytes per bitmap chunk of the current-state proofs.
const CHUNK: usize = 32;

type Family = mmr::Family;
type ValueEncoding = VariableEncoding<Vec<u8>>;
type DbOn<E> = Db<Family, E, Digest, Vec<u8>, Sha256, EightCap, CHUNK, Sequential>;
type Merkleized = commonware_storage::qmdb::current::batch::MerkleizedBatch<
    Family,
    Digest,
    commonware_storage::qmdb::any::ordered::Update<Digest, ValueEncoding>,
    CHUNK,
    Sequential,
>;
type PresentProof = KeyValueProof<Family, Digest, Digest, CHUNK>;
type AbsentProof = ExclusionProof<Family, Digest, ValueEncoding, Digest, CHUNK>;

/// A state key: the SHA-256 of a logical key.
pub type Key = [u8; 32];
/// A state root.
pub type Root = [u8; 32];

/// What went wrong in the store. Any error from a write leaves the store closed: the
/// node must stop and reopen it (the last committed state is intact).
#[derive(Debug, Error)]
pub enum Error {
    #[error("storage: {0}")]
    Storage(String),
    #[error("value of {len} bytes exceeds the maximum of {VALUE_BYTES_MAX}")]
    ValueTooLarge { len: usize },
    #[error("the store was closed by an earlier failed write")]
    Closed,
}

pub type Result<T> = std::result::Result<T, Error>;

fn storage<E: std::fmt::Debug>(e: E) -> Error {
    Error::Storage(format!("{e:?}"))
}

/// A value and the proof that it is (or, for `None`, that no value is) under a key at `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    pub root: Root,
    pub value: Option<Vec<u8>>,
    pub bytes: Vec<u8>,
}

fn config(prefix: &str) -> VariableConfig<EightCap, ((), (RangeCfg<usize>, ())), Sequential> {
    let buffer = NonZeroUsize::new(1 << 20).unwrap_or(NonZeroUsize::MIN);
    let per_blob = NonZeroU64::new(1 << 16).unwrap_or(NonZeroU64::MIN);
    let cache_pages = NonZeroUsize::new(4096).unwrap_or(NonZeroUsize::MIN);
    let page_cache = CacheRef::new(page_size(BLOB_PAGE_SIZE), cache_pages);
    VariableConfig {
        merkle_config: MerkleConfig {
            journal_partition: format!("{prefix}-mmr-journal"),
            metadata_partition: format!("{prefix}-mmr-metadata"),
            items_per_blob: per_blob,
            write_buffer: buffer,
            replay_buffer: buffer,
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: JournalConfig {
            partition: format!("{prefix}-log"),
            items_per_section: per_blob,
            compression: None,
            codec_config: ((), ((0..=VALUE_BYTES_MAX).into(), ())),
            page_cache,
            write_buffer: buffer,
            replay_buffer: buffer,
        },
        grafted_metadata_partition: format!("{prefix}-grafted-metadata"),
        translator: EightCap,
        init_cache: NonZeroUsize::new(1 << 16),
        init_buffer: NonZeroUsize::new(1 << 21).unwrap_or(NonZeroUsize::MIN),
        init_concurrency: (),
    }
}

/// A block's writes merkleized on top of the committed state or of another staged block,
/// not applied yet: what a block's state would be, before consensus has finalized it.
#[derive(Clone)]
pub struct Staged {
    batch: std::sync::Arc<Merkleized>,
}

impl Staged {
    /// The root the state would have.
    pub fn root(&self) -> Root {
        self.batch.root().0
    }
}

/// The runtime whose storage holds the store: tokio in production, commonware's
/// deterministic runtime in simulation tests. Both instances are compiled here, once.
pub enum Runtime {
    Tokio(cw::Context),
    Deterministic(deterministic::Context),
}

impl From<cw::Context> for Runtime {
    fn from(context: cw::Context) -> Self {
        Runtime::Tokio(context)
    }
}

impl From<deterministic::Context> for Runtime {
    fn from(context: deterministic::Context) -> Self {
        Runtime::Deterministic(context)
    }
}

/// The database on one of the runtimes.
enum Store {
    Tokio(DbOn<cw::Context>),
    Deterministic(DbOn<deterministic::Context>),
}

/// Run the same code on whichever database `$store` holds.
macro_rules! each {
    ($store:expr, |$db:ident| $body:expr) => {
        match $store {
            Store::Tokio($db) => $body,
            Store::Deterministic($db) => $body,
        }
    };
}

/// Run code that consumes the database and gives it back (or fails).
macro_rules! rebuild {
    ($store:expr, |$db:ident| $body:expr) => {
        match $store {
            Store::Tokio($db) => $body.map(Store::Tokio),
            Store::Deterministic($db) => $body.map(Store::Deterministic),
        }
    };
}

/// The authenticated store.
pub struct State {
    db: Option<Store>,
}

impl State {
    /// Open (or create) the store in partitions named `<prefix>-…` of `context`'s storage.
    /// Reopening restores the last committed state, root and metadata.
    pub async fn open(runtime: impl Into<Runtime>, prefix: &str) -> Result<Self> {
        let db = match runtime.into() {
            Runtime::Tokio(c) => Store::Tokio(DbOn::init(c, config(prefix), None).await.map_err(storage)?),
            Runtime::Deterministic(c) => Store::Deterministic(DbOn::init(c, config(prefix), None).await.map_err(storage)?),
        };
        Ok(Self { db: Some(db) })
    }

    fn db(&self) -> Result<&Store> {
        self.db.as_ref().ok_or(Error::Closed)
    }

    /// The root of the last applied block.
    pub fn root(&self) -> Result<Root> {
        Ok(each!(self.db()?, |db| db.root().0))
    }

    /// The metadata committed with the last block (`None` before the first).
    pub async fn metadata(&self) -> Result<Option<Vec<u8>>> {
        each!(self.db()?, |db| db.get_metadata().await.map_err(storage))
    }

    pub async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        each!(self.db()?, |db| db.get(&Digest(*key)).await.map_err(storage))
    }

    /// Values of `keys`, in order.
    pub async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let digests: Vec<Digest> = keys.iter().map(|k| Digest(*k)).collect();
        let refs: Vec<&Digest> = digests.iter().collect();
        each!(self.db()?, |db| db.get_many(&refs).await.map_err(storage))
    }

    /// Values of `keys` as of `at` (a staged block, read through its staged ancestors), or
    /// of the committed state.
    pub async fn get_many_at(&self, at: Option<&Staged>, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let Some(at) = at else { return self.get_many(keys).await };
        let digests: Vec<Digest> = keys.iter().map(|k| Digest(*k)).collect();
        let refs: Vec<&Digest> = digests.iter().collect();
        each!(self.db()?, |db| at.batch.get_many(&refs, db).await.map_err(storage))
    }

    /// Merkleize one block's writes with its metadata on top of `parent` (or the committed
    /// state) without applying them. Fails if `parent`'s chain no longer leads to the
    /// committed state (a fork that lost).
    pub async fn stage(&self, parent: Option<&Staged>, writes: Vec<(Key, Option<Vec<u8>>)>, metadata: Vec<u8>) -> Result<Staged> {
        for (_, value) in &writes {
            if let Some(v) = value {
                if v.len() > VALUE_BYTES_MAX {
                    return Err(Error::ValueTooLarge { len: v.len() });
                }
            }
        }
        let batch = each!(self.db()?, |db| {
            let mut batch = match parent {
                Some(p) => p.batch.new_batch::<Sha256>(),
                None => db.new_batch(),
            };
            for (key, value) in writes {
                batch = batch.write(Digest(key), value);
            }
            batch.merkleize(db, Some(metadata), &mut Proportional).await.map_err(storage)?
        });
        Ok(Staged { batch })
    }

    /// Apply a staged block (its staged parent, if any, applied before) and make it durable.
    /// On error the store is closed; the state on disk is the last committed one.
    pub async fn commit_staged(&mut self, staged: Staged) -> Result<Root> {
        let store = self.db.take().ok_or(Error::Closed)?;
        if let Err(e) = each!(&store, |db| db.validate_batch(&staged.batch).map_err(storage)) {
            self.db = Some(store);
            return Err(e);
        }
        let store = rebuild!(store, |db| async {
            let db = db.apply_batch(staged.batch).await.map_err(storage)?;
            db.commit().await.map_err(storage)
        }
        .await)?;
        let root = each!(&store, |db| db.root().0);
        self.db = Some(store);
        Ok(root)
    }

    /// Apply one block's writes (`None` deletes) with its metadata, durably. Returns the new root.
    ///
    /// On error the store is closed; the state on disk is the last committed one.
    pub async fn apply(&mut self, writes: Vec<(Key, Option<Vec<u8>>)>, metadata: Vec<u8>) -> Result<Root> {
        for (_, value) in &writes {
            if let Some(v) = value {
                if v.len() > VALUE_BYTES_MAX {
                    return Err(Error::ValueTooLarge { len: v.len() });
                }
            }
        }
        let store = self.db.take().ok_or(Error::Closed)?;
        let store = rebuild!(store, |db| async {
            let mut batch = db.new_batch();
            for (key, value) in writes {
                batch = batch.write(Digest(key), value);
            }
            let merkleized = batch.merkleize(&db, Some(metadata), &mut Proportional).await.map_err(storage)?;
            let db = db.apply_batch(merkleized).await.map_err(storage)?;
            db.commit().await.map_err(storage)
        }
        .await)?;
        let root = each!(&store, |db| db.root().0);
        self.db = Some(store);
        Ok(root)
    }

    /// Flush everything so the next open needs no recovery, and reclaim space of old history.
    pub async fn sync_and_prune(&mut self) -> Result<()> {
        let store = self.db.take().ok_or(Error::Closed)?;
        let store = rebuild!(store, |db| async {
            let boundary = db.sync_boundary();
            let db = db.prune(boundary).await.map_err(storage)?;
            db.sync().await.map_err(storage)
        }
        .await)?;
        self.db = Some(store);
        Ok(())
    }

    /// The value under `key` (or its absence) with a proof against the current root.
    pub async fn prove(&self, key: &Key) -> Result<Proof> {
        let digest = Digest(*key);
        each!(self.db()?, |db| {
            let root = db.root().0;
            match db.get(&digest).await.map_err(storage)? {
                Some(value) => {
                    let proof = db.key_value_proof(digest).await.map_err(storage)?;
                    Ok(Proof { root, value: Some(value), bytes: proof.encode().to_vec() })
                }
                None => {
                    let proof = db.exclusion_proof(&digest).await.map_err(storage)?;
                    Ok(Proof { root, value: None, bytes: proof.encode().to_vec() })
                }
            }
        })
    }
}

/// Check that `value` is (or, for `None`, that no value is) under `key` in the state with
/// `root`. Needs nothing but its arguments.
pub fn verify(root: &Root, key: &Key, value: Option<&[u8]>, proof: &[u8]) -> bool {
    if proof.len() > PROOF_BYTES_MAX {
        return false;
    }
    let root = Digest(*root);
    let proof = Bytes::copy_from_slice(proof);
    match value {
        Some(value) => match PresentProof::decode_cfg(proof, &(MAX_PROOF_DIGESTS_PER_ELEMENT, ())) {
            Ok(p) => p.verify::<Sha256, ValueEncoding>(Digest(*key), value.to_vec(), &root),
            Err(_) => false,
        },
        None => {
            let value_cfg: (RangeCfg<usize>, ()) = ((0..=VALUE_BYTES_MAX).into(), ());
            let cfg = (MAX_PROOF_DIGESTS_PER_ELEMENT, ((), value_cfg), value_cfg);
            match AbsentProof::decode_cfg(proof, &cfg) {
                Ok(p) => p.verify::<Sha256>(&Digest(*key), &root),
                Err(_) => false,
            }
        }
    }
}
