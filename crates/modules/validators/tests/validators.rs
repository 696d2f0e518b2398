//! The validators module, driven through the real executor: who may approve, the quorum,
//! the freeze in the middle of an epoch, and every refusal.

use accord_exec::testkit::TestChain;
use accord_exec::Executor;
use accord_types::{Action, Address, Event, Reject, ValidatorEntry, ValidatorsAction};
use accord_validators::{state, Epochs, Validators};

/// Blocks per epoch in these tests: the set of epoch e + 1 is frozen after block 16e + 8.
const E: u64 = 16;

fn entry(c: &TestChain, user: usize) -> ValidatorEntry {
    ValidatorEntry { key: c.who(user), p2p: format!("127.0.0.1:{}", 26_000 + user) }
}

fn set(c: &TestChain, users: &[usize]) -> Vec<ValidatorEntry> {
    let mut s: Vec<ValidatorEntry> = users.iter().map(|u| entry(c, *u)).collect();
    s.sort();
    s
}

/// Users 0..4 are the genesis validators; users 4.. are not.
fn chain(length: Option<u64>) -> TestChain {
    let keys = TestChain::new(Executor::new("accord-test", vec![]), 8);
    let genesis = set(&keys, &[0, 1, 2, 3]);
    TestChain::new(Executor::new("accord-test", vec![Box::new(Validators::new(Epochs { length }, genesis))]), 8)
}

fn approve(set: Vec<ValidatorEntry>) -> Vec<Action> {
    vec![Action::Validators(ValidatorsAction::ApproveValidatorSet { validators: set })]
}

/// The stored set of `epoch`, if frozen.
fn stored(c: &TestChain, epoch: u64) -> Option<Vec<ValidatorEntry>> {
    c.state.entries.get(&state::set_key(epoch)).map(|v| state::decode_set(v).expect("decodes"))
}

fn scheduled_epoch(events: &[Event]) -> Option<u64> {
    events.iter().find_map(|e| match e {
        Event::ValidatorSetScheduled { epoch, .. } => Some(*epoch),
        _ => None,
    })
}

/// Run empty blocks until the chain's last block is `height`.
fn until(c: &mut TestChain, height: u64) {
    while c.height < height {
        c.empty_block();
    }
}

#[test]
fn a_quorum_of_the_current_set_schedules_a_set_frozen_at_the_next_midpoint() {
    let mut c = chain(Some(E));
    let next = set(&c, &[0, 1, 2, 4]);
    // Three of four is the quorum (4 − ⌊3/3⌋).
    for (i, v) in [0, 1].iter().enumerate() {
        let events = c.run(*v, approve(next.clone())).expect("approved");
        assert!(matches!(events[0], Event::ValidatorSetApproved { approvals, needed: 3, .. } if approvals == i as u32 + 1));
        assert_eq!(scheduled_epoch(&events), None);
    }
    let events = c.run(2, approve(next.clone())).expect("approved");
    assert_eq!(scheduled_epoch(&events), Some(1), "approved before block 8: takes effect at epoch 1");
    assert_eq!(stored(&c, 1), None, "not frozen before the midpoint");
    until(&mut c, 7);
    assert_eq!(stored(&c, 1), None);
    let events = c.empty_block();
    assert_eq!(c.height, 8);
    assert!(events.iter().any(|e| matches!(e, Event::ValidatorSetChanged { epoch: 1, validators: 4, .. })), "{events:?}");
    assert_eq!(stored(&c, 1), Some(next.clone()));
    // Until epoch 1 begins, the outgoing set may not pick the set after its successor.
    assert_eq!(c.run(1, approve(set(&c, &[0, 1, 2, 3]))), Err(Reject::ValidatorSetChanging));
    // Epoch 2's set is frozen at block 24 as the same set, without a change event.
    until(&mut c, 23);
    let events = c.empty_block();
    assert!(!events.iter().any(|e| matches!(e, Event::ValidatorSetChanged { .. })));
    assert_eq!(stored(&c, 2), Some(next.clone()));
    // In epoch 1 (from block 16) the removed validator may no longer approve; the new one may.
    until(&mut c, 30);
    assert_eq!(c.run(3, approve(set(&c, &[0, 1, 2, 3]))), Err(Reject::NotAValidator));
    assert!(c.run(4, approve(set(&c, &[0, 1, 2, 3]))).is_ok());
}

#[test]
fn an_approval_after_the_midpoint_waits_one_more_epoch() {
    let mut c = chain(Some(E));
    let next = set(&c, &[0, 1, 2]);
    until(&mut c, 8);
    c.run(0, approve(next.clone())).expect("approved");
    c.run(1, approve(next.clone())).expect("approved");
    let events = c.run(2, approve(next.clone())).expect("approved");
    assert_eq!(c.height, 11);
    assert_eq!(scheduled_epoch(&events), Some(2));
    until(&mut c, 24);
    assert_eq!(stored(&c, 1), Some(set(&c, &[0, 1, 2, 3])), "epoch 1 keeps the genesis set");
    assert_eq!(stored(&c, 2), Some(next));
}

#[test]
fn approvals_move_and_only_current_validators_count() {
    let mut c = chain(Some(E));
    let a = set(&c, &[0, 1, 2]);
    let b = set(&c, &[0, 1, 3]);
    c.run(0, approve(a.clone())).expect("approved");
    c.run(1, approve(a.clone())).expect("approved");
    assert_eq!(c.run(1, approve(a.clone())), Err(Reject::AlreadyApprovedSet));
    // Validator 1 moves to b: a has one approval left, so a third one does not schedule it.
    c.run(1, approve(b.clone())).expect("moved");
    let events = c.run(2, approve(a.clone())).expect("approved");
    assert!(matches!(events[0], Event::ValidatorSetApproved { approvals: 2, .. }), "{events:?}");
    assert_eq!(scheduled_epoch(&events), None);
    let events = c.run(3, approve(a.clone())).expect("approved");
    assert_eq!(scheduled_epoch(&events), Some(1));
}

#[test]
fn bad_sets_and_outsiders_are_refused() {
    let mut c = chain(Some(E));
    assert_eq!(c.run(5, approve(set(&c, &[0, 1, 2]))), Err(Reject::NotAValidator));
    assert_eq!(c.run(0, approve(Vec::new())), Err(Reject::InvalidValidatorSet));
    let mut unsorted = set(&c, &[0, 1, 2]);
    unsorted.reverse();
    assert_eq!(c.run(0, approve(unsorted)), Err(Reject::InvalidValidatorSet));
    let mut twice = set(&c, &[0, 1]);
    twice.push(twice[1].clone());
    assert_eq!(c.run(0, approve(twice)), Err(Reject::InvalidValidatorSet));
    let mut bad_address = set(&c, &[0, 1]);
    bad_address[0].p2p = "validator.example:26656".into();
    assert_eq!(c.run(0, approve(bad_address)), Err(Reject::InvalidValidatorSet));
    let mut not_a_key = set(&c, &[0, 1]);
    // Bytes that are not a point of the curve.
    let invalid = (2u8..=255)
        .map(|b| {
            let mut raw = [0u8; 32];
            raw[0] = b;
            raw
        })
        .find(|raw| <commonware_cryptography::ed25519::PublicKey as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(&raw[..])).is_err())
        .expect("some small y is off the curve");
    not_a_key[0].key = Address(invalid);
    not_a_key.sort();
    assert_eq!(c.run(0, approve(not_a_key)), Err(Reject::InvalidValidatorSet));
    let mut d = chain(None);
    assert_eq!(d.run(0, approve(set(&d, &[0, 1, 2]))), Err(Reject::EpochsDisabled));
}
