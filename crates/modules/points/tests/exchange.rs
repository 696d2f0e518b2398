//! Exchange routes, conversion, clearing and withdrawal, driven through the real executor.

use accord_exec::testkit::TestChain;
use accord_exec::{Executor, StateKey};
use accord_points::clearing::ClearingRecord;
use accord_points::exchange::{quote, RouteRecord};
use accord_points::{keys, Points};
use accord_types::limits::DAY_MS;
use accord_types::{Action, Address, AssetKind, Event, PointsAction, Reject, RouteTerms};
use proptest::prelude::*;

const P: usize = 0; // the parking lot, issuer of PARK
const M: usize = 1; // the mall, issuer of MALL
const DRIVER: usize = 2;
const SHOPPER: usize = 3;
const BANK: usize = 4; // issuer of the settlement currency CNY
const OUTSIDER: usize = 5;

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

fn create(symbol: &str, kind: AssetKind, max: Option<u128>) -> PointsAction {
    PointsAction::CreateAsset {
        symbol: symbol.into(),
        name: format!("{symbol} units"),
        decimals: 0,
        kind,
        max_supply: max,
        mint_limit_per_day: None,
        transferable: true,
        lifetime_ms: None,
    }
}

fn mint(symbol: &str, to: Address, amount: u128) -> PointsAction {
    PointsAction::Mint { symbol: symbol.into(), to, amount, reason: "earned".into(), external_ref: None }
}

/// `num/den` of `to` per `from`, a 1 % fee, 50,000 a day, 1 CNY owed per `from` unit.
fn terms(num: u64, den: u64) -> RouteTerms {
    RouteTerms {
        rate_num: num,
        rate_den: den,
        fee_ppm: 10_000,
        daily_limit: Some(50_000),
        valid_from_ms: 0,
        valid_until_ms: None,
        settlement_symbol: "CNY".into(),
        settle_num: 1,
        settle_den: 1,
        clearing_period_ms: DAY_MS,
    }
}

fn propose(from: &str, to: &str, terms: RouteTerms) -> PointsAction {
    PointsAction::RoutePropose { from: from.into(), to: to.into(), terms }
}

fn accept(from: &str, to: &str, terms: RouteTerms) -> PointsAction {
    PointsAction::RouteAccept { from: from.into(), to: to.into(), terms }
}

fn convert(from: &str, to: &str, amount: u128) -> PointsAction {
    PointsAction::Convert { from: from.into(), to: to.into(), amount, min_received: None }
}

impl World {
    /// PARK (cap 1,000,000) by P, MALL (cap 10,000,000) by M, CNY by the bank.
    fn new() -> Self {
        let mut w = World(TestChain::new(Executor::new("accord-test", vec![Box::new(Points)]), 6));
        w.ok(P, create("PARK", AssetKind::Points, Some(1_000_000)));
        w.ok(M, create("MALL", AssetKind::Points, Some(10_000_000)));
        w.ok(BANK, create("CNY", AssetKind::Currency, None));
        w
    }

    fn run(&mut self, user: usize, action: PointsAction) -> Result<Vec<Event>, Reject> {
        self.0.run(user, vec![Action::Points(action)])
    }

    fn ok(&mut self, user: usize, action: PointsAction) -> Vec<Event> {
        let shown = format!("{action:?}");
        self.run(user, action).unwrap_or_else(|r| panic!("{shown}: {r}"))
    }

    fn balance_of(&self, user: usize, symbol: &str) -> u128 {
        self.0.balance(&self.who(user), symbol)
    }

    fn record<T>(&self, key: &StateKey, decode: fn(&[u8]) -> Result<T, accord_types::DecodeError>) -> Option<T> {
        self.state.entries.get(key).map(|b| decode(b).expect("decodes"))
    }

    fn route(&self, from: &str, to: &str) -> RouteRecord {
        self.record(&keys::route(from, to), RouteRecord::decode).expect("route exists")
    }

    fn clearing(&self) -> ClearingRecord {
        self.record(&keys::clearing(&self.who(P), &self.who(M), "CNY"), ClearingRecord::decode).expect("clearing exists")
    }

