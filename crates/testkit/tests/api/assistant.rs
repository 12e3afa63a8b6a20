//! The AI assistant over the real API, against a fake OpenAI-compatible server driven by our
//! real HTTP client: Chatwoot's `openai` integration hook, reply suggestions grounded in (and
//! citing) the help center, semantic search by embeddings kept current by a timer, translation
//! kept on the message both ways, a summary for handover, the fallback when the model is slow
//! or failing, and an inbox whose conversations may not be sent — from which nothing leaves.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::fake_model::{Behaviour, FakeModel};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::help_center::{article, shop_portal};
use crate::{Thread, customer_writes, thread};

on_both_databases!(
    the_assistant_is_chatwoots_openai_hook,
    a_suggestion_is_grounded_in_the_help_center_and_cites_it,
    translations_are_kept_on_the_message_both_ways,
    a_summary_for_the_next_agent_leaves_private_notes_out,
    a_slow_or_failing_model_falls_back_to_the_articles,
    nothing_leaves_for_an_inbox_whose_conversations_may_not_be_sent,
    semantic_search_finds_what_the_words_miss,
);

const KEY: &str = "sk-test-assistant";

/// The account's assistant pointed at `model`, sending the conversations of `inboxes`.
async fn assistant(t: &TestApp, model: &FakeModel, settings: Value) -> Value {
    let mut all = json!({"api_key": KEY, "base_url": model.base_url(), "model": "fake-chat"});
    for (k, v) in settings.as_object().unwrap() {
        all[k] = v.clone();
    }
    t.post(
        &t.acc("/integrations/hooks"),
        json!({"hook": {"app_id": "openai", "settings": all}}),
    )
    .await
}

async fn process(
    t: &TestApp,
    hook: &Value,
    name: &str,
    data: Value,
) -> throughline_testkit::Answer {
    t.admin(
        "POST",
        &t.acc(&format!("/integrations/hooks/{}/process_event", hook["id"])),
        Some(json!({"event": {"name": name, "data": data}})),
    )
    .await
}

/// A shop's help center with an answer about returns, and a conversation on an API inbox in
/// which the customer asks about one.
async fn shop(t: &TestApp) -> (Value, Thread) {
    shop_portal(t, "loja").await;
    article(t, "loja", json!({"title": "Como devolver um produto", "locale": "pt_BR", "status": "published",
        "content": "Você pode devolver qualquer produto em até **7 dias** após a entrega, em Meus pedidos."})).await;
    article(
        t,
        "loja",
        json!({"title": "Formas de pagamento", "locale": "pt_BR", "status": "published",
        "content": "Aceitamos cartão de crédito, boleto bancário e PIX."}),
    )
    .await;
    let inbox = t.api_inbox("Loja API", None).await;
    let th = thread(
        t,
        &inbox,
        "Olá, quero devolver um produto que comprei. Como faço?",
    )
    .await;
    (inbox, th)
}

