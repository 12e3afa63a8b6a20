//! The document around every page (its `<head>`, the portal's header and footer,
//! breadcrumbs), and what makes interpolated values safe: HTML escaping, percent-encoded path
//! segments, the paths of the pages and checked outside URLs.

use std::fmt::{self, Display, Write};

use throughline_core::help_center::{Portal, hreflang, normalise_locale};

use super::style::{CSS, palette};
use super::words::{Words, fill, words};
use super::{ArticleLink, Site};

// ---------------------------------------------------------------------------------------------
// Escaping and URLs

/// `text` escaped for HTML text, HTML attributes (quoted) and XML alike.
pub(crate) fn esc(text: &str) -> Esc<'_> {
    Esc(text)
}

/// See [`esc`].
pub(crate) struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (i, c) in self.0.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[last..i])?;
            f.write_str(entity)?;
            last = i + 1;
        }
        f.write_str(&self.0[last..])
    }
}

/// One path segment (or query value), percent-encoded but for ASCII letters, digits, `-_~`.
pub(crate) fn seg(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            w!(out, "%{b:02X}");
        }
    }
    out
}

/// `base` as a path prefix: `""` or `/a/b`, each segment encoded (never `//host`).
pub(crate) fn base_path(base: &str) -> String {
    base.split('/')
        .filter(|s| !s.is_empty())
        .fold(String::new(), |mut out, s| {
            out.push('/');
            out.push_str(&seg(s));
            out
        })
}

/// `{base}/{locale}`: a portal's home in one language.
pub(crate) fn home_path(base: &str, locale: &str) -> String {
    format!("{}/{}", base_path(base), seg(locale))
}

/// `{base}/{locale}/categories/{slug}`.
pub(crate) fn category_path(base: &str, locale: &str, slug: &str) -> String {
    format!("{}/categories/{}", home_path(base, locale), seg(slug))
}

/// `{base}/articles/{slug}`.
pub(crate) fn article_path(base: &str, slug: &str) -> String {
    format!("{}/articles/{}", base_path(base), seg(slug))
}

/// `{base}/articles/{slug}/feedback`: where "Was this helpful?" posts.
pub(crate) fn feedback_path(base: &str, slug: &str) -> String {
    format!("{}/feedback", article_path(base, slug))
}

/// `{base}/{locale}/articles`, with `?query=` when there is one.
pub(crate) fn search_path(base: &str, locale: &str, query: Option<&str>) -> String {
    let path = format!("{}/articles", home_path(base, locale));
    match query {
        Some(q) => format!("{path}?query={}", seg(q)),
        None => path,
    }
}

/// `origin` + `path`, or `path` alone when `origin` is not an http(s) origin.
pub(super) fn absolute(origin: &str, path: &str) -> String {
    let origin = origin.trim().trim_end_matches('/');
    let ok = (has_scheme(origin, "https://") || has_scheme(origin, "http://"))
        && !origin.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        format!("{origin}{path}")
    } else {
        path.to_owned()
    }
}

fn has_scheme(url: &str, scheme: &str) -> bool {
    url.get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        && url.len() > scheme.len()
}

/// An http(s) URL to link to, or nothing (no `javascript:`, no control characters).
fn web_url(url: Option<&str>) -> Option<&str> {
    let url = url?.trim();
    ((has_scheme(url, "https://") || has_scheme(url, "http://"))
        && !url.chars().any(char::is_control))
    .then_some(url)
}

/// An image source: an http(s) URL or a path on this host (not `//host`).
fn image_url(url: Option<&str>) -> Option<&str> {
    let trimmed = url?.trim();
    let local = trimmed.starts_with('/')
        && !trimmed.starts_with("//")
        && !trimmed.contains('\\')
        && !trimmed.chars().any(char::is_control);
    if local {
        Some(trimmed)
    } else {
        web_url(Some(trimmed))
    }
}

pub(super) fn nonblank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

