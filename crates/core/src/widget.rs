//! The website chat (`web_widget`) channel's rules: its settings as an administrator gives them,
//! which page origins may talk to it, which files a visitor may attach, and the visitor context
//! read from the browser (page, language, browser and platform).
//!
//! Settings live in the inbox's settings object under Chatwoot's names, plus Throughline's
//! `allowed_domains`, `max_attachment_size_mb` and `allowed_attachment_types`.

use serde_json::{Map, Value, json};

use crate::model::{ChannelType, Inbox};
use crate::validate::{FieldError, hex_color, http_url, optional_text};

/// Setting keys the widget reads, validated by [`setting`].
pub const KEYS: [&str; 10] = [
    "website_url",
    "widget_color",
    "welcome_title",
    "welcome_tagline",
    "pre_chat_form_enabled",
    "pre_chat_form_options",
    "allowed_domains",
    "max_attachment_size_mb",
    "allowed_attachment_types",
    // Throughline: calls from the widget (`voice::web_call::WebCallSettings`).
    "web_calls",
];

/// What a widget accepts when its administrator set no list: pictures, sound, video and the
/// documents people commonly send to support. Never HTML or scripts.
pub const DEFAULT_ATTACHMENT_TYPES: [&str; 14] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "audio/*",
    "video/*",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

/// Chatwoot's default per-file limit.
pub const DEFAULT_MAX_ATTACHMENT_MB: u64 = 40;
const MAX_DOMAINS: usize = 100;
const MAX_TYPES: usize = 50;
const PRE_CHAT_FIELDS: [&str; 3] = ["email", "name", "phone_number"];

/// Validates one widget setting and returns the value to store (normalised). `key` must be one
/// of [`KEYS`]; errors name the field as `channel.<key>`.
pub fn setting(key: &str, value: &Value) -> Result<Value, FieldError> {
    let field = format!("channel.{key}");
    if value.is_null() {
        return Ok(Value::Null);
    }
    match key {
        "website_url" => {
            let s = string(&field, value)?;
            if s.trim().is_empty() {
                Ok(Value::Null)
            } else {
                http_url(&field, &s).map(Value::String)
            }
        }
        "widget_color" => hex_color(&field, &string(&field, value)?).map(Value::String),
        "welcome_title" | "welcome_tagline" => {
            Ok(optional_text(&field, &string(&field, value)?, 255)?
                .map_or(Value::Null, Value::String))
        }
        "pre_chat_form_enabled" => value.as_bool().map(Value::Bool).ok_or_else(|| {
            FieldError::new(&field, "invalid", format!("{field} must be true or false"))
        }),
        "pre_chat_form_options" => pre_chat_form(&field, value),
        "allowed_domains" => allowed_domains(&field, value)
            .map(|list| Value::Array(list.into_iter().map(Value::String).collect())),
        "max_attachment_size_mb" => match value.as_u64() {
            Some(n @ 1..=1024) => Ok(json!(n)),
            _ => Err(FieldError::new(
                &field,
                "invalid",
                format!("{field} must be a whole number of MiB from 1 to 1024"),
            )),
        },
        "allowed_attachment_types" => attachment_types(&field, value)
            .map(|list| Value::Array(list.into_iter().map(Value::String).collect())),
        "web_calls" => crate::voice::web_call::WebCallSettings::from_json(value)
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
        _ => Err(FieldError::new(
            &field,
            "unknown",
            format!("{field} is not a widget setting"),
        )),
    }
}

fn string(field: &str, value: &Value) -> Result<String, FieldError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| FieldError::new(field, "invalid", format!("{field} must be a string")))
}

