//! The help center through the real API, in Chatwoot's shapes (portals named by slug,
//! `{payload, meta}` lists, articles drafted then published, translations hanging on their
//! root), and its public side: pages and JSON that show only what is published.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    portals_categories_and_articles_in_chatwoots_shapes,
    bad_help_center_input_is_refused_by_field,
    agents_write_articles_and_administrators_own_portals,
    the_public_side_shows_only_what_is_published,
    customers_find_articles_without_diacritics_or_exact_forms,
    a_website_inbox_shows_its_help_center_to_the_widget,
    a_portal_is_served_on_its_own_domain,
);

/// A portal `slug` in en, pt_BR and pl, with a category per locale.
pub(crate) async fn shop_portal(t: &TestApp, slug: &str) -> Value {
    t.post(
        &t.acc("/portals"),
        json!({"portal": {"name": "Loja Help", "slug": slug, "color": "#1F93FF",
            "header_text": "Como podemos ajudar?", "homepage_link": "https://shop.example.com",
            "config": {"default_locale": "pt_BR", "allowed_locales": ["pt_BR", "en", "pl"]}}}),
    )
    .await
}

async fn category(t: &TestApp, portal: &str, name: &str, locale: &str) -> Value {
    t.post(
        &t.acc(&format!("/portals/{portal}/categories")),
        json!({"category": {"name": name, "locale": locale, "description": format!("{name} ({locale})")}}),
    )
    .await["payload"]
        .clone()
}

pub(crate) async fn article(t: &TestApp, portal: &str, body: Value) -> Value {
    t.post(
        &t.acc(&format!("/portals/{portal}/articles")),
        json!({ "article": body }),
    )
    .await["payload"]
        .clone()
}

