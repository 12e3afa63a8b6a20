//! Contacts through the Application API.

use serde_json::json;
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    contact_crud_search_and_validation,
    contact_labels_notes_identities_and_conversations,
    contact_filter_and_merge,
);

async fn contact_crud_search_and_validation(b: Backend) {
    let t = TestApp::start(b).await;
    let created = t
        .post(&t.acc("/contacts"), json!({"name": "Beatriz Lima", "email": " Bia@Correio.example ", "phone_number": "+55 11 91234-5678", "custom_attributes": {"plan": "pro"}}))
        .await;
    let c = &created["payload"]["contact"];
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["email"], "bia@correio.example");
    assert_eq!(c["phone_number"], "+5511912345678");

    let dup = t
        .admin(
            "POST",
            &t.acc("/contacts"),
            Some(json!({"name": "Other", "email": "BIA@correio.example"})),
        )
        .await;
    assert_eq!(dup.status, 422);
    assert_eq!(dup.body["attributes"], json!(["email"]));
    for bad in [
        json!({"phone_number": "11 91234-5678"}),
        json!({"phone_number": "+55 abc"}),
        json!({"email": "no-at-sign"}),
        json!({"custom_attributes": "x"}),
    ] {
        let a = t
            .admin("POST", &t.acc("/contacts"), Some(bad.clone()))
            .await;
        assert_eq!(a.status, 422, "{bad}");
    }
    assert_eq!(
        t.get(&t.acc("/contacts")).await["meta"]["count"],
        1,
        "refused writes wrote nothing"
    );

    let shown = t.get(&t.acc(&format!("/contacts/{id}"))).await;
    assert_eq!(shown["payload"]["custom_attributes"]["plan"], "pro");
    let updated = t
        .admin(
            "PUT",
            &t.acc(&format!("/contacts/{id}")),
            Some(json!({"name": "Bia Lima", "custom_attributes": {"city": "Recife"}})),
        )
        .await
        .expect(200);
    assert_eq!(updated["payload"]["name"], "Bia Lima");
    assert_eq!(
        updated["payload"]["custom_attributes"],
        json!({"plan": "pro", "city": "Recife"})
    );

    for q in ["bia", "CORREIO", "91234", "lima"] {
        let found = t.get(&t.acc(&format!("/contacts/search?q={q}"))).await;
        assert_eq!(found["meta"]["count"], 1, "{q}");
    }
    assert_eq!(
        t.get(&t.acc("/contacts/search?q=100%25")).await["meta"]["count"],
        0,
        "LIKE wildcards are literal"
    );
    assert_eq!(
        t.admin("GET", &t.acc("/contacts/search"), None)
            .await
            .status,
        422
    );
    assert_eq!(
        t.admin("GET", &t.acc("/contacts?sort=shoe_size"), None)
            .await
            .status,
        400
    );

    t.admin("DELETE", &t.acc(&format!("/contacts/{id}")), None)
        .await
        .expect(200);
    assert_eq!(
        t.admin("GET", &t.acc(&format!("/contacts/{id}")), None)
            .await
            .status,
        404
    );
}

