//! An automation rule's (or a macro's) actions: Chatwoot's `action_name` / `action_params`
//! checked into what will be done.

use serde_json::Value;

use crate::conversation::{Priority, Status};
use crate::filter::integer_value;
use crate::validate::FieldError;

/// Most actions one rule or macro may hold.
pub const MAX_ACTIONS: usize = 20;
/// Longest message or note an action sends.
pub const MAX_MESSAGE: usize = 10_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `None`: unassign (Chatwoot's `"nil"`).
    AssignAgent(Option<i64>),
    /// Chatwoot's `["last_responding_agent"]`: the agent who last replied, if any.
    AssignLastRespondingAgent,
    /// `None`: unassign (Chatwoot's `0`).
    AssignTeam(Option<i64>),
    RemoveAssignedAgent,
    RemoveAssignedTeam,
    AddLabel(Vec<String>),
    RemoveLabel(Vec<String>),
    /// A reply to the customer on the conversation's reply channel.
    SendMessage(String),
    AddPrivateNote(String),
    /// POST the event to a URL (Chatwoot's `send_webhook_event`).
    SendWebhookEvent(String),
    MuteConversation,
    SnoozeConversation,
    ChangeStatus(Status),
    ChangePriority(Option<Priority>),
    /// Chatwoot's `add_sla`: the SLA policy (by id) that measures the conversation from now.
    AddSla(i64),
}

/// Chatwoot's action names that Throughline does not perform yet, and why: refused when a rule
/// is saved instead of being stored and silently skipped.
const NOT_YET: &[(&str, &str)] = &[
    (
        "send_email_to_team",
        "needs the instance's system mail, which is not configured in this version",
    ),
    (
        "send_email_transcript",
        "needs the instance's system mail, which is not configured in this version",
    ),
    (
        "send_attachment",
        "attachments in rules are not supported yet",
    ),
];

/// The action names accepted, for error messages and the UI.
pub const NAMES: &[&str] = &[
    "assign_agent",
    "assign_team",
    "remove_assigned_agent",
    "remove_assigned_team",
    "add_label",
    "remove_label",
    "send_message",
    "add_private_note",
    "send_webhook_event",
    "mute_conversation",
    "snooze_conversation",
    "resolve_conversation",
    "open_conversation",
    "pending_conversation",
    "change_status",
    "change_priority",
    "add_sla",
];

impl Action {
    /// The agent, team and label references an account must hold for the action to be saved.
    pub fn agent(&self) -> Option<i64> {
        match self {
            Action::AssignAgent(id) => *id,
            _ => None,
        }
    }

    pub fn team(&self) -> Option<i64> {
        match self {
            Action::AssignTeam(id) => *id,
            _ => None,
        }
    }

    pub fn sla_policy(&self) -> Option<i64> {
        match self {
            Action::AddSla(id) => Some(*id),
            _ => None,
        }
    }

    pub fn webhook_url(&self) -> Option<&str> {
        match self {
            Action::SendWebhookEvent(url) => Some(url),
            _ => None,
        }
    }

    /// Words for the execution log and the UI ("add_label: vip, billing").
    pub fn name(&self) -> &'static str {
        match self {
            Action::AssignAgent(_) | Action::AssignLastRespondingAgent => "assign_agent",
            Action::AssignTeam(_) => "assign_team",
            Action::RemoveAssignedAgent => "remove_assigned_agent",
            Action::RemoveAssignedTeam => "remove_assigned_team",
            Action::AddLabel(_) => "add_label",
            Action::RemoveLabel(_) => "remove_label",
            Action::SendMessage(_) => "send_message",
            Action::AddPrivateNote(_) => "add_private_note",
            Action::SendWebhookEvent(_) => "send_webhook_event",
            Action::MuteConversation => "mute_conversation",
            Action::SnoozeConversation => "snooze_conversation",
            Action::ChangeStatus(_) => "change_status",
            Action::ChangePriority(_) => "change_priority",
            Action::AddSla(_) => "add_sla",
        }
    }
}

