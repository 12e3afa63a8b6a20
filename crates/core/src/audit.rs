//! The audit log's rules, with no I/O: what an entry holds (who, what, when, from where, the
//! changed fields before and after), how a record's fields become `audited_changes` in
//! Chatwoot's shape (`{field: value}` for create and destroy, `{field: [before, after]}` for
//! update), that secrets only ever appear as [`CHANGED`], and the account's retention setting.
//! The store writes and reads entries; the HTTP layer says who acted and from where.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Millis;
use crate::validate::FieldError;

/// What a secret's value is replaced with, whatever happened to it.
pub const CHANGED: &str = "[changed]";

/// The account setting naming how many days entries are kept.
pub const RETENTION_SETTING: &str = "audit_log_retention_days";
pub const DEFAULT_RETENTION_DAYS: i64 = 365;
/// Shorter would let an administrator wipe their own traces within days.
pub const MIN_RETENTION_DAYS: i64 = 30;
pub const MAX_RETENTION_DAYS: i64 = 3650;

/// `auditable_type`s, as Chatwoot names its models.
pub mod kind {
    pub const ACCOUNT: &str = "Account";
    pub const ACCOUNT_USER: &str = "AccountUser";
    pub const USER: &str = "User";
    pub const INBOX: &str = "Inbox";
    pub const INBOX_MEMBER: &str = "InboxMember";
    pub const TEAM: &str = "Team";
    pub const TEAM_MEMBER: &str = "TeamMember";
    pub const WEBHOOK: &str = "Webhook";
    pub const AGENT_BOT: &str = "AgentBot";
    pub const ATTRIBUTE: &str = "CustomAttributeDefinition";
    pub const CONTACT: &str = "Contact";
    pub const CONVERSATION: &str = "Conversation";
    pub const AUTOMATION_RULE: &str = "AutomationRule";
    pub const MACRO: &str = "Macro";
    pub const SLA_POLICY: &str = "SlaPolicy";
    pub const JOURNEY_CAMPAIGN: &str = "JourneyCampaign";
    pub const PORTAL: &str = "Portal";
    pub const INTEGRATION_HOOK: &str = "Integrations::Hook";
}

/// `action`s: Chatwoot's `create`, `update`, `destroy`, `sign_in`, `sign_out`, and
/// Throughline's for what Chatwoot does not audit.
pub mod action {
    pub const CREATE: &str = "create";
    pub const UPDATE: &str = "update";
    pub const DESTROY: &str = "destroy";
    pub const SIGN_IN: &str = "sign_in";
    pub const SIGN_IN_FAILED: &str = "sign_in_failed";
    pub const SIGN_OUT: &str = "sign_out";
    /// An invited user accepted (`AccountUser`, the new membership).
    pub const ACCEPT_INVITATION: &str = "accept_invitation";
    /// An invited user declined (`AccountUser`, the pending agent's id).
    pub const DECLINE_INVITATION: &str = "decline_invitation";
    pub const MERGE: &str = "merge";
    pub const SPLIT: &str = "split";
    /// A contact's data export was asked for, or downloaded.
    pub const EXPORT: &str = "export";
    pub const DOWNLOAD_EXPORT: &str = "download_export";
    /// A contact was erased completely.
    pub const ERASE: &str = "erase";
    /// Contacts were imported from a CSV file, or every contact exported to one (`Account`).
    pub const IMPORT_CONTACTS: &str = "import_contacts";
    /// An agent deactivated in the account, or reactivated (`AccountUser`).
    pub const DEACTIVATE: &str = "deactivate";
    pub const REACTIVATE: &str = "reactivate";
    pub const EXPORT_CONTACTS: &str = "export_contacts";
}

/// True for a field whose value is a secret (passwords, tokens, keys, signing secrets). A
/// dotted path counts when any part of it does.
pub fn is_secret(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    [
        "password",
        "token",
        "secret",
        "api_key",
        "private_key",
        "credential",
    ]
    .iter()
    .any(|p| f.contains(p))
}

