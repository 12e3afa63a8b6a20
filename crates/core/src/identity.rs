//! Identities and the normalised addresses that let one contact be found from any channel.
//!
//! An identity is a (inbox, source_id) pair in Chatwoot's terms. Next to the provider's
//! `source_id` it keeps a normalised address (`kind` + `value`): lower-cased email, E.164
//! phone. Linking identities across inboxes compares normalised addresses only, never raw
//! strings and never phone-number suffixes.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    Email,
    Phone,
    WhatsApp,
    Telegram,
    Messenger,
    Instagram,
    WebVisitor,
    /// An id given by the business's own systems (Chatwoot's contact `identifier`).
    External,
    /// A `source_id` of an API inbox, meaningful only to the system that posts to it.
    ApiSource,
}

impl AddressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::WhatsApp => "whatsapp",
            Self::Telegram => "telegram",
            Self::Messenger => "messenger",
            Self::Instagram => "instagram",
            Self::WebVisitor => "web_visitor",
            Self::External => "external",
            Self::ApiSource => "api_source",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "email" => Self::Email,
            "phone" => Self::Phone,
            "whatsapp" => Self::WhatsApp,
            "telegram" => Self::Telegram,
            "messenger" => Self::Messenger,
            "instagram" => Self::Instagram,
            "web_visitor" => Self::WebVisitor,
            "external" => Self::External,
            "api_source" => Self::ApiSource,
            _ => return None,
        })
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("`{0}` is not a valid email address")]
    InvalidEmail(String),
    #[error("`{0}` is not a valid phone number; use the international format, e.g. +5511912345678")]
    InvalidPhone(String),
}

/// Lower-cases and trims an email address and checks its shape.
///
/// Provider-specific equivalences (Gmail dots, `+tag`s) are deliberately *not* folded: they
/// are different mailboxes for most providers, and merging two people is worse than missing
/// a link.
pub fn normalize_email(raw: &str) -> Result<String, AddressError> {
    let email = raw.trim().to_lowercase();
    let invalid = || AddressError::InvalidEmail(raw.trim().to_owned());
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.len() >= 3
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local.starts_with('.')
        && !local.ends_with('.');
    if domain_ok && local_ok {
        Ok(email)
    } else {
        Err(invalid())
    }
}

/// Parses a phone number written in any common way (spaces, dashes, brackets, `00` or `+`
/// prefix, national format when `default_region` is given, e.g. `"BR"`) into E.164.
pub fn normalize_phone(raw: &str, default_region: Option<&str>) -> Result<String, AddressError> {
    let invalid = || AddressError::InvalidPhone(raw.trim().to_owned());
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.len() > 40 {
        return Err(invalid());
    }
    // `00` is the international prefix in Brazil, Poland and most of the world.
    let candidate = match trimmed.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => trimmed.to_owned(),
    };
    if !candidate
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err(invalid());
    }
    let region = default_region
        .map(|r| phonenumber::country::Id::from_str(&r.to_ascii_uppercase()))
        .transpose()
        .map_err(|_| invalid())?;
    let number = phonenumber::parse(region, &candidate).map_err(|_| invalid())?;
    if !phonenumber::is_valid(&number) {
        return Err(invalid());
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// A normalised address as stored beside an identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    pub kind: AddressKind,
    pub value: String,
}

impl Address {
    pub fn email(raw: &str) -> Result<Self, AddressError> {
        Ok(Self {
            kind: AddressKind::Email,
            value: normalize_email(raw)?,
        })
    }

    pub fn phone(raw: &str, default_region: Option<&str>) -> Result<Self, AddressError> {
        Ok(Self {
            kind: AddressKind::Phone,
            value: normalize_phone(raw, default_region)?,
        })
    }

    /// An opaque provider id, kept verbatim apart from surrounding whitespace.
    pub fn opaque(kind: AddressKind, raw: &str) -> Self {
        Self {
            kind,
            value: raw.trim().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Ana.Souza@Example.COM ").unwrap(),
            "ana.souza@example.com"
        );
        assert_eq!(
            normalize_email("jan+news@poczta.pl").unwrap(),
            "jan+news@poczta.pl"
        );
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@@example.com",
            ".a@example.com",
            "a@example..com",
            "a@.example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn phones_in_common_formats_become_e164() {
        let cases = [
            ("+55 11 91234-5678", None, "+5511912345678"),
            ("0055 11 91234 5678", None, "+5511912345678"),
            ("(11) 91234-5678", Some("BR"), "+5511912345678"),
            ("+48 512 345 678", None, "+48512345678"),
            ("512-345-678", Some("pl"), "+48512345678"),
            ("+1 (415) 555-2671", None, "+14155552671"),
        ];
        for (raw, region, expected) in cases {
            assert_eq!(normalize_phone(raw, region).unwrap(), expected, "{raw}");
        }
    }

    #[test]
    fn garbage_phones_are_rejected() {
        for bad in [
            "",
            "hello",
            "+",
            "12",
            "+55 11 9abc",
            "999999999999999999999",
            "+48 12",
            "512 345 678",
        ] {
            assert!(
                normalize_phone(bad, None).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    proptest! {
        #[test]
        fn phone_normalisation_is_idempotent(local in 100_000_000u64..999_999_999u64) {
            let raw = format!("+48 {local}");
            if let Ok(e164) = normalize_phone(&raw, None) {
                prop_assert_eq!(normalize_phone(&e164, None).unwrap(), e164.clone());
                prop_assert!(e164.starts_with('+'));
                prop_assert!(e164[1..].chars().all(|c| c.is_ascii_digit()));
            }
        }

        #[test]
        fn email_normalisation_is_idempotent(local in "[a-zA-Z0-9._+-]{1,20}", domain in "[a-zA-Z0-9-]{1,20}\\.[a-z]{2,6}") {
            if let Ok(e) = normalize_email(&format!("{local}@{domain}")) {
                prop_assert_eq!(normalize_email(&e).unwrap(), e.clone());
                prop_assert_eq!(e.to_lowercase(), e);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,60}") {
            let _ = normalize_phone(&s, Some("BR"));
            let _ = normalize_email(&s);
        }
    }
}
