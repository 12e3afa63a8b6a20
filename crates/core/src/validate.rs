//! Field validation shared by every entry point. Errors carry the field name and a stable
//! code so the API can answer 422 with something a UI can translate.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A trimmed, non-empty string of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(
            field,
            "blank",
            format!("{field} can't be blank"),
        ));
    }
    optional_text(field, trimmed, max).map(|s| s.unwrap_or_default())
}

/// A trimmed string of at most `max` characters; empty becomes `None`.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, FieldError> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} is too long (maximum is {max} characters)"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(FieldError::new(
            field,
            "invalid",
            format!("{field} contains control characters"),
        ));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// A PATCH field that may be absent (keep), `null` or blank (clear), or a new text.
pub fn text_patch(
    field: &str,
    value: Option<Option<String>>,
    max: usize,
) -> Result<Option<Option<String>>, FieldError> {
    value
        .map(|v| {
            v.map(|v| optional_text(field, &v, max))
                .transpose()
                .map(Option::flatten)
        })
        .transpose()
}

/// An absolute http(s) URL with a host, as webhook and callback targets must be.
pub fn http_url(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let invalid = || FieldError::new(field, "invalid", format!("{field} must be an http(s) URL"));
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c));
    if v.len() > 2048 || !host_ok || v.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    Ok(v.to_owned())
}

/// Chatwoot label titles: letters, digits, `-` and `_`, stored lower-case.
pub fn label_title(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_lowercase();
    if v.is_empty() || v.chars().count() > 64 {
        return Err(FieldError::new(
            field,
            "invalid",
            "label must be 1 to 64 characters",
        ));
    }
    if !v
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new(
            field,
            "invalid",
            "label may contain only letters, numbers, hyphens and underscores",
        ));
    }
    Ok(v)
}

/// `#rgb` or `#rrggbb`.
pub fn hex_color(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let digits = v.strip_prefix('#').unwrap_or("");
    if (digits.len() == 3 || digits.len() == 6) && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(v.to_lowercase())
    } else {
        Err(FieldError::new(
            field,
            "invalid",
            format!("{field} must be a colour like #1f93ff"),
        ))
    }
}

/// Keys for custom attributes: lower-case ASCII letters, digits and `_`, starting with a letter.
pub fn attribute_key(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(v.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "invalid",
            "key must start with a letter and contain only a-z, 0-9 and _",
        ))
    }
}

/// A JSON object (custom or additional attributes), bounded in size so one record cannot
/// grow without limit.
pub fn json_object(field: &str, value: &serde_json::Value) -> Result<(), FieldError> {
    if !value.is_object() {
        return Err(FieldError::new(
            field,
            "invalid",
            format!("{field} must be a JSON object"),
        ));
    }
    if value.to_string().len() > 64 * 1024 {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} is larger than 64 KiB"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_patch_keeps_clears_or_sets() {
        assert_eq!(text_patch("d", None, 10).unwrap(), None);
        assert_eq!(text_patch("d", Some(None), 10).unwrap(), Some(None));
        assert_eq!(
            text_patch("d", Some(Some("  ".into())), 10).unwrap(),
            Some(None)
        );
        assert_eq!(
            text_patch("d", Some(Some(" hi ".into())), 10).unwrap(),
            Some(Some("hi".into()))
        );
        assert_eq!(
            text_patch("d", Some(Some("x".repeat(11))), 10)
                .unwrap_err()
                .code,
            "too_long"
        );
    }

    #[test]
    fn text_rules() {
        assert_eq!(required_text("name", "  Ana ", 10).unwrap(), "Ana");
        assert_eq!(required_text("name", "   ", 10).unwrap_err().code, "blank");
        assert_eq!(
            required_text("name", "abcdefghijk", 10).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            required_text("name", "Łukasz Żółć", 11).unwrap(),
            "Łukasz Żółć"
        );
        assert_eq!(optional_text("x", "", 5).unwrap(), None);
        assert_eq!(
            optional_text("x", "a\u{0}b", 5).unwrap_err().code,
            "invalid"
        );
    }

    #[test]
    fn urls() {
        assert!(http_url("url", "https://example.com/hook?x=1").is_ok());
        assert!(http_url("url", "http://127.0.0.1:8080/h").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https://user@host/",
            "javascript:alert(1)",
            "https://a b",
        ] {
            assert!(http_url("url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_colours_keys() {
        assert_eq!(label_title("l", " VIP-Cliente ").unwrap(), "vip-cliente");
        assert_eq!(label_title("l", "zamówienie").unwrap(), "zamówienie");
        assert!(label_title("l", "two words").is_err());
        assert!(hex_color("c", "#1F93FF").is_ok());
        assert!(hex_color("c", "blue").is_err());
        assert!(attribute_key("k", "order_id").is_ok());
        assert!(attribute_key("k", "1abc").is_err());
        assert!(attribute_key("k", "Order").is_err());
    }

    #[test]
    fn json_objects() {
        assert!(json_object("a", &json!({"k": 1})).is_ok());
        assert!(json_object("a", &json!([1])).is_err());
        let big = json!({ "k": "x".repeat(70_000) });
        assert_eq!(json_object("a", &big).unwrap_err().code, "too_long");
    }
}
