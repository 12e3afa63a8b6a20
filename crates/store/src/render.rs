//! Turning records into the shared views, with batched loading: a page of conversations costs
//! a fixed handful of queries, not a handful per row.

use std::collections::HashMap;

use throughline_core::message::SenderType;
use throughline_core::model::{
    Attachment, ChannelType, Contact, Conversation, Identity, Inbox, Message,
};
use throughline_core::views::{
    AccountRef, AgentBotSummary, AgentView, AttachmentView, ContactView, ConversationParts,
    ConversationView, MessageContext, MessageView, PublicMessageView, PublicSender, SenderView,
    TeamView, UserSummary,
};

use crate::Conn;
use crate::Store;
use crate::error::Result;
use crate::records::{
    self, ATTACHMENT_COLUMNS, CONTACT_COLUMNS, IDENTITY_COLUMNS, MESSAGE_COLUMNS,
};
use crate::rows::RowExt;
use crate::sql::SqlBuilder;

pub async fn account_ref(conn: &mut Conn, account_id: i64) -> Result<AccountRef> {
    let a = crate::accounts::get_account(conn, account_id).await?;
    Ok(AccountRef::from(&a))
}

fn unique(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = ids.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

async fn contacts_by_id(conn: &mut Conn, ids: &[i64]) -> Result<HashMap<i64, Contact>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id IN "
    ));
    q.bind_list(ids);
    let rows = q.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| records::contact(r).map(|c| (c.id, c)))
        .collect()
}

/// Identities of the given contacts with their inboxes.
pub(crate) async fn identities_of(
    conn: &mut Conn,
    store: &Store,
    contact_ids: &[i64],
) -> Result<HashMap<i64, Vec<(Identity, Inbox)>>> {
    let mut out: HashMap<i64, Vec<(Identity, Inbox)>> = HashMap::new();
    if contact_ids.is_empty() {
        return Ok(out);
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {IDENTITY_COLUMNS} FROM contact_inboxes WHERE contact_id IN "
    ));
    q.bind_list(contact_ids).push(" ORDER BY id");
    let rows = q.build().fetch_all(&mut *conn).await?;
    let identities: Vec<Identity> = rows.iter().map(records::identity).collect::<Result<_>>()?;
    let inboxes =
        inboxes_by_id(conn, store, &unique(identities.iter().map(|i| i.inbox_id))).await?;
    for identity in identities {
        if let Some(inbox) = inboxes.get(&identity.inbox_id) {
            out.entry(identity.contact_id)
                .or_default()
                .push((identity, inbox.clone()));
        }
    }
    Ok(out)
}

pub(crate) async fn inboxes_by_id(
    conn: &mut Conn,
    store: &Store,
    ids: &[i64],
) -> Result<HashMap<i64, Inbox>> {
    let mut out = HashMap::new();
    for id in ids {
        let inbox = crate::inboxes::get_unscoped(&mut *conn, store.key(), *id).await?;
        out.insert(*id, inbox);
    }
    Ok(out)
}

pub async fn contacts(
    conn: &mut Conn,
    store: &Store,
    list: &[Contact],
    with_identities: bool,
) -> Result<Vec<ContactView>> {
    let mut identities = if with_identities {
        identities_of(conn, store, &unique(list.iter().map(|c| c.id))).await?
    } else {
        HashMap::new()
    };
    Ok(list
        .iter()
        .map(|c| {
            let view = ContactView::new(c);
            if with_identities {
                view.with_identities(&identities.remove(&c.id).unwrap_or_default())
            } else {
                view
            }
        })
        .collect())
}

pub async fn contact(
    conn: &mut Conn,
    store: &Store,
    c: &Contact,
    with_identities: bool,
) -> Result<ContactView> {
    let mut views = contacts(conn, store, std::slice::from_ref(c), with_identities).await?;
    Ok(views.pop().unwrap_or_else(|| ContactView::new(c)))
}

/// Users by id with their availability in `account_id`.
pub async fn users(
    conn: &mut Conn,
    account_id: i64,
    ids: &[i64],
) -> Result<HashMap<i64, UserSummary>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {}, m.availability AS m_availability FROM users u \
         LEFT JOIN account_users m ON m.user_id = u.id AND m.account_id = ",
        crate::accounts::USER_COLUMNS
    ));
    q.bind(account_id).push(" WHERE u.id IN ").bind_list(ids);
    let rows = q.build().fetch_all(conn).await?;
    let mut out = HashMap::new();
    for r in &rows {
        let user = crate::accounts::user(r)?;
        let availability = r
            .opt_text("m_availability")?
            .unwrap_or_else(|| "offline".into());
        out.insert(user.id, UserSummary::new(&user, &availability));
    }
    Ok(out)
}

