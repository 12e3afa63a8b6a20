//! Writing domain events, with their snapshot payloads, inside the change's transaction.

use serde_json::Value;
use throughline_core::event::{CHANGED_BY_KEY, EventKind, NewEvent};
use throughline_core::model::{Contact, Conversation, Inbox, Message};
use throughline_core::views::webhook_body;
use throughline_core::visibility::{AUDIENCE_KEY, Owner};

use crate::db::Tx;
use crate::error::Result;
use crate::render;

pub(crate) async fn contact(
    tx: &mut Tx,
    kind: EventKind,
    c: &Contact,
    changed: Option<Value>,
) -> Result<()> {
    let store = tx.store().clone();
    let account = render::account_ref(tx.conn(), c.account_id).await?;
    let view = render::contact(tx.conn(), &store, c, true).await?;
    let payload = webhook_body::contact(&account, &view, changed);
    tx.emit(NewEvent {
        kind,
        account_id: c.account_id,
        conversation_id: None,
        contact_id: Some(c.id),
        inbox_id: None,
        payload,
    })
    .await?;
    Ok(())
}

/// A conversation as Chatwoot's webhooks carry it (`Conversation#webhook_data`).
pub(crate) async fn conversation_body(
    tx: &mut Tx,
    c: &Conversation,
    changed: Option<Value>,
) -> Result<Value> {
    let store = tx.store().clone();
    let account = render::account_ref(tx.conn(), c.account_id).await?;
    let view = render::conversation(tx.conn(), &store, c.clone()).await?;
    let contact_inbox = contact_inbox(tx, c).await?;
    Ok(webhook_body::conversation(
        &account,
        &view,
        contact_inbox.as_ref(),
        changed,
    ))
}

pub(crate) async fn conversation(
    tx: &mut Tx,
    kind: EventKind,
    c: &Conversation,
    changed: Option<Value>,
) -> Result<()> {
    conversation_changed_by(tx, kind, c, changed, None).await
}

/// [`conversation`], naming the user who made the change (`CHANGED_BY_KEY`).
pub(crate) async fn conversation_changed_by(
    tx: &mut Tx,
    kind: EventKind,
    c: &Conversation,
    changed: Option<Value>,
    by: Option<i64>,
) -> Result<()> {
    let mut payload = conversation_body(tx, c, changed).await?;
    if let Value::Object(map) = &mut payload {
        map.insert(AUDIENCE_KEY.into(), Owner::of(c).to_json());
        if let Some(user_id) = by {
            map.insert(
                CHANGED_BY_KEY.into(),
                serde_json::json!({ "user_id": user_id }),
            );
        }
    }
    tx.emit(NewEvent {
        kind,
        account_id: c.account_id,
        conversation_id: Some(c.id),
        contact_id: Some(c.contact_id),
        inbox_id: Some(c.inbox_id),
        payload,
    })
    .await?;
    Ok(())
}

pub(crate) async fn message(
    tx: &mut Tx,
    kind: EventKind,
    c: &Conversation,
    m: &Message,
) -> Result<()> {
    let stage = tracing::trace_span!(target: "throughline::stage", "render");
    let work = message_event(tx, kind, c, m, render::Known::default());
    tracing::Instrument::instrument(work, stage).await
}

/// The event of a message just stored (with all its attachments) through `inbox` by
/// `writer` (a contact, as the write left them), when the caller holds them: its snapshot is
/// rendered without reading any of them back.
pub(crate) async fn message_written(
    tx: &mut Tx,
    c: &Conversation,
    written: render::Written<'_>,
    inbox: Option<&Inbox>,
    writer: Option<&Contact>,
) -> Result<()> {
    let stage = tracing::trace_span!(target: "throughline::stage", "render");
    let inbox = inbox.filter(|i| i.id == written.message.inbox_id);
    let work = message_event(
        tx,
        EventKind::MessageCreated,
        c,
        written.message,
        render::Known {
            written: Some(written),
            inbox,
            contact: writer,
            identity: None,
        },
    );
    tracing::Instrument::instrument(work, stage).await
}

