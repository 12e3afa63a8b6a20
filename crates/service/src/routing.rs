//! Auto-assignment: the account's waiting conversations go to its available agents, as the
//! core's router decides (`throughline_core::routing`), inside one transaction that holds the
//! account's routing lock.
//!
//! Who is available comes from the caller (the realtime hub knows who is connected and what
//! status each agent chose); everything else — queues, load, stickiness — is read under the
//! lock, so two deciders (two tasks, two processes) never assign one conversation twice or an
//! agent past capacity.

use std::collections::HashMap;

use throughline_core::Millis;
use throughline_core::routing::{
    self, Action, Agent, AgentProfile, ChannelKind, DayTally, Decision, LanguageMode, PerKind,
    Policy, Presence, QueueId, Reason, RoutingSettings, Snapshot, StickyAgent, WaitingItem,
    load_of,
};
use throughline_store::routing::{self as stored, Candidate, Waiting};
use throughline_store::{AccountScope, Store, conversations};

/// What one pass over an account did.
#[derive(Debug, Default)]
pub struct Pass {
    /// The decisions carried out.
    pub decisions: Vec<Decision>,
    /// When a conversation left waiting widens (drops a preference, may overflow) or an
    /// offer runs out: the account must be decided again then, even if nothing else happens.
    pub next_wake: Option<Millis>,
    /// Offers made: each agent's app must show its own.
    pub offered: Vec<stored::Offer>,
    /// Offers that ran out unanswered: their agents' apps must drop them.
    pub expired: Vec<stored::Offer>,
}

/// Assigns what can be assigned now in `account_id`, given the agents' presence there.
pub async fn assign_waiting(
    store: &Store,
    account_id: i64,
    presence: &HashMap<i64, Presence>,
    now: Millis,
) -> throughline_store::Result<Pass> {
    let available: Vec<i64> = presence
        .iter()
        .filter(|(_, p)| p.takes_new_work())
        .map(|(id, _)| *id)
        .collect();
    if available.is_empty() {
        return Ok(Pass::default());
    }
    // Most events leave nothing waiting (our own assignments among them): a read answers
    // that without taking the write lock, which on SQLite every ingest needs too.
    {
        let mut conn = store.read().await?;
        if !stored::anything_waiting(&mut conn, account_id, &available).await? {
            return Ok(Pass::default());
        }
    }
    let asked = std::time::Instant::now();
    let mut tx = store.begin().await?;
    stored::lock_account(&mut tx, account_id).await?;
    tracing::debug!(
        account_id,
        waited_ms = asked.elapsed().as_secs_f64() * 1000.0,
        "routing lock taken"
    );
    let expired = stored::expire_offers(&mut tx, account_id, now).await?;
    let mut waiting = stored::waiting(&mut tx, account_id, &available).await?;
    if waiting.is_empty() {
        let next_wake = stored::next_offer_expiry(tx.conn(), account_id).await?;
        tx.commit().await?;
        return Ok(Pass {
            next_wake,
            expired,
            ..Pass::default()
        });
    }
    let candidates = stored::candidates(tx.conn(), account_id, Some(&available)).await?;
    // Only agents who work a conversation's inbox may take it: conversations of inboxes with
    // nobody available cannot be placed now, so nothing more is read for them.
    waiting.retain(|w| candidates.iter().any(|c| c.inboxes.contains(&w.inbox_id)));
    let settings = stored::settings(tx.conn(), account_id).await?;
    let profiles = stored::agent_profiles(tx.conn(), account_id).await?;
    let ids: Vec<i64> = waiting.iter().map(|w| w.id).collect();
    let labels = if settings.labels.is_empty() {
        HashMap::new()
    } else {
        stored::labels_of(tx.conn(), account_id, &ids).await?
    };
    let texts = if settings.language == LanguageMode::Off {
        HashMap::new()
    } else {
        stored::customer_texts(tx.conn(), account_id, &ids).await?
    };
    let has_words = texts.keys().copied().collect();
    let languages: HashMap<i64, &'static str> = texts
        .iter()
        .filter_map(|(id, text)| routing::detect_language(text).map(|code| (*id, code)))
        .collect();
    let helpers = if settings.sticky() {
        let contacts: Vec<i64> = waiting.iter().map(|w| w.contact_id).collect();
        stored::last_helpers(&mut tx, account_id, &contacts).await?
    } else {
        HashMap::new()
    };
    let refusals =
        stored::refusals_since(tx.conn(), account_id, now - stored::REFUSAL_MEMORY_MS).await?;
    let policy = settings.policy();
    let view = View {
        refusals: &refusals,
        settings: &settings,
        policy: &policy,
        presence,
        profiles: &profiles,
        helpers: &helpers,
        labels: &labels,
        languages: &languages,
        has_words: &has_words,
    };
    let snapshot = view.snapshot(&waiting, &candidates);
    let decisions = routing::decide(&snapshot, &policy, now);
    let decided: std::collections::HashSet<i64> =
        decisions.iter().map(|d| d.conversation).collect();
    let next_wake = snapshot
        .waiting
        .iter()
        .filter(|item| !decided.contains(&item.conversation))
        .filter_map(|item| policy.next_widening(item, now))
        .min();
    let scope = AccountScope::system(account_id);
    // An inbox's assignment limit is checked against the load before the pass; two of its
    // conversations decided in one pass for one agent could pass it together, so the
    // second waits for the next event.
    let mut open_here: HashMap<(i64, i64), i64> = candidates
        .iter()
        .flat_map(|c| {
            c.open_by_inbox
                .iter()
                .map(|(inbox, n)| ((c.user_id, *inbox), *n))
        })
        .collect();
    let limits: HashMap<i64, (i64, Option<i64>)> = waiting
        .iter()
        .map(|w| (w.id, (w.inbox_id, w.inbox_limit)))
        .collect();
    let mut carried = Vec::with_capacity(decisions.len());
    let mut offered = Vec::new();
    for d in decisions {
        if let Some((inbox, limit)) = limits.get(&d.conversation).copied() {
            let n = open_here.entry((d.agent, inbox)).or_default();
            if limit.is_some_and(|l| *n >= l) {
                continue;
            }
            *n += 1;
        }
        if let Action::Offer { expires_at } = d.action
            && settings.offered(d.kind)
        {
            offered.push(
                stored::create_offer(&mut tx, account_id, d.conversation, d.agent, expires_at)
                    .await?,
            );
            tracing::info!(
                account_id,
                conversation = d.conversation,
                agent = d.agent,
                "offered"
            );
            carried.push(d);
            continue;
        }
        let conversation = conversations::by_internal_id(tx.conn(), &scope, d.conversation).await?;
        let why = reason_words(&mut tx, &scope, &d.reason).await?;
        conversations::assign_because(
            &mut tx,
            &scope,
            &conversation,
            Some(Some(d.agent)),
            None,
            Some(conversations::AssignReason {
                code: d.reason.code(),
                words: &why,
            }),
        )
        .await?;
        tracing::info!(
            account_id,
            conversation = conversation.display_id,
            agent = d.agent,
            reason = %d.reason,
            "routed"
        );
        carried.push(d);
    }
    let next_expiry = stored::next_offer_expiry(tx.conn(), account_id).await?;
    tx.commit().await?;
    Ok(Pass {
        decisions: carried,
        next_wake: next_wake.into_iter().chain(next_expiry).min(),
        offered,
        expired,
    })
}

