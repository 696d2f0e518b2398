//! Epoch arithmetic, the same as commonware's `FixedEpocher`: epoch `e` is heights
//! `e·E ..= (e+1)·E − 1` (epoch 0 holds the genesis block too). One copy for consensus,
//! the validators module, the node and the verifying client.

/// The epochs of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epochs {
    /// Blocks per epoch; `None`: one epoch forever (the set never changes).
    pub length: Option<u64>,
}

impl Epochs {
    pub fn epoch(&self, height: u64) -> u64 {
        self.length.map_or(0, |l| height / l)
    }
    /// The first height of `epoch`.
    pub fn first(&self, epoch: u64) -> u64 {
        self.length.map_or(0, |l| epoch.saturating_mul(l))
    }
    /// The last height of `epoch` (its boundary block).
    pub fn last(&self, epoch: u64) -> u64 {
        self.length.map_or(u64::MAX, |l| epoch.saturating_add(1).saturating_mul(l).saturating_sub(1))
    }
    /// The height after which the set of `epoch + 1` is frozen (the epoch's midpoint).
    pub fn freeze(&self, epoch: u64) -> Option<u64> {
        self.length.map(|l| epoch.saturating_mul(l).saturating_add(l / 2))
    }
    /// The epoch whose set block `height` freezes, if it is a freeze block.
    pub fn frozen_by(&self, height: u64) -> Option<u64> {
        let epoch = self.epoch(height);
        (self.freeze(epoch) == Some(height)).then_some(epoch + 1)
    }
}