    /// The PARK → MALL route of the acceptance scenario, accepted by M.
    fn park_to_mall(&mut self) {
        self.ok(P, propose("PARK", "MALL", terms(10, 1)));
        self.ok(M, accept("PARK", "MALL", terms(10, 1)));
    }
}

#[test]
fn a_route_runs_only_on_terms_both_issuers_accepted() {
    let mut w = World::new();
    let driver = w.who(DRIVER);
    w.ok(P, mint("PARK", driver, 1_200));
    assert_eq!(w.run(DRIVER, convert("PARK", "MALL", 10)), Err(Reject::UnknownRoute));
    assert_eq!(w.run(OUTSIDER, propose("PARK", "MALL", terms(10, 1))), Err(Reject::NotRouteIssuer));
    w.ok(P, propose("PARK", "MALL", terms(10, 1)));
    assert_eq!(w.run(DRIVER, convert("PARK", "MALL", 10)), Err(Reject::RouteNotActive));
    assert_eq!(w.run(P, accept("PARK", "MALL", terms(10, 1))), Err(Reject::NothingToAccept));
    assert_eq!(w.run(OUTSIDER, accept("PARK", "MALL", terms(10, 1))), Err(Reject::NotRouteIssuer));
    assert_eq!(w.run(M, accept("PARK", "MALL", terms(11, 1))), Err(Reject::ProposedTermsDiffer));
    w.ok(M, accept("PARK", "MALL", terms(10, 1)));
    assert_eq!(w.run(M, accept("PARK", "MALL", terms(10, 1))), Err(Reject::NothingToAccept));

    // A rate change proposed by one issuer does not apply until the other accepts it.
    w.ok(M, propose("PARK", "MALL", terms(12, 1)));
    w.ok(DRIVER, convert("PARK", "MALL", 100));
    assert_eq!(w.balance_of(DRIVER, "MALL"), 990, "still 1:10 less 1 %");
    assert_eq!(w.run(M, accept("PARK", "MALL", terms(12, 1))), Err(Reject::NothingToAccept));
    w.ok(P, accept("PARK", "MALL", terms(12, 1)));
    w.ok(DRIVER, convert("PARK", "MALL", 100));
    assert_eq!(w.balance_of(DRIVER, "MALL"), 990 + 1_188);
}

