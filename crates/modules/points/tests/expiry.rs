//! Points with a lifetime: lots, oldest first, expiry in the block their time passes.

use accord_exec::testkit::TestChain;
use accord_exec::{Account, Executor, Supply};
use accord_points::Points;
use accord_types::limits::{DAY_MS, EXPIRIES_PER_BLOCK_MAX};
use accord_types::{Action, Address, AssetKind, Event, PointsAction, Reject, RouteTerms};
use proptest::prelude::*;

const ISSUER: usize = 0;
const HOLDER: usize = 1;
const OTHER: usize = 2;
const LIFETIME: u64 = 30 * DAY_MS;

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

fn create(symbol: &str, lifetime_ms: Option<u64>, transferable: bool, max_supply: Option<u128>) -> PointsAction {
    PointsAction::CreateAsset {
        symbol: symbol.into(),
        name: format!("{symbol} points"),
        decimals: 0,
        kind: AssetKind::Points,
        max_supply,
        mint_limit_per_day: None,
        transferable,
        lifetime_ms,
    }
}

impl World {
    /// GIFT: 30-day points of ISSUER.
    fn new(users: u64) -> Self {
        let mut w = World(TestChain::new(Executor::new("accord-test", vec![Box::new(Points)]), users));
        w.ok(ISSUER, create("GIFT", Some(LIFETIME), false, Some(1_000)));
        w
    }

    fn ok(&mut self, user: usize, action: PointsAction) -> Vec<Event> {
        let shown = format!("{action:?}");
        self.0.run(user, vec![Action::Points(action)]).unwrap_or_else(|r| panic!("{shown}: {r}"))
    }

    fn run(&mut self, user: usize, action: PointsAction) -> Result<Vec<Event>, Reject> {
        self.0.run(user, vec![Action::Points(action)])
    }

    fn mint(&mut self, to: usize, amount: u128) {
        let to = self.who(to);
        self.ok(ISSUER, PointsAction::Mint { symbol: "GIFT".into(), to, amount, reason: "purchase".into(), external_ref: None });
    }

    fn held(&self, user: usize) -> u128 {
        self.0.balance(&self.who(user), "GIFT")
    }

    fn lots(&self, user: usize) -> Vec<(u64, u128)> {
        let account = self.state.entries.get(&accord_exec::keys::account(&self.who(user)));
        let account = account.map(|b| Account::decode(b).expect("decodes")).unwrap_or_default();
        account.lots.get("GIFT").map(|h| h.lots.iter().map(|l| (l.expires_at_ms, l.amount)).collect()).unwrap_or_default()
    }

    fn supply(&self) -> Supply {
        let bytes = self.state.entries.get(&accord_exec::keys::supply("GIFT")).expect("supply");
        Supply::decode(bytes).expect("decodes")
    }