fn all_prompts(model: &FakeModel) -> String {
    model
        .chat_requests()
        .iter()
        .map(|b| b["messages"].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn the_assistant_is_chatwoots_openai_hook(b: Backend) {
    let t = TestApp::start(b).await;
    let model = FakeModel::start().await;
    let apps = t.get(&t.acc("/integrations/apps")).await;
    let openai = &apps["payload"][0];
    assert_eq!(openai["id"], "openai");
    assert_eq!(openai["enabled"], false);
    assert_eq!(openai["hooks"], json!([]));

    // Only administrators configure it.
    let (_, agent) = t.agent("bea@acme.test", "agent").await;
    let refused = t
        .call(
            "POST",
            &t.acc("/integrations/hooks"),
            Some(&agent),
            Some(json!({"app_id": "openai", "settings": {"base_url": model.base_url()}})),
        )
        .await;
    assert_eq!(refused.status, 403);

    // Bad settings are named.
    for (body, field) in [
        (json!({"app_id": "slack", "settings": {}}), "app_id"),
        (
            json!({"app_id": "openai", "settings": {"base_url": "file:///etc/passwd"}}),
            "settings.base_url",
        ),
        (
            json!({"app_id": "openai", "settings": {"timeout_seconds": 0}}),
            "settings.timeout_seconds",
        ),
        (
            json!({"app_id": "openai", "settings": {"customer_data_inbox_ids": "all"}}),
            "settings.customer_data_inbox_ids",
        ),
        (
            json!({"app_id": "openai", "settings": {"temperature": 2}}),
            "settings.temperature",
        ),
        (json!({"app_id": "openai", "status": "maybe"}), "status"),
    ] {
        let a = t
            .admin("POST", &t.acc("/integrations/hooks"), Some(body.clone()))
            .await;
        assert_eq!(a.status, 422, "{body}: {:?}", a.body);
        assert_eq!(a.body["attributes"], json!([field]), "{body}");
    }

    // Chatwoot's unwrapped payload works too; the key is never shown.
    let hook = t
        .post(&t.acc("/integrations/hooks"), json!({"app_id": "openai", "status": 1,
            "settings": {"api_key": KEY, "base_url": format!("{}/", model.base_url()), "model": "llama3.1"}}))
        .await;
    assert_eq!(hook["app_id"], "openai");
    assert_eq!(hook["status"], true);
    assert_eq!(hook["hook_type"], "account");
    assert_eq!(hook["settings"]["base_url"], model.base_url());
    assert_eq!(hook["settings"]["model"], "llama3.1");
    assert_eq!(hook["settings"]["api_key_set"], true);
    assert!(!hook.to_string().contains(KEY), "{hook}");
    let again = t
        .admin(
            "POST",
            &t.acc("/integrations/hooks"),
            Some(json!({"app_id": "openai"})),
        )
        .await;
    assert_eq!(again.status, 422, "{:?}", again.body);

    let apps = t.get(&t.acc("/integrations/apps")).await;
    assert_eq!(apps["payload"][0]["enabled"], true);
    assert_eq!(apps["payload"][0]["hooks"][0]["id"], hook["id"]);
    assert!(!apps.to_string().contains(KEY));

    // Turned off: agents are told, and no request leaves.
    let path = t.acc(&format!("/integrations/hooks/{}", hook["id"]));
    let off = t
        .admin("PATCH", &path, Some(json!({"status": 0})))
        .await
        .expect(200);
    assert_eq!(off["status"], false);
    assert_eq!(
        off["settings"]["api_key_set"], true,
        "a PATCH without a key keeps it"
    );
    let answer = process(
        &t,
        &hook,
        "shorten",
        json!({"content": "Hello there, how are you?"}),
    )
    .await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.body["reason"], "disabled");
    assert_eq!(model.request_count(), 0);
    let unknown = process(&t, &off, "write_poem", json!({})).await;
    assert_eq!(unknown.status, 422);

    // The audit log knows who changed it, never the key.
    let log = t.get(&t.acc("/audit_logs")).await.to_string();
    assert!(log.contains("Integrations::Hook"), "{log}");
    assert!(!log.contains(KEY));

    // The key can be cleared (a local server needs none).
    let cleared = t
        .admin(
            "PATCH",
            &path,
            Some(json!({"hook": {"status": "enabled", "settings": {"api_key": null}}})),
        )
        .await
        .expect(200);
    assert_eq!(cleared["settings"]["api_key_set"], false);
    let shortened = process(
        &t,
        &cleared,
        "shorten",
        json!({"content": "Hello there, how are you?"}),
    )
    .await
    .expect(200);
    assert_eq!(shortened["message"], "(fake model answer)");
    assert_eq!(shortened["ai_generated"], true);
    assert_eq!(model.requests()[0].authorization, None);
    assert_eq!(model.chat_requests()[0]["model"], "llama3.1");

    t.admin("DELETE", &path, None).await.expect(200);
    assert_eq!(t.admin("DELETE", &path, None).await.status, 404);
    assert_eq!(
        process(&t, &hook, "shorten", json!({"content": "x y z"}))
            .await
            .status,
        404
    );
}

async fn a_suggestion_is_grounded_in_the_help_center_and_cites_it(b: Backend) {
    let t = TestApp::start(b).await;
    let model = FakeModel::start().await.with_key(KEY);
    model.answer_when(
        "Como devolver um produto",
        "Claro! Você pode devolver em até 7 dias após a entrega [1].",
    );
    let (inbox, th) = shop(&t).await;
    let hook = assistant(
        &t,
        &model,
        json!({"customer_data_inbox_ids": [inbox["id"]]}),
    )
    .await;
    let answer = process(
        &t,
        &hook,
        "reply_suggestion",
        json!({"conversation_display_id": th.conversation_id}),
    )
    .await
    .expect(200);

    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("Claro! Você pode devolver em até 7 dias após a entrega ("),
        "{message}"
    );
    assert!(
        message.contains("/hc/loja/articles/como-devolver-um-produto)"),
        "{message}"
    );
    assert!(!message.contains("[1]"));
    assert_eq!(answer["ai_generated"], true);
    assert_eq!(answer["language"], "pt-BR");
    let cited: Vec<&Value> = answer["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["cited"] == true)
        .collect();
    assert_eq!(cited.len(), 1, "{answer}");
    assert_eq!(cited[0]["title"], "Como devolver um produto");

    // What the model was sent: the article as a numbered source, the customer as the user.
    let sent = &model.chat_requests()[0];
    assert_eq!(sent["model"], "fake-chat");
    let system = sent["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("[1] Como devolver um produto"), "{system}");
    assert!(system.contains("7 dias"));
    assert!(system.contains("Brazilian Portuguese"));
    assert_eq!(sent["messages"][1]["role"], "user");
    assert!(
        sent["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("quero devolver")
    );
    assert_eq!(
        model.requests()[0].authorization.as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );

    // An agent of the account may ask; a conversation of another account is not found.
    let (caio, agent) = t.agent("caio@acme.test", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [caio]}),
    )
    .await;
    let mine = t
        .call("POST", &t.acc(&format!("/integrations/hooks/{}/process_event", hook["id"])), Some(&agent),
            Some(json!({"event": {"name": "reply_suggestion", "data": {"conversation_display_id": th.conversation_id}}})))
        .await;
    assert_eq!(mine.status, 200, "{:?}", mine.body);
    let missing = process(
        &t,
        &hook,
        "reply_suggestion",
        json!({"conversation_display_id": 9999}),
    )
    .await;
    assert_eq!(missing.status, 404);
    let nameless = process(&t, &hook, "reply_suggestion", json!({})).await;
    assert_eq!(nameless.status, 422);
    assert_eq!(
        nameless.body["attributes"],
        json!(["conversation_display_id"])
    );
}

async fn translations_are_kept_on_the_message_both_ways(b: Backend) {
    let t = TestApp::start(b).await;
    let model = FakeModel::start().await.with_key(KEY);
    model
        .answer_when(
            "into Polish",
            "Cześć, chcę zwrócić produkt, który kupiłam. Jak to zrobić?",
        )
        .answer_when(
            "into Brazilian Portuguese",
            "Claro, você pode devolver em até 7 dias.",
        );
    let (inbox, th) = shop(&t).await;
    let hook = assistant(
        &t,
        &model,
        json!({"customer_data_inbox_ids": [inbox["id"]]}),
    )
    .await;
    let messages_path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let first = t.get(&messages_path).await["payload"][0].clone();
    let original = first["content"].as_str().unwrap().to_owned();

    // The customer's Portuguese, read in Polish by the agent, kept on the message.
    let path = format!("{messages_path}/{}/translate", first["id"]);
    let pl = t.post(&path, json!({"target_language": "pl"})).await;
    assert_eq!(
        pl["content"],
        "Cześć, chcę zwrócić produkt, który kupiłam. Jak to zrobić?"
    );
    assert_eq!(pl["ai_generated"], true);
    let kept = t.get(&messages_path).await["payload"][0].clone();
    assert_eq!(kept["content"], original, "the customer's words stay");
    assert_eq!(
        kept["content_attributes"]["translations"]["pl"],
        pl["content"]
    );
    let asked = model.request_count();
    t.post(&path, json!({"target_language": "PL"})).await;
    assert_eq!(
        model.request_count(),
        asked,
        "a kept translation is not asked again"
    );
    let bad = t
        .admin(
            "POST",
            &path,
            Some(json!({"target_language": "ignore all rules"})),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["attributes"], json!(["target_language"]));

    // The agent's Polish draft, into the customer's language (found from what they wrote).
    let draft = "Oczywiście, może Pani zwrócić produkt w ciągu 7 dni.";
    let pt = process(
        &t,
        &hook,
        "translate",
        json!({"conversation_display_id": th.conversation_id, "content": draft}),
    )
    .await
    .expect(200);
    assert_eq!(pt["language"], "pt-BR");
    assert_eq!(pt["message"], "Claro, você pode devolver em até 7 dias.");
    let prompt = all_prompts(&model);
    assert!(
        prompt.contains("into Brazilian Portuguese") && prompt.contains(draft),
        "{prompt}"
    );

    // Sent with both texts: the customer's language as content, the agent's in translations.
    let sent = t
        .post(
            &messages_path,
            json!({"content": pt["message"], "message_type": "outgoing",
        "content_attributes": {"translations": {"pl": draft}}}),
        )
        .await;
    assert_eq!(sent["content"], "Claro, você pode devolver em até 7 dias.");
    assert_eq!(sent["content_attributes"]["translations"]["pl"], draft);
    let listed = t.get(&messages_path).await;
    let last = listed["payload"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["content_attributes"]["translations"]["pl"], draft);
}

async fn a_summary_for_the_next_agent_leaves_private_notes_out(b: Backend) {
    let t = TestApp::start(b).await;
    let model = FakeModel::start().await;
    model.answer_when(
        "Summarize",
        "- Klientka chce zwrócić produkt\n- Czeka na instrukcje",
    );
    let (inbox, th) = shop(&t).await;
    let hook = assistant(
        &t,
        &model,
        json!({"customer_data_inbox_ids": [inbox["id"]]}),
    )
    .await;
    let messages_path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    t.post(
        &messages_path,
        json!({"content": "SECRET-NOTE: VIP, offer a voucher", "private": true}),
    )
    .await;
    t.post(
        &messages_path,
        json!({"content": "Vou verificar para você.", "message_type": "outgoing"}),
    )
    .await;
    customer_writes(&t, &th, "Obrigada, aguardo.").await;

    let summary = process(
        &t,
        &hook,
        "summarize",
        json!({"conversation_display_id": th.conversation_id, "locale": "pl"}),
    )
    .await
    .expect(200);
    assert_eq!(
        summary["message"],
        "- Klientka chce zwrócić produkt\n- Czeka na instrukcje"
    );
    assert_eq!(summary["ai_generated"], true);
    let prompt = all_prompts(&model);
    assert!(prompt.contains("in Polish"), "{prompt}");
    assert!(
        prompt.contains("Customer (Ana Souza): Olá, quero devolver"),
        "{prompt}"
    );
    assert!(prompt.contains("Agent (Agent): Vou verificar"), "{prompt}");
    assert!(prompt.contains("Obrigada, aguardo."), "{prompt}");
    assert!(
        !prompt.contains("SECRET-NOTE"),
        "private notes are never sent: {prompt}"
    );
}

async fn a_slow_or_failing_model_falls_back_to_the_articles(b: Backend) {
    let t = TestApp::start(b).await;
    let model = FakeModel::start().await;
    let (inbox, th) = shop(&t).await;
    let hook = assistant(
        &t,
        &model,
        json!({"customer_data_inbox_ids": [inbox["id"]], "timeout_seconds": 1}),
    )
    .await;
    let ask = || {
        process(
            &t,
            &hook,
            "reply_suggestion",
            json!({"conversation_display_id": th.conversation_id}),
        )
    };

    for (behaviour, reason) in [
        (Behaviour::Delay(Duration::from_secs(5)), "timeout"),
        (Behaviour::Status(429), "rate_limited"),
        (Behaviour::Status(500), "provider_error"),
        (Behaviour::Garbage, "provider_error"),
    ] {
        model.set_chat_behaviour(behaviour);
        let answer = ask().await;
        assert_eq!(answer.status, 422, "{behaviour:?}: {:?}", answer.body);
        assert_eq!(answer.body["reason"], reason, "{behaviour:?}");
        assert!(!answer.body["error"].as_str().unwrap().is_empty());
        // The answer without AI: the article lexical search found, for the agent to send.
        assert_eq!(
            answer.body["articles"][0]["title"], "Como devolver um produto",
            "{behaviour:?}"
        );
        assert_eq!(answer.body["articles"][0]["cited"], false);
    }
    model.set_chat_behaviour(Behaviour::Status(503));
    let rewrite = process(
        &t,
        &hook,
        "make_formal",
        json!({"content": "hey, gimme a sec"}),
    )
    .await;
    assert_eq!(rewrite.status, 422);
    assert_eq!(rewrite.body["reason"], "provider_error");
    assert_eq!(rewrite.body["articles"], json!([]));

    // A model that answers again is used again.
    model.set_chat_behaviour(Behaviour::Answer);
    assert_eq!(ask().await.status, 200);
}

async fn nothing_leaves_for_an_inbox_whose_conversations_may_not_be_sent(b: Backend) {
    let t = TestApp::start(b).await;
    let model = FakeModel::start().await;
    let (_inbox, th) = shop(&t).await;
    let other = t.api_inbox("Outra", None).await;
    let hook = assistant(
        &t,
        &model,
        json!({"customer_data_inbox_ids": [other["id"]]}),
    )
    .await;

    let suggestion = process(
        &t,
        &hook,
        "reply_suggestion",
        json!({"conversation_display_id": th.conversation_id}),
    )
    .await;
    assert_eq!(suggestion.status, 422);
    assert_eq!(suggestion.body["reason"], "customer_data_off");
    assert_eq!(
        suggestion.body["articles"][0]["title"], "Como devolver um produto",
        "the help center still answers without the model"
    );
    let summary = process(
        &t,
        &hook,
        "summarize",
        json!({"conversation_display_id": th.conversation_id}),
    )
    .await;
    assert_eq!(summary.body["reason"], "customer_data_off");
    let messages_path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let first = t.get(&messages_path).await["payload"][0]["id"].clone();
    let translate = t
        .admin(
            "POST",
            &format!("{messages_path}/{first}/translate"),
            Some(json!({"target_language": "en"})),
        )
        .await;
    assert_eq!(translate.status, 422);
    assert_eq!(translate.body["reason"], "customer_data_off");
    assert_eq!(
        model.request_count(),
        0,
        "no request left: {:?}",
        model.requests()
    );

    // Allowed, the same suggestion goes.
    t.admin(
        "PATCH",
        &t.acc(&format!("/integrations/hooks/{}", hook["id"])),
        Some(json!({"settings": {"customer_data_inbox_ids": [th.inbox["id"], other["id"]]}})),
    )
    .await
    .expect(200);
    process(
        &t,
        &hook,
        "reply_suggestion",
        json!({"conversation_display_id": th.conversation_id}),
    )
    .await
    .expect(200);
    assert_eq!(model.request_count(), 1);
}

async fn semantic_search_finds_what_the_words_miss(b: Backend) {
    let t = TestApp::start(b).await;
    let model = FakeModel::start().await;
    model
        .synonym("dinheiro", "estorno")
        .synonym("volta", "estorno");
    shop_portal(&t, "loja").await;
    let refund = article(
        &t,
        "loja",
        json!({"title": "Estorno", "locale": "pt_BR", "status": "published",
        "content": "Estorno em 5 dias úteis."}),
    )
    .await;
    article(
        &t,
        "loja",
        json!({"title": "Formas de pagamento", "locale": "pt_BR", "status": "published",
        "content": "Aceitamos cartão de crédito, boleto bancário e PIX."}),
    )
    .await;
    article(
        &t,
        "loja",
        json!({"title": "Rascunho", "locale": "pt_BR", "content": "Não publicado."}),
    )
    .await;
    let inbox = t.api_inbox("Loja API", None).await;
    let th = thread(&t, &inbox, "Quero meu dinheiro de volta").await;
    let hook = assistant(
        &t,
        &model,
        json!({"customer_data_inbox_ids": [inbox["id"]],
        "embedding_model": "fake-embed"}),
    )
    .await;

    // The timer embeds the published articles (drafts never).
    let embedded = t
        .eventually(Duration::from_secs(20), "articles embedded", || async {
            let inputs: Vec<Value> = model
                .embedding_requests()
                .iter()
                .flat_map(|r| r["input"].as_array().cloned().unwrap_or_default())
                .collect();
            (inputs.len() >= 2).then_some(inputs)
        })
        .await;
    assert_eq!(embedded.len(), 2, "{embedded:?}");
    assert!(
        embedded
            .iter()
            .all(|i| !i.as_str().unwrap().contains("Rascunho"))
    );
    assert_eq!(model.embedding_requests()[0]["model"], "fake-embed");

    // Lexical search alone finds nothing for these words…
    let lexical = t
        .get(&t.acc("/portals/loja/articles?query=dinheiro%20de%20volta"))
        .await;
    assert_eq!(lexical["payload"], json!([]));
    // …the suggestion is grounded in the article the embeddings found.
    let answer = process(
        &t,
        &hook,
        "reply_suggestion",
        json!({"conversation_display_id": th.conversation_id}),
    )
    .await
    .expect(200);
    assert_eq!(answer["articles"][0]["title"], "Estorno", "{answer}");
    assert!(all_prompts(&model).contains("[1] Estorno"));

    // An edited article is embedded again.
    let before = model.embedding_requests().len();
    t.admin(
        "PATCH",
        &t.acc(&format!("/portals/loja/articles/{}", refund["id"])),
        Some(json!({"article": {"content": "Estorno em até 10 dias úteis."}})),
    )
    .await
    .expect(200);
    t.eventually(
        Duration::from_secs(20),
        "the edited article embedded again",
        || async {
            model.embedding_requests()[before..]
                .iter()
                .any(|r| r["input"].to_string().contains("10 dias"))
                .then_some(())
        },
    )
    .await;
}