/// A list given as a JSON array of strings or as one comma/newline separated string (Chatwoot's
/// admin form sends the latter).
fn string_list(field: &str, value: &Value) -> Result<Vec<String>, FieldError> {
    let items: Vec<String> = match value {
        Value::String(s) => s.split([',', '\n', ' ']).map(str::to_owned).collect(),
        Value::Array(a) => a
            .iter()
            .map(|v| string(field, v))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(FieldError::new(
                field,
                "invalid",
                format!("{field} must be a list of strings"),
            ));
        }
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// Host names the widget may be embedded on: `example.com`, `shop.example.com`, or
/// `*.example.com` (any subdomain, not the bare domain). A scheme, port or path given by habit
/// is dropped. Empty means any site.
pub fn allowed_domains(field: &str, value: &Value) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for raw in string_list(field, value)? {
        let lower = raw.to_ascii_lowercase();
        let no_scheme = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .unwrap_or(&lower);
        let host = no_scheme
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default();
        let (wild, rest) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        let labels_ok = !rest.is_empty()
            && rest.len() <= 253
            && rest.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !labels_ok || (wild && !rest.contains('.')) {
            return Err(FieldError::new(
                field,
                "invalid",
                format!("`{raw}` is not a host name; use names like example.com or *.example.com"),
            ));
        }
        let entry = if wild {
            format!("*.{rest}")
        } else {
            rest.to_owned()
        };
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    if out.len() > MAX_DOMAINS {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {MAX_DOMAINS} domains"),
        ));
    }
    Ok(out)
}

/// The host of an `Origin` header (`scheme://host[:port]`), lower-cased; `None` for `null` or
/// anything that is not an http(s) origin.
pub fn origin_host(origin: &str) -> Option<String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    if rest.contains(['/', '@', '?', '#']) {
        return None;
    }
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        rest.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether a page of `origin` may use a widget limited to `domains` (empty: any page).
pub fn origin_allowed(origin: &str, domains: &[String]) -> bool {
    if domains.is_empty() {
        return true;
    }
    let Some(host) = origin_host(origin) else {
        return false;
    };
    domains.iter().any(|d| match d.strip_prefix("*.") {
        Some(parent) => host
            .strip_suffix(parent)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => *d == host,
    })
}

/// The inbox's allowed domains as stored (empty when unset).
pub fn domains_of(inbox: &Inbox) -> Vec<String> {
    inbox
        .settings
        .get("allowed_domains")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `{pre_chat_message, pre_chat_fields: [{name, required, enabled, label}]}` with only the
/// fields a widget can collect (email, name, phone_number), each at most once.
fn pre_chat_form(field: &str, value: &Value) -> Result<Value, FieldError> {
    let Some(obj) = value.as_object() else {
        return Err(FieldError::new(
            field,
            "invalid",
            format!("{field} must be an object"),
        ));
    };
    let mut out = Map::new();
    if let Some(m) = obj.get("pre_chat_message").filter(|v| !v.is_null()) {
        let f = format!("{field}.pre_chat_message");
        if let Some(text) = optional_text(&f, &string(&f, m)?, 1000)? {
            out.insert("pre_chat_message".into(), Value::String(text));
        }
    }
    let mut fields = Vec::new();
    match obj.get("pre_chat_fields") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            let mut seen: Vec<String> = Vec::new();
            for (i, item) in list.iter().enumerate() {
                let f = format!("{field}.pre_chat_fields[{i}]");
                let Some(item) = item.as_object() else {
                    return Err(FieldError::new(
                        &f,
                        "invalid",
                        format!("{f} must be an object"),
                    ));
                };
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                if !PRE_CHAT_FIELDS.contains(&name) {
                    return Err(FieldError::new(
                        &format!("{f}.name"),
                        "inclusion",
                        format!(
                            "pre-chat field `{name}` is not supported; use email, name or phone_number"
                        ),
                    ));
                }
                if seen.iter().any(|s| s == name) {
                    return Err(FieldError::new(
                        &format!("{f}.name"),
                        "taken",
                        format!("pre-chat field `{name}` is listed twice"),
                    ));
                }
                seen.push(name.to_owned());
                let flag = |key: &str, default: bool| -> Result<bool, FieldError> {
                    match item.get(key) {
                        None | Some(Value::Null) => Ok(default),
                        Some(Value::Bool(b)) => Ok(*b),
                        Some(_) => Err(FieldError::new(
                            &format!("{f}.{key}"),
                            "invalid",
                            format!("{f}.{key} must be true or false"),
                        )),
                    }
                };
                let mut one = Map::new();
                one.insert("name".into(), json!(name));
                one.insert("required".into(), json!(flag("required", false)?));
                one.insert("enabled".into(), json!(flag("enabled", true)?));
                if let Some(label) = item.get("label").filter(|v| !v.is_null()) {
                    let lf = format!("{f}.label");
                    if let Some(l) = optional_text(&lf, &string(&lf, label)?, 255)? {
                        one.insert("label".into(), Value::String(l));
                    }
                }
                one.insert(
                    "type".into(),
                    json!(match name {
                        "email" => "email",
                        "phone_number" => "tel",
                        _ => "text",
                    }),
                );
                fields.push(Value::Object(one));
            }
        }
        Some(_) => {
            return Err(FieldError::new(
                &format!("{field}.pre_chat_fields"),
                "invalid",
                "pre_chat_fields must be a list",
            ));
        }
    }
    out.insert("pre_chat_fields".into(), Value::Array(fields));
    Ok(Value::Object(out))
}

