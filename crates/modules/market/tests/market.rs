//! Sales and auctions on the real executor: the seed-000 income-right auction, sales of
//! shares and asset amounts, anti-sniping, settlement that fails and is retried, and every
//! bad input as a typed reject that moves nothing. After every block the supply audit
//! holds (supply = balances + escrow) and the escrow adds up to what open listings hold.

use accord_exec::testkit::TestChain;
use accord_exec::Executor;
use accord_market::{Listing, Status};
use accord_types::{Action, Address, AgreementAction, AssetKind, Event, Item, MarketAction, Party, PointsAction, Reject};
use std::collections::BTreeMap;

const DAY_MS: u64 = 86_400_000;
// Users: 0 creator C, 1 platform P, 2..=4 bidders, 5 bank (issues CNY), 6 listener (pays income).
const C: usize = 0;
const P: usize = 1;
const BANK: usize = 5;
const LISTENER: usize = 6;

fn chain(users: u64) -> TestChain {
    TestChain::new(
        Executor::new(
            "accord-test",
            vec![
                Box::new(accord_points::Points),
                Box::new(accord_agreements::Agreements),
                Box::new(accord_market::Market),
            ],
        ),
        users,
    )
}

fn mk(a: MarketAction) -> Action {
    Action::Market(a)
}

fn asset(c: &mut TestChain, issuer: usize, symbol: &str, transferable: bool) {
    c.run(issuer, vec![Action::Points(PointsAction::CreateAsset {
        symbol: symbol.into(), name: symbol.into(), decimals: 2, kind: AssetKind::Currency,
        max_supply: None, mint_limit_per_day: None, transferable, lifetime_ms: None,
    })])
    .expect("asset");
}

fn mint(c: &mut TestChain, issuer: usize, symbol: &str, to: usize, amount: u128) {
    let to = c.who(to);
    c.run(issuer, vec![Action::Points(PointsAction::Mint { symbol: symbol.into(), to, amount, reason: "float".into(), external_ref: None })])
        .expect("minted");
}

/// CNY issued by the bank, every user funded; an active agreement C 900,000 / P 100,000.
fn setup(c: &mut TestChain) -> Address {
    asset(c, BANK, "CNY", true);
    for user in [C, P, 2, 3, 4, LISTENER] {
        mint(c, BANK, "CNY", user, 10_000_000_000);
    }
    let parties = vec![Party { address: c.who(C), share_ppm: 900_000 }, Party { address: c.who(P), share_ppm: 100_000 }];
    let events = c
        .run(C, vec![Action::Agreement(AgreementAction::AgreementCreate {
            income_symbol: "CNY".into(), parties, legal_hash: [7; 32], expires_at_ms: None, amender: c.who(P),
        })])
        .expect("created");
    let Event::AgreementCreated { agreement, .. } = events[0] else { panic!("{events:?}") };
    c.run(P, vec![Action::Agreement(AgreementAction::AgreementSign { agreement, legal_hash: [7; 32] })]).expect("active");
    agreement
}

fn created(events: &[Event]) -> Address {
    events
        .iter()
        .find_map(|e| match e {
            Event::ListingCreated { listing, .. } => Some(*listing),
            _ => None,
        })
        .expect("a listing_created event")
}

fn listing(c: &TestChain, address: &Address) -> Listing {
    let bytes = c.state.entries.get(&accord_market::state::listing_key(address)).expect("stored");
    Listing::decode(bytes).expect("decodes")
}

fn agreement(c: &TestChain, address: &Address) -> accord_agreements::AgreementRecord {
    let bytes = c.state.entries.get(&accord_agreements::state::agreement_key(address)).expect("stored");
    accord_agreements::AgreementRecord::decode(bytes).expect("decodes")
}