/// Replaces, at any depth, the value of every secret field with [`CHANGED`]. Applied to every
/// entry before it is written, whatever built it.
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, inner) in map.iter_mut() {
                if is_secret(k) {
                    *inner = Value::String(CHANGED.into());
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// A record's fields as one level of dotted paths (`settings.timezone`); arrays stay whole,
/// and an empty object is no field (so `{}` becoming `{"a": 1}` is the one change `a`).
pub fn flatten(v: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(map) => {
                for (k, inner) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, inner, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", v, &mut out);
    out
}

/// `{field: value}` of a created (or destroyed) record: its fields without the empty ones,
/// secrets as [`CHANGED`].
pub fn fields(record: &Value) -> Map<String, Value> {
    flatten(record)
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            if is_secret(&k) {
                (k, Value::String(CHANGED.into()))
            } else {
                (k, v)
            }
        })
        .collect()
}

/// `{field: [before, after]}` of the fields that differ (absent counts as `null`); a secret
/// that changed is `{field: "[changed]"}`, never its values.
pub fn diff(before: &Value, after: &Value) -> Map<String, Value> {
    let (b, a) = (flatten(before), flatten(after));
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for k in keys {
        let old = b.get(k).unwrap_or(&Value::Null);
        let new = a.get(k).unwrap_or(&Value::Null);
        if old == new {
            continue;
        }
        let value = if is_secret(k) {
            Value::String(CHANGED.into())
        } else {
            Value::Array(vec![old.clone(), new.clone()])
        };
        out.insert(k.clone(), value);
    }
    out
}

/// A record's fields as JSON, without the ones every record has (`omit`, e.g. ids and times).
pub fn record_fields<T: Serialize>(record: &T, omit: &[&str]) -> Value {
    let mut v = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        for k in omit {
            map.remove(*k);
        }
    }
    v
}

/// The fields no entry needs: the record's own id, its account and its clock.
pub const BOOKKEEPING: &[&str] = &["id", "account_id", "created_at", "updated_at"];

/// What happened to which record: one entry of the log, before it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub auditable_type: &'static str,
    pub auditable_id: i64,
    pub action: &'static str,
    /// What the record was called (a name, an email), so the entry still reads when it is gone.
    pub auditable: Map<String, Value>,
    pub changes: Map<String, Value>,
}

impl Change {
    pub fn new(auditable_type: &'static str, auditable_id: i64, action: &'static str) -> Self {
        Self {
            auditable_type,
            auditable_id,
            action,
            auditable: Map::new(),
            changes: Map::new(),
        }
    }

    /// A created record with all its fields.
    pub fn created(auditable_type: &'static str, auditable_id: i64, record: &Value) -> Self {
        Self {
            changes: fields(record),
            ..Self::new(auditable_type, auditable_id, action::CREATE)
        }
    }

    /// An updated record: the fields that changed, before and after.
    pub fn updated(
        auditable_type: &'static str,
        auditable_id: i64,
        before: &Value,
        after: &Value,
    ) -> Self {
        Self {
            changes: diff(before, after),
            ..Self::new(auditable_type, auditable_id, action::UPDATE)
        }
    }

    /// A destroyed record, with the fields it had.
    pub fn destroyed(auditable_type: &'static str, auditable_id: i64, record: &Value) -> Self {
        Self {
            changes: fields(record),
            ..Self::new(auditable_type, auditable_id, action::DESTROY)
        }
    }

    /// Adds one field to `audited_changes`.
    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.changes.insert(field.into(), value.into());
        self
    }

    /// Adds what the record is called to `auditable`.
    pub fn named(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.auditable.insert(field.into(), value.into());
        self
    }

    /// An update that changed nothing is not worth an entry.
    pub fn is_noop(&self) -> bool {
        self.action == action::UPDATE && self.changes.is_empty()
    }
}

/// Who acted and from where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The user or agent bot; `None` for the system (timers, the command line) or someone not
    /// signed in (a failed sign-in).
    pub user_id: Option<i64>,
    /// `User`, `AgentBot` or `PlatformApp`.
    pub user_type: Option<&'static str>,
    /// The user's email or the bot's name at the time, or what a failed sign-in typed.
    pub username: Option<String>,
    /// The client's address as the HTTP layer derives it (`client_ip`).
    pub remote_address: Option<String>,
}

impl Origin {
    pub fn system() -> Self {
        Self {
            username: Some("system".into()),
            ..Self::default()
        }
    }

    pub fn user(id: i64, email: &str, remote_address: Option<String>) -> Self {
        Self {
            user_id: Some(id),
            user_type: Some("User"),
            username: Some(email.into()),
            remote_address,
        }
    }

    pub fn agent_bot(id: i64, name: &str, remote_address: Option<String>) -> Self {
        Self {
            user_id: Some(id),
            user_type: Some("AgentBot"),
            username: Some(name.into()),
            remote_address,
        }
    }

    /// A platform app (Chatwoot's Platform API) provisioning the account.
    pub fn platform_app(id: i64, remote_address: Option<String>) -> Self {
        Self {
            user_id: Some(id),
            user_type: Some("PlatformApp"),
            username: None,
            remote_address,
        }
    }

