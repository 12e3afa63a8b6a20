//! Automation rules at work: which rules an outbox event raises, the facts their conditions
//! are tested against, and the actions — done inside the caller's transaction, so that the
//! actions, the run's log line and the consumer's cursor commit together (a crash redoes all
//! or none of them). Macros reuse the actions.

use std::collections::HashMap;

use serde_json::{Value, json};
use throughline_core::automation::{
    self as core_rules, Action, CheckedRule, EventName, Fact, Facts, RuleDraft,
};
use throughline_core::conversation::{Status, StatusRequest};
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::filter::{AttrType, Choices};
use throughline_core::message::MessageType;
use throughline_core::model::{Contact, Conversation};
use throughline_core::reply_channel::ReplyRules;
use throughline_store::automation::{self as store_rules, NewRun, Outcome, Rule, Run};
use throughline_store::messages::NewMessage;
use throughline_store::webhooks::{self as hooks, NewDelivery, Target};
use throughline_store::{
    AccountScope, Conn, Found, StoreError, Tx, accounts, contacts, conversations, filters, inboxes,
    messages, reply_channels, teams,
};

type Result<T> = std::result::Result<T, StoreError>;

/// An account's active rules and custom attribute types, read once per batch of events.
pub struct AccountRules {
    pub rules: Vec<Rule>,
    custom: HashMap<String, (AttrType, Choices)>,
}

impl AccountRules {
    pub async fn load(conn: &mut Conn, account_id: i64) -> Result<Self> {
        let names = EventName::ALL.map(EventName::as_str);
        let rules = store_rules::active_for(conn, account_id, &names).await?;
        let custom = if rules.is_empty() {
            HashMap::new()
        } else {
            filters::custom_types(conn, &AccountScope::system(account_id), None).await?
        };
        Ok(Self { rules, custom })
    }

    fn listening(&self, event: EventName) -> bool {
        self.rules.iter().any(|r| r.event_name == event.as_str())
    }
}

/// The stored rule as a draft, to be checked again (definitions may have changed since).
pub fn draft_of(rule: &Rule) -> RuleDraft {
    RuleDraft {
        name: rule.name.clone(),
        description: rule.description.clone(),
        event_name: rule.event_name.clone(),
        active: rule.active,
        conditions: rule.conditions.as_array().cloned().unwrap_or_default(),
        actions: rule.actions.as_array().cloned().unwrap_or_default(),
        delay_minutes: rule.delay_minutes,
    }
}

fn is_auto_reply(payload: &Value) -> bool {
    payload["content_attributes"]["email"]["auto_reply"] == json!(true)
}

/// Whether any of the account's rules may act on `event`: decided from the rules alone, so
/// the consumer can skip a batch nobody listens to without taking the writer.
pub fn may_act(account: &AccountRules, event: &StoredEvent) -> bool {
    listened_to(account, event).is_some()
}

/// The event's trigger names, when a rule of the account listens to one of them (or to a
/// channel switch a message may be).
fn listened_to(account: &AccountRules, event: &StoredEvent) -> Option<Vec<EventName>> {
    if account.rules.is_empty() {
        return None;
    }
    let names = core_rules::triggers(event.kind, &event.payload);
    if names.is_empty() {
        return None;
    }
    let message = (event.kind == EventKind::MessageCreated).then_some(&event.payload);
    // Automatic mail (out-of-office, bounces, lists) never sets rules off, as in Chatwoot.
    if message.is_some_and(is_auto_reply) {
        return None;
    }
    let may_switch = message.is_some() && account.listening(EventName::ChannelSwitched);
    (may_switch || names.iter().any(|n| account.listening(*n))).then_some(names)
}

