//! HTML from strangers made safe for an agent's browser.
//!
//! ammonia (an HTML5 parser plus an allowlist) removes anything that can run code: scripts,
//! styles sheets, frames, objects, forms, event handlers, `javascript:` and `data:` links, SVG.
//! On top of it this module decides what may reach the network: remote images are tracking
//! pixels as often as not, so they are parked in `data-remote-src` until the agent asks for
//! them, and `cid:` images are pointed at our own attachment URLs.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The rel every link gets: no `window.opener` for the target, no referrer (it would leak
/// our conversation URLs), no SEO credit.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// The attribute a deferred remote image keeps its URL in; the UI moves it back to `src` when
/// the agent clicks "load images".
pub const REMOTE_SRC_ATTRIBUTE: &str = "data-remote-src";

#[derive(Debug, Clone, Default)]
pub struct SanitizeOptions {
    /// Load `http(s)` images directly. Off by default: opening an email must not tell the
    /// sender (or a tracker) that an agent read it.
    pub allow_remote_images: bool,
    /// `Content-ID` (without brackets) → URL where we serve that inline part. `cid:` images not
    /// in the map lose their `src`.
    pub inline_images: HashMap<String, String>,
}

/// CSS properties kept in `style` attributes: layout and typography only. Nothing that takes a
/// `url()` (backgrounds, list images, border images, cursors) and nothing that can lift content
/// out of the message box (`position`).
const STYLE_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "letter-spacing",
    "line-height",
    "vertical-align",
    "white-space",
    "word-break",
    "word-wrap",
    "overflow-wrap",
    "direction",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "border-radius",
    "width",
    "height",
    "max-width",
    "min-width",
    "max-height",
    "min-height",
    "display",
    "float",
    "clear",
    "table-layout",
    "list-style-type",
];

/// Attributes whose value is a URL, checked for `data:`/`cid:` abuse.
const URL_ATTRIBUTES: &[&str] = &["href", "src", "cite", "action", "background", "poster"];

/// Inline `data:` images that browsers only ever decode as pictures.
const DATA_IMAGE_PREFIXES: &[&str] = &[
    "data:image/png;",
    "data:image/jpeg;",
    "data:image/jpg;",
    "data:image/gif;",
    "data:image/webp;",
    "data:image/bmp;",
];

/// Sanitises an email's HTML for display.
///
/// Links open in a new tab with [`LINK_REL`]; relative URLs are dropped (they would resolve
/// against our own app); remote images are deferred unless `allow_remote_images`.
pub fn sanitize_html(html: &str, options: &SanitizeOptions) -> String {
    let inline_images = Arc::new(options.inline_images.clone());
    let allowed_targets: HashSet<String> = options.inline_images.values().cloned().collect();

    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["font", "center", "address"])
        .add_tag_attributes("font", ["color", "face", "size"])
        .add_tag_attributes(
            "table",
            ["width", "border", "cellpadding", "cellspacing", "bgcolor"],
        )
        .add_tag_attributes("td", ["width", "height", "valign", "bgcolor", "nowrap"])
        .add_tag_attributes("th", ["width", "height", "valign", "bgcolor", "nowrap"])
        .add_tag_attributes("tr", ["valign", "bgcolor"])
        .add_tag_attributes("div", ["align"])
        .add_tag_attributes("p", ["align"])
        .add_generic_attributes(["style", "dir"])
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect())
        .url_schemes(["http", "https", "mailto", "tel", "cid", "data"].into())
        .url_relative(ammonia::UrlRelative::Custom(Box::new(InlineTargets(
            allowed_targets,
        ))))
        .link_rel(Some(LINK_REL))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element: &str, attribute: &str, value: &str| {
            filter_url_attribute(element, attribute, value, &inline_images)
        });

    let clean = builder.clean(html).to_string();
    if options.allow_remote_images {
        clean
    } else {
        defer_remote_images(&clean)
    }
}

/// Relative URLs are dropped except the ones we put in ourselves (inline image URLs).
struct InlineTargets(HashSet<String>);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for InlineTargets {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        self.0.contains(url).then_some(Cow::Borrowed(url))
    }
}

/// Rewrites `cid:` images and drops `data:`/`cid:` URLs where they are not pictures.
fn filter_url_attribute<'a>(
    element: &str,
    attribute: &str,
    value: &'a str,
    inline_images: &HashMap<String, String>,
) -> Option<Cow<'a, str>> {
    if !URL_ATTRIBUTES.contains(&attribute) {
        return Some(Cow::Borrowed(value));
    }
    let trimmed = value.trim();
    let lower = trimmed.to_ascii_lowercase();
    let is_img_src = element == "img" && attribute == "src";
    if let Some(cid) = lower.strip_prefix("cid:").map(|_| &trimmed[4..]) {
        if !is_img_src {
            return None;
        }
        return lookup_cid(cid, inline_images).map(|url| Cow::Owned(url.to_owned()));
    }
    if lower.starts_with("data:") {
        let is_picture = DATA_IMAGE_PREFIXES.iter().any(|p| lower.starts_with(p));
        return (is_img_src && is_picture).then_some(Cow::Borrowed(value));
    }
    Some(Cow::Borrowed(value))
}

/// Finds a `cid:` reference in the map: exactly, then percent-decoded (RFC 2392 URLs are
/// percent-encoded), then case-insensitively (some clients change case on the way).
fn lookup_cid<'m>(cid: &str, inline_images: &'m HashMap<String, String>) -> Option<&'m str> {
    let cid = crate::email::strip_angle_brackets(cid);
    let decoded = percent_decode(cid);
    inline_images
        .get(cid)
        .or_else(|| inline_images.get(decoded.as_str()))
        .or_else(|| {
            inline_images
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&decoded))
                .map(|(_, v)| v)
        })
        .map(String::as_str)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Moves `src` of remote images to [`REMOTE_SRC_ATTRIBUTE`].
///
/// This runs on ammonia's *serialised output*, which is canonical HTML: text never contains a
/// raw `<` (it is escaped), attribute values are always double-quoted with `"` escaped, there
/// are no comments and no raw-text elements. So tags can be found by a plain left-to-right scan
/// without a second HTML parser.
fn defer_remote_images(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let end = tag_end(rest).unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.starts_with("<img ") {
            out.push_str(&rewrite_img_tag(tag));
        } else {
            out.push_str(tag);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The length of the tag at the start of `s` (through its `>`), skipping `>` inside quoted
/// attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut in_quotes = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '>' if !in_quotes => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn rewrite_img_tag(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len() + 16);
    let mut rest = tag;
    // Copy attribute by attribute: ` name="value"`.
    while let Some(eq) = rest.find("=\"") {
        let Some(close) = rest[eq + 2..].find('"').map(|c| eq + 2 + c) else {
            break;
        };
        let name_start = rest[..eq].rfind(' ').map_or(0, |s| s + 1);
        let name = &rest[name_start..eq];
        let value = &rest[eq + 2..close];
        let lower = value.trim_start().to_ascii_lowercase();
        let remote = lower.starts_with("http://") || lower.starts_with("https://");
        out.push_str(&rest[..name_start]);
        if name == "src" && remote {
            out.push_str(REMOTE_SRC_ATTRIBUTE);
        } else {
            out.push_str(name);
        }
        out.push_str(&rest[eq..=close]);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}
