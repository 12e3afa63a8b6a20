//! Auto-assignment, driven by what happens rather than by a timer: a conversation created,
//! reopened or unassigned, a customer's message (it tells the language), a conversation
//! resolved or snoozed (capacity freed), an agent coming online, settings or skills changed,
//! and the moment a waiting conversation widens (drops a preferred skill, may overflow), which
//! each pass reports. An agent going offline (after the hub's grace period) gives back the live
//! chats where a customer waits for them. Each marks its account; marked accounts are decided one at a time
//! (`service::routing::assign_waiting`, which holds the account's lock).
//!
//! Presence comes from the in-process bus: the realtime hub announces every agent who
//! connects, chooses a status or goes offline. An agent connected to another instance is
//! decided for by that instance.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use throughline_core::event::EventKind;
use throughline_core::routing::ChannelKind;
use throughline_core::routing::Presence;
use throughline_realtime::frames::Status;
use throughline_realtime::{Bus, OfferNotice, Signal};
use throughline_store::Store;
use throughline_store::routing as stored;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

pub(crate) async fn run(
    store: Store,
    bus: Bus,
    mut signals: broadcast::Receiver<Signal>,
    mut shutdown: watch::Receiver<bool>,
) {
    // (account, user) → presence, as the hub announced it.
    let mut presence: HashMap<i64, HashMap<i64, Presence>> = HashMap::new();
    // Account → when a conversation waiting there widens (its pass said so).
    let mut wakes: HashMap<i64, i64> = HashMap::new();
    // Account → whether its routing requires the customer's language (cached until its
    // settings change).
    let mut requires_words: HashMap<i64, bool> = HashMap::new();
    // This process's name in the shared presence table.
    let instance = throughline_core::crypto::random_token(12);
    let mut refresh = tokio::time::interval(Duration::from_millis(
        stored::PRESENCE_REFRESH_MS.unsigned_abs(),
    ));
    loop {
        let mut m = Marks::default();
        let next_wake = wakes.values().min().copied();
        let sleep_ms = next_wake.map_or(0, |t| (t - throughline_store::now_ms()).max(0));
        tokio::select! {
            signal = signals.recv() => match signal {
                Ok(s) => note(&s, &mut presence, &mut m),
                Err(RecvError::Lagged(_)) => m.due.extend(presence.keys().copied()),
                Err(RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(Duration::from_millis(sleep_ms.unsigned_abs())), if next_wake.is_some() => {
                let now = throughline_store::now_ms();
                wakes.retain(|account, at| {
                    let woke = *at <= now;
                    if woke {
                        m.due.insert(*account);
                    }
                    !woke
                });
            }
            // With nobody connected here there is no row to keep fresh (and, on SQLite, no
            // reason to take the writer).
            _ = refresh.tick(), if presence.values().any(|a| !a.is_empty()) => {
                if let Err(e) = share(&store, &instance, None).await {
                    tracing::warn!(error = %e, "refreshing this instance's presence failed");
                }
            }
            _ = shutdown.changed() => {
                let _ = share(&store, &instance, Some(&[])).await;
                return;
            }
        }
        // Take everything already waiting, so a burst is decided once per account.
        loop {
            match signals.try_recv() {
                Ok(s) => note(&s, &mut presence, &mut m),
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    m.due.extend(presence.keys().copied());
                }
                Err(_) => break,
            }
        }
        for account_id in &m.settings_changed {
            requires_words.remove(account_id);
        }
        for account_id in m.words {
            if presence.get(&account_id).is_none_or(|a| a.is_empty()) {
                continue;
            }
            let required = match requires_words.get(&account_id) {
                Some(r) => *r,
                None => match language_required(&store, account_id).await {
                    Ok(r) => *requires_words.entry(account_id).or_insert(r),
                    Err(e) => {
                        tracing::warn!(account_id, error = %e, "reading routing settings failed");
                        true
                    }
                },
            };
            if required {
                m.due.insert(account_id);
            }
        }
        if !m.changed.is_empty()
            && let Err(e) = share(&store, &instance, Some(&m.changed)).await
        {
            tracing::warn!(error = %e, "sharing presence failed; the next refresh retries");
        }
        for (account_id, agent_id) in m.gone {
            match throughline_service::routing::requeue_unanswered(&store, account_id, agent_id)
                .await
            {
                Ok(0) => {}
                Ok(_) => {
                    m.due.insert(account_id);
                }
                Err(e) => {
                    tracing::warn!(account_id, agent_id, error = %e, "re-queueing an offline agent's chats failed");
                }
            }
        }
        for account_id in m.due {
            let Some(local) = presence.get(&account_id) else {
                continue;
            };
            let now = throughline_store::now_ms();
            let agents = match with_elsewhere(&store, account_id, &instance, local, now).await {
                Ok(all) => all,
                Err(e) => {
                    tracing::warn!(account_id, error = %e, "reading other instances' presence failed");
                    local.clone()
                }
            };
            let started = std::time::Instant::now();
            match throughline_service::routing::assign_waiting(&store, account_id, &agents, now)
                .await
            {
                Ok(pass) => {
                    tracing::debug!(
                        account_id,
                        decisions = pass.decisions.len(),
                        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                        "routing pass"
                    );
                    match pass.next_wake {
                        Some(at) => wakes.insert(account_id, at),
                        None => wakes.remove(&account_id),
                    };
                    announce_offers(&bus, account_id, &pass);
                }
                Err(e) => {
                    tracing::warn!(account_id, error = %e, "auto-assignment failed; next event retries");
                }
            }
        }
    }
}

/// Writes this instance's presence changes to the shared table (`Some(changes)`), refreshes
/// its rows (`None`), or removes them all (`Some(&[])`, on shutdown).
async fn share(
    store: &Store,
    instance: &str,
    changes: Option<&[(i64, i64, Presence)]>,
) -> throughline_store::Result<()> {
    let mut tx = store.begin().await?;
    match changes {
        None => stored::refresh_presence(tx.conn(), instance, false).await?,
        Some([]) => stored::refresh_presence(tx.conn(), instance, true).await?,
        Some(list) => {
            let now = throughline_store::now_ms();
            for (account_id, user_id, p) in list {
                let status = (*p != Presence::Offline).then(|| (p.as_str(), now));
                stored::record_presence(tx.conn(), *account_id, *user_id, instance, status).await?;
            }
        }
    }
    tx.commit().await
}

/// Whether the account's routing waits for a customer's words (the language required).
async fn language_required(store: &Store, account_id: i64) -> throughline_store::Result<bool> {
    let mut conn = store.read().await?;
    let settings = stored::settings(&mut conn, account_id).await?;
    Ok(settings.language == throughline_core::routing::LanguageMode::Require)
}

/// This instance's agents and those present on other instances (whose own status wins
/// here only when they are not connected here).
async fn with_elsewhere(
    store: &Store,
    account_id: i64,
    instance: &str,
    local: &HashMap<i64, Presence>,
    now: i64,
) -> throughline_store::Result<HashMap<i64, Presence>> {
    let mut conn = store.read().await?;
    let fresh_since = now - stored::PRESENCE_STALE_MS;
    let mut all = local.clone();
    for row in stored::present_elsewhere(&mut conn, account_id, Some(instance), fresh_since).await?
    {
        if let Some(p) = Presence::parse(&row.status) {
            all.entry(row.user_id).or_insert(p);
        }
    }
    Ok(all)
}

/// Tells each agent's tabs of the offers made to them, and of those that ran out.
fn announce_offers(bus: &Bus, account_id: i64, pass: &throughline_service::routing::Pass) {
    let made = pass.offered.iter().map(|o| (o, false));
    for (o, withdrawn) in made.chain(pass.expired.iter().map(|o| (o, true))) {
        bus.publish(Signal::Offer(offer_notice(account_id, o, withdrawn)));
    }
}

/// The realtime notice of a stored offer.
fn offer_notice(
    account_id: i64,
    o: &throughline_store::routing::Offer,
    withdrawn: bool,
) -> OfferNotice {
    OfferNotice {
        account_id,
        user_id: o.user_id,
        conversation_id: o.display_id,
        inbox_id: o.inbox_id,
        contact_name: o.contact_name.clone(),
        channel_kind: ChannelKind::of(o.channel_type).as_str(),
        expires_at: o.expires_at,
        withdrawn,
    }
}

/// What the signals taken in one turn of the loop call for.
#[derive(Default)]
struct Marks {
    /// Accounts to decide.
    due: BTreeSet<i64>,
    /// (account, agent) gone offline: their unanswered live chats go back.
    gone: Vec<(i64, i64)>,
    /// Presence changes to share with the other instances.
    changed: Vec<(i64, i64, Presence)>,
    /// Accounts where a waiting conversation's customer wrote: decided if their routing
    /// requires the language.
    words: Vec<i64>,
    /// Accounts whose routing settings may have changed.
    settings_changed: Vec<i64>,
}

/// Updates presence and marks the account when the signal may let someone be assigned.
fn note(signal: &Signal, presence: &mut HashMap<i64, HashMap<i64, Presence>>, m: &mut Marks) {
    match signal {
        Signal::Presence(p) => {
            let now = match p.status {
                Status::Online => Presence::Online,
                Status::Busy => Presence::Busy,
                Status::Away => Presence::Away,
                Status::Offline => Presence::Offline,
            };
            m.changed.push((p.account_id, p.user_id, now));
            let agents = presence.entry(p.account_id).or_default();
            if now == Presence::Offline {
                agents.remove(&p.user_id);
                m.gone.push((p.account_id, p.user_id));
            } else {
                agents.insert(p.user_id, now);
            }
            if now.takes_new_work() {
                m.due.insert(p.account_id);
            }
        }
        Signal::Event(e) => {
            let matters = match e.kind {
                EventKind::ConversationCreated | EventKind::ConversationStatusChanged => true,
                // Unassigned or moved to another team; other updates (activity times,
                // attributes) change nothing for routing.
                EventKind::ConversationUpdated => changes_assignment(&e.payload),
                // The customer's words tell the language a waiting conversation may require:
                // that matters only where the account requires it (asked below).
                EventKind::MessageCreated => {
                    let waits = e.payload["conversation"]["assignee_id"].is_null();
                    if e.payload["message_type"] == "incoming" && waits {
                        m.words.push(e.account_id);
                    }
                    false
                }
                _ => false,
            };
            if matters && presence.get(&e.account_id).is_some_and(|a| !a.is_empty()) {
                m.due.insert(e.account_id);
            }
        }
        Signal::RoutingChanged { account_id } => {
            m.settings_changed.push(*account_id);
            if presence.get(account_id).is_some_and(|a| !a.is_empty()) {
                m.due.insert(*account_id);
            }
        }
        Signal::Typing(_) | Signal::Offer(_) | Signal::Call(_) => {}
    }
}

/// Whether a `conversation_updated` changed the assignee or the team (Chatwoot's
/// `changed_attributes`: `[{attr: {previous_value, current_value}}]`).
fn changes_assignment(payload: &serde_json::Value) -> bool {
    payload["changed_attributes"]
        .as_array()
        .is_some_and(|changes| {
            changes
                .iter()
                .any(|c| c.get("assignee_id").is_some() || c.get("team_id").is_some())
        })
}
