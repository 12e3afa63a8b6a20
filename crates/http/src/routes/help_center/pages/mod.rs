//! The help center's public pages, rendered on the server: a portal's home, a category, an
//! article, search results, "not found" and the sitemap, at Chatwoot's public paths under a
//! `base` (`/hc/{portal_slug}`, or `""` on the portal's own domain).
//!
//! Pure functions from already-loaded data to a `String`: no I/O, no JavaScript, no external
//! asset. Every interpolated string goes through [`esc`] (text and attributes alike) and every
//! URL built from a slug through [`seg`](layout::seg); the only inputs inserted as they are
//! are HTML that was sanitised upstream (an article's rendered body, a search hit's snippet).
//! The portal's colour reaches the CSS only after [`palette`](style::palette) has parsed it as
//! `#rgb`/`#rrggbb`.
//!
//! The words of each language are in `words`, the document around a page and the escaping and
//! path helpers in `layout`, the style sheet and the portal's colours in `style`.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat};
use throughline_core::Millis;
use throughline_core::help_center::{Article, Category, Portal, hreflang, normalise_locale};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

mod layout;
mod style;
#[cfg(test)]
mod tests;
mod words;

pub(crate) use layout::{article_path, category_path, esc, feedback_path, home_path, search_path};
pub(crate) use words::{format_date, words};

use layout::{Head, absolute, article_list, document, nonblank};
use words::fill;

// ---------------------------------------------------------------------------------------------
// Inputs

/// The portal a page belongs to and where it is served.
pub(crate) struct Site<'a> {
    pub portal: &'a Portal,
    /// `/hc/{portal_slug}`, or `""` on the portal's custom domain (cleaned by
    /// [`base_path`](layout::base_path)).
    pub base: &'a str,
    /// Scheme and host for absolute URLs (`https://help.example.com`); anything that is not
    /// http(s) is ignored and the URLs stay relative.
    pub origin: &'a str,
    /// The page's locale as in URLs (`en`, `pt_BR`, `pl`); an article's page uses its own.
    pub locale: &'a str,
    /// The portal's logo: an http(s) URL or a path on this host; anything else is ignored.
    pub logo_url: Option<&'a str>,
}

/// An article in a list: its title, slug and a plain-text summary (description or excerpt).
pub(crate) struct ArticleLink<'a> {
    pub title: &'a str,
    pub slug: &'a str,
    pub summary: Option<&'a str>,
}

impl<'a> ArticleLink<'a> {
    /// The link to `article`, summarised by its description.
    pub(crate) fn from_article(article: &'a Article) -> Self {
        Self {
            title: &article.title,
            slug: &article.slug,
            summary: article.description.as_deref(),
        }
    }
}

/// A category on the home page: the first articles (at most 5 are shown) and how many it has.
pub(crate) struct CategorySection<'a> {
    pub category: &'a Category,
    pub articles: Vec<ArticleLink<'a>>,
    /// All published articles of the category ("See all N articles").
    pub total: usize,
}

/// A language version of an article.
pub(crate) struct Translation<'a> {
    pub locale: &'a str,
    pub slug: &'a str,
}

/// What an article's page shows.
pub(crate) struct ArticlePage<'a> {
    pub article: &'a Article,
    /// The body, already rendered from Markdown and sanitised: inserted as it is.
    pub body_html: &'a str,
    /// A plain-text excerpt for the meta description when the article has no description.
    pub excerpt: Option<&'a str>,
    pub category: Option<&'a Category>,
    /// The article's language versions (this one may be included or not).
    pub translations: &'a [Translation<'a>],
    /// The visitor has just answered "Was this helpful?": thank instead of asking.
    pub voted: bool,
}

/// A search result: the snippet is HTML already escaped, with `<mark>` around matches.
pub(crate) struct SearchHit<'a> {
    pub title: &'a str,
    pub slug: &'a str,
    pub snippet_html: &'a str,
}

/// One `<url>` of the sitemap. Paths are built with the `*_path` functions of this module.
pub(crate) struct SitemapEntry {
    pub path: String,
    pub updated_at_ms: Millis,
    /// Every language version as `(locale, path)`, this one included; empty without any.
    pub alternates: Vec<(String, String)>,
}

// ---------------------------------------------------------------------------------------------
// Pages

