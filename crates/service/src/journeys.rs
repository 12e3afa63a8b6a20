//! Journey campaigns at work: a business event schedules each campaign it triggers (once per
//! campaign, contact and event); when a send comes due it is cancelled (a cancelling event
//! arrived since), skipped (opted out, capped, unreachable), postponed (quiet hours in the
//! contact's time zone) or sent on the contact's usual channel — WhatsApp through the
//! campaign's template when its window is closed.

use serde_json::{Value, json};
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::journey::{self, Content, Route};
use throughline_core::message::MessageType;
use throughline_store::journeys::{self as store_journeys, Send, Settled};
use throughline_store::messages::{self, NewMessage};
use throughline_store::{
    AccountScope, Found, StoreError, Tx, contacts, conversations, reply_channels,
};

type Result<T> = std::result::Result<T, StoreError>;

/// Schedules the campaigns a new business event triggers.
pub async fn on_business_event(tx: &mut Tx, event: &StoredEvent) -> Result<()> {
    if event.kind != EventKind::BusinessEventCreated {
        return Ok(());
    }
    let be = &event.payload["business_event"];
    let (Some(id), Some(contact_id), Some(event_type)) = (
        be["id"].as_i64(),
        be["contact_id"].as_i64(),
        be["event_type"].as_str(),
    ) else {
        return Ok(());
    };
    let occurred_at = be["occurred_at"].as_i64().unwrap_or(event.created_at);
    for campaign in store_journeys::triggered_by(tx.conn(), event.account_id, event_type).await? {
        let Ok(rules) = journey::check(&campaign.rules) else {
            tracing::warn!(
                campaign = campaign.id,
                "journey campaign no longer valid; not scheduled"
            );
            continue;
        };
        let due = occurred_at.saturating_add(rules.delay_minutes * 60_000);
        store_journeys::schedule(tx.conn(), &campaign, contact_id, id, due).await?;
    }
    Ok(())
}

/// The contact's time zone for quiet hours: theirs when known (`timezone` in their
/// additional or custom attributes), else the inbox's, else UTC.
fn contact_zone_names<'a>(
    contact: &'a throughline_core::model::Contact,
    inbox_settings: &'a Value,
) -> [Option<&'a str>; 3] {
    [
        contact.additional_attributes["timezone"].as_str(),
        contact.custom_attributes["timezone"].as_str(),
        inbox_settings["timezone"].as_str(),
    ]
}

/// Decides and does one due send, in `tx`.
pub async fn settle(tx: &mut Tx, send: &Send, now: i64) -> Result<()> {
    let scope = AccountScope::system(send.account_id);
    let Some(campaign) = store_journeys::get(tx.conn(), &scope, send.campaign_id)
        .await
        .found()?
    else {
        return Ok(());
    };
    let outcome = decide(tx, &scope, &campaign, send, now).await?;
    store_journeys::settle(tx.conn(), send.id, outcome.as_settled()).await
}

enum Outcome {
    Sent { inbox_id: i64, message_id: i64 },
    Skipped(String),
    Cancelled(String),
    Postponed(i64),
}

impl Outcome {
    fn as_settled(&self) -> Settled<'_> {
        match self {
            Self::Sent {
                inbox_id,
                message_id,
            } => Settled::Sent {
                inbox_id: *inbox_id,
                message_id: *message_id,
            },
            Self::Skipped(why) => Settled::Skipped(why),
            Self::Cancelled(why) => Settled::Cancelled(why),
            Self::Postponed(until) => Settled::Postponed(*until, "quiet hours"),
        }
    }
}

