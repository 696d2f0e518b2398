//! Deterministic simulations of Accord networks: 4 and 7 validators, crashes and restarts,
//! partitions and heals, lossy and slow links, with and without a byzantine validator.
//! Every property of [`accord_sim::run`] is checked after each run.
//!
//! `ACCORD_SIM_SEEDS=N` runs N seeds per case (default below; CI runs the default, 200+ in
//! all). A failing seed is printed with the command that replays it:
//! `ACCORD_SIM_SEED=<seed> cargo test --release -p accord-sim -- <case>`.

use accord_sim::{run, Scenario};

/// The seeds to run: the replayed one, or `count` (default `default`) derived from `salt`.
fn seeds(default: u64, salt: u64) -> Vec<u64> {
    if let Ok(one) = std::env::var("ACCORD_SIM_SEED") {
        return vec![one.parse().expect("ACCORD_SIM_SEED is a number")];
    }
    let count = std::env::var("ACCORD_SIM_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    (0..count).map(|i: u64| i.wrapping_mul(1_000_003).wrapping_add(salt)).collect()
}

/// Every other seed also changes the validator set mid-run (see `Scenario::reconfigure`).
fn case(name: &str, validators: usize, byzantine: bool, default_seeds: u64, salt: u64) {
    let mut heights = Vec::new();
    for seed in seeds(default_seeds, salt) {
        let scenario = Scenario { seed, validators, byzantine, faults: true, reconfigure: seed % 2 == 0 };
        let outcome = std::panic::catch_unwind(|| run(scenario)).unwrap_or_else(|e| {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{name}: seed {seed} failed: {why}\nreplay: ACCORD_SIM_SEED={seed} cargo test --release -p accord-sim -- {name}")
        });
        assert!(outcome.acknowledged > 0, "{name}: seed {seed}: nothing committed");
        heights.push(outcome.height);
        eprintln!("{name}: seed {seed}: {outcome:?}");
    }
    eprintln!("{name}: {} seeds passed", heights.len());
}

#[test]
fn four_validators_crashes_and_partitions() {
    case("four_validators_crashes_and_partitions", 4, false, 60, 4);
}

#[test]
fn seven_validators_crashes_and_partitions() {
    case("seven_validators_crashes_and_partitions", 7, false, 50, 7);
}

#[test]
fn four_validators_one_byzantine() {
    case("four_validators_one_byzantine", 4, true, 50, 41);
}

#[test]
fn seven_validators_one_byzantine() {
    case("seven_validators_one_byzantine", 7, true, 50, 71);
}

/// Without faults (good links, nobody crashes) blocks come steadily, with or without a
/// byzantine validator. Simulated time: the bound does not depend on the machine.
#[test]
fn steady_networks_finalize_steadily() {
    for (validators, byzantine) in [(4, false), (7, false), (4, true), (7, true)] {
        for seed in seeds(1, 0) {
            let outcome = run(Scenario { seed, validators, byzantine, faults: false, reconfigure: false });
            eprintln!("steady, {validators} validators, byzantine {byzantine}, seed {seed}: {outcome:?}");
            assert!(
                outcome.height >= 200,
                "seed {seed}: {validators} validators (byzantine {byzantine}) finalized only {} blocks in about 35 simulated seconds",
                outcome.height
            );
        }
    }
}
