//! The help center's public pages as a browser and a crawler meet them, over real HTTP: a
//! portal in three languages (with hostile text in its name and header, and articles whose
//! Markdown holds headings, lists, links, images, tables and raw HTML) is seeded through the
//! admin API, then every page type in every language is parsed with
//! [`throughline_testkit::html`] and checked (no parse error, no quirks mode, its language,
//! one `<h1>`, the head's tags, nothing executable), every link found is followed and must
//! answer, and the sitemap lists exactly what is published.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Value, json};
use throughline_testkit::html::{self, Page};
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    every_public_page_is_valid_html_and_every_link_answers,
    the_sitemap_lists_every_published_page_and_nothing_else,
);

const PORTAL: &str = "loja";
const DEFAULT_LOCALE: &str = "pt_BR";
const LOCALES: [&str; 3] = ["pt_BR", "en", "pl"];
/// The slug of the seeded category without articles.
const EMPTY_CATEGORY: &str = "billing";
/// The portal's name and header text: shown on every page, escaped, never run.
const HOSTILE_NAME: &str = "<script>alert(\"name\")</script> Loja & Cia";
const HOSTILE_HEADER: &str = "\"><img src=x onerror=alert('header')>Como podemos ajudar?";
/// Raw HTML inside Markdown: the renderer's sanitiser removes what could run.
const HOSTILE_MARKDOWN: &str = "<script>alert('md')</script>\n\n\
    <img src=x onerror=alert('md')> <a href=\"javascript:alert('md')\">clique</a> \
    <iframe src=\"https://evil.example.com/\"></iframe> \
    <div onclick=\"alert('md')\" style=\"color:red\">estilo</div>\n";

/// What the seeded portal holds, as the admin API answered.
struct Seeded {
    /// Published articles: slug → locale.
    published: BTreeMap<String, String>,
    /// Slugs of the translation family (pt_BR root, en and pl translations).
    family: Vec<String>,
    /// Categories: (locale, slug).
    categories: Vec<(String, String)>,
    /// Draft and archived articles: (slug, title); never public.
    hidden: Vec<(String, String)>,
}

