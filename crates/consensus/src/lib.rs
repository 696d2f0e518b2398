//! Adapter between commonware's BFT engine (simplex + marshal) and Accord's executor.
//!
//! [`start`] wires the authenticated p2p network, the simplex engine, marshal (ordering,
//! storing and backfilling finalized blocks with their certificates) and our [`app::App`].
//! One validator or many: the same code path.

pub mod app;
pub mod block;
pub mod engine;
pub mod epochs;
pub mod finality;
mod orchestrator;

pub use app::{App, Host};
pub use block::Block;
pub use engine::{run, start, Channels, Chain, Config, Finalized, Gossip, Started, Track, Validator, CHANNELS};
pub use epochs::EpochSchemes;
