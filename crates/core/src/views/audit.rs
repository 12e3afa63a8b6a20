use serde_json::Value;

use super::secs;
use crate::audit::AuditEntry;

view! {
    /// One entry of `GET /api/v1/accounts/{id}/audit_logs` (Chatwoot's `audit_log`: an
    /// `Audited::Audit` associated with the account).
    pub struct AuditLogView {
        pub id: i64,
        pub auditable_type: String,
        pub auditable_id: i64,
        /// What the record was called at the time (`name`, `email`, `user_id`…).
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub auditable: Value,
        /// The account, as Chatwoot associates every entry with it.
        pub associated_id: i64,
        pub associated_type: String,
        /// Who acted: absent for the system and for failed sign-ins.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user_id: Option<i64>,
        /// `User` or `AgentBot`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user_type: Option<String>,
        /// The actor's email (a bot's name, `system`) at the time.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub username: Option<String>,
        pub action: String,
        /// `{field: value}` (create, destroy) or `{field: [before, after]}` (update); secrets
        /// only as `"[changed]"`.
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub audited_changes: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub remote_address: Option<String>,
        pub created_at: i64,
    }

    /// A page of the account's audit log, newest first.
    pub struct AuditLogPage {
        pub audit_logs: Vec<AuditLogView>,
        pub current_page: i64,
        pub per_page: i64,
        pub total_entries: i64,
    }
}

impl From<&AuditEntry> for AuditLogView {
    fn from(e: &AuditEntry) -> Self {
        Self {
            id: e.id,
            auditable_type: e.auditable_type.clone(),
            auditable_id: e.auditable_id,
            auditable: e.auditable.clone(),
            associated_id: e.account_id,
            associated_type: "Account".into(),
            user_id: e.user_id,
            user_type: e.user_type.clone(),
            username: e.username.clone(),
            action: e.action.clone(),
            audited_changes: e.audited_changes.clone(),
            remote_address: e.remote_address.clone(),
            created_at: secs(e.created_at),
        }
    }
}
