//! Transactions waiting for a block, in arrival order, contiguous in nonce per signer.
//!
//! A transaction stays here until a finalized block includes it. Taking it for a proposal
//! only marks it in flight; if that proposal is never finalized, the next finalized height
//! releases it for another proposal.

use accord_types::{Address, Reject, SignedTx, TxHash};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

struct Entry {
    tx: SignedTx,
    /// Height of the proposal that carries it, if any.
    in_flight: Option<u64>,
}

#[derive(Default)]
struct Inner {
    order: VecDeque<TxHash>,
    entries: HashMap<TxHash, Entry>,
    /// Per signer: the nonce after its last pending transaction, and how many are pending.
    pending: HashMap<Address, (u64, usize)>,
    available: usize,
    /// Transactions seen in blocks not final yet that were not queued here (yet), with the
    /// block's height: if one arrives, it waits like the rest of that block.
    in_blocks: HashMap<TxHash, u64>,
}

/// The node's transaction queue.
pub struct Mempool {
    inner: Mutex<Inner>,
    arrived: tokio::sync::Notify,
    capacity: usize,
}

impl Mempool {
    pub fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new(Inner::default()), arrived: tokio::sync::Notify::new(), capacity }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next nonce `signer` must use, given its committed nonce.
    pub fn next_nonce(&self, signer: &Address, committed: u64) -> u64 {
        self.lock().pending.get(signer).map_or(committed, |(next, _)| (*next).max(committed))
    }

    pub fn contains(&self, hash: &TxHash) -> bool {
        self.lock().entries.contains_key(hash)
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queue `tx` if its nonce is exactly the next one for its signer.
    pub fn insert(&self, tx: SignedTx, committed_nonce: u64) -> Result<(), Reject> {
        let mut inner = self.lock();
        if inner.entries.contains_key(&tx.hash) {
            return Err(Reject::DuplicateTransaction);
        }
        let signer = tx.tx.signer;
        let expected = inner.pending.get(&signer).map_or(committed_nonce, |(n, _)| (*n).max(committed_nonce));
        if tx.tx.nonce < expected {
            return Err(Reject::NonceTooLow);
        }
        if tx.tx.nonce > expected {
            return Err(Reject::NonceTooHigh);
        }
        if inner.entries.len() >= self.capacity {
            return Err(Reject::MempoolFull);
        }
        let entry = inner.pending.entry(signer).or_insert((expected, 0));
        entry.0 = tx.tx.nonce + 1;
        entry.1 += 1;
        inner.order.push_back(tx.hash);
        let in_flight = inner.in_blocks.get(&tx.hash).copied();
        inner.entries.insert(tx.hash, Entry { tx, in_flight });
        if in_flight.is_none() {
            inner.available += 1;
        }
        drop(inner);
        self.arrived.notify_waiters();
        Ok(())
    }

    /// Wait until a transaction is available or `deadline` (a timer) fires.
    pub async fn wait_for_any(&self, deadline: impl std::future::Future<Output = ()>) {
        let deadline = std::pin::pin!(deadline);
        let mut deadline = futures::FutureExt::fuse(deadline);
        loop {
            let notified = self.arrived.notified();
            if self.lock().available > 0 {
                return;
            }
            futures::select_biased! {
                () = futures::FutureExt::fuse(notified) => {}
                () = deadline => return,
            }
        }
    }

    /// Available transactions in arrival order, marked in flight at `height`: at most
    /// `max_txs` of them and `max_bytes` of encoded body. A signer with a transaction
    /// already in flight gets none of its later ones (their nonces would come too early).
    pub fn take(&self, max_txs: usize, max_bytes: usize, height: u64) -> Vec<SignedTx> {
        let mut inner = self.lock();
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut blocked: std::collections::HashSet<Address> = std::collections::HashSet::new();
        let Inner { order, entries, available, .. } = &mut *inner;
        for hash in order.iter() {
            if out.len() >= max_txs {
                break;
            }
            let Some(entry) = entries.get_mut(hash) else { continue };
            let signer = entry.tx.tx.signer;
            if entry.in_flight.is_some() || blocked.contains(&signer) {
                blocked.insert(signer);
                continue;
            }
            let len = accord_types::BlockBody::encoded_len(&entry.tx);
            if bytes + len > max_bytes {
                break;
            }
            bytes += len;
            entry.in_flight = Some(height);
            *available -= 1;
            out.push(entry.tx.clone());
        }
        out
    }

    /// A block at `height` that is not final yet includes `hashes` (another validator's
    /// proposal, executed speculatively): hold them back from our own proposals until a
    /// block at that height is final; if it is another block, they come back.
    pub fn mark_in_flight(&self, height: u64, hashes: &[TxHash]) {
        let mut inner = self.lock();
        let mut taken = 0;
        for hash in hashes {
            match inner.entries.get_mut(hash) {
                Some(entry) => match entry.in_flight {
                    None => {
                        entry.in_flight = Some(height);
                        taken += 1;
                    }
                    Some(h) if h < height => entry.in_flight = Some(height),
                    Some(_) => {}
                },
                None => {
                    let held = inner.in_blocks.entry(*hash).or_insert(height);
                    *held = (*held).max(height);
                }
            }
        }
        inner.available -= taken;
    }

    /// A block at `height` was finalized with `included`: drop those, release the rest.
    pub fn finalized(&self, height: u64, included: &[TxHash]) {
        let mut inner = self.lock();
        for hash in included {
            if let Some(entry) = inner.entries.remove(hash) {
                if entry.in_flight.is_none() {
                    inner.available -= 1;
                }
                let signer = entry.tx.tx.signer;
                if let Some(p) = inner.pending.get_mut(&signer) {
                    p.1 -= 1;
                    if p.1 == 0 {
                        inner.pending.remove(&signer);
                    }
                }
            }
        }
        let mut released = 0;
        for entry in inner.entries.values_mut() {
            if entry.in_flight.is_some_and(|h| h <= height) {
                entry.in_flight = None;
                released += 1;
            }
        }
        inner.available += released;
        inner.in_blocks.retain(|_, h| *h > height);
        let Inner { order, entries, .. } = &mut *inner;
        while order.front().is_some_and(|h| !entries.contains_key(h)) {
            order.pop_front();
        }
        if order.len() > 2 * entries.len() + 1024 {
            order.retain(|h| entries.contains_key(h));
        }
        drop(inner);
        if released > 0 {
            self.arrived.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_types::{Action, PointsAction, Transaction};
    use commonware_codec::Encode;
    use commonware_cryptography::{ed25519, Signer};

    fn tx(seed: u64, nonce: u64) -> SignedTx {
        let key = ed25519::PrivateKey::from_seed(seed);
        let signer = Address(key.public_key().encode().as_ref().try_into().expect("32 bytes"));
        let action = PointsAction::Burn { symbol: "PARK".into(), amount: 1 };
        Transaction { chain_id: "t".into(), signer, nonce, actions: vec![Action::Points(action)], memo: String::new() }
            .sign(&key)
    }

    #[test]
    fn nonces_must_be_contiguous_per_signer() {
        let pool = Mempool::new(10);
        assert_eq!(pool.insert(tx(1, 3), 4), Err(Reject::NonceTooLow));
        assert_eq!(pool.insert(tx(1, 5), 4), Err(Reject::NonceTooHigh));
        pool.insert(tx(1, 4), 4).expect("next nonce");
        assert_eq!(pool.insert(tx(1, 4), 4), Err(Reject::DuplicateTransaction));
        pool.insert(tx(1, 5), 4).expect("following nonce");
        assert_eq!(pool.next_nonce(&tx(1, 0).tx.signer, 4), 6);
    }

    #[test]
    fn a_proposal_that_never_finalizes_loses_nothing_and_keeps_nonce_order() {
        let pool = Mempool::new(10);
        pool.insert(tx(1, 0), 0).expect("queued");
        pool.insert(tx(2, 0), 0).expect("queued");
        let first = pool.take(10, usize::MAX, 5);
        assert_eq!(first.len(), 2);
        // A later nonce of a signer whose earlier one is in flight waits.
        pool.insert(tx(1, 1), 0).expect("queued");
        assert!(pool.take(10, usize::MAX, 5).is_empty());
        // Height 5 finalized with only signer 2's transaction: signer 1's is released, in order.
        pool.finalized(5, &[first[1].hash]);
        let again = pool.take(10, usize::MAX, 6);
        assert_eq!(again.iter().map(|t| t.tx.nonce).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn transactions_in_a_block_not_final_yet_wait_and_come_back_if_it_loses() {
        let pool = Mempool::new(100);
        let (a, b) = (tx(1, 0), tx(2, 0));
        pool.insert(a.clone(), 0).expect("a");
        pool.insert(b.clone(), 0).expect("b");
        pool.mark_in_flight(5, &[a.hash]);
        assert_eq!(pool.take(10, usize::MAX, 6), vec![b.clone()], "a is in another proposer's block");
        // Another block was final at height 5: a comes back; b (ours, at 6) stays out.
        pool.finalized(5, &[]);
        assert_eq!(pool.take(10, usize::MAX, 7), vec![a.clone()]);
        pool.finalized(7, &[a.hash, b.hash]);
        assert!(pool.is_empty());
        // Seen in a block before it arrived here: it waits too.
        let c = tx(3, 0);
        pool.mark_in_flight(8, &[c.hash]);
        pool.insert(c.clone(), 0).expect("c");
        assert!(pool.take(10, usize::MAX, 9).is_empty());
        pool.finalized(8, &[]);
        assert_eq!(pool.take(10, usize::MAX, 9), vec![c]);
    }

    #[test]
    fn a_proposal_respects_the_byte_budget() {
        let pool = Mempool::new(10);
        for seed in 0..5 {
            pool.insert(tx(seed, 0), 0).expect("queued");
        }
        let one = accord_types::BlockBody::encoded_len(&tx(0, 0));
        assert_eq!(pool.take(10, one * 2 + 1, 1).len(), 2);
        assert_eq!(pool.take(1, usize::MAX, 1).len(), 1);
    }
}