async fn seed(t: &TestApp) -> Seeded {
    let portal = t
        .post(
            &t.acc("/portals"),
            json!({"portal": {"name": HOSTILE_NAME, "slug": PORTAL, "color": "#1F93FF",
                "header_text": HOSTILE_HEADER, "homepage_link": "https://shop.example.com",
                "config": {"default_locale": DEFAULT_LOCALE, "allowed_locales": LOCALES}}}),
        )
        .await;
    assert_eq!(portal["slug"], PORTAL, "{portal}");
    assert_eq!(
        portal["name"], HOSTILE_NAME,
        "stored as written: escaping is the page's job"
    );

    let mut categories = Vec::new();
    let mut category_ids = BTreeMap::new();
    for (locale, name) in [
        ("pt_BR", "Pedidos"),
        ("en", "Orders"),
        ("pl", "Zamówienia"),
        // A category without any article: the home leaves it out, its page has its empty state.
        ("en", "Billing"),
    ] {
        let c = t
            .post(
                &t.acc(&format!("/portals/{PORTAL}/categories")),
                json!({"category": {"name": name, "locale": locale,
                    "description": format!("{name}: <b>tudo</b> & mais")}}),
            )
            .await["payload"]
            .clone();
        let slug = c["slug"].as_str().unwrap().to_owned();
        category_ids.insert(slug.clone(), c["id"].clone());
        categories.push((locale.to_owned(), slug));
    }

    let rich_pt = format!(
        "# Rastreio\n\nAcesse **Meus pedidos** e siga os passos:\n\n\
         - Abra a categoria [Pedidos](/hc/{PORTAL}/pt_BR/categories/pedidos)\n\
         - Leia sobre [trocas](/hc/{PORTAL}/articles/trocas-e-devolucoes)\n\
         - Ou fale com a [loja](https://shop.example.com/contato)\n\n\
         ![Mapa da entrega](https://cdn.example.com/mapa.png)\n\n\
         | Status | Prazo |\n|---|---|\n| Enviado | 2 dias |\n| Em trânsito | 5 dias |\n\n\
         {HOSTILE_MARKDOWN}"
    );
    let rich_en = format!(
        "## Steps\n\n1. Open **My orders**.\n2. Click *Track*.\n\n\
         See [returns](/hc/{PORTAL}/articles/returns-and-exchanges) or the \
         [shop](https://shop.example.com/help).\n\n\
         ![Map](https://cdn.example.com/map.png \"Delivery map\")\n\n\
         | Status | Days |\n|:--|--:|\n| Shipped | 2 |\n\n{HOSTILE_MARKDOWN}"
    );
    let rich_pl = format!(
        "## Kroki\n\n* Otwórz **Moje zamówienia**.\n* Kliknij *Śledź*.\n\n\
         Zobacz [zwroty](/hc/{PORTAL}/articles/zwroty).\n\n\
         ![Mapa](https://cdn.example.com/mapa-pl.png)\n\n\
         | Status | Dni |\n|---|---|\n| Wysłane | 2 |\n\n{HOSTILE_MARKDOWN}"
    );

    let mut published = BTreeMap::new();
    let mut hidden = Vec::new();
    let mut family = Vec::new();
    let root = article(
        t,
        json!({"title": "Como rastrear meu pedido", "content": rich_pt, "status": "published",
            "category_id": category_ids["pedidos"], "description": "Acompanhe a entrega"}),
    )
    .await;
    let en = article(
        t,
        json!({"title": "How to track my order", "content": rich_en, "status": "published",
            "locale": "en", "category_id": category_ids["orders"],
            "associated_article_id": root["id"]}),
    )
    .await;
    let pl = article(
        t,
        json!({"title": "Jak śledzić zamówienie", "content": rich_pl, "status": "published",
            "locale": "pl", "category_id": category_ids["zamowienia"],
            "associated_article_id": root["id"]}),
    )
    .await;
    for a in [&root, &en, &pl] {
        family.push(a["slug"].as_str().unwrap().to_owned());
    }
    let others = [
        json!({"title": "Trocas e devoluções", "slug": "trocas-e-devolucoes", "status": "published",
            "category_id": category_ids["pedidos"],
            "content": "## Prazo\n\nVocê tem **7 dias** para devolver um pedido.\n\n- Embale\n- Envie"}),
        json!({"title": "Formas de pagamento", "status": "published", "locale": "pt_BR",
            "content": "Aceitamos cartão, boleto e PIX para qualquer pedido."}),
        json!({"title": "Returns & exchanges <fast>", "slug": "returns-and-exchanges",
            "status": "published", "locale": "en", "category_id": category_ids["orders"],
            "description": "\"><script>alert('description')</script>",
            "content": "Return any order within **30 days**."}),
        json!({"title": "Zwroty", "slug": "zwroty", "status": "published", "locale": "pl",
            "category_id": category_ids["zamowienia"],
            "content": "Zamówienie możesz zwrócić w ciągu 14 dni."}),
    ];
    for body in others {
        let a = article(t, body).await;
        assert_eq!(a["status"], "published", "{a}");
    }
    let draft = article(
        t,
        json!({"title": "Rascunho secreto", "content": "pedido secreto em rascunho",
            "category_id": category_ids["pedidos"]}),
    )
    .await;
    assert_eq!(draft["status"], "draft");
    let archived = article(
        t,
        json!({"title": "Artigo arquivado", "content": "pedido antigo arquivado",
            "status": "archived", "category_id": category_ids["pedidos"]}),
    )
    .await;
    assert_eq!(archived["status"], "archived");
    for a in [&draft, &archived] {
        hidden.push((
            a["slug"].as_str().unwrap().to_owned(),
            a["title"].as_str().unwrap().to_owned(),
        ));
    }
    let listed = t
        .get(&t.acc(&format!(
            "/portals/{PORTAL}/articles?status=published&per_page=100"
        )))
        .await;
    for a in listed["payload"].as_array().unwrap() {
        published.insert(
            a["slug"].as_str().unwrap().to_owned(),
            a["locale"].as_str().unwrap().to_owned(),
        );
    }
    assert_eq!(published.len(), 7, "{listed}");
    Seeded {
        published,
        family,
        categories,
        hidden,
    }
}

