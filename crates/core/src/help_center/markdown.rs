//! An article's Markdown as the public pages show it, and as search and previews read it.
//!
//! [`render`] turns CommonMark (with tables and strikethrough) into HTML and then sanitises
//! that HTML with an allowlist, so raw HTML written inside the Markdown (`<script>`, `onerror=`,
//! `javascript:` links, iframes, styles) never reaches a reader: the allowlist, not the
//! Markdown parser, is what makes the output safe. [`plain_text`] is the text a reader sees,
//! for the search index, snippets and the Open Graph description; [`excerpt`] cuts it short.
//!
//! Every function reads at most [`MAX_INPUT_BYTES`] of its input (the API limits articles to
//! 100 000 characters; the bound keeps a stored oddity from costing more than that).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// The most Markdown read, in bytes; the rest is ignored.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;

/// The `rel` of every link: articles link to anything, and vouch for none of it.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// The elements Markdown produces that articles may use.
const TAGS: [&str; 26] = [
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "strong",
    "em",
    "del",
    "hr",
    "br",
    "a",
    "img",
];

/// `input` cut to at most [`MAX_INPUT_BYTES`], on a character boundary.
fn bounded(input: &str) -> &str {
    if input.len() <= MAX_INPUT_BYTES {
        return input;
    }
    let mut end = MAX_INPUT_BYTES;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    &input[..end]
}

fn parser(markdown: &str) -> Parser<'_> {
    Parser::new_ext(
        bounded(markdown),
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
}

/// Headings one level down (`#` → `<h2>` … `#####` → `<h6>`, `######` stays `<h6>`): the
/// page's own `<h1>` is the article's title, and a page has one.
fn one_level_down(event: Event<'_>) -> Event<'_> {
    let lower = |level: HeadingLevel| match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => HeadingLevel::H6,
    };
    match event {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: lower(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(lower(level))),
        other => other,
    }
}

/// The article's HTML, safe to put in a page as it is.
///
/// Kept: headings (one level down), paragraphs, lists, code and preformatted blocks, quotes, tables, strong,
/// emphasis, strikethrough, rules, line breaks, links (`http`, `https`, `mailto` or relative,
/// with `rel="noopener noreferrer nofollow"`) and images (`http`, `https` or relative; `alt`,
/// `title`). A code block's `class="language-…"` stays for highlighting. Everything else —
/// scripts and styles with their content, other elements (their text stays), event handlers,
/// `style` and unknown attributes, other URL schemes such as `javascript:` and `data:` — is
/// removed. Table column alignment is lost with the `style` attributes.
pub fn render(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser(markdown).map(one_level_down));

    let tag_attributes: HashMap<&str, HashSet<&str>> = [
        ("a", ["href", "title"].into()),
        ("img", ["src", "alt", "title"].into()),
        ("ol", ["start"].into()),
        ("code", ["class"].into()),
    ]
    .into();
    ammonia::Builder::empty()
        .tags(TAGS.into())
        .tag_attributes(tag_attributes)
        .generic_attributes(HashSet::new())
        .clean_content_tags(["script", "style"].into())
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some(LINK_REL))
        .attribute_filter(filter_attribute)
        .clean(&html)
        .to_string()
}

/// What the allowlist cannot say by itself: images are never `mailto:`, and a code block's
/// class is only a language name.
fn filter_attribute<'a>(element: &str, attribute: &str, value: &'a str) -> Option<Cow<'a, str>> {
    match (element, attribute) {
        ("img", "src") => {
            let lower = value.trim().to_ascii_lowercase();
            (!lower.starts_with("mailto:")).then_some(Cow::Borrowed(value))
        }
        ("code", "class") => value
            .strip_prefix("language-")
            .is_some_and(|lang| {
                !lang.is_empty()
                    && lang.len() <= 32
                    && lang
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'_'))
            })
            .then_some(Cow::Borrowed(value)),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// The text a reader sees, on one line: no markup, link texts and image descriptions (`alt`)