/// `known`: what the caller holds of the message's surroundings (its inbox, which may not be
/// the conversation's; the contact who wrote it).
async fn message_event(
    tx: &mut Tx,
    kind: EventKind,
    c: &Conversation,
    m: &Message,
    known: render::Known<'_>,
) -> Result<()> {
    let store = tx.store().clone();
    let account = render::account_ref(tx.conn(), c.account_id).await?;
    let contact_inbox = contact_inbox(tx, c).await?;
    let known = render::Known {
        identity: contact_inbox.as_ref(),
        ..known
    };
    let inbox = known.inbox;
    let conversation = render::conversation_knowing(tx.conn(), &store, c.clone(), known).await?;
    // A new message is its conversation's last one, already rendered in the same way (same
    // context, sender and attachments): rendering it again would repeat five queries inside
    // the writer's transaction.
    let view = match conversation.messages.last() {
        Some(last) if last.id == m.id => last.clone(),
        _ => render::message(tx.conn(), &store, c, m).await?,
    };
    let read;
    let inbox = match inbox {
        Some(known) => known,
        None => {
            read = crate::inboxes::get_unscoped(tx.conn(), store.key(), m.inbox_id).await?;
            &read
        }
    };
    let sender = webhook_sender(tx, m, &account, &conversation).await?;
    let mut payload = webhook_body::message(
        &account,
        inbox,
        m,
        &conversation,
        contact_inbox.as_ref(),
        sender,
    );
    // The realtime stream renders messages exactly as the API does; keep that view alongside,
    // and who of the customer's side may see it (the visitor rule). Both are stripped before
    // the payload leaves.
    if let Value::Object(map) = &mut payload {
        map.insert(AUDIENCE_KEY.into(), Owner::of(c).to_json());
        if !view.attachments.is_empty() {
            map.insert(
                "attachments".into(),
                serde_json::to_value(&view.attachments).unwrap_or_default(),
            );
        }
        map.insert(
            "view".into(),
            serde_json::to_value(&view).unwrap_or_default(),
        );
    }
    tx.emit(NewEvent {
        kind,
        account_id: c.account_id,
        conversation_id: Some(c.id),
        contact_id: Some(c.contact_id),
        inbox_id: Some(m.inbox_id),
        payload,
    })
    .await?;
    Ok(())
}

/// The identity the conversation started with (Chatwoot's `conversation.contact_inbox`).
async fn contact_inbox(
    tx: &mut Tx,
    c: &Conversation,
) -> Result<Option<throughline_core::model::Identity>> {
    let Some(id) = c.identity_id else {
        return Ok(None);
    };
    let scope = crate::AccountScope::system(c.account_id);
    match crate::contacts::identity(tx.conn(), &scope, id).await {
        Ok(identity) => Ok(Some(identity)),
        Err(crate::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The sender as Chatwoot's webhooks describe it (`sender.webhook_data`): a contact in full, a
/// user with name and email, a bot with its name. A contact sender is the conversation's
/// contact, already rendered in the conversation's `meta`.
async fn webhook_sender(
    tx: &mut Tx,
    m: &Message,
    account: &throughline_core::views::AccountRef,
    conversation: &throughline_core::views::ConversationView,
) -> Result<Option<Value>> {
    use throughline_core::message::SenderType;
    let Some((kind, id)) = m.sender_type.zip(m.sender_id) else {
        return Ok(None);
    };
    Ok(Some(match kind {
        SenderType::Contact if conversation.meta.sender.id == id => {
            webhook_body::contact(account, &conversation.meta.sender, None)
        }
        SenderType::Contact => {
            let store = tx.store().clone();
            let scope = crate::AccountScope::system(m.account_id);
            let contact = crate::contacts::get(tx.conn(), &scope, id).await?;
            let view = render::contact(tx.conn(), &store, &contact, false).await?;
            webhook_body::contact(account, &view, None)
        }
        SenderType::User => {
            let user = crate::accounts::get_user_unscoped(tx.conn(), id).await?;
            serde_json::json!({
                "id": user.id,
                "name": user.available_name(),
                "email": user.email,
                "type": "user"
            })
        }
        SenderType::AgentBot => {
            let bot = crate::auth::get_agent_bot_unscoped(tx.conn(), id).await?;
            serde_json::json!({ "id": bot.id, "name": bot.name, "type": "agent_bot" })
        }
    }))
}

/// The website widget was opened (Chatwoot's `webwidget_triggered`: the visitor's
/// `ContactInbox#webhook_data` — contact, inbox, account, current conversation, source id — with
/// the widget's `event_info`). Heard by agent bots and account webhooks, not by agents' sockets.
pub async fn webwidget_triggered(
    tx: &mut Tx,
    inbox: &Inbox,
    identity: &throughline_core::model::Identity,
    contact: &Contact,
    current: Option<&Conversation>,
    event_info: Value,
) -> Result<()> {
    let store = tx.store().clone();
    let account = render::account_ref(tx.conn(), inbox.account_id).await?;
    let view = render::contact(tx.conn(), &store, contact, true).await?;
    let current_body = match current {
        Some(c) => Some(conversation_body(tx, c, None).await?),
        None => None,
    };
    let payload = serde_json::json!({
        "id": identity.id,
        "contact": webhook_body::contact(&account, &view, None),
        "inbox": {"id": inbox.id, "name": inbox.name},
        "account": account,
        "current_conversation": current_body,
        "source_id": identity.source_id,
        "event_info": event_info,
    });
    tx.emit(NewEvent {
        kind: EventKind::WebwidgetTriggered,
        account_id: inbox.account_id,
        conversation_id: current.map(|c| c.id),
        contact_id: Some(contact.id),
        inbox_id: Some(inbox.id),
        payload,
    })
    .await?;
    Ok(())
}
