//! Agents' notifications (Chatwoot's `Notification`): who hears of what happens in a
//! conversation, decided without I/O.
//!
//! Four kinds, as Chatwoot names them: `conversation_mention` (an agent or their team was
//! mentioned in a private note), `conversation_assignment` (a conversation was given to the
//! agent by someone else), `assigned_conversation_new_message` (a message in a conversation
//! the agent is assigned) and `participating_conversation_new_message` (in one they take part
//! in). Nobody is told of what they did themselves, and each agent hears of one message once,
//! by its strongest reason.
//!
//! Mentions use Chatwoot's markup, written by its editor and ours:
//! `[@Ana Souza](mention://user/12/Ana%20Souza)` and `[@Billing](mention://team/3/Billing)`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationType {
    ConversationCreation,
    ConversationAssignment,
    AssignedConversationNewMessage,
    ConversationMention,
    ParticipatingConversationNewMessage,
}

impl NotificationType {
    pub const ALL: [Self; 5] = [
        Self::ConversationCreation,
        Self::ConversationAssignment,
        Self::AssignedConversationNewMessage,
        Self::ConversationMention,
        Self::ParticipatingConversationNewMessage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConversationCreation => "conversation_creation",
            Self::ConversationAssignment => "conversation_assignment",
            Self::AssignedConversationNewMessage => "assigned_conversation_new_message",
            Self::ConversationMention => "conversation_mention",
            Self::ParticipatingConversationNewMessage => "participating_conversation_new_message",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The line API clients show (Chatwoot's `push_message_title`, in English as its server
    /// renders it; the app words each kind in the agent's language from the type).
    pub fn title(self, display_id: i64, inbox_name: &str, content: &str) -> String {
        let content = plain_excerpt(content, 10);
        match self {
            Self::ConversationCreation => {
                format!("A conversation (#{display_id}) has been created in {inbox_name}")
            }
            Self::ConversationAssignment => {
                format!("A conversation (#{display_id}) has been assigned to you")
            }
            Self::AssignedConversationNewMessage | Self::ParticipatingConversationNewMessage => {
                format!("New message in conversation #{display_id}: {content}")
            }
            Self::ConversationMention => format!("[#{display_id}] {content}"),
        }
    }
}

/// Chatwoot's notification settings: `email_<type>` and `push_<type>` flags an agent selects per
/// account. Email flags decide what the digest mails; push flags are kept for Chatwoot's clients
/// (browser notifications follow the app's own preference).
pub mod flags {
    use super::NotificationType;
    use crate::validate::FieldError;

    pub fn email(kind: NotificationType) -> String {
        format!("email_{}", kind.as_str())
    }

    pub fn all(prefix: &str) -> Vec<String> {
        NotificationType::ALL
            .iter()
            .map(|k| format!("{prefix}_{}", k.as_str()))
            .collect()
    }

    /// A new agent's email flags: assignments and mentions (Chatwoot starts with assignments
    /// only; a mention is someone asking for you by name).
    pub fn default_email() -> Vec<String> {
        vec![
            email(NotificationType::ConversationAssignment),
            email(NotificationType::ConversationMention),
        ]
    }

    pub fn default_push() -> Vec<String> {
        vec![
            "push_conversation_assignment".to_owned(),
            "push_conversation_mention".to_owned(),
        ]
    }

    /// The flags given, each known under `prefix` and once, in the canonical order.
    pub fn checked(field: &str, prefix: &str, given: &[String]) -> Result<Vec<String>, FieldError> {
        let known = all(prefix);
        if let Some(bad) = given.iter().find(|f| !known.contains(f)) {
            return Err(FieldError::new(
                field,
                "inclusion",
                format!("unknown flag `{bad}`: use {}", known.join(", ")),
            ));
        }
        Ok(known.into_iter().filter(|k| given.contains(k)).collect())
    }
}

/// Who a message's mentions name: user ids and team ids, each once, in order of first use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mentions {
    pub users: Vec<i64>,
    pub teams: Vec<i64>,
}

impl Mentions {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.teams.is_empty()
    }
}

const MENTION_SCHEME: &str = "mention://";

/// The most people and teams one message may mention; the rest is text (a note is not a
/// mailing list, and the lookup of who may see the conversation stays small).
pub const MAX_MENTIONS: usize = 50;

