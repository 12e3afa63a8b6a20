//! The hub: who is connected, what each connection may see, and presence.
//!
//! One dispatcher task reads the bus and routes each signal through an index (agents by
//! account, visitors by account and contact), so an event costs the same whether ten or ten
//! thousand visitors are connected. Each connection has a bounded queue; when it is full the
//! frame is dropped and the connection is told to resynchronise, so one slow browser never
//! holds up the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use throughline_core::scope::InboxVisibility;
use throughline_core::visibility::{Owner, Viewer, visitor_sees};
use tokio::sync::{broadcast, mpsc, watch};

use crate::frames::{self, Frame, Status, WhoKind};
use crate::{Bus, Presence, Signal};

#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Frames waiting for one connection before it is told to resynchronise.
    pub queue: usize,
    /// An agent without any open socket for this long is offline (a reload is not a
    /// departure).
    pub offline_after: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            queue: 256,
            offline_after: Duration::from_secs(30),
        }
    }
}

/// What an agent's connection may see in one account.
#[derive(Clone, Debug)]
pub struct AgentGrant {
    pub account_id: i64,
    pub inboxes: InboxVisibility,
    /// The availability the agent last chose there (used when no other tab is open).
    pub status: Status,
}

#[derive(Clone)]
struct Outlet {
    tx: mpsc::Sender<Frame>,
    lagged: Arc<AtomicBool>,
}

impl Outlet {
    fn send(&self, frame: &Frame) {
        if self.tx.try_send(frame.clone()).is_err() {
            self.lagged.store(true, Ordering::Release);
        }
    }
}

struct AgentConn {
    user_id: i64,
    inboxes: InboxVisibility,
    outlet: Outlet,
}

struct VisitorConn {
    /// The inbox the widget is of (agents' presence is shown per inbox).
    inbox_id: i64,
    /// Who is watching: what they may see is `visibility::visitor_sees`, the same rule as the
    /// Client API's.
    viewer: Viewer,
    outlet: Outlet,
}

struct AgentPresence {
    name: String,
    chosen: Status,
    /// When `chosen` last changed (or the agent connected), in ms: the live view's "time in
    /// status".
    since: i64,
    sockets: usize,
    inboxes: InboxVisibility,
    /// Bumped on every connect, so a pending "offline" from an earlier disconnect is void.
    generation: u64,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    agents: HashMap<i64, HashMap<u64, AgentConn>>,
    visitors: HashMap<(i64, i64), HashMap<u64, VisitorConn>>,
    presence: HashMap<(i64, i64), AgentPresence>,
}

struct Inner {
    bus: Bus,
    config: HubConfig,
    registry: Mutex<Registry>,
    closing: watch::Sender<bool>,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (agents, visitors) = self.connections();
        f.debug_struct("Hub")
            .field("agents", &agents)
            .field("visitors", &visitors)
            .finish()
    }
}

/// An agent connected in an account, as [`Hub::presence_of`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentAgent {
    pub user_id: i64,
    pub name: String,
    pub status: Status,
    /// When the status began (ms since the epoch).
    pub since: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What a connection's reader gets next.
#[derive(Debug, PartialEq)]
pub enum Received {
    Frame(Frame),
    /// Frames were dropped for this connection: the client must refetch.
    Resync,
    /// The server is shutting down.
    Closing,
}

enum Member {
    Agent { user_id: i64, accounts: Vec<i64> },
    Visitor { account_id: i64, contact_id: i64 },
}

/// One connection's place in the hub; leaving it (drop) unregisters the connection.
pub struct Subscription {
    id: u64,
    rx: mpsc::Receiver<Frame>,
    lagged: Arc<AtomicBool>,
    closing: watch::Receiver<bool>,
    member: Member,
    hub: Hub,
}

impl Subscription {
    pub async fn recv(&mut self) -> Received {
        if self.take_lag() {
            return Received::Resync;
        }
        tokio::select! {
            frame = self.rx.recv() => match frame {
                Some(frame) => Received::Frame(frame),
                None => Received::Closing,
            },
            _ = self.closing.wait_for(|closing| *closing) => Received::Closing,
        }
    }