async fn article(t: &TestApp, body: Value) -> Value {
    t.post(
        &t.acc(&format!("/portals/{PORTAL}/articles")),
        json!({ "article": body }),
    )
    .await["payload"]
        .clone()
}

/// A client that shows redirects instead of following them: a crawler wants 200s.
fn crawler() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Fetched {
    status: u16,
    content_type: String,
    location: Option<String>,
    body: String,
}

async fn fetch(client: &reqwest::Client, t: &TestApp, path: &str) -> Fetched {
    let resp = client.get(t.url(path)).send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let status = resp.status().as_u16();
    Fetched {
        status,
        content_type,
        location,
        body: resp.text().await.unwrap(),
    }
}

fn hreflang(locale: &str) -> String {
    locale.replace('_', "-")
}

fn og_locale(locale: &str) -> &'static str {
    match locale {
        "pt_BR" => "pt_BR",
        "pl" => "pl_PL",
        _ => "en_US",
    }
}

/// What kind of page a path is, and in which locale it must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Home,
    Category,
    Article,
    Search,
    NotFound,
}

/// Where a link points, as a path on the test server; `None` when it leaves the site (or stays
/// on the page). An absolute URL on the server's public origin is mapped back to a path.
fn local_target(t: &TestApp, href: &str) -> Result<Option<String>, String> {
    let href = href.trim();
    let lower = href.to_ascii_lowercase();
    if href.starts_with('#') {
        return Ok(None);
    }
    let path = if let Some(rest) = href.strip_prefix(&t.base) {
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Err(format!("{href}: not on this origin"));
        }
        if rest.is_empty() { "/" } else { rest }
    } else if href.starts_with('/') && !href.starts_with("//") {
        href
    } else if ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        // Elsewhere: not this crawler's to follow.
        return Ok(None);
    } else {
        return Err(format!(
            "{href}: neither a path, an http(s) URL nor a fragment"
        ));
    };
    // The fragment never reaches the server.
    Ok(Some(path.split('#').next().unwrap_or_default().to_owned()))
}

/// The crawl's findings, page by page.
#[derive(Default)]
struct Crawl {
    /// Every path fetched with its status.
    statuses: BTreeMap<String, u16>,
    /// `<html lang>` of each HTML page fetched.
    langs: BTreeMap<String, String>,
    /// Each `hreflang` claim: (on page, what says it, hreflang, target path).
    hreflangs: Vec<(String, String, String, String)>,
    /// Feedback forms: (on page, action).
    posts: BTreeSet<(String, String)>,
    /// Pages by kind, to show all were seen.
    kinds: BTreeMap<String, Kind>,
    /// Everything wrong, as "path: what".
    problems: Vec<String>,
    /// Every HTML body, to look for what must never be shown.
    bodies: BTreeMap<String, String>,
}

impl Crawl {
    fn problem(&mut self, path: &str, what: impl Into<String>) {
        self.problems.push(format!("{path}: {}", what.into()));
    }
}

/// The kind and locale a path must be, from the seeded data; `None` for what is not a page.
fn expected(path: &str, seeded: &Seeded) -> Option<(Kind, String)> {
    let plain = path.split('?').next().unwrap_or_default();
    let rest = plain.strip_prefix(&format!("/hc/{PORTAL}"))?;
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let known = |l: &str| LOCALES.contains(&l);
    Some(match parts.as_slice() {
        [] => (Kind::Home, DEFAULT_LOCALE.into()),
        [l] if known(l) => (Kind::Home, (*l).into()),
        [l, "articles"] if known(l) => (Kind::Search, (*l).into()),
        [l, "categories", c] if seeded.categories.iter().any(|(cl, cs)| cl == l && cs == c) => {
            (Kind::Category, (*l).into())
        }
        [l, "categories", _] if known(l) => (Kind::NotFound, (*l).into()),
        ["articles", slug] => match seeded.published.get(*slug) {
            Some(l) => (Kind::Article, l.clone()),
            None => (Kind::NotFound, DEFAULT_LOCALE.into()),
        },
        _ => (Kind::NotFound, DEFAULT_LOCALE.into()),
    })
}