    fn expired_events(events: &[Event]) -> Vec<(Address, u128)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Expired { holder, amount, .. } => Some((*holder, *amount)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn lots_expire_in_order_in_the_block_their_time_passes() {
    let mut w = World::new(3);
    let start = w.time_ms;
    w.mint(HOLDER, 100); // lot A: expires at start + 30 days
    w.time_ms += 10 * DAY_MS;
    w.mint(HOLDER, 50); // lot B: start + 40 days
    assert_eq!(w.lots(HOLDER), vec![(start + LIFETIME, 100), (start + 10 * DAY_MS + LIFETIME, 50)]);

    // Spending takes the oldest lot first.
    w.time_ms += 10 * DAY_MS;
    let issuer = w.who(ISSUER);
    w.ok(HOLDER, PointsAction::Transfer { symbol: "GIFT".into(), to: issuer, amount: 30 });
    assert_eq!(w.lots(HOLDER), vec![(start + LIFETIME, 70), (start + 10 * DAY_MS + LIFETIME, 50)]);
    assert_eq!(w.held(ISSUER), 30, "redeemed points do not expire at the issuer");

    // One millisecond before lot A's time: nothing. At its time: exactly lot A, by itself.
    w.time_ms = start + LIFETIME - 1;
    assert!(World::expired_events(&w.empty_block()).is_empty());
    w.time_ms = start + LIFETIME;
    let holder = w.who(HOLDER);
    assert_eq!(World::expired_events(&w.empty_block()), vec![(holder, 70)]);
    assert_eq!(w.held(HOLDER), 50);
    let supply = w.supply();
    assert_eq!((supply.issued, supply.burned, supply.expired, supply.circulating()), (150, 0, 70, 80));

    // Lot B, ten days later; the holder holds nothing after it.
    w.time_ms = start + 10 * DAY_MS + LIFETIME;
    assert_eq!(World::expired_events(&w.empty_block()), vec![(holder, 50)]);
    assert_eq!((w.held(HOLDER), w.supply().holders, w.supply().expired), (0, 1, 120), "only the issuer holds some");
    assert!(w.lots(HOLDER).is_empty());
    // Expired units leave room under the cap: 1,000 − (150 − 120) is mintable again.
    w.mint(OTHER, 970);
    assert_eq!(w.run(ISSUER, PointsAction::Mint { symbol: "GIFT".into(), to: holder, amount: 1, reason: "x".into(), external_ref: None }),
        Err(Reject::OverMaxSupply));
}

#[test]
fn expiring_points_move_only_to_or_from_their_issuer() {
    let mut w = World::new(3);
    let (holder, other, issuer) = (w.who(HOLDER), w.who(OTHER), w.who(ISSUER));
    for (action, expected) in [
        (create("BAD", Some(LIFETIME), true, None), Reject::InvalidLifetime),
        (create("BAD", Some(999), false, None), Reject::InvalidLifetime),
        (create("BAD", Some(3_661 * DAY_MS), false, None), Reject::InvalidLifetime),
    ] {
        assert_eq!(w.run(ISSUER, action), Err(expected));
    }
    w.mint(HOLDER, 10);
    assert_eq!(w.run(HOLDER, PointsAction::Transfer { symbol: "GIFT".into(), to: other, amount: 1 }), Err(Reject::NotTransferable));
    // The issuer's own units do not expire; what it gives starts a new lifetime.
    w.mint(ISSUER, 20);
    assert!(w.lots(ISSUER).is_empty());
    w.time_ms += DAY_MS;
    w.ok(ISSUER, PointsAction::Transfer { symbol: "GIFT".into(), to: holder, amount: 5 });
    let lots = w.lots(HOLDER);
    assert_eq!((lots.len(), lots[1].0 - lots[0].0), (2, DAY_MS));
    // Withdrawal and burning take the oldest lots too.
    w.ok(HOLDER, PointsAction::Withdraw { symbol: "GIFT".into(), amount: 12, legacy_account: "card-1".into() });
    assert_eq!(w.lots(HOLDER).iter().map(|l| l.1).collect::<Vec<_>>(), vec![3]);
    let _ = issuer;
}

#[test]
fn conversion_into_expiring_points_starts_a_lot_and_spends_old_ones_first() {
    let mut w = World::new(3);
    let holder = w.who(HOLDER);
    w.ok(OTHER, create("CASH", None, true, None));
    w.ok(OTHER, PointsAction::CreateAsset {
        symbol: "CNY".into(), name: "Yuan".into(), decimals: 2, kind: AssetKind::Currency,
        max_supply: None, mint_limit_per_day: None, transferable: true, lifetime_ms: None,
    });
    let terms = RouteTerms {
        rate_num: 2, rate_den: 1, fee_ppm: 0, daily_limit: None, valid_from_ms: 0, valid_until_ms: None,
        settlement_symbol: "CNY".into(), settle_num: 1, settle_den: 1, clearing_period_ms: DAY_MS,
    };
    w.ok(OTHER, PointsAction::RoutePropose { from: "CASH".into(), to: "GIFT".into(), terms: terms.clone() });
    w.ok(ISSUER, PointsAction::RouteAccept { from: "CASH".into(), to: "GIFT".into(), terms });
    w.ok(OTHER, PointsAction::Mint { symbol: "CASH".into(), to: holder, amount: 10, reason: "x".into(), external_ref: None });
    let now = w.time_ms;
    w.ok(HOLDER, PointsAction::Convert { from: "CASH".into(), to: "GIFT".into(), amount: 10, min_received: None });
    assert_eq!(w.lots(HOLDER), vec![(now + LIFETIME, 20)]);
    w.time_ms = now + LIFETIME;
    assert_eq!(World::expired_events(&w.empty_block()), vec![(holder, 20)]);
}

#[test]
fn a_burst_of_holdings_expires_over_as_many_blocks_as_it_takes() {
    let holders = EXPIRIES_PER_BLOCK_MAX + 44;
    let mut w = World::new(holders as u64 + 1);
    let start = w.time_ms;
    let txs: Vec<_> = (1..=holders)
        .map(|h| {
            let to = w.who(h);
            w.sign(ISSUER, vec![Action::Points(PointsAction::Mint {
                symbol: "GIFT".into(), to, amount: 1, reason: "x".into(), external_ref: None,
            })])
        })
        .collect();
    // One block, one signer: nonces must follow, so sign them in order.
    let mut signed = Vec::new();
    for (i, tx) in txs.into_iter().enumerate() {
        let mut t = tx.tx;
        t.nonce += i as u64;
        signed.push(t.sign(&w.keys[ISSUER]));
    }
    assert!(w.run_block(signed).iter().all(Result::is_ok));
    w.time_ms = start + LIFETIME + 1;
    assert_eq!(World::expired_events(&w.empty_block()).len(), EXPIRIES_PER_BLOCK_MAX);
    assert_eq!(World::expired_events(&w.empty_block()).len(), 44);
    assert_eq!(w.supply().expired, holders as u128);
    assert!(World::expired_events(&w.empty_block()).is_empty());
}

#[test]
fn a_chain_idle_for_months_expires_everything_due_when_it_resumes() {
    let mut w = World::new(3);
    let start = w.time_ms;
    for day in [0, 100, 200] {
        w.time_ms = start + day * DAY_MS;
        w.mint(HOLDER, 10);
        w.mint(OTHER, 1);
    }
    // The lots of day 200 were due 170 days before the chain's next block.
    w.time_ms = start + 400 * DAY_MS;
    assert_eq!(World::expired_events(&w.empty_block()).iter().map(|e| e.1).sum::<u128>(), 11);
    assert_eq!((w.held(HOLDER), w.held(OTHER), w.supply().circulating(), w.supply().expired), (0, 0, 0, 33));
}

#[derive(Clone, Debug)]
enum Op {
    Mint(usize, u128),
    Redeem(usize, u128),
    Burn(usize, u128),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1usize..4, 1u128..50).prop_map(|(u, a)| Op::Mint(u, a)),
        (1usize..4, 1u128..80).prop_map(|(u, a)| Op::Redeem(u, a)),
        (1usize..4, 1u128..80).prop_map(|(u, a)| Op::Burn(u, a)),
        (0u64..20 * DAY_MS).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Against a model of lots: balances, oldest-first spending and expiry agree, and the
    /// supply audit (lots add up to balances) holds after every block.
    #[test]
    fn lots_follow_a_simple_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut w = World::new(4);
        w.ok(ISSUER, create("PTS", Some(LIFETIME), false, None));
        let mut model: Vec<Vec<(u64, u128)>> = vec![Vec::new(); 4];
        let issuer = w.who(ISSUER);
        for op in ops {
            match op {
                Op::Mint(u, a) => {
                    let to = w.who(u);
                    w.ok(ISSUER, PointsAction::Mint { symbol: "PTS".into(), to, amount: a, reason: "x".into(), external_ref: None });
                    let at = w.time_ms + LIFETIME;
                    match model[u].last_mut() {
                        Some(last) if last.0 == at => last.1 += a,
                        _ => model[u].push((at, a)),
                    }
                }
                Op::Redeem(u, a) | Op::Burn(u, a) => {
                    let action = if matches!(op, Op::Redeem(..)) {
                        PointsAction::Transfer { symbol: "PTS".into(), to: issuer, amount: a }
                    } else {
                        PointsAction::Burn { symbol: "PTS".into(), amount: a }
                    };
                    let held: u128 = model[u].iter().map(|l| l.1).sum();
                    let result = w.run(u, action);
                    prop_assert_eq!(result.is_ok(), a <= held);
                    if a <= held {
                        let mut left = a;
                        while left > 0 {
                            let take = model[u][0].1.min(left);
                            model[u][0].1 -= take;
                            left -= take;
                            if model[u][0].1 == 0 { model[u].remove(0); }
                        }
                    }
                }
                Op::Wait(ms) => {
                    w.time_ms += ms;
                    // A block looks at a bounded number of slots; a few blocks see them all.
                    for _ in 0..6 {
                        w.empty_block();
                    }
                    let now = w.time_ms;
                    for lots in model.iter_mut() {
                        lots.retain(|l| l.0 > now);
                    }
                }
            }
            for (u, lots) in model.iter().enumerate().skip(1) {
                let account = w.state.entries.get(&accord_exec::keys::account(&w.who(u)));
                let account = account.map(|b| Account::decode(b).expect("decodes")).unwrap_or_default();
                let got: Vec<(u64, u128)> = account.lots.get("PTS").map(|h| h.lots.iter().map(|l| (l.expires_at_ms, l.amount)).collect()).unwrap_or_default();
                prop_assert_eq!(&got, lots);
            }
        }
    }
}

