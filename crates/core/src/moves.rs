//! Moving messages between two conversations of one customer: merging a conversation into
//! another, and splitting messages out into a new one.
//!
//! Both keep every message (nothing is copied or deleted) and recompute each conversation's
//! clocks from the messages it holds afterwards, so the wait and first-reply times stay true.

use serde_json::Value;
use thiserror::Error;

use crate::Millis;
use crate::conversation::{ConversationClock, MessageFacts, Status, apply_message};
use crate::message::MessageType;
use crate::model::Conversation;

/// The most messages one split may move (a request names them one by one).
pub const MAX_SPLIT_MESSAGES: usize = 500;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum MoveError {
    #[error("a conversation cannot be merged into itself")]
    SameConversation,
    #[error("the conversations belong to different contacts; merge the contacts first")]
    DifferentContacts,
    #[error("conversation {0} was already merged into another one")]
    AlreadyMerged(i64),
    #[error("name at least one message to split out")]
    NothingToMove,
    #[error("at most {MAX_SPLIT_MESSAGES} messages can be split out at once")]
    TooMany,
    #[error("message {0} is not in this conversation")]
    NotInConversation(i64),
    #[error("message {0} is an activity line; only messages can be split out")]
    ActivityLine(i64),
    #[error("at least one message must stay in the conversation")]
    WouldEmpty,
}

/// The display id of the conversation this one was merged into, if it was.
pub fn merged_into(c: &Conversation) -> Option<i64> {
    c.additional_attributes
        .get("merged_into")
        .and_then(Value::as_i64)
}

/// Whether `source` may be merged into `target`.
pub fn check_merge(target: &Conversation, source: &Conversation) -> Result<(), MoveError> {
    if target.id == source.id {
        return Err(MoveError::SameConversation);
    }
    if target.account_id != source.account_id || target.contact_id != source.contact_id {
        return Err(MoveError::DifferentContacts);
    }
    for c in [target, source] {
        if merged_into(c).is_some() {
            return Err(MoveError::AlreadyMerged(c.display_id));
        }
    }
    Ok(())
}

/// A message of the conversation being split, as far as the rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageRef {
    pub id: i64,
    pub message_type: MessageType,
}

/// Checks a split request against the conversation's messages and returns the ids to move,
/// sorted and without repeats. At least one non-activity message must stay behind.
pub fn check_split(messages: &[MessageRef], requested: &[i64]) -> Result<Vec<i64>, MoveError> {
    let mut ids = requested.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(MoveError::NothingToMove);
    }
    if ids.len() > MAX_SPLIT_MESSAGES {
        return Err(MoveError::TooMany);
    }
    for id in &ids {
        match messages.iter().find(|m| m.id == *id) {
            None => return Err(MoveError::NotInConversation(*id)),
            Some(m) if m.message_type == MessageType::Activity => {
                return Err(MoveError::ActivityLine(*id));
            }
            Some(_) => {}
        }
    }
    let stays = messages
        .iter()
        .any(|m| m.message_type != MessageType::Activity && ids.binary_search(&m.id).is_err());
    if !stays {
        return Err(MoveError::WouldEmpty);
    }
    Ok(ids)
}

