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
    let number = match brazil_mobile_with_ninth_digit(&number) {
        Some(with_nine) => phonenumber::parse(None, &with_nine).map_err(|_| invalid())?,
        None => number,
    };
    if !phonenumber::is_valid(&number) {
        return Err(invalid());
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Brazil's mobile numbers gained a ninth digit (a leading 9 after the area code) in 2012–2016,
/// but WhatsApp ids and old address books still carry the 8-digit form. An 8-digit Brazilian
/// subscriber number that starts with 6–9 is a mobile in the old form: the canonical form gets
/// the 9, so both spellings normalise to one address. Landlines (2–5) are left as they are.
fn brazil_mobile_with_ninth_digit(number: &phonenumber::PhoneNumber) -> Option<String> {
    if number.code().value() != 55 {
        return None;
    }
    let national = number.national().value().to_string();
    let (area, subscriber) = national.split_at_checked(2)?;
    let old_mobile = subscriber.len() == 8 && matches!(subscriber.as_bytes()[0], b'6'..=b'9');
    old_mobile.then(|| format!("+55{area}9{subscriber}"))
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

/// A contact's phone number as Chatwoot's contact model takes it (`validates :phone_number,
/// format: { with: /\+[1-9]\d{1,14}\z/ }` in app/models/contact.rb; anchored at both ends
/// here): a `+` and up to fifteen digits.
///
/// A number we can parse is normalised to E.164 (spaces, dashes and Brazil's ninth digit as
/// [`normalize_phone`] does) and may prove who someone is; one that only Chatwoot's rule
/// accepts (a bridge's own control contact, `+123456`) is kept exactly as given and never
/// compared with anyone's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactPhone {
    /// Parsed and normalised: an address identity linking may compare.
    E164(String),
    /// Chatwoot-valid but in no numbering plan we know: stored, shown, never proof.
    AsGiven(String),
}

impl ContactPhone {
    /// Chatwoot refuses a number without its `+` and country code; so does this.
    pub fn parse(raw: &str) -> Result<Self, AddressError> {
        let trimmed = raw.trim();
        if !trimmed.starts_with('+') {
            return Err(AddressError::InvalidPhone(trimmed.to_owned()));
        }
        match normalize_phone(trimmed, None) {
            Ok(e164) => Ok(Self::E164(e164)),
            Err(_) if chatwoot_phone_shape(trimmed) => Ok(Self::AsGiven(trimmed.to_owned())),
            Err(e) => Err(e),
        }
    }

    /// The number as stored on the contact.
    pub fn as_str(&self) -> &str {
        match self {
            Self::E164(s) | Self::AsGiven(s) => s,
        }
    }

    pub fn into_string(self) -> String {
        match self {
            Self::E164(s) | Self::AsGiven(s) => s,
        }
    }

    /// The address linking may compare: only a number we parsed. A number kept as given proves
    /// nothing (two bridges may both call their control contact `+123456`).
    pub fn proof(&self) -> Option<&str> {
        match self {
            Self::E164(s) => Some(s),
            Self::AsGiven(_) => None,
        }
    }
}

/// Chatwoot's phone rule: `+`, a digit from 1 to 9, then 1 to 14 more digits, nothing else.
pub fn chatwoot_phone_shape(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
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
    fn contact_phones_follow_chatwoots_rule() {
        assert_eq!(
            ContactPhone::parse(" +55 11 91234-5678 ").unwrap(),
            ContactPhone::E164("+5511912345678".into())
        );
        // Brazil's old mobile form gains its ninth digit, as every other phone does.
        assert_eq!(
            ContactPhone::parse("+551187654321").unwrap().proof(),
            Some("+5511987654321")
        );
        // A bridge's control contact: Chatwoot-valid, in no numbering plan. Kept, never proof.
        let control = ContactPhone::parse("+123456").unwrap();
        assert_eq!(control, ContactPhone::AsGiven("+123456".into()));
        assert_eq!(control.as_str(), "+123456");
        assert_eq!(control.proof(), None);
        for bad in [
            "123456",
            "5511912345678",
            "0055 11 91234 5678",
            "11 91234-5678",
            "+0123456",
            "+1",
            "+1234567890123456",
            "+55 abc",
            "+12 34",
            "",
        ] {
            assert!(
                ContactPhone::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
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

    #[test]
    fn brazilian_mobiles_without_the_ninth_digit_gain_it() {
        let with_nine = "+5511987654321";
        for raw in [
            "+55 11 98765-4321",
            "+55 11 8765-4321",
            "+551187654321",
            "005511 8765 4321",
            "0055 11 98765 4321",
        ] {
            assert_eq!(normalize_phone(raw, None).unwrap(), with_nine, "{raw}");
        }
        for raw in ["(11) 8765-4321", "11 98765-4321"] {
            assert_eq!(
                normalize_phone(raw, Some("BR")).unwrap(),
                with_nine,
                "{raw}"
            );
        }
        // Landlines keep eight digits.
        assert_eq!(
            normalize_phone("+55 11 3456-7890", None).unwrap(),
            "+551134567890"
        );
    }

    /// Area codes in use in Brazil (ANATEL).
    const BR_AREA_CODES: &[u8] = &[
        11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, 41, 42,
        43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74,
        75, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99,
    ];

    proptest! {
        /// Both spellings of a Brazilian mobile resolve to the same address, however written.
        #[test]
        fn brazilian_mobile_forms_match(
            area in proptest::sample::select(BR_AREA_CODES),
            first in 6u32..=9,
            rest in 0u32..10_000_000,
            style in 0usize..4,
        ) {
            let old = format!("{first}{rest:07}");
            let new = format!("9{old}");
            let write = |sub: &str| match style {
                0 => format!("+55{area}{sub}"),
                1 => format!("+55 ({area}) {}-{}", &sub[..sub.len() - 4], &sub[sub.len() - 4..]),
                2 => format!("0055 {area} {sub}"),
                _ => format!("+55-{area}-{sub}"),
            };
            let a = normalize_phone(&write(&old), None);
            let b = normalize_phone(&write(&new), None);
            let expected = format!("+55{area}{new}");
            prop_assert_eq!(a.ok(), Some(expected.clone()), "old form {}", write(&old));
            prop_assert_eq!(b.ok(), Some(expected), "new form {}", write(&new));
        }

        /// Numbers are never matched on their ending: the same subscriber number in two area
        /// codes, or in two countries, stays two addresses.
        #[test]
        fn same_ending_elsewhere_is_another_number(
            pair in proptest::sample::subsequence(BR_AREA_CODES, 2),
            rest in 0u32..10_000_000,
        ) {
            let sub = format!("9{rest:07}");
            let a = normalize_phone(&format!("+55 {} 9{sub}", pair[0]), None);
            let b = normalize_phone(&format!("+55 {} 9{sub}", pair[1]), None);
            if let (Ok(a), Ok(b)) = (a, b) {
                prop_assert_ne!(a, b);
            }
            let pl = normalize_phone(&format!("+48 5{}", &sub[..8]), None);
            let br = normalize_phone(&format!("+55 11 9{sub}"), None);
            if let (Ok(pl), Ok(br)) = (pl, br) {
                prop_assert_ne!(pl, br);
            }
        }

        /// Polish numbers written with spaces, dashes, brackets, `+48` or `0048` are one address.
        #[test]
        fn polish_formats_match(first in 5u32..=8, rest in 0u32..100_000_000) {
            let n = format!("{first}{rest:08}");
            let (a, b, c) = (&n[..3], &n[3..6], &n[6..]);
            let forms = [
                format!("+48{n}"),
                format!("+48 {a} {b} {c}"),
                format!("0048 {a}-{b}-{c}"),
                format!("(+48) {a}{b}{c}"),
            ];
            let results: Vec<_> = forms.iter().map(|f| normalize_phone(f, None)).collect();
            let national = normalize_phone(&format!("{a}-{b}-{c}"), Some("PL"));
            if let Ok(first) = &results[0] {
                for (form, r) in forms.iter().zip(&results) {
                    prop_assert_eq!(r.as_ref().ok(), Some(first), "{}", form);
                }
                prop_assert_eq!(national.ok(), Some(first.clone()));
            } else {
                prop_assert!(results.iter().all(Result::is_err));
            }
        }

        /// Anything with letters or too few digits is refused, never guessed.
        #[test]
        fn garbage_is_rejected(digits in "[0-9]{0,5}", junk in "[a-zA-Z#*/]{1,5}") {
            let short = format!("+55{digits}");
            let mixed = format!("+55 11 9{digits}{junk}");
            prop_assert!(normalize_phone(&short, None).is_err(), "{}", short);
            prop_assert!(normalize_phone(&mixed, None).is_err(), "{}", mixed);
            prop_assert!(normalize_phone(&digits, Some("BR")).is_err(), "{}", digits);
        }

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