async fn decide(
    tx: &mut Tx,
    scope: &AccountScope,
    campaign: &store_journeys::Campaign,
    send: &Send,
    now: i64,
) -> Result<Outcome> {
    let Ok(rules) = journey::check(&campaign.rules) else {
        return Ok(Outcome::Skipped("the campaign is no longer valid".into()));
    };
    if !campaign.active {
        return Ok(Outcome::Skipped("the campaign is paused".into()));
    }
    let Some(trigger) = store_journeys::event(tx.conn(), send.business_event_id).await? else {
        return Ok(Outcome::Cancelled("the business event was deleted".into()));
    };
    if let Some(t) = store_journeys::later_event(
        tx.conn(),
        send.contact_id,
        &rules.cancel_on,
        trigger.occurred_at,
    )
    .await?
    {
        return Ok(Outcome::Cancelled(format!("a later {t} event cancels it")));
    }
    if let Some(cap) = rules.cap {
        let since = now - cap.days * 86_400_000;
        if store_journeys::sent_since(tx.conn(), send.contact_id, since).await? >= cap.max {
            return Ok(Outcome::Skipped(format!(
                "the contact already got {} campaign messages in {} days",
                cap.max, cap.days
            )));
        }
    }
    let Some(contact) = contacts::get(tx.conn(), scope, send.contact_id)
        .await
        .found()?
    else {
        return Ok(Outcome::Skipped("the contact was deleted".into()));
    };
    let Some(conversation) = conversations::latest_of_contact(tx.conn(), scope, contact.id).await?
    else {
        return Ok(Outcome::Skipped(
            "the contact has no conversation to reach them through".into(),
        ));
    };
    let store = tx.store().clone();
    let options = reply_channels::options(tx.conn(), &store, scope, &conversation, None).await?;
    let opted_out = store_journeys::opt_outs(tx.conn(), contact.id).await?;
    let (latest, _) = messages::reply_route(tx.conn(), &conversation).await?;
    let choices: Vec<_> = options
        .iter()
        .map(|(inbox, option)| (inbox.channel_type, option.clone()))
        .collect();
    let route = journey::route(&choices, &opted_out, Some(latest), rules.template.is_some());
    let (inbox_id, as_template) = match route {
        Route::Message { inbox_id } => (inbox_id, false),
        Route::Template { inbox_id } => (inbox_id, true),
        Route::Unreachable(why) => return Ok(Outcome::Skipped(why.into())),
    };
    let Some((inbox, _)) = options.iter().find(|(i, _)| i.id == inbox_id) else {
        return Ok(Outcome::Skipped("the inbox is gone".into()));
    };
    if as_template && let Some(template) = &rules.template {
        let key = tx.store().key().clone();
        let templates = match throughline_store::providers::get(tx.conn(), &key, scope, inbox_id)
            .await?
            .map(|c| c.settings)
        {
            Some(throughline_core::messaging::ProviderSettings::WhatsappCloud(w)) => w.templates,
            _ => Vec::new(),
        };
        if let Err((_, _, why)) = throughline_core::messaging::check_template(&templates, template)
        {
            return Ok(Outcome::Skipped(format!(
                "WhatsApp's window is closed and the template cannot be sent: {why}"
            )));
        }
    }
    if let Some(quiet) = rules.quiet_hours
        && let Some(until) = journey::quiet_until(
            now,
            journey::zone_of(&contact_zone_names(&contact, &inbox.settings)),
            quiet,
        )
    {
        return Ok(Outcome::Postponed(until));
    }
    let ids = json!({"journey_campaign_id": campaign.id, "journey_send_id": send.id});
    let message_id = match &rules.content {
        Content::Survey(kind) if !as_template => {
            crate::surveys::send(tx, &conversation, inbox_id, *kind, ids).await?
        }
        content => {
            let text = match content {
                Content::Message(text) => journey::render(
                    text,
                    &contact.name,
                    trigger.title.as_deref(),
                    &trigger.properties,
                ),
                Content::Survey(_) => campaign.name.clone(),
            };
            let mut new = NewMessage::text(MessageType::Template, text);
            new.inbox_id = Some(inbox_id);
            new.content_attributes = ids;
            if as_template && let Some(template) = &rules.template {
                new.additional_attributes = json!({ "template_params": template });
            }
            messages::create(tx, scope, &conversation, new)
                .await?
                .message
                .id
        }
    };
    Ok(Outcome::Sent {
        inbox_id,
        message_id,
    })
}
