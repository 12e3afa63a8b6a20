#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail by panicking.

//! Store stories: each runs on SQLite and on PostgreSQL.

use serde_json::json;
use throughline_core::conversation::{Status, StatusRequest};
use throughline_core::crypto::ServerKey;
use throughline_core::event::EventKind;
use throughline_core::message::{MessageType, SenderType};
use throughline_core::model::ChannelType;
use throughline_core::role::Role;
use throughline_store::contacts::{self, NewContact};
use throughline_store::conversations::{self, ConversationQuery, NewConversation};
use throughline_store::inboxes::{self, NewInbox};
use throughline_store::messages::{self, NewMessage};
use throughline_store::outbox::{self, Cursor};
use throughline_store::teams;
use throughline_store::testing::TestDatabase;
use throughline_store::{AccountScope, Backend, Store, StoreError, StoreOptions, accounts};

macro_rules! on_both {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test]
                async fn sqlite() {
                    super::$story(throughline_store::Backend::Sqlite).await;
                }
                #[tokio::test]
                async fn postgres() {
                    super::$story(throughline_store::Backend::Postgres).await;
                }
            }
        )*
    };
}

on_both!(
    grouped_writes_commit_together_and_fail_alone,
    outbox_keeps_commit_order_and_drops_rollbacks,
    messages_are_unique_per_inbox_external_id,
    conversations_number_per_account_and_follow_the_status_machine,
    tenants_never_see_each_other,
    merge_moves_everything_and_is_audited,
    cursors_survive_a_reopen,
    pruning_keeps_what_a_consumer_still_needs,
    bulk_history_has_the_shape_of_messages_written_one_by_one,
    a_transaction_knows_whether_it_wrote,
    a_message_event_shows_its_conversation_as_a_fresh_read_does,
    password_links_work_once_for_their_user_until_they_expire,
    a_notification_is_written_once_per_event_and_one_per_conversation,
    conversation_search_follows_what_conversations_hold,
    tallied_counts_are_what_counting_gives,
    a_voicemail_transcript_is_written_once_and_never_over_a_removed_text,
);

async fn open(backend: Backend) -> (TestDatabase, Store) {
    let db = TestDatabase::new(backend).await;
    let store = Store::open(&StoreOptions::new(&db.url), ServerKey::generate())
        .await
        .expect("open store");
    (db, store)
}

struct Fixture {
    scope: AccountScope,
    inbox: throughline_core::model::Inbox,
    contact: throughline_core::model::Contact,
}