/// What every listing still holding escrow holds, plus what is owed, by symbol, equals each
/// supply's `escrowed`.
fn check_escrow(c: &TestChain) {
    let mut held: BTreeMap<String, u128> = BTreeMap::new();
    let mut supplies: BTreeMap<String, u128> = BTreeMap::new();
    for (key, value) in &c.state.entries {
        match key.0[0] {
            accord_market::state::LISTING => {
                let l = Listing::decode(value).expect("listing decodes");
                if !l.holds_escrow() {
                    continue;
                }
                if let Item::Asset { symbol, amount } = &l.item {
                    *held.entry(symbol.clone()).or_default() += amount;
                }
                if let Some(bid) = &l.top_bid {
                    *held.entry(l.price_symbol.clone()).or_default() += bid.amount;
                }
            }
            accord_market::state::CLAIM => {
                let symbol = String::from_utf8_lossy(&key.0[33..]).to_string();
                *held.entry(symbol).or_default() += accord_market::state::decode_amount(value).expect("claim decodes");
            }
            accord_exec::keys::SUPPLY => {
                let s = accord_exec::Supply::decode(value).expect("supply decodes");
                let symbol = String::from_utf8_lossy(&key.0[2..]).to_string();
                if s.escrowed > 0 {
                    supplies.insert(symbol, s.escrowed);
                }
            }
            _ => {}
        }
    }
    assert_eq!(held, supplies, "escrow held by listings equals escrow in the supplies");
}

fn pay(c: &mut TestChain, agreement: Address, amount: u128) -> [u128; 5] {
    let before: Vec<u128> = (0..5).map(|u| c.balance(&c.who(u), "CNY")).collect();
    c.run(LISTENER, vec![Action::Agreement(AgreementAction::AgreementPay { agreement, amount })]).expect("paid");
    let mut got = [0u128; 5];
    for (u, b) in before.iter().enumerate() {
        got[u] = c.balance(&c.who(u), "CNY") - b;
    }
    got
}

#[test]
fn an_income_right_is_auctioned_the_winner_earns_for_the_period_and_it_reverts() {
    let mut c = chain(8);
    let track = setup(&mut c);
    let ends_at_ms = c.time_ms + 60_000;
    let events = c
        .run(C, vec![mk(MarketAction::AuctionCreate {
            item: Item::Share { agreement: track, share_ppm: 700_000, period_ms: Some(365 * DAY_MS) },
            price_symbol: "CNY".into(), reserve: 100_000, min_increment: 10_000, ends_at_ms, extension_ms: 0,
        })])
        .expect("auction");
    let auction = created(&events);
    assert_eq!(agreement(&c, &track).locked_share(&c.who(C)), 700_000);
    // The locked share still earns for C while the auction runs, and cannot be given away.
    assert_eq!(pay(&mut c, track, 100_000), [90_000, 10_000, 0, 0, 0]);
    let give = Action::Agreement(AgreementAction::ShareTransfer { agreement: track, to: c.who(6), share_ppm: 300_000, until_ms: None });
    assert_eq!(c.run(C, vec![give]), Err(Reject::InsufficientShare), "only 200,000 is free");

    let bid = |amount| mk(MarketAction::AuctionBid { listing: auction, amount });
    let start: Vec<u128> = (0..5).map(|u| c.balance(&c.who(u), "CNY")).collect();
    assert_eq!(c.run(2, vec![bid(99_999)]), Err(Reject::BidTooLow), "below the reserve");
    c.run(2, vec![bid(100_000)]).expect("first bid at the reserve");
    assert_eq!(c.run(3, vec![bid(109_999)]), Err(Reject::BidTooLow), "below the increment");
    let events = c.run(3, vec![bid(150_000)]).expect("outbids");
    assert!(events.contains(&Event::BidRefunded { listing: auction, bidder: c.who(2), symbol: "CNY".into(), amount: 100_000 }));
    assert_eq!(c.balance(&c.who(2), "CNY"), start[2], "the outbid bidder is refunded in the same transaction");
    c.run(4, vec![bid(200_000)]).expect("outbids again");
    assert_eq!(c.balance(&c.who(3), "CNY"), start[3]);
    assert_eq!(c.balance(&c.who(4), "CNY"), start[4] - 200_000, "the highest bid is held");
    check_escrow(&c);
    assert_eq!(c.run(C, vec![bid(300_000)]), Err(Reject::OwnListing));
    assert_eq!(c.run(C, vec![mk(MarketAction::ListingCancel { listing: auction })]), Err(Reject::HasBids));
    let poor = c.who(7);
    assert_eq!(c.balance(&poor, "CNY"), 0);
    assert_eq!(c.run(7, vec![bid(500_000)]), Err(Reject::InsufficientBalance));

    // The end passes; the next block settles it without anyone's transaction.
    c.time_ms = ends_at_ms;
    assert_eq!(c.run(2, vec![bid(900_000)]), Err(Reject::AuctionEnded));
    assert!(c.empty_block().is_empty(), "due only once the end's second has passed");
    c.time_ms = ends_at_ms + 1_000;
    let events = c.empty_block();
    assert!(events.contains(&Event::AuctionSettled {
        listing: auction, winner: c.who(4), seller: c.who(C), symbol: "CNY".into(), price: 200_000,
    }), "{events:?}");
    assert_eq!(listing(&c, &auction).status, Status::Settled { at_ms: ends_at_ms + 1_000 });
    assert_eq!(c.balance(&c.who(C), "CNY"), start[0] + 200_000, "the seller is paid");
    assert!(agreement(&c, &track).locked.is_empty());
    check_escrow(&c);
    assert!(c.state.entries.keys().all(|k| k.0[0] != accord_market::state::DUE_INDEX), "nothing is due any more");

    // Income 1,000.00: winner 700.00, C 200.00, P 100.00. After the period: C 900.00, P 100.00.
    assert_eq!(pay(&mut c, track, 100_000), [20_000, 10_000, 0, 0, 70_000]);
    c.time_ms += 365 * DAY_MS;
    assert_eq!(pay(&mut c, track, 100_000), [90_000, 10_000, 0, 0, 0]);
}