/// Runs the account's rules on one outbox event inside `tx`.
pub async fn on_event(tx: &mut Tx, account: &AccountRules, event: &StoredEvent) -> Result<()> {
    // Nothing is read for an event no rule of the account listens to.
    let Some(mut names) = listened_to(account, event) else {
        return Ok(());
    };
    let message = (event.kind == EventKind::MessageCreated).then_some(&event.payload);
    let may_switch = message.is_some() && account.listening(EventName::ChannelSwitched);
    let scope = AccountScope::system(event.account_id);
    let conversation = match event.conversation_id {
        Some(id) => match conversations::by_internal_id(tx.conn(), &scope, id)
            .await
            .found()?
        {
            Some(c) => Some(c),
            // Deleted since: nothing to act on.
            None => return Ok(()),
        },
        None => match event.contact_id {
            Some(contact_id) => {
                conversations::latest_of_contact(tx.conn(), &scope, contact_id).await?
            }
            None => None,
        },
    };
    if let (Some(m), Some(c)) = (message, conversation.as_ref())
        && may_switch
        && m["message_type"] == "incoming"
        && let Some(message_id) = m["id"].as_i64()
        && let Some(previous) =
            conversations::previous_incoming_inbox(tx.conn(), c.id, message_id).await?
        && Some(previous) != m["inbox"]["id"].as_i64()
    {
        names.push(EventName::ChannelSwitched);
    }
    let listening: Vec<&Rule> = account
        .rules
        .iter()
        .filter(|r| names.iter().any(|n| n.as_str() == r.event_name))
        .collect();
    if listening.is_empty() {
        return Ok(());
    }
    let facts = gather(tx.conn(), &scope, conversation.as_ref(), event).await?;
    for rule in listening {
        let checked = match draft_of(rule).checked(&account.custom) {
            Ok(c) => c,
            Err(errors) => {
                // The rule was valid when saved; something it names is gone (a custom
                // attribute deleted). Say so in its log instead of guessing.
                let detail = json!([{ "error": joined(&errors) }]);
                log_run(
                    tx,
                    rule,
                    event,
                    conversation.as_ref(),
                    Outcome::Failed,
                    &detail,
                    None,
                )
                .await?;
                continue;
            }
        };
        if !core_rules::conditions::holds(&checked.conditions, &facts) {
            continue;
        }
        if !core_rules::may_run(rule.id, &event.automation_chain) {
            let why = if event.automation_chain.contains(&rule.id) {
                "the event was caused by this rule's own actions"
            } else {
                "the chain of rules that caused the event is already at its limit"
            };
            log_run(
                tx,
                rule,
                event,
                conversation.as_ref(),
                Outcome::Stopped,
                &json!([{ "error": why }]),
                None,
            )
            .await?;
            continue;
        }
        if checked.delay_minutes > 0 {
            let due = event.created_at + checked.delay_minutes * 60_000;
            log_run(
                tx,
                rule,
                event,
                conversation.as_ref(),
                Outcome::Scheduled,
                &json!([]),
                Some(due),
            )
            .await?;
            continue;
        }
        let Some(conversation) = conversation.as_ref() else {
            log_run(
                tx,
                rule,
                event,
                None,
                Outcome::Failed,
                &json!([{ "error": "the contact has no conversation to act on" }]),
                None,
            )
            .await?;
            continue;
        };
        act_and_log(tx, rule, &checked, event, conversation).await?;
    }
    Ok(())
}

async fn log_run(
    tx: &mut Tx,
    rule: &Rule,
    event: &StoredEvent,
    conversation: Option<&Conversation>,
    outcome: Outcome,
    detail: &Value,
    due_at: Option<i64>,
) -> Result<Option<i64>> {
    store_rules::record_run(
        tx,
        NewRun {
            account_id: rule.account_id,
            rule_id: rule.id,
            event_id: event.id,
            event_name: &rule.event_name,
            conversation_id: conversation.map(|c| c.id),
            chain: &event.automation_chain,
            outcome,
            detail,
            due_at,
        },
    )
    .await
}

/// Does the rule's actions and logs the run; when another process already ran this rule on
/// this event (its log line exists), undoes them.
async fn act_and_log(
    tx: &mut Tx,
    rule: &Rule,
    checked: &CheckedRule,
    event: &StoredEvent,
    conversation: &Conversation,
) -> Result<()> {
    tx.savepoint("automation_rule").await?;
    let context = ActionContext::of_rule(rule, event);
    let results = match perform(tx, &context, conversation, &checked.actions).await {
        Ok(r) => r,
        Err(e) => {
            tx.roll_back_to("automation_rule").await?;
            return Err(e);
        }
    };
    let outcome = outcome_of(&results);
    let logged = log_run(
        tx,
        rule,
        event,
        Some(conversation),
        outcome,
        &json!(results),
        None,
    )
    .await?;
    if logged.is_some() {
        tx.release("automation_rule").await
    } else {
        tx.roll_back_to("automation_rule").await
    }
}