/// MIME types (`image/png`) or families (`image/*`), lower-cased.
fn attachment_types(field: &str, value: &Value) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for raw in string_list(field, value)? {
        let t = raw.to_ascii_lowercase();
        let ok = t.split_once('/').is_some_and(|(a, b)| {
            let token = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
            };
            token(a) && (b == "*" || token(b))
        });
        if !ok {
            return Err(FieldError::new(
                field,
                "invalid",
                format!("`{raw}` is not a MIME type such as image/png or image/*"),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TYPES {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {MAX_TYPES} types"),
        ));
    }
    Ok(out)
}

/// What a visitor may attach in one inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentPolicy {
    pub max_bytes: u64,
    /// Accepted types; empty accepts any.
    pub types: Vec<String>,
}

impl AttachmentPolicy {
    /// The inbox's limits, never above the server's `upload_limit`. Website inboxes default to
    /// [`DEFAULT_ATTACHMENT_TYPES`]; other inboxes accept any type unless told otherwise.
    pub fn of(inbox: &Inbox, upload_limit: u64) -> Self {
        let s = &inbox.settings;
        let max_bytes = s
            .get("max_attachment_size_mb")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_MAX_ATTACHMENT_MB * 1024 * 1024, |mb| {
                mb * 1024 * 1024
            })
            .min(upload_limit);
        let types = match s.get("allowed_attachment_types").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            None if inbox.channel_type == ChannelType::WebWidget => DEFAULT_ATTACHMENT_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            None => Vec::new(),
        };
        Self { max_bytes, types }
    }

    /// Whether a file of `content_type` (parameters ignored) is accepted.
    pub fn accepts(&self, content_type: &str) -> bool {
        if self.types.is_empty() {
            return true;
        }
        let ct = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let family = ct.split('/').next().unwrap_or_default();
        self.types.iter().any(|t| match t.strip_suffix("/*") {
            Some(f) => f == family && ct.len() > family.len() + 1,
            None => *t == ct,
        })
    }
}

/// Browser and platform as Chatwoot records them (`additional_attributes.browser`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrowserInfo {
    pub browser_name: String,
    pub browser_version: String,
    pub platform_name: String,
    pub platform_version: String,
}