/// A phone call waiting in the queue for an agent.
#[derive(Clone, Debug)]
pub struct CallInQueue {
    pub call_id: i64,
    pub inbox_id: i64,
    /// The team the menu chose (its queue), else the inbox's.
    pub team_id: Option<i64>,
    /// The caller, when known (whoever helped them last is rung first).
    pub contact_id: Option<i64>,
    pub queued_at: Millis,
    /// Agents rung for this call already: not again.
    pub skip: Vec<i64>,
    /// Agents whose phone rings for a call or who talk on one: a call's load each.
    pub on_calls: Vec<i64>,
}

/// Who to ring for a queued call now, by the account's routing rules as for any work: an
/// available agent of the call's queue with room for a call and not blocked by the work they
/// hold, with the required skills, the caller's last helper first. Only agents in `reachable`
/// (who gave a number to ring; whose app is open, for a call from the widget) are considered.
/// The caller holds the account's routing lock in `tx` and records the ring in it, so
/// two calls never take one agent.
pub async fn choose_for_call(
    tx: &mut throughline_store::Tx,
    account_id: i64,
    presence: &HashMap<i64, Presence>,
    call: &CallInQueue,
    reachable: &std::collections::HashSet<i64>,
    now: Millis,
) -> throughline_store::Result<Option<Decision>> {
    let available: Vec<i64> = presence
        .iter()
        .filter(|(id, p)| p.takes_new_work() && reachable.contains(id) && !call.skip.contains(id))
        .map(|(id, _)| *id)
        .collect();
    if available.is_empty() {
        return Ok(None);
    }
    let mut candidates = stored::candidates(tx.conn(), account_id, Some(&available)).await?;
    for c in &mut candidates {
        if call.on_calls.contains(&c.user_id) {
            c.assigned.push((
                throughline_core::model::ChannelType::Voice,
                throughline_core::conversation::Status::Open,
            ));
        }
    }
    let settings = stored::settings(tx.conn(), account_id).await?;
    let profiles = stored::agent_profiles(tx.conn(), account_id).await?;
    let helpers = match call.contact_id {
        Some(contact) if settings.sticky() => {
            stored::last_helpers(tx, account_id, &[contact]).await?
        }
        _ => HashMap::new(),
    };
    let policy = settings.policy();
    let none = HashMap::new();
    let view = View {
        refusals: &none,
        settings: &settings,
        policy: &policy,
        presence,
        profiles: &profiles,
        helpers: &helpers,
        labels: &HashMap::new(),
        languages: &HashMap::new(),
        has_words: &std::collections::HashSet::new(),
    };
    // The call stands for itself in the snapshot, apart from any conversation's id.
    let waiting = Waiting {
        id: -call.call_id,
        inbox_id: call.inbox_id,
        team_id: call.team_id,
        channel_type: throughline_core::model::ChannelType::Voice,
        priority: None,
        waiting_since: call.queued_at,
        contact_id: call.contact_id.unwrap_or(0),
        inbox_limit: None,
    };
    let snapshot = view.snapshot(std::slice::from_ref(&waiting), &candidates);
    Ok(routing::decide(&snapshot, &policy, now).into_iter().next())
}