#[test]
fn sales_are_atomic_for_shares_and_asset_amounts() {
    let mut c = chain(8);
    let track = setup(&mut c);
    asset(&mut c, 7, "GOLD", true);
    mint(&mut c, 7, "GOLD", 7, 1_000);
    // P sells 50,000 ppm for good; more than it holds is refused.
    let share = |share_ppm| Item::Share { agreement: track, share_ppm, period_ms: None };
    let sell = |item, price| mk(MarketAction::SaleCreate { item, price_symbol: "CNY".into(), price });
    assert_eq!(c.run(P, vec![sell(share(100_001), 5)]), Err(Reject::InsufficientShare));
    let sale = created(&c.run(P, vec![sell(share(50_000), 300_000)]).expect("listed"));
    let buyer = c.who(2);
    let before = (c.balance(&buyer, "CNY"), c.balance(&c.who(P), "CNY"));
    assert_eq!(c.run(P, vec![mk(MarketAction::SaleBuy { listing: sale })]), Err(Reject::OwnListing));
    c.run(2, vec![mk(MarketAction::SaleBuy { listing: sale })]).expect("bought");
    assert_eq!((c.balance(&buyer, "CNY"), c.balance(&c.who(P), "CNY")), (before.0 - 300_000, before.1 + 300_000));
    assert_eq!(listing(&c, &sale).status, Status::Sold { buyer, at_ms: c.time_ms });
    assert_eq!(c.run(3, vec![mk(MarketAction::SaleBuy { listing: sale })]), Err(Reject::ListingClosed));
    assert_eq!(pay(&mut c, track, 1_000_000), [900_000, 50_000, 50_000, 0, 0]);

    // 400 GOLD for 2,000.00 CNY: escrowed at listing; a buyer without the money moves nothing.
    let gold = created(&c.run(7, vec![sell(Item::Asset { symbol: "GOLD".into(), amount: 400 }, 200_000)]).expect("listed"));
    assert_eq!(c.balance(&c.who(7), "GOLD"), 600);
    check_escrow(&c);
    c.run(3, vec![mk(MarketAction::SaleBuy { listing: gold })]).expect("bought");
    assert_eq!(c.balance(&c.who(3), "GOLD"), 400);
    assert_eq!(c.balance(&c.who(7), "CNY"), 200_000);
    check_escrow(&c);

    // A withdrawn sale gives the item back; only the seller may withdraw.
    let other = created(&c.run(7, vec![sell(Item::Asset { symbol: "GOLD".into(), amount: 600 }, 1)]).expect("listed"));
    assert_eq!(c.run(3, vec![mk(MarketAction::ListingCancel { listing: other })]), Err(Reject::NotSeller));
    c.run(7, vec![mk(MarketAction::ListingCancel { listing: other })]).expect("withdrawn");
    assert_eq!(c.balance(&c.who(7), "GOLD"), 600);
    assert_eq!(c.run(3, vec![mk(MarketAction::SaleBuy { listing: other })]), Err(Reject::ListingClosed));
    assert_eq!(c.run(3, vec![mk(MarketAction::AuctionBid { listing: other, amount: 5 })]), Err(Reject::ListingClosed));
    check_escrow(&c);
}