async fn bot_summaries(conn: &mut Conn, ids: &[i64]) -> Result<HashMap<i64, AgentBotSummary>> {
    let mut out = HashMap::new();
    for id in ids {
        if let Ok(bot) = crate::auth::get_agent_bot_unscoped(&mut *conn, *id).await {
            out.insert(*id, AgentBotSummary::from(&bot));
        }
    }
    Ok(out)
}

async fn attachments_of(
    conn: &mut Conn,
    message_ids: &[i64],
) -> Result<HashMap<i64, Vec<Attachment>>> {
    let mut out: HashMap<i64, Vec<Attachment>> = HashMap::new();
    if message_ids.is_empty() {
        return Ok(out);
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id IN "
    ));
    q.bind_list(message_ids).push(" ORDER BY id");
    let rows = q.build().fetch_all(conn).await?;
    for r in &rows {
        let a = records::attachment(r)?;
        out.entry(a.message_id).or_default().push(a);
    }
    Ok(out)
}

/// The senders, contexts and attachments of messages across conversations.
struct MessageDeps {
    contacts: HashMap<i64, ContactView>,
    users: HashMap<i64, UserSummary>,
    bots: HashMap<i64, AgentBotSummary>,
    attachments: HashMap<i64, Vec<Attachment>>,
}

/// `known` holds contacts the caller has already read (a conversation's own contact);
/// `written` messages the caller has just stored, with all their attachments.
async fn message_deps(
    conn: &mut Conn,
    account_id: i64,
    messages: &[&Message],
    known: &HashMap<i64, Contact>,
    written: Option<Written<'_>>,
) -> Result<MessageDeps> {
    let ids_of = |kind: SenderType| {
        unique(
            messages
                .iter()
                .filter(|m| m.sender_type == Some(kind))
                .filter_map(|m| m.sender_id),
        )
    };
    let wanted = ids_of(SenderType::Contact);
    let missing: Vec<i64> = wanted
        .iter()
        .copied()
        .filter(|id| !known.contains_key(id))
        .collect();
    let mut contact_records = contacts_by_id(conn, &missing).await?;
    for id in wanted {
        if let Some(c) = known.get(&id) {
            contact_records.insert(id, c.clone());
        }
    }
    Ok(MessageDeps {
        contacts: contact_records
            .iter()
            .map(|(id, c)| (*id, ContactView::new(c)))
            .collect(),
        users: users(conn, account_id, &ids_of(SenderType::User)).await?,
        bots: bot_summaries(conn, &ids_of(SenderType::AgentBot)).await?,
        attachments: {
            let unread = unique(
                messages
                    .iter()
                    .map(|m| m.id)
                    .filter(|id| written.is_none_or(|w| w.message.id != *id)),
            );
            let mut found = attachments_of(conn, &unread).await?;
            if let Some(w) = written.filter(|w| !w.attachments.is_empty()) {
                found.insert(w.message.id, w.attachments.to_vec());
            }
            found
        },
    })
}

/// A message the caller has just stored, with every attachment it stored with it: rendering
/// it needs nothing read back (inside the writer's transaction, each read is a round trip).
#[derive(Clone, Copy)]
pub struct Written<'a> {
    pub message: &'a Message,
    pub attachments: &'a [Attachment],
}

/// What the caller of a conversation's render already holds, so it is not read again.
#[derive(Clone, Copy, Default)]
pub(crate) struct Known<'a> {
    /// The conversation's newest message, just stored.
    pub written: Option<Written<'a>>,
    /// The inbox of the conversation.
    pub inbox: Option<&'a Inbox>,
    /// The identity the conversation started with.
    pub identity: Option<&'a Identity>,
    /// A contact as just written (the one who wrote `written`).
    pub contact: Option<&'a Contact>,
}

impl MessageDeps {
    fn sender(&self, m: &Message) -> Option<SenderView> {
        let id = m.sender_id?;
        match m.sender_type? {
            SenderType::Contact => self
                .contacts
                .get(&id)
                .map(|c| SenderView::Contact(Box::new(c.clone()))),
            SenderType::User => self.users.get(&id).map(|u| SenderView::User(u.clone())),
            SenderType::AgentBot => self.bots.get(&id).map(|b| SenderView::AgentBot(b.clone())),
        }
    }

