//! The bench's data set: seeded, reproducible, written straight through the store in large
//! transactions (seeding is not what is measured).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use throughline_core::message::{MessageType, SenderType};
use throughline_core::model::{ChannelType, Inbox};
use throughline_store::bulk::{self, PastMessage};
use throughline_store::contacts::{self, NewContact, NewIdentity};
use throughline_store::conversations::{self, NewConversation};
use throughline_store::inboxes::{self, NewInbox};
use throughline_store::{AccountScope, Store, Tx, now_ms};

use crate::demo::{Lang, person, script};

/// 1× is a thousand conversations of twenty messages; the budget's data set is 100×.
pub const CONVERSATIONS_PER_X: usize = 1_000;
pub const MESSAGES_PER_CONVERSATION: usize = 20;
const PER_TRANSACTION: usize = 100;

/// A customer the load generator can write as: the Client API path of their conversation.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub source_id: String,
    pub conversation: i64,
}

pub struct DataSet {
    pub inbox_identifier: String,
    pub conversations: usize,
    pub messages: usize,
    /// Open conversations kept for the ingest phases.
    pub writers: Vec<Visitor>,
    /// Contacts with no conversation, for the idle-socket figure.
    pub idle: Vec<String>,
}

fn lang_of(n: usize) -> Lang {
    match n % 10 {
        0..=3 => Lang::Pt,
        4..=6 => Lang::Pl,
        _ => Lang::En,
    }
}

async fn new_inbox(
    tx: &mut Tx,
    store: &Store,
    scope: &AccountScope,
    name: &str,
) -> anyhow::Result<Inbox> {
    Ok(inboxes::create(
        tx.conn(),
        store.key(),
        scope,
        NewInbox {
            enable_auto_assignment: false,
            ..NewInbox::new(name, ChannelType::Api)
        },
    )
    .await?)
}

/// Seeds `scale` × 1,000 conversations into the account, keeps `writers` of them open
/// for the load, and adds `idle` contacts without conversations. `progress` is told each
/// committed conversation.
pub async fn seed(
    store: &Store,
    account_id: i64,
    scale: usize,
    writers: usize,
    idle: usize,
    progress: impl Fn(u64),
) -> anyhow::Result<DataSet> {
    let mut rng = StdRng::seed_from_u64(7);
    let scope = AccountScope::system(account_id);
    let mut tx = store.begin().await?;
    let inbox = new_inbox(&mut tx, store, &scope, "Bench API").await?;
    tx.commit().await?;

    let total = scale * CONVERSATIONS_PER_X;
    let now = now_ms();
    let mut set = DataSet {
        inbox_identifier: inbox.identifier.clone(),
        conversations: 0,
        messages: 0,
        writers: Vec::new(),
        idle: Vec::new(),
    };
    let mut n = 0;
    while n < total {
        let mut tx = store.begin().await?;
        for _ in 0..PER_TRANSACTION.min(total - n) {
            let lang = lang_of(n);
            let (name, email, phone) = person(&mut rng, lang, n);
            let contact = contacts::create(
                &mut tx,
                &scope,
                NewContact {
                    name,
                    email: Some(email),
                    phone_number: Some(phone),
                    ..Default::default()
                },
            )
            .await?;
            let source_id = format!("bench-{n}");
            let identity = contacts::create_identity(
                &mut tx,
                &scope,
                NewIdentity {
                    contact_id: contact.id,
                    inbox: &inbox,
                    source_id: Some(source_id.clone()),
                    address: None,
                    hmac_verified: false,
                    address_proven: false,
                },
            )
            .await?;
            // Spread over the last ninety days, newest last.
            let started = now - (total - n) as i64 * 90 * 86_400_000 / total as i64;
            let mut new = NewConversation::open(contact.id, inbox.id, Some(identity.id));
            new.created_at = Some(started);
            let conv = conversations::create(&mut tx, &scope, new).await?;
            let lines = script(lang, n % 4, rng.random_range(10_000..99_999));
            // The history in bulk (multi-row inserts, no events): 100x is two million
            // messages, which one `messages::create` each (with its event) takes most of an
            // hour to write here.
            let history: Vec<PastMessage> = (0..MESSAGES_PER_CONVERSATION)
                .map(|i| {
                    let customer = i % 2 == 0;
                    PastMessage {
                        message_type: if customer {
                            MessageType::Incoming
                        } else {
                            MessageType::Outgoing
                        },
                        content: lines[i % 4].clone(),
                        sender: customer.then_some((SenderType::Contact, contact.id)),
                        inbox_id: inbox.id,
                        identity_id: customer.then_some(identity.id),
                        created_at: started + i as i64 * 60_000,
                    }
                })
                .collect();
            let keep_open = total - n <= writers;
            let resolved = !keep_open && rng.random_bool(0.7);
            let conv = bulk::insert_history(&mut tx, &scope, &conv, &history, resolved).await?;
            set.messages += history.len();
            if keep_open {
                set.writers.push(Visitor {
                    source_id,
                    conversation: conv.display_id,
                });
            }
            set.conversations += 1;
            n += 1;
        }
        tx.commit().await?;
        progress(n as u64);
    }

    // Visitors who only have the widget open.
    let mut made = 0;
    while made < idle {
        let mut tx = store.begin().await?;
        for _ in 0..(PER_TRANSACTION * 10).min(idle - made) {
            let contact = contacts::create(
                &mut tx,
                &scope,
                NewContact {
                    name: format!("Visitor {made}"),
                    ..Default::default()
                },
            )
            .await?;
            let source_id = format!("idle-{made}");
            contacts::create_identity(
                &mut tx,
                &scope,
                NewIdentity {
                    contact_id: contact.id,
                    inbox: &inbox,
                    source_id: Some(source_id.clone()),
                    address: None,
                    hmac_verified: false,
                    address_proven: false,
                },
            )
            .await?;
            set.idle.push(source_id);
            made += 1;
        }
        tx.commit().await?;
    }
    Ok(set)
}
