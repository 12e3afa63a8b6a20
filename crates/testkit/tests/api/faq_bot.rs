//! The built-in FAQ bot over the real API: an agent bot of the `faq` kind connected to an
//! inbox answers customers from the help center, asks whether that solved it, and hands the
//! conversation to the team — on request, at the second miss, or when no article clearly fits —
//! after which routing gives it to an agent. On a website inbox and on an API inbox.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::help_center::{article, shop_portal};
use crate::routing::{assignee, eventually_assigned, online};
use crate::{Thread, thread};

on_both_databases!(
    the_faq_bot_answers_then_hands_over_at_the_second_miss,
    a_customer_who_asks_for_a_person_gets_one_at_once,
    faq_bots_are_checked_when_they_are_set_up,
    the_ai_model_phrases_the_bots_answers_where_allowed,
    an_after_hours_bot_leaves_open_hours_to_the_team,
);

/// A help center with two published answers in Portuguese and one in Polish.
async fn help_center(t: &TestApp) {
    shop_portal(t, "loja").await;
    article(t, "loja", json!({"title": "Como devolver um produto", "locale": "pt_BR", "status": "published",
        "description": "Devoluções em até 7 dias após a entrega.",
        "content": "Você pode devolver qualquer produto em até **7 dias** após a entrega. Acesse Meus pedidos e escolha Devolver."})).await;
    article(
        t,
        "loja",
        json!({"title": "Formas de pagamento", "locale": "pt_BR", "status": "published",
        "content": "Aceitamos cartão de crédito, boleto bancário e PIX."}),
    )
    .await;
    article(
        t,
        "loja",
        json!({"title": "Zwrot zamówienia", "locale": "pl", "status": "published",
        "content": "Zamówienie możesz zwrócić w ciągu 14 dni od dostawy."}),
    )
    .await;
}

/// An FAQ bot answering from `loja`, connected to `inbox`; `agent` is the inbox's member.
async fn faq_bot_on(t: &TestApp, inbox: &Value, agent: i64) -> Value {
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [agent]}),
    )
    .await;
    let bot = t
        .post(
            &t.acc("/agent_bots"),
            json!({"name": "Ajuda", "bot_type": "faq", "bot_config": {"portal_slug": "loja"}}),
        )
        .await;
    assert_eq!(bot["bot_type"], "faq");
    assert_eq!(bot["bot_config"]["portal_slug"], "loja");
    let set = t
        .admin(
            "POST",
            &t.acc(&format!("/inboxes/{}/set_agent_bot", inbox["id"])),
            Some(json!({"agent_bot": bot["id"]})),
        )
        .await;
    assert!((200..300).contains(&set.status), "{set:?}");
    bot
}

/// The customer writes again in the thread's conversation (Client API).
async fn customer_says(t: &TestApp, th: &Thread, text: &str) {
    let ident = th.inbox["inbox_identifier"].as_str().unwrap();
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
            th.source_id, th.conversation_id
        ),
        None,
        Some(json!({"content": text})),
    )
    .await
    .expect(200);
}

/// The bot's replies so far, once there are `n` of them.
async fn bot_replies(t: &TestApp, th: &Thread, n: usize) -> Vec<Value> {
    let path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    t.eventually(crate::routing::WAIT, "the bot's replies", || {
        let path = path.clone();
        async move {
            let all = t.get(&path).await;
            let replies: Vec<Value> = all["payload"]
                .as_array()?
                .iter()
                .filter(|m| m["message_type"] == 1 && m["sender_type"] == "AgentBot")
                .cloned()
                .collect();
            (replies.len() >= n).then_some(replies)
        }
    })
    .await
}

async fn status_of(t: &TestApp, th: &Thread) -> Value {
    t.get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
        .await["status"]
        .clone()
}

