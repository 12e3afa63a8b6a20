//! Password hashing, token derivation and secret sealing.
//!
//! - Passwords: Argon2id (PHC string stored).
//! - Access tokens and session ids are 192-bit random values. The database keeps only their
//!   SHA-256 (fast lookup; a high-entropy secret needs no slow hash). An access token is
//!   *derived* from a random per-token seed with the server key (HMAC), so the profile can show
//!   a user's token as Chatwoot does while a stolen database alone reveals none.
//! - Secrets that must be read back (HMAC keys of inboxes and webhooks, later IMAP passwords)
//!   are sealed with XChaCha20-Poly1305 under the server key.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("password hashing failed")]
    Hashing,
    #[error("sealed secret is malformed or was sealed with another key")]
    Unseal,
    #[error("server key must be 32 bytes, base64url encoded")]
    BadKey,
}

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 128;

/// Hashes a password with Argon2id and the crate's recommended parameters.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| CryptoError::Hashing)
}

/// Checks a password against a stored PHC string. Malformed hashes never match.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// `n` random bytes from the operating system's generator, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random password that satisfies every common policy, for first-start administrators.
pub fn random_password() -> String {
    format!("Tl-{}", random_token(15))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac_key());
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cold]
fn unreachable_hmac_key() -> HmacSha256 {
    // Hmac::new_from_slice only fails for fixed-size-key MACs; keep a total function anyway.
    let zero = [0u8; 32];
    match <HmacSha256 as KeyInit>::new_from_slice(&zero) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts a 32-byte key"),
    }
}

/// HMAC-SHA1, base64: Twilio's `X-Twilio-Signature` (SHA-1 is Twilio's choice, not ours).
pub fn hmac_sha1_base64(key: &[u8], message: &[u8]) -> String {
    use base64::engine::general_purpose::STANDARD;
    match <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; an empty answer never matches a signature.
        Err(_) => String::new(),
    }
}

pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac_sha256(key, message))
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Chatwoot's identity verification: `identifier_hash` is the hex HMAC-SHA256 of the
/// identifier under the inbox's secret.
pub fn verify_identifier_hash(secret: &str, identifier: &str, given_hash: &str) -> bool {
    let expected = hmac_sha256_hex(secret.as_bytes(), identifier.as_bytes());
    constant_time_eq(
        expected.as_bytes(),
        given_hash.trim().to_lowercase().as_bytes(),
    )
}

/// The server's 32-byte key, from the data directory or the configuration.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

impl ServerKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.trim())
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Derives the access token shown to its owner from the token's stored seed.
    pub fn access_token(&self, seed: &str) -> String {
        let mac = hmac_sha256(
            &self.0,
            format!("throughline/access-token/{seed}").as_bytes(),
        );
        URL_SAFE_NO_PAD.encode(&mac[..24])
    }

    /// A keyed hash (HMAC-SHA256, hex) of `data` for one `purpose`: what is stored of a short
    /// secret that is only ever compared (recovery codes), so the database alone cannot be
    /// searched for it by brute force.
    pub fn keyed_hash(&self, purpose: &str, data: &str) -> String {
        hmac_sha256_hex(&self.0, format!("throughline/{purpose}/{data}").as_bytes())
    }

    /// Seals a secret so it can be stored and read back only with this key.
    pub fn seal(&self, plaintext: &str) -> String {
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("v1.{}", URL_SAFE_NO_PAD.encode(out))
    }

    pub fn unseal(&self, sealed: &str) -> Result<String, CryptoError> {
        let body = sealed.strip_prefix("v1.").ok_or(CryptoError::Unseal)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Unseal)?;
        if bytes.len() < 24 + 16 {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| CryptoError::Unseal)?;
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let plain = cipher
            .decrypt(&XNonce::from(nonce), ciphertext)
            .map_err(|_| CryptoError::Unseal)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("correct horse", "not-a-phc-string"));
    }

    #[test]
    fn random_tokens_differ_and_have_the_asked_entropy() {
        let a = random_token(24);
        let b = random_token(24);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 24);
    }

    #[test]
    fn identifier_hash_matches_chatwoot_definition() {
        // Reference value: printf 'user-42' | openssl dgst -sha256 -hmac secret
        let expected = "e286b7b944100ab478fe553b39122922de0000aee1d04087dc3e96eefc3a8d47";
        assert_eq!(hmac_sha256_hex(b"secret", b"user-42"), expected);
        assert!(verify_identifier_hash("secret", "user-42", expected));
        assert!(verify_identifier_hash(
            "secret",
            "user-42",
            &expected.to_uppercase()
        ));
        assert!(!verify_identifier_hash("secret", "user-43", expected));
        assert!(!verify_identifier_hash("other", "user-42", expected));
        assert!(!verify_identifier_hash("secret", "user-42", ""));
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        // RFC 2202 test case 2: key "Jefe", "what do ya want for nothing?".
        assert_eq!(
            hmac_sha1_base64(b"Jefe", b"what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    #[test]
    fn sealed_secrets_round_trip_and_resist_tampering() {
        let key = ServerKey::generate();
        let sealed = key.seal("imap-password");
        assert!(!sealed.contains("imap-password"));
        assert_eq!(key.unseal(&sealed).unwrap(), "imap-password");
        assert_ne!(key.seal("imap-password"), sealed, "nonces are random");

        let other = ServerKey::generate();
        assert_eq!(other.unseal(&sealed), Err(CryptoError::Unseal));

        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        bytes[30] ^= 0x01;
        let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(key.unseal(&tampered), Err(CryptoError::Unseal));
        assert_eq!(key.unseal("garbage"), Err(CryptoError::Unseal));
        assert_eq!(key.unseal("v1.AAAA"), Err(CryptoError::Unseal));
    }

    #[test]
    fn access_tokens_are_stable_per_seed_and_key() {
        let key = ServerKey::generate();
        assert_eq!(key.access_token("seed"), key.access_token("seed"));
        assert_ne!(key.access_token("seed"), key.access_token("seed2"));
        assert_ne!(
            key.access_token("seed"),
            ServerKey::generate().access_token("seed")
        );
        let restored = ServerKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(restored.access_token("s"), key.access_token("s"));
        assert_eq!(
            ServerKey::from_base64("short").map(|_| ()),
            Err(CryptoError::BadKey)
        );
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