/// A page fetched, and what it must be.
struct Seen<'a> {
    path: &'a str,
    /// The source as served.
    raw: &'a str,
    kind: Kind,
    locale: &'a str,
    /// A page of the seeded portal (with its header), not the unknown portal's 404.
    in_portal: bool,
}

/// Checks one parsed page against what its kind and locale require; returns its outgoing
/// links (GET targets) as paths.
fn check_page(t: &TestApp, crawl: &mut Crawl, seen: &Seen<'_>, page: &Page) -> Vec<String> {
    let Seen {
        path,
        raw,
        kind,
        locale,
        in_portal,
    } = *seen;
    let mut problems = Vec::new();
    let mut p = |what: String| problems.push(format!("{path}: {what}"));
    for e in &page.errors {
        p(format!("parse error {e}"));
    }
    if page.quirks {
        p("rendered in quirks mode".into());
    }
    let lang = page
        .first("html")
        .and_then(|h| h.attr("lang"))
        .unwrap_or_default();
    if lang != hreflang(locale) {
        p(format!(
            "<html lang={lang:?}>, expected {:?}",
            hreflang(locale)
        ));
    }
    let h1s: Vec<String> = page
        .elements
        .iter()
        .enumerate()
        .filter(|(_, e)| e.name == "h1")
        .map(|(i, e)| {
            let in_body = page.is_inside(i, |a| a.has_class("body"));
            format!(
                "<h1>{}</h1>{}",
                e.text.trim(),
                if in_body {
                    " (in the article's body)"
                } else {
                    ""
                }
            )
        })
        .collect();
    if h1s.len() != 1 {
        p(format!(
            "{} <h1> elements, expected exactly one: {h1s:?}",
            h1s.len()
        ));
    }
    if page.text_of("title").len() != 1 || page.text_of("title")[0].is_empty() {
        p(format!("<title>s: {:?}", page.text_of("title")));
    }
    if page
        .meta("name", "description")
        .is_none_or(|d| d.trim().is_empty())
    {
        p("no meta[name=description]".into());
    }
    for og in [
        "og:title",
        "og:description",
        "og:type",
        "og:site_name",
        "og:locale",
    ] {
        if page
            .meta("property", og)
            .is_none_or(|v| v.trim().is_empty())
        {
            p(format!("no {og}"));
        }
    }
    if page.meta("property", "og:locale") != Some(og_locale(locale)) {
        p(format!(
            "og:locale {:?} in a {locale} page",
            page.meta("property", "og:locale")
        ));
    }
    let og_type = if kind == Kind::Article {
        "article"
    } else {
        "website"
    };
    if page.meta("property", "og:type") != Some(og_type) {
        p(format!(
            "og:type {:?}, expected {og_type}",
            page.meta("property", "og:type")
        ));
    }
    let canonical = page.links("canonical");
    let noindex = page
        .meta("name", "robots")
        .is_some_and(|r| r.contains("noindex"));
    match kind {
        Kind::Home | Kind::Category | Kind::Article => {
            if canonical.len() != 1 {
                p(format!(
                    "{} link[rel=canonical], expected one",
                    canonical.len()
                ));
            } else {
                let href = canonical[0].attr("href").unwrap_or_default();
                if !href.starts_with(&t.base) {
                    p(format!("canonical {href} is not absolute on {}", t.base));
                }
                if page.meta("property", "og:url") != Some(href) {
                    p(format!(
                        "og:url {:?} differs from the canonical {href}",
                        page.meta("property", "og:url")
                    ));
                }
                if kind != Kind::Home && !href.ends_with(path) {
                    p(format!("canonical {href} is not this page"));
                }
            }
            if noindex {
                p("an indexable page says noindex".into());
            }
        }
        Kind::Search | Kind::NotFound => {
            if !noindex {
                p("no meta robots noindex".into());
            }
            if !canonical.is_empty() {
                p("a noindex page names a canonical URL".into());
            }
        }
    }
    if let Some(e) = page.elements.iter().find(|e| e.name == "script") {
        p(format!("{} element", e.describe()));
    }
    for e in &page.elements {
        for (name, value) in &e.attrs {
            if name.starts_with("on") {
                p(format!("event handler {name} on {}", e.describe()));
            }
            if name == "style" {
                p(format!("inline style on {}", e.describe()));
            }
            if value.to_ascii_lowercase().contains("javascript:") {
                p(format!("javascript: URL in {}", e.describe()));
            }
        }
        if ["iframe", "object", "embed", "svg", "math"].contains(&e.name.as_str()) {
            p(format!("{} element", e.describe()));
        }
    }
    // The hostile strings are shown as text, never as markup.
    let lower = raw.to_ascii_lowercase();
    for hostile in [
        HOSTILE_NAME,
        HOSTILE_HEADER,
        "<script",
        "<iframe",
        "<img src=x",
    ] {
        if lower.contains(&hostile.to_ascii_lowercase()) {
            p(format!("{hostile:?} unescaped in the source"));
        }
    }
    if in_portal {
        let brand = page
            .elements
            .iter()
            .any(|e| e.name == "a" && e.has_class("brand") && e.text.trim() == HOSTILE_NAME);
        if !brand {
            p("the portal's name is not shown as text in the header".into());
        }
        if page.meta("property", "og:site_name") != Some(HOSTILE_NAME) {
            p(format!(
                "og:site_name {:?}",
                page.meta("property", "og:site_name")
            ));
        }
        if kind == Kind::Home && page.text_of("h1") != [HOSTILE_HEADER] {
            p(format!("the home's <h1> is {:?}", page.text_of("h1")));
        }
    }
    // Every id once; every reference to an id finds it.
    for id in page.duplicate_ids() {
        p(format!("id {id:?} used twice"));
    }
    let ids: BTreeSet<&str> = page.elements.iter().filter_map(|e| e.attr("id")).collect();
    for e in &page.elements {
        let refs = [e.attr("for"), e.attr("aria-labelledby")];
        let fragment = (e.name == "a")
            .then(|| e.attr("href"))
            .flatten()
            .and_then(|h| h.strip_prefix('#'));
        for id in refs.into_iter().flatten().chain(fragment) {
            if !ids.contains(id) {
                p(format!("{} points at no element", e.describe()));
            }
        }
        if e.name == "a" && e.text.trim().is_empty() && e.attr("aria-label").is_none() {
            p(format!("{} has no text", e.describe()));
        }
    }

    crawl.problems.append(&mut problems);

    // Links: a[href], link[href], GET forms' actions; POST forms are the feedback.
    let mut out = Vec::new();
    for e in &page.elements {
        let target = match e.name.as_str() {
            "a" | "link" => e.attr("href"),
            "form" => {
                let method = e.attr("method").unwrap_or("get").to_ascii_lowercase();
                let action = e.attr("action").unwrap_or_default();
                if method == "post" {
                    crawl.posts.insert((path.to_owned(), action.to_owned()));
                    continue;
                }
                Some(action)
            }
            _ => None,
        };
        let Some(href) = target else { continue };
        match local_target(t, href) {
            Ok(Some(to)) => {
                if let Some(lang) = e.attr("hreflang") {
                    crawl.hreflangs.push((
                        path.to_owned(),
                        e.describe(),
                        lang.to_owned(),
                        to.clone(),
                    ));
                }
                out.push(to);
            }
            Ok(None) => {}
            Err(why) => crawl.problem(path, format!("{} {why}", e.describe())),
        }
    }
    out
}

