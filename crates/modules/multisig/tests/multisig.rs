//! Multisig accounts, driven through the real executor with the points module beside them.

use accord_exec::testkit::TestChain;
use accord_exec::Executor;
use accord_types::{Action, Address, AssetKind, Event, MultisigAction, PointsAction, Reject};

fn chain(users: u64) -> TestChain {
    TestChain::new(
        Executor::new("accord-test", vec![Box::new(accord_points::Points), Box::new(accord_multisig::Multisig)]),
        users,
    )
}

fn ms(a: MultisigAction) -> Action {
    Action::Multisig(a)
}

fn pts(a: PointsAction) -> Action {
    Action::Points(a)
}

/// Users 0..3 form a 2-of-3 multisig; returns its address.
fn two_of_three(c: &mut TestChain) -> Address {
    let members = vec![c.who(0), c.who(1), c.who(2)];
    let events = c.run(0, vec![ms(MultisigAction::MultisigCreate { members, threshold: 2 })]).expect("created");
    match &events[0] {
        Event::MultisigCreated { multisig, .. } => *multisig,
        other => panic!("unexpected {other:?}"),
    }
}

fn fund(c: &mut TestChain, to: Address, amount: u128) {
    c.run(3, vec![pts(PointsAction::CreateAsset {
        symbol: "CASH".into(), name: "cash".into(), decimals: 2, kind: AssetKind::Currency,
        max_supply: None, mint_limit_per_day: None, transferable: true, lifetime_ms: None,
    })])
    .expect("asset");
    c.run(3, vec![pts(PointsAction::Mint { symbol: "CASH".into(), to, amount, reason: "fund".into(), external_ref: None })])
        .expect("minted");
}

#[test]
fn a_proposal_runs_as_the_multisig_in_the_block_the_threshold_is_reached() {
    let mut c = chain(5);
    let wallet = two_of_three(&mut c);
    fund(&mut c, wallet, 1_000);
    let pay = vec![pts(PointsAction::Transfer { symbol: "CASH".into(), to: c.who(4), amount: 300 })];
    let expiry = c.time_ms + 60_000;
    c.run(0, vec![ms(MultisigAction::MultisigPropose { multisig: wallet, actions: pay.clone(), expires_at_ms: expiry })])
        .expect("proposed");
    assert_eq!(c.balance(&c.who(4), "CASH"), 0, "one signature alone moves nothing");
    assert_eq!(
        c.run(0, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 0, actions: pay.clone() })]),
        Err(Reject::AlreadyApproved)
    );
    let events = c
        .run(1, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 0, actions: pay.clone() })])
        .expect("approved");
    assert!(events.iter().any(|e| matches!(e, Event::ProposalExecuted { .. })));
    assert_eq!((c.balance(&wallet, "CASH"), c.balance(&c.who(4), "CASH")), (700, 300));
    assert_eq!(
        c.run(2, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 0, actions: pay })]),
        Err(Reject::ProposalExecuted)
    );
}

#[test]
fn membership_changes_only_through_the_multisig_and_keep_the_address() {
    let mut c = chain(5);
    let wallet = two_of_three(&mut c);
    let update = vec![ms(MultisigAction::MultisigUpdate { members: vec![c.who(0), c.who(4)], threshold: 1 })];
    assert_eq!(c.run(0, update.clone()), Err(Reject::NotMultisig), "a member alone cannot");
    let expiry = c.time_ms + 60_000;
    c.run(0, vec![ms(MultisigAction::MultisigPropose { multisig: wallet, actions: update.clone(), expires_at_ms: expiry })])
        .expect("proposed");
    c.run(2, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 0, actions: update })])
        .expect("approved and run");
    // Same address, new members: user 4 alone now controls it (1 of 2), user 1 no longer.
    fund(&mut c, wallet, 50);
    let pay = vec![pts(PointsAction::Transfer { symbol: "CASH".into(), to: c.who(4), amount: 50 })];
    assert_eq!(
        c.run(1, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 1, actions: pay.clone() })]),
        Err(Reject::NotMember)
    );
    c.run(4, vec![ms(MultisigAction::MultisigPropose { multisig: wallet, actions: pay, expires_at_ms: expiry })])
        .expect("proposed and run at once");
    assert_eq!(c.balance(&c.who(4), "CASH"), 50);
}

