//! An automation rule's conditions: which attributes a rule may test for each event, and the
//! test itself over a snapshot of the facts (no I/O).
//!
//! Conditions are Chatwoot's filter language (`attribute_key`, `filter_operator`, `values`,
//! `query_operator`), parsed by [`crate::filter`] with the catalogue below. They join left to
//! right, AND binding tighter than OR, as Chatwoot's `AutomationRules::ConditionsFilterService`
//! builds its query. Text compares without regard to case, as Chatwoot's `ILIKE`/`LOWER` do.

use std::collections::HashMap;

use serde_json::Value;

use super::EventName;
use crate::filter::{AttrType, AttributeCatalog, Choices, Condition, Join, Operator, Values};

/// Where a standard attribute is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Message,
    Conversation,
    Contact,
    BusinessEvent,
}

/// The standard attributes a rule may test: key, type, where it comes from.
const STANDARD: &[(&str, AttrType, Source)] = &[
    ("content", AttrType::Text, Source::Message),
    ("message_type", AttrType::Enum, Source::Message),
    ("mail_subject", AttrType::Text, Source::Message),
    ("private_note", AttrType::Flag, Source::Message),
    ("status", AttrType::Enum, Source::Conversation),
    ("priority", AttrType::Enum, Source::Conversation),
    ("assignee_id", AttrType::Integer, Source::Conversation),
    ("team_id", AttrType::Integer, Source::Conversation),
    ("inbox_id", AttrType::Integer, Source::Conversation),
    ("channel_type", AttrType::Enum, Source::Conversation),
    ("labels", AttrType::Labels, Source::Conversation),
    ("browser_language", AttrType::Enum, Source::Conversation),
    (
        "conversation_language",
        AttrType::Enum,
        Source::Conversation,
    ),
    ("referer", AttrType::Text, Source::Conversation),
    ("email", AttrType::Text, Source::Contact),
    ("phone_number", AttrType::Text, Source::Contact),
    ("name", AttrType::Text, Source::Contact),
    ("identifier", AttrType::Text, Source::Contact),
    ("country_code", AttrType::Enum, Source::Contact),
    ("city", AttrType::Text, Source::Contact),
    ("company_name", AttrType::Text, Source::Contact),
    // Chatwoot before 4.15 named it `company`.
    ("company", AttrType::Text, Source::Contact),
    ("event_type", AttrType::Text, Source::BusinessEvent),
    ("event_title", AttrType::Text, Source::BusinessEvent),
];

/// A business event's own fields are tested as `event.<field>` (text).
pub const EVENT_FIELD_PREFIX: &str = "event.";

/// Channel types as conditions name them (Chatwoot's `Channel::…` class names' short forms).
pub const CHANNEL_TYPES: &[&str] = &[
    "api",
    "web_widget",
    "email",
    "sms",
    "whatsapp",
    "telegram",
    "facebook",
    "instagram",
];

/// Whether `source` exists for a rule on `event`: message attributes only on
/// `message_created`; business-event fields only on `business_event_received`.
fn available(source: Source, event: EventName) -> bool {
    match source {
        Source::Message => event == EventName::MessageCreated,
        Source::BusinessEvent => event == EventName::BusinessEventReceived,
        Source::Conversation | Source::Contact => true,
    }
}

/// The attributes a rule on `event` may test, with the account's custom attribute definitions
/// (conversation and contact ones; a key defined on both reads the conversation's first).
pub struct Catalog<'a> {
    pub event: EventName,
    /// Custom attribute keys and their types.
    pub custom: &'a HashMap<String, (AttrType, Choices)>,
}

impl AttributeCatalog for Catalog<'_> {
    fn standard(&self, key: &str) -> Option<AttrType> {
        if let Some(field) = key.strip_prefix(EVENT_FIELD_PREFIX) {
            let ok = self.event == EventName::BusinessEventReceived
                && !field.is_empty()
                && field.len() <= 64
                && field
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            return ok.then_some(AttrType::Text);
        }
        STANDARD
            .iter()
            .find(|(k, _, source)| *k == key && available(*source, self.event))
            .map(|(_, t, _)| *t)
    }

    fn custom(&self, key: &str) -> Option<AttrType> {
        self.custom.get(key).map(|(t, _)| *t)
    }

    fn choices(&self, key: &str, custom: bool) -> Choices {
        if custom {
            return self
                .custom
                .get(key)
                .map(|(_, c)| c.clone())
                .unwrap_or(Choices::Any);
        }
        let words = |list: &[&str]| Choices::OneOf(list.iter().map(|s| (*s).to_owned()).collect());
        match key {
            "message_type" => words(&["incoming", "outgoing", "template"]),
            "status" => words(&["open", "resolved", "pending", "snoozed"]),
            "priority" => words(&["none", "low", "medium", "high", "urgent"]),
            "channel_type" => words(CHANNEL_TYPES),
            "country_code" => Choices::CountryCode,
            "browser_language" | "conversation_language" => Choices::Language,
            _ => Choices::Any,
        }
    }
}

