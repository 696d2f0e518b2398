//! The seed-000 story on the real executor: a track's income split, an income right sold
//! for a year, reverting by itself; exact splits; a 2-of-3 multisig amending.

use accord_exec::testkit::TestChain;
use accord_exec::Executor;
use accord_types::{Action, Address, AgreementAction, AssetKind, Event, MultisigAction, Party, PointsAction, Reject};

const YEAR_MS: u64 = 365 * 86_400_000;

fn chain() -> TestChain {
    TestChain::new(
        Executor::new(
            "accord-test",
            vec![
                Box::new(accord_points::Points),
                Box::new(accord_multisig::Multisig),
                Box::new(accord_agreements::Agreements),
            ],
        ),
        6,
    )
}

fn ag(a: AgreementAction) -> Action {
    Action::Agreement(a)
}

// Users: 0 creator C, 1 platform P, 2 buyer W, 3 bank (issues CNY), 4 listener (pays), 5 outsider.
fn setup(c: &mut TestChain) -> Address {
    c.run(3, vec![Action::Points(PointsAction::CreateAsset {
        symbol: "CNY".into(), name: "digital yuan".into(), decimals: 2, kind: AssetKind::Currency,
        max_supply: None, mint_limit_per_day: None, transferable: true, lifetime_ms: None,
    })])
    .expect("currency");
    c.run(3, vec![Action::Points(PointsAction::Mint {
        symbol: "CNY".into(), to: c.who(4), amount: 1_000_000_000_000, reason: "float".into(), external_ref: None,
    })])
    .expect("funded");
    let parties = vec![Party { address: c.who(0), share_ppm: 900_000 }, Party { address: c.who(1), share_ppm: 100_000 }];
    let events = c
        .run(0, vec![ag(AgreementAction::AgreementCreate {
            income_symbol: "CNY".into(), parties, legal_hash: [7; 32], expires_at_ms: None, amender: c.who(1),
        })])
        .expect("created");
    let Event::AgreementCreated { agreement, .. } = events[0] else { panic!("{events:?}") };
    agreement
}

fn pay(c: &mut TestChain, agreement: Address, amount: u128) -> Result<Vec<Event>, Reject> {
    c.run(4, vec![ag(AgreementAction::AgreementPay { agreement, amount })])
}

#[test]
fn income_is_split_among_current_share_holders_and_a_granted_right_reverts_by_itself() {
    let mut c = chain();
    let track = setup(&mut c);
    assert_eq!(pay(&mut c, track, 100), Err(Reject::AgreementNotActive), "a draft takes no income");
    let sign = |legal_hash| ag(AgreementAction::AgreementSign { agreement: track, legal_hash });
    assert_eq!(c.run(5, vec![sign([7; 32])]), Err(Reject::NotParty));
    assert_eq!(c.run(1, vec![sign([8; 32])]), Err(Reject::TermsChanged), "signed other terms");
    c.run(1, vec![sign([7; 32])]).expect("signed, active");
    assert_eq!(c.run(1, vec![sign([7; 32])]), Err(Reject::AlreadySigned));

    // C grants 700,000 ppm to W for a year.
    let until = c.time_ms + YEAR_MS;
    c.run(0, vec![ag(AgreementAction::ShareTransfer { agreement: track, to: c.who(2), share_ppm: 700_000, until_ms: Some(until) })])
        .expect("granted");
    let (cw, pw, ww) = (c.who(0), c.who(1), c.who(2));
    let before = [c.balance(&cw, "CNY"), c.balance(&pw, "CNY"), c.balance(&ww, "CNY")];
    pay(&mut c, track, 100_000).expect("paid 1,000.00");
    let after = [c.balance(&cw, "CNY"), c.balance(&pw, "CNY"), c.balance(&ww, "CNY")];
    assert_eq!([after[0] - before[0], after[1] - before[1], after[2] - before[2]], [20_000, 10_000, 70_000]);

    // A year later, with no transaction in between, the right is C's again.
    c.time_ms = until;
    pay(&mut c, track, 100_000).expect("paid 1,000.00");
    let later = [c.balance(&cw, "CNY"), c.balance(&pw, "CNY"), c.balance(&ww, "CNY")];
    assert_eq!([later[0] - after[0], later[1] - after[1], later[2] - after[2]], [90_000, 10_000, 0]);

    // One minor unit and 1,000,000,000.07 split exactly.
    let total_before: u128 = [cw, pw, ww].iter().map(|a| c.balance(a, "CNY")).sum();
    pay(&mut c, track, 1).expect("one unit");
    pay(&mut c, track, 100_000_000_007).expect("a billion and seven cents");
    let total_after: u128 = [cw, pw, ww].iter().map(|a| c.balance(a, "CNY")).sum();
    assert_eq!(total_after - total_before, 100_000_000_008);
}