async fn fixture(store: &Store, name: &str) -> Fixture {
    let mut tx = store.begin().await.unwrap();
    let account = accounts::create_account(tx.conn(), name, "en")
        .await
        .unwrap();
    let scope = AccountScope::system(account.id);
    let inbox = inboxes::create(
        tx.conn(),
        store.key(),
        &scope,
        NewInbox::new("API", ChannelType::Api),
    )
    .await
    .unwrap();
    let contact = contacts::create(
        &mut tx,
        &scope,
        NewContact {
            name: "Ana Souza".into(),
            email: Some("ana@example.com".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Fixture {
        scope,
        inbox,
        contact,
    }
}

async fn new_conversation(store: &Store, f: &Fixture) -> throughline_core::model::Conversation {
    let mut tx = store.begin().await.unwrap();
    let c = conversations::create(
        &mut tx,
        &f.scope,
        NewConversation::open(f.contact.id, f.inbox.id, None),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    c
}

/// A user who is an agent (not an administrator) of the scope's account.
async fn new_agent(
    tx: &mut throughline_store::Tx,
    scope: &AccountScope,
    email: &str,
) -> throughline_core::model::User {
    let user = accounts::create_user(
        tx.conn(),
        accounts::NewUser {
            email: email.into(),
            name: "Agent".into(),
            display_name: None,
            password_hash: None,
            custom_attributes: json!({}),
        },
    )
    .await
    .unwrap();
    accounts::add_member(tx.conn(), scope.account_id(), user.id, Role::Agent, None)
        .await
        .unwrap();
    user
}

fn incoming(text: &str, contact_id: i64, source_id: Option<&str>) -> NewMessage {
    let mut m = NewMessage::text(MessageType::Incoming, text);
    m.sender = Some((SenderType::Contact, contact_id));
    m.source_id = source_id.map(str::to_owned);
    m
}

async fn visible_events(store: &Store) -> Vec<throughline_core::event::StoredEvent> {
    let mut conn = store.read().await.unwrap();
    outbox::read_after(&mut conn, store.backend(), Cursor::default(), 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// The first `n` events. On PostgreSQL an event becomes readable once every older transaction
/// in the cluster has finished, and parallel tests share the cluster: wait for it.
async fn events_upto(store: &Store, n: usize) -> Vec<throughline_core::event::StoredEvent> {
    for _ in 0..200 {
        let events = visible_events(store).await;
        if events.len() >= n {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "fewer than {n} events became visible: {:?}",
        visible_events(store).await.len()
    );
}

async fn all_events(store: &Store) -> Vec<throughline_core::event::StoredEvent> {
    let total: i64 = {
        let mut conn = store.read().await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    events_upto(store, usize::try_from(total).unwrap()).await
}

async fn outbox_keeps_commit_order_and_drops_rollbacks(backend: Backend) {
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let before = all_events(&store).await.len();
    assert_eq!(before, 1, "the fixture's contact_created");

    // A rolled-back change leaves no event behind.
    let mut tx = store.begin().await.unwrap();
    contacts::create(
        &mut tx,
        &f.scope,
        NewContact {
            name: "Ghost".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    drop(tx);

    let c = new_conversation(&store, &f).await;
    let mut tx = store.begin().await.unwrap();
    messages::create(&mut tx, &f.scope, &c, incoming("Olá", f.contact.id, None))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let events = all_events(&store).await;
    assert!(
        events.iter().all(|e| e.payload["name"] != "Ghost"),
        "rolled-back event published"
    );
    let kinds: Vec<EventKind> = events[before..].iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![EventKind::ConversationCreated, EventKind::MessageCreated]
    );
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "events come back in commit order");
    let message_event = events.last().unwrap();
    assert_eq!(message_event.payload["content"], "Olá");
    assert_eq!(message_event.payload["message_type"], "incoming");
    assert_eq!(message_event.payload["conversation"]["id"], c.display_id);
    assert_eq!(message_event.payload["account"]["name"], "Acme");

    if backend == Backend::Postgres {
        // A transaction that got its id first but commits last must not be skipped: readers
        // wait until every older transaction has finished.
        let mut slow = store.begin().await.unwrap();
        contacts::create(
            &mut slow,
            &f.scope,
            NewContact {
                name: "Slow".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let mut fast = store.begin().await.unwrap();
        contacts::create(
            &mut fast,
            &f.scope,
            NewContact {
                name: "Fast".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        fast.commit().await.unwrap();
        let visible = visible_events(&store).await;
        assert_eq!(
            visible.len(),
            events.len(),
            "the fast commit waits behind the open slow one"
        );
        slow.commit().await.unwrap();
        let after = events_upto(&store, events.len() + 2).await;
        let names: Vec<&str> = after[events.len()..]
            .iter()
            .map(|e| e.payload["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Slow", "Fast"]);
    }
}

async fn messages_are_unique_per_inbox_external_id(backend: Backend) {
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let c = new_conversation(&store, &f).await;
    let mut ids = Vec::new();
    for attempt in 0..3 {
        let mut tx = store.begin().await.unwrap();
        let created = messages::create(
            &mut tx,
            &f.scope,
            &c,
            incoming("hi", f.contact.id, Some("wamid.1")),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(created.duplicate, attempt > 0);
        ids.push(created.message.id);
    }
    assert!(ids.iter().all(|id| *id == ids[0]));
    let mut conn = store.read().await.unwrap();
    let stored = messages::list(&mut conn, &f.scope, &c, None, None, 100, true)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let created_events = all_events(&store)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::MessageCreated)
        .count();
    assert_eq!(created_events, 1, "a duplicate writes no event");
}

async fn conversations_number_per_account_and_follow_the_status_machine(backend: Backend) {
    let (_db, store) = open(backend).await;
    let a = fixture(&store, "A").await;
    let b = fixture(&store, "B").await;
    let a1 = new_conversation(&store, &a).await;
    let a2 = new_conversation(&store, &a).await;
    let b1 = new_conversation(&store, &b).await;
    assert_eq!((a1.display_id, a2.display_id, b1.display_id), (1, 2, 1));

    // Customer writes: waiting starts. Resolve; customer writes again: reopened.
    let mut tx = store.begin().await.unwrap();
    let created = messages::create(&mut tx, &a.scope, &a1, incoming("help", a.contact.id, None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(created.conversation.waiting_since.is_some());

    let mut tx = store.begin().await.unwrap();
    let (resolved, outcome) = conversations::set_status(
        &mut tx,
        &a.scope,
        &created.conversation,
        StatusRequest::Toggle,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(outcome.changed);
    assert_eq!(resolved.status, Status::Resolved);

    let mut tx = store.begin().await.unwrap();
    let again = messages::create(
        &mut tx,
        &a.scope,
        &resolved,
        incoming("still broken", a.contact.id, None),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again.conversation.status, Status::Open);

    let mut conn = store.read().await.unwrap();
    let timeline = messages::list(&mut conn, &a.scope, &a1, None, None, 100, true)
        .await
        .unwrap();
    let activity: Vec<&str> = timeline
        .iter()
        .filter(|m| m.message_type == MessageType::Activity)
        .filter_map(|m| m.content.as_deref())
        .collect();
    assert_eq!(
        activity,
        vec!["Conversation was marked resolved by Throughline"]
    );
    let kinds: Vec<EventKind> = all_events(&store).await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::ConversationStatusChanged)
            .count(),
        2,
        "resolve and the customer's reopen"
    );

    // Snoozing into the past is refused and changes nothing.
    let mut tx = store.begin().await.unwrap();
    let err = conversations::set_status(
        &mut tx,
        &a.scope,
        &again.conversation,
        StatusRequest::Set {
            status: Status::Snoozed,
            snoozed_until: Some(1),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Refused(_)));
}

async fn tenants_never_see_each_other(backend: Backend) {
    let (_db, store) = open(backend).await;
    let a = fixture(&store, "A").await;
    let b = fixture(&store, "B").await;
    let a1 = new_conversation(&store, &a).await;
    let mut conn = store.read().await.unwrap();
    assert!(matches!(
        contacts::get(&mut conn, &b.scope, a.contact.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        inboxes::get(&mut conn, store.key(), &b.scope, a.inbox.id).await,
        Err(StoreError::NotFound)
    ));
    let (b_list, counts) = conversations::list(&mut conn, &b.scope, &ConversationQuery::default())
        .await
        .unwrap();
    assert!(b_list.is_empty());
    assert_eq!(counts.all, 0);
    let (a_list, _) = conversations::list(&mut conn, &a.scope, &ConversationQuery::default())
        .await
        .unwrap();
    assert_eq!(a_list.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a1.id]);
    drop(conn);

    // Merging across accounts is refused.
    let mut tx = store.begin().await.unwrap();
    assert!(
        contacts::merge(&mut tx, &a.scope, a.contact.id, b.contact.id)
            .await
            .is_err()
    );
    drop(tx);

    // An agent sees only the inboxes they are a member of.
    let mut tx2 = store.begin().await.unwrap();
    let user = new_agent(&mut tx2, &a.scope, "agent@a.example").await;
    tx2.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    let agent = throughline_store::scope::for_user(&mut conn, user.id, a.scope.account_id())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        conversations::get(&mut conn, &agent, a1.display_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        throughline_store::scope::for_user(&mut conn, user.id, b.scope.account_id())
            .await
            .unwrap()
            .is_none()
    );
}

async fn merge_moves_everything_and_is_audited(backend: Backend) {
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let mut tx = store.begin().await.unwrap();
    let other = contacts::create(
        &mut tx,
        &f.scope,
        NewContact {
            name: "Ana S.".into(),
            phone_number: Some("+5511912345678".into()),
            custom_attributes: json!({ "plan": "pro", "city": "Campinas" }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    contacts::set_labels(&mut tx, &f.scope, other.id, &["vip".to_owned()])
        .await
        .unwrap();
    let conv = conversations::create(
        &mut tx,
        &f.scope,
        NewConversation::open(other.id, f.inbox.id, None),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let merged = contacts::merge(&mut tx, &f.scope, f.contact.id, other.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(merged.email.as_deref(), Some("ana@example.com"));
    assert_eq!(
        merged.phone_number.as_deref(),
        Some("+5511912345678"),
        "blank filled from mergee"
    );
    assert_eq!(merged.custom_attributes["plan"], "pro");

    let mut conn = store.read().await.unwrap();
    assert!(matches!(
        contacts::get(&mut conn, &f.scope, other.id).await,
        Err(StoreError::NotFound)
    ));
    let moved = conversations::get(&mut conn, &f.scope, conv.display_id)
        .await
        .unwrap();
    assert_eq!(moved.contact_id, f.contact.id);
    assert_eq!(
        contacts::labels_of(&mut conn, &f.scope, f.contact.id)
            .await
            .unwrap(),
        vec!["vip"]
    );
    let audit = contacts::merges_of(&mut conn, &f.scope, f.contact.id)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, other.id);
    assert_eq!(audit[0].1["name"], "Ana S.");
    assert!(
        all_events(&store)
            .await
            .iter()
            .any(|e| e.kind == EventKind::ContactMerged)
    );
}

async fn cursors_survive_a_reopen(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let key = ServerKey::generate();
    let store = Store::open(&StoreOptions::new(&db.url), key.clone())
        .await
        .unwrap();
    let f = fixture(&store, "Acme").await;
    all_events(&store).await;
    let mut conn = store.read().await.unwrap();
    let events = outbox::read_after(&mut conn, backend, Cursor::default(), 100)
        .await
        .unwrap();
    let (last, _) = events.last().unwrap();
    outbox::save_cursor(&mut conn, "test-consumer", *last)
        .await
        .unwrap();
    drop(conn);
    store.close().await;

    let reopened = Store::open(&StoreOptions::new(&db.url), key).await.unwrap();
    let mut conn = reopened.read().await.unwrap();
    assert_eq!(
        outbox::load_cursor(&mut conn, "test-consumer")
            .await
            .unwrap(),
        Some(*last)
    );
    assert!(
        outbox::read_after(&mut conn, backend, *last, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Secrets sealed with the key read back after a restart.
    let inbox = inboxes::get(&mut conn, reopened.key(), &f.scope, f.inbox.id)
        .await
        .unwrap();
    assert_eq!(inbox.hmac_token, f.inbox.hmac_token);
}

/// Both migration sets must describe the same tables and columns.
#[tokio::test]
async fn migrations_agree_between_sqlite_and_postgres() {
    let (_s, sqlite) = open(Backend::Sqlite).await;
    let (_p, postgres) = open(Backend::Postgres).await;
    let mut sc = sqlite.read().await.unwrap();
    let sqlite_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
           AND m.name NOT LIKE 'messages_fts%' /* SQLite's full-text index; an expression index on PostgreSQL */ \
           AND m.name NOT LIKE 'contacts_trgm%' /* SQLite's trigram index; pg_trgm on PostgreSQL */ \
         ORDER BY m.name, p.name",
    )
    .fetch_all(&mut *sc)
    .await
    .unwrap();
    let mut pc = postgres.read().await.unwrap();
    let pg_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' \
           AND table_name <> 'contact_search' /* pg_trgm's table; contacts_trgm on SQLite */ \
         ORDER BY table_name, column_name",
    )
    .fetch_all(&mut *pc)
    .await
    .unwrap();
    assert!(
        sqlite_cols.len() > 100,
        "schema looks empty: {}",
        sqlite_cols.len()
    );
    assert_eq!(sqlite_cols, pg_cols);
}

/// Group commit: many concurrent writes share transactions; a write that fails is undone
/// alone and answered with its own error; duplicates inside one batch still make one message.
async fn grouped_writes_commit_together_and_fail_alone(backend: Backend) {
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let c = new_conversation(&store, &f).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (store, scope, c, contact) = (store.clone(), f.scope.clone(), c.clone(), f.contact.id);
        tasks.push(tokio::spawn(async move {
            // Every tenth write fails after writing; every seventh repeats one external id.
            let source = if i % 7 == 0 {
                "dup".to_owned()
            } else {
                format!("g-{i}")
            };
            store
                .write_grouped(0, move |tx| {
                    Box::pin(async move {
                        let created = messages::create(
                            tx,
                            &scope,
                            &c,
                            incoming(&format!("m{i}"), contact, Some(&source)),
                        )
                        .await?;
                        if i % 10 == 5 {
                            return Err(StoreError::Refused(format!("refused {i}")));
                        }
                        Ok(created.message.id)
                    })
                })
                .await
        }));
    }
    let mut ok = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(_) => {
                assert_ne!(i % 10, 5, "write {i} should have failed");
                ok += 1;
            }
            Err(StoreError::Refused(m)) => {
                assert_eq!(i % 10, 5);
                assert_eq!(
                    m,
                    format!("refused {i}"),
                    "each failure keeps its own error"
                );
            }
            Err(e) => panic!("write {i}: {e}"),
        }
    }
    assert_eq!(ok, 54);
    let mut conn = store.read().await.unwrap();
    let stored = messages::list(&mut conn, &f.scope, &c, None, None, 1_000, true)
        .await
        .unwrap();
    let contents: std::collections::BTreeSet<String> =
        stored.iter().filter_map(|m| m.content.clone()).collect();
    for i in (0..60).filter(|i| i % 10 == 5) {
        assert!(
            !contents.contains(&format!("m{i}")),
            "failed write {i} was undone"
        );
    }
    // 60 writes: 6 failed, the 8 others with "dup" (0, 7, …, 56 minus 35) made one message.
    let dup_ok = (0..60).filter(|i| i % 7 == 0 && i % 10 != 5).count();
    assert_eq!(stored.len(), 54 - dup_ok + 1, "{contents:?}");
    let created_events = all_events(&store)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::MessageCreated)
        .count();
    assert_eq!(created_events, stored.len(), "one event per stored message");
}

/// The outbox and the delivery log are pruned, never of what a consumer still needs: events
/// past the slowest durable cursor, events a delayed rule hangs on, recent events, pending
/// deliveries all stay.
async fn pruning_keeps_what_a_consumer_still_needs(backend: Backend) {
    use throughline_store::webhooks::{self, NewDelivery, Target};
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    for n in 0..4 {
        let c = new_conversation(&store, &f).await;
        let mut tx = store.begin().await.unwrap();
        messages::create(
            &mut tx,
            &f.scope,
            &c,
            incoming(&format!("m{n}"), f.contact.id, None),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let events = all_events(&store).await;
    assert!(events.len() >= 8, "{}", events.len());
    let mut conn = store.read().await.unwrap();
    let ordered = outbox::read_after(&mut conn, backend, Cursor::default(), 10_000)
        .await
        .unwrap();
    // Nothing before the consumers have cursors.
    let future = throughline_store::now_ms() + 1_000;
    assert_eq!(outbox::prune(&mut conn, future, 1_000).await.unwrap(), 0);
    // Two consumers; the slower one is at the third event.
    let fast = ordered[ordered.len() - 2].0;
    let slow = ordered[2].0;
    outbox::save_cursor(&mut conn, "fast", fast).await.unwrap();
    outbox::save_cursor(&mut conn, "slow", slow).await.unwrap();
    // A delayed rule still hangs on the first event.
    let hanging = ordered[0].1.id;
    sqlx::query(
        "INSERT INTO automation_rules (account_id, name, event_name, created_at, updated_at) \
         VALUES ($1, 'later', 'message_created', 0, 0)",
    )
    .bind(f.scope.account_id())
    .execute(&mut *conn)
    .await
    .unwrap();
    let rule: i64 = sqlx::query_scalar("SELECT MAX(id) FROM automation_rules")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO automation_runs (account_id, rule_id, event_id, event_name, outcome, \
           due_at, created_at, updated_at) VALUES ($1, $2, $3, 'message_created', 'scheduled', 0, 0, 0)",
    )
    .bind(f.scope.account_id())
    .bind(rule)
    .bind(hanging)
    .execute(&mut *conn)
    .await
    .unwrap();
    // Too recent for the retention: nothing goes.
    assert_eq!(outbox::prune(&mut conn, 0, 1_000).await.unwrap(), 0);
    // Old enough: the second and third events go (the first is needed), in batches.
    assert_eq!(outbox::prune(&mut conn, future, 1).await.unwrap(), 1);
    assert_eq!(outbox::prune(&mut conn, future, 1_000).await.unwrap(), 1);
    assert_eq!(outbox::prune(&mut conn, future, 1_000).await.unwrap(), 0);
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox_events ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let mut expected: Vec<i64> = ordered
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || *i > 2)
        .map(|(_, (_, e))| e.id)
        .collect();
    expected.sort_unstable();
    assert_eq!(left, expected);
    // The slow consumer still reads everything after its cursor.
    assert_eq!(
        outbox::read_after(&mut conn, backend, slow, 10_000)
            .await
            .unwrap()
            .len(),
        ordered.len() - 3
    );
    assert_eq!(outbox::oldest_id(&mut conn).await.unwrap(), Some(hanging));

    // Deliveries: finished and old go; pending, or recent, stay.
    let last = ordered.last().unwrap().1.id;
    for n in 0..3 {
        webhooks::enqueue(
            &mut conn,
            NewDelivery {
                account_id: f.scope.account_id(),
                target: Target::Automation {
                    key: format!("k{n}"),
                },
                event_id: last,
                event_name: "message_created",
                url: "http://127.0.0.1:9/hook",
                payload: "{}",
            },
        )
        .await
        .unwrap();
    }
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM deliveries ORDER BY target")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET state = 'delivered', updated_at = 5 WHERE id = $1")
        .bind(&ids[0])
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET state = 'failed', updated_at = $2 WHERE id = $1")
        .bind(&ids[1])
        .bind(future)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET updated_at = 5 WHERE id = $1")
        .bind(&ids[2])
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        webhooks::prune_deliveries(&mut conn, 1_000, 100)
            .await
            .unwrap(),
        1
    );
    let kept: Vec<String> = sqlx::query_scalar("SELECT id FROM deliveries ORDER BY target")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        kept,
        vec![ids[1].clone(), ids[2].clone()],
        "recent failed and pending stay"
    );
}

/// The bench's bulk seeding writes what `messages::create` would, without events: the same
/// conversation clocks (from the core's rules), messages listed in order and found by search.
async fn bulk_history_has_the_shape_of_messages_written_one_by_one(backend: Backend) {
    use throughline_store::bulk::{self, PastMessage};
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let one_by_one = new_conversation(&store, &f).await;
    let in_bulk = new_conversation(&store, &f).await;
    // After both conversations began, so their clocks come from the messages alone.
    let start = throughline_store::now_ms() + 86_400_000;
    let history: Vec<PastMessage> = (0..7)
        .map(|i| PastMessage {
            message_type: if i % 2 == 0 {
                MessageType::Incoming
            } else {
                MessageType::Outgoing
            },
            content: format!("zamówienie {i} nie dotarło"),
            sender: if i % 2 == 0 {
                Some((SenderType::Contact, f.contact.id))
            } else {
                None
            },
            inbox_id: f.inbox.id,
            identity_id: None,
            created_at: start + i * 60_000,
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    let mut expected = one_by_one.clone();
    for m in &history {
        let mut new = NewMessage::text(m.message_type, m.content.clone());
        new.sender = m.sender;
        new.created_at = Some(m.created_at);
        expected = messages::create(&mut tx, &f.scope, &expected, new)
            .await
            .unwrap()
            .conversation;
    }
    let events_before = all_events_in(&mut tx).await;
    let stored = bulk::insert_history(&mut tx, &f.scope, &in_bulk, &history, false)
        .await
        .unwrap();
    assert_eq!(
        all_events_in(&mut tx).await,
        events_before,
        "history makes no events"
    );
    tx.commit().await.unwrap();

    let mut conn = store.read().await.unwrap();
    let reread = conversations::by_internal_id(&mut conn, &f.scope, in_bulk.id)
        .await
        .unwrap();
    for c in [&stored, &reread] {
        assert_eq!(c.status, expected.status);
        assert_eq!(c.waiting_since, expected.waiting_since);
        assert_eq!(c.first_reply_created_at, expected.first_reply_created_at);
        assert_eq!(c.last_activity_at, expected.last_activity_at);
    }
    let listed = messages::list(&mut conn, &f.scope, &reread, None, None, 50, true)
        .await
        .unwrap();
    let texts: Vec<&str> = listed.iter().filter_map(|m| m.content.as_deref()).collect();
    let wanted: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, wanted);
    assert_eq!(listed[0].sender_id, Some(f.contact.id));
    assert_eq!(listed[1].message_type, MessageType::Outgoing);

    // Search finds both conversations' messages.
    let (found, _) = conversations::list(
        &mut conn,
        &f.scope,
        &ConversationQuery {
            status: None,
            search: Some("zamówienie dotarło".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![one_by_one.id, in_bulk.id]);

    // Resolved history ends resolved, with nobody waiting.
    drop(conn);
    let closed = new_conversation(&store, &f).await;
    let mut tx = store.begin().await.unwrap();
    let closed = bulk::insert_history(&mut tx, &f.scope, &closed, &history, true)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(closed.status, Status::Resolved);
    assert_eq!(closed.waiting_since, None);
}

async fn all_events_in(tx: &mut throughline_store::Tx) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events")
        .fetch_one(tx.conn())
        .await
        .unwrap()
}

/// A consumer skips writing its cursor when its batch changed nothing: the transaction must
/// tell reads from writes, including a write a savepoint undid (a harmless "yes").
async fn a_transaction_knows_whether_it_wrote(backend: Backend) {
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;

    let a_conversation = || NewConversation::open(f.contact.id, f.inbox.id, None);

    let mut tx = store.begin().await.unwrap();
    let mark = tx.write_mark().await.unwrap();
    conversations::list(tx.conn(), &f.scope, &ConversationQuery::default())
        .await
        .unwrap();
    assert!(
        !tx.written_since(mark).await.unwrap(),
        "reads are not writes"
    );
    tx.savepoint("probe").await.unwrap();
    conversations::create(&mut tx, &f.scope, a_conversation())
        .await
        .unwrap();
    tx.roll_back_to("probe").await.unwrap();
    assert!(
        tx.written_since(mark).await.unwrap(),
        "an undone write still counts"
    );
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let mark = tx.write_mark().await.unwrap();
    assert!(!tx.written_since(mark).await.unwrap());
    conversations::create(&mut tx, &f.scope, a_conversation())
        .await
        .unwrap();
    assert!(tx.written_since(mark).await.unwrap());
    tx.commit().await.unwrap();
}

/// A message's event is rendered from what its writer holds (the message, its inbox, the
/// conversation's identity) instead of reading them back; it must still show the conversation
/// exactly as reading it afresh does, also when the message came through another channel than
/// the one the conversation began on.
async fn a_message_event_shows_its_conversation_as_a_fresh_read_does(backend: Backend) {
    use throughline_core::views::webhook_body;
    use throughline_store::contacts::NewIdentity;
    use throughline_store::render;
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let mut tx = store.begin().await.unwrap();
    let widget = inboxes::create(
        tx.conn(),
        store.key(),
        &f.scope,
        NewInbox {
            settings: json!({"website_url": "https://acme.example"}),
            ..NewInbox::new("Website", ChannelType::WebWidget)
        },
    )
    .await
    .unwrap();
    let identity_of = |inbox| NewIdentity {
        contact_id: f.contact.id,
        inbox,
        source_id: None,
        address: None,
        hmac_verified: false,
        address_proven: false,
    };
    let began_on = contacts::create_identity(&mut tx, &f.scope, identity_of(&f.inbox))
        .await
        .unwrap();
    let mut on_widget = identity_of(&widget);
    on_widget.hmac_verified = true;
    let on_widget = contacts::create_identity(&mut tx, &f.scope, on_widget)
        .await
        .unwrap();
    let conversation = conversations::create(
        &mut tx,
        &f.scope,
        NewConversation::open(f.contact.id, f.inbox.id, Some(began_on.id)),
    )
    .await
    .unwrap();
    conversations::set_labels(&mut tx, &f.scope, &conversation, &["vip".into()])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    for (through, identity) in [(&widget, &on_widget), (&f.inbox, &began_on)] {
        let mut tx = store.begin().await.unwrap();
        let current = conversations::by_internal_id(tx.conn(), &f.scope, conversation.id)
            .await
            .unwrap();
        let mut new = incoming("is my order on its way?", f.contact.id, None);
        new.inbox_id = Some(through.id);
        new.identity_id = Some(identity.id);
        let created = messages::create_through(&mut tx, &f.scope, &current, new, Some(through))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let event = all_events(&store)
            .await
            .into_iter()
            .rfind(|e| e.kind == EventKind::MessageCreated)
            .unwrap();
        assert_eq!(event.payload["id"], json!(created.message.id));
        let mut conn = store.read().await.unwrap();
        let fresh = render::conversation(&mut conn, &store, created.conversation.clone())
            .await
            .unwrap();
        let account = render::account_ref(&mut conn, f.scope.account_id())
            .await
            .unwrap();
        let mut expected = webhook_body::conversation(&account, &fresh, Some(&began_on), None);
        expected.as_object_mut().unwrap().remove("account");
        assert_eq!(
            event.payload["conversation"], expected,
            "through {:?}",
            through.channel_type
        );
        assert_eq!(event.payload["inbox"]["id"], json!(through.id));
    }
}

async fn user(store: &Store, email: &str) -> throughline_core::model::User {
    let mut tx = store.begin().await.unwrap();
    let u = accounts::create_user(
        tx.conn(),
        accounts::NewUser {
            email: email.into(),
            name: email.into(),
            display_name: None,
            password_hash: None,
            custom_attributes: json!({}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    u
}

async fn password_links_work_once_for_their_user_until_they_expire(backend: Backend) {
    use throughline_store::password_links::{self, Purpose};
    let (_db, store) = open(backend).await;
    let ana = user(&store, "ana@acme.test").await;
    let bia = user(&store, "bia@acme.test").await;
    let key = store.key();
    let mut tx = store.begin().await.unwrap();
    let (first, _) =
        password_links::issue_unscoped(tx.conn(), key, ana.id, Purpose::Invitation, 60_000)
            .await
            .unwrap();
    // A second invitation replaces the first; a reset link lives beside it.
    let (second, expires) =
        password_links::issue_unscoped(tx.conn(), key, ana.id, Purpose::Invitation, 60_000)
            .await
            .unwrap();
    let (reset, _) = password_links::issue_unscoped(tx.conn(), key, ana.id, Purpose::Reset, 60_000)
        .await
        .unwrap();
    let (expired, _) = password_links::issue_unscoped(tx.conn(), key, bia.id, Purpose::Reset, -1)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut conn = store.read().await.unwrap();
    assert_eq!(
        password_links::peek_unscoped(&mut conn, key, &first)
            .await
            .unwrap(),
        None
    );
    let seen = password_links::peek_unscoped(&mut conn, key, &second)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (seen.user_id, seen.purpose, seen.expires_at),
        (ana.id, Purpose::Invitation, expires)
    );
    assert!(
        password_links::invited_unscoped(&mut conn, ana.id)
            .await
            .unwrap()
    );
    assert_eq!(
        password_links::peek_unscoped(&mut conn, key, &expired)
            .await
            .unwrap(),
        None
    );
    // Another server's key does not recognise the token, whatever the database holds.
    let stranger = ServerKey::generate();
    assert_eq!(
        password_links::peek_unscoped(&mut conn, &stranger, &second)
            .await
            .unwrap(),
        None
    );
    drop(conn);

    let mut tx = store.begin().await.unwrap();
    let spent = password_links::consume_unscoped(tx.conn(), key, &reset)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((spent.user_id, spent.purpose), (ana.id, Purpose::Reset));
    // Spending one spends every link of the user; twice is nothing.
    assert_eq!(
        password_links::consume_unscoped(tx.conn(), key, &second)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        password_links::consume_unscoped(tx.conn(), key, &reset)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        password_links::consume_unscoped(tx.conn(), key, &expired)
            .await
            .unwrap(),
        None
    );
    for forged in ["", "nonce", "a.b", &format!("{reset}0")] {
        assert_eq!(
            password_links::consume_unscoped(tx.conn(), key, forged)
                .await
                .unwrap(),
            None
        );
    }
    tx.commit().await.unwrap();
}

async fn a_notification_is_written_once_per_event_and_one_per_conversation(backend: Backend) {
    use throughline_core::notification::NotificationType;
    use throughline_store::notifications::{self, NewNotification};
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let other = fixture(&store, "Beta").await;
    let ana = user(&store, "ana@acme.test").await;
    let mut tx = store.begin().await.unwrap();
    accounts::add_member(tx.conn(), f.scope.account_id(), ana.id, Role::Agent, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let first = new_conversation(&store, &f).await;
    let second = new_conversation(&store, &f).await;
    let notify = |conversation, event_id, kind| NewNotification {
        user_id: ana.id,
        kind,
        conversation,
        message_id: None,
        event_id,
    };
    let mut tx = store.begin().await.unwrap();
    let made = notifications::create(
        &mut tx,
        notify(&first, 101, NotificationType::ConversationMention),
    )
    .await
    .unwrap();
    assert!(made.is_some());
    // The same event again (a replay, another process): nothing.
    let again = notifications::create(
        &mut tx,
        notify(&first, 101, NotificationType::ConversationMention),
    )
    .await
    .unwrap();
    assert_eq!(again, None);
    // A newer one of the same conversation replaces it; another conversation's stays.
    notifications::create(
        &mut tx,
        notify(&second, 102, NotificationType::ConversationAssignment),
    )
    .await
    .unwrap();
    let newer = notifications::create(
        &mut tx,
        notify(
            &first,
            103,
            NotificationType::ParticipatingConversationNewMessage,
        ),
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();

    let ana_scope = {
        let mut conn = store.read().await.unwrap();
        throughline_store::scope::for_user(&mut conn, ana.id, f.scope.account_id())
            .await
            .unwrap()
            .unwrap()
    };
    let mut conn = store.read().await.unwrap();
    let page = notifications::list(&mut conn, &ana_scope, 1).await.unwrap();
    assert_eq!((page.count, page.unread_count), (2, 2));
    assert_eq!(page.notifications[0].id, newer.id, "newest first");
    assert_eq!(
        page.notifications[0].conversation.display_id,
        first.display_id
    );
    // Every notification announced itself to its agent only.
    let events = outbox::account_events_after(&mut conn, f.scope.account_id(), 0, 100)
        .await
        .unwrap();
    let announced: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::NotificationCreated)
        .map(|e| e.payload["user_id"].as_i64())
        .collect();
    assert_eq!(announced, vec![Some(ana.id); 3]);
    // Nobody else reaches them: not the system, not another account's scope.
    assert!(notifications::list(&mut conn, &f.scope, 1).await.is_err());
    let foreign = AccountScope::system(other.scope.account_id());
    assert!(
        notifications::get(&mut conn, &foreign, newer.id)
            .await
            .is_err()
    );
    drop(conn);
    // Leaving the account leaves its notifications.
    let mut tx = store.begin().await.unwrap();
    accounts::remove_member(tx.conn(), f.scope.account_id(), ana.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    let left = notifications::list(&mut conn, &ana_scope, 1).await.unwrap();
    assert_eq!(left.count, 0);
}

/// The conversations a search finds, in id order (every status).
async fn found_by(store: &Store, f: &Fixture, text: &str) -> Vec<i64> {
    let mut conn = store.read().await.unwrap();
    let (found, counts) = conversations::list(
        &mut conn,
        &f.scope,
        &ConversationQuery {
            status: None,
            search: Some(text.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(counts.all, i64::try_from(found.len()).unwrap(), "{text}");
    let mut ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids
}

/// Conversation search reads the conversations' own word index and the contacts' trigram
/// index (migration 0022): words from different messages, prefixes, no diacritics, any part of
/// a contact's name or phone; a deleted message's words and moved messages stop finding the
/// conversation they left.
async fn conversation_search_follows_what_conversations_hold(backend: Backend) {
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let other_account = fixture(&store, "Other").await;
    let mut tx = store.begin().await.unwrap();
    let jose = contacts::create(
        &mut tx,
        &f.scope,
        NewContact {
            name: "José Łukasiewicz".into(),
            phone_number: Some("+48601234567".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let ana_chat = new_conversation(&store, &f).await;
    let mut tx = store.begin().await.unwrap();
    let jose_chat = conversations::create(
        &mut tx,
        &f.scope,
        NewConversation::open(jose.id, f.inbox.id, None),
    )
    .await
    .unwrap();
    messages::create(
        &mut tx,
        &f.scope,
        &ana_chat,
        incoming("Gdzie jest moja paczka?", f.contact.id, None),
    )
    .await
    .unwrap();
    let order = messages::create(
        &mut tx,
        &f.scope,
        &ana_chat,
        incoming("Zamówienie 4521", f.contact.id, None),
    )
    .await
    .unwrap();
    messages::create(
        &mut tx,
        &f.scope,
        &jose_chat,
        incoming("Olá, o pedido não chegou", jose.id, None),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The same words in another account are never found from this one.
    let elsewhere = new_conversation(&store, &other_account).await;
    let mut tx = store.begin().await.unwrap();
    messages::create(
        &mut tx,
        &other_account.scope,
        &elsewhere,
        incoming("paczka pedido", other_account.contact.id, None),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (ana, jo) = (vec![ana_chat.id], vec![jose_chat.id]);
    assert_eq!(found_by(&store, &f, "paczka").await, ana);
    assert_eq!(
        found_by(&store, &f, "ZAMOWIENIE").await,
        ana,
        "without diacritics"
    );
    assert_eq!(
        found_by(&store, &f, "paczka zamów").await,
        ana,
        "words of two messages"
    );
    assert_eq!(found_by(&store, &f, "pedi").await, jo, "a word's prefix");
    assert_eq!(found_by(&store, &f, "nao").await, jo);
    assert_eq!(
        found_by(&store, &f, "paczka pedido").await,
        Vec::<i64>::new()
    );
    assert_eq!(
        found_by(&store, &f, "jose").await,
        jo,
        "a contact's name without its accent"
    );
    assert_eq!(found_by(&store, &f, "łukas").await, jo);
    assert_eq!(found_by(&store, &f, "lukas").await, jo);
    assert_eq!(found_by(&store, &f, "WICZ").await, jo, "any part of a name");
    assert_eq!(
        found_by(&store, &f, "60123").await,
        jo,
        "part of a phone number"
    );
    assert_eq!(
        found_by(&store, &f, "example.com").await,
        ana,
        "part of an email"
    );
    assert_eq!(
        found_by(&store, &f, "uz").await,
        ana,
        "two letters: read the contacts"
    );
    assert_eq!(found_by(&store, &f, "100%").await, Vec::<i64>::new());
    // The contacts list matches contacts the same way.
    for (typed, who) in [
        ("jose", jose.id),
        ("łukas", jose.id),
        ("SOUZ", f.contact.id),
    ] {
        let mut conn = store.read().await.unwrap();
        let query = contacts::ContactQuery {
            search: Some(typed.into()),
            ..Default::default()
        };
        let (listed, total) = contacts::list(&mut conn, &f.scope, &query).await.unwrap();
        let ids: Vec<i64> = listed.iter().map(|c| c.id).collect();
        assert_eq!((ids, total), (vec![who], 1), "{typed}");
    }
    assert_eq!(
        found_by(&store, &f, &format!("#{}", jose_chat.display_id)).await,
        jo
    );

    // A renamed contact is found by the new name only.
    let mut tx = store.begin().await.unwrap();
    contacts::update(
        &mut tx,
        &f.scope,
        jose.id,
        contacts::ContactChanges {
            name: Some("Joaquim Nowak".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(found_by(&store, &f, "joaq").await, jo);
    assert_eq!(found_by(&store, &f, "lukas").await, Vec::<i64>::new());
    assert_eq!(found_by(&store, &f, "60123").await, jo, "the phone stays");

    // A deleted message's words no longer find its conversation.
    let mut tx = store.begin().await.unwrap();
    messages::delete(&mut tx, &f.scope, &ana_chat, order.message.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(found_by(&store, &f, "zamowienie").await, Vec::<i64>::new());
    assert_eq!(found_by(&store, &f, "paczka").await, ana);

    // Merged: the moved words find the conversation they went to, not the one they left.
    let later = new_conversation(&store, &f).await;
    let mut tx = store.begin().await.unwrap();
    messages::create(
        &mut tx,
        &f.scope,
        &later,
        incoming("Quero o estorno", f.contact.id, None),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(found_by(&store, &f, "estorno").await, vec![later.id]);
    let mut tx = store.begin().await.unwrap();
    let later = conversations::by_internal_id(tx.conn(), &f.scope, later.id)
        .await
        .unwrap();
    throughline_store::moves::merge(&mut tx, &f.scope, &ana_chat, &later)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(found_by(&store, &f, "estorno").await, ana);
    assert_eq!(found_by(&store, &f, "paczka estorno").await, ana);
}

/// The per-tab counts as `list` answers them, and as counting the conversations gives.
async fn counts_both_ways(
    store: &Store,
    scope: &AccountScope,
    query: &ConversationQuery,
) -> (
    conversations::ConversationCounts,
    conversations::ConversationCounts,
) {
    let mut conn = store.read().await.unwrap();
    let (_, tallied) = conversations::list(&mut conn, scope, query).await.unwrap();
    let mut sql = format!(
        "SELECT COUNT(*) AS total, \
           COALESCE(SUM(CASE WHEN assignee_id = {} THEN 1 ELSE 0 END), 0) AS mine, \
           COALESCE(SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS unassigned \
         FROM conversations WHERE account_id = {}",
        scope.user_id().unwrap_or(-1),
        scope.account_id()
    );
    if let throughline_core::scope::InboxVisibility::Only(ids) = scope.inboxes() {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        sql.push_str(&format!(" AND inbox_id IN ({})", ids.join(", ")));
    }
    if let Some(status) = query.status {
        sql.push_str(&format!(" AND status = '{}'", status.as_str()));
    }
    if let Some(inbox_id) = query.inbox_id {
        sql.push_str(&format!(" AND inbox_id = {inbox_id}"));
    }
    if let Some(team_id) = query.team_id {
        sql.push_str(&format!(" AND team_id = {team_id}"));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let int = |name: &str| -> i64 {
        use sqlx::Row;
        row.try_get::<i64, _>(name).unwrap()
    };
    let (all, unassigned) = (int("total"), int("unassigned"));
    let counted = conversations::ConversationCounts {
        mine: int("mine"),
        unassigned,
        assigned: all - unassigned,
        all,
    };
    (tallied, counted)
}

/// Every combination of the filters the tallies keep, for the system and for an agent who
/// sees one inbox.
async fn assert_tallies_agree(store: &Store, scopes: &[&AccountScope], inboxes: &[i64], team: i64) {
    for scope in scopes {
        for status in [
            None,
            Some(Status::Open),
            Some(Status::Resolved),
            Some(Status::Pending),
        ] {
            for inbox_id in std::iter::once(None).chain(inboxes.iter().copied().map(Some)) {
                for team_id in [None, Some(team)] {
                    let query = ConversationQuery {
                        status,
                        inbox_id,
                        team_id,
                        ..Default::default()
                    };
                    let (tallied, counted) = counts_both_ways(store, scope, &query).await;
                    assert_eq!(tallied, counted, "{status:?} {inbox_id:?} {team_id:?}");
                }
            }
        }
    }
}

/// Chatwoot's per-tab counts come from `conversation_tallies` (migration 0022) when the
/// filters allow: they must be what counting the conversations gives after creations,
/// assignments, status changes, deletions, a team deleted under its conversations, merges,
/// and after the tallies are compacted.
async fn tallied_counts_are_what_counting_gives(backend: Backend) {
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let other = fixture(&store, "Other").await;
    let mut tx = store.begin().await.unwrap();
    let second_inbox = inboxes::create(
        tx.conn(),
        store.key(),
        &f.scope,
        NewInbox::new("Second", ChannelType::Api),
    )
    .await
    .unwrap();
    let agent = new_agent(&mut tx, &f.scope, "agent@acme.example").await;
    inboxes::add_members(tx.conn(), store.key(), &f.scope, f.inbox.id, &[agent.id])
        .await
        .unwrap();
    let team = teams::create(tx.conn(), &f.scope, "Billing", None, false)
        .await
        .unwrap();
    let doomed_team = teams::create(tx.conn(), &f.scope, "Gone", None, false)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    let agent_scope = throughline_store::scope::for_user(&mut conn, agent.id, f.scope.account_id())
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    let scopes = [&f.scope, &agent_scope];
    let inbox_ids = [f.inbox.id, second_inbox.id];

    let mut made = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for i in 0..12 {
        let inbox = inbox_ids[i % 2];
        let c = conversations::create(
            &mut tx,
            &f.scope,
            NewConversation::open(f.contact.id, inbox, None),
        )
        .await
        .unwrap();
        made.push(c);
    }
    // Another account's conversations are never counted here.
    conversations::create(
        &mut tx,
        &other.scope,
        NewConversation::open(other.contact.id, other.inbox.id, None),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_tallies_agree(&store, &scopes, &inbox_ids, team.id).await;

    let mut tx = store.begin().await.unwrap();
    for (i, c) in made.iter().enumerate() {
        let c = conversations::by_internal_id(tx.conn(), &f.scope, c.id)
            .await
            .unwrap();
        let assignee = match i % 3 {
            0 => Some(Some(agent.id)),
            1 => None,
            _ => Some(None),
        };
        let team_id = match i % 4 {
            0 => Some(Some(team.id)),
            1 => Some(Some(doomed_team.id)),
            _ => None,
        };
        let c = conversations::assign(&mut tx, &f.scope, &c, assignee, team_id)
            .await
            .unwrap();
        let request = match i % 5 {
            0 => Some(Status::Resolved),
            1 => Some(Status::Pending),
            _ => None,
        };
        if let Some(status) = request {
            let request = StatusRequest::Set {
                status,
                snoozed_until: None,
            };
            conversations::set_status(&mut tx, &f.scope, &c, request)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    assert_tallies_agree(&store, &scopes, &inbox_ids, team.id).await;

    // Compacted: fewer rows, the same sums.
    let mut tx = store.begin().await.unwrap();
    let removed = conversations::compact_tallies(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert!(removed > 0, "the changes above left rows to fold");
    let mut conn = store.read().await.unwrap();
    assert!(!conversations::tallies_to_compact(&mut conn).await.unwrap());
    drop(conn);
    assert_tallies_agree(&store, &scopes, &inbox_ids, team.id).await;

    // A deleted team leaves its conversations without one; deleted and merged conversations
    // leave the counts.
    let mut tx = store.begin().await.unwrap();
    teams::delete(tx.conn(), &f.scope, doomed_team.id)
        .await
        .unwrap();
    let gone = conversations::by_internal_id(tx.conn(), &f.scope, made[2].id)
        .await
        .unwrap();
    conversations::delete(&mut tx, &f.scope, &gone)
        .await
        .unwrap();
    let target = conversations::by_internal_id(tx.conn(), &f.scope, made[3].id)
        .await
        .unwrap();
    let source = conversations::by_internal_id(tx.conn(), &f.scope, made[7].id)
        .await
        .unwrap();
    throughline_store::moves::merge(&mut tx, &f.scope, &target, &source)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    assert!(conversations::tallies_to_compact(&mut conn).await.unwrap());
    drop(conn);
    assert_tallies_agree(&store, &scopes, &inbox_ids, team.id).await;
    let mut tx = store.begin().await.unwrap();
    conversations::compact_tallies(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_tallies_agree(&store, &scopes, &inbox_ids, team.id).await;

    // The counts are the tallies' (not a count that would agree by itself): a stray row shows.
    let mut tx = store.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO conversation_tallies (account_id, inbox_id, team_id, status, assignee_id, n) \
         VALUES ($1, $2, 0, 'open', 0, 5)",
    )
    .bind(f.scope.account_id())
    .bind(f.inbox.id)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (tallied, counted) =
        counts_both_ways(&store, &f.scope, &ConversationQuery::default()).await;
    assert_eq!(tallied.unassigned, counted.unassigned + 5);
}

/// A voicemail queued twice waits once; two processes never both ask the model for it (the
/// claim); the transcript goes under the heading with the message's `message_updated`, and is
/// found by search; a second settlement, or one over a message deleted meanwhile, writes nothing.
async fn a_voicemail_transcript_is_written_once_and_never_over_a_removed_text(backend: Backend) {
    use throughline_store::transcriptions;
    let (_db, store) = open(backend).await;
    let f = fixture(&store, "Acme").await;
    let conversation = new_conversation(&store, &f).await;
    let voicemail = |n: i64| {
        let mut m = incoming("🎙 Voicemail (0:42)", f.contact.id, None);
        m.content_attributes = json!({"voice_call": {"kind": "voicemail", "call_id": n}});
        m
    };
    let mut tx = store.begin().await.unwrap();
    let kept = messages::create(&mut tx, &f.scope, &conversation, voicemail(1))
        .await
        .unwrap()
        .message;
    let deleted = messages::create(&mut tx, &f.scope, &conversation, voicemail(2))
        .await
        .unwrap()
        .message;
    let account = f.scope.account_id();
    for _ in 0..2 {
        transcriptions::queue(tx.conn(), account, kept.id, Some("pt-BR"))
            .await
            .unwrap();
    }
    transcriptions::queue(tx.conn(), account, deleted.id, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let due = {
        let mut conn = store.read().await.unwrap();
        transcriptions::due_unscoped(&mut conn, throughline_store::now_ms(), 10)
            .await
            .unwrap()
    };
    assert_eq!(due.len(), 2, "{due:?}");
    let (first, second) = (&due[0], &due[1]);
    assert_eq!(first.message_id, kept.id);
    assert_eq!(first.language.as_deref(), Some("pt-BR"));
    let later = throughline_store::now_ms() + 60_000;
    let mut tx = store.begin().await.unwrap();
    assert!(
        transcriptions::claim(tx.conn(), first, later)
            .await
            .unwrap()
    );
    assert!(
        !transcriptions::claim(tx.conn(), first, later)
            .await
            .unwrap(),
        "taken already"
    );
    transcriptions::retry_later(tx.conn(), second.id, true, "timeout", later)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    {
        let mut conn = store.read().await.unwrap();
        let now = throughline_store::now_ms();
        assert!(
            transcriptions::due_unscoped(&mut conn, now, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            transcriptions::next_due_unscoped(&mut conn).await.unwrap(),
            Some(later)
        );
    }

    let events_before = all_events(&store).await.len();
    let said = "Olá, quero trocar a camiseta";
    let mut tx = store.begin().await.unwrap();
    let written = transcriptions::settle(&mut tx, first, said, Some("pt-BR"))
        .await
        .unwrap()
        .expect("written");
    tx.commit().await.unwrap();
    assert_eq!(
        written.content.as_deref(),
        Some("🎙 Voicemail (0:42)\n\nOlá, quero trocar a camiseta")
    );
    assert_eq!(
        written.content_attributes["voice_call"],
        json!({"kind": "voicemail", "call_id": 1, "transcript": said,
            "transcript_language": "pt-BR"})
    );
    let events = all_events(&store).await;
    assert_eq!(events.len(), events_before + 1);
    let updated = events.last().unwrap();
    assert_eq!(updated.kind, EventKind::MessageUpdated);
    assert_eq!(updated.payload["id"], kept.id);
    assert_eq!(
        updated.payload["content_attributes"]["voice_call"]["transcript"],
        said
    );
    assert_eq!(
        found_by(&store, &f, "camiseta").await,
        vec![conversation.id]
    );

    // Settled already: nothing is written twice.
    let mut tx = store.begin().await.unwrap();
    assert!(
        transcriptions::settle(&mut tx, first, "again", None)
            .await
            .unwrap()
            .is_none()
    );
    // A message deleted while the model was asked keeps its deletion.
    messages::delete(&mut tx, &f.scope, &conversation, deleted.id)
        .await
        .unwrap();
    assert!(
        transcriptions::settle(&mut tx, second, "Dzień dobry", Some("pl"))
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    let gone = messages::get(&mut conn, &f.scope, &conversation, deleted.id)
        .await
        .unwrap();
    assert_eq!(gone.content.as_deref(), Some(messages::DELETED_CONTENT));
    assert_eq!(
        transcriptions::next_due_unscoped(&mut conn).await.unwrap(),
        None,
        "nothing waits any more"
    );
}