#[test]
fn the_acceptance_scenario_converts_nets_and_settles() {
    let mut w = World::new();
    let (p, m, driver, shopper) = (w.who(P), w.who(M), w.who(DRIVER), w.who(SHOPPER));
    w.park_to_mall();
    w.ok(P, mint("PARK", driver, 1_200));
    let events = w.ok(DRIVER, convert("PARK", "MALL", 1_000));
    assert_eq!((w.balance_of(DRIVER, "PARK"), w.balance_of(DRIVER, "MALL")), (200, 9_900));
    assert!(events.iter().any(|e| matches!(e,
        Event::Converted { received: 9_900, fee: 100, owed: 1_000, debtor, creditor, .. } if *debtor == p && *creditor == m)));
    let clearing = w.clearing();
    let (p_owes, m_owes) = if p < m { (clearing.a_owes, clearing.b_owes) } else { (clearing.b_owes, clearing.a_owes) };
    assert_eq!((p_owes, m_owes), (1_000, 0), "the obligation P→M is recorded");

    // The other way: MALL→PARK at 10:1, no fee, 1 CNY per 10 MALL.
    let back = RouteTerms { fee_ppm: 0, daily_limit: None, settle_num: 1, settle_den: 10, ..terms(1, 10) };
    w.ok(M, propose("MALL", "PARK", back.clone()));
    w.ok(P, accept("MALL", "PARK", back));
    w.ok(M, mint("MALL", shopper, 4_000));
    w.ok(SHOPPER, convert("MALL", "PARK", 4_000));
    assert_eq!(w.balance_of(SHOPPER, "PARK"), 400);
    assert!(w.clearing().positions.is_empty(), "nothing is netted before the period ends");
    assert_eq!(w.run(P, PointsAction::ClearingSettle { counterparty: m, symbol: "CNY".into(), amount: 600 }),
        Err(Reject::WrongSettlementAmount), "nothing is owed before the period closes");

    // The day ends: the next block nets 1,000 against 400 without anyone's transaction.
    w.time_ms += DAY_MS;
    let events = w.empty_block();
    assert!(events.iter().any(|e| matches!(e,
        Event::ClearingNetted { debtor, creditor, amount: 600, .. } if *debtor == p && *creditor == m)), "{events:?}");
    let clearing = w.clearing();
    assert_eq!(clearing.net(), Some((p, m, 600)));
    assert_eq!((clearing.a_owes, clearing.b_owes), (0, 0));

    let settle = |amount| PointsAction::ClearingSettle { counterparty: m, symbol: "CNY".into(), amount };
    assert_eq!(w.run(M, PointsAction::ClearingSettle { counterparty: p, symbol: "CNY".into(), amount: 600 }),
        Err(Reject::NotDebtor));
    assert_eq!(w.run(P, settle(599)), Err(Reject::WrongSettlementAmount));
    assert_eq!(w.run(P, settle(600)), Err(Reject::InsufficientBalance));
    assert_eq!(w.run(OUTSIDER, settle(600)), Err(Reject::NotClearingParty));
    w.ok(BANK, mint("CNY", p, 1_000));
    w.ok(P, settle(600));
    assert_eq!((w.balance_of(P, "CNY"), w.balance_of(M, "CNY")), (400, 600));
    let clearing = w.clearing();
    assert_eq!((clearing.net(), clearing.settled_total), (None, 600), "positions return to zero");
    assert_eq!(w.run(P, settle(600)), Err(Reject::WrongSettlementAmount), "settled once");
}

#[test]
fn limits_suspension_validity_and_caps_are_enforced() {
    let mut w = World::new();
    let driver = w.who(DRIVER);
    w.park_to_mall();
    w.ok(P, mint("PARK", driver, 120_000));
    w.ok(DRIVER, convert("PARK", "MALL", 49_000));
    w.ok(DRIVER, convert("PARK", "MALL", 1_000));
    assert_eq!(w.run(DRIVER, convert("PARK", "MALL", 1)), Err(Reject::OverRouteDailyLimit));
    w.time_ms += DAY_MS;
    w.ok(DRIVER, convert("PARK", "MALL", 1));

    // Either issuer suspends; it runs again only when each suspender resumed.
    w.ok(M, PointsAction::RouteSuspend { from: "PARK".into(), to: "MALL".into() });
    assert_eq!(w.run(M, PointsAction::RouteSuspend { from: "PARK".into(), to: "MALL".into() }), Err(Reject::AlreadySuspended));
    w.ok(P, PointsAction::RouteSuspend { from: "PARK".into(), to: "MALL".into() });
    assert_eq!(w.run(DRIVER, convert("PARK", "MALL", 1)), Err(Reject::RouteNotActive));
    w.ok(P, PointsAction::RouteResume { from: "PARK".into(), to: "MALL".into() });
    assert_eq!(w.run(P, PointsAction::RouteResume { from: "PARK".into(), to: "MALL".into() }), Err(Reject::NotSuspended));
    assert_eq!(w.run(DRIVER, convert("PARK", "MALL", 1)), Err(Reject::RouteNotActive), "M still suspends it");
    assert_eq!(w.run(OUTSIDER, PointsAction::RouteResume { from: "PARK".into(), to: "MALL".into() }), Err(Reject::NotRouteIssuer));
    w.ok(M, PointsAction::RouteResume { from: "PARK".into(), to: "MALL".into() });
    w.ok(DRIVER, convert("PARK", "MALL", 1));

    // An expired route.
    let now = w.time_ms;
    let short = RouteTerms { valid_from_ms: now - 10, valid_until_ms: Some(now + 1_000), ..terms(10, 1) };
    w.ok(M, propose("PARK", "MALL", short.clone()));
    w.ok(P, accept("PARK", "MALL", short));
    w.ok(DRIVER, convert("PARK", "MALL", 1));
    w.time_ms += 1_000;
    assert_eq!(w.run(DRIVER, convert("PARK", "MALL", 1)), Err(Reject::RouteOutsideValidity));

    // Conversion mints within the destination's cap.
    w.ok(M, create("TINY", AssetKind::Points, Some(50)));
    w.ok(P, propose("PARK", "TINY", terms(1, 1)));
    w.ok(M, accept("PARK", "TINY", terms(1, 1)));
    w.ok(DRIVER, convert("PARK", "TINY", 40));
    let before = w.balance_of(DRIVER, "PARK");
    assert_eq!(w.run(DRIVER, convert("PARK", "TINY", 20)), Err(Reject::OverMaxSupply));
    assert_eq!(w.balance_of(DRIVER, "PARK"), before, "nothing burned");
    assert_eq!(w.run(DRIVER, convert("PARK", "TINY", 1)), Err(Reject::ConversionTooSmall), "1 less a 1 % fee is 0");
    let demanding = PointsAction::Convert { from: "PARK".into(), to: "TINY".into(), amount: 5, min_received: Some(5) };
    assert_eq!(w.run(DRIVER, demanding), Err(Reject::BelowMinReceived));
    assert_eq!(w.run(SHOPPER, convert("PARK", "TINY", 5)), Err(Reject::InsufficientBalance));
}