// ---------------------------------------------------------------------------------------------
// The document

/// What goes into `<head>` besides the constants.
pub(super) struct Head {
    /// The whole `<title>`.
    pub(super) title: String,
    pub(super) description: String,
    pub(super) og_type: &'static str,
    /// This page's path, for `og:url` and `canonical`; `None` when unknown.
    pub(super) path: Option<String>,
    pub(super) canonical: bool,
    pub(super) noindex: bool,
    /// Language versions as `(locale, path)`; `x_default` the one for other languages.
    pub(super) alternates: Vec<(String, String)>,
    pub(super) x_default: Option<String>,
}

/// A whole document: `body` holds everything between `<body>`'s skip link and its end.
pub(super) fn document(
    locale: &str,
    origin: &str,
    site_name: &str,
    colour: Option<&str>,
    image: Option<&str>,
    head: &Head,
    body: &str,
) -> String {
    let words = words(locale);
    let colours = palette(colour);
    let mut out = String::with_capacity(8 * 1024 + body.len());
    w!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<meta name=\"description\" content=\"{}\">\n",
        esc(&hreflang(locale)),
        esc(&head.title),
        esc(&head.description),
    );
    if head.noindex {
        out.push_str("<meta name=\"robots\" content=\"noindex\">\n");
    }
    if let (true, Some(path)) = (head.canonical, &head.path) {
        w!(
            out,
            "<link rel=\"canonical\" href=\"{}\">\n",
            esc(&absolute(origin, path))
        );
    }
    for (alt_locale, path) in &head.alternates {
        w!(
            out,
            "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}\">\n",
            esc(&hreflang(alt_locale)),
            esc(&absolute(origin, path))
        );
    }
    if let Some(path) = &head.x_default {
        w!(
            out,
            "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{}\">\n",
            esc(&absolute(origin, path))
        );
    }
    w!(
        out,
        "<meta property=\"og:title\" content=\"{}\">\n\
         <meta property=\"og:description\" content=\"{}\">\n\
         <meta property=\"og:type\" content=\"{}\">\n",
        esc(&head.title),
        esc(&head.description),
        head.og_type,
    );
    if let Some(path) = &head.path {
        w!(
            out,
            "<meta property=\"og:url\" content=\"{}\">\n",
            esc(&absolute(origin, path))
        );
    }
    if let Some(src) = image_url(image) {
        let src = if src.starts_with('/') {
            absolute(origin, src)
        } else {
            src.to_owned()
        };
        w!(
            out,
            "<meta property=\"og:image\" content=\"{}\">\n",
            esc(&src)
        );
    }
    w!(
        out,
        "<meta property=\"og:site_name\" content=\"{}\">\n\
         <meta property=\"og:locale\" content=\"{}\">\n",
        esc(site_name),
        words.og_locale,
    );
    for (alt_locale, _) in &head.alternates {
        let alt = self::words(alt_locale).og_locale;
        if alt != words.og_locale {
            w!(
                out,
                "<meta property=\"og:locale:alternate\" content=\"{alt}\">\n"
            );
        }
    }
    // Only colours written by `hex` reach the CSS.
    w!(
        out,
        "<meta name=\"theme-color\" content=\"{}\">\n\
         <style>:root{{--brand:{};--on-brand:{};--link:{}}}</style>\n<style>{CSS}</style>\n\
         </head>\n<body>\n<a class=\"skip\" href=\"#main\">{}</a>\n{body}</body>\n</html>\n",
        colours.brand,
        colours.brand,
        colours.on_brand,
        colours.link,
        esc(words.skip_to_content),
    );
    out
}

/// The locales a portal is published in, as known locales, in the portal's order.
fn portal_locales(portal: &Portal) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for raw in portal
        .allowed_locales
        .iter()
        .chain(std::iter::once(&portal.default_locale))
    {
        if let Some(l) = normalise_locale(raw)
            && !out.contains(&l)
        {
            out.push(l);
        }
    }
    if out.is_empty() {
        out.push("en");
    }
    out
}