/// The reason as the activity line says it, with names rather than ids.
async fn reason_words(
    tx: &mut throughline_store::Tx,
    scope: &AccountScope,
    reason: &Reason,
) -> throughline_store::Result<String> {
    Ok(match reason {
        Reason::Sticky { .. } => "the contact's previous agent".to_owned(),
        Reason::Skill { skill } => format!("skill {skill}"),
        Reason::Overflow { from, .. } => {
            format!("overflow from {}", queue_name(tx, scope, *from).await?)
        }
        Reason::LeastLoaded => "least loaded".to_owned(),
        Reason::LongestIdle => "longest idle".to_owned(),
        Reason::OnlyEligible => "the only available agent".to_owned(),
    })
}

async fn queue_name(
    tx: &mut throughline_store::Tx,
    scope: &AccountScope,
    queue: QueueId,
) -> throughline_store::Result<String> {
    Ok(match queue {
        QueueId::Team(id) => {
            throughline_store::teams::get(tx.conn(), scope, id)
                .await?
                .name
        }
        QueueId::Inbox(id) => {
            let store = tx.store().clone();
            throughline_store::inboxes::get(tx.conn(), store.key(), scope, id)
                .await?
                .name
        }
    })
}

/// What the router's snapshot is made of, besides the waiting rows and the candidates.
struct View<'a> {
    settings: &'a RoutingSettings,
    policy: &'a Policy,
    presence: &'a HashMap<i64, Presence>,
    profiles: &'a HashMap<i64, AgentProfile>,
    /// Contact → (agent who last helped, when).
    helpers: &'a HashMap<i64, (i64, i64)>,
    labels: &'a HashMap<i64, Vec<String>>,
    languages: &'a HashMap<i64, &'static str>,
    /// Conversations whose customer has written something.
    has_words: &'a std::collections::HashSet<i64>,
    /// Conversation → agents who declined it or let its offer expire lately.
    refusals: &'a HashMap<i64, Vec<i64>>,
}