#[test]
fn an_auction_without_bids_leaves_the_item_with_the_seller_and_late_bids_extend_the_end() {
    let mut c = chain(8);
    let track = setup(&mut c);
    let start = c.time_ms;
    let auction = |item, ends_at_ms, extension_ms| mk(MarketAction::AuctionCreate {
        item, price_symbol: "CNY".into(), reserve: 10, min_increment: 5, ends_at_ms, extension_ms,
    });
    let nobody = created(&c.run(P, vec![auction(Item::Asset { symbol: "CNY".into(), amount: 1_000 }, start + 10_000, 0)]).expect("listed"));
    let sniped = created(
        &c.run(C, vec![auction(Item::Share { agreement: track, share_ppm: 10_000, period_ms: None }, start + 10_000, 30_000)])
            .expect("listed"),
    );
    let p_before = c.balance(&c.who(P), "CNY");
    // A bid 2 s before the end moves it to 30 s after the bid.
    c.time_ms = start + 8_000;
    let events = c.run(2, vec![mk(MarketAction::AuctionBid { listing: sniped, amount: 10 })]).expect("bid");
    assert!(matches!(events.last(), Some(Event::BidPlaced { ends_at_ms, .. }) if *ends_at_ms == start + 38_000));
    c.time_ms = start + 11_000;
    let events = c.empty_block();
    assert_eq!(events, vec![Event::AuctionUnsold { listing: nobody, seller: c.who(P) }]);
    assert_eq!(c.balance(&c.who(P), "CNY"), p_before + 1_000, "the unsold item is back");
    assert_eq!(listing(&c, &sniped).status, Status::Open, "the extended auction runs on");
    let events = c.run(3, vec![mk(MarketAction::AuctionBid { listing: sniped, amount: 15 })]).expect("still open");
    assert!(matches!(events.last(), Some(Event::BidPlaced { ends_at_ms, .. }) if *ends_at_ms == start + 41_000));
    c.time_ms = start + 39_000;
    assert!(c.empty_block().is_empty(), "the old end does not settle it");
    c.time_ms = start + 42_000;
    let events = c.empty_block();
    assert!(matches!(events.last(), Some(Event::AuctionSettled { winner, price: 15, .. }) if *winner == c.who(3)));
    assert_eq!(agreement(&c, &track).current_shares().iter().find(|(a, _)| *a == c.who(3)).map(|s| s.1), Some(10_000));
    check_escrow(&c);
}

