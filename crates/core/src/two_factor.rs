//! Two-factor authentication, as rules and data: time-based one-time codes (RFC 6238, through
//! `totp-rs`), recovery codes, the provisioning URI and its QR code (SVG), and who an account
//! requires it of. No I/O: the store keeps the sealed secret, the last step used and the
//! recovery codes' keyed hashes.

use qrcodegen::{QrCode, QrCodeEcc};
use rand::RngCore;
use serde_json::Value;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::role::Role;

/// 160 bits, RFC 4226's recommended secret length.
pub const SECRET_BYTES: usize = 20;
/// Seconds per step (RFC 6238's default, which every authenticator app assumes).
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Steps accepted either side of the current one, for clocks that drift.
pub const SKEW_STEPS: u16 = 1;
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "Throughline";

/// Recovery codes use lowercase letters and digits without look-alikes (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters per recovery code (≈ 49 bits), shown as two groups of five.
const RECOVERY_LEN: usize = 10;

/// A new random secret, in the base32 form (RFC 4648, no padding) authenticator apps take.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new_stack(bytes).to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// The `otpauth://totp/…` URI an authenticator app scans (Key URI format).
pub fn provisioning_uri(secret_base32: &str, account: &str) -> Option<String> {
    totp(secret_base32, account)?.to_url().ok()
}

/// The code of the step containing `unix_secs` (what an authenticator app shows then).
pub fn code_at(secret_base32: &str, unix_secs: u64) -> Option<String> {
    Some(totp(secret_base32, "")?.generate(unix_secs).to_string())
}

/// The step `unix_secs` falls in.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// Checks a code typed by a person (spaces allowed) against the steps around `unix_secs`
/// (±[`SKEW_STEPS`]) and answers the step it matched. Refusing a step already used is the
/// caller's part: see [`accepts_step`].
pub fn check_code(secret_base32: &str, code: &str, unix_secs: u64) -> Option<u64> {
    let code = normalize_code(code)?;
    totp(secret_base32, "")?.check(&code, unix_secs)
}

/// A matched step is accepted only when it is later than the last one accepted, so a code
/// (or an earlier one still inside the drift window) works once.
pub fn accepts_step(step: u64, last_used: Option<u64>) -> bool {
    last_used.is_none_or(|last| step > last)
}

/// The digits of a one-time code, without the spaces or dashes people type; `None` when it
/// cannot be a code.
pub fn normalize_code(code: &str) -> Option<String> {
    let digits: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == usize::from(DIGITS) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// Ten new recovery codes, as shown once to their owner (`abcde-fghjk`).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let chars: String = (0..RECOVERY_LEN)
                .map(|_| {
                    // Rejection sampling keeps every character equally likely.
                    loop {
                        let b = (rng.next_u32() & 0x1f) as usize;
                        if let Some(c) = RECOVERY_ALPHABET.get(b) {
                            break char::from(*c);
                        }
                    }
                })
                .collect();
            format!(
                "{}-{}",
                &chars[..RECOVERY_LEN / 2],
                &chars[RECOVERY_LEN / 2..]
            )
        })
        .collect()
}

/// A recovery code as typed (any case, with or without the dash or spaces) in the form it is
/// hashed in; `None` when it cannot be one.
pub fn normalize_recovery_code(code: &str) -> Option<String> {
    let s: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == RECOVERY_LEN && s.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(s)
}

/// The QR code of `text` as a standalone SVG picture (black modules on white, a quiet zone of
/// four modules), for an `<img>`: no script, no external reference.
pub fn qr_svg(text: &str) -> Option<String> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

/// Who an account requires two-factor authentication of (its setting `mfa_enforcement`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Enforcement {
    #[default]
    Off,
    Administrators,
    Everyone,
}