impl View<'_> {
    /// Every waiting conversation in its queue (its team, else its inbox) with what it asks
    /// for; every available member with the queues of their inboxes and teams, their own
    /// capacity and skills.
    fn snapshot(&self, waiting: &[Waiting], candidates: &[Candidate]) -> Snapshot {
        let agents = candidates.iter().map(|c| self.agent(c)).collect();
        let items = waiting
            .iter()
            .filter(|w| !self.awaits_words(w))
            .map(|w| self.item(w, candidates))
            .collect();
        Snapshot {
            agents,
            waiting: items,
        }
    }

    fn agent(&self, c: &Candidate) -> Agent {
        let presence = self.presence.get(&c.user_id).copied();
        let mut agent = Agent::new(c.user_id, presence.unwrap_or(Presence::Offline));
        agent.queues = c
            .inboxes
            .iter()
            .map(|i| QueueId::Inbox(*i))
            .chain(c.teams.iter().map(|t| QueueId::Team(*t)))
            .collect();
        agent.load = load_of(
            c.assigned
                .iter()
                .map(|(channel, status)| (ChannelKind::of(*channel), *status)),
            c.offered.iter().map(|channel| ChannelKind::of(*channel)),
        );
        if let Some(profile) = self.profiles.get(&c.user_id) {
            agent.capacity = profile.capacity;
            agent.skills.clone_from(&profile.skills);
            agent.accepts_offers = profile.accepts_offers;
        }
        agent.idle_since = c.last_assigned_at;
        agent
    }

    /// With the language required, a conversation whose customer has not written a word
    /// yet cannot be placed: its first message (which wakes routing) tells the language. A
    /// call has no words to wait for, and a text too short to tell is placed without one.
    fn awaits_words(&self, w: &Waiting) -> bool {
        self.settings.language == LanguageMode::Require
            && ChannelKind::of(w.channel_type) != ChannelKind::Call
            && !self.has_words.contains(&w.id)
    }

    fn item(&self, w: &Waiting, candidates: &[Candidate]) -> WaitingItem {
        let queue = w.team_id.map_or(QueueId::Inbox(w.inbox_id), QueueId::Team);
        let mut item = WaitingItem::new(
            w.id,
            queue,
            ChannelKind::of(w.channel_type),
            w.waiting_since,
        );
        item.priority = w.priority;
        let labels = self.labels.get(&w.id).map_or(&[][..], Vec::as_slice);
        let needs = self
            .settings
            .requirements(queue, labels, self.languages.get(&w.id).copied());
        item.required = needs.required;
        // A preferred skill is worth waiting for (until it is dropped) only when someone
        // available who works the inbox has it: otherwise nobody better can come of the wait.
        item.preferred = needs
            .preferred
            .into_iter()
            .filter(|wanted| {
                candidates.iter().any(|c| {
                    c.inboxes.contains(&w.inbox_id)
                        && self.profiles.get(&c.user_id).is_some_and(|p| {
                            p.skills
                                .iter()
                                .any(|s| s.name == wanted.name && s.level >= wanted.min_level)
                        })
                })
            })
            .collect();
        item.overflow = needs.overflow;
        // Only agents who work the conversation's inbox take it, from a team or an overflow
        // (nobody else may even see it, as in Chatwoot), and the inbox's assignment limit
        // holds whoever takes it.
        item.excluded = candidates
            .iter()
            .filter(|c| {
                let open_here = c.open_by_inbox.get(&w.inbox_id).copied().unwrap_or(0);
                !c.inboxes.contains(&w.inbox_id)
                    || w.inbox_limit.is_some_and(|limit| open_here >= limit)
            })
            .map(|c| c.user_id)
            .chain(self.refusals.get(&w.id).into_iter().flatten().copied())
            .collect();
        item.sticky = self
            .helpers
            .get(&w.contact_id)
            .map(|(agent, at)| StickyAgent {
                agent: *agent,
                until: self.policy.sticky_until(*at),
            });
        item
    }
}

/// An agent went offline (the hub's grace period passed): the live conversations where the
/// customer waits for them go back to the queue, each with its activity line and event, so
/// the next decision gives them to someone present. Returns how many.
pub async fn requeue_unanswered(
    store: &Store,
    account_id: i64,
    agent_id: i64,
) -> throughline_store::Result<usize> {
    let mut tx = store.begin().await?;
    stored::lock_account(&mut tx, account_id).await?;
    let ids = stored::unanswered_live(&mut tx, account_id, agent_id).await?;
    let scope = AccountScope::system(account_id);
    for id in &ids {
        let conversation = conversations::by_internal_id(tx.conn(), &scope, *id).await?;
        conversations::assign(&mut tx, &scope, &conversation, Some(None), None).await?;
    }
    tx.commit().await?;
    if !ids.is_empty() {
        tracing::info!(
            account_id,
            agent_id,
            count = ids.len(),
            "re-queued an offline agent's chats"
        );
    }
    Ok(ids.len())
}

/// A queue in the live view: who waits there now and its day so far.
#[derive(Clone, Debug)]
pub struct QueueLive {
    pub queue: QueueId,
    pub name: String,
    pub waiting: i64,
    /// Since when the longest-waiting conversation has waited (ms).
    pub oldest: Option<Millis>,
    pub today: DayTally,
}

/// A member's open work against their capacity.
#[derive(Clone, Debug)]
pub struct AgentLoad {
    pub user_id: i64,
    pub load: PerKind<u16>,
    pub capacity: PerKind<u16>,
}