async fn contact_labels_notes_identities_and_conversations(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let c = t.post(&t.acc("/contacts"), json!({"name": "Zofia"})).await;
    let id = c["payload"]["contact"]["id"].as_i64().unwrap();
    assert_eq!(
        t.post(
            &t.acc(&format!("/contacts/{id}/labels")),
            json!({"labels": ["VIP", "b2b"]})
        )
        .await["payload"],
        json!(["b2b", "vip"])
    );
    assert_eq!(
        t.get(&t.acc(&format!("/contacts/{id}/labels"))).await["payload"],
        json!(["b2b", "vip"])
    );

    let note = t
        .post(
            &t.acc(&format!("/contacts/{id}/notes")),
            json!({"content": "Prefere contato por e-mail"}),
        )
        .await;
    assert_eq!(note["user"]["id"], 1);
    let edited = t
        .admin(
            "PATCH",
            &t.acc(&format!("/contacts/{id}/notes/{}", note["id"])),
            Some(json!({"content": "Prefers email"})),
        )
        .await
        .expect(200);
    assert_eq!(edited["content"], "Prefers email");
    assert_eq!(
        t.get(&t.acc(&format!("/contacts/{id}/notes")))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    t.admin(
        "DELETE",
        &t.acc(&format!("/contacts/{id}/notes/{}", note["id"])),
        None,
    )
    .await
    .expect(200);

    let ci = t
        .post(
            &t.acc(&format!("/contacts/{id}/contact_inboxes")),
            json!({"inbox_id": inbox["id"], "source_id": "crm-123"}),
        )
        .await;
    assert_eq!(ci["source_id"], "crm-123");
    let again = t
        .admin(
            "POST",
            &t.acc(&format!("/contacts/{id}/contact_inboxes")),
            Some(json!({"inbox_id": inbox["id"], "source_id": "crm-123"})),
        )
        .await;
    assert_eq!(again.status, 422, "a source id is unique in its inbox");
    let shown = t.get(&t.acc(&format!("/contacts/{id}"))).await;
    assert_eq!(
        shown["payload"]["contact_inboxes"][0]["source_id"],
        "crm-123"
    );
    assert_eq!(
        shown["payload"]["contact_inboxes"][0]["inbox"]["channel_type"],
        "Channel::Api"
    );
    let contactable = t
        .get(&t.acc(&format!("/contacts/{id}/contactable_inboxes")))
        .await;
    assert_eq!(contactable["payload"][0]["source_id"], "crm-123");

    t.post(
        &t.acc("/conversations"),
        json!({"source_id": "crm-123", "inbox_id": inbox["id"]}),
    )
    .await;
    let convs = t
        .get(&t.acc(&format!("/contacts/{id}/conversations")))
        .await;
    assert_eq!(convs["payload"].as_array().unwrap().len(), 1);
}

async fn contact_filter_and_merge(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let base = t.post(&t.acc("/contacts"), json!({"name": "Ana Souza", "email": "ana@example.com", "additional_attributes": {"city": "Campinas"}})).await["payload"]["contact"]["id"].as_i64().unwrap();
    let dup = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana S.", "phone_number": "+5511912345678", "inbox_id": inbox["id"]}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    t.post(
        &t.acc("/contacts"),
        json!({"name": "Piotr Nowak", "email": "piotr@poczta.example"}),
    )
    .await;

    let filtered = t
        .post(&t.acc("/contacts/filter"), json!({"payload": [{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Campinas"]}]}))
        .await;
    assert_eq!(filtered["meta"]["count"], 1);
    assert_eq!(filtered["payload"][0]["id"], base);
    let by_name = t
        .post(&t.acc("/contacts/filter"), json!({"payload": [{"attribute_key": "name", "filter_operator": "contains", "values": ["souza"]}]}))
        .await;
    assert_eq!(by_name["meta"]["count"], 1);

    let conv = t
        .post(
            &t.acc("/conversations"),
            json!({"contact_id": dup, "inbox_id": inbox["id"]}),
        )
        .await;
    let merged = t
        .post(
            &t.acc("/actions/contact_merge"),
            json!({"base_contact_id": base, "mergee_contact_id": dup}),
        )
        .await;
    assert_eq!(merged["id"], base);
    assert_eq!(merged["email"], "ana@example.com");
    assert_eq!(merged["phone_number"], "+5511912345678");
    assert_eq!(
        merged["contact_inboxes"].as_array().unwrap().len(),
        1,
        "the identity moved"
    );
    assert_eq!(
        t.get(&t.acc(&format!("/conversations/{}", conv["id"])))
            .await["meta"]["sender"]["id"],
        base
    );
    assert_eq!(
        t.admin("GET", &t.acc(&format!("/contacts/{dup}")), None)
            .await
            .status,
        404
    );
    // Chatwoot answers a merge into itself with the contact, unchanged (ContactMergeAction).
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/actions/contact_merge"),
            Some(json!({"base_contact_id": base, "mergee_contact_id": base}))
        )
        .await
        .expect(200)["id"],
        base
    );
    assert_eq!(
        t.admin(
            "POST",
            &t.acc("/actions/contact_merge"),
            Some(json!({"base_contact_id": base, "mergee_contact_id": 424_242}))
        )
        .await
        .status,
        404
    );
}