/// Fetches `seeds` and everything they link to, checking each page; returns the findings.
async fn crawl(t: &TestApp, seeded: &Seeded, seeds: &[(&str, u16)]) -> Crawl {
    let client = crawler();
    let mut crawl = Crawl::default();
    let mut queue: VecDeque<(String, u16, String)> = seeds
        .iter()
        .map(|(p, s)| ((*p).to_owned(), *s, "the test".to_owned()))
        .collect();
    let mut queued: BTreeSet<String> = queue.iter().map(|(p, _, _)| p.clone()).collect();
    while let Some((path, want, from)) = queue.pop_front() {
        let got = fetch(&client, t, &path).await;
        crawl.statuses.insert(path.clone(), got.status);
        if got.status != want {
            crawl.problem(
                &path,
                format!(
                    "answered {} (location {:?}), expected {want}; linked from {from}",
                    got.status, got.location
                ),
            );
        }
        if !got.content_type.starts_with("text/html") {
            crawl.problem(&path, format!("content-type {}", got.content_type));
            continue;
        }
        let in_portal = path.starts_with(&format!("/hc/{PORTAL}"));
        let (mut kind, locale) = expected(&path, seeded).unwrap_or((Kind::NotFound, "en".into()));
        if got.status == 404 {
            kind = Kind::NotFound;
        }
        let page = html::parse(&got.body);
        crawl.kinds.insert(path.clone(), kind);
        if let Some(lang) = page.first("html").and_then(|h| h.attr("lang")) {
            crawl.langs.insert(path.clone(), lang.to_owned());
        }
        let seen = Seen {
            path: &path,
            raw: &got.body,
            kind,
            locale: &locale,
            in_portal,
        };
        let links = check_page(t, &mut crawl, &seen, &page);
        crawl.bodies.insert(path.clone(), got.body);
        for to in links {
            if queued.insert(to.clone()) {
                queue.push_back((to, 200, path.clone()));
            }
        }
    }
    crawl
}