#[test]
fn bad_listing_inputs_are_typed_rejects_and_change_nothing() {
    let mut c = chain(8);
    let track = setup(&mut c);
    asset(&mut c, 7, "BADGE", false);
    mint(&mut c, 7, "BADGE", 7, 10);
    let now = c.time_ms;
    let share = Item::Share { agreement: track, share_ppm: 1_000, period_ms: None };
    let auction = |item: Item, reserve, min_increment, ends_at_ms, extension_ms| mk(MarketAction::AuctionCreate {
        item, price_symbol: "CNY".into(), reserve, min_increment, ends_at_ms, extension_ms,
    });
    assert_eq!(c.run(C, vec![auction(share.clone(), 0, 1, now + 1_000, 0)]), Err(Reject::InvalidListing));
    assert_eq!(c.run(C, vec![auction(share.clone(), 1, 0, now + 1_000, 0)]), Err(Reject::InvalidListing));
    assert_eq!(c.run(C, vec![auction(share.clone(), 1, 1, now, 0)]), Err(Reject::InvalidAuctionEnd));
    assert_eq!(c.run(C, vec![auction(share.clone(), 1, 1, now + 367 * DAY_MS, 0)]), Err(Reject::InvalidAuctionEnd));
    assert_eq!(c.run(C, vec![auction(share.clone(), 1, 1, now + 1_000, 2 * DAY_MS)]), Err(Reject::InvalidAuctionEnd));
    let empty_period = Item::Share { agreement: track, share_ppm: 1_000, period_ms: Some(0) };
    assert_eq!(c.run(C, vec![auction(empty_period, 1, 1, now + 1_000, 0)]), Err(Reject::InvalidListing));
    let nothing = Item::Asset { symbol: "CNY".into(), amount: 0 };
    assert_eq!(c.run(C, vec![auction(nothing, 1, 1, now + 1_000, 0)]), Err(Reject::InvalidListing));
    let badge = Item::Asset { symbol: "BADGE".into(), amount: 1 };
    assert_eq!(c.run(7, vec![auction(badge, 1, 1, now + 1_000, 0)]), Err(Reject::NotTransferable));
    let elsewhere = Item::Share { agreement: Address([3; 32]), share_ppm: 1, period_ms: None };
    assert_eq!(c.run(C, vec![auction(elsewhere, 1, 1, now + 1_000, 0)]), Err(Reject::UnknownAgreement));
    let unknown_price = mk(MarketAction::SaleCreate { item: share.clone(), price_symbol: "XYZ".into(), price: 1 });
    assert_eq!(c.run(C, vec![unknown_price]), Err(Reject::UnknownAsset));
    let not_held = Item::Share { agreement: track, share_ppm: 1, period_ms: None };
    assert_eq!(c.run(3, vec![auction(not_held, 1, 1, now + 1_000, 0)]), Err(Reject::InsufficientShare));

    let sale = created(&c.run(C, vec![mk(MarketAction::SaleCreate { item: share, price_symbol: "CNY".into(), price: 5 })]).expect("listed"));
    assert_eq!(c.run(2, vec![mk(MarketAction::AuctionBid { listing: sale, amount: 5 })]), Err(Reject::WrongListingKind));
    assert_eq!(c.run(2, vec![mk(MarketAction::AuctionBid { listing: sale, amount: 0 })]), Err(Reject::ZeroAmount));
    assert_eq!(c.run(2, vec![mk(MarketAction::AuctionSettle { listing: sale })]), Err(Reject::NothingToSettle));
    assert_eq!(c.run(2, vec![mk(MarketAction::SaleBuy { listing: Address([4; 32]) })]), Err(Reject::UnknownListing));
    let broke = c.who(7);
    assert_eq!(c.balance(&broke, "CNY"), 0);
    assert_eq!(c.run(7, vec![mk(MarketAction::SaleBuy { listing: sale })]), Err(Reject::InsufficientBalance));
    check_escrow(&c);
}

/// An agreement whose parties are `holders` users (the first holds the rest of the share).
fn crowded_agreement(c: &mut TestChain, holders: &[usize]) -> Address {
    let parties: Vec<Party> = holders
        .iter()
        .enumerate()
        .map(|(i, u)| Party {
            address: c.who(*u),
            share_ppm: if i == 0 { 1_000_000 - (holders.len() as u32 - 1) * 7_000 } else { 7_000 },
        })
        .collect();
    let events = c
        .run(holders[0], vec![Action::Agreement(AgreementAction::AgreementCreate {
            income_symbol: "CNY".into(), parties, legal_hash: [1; 32], expires_at_ms: None, amender: c.who(0),
        })])
        .expect("created");
    let Event::AgreementCreated { agreement, .. } = events[0] else { panic!() };
    for u in &holders[1..] {
        c.run(*u, vec![Action::Agreement(AgreementAction::AgreementSign { agreement, legal_hash: [1; 32] })])
            .expect("signed");
    }
    agreement
}