#[test]
fn bad_proposals_and_approvals_are_typed_rejects_and_change_nothing() {
    let mut c = chain(5);
    let wallet = two_of_three(&mut c);
    fund(&mut c, wallet, 100);
    let me = c.who(0);
    let create = |members: Vec<Address>, threshold| ms(MultisigAction::MultisigCreate { members, threshold });
    assert_eq!(c.run(0, vec![create(vec![], 1)]), Err(Reject::InvalidMembers));
    assert_eq!(c.run(0, vec![create(vec![me, me], 1)]), Err(Reject::InvalidMembers));
    assert_eq!(c.run(0, vec![create(vec![me], 2)]), Err(Reject::InvalidThreshold));
    assert_eq!(c.run(0, vec![create(vec![me], 0)]), Err(Reject::InvalidThreshold));
    let pay = vec![pts(PointsAction::Transfer { symbol: "CASH".into(), to: c.who(4), amount: 500 })];
    let now = c.time_ms;
    let propose = |actions: Vec<Action>, expires_at_ms| ms(MultisigAction::MultisigPropose { multisig: wallet, actions, expires_at_ms });
    assert_eq!(c.run(0, vec![propose(vec![], now + 1)]), Err(Reject::InvalidProposal));
    assert_eq!(c.run(0, vec![propose(pay.clone(), now)]), Err(Reject::InvalidProposal), "already expired");
    let stranger = Address([9; 32]);
    assert_eq!(
        c.run(0, vec![ms(MultisigAction::MultisigPropose { multisig: stranger, actions: pay.clone(), expires_at_ms: now + 1 })]),
        Err(Reject::UnknownMultisig)
    );
    c.run(0, vec![propose(pay.clone(), now + 10_000)]).expect("proposed");
    let approve = |proposal, actions| ms(MultisigAction::MultisigApprove { multisig: wallet, proposal, actions });
    assert_eq!(c.run(3, vec![approve(0, pay.clone())]), Err(Reject::NotMember));
    assert_eq!(c.run(1, vec![approve(7, pay.clone())]), Err(Reject::UnknownProposal));
    let other = vec![pts(PointsAction::Transfer { symbol: "CASH".into(), to: c.who(3), amount: 500 })];
    assert_eq!(c.run(1, vec![approve(0, other)]), Err(Reject::ActionsMismatch));
    // The proposal overdraws the wallet: the approval that reaches the threshold fails whole.
    assert_eq!(c.run(1, vec![approve(0, pay.clone())]), Err(Reject::InsufficientBalance));
    c.time_ms += 20_000;
    assert_eq!(c.run(1, vec![approve(0, pay)]), Err(Reject::ProposalExpired));
}

#[test]
fn approvals_follow_the_current_members() {
    let mut c = chain(5);
    let members = vec![c.who(0), c.who(1), c.who(2)];
    let events = c.run(0, vec![ms(MultisigAction::MultisigCreate { members, threshold: 3 })]).expect("created");
    let Event::MultisigCreated { multisig: wallet, .. } = events[0] else { panic!() };
    fund(&mut c, wallet, 100);
    let pay = vec![pts(PointsAction::Transfer { symbol: "CASH".into(), to: c.who(4), amount: 10 })];
    let expiry = c.time_ms + 60_000;
    c.run(0, vec![ms(MultisigAction::MultisigPropose { multisig: wallet, actions: pay.clone(), expires_at_ms: expiry })])
        .expect("proposal 0");
    c.run(1, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 0, actions: pay.clone() })])
        .expect("two of three");
    // The members shrink to {0, 1} with threshold 2: the two approvals are now enough, and
    // either approver can make it run.
    let shrink = vec![ms(MultisigAction::MultisigUpdate { members: vec![c.who(0), c.who(1)], threshold: 2 })];
    c.run(0, vec![ms(MultisigAction::MultisigPropose { multisig: wallet, actions: shrink.clone(), expires_at_ms: expiry })])
        .expect("proposal 1");
    c.run(1, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 1, actions: shrink.clone() })])
        .expect("two of three");
    c.run(2, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 1, actions: shrink })])
        .expect("three of three: the members shrink");
    c.run(0, vec![ms(MultisigAction::MultisigApprove { multisig: wallet, proposal: 0, actions: pay })])
        .expect("already enough approvals: runs");
    assert_eq!(c.balance(&c.who(4), "CASH"), 10);
}