async fn the_faq_bot_answers_then_hands_over_at_the_second_miss(b: Backend) {
    let t = TestApp::start(b).await;
    help_center(&t).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let _ana_online = online(&t, &ana_token).await;
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    faq_bot_on(&t, &site, ana).await;

    // A confident answer: the article, its public link, and the question.
    let th = thread(&t, &site, "Como faço para devolver um produto?").await;
    let replies = bot_replies(&t, &th, 1).await;
    let answer = replies[0]["content"].as_str().unwrap();
    assert!(answer.contains("Como devolver um produto"), "{answer}");
    assert!(
        answer.contains("/hc/loja/articles/como-devolver-um-produto"),
        "{answer}"
    );
    assert!(answer.contains("Isso resolveu?"), "{answer}");
    assert_eq!(
        status_of(&t, &th).await,
        "pending",
        "the bot still holds it"
    );
    assert_eq!(assignee(&t, th.conversation_id).await, Value::Null);

    // "Não" is the first miss: the bot asks for other words.
    customer_says(&t, &th, "não").await;
    let replies = bot_replies(&t, &th, 2).await;
    assert!(
        replies[1]["content"]
            .as_str()
            .unwrap()
            .contains("outras palavras")
    );
    assert_eq!(status_of(&t, &th).await, "pending");

    // Nothing fits the next question: the second miss hands over, and routing assigns it.
    customer_says(&t, &th, "meu gato ficou doente ontem").await;
    let replies = bot_replies(&t, &th, 3).await;
    assert!(
        replies[2]["content"]
            .as_str()
            .unwrap()
            .contains("pessoa da nossa equipe")
    );
    assert_eq!(
        eventually_assigned(&t, th.conversation_id, "routed after the handover").await,
        ana
    );
    assert_eq!(status_of(&t, &th).await, "open");
    let all = t
        .get(&t.acc(&format!("/conversations/{}/messages", th.conversation_id)))
        .await;
    let handoff = all["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content_attributes"]["activity"]["kind"] == "bot_handoff")
        .cloned()
        .expect("an activity line says why");
    assert_eq!(
        handoff["content_attributes"]["activity"]["reason"],
        "second_miss"
    );

    // Open now: the bot stays out of the team's conversation.
    customer_says(&t, &th, "Como devolver um produto?").await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(bot_replies(&t, &th, 3).await.len(), 3);
}