async fn portals_categories_and_articles_in_chatwoots_shapes(b: Backend) {
    let t = TestApp::start(b).await;
    let portal = shop_portal(&t, "loja").await;
    assert_eq!(portal["slug"], "loja");
    assert_eq!(portal["color"], "#1f93ff");
    assert_eq!(portal["config"]["default_locale"], "pt_BR");
    assert_eq!(
        portal["config"]["allowed_locales"][0],
        json!({"code": "pt_BR", "articles_count": 0, "categories_count": 0})
    );
    // A flat body (the docs' form) works too.
    let flat = t
        .post(&t.acc("/portals"), json!({"name": "Docs", "slug": "docs"}))
        .await;
    assert_eq!(flat["config"]["default_locale"], "en");

    let pedidos = category(&t, "loja", "Pedidos", "pt_BR").await;
    let orders = t
        .post(
            &t.acc("/portals/loja/categories"),
            json!({"name": "Orders", "locale": "en", "associated_category_id": pedidos["id"]}),
        )
        .await["payload"]
        .clone();
    assert_eq!(orders["slug"], "orders");
    assert_eq!(orders["root_category"]["id"], pedidos["id"]);

    // A new article is a draft; publishing is an update (Chatwoot's docs send status 1).
    let rastrear = article(
        &t,
        "loja",
        json!({"title": "Como rastrear meu pedido", "content": "Acesse **Meus pedidos** e clique em *Rastrear*.",
               "category_id": pedidos["id"], "description": "Acompanhe a entrega"}),
    )
    .await;
    assert_eq!(rastrear["status"], "draft");
    assert_eq!(rastrear["slug"], "como-rastrear-meu-pedido");
    assert_eq!(rastrear["locale"], "pt_BR", "the category's locale");
    assert_eq!(rastrear["category"]["slug"], "pedidos");
    assert!(rastrear["author"]["id"].is_i64());
    let id = rastrear["id"].as_i64().unwrap();
    let published = t
        .call(
            "PATCH",
            &t.acc(&format!("/portals/loja/articles/{id}")),
            Some(&t.token),
            Some(json!({"article": {"status": 1}})),
        )
        .await
        .expect(200);
    assert_eq!(published["payload"]["status"], "published");

    // A translation hangs on the root of its family, whichever member it names.
    let track = article(
        &t,
        "loja",
        json!({"title": "How to track my order", "content": "Open **My orders**.", "locale": "en",
               "status": "published", "associated_article_id": id}),
    )
    .await;
    let sledzenie = article(
        &t,
        "loja",
        json!({"title": "Jak śledzić zamówienie", "content": "Otwórz **Moje zamówienia**.", "locale": "pl",
               "status": "published", "associated_article_id": track["id"]}),
    )
    .await;
    assert_eq!(sledzenie["associated_article_id"], json!(id));
    assert_eq!(sledzenie["slug"], "jak-sledzic-zamowienie");
    let family = t.get(&t.acc(&format!("/portals/loja/articles/{id}"))).await;
    let mut locales: Vec<&str> = family["payload"]["associated_articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["locale"].as_str().unwrap())
        .collect();
    locales.sort_unstable();
    assert_eq!(locales, ["en", "pl"]);

    // Lists: {payload, meta} with Chatwoot's counts, which ignore the status filter.
    article(&t, "loja", json!({"title": "Rascunho", "content": "x"})).await;
    let drafts = t.get(&t.acc("/portals/loja/articles?status=draft")).await;
    assert_eq!(drafts["payload"].as_array().unwrap().len(), 1);
    assert_eq!(drafts["meta"]["articles_count"], 1);
    assert_eq!(drafts["meta"]["all_articles_count"], 4);
    assert_eq!(drafts["meta"]["published_count"], 3);
    assert_eq!(drafts["meta"]["draft_articles_count"], 1);
    assert_eq!(drafts["meta"]["mine_articles_count"], 4);
    let in_category = t
        .get(&t.acc("/portals/loja/articles?category_slug=pedidos&locale=pt_BR"))
        .await;
    assert_eq!(in_category["payload"][0]["id"], json!(id));
    let portals = t.get(&t.acc("/portals")).await;
    assert_eq!(portals["meta"]["portals_count"], 2);
    let loja = &portals["payload"][0];
    assert_eq!(loja["meta"]["all_articles_count"], 4);
    assert_eq!(loja["meta"]["categories_count"], 2);

    // Reorder, then update and delete a category (its articles stay, without it).
    t.post(
        &t.acc("/portals/loja/articles/reorder"),
        json!({"positions_hash": {id.to_string(): 1, track["id"].to_string(): 2}}),
    )
    .await;
    let reread = t.get(&t.acc(&format!("/portals/loja/articles/{id}"))).await;
    assert_eq!(reread["payload"]["position"], 1);
    let renamed = t
        .call(
            "PATCH",
            &t.acc(&format!("/portals/loja/categories/{}", pedidos["id"])),
            Some(&t.token),
            Some(json!({"category": {"name": "Meus pedidos", "position": 5}})),
        )
        .await
        .expect(200);
    assert_eq!(renamed["payload"]["name"], "Meus pedidos");
    assert_eq!(renamed["payload"]["meta"]["articles_count"], 1);
    t.call(
        "DELETE",
        &t.acc(&format!("/portals/loja/categories/{}", pedidos["id"])),
        Some(&t.token),
        None,
    )
    .await
    .expect(200);
    let orphan = t.get(&t.acc(&format!("/portals/loja/articles/{id}"))).await;
    assert_eq!(orphan["payload"]["category"], Value::Null);

    // Archive hides the portal's public side; delete removes it with its articles.
    t.call(
        "PATCH",
        &t.acc("/portals/docs/archive"),
        Some(&t.token),
        None,
    )
    .await
    .expect(200);
    assert_eq!(t.get(&t.acc("/portals/docs")).await["archived"], true);
    assert_eq!(t.call("GET", "/hc/docs", None, None).await.status, 404);
    t.call("DELETE", &t.acc("/portals/docs"), Some(&t.token), None)
        .await
        .expect(200);
    assert_eq!(
        t.call("GET", &t.acc("/portals/docs"), Some(&t.token), None)
            .await
            .status,
        404
    );
    // The portal's changes are in the audit log.
    let log = t.get(&t.acc("/audit_logs")).await;
    let portal_entries = log["audit_logs"]
        .as_array()
        .map(|l| l.iter().filter(|e| e["auditable_type"] == "Portal").count())
        .unwrap_or(0);
    assert!(portal_entries >= 4, "{log}");
}

/// The field a 422 names.
fn refused_field(answer: &throughline_testkit::Answer) -> String {
    assert_eq!(answer.status, 422, "{}", answer.body);
    answer.body["errors"][0]["field"]
        .as_str()
        .or(answer.body["field"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn bad_help_center_input_is_refused_by_field(b: Backend) {
    let t = TestApp::start(b).await;
    shop_portal(&t, "loja").await;
    let post = |path: &str, body: Value| {
        let path = t.acc(path);
        let token = t.token.clone();
        let t = &t;
        async move { t.call("POST", &path, Some(&token), Some(body)).await }
    };
    for (body, field) in [
        (json!({"name": "X", "slug": "Not A Slug"}), "slug"),
        (json!({"name": "", "slug": "x"}), "name"),
        (
            json!({"name": "X", "slug": "y", "color": "red;}body{"}),
            "color",
        ),
        (
            json!({"name": "X", "slug": "z", "custom_domain": "not a host"}),
            "custom_domain",
        ),
        (
            json!({"name": "X", "slug": "w", "homepage_link": "javascript:alert(1)"}),
            "homepage_link",
        ),
        (
            json!({"name": "X", "slug": "v", "config": {"allowed_locales": ["xx"]}}),
            "config.allowed_locales",
        ),
    ] {
        assert_eq!(
            refused_field(&post("/portals", body.clone()).await),
            field,
            "{body}"
        );
    }
    // The slug is taken (across accounts too: it is the public path).
    let taken = post("/portals", json!({"name": "Again", "slug": "loja"})).await;
    assert!([409, 422].contains(&taken.status), "{taken:?}");
    // A locale the portal does not have.
    let de = post(
        "/portals/loja/categories",
        json!({"name": "X", "locale": "de"}),
    )
    .await;
    assert_eq!(refused_field(&de), "locale");
    for (body, field) in [
        (json!({"title": "", "content": "x"}), "title"),
        (
            json!({"title": "T", "content": "x", "status": "live"}),
            "status",
        ),
        (
            json!({"title": "T", "content": "", "status": "published"}),
            "content",
        ),
        (
            json!({"title": "T", "content": "x".repeat(100_001)}),
            "content",
        ),
        (
            json!({"title": "T", "content": "x", "category_id": 999_999}),
            "category_id",
        ),
        (
            json!({"title": "T", "content": "x", "associated_article_id": 999_999}),
            "associated_article_id",
        ),
        (
            json!({"title": "T", "content": "x", "author_id": 999_999}),
            "author_id",
        ),
        (
            json!({"title": "T", "content": "x", "meta": "tags"}),
            "meta",
        ),
        (
            json!({"title": "T", "content": "x", "slug": "../x"}),
            "slug",
        ),
    ] {
        let got = post("/portals/loja/articles", json!({"article": body.clone()})).await;
        assert_eq!(refused_field(&got), field, "{body}");
    }
    let first = article(
        &t,
        "loja",
        json!({"title": "Prazo", "content": "x", "slug": "prazo"}),
    )
    .await;
    let again = post(
        "/portals/loja/articles",
        json!({"title": "Prazo 2", "content": "x", "slug": "prazo"}),
    )
    .await;
    assert_eq!(refused_field(&again), "slug");
    // A title that makes a taken slug gets a number.
    let second = article(&t, "loja", json!({"title": "Prazo", "content": "y"})).await;
    assert_eq!(first["slug"], "prazo");
    assert_eq!(second["slug"], "prazo-2");
    let bad_order = post(
        "/portals/loja/articles/reorder",
        json!({"positions_hash": {"abc": "x"}}),
    )
    .await;
    assert_eq!(refused_field(&bad_order), "positions_hash");
    let bad_feedback = t
        .call(
            "POST",
            "/hc/loja/articles/prazo/feedback",
            None,
            Some(json!({"helpful": "maybe"})),
        )
        .await;
    assert_eq!(refused_field(&bad_feedback), "helpful");
    assert_eq!(
        t.call(
            "GET",
            &t.acc("/portals/loja/articles?status=live"),
            Some(&t.token),
            None
        )
        .await
        .status,
        422
    );
    assert_eq!(
        t.call(
            "GET",
            &t.acc("/portals/nope/articles"),
            Some(&t.token),
            None
        )
        .await
        .status,
        404
    );
}

async fn agents_write_articles_and_administrators_own_portals(b: Backend) {
    let t = TestApp::start(b).await;
    shop_portal(&t, "loja").await;
    let (_ana, ana) = t.agent("ana@acme.test", "agent").await;
    let (_bia, bia) = t.agent("bia@acme.test", "agent").await;
    let refused = t
        .call(
            "POST",
            &t.acc("/portals"),
            Some(&ana),
            Some(json!({"name": "Mine", "slug": "mine"})),
        )
        .await;
    assert_eq!(refused.status, 403);
    let refused = t
        .call(
            "POST",
            &t.acc("/portals/loja/categories"),
            Some(&ana),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        t.call(
            "PATCH",
            &t.acc("/portals/loja"),
            Some(&ana),
            Some(json!({"name": "Hijack"}))
        )
        .await
        .status,
        403
    );
    // Any agent writes an article; only its author or an administrator deletes it.
    let own = t
        .call(
            "POST",
            &t.acc("/portals/loja/articles"),
            Some(&ana),
            Some(json!({"title": "Trocas", "content": "Em até 7 dias."})),
        )
        .await
        .expect(200);
    let id = own["payload"]["id"].as_i64().unwrap();
    assert_eq!(own["payload"]["author"]["email"], "ana@acme.test");
    let path = t.acc(&format!("/portals/loja/articles/{id}"));
    assert_eq!(t.call("DELETE", &path, Some(&bia), None).await.status, 403);
    t.call(
        "PATCH",
        &path,
        Some(&bia),
        Some(json!({"content": "Em até 30 dias."})),
    )
    .await
    .expect(200);
    t.call("DELETE", &path, Some(&ana), None).await.expect(200);
    // Another account's administrator sees none of it.
    let beta = crate::platform::second_account(&t, "Beta", "admin@beta.test").await;
    let other = format!("/api/v1/accounts/{}/portals/loja", beta.id);
    assert_eq!(
        t.call("GET", &other, Some(&beta.token), None).await.status,
        404
    );
    assert_eq!(
        t.call("GET", &t.acc("/portals/loja"), Some(&beta.token), None)
            .await
            .status,
        403
    );
}

/// An HTML page fetched as a browser would.
async fn page(t: &TestApp, path: &str) -> (u16, String) {
    let resp = t.client.get(t.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.text().await.unwrap();
    if status == 200 {
        let wanted = if path.ends_with(".xml") {
            "application/xml"
        } else {
            "text/html"
        };
        assert!(ctype.starts_with(wanted), "{path}: {ctype}");
    }
    (status, body)
}

async fn the_public_side_shows_only_what_is_published(b: Backend) {
    let t = TestApp::start(b).await;
    shop_portal(&t, "loja").await;
    let pedidos = category(&t, "loja", "Pedidos", "pt_BR").await;
    let pt = article(&t, "loja", json!({"title": "Como rastrear meu pedido", "status": "published",
        "category_id": pedidos["id"],
        "content": "# Rastreio\n\nAcesse **Meus pedidos**. <script>alert(1)</script>\n\n![mapa](https://cdn.example.com/m.png)"})).await;
    let pl = article(
        &t,
        "loja",
        json!({"title": "Jak śledzić zamówienie", "status": "published", "locale": "pl",
        "content": "Otwórz **Moje zamówienia**.", "associated_article_id": pt["id"]}),
    )
    .await;
    article(
        &t,
        "loja",
        json!({"title": "Segredo interno", "content": "rascunho secreto"}),
    )
    .await;
    let archived = article(
        &t,
        "loja",
        json!({"title": "Antigo", "content": "arquivado", "status": "archived"}),
    )
    .await;

    // Home, category, article in Portuguese; Polish home.
    let (status, home) = page(&t, "/hc/loja").await;
    assert_eq!(status, 200);
    assert!(home.contains("<html lang=\"pt-BR\""), "{home}");
    assert!(home.contains("Como rastrear meu pedido"));
    assert!(!home.contains("Segredo interno") && !home.contains("Antigo"));
    let (status, polish) = page(&t, "/hc/loja/pl").await;
    assert_eq!(status, 200);
    assert!(polish.contains("Jak śledzić zamówienie"));
    assert!(!polish.contains("Como rastrear"));
    let (status, cat) = page(&t, "/hc/loja/pt_BR/categories/pedidos").await;
    assert_eq!(status, 200);
    assert!(cat.contains("Como rastrear meu pedido"));
    let (status, body) = page(&t, "/hc/loja/articles/como-rastrear-meu-pedido").await;
    assert_eq!(status, 200);
    assert!(
        !body.contains("<script>alert"),
        "Markdown's raw HTML is sanitised"
    );
    assert!(body.contains("<strong>Meus pedidos</strong>"));
    assert!(
        body.contains("hreflang=\"pl\""),
        "the Polish translation is linked"
    );
    assert!(body.contains("/hc/loja/articles/jak-sledzic-zamowienie"));
    assert!(body.contains("property=\"og:title\""));

    // Drafts and archived articles are never public, in HTML or JSON.
    for slug in ["segredo-interno", "antigo"] {
        assert_eq!(page(&t, &format!("/hc/loja/articles/{slug}")).await.0, 404);
        assert_eq!(
            t.call("GET", &format!("/hc/loja/articles/{slug}.json"), None, None)
                .await
                .status,
            404
        );
    }
    assert_eq!(archived["status"], "archived");
    let (_, sitemap) = page(&t, "/hc/loja/sitemap.xml").await;
    assert!(
        sitemap.contains("como-rastrear-meu-pedido") && sitemap.contains("jak-sledzic-zamowienie")
    );
    assert!(!sitemap.contains("segredo") && !sitemap.contains("antigo"));
    // Unknown portal, locale or article: a 404 page.
    assert_eq!(page(&t, "/hc/nope").await.0, 404);
    assert_eq!(page(&t, "/hc/loja/de").await.0, 404);
    assert_eq!(page(&t, "/hc/loja/pt_BR/categories/nope").await.0, 404);

    // Chatwoot's widget reads the most viewed articles as JSON; reading a page counts a view.
    for _ in 0..2 {
        page(&t, "/hc/loja/articles/jak-sledzic-zamowienie").await;
    }
    let popular = t
        .call(
            "GET",
            "/hc/loja/pl/articles.json?page=1&sort=views&status=1&per_page=6",
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(popular["meta"]["articles_count"], 1);
    let first = &popular["payload"][0];
    assert_eq!(first["id"], pl["id"]);
    assert_eq!(first["views"], 2);
    assert_eq!(first["link"], "hc/loja/articles/jak-sledzic-zamowienie");
    assert_eq!(first["portal"]["slug"], "loja");
    assert!(first["author"]["available_name"].is_string());
    let one = t
        .call(
            "GET",
            "/hc/loja/articles/jak-sledzic-zamowienie.json",
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(one["id"], pl["id"]);

    // "Was this helpful?": a form post goes back to the page, thanked; JSON answers {}.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let voted = no_redirects
        .post(t.url("/hc/loja/articles/como-rastrear-meu-pedido/feedback"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("helpful=yes")
        .send()
        .await
        .unwrap();
    assert_eq!(voted.status().as_u16(), 303);
    let back = voted.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        back,
        "/hc/loja/articles/como-rastrear-meu-pedido?feedback=thanks"
    );
    let (_, thanked) = page(&t, &back).await;
    assert!(
        !thanked.contains("name=\"helpful\""),
        "no second question after answering"
    );
    t.call(
        "POST",
        "/hc/loja/articles/como-rastrear-meu-pedido/feedback",
        None,
        Some(json!({"helpful": false})),
    )
    .await
    .expect(200);
    assert_eq!(
        t.call(
            "POST",
            "/hc/loja/articles/segredo-interno/feedback",
            None,
            Some(json!({"helpful": true}))
        )
        .await
        .status,
        404
    );
    let counted = t
        .get(&t.acc(&format!("/portals/loja/articles/{}", pt["id"])))
        .await;
    assert_eq!(counted["payload"]["helpful_yes"], 1);
    assert_eq!(counted["payload"]["helpful_no"], 1);
}

async fn customers_find_articles_without_diacritics_or_exact_forms(b: Backend) {
    let t = TestApp::start(b).await;
    shop_portal(&t, "loja").await;
    for (title, content, locale) in [
        (
            "Como devolver um produto",
            "Você pode devolver qualquer produto em até 7 dias após a entrega.",
            "pt_BR",
        ),
        (
            "Formas de pagamento",
            "Aceitamos cartão de crédito, boleto e PIX.",
            "pt_BR",
        ),
        (
            "Zwrot zamówienia",
            "Zamówienie możesz zwrócić w ciągu 14 dni.",
            "pl",
        ),
        (
            "Płatności BLIK",
            "Płatność kodem BLIK jest natychmiastowa.",
            "pl",
        ),
    ] {
        article(
            &t,
            "loja",
            json!({"title": title, "content": content, "locale": locale, "status": "published"}),
        )
        .await;
    }
    article(
        &t,
        "loja",
        json!({"title": "Devolução secreta", "content": "devolver rascunho", "locale": "pt_BR"}),
    )
    .await;
    let search = |locale: &'static str, q: &'static str| {
        let t = &t;
        async move {
            t.call(
                "GET",
                &format!("/hc/loja/{locale}/articles.json?query={}", urlencode(q)),
                None,
                None,
            )
            .await
            .expect(200)
        }
    };
    let found = search("pt_BR", "devolucao de produtos").await;
    assert_eq!(
        found["payload"][0]["title"], "Como devolver um produto",
        "{found}"
    );
    assert_eq!(found["meta"]["articles_count"], 1, "the draft is not found");
    assert!(
        found["payload"][0]["highlight"]
            .as_str()
            .unwrap()
            .contains("<mark>")
    );
    let found = search("pt_BR", "pagamento com pix").await;
    assert_eq!(found["payload"][0]["title"], "Formas de pagamento");
    let found = search("pl", "zwrot zamowienia").await;
    assert_eq!(found["payload"][0]["title"], "Zwrot zamówienia");
    let found = search("pl", "platnosc blik").await;
    assert_eq!(found["payload"][0]["title"], "Płatności BLIK");
    // Words of another language's articles find nothing here; nonsense finds nothing.
    assert_eq!(search("pl", "xyzzy").await["meta"]["articles_count"], 0);
    // The HTML search page shows the hit with its highlighted passage.
    let (status, html) = page(&t, "/hc/loja/pl/articles?query=zamowienie").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Zwrot zamówienia") && html.contains("<mark>"),
        "{html}"
    );
    // The team's list searches too.
    let listed = t
        .get(&t.acc("/portals/loja/articles?query=boleto&locale=pt_BR"))
        .await;
    assert_eq!(listed["payload"][0]["title"], "Formas de pagamento");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn a_website_inbox_shows_its_help_center_to_the_widget(b: Backend) {
    let t = TestApp::start(b).await;
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    let ident = site["inbox_identifier"].as_str().unwrap().to_owned();
    // What the widget reads of its inbox.
    let widget_config = || async {
        t.call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200)
    };
    let widget = widget_config().await;
    assert!(
        widget.get("help_center").is_none(),
        "no portal names it yet"
    );
    // Only a website inbox of the account may show a portal.
    let api = t.api_inbox("API", None).await;
    let refused = t
        .call(
            "POST",
            &t.acc("/portals"),
            Some(&t.token),
            Some(json!({"name": "X", "slug": "x", "inbox_id": api["id"]})),
        )
        .await;
    assert_eq!(refused_field(&refused), "inbox_id");
    t.post(
        &t.acc("/portals"),
        json!({"name": "Ajuda", "slug": "ajuda", "inbox_id": site["id"],
               "config": {"allowed_locales": ["pt_BR", "pl"], "default_locale": "pt_BR"}}),
    )
    .await;
    let widget = widget_config().await;
    assert_eq!(
        widget["help_center"],
        json!({"slug": "ajuda", "name": "Ajuda", "default_locale": "pt_BR", "locales": ["pt_BR", "pl"]})
    );
    // One article's JSON carries its HTML as the page shows it, sanitised.
    article(
        &t,
        "ajuda",
        json!({"title": "Trocas", "status": "published",
               "content": "Em **7 dias**. <img src=x onerror=alert(1)>"}),
    )
    .await;
    let one = t
        .call("GET", "/hc/ajuda/articles/trocas.json", None, None)
        .await;
    let one = one.expect(200);
    let html = one["content_html"].as_str().unwrap();
    assert!(
        html.contains("<strong>7 dias</strong>") && !html.contains("onerror"),
        "{html}"
    );
    // The widget's answer: a form post asking for JSON gets JSON, readable from any site.
    let resp = t
        .client
        .post(t.url("/hc/ajuda/articles/trocas/feedback"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("helpful=no")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    // Archived, the portal leaves the widget.
    t.call(
        "PATCH",
        &t.acc("/portals/ajuda/archive"),
        Some(&t.token),
        None,
    )
    .await
    .expect(200);
    let widget = widget_config().await;
    assert!(widget.get("help_center").is_none());
}

/// A page fetched as a browser on `host` would ask for it.
async fn on_host(t: &TestApp, host: &str, path: &str) -> (u16, String) {
    let resp = t
        .client
        .get(t.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn a_portal_is_served_on_its_own_domain(b: Backend) {
    let t = TestApp::start(b).await;
    t.post(
        &t.acc("/portals"),
        json!({"name": "Acme Help", "slug": "acme", "custom_domain": "Help.Acme.test",
               "config": {"allowed_locales": ["en", "pl"]}}),
    )
    .await;
    article(
        &t,
        "acme",
        json!({"title": "Returns", "status": "published", "content": "Within 14 days."}),
    )
    .await;
    let (status, home) = on_host(&t, "help.acme.test", "/").await;
    assert_eq!(status, 200);
    assert!(home.contains("Returns"), "{home}");
    let (status, page) = on_host(&t, "help.acme.test:8443", "/articles/returns").await;
    assert_eq!(status, 200);
    assert!(page.contains("Within 14 days"));
    let (status, _) = on_host(&t, "help.acme.test", "/pl").await;
    assert_eq!(status, 200);
    // The pages' own /hc/… links work on the domain as they are.
    assert_eq!(
        on_host(&t, "help.acme.test", "/hc/acme/articles/returns")
            .await
            .0,
        200
    );
    // Another host is not the portal's: the server's own paths as usual (the app's pages).
    let (_, elsewhere) = on_host(&t, "other.example", "/articles/returns").await;
    assert!(!elsewhere.contains("Within 14 days"), "{elsewhere}");
    // The domain moves: the old one stops serving the portal at once on this server.
    t.call(
        "PATCH",
        &t.acc("/portals/acme"),
        Some(&t.token),
        Some(json!({"custom_domain": "docs.acme.test"})),
    )
    .await
    .expect(200);
    let (status, moved) = on_host(&t, "docs.acme.test", "/articles/returns").await;
    assert_eq!(status, 200);
    assert!(moved.contains("Within 14 days"));
    let (_, old) = on_host(&t, "help.acme.test", "/articles/returns").await;
    assert!(!old.contains("Within 14 days"), "{old}");
}
