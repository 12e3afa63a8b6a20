//! Channel kinds — the unit capacity and blocking are counted in — and the per-kind tables.

use std::ops::{Index, IndexMut};

use serde::{Deserialize, Serialize};

use crate::model::ChannelType;

/// What kind of work a conversation is for an agent, whatever provider carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A phone call: the agent's whole attention.
    Call,
    /// The website widget: a live chat, the customer is watching.
    Chat,
    /// WhatsApp, SMS, Telegram, Messenger, Instagram: asynchronous but expected soon.
    Messaging,
    Email,
    /// The API channel (another system's conversations).
    Other,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] = [
        Self::Call,
        Self::Chat,
        Self::Messaging,
        Self::Email,
        Self::Other,
    ];

    /// The kind of work an inbox of this channel brings.
    pub fn of(channel: ChannelType) -> Self {
        match channel {
            ChannelType::Voice => Self::Call,
            ChannelType::WebWidget => Self::Chat,
            ChannelType::Sms
            | ChannelType::Whatsapp
            | ChannelType::Telegram
            | ChannelType::FacebookPage
            | ChannelType::Instagram => Self::Messaging,
            ChannelType::Email => Self::Email,
            ChannelType::Api => Self::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Chat => "chat",
            Self::Messaging => "messaging",
            Self::Email => "email",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Position in [`ChannelKind::ALL`], for tables indexed by kind.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// This kind as one bit of a mask of kinds.
    pub(crate) fn bit(self) -> u8 {
        1 << self.index()
    }
}

impl From<ChannelType> for ChannelKind {
    fn from(channel: ChannelType) -> Self {
        Self::of(channel)
    }
}

impl std::fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per channel kind (capacities, loads, overrides), as an object in JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct PerKind<T> {
    pub call: T,
    pub chat: T,
    pub messaging: T,
    pub email: T,
    pub other: T,
}

impl<T: Copy> PerKind<T> {
    /// The same value for every kind.
    pub const fn splat(v: T) -> Self {
        Self {
            call: v,
            chat: v,
            messaging: v,
            email: v,
            other: v,
        }
    }

    pub fn map<U>(self, f: impl Fn(T) -> U) -> PerKind<U> {
        PerKind {
            call: f(self.call),
            chat: f(self.chat),
            messaging: f(self.messaging),
            email: f(self.email),
            other: f(self.other),
        }
    }

    /// The values in the order of [`ChannelKind::ALL`].
    pub fn to_array(self) -> [T; 5] {
        [self.call, self.chat, self.messaging, self.email, self.other]
    }

    pub fn from_array(a: [T; 5]) -> Self {
        let [call, chat, messaging, email, other] = a;
        Self {
            call,
            chat,
            messaging,
            email,
            other,
        }
    }
}

impl<T> Index<ChannelKind> for PerKind<T> {
    type Output = T;
    fn index(&self, kind: ChannelKind) -> &T {
        match kind {
            ChannelKind::Call => &self.call,
            ChannelKind::Chat => &self.chat,
            ChannelKind::Messaging => &self.messaging,
            ChannelKind::Email => &self.email,
            ChannelKind::Other => &self.other,
        }
    }
}

impl<T> IndexMut<ChannelKind> for PerKind<T> {
    fn index_mut(&mut self, kind: ChannelKind) -> &mut T {
        match kind {
            ChannelKind::Call => &mut self.call,
            ChannelKind::Chat => &mut self.chat,
            ChannelKind::Messaging => &mut self.messaging,
            ChannelKind::Email => &mut self.email,
            ChannelKind::Other => &mut self.other,
        }
    }
}

/// How many open conversations of each kind an agent may hold at once.
pub type Capacity = PerKind<u16>;

/// The account default when nothing is configured: 1 call, 4 chats, 5 messaging
/// conversations, 8 emails, 5 API conversations.
pub const DEFAULT_CAPACITY: Capacity = PerKind {
    call: 1,
    chat: 4,
    messaging: 5,
    email: 8,
    other: 5,
};

/// Which open work keeps an agent from taking new work of another kind: `blocks[active]`
/// lists the kinds an agent with at least one open conversation of kind `active` is not
/// given. By default a call blocks new chats and messaging (email can wait in the
/// background). Capacity still applies on top: a second call is refused by the call
/// capacity of 1, not by this table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlockingRules {
    pub blocks: PerKind<Vec<ChannelKind>>,
}

impl BlockingRules {
    /// Nothing blocks anything: capacity alone decides.
    pub fn none() -> Self {
        Self {
            blocks: PerKind::default(),
        }
    }

    /// Whether an open conversation of kind `active` keeps new work of kind `new` away.
    pub fn blocks(&self, active: ChannelKind, new: ChannelKind) -> bool {
        self.blocks[active].contains(&new)
    }

    /// For each new kind, the mask of active kinds that block it (the router's form).
    pub(crate) fn blocked_by(&self) -> [u8; 5] {
        let mut out = [0u8; 5];
        for active in ChannelKind::ALL {
            for new in &self.blocks[active] {
                out[new.index()] |= active.bit();
            }
        }
        out
    }
}

impl Default for BlockingRules {
    fn default() -> Self {
        Self {
            blocks: PerKind {
                call: vec![ChannelKind::Chat, ChannelKind::Messaging],
                ..PerKind::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_has_a_kind() {
        let kinds: Vec<_> = ChannelType::ALL.into_iter().map(ChannelKind::of).collect();
        assert_eq!(
            kinds,
            [
                ChannelKind::Other,     // Api
                ChannelKind::Chat,      // WebWidget
                ChannelKind::Email,     // Email
                ChannelKind::Messaging, // Sms
                ChannelKind::Messaging, // Whatsapp
                ChannelKind::Messaging, // Telegram
                ChannelKind::Messaging, // FacebookPage
                ChannelKind::Messaging, // Instagram
                ChannelKind::Call,      // Voice
            ]
        );
        for k in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(k.as_str()), Some(k));
            assert_eq!(ChannelKind::ALL[k.index()], k);
        }
    }

    #[test]
    fn a_call_blocks_chats_and_messaging_by_default() {
        let rules = BlockingRules::default();
        assert!(rules.blocks(ChannelKind::Call, ChannelKind::Chat));
        assert!(rules.blocks(ChannelKind::Call, ChannelKind::Messaging));
        assert!(!rules.blocks(ChannelKind::Call, ChannelKind::Email));
        assert!(!rules.blocks(ChannelKind::Chat, ChannelKind::Call));
        let masks = rules.blocked_by();
        assert_eq!(masks[ChannelKind::Chat.index()], ChannelKind::Call.bit());
        assert_eq!(masks[ChannelKind::Email.index()], 0);
        assert_eq!(BlockingRules::none().blocked_by(), [0; 5]);
    }

    #[test]
    fn tables_read_as_json_objects() {
        let cap: Capacity = serde_json::from_str(r#"{"call":1,"chat":3}"#).unwrap();
        assert_eq!(cap.chat, 3);
        assert_eq!(cap.email, 0);
        let rules: BlockingRules =
            serde_json::from_str(r#"{"call":["chat"],"chat":["call"]}"#).unwrap();
        assert!(rules.blocks(ChannelKind::Chat, ChannelKind::Call));
        assert!(!rules.blocks(ChannelKind::Call, ChannelKind::Messaging));
        assert_eq!(
            serde_json::to_value(DEFAULT_CAPACITY).unwrap(),
            serde_json::json!({"call":1,"chat":4,"messaging":5,"email":8,"other":5})
        );
    }
}