    fn attachments(&self, store: &Store, m: &Message) -> Vec<AttachmentView> {
        self.attachments
            .get(&m.id)
            .map(|list| {
                list.iter()
                    .map(|a| AttachmentView::new(a, store.links().attachment_url(a)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn source_id_of(conn: &mut Conn, identity_id: Option<i64>) -> Result<String> {
    let Some(id) = identity_id else {
        return Ok(String::new());
    };
    Ok(
        sqlx::query_scalar::<_, String>("SELECT source_id FROM contact_inboxes WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .unwrap_or_default(),
    )
}

async fn unread_counts(conn: &mut Conn, conversation_ids: &[i64]) -> Result<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    if conversation_ids.is_empty() {
        return Ok(out);
    }
    let mut q = SqlBuilder::new(
        "SELECT m.conversation_id AS cid, COUNT(*) AS n FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.message_type = 0 AND (c.agent_last_seen_at IS NULL OR m.created_at > c.agent_last_seen_at) \
         AND m.conversation_id IN ",
    );
    q.bind_list(conversation_ids)
        .push(" GROUP BY m.conversation_id");
    for r in q.build().fetch_all(conn).await? {
        out.insert(r.int("cid")?, r.int("n")?);
    }
    Ok(out)
}

/// Views of messages of one conversation.
pub async fn messages(
    conn: &mut Conn,
    store: &Store,
    conversation: &Conversation,
    list: &[Message],
) -> Result<Vec<MessageView>> {
    let refs: Vec<&Message> = list.iter().collect();
    let deps = message_deps(conn, conversation.account_id, &refs, &HashMap::new(), None).await?;
    let unread = unread_counts(conn, &[conversation.id]).await?;
    let ctx = MessageContext {
        display_id: conversation.display_id,
        assignee_id: conversation.assignee_id,
        unread_count: unread.get(&conversation.id).copied().unwrap_or(0),
        last_activity_at: conversation.last_activity_at,
        source_id: source_id_of(conn, conversation.identity_id).await?,
    };
    Ok(list
        .iter()
        .map(|m| MessageView::new(m, &ctx, deps.sender(m), deps.attachments(store, m)))
        .collect())
}

pub async fn message(
    conn: &mut Conn,
    store: &Store,
    conversation: &Conversation,
    m: &Message,
) -> Result<MessageView> {
    let mut v = messages(conn, store, conversation, std::slice::from_ref(m)).await?;
    v.pop().ok_or(crate::StoreError::NotFound)
}

/// Messages as a customer sees them: no private notes, senders reduced to name and avatar.
pub async fn public_messages(
    conn: &mut Conn,
    store: &Store,
    conversation: &Conversation,
    list: &[Message],
) -> Result<Vec<PublicMessageView>> {
    let visible: Vec<&Message> = list.iter().filter(|m| !m.private).collect();
    let deps = message_deps(
        conn,
        conversation.account_id,
        &visible,
        &HashMap::new(),
        None,
    )
    .await?;
    Ok(public_views(store, conversation, &visible, &deps))
}

/// The customer's own message just written, as they see it: with its sender (`author`, the
/// visitor already in hand) and its attachments known, nothing is read.
pub fn public_message_written(
    store: &Store,
    conversation: &Conversation,
    written: Written<'_>,
    author: &Contact,
) -> Option<PublicMessageView> {
    if written.message.private {
        return None;
    }
    let deps = MessageDeps {
        contacts: HashMap::from([(author.id, ContactView::new(author))]),
        users: HashMap::new(),
        bots: HashMap::new(),
        attachments: HashMap::from([(written.message.id, written.attachments.to_vec())]),
    };
    public_views(store, conversation, &[written.message], &deps).pop()
}

/// `visible`: messages the customer may see (no private notes).
fn public_views(
    store: &Store,
    conversation: &Conversation,
    visible: &[&Message],
    deps: &MessageDeps,
) -> Vec<PublicMessageView> {
    visible
        .iter()
        .map(|m| {
            let sender = deps.sender(m).map(|s| match s {
                SenderView::Contact(c) => PublicSender {
                    id: c.id,
                    name: c.name.clone(),
                    available_name: c.name.clone(),
                    avatar_url: c.thumbnail.clone(),
                    kind: "contact".into(),
                },
                SenderView::User(u) => PublicSender {
                    id: u.id,
                    name: u.available_name.clone(),
                    available_name: u.available_name,
                    avatar_url: u.avatar_url,
                    kind: "user".into(),
                },
                SenderView::AgentBot(b) => PublicSender {
                    id: b.id,
                    name: b.name.clone(),
                    available_name: b.name,
                    avatar_url: b.avatar_url,
                    kind: "agent_bot".into(),
                },
            });
            PublicMessageView::new(
                m,
                conversation.display_id,
                sender,
                deps.attachments(store, m),
            )
        })
        .collect()
}

async fn last_messages(
    conn: &mut Conn,
    conversation_ids: &[i64],
    non_activity: bool,
) -> Result<HashMap<i64, Message>> {
    let mut out = HashMap::new();
    if conversation_ids.is_empty() {
        return Ok(out);
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN \
         (SELECT MAX(id) FROM messages WHERE conversation_id IN "
    ));
    q.bind_list(conversation_ids);
    if non_activity {
        q.push(" AND message_type <> 2");
    }
    q.push(" GROUP BY conversation_id)");
    for r in q.build().fetch_all(conn).await? {
        let m = records::message(&r)?;
        out.insert(m.conversation_id, m);
    }
    Ok(out)
}

/// Views of a page of conversations, in the order given.
pub async fn conversations(
    conn: &mut Conn,
    store: &Store,
    list: Vec<Conversation>,
) -> Result<Vec<ConversationView>> {
    conversations_knowing(conn, store, list, Known::default()).await
}

/// As [`conversations`], reading nothing the caller already holds (`known`).
async fn conversations_knowing(
    conn: &mut Conn,
    store: &Store,
    list: Vec<Conversation>,
    known: Known<'_>,
) -> Result<Vec<ConversationView>> {
    let Some(account_id) = list.first().map(|c| c.account_id) else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = list.iter().map(|c| c.id).collect();
    let mut contact_records: HashMap<i64, Contact> = known
        .contact
        .map(|c| (c.id, c.clone()))
        .into_iter()
        .collect();
    let unknown: Vec<i64> = unique(list.iter().map(|c| c.contact_id))
        .into_iter()
        .filter(|id| !contact_records.contains_key(id))
        .collect();
    contact_records.extend(contacts_by_id(conn, &unknown).await?);
    let assignees: HashMap<i64, AgentView> = crate::accounts::agents_by_ids(
        &mut *conn,
        &crate::AccountScope::system(account_id),
        &unique(list.iter().filter_map(|c| c.assignee_id)),
    )
    .await?
    .iter()
    .map(|a| (a.user.id, AgentView::from(a)))
    .collect();
    let mut teams = HashMap::new();
    for team_id in unique(list.iter().filter_map(|c| c.team_id)) {
        if let Ok(t) = crate::teams::get(
            &mut *conn,
            &crate::AccountScope::system(account_id),
            team_id,
        )
        .await
        {
            teams.insert(team_id, TeamView::new(&t, false));
        }
    }
    let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
    {
        let mut q = SqlBuilder::new(
            "SELECT conversation_id, label FROM conversation_labels WHERE conversation_id IN ",
        );
        q.bind_list(&ids).push(" ORDER BY label");
        for r in q.build().fetch_all(&mut *conn).await? {
            labels
                .entry(r.int("conversation_id")?)
                .or_default()
                .push(r.text("label")?);
        }
    }
    let mut verified: HashMap<i64, (bool, String)> = HashMap::new();
    if let Some(i) = known.identity {
        verified.insert(i.id, (i.hmac_verified, i.source_id.clone()));
    }
    {
        let identity_ids: Vec<i64> = unique(list.iter().filter_map(|c| c.identity_id))
            .into_iter()
            .filter(|id| !verified.contains_key(id))
            .collect();
        if !identity_ids.is_empty() {
            let mut q = SqlBuilder::new(
                "SELECT id, hmac_verified, source_id FROM contact_inboxes WHERE id IN ",
            );
            q.bind_list(&identity_ids);
            for r in q.build().fetch_all(&mut *conn).await? {
                verified.insert(
                    r.int("id")?,
                    (r.flag("hmac_verified")?, r.text("source_id")?),
                );
            }
        }
    }
    let mut inbox_settings: HashMap<i64, serde_json::Value> = HashMap::new();
    let channels: HashMap<i64, ChannelType> = {
        let mut out = HashMap::new();
        if let Some(inbox) = known.inbox {
            out.insert(inbox.id, inbox.channel_type);
            inbox_settings.insert(inbox.id, inbox.settings.clone());
        }
        let wanted: Vec<i64> = unique(list.iter().map(|c| c.inbox_id))
            .into_iter()
            .filter(|id| !out.contains_key(id))
            .collect();
        if !wanted.is_empty() {
            let mut q =
                SqlBuilder::new("SELECT id, channel_type, settings FROM inboxes WHERE id IN ");
            q.bind_list(&wanted);
            for r in q.build().fetch_all(&mut *conn).await? {
                let id = r.int("id")?;
                out.insert(id, r.parsed("channel_type", ChannelType::parse)?);
                inbox_settings.insert(id, r.json("settings")?);
            }
        }
        out
    };
    let mut slas = crate::sla::views_for(
        conn,
        account_id,
        &ids,
        &list.iter().map(|c| (c.id, c.inbox_id)).collect(),
        &inbox_settings,
    )
    .await?;
    let previous: HashMap<i64, i64> = {
        let mut out = HashMap::new();
        let wanted = unique(list.iter().filter_map(|c| c.previous_conversation_id));
        if !wanted.is_empty() {
            let mut q = SqlBuilder::new("SELECT id, display_id FROM conversations WHERE id IN ");
            q.bind_list(&wanted);
            for r in q.build().fetch_all(&mut *conn).await? {
                out.insert(r.int("id")?, r.int("display_id")?);
            }
        }
        out
    };
    let newest = known
        .written
        .filter(|w| ids.contains(&w.message.conversation_id));
    let mut last = last_messages(
        conn,
        &ids.iter()
            .copied()
            .filter(|id| newest.is_none_or(|w| w.message.conversation_id != *id))
            .collect::<Vec<_>>(),
        false,
    )
    .await?;
    if let Some(w) = newest {
        last.insert(w.message.conversation_id, w.message.clone());
    }
    // Where the last message is not an activity line it is also the last chat message; ask
    // only for the others.
    let is_chat = |m: &Message| m.message_type != throughline_core::message::MessageType::Activity;
    let need_chat: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !last.get(id).is_some_and(is_chat))
        .collect();
    let mut last_chat = last_messages(conn, &need_chat, true).await?;
    for (id, m) in &last {
        if is_chat(m) {
            last_chat.insert(*id, m.clone());
        }
    }
    let unread = unread_counts(conn, &ids).await?;
    let all_last: Vec<&Message> = last.values().chain(last_chat.values()).collect();
    let deps = message_deps(conn, account_id, &all_last, &contact_records, newest).await?;

    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let conversation_id = c.id;
        let unread_count = unread.get(&c.id).copied().unwrap_or(0);
        let (hmac_verified, source_id) = c
            .identity_id
            .and_then(|id| verified.get(&id).cloned())
            .unwrap_or_default();
        let ctx = MessageContext {
            display_id: c.display_id,
            assignee_id: c.assignee_id,
            unread_count,
            last_activity_at: c.last_activity_at,
            source_id,
        };
        let view_of =
            |m: &Message| MessageView::new(m, &ctx, deps.sender(m), deps.attachments(store, m));
        let contact = contact_records
            .get(&c.contact_id)
            .map(ContactView::new)
            .ok_or(crate::StoreError::NotFound)?;
        out.push(ConversationView::from(ConversationParts {
            contact,
            channel: channels
                .get(&c.inbox_id)
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            hmac_verified,
            assignee: c.assignee_id.and_then(|id| assignees.get(&id).cloned()),
            team: c.team_id.and_then(|id| teams.get(&id).cloned()),
            labels: labels.remove(&c.id).unwrap_or_default(),
            last_message: last.get(&c.id).map(view_of),
            last_non_activity_message: last_chat.get(&c.id).map(view_of),
            unread_count,
            previous_display_id: c
                .previous_conversation_id
                .and_then(|id| previous.get(&id).copied()),
            conversation: c,
        }));
        if let Some(last) = out.last_mut()
            && let Some(sla) = slas.remove(&conversation_id)
        {
            last.sla_policy_id = Some(sla.sla_id);
            last.applied_sla = Some(sla);
        }
    }
    Ok(out)
}

pub async fn conversation(
    conn: &mut Conn,
    store: &Store,
    c: Conversation,
) -> Result<ConversationView> {
    conversation_knowing(conn, store, c, Known::default()).await
}

/// One conversation, reading nothing the caller already holds (`known`).
pub(crate) async fn conversation_knowing(
    conn: &mut Conn,
    store: &Store,
    c: Conversation,
    known: Known<'_>,
) -> Result<ConversationView> {
    let mut v = conversations_knowing(conn, store, vec![c], known).await?;
    v.pop().ok_or(crate::StoreError::NotFound)
}
