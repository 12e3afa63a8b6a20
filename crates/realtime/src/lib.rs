//! Realtime: the in-process bus fed by the outbox, and the hub that routes what crosses it to
//! each connected agent tab and widget visitor.
//!
//! The realtime outbox consumer publishes every committed event on the [`Bus`]; ephemeral
//! signals (typing, presence) never touch the database and go straight to it. The [`Hub`]
//! subscribes once and hands each signal only to the connections allowed to see it, as frames
//! serialised once per audience. Fan-out never waits for a slow connection: its queue is
//! bounded, and a connection that falls behind is told to resynchronise from the outbox.

pub mod frames;
pub mod hub;

use std::sync::Arc;

use throughline_core::event::Cursor;
use throughline_core::scope::InboxVisibility;
use tokio::sync::broadcast;

pub use frames::{Frame, Status, Who};
pub use hub::{AgentGrant, Hub, HubConfig, PresentAgent, Received, Subscription};
pub use throughline_core::event::StoredEvent;

#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// A committed domain event, in commit order.
    Event(Arc<StoredEvent>),
    /// Someone started or stopped typing in a conversation.
    Typing(Typing),
    /// An agent's availability changed in an account.
    Presence(Presence),
    /// An account's routing settings or an agent's skills or capacity changed: what waits
    /// is decided again. Not sent to any client.
    RoutingChanged { account_id: i64 },
    /// A conversation offered to one agent, or the end of that offer: only that agent's tabs
    /// hear it.
    Offer(OfferNotice),
    /// A call from the widget: ringing, taken, signalling or over, for one party's tabs only.
    Call(CallNotice),
}

/// A frame about a call from the widget for one party.
#[derive(Clone, Debug, PartialEq)]
pub struct CallNotice {
    pub account_id: i64,
    pub to: CallParty,
    /// The frame as sent (its `type` and the call's id in it).
    pub body: Arc<serde_json::Value>,
}

/// One end of a call from the widget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallParty {
    /// Every tab of this agent.
    Agent(i64),
    /// The widgets that see the call's conversation (its contact, and identity when the
    /// visitor proved one).
    Visitor(throughline_core::visibility::Owner),
}

#[derive(Clone, Debug, PartialEq)]
pub struct OfferNotice {
    pub account_id: i64,
    pub user_id: i64,
    /// The conversation's display id, as clients name it.
    pub conversation_id: i64,
    pub inbox_id: i64,
    pub contact_name: Option<String>,
    pub channel_kind: &'static str,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    /// The offer is over (run out, answered in another tab): the app drops it.
    pub withdrawn: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Typing {
    pub account_id: i64,
    /// The conversation's display id, as clients name it.
    pub conversation_id: i64,
    pub inbox_id: i64,
    /// The conversation's contact and starting identity: the visitors who may see the
    /// conversation see an agent typing in it.
    pub contact_id: i64,
    pub identity_id: Option<i64>,
    pub who: Who,
    pub on: bool,
    /// Private notes are typed by agents for agents only.
    pub private: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Presence {
    pub account_id: i64,
    pub user_id: i64,
    pub name: String,
    pub status: Status,
    /// The inboxes whose visitors may know this agent is there.
    pub inboxes: InboxVisibility,
}

#[derive(Clone, Debug)]
pub struct Bus {
    tx: broadcast::Sender<Signal>,
}

impl Bus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self { tx }
    }

    /// Publishes to current subscribers; with none, the signal is simply dropped.
    pub fn publish(&self, signal: Signal) {
        let _ = self.tx.send(signal);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.tx.subscribe()
    }

    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

impl Default for Bus {
    fn default() -> Self {
        Self::new(4096)
    }
}

/// Where the realtime consumer is; exposed for health checks and tests.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    inner: Arc<std::sync::Mutex<Cursor>>,
}

impl Progress {
    pub fn set(&self, c: Cursor) {
        if let Ok(mut g) = self.inner.lock() {
            *g = c;
        }
    }

    pub fn get(&self) -> Cursor {
        self.inner.lock().map(|g| *g).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64) -> Signal {
        Signal::Event(Arc::new(StoredEvent {
            id,
            kind: throughline_core::event::EventKind::MessageCreated,
            account_id: 1,
            conversation_id: None,
            contact_id: None,
            inbox_id: None,
            payload: serde_json::json!({}),
            created_at: 0,
            automation_chain: Vec::new(),
        }))
    }

    #[tokio::test]
    async fn subscribers_get_signals_in_order_and_laggards_are_told() {
        let bus = Bus::new(16);
        let mut fast = bus.subscribe();
        let mut slow = bus.subscribe();
        for id in 1..=40 {
            bus.publish(event(id));
        }
        let mut last = 0;
        loop {
            match fast.try_recv() {
                Ok(Signal::Event(e)) => {
                    assert!(e.id > last);
                    last = e.id;
                }
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
        assert_eq!(last, 40);
        assert!(matches!(slow.try_recv(), Err(broadcast::error::TryRecvError::Lagged(n)) if n > 0));
    }
}
