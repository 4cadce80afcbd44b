use super::{store_test, tick};

store_test! {
    #[tokio::test]
    async fn mark_processed_is_true_only_the_first_time(store) {
        assert!(!store.is_processed("a1").await.expect("query"));
        assert!(store.mark_processed("a1").await.expect("mark"));
        assert!(!store.mark_processed("a1").await.expect("mark again"));
        assert!(store.is_processed("a1").await.expect("query"));
        assert!(!store.is_processed("a2").await.expect("query"));
    }
}

store_test! {
    #[tokio::test]
    async fn prune_activities_removes_only_old_rows(store) {
        store.mark_processed("old").await.expect("mark");
        tick().await;
        let cutoff = chrono::Utc::now();
        tick().await;
        store.mark_processed("new").await.expect("mark");
        assert_eq!(store.prune_activities(cutoff).await.expect("prune"), 1);
        assert!(!store.is_processed("old").await.expect("query"));
        assert!(store.is_processed("new").await.expect("query"));
        assert_eq!(store.prune_activities(cutoff).await.expect("prune again"), 0);
    }
}

store_test! {
    #[tokio::test]
    async fn marking_does_not_wake_event_followers(store) {
        let rx = store.subscribe();
        store.mark_processed("a").await.expect("mark");
        assert!(!rx.has_changed().expect("sender alive"));
    }
}