#[test]
fn bad_terms_are_typed_rejects() {
    let mut w = World::new();
    let bad = |change: fn(&mut RouteTerms)| {
        let mut t = terms(10, 1);
        change(&mut t);
        t
    };
    let cases = [
        (propose("PARK", "MALL", bad(|t| t.rate_num = 0)), Reject::InvalidRate),
        (propose("PARK", "MALL", bad(|t| t.rate_den = 0)), Reject::InvalidRate),
        (propose("PARK", "MALL", bad(|t| t.settle_den = 0)), Reject::InvalidRate),
        (propose("PARK", "MALL", bad(|t| t.fee_ppm = 1_000_000)), Reject::InvalidFee),
        (propose("PARK", "MALL", bad(|t| t.daily_limit = Some(0))), Reject::ZeroCap),
        (propose("PARK", "MALL", bad(|t| t.valid_until_ms = Some(0))), Reject::InvalidValidity),
        (propose("PARK", "MALL", bad(|t| t.clearing_period_ms = 999)), Reject::InvalidClearingPeriod),
        (propose("PARK", "PARK", terms(1, 1)), Reject::SameAsset),
        (propose("PARK", "NOPE", terms(1, 1)), Reject::UnknownAsset),
        (propose("PARK", "MALL", bad(|t| t.settlement_symbol = "MALL".into())), Reject::NotCurrency),
        (convert("PARK", "MALL", 0), Reject::ZeroAmount),
        (convert("PARK", "PARK", 1), Reject::SameAsset),
        (PointsAction::Withdraw { symbol: "PARK".into(), amount: 1, legacy_account: String::new() }, Reject::InvalidLegacyAccount),
        (PointsAction::ClearingConfirm { counterparty: Address([1; 32]), symbol: "CNY".into(), amount: 1, reference: String::new() },
            Reject::InvalidSettlementRef),
    ];
    for (action, expected) in cases {
        let shown = format!("{action:?}");
        assert_eq!(w.run(P, action), Err(expected), "{shown}");
    }
    // A rate whose product does not fit 128 bits.
    let driver = w.who(DRIVER);
    let huge = RouteTerms { rate_num: u64::MAX, daily_limit: None, ..terms(1, 1) };
    w.ok(M, create("BIG", AssetKind::Points, None));
    w.ok(M, create("HUGE", AssetKind::Points, None));
    w.ok(M, propose("BIG", "HUGE", huge.clone()));
    w.ok(M, accept("BIG", "HUGE", huge));
    w.ok(M, mint("BIG", driver, u128::MAX / 2));
    assert_eq!(w.run(DRIVER, convert("BIG", "HUGE", u128::MAX / 4)), Err(Reject::AmountOverflow));
    w.ok(DRIVER, convert("BIG", "HUGE", 1_000));
    assert_eq!(w.balance_of(DRIVER, "HUGE"), 1_000 * u128::from(u64::MAX) * 99 / 100);
    // A settlement asset must be a transferable currency whose units never expire.
    w.ok(M, PointsAction::CreateAsset {
        symbol: "SCRIP".into(), name: "scrip".into(), decimals: 0, kind: AssetKind::Currency,
        max_supply: None, mint_limit_per_day: None, transferable: false, lifetime_ms: Some(DAY_MS),
    });
    let scrip = RouteTerms { settlement_symbol: "SCRIP".into(), ..terms(1, 1) };
    assert_eq!(w.run(M, propose("BIG", "MALL", scrip)), Err(Reject::NotCurrency));
    assert_eq!(w.route("BIG", "HUGE").converted_total, 1_000);
}