#[test]
fn a_listed_share_reserves_its_buyers_holder_slot() {
    let mut c = chain(132);
    asset(&mut c, BANK, "CNY", true);
    mint(&mut c, BANK, "CNY", 130, 1_000_000);
    let everyone: Vec<usize> = (0..129).filter(|u| *u != BANK).collect();
    let full = crowded_agreement(&mut c, &everyone);
    let ends_at_ms = c.time_ms + 5_000;
    let auction = |agreement| mk(MarketAction::AuctionCreate {
        item: Item::Share { agreement, share_ppm: 1_000, period_ms: None },
        price_symbol: "CNY".into(), reserve: 100, min_increment: 1, ends_at_ms, extension_ms: 0,
    });
    assert_eq!(c.run(everyone[0], vec![auction(full)]), Err(Reject::TooManyHolders), "no room for a buyer");

    let track = crowded_agreement(&mut c, &everyone[..127]);
    let listed = created(&c.run(everyone[0], vec![auction(track)]).expect("listed: one slot left, now reserved"));
    let give = |to| Action::Agreement(AgreementAction::ShareTransfer { agreement: track, to, share_ppm: 1, until_ms: None });
    assert_eq!(c.run(everyone[1], vec![give(c.who(131))]), Err(Reject::TooManyHolders), "the slot is the buyer's");
    c.run(130, vec![mk(MarketAction::AuctionBid { listing: listed, amount: 500 })]).expect("bid");
    c.time_ms = ends_at_ms + 1_000;
    let events = c.empty_block();
    assert!(matches!(events.last(), Some(Event::AuctionSettled { price: 500, .. })), "{events:?}");
    assert_eq!(agreement(&c, &track).holdings.len(), 128);
    assert_eq!(c.balance(&c.who(everyone[0]), "CNY"), 500);
    assert_eq!(c.run(131, vec![mk(MarketAction::AuctionSettle { listing: listed })]), Err(Reject::NothingToSettle));
    check_escrow(&c);
}

#[test]
fn a_bidder_that_cannot_take_its_refund_is_owed_it_and_cannot_block_the_auction() {
    let mut c = chain(8);
    let track = setup(&mut c);
    let ends_at_ms = c.time_ms + 60_000;
    let auction = created(
        &c.run(C, vec![mk(MarketAction::AuctionCreate {
            item: Item::Share { agreement: track, share_ppm: 100_000, period_ms: None },
            price_symbol: "CNY".into(), reserve: 100, min_increment: 1, ends_at_ms, extension_ms: 0,
        })])
        .expect("listed"),
    );
    // User 7 bids all it has, then fills its account to the 256-asset limit.
    let griefer = 7;
    mint(&mut c, BANK, "CNY", griefer, 1_000);
    c.run(griefer, vec![mk(MarketAction::AuctionBid { listing: auction, amount: 1_000 })]).expect("bid");
    for i in 0..256u32 {
        let symbol = format!("J{i}");
        asset(&mut c, griefer, &symbol, true);
        mint(&mut c, griefer, &symbol, griefer, 1);
    }
    // Outbidding still works: the refund is owed instead of credited.
    let events = c.run(2, vec![mk(MarketAction::AuctionBid { listing: auction, amount: 2_000 })]).expect("outbid");
    let owed = Event::Owed { listing: auction, owner: c.who(griefer), symbol: "CNY".into(), amount: 1_000 };
    assert!(events.contains(&owed), "{events:?}");
    check_escrow(&c);
    let claim = mk(MarketAction::ClaimWithdraw { symbol: "CNY".into() });
    assert_eq!(c.run(griefer, vec![claim.clone()]), Err(Reject::TooManyAssetsHeld));
    c.run(griefer, vec![Action::Points(PointsAction::Burn { symbol: "J0".into(), amount: 1 })]).expect("room made");
    let events = c.run(griefer, vec![claim.clone()]).expect("collected");
    assert_eq!(events, vec![Event::ClaimPaid { owner: c.who(griefer), symbol: "CNY".into(), amount: 1_000 }]);
    assert_eq!(c.balance(&c.who(griefer), "CNY"), 1_000);
    assert_eq!(c.run(griefer, vec![claim]), Err(Reject::NothingOwed));
    check_escrow(&c);
}