    fn take_lag(&mut self) -> bool {
        if !self.lagged.swap(false, Ordering::AcqRel) {
            return false;
        }
        // What is queued predates the gap; the client refetches everything anyway.
        while self.rx.try_recv().is_ok() {}
        true
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(self.id, &self.member);
    }
}

impl Hub {
    /// A hub reading `bus`; its dispatcher runs until [`Hub::close`].
    pub fn start(bus: Bus, config: HubConfig) -> Self {
        let (closing, _) = watch::channel(false);
        let hub = Hub {
            inner: Arc::new(Inner {
                bus,
                config,
                registry: Mutex::new(Registry::default()),
                closing,
            }),
        };
        let rx = hub.inner.bus.subscribe();
        // The profile's `realtime` stage (`THROUGHLINE_PROFILE=1`); free otherwise.
        let stage = tracing::trace_span!(target: "throughline::stage", "realtime");
        tokio::spawn(tracing::Instrument::instrument(
            hub.clone().dispatch_loop(rx),
            stage,
        ));
        hub
    }

    /// Ends the dispatcher and tells every connection to close (graceful shutdown).
    pub fn close(&self) {
        let _ = self.inner.closing.send(true);
    }

    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing realtime altogether, so keep serving.
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn outlet(&self) -> (Outlet, mpsc::Receiver<Frame>, Arc<AtomicBool>) {
        let (tx, rx) = mpsc::channel(self.inner.config.queue.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        (
            Outlet {
                tx,
                lagged: lagged.clone(),
            },
            rx,
            lagged,
        )
    }

    fn subscription(
        &self,
        id: u64,
        rx: mpsc::Receiver<Frame>,
        lagged: Arc<AtomicBool>,
        member: Member,
    ) -> Subscription {
        Subscription {
            id,
            rx,
            lagged,
            closing: self.inner.closing.subscribe(),
            member,
            hub: self.clone(),
        }
    }

    /// Registers an agent's tab for the accounts it may see; the agent comes online there.
    pub fn connect_agent(&self, user_id: i64, name: &str, grants: Vec<AgentGrant>) -> Subscription {
        let (outlet, rx, lagged) = self.outlet();
        let mut reg = self.registry();
        reg.next_id += 1;
        let id = reg.next_id;
        let mut announce = Vec::new();
        for grant in &grants {
            reg.agents.entry(grant.account_id).or_default().insert(
                id,
                AgentConn {
                    user_id,
                    inboxes: grant.inboxes.clone(),
                    outlet: outlet.clone(),
                },
            );
            let entry = reg
                .presence
                .entry((grant.account_id, user_id))
                .or_insert_with(|| AgentPresence {
                    name: name.to_owned(),
                    chosen: grant.status,
                    since: now_ms(),
                    sockets: 0,
                    inboxes: grant.inboxes.clone(),
                    generation: 0,
                });
            entry.sockets += 1;
            entry.generation += 1;
            entry.inboxes = grant.inboxes.clone();
            if entry.sockets == 1 {
                announce.push(presence(grant.account_id, user_id, entry));
            }
        }
        drop(reg);
        for p in announce {
            self.inner.bus.publish(Signal::Presence(p));
        }
        let accounts = grants.iter().map(|g| g.account_id).collect();
        self.subscription(id, rx, lagged, Member::Agent { user_id, accounts })
    }

    /// Registers a widget visitor's socket.
    pub fn connect_visitor(&self, account_id: i64, viewer: Viewer, inbox_id: i64) -> Subscription {
        let contact_id = viewer.contact_id;
        let (outlet, rx, lagged) = self.outlet();
        let mut reg = self.registry();
        reg.next_id += 1;
        let id = reg.next_id;
        reg.visitors
            .entry((account_id, contact_id))
            .or_default()
            .insert(
                id,
                VisitorConn {
                    inbox_id,
                    viewer,
                    outlet,
                },
            );
        drop(reg);
        self.subscription(
            id,
            rx,
            lagged,
            Member::Visitor {
                account_id,
                contact_id,
            },
        )
    }

    /// An agent chose a status; it holds in every account of the connection.
    pub fn set_status(&self, sub: &Subscription, status: Status) {
        let Member::Agent { user_id, accounts } = &sub.member else {
            return;
        };
        let mut reg = self.registry();
        let mut announce = Vec::new();
        for account_id in accounts {
            if let Some(entry) = reg.presence.get_mut(&(*account_id, *user_id))
                && entry.chosen != status
            {
                entry.chosen = status;
                entry.since = now_ms();
                announce.push(presence(*account_id, *user_id, entry));
            }
        }
        drop(reg);
        for p in announce {
            self.inner.bus.publish(Signal::Presence(p));
        }
    }

    /// A status chosen outside the socket — the agent's profile, or a supervisor — for an
    /// agent connected here; one who is not keeps the stored availability for their next
    /// connection. Returns whether anything changed.
    pub fn set_user_status(&self, account_id: i64, user_id: i64, status: Status) -> bool {
        let mut reg = self.registry();
        let Some(entry) = reg.presence.get_mut(&(account_id, user_id)) else {
            return false;
        };
        if entry.chosen == status {
            return false;
        }
        entry.chosen = status;
        entry.since = now_ms();
        let p = presence(account_id, user_id, entry);
        drop(reg);
        self.inner.bus.publish(Signal::Presence(p));
        true
    }

    /// The agent no longer works in the account (deactivated or removed): their sockets stop
    /// hearing it at once and teammates see them go offline. A socket open in no other account
    /// of theirs then closes, its queue having no sender left.
    pub fn revoke_agent(&self, account_id: i64, user_id: i64) {
        let mut reg = self.registry();
        if let Some(conns) = reg.agents.get_mut(&account_id) {
            conns.retain(|_, c| c.user_id != user_id);
            if conns.is_empty() {
                reg.agents.remove(&account_id);
            }
        }
        let gone = reg.presence.remove(&(account_id, user_id));
        drop(reg);
        if let Some(mut entry) = gone {
            entry.chosen = Status::Offline;
            entry.since = now_ms();
            self.inner
                .bus
                .publish(Signal::Presence(presence(account_id, user_id, &entry)));
        }
    }

    fn leave(&self, id: u64, member: &Member) {
        let mut reg = self.registry();
        match member {
            Member::Visitor {
                account_id,
                contact_id,
            } => {
                let key = (*account_id, *contact_id);
                if let Some(conns) = reg.visitors.get_mut(&key) {
                    conns.remove(&id);
                    if conns.is_empty() {
                        reg.visitors.remove(&key);
                    }
                }
            }
            Member::Agent { user_id, accounts } => {
                for account_id in accounts {
                    if let Some(conns) = reg.agents.get_mut(account_id) {
                        conns.remove(&id);
                        if conns.is_empty() {
                            reg.agents.remove(account_id);
                        }
                    }
                    let key = (*account_id, *user_id);
                    if let Some(entry) = reg.presence.get_mut(&key) {
                        entry.sockets = entry.sockets.saturating_sub(1);
                        if entry.sockets == 0 {
                            self.go_offline_later(key, entry.generation);
                        }
                    }
                }
            }
        }
    }

    fn go_offline_later(&self, key: (i64, i64), generation: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let hub = self.clone();
        let after = self.inner.config.offline_after;
        runtime.spawn(async move {
            tokio::time::sleep(after).await;
            let mut reg = hub.registry();
            let gone = reg
                .presence
                .get(&key)
                .is_some_and(|e| e.sockets == 0 && e.generation == generation);
            if gone && let Some(mut entry) = reg.presence.remove(&key) {
                entry.chosen = Status::Offline;
                let p = presence(key.0, key.1, &entry);
                drop(reg);
                hub.inner.bus.publish(Signal::Presence(p));
            }
        });
    }

    /// Is an agent who works this inbox online now (for the widget's offline mode)?
    pub fn agents_online(&self, account_id: i64, inbox_id: i64) -> bool {
        self.registry().presence.iter().any(|((account, _), e)| {
            *account == account_id && e.chosen == Status::Online && e.inboxes.includes(inbox_id)
        })
    }

    /// Agents present in an account: (user id, name, status).
    pub fn present_agents(&self, account_id: i64) -> Vec<(i64, String, Status)> {
        self.presence_of(account_id)
            .into_iter()
            .map(|a| (a.user_id, a.name, a.status))
            .collect()
    }

    /// Agents present in an account with when their status began, by user id.
    pub fn presence_of(&self, account_id: i64) -> Vec<PresentAgent> {
        let mut out: Vec<_> = self
            .registry()
            .presence
            .iter()
            .filter(|((account, _), _)| *account == account_id)
            .map(|((_, user), e)| PresentAgent {
                user_id: *user,
                name: e.name.clone(),
                status: e.chosen,
                since: e.since,
            })
            .collect();
        out.sort_by_key(|a| a.user_id);
        out
    }

    /// Is this contact's widget open somewhere right now?
    pub fn visitor_online(&self, account_id: i64, contact_id: i64) -> bool {
        self.registry()
            .visitors
            .contains_key(&(account_id, contact_id))
    }

    /// The agents of the account with a tab open now (not only within the offline grace).
    pub fn agents_connected(&self, account_id: i64) -> std::collections::HashSet<i64> {
        self.registry()
            .agents
            .get(&account_id)
            .map(|conns| conns.values().map(|c| c.user_id).collect())
            .unwrap_or_default()
    }

    /// Open connections: (agent tabs, visitor sockets).
    pub fn connections(&self) -> (usize, usize) {
        let reg = self.registry();
        let mut agent_ids: Vec<u64> = reg
            .agents
            .values()
            .flat_map(|m| m.keys().copied())
            .collect();
        agent_ids.sort_unstable();
        agent_ids.dedup();
        let visitors = reg.visitors.values().map(HashMap::len).sum();
        (agent_ids.len(), visitors)
    }

    async fn dispatch_loop(self, mut rx: broadcast::Receiver<Signal>) {
        let mut closing = self.inner.closing.subscribe();
        loop {
            let signal = tokio::select! {
                s = rx.recv() => s,
                _ = closing.wait_for(|c| *c) => return,
            };
            match signal {
                Ok(signal) => self.dispatch(&signal),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "realtime hub fell behind the bus; clients resync");
                    self.everyone_resync();
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn everyone_resync(&self) {
        let reg = self.registry();
        let agents = reg
            .agents
            .values()
            .flat_map(HashMap::values)
            .map(|c| &c.outlet);
        let visitors = reg
            .visitors
            .values()
            .flat_map(HashMap::values)
            .map(|c| &c.outlet);
        for outlet in agents.chain(visitors) {
            outlet.lagged.store(true, Ordering::Release);
        }
    }

    fn dispatch(&self, signal: &Signal) {
        match signal {
            Signal::Event(e) => {
                let reg = self.registry();
                if let Some(conns) = reg.agents.get(&e.account_id)
                    && let Some(frame) = frames::agent_event(e)
                {
                    for c in conns.values() {
                        if frames::agent_receives(e, c.user_id, &c.inboxes) {
                            c.outlet.send(&frame);
                        }
                    }
                }
                if let Some(contact) = e.contact_id
                    && let Some(conns) = reg.visitors.get(&(e.account_id, contact))
                    && let Some(frame) = frames::visitor_event(e)
                {
                    let owner = Owner::from_payload(&e.payload);
                    for c in conns.values() {
                        if owner.is_some_and(|o| visitor_sees(c.viewer, o)) {
                            c.outlet.send(&frame);
                        }
                    }
                }
            }
            Signal::RoutingChanged { .. } => {}
            Signal::Offer(o) => {
                let frame = frames::offer(o);
                let reg = self.registry();
                if let Some(conns) = reg.agents.get(&o.account_id) {
                    for c in conns.values().filter(|c| c.user_id == o.user_id) {
                        c.outlet.send(&frame);
                    }
                }
            }
            Signal::Call(n) => {
                let frame = Frame::control(&n.body);
                let reg = self.registry();
                match n.to {
                    crate::CallParty::Agent(user_id) => {
                        if let Some(conns) = reg.agents.get(&n.account_id) {
                            for c in conns.values().filter(|c| c.user_id == user_id) {
                                c.outlet.send(&frame);
                            }
                        }
                    }
                    crate::CallParty::Visitor(owner) => {
                        if let Some(conns) = reg.visitors.get(&(n.account_id, owner.contact_id)) {
                            for c in conns.values().filter(|c| visitor_sees(c.viewer, owner)) {
                                c.outlet.send(&frame);
                            }
                        }
                    }
                }
            }
            Signal::Typing(t) => {
                let frame = frames::typing(t);
                let typist = (t.who.kind == WhoKind::User).then_some(t.who.id);
                let reg = self.registry();
                if let Some(conns) = reg.agents.get(&t.account_id) {
                    for c in conns.values() {
                        if c.inboxes.includes(t.inbox_id) && typist != Some(c.user_id) {
                            c.outlet.send(&frame);
                        }
                    }
                }
                if typist.is_some()
                    && !t.private
                    && let Some(conns) = reg.visitors.get(&(t.account_id, t.contact_id))
                {
                    let owner = Owner {
                        contact_id: t.contact_id,
                        identity_id: t.identity_id,
                    };
                    for c in conns.values() {
                        if visitor_sees(c.viewer, owner) {
                            c.outlet.send(&frame);
                        }
                    }
                }
            }
            Signal::Presence(p) => {
                let frame = frames::presence(p);
                let reg = self.registry();
                if let Some(conns) = reg.agents.get(&p.account_id) {
                    for c in conns.values() {
                        c.outlet.send(&frame);
                    }
                }
                for ((account, _), conns) in &reg.visitors {
                    if *account != p.account_id {
                        continue;
                    }
                    for c in conns.values() {
                        if p.inboxes.includes(c.inbox_id) {
                            c.outlet.send(&frame);
                        }
                    }
                }
            }
        }
    }
}

fn presence(account_id: i64, user_id: i64, e: &AgentPresence) -> Presence {
    Presence {
        account_id,
        user_id,
        name: e.name.clone(),
        status: e.chosen,
        inboxes: e.inboxes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};
    use throughline_core::event::{EventKind, StoredEvent};

    use super::*;
    use crate::{Typing, Who};

    fn message(id: i64, account: i64, contact: i64, inbox: i64, private: bool) -> Signal {
        Signal::Event(Arc::new(StoredEvent {
            id,
            kind: EventKind::MessageCreated,
            account_id: account,
            conversation_id: Some(100 + id),
            contact_id: Some(contact),
            inbox_id: Some(inbox),
            payload: json!({
                "audience": {"contact_id": contact, "identity_id": contact * 10},
                "conversation": {"id": 1, "inbox_id": inbox},
                "view": {"id": id, "content": "hi", "message_type": 1, "private": private,
                         "conversation_id": 1}
            }),
            created_at: 0,
            automation_chain: Vec::new(),
        }))
    }

    /// An unproven visitor of `contact` through the identity `contact * 10`.
    fn viewer(contact: i64) -> Viewer {
        Viewer {
            contact_id: contact,
            identity_id: contact * 10,
            proven: false,
        }
    }

    async fn next(sub: &mut Subscription) -> Value {
        match tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
            Ok(Received::Frame(f)) => serde_json::from_str(&f.json).unwrap_or_default(),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    fn hub() -> Hub {
        Hub::start(
            Bus::new(1024),
            HubConfig {
                queue: 8,
                offline_after: Duration::from_millis(50),
            },
        )
    }

    #[tokio::test]
    async fn each_connection_gets_only_what_it_may_see() {
        let hub = hub();
        let all = AgentGrant {
            account_id: 1,
            inboxes: InboxVisibility::All,
            status: Status::Online,
        };
        let only_two = AgentGrant {
            account_id: 1,
            inboxes: InboxVisibility::Only(Arc::from([2])),
            status: Status::Online,
        };
        let mut admin = hub.connect_agent(10, "Admin", vec![all]);
        let mut agent = hub.connect_agent(11, "Agent", vec![only_two]);
        let mut other_account = hub.connect_agent(
            12,
            "Else",
            vec![AgentGrant {
                account_id: 2,
                inboxes: InboxVisibility::All,
                status: Status::Online,
            }],
        );
        let mut visitor = hub.connect_visitor(1, viewer(7), 3);
        let mut someone_else = hub.connect_visitor(1, viewer(8), 3);
        // Presence of the three agents arrives first at the agents of each account.
        for sub in [&mut admin, &mut agent] {
            assert_eq!(next(sub).await["type"], "presence");
            assert_eq!(next(sub).await["type"], "presence");
        }
        assert_eq!(next(&mut other_account).await["type"], "presence");
        // Visitors of inbox 3 learn that the admin (who sees every inbox) is online.
        assert_eq!(next(&mut visitor).await["who"]["id"], 10);
        assert_eq!(next(&mut someone_else).await["who"]["id"], 10);

        hub.bus().publish(message(1, 1, 7, 3, false));
        hub.bus().publish(message(2, 1, 7, 3, true));
        hub.bus().publish(message(3, 1, 9, 2, false));

        assert_eq!(next(&mut admin).await["id"], 1);
        assert_eq!(next(&mut admin).await["id"], 2);
        assert_eq!(next(&mut admin).await["id"], 3);
        // The agent of inbox 2 sees only inbox 2's message.
        assert_eq!(next(&mut agent).await["id"], 3);
        // The visitor sees their own public message; never the note, never another contact's.
        assert_eq!(next(&mut visitor).await["id"], 1);
        // The dispatcher keeps order, so a marker arriving next proves nothing else was queued.
        hub.bus().publish(message(4, 1, 8, 3, false));
        assert_eq!(next(&mut someone_else).await["id"], 4);
        hub.bus().publish(message(5, 1, 7, 3, false));
        assert_eq!(next(&mut visitor).await["id"], 5);
        hub.bus().publish(message(6, 2, 1, 1, false));
        assert_eq!(next(&mut other_account).await["id"], 6);
    }

    #[tokio::test]
    async fn a_revoked_agent_hears_nothing_more_of_that_account_and_teammates_see_them_leave() {
        let hub = hub();
        let grant = |account_id| AgentGrant {
            account_id,
            inboxes: InboxVisibility::All,
            status: Status::Online,
        };
        let mut teammate = hub.connect_agent(10, "Ana", vec![grant(1)]);
        let mut leaving = hub.connect_agent(11, "Bruno", vec![grant(1)]);
        let mut elsewhere_too = hub.connect_agent(12, "Carla", vec![grant(1), grant(2)]);
        for _ in 0..3 {
            assert_eq!(next(&mut teammate).await["type"], "presence");
        }
        while matches!(
            tokio::time::timeout(Duration::from_millis(50), leaving.recv()).await,
            Ok(Received::Frame(_))
        ) {}
        while matches!(
            tokio::time::timeout(Duration::from_millis(50), elsewhere_too.recv()).await,
            Ok(Received::Frame(_))
        ) {}

        hub.revoke_agent(1, 11);
        hub.revoke_agent(1, 12);
        let gone = next(&mut teammate).await;
        assert_eq!(
            (gone["who"]["id"].clone(), gone["status"].clone()),
            (json!(11), json!("offline")),
            "{gone}"
        );
        assert_eq!(next(&mut teammate).await["who"]["id"], 12);
        // Bruno worked only here: his socket closes. Carla still hears her other account.
        assert_eq!(leaving.recv().await, Received::Closing);
        hub.bus().publish(message(1, 1, 7, 3, false));
        hub.bus().publish(message(2, 2, 7, 3, false));
        assert_eq!(next(&mut teammate).await["id"], 1);
        assert_eq!(next(&mut elsewhere_too).await["id"], 2);
        assert_eq!(
            hub.present_agents(1)
                .iter()
                .map(|a| a.0)
                .collect::<Vec<_>>(),
            vec![10]
        );
    }

    #[tokio::test]
    async fn typing_reaches_the_other_side_but_private_typing_stays_with_agents() {
        let hub = hub();
        let mut admin = hub.connect_agent(
            10,
            "Ana",
            vec![AgentGrant {
                account_id: 1,
                inboxes: InboxVisibility::All,
                status: Status::Online,
            }],
        );
        let mut visitor = hub.connect_visitor(1, viewer(7), 3);
        assert_eq!(next(&mut admin).await["type"], "presence");
        assert_eq!(next(&mut visitor).await["type"], "presence");
        let typing = |who: Who, private: bool| {
            Signal::Typing(Typing {
                account_id: 1,
                conversation_id: 4,
                inbox_id: 3,
                contact_id: 7,
                identity_id: Some(70),
                who,
                on: true,
                private,
            })
        };
        let ana = Who {
            kind: WhoKind::User,
            id: 10,
            name: "Ana".into(),
        };
        let customer = Who {
            kind: WhoKind::Contact,
            id: 7,
            name: "Rui".into(),
        };
        hub.bus().publish(typing(ana.clone(), true));
        hub.bus().publish(typing(customer, false));
        hub.bus().publish(typing(ana, false));
        // The agent does not hear their own typing, hears the customer's.
        assert_eq!(next(&mut admin).await["who"]["type"], "contact");
        // The visitor hears only the public typing, never their own.
        let f = next(&mut visitor).await;
        assert_eq!(
            (f["who"]["id"].clone(), f["private"].clone()),
            (json!(10), json!(false))
        );
    }

    #[tokio::test]
    async fn presence_follows_sockets_with_a_grace_period_and_chosen_status() {
        let hub = hub();
        let grant = || {
            vec![AgentGrant {
                account_id: 1,
                inboxes: InboxVisibility::Only(Arc::from([3])),
                status: Status::Online,
            }]
        };
        assert!(!hub.agents_online(1, 3));
        let tab = hub.connect_agent(10, "Ana", grant());
        assert!(hub.agents_online(1, 3));
        assert!(!hub.agents_online(1, 4), "not a member of inbox 4");
        hub.set_status(&tab, Status::Busy);
        assert!(!hub.agents_online(1, 3), "busy is not available");
        hub.set_status(&tab, Status::Online);
        drop(tab);
        // A reload within the grace period keeps the agent online.
        let tab = hub.connect_agent(10, "Ana", grant());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(hub.agents_online(1, 3));
        drop(tab);
        for _ in 0..100 {
            if !hub.agents_online(1, 3) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!hub.agents_online(1, 3));
        assert_eq!(hub.present_agents(1), vec![]);
        let visitor = hub.connect_visitor(1, viewer(7), 3);
        assert!(hub.visitor_online(1, 7));
        drop(visitor);
        assert!(!hub.visitor_online(1, 7));
        assert_eq!(hub.connections(), (0, 0));
    }

    #[tokio::test]
    async fn a_connection_that_falls_behind_is_told_to_resync_and_others_are_not_held_up() {
        let hub = hub();
        let mut slow = hub.connect_visitor(1, viewer(7), 3);
        let mut fast = hub.connect_visitor(1, viewer(7), 3);
        for id in 1..=20 {
            hub.bus().publish(message(id, 1, 7, 3, false));
            assert_eq!(next(&mut fast).await["id"], id);
        }
        assert_eq!(slow.recv().await, Received::Resync);
        hub.bus().publish(message(21, 1, 7, 3, false));
        assert_eq!(next(&mut slow).await["id"], 21);
        hub.close();
        assert_eq!(slow.recv().await, Received::Closing);
    }
}
