//! The pages as their functions write them: what every page holds in every locale and base,
//! hostile input, translations and feedback, dates and the sitemap.

use chrono::NaiveDate;
use throughline_core::help_center::{ArticleStatus, LOCALES};

use super::words::Words;
use super::*;

// -- String-level checks. The pages as served are parsed as a browser would, with every
//    link followed, by the black-box suite (`crates/testkit/tests/api/help_center_pages.rs`
//    with `throughline_testkit::html`); these check what the functions write. --

/// The values of every `{attr}="…"` in `html`, as written (still escaped).
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// Each tag of `html` as its name and attribute names (quoted values left out). Every `<`
/// and `"` of text or values is escaped, so the split is exact for these pages.
fn tags(html: &str) -> Vec<(String, Vec<String>)> {
    html.split('<')
        .skip(1)
        .filter_map(|piece| piece.find('>').map(|end| &piece[..end]))
        .filter(|tag| !tag.starts_with('/') && !tag.starts_with('!'))
        .map(|tag| {
            let unquoted: Vec<&str> = tag.split('"').step_by(2).collect();
            let unquoted = unquoted.join(" ");
            let mut words = unquoted.split_whitespace();
            let name = words.next().unwrap_or_default().to_owned();
            let attrs = words
                .map(|w| w.split('=').next().unwrap_or_default().to_owned())
                .filter(|a| !a.is_empty())
                .collect();
            (name, attrs)
        })
        .collect()
}

fn count_tags(html: &str, name: &str) -> usize {
    tags(html).iter().filter(|(n, _)| n == name).count()
}

/// What every page holds whatever its input: the doctype, its language, one `<h1>`, the
/// head's tags, links and forms inside the portal (or absolute http(s), or in-page), and
/// nothing executable.
fn check_page(html: &str, base: &str, locale: &str) {
    assert!(html.starts_with("<!doctype html>\n<html lang=\""));
    assert!(
        html.contains(&format!("<html lang=\"{}\">", hreflang(locale))),
        "lang in\n{html}"
    );
    assert_eq!(count_tags(html, "h1"), 1, "one <h1> in\n{html}");
    assert_eq!(count_tags(html, "main"), 1);
    assert_eq!(count_tags(html, "title"), 1);
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<meta name=\"viewport\" content=\""));
    assert!(!html.contains("<meta name=\"description\" content=\"\""));
    assert!(html.contains("<meta name=\"description\" content=\""));
    assert!(!html.contains("<title></title>"));
    for og in ["og:title", "og:description", "og:type", "og:site_name"] {
        assert!(
            html.contains(&format!("<meta property=\"{og}\" content=\"")),
            "{og} in\n{html}"
        );
    }
    assert!(html.contains(&format!(
        "<meta property=\"og:locale\" content=\"{}\">",
        words(locale).og_locale
    )));
    let targets = attr_values(html, "href")
        .into_iter()
        .chain(attr_values(html, "action"));
    for href in targets {
        let inside = if base.is_empty() {
            href.starts_with('/') && !href.starts_with("//")
        } else {
            href == base || href.starts_with(&format!("{base}/"))
        };
        assert!(
            inside
                || href.starts_with('#')
                || href.starts_with("https://")
                || href.starts_with("http://"),
            "href {href:?} outside base {base:?}"
        );
    }
    for (name, attrs) in tags(html) {
        assert!(name != "script", "no JavaScript");
        for attr in attrs {
            assert!(!attr.starts_with("on"), "event handler {attr} on <{name}>");
            assert!(attr != "style", "inline style attribute on <{name}>");
        }
    }
    assert!(!html.to_ascii_lowercase().contains("javascript:"));
    assert!(
        !html.contains("src=\"//") && !html.contains("href=\"//"),
        "no CDN"
    );
}

// -- Fixtures --

const ORIGIN: &str = "https://help.example.com";
const BASES: [&str; 2] = ["/hc/shop", ""];