impl Site<'_> {
    pub(super) fn words(&self) -> &'static Words {
        words(self.locale)
    }

    /// `page_title`, else the portal's name.
    pub(super) fn name(&self) -> &str {
        nonblank(self.portal.page_title.as_deref()).unwrap_or(&self.portal.name)
    }

    pub(super) fn home(&self) -> String {
        home_path(self.base, self.locale)
    }

    pub(super) fn title(&self, page: &str) -> String {
        format!("{page} · {}", self.name())
    }

    pub(super) fn description(&self) -> String {
        fill(self.words().home_description, &[("q", &self.portal.name)])
    }

    pub(super) fn document(&self, head: &Head, body: &str) -> String {
        document(
            self.locale,
            self.origin,
            self.name(),
            self.portal.color.as_deref(),
            self.logo_url,
            head,
            body,
        )
    }

    /// The portal's bar, then the hero (with the page's only `<h1>`) on the home page or a
    /// compact search form elsewhere.
    pub(super) fn header(&self, hero: bool, query: &str) -> String {
        let words = self.words();
        let mut out = String::new();
        w!(
            out,
            "<header class=\"site\">\n<div class=\"wrap bar\">\n<a class=\"brand\" href=\"{}\">",
            esc(&self.home())
        );
        // The logo says the portal's name; the name beside it is then not read twice.
        if let Some(src) = image_url(self.logo_url) {
            w!(
                out,
                "<img src=\"{}\" alt=\"{}\" height=\"32\"><span aria-hidden=\"true\">",
                esc(src),
                esc(&self.portal.name)
            );
        } else {
            out.push_str("<span>");
        }
        w!(out, "{}</span></a>\n", esc(&self.portal.name));
        if let Some(link) = web_url(self.portal.homepage_link.as_deref()) {
            w!(
                out,
                "<a href=\"{}\">{}</a>\n",
                esc(link),
                esc(words.go_to_website)
            );
        }
        w!(
            out,
            "</div>\n<div class=\"wrap {}\">\n",
            if hero { "hero" } else { "compact" }
        );
        if hero {
            let title = nonblank(self.portal.header_text.as_deref()).unwrap_or(words.hero);
            w!(out, "<h1>{}</h1>\n", esc(title));
        }
        w!(
            out,
            "<form class=\"search\" role=\"search\" method=\"get\" action=\"{}\">\n\
             <label for=\"q\" class=\"vh\">{}</label>\n\
             <input id=\"q\" type=\"search\" name=\"query\" value=\"{}\" placeholder=\"{}\" \
             maxlength=\"200\">\n<button type=\"submit\">{}</button>\n</form>\n</div>\n</header>\n",
            esc(&search_path(self.base, self.locale, None)),
            esc(words.search_articles),
            esc(query),
            esc(words.search_placeholder),
            esc(words.search),
        );
        out
    }

    /// The footer, with links to the page in the portal's other languages: `links` gives the
    /// path per locale (an article's translation), the locale's home otherwise.
    pub(super) fn footer(&self, links: &[(String, String)]) -> String {
        let words = self.words();
        let mut out = String::from("<footer class=\"site\">\n<div class=\"wrap\">\n");
        let current = normalise_locale(self.locale);
        let others: Vec<(&str, String)> = portal_locales(self.portal)
            .into_iter()
            .filter(|l| Some(*l) != current)
            .map(|l| {
                let path = links
                    .iter()
                    .find(|(locale, _)| normalise_locale(locale) == Some(l))
                    .map(|(_, path)| path.clone())
                    .unwrap_or_else(|| home_path(self.base, l));
                (l, path)
            })
            .collect();
        if !others.is_empty() {
            w!(
                out,
                "<nav aria-labelledby=\"languages\">\n<h2 id=\"languages\">{}</h2>\n<ul>\n",
                esc(words.language)
            );
            for (l, path) in others {
                w!(
                    out,
                    "<li><a href=\"{}\" hreflang=\"{}\" lang=\"{}\">{}</a></li>\n",
                    esc(&path),
                    esc(&hreflang(l)),
                    esc(&hreflang(l)),
                    esc(self::words(l).language_name)
                );
            }
            out.push_str("</ul>\n</nav>\n");
        }
        w!(
            out,
            "<p>{} · {}</p>\n</div>\n</footer>\n",
            esc(&self.portal.name),
            esc(words.powered_by)
        );
        out
    }

    /// Breadcrumbs from the portal's home; the last one is the current page.
    pub(super) fn crumbs(&self, trail: &[(&str, String)]) -> String {
        let words = self.words();
        let mut out = String::new();
        w!(
            out,
            "<nav class=\"crumbs\" aria-label=\"{}\">\n<ol>\n<li><a href=\"{}\">{}</a></li>\n",
            esc(words.breadcrumb),
            esc(&self.home()),
            esc(words.home)
        );
        for (i, (label, path)) in trail.iter().enumerate() {
            let current = if i + 1 == trail.len() {
                " aria-current=\"page\""
            } else {
                ""
            };
            w!(
                out,
                "<li><a href=\"{}\"{current}>{}</a></li>\n",
                esc(path),
                esc(label)
            );
        }
        out.push_str("</ol>\n</nav>\n");
        out
    }

    /// The portal's home in each of its languages, for `hreflang` alternates.
    pub(super) fn home_alternates(&self) -> (Vec<(String, String)>, Option<String>) {
        let locales = portal_locales(self.portal);
        if locales.len() < 2 {
            return (Vec::new(), None);
        }
        let alternates = locales
            .iter()
            .map(|l| (l.to_string(), home_path(self.base, l)))
            .collect();
        let default = normalise_locale(&self.portal.default_locale).unwrap_or(locales[0]);
        (alternates, Some(home_path(self.base, default)))
    }
}