#[test]
fn bad_agreement_inputs_are_typed_rejects_and_change_nothing() {
    let mut c = chain();
    let track = setup(&mut c);
    let create = |parties: Vec<Party>| ag(AgreementAction::AgreementCreate {
        income_symbol: "CNY".into(), parties, legal_hash: [0; 32], expires_at_ms: None, amender: Address([1; 32]),
    });
    let (a, b) = (c.who(0), c.who(1));
    assert_eq!(c.run(0, vec![create(vec![Party { address: a, share_ppm: 900_000 }])]), Err(Reject::InvalidShares));
    assert_eq!(
        c.run(0, vec![create(vec![Party { address: a, share_ppm: 500_000 }, Party { address: a, share_ppm: 500_000 }])]),
        Err(Reject::InvalidShares)
    );
    assert_eq!(
        c.run(0, vec![create(vec![Party { address: a, share_ppm: 1_000_000 }, Party { address: b, share_ppm: 0 }])]),
        Err(Reject::InvalidShares)
    );
    c.run(1, vec![ag(AgreementAction::AgreementSign { agreement: track, legal_hash: [7; 32] })]).expect("active");
    let give = |share_ppm, to| ag(AgreementAction::ShareTransfer { agreement: track, to, share_ppm, until_ms: None });
    assert_eq!(c.run(1, vec![give(200_000, a)]), Err(Reject::InsufficientShare), "P holds only 100,000");
    assert_eq!(c.run(5, vec![give(1, a)]), Err(Reject::InsufficientShare));
    assert_eq!(c.run(1, vec![give(0, a)]), Err(Reject::InvalidShareAmount));
    assert_eq!(pay(&mut c, Address([9; 32]), 5), Err(Reject::UnknownAgreement));
    assert_eq!(pay(&mut c, track, 0), Err(Reject::ZeroAmount));
    assert_eq!(
        c.run(5, vec![ag(AgreementAction::AgreementPay { agreement: track, amount: 5 })]),
        Err(Reject::InsufficientBalance)
    );
    assert_eq!(
        c.run(0, vec![ag(AgreementAction::AgreementAmend { agreement: track, legal_hash: [8; 32] })]),
        Err(Reject::NotAmender)
    );
}

#[test]
fn a_two_of_three_multisig_amends_and_one_signature_alone_does_not() {
    let mut c = chain();
    let members = vec![c.who(0), c.who(1), c.who(2)];
    let events = c.run(0, vec![Action::Multisig(MultisigAction::MultisigCreate { members, threshold: 2 })]).expect("ms");
    let Event::MultisigCreated { multisig, .. } = events[0] else { panic!() };
    c.run(3, vec![Action::Points(PointsAction::CreateAsset {
        symbol: "CNY".into(), name: "yuan".into(), decimals: 2, kind: AssetKind::Currency,
        max_supply: None, mint_limit_per_day: None, transferable: true, lifetime_ms: None,
    })])
    .expect("currency");
    let parties = vec![Party { address: c.who(0), share_ppm: 1_000_000 }];
    let events = c
        .run(0, vec![ag(AgreementAction::AgreementCreate {
            income_symbol: "CNY".into(), parties, legal_hash: [1; 32], expires_at_ms: None, amender: multisig,
        })])
        .expect("created and active");
    let Event::AgreementCreated { agreement, .. } = events[0] else { panic!() };
    let amend = vec![ag(AgreementAction::AgreementAmend { agreement, legal_hash: [2; 32] })];
    assert_eq!(c.run(0, amend.clone()), Err(Reject::NotAmender), "a member alone is not the amender");
    let expires_at_ms = c.time_ms + 60_000;
    c.run(0, vec![Action::Multisig(MultisigAction::MultisigPropose { multisig, actions: amend.clone(), expires_at_ms })])
        .expect("proposed");
    let record = |c: &TestChain| {
        let bytes = c.state.entries.get(&accord_agreements::state::agreement_key(&agreement)).expect("stored");
        accord_agreements::AgreementRecord::decode(bytes).expect("decodes")
    };
    assert_eq!(record(&c).legal_hash, [1; 32], "one signature alone changes nothing");
    c.run(2, vec![Action::Multisig(MultisigAction::MultisigApprove { multisig, proposal: 0, actions: amend })])
        .expect("approved");
    assert_eq!(record(&c).legal_hash, [2; 32]);
}
