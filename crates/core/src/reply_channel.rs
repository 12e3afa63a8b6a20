//! Reply on any channel: which inboxes can carry an agent's reply to a contact, which one is
//! the default, and why the others cannot.
//!
//! The default is the inbox of the customer's latest message. Any other inbox is offered when
//! the contact has an identity there, or when the inbox's kind can reach an address the contact
//! has (an email inbox and the contact's email; an SMS or WhatsApp inbox and their phone). Channel
//! rules are checked here, before anything is sent, so the agent sees the reason at once.

use serde::Serialize;

use crate::Millis;
use crate::model::ChannelType;

/// WhatsApp lets a business send free-form messages only within 24 hours of the customer's
/// last message; after that only approved templates.
pub const WHATSAPP_WINDOW_MS: Millis = 24 * 3_600_000;

/// Which of the contact's addresses a channel can write to without an identity there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaches {
    Email,
    Phone,
    /// Only a provider id the contact wrote from (chat visitor, API source id, Telegram id).
    IdentityOnly,
}

/// What a reply through one kind of channel must respect. Each channel adapter declares its
/// rules (`ChannelAdapter::reply_rules`); the table is here so the store's reply-channel query
/// and the adapters read the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyRules {
    pub reaches: Reaches,
    /// False for channels that carry calls, not written replies.
    pub written: bool,
    /// Free-form replies only this long after the customer's last message (else a template).
    pub window_ms: Option<Millis>,
    /// The reply is seen only while the customer has the channel open (website chat).
    pub needs_presence: bool,
}

impl ReplyRules {
    pub const fn for_channel(channel: ChannelType) -> Self {
        let base = Self {
            reaches: Reaches::IdentityOnly,
            written: true,
            window_ms: None,
            needs_presence: false,
        };
        match channel {
            ChannelType::Email => Self {
                reaches: Reaches::Email,
                ..base
            },
            ChannelType::Sms => Self {
                reaches: Reaches::Phone,
                ..base
            },
            ChannelType::Whatsapp => Self {
                reaches: Reaches::Phone,
                window_ms: Some(WHATSAPP_WINDOW_MS),
                ..base
            },
            ChannelType::Voice => Self {
                reaches: Reaches::Phone,
                written: false,
                ..base
            },
            ChannelType::WebWidget => Self {
                needs_presence: true,
                ..base
            },
            // Messenger and Instagram: 24 hours, then 7 days with the `HUMAN_AGENT` tag that a
            // person's reply carries.
            ChannelType::FacebookPage | ChannelType::Instagram => Self {
                window_ms: Some(crate::messaging::META_HUMAN_AGENT_WINDOW_MS),
                ..base
            },
            ChannelType::Api | ChannelType::Telegram => base,
        }
    }

    /// Whether a free-form reply may go now, given when the customer last wrote through the
    /// channel: always on channels without a window.
    pub fn window_open(&self, last_incoming_at: Option<Millis>, now: Millis) -> bool {
        self.window_ms
            .is_none_or(|window| last_incoming_at.is_some_and(|t| now.saturating_sub(t) <= window))
    }

    /// Why a reply outside the window is refused, in the channel's terms.
    pub fn window_closed(channel: ChannelType) -> Unavailable {
        if channel == ChannelType::Whatsapp {
            Unavailable::WhatsappWindowClosed
        } else {
            Unavailable::MessagingWindowClosed
        }
    }
}

/// What the contact offers a channel to reach them with.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    pub has_email: bool,
    pub has_phone: bool,
}

/// One inbox of the account as seen from the conversation.
#[derive(Clone, Debug)]
pub struct InboxReach {
    pub inbox_id: i64,
    pub channel_type: ChannelType,
    /// The contact has an identity (a provider id) in this inbox.
    pub has_identity: bool,
    /// When the contact last wrote through this inbox.
    pub last_incoming_at: Option<Millis>,
    /// For the web widget: whether the visitor has the chat open (`None` when unknown).
    pub visitor_online: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// The contact has no address or identity this channel can use.
    NoAddress,
    /// The chat visitor has left; the reply would not be seen (offer email).
    VisitorOffline,
    /// WhatsApp's 24-hour window has closed: only a template can be sent.
    WhatsappWindowClosed,
    /// The channel carries calls, not written replies.
    NotAMessagingChannel,
    /// Messenger's or Instagram's 7-day window for a person's reply has closed.
    MessagingWindowClosed,
}

