//! Message kinds and the delivery-status machine.

use serde::{Deserialize, Serialize};

/// Chatwoot's `message_type`: the API sends it as an integer in responses and accepts the
/// name in requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Incoming,
    Outgoing,
    Activity,
    Template,
}

impl MessageType {
    pub fn code(self) -> i64 {
        match self {
            Self::Incoming => 0,
            Self::Outgoing => 1,
            Self::Activity => 2,
            Self::Template => 3,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Self::Incoming,
            1 => Self::Outgoing,
            2 => Self::Activity,
            3 => Self::Template,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
            Self::Activity => "activity",
            Self::Template => "template",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "incoming" => Self::Incoming,
            "outgoing" => Self::Outgoing,
            "activity" => Self::Activity,
            "template" => Self::Template,
            _ => return None,
        })
    }
}

/// Chatwoot's `content_type` values that Throughline stores and renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    Text,
    InputText,
    InputTextarea,
    InputEmail,
    InputSelect,
    Cards,
    Form,
    Article,
    IncomingEmail,
    InputCsat,
    IntegrationsHook,
    Sticker,
}

impl ContentType {
    pub const ALL: [ContentType; 12] = [
        Self::Text,
        Self::InputText,
        Self::InputTextarea,
        Self::InputEmail,
        Self::InputSelect,
        Self::Cards,
        Self::Form,
        Self::Article,
        Self::IncomingEmail,
        Self::InputCsat,
        Self::IntegrationsHook,
        Self::Sticker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::InputText => "input_text",
            Self::InputTextarea => "input_textarea",
            Self::InputEmail => "input_email",
            Self::InputSelect => "input_select",
            Self::Cards => "cards",
            Self::Form => "form",
            Self::Article => "article",
            Self::IncomingEmail => "incoming_email",
            Self::InputCsat => "input_csat",
            Self::IntegrationsHook => "integrations",
            Self::Sticker => "sticker",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Where an outbound message is on its way to the customer.
///
/// Provider receipts arrive out of order (a "delivered" after a "read"), so a status only moves
/// forward; `failed` is reachable until the message is known delivered, and a retry brings a
/// failed message back to `queued`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    fn rank(self) -> Option<u8> {
        match self {
            Self::Queued => Some(0),
            Self::Sent => Some(1),
            Self::Delivered => Some(2),
            Self::Read => Some(3),
            Self::Failed => None,
        }
    }

    /// The status after a receipt saying `reported`, or `None` when the receipt is stale and
    /// must be ignored.
    pub fn advance(self, reported: DeliveryStatus) -> Option<DeliveryStatus> {
        match (self, reported) {
            (current, new) if current == new => None,
            // A retry of a failed message starts over.
            (Self::Failed, Self::Queued) => Some(Self::Queued),
            // A late success receipt for a message we had given up on is believed.
            (Self::Failed, new) => Some(new),
            (current, Self::Failed) => match current {
                Self::Queued | Self::Sent => Some(Self::Failed),
                _ => None,
            },
            (current, new) => match (current.rank(), new.rank()) {
                (Some(a), Some(b)) if b > a => Some(new),
                _ => None,
            },
        }
    }
}

/// Who wrote a message. Chatwoot serialises these as `Contact`, `User` and `AgentBot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SenderType {
    Contact,
    User,
    AgentBot,
}

impl SenderType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "Contact",
            Self::User => "User",
            Self::AgentBot => "AgentBot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Contact" => Self::Contact,
            "User" => Self::User,
            "AgentBot" => Self::AgentBot,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn message_type_codes_round_trip() {
        for t in [
            MessageType::Incoming,
            MessageType::Outgoing,
            MessageType::Activity,
            MessageType::Template,
        ] {
            assert_eq!(MessageType::from_code(t.code()), Some(t));
            assert_eq!(MessageType::parse(t.as_str()), Some(t));
        }
        assert_eq!(MessageType::from_code(7), None);
        assert_eq!(MessageType::parse("Incoming"), None);
    }

    #[test]
    fn content_types_round_trip() {
        for c in ContentType::ALL {
            assert_eq!(ContentType::parse(c.as_str()), Some(c));
        }
        assert_eq!(ContentType::parse("html"), None);
    }

    #[test]
    fn delivery_status_only_moves_forward() {
        let cases = [
            (Queued, Sent, Some(Sent)),
            (Sent, Delivered, Some(Delivered)),
            (Delivered, Read, Some(Read)),
            (Read, Delivered, None),
            (Delivered, Sent, None),
            (Sent, Sent, None),
            (Queued, Failed, Some(Failed)),
            (Sent, Failed, Some(Failed)),
            (Delivered, Failed, None),
            (Read, Failed, None),
            (Failed, Queued, Some(Queued)),
            (Failed, Delivered, Some(Delivered)),
            (Failed, Failed, None),
        ];
        for (from, reported, expected) in cases {
            assert_eq!(from.advance(reported), expected, "{from:?} + {reported:?}");
        }
    }

    #[test]
    fn delivery_status_names_round_trip() {
        for s in [Queued, Sent, Delivered, Read, Failed] {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
    }
}

/// Chatwoot's attachment kind (`file_type`) for a MIME type: image, audio, video or file.
pub fn attachment_kind(content_type: &str) -> &'static str {
    let major = content_type
        .split('/')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match major.as_str() {
        "image" => "image",
        "audio" => "audio",
        "video" => "video",
        _ => "file",
    }
}

#[cfg(test)]
mod attachment_kind_tests {
    use super::attachment_kind;

    #[test]
    fn kinds_follow_the_major_type_in_any_case() {
        assert_eq!(attachment_kind("image/png"), "image");
        assert_eq!(attachment_kind("Audio/Ogg"), "audio");
        assert_eq!(attachment_kind("video/mp4"), "video");
        assert_eq!(attachment_kind("application/pdf"), "file");
        assert_eq!(attachment_kind(""), "file");
        assert_eq!(attachment_kind("imagery"), "file");
    }
}
