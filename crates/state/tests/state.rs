//! The store on real disk: known inputs give a known root, proofs check, restarts keep state.

use accord_state::{verify, State};
use commonware_runtime::{tokio as cw, Runner as _, Supervisor as _};

fn key(i: u8) -> [u8; 32] {
    [i; 32]
}

fn run<F, Fut>(dir: &std::path::Path, f: F)
where
    F: FnOnce(cw::Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let cfg = cw::Config::new().with_storage_directory(dir).with_worker_threads(1);
    cw::Runner::new(cfg).start(f);
}

/// The root of the three writes below. If this changes, the state format changed: every
/// existing chain would disagree with new nodes. Change it only on purpose.
const KNOWN_ROOT: &str = "fbadfd123a640f988c2ab5eafaa775d43992ab9aa066607b6f6d2a9c966a0b2b";

#[test]
fn known_inputs_give_a_known_root_and_proofs_check() {
    let dir = std::env::temp_dir().join(format!("accord-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let root_file = dir.with_extension("root");
    run(&dir, move |ctx| async move {
        let mut state = State::open(ctx.child("state"), "t").await.expect("opens");
        let writes = vec![(key(1), Some(b"one".to_vec())), (key(2), Some(b"two".to_vec())), (key(3), None)];
        let root = state.apply(writes, b"meta".to_vec()).await.expect("applies");
        std::fs::write(&root_file, hex::encode(root)).expect("write");
        let present = state.prove(&key(1)).await.expect("proves");
        assert_eq!(present.value.as_deref(), Some(&b"one"[..]));
        assert!(verify(&root, &key(1), Some(b"one"), &present.bytes));
        assert!(!verify(&root, &key(1), Some(b"uno"), &present.bytes), "wrong value");
        let absent = state.prove(&key(9)).await.expect("proves absence");
        assert_eq!(absent.value, None);
        assert!(verify(&root, &key(9), None, &absent.bytes));
        assert!(!verify(&root, &key(1), None, &absent.bytes), "absence proof of a present key");
        let mut tampered = present.bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(!verify(&root, &key(1), Some(b"one"), &tampered));
    });
    let root = std::fs::read_to_string(dir.with_extension("root")).expect("root");
    assert_eq!(root, KNOWN_ROOT);
    // Reopen: same root and metadata.
    let expected = root.clone();
    run(&dir, move |ctx| async move {
        let state = State::open(ctx.child("state"), "t").await.expect("reopens");
        assert_eq!(hex::encode(state.root().expect("root")), expected);
        assert_eq!(state.metadata().await.expect("metadata"), Some(b"meta".to_vec()));
        assert_eq!(state.get(&key(2)).await.expect("reads"), Some(b"two".to_vec()));
    });
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(dir.with_extension("root"));
}

#[test]
fn staged_blocks_chain_read_through_and_commit_to_the_roots_they_promised() {
    let dir = std::env::temp_dir().join(format!("accord-state-staged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let direct = dir.join("direct");
    let roots_file = dir.with_extension("roots");
    // The same two blocks applied one by one give the reference roots.
    run(&direct, {
        let roots_file = roots_file.clone();
        move |ctx| async move {
            let mut state = State::open(ctx.child("state"), "d").await.expect("opens");
            let a = state.apply(vec![(key(1), Some(b"a".to_vec()))], b"1".to_vec()).await.expect("a");
            let b = state.apply(vec![(key(1), None), (key(2), Some(b"b".to_vec()))], b"2".to_vec()).await.expect("b");
            std::fs::write(&roots_file, format!("{}\n{}", hex::encode(a), hex::encode(b))).expect("write");
        }
    });
    let roots = std::fs::read_to_string(&roots_file).expect("roots");
    let (root_a, root_b) = roots.split_once('\n').expect("two roots");
    let (root_a, root_b) = (root_a.to_string(), root_b.to_string());
    run(&dir.join("staged"), move |ctx| async move {
        let mut state = State::open(ctx.child("state"), "d").await.expect("opens");
        let a = state.stage(None, vec![(key(1), Some(b"a".to_vec()))], b"1".to_vec()).await.expect("stages a");
        // A child staged on a, before a is applied, reads a's writes.
        assert_eq!(state.get_many_at(Some(&a), &[key(1)]).await.expect("reads"), vec![Some(b"a".to_vec())]);
        assert_eq!(state.get(&key(1)).await.expect("reads"), None, "nothing applied yet");
        let b = state.stage(Some(&a), vec![(key(1), None), (key(2), Some(b"b".to_vec()))], b"2".to_vec()).await.expect("stages b");
        // A sibling of a, a fork that will lose.
        let fork = state.stage(None, vec![(key(3), Some(b"x".to_vec()))], b"1".to_vec()).await.expect("stages fork");
        assert_eq!(hex::encode(a.root()), root_a);
        assert_eq!(hex::encode(b.root()), root_b);
        assert_eq!(hex::encode(state.commit_staged(a).await.expect("commits a")), root_a);
        assert!(state.commit_staged(fork).await.is_err(), "a fork of a committed block does not apply");
        assert_eq!(hex::encode(state.commit_staged(b).await.expect("commits b")), root_b);
        assert_eq!(state.get(&key(2)).await.expect("reads"), Some(b"b".to_vec()));
        assert_eq!(state.metadata().await.expect("metadata"), Some(b"2".to_vec()));
    });
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&roots_file);
}

#[test]
fn a_block_staged_on_an_applied_parent_or_on_the_committed_state_has_the_same_root() {
    // Nodes reach a block by different routes: staged on its parent's batch before or after
    // that batch is applied, or directly on the committed state. All must agree.
    let dir = std::env::temp_dir().join(format!("accord-state-routes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    run(&dir, move |ctx| async move {
        let mut state = State::open(ctx.child("state"), "r").await.expect("opens");
        let parent = state.stage(None, vec![(key(1), Some(b"p".to_vec()))], b"1".to_vec()).await.expect("parent");
        let child = vec![(key(2), Some(b"c".to_vec()))];
        let before = state.stage(Some(&parent), child.clone(), b"2".to_vec()).await.expect("child before");
        state.commit_staged(parent.clone()).await.expect("commits parent");
        let after = state.stage(Some(&parent), child.clone(), b"2".to_vec()).await.expect("child after");
        let direct = state.stage(None, child, b"2".to_vec()).await.expect("child on committed");
        assert_eq!(before.root(), after.root());
        assert_eq!(before.root(), direct.root());
        assert_eq!(state.commit_staged(after).await.expect("commits child"), before.root());
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The simulation tests' instance (commonware's deterministic runtime) computes the same
/// roots as production's, so what they prove about roots holds for real nodes.
#[test]
fn the_deterministic_runtime_gives_the_same_root() {
    use commonware_runtime::deterministic;
    let root = deterministic::Runner::seeded(7).start(|ctx| async move {
        let mut state = State::open(ctx.child("state"), "t").await.expect("opens");
        let writes = vec![(key(1), Some(b"one".to_vec())), (key(2), Some(b"two".to_vec())), (key(3), None)];
        let root = state.apply(writes, b"meta".to_vec()).await.expect("applies");
        let staged = state.stage(None, vec![(key(4), Some(b"four".to_vec()))], b"m2".to_vec()).await.expect("stages");
        let staged_root = staged.root();
        assert_eq!(state.commit_staged(staged).await.expect("commits"), staged_root);
        assert_eq!(state.get(&key(4)).await.expect("reads"), Some(b"four".to_vec()));
        root
    });
    assert_eq!(hex::encode(root), KNOWN_ROOT);
}
