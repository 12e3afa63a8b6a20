//! Chatwoot's semantics where real clients broke (issue #17): each call as Evolution API
//! (`src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts`) or WAHA
//! (`src/apps/chatwoot/`) sends it, answered as Chatwoot answers it.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    conversation_create_builds_the_contact_inbox,
    filters_answer_as_chatwoot,
    contact_phones_follow_chatwoots_rule,
    api_integrations_report_message_status,
    activity_messages_are_accepted,
    contact_merge_as_evolution_calls_it,
);

fn contact_inboxes(contact: &Value) -> Vec<(i64, String)> {
    contact["contact_inboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ci| {
            (
                ci["inbox"]["id"].as_i64().unwrap(),
                ci["source_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `POST …/conversations` with contact_id and inbox_id builds the contact inbox for a new
/// source_id (ConversationsController#contact_inbox → ContactInboxBuilder), and takes the rest
/// of ConversationBuilder's fields.
async fn conversation_create_builds_the_contact_inbox(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("WhatsApp bridge", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let contact = t
        .post(&t.acc("/contacts"), json!({"name": "Ana Souza"}))
        .await["payload"]["contact"]
        .clone();
    let contact_id = contact["id"].as_i64().unwrap();

    // The bridge names its customer by its own id, new to the inbox.
    let relayed = t
        .admin(
            "POST",
            &t.acc("/conversations"),
            Some(json!({
                "source_id": "5511987654321@s.whatsapp.net",
                "inbox_id": inbox_id,
                "contact_id": contact_id,
                "additional_attributes": {"chat_id": "5511987654321@s.whatsapp.net"},
                "custom_attributes": {"wa_session": "default"}
            })),
        )
        .await
        .expect(200);
    assert_eq!(relayed["meta"]["sender"]["id"], contact_id);
    assert_eq!(relayed["inbox_id"], inbox_id);
    assert_eq!(
        relayed["additional_attributes"]["chat_id"],
        "5511987654321@s.whatsapp.net"
    );
    assert_eq!(relayed["custom_attributes"]["wa_session"], "default");
    let shown = t.get(&t.acc(&format!("/contacts/{contact_id}"))).await;
    assert_eq!(
        contact_inboxes(&shown["payload"]),
        vec![(inbox_id, "5511987654321@s.whatsapp.net".to_owned())],
        "the contact inbox was created with the bridge's source_id"
    );
    // Asked again, the same contact inbox serves (no second one).
    t.admin(
        "POST",
        &t.acc("/conversations"),
        Some(
            json!({"source_id": "5511987654321@s.whatsapp.net", "inbox_id": inbox_id,
                    "contact_id": contact_id}),
        ),
    )
    .await
    .expect(200);
    let shown = t.get(&t.acc(&format!("/contacts/{contact_id}"))).await;
    assert_eq!(contact_inboxes(&shown["payload"]).len(), 1);

    // Evolution API's own call: contact_id and inbox_id, pending when configured so.
    let pending = t
        .admin(
            "POST",
            &t.acc("/conversations"),
            Some(json!({"contact_id": contact_id, "inbox_id": inbox_id, "status": "pending"})),
        )
        .await
        .expect(200);
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["meta"]["sender"]["id"], contact_id);
    assert_ne!(pending["id"], relayed["id"]);

    // Everything ConversationBuilder and MessageBuilder take, at once.
    let (agent_id, _) = t.agent("agent@acme.test", "agent").await;
    let team = t.post(&t.acc("/teams"), json!({"name": "vendas"})).await;
    let full = t
        .admin(
            "POST",
            &t.acc("/conversations"),
            Some(json!({
                "source_id": "5511987654321@s.whatsapp.net",
                "inbox_id": inbox_id,
                "contact_id": contact_id,
                "status": "snoozed",
                "snoozed_until": "2099-01-01T00:00:00Z",
                "assignee_id": agent_id,
                "team_id": team["id"],
                "additional_attributes": {"browser": "WhatsApp"},
                "custom_attributes": {"order": 77},
                "message": {"content": "Olá, Ana!"}
            })),
        )
        .await
        .expect(200);
    assert_eq!(full["status"], "snoozed");
    assert_eq!(full["snoozed_until"], 4_070_908_800_i64);
    assert_eq!(full["meta"]["assignee"]["id"], agent_id);
    assert_eq!(full["meta"]["team"]["id"], team["id"]);
    assert_eq!(full["additional_attributes"]["browser"], "WhatsApp");
    assert_eq!(full["custom_attributes"]["order"], 77);
    let messages = t
        .get(&t.acc(&format!("/conversations/{}/messages", full["id"])))
        .await;
    let first = &messages["payload"][0];
    assert_eq!(
        (first["content"].as_str(), first["message_type"].as_i64()),
        (Some("Olá, Ana!"), Some(1))
    );
    // A snooze end given with another status is dropped, as Chatwoot resets it.
    let open = t
        .admin(
            "POST",
            &t.acc("/conversations"),
            Some(
                json!({"contact_id": contact_id, "inbox_id": inbox_id, "status": "open",
                        "snoozed_until": "2099-01-01T00:00:00Z", "assignee_id": agent_id}),
            ),
        )
        .await
        .expect(200);
    assert_eq!(open["status"], "open");
    assert!(
        open.get("snoozed_until").is_none_or(Value::is_null),
        "{open}"
    );

    // Another contact's source_id in the inbox: Chatwoot's "source_id should be unique".
    let other =
        t.post(&t.acc("/contacts"), json!({"name": "Bruno"})).await["payload"]["contact"]["id"]
            .clone();
    let taken = t
        .admin(
            "POST",
            &t.acc("/conversations"),
            Some(
                json!({"source_id": "5511987654321@s.whatsapp.net", "inbox_id": inbox_id,
                        "contact_id": other}),
            ),
        )
        .await;
    assert_eq!(taken.status, 422, "{}", taken.body);
    assert_eq!(taken.body["attributes"], json!(["source_id"]));
    // Without contact_id the source_id is only looked up: unknown is Chatwoot's 404.
    let unknown = t
        .admin(
            "POST",
            &t.acc("/conversations"),
            Some(json!({"source_id": "nobody@s.whatsapp.net", "inbox_id": inbox_id})),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

/// contacts/filter compares phone_number with `+` and the digits (Contacts::FilterService);
/// conversations/filter answers `meta` and `payload` at the top (filter.json.jbuilder).
async fn filters_answer_as_chatwoot(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("WhatsApp bridge", None).await;
    let ana = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana", "phone_number": "+5511987654321", "inbox_id": inbox["id"],
                   "identifier": "5511987654321@s.whatsapp.net"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    t.post(
        &t.acc("/contacts"),
        json!({"name": "Bruno", "phone_number": "+5521987654321"}),
    )
    .await;

    // Evolution API: both Brazilian forms, digits only, the last condition without operator.
    let evolution = t
        .admin(
            "POST",
            &t.acc("/contacts/filter"),
            Some(json!({"payload": [
                {"attribute_key": "phone_number", "filter_operator": "equal_to",
                 "values": ["551187654321"], "query_operator": "OR"},
                {"attribute_key": "phone_number", "filter_operator": "equal_to",
                 "values": ["5511987654321"], "query_operator": null}
            ]})),
        )
        .await
        .expect(200);
    assert_eq!(evolution["meta"]["count"], 1, "{evolution}");
    assert_eq!(evolution["payload"][0]["id"], ana);
    assert_eq!(evolution["payload"][0]["phone_number"], "+5511987654321");

    // WAHA: its own custom attribute (defined first, as it does), the identifier, and the
    // phone with and without `+`.
    t.post(
        &t.acc("/custom_attribute_definitions"),
        json!({"attribute_display_name": "WhatsApp chat id", "attribute_key": "waha_whatsapp_chat_id",
               "attribute_model": "contact_attribute", "attribute_display_type": "text"}),
    )
    .await;
    let clause = |key: &str, values: Value| {
        json!({"attribute_key": key, "filter_operator": "equal_to", "values": values,
               "attribute_model": "standard", "custom_attribute_type": "", "query_operator": "OR"})
    };
    let mut last = clause("phone_number", json!(["+5511987654321", "5511987654321"]));
    last.as_object_mut().unwrap().remove("query_operator");
    let waha = t
        .admin(
            "POST",
            &t.acc("/contacts/filter"),
            Some(json!({"payload": [
                clause("waha_whatsapp_chat_id", json!(["5511987654321@c.us"])),
                clause("identifier", json!(["5511987654321@c.us"])),
                last
            ]})),
        )
        .await
        .expect(200);
    let ids: Vec<&Value> = waha["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, vec![&json!(ana)]);
    assert_eq!(
        waha["payload"][0]["contact_inboxes"][0]["inbox"]["id"],
        inbox["id"]
    );
    // A key neither standard nor defined: Chatwoot's InvalidAttribute, a 422 (FilterHelper).
    let undefined = t
        .admin(
            "POST",
            &t.acc("/contacts/filter"),
            Some(json!({"payload": [clause("waha_whatsapp_lid", json!(["123@lid"]))]})),
        )
        .await;
    assert_eq!(undefined.status, 422, "{}", undefined.body);

    let th = thread(&t, &inbox, "Oi").await;
    let filtered = t
        .admin(
            "POST",
            &t.acc("/conversations/filter"),
            Some(
                json!({"payload": [{"attribute_key": "status", "filter_operator": "equal_to",
                                      "values": ["open"], "query_operator": null}]}),
            ),
        )
        .await
        .expect(200);
    assert!(filtered.get("data").is_none(), "{filtered}");
    assert_eq!(filtered["payload"][0]["id"], th.conversation_id);
    assert_eq!(filtered["meta"]["all_count"], 1);
}

/// Chatwoot's contact phone rule (app/models/contact.rb): `+` and up to 15 digits.
async fn contact_phones_follow_chatwoots_rule(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Evolution", None).await;
    // Evolution API's control contact, created with the inbox.
    let bot = t
        .admin(
            "POST",
            &t.acc("/contacts"),
            Some(
                json!({"inbox_id": inbox["id"], "name": "EvolutionAPI", "phone_number": "+123456",
                        "avatar_url": "https://evolution-api.com/files/evolution-api-favicon.png"}),
            ),
        )
        .await
        .expect(200);
    let bot_id = bot["payload"]["contact"]["id"].as_i64().unwrap();
    assert_eq!(bot["payload"]["contact"]["phone_number"], "+123456");
    // Its findContact('123456') finds it again.
    let found = t
        .post(
            &t.acc("/contacts/filter"),
            json!({"payload": [{"attribute_key": "phone_number", "filter_operator": "equal_to",
                                 "values": ["123456"], "query_operator": null}]}),
        )
        .await;
    assert_eq!(found["payload"][0]["id"], bot_id, "{found}");
    // A number kept as given proves nothing: another bridge's `+123456` is another contact.
    let other_inbox = t.api_inbox("Another bridge", None).await;
    let other = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": other_inbox["id"], "name": "Other bot", "phone_number": "+123456"}),
        )
        .await;
    assert_ne!(other["payload"]["contact"]["id"], bot_id, "{other}");
    // A number we parse is still normalised.
    let ana = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana", "phone_number": "+55 11 98765-4321"}),
        )
        .await;
    assert_eq!(ana["payload"]["contact"]["phone_number"], "+5511987654321");
    // Without `+`: Chatwoot's record-invalid answer.
    let id = ana["payload"]["contact"]["id"].as_i64().unwrap();
    for bad in ["5511987654321", "0055 11 98765 4321", "+0123456"] {
        let refused = t
            .admin(
                "PUT",
                &t.acc(&format!("/contacts/{id}")),
                Some(json!({"phone_number": bad})),
            )
            .await;
        assert_eq!(refused.status, 422, "{bad}");
        assert_eq!(
            (&refused.body["message"], &refused.body["attributes"]),
            (
                &json!("Phone number should be in e164 format"),
                &json!(["phone_number"])
            ),
            "{bad}"
        );
    }
}

/// `PATCH …/messages/{id}` with a delivery status, for API inboxes (MessagesController#update,
/// Messages::StatusUpdateService), as WAHA mirrors WhatsApp's acks.
async fn api_integrations_report_message_status(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    t.post(
        &t.acc("/webhooks"),
        json!({"url": rx.url, "subscriptions": ["message_updated"]}),
    )
    .await;
    let inbox = t.api_inbox("WAHA", None).await;
    let th = thread(&t, &inbox, "Oi").await;
    let messages = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let reply = t.post(&messages, json!({"content": "Olá!"})).await;
    let reply_id = reply["id"].as_i64().unwrap();
    let patch = |id: i64, body: Value| {
        let t = &t;
        let path = format!("{messages}/{id}");
        async move { t.admin("PATCH", &path, Some(body)).await }
    };

    let delivered = patch(reply_id, json!({"status": "delivered"}))
        .await
        .expect(200);
    assert_eq!(
        (delivered["id"].as_i64(), delivered["status"].as_str()),
        (Some(reply_id), Some("delivered"))
    );
    let read = patch(reply_id, json!({"status": "read"})).await.expect(200);
    assert_eq!(read["status"], "read");
    // Chatwoot only moves it forward: a late "delivered" never undoes "read".
    let late = patch(reply_id, json!({"status": "delivered"}))
        .await
        .expect(200);
    assert_eq!(late["status"], "read");

    let second = t.post(&messages, json!({"content": "Ainda aí?"})).await;
    let second_id = second["id"].as_i64().unwrap();
    let failed = patch(
        second_id,
        json!({"status": "failed", "external_error": "number not on WhatsApp"}),
    )
    .await
    .expect(200);
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["content_attributes"]["external_error"],
        "number not on WhatsApp"
    );
    assert_eq!(
        patch(second_id, json!({"status": "seen"})).await.status,
        422
    );

    // The change reaches integrations as message_updated.
    let updates = t
        .eventually(
            Duration::from_secs(15),
            "message_updated for read and failed",
            || {
                let rx = &rx;
                async move {
                    let got: Vec<Value> = rx
                        .received()
                        .into_iter()
                        .map(|r| r.body)
                        .filter(|b| b["event"] == "message_updated")
                        .collect();
                    let read = got
                        .iter()
                        .any(|b| b["id"] == reply_id && b["status"] == "read");
                    let failed = got
                        .iter()
                        .any(|b| b["id"] == second_id && b["status"] == "failed");
                    (read && failed).then_some(got)
                }
            },
        )
        .await;
    let failed_event = updates
        .iter()
        .find(|b| b["id"] == second_id && b["status"] == "failed")
        .unwrap();
    assert_eq!(
        failed_event["content_attributes"]["external_error"], "number not on WhatsApp",
        "{failed_event}"
    );

    // Other channels' statuses come from their providers: 403, as Chatwoot's ensure_api_inbox.
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    let conv = t
        .post(
            &t.acc("/conversations"),
            json!({"contact_id": th.contact_id, "inbox_id": site["id"]}),
        )
        .await;
    let site_messages = t.acc(&format!("/conversations/{}/messages", conv["id"]));
    let on_site = t.post(&site_messages, json!({"content": "Olá"})).await;
    let refused = t
        .admin(
            "PATCH",
            &format!("{site_messages}/{}", on_site["id"]),
            Some(json!({"status": "read"})),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}

/// `message_type: activity` (Messages::MessageBuilder takes every type), as WAHA posts its
/// session's events.
async fn activity_messages_are_accepted(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("WAHA", None).await;
    let th = thread(&t, &inbox, "Oi").await;
    let messages = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let activity = t
        .admin(
            "POST",
            &messages,
            Some(json!({"content": "WhatsApp session reconnected", "message_type": "activity"})),
        )
        .await
        .expect(200);
    assert_eq!(activity["message_type"], 2);
    assert_eq!(activity["content"], "WhatsApp session reconnected");
    let listed = t.get(&messages).await;
    assert!(
        listed["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == activity["id"] && m["message_type"] == 2),
        "{listed}"
    );
    let unknown = t
        .admin(
            "POST",
            &messages,
            Some(json!({"content": "x", "message_type": "broadcast"})),
        )
        .await;
    assert_eq!(unknown.status, 422);
}

/// `POST …/actions/contact_merge` as Evolution API sends it: when its two look-ups found the
/// same contact it asks to merge it into itself, which Chatwoot answers with the contact
/// (ContactMergeAction returns the base contact); a missing id is Chatwoot's 404.
async fn contact_merge_as_evolution_calls_it(b: Backend) {
    let t = TestApp::start(b).await;
    let ana = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana", "phone_number": "+5511987654321"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    let same = t
        .admin(
            "POST",
            &t.acc("/actions/contact_merge"),
            Some(json!({"base_contact_id": ana, "mergee_contact_id": ana})),
        )
        .await
        .expect(200);
    assert_eq!(same["id"], ana);
    assert_eq!(same["phone_number"], "+5511987654321");
    t.get(&t.acc(&format!("/contacts/{ana}"))).await;

    // mergeBrazilianContacts sends `undefined` (the key left out) when a form is missing.
    let missing = t
        .admin(
            "POST",
            &t.acc("/actions/contact_merge"),
            Some(json!({"mergee_contact_id": ana})),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);

    let old_form = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana (old)", "identifier": "551187654321@s.whatsapp.net"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    let merged = t
        .admin(
            "POST",
            &t.acc("/actions/contact_merge"),
            Some(json!({"base_contact_id": ana, "mergee_contact_id": old_form})),
        )
        .await
        .expect(200);
    assert_eq!(merged["id"], ana);
    assert_eq!(merged["identifier"], "551187654321@s.whatsapp.net");
    assert_eq!(
        t.admin("GET", &t.acc(&format!("/contacts/{old_form}")), None)
            .await
            .status,
        404
    );
}
