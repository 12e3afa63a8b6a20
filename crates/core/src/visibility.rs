//! What a customer may see of their conversations — the one rule behind the Client API, the
//! visitor's socket and the socket's replay of missed events.
//!
//! A visitor whose identity proves who they are (a verified identifier, a proven address) sees
//! every conversation of their contact, across channels. Anyone else sees only the
//! conversations their own identity started: a contact can hold several unproven identities
//! (a merge joins them), and none of those visitors may read what the others wrote.

use serde_json::{Value, json};

use crate::model::{Conversation, Identity};

/// The key under which an event's payload carries its conversation's [`Owner`]. Internal:
/// removed before a payload leaves the server (webhooks, agents' frames).
pub const AUDIENCE_KEY: &str = "audience";

/// The visitor asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub contact_id: i64,
    pub identity_id: i64,
    pub proven: bool,
}

impl Viewer {
    pub fn of(identity: &Identity) -> Self {
        Self {
            contact_id: identity.contact_id,
            identity_id: identity.id,
            proven: proven(identity),
        }
    }
}

/// Whose a conversation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub contact_id: i64,
    /// The identity that started it (none when an agent started it for the contact).
    pub identity_id: Option<i64>,
}

impl Owner {
    pub fn of(c: &Conversation) -> Self {
        Self {
            contact_id: c.contact_id,
            identity_id: c.identity_id,
        }
    }

    /// As written into event payloads under [`AUDIENCE_KEY`].
    pub fn to_json(self) -> Value {
        json!({ "contact_id": self.contact_id, "identity_id": self.identity_id })
    }

    /// Read back from an event payload; `None` when the event carries none (then no visitor
    /// is shown it).
    pub fn from_payload(payload: &Value) -> Option<Self> {
        let a = payload.get(AUDIENCE_KEY)?;
        Some(Self {
            contact_id: a.get("contact_id")?.as_i64()?,
            identity_id: a.get("identity_id").and_then(Value::as_i64),
        })
    }
}

/// An identity that proves who the person is follows the contact across channels.
pub fn proven(identity: &Identity) -> bool {
    identity.hmac_verified || identity.address_proven
}

/// The rule.
pub fn visitor_sees(viewer: Viewer, owner: Owner) -> bool {
    viewer.contact_id == owner.contact_id
        && (viewer.proven || owner.identity_id == Some(viewer.identity_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANA_WIDGET: Viewer = Viewer {
        contact_id: 7,
        identity_id: 70,
        proven: false,
    };

    #[test]
    fn an_unproven_visitor_sees_only_what_their_identity_started() {
        let own = Owner {
            contact_id: 7,
            identity_id: Some(70),
        };
        // The same contact's other unproven identity in the same inbox (joined by a merge).
        let sibling = Owner {
            contact_id: 7,
            identity_id: Some(71),
        };
        let agent_started = Owner {
            contact_id: 7,
            identity_id: None,
        };
        assert!(visitor_sees(ANA_WIDGET, own));
        assert!(!visitor_sees(ANA_WIDGET, sibling));
        assert!(!visitor_sees(ANA_WIDGET, agent_started));
    }

    #[test]
    fn a_proven_visitor_sees_the_contacts_conversations_and_nobody_elses() {
        let proven = Viewer {
            proven: true,
            ..ANA_WIDGET
        };
        for identity_id in [Some(70), Some(71), None] {
            assert!(visitor_sees(
                proven,
                Owner {
                    contact_id: 7,
                    identity_id
                }
            ));
        }
        assert!(!visitor_sees(
            proven,
            Owner {
                contact_id: 8,
                identity_id: Some(70)
            }
        ));
    }

    #[test]
    fn the_owner_survives_the_event_payload_and_a_payload_without_one_shows_nobody() {
        let owner = Owner {
            contact_id: 7,
            identity_id: Some(70),
        };
        let payload = json!({ AUDIENCE_KEY: owner.to_json(), "id": 1 });
        assert_eq!(Owner::from_payload(&payload), Some(owner));
        assert_eq!(Owner::from_payload(&json!({"id": 1})), None);
    }
}