/// The mentions in a message's text. Anything that is not `mention://user/<id>/…` or
/// `mention://team/<id>/…` with a positive id is ordinary text.
pub fn mentions(content: &str) -> Mentions {
    let mut found = Mentions::default();
    let mut rest = content;
    while let Some(at) = rest.find(MENTION_SCHEME) {
        rest = &rest[at + MENTION_SCHEME.len()..];
        let (kind, after) = match rest.split_once('/') {
            Some(split) => split,
            None => break,
        };
        let digits: &str = &after[..after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len())];
        let Ok(id) = digits.parse::<i64>() else {
            continue;
        };
        if id <= 0 {
            continue;
        }
        let list = match kind {
            "user" => &mut found.users,
            "team" => &mut found.teams,
            _ => continue,
        };
        if !list.contains(&id) {
            list.push(id);
        }
        if found.users.len() + found.teams.len() >= MAX_MENTIONS {
            break;
        }
    }
    found
}

/// A message's text as a line: mention links become `@Name`, other Markdown links their text,
/// whitespace one space, and at most `words` words (then `...`).
pub fn plain_excerpt(content: &str, words: usize) -> String {
    let plain = unlink(content);
    let mut parts = plain.split_whitespace();
    let mut out: Vec<&str> = parts.by_ref().take(words).collect();
    if parts.next().is_some() {
        out.push("...");
    }
    out.join(" ")
}