/// The text after `marker` up to the next space, `;` or `)`.
fn after<'a>(ua: &'a str, marker: &str) -> Option<&'a str> {
    let start = ua.find(marker)? + marker.len();
    let rest = &ua[start..];
    let end = rest.find([' ', ';', ')']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Reads a User-Agent header well enough for an agent to know what the visitor uses. Unknown
/// parts are "Unknown"; nothing here is trusted for anything else.
pub fn browser(ua: &str) -> BrowserInfo {
    let browsers: [(&str, &str); 9] = [
        ("Edg/", "Microsoft Edge"),
        ("EdgA/", "Microsoft Edge"),
        ("EdgiOS/", "Microsoft Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
    ];
    let (browser_name, browser_version) = browsers
        .iter()
        .find_map(|(marker, name)| after(ua, marker).map(|v| (*name, v)))
        .or_else(|| {
            ua.contains("Safari/")
                .then(|| ("Safari", after(ua, "Version/").unwrap_or("Unknown")))
        })
        .unwrap_or(("Unknown", "Unknown"));
    let dotted = |v: &str| v.replace('_', ".");
    let (platform_name, platform_version) = if let Some(v) = after(ua, "Windows NT ") {
        let name = match v {
            "10.0" => "10",
            "6.3" => "8.1",
            "6.2" => "8",
            "6.1" => "7",
            other => other,
        };
        ("Windows".to_owned(), name.to_owned())
    } else if let Some(v) = after(ua, "Android ") {
        ("Android".to_owned(), v.to_owned())
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        let v = after(ua, "OS ").map_or_else(|| "Unknown".to_owned(), dotted);
        ("iOS".to_owned(), v)
    } else if let Some(v) = after(ua, "Mac OS X ") {
        ("macOS".to_owned(), dotted(v))
    } else if ua.contains("CrOS") {
        ("Chrome OS".to_owned(), "Unknown".to_owned())
    } else if ua.contains("Linux") {
        ("Linux".to_owned(), "Unknown".to_owned())
    } else {
        ("Unknown".to_owned(), "Unknown".to_owned())
    };
    let clip = |s: &str| s.chars().take(64).collect::<String>();
    BrowserInfo {
        browser_name: browser_name.to_owned(),
        browser_version: clip(browser_version),
        platform_name,
        platform_version: clip(&platform_version),
    }
}

/// A language tag such as `pt-BR` (the first of an Accept-Language list), or `None`.
pub fn language(value: &str) -> Option<String> {
    let tag = value.split([',', ';']).next()?.trim();
    let ok = !tag.is_empty()
        && tag.len() <= 35
        && tag != "*"
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then(|| tag.to_owned())
}

/// What the widget tells about the visitor's page, and what the request's headers say.
#[derive(Clone, Debug, Default)]
pub struct VisitorContext {
    /// The page the chat was opened on.
    pub referer: Option<String>,
    pub browser_language: Option<String>,
    pub user_agent: Option<String>,
    /// When the visitor started the chat (as the widget reports it; Chatwoot sends the
    /// browser's date string).
    pub initiated_at: Option<String>,
}

impl VisitorContext {
    /// Chatwoot's conversation `additional_attributes` for a web-widget conversation.
    pub fn attributes(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(ua) = &self.user_agent {
            let b = browser(ua);
            out.insert(
                "browser".into(),
                json!({
                    "browser_name": b.browser_name,
                    "browser_version": b.browser_version,
                    "platform_name": b.platform_name,
                    "platform_version": b.platform_version,
                }),
            );
        }
        if let Some(r) = &self.referer {
            out.insert("referer".into(), json!(r));
        }
        if let Some(l) = &self.browser_language {
            out.insert("browser_language".into(), json!(l));
        }
        if let Some(t) = &self.initiated_at {
            out.insert("initiated_at".into(), json!({ "timestamp": t }));
        }
        out
    }
}

/// A page URL the widget reports: an http(s) URL of at most 2,048 characters, or nothing.
pub fn page_url(value: &str) -> Option<String> {
    http_url("referer", value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(list: &[&str]) -> Vec<String> {
        allowed_domains("d", &json!(list)).unwrap()
    }

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(
            domains(&[
                "Example.COM",
                "https://shop.example.com/cart",
                "*.acme.test",
                "localhost:8080"
            ]),
            vec![
                "example.com",
                "shop.example.com",
                "*.acme.test",
                "localhost"
            ]
        );
        assert_eq!(
            allowed_domains("d", &json!("a.test, b.test\nc.test")).unwrap(),
            vec!["a.test", "b.test", "c.test"]
        );
        for bad in [
            "exa mple.com",
            "*.com",
            "-bad.com",
            "a..b",
            "*",
            "ex_ample.com",
            "*.*.a.b",
        ] {
            assert!(allowed_domains("d", &json!([bad])).is_err(), "{bad}");
        }
        assert!(allowed_domains("d", &json!(42)).is_err());
    }

    #[test]
    fn origins_match_exact_hosts_and_wildcard_subdomains() {
        let list = domains(&["example.com", "*.acme.test"]);
        assert!(origin_allowed("https://example.com", &list));
        assert!(origin_allowed("http://EXAMPLE.com:8080", &list));
        assert!(origin_allowed("https://shop.acme.test", &list));
        assert!(origin_allowed("https://a.b.acme.test", &list));
        assert!(!origin_allowed("https://acme.test", &list));
        assert!(!origin_allowed("https://evilacme.test", &list));
        assert!(!origin_allowed("https://example.com.evil.test", &list));
        assert!(!origin_allowed("https://www.example.com", &list));
        assert!(!origin_allowed("null", &list));
        assert!(!origin_allowed("file://", &list));
        assert!(origin_allowed("null", &[]));
    }

    #[test]
    fn pre_chat_form_keeps_known_fields_only() {
        let v = setting(
            "pre_chat_form_options",
            &json!({"pre_chat_message": " Hi ", "pre_chat_fields": [
                {"name": "email", "required": true, "label": "Email"},
                {"name": "name", "enabled": false}
            ]}),
        )
        .unwrap();
        assert_eq!(v["pre_chat_message"], "Hi");
        assert_eq!(v["pre_chat_fields"][0]["required"], true);
        assert_eq!(v["pre_chat_fields"][0]["enabled"], true);
        assert_eq!(v["pre_chat_fields"][1]["enabled"], false);
        let bad = setting(
            "pre_chat_form_options",
            &json!({"pre_chat_fields": [{"name": "age"}]}),
        )
        .unwrap_err();
        assert_eq!(
            bad.field,
            "channel.pre_chat_form_options.pre_chat_fields[0].name"
        );
        assert!(
            setting(
                "pre_chat_form_options",
                &json!({"pre_chat_fields": [{"name": "email"}, {"name": "email"}]})
            )
            .is_err()
        );
        assert!(setting("pre_chat_form_options", &json!("x")).is_err());
    }

    #[test]
    fn colours_sizes_and_types_are_validated() {
        assert_eq!(
            setting("widget_color", &json!("#1F93FF")).unwrap(),
            "#1f93ff"
        );
        assert!(setting("widget_color", &json!("blue")).is_err());
        assert!(setting("max_attachment_size_mb", &json!(0)).is_err());
        assert!(setting("max_attachment_size_mb", &json!(5)).is_ok());
        assert_eq!(
            setting(
                "allowed_attachment_types",
                &json!(["IMAGE/*", "application/pdf"])
            )
            .unwrap(),
            json!(["image/*", "application/pdf"])
        );
        assert!(setting("allowed_attachment_types", &json!(["pdf"])).is_err());
        assert!(setting("website_url", &json!("javascript:alert(1)")).is_err());
    }

    #[test]
    fn attachment_policy_matches_families() {
        let p = AttachmentPolicy {
            max_bytes: 10,
            types: vec!["image/*".into(), "application/pdf".into()],
        };
        assert!(p.accepts("image/png"));
        assert!(p.accepts("application/pdf; name=x.pdf"));
        assert!(!p.accepts("text/html"));
        assert!(!p.accepts("image/"));
        assert!(!p.accepts("imagex/png"));
        let any = AttachmentPolicy {
            max_bytes: 10,
            types: vec![],
        };
        assert!(any.accepts("text/html"));
    }

    #[test]
    fn user_agents_are_read() {
        let chrome = browser(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        );
        assert_eq!(
            chrome,
            BrowserInfo {
                browser_name: "Chrome".into(),
                browser_version: "124.0.0.0".into(),
                platform_name: "Windows".into(),
                platform_version: "10".into(),
            }
        );
        let safari = browser(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(
            (
                safari.browser_name.as_str(),
                safari.browser_version.as_str()
            ),
            ("Safari", "17.2")
        );
        assert_eq!(
            (
                safari.platform_name.as_str(),
                safari.platform_version.as_str()
            ),
            ("iOS", "17.2")
        );
        let firefox =
            browser("Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0");
        assert_eq!(firefox.browser_name, "Firefox");
        assert_eq!(firefox.platform_name, "Linux");
        let edge = browser(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
        );
        assert_eq!(edge.browser_name, "Microsoft Edge");
        assert_eq!(edge.platform_name, "macOS");
        assert_eq!(edge.platform_version, "10.15.7");
        assert_eq!(browser("curl/8.0").browser_name, "Unknown");
    }

    #[test]
    fn languages() {
        assert_eq!(
            language("pt-BR,pt;q=0.9,en;q=0.8").as_deref(),
            Some("pt-BR")
        );
        assert_eq!(language("pl").as_deref(), Some("pl"));
        assert_eq!(language("*"), None);
        assert_eq!(language("<script>"), None);
    }
}