#[test]
fn an_off_ledger_payment_settles_when_both_issuers_confirm_it() {
    let mut w = World::new();
    let (p, m, driver) = (w.who(P), w.who(M), w.who(DRIVER));
    w.park_to_mall();
    w.ok(P, mint("PARK", driver, 500));
    w.ok(DRIVER, convert("PARK", "MALL", 500));
    w.time_ms += DAY_MS;
    w.empty_block();
    let confirm = |counterparty, reference: &str| PointsAction::ClearingConfirm {
        counterparty,
        symbol: "CNY".into(),
        amount: 500,
        reference: reference.into(),
    };
    assert_eq!(w.run(P, PointsAction::ClearingConfirm { counterparty: m, symbol: "CNY".into(), amount: 499, reference: "wire-1".into() }),
        Err(Reject::WrongSettlementAmount));
    w.ok(P, confirm(m, "wire-1"));
    w.ok(M, confirm(p, "wire-2"));
    assert_eq!(w.clearing().net(), Some((p, m, 500)), "different references settle nothing");
    let events = w.ok(P, confirm(m, "wire-2"));
    assert!(events.iter().any(|e| matches!(e, Event::ClearingSettled { amount: 500, reference: Some(r), .. } if r == "wire-2")));
    assert_eq!(w.clearing().net(), None);
}

#[test]
fn positions_age_until_settled_and_a_conversion_closes_an_ended_period_itself() {
    let mut w = World::new();
    let (p, m, driver) = (w.who(P), w.who(M), w.who(DRIVER));
    w.park_to_mall();
    w.ok(P, mint("PARK", driver, 10_000));
    w.ok(DRIVER, convert("PARK", "MALL", 100));
    // The period ends; the first block after it converts again before its end-of-block hook.
    w.time_ms += DAY_MS;
    let events = w.ok(DRIVER, convert("PARK", "MALL", 200));
    assert!(events.iter().any(|e| matches!(e, Event::ClearingNetted { amount: 100, .. })), "{events:?}");
    w.time_ms += DAY_MS;
    w.empty_block();
    let clearing = w.clearing();
    assert_eq!(clearing.positions.len(), 2);
    assert!(clearing.positions[0].closed_at_ms < clearing.positions[1].closed_at_ms);
    assert_eq!(clearing.net(), Some((p, m, 300)));
    // Periods without obligations close nothing.
    w.time_ms += 3 * DAY_MS;
    assert!(w.empty_block().is_empty());
    assert_eq!(w.clearing().positions.len(), 2);
}

#[test]
fn a_withdrawal_burns_and_names_the_legacy_account() {
    let mut w = World::new();
    let driver = w.who(DRIVER);
    w.ok(P, mint("PARK", driver, 300));
    let withdraw = |amount| PointsAction::Withdraw { symbol: "PARK".into(), amount, legacy_account: "card-0042".into() };
    let events = w.ok(DRIVER, withdraw(120));
    assert_eq!(events, vec![Event::Withdrawn { symbol: "PARK".into(), from: driver, amount: 120, legacy_account: "card-0042".into() }]);
    assert_eq!(w.balance_of(DRIVER, "PARK"), 180);
    assert_eq!(w.run(DRIVER, withdraw(181)), Err(Reject::InsufficientBalance));
    assert_eq!(w.run(DRIVER, PointsAction::Withdraw { symbol: "NOPE".into(), amount: 1, legacy_account: "x".into() }),
        Err(Reject::UnknownAsset));
}