/// `{base}/{locale}`: the search hero, each category with its first five articles and a link
/// to the rest, then the articles without a category.
pub(crate) fn home(
    site: &Site<'_>,
    categories: &[CategorySection<'_>],
    uncategorised: &[ArticleLink<'_>],
) -> String {
    let words = site.words();
    let path = site.home();
    let mut main = String::from("<main id=\"main\" class=\"wrap\">\n");
    if !categories.is_empty() {
        w!(
            main,
            "<section aria-labelledby=\"categories\">\n<h2 id=\"categories\" class=\"vh\">{}</h2>\n\
             <ul class=\"grid\">\n",
            esc(words.categories)
        );
        for section in categories {
            let c = section.category;
            let link = category_path(site.base, site.locale, &c.slug);
            main.push_str("<li class=\"card\">\n<h3>");
            if let Some(icon) = nonblank(c.icon.as_deref()) {
                w!(
                    main,
                    "<span class=\"icon\" aria-hidden=\"true\">{}</span>",
                    esc(icon)
                );
            }
            w!(
                main,
                "<a href=\"{}\">{}</a></h3>\n",
                esc(&link),
                esc(&c.name)
            );
            if let Some(description) = nonblank(c.description.as_deref()) {
                w!(main, "<p class=\"muted\">{}</p>\n", esc(description));
            }
            let shown = &section.articles[..section.articles.len().min(5)];
            if shown.is_empty() {
                w!(
                    main,
                    "<p class=\"muted\">{}</p>\n",
                    esc(words.empty_category)
                );
            } else {
                main.push_str("<ul class=\"list\">\n");
                for a in shown {
                    w!(
                        main,
                        "<li><a href=\"{}\">{}</a></li>\n",
                        esc(&article_path(site.base, a.slug)),
                        esc(a.title)
                    );
                }
                main.push_str("</ul>\n");
                let total = section.total.max(section.articles.len());
                w!(
                    main,
                    "<p><a href=\"{}\">{}</a></p>\n",
                    esc(&link),
                    esc(&words.count(&words.see_all, total, ""))
                );
            }
            main.push_str("</li>\n");
        }
        main.push_str("</ul>\n</section>\n");
    }
    if !uncategorised.is_empty() {
        let heading = if categories.is_empty() {
            words.articles
        } else {
            words.other_articles
        };
        w!(
            main,
            "<section class=\"card\" aria-labelledby=\"others\">\n<h2 id=\"others\">{}</h2>\n{}</section>\n",
            esc(heading),
            article_list(site, uncategorised, "h3")
        );
    }
    if categories.is_empty() && uncategorised.is_empty() {
        w!(
            main,
            "<p class=\"card muted\">{}</p>\n",
            esc(words.no_articles)
        );
    }
    main.push_str("</main>\n");

    let (alternates, x_default) = site.home_alternates();
    let head = Head {
        title: site.name().to_owned(),
        description: site.description(),
        og_type: "website",
        path: Some(path),
        canonical: true,
        noindex: false,
        alternates,
        x_default,
    };
    let body = format!("{}{main}{}", site.header(true, ""), site.footer(&[]));
    site.document(&head, &body)
}

/// `{base}/{locale}/categories/{slug}`: the category's description and all its articles.
pub(crate) fn category(
    site: &Site<'_>,
    category: &Category,
    articles: &[ArticleLink<'_>],
) -> String {
    let words = site.words();
    let path = category_path(site.base, site.locale, &category.slug);
    let mut main = String::from("<main id=\"main\" class=\"wrap\">\n");
    main.push_str(&site.crumbs(&[(category.name.as_str(), path.clone())]));
    main.push_str("<h1>");
    if let Some(icon) = nonblank(category.icon.as_deref()) {
        w!(
            main,
            "<span class=\"icon\" aria-hidden=\"true\">{}</span>",
            esc(icon)
        );
    }
    w!(main, "{}</h1>\n", esc(&category.name));
    if let Some(description) = nonblank(category.description.as_deref()) {
        w!(main, "<p>{}</p>\n", esc(description));
    }
    if articles.is_empty() {
        w!(
            main,
            "<p class=\"card muted\">{}</p>\n",
            esc(words.empty_category)
        );
    } else {
        w!(
            main,
            "<section class=\"card\" aria-labelledby=\"list\">\n<h2 id=\"list\" class=\"muted\">{}</h2>\n{}</section>\n",
            esc(&words.count(&words.article_count, articles.len(), "")),
            article_list(site, articles, "h3")
        );
    }
    main.push_str("</main>\n");
    let head = Head {
        title: site.title(&category.name),
        description: nonblank(category.description.as_deref())
            .map_or_else(|| site.description(), str::to_owned),
        og_type: "website",
        path: Some(path),
        canonical: true,
        noindex: false,
        alternates: Vec::new(),
        x_default: None,
    };
    let body = format!("{}{main}{}", site.header(false, ""), site.footer(&[]));
    site.document(&head, &body)
}

/// `{base}/articles/{slug}`: the article, its date, language alternates and "Was this
/// helpful?" (or the thanks once answered).
pub(crate) fn article(site: &Site<'_>, page: &ArticlePage<'_>) -> String {
    let words = site.words();
    let a = page.article;
    let path = article_path(site.base, &a.slug);
    let meta = |key: &str| a.meta.get(key).and_then(serde_json::Value::as_str);

    // Language versions: this one first, then each other known locale once.
    let mut versions: Vec<(String, String)> = vec![(site.locale.to_owned(), path.clone())];
    for t in page.translations {
        let known = versions
            .iter()
            .any(|(l, _)| normalise_locale(l) == normalise_locale(t.locale));
        if !known {
            versions.push((t.locale.to_owned(), article_path(site.base, t.slug)));
        }
    }
    let (alternates, x_default) = if versions.len() > 1 {
        let default = normalise_locale(&site.portal.default_locale);
        let x = versions
            .iter()
            .find(|(l, _)| normalise_locale(l) == default)
            .map_or_else(|| path.clone(), |(_, p)| p.clone());
        (versions.clone(), Some(x))
    } else {
        (Vec::new(), None)
    };

    let mut trail = Vec::new();
    if let Some(c) = page.category {
        trail.push((
            c.name.as_str(),
            category_path(site.base, site.locale, &c.slug),
        ));
    }
    trail.push((a.title.as_str(), path.clone()));

    let mut main = String::from("<main id=\"main\" class=\"wrap\">\n");
    main.push_str(&site.crumbs(&trail));
    w!(
        main,
        "<article class=\"card\">\n<h1>{}</h1>\n\
         <p class=\"muted\">{} <time datetime=\"{}\">{}</time></p>\n\
         <div class=\"body\">\n{}\n</div>\n</article>\n",
        esc(&a.title),
        esc(words.updated),
        esc(&w3c_date(a.updated_at)),
        esc(&format_date(site.locale, a.updated_at)),
        page.body_html,
    );
    if page.voted {
        w!(
            main,
            "<section class=\"card feedback\">\n<p role=\"status\">{}</p>\n</section>\n",
            esc(words.thanks)
        );
    } else {
        w!(
            main,
            "<section class=\"card feedback\">\n<form method=\"post\" action=\"{}\">\n<fieldset>\n\
             <legend>{}</legend>\n\
             <button type=\"submit\" name=\"helpful\" value=\"yes\">{}</button>\n\
             <button type=\"submit\" name=\"helpful\" value=\"no\">{}</button>\n\
             </fieldset>\n</form>\n</section>\n",
            esc(&feedback_path(site.base, &a.slug)),
            esc(words.was_helpful),
            esc(words.yes),
            esc(words.no),
        );
    }
    main.push_str("</main>\n");

    let description = nonblank(meta("description"))
        .or(nonblank(a.description.as_deref()))
        .or(nonblank(page.excerpt))
        .map_or_else(|| site.description(), str::to_owned);
    let head = Head {
        title: site.title(nonblank(meta("title")).unwrap_or(&a.title)),
        description,
        og_type: "article",
        path: Some(path),
        canonical: true,
        noindex: false,
        alternates,
        x_default,
    };
    let body = format!("{}{main}{}", site.header(false, ""), site.footer(&versions));
    site.document(&head, &body)
}

/// `{base}/{locale}/articles?query=…`: the form prefilled, how many hits and the hits.
pub(crate) fn search(site: &Site<'_>, query: &str, hits: &[SearchHit<'_>]) -> String {
    let words = site.words();
    let query = query.trim();
    let q = esc(query).to_string();
    let path = search_path(site.base, site.locale, Some(query));
    let mut main = String::from("<main id=\"main\" class=\"wrap\">\n");
    main.push_str(&site.crumbs(&[(words.search_results, path.clone())]));
    w!(main, "<h1>{}</h1>\n", esc(words.search_results));
    if query.is_empty() {
        w!(main, "<p>{}</p>\n", esc(words.search_hint));
    } else if hits.is_empty() {
        // `q` is escaped already: the template is trusted.
        w!(
            main,
            "<p role=\"status\">{}</p>\n<p><a href=\"{}\">{}</a></p>\n",
            fill(words.no_results, &[("q", &q)]),
            esc(&site.home()),
            esc(words.back_home)
        );
    } else {
        w!(
            main,
            "<p role=\"status\">{}</p>\n<ol class=\"list card\">\n",
            words.count(&words.results, hits.len(), &q)
        );
        for hit in hits {
            w!(
                main,
                "<li><h2><a href=\"{}\">{}</a></h2><p class=\"muted\">{}</p></li>\n",
                esc(&article_path(site.base, hit.slug)),
                esc(hit.title),
                hit.snippet_html
            );
        }
        main.push_str("</ol>\n");
    }
    main.push_str("</main>\n");
    let head = Head {
        title: site.title(words.search_results),
        description: site.description(),
        og_type: "website",
        path: Some(path),
        canonical: false,
        noindex: true,
        alternates: Vec::new(),
        x_default: None,
    };
    let body = format!("{}{main}{}", site.header(false, query), site.footer(&[]));
    site.document(&head, &body)
}

/// A 404 inside a known portal: its header and search, and a way home.
pub(crate) fn not_found(site: &Site<'_>) -> String {
    let words = site.words();
    let main = format!(
        "<main id=\"main\" class=\"wrap\">\n<div class=\"card\">\n<h1>{}</h1>\n<p>{}</p>\n\
         <p><a href=\"{}\">{}</a></p>\n</div>\n</main>\n",
        esc(words.page_not_found),
        esc(words.not_found_text),
        esc(&site.home()),
        esc(words.back_home)
    );
    let head = Head {
        title: site.title(words.page_not_found),
        description: words.not_found_text.to_owned(),
        og_type: "website",
        path: None,
        canonical: false,
        noindex: true,
        alternates: Vec::new(),
        x_default: None,
    };
    let body = format!("{}{main}{}", site.header(false, ""), site.footer(&[]));
    site.document(&head, &body)
}

/// A 404 when not even the portal is known: no header, no links, in `locale`.
pub(crate) fn portal_not_found(locale: &str) -> String {
    let words = words(locale);
    let locale = normalise_locale(locale).unwrap_or("en");
    let main = format!(
        "<main id=\"main\" class=\"wrap\">\n<div class=\"card\">\n<h1>{}</h1>\n<p>{}</p>\n\
         </div>\n</main>\n",
        esc(words.page_not_found),
        esc(words.not_found_text),
    );
    let head = Head {
        title: format!("{} · {}", words.page_not_found, words.help_center),
        description: words.not_found_text.to_owned(),
        og_type: "website",
        path: None,
        canonical: false,
        noindex: true,
        alternates: Vec::new(),
        x_default: None,
    };
    document(locale, "", words.help_center, None, None, &head, &main)
}

// ---------------------------------------------------------------------------------------------
// Sitemap

/// `2026-12-06`, for `<time datetime>`.
fn w3c_date(ms: Millis) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `{base}/sitemap.xml`: each entry's absolute URL, `lastmod` as a W3C datetime (UTC) and an
/// `xhtml:link` per language version.
pub(crate) fn sitemap(origin: &str, entries: &[SitemapEntry]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
         xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n",
    );
    let url = |path: &str| {
        if path.starts_with('/') {
            absolute(origin, path)
        } else {
            absolute(origin, &format!("/{path}"))
        }
    };
    for entry in entries {
        w!(out, "<url>\n<loc>{}</loc>\n", esc(&url(&entry.path)));
        if let Some(at) = DateTime::from_timestamp_millis(entry.updated_at_ms) {
            w!(
                out,
                "<lastmod>{}</lastmod>\n",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
        }
        for (locale, path) in &entry.alternates {
            w!(
                out,
                "<xhtml:link rel=\"alternate\" hreflang=\"{}\" href=\"{}\"/>\n",
                esc(&hreflang(locale)),
                esc(&url(path))
            );
        }
        out.push_str("</url>\n");
    }
    out.push_str("</urlset>\n");
    out
}