#[test]
fn a_share_of_an_agreement_that_expired_is_not_sold() {
    let mut c = chain(8);
    asset(&mut c, BANK, "CNY", true);
    mint(&mut c, BANK, "CNY", 2, 1_000_000);
    let expires_at_ms = c.time_ms + 10_000;
    let events = c
        .run(C, vec![Action::Agreement(AgreementAction::AgreementCreate {
            income_symbol: "CNY".into(), parties: vec![Party { address: c.who(C), share_ppm: 1_000_000 }],
            legal_hash: [1; 32], expires_at_ms: Some(expires_at_ms), amender: c.who(C),
        })])
        .expect("created, active");
    let Event::AgreementCreated { agreement: track, .. } = events[0] else { panic!() };
    let item = Item::Share { agreement: track, share_ppm: 500_000, period_ms: None };
    let ends_at_ms = c.time_ms + 20_000;
    let auction = created(&c.run(C, vec![mk(MarketAction::AuctionCreate {
        item: item.clone(), price_symbol: "CNY".into(), reserve: 100, min_increment: 1, ends_at_ms, extension_ms: 0,
    })]).expect("listed"));
    let sale = created(&c.run(C, vec![mk(MarketAction::SaleCreate { item, price_symbol: "CNY".into(), price: 100 })]).expect("listed"));
    c.run(2, vec![mk(MarketAction::AuctionBid { listing: auction, amount: 100 })]).expect("bid while alive");
    c.time_ms = expires_at_ms;
    assert_eq!(c.run(2, vec![mk(MarketAction::AuctionBid { listing: auction, amount: 200 })]), Err(Reject::AgreementExpired));
    assert_eq!(c.run(2, vec![mk(MarketAction::SaleBuy { listing: sale })]), Err(Reject::AgreementExpired));
    let pay = Action::Agreement(AgreementAction::AgreementPay { agreement: track, amount: 5 });
    assert_eq!(c.run(2, vec![pay]), Err(Reject::AgreementExpired), "an expired agreement takes no income");
    c.time_ms = ends_at_ms + 1_000;
    let events = c.empty_block();
    assert!(events.contains(&Event::AuctionUnsold { listing: auction, seller: c.who(C) }), "{events:?}");
    assert_eq!(c.balance(&c.who(2), "CNY"), 1_000_000, "the bid is refunded");
    assert_eq!(agreement(&c, &track).locked.len(), 1, "only the sale's lock is left");
    c.run(C, vec![mk(MarketAction::ListingCancel { listing: sale })]).expect("withdrawn");
    assert!(agreement(&c, &track).locked.is_empty());
    check_escrow(&c);
}

#[test]
fn a_block_settles_at_most_its_share_of_a_crowded_second_and_the_next_block_the_rest() {
    let mut c = chain(8);
    asset(&mut c, BANK, "CNY", true);
    mint(&mut c, BANK, "CNY", 2, 1_000_000);
    mint(&mut c, BANK, "CNY", BANK, 1_000_000);
    let ends_at_ms = c.time_ms + 5_000;
    let total = accord_market::state::SETTLEMENTS_PER_BLOCK_MAX + 30;
    let mut listings = Vec::new();
    for chunk in (0..total).collect::<Vec<_>>().chunks(16) {
        let actions = chunk
            .iter()
            .map(|_| mk(MarketAction::AuctionCreate {
                item: Item::Asset { symbol: "CNY".into(), amount: 1 },
                price_symbol: "CNY".into(), reserve: 1, min_increment: 1, ends_at_ms, extension_ms: 0,
            }))
            .collect();
        listings.extend(c.run(BANK, actions).expect("listed").iter().filter_map(|e| match e {
            Event::ListingCreated { listing, .. } => Some(*listing),
            _ => None,
        }));
    }
    assert_eq!(listings.len(), total);
    c.run(2, vec![mk(MarketAction::AuctionBid { listing: listings[total - 1], amount: 7 })]).expect("bid on the last");
    c.time_ms = ends_at_ms + 1_000;
    let first = c.empty_block();
    assert_eq!(first.len(), accord_market::state::SETTLEMENTS_PER_BLOCK_MAX);
    check_escrow(&c);
    let second = c.empty_block();
    assert_eq!(second.len(), 30);
    assert!(matches!(second.last(), Some(Event::AuctionSettled { price: 7, .. })), "{:?}", second.last());
    assert!(c.empty_block().is_empty());
    assert!(c.state.entries.keys().all(|k| k.0[0] != accord_market::state::DUE_INDEX && k.0[0] != accord_market::state::DUE_SLOT));
    check_escrow(&c);
}