/// What the supervisor's live view shows, presence aside (the realtime hub knows it).
#[derive(Clone, Debug)]
pub struct Live {
    pub settings: RoutingSettings,
    /// Every team, then every inbox (an inbox is the queue of its conversations without a
    /// team).
    pub queues: Vec<QueueLive>,
    pub agents: Vec<AgentLoad>,
    pub waiting: Vec<stored::Unassigned>,
}

/// Conversations the live view lists by name (the counts cover all of them).
const LIVE_WAITING_LIMIT: i64 = 200;

/// The live view of an account for the day that began at `day_start` (ms).
pub async fn live(
    store: &Store,
    scope: &AccountScope,
    day_start: Millis,
) -> throughline_store::Result<Live> {
    let account_id = scope.account_id();
    let mut conn = store.read().await?;
    let settings = stored::settings(&mut conn, account_id).await?;
    let profiles = stored::agent_profiles(&mut conn, account_id).await?;
    let policy = settings.policy();
    let agents = stored::candidates(&mut conn, account_id, None)
        .await?
        .iter()
        .map(|c| {
            let mut agent = Agent::new(c.user_id, Presence::Offline);
            if let Some(p) = profiles.get(&c.user_id) {
                agent.capacity = p.capacity;
            }
            AgentLoad {
                user_id: c.user_id,
                load: load_of(
                    c.assigned
                        .iter()
                        .map(|(channel, status)| (ChannelKind::of(*channel), *status)),
                    [],
                ),
                capacity: PerKind::from_array(
                    ChannelKind::ALL.map(|kind| policy.capacity_of(&agent, kind)),
                ),
            }
        })
        .collect();
    let mut queues: Vec<QueueLive> = throughline_store::teams::list(&mut conn, scope)
        .await?
        .into_iter()
        .map(|t| (QueueId::Team(t.id), t.name))
        .chain(
            throughline_store::inboxes::list(&mut conn, store.key(), scope)
                .await?
                .into_iter()
                .map(|i| (QueueId::Inbox(i.id), i.name)),
        )
        .map(|(queue, name)| QueueLive {
            queue,
            name,
            waiting: 0,
            oldest: None,
            today: DayTally::default(),
        })
        .collect();
    let index: HashMap<QueueId, usize> = queues
        .iter()
        .enumerate()
        .map(|(i, q)| (q.queue, i))
        .collect();
    let slot = |inbox: i64, team: Option<i64>| {
        index
            .get(&team.map_or(QueueId::Inbox(inbox), QueueId::Team))
            .copied()
    };
    for w in stored::waiting_counts(&mut conn, account_id).await? {
        if let Some(i) = slot(w.inbox_id, w.team_id) {
            let q = &mut queues[i];
            q.waiting += w.waiting;
            q.oldest = Some(q.oldest.map_or(w.oldest, |o| o.min(w.oldest)));
        }
    }
    let target_ms = Millis::from(settings.service_level_seconds) * 1_000;
    for o in stored::outcomes_since(&mut conn, account_id, day_start).await? {
        if let Some(i) = slot(o.inbox_id, o.team_id) {
            queues[i].today.add(
                ChannelKind::of(o.channel_type),
                o.created_at,
                o.first_reply_at,
                o.resolved,
                day_start,
                target_ms,
            );
        }
    }
    let waiting = stored::unassigned(&mut conn, account_id, LIVE_WAITING_LIMIT).await?;
    Ok(Live {
        settings,
        queues,
        agents,
        waiting,
    })
}

/// Why an agent cannot take one more conversation of an inbox's channel: the kind that is
/// full (or blocked) and the agent's load and capacity of it. `None`: there is room.
pub async fn no_room(
    conn: &mut throughline_store::Conn,
    account_id: i64,
    agent_id: i64,
    channel: throughline_core::model::ChannelType,
) -> throughline_store::Result<Option<(ChannelKind, u16, u16)>> {
    let Some(c) = stored::candidates(conn, account_id, Some(&[agent_id]))
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let settings = stored::settings(conn, account_id).await?;
    let profile = stored::agent_profiles(conn, account_id)
        .await?
        .remove(&agent_id)
        .unwrap_or_default();
    let policy = settings.policy();
    let mut agent = Agent::new(agent_id, Presence::Online);
    agent.capacity = profile.capacity;
    agent.load = load_of(
        c.assigned
            .iter()
            .map(|(channel, status)| (ChannelKind::of(*channel), *status)),
        [],
    );
    let kind = ChannelKind::of(channel);
    if policy.has_room(&agent, kind) {
        return Ok(None);
    }
    Ok(Some((
        kind,
        agent.load[kind],
        policy.capacity_of(&agent, kind),
    )))
}