    /// Nobody signed in: someone at `remote_address` who typed `username`.
    pub fn anonymous(username: &str, remote_address: Option<String>) -> Self {
        Self {
            username: Some(username.into()),
            remote_address,
            ..Self::default()
        }
    }
}

/// One stored entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub account_id: i64,
    pub auditable_type: String,
    pub auditable_id: i64,
    pub auditable: Value,
    pub action: String,
    pub audited_changes: Value,
    pub user_id: Option<i64>,
    pub user_type: Option<String>,
    pub username: Option<String>,
    pub remote_address: Option<String>,
    pub created_at: Millis,
}

/// How many days an account keeps its entries (its setting, else the default).
pub fn retention_days(account_settings: &Value) -> i64 {
    account_settings
        .get(RETENTION_SETTING)
        .and_then(Value::as_i64)
        .map_or(DEFAULT_RETENTION_DAYS, |d| {
            d.clamp(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS)
        })
}

/// Checks a retention an administrator asked for.
pub fn check_retention_days(days: i64) -> Result<i64, FieldError> {
    if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(FieldError::new(
            RETENTION_SETTING,
            "range",
            format!(
                "{RETENTION_SETTING} must be between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_recognised_by_name() {
        for f in [
            "password",
            "smtp.password",
            "hmac_token",
            "bot_token",
            "secret",
            "provider.app_secret",
            "provider_config.api_key",
            "access_token",
            "page_access_token",
            "webhook_verify_token",
        ] {
            assert!(is_secret(f), "{f}");
        }
        for f in [
            "name",
            "hmac_mandatory",
            "role",
            "url",
            "auto_offline",
            "attribute_key",
        ] {
            assert!(!is_secret(f), "{f}");
        }
    }

    #[test]
    fn an_update_lists_changed_fields_before_and_after_and_hides_secrets() {
        let before = json!({"name": "Support", "hmac_token": "old-secret",
            "settings": {"timezone": "UTC", "csat": true}, "greeting": null});
        let after = json!({"name": "Help", "hmac_token": "new-secret",
            "settings": {"timezone": "UTC", "csat": false}, "greeting": "Hi"});
        let d = diff(&before, &after);
        assert_eq!(
            Value::Object(d.clone()),
            json!({"name": ["Support", "Help"], "hmac_token": CHANGED,
                "settings.csat": [true, false], "greeting": [null, "Hi"]})
        );
        let text = Value::Object(d).to_string();
        assert!(!text.contains("old-secret") && !text.contains("new-secret"));
        assert!(diff(&before, &before).is_empty());
        // A settings object that was empty gains one key: that key is the change.
        assert_eq!(
            Value::Object(diff(
                &json!({"settings": {}}),
                &json!({"settings": {"a": 1}})
            )),
            json!({"settings.a": [null, 1]})
        );
    }

    #[test]
    fn a_created_record_keeps_its_fields_without_empty_ones_or_secrets() {
        let f = fields(
            &json!({"url": "https://x.test/h", "secret": "s3cr3t", "name": null, "subs": ["a"]}),
        );
        assert_eq!(
            Value::Object(f),
            json!({"url": "https://x.test/h", "secret": CHANGED, "subs": ["a"]})
        );
    }

    #[test]
    fn redaction_reaches_every_depth() {
        let mut v = json!({"a": {"smtp": {"password": "p"}}, "list": [{"token": "t"}], "ok": 1});
        redact(&mut v);
        assert_eq!(
            v,
            json!({"a": {"smtp": {"password": CHANGED}}, "list": [{"token": CHANGED}], "ok": 1})
        );
    }

    #[test]
    fn retention_defaults_and_bounds() {
        assert_eq!(retention_days(&json!({})), DEFAULT_RETENTION_DAYS);
        assert_eq!(retention_days(&json!({RETENTION_SETTING: 90})), 90);
        assert_eq!(
            retention_days(&json!({RETENTION_SETTING: 1})),
            MIN_RETENTION_DAYS
        );
        assert!(check_retention_days(29).is_err());
        assert!(check_retention_days(3651).is_err());
        assert_eq!(check_retention_days(400).unwrap(), 400);
    }

    #[test]
    fn an_update_without_changes_is_a_noop() {
        let v = json!({"name": "x"});
        assert!(Change::updated(kind::TEAM, 1, &v, &v).is_noop());
        assert!(!Change::updated(kind::TEAM, 1, &v, &json!({"name": "y"})).is_noop());
        assert!(!Change::new(kind::USER, 1, action::SIGN_IN).is_noop());
    }
}