/// Settles a delayed run whose time has come: acts if its rule is still active and its
/// conditions still hold, else records why not. One transaction; false when another process
/// settled it first.
pub async fn settle_due(tx: &mut Tx, run: &Run) -> Result<bool> {
    let scope = AccountScope::system(run.account_id);
    let Some(rule) = store_rules::get(tx.conn(), &scope, run.rule_id)
        .await
        .found()?
    else {
        return Ok(false);
    };
    let (checked, event, conversation) = match still_due(tx, &scope, &rule, run).await? {
        Ok(ready) => ready,
        Err((outcome, why)) => {
            return store_rules::settle(tx, run.id, outcome, &json!([{ "error": why }])).await;
        }
    };
    tx.savepoint("automation_due").await?;
    // Claim first: a second process settling the same run stops here.
    if !store_rules::settle(tx, run.id, Outcome::Acted, &json!([])).await? {
        tx.roll_back_to("automation_due").await?;
        return Ok(false);
    }
    let context = ActionContext::of_rule(&rule, &event);
    let results = perform(tx, &context, &conversation, &checked.actions).await?;
    store_rules::record_outcome(tx, run.id, outcome_of(&results), &json!(results)).await?;
    tx.release("automation_due").await?;
    Ok(true)
}

/// What a delayed run acts with, or why it does not act any more.
type Due = std::result::Result<(CheckedRule, StoredEvent, Conversation), (Outcome, String)>;

async fn still_due(tx: &mut Tx, scope: &AccountScope, rule: &Rule, run: &Run) -> Result<Due> {
    let not = |outcome: Outcome, why: &str| Ok(Err((outcome, why.to_owned())));
    if !rule.active {
        return not(Outcome::Lapsed, "the rule was switched off");
    }
    let custom = filters::custom_types(tx.conn(), scope, None).await?;
    let checked = match draft_of(rule).checked(&custom) {
        Ok(c) => c,
        Err(errors) => return not(Outcome::Failed, &joined(&errors)),
    };
    let Some(event) = throughline_store::outbox::event(tx.conn(), run.event_id)
        .await
        .found()?
    else {
        return not(Outcome::Lapsed, "the event is gone");
    };
    let Some(id) = run.conversation_id else {
        return not(Outcome::Failed, "the contact has no conversation to act on");
    };
    let Some(conversation) = conversations::by_internal_id(tx.conn(), scope, id)
        .await
        .found()?
    else {
        return not(Outcome::Lapsed, "the conversation is gone");
    };
    let facts = gather(tx.conn(), scope, Some(&conversation), &event).await?;
    if !core_rules::conditions::holds(&checked.conditions, &facts) {
        return not(
            Outcome::Lapsed,
            "the conditions no longer held when the delay ran out",
        );
    }
    Ok(Ok((checked, event, conversation)))
}