async fn a_customer_who_asks_for_a_person_gets_one_at_once(b: Backend) {
    let t = TestApp::start(b).await;
    help_center(&t).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let _ana_online = online(&t, &ana_token).await;
    let api = t.api_inbox("Integração", None).await;
    faq_bot_on(&t, &api, ana).await;

    // Polish in, Polish out: the bot answers from the Polish articles.
    let th = thread(&t, &api, "Jak mogę zrobić zwrot zamówienia?").await;
    let replies = bot_replies(&t, &th, 1).await;
    let answer = replies[0]["content"].as_str().unwrap();
    assert!(
        answer.contains("Zwrot zamówienia") && answer.contains("Czy to rozwiązało"),
        "{answer}"
    );
    assert_eq!(
        replies[0]["content_attributes"]["faq_bot"]["url"]
            .as_str()
            .map(|u| u.ends_with("/hc/loja/articles/zwrot-zamowienia")),
        Some(true)
    );

    customer_says(&t, &th, "Poproszę konsultanta").await;
    let replies = bot_replies(&t, &th, 2).await;
    assert!(
        replies[1]["content"]
            .as_str()
            .unwrap()
            .contains("Przekazuję")
    );
    assert_eq!(
        eventually_assigned(&t, th.conversation_id, "routed after the request").await,
        ana
    );

    // A guess is not an answer: each word fits another article, so a person answers.
    let guess = thread(&t, &api, "devolver com cartão").await;
    let replies = bot_replies(&t, &guess, 1).await;
    assert!(
        replies[0]["content"]
            .as_str()
            .unwrap()
            .contains("pessoa da nossa equipe"),
        "{}",
        replies[0]["content"]
    );
    let lines = t
        .get(&t.acc(&format!(
            "/conversations/{}/messages",
            guess.conversation_id
        )))
        .await;
    assert!(
        lines["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| { m["content_attributes"]["activity"]["reason"] == "low_confidence" }),
        "{lines}"
    );

    // A "yes" after an answer resolves the conversation.
    let solved = thread(&t, &api, "Quais são as formas de pagamento?").await;
    let replies = bot_replies(&t, &solved, 1).await;
    assert!(
        replies[0]["content"]
            .as_str()
            .unwrap()
            .contains("Formas de pagamento")
    );
    customer_says(&t, &solved, "sim, obrigado").await;
    let replies = bot_replies(&t, &solved, 2).await;
    assert!(replies[1]["content"].as_str().unwrap().contains("Que bom"));
    t.eventually(crate::routing::WAIT, "resolved", || async {
        (status_of(&t, &solved).await == "resolved").then_some(())
    })
    .await;
}

async fn faq_bots_are_checked_when_they_are_set_up(b: Backend) {
    let t = TestApp::start(b).await;
    help_center(&t).await;
    for (body, field) in [
        (
            json!({"name": "B", "bot_type": "faq"}),
            "bot_config.portal_slug",
        ),
        (
            json!({"name": "B", "bot_type": "faq", "bot_config": {"portal_slug": "nope"}}),
            "bot_config.portal_slug",
        ),
        (
            json!({"name": "B", "bot_type": "faq", "bot_config": {"portal_slug": "loja", "min_confidence": 3}}),
            "bot_config.min_confidence",
        ),
        (json!({"name": "B", "bot_type": "csml"}), "bot_type"),
    ] {
        let got = t
            .call(
                "POST",
                &t.acc("/agent_bots"),
                Some(&t.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(got.status, 422, "{body}: {:?}", got.body);
        assert_eq!(got.body["errors"][0]["field"], field, "{body}");
    }
    // Another account's portal is not this account's bot's to answer from.
    let beta = crate::platform::second_account(&t, "Beta", "admin@beta.test").await;
    let theirs = t
        .call(
            "POST",
            &format!("/api/v1/accounts/{}/agent_bots", beta.id),
            Some(&beta.token),
            Some(json!({"name": "B", "bot_type": "faq", "bot_config": {"portal_slug": "loja"}})),
        )
        .await;
    assert_eq!(theirs.status, 422, "{:?}", theirs.body);
    // A webhook bot stays Chatwoot's kind, with an empty config.
    let plain = t.post(&t.acc("/agent_bots"), json!({"name": "Hook"})).await;
    assert_eq!(plain["bot_type"], "webhook");
    assert_eq!(plain["bot_config"], json!({}));
}

/// With the AI assistant on and the inbox's conversations allowed to reach it, the bot's
/// answer is the model's, from the article it found, marked as AI, with the link and the
/// question; when the model fails the customer still gets the plain answer; where the inbox is
/// not allowed, nothing reaches the model.
async fn the_ai_model_phrases_the_bots_answers_where_allowed(b: Backend) {
    use throughline_testkit::fake_model::{Behaviour, FakeModel};
    let t = TestApp::start(b).await;
    help_center(&t).await;
    let model = FakeModel::start().await;
    model.answer_when(
        "Answer the customer's question",
        "Claro! Você tem até 7 dias após a entrega: vá em Meus pedidos e escolha Devolver.",
    );
    let (ana, _) = t.agent("ana@acme.test", "agent").await;
    let api = t.api_inbox("Integração", None).await;
    let closed = t.api_inbox("Sem IA", None).await;
    faq_bot_on(&t, &api, ana).await;
    t.admin(
        "POST",
        &t.acc(&format!("/inboxes/{}/set_agent_bot", closed["id"])),
        Some(json!({"agent_bot": t.get(&t.acc("/agent_bots")).await[0]["id"]})),
    )
    .await
    .expect(200);
    t.post(
        &t.acc("/integrations/hooks"),
        json!({"app_id": "openai", "settings": {"base_url": model.base_url(),
            "model": "fake-chat", "customer_data_inbox_ids": [api["id"]]}}),
    )
    .await;

    let th = thread(&t, &api, "Como faço para devolver um produto?").await;
    let replies = bot_replies(&t, &th, 1).await;
    let answer = replies[0]["content"].as_str().unwrap();
    assert!(answer.starts_with("Claro! Você tem até 7 dias"), "{answer}");
    assert!(
        answer.contains("/hc/loja/articles/como-devolver-um-produto"),
        "{answer}"
    );
    assert!(answer.contains("Isso resolveu?"), "{answer}");
    assert_eq!(replies[0]["content_attributes"]["ai_generated"], true);
    let prompt = model.chat_requests()[0]["messages"].to_string();
    assert!(
        prompt.contains("Article: Como devolver um produto"),
        "{prompt}"
    );
    assert!(prompt.contains("Brazilian Portuguese"), "{prompt}");
    assert!(
        prompt.contains("Como faço para devolver um produto?"),
        "{prompt}"
    );

    // The model fails: the plain answer goes, not marked as AI.
    model.set_chat_behaviour(Behaviour::Status(500));
    let th2 = thread(&t, &api, "Quero devolver um produto, como faço?").await;
    let replies = bot_replies(&t, &th2, 1).await;
    let plain = replies[0]["content"].as_str().unwrap();
    assert!(plain.starts_with("Este artigo pode ajudar:"), "{plain}");
    assert!(replies[0]["content_attributes"]["ai_generated"].is_null());

    // An inbox whose conversations may not be sent: the plain answer, and no request.
    model.set_chat_behaviour(Behaviour::Answer);
    let asked = model.request_count();
    let th3 = thread(&t, &closed, "Como faço para devolver um produto?").await;
    let replies = bot_replies(&t, &th3, 1).await;
    assert!(
        replies[0]["content"]
            .as_str()
            .unwrap()
            .starts_with("Este artigo pode ajudar:")
    );
    assert_eq!(model.request_count(), asked);
}

/// `only_outside_business_hours`: while the inbox is open the bot hands every conversation to
/// the team at once; when it is closed, the bot answers.
async fn an_after_hours_bot_leaves_open_hours_to_the_team(b: Backend) {
    let t = TestApp::start(b).await;
    help_center(&t).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let _ana_online = online(&t, &ana_token).await;
    let api = t.api_inbox("Integração", None).await;
    let bot = faq_bot_on(&t, &api, ana).await;
    let bad = t
        .admin("PATCH", &t.acc(&format!("/agent_bots/{}", bot["id"])),
            Some(json!({"bot_config": {"portal_slug": "loja", "only_outside_business_hours": "sometimes"}})))
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.body["attributes"],
        json!(["bot_config.only_outside_business_hours"])
    );
    let set = t
        .admin(
            "PATCH",
            &t.acc(&format!("/agent_bots/{}", bot["id"])),
            Some(
                json!({"bot_config": {"portal_slug": "loja", "only_outside_business_hours": true}}),
            ),
        )
        .await
        .expect(200);
    assert_eq!(set["bot_config"]["only_outside_business_hours"], true);

    // No hours set: always open, so the team answers.
    let th = thread(&t, &api, "Como faço para devolver um produto?").await;
    let replies = bot_replies(&t, &th, 1).await;
    assert!(
        replies[0]["content"]
            .as_str()
            .unwrap()
            .contains("pessoa da nossa equipe")
    );
    assert_eq!(
        eventually_assigned(&t, th.conversation_id, "routed at once").await,
        ana
    );
    let all = t
        .get(&t.acc(&format!("/conversations/{}/messages", th.conversation_id)))
        .await;
    assert!(
        all["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content_attributes"]["activity"]["reason"] == "business_hours"),
        "{all}"
    );

    // Closed every day: the bot answers.
    let closed: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
        .collect();
    t.admin("PATCH", &t.acc(&format!("/inboxes/{}", api["id"])),
        Some(json!({"working_hours_enabled": true, "working_hours": closed, "timezone": "America/Sao_Paulo"})))
        .await
        .expect(200);
    let th2 = thread(&t, &api, "Como faço para devolver um produto?").await;
    let replies = bot_replies(&t, &th2, 1).await;
    assert!(
        replies[0]["content"]
            .as_str()
            .unwrap()
            .contains("Como devolver um produto"),
        "{replies:?}"
    );
    assert_eq!(status_of(&t, &th2).await, "pending");
}