proptest! {
    /// A conversion never pays out more than the exact rate, and fee plus payout is the
    /// rounded-down gross.
    #[test]
    fn conversion_never_creates_value(amount in 1u128..1u128 << 80, num in 1u64..1 << 32, den in 1u64.., fee in 0u32..1_000_000) {
        let t = RouteTerms { rate_num: num, rate_den: den, fee_ppm: fee, ..terms(1, 1) };
        let (received, withheld, owed, carried) = quote(&t, amount, 0).expect("fits 128 bits");
        prop_assert_eq!(carried, 0);
        let exact = amount * u128::from(num);
        let gross = exact / u128::from(den);
        prop_assert!(received * u128::from(den) <= exact);
        prop_assert_eq!(received + withheld, gross);
        // The fee is the exact fee rounded up, by less than one unit.
        prop_assert!(withheld * 1_000_000 >= gross * u128::from(fee));
        prop_assert!(withheld * 1_000_000 < gross * u128::from(fee) + 1_000_000);
        prop_assert_eq!(owed, amount);
    }

    /// However a conversion is split, the issuers owe exactly the same in total: what falls
    /// below one unit is carried to the next conversion.
    #[test]
    fn split_conversions_owe_exactly_the_whole(parts in proptest::collection::vec(1u128..10_000, 1..30), num in 1u64..1_000, den in 1u64..1_000) {
        let t = RouteTerms { settle_num: num, settle_den: den, ..terms(1, 1) };
        let (mut owed, mut carried) = (0u128, 0u64);
        for part in &parts {
            let (_, _, o, c) = quote(&t, *part, carried).expect("fits");
            owed += o;
            carried = c;
        }
        let total: u128 = parts.iter().sum();
        prop_assert_eq!(owed, total * u128::from(num) / u128::from(den));
        prop_assert_eq!(u128::from(carried), total * u128::from(num) % u128::from(den));
    }
}

#[test]
fn more_pairs_closing_at_once_than_a_block_nets_never_stop_the_chain() {
    // One issuer of SRC, 260 issuers of T1..T260: 260 pairs whose daily periods all end at
    // midnight, more than one block closes. Each issuer converts into its own points.
    let pairs = accord_points::clearing::CLOSES_PER_BLOCK_MAX + 4;
    let mut w = World(TestChain::new(Executor::new("accord-test", vec![Box::new(Points)]), pairs as u64 + 1));
    w.ok(0, create("CNY", AssetKind::Currency, None));
    w.ok(0, create("SRC", AssetKind::Points, None));
    let route = || RouteTerms { daily_limit: None, ..terms(1, 1) };
    for i in 1..=pairs {
        let symbol = format!("T{i}");
        let to = w.who(i);
        w.ok(0, mint("SRC", to, 1_000));
        w.ok(i, create(&symbol, AssetKind::Points, None));
        w.ok(i, propose("SRC", &symbol, route()));
        w.ok(0, accept("SRC", &symbol, route()));
        w.ok(i, convert("SRC", &symbol, 100));
    }
    // The first block after midnight also converts along 20 of the pairs itself.
    w.time_ms += DAY_MS;
    let txs: Vec<_> = (1..=20).map(|i| w.sign(i, vec![Action::Points(convert("SRC", &format!("T{i}"), 100))])).collect();
    let results = w.run_block(txs);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    w.empty_block();
    w.empty_block();
    // Every pair was netted once: by the hook, or by a conversion that met its ended period.
    let netted = w.block_events.iter().filter(|e| matches!(e, Event::ClearingNetted { .. })).count();
    assert_eq!(netted + 20, pairs);
}
