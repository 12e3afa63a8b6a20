//! The help center: portals, their categories and articles (Chatwoot's `Portal`, `Category`,
//! `Article`), the rules they are written under, how an article's Markdown becomes safe HTML
//! (`markdown`), and how customers' questions find articles (`search`).

pub mod faq_bot;
pub mod markdown;
pub mod search;

use serde::{Deserialize, Serialize};

use crate::Millis;

/// The languages a portal may be written in (the app's: en, pt-BR, pl). Chatwoot accepts any
/// of its UI locales; Throughline keeps to those it can search well and render in.
pub const LOCALES: [&str; 3] = ["en", "pt_BR", "pl"];

/// A locale as Chatwoot writes it (`pt_BR`), from what a client sent (`pt-BR`, `pt_br`, `PL`).
pub fn normalise_locale(raw: &str) -> Option<&'static str> {
    let wanted = raw.trim().replace('-', "_").to_ascii_lowercase();
    LOCALES
        .into_iter()
        .find(|l| l.to_ascii_lowercase() == wanted)
}

/// The `hreflang` of a locale (`pt_BR` → `pt-BR`).
pub fn hreflang(locale: &str) -> String {
    locale.replace('_', "-")
}

/// A help center, public at `/hc/{slug}` or on its own domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Portal {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub slug: String,
    /// The brand colour (`#1f93ff`), used by the public pages.
    pub color: Option<String>,
    pub custom_domain: Option<String>,
    pub header_text: Option<String>,
    pub homepage_link: Option<String>,
    pub page_title: Option<String>,
    pub archived: bool,
    pub default_locale: String,
    pub allowed_locales: Vec<String>,
    /// The website inbox whose widget shows this portal's articles.
    pub inbox_id: Option<i64>,
    /// The logo: one of the account's uploads (an image).
    #[serde(default)]
    pub logo_upload_id: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A category of a portal, in one locale; `associated_category_id` links its translations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub id: i64,
    pub account_id: i64,
    pub portal_id: i64,
    pub name: String,
    pub slug: String,
    pub locale: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub position: i64,
    pub parent_category_id: Option<i64>,
    pub associated_category_id: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Chatwoot's `enum status: { draft: 0, published: 1, archived: 2 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    Draft,
    Published,
    Archived,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    /// By name or by Chatwoot's number (its docs send `1`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "draft" | "0" => Some(Self::Draft),
            "published" | "1" => Some(Self::Published),
            "archived" | "2" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// An article: Markdown in one locale; `associated_article_id` points at the article it
/// translates (the root of its translations).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: i64,
    pub account_id: i64,
    pub portal_id: i64,
    pub category_id: Option<i64>,
    pub title: String,
    pub slug: String,
    pub content: String,
    pub description: Option<String>,
    pub status: ArticleStatus,
    pub position: i64,
    pub locale: String,
    pub author_id: Option<i64>,
    pub associated_article_id: Option<i64>,
    /// Chatwoot's `meta` (`title`, `description`, `tags`).
    pub meta: serde_json::Value,
    pub views: i64,
    /// "Was this helpful?" answers from the public pages and the widget.
    pub helpful_yes: i64,
    pub helpful_no: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A slug made of `text`: lower-case ASCII letters and digits joined by `-`, diacritics folded
/// ("Como rastrear o pedido?" → "como-rastrear-o-pedido", "Zwrot zamówienia" →
/// "zwrot-zamowienia"), at most 80 characters; `None` when nothing is left.
pub fn slugify(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = search::fold_char(c);
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
            if out.len() >= 80 {
                break;
            }
        } else {
            dash = true;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Whether `slug` may name a portal, category or article in a URL as it is.
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 120
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !slug.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_fold_and_join() {
        assert_eq!(
            slugify("Como rastrear o pedido?").as_deref(),
            Some("como-rastrear-o-pedido")
        );
        assert_eq!(
            slugify("  Zwrot zamówienia — łatwo ").as_deref(),
            Some("zwrot-zamowienia-latwo")
        );
        assert_eq!(slugify("¿¡!"), None);
        assert!(valid_slug("como-rastrear-o-pedido"));
        assert!(!valid_slug("Como"));
        assert!(!valid_slug("a/b"));
        assert!(!valid_slug(""));
    }

    #[test]
    fn locales_are_read_as_clients_write_them() {
        assert_eq!(normalise_locale("pt-BR"), Some("pt_BR"));
        assert_eq!(normalise_locale("pt_br"), Some("pt_BR"));
        assert_eq!(normalise_locale("PL"), Some("pl"));
        assert_eq!(normalise_locale("de"), None);
        assert_eq!(hreflang("pt_BR"), "pt-BR");
    }

    #[test]
    fn statuses_by_name_or_number() {
        assert_eq!(ArticleStatus::parse("1"), Some(ArticleStatus::Published));
        assert_eq!(
            ArticleStatus::parse("archived"),
            Some(ArticleStatus::Archived)
        );
        assert_eq!(ArticleStatus::parse("3"), None);
    }
}
