//! Behaviour of the points module, driven through the real executor on in-memory state.

use accord_exec::testkit::TestChain;
use accord_exec::Executor;
use accord_points::Points;
use accord_types::limits::DAY_MS;
use accord_types::{Action, Address, AssetKind, PointsAction, Reject, SignedTx};
use proptest::prelude::*;

struct World(TestChain);

impl std::ops::Deref for World {
    type Target = TestChain;
    fn deref(&self) -> &TestChain {
        &self.0
    }
}

impl std::ops::DerefMut for World {
    fn deref_mut(&mut self) -> &mut TestChain {
        &mut self.0
    }
}

impl World {
    fn new(users: u64) -> Self {
        World(TestChain::new(Executor::new("accord-test", vec![Box::new(Points)]), users))
    }

    fn tx(&self, user: usize, actions: Vec<PointsAction>) -> SignedTx {
        self.0.sign(user, actions.into_iter().map(Action::Points).collect())
    }

    /// Run one transaction in its own block.
    fn run(&mut self, user: usize, actions: Vec<PointsAction>) -> Result<(), Reject> {
        self.0.run(user, actions.into_iter().map(Action::Points).collect()).map(|_| ())
    }

    fn run_signed(&mut self, tx: SignedTx) -> Result<(), Reject> {
        self.0.run_signed(tx).map(|_| ())
    }

    fn balance(&self, user: usize, symbol: &str) -> u128 {
        self.0.balance(&self.who(user), symbol)
    }
}

fn create(symbol: &str, max: Option<u128>, per_day: Option<u128>, transferable: bool) -> PointsAction {
    PointsAction::CreateAsset {
        symbol: symbol.into(),
        name: format!("{symbol} points"),
        decimals: 2,
        kind: AssetKind::Points,
        max_supply: max,
        mint_limit_per_day: per_day,
        transferable,
        lifetime_ms: None,
    }
}

fn mint(symbol: &str, to: Address, amount: u128, external_ref: Option<&str>) -> PointsAction {
    PointsAction::Mint {
        symbol: symbol.into(),
        to,
        amount,
        reason: "parking reward".into(),
        external_ref: external_ref.map(str::to_string),
    }
}

fn transfer(symbol: &str, to: Address, amount: u128) -> PointsAction {
    PointsAction::Transfer { symbol: symbol.into(), to, amount }
}

#[test]
fn issuer_mints_and_holders_transfer_and_burn() {
    let mut w = World::new(3);
    let (alice, bob) = (w.who(1), w.who(2));
    w.run(0, vec![create("PARK", Some(1_000_000), None, true)]).expect("created");
    w.run(0, vec![mint("PARK", alice, 1_200, None)]).expect("minted");
    w.run(1, vec![transfer("PARK", bob, 200)]).expect("transferred");
    w.run(2, vec![PointsAction::Burn { symbol: "PARK".into(), amount: 50 }]).expect("burned");
    assert_eq!((w.balance(1, "PARK"), w.balance(2, "PARK")), (1_000, 150));
}

#[test]
fn every_bad_input_is_a_typed_reject_and_changes_nothing() {
    let mut w = World::new(3);
    let alice = w.who(1);
    w.run(0, vec![create("PARK", Some(1_000), Some(600), true)]).expect("created");
    w.run(0, vec![create("GIFT", None, None, false)]).expect("created");
    let cases: Vec<(usize, Vec<PointsAction>, Reject)> = vec![
        (0, vec![create("PARK", None, None, true)], Reject::DuplicateSymbol),
        (0, vec![create("park", None, None, true)], Reject::InvalidSymbol),
        (0, vec![create("P", None, None, true)], Reject::InvalidSymbol),
        (0, vec![create("ZERO", Some(0), None, true)], Reject::ZeroCap),
        (1, vec![mint("PARK", alice, 10, None)], Reject::NotIssuer),
        (0, vec![mint("NOPE", alice, 10, None)], Reject::UnknownAsset),
        (0, vec![mint("PARK", alice, 0, None)], Reject::ZeroAmount),
        (0, vec![mint("PARK", alice, 601, None)], Reject::OverDailyMintLimit),
        (1, vec![transfer("PARK", alice, 1)], Reject::InsufficientBalance),
        (0, vec![mint("PARK", alice, u128::MAX, None)], Reject::OverMaxSupply),
    ];
    for (user, actions, expected) in cases {
        assert_eq!(w.run(user, actions.clone()), Err(expected), "{actions:?}");
    }
    // Sums that do not fit in 128 bits are refused.
    w.run(0, vec![create("BIG", None, None, true)]).expect("created");
    w.run(0, vec![mint("BIG", alice, u128::MAX, None)]).expect("minted");
    assert_eq!(w.run(0, vec![mint("BIG", alice, 1, None)]), Err(Reject::AmountOverflow));
    // Caps: 600 today, then 400 more tomorrow reaches the 1,000 hard cap; one more unit fails.
    w.run(0, vec![mint("PARK", alice, 600, Some("r1"))]).expect("minted");
    assert_eq!(w.run(0, vec![mint("PARK", alice, 1, Some("r2"))]), Err(Reject::OverDailyMintLimit));
    w.time_ms += DAY_MS;
    assert_eq!(w.run(0, vec![mint("PARK", alice, 1, Some("r1"))]), Err(Reject::ExternalRefUsed));
    w.run(0, vec![mint("PARK", alice, 400, Some("r2"))]).expect("minted");
    assert_eq!(w.run(0, vec![mint("PARK", alice, 1, None)]), Err(Reject::OverMaxSupply));
    // Non-transferable points move only to or from their issuer.
    w.run(0, vec![mint("GIFT", alice, 5, None)]).expect("minted");
    assert_eq!(w.run(1, vec![transfer("GIFT", w.who(2), 1)]), Err(Reject::NotTransferable));
    w.run(1, vec![transfer("GIFT", w.who(0), 1)]).expect("redeemed to issuer");
}

