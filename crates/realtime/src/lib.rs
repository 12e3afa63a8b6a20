//! The in-process realtime bus. The realtime outbox consumer publishes every committed event
//! here; WebSocket sessions (agent tabs, widget visitors) subscribe and filter what they may
//! see. Ephemeral signals (typing, presence) never touch the database and go straight here.
//!
//! Fan-out never waits for a slow subscriber: the channel is bounded, and a subscriber that
//! falls behind gets `Lagged` and must resynchronise from the outbox by event id.

use std::sync::Arc;

use throughline_store::outbox::Cursor;
use tokio::sync::broadcast;

pub use throughline_core::event::StoredEvent;

#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// A committed domain event, in commit order.
    Event(Arc<StoredEvent>),
    /// Someone started or stopped typing in a conversation.
    Typing {
        account_id: i64,
        conversation_id: i64,
        inbox_id: i64,
        /// `"user:12"` or `"contact:7"`.
        who: String,
        on: bool,
        /// Private notes are typed by agents for agents only.
        private: bool,
    },
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
        // The fast reader keeps up in small steps… here it just reads what is left in order.
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