/// An `<ul class="list">` of articles with their summaries.
pub(super) fn article_list(site: &Site<'_>, articles: &[ArticleLink<'_>], heading: &str) -> String {
    let mut out = String::from("<ul class=\"list\">\n");
    for a in articles {
        w!(
            out,
            "<li><{heading}><a href=\"{}\">{}</a></{heading}>",
            esc(&article_path(site.base, a.slug)),
            esc(a.title)
        );
        if let Some(summary) = nonblank(a.summary) {
            w!(out, "<p class=\"muted\">{}</p>", esc(summary));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_what_slugs_should_not_hold() {
        assert_eq!(
            article_path("/hc/shop", "a b/\"<é"),
            "/hc/shop/articles/a%20b%2F%22%3C%C3%A9"
        );
        assert_eq!(home_path("", "pt_BR"), "/pt_BR");
        assert_eq!(
            base_path("//evil.example.com/x/"),
            "/evil%2Eexample%2Ecom/x"
        );
        assert_eq!(
            search_path("/hc/shop", "pl", Some("a&b=c")),
            "/hc/shop/pl/articles?query=a%26b%3Dc"
        );
        assert_eq!(
            absolute("https://h.example.com/", "/x"),
            "https://h.example.com/x"
        );
        assert_eq!(absolute("ftp://h", "/x"), "/x");
        assert_eq!(web_url(Some(" JavaScript:alert(1)")), None);
        assert_eq!(
            web_url(Some("HTTPS://shop.example.com")),
            Some("HTTPS://shop.example.com")
        );
        assert_eq!(image_url(Some("//cdn.example.com/x.png")), None);
        assert_eq!(
            image_url(Some("/uploads/logo.png")),
            Some("/uploads/logo.png")
        );
        assert_eq!(
            esc("<a href='x'>&\"</a>").to_string(),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
