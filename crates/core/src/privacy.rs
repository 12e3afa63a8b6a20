//! Privacy rules (LGPD / GDPR): an account's retention policy and when a resolved conversation
//! falls under it, what an erasure receipt counts, and where blob keys sit in a message's
//! attributes. The store and the service apply them; nothing here does I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Millis;
use crate::validate::FieldError;

/// The key of the policy in an account's settings.
pub const RETENTION_KEY: &str = "data_retention";
/// A century: anything longer is a typo.
pub const MAX_RETENTION_MONTHS: i64 = 1200;
/// What an anonymised message says instead of its text.
pub const ANONYMISED_TEXT: &str = "[removed by the data retention policy]";
/// What an anonymised contact is called.
pub const ANONYMISED_NAME: &str = "Anonymised contact";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    /// Resolved conversations go completely, as an erasure takes them.
    Delete,
    /// Texts, files and contact details become placeholders; counts and times stay for reports.
    Anonymise,
}

impl RetentionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Anonymise => "anonymise",
        }
    }

    /// Both spellings of "anonymise" are accepted.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "delete" => Some(Self::Delete),
            "anonymise" | "anonymize" => Some(Self::Anonymise),
            _ => None,
        }
    }
}

/// `{"resolved_conversations_after_months": N, "action": "delete" | "anonymise"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub resolved_conversations_after_months: i64,
    pub action: RetentionAction,
}

impl RetentionPolicy {
    /// Reads a policy a client sent, naming every bad field.
    pub fn parse(v: &Value) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(map) = v.as_object() else {
            return Err(vec![FieldError::new(
                RETENTION_KEY,
                "invalid",
                "data_retention must be an object",
            )]);
        };
        for key in map.keys() {
            if key != "resolved_conversations_after_months" && key != "action" {
                errors.push(FieldError::new(
                    &format!("{RETENTION_KEY}.{key}"),
                    "unknown",
                    format!("{key} is not a retention setting"),
                ));
            }
        }
        let months = match map
            .get("resolved_conversations_after_months")
            .map(Value::as_i64)
        {
            Some(Some(n)) if (0..=MAX_RETENTION_MONTHS).contains(&n) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    &format!("{RETENTION_KEY}.resolved_conversations_after_months"),
                    "range",
                    format!(
                        "resolved_conversations_after_months must be a whole number from 0 to \
                         {MAX_RETENTION_MONTHS}"
                    ),
                ));
                None
            }
        };
        let action = match map
            .get("action")
            .and_then(Value::as_str)
            .and_then(RetentionAction::parse)
        {
            Some(a) => Some(a),
            None => {
                errors.push(FieldError::new(
                    &format!("{RETENTION_KEY}.action"),
                    "inclusion",
                    "action must be delete or anonymise",
                ));
                None
            }
        };
        match (months, action) {
            (Some(m), Some(a)) if errors.is_empty() => Ok(Self {
                resolved_conversations_after_months: m,
                action: a,
            }),
            _ => Err(errors),
        }
    }

    /// The account's policy, if its settings hold a valid one.
    pub fn from_settings(settings: &Value) -> Option<Self> {
        settings
            .get(RETENTION_KEY)
            .filter(|v| !v.is_null())
            .and_then(|v| Self::parse(v).ok())
    }

    pub fn to_json(self) -> Value {
        json!({
            "resolved_conversations_after_months": self.resolved_conversations_after_months,
            "action": self.action.as_str(),
        })
    }

    /// Conversations resolved at or before this moment fall under the policy: `now` less the
    /// policy's calendar months (UTC). 0 months: everything resolved until now.
    pub fn cutoff(self, now: Millis) -> Millis {
        let months = u32::try_from(self.resolved_conversations_after_months).unwrap_or(0);
        DateTime::<Utc>::from_timestamp_millis(now)
            .and_then(|t| t.checked_sub_months(Months::new(months)))
            .map(|t| t.timestamp_millis())
            .unwrap_or(i64::MIN)
    }
}

/// Every blob key held in a message's attributes: any string under a key ending in
/// `blob_key` (`email.raw_blob_key`, a provider's kept payload…), at any depth.
pub fn blob_keys_in(attributes: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k.ends_with("blob_key")
                        && let Value::String(s) = child
                    {
                        out.push(s.clone());
                    } else {
                        walk(child, out);
                    }
                }
            }
            Value::Array(list) => list.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(attributes, &mut out);
    out
}

/// What an erasure removed, by kind: counts only, never a value, so the receipt proves the
/// erasure without keeping what was erased.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts(pub BTreeMap<String, i64>);

impl ErasureCounts {
    pub fn add(&mut self, what: &str, n: i64) {
        if n != 0 {
            *self.0.entry(what.to_owned()).or_insert(0) += n;
        }
    }

    pub fn merge(&mut self, other: &ErasureCounts) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    pub fn get(&self, what: &str) -> i64 {
        self.0.get(what).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_parsed_and_refused_with_their_fields() {
        let p = RetentionPolicy::parse(
            &json!({"resolved_conversations_after_months": 24, "action": "anonymize"}),
        )
        .unwrap();
        assert_eq!(p.resolved_conversations_after_months, 24);
        assert_eq!(p.action, RetentionAction::Anonymise);
        assert_eq!(p.to_json()["action"], "anonymise");
        let errors = RetentionPolicy::parse(
            &json!({"resolved_conversations_after_months": -1, "action": "shred", "x": 1}),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "data_retention.x",
                "data_retention.resolved_conversations_after_months",
                "data_retention.action"
            ]
        );
        assert!(RetentionPolicy::parse(&json!("delete")).is_err());
        assert!(
            RetentionPolicy::parse(
                &json!({"resolved_conversations_after_months": 1.5, "action": "delete"})
            )
            .is_err()
        );
        assert_eq!(RetentionPolicy::from_settings(&json!({})), None);
        assert_eq!(
            RetentionPolicy::from_settings(&json!({"data_retention": null})),
            None
        );
    }

    #[test]
    fn the_cutoff_counts_calendar_months() {
        let p = |m| RetentionPolicy {
            resolved_conversations_after_months: m,
            action: RetentionAction::Delete,
        };
        // 2026-03-31T12:00:00Z less one month is the last day of February.
        let now = 1_774_958_400_000;
        assert_eq!(p(0).cutoff(now), now);
        let feb = DateTime::<Utc>::from_timestamp_millis(p(1).cutoff(now)).unwrap();
        assert_eq!(feb.to_rfc3339(), "2026-02-28T12:00:00+00:00");
        let years = DateTime::<Utc>::from_timestamp_millis(p(24).cutoff(now)).unwrap();
        assert_eq!(years.to_rfc3339(), "2024-03-31T12:00:00+00:00");
    }

    #[test]
    fn blob_keys_are_found_at_any_depth() {
        let attrs = json!({
            "email": {"subject": "Hi", "raw_blob_key": "1/a"},
            "parts": [{"blob_key": "1/b"}, {"blob_key": 3}],
            "other": "1/c",
        });
        assert_eq!(blob_keys_in(&attrs), vec!["1/a", "1/b"]);
        assert!(blob_keys_in(&json!({})).is_empty());
    }

    #[test]
    fn counts_skip_zeroes_and_add_up() {
        let mut a = ErasureCounts::default();
        a.add("messages", 3);
        a.add("notes", 0);
        let mut b = ErasureCounts::default();
        b.add("messages", 2);
        a.merge(&b);
        assert_eq!(a.get("messages"), 5);
        assert_eq!(a.0.len(), 1);
    }
}