/// One attribute's value in the snapshot.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    Absent,
    Text(String),
    /// Labels.
    Texts(Vec<String>),
    Integer(i64),
    Number(f64),
    /// Unix seconds.
    Time(i64),
    Flag(bool),
}

/// What the conditions are tested against: the standard attributes by key, and the custom
/// attributes (conversation's over contact's) as stored.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub standard: HashMap<String, Fact>,
    pub custom: serde_json::Map<String, Value>,
    /// "Now" in Unix seconds, for `days_before`.
    pub now: i64,
}

impl Facts {
    pub fn set(&mut self, key: &str, fact: Fact) {
        self.standard.insert(key.to_owned(), fact);
    }

    pub fn text(&mut self, key: &str, value: Option<&str>) {
        let fact = match value {
            Some(s) if !s.is_empty() => Fact::Text(s.to_owned()),
            _ => Fact::Absent,
        };
        self.set(key, fact);
    }

    pub fn integer(&mut self, key: &str, value: Option<i64>) {
        self.set(key, value.map_or(Fact::Absent, Fact::Integer));
    }

    fn get(&self, condition: &Condition) -> Fact {
        if !condition.custom {
            return self
                .standard
                .get(&condition.attribute_key)
                .cloned()
                .unwrap_or(Fact::Absent);
        }
        let Some(raw) = self.custom.get(&condition.attribute_key) else {
            return Fact::Absent;
        };
        custom_fact(raw, condition.attr_type)
    }
}

/// A stored custom attribute read as its definition's type; what cannot be read is absent.
fn custom_fact(raw: &Value, t: AttrType) -> Fact {
    use crate::filter::{flag_value, integer_value, number_value, time_value};
    let read = match t {
        AttrType::Integer => integer_value(raw).map(Fact::Integer),
        AttrType::Number => number_value(raw).map(Fact::Number),
        AttrType::Flag => flag_value(raw).map(Fact::Flag),
        AttrType::Time => time_value(raw).map(Fact::Time),
        AttrType::Labels => raw.as_array().map(|items| {
            Fact::Texts(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            )
        }),
        AttrType::Text | AttrType::Enum => match raw {
            Value::String(s) if !s.is_empty() => Some(Fact::Text(s.clone())),
            Value::Number(n) => Some(Fact::Text(n.to_string())),
            Value::Bool(b) => Some(Fact::Text(b.to_string())),
            _ => None,
        },
    };
    read.unwrap_or(Fact::Absent)
}