#[test]
fn several_bids_in_one_block_refund_each_other_and_extend_the_end_once_per_bid() {
    let mut c = chain(8);
    let track = setup(&mut c);
    let start = c.time_ms;
    let auction = created(
        &c.run(C, vec![mk(MarketAction::AuctionCreate {
            item: Item::Share { agreement: track, share_ppm: 100_000, period_ms: Some(DAY_MS) },
            price_symbol: "CNY".into(), reserve: 100, min_increment: 10, ends_at_ms: start + 5_000, extension_ms: 10_000,
        })])
        .expect("listed"),
    );
    c.run(2, vec![mk(MarketAction::AuctionBid { listing: auction, amount: 100 })]).expect("first bid");
    let before: Vec<u128> = (2..5).map(|u| c.balance(&c.who(u), "CNY")).collect();
    c.time_ms = start + 1_000;
    let bid = |c: &TestChain, user, amount| c.sign(user, vec![mk(MarketAction::AuctionBid { listing: auction, amount })]);
    // Both of user 4's bids carry its next nonce: the refused one does not use it up.
    let txs = vec![bid(&c, 3, 120), bid(&c, 4, 125), bid(&c, 4, 140)];
    let results = c.run_block(txs);
    assert_eq!(results[1], Err(Reject::BidTooLow), "120 + 10 is the floor");
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert_eq!(listing(&c, &auction).ends_at_ms(), Some(start + 11_000));
    c.time_ms = start + 2_000;
    let results = c.run_block(vec![bid(&c, 2, 200), bid(&c, 3, 210)]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let after: Vec<u128> = (2..5).map(|u| c.balance(&c.who(u), "CNY")).collect();
    assert_eq!(after, vec![before[0] + 100, before[1] - 210, before[2]], "only the highest bid is held");
    assert_eq!(listing(&c, &auction).ends_at_ms(), Some(start + 12_000));
    check_escrow(&c);
    c.time_ms = start + 13_000;
    let events = c.empty_block();
    assert!(matches!(events.last(), Some(Event::AuctionSettled { price: 210, .. })), "{events:?}");
}

#[test]
fn a_bid_in_the_block_that_creates_the_auction_is_declared_and_extends_it() {
    let mut c = chain(8);
    let track = setup(&mut c);
    let ends_at_ms = c.time_ms + 3_000;
    let create = c.sign(C, vec![mk(MarketAction::AuctionCreate {
        item: Item::Share { agreement: track, share_ppm: 1_000, period_ms: None },
        price_symbol: "CNY".into(), reserve: 10, min_increment: 1, ends_at_ms, extension_ms: 60_000,
    })]);
    // The listing's address follows from the creating transaction's hash.
    let mut seed = b"accord/listing".to_vec();
    seed.extend_from_slice(&create.hash.0);
    seed.extend_from_slice(&0u32.to_be_bytes());
    let listing_address = Address(accord_types::sha256(&seed));
    let bid = c.sign(2, vec![mk(MarketAction::AuctionBid { listing: listing_address, amount: 10 })]);
    let results = c.run_block(vec![create, bid]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(listing(&c, &listing_address).ends_at_ms(), Some(c.time_ms + 60_000));
    check_escrow(&c);
}