fn ms(y: i32, m: u32, d: u32) -> Millis {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(10, 30, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}

fn portal() -> Portal {
    Portal {
        id: 1,
        account_id: 1,
        name: "Shop & Co".into(),
        slug: "shop".into(),
        color: Some("#1F93FF".into()),
        custom_domain: None,
        header_text: Some("How can we help you?".into()),
        homepage_link: Some("https://shop.example.com".into()),
        page_title: Some("Shop Help".into()),
        archived: false,
        default_locale: "en".into(),
        allowed_locales: vec!["en".into(), "pt_BR".into(), "pl".into()],
        inbox_id: None,
        logo_upload_id: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn category(locale: &str) -> Category {
    Category {
        id: 1,
        account_id: 1,
        portal_id: 1,
        name: "Orders".into(),
        slug: "orders".into(),
        locale: locale.into(),
        description: Some("Tracking & returns".into()),
        icon: Some("📦".into()),
        position: 0,
        parent_category_id: None,
        associated_category_id: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn article(locale: &str, slug: &str) -> Article {
    Article {
        id: 1,
        account_id: 1,
        portal_id: 1,
        category_id: Some(1),
        title: "Track your order".into(),
        slug: slug.into(),
        content: "Go to *Orders*.".into(),
        description: Some("Where's my parcel?".into()),
        status: ArticleStatus::Published,
        position: 0,
        locale: locale.into(),
        author_id: None,
        associated_article_id: None,
        meta: serde_json::json!({}),
        views: 0,
        helpful_yes: 0,
        helpful_no: 0,
        created_at: ms(2026, 1, 1),
        updated_at: ms(2026, 12, 6),
    }
}

fn site<'a>(portal: &'a Portal, base: &'a str, locale: &'a str) -> Site<'a> {
    Site {
        portal,
        base,
        origin: ORIGIN,
        locale,
        logo_url: Some("https://cdn.example.com/logo.png"),
    }
}

fn links(n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| (format!("Article {i}"), format!("article-{i}")))
        .collect()
}

fn as_links(raw: &[(String, String)]) -> Vec<ArticleLink<'_>> {
    raw.iter()
        .map(|(title, slug)| ArticleLink {
            title,
            slug,
            summary: Some("A summary"),
        })
        .collect()
}

const BODY: &str = "<h2>Steps</h2>\n<p>Open <strong>Orders</strong>.</p>\n<ul><li>One</li></ul>";

// -- Tests --

#[test]
fn the_string_checks_see_what_they_look_for() {
    assert_eq!(
        tags("<p a=\"x > y\">t</p><img src=\"s\" onerror=\"z\"><br>"),
        [
            ("p".to_owned(), vec!["a".to_owned()]),
            (
                "img".to_owned(),
                vec!["src".to_owned(), "onerror".to_owned()]
            ),
            ("br".to_owned(), vec![])
        ]
    );
    assert_eq!(
        tags("<a title=\"&quot; onclick=&quot;x\" href=\"/\">"),
        [("a".to_owned(), vec!["title".to_owned(), "href".to_owned()])]
    );
    assert_eq!(
        attr_values("<a href=\"/a\"><link href=\"/b\">", "href"),
        ["/a", "/b"]
    );
}

#[test]
fn every_page_stays_inside_its_base_in_every_locale() {
    let portal = portal();
    for locale in LOCALES {
        let w = words(locale);
        for base in BASES {
            let site = site(&portal, base, locale);
            let cat = category(locale);
            let raw = links(7);
            let sections = [CategorySection {
                category: &cat,
                articles: as_links(&raw),
                total: 7,
            }];
            let uncategorised = as_links(&raw[..2]);

            let html = home(&site, &sections, &uncategorised);
            check_page(&html, base, locale);
            assert!(html.contains(&esc(&fill(w.see_all[2], &[("n", "7")])).to_string()));
            assert!(html.contains(&format!(
                "<form class=\"search\" role=\"search\" method=\"get\" action=\"{base}/{locale}/articles\">"
            )));
            assert!(html.contains("<label for=\"q\" class=\"vh\">"));
            assert!(html.contains("<input id=\"q\" type=\"search\" name=\"query\" value=\"\""));
            assert!(html.contains("<meta property=\"og:type\" content=\"website\">"));
            assert!(html.contains(&format!(
                "<meta property=\"og:url\" content=\"{ORIGIN}{base}/{locale}\">"
            )));
            assert_eq!(count_tags(&html, "header"), 1);
            assert_eq!(count_tags(&html, "footer"), 1);
            // The language switcher: the two other locales.
            let switch: Vec<&str> = html
                .lines()
                .filter(|l| l.starts_with("<li><a href=\"") && l.contains(" hreflang=\""))
                .collect();
            assert_eq!(switch.len(), 2, "{switch:?}");
            let here = format!("<li><a href=\"{base}/{locale}\"");
            assert!(!switch.iter().any(|l| l.starts_with(&here)));
            // hreflang alternates for the home in each language, and x-default.
            assert_eq!(html.matches("<link rel=\"alternate\" hreflang=").count(), 4);
            assert!(html.contains(&format!(
                "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{ORIGIN}{base}/en\">"
            )));

            let html = super::category(&site, &cat, &as_links(&raw));
            check_page(&html, base, locale);
            assert!(html.contains(&fill(w.article_count[2], &[("n", "7")])));
            assert_eq!(html.matches("aria-current=\"page\"").count(), 1);
            assert!(html.contains(&format!(
                "<a href=\"{base}/{locale}/categories/orders\" aria-current=\"page\">"
            )));
            let html = super::category(&site, &cat, &[]);
            check_page(&html, base, locale);
            assert!(html.contains(w.empty_category));

            let a = article(locale, "track-your-order");
            for voted in [false, true] {
                let page = ArticlePage {
                    article: &a,
                    body_html: BODY,
                    excerpt: None,
                    category: Some(&cat),
                    translations: &[],
                    voted,
                };
                let html = super::article(&site, &page);
                check_page(&html, base, locale);
                assert!(html.contains("<meta property=\"og:type\" content=\"article\">"));
                assert!(html.contains(&format_date(locale, a.updated_at)));
                assert!(html.contains(BODY), "the body as it is");
                assert_eq!(html.contains(w.thanks), voted);
                assert_eq!(count_tags(&html, "form"), if voted { 1 } else { 2 });
            }

            let titles = [("Track your order", "track"), ("Returns", "returns")];
            let hits: Vec<SearchHit<'_>> = titles
                .iter()
                .map(|(title, slug)| SearchHit {
                    title,
                    slug,
                    snippet_html: "Where is my <mark>order</mark>?",
                })
                .collect();
            let html = search(&site, "order", &hits);
            check_page(&html, base, locale);
            assert_eq!(count_tags(&html, "mark"), 2);
            assert!(html.contains("name=\"query\" value=\"order\""));
            assert!(html.contains(&fill(
                w.results[(w.plural)(2)],
                &[("n", "2"), ("q", "order")]
            )));
            assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
            assert!(!html.contains("rel=\"canonical\""));
            let html = search(&site, "nothing", &[]);
            check_page(&html, base, locale);
            assert!(html.contains(&fill(w.no_results, &[("q", "nothing")])));
            assert!(html.contains(&format!(
                "<p><a href=\"{base}/{locale}\">{}</a></p>",
                esc(w.back_home)
            )));
            let html = search(&site, "   ", &[]);
            check_page(&html, base, locale);
            assert!(html.contains(w.search_hint));

            let html = not_found(&site);
            check_page(&html, base, locale);
            assert!(html.contains(w.page_not_found));
        }
        let html = portal_not_found(locale);
        check_page(&html, "/nowhere", locale);
        assert_eq!(attr_values(&html, "href"), ["#main"]);
        assert!(html.contains(w.page_not_found));
    }
}

#[test]
fn the_home_shows_five_articles_per_category_and_the_rest_behind_a_link() {
    let portal = portal();
    let site = site(&portal, "/hc/shop", "en");
    let cat = category("en");
    let raw = links(7);
    let sections = [CategorySection {
        category: &cat,
        articles: as_links(&raw),
        total: 12,
    }];
    let html = home(&site, &sections, &[]);
    check_page(&html, "/hc/shop", "en");
    let to_articles = attr_values(&html, "href")
        .into_iter()
        .filter(|h| h.starts_with("/hc/shop/articles/"))
        .count();
    assert_eq!(to_articles, 5);
    assert!(html.contains("See all 12 articles"));
    assert!(html.contains("href=\"/hc/shop/en/categories/orders\""));
    assert!(html.contains("<h1>How can we help you?</h1>"));
    assert!(html.contains(
        "<img src=\"https://cdn.example.com/logo.png\" alt=\"Shop &amp; Co\" height=\"32\">\
         <span aria-hidden=\"true\">Shop &amp; Co</span>"
    ));
    assert!(
        html.contains("<meta property=\"og:image\" content=\"https://cdn.example.com/logo.png\">")
    );
    assert!(html.contains("href=\"https://shop.example.com\""));
    assert!(html.contains("<title>Shop Help</title>"));

    let empty = home(&site, &[], &[]);
    check_page(&empty, "/hc/shop", "en");
    assert!(empty.contains(Words::EN.no_articles));
}

#[test]
fn hostile_input_is_escaped_or_refused() {
    let mut portal = portal();
    portal.name = "<script>alert(1)</script>".into();
    portal.page_title = None;
    portal.header_text = Some("\"><img src=x onerror=alert(1)>".into());
    portal.color = Some("red;}body{display:none".into());
    portal.homepage_link = Some("javascript:alert(1)".into());
    let query = "\"><img src=x onerror=alert(1)>";
    for base in BASES {
        let mut site = site(&portal, base, "en");
        site.logo_url = Some("javascript:alert(1)");
        site.origin = "javascript:alert(1)//";
        let cat = category("en");
        let mut a = article("en", "a\"b/<c>");
        a.title = "</title><script>alert(1)</script>".into();
        a.meta = serde_json::json!({ "description": "\"><script>x</script>" });
        let hostile = [(
            "<b>bold</b>".to_owned(),
            "x\" onmouseover=\"alert(1)".to_owned(),
        )];
        let hits = [SearchHit {
            title: "<i>t</i>",
            slug: "../../etc",
            snippet_html: "safe",
        }];
        let translations = [Translation {
            locale: "pl",
            slug: "\"><svg onload=alert(1)>",
        }];
        let page = ArticlePage {
            article: &a,
            body_html: "<p>ok</p>",
            excerpt: None,
            category: Some(&cat),
            translations: &translations,
            voted: false,
        };
        let pages = [
            home(&site, &[], &as_links(&hostile)),
            super::category(&site, &cat, &as_links(&hostile)),
            super::article(&site, &page),
            search(&site, query, &hits),
            search(&site, query, &[]),
            not_found(&site),
        ];
        for html in &pages {
            check_page(html, base, "en");
            for injected in ["img", "svg", "b", "i", "script"] {
                assert_eq!(
                    count_tags(html, injected),
                    0,
                    "no injected <{injected}>, no javascript: logo"
                );
            }
            assert!(!html.contains("display:none"));
            assert!(html.contains("--brand:#1f93ff"), "the default colour");
            assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
            assert!(!html.contains("javascript:"), "no javascript: link or URL");
            assert!(
                !html.contains("href=\"https://shop"),
                "homepage link refused"
            );
        }
        assert!(pages[0].contains("<h1>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</h1>"));
        assert!(pages[2].contains(&format!("{base}/articles/a%22b%2F%3Cc%3E\"")));
        assert!(pages[2].contains(&format!(
            "{base}/articles/%22%3E%3Csvg%20onload%3Dalert%281%29%3E\""
        )));
        assert!(pages[2].contains(
            "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; · &lt;script&gt;"
        ));
        assert!(pages[3].contains(&format!("{base}/articles/%2E%2E%2F%2E%2E%2Fetc\"")));
        assert!(pages[3].contains("value=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\""));
        assert!(pages[4].contains("“&quot;&gt;&lt;img src=x onerror=alert(1)&gt;”"));
    }
}

#[test]
fn an_article_links_its_translations_and_asks_for_feedback() {
    let portal = portal();
    let site = site(&portal, "/hc/shop", "pt_BR");
    let a = article("pt_BR", "rastrear-pedido");
    let translations = [
        Translation {
            locale: "en",
            slug: "track-your-order",
        },
        Translation {
            locale: "pl",
            slug: "sledzenie-zamowienia",
        },
        Translation {
            locale: "pt_BR",
            slug: "rastrear-pedido",
        },
    ];
    let page = ArticlePage {
        article: &a,
        body_html: BODY,
        excerpt: Some("An excerpt"),
        category: None,
        translations: &translations,
        voted: false,
    };
    let html = super::article(&site, &page);
    check_page(&html, "/hc/shop", "pt_BR");
    let expected = [
        ("pt-BR", "rastrear-pedido"),
        ("en", "track-your-order"),
        ("pl", "sledzenie-zamowienia"),
        ("x-default", "track-your-order"),
    ];
    assert_eq!(
        html.matches("<link rel=\"alternate\" hreflang=").count(),
        expected.len()
    );
    for (lang, slug) in expected {
        let link = format!(
            "<link rel=\"alternate\" hreflang=\"{lang}\" href=\"{ORIGIN}/hc/shop/articles/{slug}\">"
        );
        assert!(html.contains(&link), "{link}");
    }
    assert_eq!(html.matches("rel=\"canonical\"").count(), 1);
    assert!(html.contains(&format!(
        "<link rel=\"canonical\" href=\"{ORIGIN}/hc/shop/articles/rastrear-pedido\">"
    )));
    assert!(html.contains("<meta property=\"og:locale\" content=\"pt_BR\">"));
    assert!(html.contains("<meta property=\"og:locale:alternate\" content=\"en_US\">"));
    assert!(html.contains("<meta name=\"description\" content=\"Where&#39;s my parcel?\">"));
    assert!(html.contains("<title>Track your order · Shop Help</title>"));
    assert!(html.contains("Atualizado em <time datetime=\"2026-12-06\">6 de dez. de 2026</time>"));
    assert!(
        html.contains(
            "<form method=\"post\" action=\"/hc/shop/articles/rastrear-pedido/feedback\">"
        )
    );
    let buttons: Vec<&str> = html
        .lines()
        .filter(|l| l.starts_with("<button type=\"submit\" name="))
        .collect();
    assert_eq!(
        buttons,
        [
            "<button type=\"submit\" name=\"helpful\" value=\"yes\">Sim</button>",
            "<button type=\"submit\" name=\"helpful\" value=\"no\">Não</button>"
        ]
    );
    // The footer offers the translations themselves.
    assert!(html.contains(
        "<a href=\"/hc/shop/articles/sledzenie-zamowienia\" hreflang=\"pl\" lang=\"pl\">Polski</a>"
    ));

    let voted = super::article(
        &site,
        &ArticlePage {
            voted: true,
            ..page
        },
    );
    check_page(&voted, "/hc/shop", "pt_BR");
    assert_eq!(count_tags(&voted, "form"), 1, "only the search form");
    assert!(voted.contains("<p role=\"status\">Obrigado pelo seu feedback!</p>"));
}

#[test]
fn dates_are_written_as_each_language_does() {
    let at = ms(2026, 12, 6);
    assert_eq!(format_date("en", at), "Dec 6, 2026");
    assert_eq!(format_date("pt_BR", at), "6 de dez. de 2026");
    assert_eq!(format_date("pl", at), "6 gru 2026");
    assert_eq!(format_date("pl", ms(2026, 10, 1)), "1 paź 2026");
    assert_eq!(w3c_date(at), "2026-12-06");
}

/// Balanced tags and only the five XML entities: enough to catch a broken sitemap.
fn assert_well_formed_xml(xml: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = xml.trim_start();
    assert!(rest.starts_with("<?xml "));
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "stray > in {text:?}");
        check_entities(text);
        let Some(close) = rest[open..].find('>') else {
            panic!("unclosed tag");
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if tag.starts_with('?') {
            continue;
        }
        check_entities(tag);
        assert_eq!(tag.matches('"').count() % 2, 0, "quotes in {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "closing {name}");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap_or_default());
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

fn check_entities(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bare & in {text:?}"
        );
    }
}

#[test]
fn the_sitemap_is_well_formed_with_alternates() {
    let entries = [
        SitemapEntry {
            path: home_path("/hc/shop", "en"),
            updated_at_ms: ms(2026, 12, 6),
            alternates: vec![
                ("en".into(), home_path("/hc/shop", "en")),
                ("pt_BR".into(), home_path("/hc/shop", "pt_BR")),
            ],
        },
        SitemapEntry {
            path: "/hc/shop/articles/a&b".into(),
            updated_at_ms: ms(2026, 1, 2),
            alternates: Vec::new(),
        },
    ];
    let xml = sitemap("https://help.example.com/", &entries);
    assert_well_formed_xml(&xml);
    assert!(xml.contains("<loc>https://help.example.com/hc/shop/en</loc>"));
    assert!(xml.contains("<lastmod>2026-12-06T10:30:00Z</lastmod>"));
    assert!(xml.contains(
        "<xhtml:link rel=\"alternate\" hreflang=\"pt-BR\" href=\"https://help.example.com/hc/shop/pt_BR\"/>"
    ));
    assert!(xml.contains("<loc>https://help.example.com/hc/shop/articles/a&amp;b</loc>"));
    assert_eq!(xml.matches("<url>").count(), 2);
    assert_well_formed_xml(&sitemap(ORIGIN, &[]));
}