async fn every_public_page_is_valid_html_and_every_link_answers(b: Backend) {
    let t = TestApp::start(b).await;
    let seeded = seed(&t).await;

    // Every page type in each locale: the homes, a search with hits and one without, a page
    // that does not exist; categories and articles are reached through the links.
    let base = format!("/hc/{PORTAL}");
    let mut seeds: Vec<(String, u16)> = vec![(base.clone(), 200)];
    for (locale, hit) in [("pt_BR", "pedido"), ("en", "order"), ("pl", "zamówienie")] {
        let encoded: String = hit
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        seeds.push((format!("{base}/{locale}"), 200));
        seeds.push((format!("{base}/{locale}/articles?query={encoded}"), 200));
        seeds.push((format!("{base}/{locale}/articles?query=xyzzy"), 200));
        seeds.push((format!("{base}/{locale}/categories/no-such-category"), 404));
    }
    seeds.push((format!("{base}/en/categories/{EMPTY_CATEGORY}"), 200));
    seeds.push((format!("{base}/articles/no-such-article"), 404));
    seeds.push((format!("{base}/de"), 404));
    seeds.push(("/hc/no-such-portal".to_owned(), 404));
    for (slug, _) in &seeded.hidden {
        seeds.push((format!("{base}/articles/{slug}"), 404));
    }
    let seed_refs: Vec<(&str, u16)> = seeds.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    let mut crawl = crawl(&t, &seeded, &seed_refs).await;

    // Every published article and category page was reached by following links alone.
    for slug in seeded.published.keys() {
        let path = format!("{base}/articles/{slug}");
        if crawl.statuses.get(&path) != Some(&200) {
            crawl.problem(&path, "a published article no link leads to");
        }
    }
    for (locale, slug) in &seeded.categories {
        let path = format!("{base}/{locale}/categories/{slug}");
        if slug != EMPTY_CATEGORY && crawl.statuses.get(&path) != Some(&200) {
            crawl.problem(&path, "a category no link leads to");
        }
    }
    for kind in [
        Kind::Home,
        Kind::Category,
        Kind::Article,
        Kind::Search,
        Kind::NotFound,
    ] {
        let locales: BTreeSet<&str> = crawl
            .kinds
            .iter()
            .filter(|(_, k)| **k == kind)
            .filter_map(|(p, _)| crawl.langs.get(p).map(String::as_str))
            .collect();
        for locale in LOCALES {
            assert!(
                locales.contains(hreflang(locale).as_str()),
                "no {kind:?} page in {locale}: {locales:?}"
            );
        }
    }

    // Search: hits highlighted in one, an empty state in the other.
    for (path, body) in &crawl.bodies {
        let Some((_, query)) = path.split_once("/articles?query=") else {
            continue;
        };
        if query.is_empty() {
            continue;
        }
        let page = html::parse(body);
        let hits = page.all("mark").len();
        let xyzzy = query == "xyzzy";
        if xyzzy == (hits > 0) {
            crawl
                .problems
                .push(format!("{path}: {hits} highlighted hits"));
        }
    }

    // hreflang claims: the target exists and is in that language (x-default: the default).
    let claims = std::mem::take(&mut crawl.hreflangs);
    for (on, element, lang, target) in &claims {
        let wanted = if lang == "x-default" {
            hreflang(DEFAULT_LOCALE)
        } else {
            lang.clone()
        };
        match crawl.langs.get(target) {
            Some(got) if *got == wanted && crawl.statuses.get(target) == Some(&200) => {}
            got => crawl.problems.push(format!(
                "{on}: {element} leads to a page in {got:?} answering {:?}",
                crawl.statuses.get(target)
            )),
        }
    }
    // A translated article names each language version and a default, all existing.
    for slug in &seeded.family {
        let path = format!("{base}/articles/{slug}");
        let Some(body) = crawl.bodies.get(&path) else {
            continue;
        };
        let page = html::parse(body);
        let mut langs: Vec<&str> = page
            .links("alternate")
            .into_iter()
            .filter_map(|l| l.attr("hreflang"))
            .collect();
        langs.sort_unstable();
        if langs != ["en", "pl", "pt-BR", "x-default"] {
            crawl
                .problems
                .push(format!("{path}: hreflang alternates {langs:?}"));
        }
    }
    for (slug, locale) in &seeded.published {
        if seeded.family.contains(slug) {
            continue;
        }
        let path = format!("{base}/articles/{slug}");
        let Some(body) = crawl.bodies.get(&path) else {
            continue;
        };
        let page = html::parse(body);
        if !page.links("alternate").is_empty() {
            crawl.problems.push(format!(
                "{path} ({locale}): alternates without a translation"
            ));
        }
    }
    // The article's rendered Markdown: its list, link, image and table are there, raw HTML not.
    let root = html::parse(&crawl.bodies[&format!("{base}/articles/{}", seeded.family[0])]);
    for name in ["ul", "li", "img", "table", "th", "td", "strong"] {
        assert!(!root.all(name).is_empty(), "no <{name}> in the article");
    }
    let img = root.first("img").unwrap();
    assert_eq!(img.attr("src"), Some("https://cdn.example.com/mapa.png"));
    assert!(
        root.all("a").iter().any(
            |a| a.attr("href") == Some("https://shop.example.com/contato")
                && a.attr("rel").is_some_and(|r| r.contains("nofollow"))
        ),
        "the external link, not vouched for"
    );
    assert!(
        root.text_of("div").iter().any(|t| t.contains("estilo")),
        "raw HTML's text stays"
    );

    // Drafts and archived articles are nowhere.
    for (slug, title) in &seeded.hidden {
        for (path, body) in &crawl.bodies {
            if body.contains(title.as_str()) || body.contains(&format!("/articles/{slug}\"")) {
                crawl
                    .problems
                    .push(format!("{path}: shows the unpublished {slug}"));
            }
        }
    }

    // "Was this helpful?": each form's action takes a form post and sends the reader back.
    let client = crawler();
    let posts = std::mem::take(&mut crawl.posts);
    let actions: BTreeSet<&String> = posts.iter().map(|(_, a)| a).collect();
    assert_eq!(
        actions.len(),
        seeded.published.len(),
        "a form per article: {actions:?}"
    );
    for action in actions {
        let Ok(Some(target)) = local_target(&t, action) else {
            crawl
                .problems
                .push(format!("feedback form action {action}"));
            continue;
        };
        let answer = client
            .post(t.url(&target))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("helpful=yes")
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let location = answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let article = target.trim_end_matches("/feedback");
        if status != 303 || location != format!("{article}?feedback=thanks") {
            crawl
                .problems
                .push(format!("POST {target}: {status} to {location:?}"));
            continue;
        }
        let back = fetch(&client, &t, &location).await;
        let page = html::parse(&back.body);
        if back.status != 200 || !page.errors.is_empty() {
            crawl
                .problems
                .push(format!("{location}: {} {:?}", back.status, page.errors));
        }
        if page
            .all("form")
            .iter()
            .any(|f| f.attr("method") == Some("post"))
        {
            crawl
                .problems
                .push(format!("{location}: asks again after the answer"));
        }
    }

    assert!(
        crawl.problems.is_empty(),
        "{} problems over {} pages:\n{}",
        crawl.problems.len(),
        crawl.statuses.len(),
        crawl.problems.join("\n")
    );
}