#[test]
fn all_actions_of_a_transaction_apply_or_none_does() {
    let mut w = World::new(3);
    let (alice, bob) = (w.who(1), w.who(2));
    w.run(0, vec![create("PARK", None, None, true)]).expect("created");
    w.run(0, vec![mint("PARK", alice, 100, None)]).expect("minted");
    // The first transfer is fine, the second overdraws: neither may happen.
    let result = w.run(1, vec![transfer("PARK", bob, 60), transfer("PARK", bob, 60)]);
    assert_eq!(result, Err(Reject::InsufficientBalance));
    assert_eq!((w.balance(1, "PARK"), w.balance(2, "PARK")), (100, 0));
}

#[test]
fn nonces_must_follow_in_order_and_other_chains_are_refused() {
    let mut w = World::new(2);
    w.run(0, vec![create("PARK", None, None, true)]).expect("created");
    let mut stale = w.tx(0, vec![create("MALL", None, None, true)]);
    stale.tx.nonce = 0;
    let stale = stale.tx.sign(&w.keys[0]);
    assert_eq!(w.run_signed(stale), Err(Reject::NonceTooLow));
    let mut ahead = w.tx(0, vec![create("MALL", None, None, true)]).tx;
    ahead.nonce = 5;
    assert_eq!(w.run_signed(ahead.sign(&w.keys[0])), Err(Reject::NonceTooHigh));
    let mut other = w.tx(0, vec![create("MALL", None, None, true)]).tx;
    other.chain_id = "another-chain".into();
    assert_eq!(w.run_signed(other.sign(&w.keys[0])), Err(Reject::WrongChainId));
    let mut forged = w.tx(0, vec![create("MALL", None, None, true)]);
    forged.signature[0] ^= 1;
    assert_eq!(w.run_signed(forged), Err(Reject::BadSignature));
}

#[derive(Clone, Debug)]
enum Op {
    Mint { to: usize, amount: u128 },
    Transfer { from: usize, to: usize, amount: u128 },
    Burn { from: usize, amount: u128 },
}

fn op() -> impl Strategy<Value = Op> {
    let amount = prop_oneof![1u128..2_000, Just(u128::MAX), Just(0u128)];
    prop_oneof![
        (1usize..5, amount.clone()).prop_map(|(to, amount)| Op::Mint { to, amount }),
        (0usize..5, 0usize..5, amount.clone()).prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        (0usize..5, amount).prop_map(|(from, amount)| Op::Burn { from, amount }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random action sequences never create or destroy value, and caps are never passed.
    #[test]
    fn random_sequences_conserve_value_and_respect_caps(ops in proptest::collection::vec(op(), 1..60)) {
        let mut w = World::new(5);
        w.run(0, vec![create("PARK", Some(10_000), Some(5_000), true)]).expect("created");
        let mut issued: u128 = 0;
        let mut burned: u128 = 0;
        for op in ops {
            let (user, action) = match op {
                Op::Mint { to, amount } => (0, mint("PARK", w.who(to), amount, None)),
                Op::Transfer { from, to, amount } => (from, transfer("PARK", w.who(to), amount)),
                Op::Burn { from, amount } => (from, PointsAction::Burn { symbol: "PARK".into(), amount }),
            };
            if w.run(user, vec![action.clone()]).is_ok() {
                match action {
                    PointsAction::Mint { amount, .. } => issued += amount,
                    PointsAction::Burn { amount, .. } => burned += amount,
                    _ => {}
                }
            }
            w.time_ms += DAY_MS / 3;
            prop_assert!(issued - burned <= 10_000);
            let total: u128 = (0..5).map(|u| w.balance(u, "PARK")).sum();
            prop_assert_eq!(total, issued - burned);
        }
    }
}
