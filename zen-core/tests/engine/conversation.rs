//! Conversation threads and the in-memory store: ids, expiry, the turn limit,
//! concurrent turns, eviction under the byte bound, and parent chains.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use zen_core::conversation::{
    ContinuationId, ConversationStore, MemoryStore, Thread, Turn, load_chain,
};
use zen_core::{Error, ErrorKind};

fn thread_with(turns: usize, content_len: usize) -> Thread {
    let mut thread = Thread::new("chat", json!({"prompt": "hello"}), None);
    for i in 0..turns {
        thread.turns.push(Turn::user(
            format!("{i}:{}", "x".repeat(content_len)),
            "chat",
        ));
    }
    thread
}

#[tokio::test]
async fn stored_threads_come_back_and_unknown_ids_are_none() {
    let store = MemoryStore::new(1 << 20, Duration::from_secs(3600));
    let thread = thread_with(2, 10);
    let id = thread.id;
    store.insert(thread.clone()).await.unwrap();
    assert_eq!(store.get(id).await.unwrap(), Some(thread));
    assert_eq!(store.get(ContinuationId::new()).await.unwrap(), None);
    let newer = thread_with(1, 10);
    let newer_id = newer.id;
    store.insert(newer).await.unwrap();
    let recent: Vec<ContinuationId> = store
        .recent(10)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(recent, vec![newer_id, id]);
    assert_eq!(store.recent(1).await.unwrap().len(), 1);
    let usage = store.usage().await;
    assert_eq!(usage.threads, 2);
    assert!(usage.bytes > 0);
}

#[tokio::test]
async fn idle_threads_expire_and_use_keeps_them_alive() {
    let store = MemoryStore::new(1 << 20, Duration::from_millis(600));
    let kept = thread_with(1, 10);
    let dropped = thread_with(1, 10);
    let (kept_id, dropped_id) = (kept.id, dropped.id);
    store.insert(kept).await.unwrap();
    store.insert(dropped).await.unwrap();
    // Touch one thread every 200 ms for a second: it stays; the other expires.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(store.get(kept_id).await.unwrap().is_some());
    }
    assert!(store.get(dropped_id).await.unwrap().is_none());
    let err = store
        .append(dropped_id, vec![Turn::user("late", "chat")], 50)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConversationNotFound);
    assert!(err.to_string().contains("without continuation_id"), "{err}");
}

#[tokio::test]
async fn the_turn_limit_is_enforced() {
    let store = MemoryStore::new(1 << 20, Duration::from_secs(3600));
    let thread = thread_with(3, 10);
    let id = thread.id;
    store.insert(thread).await.unwrap();
    let updated = store
        .append(
            id,
            vec![Turn::user("a", "chat"), Turn::assistant("b", "chat")],
            5,
        )
        .await
        .unwrap();
    assert_eq!(updated.turns.len(), 5);
    let err = store
        .append(id, vec![Turn::user("c", "chat")], 5)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ConversationFull { max_turns: 5, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("MAX_CONVERSATION_TURNS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_never_lose_a_turn() {
    let store = Arc::new(MemoryStore::new(64 << 20, Duration::from_secs(3600)));
    let thread = thread_with(0, 0);
    let id = thread.id;
    store.insert(thread).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .append(
                        id,
                        vec![
                            Turn::user(format!("q{i}"), "chat"),
                            Turn::assistant(format!("a{i}"), "chat"),
                        ],
                        1000,
                    )
                    .await
                    .unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let thread = store.get(id).await.unwrap().unwrap();
    assert_eq!(thread.turns.len(), 128);
    // Each call's pair stays together, in order.
    for pair in thread.turns.chunks(2) {
        assert_eq!(pair[0].content[1..], pair[1].content[1..]);
    }
}

#[tokio::test]
async fn the_least_recently_used_thread_goes_when_memory_is_full() {
    // Room for about two threads of ~40 KB each.
    let store = MemoryStore::new(100_000, Duration::from_secs(3600));
    let (a, b, c) = (
        thread_with(1, 40_000),
        thread_with(1, 40_000),
        thread_with(1, 40_000),
    );
    let (a_id, b_id, c_id) = (a.id, b.id, c.id);
    store.insert(a).await.unwrap();
    store.insert(b).await.unwrap();
    store.run_maintenance().await;
    assert!(
        store.get(a_id).await.unwrap().is_some(),
        "A is now the most recent"
    );
    store.run_maintenance().await;
    store.insert(c).await.unwrap();
    store.run_maintenance().await;
    assert!(
        store.get(b_id).await.unwrap().is_none(),
        "B was least recently used"
    );
    assert!(store.get(a_id).await.unwrap().is_some());
    assert!(store.get(c_id).await.unwrap().is_some());
    assert!(store.usage().await.bytes <= 100_000);
}

#[tokio::test]
async fn chains_are_walked_oldest_first_and_cycles_stop() {
    let store: Arc<dyn ConversationStore> =
        Arc::new(MemoryStore::new(1 << 20, Duration::from_secs(3600)));
    let root = thread_with(1, 1);
    let middle = Thread::new("thinkdeep", json!({}), Some(root.id));
    let leaf = Thread::new("codereview", json!({}), Some(middle.id));
    let (root_id, middle_id, leaf_id) = (root.id, middle.id, leaf.id);
    for t in [root, middle, leaf] {
        store.insert(t).await.unwrap();
    }
    let chain = load_chain(&store, leaf_id, 3.0).await.unwrap();
    let ids: Vec<ContinuationId> = chain.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![root_id, middle_id, leaf_id]);

    // Two threads naming each other as parent: the walk stops.
    let mut x = Thread::new("chat", json!({}), None);
    let mut y = Thread::new("chat", json!({}), None);
    x.parent_id = Some(y.id);
    y.parent_id = Some(x.id);
    let x_id = x.id;
    store.insert(x).await.unwrap();
    store.insert(y).await.unwrap();
    assert_eq!(load_chain(&store, x_id, 3.0).await.unwrap().len(), 2);

    // A long chain is cut at the depth limit.
    let mut parent = None;
    let mut last = None;
    for _ in 0..40 {
        let t = Thread::new("chat", json!({}), parent);
        parent = Some(t.id);
        last = Some(t.id);
        store.insert(t).await.unwrap();
    }
    let chain = load_chain(&store, last.unwrap(), 3.0).await.unwrap();
    assert_eq!(chain.len(), zen_core::conversation::MAX_CHAIN_DEPTH);

    let err = load_chain(&store, ContinuationId::new(), 3.0)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConversationNotFound);
}