/// Checks a list of `{action_name, action_params}`; errors name `field[i].…`.
pub fn parse(items: &[Value], field: &str) -> Result<Vec<Action>, FieldError> {
    if items.is_empty() {
        return Err(FieldError::new(field, "blank", "give at least one action"));
    }
    if items.len() > MAX_ACTIONS {
        return Err(FieldError::new(
            field,
            "invalid",
            format!("give at most {MAX_ACTIONS} actions"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_one(&format!("{field}[{i}]"), item))
        .collect()
}

fn parse_one(at: &str, item: &Value) -> Result<Action, FieldError> {
    let name_field = format!("{at}.action_name");
    let params_field = format!("{at}.action_params");
    let name = item
        .get("action_name")
        .and_then(Value::as_str)
        .ok_or_else(|| FieldError::new(&name_field, "blank", "action_name is required"))?;
    if let Some((_, why)) = NOT_YET.iter().find(|(n, _)| *n == name) {
        return Err(FieldError::new(
            &name_field,
            "not_supported",
            format!("`{name}` {why}"),
        ));
    }
    let params: Vec<Value> = match item.get("action_params") {
        Some(Value::Array(v)) => v.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![single.clone()],
    };
    let bad = |what: &str| FieldError::new(&params_field, "invalid", format!("{name}: {what}"));
    let first = params.first();
    let text = |max: usize| -> Result<String, FieldError> {
        let s = first
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("needs the text to send"))?;
        if s.chars().count() > max {
            return Err(bad(&format!("the text is longer than {max} characters")));
        }
        Ok(s.to_owned())
    };
    Ok(match name {
        "assign_agent" => match first {
            Some(Value::String(s)) if s == "nil" || s == "none" => Action::AssignAgent(None),
            Some(Value::String(s)) if s == "last_responding_agent" => {
                Action::AssignLastRespondingAgent
            }
            Some(v) => Action::AssignAgent(Some(
                integer_value(v)
                    .filter(|id| *id > 0)
                    .ok_or_else(|| bad("needs an agent id, or \"nil\" to unassign"))?,
            )),
            None => return Err(bad("needs an agent id, or \"nil\" to unassign")),
        },
        "assign_team" => match first {
            None | Some(Value::Null) => Action::AssignTeam(None),
            Some(Value::String(s)) if s == "nil" => Action::AssignTeam(None),
            Some(v) => {
                let id = integer_value(v)
                    .filter(|id| *id >= 0)
                    .ok_or_else(|| bad("needs a team id, or 0 to unassign"))?;
                Action::AssignTeam((id > 0).then_some(id))
            }
        },
        "remove_assigned_agent" => Action::RemoveAssignedAgent,
        "remove_assigned_team" => Action::RemoveAssignedTeam,
        "add_label" | "remove_label" => {
            let labels = params
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::trim)
                        .filter(|s| !s.is_empty() && s.chars().count() <= 255)
                        .map(str::to_owned)
                        .ok_or_else(|| bad("labels are given by name"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if labels.is_empty() {
                return Err(bad("needs at least one label"));
            }
            if name == "add_label" {
                Action::AddLabel(labels)
            } else {
                Action::RemoveLabel(labels)
            }
        }
        "send_message" => Action::SendMessage(text(MAX_MESSAGE)?),
        "add_private_note" => Action::AddPrivateNote(text(MAX_MESSAGE)?),
        "send_webhook_event" => {
            let url = first
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| s.starts_with("https://") || s.starts_with("http://"))
                .filter(|s| s.len() <= 2_048)
                .ok_or_else(|| bad("needs an http(s) URL"))?;
            Action::SendWebhookEvent(url.to_owned())
        }
        "mute_conversation" => Action::MuteConversation,
        "snooze_conversation" => Action::SnoozeConversation,
        "resolve_conversation" => Action::ChangeStatus(Status::Resolved),
        "open_conversation" => Action::ChangeStatus(Status::Open),
        "pending_conversation" => Action::ChangeStatus(Status::Pending),
        "change_status" => {
            let status = first
                .and_then(Value::as_str)
                .and_then(Status::parse)
                .ok_or_else(|| bad("needs open, resolved, pending or snoozed"))?;
            Action::ChangeStatus(status)
        }
        "change_priority" => {
            let word = match first {
                None | Some(Value::Null) => "none",
                Some(Value::String(s)) if s == "nil" => "none",
                Some(v) => v.as_str().unwrap_or("?"),
            };
            Action::ChangePriority(
                Priority::parse_optional(word)
                    .map_err(|_| bad("needs urgent, high, medium, low or none"))?,
            )
        }
        "add_sla" => Action::AddSla(
            first
                .and_then(integer_value)
                .filter(|id| *id > 0)
                .ok_or_else(|| bad("needs an SLA policy id"))?,
        ),
        other => {
            return Err(FieldError::new(
                &name_field,
                "unknown",
                format!(
                    "unknown action `{other}`: expected one of {}",
                    NAMES.join(", ")
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(item: Value) -> Result<Action, FieldError> {
        parse(&[item], "actions").map(|mut a| a.remove(0))
    }

    #[test]
    fn chatwoot_actions() {
        let cases = [
            (
                json!({"action_name": "assign_agent", "action_params": [5]}),
                Action::AssignAgent(Some(5)),
            ),
            (
                json!({"action_name": "assign_agent", "action_params": ["nil"]}),
                Action::AssignAgent(None),
            ),
            (
                json!({"action_name": "assign_team", "action_params": ["2"]}),
                Action::AssignTeam(Some(2)),
            ),
            (
                json!({"action_name": "assign_team", "action_params": [0]}),
                Action::AssignTeam(None),
            ),
            (
                json!({"action_name": "assign_team", "action_params": []}),
                Action::AssignTeam(None),
            ),
            (
                json!({"action_name": "assign_agent", "action_params": ["last_responding_agent"]}),
                Action::AssignLastRespondingAgent,
            ),
            (
                json!({"action_name": "add_label", "action_params": ["vip", "billing"]}),
                Action::AddLabel(vec!["vip".into(), "billing".into()]),
            ),
            (
                json!({"action_name": "remove_label", "action_params": ["vip"]}),
                Action::RemoveLabel(vec!["vip".into()]),
            ),
            (
                json!({"action_name": "send_message", "action_params": ["Olá!"]}),
                Action::SendMessage("Olá!".into()),
            ),
            (
                json!({"action_name": "add_private_note", "action_params": ["check the order"]}),
                Action::AddPrivateNote("check the order".into()),
            ),
            (
                json!({"action_name": "send_webhook_event", "action_params": ["https://hooks.example.com/x"]}),
                Action::SendWebhookEvent("https://hooks.example.com/x".into()),
            ),
            (
                json!({"action_name": "mute_conversation", "action_params": null}),
                Action::MuteConversation,
            ),
            (
                json!({"action_name": "snooze_conversation"}),
                Action::SnoozeConversation,
            ),
            (
                json!({"action_name": "resolve_conversation", "action_params": []}),
                Action::ChangeStatus(Status::Resolved),
            ),
            (
                json!({"action_name": "open_conversation"}),
                Action::ChangeStatus(Status::Open),
            ),
            (
                json!({"action_name": "pending_conversation"}),
                Action::ChangeStatus(Status::Pending),
            ),
            (
                json!({"action_name": "change_status", "action_params": ["pending"]}),
                Action::ChangeStatus(Status::Pending),
            ),
            (
                json!({"action_name": "change_priority", "action_params": ["urgent"]}),
                Action::ChangePriority(Some(Priority::Urgent)),
            ),
            (
                json!({"action_name": "change_priority", "action_params": ["nil"]}),
                Action::ChangePriority(None),
            ),
            (
                json!({"action_name": "remove_assigned_agent"}),
                Action::RemoveAssignedAgent,
            ),
            (
                json!({"action_name": "remove_assigned_team"}),
                Action::RemoveAssignedTeam,
            ),
        ];
        for (item, expected) in cases {
            assert_eq!(one(item.clone()), Ok(expected), "{item}");
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (json!({}), "actions[0].action_name", "blank"),
            (
                json!({"action_name": "explode"}),
                "actions[0].action_name",
                "unknown",
            ),
            (
                json!({"action_name": "send_email_to_team", "action_params": [{"message": "x", "team_ids": [1]}]}),
                "actions[0].action_name",
                "not_supported",
            ),
            (
                json!({"action_name": "assign_agent", "action_params": ["ana"]}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "assign_agent"}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "assign_team", "action_params": [-1]}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "add_label", "action_params": []}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "add_label", "action_params": [7]}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "send_message", "action_params": ["  "]}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "send_webhook_event", "action_params": ["ftp://x"]}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "change_status", "action_params": ["closed"]}),
                "actions[0].action_params",
                "invalid",
            ),
            (
                json!({"action_name": "change_priority", "action_params": ["meh"]}),
                "actions[0].action_params",
                "invalid",
            ),
        ];
        for (item, field, code) in cases {
            let err = one(item.clone()).unwrap_err();
            assert_eq!((err.field.as_str(), err.code), (field, code), "{item}");
        }
        assert_eq!(parse(&[], "actions").unwrap_err().code, "blank");
        let many = vec![json!({"action_name": "mute_conversation"}); MAX_ACTIONS + 1];
        assert_eq!(parse(&many, "actions").unwrap_err().field, "actions");
    }
}