/// kept, code kept, whitespace collapsed to single spaces. Raw HTML inside the Markdown is left
/// out (its tags and, for HTML blocks, its text).
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::new();
    for event in parser(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::Rule => text.push(' '),
            // Block ends separate words that the source separated by lines.
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_),
            ) => text.push(' '),
            _ => {}
        }
    }
    collapse_whitespace(&text)
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The start of [`plain_text`], at most `max_chars` characters including the "…" that ends it
/// when it was cut; cut between words unless a single word is longer than that.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    cut_at_word(&plain_text(markdown), max_chars)
}

/// `text` (whitespace already collapsed) cut as [`excerpt`] describes.
fn cut_at_word(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    // Room for the ellipsis.
    let keep = max_chars - 1;
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    let next_is_space = text[end..].starts_with(char::is_whitespace);
    let cut = if next_is_space {
        head
    } else {
        // Mid-word: back to the last space, unless the first word alone is too long.
        head.rfind(char::is_whitespace).map_or(head, |i| &head[..i])
    };
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':'));
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn markdown_becomes_html_with_tables_and_strikethrough() {
        let html = render(
            "# Trocas\n\nTexto **forte**, *ênfase* e ~~riscado~~.\n\n\
             | Prazo | Dias |\n|:--|--:|\n| PIX | 1 |\n\n- um\n- dois\n\n> citação\n\n\
             ```rust\nfn main() {}\n```\n\n---\nlinha  \nquebrada",
        );
        for part in [
            "<h2>Trocas</h2>",
            "<strong>forte</strong>",
            "<em>ênfase</em>",
            "<del>riscado</del>",
            "<table>",
            "<th>Prazo</th>",
            "<td>PIX</td>",
            "<ul>",
            "<li>um</li>",
            "<blockquote>",
            "<pre><code class=\"language-rust\">fn main() {}",
            "<hr>",
            "<br>",
        ] {
            assert!(html.contains(part), "{part} in {html}");
        }
        // Column alignment comes as a style attribute, which is not kept.
        assert!(!html.contains("style"), "{html}");
    }

    #[test]
    fn links_keep_safe_urls_and_get_rel() {
        let html = render(
            "[a](https://example.com/x) [b](http://example.com) [c](mailto:help@example.com) \
             [d](/hc/loja/artigos/1) [e](javascript:alert(1)) [f](data:text/html,hi) \
             [g](vbscript:x) [h](JavaScript:alert(1))",
        );
        assert!(html.contains(
            "<a href=\"https://example.com/x\" rel=\"noopener noreferrer nofollow\">a</a>"
        ));
        assert!(html.contains("href=\"http://example.com\""));
        assert!(html.contains("href=\"mailto:help@example.com\""));
        assert!(html.contains("href=\"/hc/loja/artigos/1\""));
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("javascript"), "{html}");
        assert!(!lower.contains("data:"), "{html}");
        assert!(!lower.contains("vbscript"), "{html}");
        // The link text stays when its URL goes.
        assert!(
            html.contains("<a rel=\"noopener noreferrer nofollow\">e</a>"),
            "{html}"
        );
    }

    #[test]
    fn images_keep_http_and_relative_sources_only() {
        let html = render(
            "![Caixa](https://cdn.example.com/a.png \"Título\") ![rel](imagens/b.png) \
             ![dados](data:image/png;base64,AAAA) ![mail](mailto:a@b.c) ![js](javascript:x)",
        );
        assert!(html.contains(
            "<img src=\"https://cdn.example.com/a.png\" alt=\"Caixa\" title=\"Título\">"
        ));
        assert!(html.contains("<img src=\"imagens/b.png\" alt=\"rel\">"));
        assert!(!html.contains("data:"), "{html}");
        assert!(!html.contains("mailto:"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(
            html.contains("alt=\"dados\""),
            "the image stays, without a source: {html}"
        );
    }

    #[test]
    fn uploaded_images_render_and_nothing_rides_along() {
        // What the editor's "Insert image" writes: `![file name](file_url)`.
        let url = "https://help.example.com/uploads/7/AbC-_9xYz/Instalacao.png";
        let html = render(&format!("Veja:\n\n![Instalacao.png]({url})"));
        assert!(
            html.contains(&format!("<img src=\"{url}\" alt=\"Instalacao.png\">")),
            "{html}"
        );
        // An alt text or a URL written to break out of the attribute stays inside it.
        let html = render(
            "![x\" onerror=\"alert(1)](https://h.example.com/a.png) \
             ![y](https://h.example.com/b.png\"onload=\"alert(2)) \
             ![z](javascript:alert(3)) ![w](JAVASCRIPT:alert(4)) \
             ![v](data:image/svg+xml,<svg/onload=alert(5)>) \
             <img src=\"https://h.example.com/c.png\" onerror=\"alert(6)\" style=\"x\" width=\"9999\">",
        );
        for name in attribute_names(&html) {
            assert!(
                ["src", "alt", "title"].contains(&name.as_str()),
                "{name} in {html}"
            );
        }
        let lower = html.to_ascii_lowercase();
        for bad in ["javascript", "data:", "<svg"] {
            assert!(!lower.contains(bad), "{bad} in {html}");
        }
        assert!(
            html.contains("<img src=\"https://h.example.com/c.png\">"),
            "raw HTML images keep their source only: {html}"
        );
    }

    #[test]
    fn raw_html_is_sanitised_away() {
        let html = render(
            "Olá <script>alert('x')</script> mundo\n\n<script>\nfetch('/steal')\n</script>\n\n\
             <img src=x onerror=alert(1)> \
             <a href=\"javascript:alert(1)\" onclick=\"x()\">link</a>\n\n\
             <iframe src=\"https://evil.example\"></iframe>\
             <p style=\"color:red\" onmouseover=\"x\">p</p>\n\n\
             <style>body{display:none}</style><div><b>negrito</b></div><svg onload=alert(1)></svg>",
        );
        let lower = html.to_ascii_lowercase();
        for bad in [
            "<script",
            "alert",
            "fetch",
            "onerror",
            "onclick",
            "onmouseover",
            "onload",
            "javascript",
            "<iframe",
            "style",
            "display",
            "<svg",
            "<div",
            "<b>",
        ] {
            assert!(!lower.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("Olá"));
        assert!(html.contains("mundo"));
        assert!(html.contains("link"));
        assert!(
            html.contains("negrito"),
            "the text of an unknown element stays: {html}"
        );
    }

    #[test]
    fn plain_text_is_what_a_reader_sees() {
        let md = "# Como rastrear\n\nVeja o [código de rastreio](https://x.example) em \
                  **Meus pedidos**.\n\n![Tela de pedidos](/a.png)\n\n- um\n- dois\n\n\
                  | A | B |\n|---|---|\n| c | d |\n\n`código` &amp; <b>html</b>\n\n\
                  <div>\nbloco\n</div>\n\n```\nlinha 1\nlinha 2\n```";
        assert_eq!(
            plain_text(md),
            "Como rastrear Veja o código de rastreio em Meus pedidos. Tela de pedidos um dois \
             A B c d código & html linha 1 linha 2"
        );
        assert_eq!(plain_text(""), "");
        assert_eq!(plain_text("  \n\n  "), "");
    }

    #[test]
    fn excerpts_cut_between_words() {
        let md = "Você pode devolver qualquer produto em até sete dias.";
        assert_eq!(excerpt(md, 200), md);
        assert_eq!(excerpt(md, md.chars().count()), md);
        assert_eq!(excerpt(md, 20), "Você pode devolver…");
        assert_eq!(excerpt(md, 19), "Você pode devolver…");
        assert_eq!(excerpt(md, 18), "Você pode…");
        assert!(excerpt(md, 20).chars().count() <= 20);
        // One word longer than the limit is cut inside.
        assert_eq!(excerpt("Zamówienie", 5), "Zamó…");
        assert_eq!(excerpt("Zamówienie", 1), "…");
        assert_eq!(excerpt("Zamówienie", 0), "");
        // Punctuation before the cut is not left dangling.
        assert_eq!(excerpt("Prazos, formas e valores", 9), "Prazos…");
    }

    #[test]
    fn input_is_bounded() {
        let long = "palavra ".repeat(MAX_INPUT_BYTES / 4);
        let text = plain_text(&long);
        assert!(text.len() <= MAX_INPUT_BYTES);
        assert!(render(&long).len() < 2 * MAX_INPUT_BYTES);
        // A cut inside a multi-byte character moves back to its start.
        let mut multi = "a".repeat(MAX_INPUT_BYTES - 1);
        multi.push('ł');
        assert_eq!(bounded(&multi).len(), MAX_INPUT_BYTES - 1);
    }

    /// The attribute names of every tag in ammonia's output (canonical HTML: values are
    /// double-quoted with `"` escaped, and text never holds a raw `<`).
    fn attribute_names(html: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            rest = &rest[open + 1..];
            let tag_end = rest.find('>').unwrap_or(rest.len());
            let mut tag = &rest[..tag_end];
            // Skip the element name.
            tag = tag.trim_start_matches(|c: char| !c.is_whitespace());
            loop {
                tag = tag.trim_start();
                if tag.is_empty() || tag == "/" {
                    break;
                }
                let name_end = tag
                    .find(|c: char| c == '=' || c.is_whitespace())
                    .unwrap_or(tag.len());
                names.push(tag[..name_end].to_ascii_lowercase());
                tag = &tag[name_end..];
                if let Some(value) = tag.strip_prefix("=\"") {
                    let close = value.find('"').unwrap_or(value.len());
                    tag = value.get(close + 1..).unwrap_or("");
                }
            }
            rest = rest.get(tag_end..).unwrap_or("");
        }
        names
    }

    #[test]
    fn the_attribute_reader_of_the_property_test_reads_attributes() {
        assert_eq!(
            attribute_names("<p>go on</p><a href=\"x y\" rel=\"a on\">b</a><img src=\"s\">"),
            ["href", "rel", "src"]
        );
    }

    fn markdownish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<script>".to_owned()),
            Just("</script>".to_owned()),
            Just("<img src=x onerror=alert(1)>".to_owned()),
            Just("<a href=\"javascript:x\" onclick=y>".to_owned()),
            Just("[t](javascript:alert(1))".to_owned()),
            Just("![a](data:image/png;base64,AA)".to_owned()),
            Just(" on".to_owned()),
            Just("onload=".to_owned()),
            Just("<".to_owned()),
            Just(">".to_owned()),
            Just("\"".to_owned()),
            Just("`".to_owned()),
            Just("|".to_owned()),
            Just("\n".to_owned()),
            Just("~~".to_owned()),
            Just("*".to_owned()),
            Just("# ".to_owned()),
            Just("> ".to_owned()),
            Just("- ".to_owned()),
            "[a-zA-Zóżł ]{0,8}",
            ".{0,6}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn nothing_panics_and_nothing_runs(input in prop_oneof![".{0,400}", markdownish()]) {
            let html = render(&input);
            prop_assert!(!html.to_ascii_lowercase().contains("<script"), "{}", html);
            for name in attribute_names(&html) {
                prop_assert!(!name.starts_with("on"), "{} in {}", name, html);
                prop_assert!(name != "style", "{}", html);
            }
            let text = plain_text(&input);
            prop_assert!(!text.contains("  "));
            let cut = excerpt(&input, 30);
            prop_assert!(cut.chars().count() <= 30);
        }
    }
}