impl Enforcement {
    pub const SETTING: &'static str = "mfa_enforcement";

    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Off => "off",
            Enforcement::Administrators => "administrators",
            Enforcement::Everyone => "everyone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "off" => Enforcement::Off,
            "administrators" => Enforcement::Administrators,
            "everyone" => Enforcement::Everyone,
            _ => return None,
        })
    }

    /// The account's setting, read from its settings object (off when absent or unknown).
    pub fn of_settings(settings: &Value) -> Self {
        settings
            .get(Self::SETTING)
            .and_then(Value::as_str)
            .and_then(Self::parse)
            .unwrap_or_default()
    }

    /// Whether a member with `role` must have two-factor authentication on.
    pub fn requires(self, role: Role) -> bool {
        match self {
            Enforcement::Off => false,
            Enforcement::Administrators => role == Role::Administrator,
            Enforcement::Everyone => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 key ("12345678901234567890"), in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // Appendix B lists 8 digits; the 6-digit code is their last six.
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(
                code_at(RFC_SECRET, t).as_deref(),
                Some(&eight[2..]),
                "t={t}"
            );
        }
    }

    #[test]
    fn one_step_of_drift_either_way_is_accepted_and_no_more() {
        let now = 1_700_000_015;
        let step = step_of(now);
        let at = |s: u64| code_at(RFC_SECRET, s * STEP_SECS).unwrap();
        assert_eq!(check_code(RFC_SECRET, &at(step), now), Some(step));
        assert_eq!(check_code(RFC_SECRET, &at(step - 1), now), Some(step - 1));
        assert_eq!(check_code(RFC_SECRET, &at(step + 1), now), Some(step + 1));
        assert_eq!(check_code(RFC_SECRET, &at(step - 2), now), None);
        assert_eq!(check_code(RFC_SECRET, &at(step + 2), now), None);
        // People type spaces; letters are never a code.
        let spaced = format!("{} {}", &at(step)[..3], &at(step)[3..]);
        assert_eq!(check_code(RFC_SECRET, &spaced, now), Some(step));
        assert_eq!(check_code(RFC_SECRET, "12345a", now), None);
        assert_eq!(check_code(RFC_SECRET, "", now), None);
        assert_eq!(check_code("not base32!", &at(step), now), None);
    }

    #[test]
    fn a_step_is_accepted_once() {
        assert!(accepts_step(10, None));
        assert!(accepts_step(10, Some(9)));
        assert!(!accepts_step(10, Some(10)));
        assert!(!accepts_step(9, Some(10)));
    }

    #[test]
    fn secrets_are_160_random_bits_in_base32() {
        let a = new_secret();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_secret());
        assert!(code_at(&a, 0).is_some());
    }

    #[test]
    fn the_provisioning_uri_names_issuer_and_account() {
        let uri = provisioning_uri(RFC_SECRET, "ana@acme.test").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Throughline:ana%40acme.test?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={RFC_SECRET}")), "{uri}");
        assert!(uri.contains("issuer=Throughline"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        for c in &codes {
            assert_eq!(c.len(), 11);
            let n = normalize_recovery_code(c).unwrap();
            assert_eq!(normalize_recovery_code(&c.to_uppercase()), Some(n.clone()));
            assert_eq!(normalize_recovery_code(&c.replace('-', " ")), Some(n));
        }
        assert_eq!(normalize_recovery_code("123456"), None);
        assert_eq!(normalize_recovery_code("abcde-fghj0"), None);
    }

    #[test]
    fn the_qr_code_is_a_plain_svg() {
        let svg = qr_svg("otpauth://totp/Throughline:a?secret=AAAA").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(!svg.contains("script"));
        assert!(svg.contains("<path d=\"M"));
    }

    #[test]
    fn enforcement_reads_the_setting_and_applies_by_role() {
        let off = serde_json::json!({});
        assert_eq!(Enforcement::of_settings(&off), Enforcement::Off);
        let admins = serde_json::json!({"mfa_enforcement": "administrators"});
        let e = Enforcement::of_settings(&admins);
        assert!(e.requires(Role::Administrator));
        assert!(!e.requires(Role::Agent));
        assert!(Enforcement::Everyone.requires(Role::Agent));
        assert!(!Enforcement::Off.requires(Role::Administrator));
        assert_eq!(Enforcement::parse("sometimes"), None);
    }
}