/// The `<loc>`s and `xhtml:link` hrefs of a sitemap, entities decoded.
fn sitemap_urls(xml: &str) -> (Vec<String>, Vec<(String, String)>) {
    let decode = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let locs = xml
        .split("<loc>")
        .skip(1)
        .filter_map(|s| s.split("</loc>").next())
        .map(decode)
        .collect();
    let alternates = xml
        .split("<xhtml:link ")
        .skip(1)
        .filter_map(|s| {
            let attr = |name: &str| {
                let from = s.find(&format!("{name}=\""))? + name.len() + 2;
                s[from..].split('"').next().map(decode)
            };
            Some((attr("hreflang")?, attr("href")?))
        })
        .collect();
    (locs, alternates)
}

async fn the_sitemap_lists_every_published_page_and_nothing_else(b: Backend) {
    let t = TestApp::start(b).await;
    let seeded = seed(&t).await;
    let client = crawler();
    let base = format!("/hc/{PORTAL}");
    let got = fetch(&client, &t, &format!("{base}/sitemap.xml")).await;
    assert_eq!(got.status, 200);
    assert!(
        got.content_type.starts_with("application/xml"),
        "{}",
        got.content_type
    );
    let xml = got.body;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let (locs, alternates) = sitemap_urls(&xml);
    assert_eq!(
        xml.matches("<url>").count(),
        locs.len(),
        "a <loc> per <url>"
    );
    assert_eq!(
        xml.matches("<lastmod>").count(),
        locs.len(),
        "a <lastmod> per <url>"
    );

    let mut problems = Vec::new();
    let mut paths = BTreeSet::new();
    for url in locs.iter().chain(alternates.iter().map(|(_, h)| h)) {
        // The sitemap's origin is the server's public URL: the test server itself.
        let Some(path) = url.strip_prefix(&t.base) else {
            problems.push(format!("{url}: not on {}", t.base));
            continue;
        };
        let answer = fetch(&client, &t, path).await;
        if answer.status != 200 {
            problems.push(format!("{url}: {}", answer.status));
        }
        let page = html::parse(&answer.body);
        if !page.errors.is_empty() {
            problems.push(format!("{url}: {:?}", page.errors));
        }
        paths.insert(path.to_owned());
    }
    let listed: BTreeSet<String> = locs
        .iter()
        .filter_map(|u| u.strip_prefix(&t.base).map(str::to_owned))
        .collect();
    assert_eq!(listed.len(), locs.len(), "each URL once: {locs:?}");
    let mut wanted: BTreeSet<String> = LOCALES.iter().map(|l| format!("{base}/{l}")).collect();
    // Categories with something to read: the empty one is left out, as on the home page.
    wanted.extend(
        seeded
            .categories
            .iter()
            .filter(|(_, c)| c != EMPTY_CATEGORY)
            .map(|(l, c)| format!("{base}/{l}/categories/{c}")),
    );
    wanted.extend(
        seeded
            .published
            .keys()
            .map(|s| format!("{base}/articles/{s}")),
    );
    assert_eq!(
        listed, wanted,
        "the homes, the categories and the published articles"
    );
    for (slug, _) in &seeded.hidden {
        assert!(!xml.contains(slug.as_str()), "{slug} is not published");
    }
    // The translation family: each member lists all three, with the right language.
    let mut family_alternates: Vec<(String, String)> = alternates
        .iter()
        .filter_map(|(lang, href)| {
            let slug = href.rsplit('/').next()?;
            seeded
                .family
                .iter()
                .any(|f| f == slug)
                .then(|| (lang.clone(), slug.to_owned()))
        })
        .collect();
    family_alternates.sort();
    family_alternates.dedup();
    let expected: Vec<(String, String)> = {
        let mut e: Vec<(String, String)> = seeded
            .family
            .iter()
            .map(|slug| (hreflang(&seeded.published[slug]), slug.clone()))
            .collect();
        e.sort();
        e
    };
    assert_eq!(family_alternates, expected);
    assert_eq!(
        alternates.len(),
        9,
        "three alternates on each of the three members"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