#[test]
fn a_holding_whose_next_lot_was_spent_in_the_expiry_block_moves_on_and_still_expires() {
    let mut w = World::new(3);
    let start = w.time_ms;
    w.mint(HOLDER, 10); // lot A
    w.time_ms += DAY_MS;
    w.mint(HOLDER, 20); // lot B
    w.time_ms += DAY_MS;
    w.mint(HOLDER, 30); // lot C
    // In the block where A expires, the holder redeems A and B entirely before the hook
    // runs: the slot read ahead for the holding (B's) is not where it goes next (C's).
    w.time_ms = start + LIFETIME;
    let issuer = w.who(ISSUER);
    w.ok(HOLDER, PointsAction::Transfer { symbol: "GIFT".into(), to: issuer, amount: 30 });
    assert_eq!(w.lots(HOLDER).len(), 1);
    w.time_ms += 1;
    w.empty_block();
    w.empty_block();
    // No slot is left behind in the past, and C expires at its time.
    let now_minute = w.time_ms / 60_000;
    let past_slots = w
        .state
        .entries
        .keys()
        .filter(|k| k.0.first() == Some(&accord_points::keys::EXPIRY_SLOT))
        .filter(|k| u64::from_be_bytes(k.0[1..9].try_into().expect("8 bytes")) < now_minute)
        .count();
    assert_eq!(past_slots, 0);
    w.time_ms = start + 2 * DAY_MS + LIFETIME;
    let holder = w.who(HOLDER);
    assert_eq!(World::expired_events(&w.empty_block()), vec![(holder, 30)]);
}