fn joined(errors: &[throughline_core::validate::FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Acted when every action was done, else failed (the detail says which and why).
fn outcome_of(results: &[Value]) -> Outcome {
    if results.iter().all(|r| r["ok"] == true) {
        Outcome::Acted
    } else {
        Outcome::Failed
    }
}

/// Who is acting and what their actions cause.
pub struct ActionContext {
    pub scope: AccountScope,
    /// Written on every event the actions cause (rules: the chain so far plus this rule).
    pub chain: Vec<i64>,
    /// `event` in `send_webhook_event`'s body.
    pub webhook_event: String,
    /// Tells this rule's (or macro's) webhook deliveries apart on one event.
    pub webhook_key: String,
    /// The outbox event the deliveries hang on.
    pub event_id: i64,
    /// The sender of messages and notes (a macro: the agent who ran it; a rule: nobody).
    pub sender: Option<i64>,
    pub rule_id: Option<i64>,
}

impl ActionContext {
    /// A rule acting on an event: as the rule, adding itself to the event's chain.
    fn of_rule(rule: &Rule, event: &StoredEvent) -> Self {
        Self {
            scope: AccountScope::automation(rule.account_id, rule.id),
            chain: core_rules::extend_chain(&event.automation_chain, rule.id),
            webhook_event: format!("automation_event.{}", rule.event_name),
            webhook_key: format!("rule:{}", rule.id),
            event_id: event.id,
            sender: None,
            rule_id: Some(rule.id),
        }
    }
}

/// Does the actions in order on the conversation (read again before each, as earlier ones
/// change it). Each runs in its own savepoint: one that cannot be done is undone alone,
/// recorded with its reason, and the rest go on. `Err` only when the database failed. The
/// events the actions cause carry the context's chain; later ones in `tx` carry none.
pub async fn perform(
    tx: &mut Tx,
    context: &ActionContext,
    conversation: &Conversation,
    actions: &[Action],
) -> Result<Vec<Value>> {
    tx.caused_by_rules(&context.chain);
    let done = perform_each(tx, context, conversation, actions).await;
    tx.caused_by_rules(&[]);
    done
}

async fn perform_each(
    tx: &mut Tx,
    context: &ActionContext,
    conversation: &Conversation,
    actions: &[Action],
) -> Result<Vec<Value>> {
    let mut results = Vec::with_capacity(actions.len());
    for (index, action) in actions.iter().enumerate() {
        tx.savepoint("automation_action").await?;
        let current =
            conversations::by_internal_id(tx.conn(), &context.scope, conversation.id).await?;
        match perform_one(tx, context, &current, action, index).await {
            Ok(()) => {
                tx.release("automation_action").await?;
                results.push(json!({ "action": action.name(), "ok": true }));
            }
            Err(e) if is_refusal(&e) => {
                tx.roll_back_to("automation_action").await?;
                results.push(
                    json!({ "action": action.name(), "ok": false, "error": refusal_words(&e) }),
                );
            }
            Err(e) => {
                tx.roll_back_to("automation_action").await?;
                return Err(e);
            }
        }
    }
    Ok(results)
}

/// Errors that are the action's own (the agent left, the team is gone), not the database's.
fn is_refusal(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::NotFound | StoreError::Refused(_) | StoreError::Conflict { .. }
    )
}

fn refusal_words(e: &StoreError) -> String {
    match e {
        StoreError::NotFound => "what the action names no longer exists".into(),
        other => other.to_string(),
    }
}

fn refuse(why: impl Into<String>) -> StoreError {
    StoreError::Refused(why.into())
}

async fn perform_one(
    tx: &mut Tx,
    context: &ActionContext,
    conversation: &Conversation,
    action: &Action,
    index: usize,
) -> Result<()> {
    let scope = &context.scope;
    match action {
        Action::AssignAgent(Some(id)) => {
            accounts::get_agent(tx.conn(), scope, *id)
                .await
                .found()?
                .ok_or_else(|| refuse(format!("user {id} is not an agent of this account")))?;
            conversations::assign(tx, scope, conversation, Some(Some(*id)), None).await?;
        }
        Action::AssignAgent(None) | Action::RemoveAssignedAgent => {
            conversations::assign(tx, scope, conversation, Some(None), None).await?;
        }
        Action::AssignLastRespondingAgent => {
            let agent = conversations::last_responding_agent(tx.conn(), conversation)
                .await?
                .ok_or_else(|| refuse("no agent has replied in this conversation yet"))?;
            if accounts::get_agent(tx.conn(), scope, agent)
                .await
                .found()?
                .is_none()
            {
                return Err(refuse(
                    "the agent who last replied is no longer in the account",
                ));
            }
            conversations::assign(tx, scope, conversation, Some(Some(agent)), None).await?;
        }
        Action::AssignTeam(Some(id)) => {
            teams::get(tx.conn(), scope, *id)
                .await
                .found()?
                .ok_or_else(|| refuse(format!("team {id} does not exist in this account")))?;
            conversations::assign(tx, scope, conversation, None, Some(Some(*id))).await?;
        }
        Action::AssignTeam(None) | Action::RemoveAssignedTeam => {
            conversations::assign(tx, scope, conversation, None, Some(None)).await?;
        }
        Action::AddLabel(labels) | Action::RemoveLabel(labels) => {
            let mut current = conversations::labels_of(tx.conn(), conversation).await?;
            if matches!(action, Action::AddLabel(_)) {
                for label in labels {
                    if !current.iter().any(|l| l.eq_ignore_ascii_case(label)) {
                        current.push(label.clone());
                    }
                }
            } else {
                current.retain(|l| !labels.iter().any(|r| r.eq_ignore_ascii_case(l)));
            }
            conversations::set_labels(tx, scope, conversation, &current).await?;
        }
        Action::SendMessage(text) => {
            check_reply_window(tx, scope, conversation).await?;
            let mut new = NewMessage::text(MessageType::Outgoing, text.clone());
            mark_origin(&mut new, context);
            messages::create(tx, scope, conversation, new).await?;
        }
        Action::AddPrivateNote(text) => {
            let mut new = NewMessage::text(MessageType::Outgoing, text.clone());
            new.private = true;
            mark_origin(&mut new, context);
            messages::create(tx, scope, conversation, new).await?;
        }
        Action::SendWebhookEvent(url) => {
            let mut body = conversations::webhook_data(tx, conversation).await?;
            if let Value::Object(map) = &mut body {
                map.insert("event".into(), json!(context.webhook_event));
            }
            hooks::enqueue(
                tx.conn(),
                NewDelivery {
                    account_id: conversation.account_id,
                    target: Target::Automation {
                        key: format!("{}:{index}", context.webhook_key),
                    },
                    event_id: context.event_id,
                    event_name: &context.webhook_event,
                    url,
                    payload: &body.to_string(),
                },
            )
            .await?;
        }
        Action::MuteConversation => {
            conversations::set_muted(tx, scope, conversation, true).await?;
        }
        Action::SnoozeConversation => {
            set_status(tx, scope, conversation, Status::Snoozed).await?;
        }
        Action::ChangeStatus(status) => {
            set_status(tx, scope, conversation, *status).await?;
        }
        Action::ChangePriority(priority) => {
            conversations::set_priority(tx, scope, conversation, *priority).await?;
        }
        Action::AddSla(policy_id) => {
            let Some(policy) = throughline_store::sla::get(tx.conn(), scope, *policy_id)
                .await
                .found()?
            else {
                return Err(refuse(format!("SLA policy {policy_id} no longer exists")));
            };
            // As in Chatwoot, a conversation keeps the policy it was given first.
            if throughline_store::sla::applied_to(tx.conn(), conversation.id)
                .await?
                .is_none()
            {
                crate::sla::apply(tx, conversation, &policy, throughline_store::now_ms()).await?;
            }
        }
    }
    Ok(())
}

fn mark_origin(new: &mut NewMessage, context: &ActionContext) {
    if let Some(rule_id) = context.rule_id {
        new.content_attributes = json!({ "automation_rule_id": rule_id });
    }
    if let Some(user_id) = context.sender {
        new.sender = Some((throughline_core::message::SenderType::User, user_id));
    }
}

async fn set_status(
    tx: &mut Tx,
    scope: &AccountScope,
    c: &Conversation,
    status: Status,
) -> Result<()> {
    conversations::set_status(
        tx,
        scope,
        c,
        StatusRequest::Set {
            status,
            snoozed_until: None,
        },
    )
    .await?;
    Ok(())
}

/// A reply through a windowed channel (WhatsApp, Messenger, Instagram) outside its window
/// would be refused by the provider: the action says so instead of sending.
async fn check_reply_window(tx: &mut Tx, scope: &AccountScope, c: &Conversation) -> Result<()> {
    let (inbox_id, _) = messages::reply_route(tx.conn(), c).await?;
    let channel = inboxes::channel_type(tx.conn(), scope, inbox_id).await?;
    let rules = ReplyRules::for_channel(channel);
    if rules.window_ms.is_none() {
        return Ok(());
    }
    let last = reply_channels::last_incoming_at(tx.conn(), scope, c.contact_id, inbox_id).await?;
    if rules.window_open(last, throughline_store::now_ms()) {
        Ok(())
    } else {
        Err(refuse(ReplyRules::window_closed(channel).explain()))
    }
}

/// The facts a rule's conditions are tested against: the conversation and contact as they are
/// now, the message or business event as the event recorded it.
pub async fn gather(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation: Option<&Conversation>,
    event: &StoredEvent,
) -> Result<Facts> {
    let mut facts = Facts {
        now: throughline_store::now_ms() / 1000,
        ..Facts::default()
    };
    let contact_id = conversation.map(|c| c.contact_id).or(event.contact_id);
    let contact = match contact_id {
        Some(id) => contacts::get(conn, scope, id).await.found()?,
        None => None,
    };
    if let Some(c) = &contact {
        contact_facts(&mut facts, c);
    }
    if let Some(c) = conversation {
        let labels = conversations::labels_of(conn, c).await?;
        let message_inbox = (event.kind == EventKind::MessageCreated)
            .then(|| event.payload["inbox"]["id"].as_i64())
            .flatten();
        let inbox_id = message_inbox.unwrap_or(c.inbox_id);
        let channel = inboxes::channel_type(conn, scope, inbox_id)
            .await
            .found()?
            .map(|t| t.short_name());
        conversation_facts(&mut facts, c, labels, inbox_id, channel);
    }
    match event.kind {
        EventKind::MessageCreated => message_facts(&mut facts, &event.payload),
        EventKind::BusinessEventCreated => business_facts(&mut facts, &event.payload),
        _ => {}
    }
    Ok(facts)
}

fn text_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn contact_facts(facts: &mut Facts, c: &Contact) {
    facts.text("email", c.email.as_deref());
    facts.text("phone_number", c.phone_number.as_deref());
    facts.text("name", Some(&c.name));
    facts.text("identifier", c.identifier.as_deref());
    let extra = &c.additional_attributes;
    facts.text("country_code", text_of(extra, "country_code"));
    facts.text("city", text_of(extra, "city"));
    let company = text_of(extra, "company_name").or_else(|| text_of(extra, "company"));
    facts.text("company_name", company);
    facts.text("company", company);
    if let Value::Object(map) = &c.custom_attributes {
        facts.custom.extend(map.clone());
    }
}

fn conversation_facts(
    facts: &mut Facts,
    c: &Conversation,
    labels: Vec<String>,
    inbox_id: i64,
    channel: Option<&str>,
) {
    facts.text("status", Some(c.status.as_str()));
    facts.text("priority", Some(c.priority.map_or("none", |p| p.as_str())));
    facts.integer("assignee_id", c.assignee_id);
    facts.integer("team_id", c.team_id);
    facts.integer("inbox_id", Some(inbox_id));
    facts.text("channel_type", channel);
    facts.set("labels", Fact::Texts(labels));
    let extra = &c.additional_attributes;
    facts.text("browser_language", text_of(extra, "browser_language"));
    facts.text(
        "conversation_language",
        text_of(extra, "conversation_language"),
    );
    facts.text("referer", text_of(extra, "referer"));
    facts.text("mail_subject", text_of(extra, "mail_subject"));
    // The conversation's own custom attributes win over the contact's of the same key.
    if let Value::Object(map) = &c.custom_attributes {
        facts.custom.extend(map.clone());
    }
}

fn message_facts(facts: &mut Facts, m: &Value) {
    facts.text("content", text_of(m, "content"));
    facts.text("message_type", text_of(m, "message_type"));
    facts.set("private_note", Fact::Flag(m["private"] == json!(true)));
    if let Some(subject) = m["content_attributes"]["email"]["subject"].as_str() {
        facts.text("mail_subject", Some(subject));
    }
}

fn business_facts(facts: &mut Facts, payload: &Value) {
    let event = &payload["business_event"];
    facts.text("event_type", text_of(event, "event_type"));
    facts.text("event_title", text_of(event, "title"));
    if let Value::Object(properties) = &event["properties"] {
        flatten_into(
            facts,
            core_rules::conditions::EVENT_FIELD_PREFIX,
            properties,
            0,
        );
    }
}

/// `{"order": {"total": 120}}` → `event.order.total = "120"`.
fn flatten_into(facts: &mut Facts, prefix: &str, map: &serde_json::Map<String, Value>, depth: u8) {
    for (key, value) in map {
        let name = format!("{prefix}{key}");
        match value {
            Value::Object(inner) if depth < 3 => {
                flatten_into(facts, &format!("{name}."), inner, depth + 1);
            }
            Value::String(s) => facts.text(&name, Some(s)),
            Value::Number(n) => facts.text(&name, Some(&n.to_string())),
            Value::Bool(b) => facts.text(&name, Some(&b.to_string())),
            _ => {}
        }
    }
}