impl Unavailable {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoAddress => "no_address",
            Self::VisitorOffline => "visitor_offline",
            Self::WhatsappWindowClosed => "whatsapp_window_closed",
            Self::NotAMessagingChannel => "not_a_messaging_channel",
            Self::MessagingWindowClosed => "messaging_window_closed",
        }
    }

    /// A sentence for the API's error message.
    pub fn explain(self) -> &'static str {
        match self {
            Self::NoAddress => "the contact has no address this inbox can reach",
            Self::VisitorOffline => "the chat visitor is offline; reply by email instead",
            Self::WhatsappWindowClosed => {
                "the WhatsApp 24-hour window has closed; send a template or use another channel"
            }
            Self::NotAMessagingChannel => "this inbox does not carry written replies",
            Self::MessagingWindowClosed => {
                "the customer last wrote more than 7 days ago; Meta allows no reply until they write again"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplyOption {
    pub inbox_id: i64,
    pub available: bool,
    pub reason: Option<Unavailable>,
    pub default: bool,
    /// When free-form replies through a windowed channel stop being allowed (the customer's
    /// last message + the window), for the composer's "time left".
    pub window_closes_at: Option<Millis>,
}

/// Whether one inbox can carry a reply now.
pub fn check(inbox: &InboxReach, reach: &Reach, now: Millis) -> Result<(), Unavailable> {
    let rules = ReplyRules::for_channel(inbox.channel_type);
    if !rules.written {
        return Err(Unavailable::NotAMessagingChannel);
    }
    let by_address = match rules.reaches {
        Reaches::Email => reach.has_email,
        Reaches::Phone => reach.has_phone,
        Reaches::IdentityOnly => false,
    };
    if !inbox.has_identity && !by_address {
        return Err(Unavailable::NoAddress);
    }
    if rules.needs_presence && inbox.visitor_online == Some(false) {
        return Err(Unavailable::VisitorOffline);
    }
    if !rules.window_open(inbox.last_incoming_at, now) {
        return Err(ReplyRules::window_closed(inbox.channel_type));
    }
    Ok(())
}

/// Every inbox with its availability; the default is the inbox of the latest incoming message
/// when it is available, else the first available one (inboxes in the order given).
pub fn options(
    inboxes: &[InboxReach],
    reach: &Reach,
    latest_incoming_inbox: Option<i64>,
    now: Millis,
) -> Vec<ReplyOption> {
    let mut out: Vec<ReplyOption> = inboxes
        .iter()
        .map(|i| {
            let verdict = check(i, reach, now);
            let window = ReplyRules::for_channel(i.channel_type).window_ms;
            ReplyOption {
                inbox_id: i.inbox_id,
                available: verdict.is_ok(),
                reason: verdict.err(),
                default: false,
                window_closes_at: window.zip(i.last_incoming_at).map(|(w, t)| t + w),
            }
        })
        .collect();
    let preferred = out
        .iter()
        .position(|o| o.available && Some(o.inbox_id) == latest_incoming_inbox)
        .or_else(|| out.iter().position(|o| o.available));
    if let Some(i) = preferred {
        out[i].default = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn inbox(id: i64, channel_type: ChannelType, has_identity: bool) -> InboxReach {
        InboxReach {
            inbox_id: id,
            channel_type,
            has_identity,
            last_incoming_at: None,
            visitor_online: None,
        }
    }

    #[test]
    fn email_is_offered_by_address_and_chat_only_by_identity() {
        let reach = Reach {
            has_email: true,
            has_phone: false,
        };
        assert_eq!(
            check(&inbox(1, ChannelType::Email, false), &reach, NOW),
            Ok(())
        );
        assert_eq!(
            check(&inbox(2, ChannelType::WebWidget, false), &reach, NOW),
            Err(Unavailable::NoAddress)
        );
        assert_eq!(
            check(&inbox(3, ChannelType::Sms, false), &reach, NOW),
            Err(Unavailable::NoAddress)
        );
        assert_eq!(
            check(&inbox(4, ChannelType::Api, true), &reach, NOW),
            Ok(())
        );
    }

    #[test]
    fn offline_visitors_and_closed_whatsapp_windows_are_explained() {
        let reach = Reach {
            has_email: true,
            has_phone: true,
        };
        let mut chat = inbox(1, ChannelType::WebWidget, true);
        chat.visitor_online = Some(false);
        assert_eq!(check(&chat, &reach, NOW), Err(Unavailable::VisitorOffline));
        let mut wa = inbox(2, ChannelType::Whatsapp, true);
        wa.last_incoming_at = Some(NOW - WHATSAPP_WINDOW_MS - 1);
        assert_eq!(
            check(&wa, &reach, NOW),
            Err(Unavailable::WhatsappWindowClosed)
        );
        wa.last_incoming_at = Some(NOW - 1000);
        assert_eq!(check(&wa, &reach, NOW), Ok(()));
    }

    #[test]
    fn the_default_follows_the_latest_message_when_it_can() {
        let reach = Reach {
            has_email: true,
            has_phone: false,
        };
        let mut chat = inbox(1, ChannelType::WebWidget, true);
        let list = |chat: &InboxReach| {
            options(
                &[chat.clone(), inbox(2, ChannelType::Email, false)],
                &reach,
                Some(1),
                NOW,
            )
        };
        let opts = list(&chat);
        assert!(opts[0].default && !opts[1].default);
        chat.visitor_online = Some(false);
        let opts = list(&chat);
        assert!(!opts[0].default && opts[1].default);
        assert_eq!(opts[0].reason, Some(Unavailable::VisitorOffline));
    }
}