/// `[text](target)` → `text`; anything else stays as written.
fn unlink(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            let target = &after[close + 2..];
            let end = target.find(')')?;
            let text = &after[..close];
            (!text.contains('[')).then_some((text, close + 2 + end + 1))
        });
        match link {
            Some((text, used)) => {
                out.push_str(text);
                rest = &after[used..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What is known of a new message when deciding who hears of it.
#[derive(Clone, Debug, Default)]
pub struct NewMessage<'a> {
    /// The agent who wrote it (`None`: the customer, a bot, the system).
    pub author: Option<i64>,
    /// Incoming or outgoing (private notes are outgoing): activity lines and templates are
    /// not news.
    pub notifiable: bool,
    pub private: bool,
    pub content: &'a str,
    pub assignee: Option<i64>,
    pub participants: &'a [i64],
    /// Agents named by the note's mentions, teams already expanded to their members.
    pub mentioned: &'a [i64],
}

/// Who is told of a new message, and why: mentions first, then the assignee, then the
/// participants; each agent once, never its author. Mentions count only in private notes
/// (Chatwoot's rule: a public reply's `@` reaches the customer, not a colleague).
pub fn for_message(m: &NewMessage<'_>) -> Vec<(i64, NotificationType)> {
    let mut told = BTreeSet::new();
    let mut out = Vec::new();
    if !m.notifiable {
        return out;
    }
    let mut tell = |user: i64, kind| {
        if Some(user) != m.author && told.insert(user) {
            out.push((user, kind));
        }
    };
    if m.private {
        for &user in m.mentioned {
            tell(user, NotificationType::ConversationMention);
        }
    }
    if let Some(assignee) = m.assignee {
        tell(assignee, NotificationType::AssignedConversationNewMessage);
    }
    for &user in m.participants {
        tell(user, NotificationType::ParticipatingConversationNewMessage);
    }
    out
}

/// Whether a change of assignee is news to the new assignee: not when they took it themselves,
/// nor when nobody now holds it.
pub fn for_assignment(assignee: Option<i64>, changed_by: Option<i64>) -> Option<i64> {
    assignee.filter(|a| Some(*a) != changed_by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_read_from_chatwoot_markup() {
        let text = "[@Ana Souza](mention://user/12/Ana%20Souza) and [@Billing](mention://team/3/Billing), \
                    again [@Ana](mention://user/12/Ana) and [@Jan](mention://user/7/Jan)";
        let m = mentions(text);
        assert_eq!(m.users, vec![12, 7]);
        assert_eq!(m.teams, vec![3]);
    }

    #[test]
    fn a_message_mentions_at_most_fifty() {
        let text: String = (1..=500)
            .map(|i| format!("[@U{i}](mention://user/{i}/U{i}) "))
            .collect();
        let m = mentions(&text);
        assert_eq!(m.users.len(), MAX_MENTIONS);
        assert_eq!(m.users.last(), Some(&50));
    }

    #[test]
    fn broken_or_foreign_markup_is_text() {
        for text in [
            "mention://user/",
            "mention://user/x/Ana",
            "mention://user/0/Nobody",
            "mention://user/-4/Nobody",
            "mention://contact/5/Customer",
            "mention://",
            "mention://user",
            "@Ana without markup",
            "mention://user/99999999999999999999999/overflow",
        ] {
            assert!(mentions(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn excerpts_show_names_not_links() {
        assert_eq!(
            plain_excerpt(
                "[@Ana Souza](mention://user/12/Ana%20Souza) please   check\nthe [order](https://x.test/1)",
                10
            ),
            "@Ana Souza please check the order"
        );
        assert_eq!(plain_excerpt("one two three", 2), "one two ...");
        assert_eq!(plain_excerpt("[unclosed link", 5), "[unclosed link");
        assert_eq!(plain_excerpt("a ] b ( c [d](", 5), "a ] b ( c ...");
    }

    fn message<'a>(participants: &'a [i64], mentioned: &'a [i64]) -> NewMessage<'a> {
        NewMessage {
            author: Some(1),
            notifiable: true,
            private: true,
            content: "",
            assignee: Some(2),
            participants,
            mentioned,
        }
    }

    #[test]
    fn each_agent_hears_once_by_the_strongest_reason_and_never_of_their_own_message() {
        use NotificationType::*;
        let told = for_message(&message(&[1, 2, 3, 4], &[2, 3, 1]));
        assert_eq!(
            told,
            vec![
                (2, ConversationMention),
                (3, ConversationMention),
                (4, ParticipatingConversationNewMessage)
            ]
        );
    }

    #[test]
    fn public_replies_mention_nobody_and_activity_tells_nobody() {
        use NotificationType::*;
        let public = NewMessage {
            private: false,
            ..message(&[3], &[4])
        };
        assert_eq!(
            for_message(&public),
            vec![
                (2, AssignedConversationNewMessage),
                (3, ParticipatingConversationNewMessage)
            ]
        );
        let activity = NewMessage {
            notifiable: false,
            ..message(&[3], &[4])
        };
        assert!(for_message(&activity).is_empty());
    }

    #[test]
    fn a_customer_message_tells_the_assignee_and_participants() {
        let incoming = NewMessage {
            author: None,
            private: false,
            ..message(&[2, 5], &[])
        };
        let users: Vec<i64> = for_message(&incoming).iter().map(|(u, _)| *u).collect();
        assert_eq!(users, vec![2, 5]);
    }

    #[test]
    fn self_assignment_is_no_news() {
        assert_eq!(for_assignment(Some(3), Some(3)), None);
        assert_eq!(for_assignment(Some(3), Some(1)), Some(3));
        assert_eq!(for_assignment(Some(3), None), Some(3));
        assert_eq!(for_assignment(None, Some(1)), None);
    }

    proptest::proptest! {
        /// Whatever the people: the author is never told, nobody twice, and everyone told is
        /// the assignee, a participant or (in a note) mentioned.
        #[test]
        fn nobody_twice_never_the_author(
            author in proptest::option::of(1i64..6),
            assignee in proptest::option::of(1i64..6),
            participants in proptest::collection::vec(1i64..6, 0..6),
            mentioned in proptest::collection::vec(1i64..6, 0..6),
            private in proptest::bool::ANY,
        ) {
            let m = NewMessage { author, notifiable: true, private, content: "", assignee,
                participants: &participants, mentioned: &mentioned };
            let told = for_message(&m);
            let mut users: Vec<i64> = told.iter().map(|(u, _)| *u).collect();
            users.sort_unstable();
            let before = users.len();
            users.dedup();
            proptest::prop_assert_eq!(before, users.len());
            for (user, kind) in told {
                proptest::prop_assert!(Some(user) != author);
                let why = match kind {
                    NotificationType::ConversationMention => private && mentioned.contains(&user),
                    NotificationType::AssignedConversationNewMessage => assignee == Some(user),
                    NotificationType::ParticipatingConversationNewMessage => participants.contains(&user),
                    _ => false,
                };
                proptest::prop_assert!(why);
            }
        }
    }

    #[test]
    fn types_round_trip() {
        for t in NotificationType::ALL {
            assert_eq!(NotificationType::parse(t.as_str()), Some(t));
        }
        assert_eq!(NotificationType::parse("nope"), None);
    }

    #[test]
    fn notification_flags_are_checked_and_put_in_order() {
        let given = vec![
            "email_conversation_mention".to_owned(),
            "email_conversation_assignment".to_owned(),
            "email_conversation_mention".to_owned(),
        ];
        assert_eq!(
            flags::checked("selected_email_flags", "email", &given).unwrap(),
            vec![
                "email_conversation_assignment",
                "email_conversation_mention"
            ]
        );
        let bad = flags::checked(
            "selected_email_flags",
            "email",
            &["push_conversation_mention".to_owned()],
        );
        assert_eq!(bad.unwrap_err().code, "inclusion");
        assert_eq!(flags::all("push").len(), NotificationType::ALL.len());
        assert!(
            flags::default_email()
                .iter()
                .all(|f| flags::all("email").contains(f))
        );
    }
}