/// The clocks of a conversation holding exactly `messages`, keeping its status: the wait,
/// the first reply and the last activity as if the messages had arrived in time order.
pub fn recompute_clock(
    status: Status,
    created_at: Millis,
    messages: &[MessageFacts],
) -> ConversationClock {
    let mut ordered = messages.to_vec();
    ordered.sort_by_key(|m| m.created_at);
    let start = ConversationClock {
        status,
        waiting_since: None,
        first_reply_created_at: None,
        last_activity_at: created_at,
    };
    let replayed = ordered.into_iter().fold(start, apply_message);
    ConversationClock { status, ..replayed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SenderType;
    use proptest::prelude::*;
    use serde_json::json;

    fn conversation(id: i64, contact_id: i64) -> Conversation {
        Conversation {
            id,
            account_id: 1,
            display_id: id,
            uuid: String::new(),
            contact_id,
            inbox_id: 1,
            identity_id: None,
            status: Status::Open,
            snoozed_until: None,
            priority: None,
            assignee_id: None,
            team_id: None,
            custom_attributes: json!({}),
            additional_attributes: json!({}),
            waiting_since: None,
            first_reply_created_at: None,
            last_activity_at: 0,
            agent_last_seen_at: None,
            assignee_last_seen_at: None,
            contact_last_seen_at: None,
            muted: false,
            previous_conversation_id: None,
            resolved_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn merge_needs_two_conversations_of_one_contact_not_merged_before() {
        let a = conversation(1, 7);
        let b = conversation(2, 7);
        assert_eq!(check_merge(&a, &b), Ok(()));
        assert_eq!(check_merge(&a, &a), Err(MoveError::SameConversation));
        assert_eq!(
            check_merge(&a, &conversation(3, 8)),
            Err(MoveError::DifferentContacts)
        );
        let mut other_account = conversation(4, 7);
        other_account.account_id = 2;
        assert_eq!(
            check_merge(&a, &other_account),
            Err(MoveError::DifferentContacts)
        );
        let mut merged = conversation(5, 7);
        merged.additional_attributes = json!({ "merged_into": 1 });
        assert_eq!(check_merge(&a, &merged), Err(MoveError::AlreadyMerged(5)));
        assert_eq!(check_merge(&merged, &a), Err(MoveError::AlreadyMerged(5)));
    }

    fn refs(types: &[MessageType]) -> Vec<MessageRef> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| MessageRef {
                id: i as i64 + 1,
                message_type: *t,
            })
            .collect()
    }

    #[test]
    fn split_refuses_activity_lines_strangers_and_emptying() {
        use MessageType::*;
        let msgs = refs(&[Incoming, Activity, Outgoing, Incoming]);
        assert_eq!(check_split(&msgs, &[4, 3, 4]), Ok(vec![3, 4]));
        assert_eq!(check_split(&msgs, &[]), Err(MoveError::NothingToMove));
        assert_eq!(check_split(&msgs, &[2]), Err(MoveError::ActivityLine(2)));
        assert_eq!(
            check_split(&msgs, &[9]),
            Err(MoveError::NotInConversation(9))
        );
        assert_eq!(check_split(&msgs, &[1, 3, 4]), Err(MoveError::WouldEmpty));
        let many: Vec<i64> = (1..=(MAX_SPLIT_MESSAGES as i64 + 1)).collect();
        assert_eq!(check_split(&msgs, &many), Err(MoveError::TooMany));
    }

    fn facts(message_type: MessageType, at: Millis) -> MessageFacts {
        MessageFacts {
            message_type,
            sender_type: match message_type {
                MessageType::Outgoing => Some(SenderType::User),
                _ => Some(SenderType::Contact),
            },
            private: false,
            created_at: at,
        }
    }

    #[test]
    fn clocks_follow_the_messages_held_and_keep_the_status() {
        use MessageType::*;
        let clock = recompute_clock(
            Status::Resolved,
            10,
            &[
                facts(Incoming, 300),
                facts(Outgoing, 200),
                facts(Incoming, 100),
            ],
        );
        assert_eq!(clock.status, Status::Resolved);
        assert_eq!(clock.first_reply_created_at, Some(200));
        assert_eq!(clock.waiting_since, Some(300));
        assert_eq!(clock.last_activity_at, 300);
        let empty = recompute_clock(Status::Open, 10, &[]);
        assert_eq!(empty.last_activity_at, 10);
        assert_eq!(empty.waiting_since, None);
    }

    proptest! {
        /// Whatever is asked, a split that is accepted moves only the conversation's own
        /// non-activity messages and leaves at least one behind.
        #[test]
        fn an_accepted_split_never_empties_or_steals(
            types in proptest::collection::vec(0u8..3, 1..20),
            requested in proptest::collection::vec(0i64..25, 0..25),
        ) {
            let kinds: Vec<MessageType> = types.iter().map(|t| match t {
                0 => MessageType::Incoming,
                1 => MessageType::Outgoing,
                _ => MessageType::Activity,
            }).collect();
            let msgs = refs(&kinds);
            if let Ok(ids) = check_split(&msgs, &requested) {
                prop_assert!(!ids.is_empty());
                for id in &ids {
                    let m = msgs.iter().find(|m| m.id == *id);
                    prop_assert!(m.is_some_and(|m| m.message_type != MessageType::Activity));
                }
                prop_assert!(msgs.iter().any(|m| m.message_type != MessageType::Activity
                    && !ids.contains(&m.id)));
            }
        }

        /// Replaying in any order gives the same clocks.
        #[test]
        fn clocks_do_not_depend_on_storage_order(
            times in proptest::collection::vec((0u8..2, 1i64..1000), 0..12),
        ) {
            let msgs: Vec<MessageFacts> = times.iter().map(|(t, at)| facts(
                if *t == 0 { MessageType::Incoming } else { MessageType::Outgoing }, *at)).collect();
            let mut reversed = msgs.clone();
            reversed.reverse();
            let a = recompute_clock(Status::Open, 0, &msgs);
            let b = recompute_clock(Status::Open, 0, &reversed);
            // Equal timestamps of different kinds may replay in either order; only compare
            // when they are distinct.
            let mut stamps: Vec<i64> = msgs.iter().map(|m| m.created_at).collect();
            stamps.sort_unstable();
            stamps.dedup();
            if stamps.len() == msgs.len() {
                prop_assert_eq!(a, b);
            }
        }
    }
}