/// Whether the conditions hold: `a AND b OR c AND d` is `(a ∧ b) ∨ (c ∧ d)`. No conditions:
/// the rule applies to every event of its kind.
pub fn holds(conditions: &[Condition], facts: &Facts) -> bool {
    if conditions.is_empty() {
        return true;
    }
    let mut any_group = false;
    let mut group = true;
    for (i, condition) in conditions.iter().enumerate() {
        group = group && test(condition, facts);
        let last = i + 1 == conditions.len();
        if last || condition.join == Join::Or {
            any_group = any_group || group;
            group = true;
        }
    }
    any_group
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// One condition against its fact.
pub fn test(condition: &Condition, facts: &Facts) -> bool {
    let fact = facts.get(condition);
    let present = match &fact {
        Fact::Absent => false,
        Fact::Texts(items) => !items.is_empty(),
        Fact::Text(s) => !s.trim().is_empty(),
        _ => true,
    };
    let equal = || equals_any(&fact, &condition.values);
    match condition.operator {
        Operator::IsPresent => present,
        Operator::IsNotPresent => !present,
        Operator::EqualTo => equal(),
        // Unset is "not equal" too: a rule for "not assigned to Ana" applies to unassigned
        // conversations.
        Operator::NotEqualTo => !equal(),
        Operator::Contains => texts_of(&condition.values)
            .iter()
            .any(|v| fact_text(&fact).is_some_and(|t| fold(&t).contains(&fold(v)))),
        Operator::DoesNotContain => !texts_of(&condition.values)
            .iter()
            .any(|v| fact_text(&fact).is_some_and(|t| fold(&t).contains(&fold(v)))),
        Operator::StartsWith => texts_of(&condition.values)
            .iter()
            .any(|v| fact_text(&fact).is_some_and(|t| fold(&t).starts_with(&fold(v)))),
        Operator::IsGreaterThan | Operator::IsLessThan => {
            let greater = condition.operator == Operator::IsGreaterThan;
            match (&fact, &condition.values) {
                (Fact::Number(n), Values::Numbers(v)) => v
                    .first()
                    .is_some_and(|x| if greater { n > x } else { n < x }),
                (Fact::Integer(n), Values::Integers(v)) => v
                    .first()
                    .is_some_and(|x| if greater { n > x } else { n < x }),
                (Fact::Integer(n), Values::Numbers(v)) => v.first().is_some_and(|x| {
                    let n = *n as f64;
                    if greater { n > *x } else { n < *x }
                }),
                (Fact::Time(t), Values::Time(x)) => {
                    if greater {
                        t > x
                    } else {
                        t < x
                    }
                }
                _ => false,
            }
        }
        Operator::DaysBefore => match (&fact, &condition.values) {
            (Fact::Time(t), Values::Days(d)) => *t < facts.now - i64::from(*d) * 86_400,
            _ => false,
        },
    }
}

fn texts_of(values: &Values) -> &[String] {
    match values {
        Values::Texts(v) => v,
        _ => &[],
    }
}

fn fact_text(fact: &Fact) -> Option<String> {
    match fact {
        Fact::Text(s) => Some(s.clone()),
        Fact::Texts(items) => Some(items.join(" ")),
        Fact::Integer(n) => Some(n.to_string()),
        Fact::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn equals_any(fact: &Fact, values: &Values) -> bool {
    match (fact, values) {
        (Fact::Text(s), Values::Texts(v)) => v.iter().any(|x| fold(x) == fold(s)),
        (Fact::Texts(items), Values::Texts(v)) => items
            .iter()
            .any(|item| v.iter().any(|x| fold(x) == fold(item))),
        (Fact::Integer(n), Values::Integers(v)) => v.contains(n),
        (Fact::Number(n), Values::Numbers(v)) => v.iter().any(|x| (x - n).abs() < 1e-9),
        (Fact::Flag(b), Values::Flags(v)) => v.contains(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_items;
    use proptest::prelude::*;
    use serde_json::json;

    fn conditions(event: EventName, items: Value) -> Vec<Condition> {
        let mut custom = HashMap::new();
        custom.insert("plan".to_owned(), (AttrType::Text, Choices::Any));
        custom.insert("order_total".to_owned(), (AttrType::Number, Choices::Any));
        custom.insert("signed_up".to_owned(), (AttrType::Time, Choices::Any));
        let catalog = Catalog {
            event,
            custom: &custom,
        };
        parse_items(items.as_array().unwrap(), "conditions", &catalog).unwrap()
    }

    fn facts() -> Facts {
        let mut f = Facts {
            now: 1_700_000_000,
            ..Facts::default()
        };
        f.text("content", Some("Olá, preciso de AJUDA com o pedido"));
        f.text("message_type", Some("incoming"));
        f.text("status", Some("open"));
        f.text("email", Some("ana@example.com"));
        f.integer("assignee_id", None);
        f.integer("inbox_id", Some(3));
        f.set("labels", Fact::Texts(vec!["vip".into(), "billing".into()]));
        f.custom.insert("plan".into(), json!("Pro"));
        f.custom.insert("order_total".into(), json!("120.50"));
        f.custom
            .insert("signed_up".into(), json!(1_700_000_000 - 10 * 86_400));
        f
    }

    fn check(items: Value) -> bool {
        holds(&conditions(EventName::MessageCreated, items), &facts())
    }

    #[test]
    fn every_operator() {
        let cases = [
            (
                json!([{"attribute_key": "content", "filter_operator": "contains", "values": ["ajuda"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "content", "filter_operator": "contains", "values": ["refund", "pedido"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "content", "filter_operator": "does_not_contain", "values": ["ajuda"]}]),
                false,
            ),
            (
                json!([{"attribute_key": "content", "filter_operator": "starts_with", "values": ["olá"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "content", "filter_operator": "starts_with", "values": ["preciso"]}]),
                false,
            ),
            (
                json!([{"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["incoming"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "message_type", "filter_operator": "not_equal_to", "values": ["incoming"]}]),
                false,
            ),
            (
                json!([{"attribute_key": "email", "filter_operator": "equal_to", "values": ["ANA@example.com"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "assignee_id", "filter_operator": "is_not_present"}]),
                true,
            ),
            (
                json!([{"attribute_key": "assignee_id", "filter_operator": "is_present"}]),
                false,
            ),
            (
                json!([{"attribute_key": "assignee_id", "filter_operator": "not_equal_to", "values": [7]}]),
                true,
            ),
            (
                json!([{"attribute_key": "inbox_id", "filter_operator": "equal_to", "values": [2, "3"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["VIP"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "labels", "filter_operator": "not_equal_to", "values": ["vip"]}]),
                false,
            ),
            (
                json!([{"attribute_key": "plan", "filter_operator": "equal_to", "values": ["pro"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "order_total", "filter_operator": "is_greater_than", "values": [100]}]),
                true,
            ),
            (
                json!([{"attribute_key": "order_total", "filter_operator": "is_less_than", "values": [100]}]),
                false,
            ),
            (
                json!([{"attribute_key": "signed_up", "filter_operator": "days_before", "values": [7]}]),
                true,
            ),
            (
                json!([{"attribute_key": "signed_up", "filter_operator": "days_before", "values": [30]}]),
                false,
            ),
            (
                json!([{"attribute_key": "signed_up", "filter_operator": "is_greater_than", "values": ["2023-01-01"]}]),
                true,
            ),
            (
                json!([{"attribute_key": "mail_subject", "filter_operator": "is_not_present"}]),
                true,
            ),
        ];
        for (items, expected) in cases {
            assert_eq!(check(items.clone()), expected, "{items}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // false AND true OR true → true; true AND false OR false → false.
        assert!(check(json!([
            {"attribute_key": "status", "filter_operator": "equal_to", "values": ["resolved"], "query_operator": "and"},
            {"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["incoming"], "query_operator": "or"},
            {"attribute_key": "content", "filter_operator": "contains", "values": ["ajuda"]},
        ])));
        assert!(!check(json!([
            {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": "and"},
            {"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["outgoing"], "query_operator": "OR"},
            {"attribute_key": "content", "filter_operator": "contains", "values": ["refund"]},
        ])));
        assert!(check(json!([])));
    }

    #[test]
    fn attributes_follow_the_event() {
        let custom = HashMap::new();
        let on = |event| Catalog {
            event,
            custom: &custom,
        };
        assert!(on(EventName::MessageCreated).standard("content").is_some());
        assert!(
            on(EventName::ConversationCreated)
                .standard("content")
                .is_none()
        );
        assert!(
            on(EventName::BusinessEventReceived)
                .standard("event.order_id")
                .is_some()
        );
        assert!(
            on(EventName::MessageCreated)
                .standard("event.order_id")
                .is_none()
        );
        assert!(
            on(EventName::BusinessEventReceived)
                .standard("event.x y")
                .is_none()
        );
    }

    proptest! {
        /// The evaluation agrees with a plain reference: OR of AND-groups split at "or".
        #[test]
        fn matches_the_reference(bits in proptest::collection::vec((any::<bool>(), any::<bool>()), 0..8)) {
            let items: Vec<Value> = bits.iter().map(|(value, or)| json!({
                "attribute_key": "status",
                "filter_operator": "equal_to",
                "values": [if *value { "open" } else { "resolved" }],
                "query_operator": if *or { "or" } else { "and" },
            })).collect();
            let parsed = conditions(EventName::ConversationUpdated, json!(items));
            let mut groups: Vec<Vec<bool>> = vec![Vec::new()];
            for (i, (value, or)) in bits.iter().enumerate() {
                if let Some(g) = groups.last_mut() { g.push(*value); }
                if *or && i + 1 < bits.len() { groups.push(Vec::new()); }
            }
            let expected = bits.is_empty() || groups.iter().any(|g| g.iter().all(|v| *v));
            prop_assert_eq!(holds(&parsed, &facts()), expected);
        }
    }
}
